"""`VectorRetriever`: nearest neighbours (or MMR) from a `ChromaStore`, thresholded."""

from __future__ import annotations

from typing import Any, Literal

from chromabridge import telemetry
from chromabridge.errors import ConfigError
from chromabridge.types import Hit
from chromabridge.vectorstores import ChromaFilter, ChromaStore
from chromabridge.vectorstores.grouping import check_per_document

from .base import RetrieverBase, check_k

__all__ = ["VectorRetriever"]

SearchType = Literal["similarity", "mmr"]


class VectorRetriever(RetrieverBase):
    """Dense retrieval; the query is embedded with the store's embedder.

    `search_type="mmr"` takes `fetch_k` neighbours and keeps `k` diverse ones
    (`lambda_mult`: 1 = pure relevance, 0 = pure diversity, LangChain's convention).
    `score_threshold` drops hits whose `score` (relevance in the store's distance space,
    higher is better) is below it; fewer than `k` hits may come back.
    `max_per_document` keeps at most that many chunks of each source document, searching
    deeper until `k` remain (cost: `chromabridge.vectorstores.grouping`).
    """

    def __init__(
        self,
        store: ChromaStore,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        score_threshold: float | None = None,
        search_type: SearchType = "similarity",
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        max_per_document: int | None = None,
    ) -> None:
        if search_type not in ("similarity", "mmr"):
            raise ConfigError(f"search_type must be 'similarity' or 'mmr', got {search_type!r}")
        if not 0.0 <= lambda_mult <= 1.0:
            raise ConfigError(f"lambda_mult must be within [0, 1], got {lambda_mult!r}")
        self._init_base(k, filter, where_document)
        self.store = store
        self.score_threshold = score_threshold
        self.search_type: SearchType = search_type
        self.fetch_k = check_k(fetch_k, "fetch_k")
        self.lambda_mult = lambda_mult
        self.max_per_document = check_per_document(max_per_document)

    def __repr__(self) -> str:
        return (
            f"VectorRetriever(store={self.store.name!r}, k={self.k}, "
            f"search_type={self.search_type!r}, score_threshold={self.score_threshold!r})"
        )

    def _keep(self, hits: list[Hit]) -> list[Hit]:
        if self.score_threshold is None:
            return hits
        return [h for h in hits if h.score >= self.score_threshold]

    def _args(self, k: int, flt: ChromaFilter) -> dict[str, Any]:
        args: dict[str, Any] = {
            "k": k,
            "where": flt.where,
            "where_document": flt.where_document,
            "max_per_document": self.max_per_document,
        }
        if self.search_type == "mmr":
            args.update(fetch_k=max(k, self.fetch_k), lambda_mult=self.lambda_mult)
        return args

    def retrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        k_, flt = self._call_args(k, where)
        search = self.store.mmr if self.search_type == "mmr" else self.store.query
        with telemetry.retrieve_span(self.search_type, k_, query) as span:
            return telemetry.hits(span, self._keep(search(query, **self._args(k_, flt))))

    async def aretrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        k_, flt = self._call_args(k, where)
        search = self.store.ammr if self.search_type == "mmr" else self.store.aquery
        with telemetry.retrieve_span(self.search_type, k_, query) as span:
            return telemetry.hits(span, self._keep(await search(query, **self._args(k_, flt))))
