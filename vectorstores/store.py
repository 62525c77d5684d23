"""`ChromaStore`: one native store over every Chroma deployment.

The same object works in-memory, on a directory, against a Chroma server and on Chroma
Cloud; only the constructor arguments change. Each operation is written once, as a plan
that yields the Chroma calls it needs; a sync driver runs the plan on a blocking client
and an async driver on `AsyncHttpClient`, so the async twins are truly async against a
server without a second copy of the logic. Embedded clients have no async API: their
async twins run the blocking method in a worker thread.

Score semantics (`Hit.score`, higher is better) per distance space:

* ``cosine`` (default): cosine similarity, ``1 - distance``, in [-1, 1];
* ``ip``: the inner product, ``1 - distance``;
* ``l2``: ``1 / (1 + distance)``, in (0, 1], where Chroma's l2 distance is squared.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import weakref
from collections.abc import (
    AsyncIterator,
    Callable,
    Container,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar, cast, get_args

import numpy as np
from chromadb.api import AsyncClientAPI, ClientAPI
from chromadb.errors import NotFoundError

from chromabridge.embedders import Embedder, as_embedder
from chromabridge.errors import (
    ChromaBridgeError,
    ConfigError,
    EmbedderMismatchError,
    EmbeddingError,
    StoreError,
)
from chromabridge.types import Chunk, Hit

from . import guard
from .clients import Connection, connect
from .filters import ChromaFilter, to_chroma_filter
from .mmr import mmr_select
from .records import Space, chunk_metadata, record_to_chunk, relevance

__all__ = ["ChromaStore"]

T = TypeVar("T")
#: Called after a successful write: ("upsert", ids), ("delete", ids or None when the
#: deleted set is only known as a filter), or ("clear", None).
ChangeListener = Callable[[str, "list[str] | None"], None]
#: One Chroma call a plan needs: (method name, keyword arguments).
Call = tuple[str, dict[str, Any]]
Plan = Generator[Call, Any, T]

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")
_HNSW_KEYS = {"ef_construction", "ef_search", "max_neighbors", "resize_factor", "sync_threshold"}
_SPACES: tuple[str, ...] = get_args(Space)
#: Chroma's legacy collection-metadata HNSW keys (as LangChain users pass them).
_LEGACY_HNSW = {
    "hnsw:construction_ef": "ef_construction",
    "hnsw:search_ef": "ef_search",
    "hnsw:M": "max_neighbors",
    "hnsw:resize_factor": "resize_factor",
    "hnsw:sync_threshold": "sync_threshold",
}
_RECORD = ["documents", "metadatas"]
#: From this many ids on, `add` first asks which exist: a batch of new ids is written with
#: Chroma's `add`, which costs about 9% less than `upsert` with our bookkeeping keys
#: (benchmarks/vectorstores.py); below it the extra read costs more than it saves.
_CHECK_BEFORE_ADD = 100


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ConfigError(
            f"invalid collection name {name!r}: use 3-512 characters from [a-zA-Z0-9._-], "
            "starting and ending with a letter or digit, without '..'"
        )
    return name


def _check_k(k: object, what: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ConfigError(f"{what} must be a positive int, got {k!r}")
    return k


def _space_of(collection: Any) -> Space:
    config: Mapping[str, Any] = collection.configuration or {}
    for index in ("hnsw", "spann"):
        space = (config.get(index) or {}).get("space")
        if space in _SPACES:
            return cast(Space, space)
    space = (collection.metadata or {}).get("hnsw:space", "l2")
    return cast(Space, space if space in _SPACES else "l2")


def _exact_ids(ids: Any, where: Any, doc_id: Any) -> list[str] | None:
    """The deleted ids when the call named them exactly, else None (filter-defined)."""
    if ids is None or where is not None or doc_id is not None:
        return None
    return [ids] if isinstance(ids, str) else list(ids)


def _query_call(vector: np.ndarray, k: int, flt: ChromaFilter, include: list[str]) -> Call:
    """The Chroma `query` call of one vector search."""
    return (
        "query",
        {
            "query_embeddings": [vector],
            "n_results": k,
            "where": flt.where,
            "where_document": flt.where_document,
            "include": include,
        },
    )


def _strings(value: Any, what: str) -> list[str]:
    """One string or an iterable of strings, as a list; `ConfigError` naming `what`."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = list(value)
        if all(isinstance(item, str) for item in items):
            return items
    raise ConfigError(f"{what} must be a string or a list of strings, got {value!r:.80}")


def _not_numbers(vector: object, cause: Exception | None = None) -> EmbeddingError:
    detail = f" ({cause})" if cause is not None else ""
    return EmbeddingError(
        f"a query vector must be a flat sequence of numbers, got {type(vector).__name__}{detail}"
    )


def _first(result: Mapping[str, Any], key: str) -> list[Any]:
    """Row 0 of a query result field (Chroma nests per query embedding)."""
    rows = result.get(key)
    return list(rows[0]) if rows else []


class ChromaStore:
    """A Chroma collection holding chunks, wherever Chroma runs.

    Deployment, by argument: nothing -> in-memory; `path` -> a local directory;
    `host` (+ `port`, `ssl`, `headers`) -> a Chroma server (async methods use
    `AsyncHttpClient`); `cloud=True` (+ `api_key`, `tenant`, `database`) -> Chroma Cloud;
    `client` -> any chromadb client you built, sync or async.

    `embedder` is our `Embedder`, a chromadb EmbeddingFunction, a LangChain `Embeddings`
    or a LlamaIndex `BaseEmbedding`. Its name and dimension are recorded on the collection
    and checked each time it is opened (`EmbedderMismatchError`).

    `distance` ("cosine", "l2" or "ip") and `hnsw` (ef_construction, ef_search,
    max_neighbors, ...) apply when the collection is created; an existing collection keeps
    its own space, and an explicit `distance` that contradicts it is a `ConfigError`.
    `metadata` is extra collection metadata written at creation (LangChain's
    `collection_metadata`); Chroma's legacy ``hnsw:*`` keys in it are read as
    `distance` / `hnsw`.
    """

    def __init__(
        self,
        collection: str,
        *,
        embedder: object | None = None,
        client: ClientAPI | AsyncClientAPI | None = None,
        path: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int = 8000,
        ssl: bool = False,
        headers: Mapping[str, str] | None = None,
        cloud: bool = False,
        api_key: str | None = None,
        tenant: str | None = None,
        database: str | None = None,
        distance: Space | None = None,
        hnsw: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.name = _check_name(collection)
        legacy = {k: v for k, v in (metadata or {}).items() if k.startswith("hnsw:")}
        self._extra_metadata = {k: v for k, v in (metadata or {}).items() if k not in legacy}
        legacy_space = legacy.pop("hnsw:space", None)
        if distance is None and legacy_space is not None:
            distance = legacy_space
        if distance is not None and distance not in _SPACES:
            raise ConfigError(f"distance must be one of {', '.join(_SPACES)}, got {distance!r}")
        hnsw = {**{_LEGACY_HNSW.get(k, k): v for k, v in legacy.items()}, **(hnsw or {})}
        unknown = set(hnsw) - _HNSW_KEYS
        if unknown:
            raise ConfigError(
                f"unknown hnsw parameter(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(_HNSW_KEYS))}"
            )
        self._distance = distance
        self._hnsw = hnsw
        self.embedder: Embedder | None = as_embedder(embedder) if embedder is not None else None
        self._conn: Connection = connect(
            client=client,
            path=path,
            host=host,
            port=port,
            ssl=ssl,
            headers=headers,
            cloud=cloud,
            api_key=api_key,
            tenant=tenant,
            database=database,
            timeout=timeout,
        )
        self._space: Space = distance or "cosine"
        self._dimension: int | None = None
        self._batch_size = 0
        self._collection: Any = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._listeners: list[ChangeListener] = []
        if self._conn.sync is not None:
            self._collection = self._open_sync(self._conn.sync)

    def __repr__(self) -> str:
        embedder = self.embedder.name if self.embedder else None
        return (
            f"ChromaStore(collection={self.name!r}, deployment={self._conn.label!r}, "
            f"embedder={embedder!r}, distance={self._space!r})"
        )

    # -- properties ---------------------------------------------------------------------

    @property
    def distance(self) -> Space:
        """The collection's distance space (decides `Hit.score`, see module doc)."""
        return self._space

    @property
    def dimension(self) -> int | None:
        """Vector size held by the collection, once known."""
        return self._dimension

    @property
    def is_async_native(self) -> bool:
        """True when async methods talk to Chroma asynchronously (a server)."""
        return self._conn.async_client is not None or self._conn.async_factory is not None

    @property
    def client(self) -> ClientAPI | None:
        """The blocking chromadb client (None when only an async client was given)."""
        return self._conn.sync

    @property
    def collection(self) -> Any:
        """The underlying chromadb Collection (blocking), for what we do not wrap."""
        return self._require_sync()

    def as_langchain(self, embedding: Any = None) -> Any:
        """This store as a LangChain `VectorStore` (`LangChainVectorStore`)."""
        from .langchain import LangChainVectorStore

        return LangChainVectorStore(store=self, embedding_function=embedding)

    def as_llamaindex(self) -> Any:
        """This store as a LlamaIndex vector store (`LlamaIndexVectorStore`)."""
        from .llamaindex import LlamaIndexVectorStore

        return LlamaIndexVectorStore(store=self)

    def relevance(self, distance: float) -> float:
        """Chroma distance -> score in this collection's space."""
        return relevance(distance, self._space)

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call `listener` after each write made through this store; returns unsubscribe.

        Derived indexes (the hybrid retriever's BM25 index) stay consistent this way;
        writes by other processes are not seen and need their own refresh.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, change: str, ids: list[str] | None) -> None:
        for listener in list(self._listeners):
            listener(change, ids)

    # -- opening ------------------------------------------------------------------------

    def _configuration(self) -> dict[str, Any]:
        return {"hnsw": {"space": self._distance or "cosine", **self._hnsw}}

    def _adopt(self, collection: Any) -> None:
        """Check an opened collection against our embedder and arguments."""
        guard.check(self.name, collection.metadata, self.embedder)
        space = _space_of(collection)
        if self._distance is not None and self._distance != space:
            raise ConfigError(
                f"collection {self.name!r} exists with distance {space!r}, not "
                f"{self._distance!r}; drop distance= or use another collection"
            )
        self._space = space
        self._metadata: dict[str, Any] = dict(collection.metadata or {})
        self._dimension = guard.recorded_dimension(collection.metadata) or (
            self.embedder.dimension if self.embedder else None
        )

    def _open_plan(self) -> Plan[Any]:
        try:
            collection = yield ("get_collection", {"name": self.name, "embedding_function": None})
        except StoreError as exc:
            if not isinstance(exc.__cause__, NotFoundError):
                raise
            metadata = guard.record(
                self._extra_metadata,
                self.embedder,
                self.embedder.dimension if self.embedder else None,
            ) or (self._extra_metadata or None)
            collection = yield (
                "get_or_create_collection",
                {
                    "name": self.name,
                    "configuration": self._configuration(),
                    "metadata": metadata,
                    "embedding_function": None,
                },
            )
        self._adopt(collection)
        self._batch_size = int((yield ("get_max_batch_size", {})))
        return collection

    def _open_sync(self, client: ClientAPI) -> Any:
        return self._drive(self._open_plan(), client)

    async def _acollection(self) -> Any:
        """This event loop's async collection (AsyncHttpClient is bound to its loop)."""
        loop = asyncio.get_running_loop()
        collection = self._async.get(loop)
        if collection is None:
            if self._conn.async_client is not None:
                client: Any = self._conn.async_client
            else:
                assert self._conn.async_factory is not None
                try:
                    client = await self._conn.async_factory()
                except Exception as exc:
                    raise StoreError(f"cannot open Chroma ({self._conn.label}): {exc}") from exc
            collection = await self._adrive(self._open_plan(), client)
            self._async[loop] = collection
        return collection

    def _require_sync(self) -> Any:
        if self._collection is None:
            raise ConfigError(
                f"ChromaStore {self.name!r} was given only an async client; use the async "
                "methods (aadd, aquery, ...) or pass a blocking client too"
            )
        return self._collection

    # -- drivers ------------------------------------------------------------------------

    def _fail(self, name: str, exc: Exception) -> StoreError:
        if isinstance(exc, ChromaBridgeError):
            return exc if isinstance(exc, StoreError) else StoreError(str(exc))
        return StoreError(
            f"Chroma {name} on collection {self.name!r} ({self._conn.label}) failed: "
            f"{type(exc).__name__}: {exc}"
        )

    def _drive(self, plan: Plan[T], target: Any) -> T:
        """Run `plan` against a blocking client or collection."""
        try:
            call = next(plan)
            while True:
                name, kwargs = call
                try:
                    result = getattr(target, name)(**kwargs)
                except Exception as exc:  # chromadb and httpx raise many types
                    error = self._fail(name, exc)
                    error.__cause__ = exc
                    call = plan.throw(error)
                    continue
                call = plan.send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    async def _adrive(self, plan: Plan[T], target: Any) -> T:
        """Run `plan` against an async client or collection."""
        try:
            call = next(plan)
            while True:
                name, kwargs = call
                try:
                    result = await getattr(target, name)(**kwargs)
                except Exception as exc:
                    error = self._fail(name, exc)
                    error.__cause__ = exc
                    call = plan.throw(error)
                    continue
                call = plan.send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    def _run(self, plan: Plan[T]) -> T:
        return self._drive(plan, self._require_sync())

    async def _arun(self, plan: Plan[T]) -> T:
        return await self._adrive(plan, await self._acollection())

    # -- writes -------------------------------------------------------------------------

    def _texts_to_embed(self, chunks: Sequence[Chunk]) -> list[str]:
        if self.embedder is None:
            raise ConfigError(
                f"ChromaStore {self.name!r} has no embedder: pass embedder= when creating "
                "it, or embeddings= to add()"
            )
        for chunk in chunks:
            if not chunk.text.strip():
                raise StoreError(
                    f"chunk {chunk.id!r} has empty text; there is nothing to embed "
                    "(pass embeddings= to store an embedding-only record)"
                )
        return [chunk.text for chunk in chunks]

    def _check_chunks(self, chunks: Iterable[Chunk]) -> list[Chunk]:
        if isinstance(chunks, (str, bytes, Chunk)) or not isinstance(chunks, Iterable):
            raise StoreError(f"add() takes a list of Chunks, got {type(chunks).__name__}")
        items = list(chunks)
        seen: set[str] = set()
        duplicates: list[str] = []
        for position, chunk in enumerate(items):
            if not isinstance(chunk, Chunk):
                raise StoreError(f"item {position} is a {type(chunk).__name__}, not a Chunk")
            if not isinstance(chunk.id, str) or not chunk.id:
                raise StoreError(
                    f"item {position} has id {chunk.id!r}; ids must be non-empty strings"
                )
            if not isinstance(chunk.text, str):
                raise StoreError(f"chunk {chunk.id!r} has text of type {type(chunk.text).__name__}")
            if chunk.id in seen:
                duplicates.append(chunk.id)
            seen.add(chunk.id)
        if duplicates:
            shown = ", ".join(repr(d) for d in duplicates[:5])
            raise StoreError(
                f"duplicate ids in one add: {shown}"
                + (f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else "")
                + "; nothing was written"
            )
        return items

    def _mismatch(self, dim: int, what: str, from_embedder: bool) -> EmbeddingError:
        """Wrong-size vectors: the embedder's fault (a mismatch) or the caller's."""
        message = (
            f"{what} {dim} dimensions but collection {self.name!r} holds "
            f"{self._dimension}-dimensional vectors"
        )
        if from_embedder and self.embedder is not None:
            return EmbedderMismatchError(f"embedder {self.embedder.name!r}: {message}")
        return EmbeddingError(message)

    def _check_vectors(
        self, vectors: Any, chunks: Sequence[Chunk], from_embedder: bool = False
    ) -> np.ndarray:
        try:
            matrix = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise EmbeddingError(
                "embeddings are ragged or not numeric: every vector must have the same "
                "number of floats"
            ) from exc
        if matrix.ndim != 2 or matrix.shape[0] != len(chunks):
            raise EmbeddingError(
                f"got {matrix.shape[0] if matrix.ndim else 0} embeddings for {len(chunks)} chunks"
            )
        dim = matrix.shape[1]
        expected = self._dimension
        if expected is not None and dim != expected:
            raise self._mismatch(dim, "embeddings have", from_embedder)
        if not np.isfinite(matrix).all():
            row = int(np.argwhere(~np.isfinite(matrix))[0][0])
            raise EmbeddingError(f"embedding for chunk {chunks[row].id!r} has NaN or inf")
        return matrix

    def _add_plan(
        self, chunks: Sequence[Chunk], matrix: np.ndarray, from_embedder: bool
    ) -> Plan[list[str]]:
        if self._dimension is None and chunks:
            peek = yield ("get", {"limit": 1, "include": ["embeddings"]})
            stored = peek.get("embeddings")
            if stored is not None and len(stored):
                self._dimension = len(stored[0])
            matrix = self._check_vectors(matrix, chunks, from_embedder)
            self._dimension = self._dimension or int(matrix.shape[1])
        update = guard.record(self._metadata, self.embedder, self._dimension)
        if update is not None:
            yield ("modify", {"metadata": update})
            self._metadata = update
        ids = [chunk.id for chunk in chunks]
        size = self._batch_size or len(ids) or 1
        spans = [(lo, min(lo + size, len(ids))) for lo in range(0, len(ids), size)]
        snapshot: dict[str, Any] | None = None
        existing: Container[str] | None = None  # None: not asked, so upsert
        if len(spans) > 1:  # one upsert is atomic in Chroma; several need an undo record
            snapshot = existing = yield from self._snapshot_plan(ids, spans)
        elif len(ids) >= _CHECK_BEFORE_ADD:
            found = yield ("get", {"ids": ids, "include": []})
            existing = set(found["ids"])
        done = 0
        try:
            for lo, hi in spans:
                fresh = existing is not None and not any(i in existing for i in ids[lo:hi])
                yield (
                    "add" if fresh else "upsert",
                    {
                        "ids": ids[lo:hi],
                        "embeddings": matrix[lo:hi],
                        "documents": [chunk.text for chunk in chunks[lo:hi]],
                        "metadatas": [chunk_metadata(chunk) for chunk in chunks[lo:hi]],
                    },
                )
                done = hi
        except StoreError as exc:
            if snapshot is not None:
                yield from self._undo_plan(ids[: min(done + size, len(ids))], snapshot, size)
                raise StoreError(
                    f"{exc} (the {done} records already written were rolled back)"
                ) from exc
            raise
        return ids

    def _snapshot_plan(self, ids: list[str], spans: list[tuple[int, int]]) -> Plan[dict[str, Any]]:
        """What the records about to be overwritten held, to undo a half-done write."""
        existing: dict[str, Any] = {}
        for lo, hi in spans:
            found = yield ("get", {"ids": ids[lo:hi], "include": [*_RECORD, "embeddings"]})
            for i, record_id in enumerate(found["ids"]):
                existing[record_id] = (
                    found["embeddings"][i],
                    found["documents"][i],
                    found["metadatas"][i],
                )
        return existing

    def _undo_plan(self, touched: list[str], snapshot: dict[str, Any], size: int) -> Plan[None]:
        new = [i for i in touched if i not in snapshot]
        for lo in range(0, len(new), size):
            yield ("delete", {"ids": new[lo : lo + size]})
        old = [i for i in touched if i in snapshot]
        for lo in range(0, len(old), size):
            part = old[lo : lo + size]
            yield (
                "upsert",
                {
                    "ids": part,
                    "embeddings": [snapshot[i][0] for i in part],
                    "documents": [snapshot[i][1] for i in part],
                    "metadatas": [snapshot[i][2] or None for i in part],
                },
            )

    def add(
        self, chunks: Iterable[Chunk], embeddings: Sequence[Sequence[float]] | None = None
    ) -> list[str]:
        """Upsert `chunks` (embedding them unless `embeddings` is given); return their ids.

        Any number of chunks works: writes are split at the client's max batch size. All
        input is validated before the first write, and a write that fails half-way is
        rolled back, so a rejected call leaves the collection as it was. Batches whose ids
        were all absent when the call began go through Chroma's cheaper `add`; should
        another writer create one of those ids meanwhile, its record is kept, as if it
        had written after this call.
        """
        items = self._check_chunks(chunks)
        if not items:
            return []
        from_embedder = embeddings is None
        vectors = (
            self._embed_documents(self._texts_to_embed(items)) if from_embedder else embeddings
        )
        matrix = self._check_vectors(vectors, items, from_embedder)
        ids = self._run(self._add_plan(items, matrix, from_embedder))
        self._notify("upsert", ids)
        return ids

    async def aadd(
        self, chunks: Iterable[Chunk], embeddings: Sequence[Sequence[float]] | None = None
    ) -> list[str]:
        """Async `add`."""
        if not self.is_async_native:
            return await asyncio.to_thread(self.add, self._check_chunks(chunks), embeddings)
        items = self._check_chunks(chunks)
        if not items:
            return []
        from_embedder = embeddings is None
        if embeddings is None:
            embeddings = await self._aembed_documents(self._texts_to_embed(items))
        matrix = self._check_vectors(embeddings, items, from_embedder)
        ids = await self._arun(self._add_plan(items, matrix, from_embedder))
        self._notify("upsert", ids)
        return ids

    def _embed_documents(self, texts: list[str]) -> list[list[float]]:
        assert self.embedder is not None
        try:
            return self.embedder.embed_documents(texts)
        except ChromaBridgeError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"embedder {self.embedder.name!r} failed: {exc}") from exc

    async def _aembed_documents(self, texts: list[str]) -> list[list[float]]:
        assert self.embedder is not None
        try:
            return await self.embedder.aembed_documents(texts)
        except ChromaBridgeError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"embedder {self.embedder.name!r} failed: {exc}") from exc

    # -- deletes ------------------------------------------------------------------------

    def _delete_plan(
        self,
        ids: Sequence[str] | None,
        where: Any,
        doc_id: str | Sequence[str] | None,
    ) -> Plan[None]:
        if ids is None and where is None and doc_id is None:
            raise ConfigError("delete() needs ids=, where= or doc_id= (use clear() to empty)")
        clauses: list[dict[str, Any]] = []
        flt = to_chroma_filter(where)
        if flt.where is not None:
            clauses.append(flt.where)
        if doc_id is not None:
            doc_ids = _strings(doc_id, "doc_id")
            if not doc_ids or not all(doc_ids):
                raise ConfigError(f"doc_id must be a non-empty string or list, got {doc_id!r}")
            clauses.append({"doc_id": {"$in": doc_ids}})
        where_ = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        if ids is not None:
            id_list = _strings(ids, "ids")
            size = self._batch_size or len(id_list) or 1
            for lo in range(0, len(id_list), size):
                yield ("delete", {"ids": id_list[lo : lo + size], "where": where_})
        else:
            yield ("delete", {"where": where_, "where_document": flt.where_document})

    def delete(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        doc_id: str | Sequence[str] | None = None,
    ) -> None:
        """Delete by ids, by filter, or every chunk of one or more source documents."""
        self._run(self._delete_plan(ids, where, doc_id))
        self._notify("delete", _exact_ids(ids, where, doc_id))

    async def adelete(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        doc_id: str | Sequence[str] | None = None,
    ) -> None:
        """Async `delete`."""
        if not self.is_async_native:
            return await asyncio.to_thread(self.delete, ids, where=where, doc_id=doc_id)
        await self._arun(self._delete_plan(ids, where, doc_id))
        self._notify("delete", _exact_ids(ids, where, doc_id))
        return None

    def _clear_plan(self) -> Plan[None]:
        while True:
            page = yield ("get", {"limit": self._batch_size or 1000, "include": []})
            if not page["ids"]:
                return
            yield ("delete", {"ids": page["ids"]})

    def clear(self) -> None:
        """Delete every record, keeping the collection and its settings."""
        self._run(self._clear_plan())
        self._notify("clear", None)

    async def aclear(self) -> None:
        """Async `clear`."""
        if not self.is_async_native:
            return await asyncio.to_thread(self.clear)
        await self._arun(self._clear_plan())
        self._notify("clear", None)
        return None

    # -- reads --------------------------------------------------------------------------

    def _hits(self, result: Mapping[str, Any]) -> list[Hit]:
        ids = _first(result, "ids")
        docs = _first(result, "documents") or [None] * len(ids)
        metas = _first(result, "metadatas") or [None] * len(ids)
        dists = [float(d) for d in _first(result, "distances")]
        space = self._space
        return [
            Hit(
                chunk=record_to_chunk(record_id, doc, meta),
                score=relevance(dist, space),
                distance=dist,
            )
            for record_id, doc, meta, dist in zip(ids, docs, metas, dists, strict=True)
        ]

    def _query_plan(
        self, vector: np.ndarray, k: int, flt: ChromaFilter, with_vectors: bool = False
    ) -> Plan[tuple[list[Hit], list[Any]]]:
        include = [*_RECORD, "distances"] + (["embeddings"] if with_vectors else [])
        result = yield _query_call(vector, k, flt, include)
        return self._hits(result), _first(result, "embeddings") if with_vectors else []

    def _query_vector(self, text: str | None, embedding: Sequence[float] | None) -> Any:
        if (text is None) == (embedding is None):
            raise ConfigError("pass exactly one of text= or embedding=")
        if embedding is not None:
            return self._check_query_vector(embedding)
        if not isinstance(text, str):
            raise ConfigError(f"query text must be a str, got {type(text).__name__}")
        if self.embedder is None:
            raise ConfigError(f"ChromaStore {self.name!r} has no embedder; pass embedding=")
        return None

    def _check_query_vector(self, vector: Any, from_embedder: bool = False) -> np.ndarray:
        if isinstance(vector, (str, bytes)):  # numpy would read "1.5" as a number
            raise _not_numbers(vector)
        try:
            values = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise _not_numbers(vector, exc) from exc
        if values.ndim != 1:
            raise EmbeddingError(f"a query vector must be flat, got shape {values.shape}")
        if self._dimension is not None and values.shape[0] != self._dimension:
            raise self._mismatch(values.shape[0], "the query vector has", from_embedder)
        # one reduction on the usual path: NaN and inf survive a sum (an overflowing sum
        # of finite values falls through to the exact test)
        if not math.isfinite(values.sum()) and not np.isfinite(values).all():
            raise EmbeddingError("the query vector has NaN or inf")
        return values

    def _query_args(
        self, text: str | None, embedding: Sequence[float] | None, k: int, where: Any, wd: Any
    ) -> tuple[np.ndarray, ChromaFilter]:
        """Checks shared by every query (k, filter, vector), embedding `text` if given."""
        _check_k(k)
        flt = to_chroma_filter(where, wd)
        vector = self._query_vector(text, embedding)
        if vector is None:
            assert self.embedder is not None and text is not None
            vector = self._check_query_vector(self.embedder.embed_query(text), True)
        return vector, flt

    async def _aquery_args(
        self, text: str | None, embedding: Sequence[float] | None, k: int, where: Any, wd: Any
    ) -> tuple[np.ndarray, ChromaFilter]:
        """Async `_query_args` (the embedder's async call)."""
        _check_k(k)
        flt = to_chroma_filter(where, wd)
        vector = self._query_vector(text, embedding)
        if vector is None:
            assert self.embedder is not None and text is not None
            vector = self._check_query_vector(await self.embedder.aembed_query(text), True)
        return vector, flt

    def query(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> list[Hit]:
        """The `k` nearest chunks to `text` (embedded here) or to `embedding`."""
        vector, flt = self._query_args(text, embedding, k, where, where_document)
        return self._run(self._query_plan(vector, k, flt))[0]

    async def aquery(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> list[Hit]:
        """Async `query`."""
        if not self.is_async_native:
            return await asyncio.to_thread(self.query, text, embedding, k, where, where_document)
        vector, flt = await self._aquery_args(text, embedding, k, where, where_document)
        return (await self._arun(self._query_plan(vector, k, flt)))[0]

    def _nearest_plan(
        self, vector: np.ndarray, k: int, flt: ChromaFilter
    ) -> Plan[list[tuple[str, float]]]:
        result = yield _query_call(vector, k, flt, ["distances"])
        distances = map(float, _first(result, "distances"))
        return list(zip(_first(result, "ids"), distances, strict=True))

    def nearest(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> list[tuple[str, float]]:
        """(id, distance) of the `k` nearest chunks, nearest first, without reading their
        records: for callers that fuse or cut candidate lists before reading the few
        they return (`HybridRetriever`)."""
        vector, flt = self._query_args(text, embedding, k, where, where_document)
        return self._run(self._nearest_plan(vector, k, flt))

    async def anearest(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> list[tuple[str, float]]:
        """Async `nearest`."""
        if not self.is_async_native:
            return await asyncio.to_thread(self.nearest, text, embedding, k, where, where_document)
        vector, flt = await self._aquery_args(text, embedding, k, where, where_document)
        return await self._arun(self._nearest_plan(vector, k, flt))

    def _mmr_pick(
        self, vector: np.ndarray, found: tuple[list[Hit], list[Any]], k: int, lam: float
    ) -> list[Hit]:
        hits, vectors = found
        return [hits[i] for i in mmr_select(vector, vectors, k, lam)]

    @staticmethod
    def _check_mmr(k: int, fetch_k: int, lambda_mult: float) -> None:
        _check_k(k)
        _check_k(fetch_k, "fetch_k")
        number = isinstance(lambda_mult, (int, float)) and not isinstance(lambda_mult, bool)
        if not number or not 0.0 <= lambda_mult <= 1.0:
            raise ConfigError(f"lambda_mult must be a number within [0, 1], got {lambda_mult!r}")

    def mmr(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        where: Any = None,
        where_document: Any = None,
    ) -> list[Hit]:
        """Maximal marginal relevance: `k` of the `fetch_k` nearest, diverse among
        themselves. Scores are each hit's plain relevance to the query."""
        self._check_mmr(k, fetch_k, lambda_mult)
        vector, flt = self._query_args(text, embedding, k, where, where_document)
        found = self._run(self._query_plan(vector, max(k, fetch_k), flt, with_vectors=True))
        return self._mmr_pick(vector, found, k, lambda_mult)

    async def ammr(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        where: Any = None,
        where_document: Any = None,
    ) -> list[Hit]:
        """Async `mmr`."""
        if not self.is_async_native:
            return await asyncio.to_thread(
                self.mmr, text, embedding, k, fetch_k, lambda_mult, where, where_document
            )
        self._check_mmr(k, fetch_k, lambda_mult)
        vector, flt = await self._aquery_args(text, embedding, k, where, where_document)
        plan = self._query_plan(vector, max(k, fetch_k), flt, with_vectors=True)
        return self._mmr_pick(vector, await self._arun(plan), k, lambda_mult)

    def _get_plan(
        self,
        ids: Sequence[str] | None,
        where: Any,
        where_document: Any,
        limit: int | None,
        offset: int | None,
        text: bool = True,
    ) -> Plan[list[Chunk]]:
        if limit is not None:
            _check_k(limit, "limit")
        if offset is not None and (not isinstance(offset, int) or offset < 0):
            raise ConfigError(f"offset must be a non-negative int, got {offset!r}")
        flt = to_chroma_filter(where, where_document)
        id_list = None if ids is None else _strings(ids, "ids")
        result = yield (
            "get",
            {
                "ids": id_list,
                "where": flt.where,
                "where_document": flt.where_document,
                "limit": limit,
                "offset": offset,
                "include": _RECORD if text else ["metadatas"],
            },
        )
        docs = result["documents"] if text else [""] * len(result["ids"])
        chunks = [
            record_to_chunk(i, d, m)
            for i, d, m in zip(result["ids"], docs, result["metadatas"], strict=True)
        ]
        if id_list is not None:  # Chroma returns ids in storage order; callers expect theirs
            order = {record_id: n for n, record_id in enumerate(id_list)}
            chunks.sort(key=lambda c: order.get(c.id, len(order)))
        return chunks

    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        where_document: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        text: bool = True,
    ) -> list[Chunk]:
        """Chunks by id (in the order asked; missing ids are skipped) or by filter.

        `text=False` fetches metadata only (chunk text left empty): bookkeeping scans
        over large collections need not move every document's text.
        """
        return self._run(self._get_plan(ids, where, where_document, limit, offset, text))

    async def aget(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        where_document: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        text: bool = True,
    ) -> list[Chunk]:
        """Async `get`."""
        if not self.is_async_native:
            return await asyncio.to_thread(
                self.get,
                ids,
                where=where,
                where_document=where_document,
                limit=limit,
                offset=offset,
                text=text,
            )
        return await self._arun(self._get_plan(ids, where, where_document, limit, offset, text))

    def _count_plan(self) -> Plan[int]:
        return int((yield ("count", {})))

    def count(self) -> int:
        """Number of records in the collection."""
        return self._run(self._count_plan())

    async def acount(self) -> int:
        """Async `count`."""
        if not self.is_async_native:
            return await asyncio.to_thread(self.count)
        return await self._arun(self._count_plan())

    def iter_chunks(
        self, page_size: int = 1000, *, where: Any = None, text: bool = True
    ) -> Iterator[Chunk]:
        """Every chunk (or those matching `where`), fetched `page_size` at a time."""
        _check_k(page_size, "page_size")
        offset = 0
        while True:
            page = self.get(where=where, limit=page_size, offset=offset, text=text)
            yield from page
            if len(page) < page_size:
                return
            offset += page_size

    def __iter__(self) -> Iterator[Chunk]:
        return self.iter_chunks()

    def __len__(self) -> int:
        return self.count()

    async def aiter_chunks(
        self, page_size: int = 1000, *, where: Any = None, text: bool = True
    ) -> AsyncIterator[Chunk]:
        """Async `iter_chunks` (an async generator)."""
        _check_k(page_size, "page_size")
        offset = 0
        while True:
            page = await self.aget(where=where, limit=page_size, offset=offset, text=text)
            for chunk in page:
                yield chunk
            if len(page) < page_size:
                return
            offset += page_size

    def delete_collection(self) -> None:
        """Drop the whole collection from Chroma; this store is unusable afterwards."""
        client = self._conn.sync
        if client is None:
            raise ConfigError("delete_collection needs a blocking client; use adelete_collection")
        self._drive(self._drop_plan(), client)
        self._collection = None

    async def adelete_collection(self) -> None:
        """Async `delete_collection`."""
        if self._conn.async_client is None and self._conn.async_factory is None:
            return await asyncio.to_thread(self.delete_collection)
        client = self._conn.async_client or await self._conn.async_factory()  # type: ignore[misc]
        await self._adrive(self._drop_plan(), client)
        self._async.clear()
        return None

    def _drop_plan(self) -> Plan[None]:
        yield ("delete_collection", {"name": self.name})
