"""What every native embedder shares: framework faces, shape checks, async fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chromabridge.errors import EmbeddingError

from .base import Vector

if TYPE_CHECKING:
    from .chroma import ChromaEmbeddingFunction
    from .langchain import LangChainEmbeddings
    from .llamaindex import LlamaIndexEmbedding

__all__ = ["NativeEmbedder", "check_vectors"]


def check_vectors(raw: Any, expected: int, dimension: int | None, who: str) -> list[Vector]:
    """Floats, one vector per text, all `dimension` long (or all equally long)."""
    try:
        vectors = [[float(x) for x in row] for row in raw]
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
        """This embedder as a LlamaIndex `BaseEmbedding` (imports llama-index-core now)."""
        from .llamaindex import LlamaIndexEmbedding

        return LlamaIndexEmbedding(self)

    def as_chroma(self) -> ChromaEmbeddingFunction:
        """This embedder as a chromadb `EmbeddingFunction` for `collection.add(documents=)`."""
        from .chroma import ChromaEmbeddingFunction

        return ChromaEmbeddingFunction(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dimension={self.dimension!r})"
