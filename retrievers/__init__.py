"""Retrievers over a `ChromaStore`: vector / MMR, hybrid BM25 + vector, sentence windows,
Cohere rerank.

Importing this package imports no framework and no provider SDK; the faces live in
`chromabridge.retrievers.langchain` and `.llamaindex` (or `retriever.as_langchain()` /
`.as_llamaindex()`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import Retriever, combine_filters
from .fusion import reciprocal_rank_fusion
from .vector import VectorRetriever

if TYPE_CHECKING:
    from .bm25_index import BM25Index
    from .hybrid import HybridRetriever
    from .lexical import LexicalIndex
    from .rerank import CohereReranker
    from .sentence_window import SentenceWindowRetriever

__all__ = [
    "BM25Index",
    "CohereReranker",
    "HybridRetriever",
    "LexicalIndex",
    "Retriever",
    "SentenceWindowRetriever",
    "VectorRetriever",
    "combine_filters",
    "reciprocal_rank_fusion",
]

# bm25s, scipy and cohere load only when these are first used.
_LAZY = {
    "BM25Index": ".bm25_index",
    "CohereReranker": ".rerank",
    "HybridRetriever": ".hybrid",
    "LexicalIndex": ".lexical",
    "SentenceWindowRetriever": ".sentence_window",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
