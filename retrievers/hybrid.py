"""`HybridRetriever`: BM25 and dense retrieval fused by reciprocal rank fusion.

Works on every deployment Chroma runs locally (in-memory, a directory, a server, and a
store given only an `AsyncHttpClient`, through `aretrieve`): Chroma's own hybrid
`Search` API exists only on Chroma Cloud. The lexical side is a
`LexicalIndex` that follows the collection (see its module for what is noticed when).

Defaults and why they are general (none was tuned on a test collection):

* `rrf_k=60`: the constant of the RRF paper, used as is by Elasticsearch, OpenSearch
  and Chroma Cloud;
* `weights=(1, 1)`: no prior that either side is better; both are strong baselines
  (a zero weight switches that side off: no query is made for it);
* `candidates=100`: each side contributes its top 100. Fusion can only promote a
  document that appears in at least one list; deep lists let agreement between the
  two sides surface documents that neither ranks near the top (cost: one larger
  vector query and a top-100 selection over BM25 scores);
* BM25 `k1=1.5, b=0.75`, English stopwords and Snowball stemming: bm25s's defaults
  (`k1` inside Robertson and Zaragoza's recommended 1.2-2.0, `b` as in Lucene) with the
  usual English analysis.

`Hit.score` is the fused RRF score; `Hit.distance` is the vector distance when the
dense side found the chunk, else None.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any

from chromabridge import telemetry
from chromabridge.errors import ConfigError
from chromabridge.plans import Plan, adrive, drive
from chromabridge.types import Chunk, Hit
from chromabridge.vectorstores import ChromaFilter, ChromaStore
from chromabridge.vectorstores.grouping import check_per_document

from .base import RetrieverBase, check_k
from .fusion import DEFAULT_RRF_K, reciprocal_rank_fusion
from .grouping import grouped_fusion
from .lexical import LexicalIndex

__all__ = ["HybridRetriever"]

Vector = Sequence[float] | None
Sides = tuple[list[tuple[str, float]], list[tuple[str, float]]]
_DENSE = "chromabridge.retrieve.dense"
_LEXICAL = "chromabridge.retrieve.lexical"


class HybridRetriever(RetrieverBase):
    """Dense + BM25, fused by RRF; metadata filters apply to both sides.

    `weights` = (dense, lexical). Pass `lexical=` to share one `LexicalIndex` between
    retrievers on the same store, or `index_path` to choose where it persists
    ("auto": next to a persistent store).

    `max_per_document` keeps at most that many chunks of each source document in the
    fused ranking, searching deeper until `k` remain (cost: `retrievers/grouping.py`).
    """

    def __init__(
        self,
        store: ChromaStore,
        k: int = 4,
        weights: Sequence[float] = (1.0, 1.0),
        rrf_k: float = DEFAULT_RRF_K,
        candidates: int = 100,
        filter: Any = None,
        where_document: Any = None,
        *,
        lexical: LexicalIndex | None = None,
        index_path: Any = "auto",
        check_interval: float | None = 5.0,
        max_per_document: int | None = None,
    ) -> None:
        if len(weights) != 2 or any(w < 0 for w in weights) or not any(weights):
            raise ConfigError(f"weights must be two non-negative numbers, got {weights!r}")
        if rrf_k < 0:
            raise ConfigError(f"rrf_k must not be negative, got {rrf_k!r}")
        if lexical is not None and lexical.store is not store:
            raise ConfigError("lexical= must follow the same ChromaStore object")
        self._init_base(k, filter, where_document)
        self.store = store
        self.weights = (float(weights[0]), float(weights[1]))
        self.rrf_k = rrf_k
        self.candidates = check_k(candidates, "candidates")
        self.max_per_document = check_per_document(max_per_document)
        if lexical is None:  # not `or`: that would call len(), building the index here
            lexical = LexicalIndex(store, path=index_path, check_interval=check_interval)
        self.lexical = lexical

    def __repr__(self) -> str:
        return (
            f"HybridRetriever(store={self.store.name!r}, k={self.k}, weights={self.weights}, "
            f"rrf_k={self.rrf_k}, candidates={self.candidates}, "
            f"max_per_document={self.max_per_document})"
        )

    def refresh(self, full: bool = False) -> None:
        """Catch up with writes made by other processes (see `LexicalIndex.refresh`)."""
        self.lexical.refresh(full)

    async def arefresh(self, full: bool = False) -> None:
        """Async `refresh`."""
        await self.lexical.arefresh(full)

    def _depth(self, k: int) -> int:
        return max(k, self.candidates)

    def _fuse(
        self, dense: list[tuple[str, float]], lexical: list[tuple[str, float]]
    ) -> list[tuple[str, float]]:
        rankings = [[doc_id for doc_id, _ in dense], [doc_id for doc_id, _ in lexical]]
        with telemetry.span("chromabridge.retrieve.fuse", {"chromabridge.rrf_k": self.rrf_k}):
            return reciprocal_rank_fusion(rankings, self.weights, self.rrf_k)

    def retrieve(
        self,
        query: str,
        k: int | None = None,
        where: Any = None,
        *,
        embedding: Sequence[float] | None = None,
    ) -> list[Hit]:
        """Fused hits for `query`; `embedding` (the query's vector, when the caller has it
        already) spares the dense side from embedding `query` again."""
        k_, flt = self._call_args(k, where)
        with telemetry.retrieve_span("hybrid", k_, query) as span:
            found = drive(self._plan(k_), partial(self._step, query, embedding, flt))
            return telemetry.hits(span, found)

    async def aretrieve(
        self,
        query: str,
        k: int | None = None,
        where: Any = None,
        *,
        embedding: Sequence[float] | None = None,
    ) -> list[Hit]:
        k_, flt = self._call_args(k, where)
        with telemetry.retrieve_span("hybrid", k_, query) as span:
            found = await adrive(self._plan(k_), partial(self._astep, query, embedding, flt))
            return telemetry.hits(span, found)

    def _plan(self, k: int) -> Plan[list[Hit]]:
        """One retrieval as a plan (`chromabridge.plans`), for `retrieve` and `aretrieve`
        alike: ("search", depth) steps for both rankings, then store `get` steps."""
        if self.max_per_document is None:
            dense, lexical = yield ("search", self._depth(k))
            fused = self._fuse(dense, lexical)
        else:
            grouped = grouped_fusion(self._fuse, k, self.max_per_document, self._depth(k))
            fused, dense = yield from grouped
        return (yield from self._read_back(fused, dict(dense), k))

    def _step(self, query: str, embedding: Vector, flt: ChromaFilter, name: str, arg: Any) -> Any:
        """A step of `_plan`, blocking: the two searches, or a store call."""
        if name == "search":
            return self._sides(query, embedding, arg, flt)
        return getattr(self.store, name)(**arg)

    async def _astep(
        self, query: str, embedding: Vector, flt: ChromaFilter, name: str, arg: Any
    ) -> Any:
        """A step of `_plan`, async: both searches at once, or a store call."""
        if name == "search":
            return await self._asides(query, embedding, arg, flt)
        return await getattr(self.store, "a" + name)(**arg)

    def _sides(self, query: str, embedding: Vector, depth: int, flt: ChromaFilter) -> Sides:
        """The dense and the lexical ranking at `depth` (a side weighted 0 is not asked)."""
        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        if self.weights[0]:
            text = query if embedding is None else None
            with telemetry.span(_DENSE, {"chromabridge.k": depth}):
                dense = self.store.nearest(text, embedding, k=depth, **_kwargs(flt))
        if self.weights[1]:
            with telemetry.span(_LEXICAL, {"chromabridge.k": depth}):
                lexical = self.lexical.search(query, depth, flt)
        return dense, lexical

    async def _asides(self, query: str, embedding: Vector, depth: int, flt: ChromaFilter) -> Sides:
        dense, lexical = await asyncio.gather(
            self._adense(query, embedding, depth, flt), self._alexical(query, depth, flt)
        )
        return dense, lexical

    async def _adense(
        self, query: str, embedding: Vector, depth: int, flt: ChromaFilter
    ) -> list[tuple[str, float]]:
        if not self.weights[0]:
            return []
        text = query if embedding is None else None
        with telemetry.span(_DENSE, {"chromabridge.k": depth}):
            return await self.store.anearest(text, embedding, k=depth, **_kwargs(flt))

    async def _alexical(self, query: str, depth: int, flt: ChromaFilter) -> list[tuple[str, float]]:
        if not self.weights[1]:
            return []
        with telemetry.span(_LEXICAL, {"chromabridge.k": depth}):
            return await self.lexical.asearch(query, depth, flt)

    def _read_back(
        self, fused: list[tuple[str, float]], distances: dict[str, float], k: int
    ) -> Plan[list[Hit]]:
        """The top k as Hits, their records read from Chroma in one call: current text
        and metadata, and chunks deleted meanwhile (by anyone) dropped, not returned."""
        chunks: dict[str, Chunk] = {}
        while True:
            top = fused[:k]
            wanted = [doc_id for doc_id, _ in top if doc_id not in chunks]
            if not wanted:
                return [Hit(chunks[i], score, distances.get(i)) for i, score in top]
            found: dict[str, Chunk] = {c.id: c for c in (yield ("get", {"ids": wanted}))}
            chunks.update(found)
            gone = set(wanted) - set(found)
            if gone:
                self.lexical.forget(sorted(gone))
                fused = [pair for pair in fused if pair[0] not in gone]

    def close(self) -> None:
        """Save the lexical index and stop following the store."""
        self.lexical.close()


def _kwargs(flt: ChromaFilter) -> dict[str, Any]:
    return {"where": flt.where, "where_document": flt.where_document}
