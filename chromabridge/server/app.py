"""The FastAPI app: retrieval endpoints over a `Catalog`, plus the inspection page.

Safety lives at the edge of the app, before any route runs (`_Guard`): bearer-token
auth on every `/api` call when a token is configured, a bound on request bodies, and a
Content-Security-Policy that lets the page run only its own script. Every store or
model call runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from chromabridge.cli import _hit_json
from chromabridge.errors import (
    ChromaBridgeError,
    EmbedderMismatchError,
    EmbeddingError,
    InputError,
    StoreError,
)
from chromabridge.vectorstores import to_chroma_filter

from .catalog import (
    Catalog,
    CollectionNotFound,
    Mode,
    data_path,
    list_datasets,
    llama_filters,
    project,
)
from .jobs import EvalJobs

__all__ = ["MAX_K", "create_app"]

STATIC = Path(__file__).with_name("static")
#: The most hits one query may ask for (also the hybrid retriever's candidate depth).
MAX_K = 100
MAX_QUERY_CHARS = 4000
MAX_MAP_SAMPLE = 5000

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class _TooLarge(Exception):
    pass


async def _json(send: Send, status: int, body: dict[str, Any], extra: list[Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), *extra]
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class _Guard:
    """ASGI middleware: auth for /api, bounded bodies, security headers on every answer."""

    def __init__(self, app: ASGIApp, token: str | None, max_body: int) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.max_body = max_body

    def _authorised(self, scope: Scope) -> bool:
        if self.expected is None or not scope["path"].startswith("/api"):
            return True
        given = dict(scope["headers"]).get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._authorised(scope):
            detail = {"detail": "missing or wrong bearer token"}
            await _json(send, 401, detail, [(b"www-authenticate", b"Bearer")])
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_body:
            await _json(send, 413, {"detail": f"request body over {self.max_body} bytes"}, [])
            return
        seen = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", _CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except _TooLarge:
            if not started:
                await _json(send, 413, {"detail": f"request body over {self.max_body} bytes"}, [])


Scalar = str | int | float | bool


class LlamaFilter(BaseModel):
    """One LlamaIndex `MetadataFilter`, as its `model_dump()` writes it."""

    model_config = ConfigDict(extra="forbid")

    key: str
    value: Scalar | list[Scalar] | None = None
    operator: str = "=="


class LlamaFilters(BaseModel):
    """A LlamaIndex `MetadataFilters` (nested groups allowed), as JSON."""

    model_config = ConfigDict(extra="forbid")

    filters: list[LlamaFilter | LlamaFilters]
    condition: str = "and"


class QueryBody(BaseModel):
    """A search. `where` takes Chroma's or LangChain's filter dialect, `filters` a
    LlamaIndex `MetadataFilters` as JSON; `where_document` filters on the text."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(4, ge=1, le=MAX_K)
    mode: Mode = "dense"
    where: dict[str, Any] | None = None
    filters: LlamaFilters | None = None
    where_document: dict[str, Any] | None = None


def _all_modes() -> list[Mode]:
    return ["dense", "hybrid", "mmr"]


class EvalBody(BaseModel):
    """An evaluation: a dataset folder inside the server's data folder, and the modes."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=500)
    modes: list[Mode] = Field(default_factory=_all_modes, min_length=1)
    max_queries: int = Field(100, ge=1, le=10_000)


_STATUS: list[tuple[type[Exception], int]] = [
    (CollectionNotFound, 404),
    (InputError, 422),
    (EmbedderMismatchError, 409),
    (EmbeddingError, 502),
    (StoreError, 503),
]


def _error_response(_: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
    return JSONResponse({"detail": str(exc)}, status_code=status)


def create_app(
    *,
    embedder: object | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    token: str | None = None,
    max_body: int = 64 * 1024,
    **deployment: Any,
) -> FastAPI:
    """The retrieval API and the inspection page over one Chroma deployment.

    `deployment`: `ChromaStore`'s deployment keywords (`path`, `host`/`port`, `cloud`,
    `client`...); none means in-memory. `embedder`: an `Embedder` for every collection,
    a spec ("local", "openai:MODEL"), or None for each collection's recorded one.
    `data_dir`: the only folder evaluation datasets are read from (None: eval is off).
    `token`: when set, every `/api` call needs `Authorization: Bearer <token>`.
    """
    catalog = Catalog(deployment, embedder)
    jobs = EvalJobs(catalog)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.close()
        await run_in_threadpool(catalog.close)

    app = FastAPI(
        title="chromabridge",
        summary="Retrieval over Chroma collections: dense, hybrid and MMR search, "
        "documents, evaluation and an embedding map.",
        lifespan=lifespan,
    )
    app.add_middleware(_Guard, token=token, max_body=max_body)
    app.add_exception_handler(ChromaBridgeError, _error_response)
    # follow_symlink: an editable install links each file; ".." is refused all the same.
    app.mount("/static", StaticFiles(directory=STATIC, follow_symlink=True), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/collections")
    async def collections() -> dict[str, Any]:
        """Every collection with its record count and recorded embedder."""
        return {"collections": await run_in_threadpool(catalog.collections)}

    @app.get("/api/collections/{name}/documents")
    async def documents(
        name: str,
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=500),
    ) -> dict[str, Any]:
        """A page of the collection's documents with their chunk counts."""
        return await run_in_threadpool(catalog.documents, name, offset, limit)

    @app.get("/api/collections/{name}/documents/{doc_id:path}")
    async def document(name: str, doc_id: str) -> dict[str, Any]:
        """One document's chunks in order, with their character offsets."""
        return await run_in_threadpool(catalog.document, name, doc_id)

    @app.post("/api/collections/{name}/query")
    async def query(name: str, body: QueryBody) -> dict[str, Any]:
        """Search one collection in one mode; a bad filter is a 422 naming the problem."""
        if body.where is not None and body.filters is not None:
            raise InputError("give either where (Chroma/LangChain) or filters (LlamaIndex)")
        chosen = body.where if body.filters is None else llama_filters(body.filters.model_dump())
        flt = to_chroma_filter(chosen, body.where_document)
        hits = await run_in_threadpool(catalog.search, name, body.query, body.k, body.mode, flt)
        # The same hit JSON as `chromabridge query --json`.
        return {"mode": body.mode, "hits": [_hit_json(i, h) for i, h in enumerate(hits, 1)]}

    @app.get("/api/collections/{name}/map")
    async def embedding_map(
        name: str, sample: int = Query(500, ge=1, le=MAX_MAP_SAMPLE)
    ) -> dict[str, Any]:
        """A PCA projection of up to `sample` vectors, with their sources and texts."""
        vectors, chunks = await run_in_threadpool(catalog.vectors, name, sample)
        coords, explained = await run_in_threadpool(project, vectors)
        points = [
            {
                "id": c.id,
                "x": float(xy[0]),
                "y": float(xy[1]),
                "doc_id": c.doc_id,
                "source": c.metadata.get("source") or c.doc_id,
                "text": c.text[:300],
            }
            for c, xy in zip(chunks, coords, strict=True)
        ]
        return {"points": points, "explained_variance": explained}

    @app.get("/api/datasets")
    async def datasets() -> dict[str, Any]:
        """Dataset folders the server may evaluate (inside its data folder)."""
        return {"datasets": await run_in_threadpool(list_datasets, data_dir)}

    @app.post("/api/collections/{name}/eval", status_code=202)
    async def start_eval(name: str, body: EvalBody) -> dict[str, Any]:
        """Start evaluating `dataset` against the collection (filled from the dataset
        when empty); poll the returned job for progress and nDCG@10 / recall@100."""
        path = data_path(data_dir, body.dataset)
        modes = list(dict.fromkeys(body.modes))
        return jobs.start(name, path, body.dataset, modes, body.max_queries).to_json()

    @app.get("/api/collections/{name}/eval/{job_id}")
    async def eval_status(name: str, job_id: str) -> dict[str, Any]:
        """Progress and results of an evaluation job."""
        job = jobs.get(job_id)
        if job is None or job.collection != name:
            raise CollectionNotFound(f"no evaluation job {job_id!r} for collection {name!r}")
        return job.to_json()

    return app
