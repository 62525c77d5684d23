"""OpenAI embeddings (and Azure / OpenAI-compatible servers) through the `openai` SDK.

The API limits a request to 2,048 inputs and 300,000 tokens, and an input to 8,191
tokens; exceeding any of them is a 400 for the whole batch. Inputs are therefore
counted with tiktoken and packed into requests under both bounds, and over-long inputs
follow an explicit policy instead of failing a whole ingestion run:

- `"truncate"` (default): keep the first 8,191 tokens; warn once per embedder.
- `"average"`: embed consecutive 8,191-token windows and average them, weighted by
  window length, then re-normalise (OpenAI's cookbook recipe); costs one input per window.
- `"error"`: raise `EmbeddingError` naming the text and its token count.

Empty strings, which the API rejects, are sent as a single space.
"""

from __future__ import annotations

import asyncio
import base64
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from chromabridge import telemetry
from chromabridge.errors import ConfigError, EmbeddingError
from chromabridge.retry import (
    Failure,
    RetryPolicy,
    acall_with_retry,
    call_with_retry,
    parse_retry_after,
)

from .base import Vector
from .native import NativeEmbedder

if TYPE_CHECKING:
    import tiktoken
    from openai import AsyncOpenAI, OpenAI

__all__ = ["KNOWN_OPENAI_DIMENSIONS", "OpenAIEmbedder", "Overflow"]

Overflow = Literal["truncate", "average", "error"]
KNOWN_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_FIXED_SIZE = {"text-embedding-ada-002"}
_HINTS = {
    401: "check the API key",
    403: "the key may not have access to this model or organisation",
    404: "check the model name, base_url or Azure deployment",
}


def classify_openai(exc: BaseException) -> Failure | None:
    """Read an `openai` SDK exception as a retry decision."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return Failure(True, "request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return Failure(True, "connection failed")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in (408, 409, 429) or status >= 500
        reason = f"HTTP {status}"
        if status in _HINTS:
            reason += f" ({_HINTS[status]})"
        return Failure(
            retryable,
            reason,
            status=status,
            retry_after=parse_retry_after(exc.response.headers),
            detail=_body_message(exc.body),
        )
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return Failure(False, "malformed response (not the embeddings JSON)")
    return None


def _body_message(body: object) -> str:
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            return str(error.get("message", ""))
        return str(error)
    return "" if body is None else str(body)


def _decode(embedding: Any) -> Any:
    """The SDK returns `encoding_format="base64"` vectors still encoded: float32 LE."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding, validate=True), dtype="<f4").tolist()
    return embedding


@dataclass(frozen=True)
class _Piece:
    """One API input: a text or a window of one, and which text it belongs to."""

    owner: int
    text: str
    tokens: int


class OpenAIEmbedder(NativeEmbedder):
    """OpenAI's embedding models, sync and async.

    `dimensions` shortens text-embedding-3 vectors (a different vector space, so it is
    part of `name`: `openai:text-embedding-3-small@256`). `base_url` points at any
    OpenAI-compatible server; `azure_endpoint` (+ `azure_deployment`, `api_version`)
    selects Azure OpenAI, where `model` should still name the underlying model so the
    name and dimension stay meaningful. Pass `client` (and `async_client`; without it
    the async methods run `client` in a worker thread) to inject your own; SDK retries
    are switched off because `retry` governs them.
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        dimensions: int | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        azure_endpoint: str | None = None,
        azure_deployment: str | None = None,
        api_version: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        max_batch_inputs: int = 2048,
        max_batch_tokens: int = 300_000,
        max_input_tokens: int = 8191,
        overflow: Overflow = "truncate",
        encoding: str | None = None,
        encoding_format: Literal["float", "base64"] = "float",
        max_concurrency: int = 4,
        client: OpenAI | None = None,
        async_client: AsyncOpenAI | None = None,
    ) -> None:
        if overflow not in ("truncate", "average", "error"):
            raise ConfigError(
                f"overflow must be 'truncate', 'average' or 'error', not {overflow!r}"
            )
        if min(max_batch_inputs, max_batch_tokens, max_input_tokens, max_concurrency) < 1:
            raise ConfigError("OpenAIEmbedder limits must be positive")
        if max_input_tokens > max_batch_tokens:
            raise ConfigError("max_input_tokens cannot exceed max_batch_tokens")
        native = KNOWN_OPENAI_DIMENSIONS.get(model)
        if dimensions is not None:
            if dimensions < 1:
                raise ConfigError("dimensions must be positive")
            if model in _FIXED_SIZE:
                raise ConfigError(f"{model} does not support `dimensions`; use text-embedding-3")
            if native is not None and dimensions > native:
                raise ConfigError(f"{model} has at most {native} dimensions, not {dimensions}")
        try:
            import openai
        except ImportError as exc:
            raise ConfigError(
                "OpenAIEmbedder needs openai: pip install 'chromabridge[openai]'"
            ) from exc

        self.model = model
        self.dimensions = dimensions
        self.overflow: Overflow = overflow
        self.max_batch_inputs = max_batch_inputs
        self.max_batch_tokens = max_batch_tokens
        self._max_input_tokens = max_input_tokens
        self.encoding_format: Literal["float", "base64"] = encoding_format
        self.max_concurrency = max_concurrency
        self.retry = retry or RetryPolicy()
        self._encoding_name = encoding
        self._encoding: tiktoken.Encoding | None = None
        self._warned = False
        self._name = f"openai:{model}" + (f"@{dimensions}" if dimensions else "")
        self._dimension = dimensions or native

        common: dict[str, Any] = {
            "api_key": api_key,
            "organization": organization,
            "project": project,
            "timeout": timeout,
            "max_retries": 0,
            "default_headers": default_headers,
        }
        # Clients are built from the arguments unless injected. An injected sync client
        # without an async twin is used from a worker thread for the async methods,
        # rather than guessing its settings into a second client.
        try:
            if client is None:
                if azure_endpoint is not None:
                    azure = {
                        **common,
                        "azure_endpoint": azure_endpoint,
                        "azure_deployment": azure_deployment,
                        "api_version": api_version,
                    }
                    client = openai.AzureOpenAI(**azure)
                    async_client = async_client or openai.AsyncAzureOpenAI(**azure)
                else:
                    client = openai.OpenAI(base_url=base_url, **common)
                    async_client = async_client or openai.AsyncOpenAI(base_url=base_url, **common)
        except openai.OpenAIError as exc:
            raise ConfigError(f"OpenAIEmbedder: {exc}") from None
        self._client = client.with_options(max_retries=0)
        self._aclient = async_client.with_options(max_retries=0) if async_client else None
        key = getattr(self._client, "api_key", None)
        self._secrets = tuple(k for k in (api_key, key if isinstance(key, str) else None) if k)

    @property
    def max_input_tokens(self) -> int:
        return self._max_input_tokens

    # -- tokens ---------------------------------------------------------------------------

    @property
    def encoding(self) -> tiktoken.Encoding:
        """The tiktoken encoding the model counts with (loaded on first use)."""
        if self._encoding is None:
            import tiktoken

            if self._encoding_name is not None:
                self._encoding = tiktoken.get_encoding(self._encoding_name)
            else:
                try:
                    self._encoding = tiktoken.encoding_for_model(self.model)
                except KeyError:
                    self._encoding = tiktoken.get_encoding("cl100k_base")
        return self._encoding

    def count_tokens(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def _fit(self, tokens: list[int]) -> str:
        """Decode a token window, shrinking it if decoding re-tokenises longer."""
        limit = self._max_input_tokens
        cut = tokens[:limit]
        text = self.encoding.decode(cut)
        while self.count_tokens(text) > limit and cut:
            cut = cut[: len(cut) - max(1, (self.count_tokens(text) - limit))]
            text = self.encoding.decode(cut)
        return text

    def _pieces(self, texts: Sequence[str]) -> list[_Piece]:
        enc = self.encoding
        limit = self._max_input_tokens
        pieces: list[_Piece] = []
        for i, raw in enumerate(texts):
            text = raw or " "
            tokens = enc.encode(text, disallowed_special=())
            if len(tokens) <= limit:
                pieces.append(_Piece(i, text, len(tokens)))
                continue
            if self.overflow == "error":
                raise EmbeddingError(
                    f"{self.name}: text {i} has {len(tokens)} tokens, more than the model's "
                    f"{limit}; split it, or choose overflow='truncate' or 'average'"
                )
            if self.overflow == "truncate":
                if not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"{self.name}: text {i} has {len(tokens)} tokens; embedding its first "
                        f"{limit} (overflow='truncate', warned once per embedder)",
                        stacklevel=3,
                    )
                fitted = self._fit(tokens)
                pieces.append(_Piece(i, fitted, self.count_tokens(fitted)))
                continue
            for start in range(0, len(tokens), limit):
                window = self._fit(tokens[start : start + limit])
                pieces.append(_Piece(i, window, self.count_tokens(window)))
        return pieces

    def _batches(self, pieces: list[_Piece]) -> list[list[_Piece]]:
        """Greedy packing in order, bounded by input count and token sum."""
        batches: list[list[_Piece]] = []
        current: list[_Piece] = []
        used = 0
        for piece in pieces:
            if current and (
                len(current) >= self.max_batch_inputs or used + piece.tokens > self.max_batch_tokens
            ):
                batches.append(current)
                current, used = [], 0
            current.append(piece)
            used += piece.tokens
        if current:
            batches.append(current)
        return batches

    def _combine(self, count: int, pieces: list[_Piece], vectors: list[Vector]) -> list[Vector]:
        """One vector per text: the windows of a split text averaged by token weight."""
        groups: list[list[tuple[_Piece, Vector]]] = [[] for _ in range(count)]
        for piece, vector in zip(pieces, vectors, strict=True):
            groups[piece.owner].append((piece, vector))
        out: list[Vector] = []
        for group in groups:
            if len(group) == 1:
                out.append(group[0][1])
                continue
            weights = np.array([max(p.tokens, 1) for p, _ in group], dtype=np.float64)
            mean = np.average(np.array([v for _, v in group]), axis=0, weights=weights)
            norm = float(np.linalg.norm(mean)) or 1.0
            out.append((mean / norm).tolist())
        return out

    # -- requests -------------------------------------------------------------------------

    def _request(self, batch: list[_Piece]) -> dict[str, Any]:
        args: dict[str, Any] = {
            "input": [p.text for p in batch],
            "model": self.model,
            "encoding_format": self.encoding_format,
        }
        if self.dimensions is not None:
            args["dimensions"] = self.dimensions
        return args

    def _parse(self, response: Any, expected: int) -> list[Vector]:
        try:
            data = sorted(response.data, key=lambda item: item.index)
            raw = [_decode(item.embedding) for item in data]
        except (AttributeError, TypeError, ValueError) as exc:
            raise EmbeddingError(
                f"{self.name}: the server's answer is not an embeddings response "
                f"(got {type(response).__name__})"
            ) from exc
        return self._checked(raw, expected)

    def _what(self, batch: list[_Piece]) -> str:
        return f"{self.name}: embeddings request of {len(batch)} inputs"

    def _embed_one(self, batch: list[_Piece]) -> list[Vector]:
        args = self._request(batch)
        with telemetry.embedding_span("openai", self.model, len(batch)) as span:
            response = call_with_retry(
                lambda: self._client.embeddings.create(**args),
                classify=classify_openai,
                what=self._what(batch),
                make_error=EmbeddingError,
                policy=self.retry,
                secrets=self._secrets,
            )
            telemetry.usage(span, getattr(getattr(response, "usage", None), "prompt_tokens", None))
        return self._parse(response, len(batch))

    async def _aembed_one(self, batch: list[_Piece], gate: asyncio.Semaphore) -> list[Vector]:
        args = self._request(batch)
        aclient = self._aclient
        if aclient is None:
            async with gate:
                return await asyncio.to_thread(self._embed_one, batch)
        async with gate:
            with telemetry.embedding_span("openai", self.model, len(batch)) as span:
                response = await acall_with_retry(
                    lambda: aclient.embeddings.create(**args),
                    classify=classify_openai,
                    what=self._what(batch),
                    make_error=EmbeddingError,
                    policy=self.retry,
                    secrets=self._secrets,
                )
                usage = getattr(response, "usage", None)
                telemetry.usage(span, getattr(usage, "prompt_tokens", None))
        return self._parse(response, len(batch))

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        pieces = self._pieces(texts)
        vectors = [v for batch in self._batches(pieces) for v in self._embed_one(batch)]
        return self._combine(len(texts), pieces, vectors)

    def embed_query(self, text: str) -> Vector:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        pieces = self._pieces(texts)
        gate = asyncio.Semaphore(self.max_concurrency)
        results = await asyncio.gather(*(self._aembed_one(b, gate) for b in self._batches(pieces)))
        return self._combine(len(texts), pieces, [v for part in results for v in part])

    async def aembed_query(self, text: str) -> Vector:
        return (await self.aembed_documents([text]))[0]
