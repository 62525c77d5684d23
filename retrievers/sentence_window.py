"""`SentenceWindowRetriever`: match single sentences, return them in context.

Sentence chunks (from `SentenceWindowChunker`) embed sharply, but one sentence is too
little for an LLM to answer from. This retriever searches the sentences and returns
each hit's `window` (the sentence with `window_size` neighbours each side). Hits from
the same document whose windows overlap or touch are merged into one passage (read
back from the store in order), so the context holds no sentence twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chromabridge.errors import ConfigError
from chromabridge.types import Chunk, Hit
from chromabridge.vectorstores import ChromaStore

from .base import Retriever, RetrieverBase, check_k
from .vector import VectorRetriever

__all__ = ["SentenceWindowRetriever"]

Getter = Callable[..., list[Chunk]]


class SentenceWindowRetriever(RetrieverBase):
    """Sentence hits -> deduplicated, merged windows.

    `retriever`: what finds the sentences (default: a `VectorRetriever` on `store`;
    a `HybridRetriever` works too). `window_size` must be the chunker's. Each returned
    `Hit` carries the passage as `chunk.text` (and in `window` metadata), the best
    sentence's id, metadata and score, and `merged_ids` when several hits were joined.
    """

    def __init__(
        self,
        store: ChromaStore,
        k: int = 4,
        window_size: int = 3,
        filter: Any = None,
        where_document: Any = None,
        *,
        retriever: Retriever | None = None,
        window_key: str = "window",
        original_key: str = "original_text",
    ) -> None:
        if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 0:
            raise ConfigError(f"window_size must be a non-negative int, got {window_size!r}")
        if retriever is not None and (filter is not None or where_document is not None):
            raise ConfigError("give filter / where_document to the retriever you pass instead")
        self._init_base(k, filter, where_document)
        self.store = store
        self.window_size = window_size
        self.window_key = window_key
        self.original_key = original_key
        self.retriever: Retriever = retriever or VectorRetriever(
            store, k=k, filter=filter, where_document=where_document
        )

    def __repr__(self) -> str:
        return (
            f"SentenceWindowRetriever(store={self.store.name!r}, k={self.k}, "
            f"window_size={self.window_size})"
        )

    def _clusters(self, hits: list[Hit]) -> list[list[Hit]]:
        by_doc: dict[str, list[Hit]] = {}
        for hit in hits:
            by_doc.setdefault(hit.chunk.doc_id, []).append(hit)
        clusters: list[list[Hit]] = []
        reach = 2 * self.window_size + 1  # windows of i and j overlap or touch
        for group in by_doc.values():
            group.sort(key=lambda h: h.chunk.index)
            current = [group[0]]
            for hit in group[1:]:
                if hit.chunk.index - current[-1].chunk.index <= reach:
                    current.append(hit)
                else:
                    clusters.append(current)
                    current = [hit]
            clusters.append(current)
        return clusters

    def _span_filter(self, cluster: list[Hit]) -> dict[str, Any]:
        lo = max(0, cluster[0].chunk.index - self.window_size)
        hi = cluster[-1].chunk.index + self.window_size
        return {
            "$and": [
                {"doc_id": {"$eq": cluster[0].chunk.doc_id}},
                {"chunk_index": {"$gte": lo}},
                {"chunk_index": {"$lte": hi}},
            ]
        }

    def _passage(self, cluster: list[Hit], sentences: list[Chunk] | None) -> Hit:
        best = max(cluster, key=lambda h: h.score)
        chunk = best.chunk
        meta = dict(chunk.metadata)
        if sentences:
            sentences = sorted(sentences, key=lambda c: c.index)
            text = " ".join(str(c.metadata.get(self.original_key, c.text)) for c in sentences)
            meta["merged_ids"] = [h.chunk.id for h in cluster]
        else:
            text = str(meta.get(self.window_key, chunk.text))
        meta[self.window_key] = text
        meta.setdefault(self.original_key, chunk.text)
        return Hit(replace(chunk, text=text, metadata=meta), best.score, best.distance)

    def _finish(self, clusters: list[list[Hit]], spans: list[list[Chunk] | None]) -> list[Hit]:
        hits = [self._passage(c, s) for c, s in zip(clusters, spans, strict=True)]
        return sorted(hits, key=lambda h: -h.score)

    def retrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        k_ = check_k(k) if k is not None else self.k
        clusters = self._clusters(self.retriever.retrieve(query, k=k_, where=where))
        spans = [
            self.store.get(where=self._span_filter(c)) if len(c) > 1 else None for c in clusters
        ]
        return self._finish(clusters, spans)

    async def aretrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        k_ = check_k(k) if k is not None else self.k
        clusters = self._clusters(await self.retriever.aretrieve(query, k=k_, where=where))

        async def span(cluster: list[Hit]) -> list[Chunk] | None:
            if len(cluster) < 2:
                return None
            return await self.store.aget(where=self._span_filter(cluster))

        spans = await asyncio.gather(*(span(c) for c in clusters))
        return self._finish(clusters, list(spans))
