"""What every native embedder shares: framework faces, shape checks, async fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from chromabridge.errors import EmbeddingError

from .base import Vector

if TYPE_CHECKING:
    from .chroma import ChromaEmbeddingFunction
    from .langchain import LangChainEmbeddings
    from .llamaindex import LlamaIndexEmbedding

__all__ = ["NativeEmbedder", "check_vectors"]


def _numeric_matrix(raw: Any) -> np.ndarray | None:
    """`raw` as a 2-D array of numbers, or None (ragged, empty, text, other shapes)."""
    try:
        matrix = raw if isinstance(raw, np.ndarray) else np.asarray(raw)
    except (TypeError, ValueError):
        return None
    return matrix if matrix.ndim == 2 and matrix.dtype.kind in "fi" else None


def check_vectors(raw: Any, expected: int, dimension: int | None, who: str) -> list[Vector]:
    """Numbers, one vector per text, all `dimension` long (or all equally long).

    Lists of numbers (what SDKs and framework embeddings return) are validated by one
    numpy pass and passed on as they are: copying 384 floats per text, thousands of
    texts per batch, costs more than the rest of a store write's own work.
    """
    matrix = _numeric_matrix(raw)
    if matrix is not None and matrix.shape[0] == expected and dimension in (None, matrix.shape[1]):
        lists = isinstance(raw, list) and all(type(row) is list for row in raw)
        if lists and matrix.dtype.kind == "f":
            return cast(list[Vector], raw)
        return cast(list[Vector], matrix.astype(np.float64).tolist())
    try:
        vectors = [list(map(float, row)) for row in raw]
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{who} returned something that is not a list of vectors") from exc
    if len(vectors) != expected:
        raise EmbeddingError(f"{who} returned {len(vectors)} vectors for {expected} texts")
    want = dimension if dimension is not None else (len(vectors[0]) if vectors else 0)
    for i, vector in enumerate(vectors):
        if len(vector) != want:
            raise EmbeddingError(
                f"{who} returned a {len(vector)}-dimensional vector for text {i}; expected {want}"
            )
    return vectors


class NativeEmbedder:
    """Base of our embedders. Subclasses implement `embed_documents` / `embed_query`.

    The default async methods run the sync ones in a worker thread; remote embedders
    override them with their SDK's async client.
    """

    _name: str
    _dimension: int | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int | None:
        return self._dimension

    @property
    def max_input_tokens(self) -> int | None:
        return None

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        raise NotImplementedError

    def embed_query(self, text: str) -> Vector:
        raise NotImplementedError

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> Vector:
        return await asyncio.to_thread(self.embed_query, text)

    def _checked(self, raw: Any, expected: int) -> list[Vector]:
        """Validate a provider's answer and learn the dimension on first sight."""
        vectors = check_vectors(raw, expected, self._dimension, self._name)
        if self._dimension is None and vectors:
            self._dimension = len(vectors[0])
        return vectors

    def as_langchain(self) -> LangChainEmbeddings:
        """This embedder as a LangChain `Embeddings` (imports langchain-core now)."""
        from .langchain import LangChainEmbeddings

        return LangChainEmbeddings(self)

    def as_llamaindex(self) -> LlamaIndexEmbedding:
        """This embedder as a LlamaIndex `BaseEmbedding` (imports llama-index-core now);
        a `MultiModalEmbedding` when it embeds images too."""
        from .llamaindex import LlamaIndexEmbedding, LlamaIndexMultiModalEmbedding
        from .multimodal import supports_images

        if supports_images(self):
            return LlamaIndexMultiModalEmbedding(self)
        return LlamaIndexEmbedding(self)

    def as_chroma(self) -> ChromaEmbeddingFunction:
        """This embedder as a chromadb `EmbeddingFunction` for `collection.add(documents=)`."""
        from .chroma import ChromaEmbeddingFunction

        return ChromaEmbeddingFunction(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dimension={self.dimension!r})"
