"""Chunkers: Documents in, Chunks out, with exact character offsets.

`RecursiveChunker` is LangChain's recursive splitter (same chunks, faster);
`SentenceWindowChunker` is LlamaIndex's sentence-window parser (same metadata, bounded
sentences). Both offer `.as_langchain()` and `.as_llamaindex()`; importing this package
imports neither framework.
"""

from .base import BaseChunker
from .languages import LANGUAGES, separators_for
from .recursive import RecursiveChunker
from .sentence_window import SentenceWindowChunker
from .sentences import sentence_spans

__all__ = [
    "BaseChunker",
    "LANGUAGES",
    "RecursiveChunker",
    "SentenceWindowChunker",
    "sentence_spans",
    "separators_for",
]
