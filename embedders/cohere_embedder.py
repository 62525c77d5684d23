"""Cohere embeddings through the `cohere` SDK's v2 clients (`ClientV2`, `AsyncClientV2`).

Cohere's models embed documents and queries differently (`input_type`), and a request
holds at most 96 texts. Both are handled here so callers just embed.

`embedding_types="int8"` asks Cohere for its quantised vectors (values -128..127). They
are returned as floats because Chroma stores float32 whatever it is given: int8 buys a
smaller response and vectors that match int8 copies kept elsewhere (Cohere trains for
quantisation, so ranking quality stays close to float). It does not shrink Chroma's
index or speed up queries. It is a different vector space from float, hence the
`:int8` in `name`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from chromabridge import telemetry
from chromabridge.errors import ConfigError, EmbeddingError
from chromabridge.images import ImageSource, data_uri, read_image
from chromabridge.retry import (
    Failure,
    RetryPolicy,
    acall_with_retry,
    call_with_retry,
    parse_retry_after,
)

from .base import Vector
from .native import NativeEmbedder

__all__ = ["KNOWN_COHERE_DIMENSIONS", "CohereEmbedder"]

EmbeddingType = Literal["float", "int8"]
Truncate = Literal["NONE", "START", "END"]
MAX_COHERE_BATCH = 96
KNOWN_COHERE_DIMENSIONS = {
    "embed-english-v3.0": 1024,
    "embed-multilingual-v3.0": 1024,
    "embed-english-light-v3.0": 384,
    "embed-multilingual-light-v3.0": 384,
    "embed-v4.0": 1536,
}
_MAX_TOKENS = {"embed-v4.0": 128_000}
#: Cohere's bound on the images of one embed-v4 request, together (20 MB).
_MAX_IMAGES = 20 * 1000 * 1000
_HINTS = {
    401: "check the API key",
    404: "check the model name or base_url",
    498: "the API key is invalid",
}


def classify_cohere(exc: BaseException) -> Failure | None:
    """Read a `cohere` SDK (or its httpx transport) exception as a retry decision."""
    import httpx
    from cohere.core.api_error import ApiError

    if isinstance(exc, httpx.TimeoutException):
        return Failure(True, "request timed out")
    if isinstance(exc, httpx.TransportError):
        return Failure(True, "connection failed")
    if isinstance(exc, ApiError):
        status = exc.status_code
        if status is None or 200 <= status < 300:
            return Failure(False, "malformed response (not the JSON the API documents)")
        retryable = status in (408, 429) or status >= 500
        reason = f"HTTP {status}"
        if status in _HINTS:
            reason += f" ({_HINTS[status]})"
        body = exc.body
        detail = str(body.get("message", body)) if isinstance(body, Mapping) else str(body or "")
        return Failure(
            retryable,
            reason,
            status=status,
            retry_after=parse_retry_after(exc.headers),
            detail=detail,
        )
    return None


def _billed_tokens(response: Any) -> Any:
    """Input tokens Cohere billed for one request (`meta.billed_units.input_tokens`)."""
    units = getattr(getattr(response, "meta", None), "billed_units", None)
    return getattr(units, "input_tokens", None)


class CohereEmbedder(NativeEmbedder):
    """Cohere Embed v3 / v4.

    Documents are sent with `input_type="search_document"`, queries with
    `"search_query"` (override both for classification or clustering). `truncate`
    is Cohere's own over-length policy: `"END"` (default) drops the tail, `"NONE"`
    makes over-long inputs an error. `output_dimension` (embed-v4) is part of `name`.
    Inject `client` / `async_client` (cohere `ClientV2` / `AsyncClientV2`) if you like;
    SDK retries are switched off per request because `retry` governs them.
    """

    def __init__(
        self,
        model: str = "embed-english-v3.0",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        embedding_types: EmbeddingType = "float",
        output_dimension: int | None = None,
        truncate: Truncate = "END",
        document_input_type: str = "search_document",
        query_input_type: str = "search_query",
        batch_size: int = MAX_COHERE_BATCH,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        client: Any | None = None,
        async_client: Any | None = None,
    ) -> None:
        if embedding_types not in ("float", "int8"):
            raise ConfigError(f"embedding_types must be 'float' or 'int8', not {embedding_types!r}")
        if truncate not in ("NONE", "START", "END"):
            raise ConfigError(f"truncate must be 'NONE', 'START' or 'END', not {truncate!r}")
        if not 1 <= batch_size <= MAX_COHERE_BATCH:
            raise ConfigError(f"Cohere batch_size must be between 1 and {MAX_COHERE_BATCH}")
        if max_concurrency < 1:
            raise ConfigError("max_concurrency must be at least 1")
        if output_dimension is not None and output_dimension < 1:
            raise ConfigError("output_dimension must be positive")
        try:
            import cohere
        except ImportError as exc:
            raise ConfigError(
                "CohereEmbedder needs cohere: pip install 'chromabridge[cohere]'"
            ) from exc

        self.model = model
        self.embedding_types: EmbeddingType = embedding_types
        self.output_dimension = output_dimension
        self.truncate: Truncate = truncate
        self.document_input_type = document_input_type
        self.query_input_type = query_input_type
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.retry = retry or RetryPolicy()
        suffix = (f"@{output_dimension}" if output_dimension else "") + (
            ":int8" if embedding_types == "int8" else ""
        )
        self._name = f"cohere:{model}{suffix}"
        self._dimension = output_dimension or KNOWN_COHERE_DIMENSIONS.get(model)

        kwargs: dict[str, Any] = {"timeout": timeout}
        if base_url is not None:
            kwargs["base_url"] = base_url
        # As for OpenAI: an injected sync client without an async twin serves the async
        # methods from a worker thread.
        try:
            if client is None:
                client = cohere.ClientV2(api_key, **kwargs)
                async_client = async_client or cohere.AsyncClientV2(api_key, **kwargs)
            self._client = client
            self._aclient = async_client
        except cohere.core.api_error.ApiError as exc:
            raise ConfigError(f"CohereEmbedder: {exc.body}") from None
        self._secrets = tuple(k for k in (api_key, _client_key(self._client)) if k)

    @property
    def max_input_tokens(self) -> int:
        return _MAX_TOKENS.get(self.model, 512)

    def _request(
        self, texts: Sequence[str], input_type: str, field: str = "texts"
    ) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": self.model,
            field: list(texts),
            "input_type": input_type,
            "embedding_types": [self.embedding_types],
            "truncate": self.truncate,
            "request_options": {"max_retries": 0},
        }
        if self.output_dimension is not None:
            args["output_dimension"] = self.output_dimension
        return args

    def _parse(self, response: Any, expected: int) -> list[Vector]:
        try:
            holder = response.embeddings
            raw = holder.int8 if self.embedding_types == "int8" else holder.float_
        except AttributeError as exc:
            raise EmbeddingError(
                f"{self.name}: the server's answer is not an embed response"
            ) from exc
        if raw is None:
            raise EmbeddingError(f"{self.name}: response has no {self.embedding_types} embeddings")
        return self._checked(raw, expected)

    def _batches(self, texts: Sequence[str], field: str = "texts") -> list[Sequence[str]]:
        if field == "images":
            return self._image_batches(texts)
        return [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]

    def _image_batches(self, uris: Sequence[str]) -> list[Sequence[str]]:
        """Cohere's per-request image limits: one for v3 models; for v4, `batch_size`
        images of at most 20 MB together."""
        if not self.model.startswith("embed-v4"):
            return [[uri] for uri in uris]
        batches: list[list[str]] = []
        size = 0
        for uri in uris:
            if not batches or len(batches[-1]) >= self.batch_size or size + len(uri) > _MAX_IMAGES:
                batches.append([])
                size = 0
            batches[-1].append(uri)
            size += len(uri)
        return list(batches)

    def _embed(self, texts: Sequence[str], input_type: str, field: str = "texts") -> list[Vector]:
        out: list[Vector] = []
        for batch in self._batches(texts, field):
            args = self._request(batch, input_type, field)

            def call(args: dict[str, Any] = args) -> Any:
                return self._client.embed(**args)

            with telemetry.embedding_span("cohere", self.model, len(batch)) as span:
                response = call_with_retry(
                    call,
                    classify=classify_cohere,
                    what=f"{self.name}: embed request of {len(batch)} texts",
                    make_error=EmbeddingError,
                    policy=self.retry,
                    secrets=self._secrets,
                )
                telemetry.usage(span, _billed_tokens(response))
            out.extend(self._parse(response, len(batch)))
        return out

    async def _aembed(
        self, texts: Sequence[str], input_type: str, field: str = "texts"
    ) -> list[Vector]:
        aclient = self._aclient
        if aclient is None:
            return await asyncio.to_thread(self._embed, texts, input_type, field)
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(batch: Sequence[str]) -> list[Vector]:
            args = self._request(batch, input_type, field)
            async with gate:
                with telemetry.embedding_span("cohere", self.model, len(batch)) as span:
                    response = await acall_with_retry(
                        lambda: aclient.embed(**args),
                        classify=classify_cohere,
                        what=f"{self.name}: embed request of {len(batch)} texts",
                        make_error=EmbeddingError,
                        policy=self.retry,
                        secrets=self._secrets,
                    )
                    telemetry.usage(span, _billed_tokens(response))
            return self._parse(response, len(batch))

        parts = await asyncio.gather(*(one(b) for b in self._batches(texts, field)))
        return [v for part in parts for v in part]

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return self._embed(texts, self.document_input_type) if texts else []

    def embed_query(self, text: str) -> Vector:
        return self._embed([text], self.query_input_type)[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return await self._aembed(texts, self.document_input_type) if texts else []

    async def aembed_query(self, text: str) -> Vector:
        return (await self._aembed([text], self.query_input_type))[0]

    # -- images (embed-v3 and v4 models; v4 puts them in the space of its text vectors) ---

    def embed_images(self, images: Sequence[ImageSource]) -> list[Vector]:
        """Image vectors: each image sent as a base64 data URI, `input_type="image"`."""
        uris = [data_uri(read_image(image)) for image in images]
        return self._embed(uris, "image", "images") if uris else []

    async def aembed_images(self, images: Sequence[ImageSource]) -> list[Vector]:
        uris = await asyncio.to_thread(lambda: [data_uri(read_image(i)) for i in images])
        return await self._aembed(uris, "image", "images") if uris else []


def _client_key(client: Any) -> str | None:
    """The key a cohere client resolved (argument or CO_API_KEY), for redaction only."""
    wrapper = getattr(client, "_client_wrapper", None)
    for attr in ("_token", "token", "api_key"):
        value = getattr(wrapper, attr, None)
        if callable(value):
            continue
        if isinstance(value, str):
            return value
    return None
