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
from chromadb.api.types import Embeddable, EmbeddingFunction, Embeddings, Space, is_image

from .adapt import as_embedder
from .base import Embedder
from .multimodal import image_embedder

__all__ = ["ChromaEmbeddingFunction"]


class ChromaEmbeddingFunction(EmbeddingFunction[Embeddable]):
    """`collection.add(documents=...)` embeds via the document path,
    `collection.query(query_texts=...)` via the query path (chromadb calls `embed_query`).
    Images (`collection.add(images=...)`, `query(query_images=...)`: arrays of pixels)
    go through the embedder's image tower when it has one (CLIP, Cohere embed-v4).
    """

    def __init__(self, embedder: object) -> None:
        self.embedder: Embedder = as_embedder(embedder)

    def _images(self, items: list[Any]) -> Embeddings | None:
        """Vectors of pixel arrays, or None when `items` are not images."""
        if not items or not all(is_image(item) for item in items):
            return None
        from PIL import Image

        pictures = [Image.fromarray(np.asarray(item, dtype=np.uint8)) for item in items]
        native = image_embedder(self.embedder, "ChromaEmbeddingFunction")
        return [np.asarray(v, dtype=np.float32) for v in native.embed_images(pictures)]

    def __call__(self, input: Embeddable) -> Embeddings:
        items = list(input)
        images = self._images(items)
        if images is not None:
            return images
        vectors = self.embedder.embed_documents([str(item) for item in items])
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def embed_query(self, input: Embeddable) -> Embeddings:
        # chromadb validates only `__call__`'s output itself: hand it arrays here too.
        items = list(input)
        images = self._images(items)
        if images is not None:
            return images
        return [np.asarray(self.embedder.embed_query(str(t)), dtype=np.float32) for t in items]

    @staticmethod
    def name() -> str:
        return NotImplemented  # type: ignore[no-any-return]

    def get_config(self) -> dict[str, Any]:
        return NotImplemented  # type: ignore[no-any-return]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> EmbeddingFunction[Embeddable]:
        return NotImplemented  # type: ignore[no-any-return]

    def default_space(self) -> Space:
        return "cosine"

    def __repr__(self) -> str:
        return f"ChromaEmbeddingFunction({self.embedder!r})"
