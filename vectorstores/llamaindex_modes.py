"""LlamaIndex's HYBRID, SPARSE and TEXT_SEARCH query modes, served by `HybridRetriever`.

Chroma's own hybrid search exists only on Chroma Cloud; our `HybridRetriever` (BM25 +
dense, reciprocal rank fusion) runs on every deployment, so the LlamaIndex face answers
`vector_store_query_mode="hybrid"` with it. `alpha` is the weight of the dense side, as
in LlamaIndex's docs: the fusion weights are (alpha, 1 - alpha), so `alpha=1` ranks as
the dense search does, `alpha=0` as BM25 does, and LlamaIndex's default (None) is 0.5.
SPARSE and TEXT_SEARCH run BM25 alone. Similarities are fused RRF scores.

One `LexicalIndex` per face is built on the first such query and follows the store's
writes from then on (see `chromabridge.retrievers.lexical`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from chromabridge.errors import InputError

from .store import ChromaStore

if TYPE_CHECKING:
    from chromabridge.retrievers import HybridRetriever, LexicalIndex

__all__ = ["LEXICAL_MODES", "hybrid_retriever"]

#: Modes served by the hybrid retriever; TEXT_SEARCH and SPARSE are BM25 alone.
LEXICAL_MODES = frozenset(
    {
        VectorStoreQueryMode.HYBRID,
        VectorStoreQueryMode.SEMANTIC_HYBRID,
        VectorStoreQueryMode.SPARSE,
        VectorStoreQueryMode.TEXT_SEARCH,
    }
)


def _weights(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> tuple[float, float]:
    if mode in (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH):
        return (0.0, 1.0)
    alpha = 0.5 if query.alpha is None else query.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise InputError(f"alpha (the weight of the dense side) must be in [0, 1], got {alpha!r}")
    return (float(alpha), 1.0 - float(alpha))


def _top_k(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> int:
    if mode in (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH):
        return query.sparse_top_k or query.similarity_top_k
    return query.hybrid_top_k or query.similarity_top_k


def hybrid_retriever(
    store: ChromaStore,
    lexical: LexicalIndex | None,
    query: VectorStoreQuery,
    mode: VectorStoreQueryMode,
    max_per_document: int | None,
    where_document: Any = None,
) -> HybridRetriever:
    """The retriever for one query (cheap: the lexical index is shared)."""
    from chromabridge.retrievers import HybridRetriever

    if not query.query_str:
        raise InputError(f"query mode {mode.value!r} needs the query text (query_str)")
    return HybridRetriever(
        store,
        k=_top_k(query, mode),
        weights=_weights(query, mode),
        lexical=lexical,
        where_document=where_document,
        max_per_document=max_per_document,
    )


def lexical_for(store: ChromaStore) -> Any:
    """A `LexicalIndex` following `store` (the face keeps one)."""
    from chromabridge.retrievers import LexicalIndex

    return LexicalIndex(store)
