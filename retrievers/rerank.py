"""`CohereReranker`: Cohere Rerank over any retriever's candidates.

A cross-encoder reads the query and each candidate together, so it orders a short list
better than any embedding or BM25 score; it is too slow to search a collection, hence
retrieve `candidates` cheaply, then rerank to `top_n`. Requests go through the `cohere`
SDK's v2 clients with chromabridge's retry policy (backoff with jitter, Retry-After
honoured, SDK retries off) and the API key is kept out of repr, logs and errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from chromabridge import telemetry
from chromabridge.errors import ConfigError, RerankError
from chromabridge.retry import RetryPolicy, acall_with_retry, call_with_retry
from chromabridge.types import Hit

from .base import Retriever, RetrieverBase, check_k

__all__ = ["CohereReranker", "RerankError"]  # RerankError: chromabridge.errors


_RERANK = "chromabridge.rerank"


def _classify(exc: BaseException) -> Any:
    from chromabridge.embedders.cohere_embedder import classify_cohere

    return classify_cohere(exc)


class CohereReranker(RetrieverBase):
    """Rerank hits with a Cohere model (`rerank-v3.5`, `rerank-english-v3.0`, ...).

    Use `rerank(query, hits)` on hits from anywhere, or pass `retriever=` to get a
    retriever that fetches `candidates` hits and returns the best `top_n` (its `k`).
    `Hit.score` becomes Cohere's relevance score (0..1); `distance` is kept.
    `client` / `async_client` take cohere `ClientV2` / `AsyncClientV2` instances.
    """

    def __init__(
        self,
        model: str = "rerank-v3.5",
        top_n: int = 4,
        *,
        retriever: Retriever | None = None,
        candidates: int = 25,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_tokens_per_doc: int | None = None,
        retry: RetryPolicy | None = None,
        client: Any | None = None,
        async_client: Any | None = None,
    ) -> None:
        self._init_base(top_n, None, None)
        self.model = model
        self.retriever = retriever
        self.candidates = check_k(candidates, "candidates")
        self.max_tokens_per_doc = max_tokens_per_doc
        self.retry = retry or RetryPolicy()
        try:
            import cohere
        except ImportError as exc:
            raise ConfigError(
                "CohereReranker needs cohere: pip install 'chromabridge[cohere]'"
            ) from exc
        kwargs: dict[str, Any] = {"timeout": timeout}
        if base_url is not None:
            kwargs["base_url"] = base_url
        if client is None:
            try:
                client = cohere.ClientV2(api_key, **kwargs)
                async_client = async_client or cohere.AsyncClientV2(api_key, **kwargs)
            except cohere.core.api_error.ApiError:
                raise ConfigError(
                    "CohereReranker: no API key (pass api_key= or set CO_API_KEY)"
                ) from None
        self._client = client
        self._aclient = async_client
        from chromabridge.embedders.cohere_embedder import _client_key

        self._secrets = tuple(k for k in (api_key, _client_key(client)) if k)

    def __repr__(self) -> str:
        inner = f", retriever={self.retriever!r}" if self.retriever is not None else ""
        return f"CohereReranker(model={self.model!r}, top_n={self.k}{inner})"

    @property
    def top_n(self) -> int:
        return self.k

    def _request(self, query: str, hits: Sequence[Hit], top_n: int) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": self.model,
            "query": query,
            "documents": [h.chunk.text for h in hits],
            "top_n": min(top_n, len(hits)),
            "request_options": {"max_retries": 0},
        }
        if self.max_tokens_per_doc is not None:
            args["max_tokens_per_doc"] = self.max_tokens_per_doc
        return args

    def _parse(self, response: Any, hits: Sequence[Hit]) -> list[Hit]:
        try:
            results = [(int(r.index), float(r.relevance_score)) for r in response.results]
        except (AttributeError, TypeError, ValueError) as exc:
            raise RerankError(
                f"{self.model}: the server's answer is not a rerank response"
            ) from exc
        if any(not 0 <= i < len(hits) for i, _ in results):
            raise RerankError(f"{self.model}: rerank result index out of range")
        results.sort(key=lambda pair: -pair[1])
        return [Hit(hits[i].chunk, score, hits[i].distance) for i, score in results]

    def _what(self, hits: Sequence[Hit]) -> str:
        return f"cohere:{self.model}: rerank of {len(hits)} documents"

    def rerank(self, query: str, hits: Sequence[Hit], top_n: int | None = None) -> list[Hit]:
        """The best `top_n` of `hits` for `query`, best first."""
        if not hits:
            return []
        args = self._request(query, hits, check_k(top_n) if top_n is not None else self.k)
        with telemetry.span(_RERANK, self._span_attributes(hits)):
            response = call_with_retry(
                lambda: self._client.rerank(**args),
                classify=_classify,
                what=self._what(hits),
                make_error=RerankError,
                policy=self.retry,
                secrets=self._secrets,
            )
        return self._parse(response, hits)

    def _span_attributes(self, hits: Sequence[Hit]) -> dict[str, Any]:
        return {
            "gen_ai.provider.name": "cohere",
            "gen_ai.request.model": self.model,
            "chromabridge.candidates": len(hits),
        }

    async def arerank(self, query: str, hits: Sequence[Hit], top_n: int | None = None) -> list[Hit]:
        """Async `rerank` (truly async with an `AsyncClientV2`)."""
        aclient = self._aclient
        if aclient is None:
            return await asyncio.to_thread(self.rerank, query, hits, top_n)
        if not hits:
            return []
        args = self._request(query, hits, check_k(top_n) if top_n is not None else self.k)
        with telemetry.span(_RERANK, self._span_attributes(hits)):
            response = await acall_with_retry(
                lambda: aclient.rerank(**args),
                classify=_classify,
                what=self._what(hits),
                make_error=RerankError,
                policy=self.retry,
                secrets=self._secrets,
            )
        return self._parse(response, hits)

    def _inner(self) -> Retriever:
        if self.retriever is None:
            raise ConfigError(
                "CohereReranker.retrieve needs retriever=; or call rerank(query, hits)"
            )
        return self.retriever

    def retrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        top_n = check_k(k) if k is not None else self.k
        with telemetry.retrieve_span("rerank", top_n, query) as span:
            hits = self._inner().retrieve(query, k=max(self.candidates, top_n), where=where)
            return telemetry.hits(span, self.rerank(query, hits, top_n))

    async def aretrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        top_n = check_k(k) if k is not None else self.k
        with telemetry.retrieve_span("rerank", top_n, query) as span:
            found = await self._inner().aretrieve(query, k=max(self.candidates, top_n), where=where)
            return telemetry.hits(span, await self.arerank(query, found, top_n))
