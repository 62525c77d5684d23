"""Chroma face: any embedder as a chromadb `EmbeddingFunction`.

It deliberately stays a "legacy" (unregistered) embedding function: a registered name
would be written into the collection's configuration, and every process that opens
the collection without importing chromabridge first (stock `langchain_chroma`,
LlamaIndex's store, the Chroma CLI) would then fail to load it. The vector space is
guarded by `ChromaStore`'s collection metadata instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space

from .adapt import as_embedder
from .base import Embedder

__all__ = ["ChromaEmbeddingFunction"]


class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """`collection.add(documents=...)` embeds via the document path,
    `collection.query(query_texts=...)` via the query path (chromadb calls `embed_query`).
    """

    def __init__(self, embedder: object) -> None:
        self.embedder: Embedder = as_embedder(embedder)

    def __call__(self, input: Documents) -> Embeddings:
        return [np.asarray(v, dtype=np.float32) for v in self.embedder.embed_documents(list(input))]

    def embed_query(self, input: Documents) -> Embeddings:
        # chromadb validates only `__call__`'s output itself: hand it arrays here too.
        return [np.asarray(self.embedder.embed_query(text), dtype=np.float32) for text in input]

    @staticmethod
    def name() -> str:
        return NotImplemented  # type: ignore[no-any-return]

    def get_config(self) -> dict[str, Any]:
        return NotImplemented  # type: ignore[no-any-return]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> EmbeddingFunction[Documents]:
        return NotImplemented  # type: ignore[no-any-return]

    def default_space(self) -> Space:
        return "cosine"

    def __repr__(self) -> str:
        return f"ChromaEmbeddingFunction({self.embedder!r})"
