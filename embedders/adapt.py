"""Wrap the embedders users already have into our `Embedder` protocol.

`ChromaStore(embedder=...)` accepts a chromadb `EmbeddingFunction` (the custom EF classes
of the seed article), a LangChain `Embeddings` or a LlamaIndex `BaseEmbedding`. They are
recognised by duck typing so this module never imports a framework.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from chromabridge.errors import ConfigError, EmbeddingError

from .base import Embedder, Vector

__all__ = ["as_embedder", "describe"]


def describe(obj: object) -> str:
    """A stable identity for a third-party embedder: class path plus model name if any."""
    cls = type(obj)
    ident = f"{cls.__module__}.{cls.__qualname__}"
    for attr in ("model_name", "model", "model_id", "deployment"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return f"{ident}:{value}"
    return ident


def _to_vectors(raw: Any, expected: int, who: str) -> list[Vector]:
    try:
        vectors = [[float(x) for x in row] for row in raw]
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{who} returned something that is not a list of vectors") from exc
    if len(vectors) != expected:
        raise EmbeddingError(f"{who} returned {len(vectors)} vectors for {expected} texts")
    return vectors


class _Wrapped:
    """Common state of the wrappers: a name and a dimension learned from the first call."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._dimension: int | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int | None:
        return self._dimension

    @property
    def max_input_tokens(self) -> int | None:
        return None

    def _learn(self, vectors: list[Vector]) -> list[Vector]:
        for vector in vectors:
            if self._dimension is None:
                self._dimension = len(vector)
            elif len(vector) != self._dimension:
                raise EmbeddingError(
                    f"{self._name} returned a {len(vector)}-dimensional vector after "
                    f"{self._dimension}-dimensional ones"
                )
        return vectors

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r})"


class ChromaEFEmbedder(_Wrapped):
    """A chromadb `EmbeddingFunction`: `__call__(input)` plus optional `embed_query`."""

    def __init__(self, ef: Callable[..., Any]) -> None:
        name_fn = getattr(ef, "name", None)
        name = None
        if callable(name_fn):
            try:
                name = name_fn()
            except Exception:  # chromadb's default `name()` raises NotImplementedError
                name = None
        super().__init__(f"chroma:{name}" if isinstance(name, str) and name else describe(ef))
        self._ef = ef

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        return self._learn(_to_vectors(self._ef(list(texts)), len(texts), self.name))

    def embed_query(self, text: str) -> Vector:
        embed_query = getattr(self._ef, "embed_query", None)
        raw = embed_query([text]) if callable(embed_query) else self._ef([text])
        return self._learn(_to_vectors(raw, 1, self.name))[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> Vector:
        return await asyncio.to_thread(self.embed_query, text)


class LangChainEmbedder(_Wrapped):
    """A LangChain `Embeddings`: `embed_documents` / `embed_query` and async twins."""

    def __init__(self, embeddings: Any) -> None:
        super().__init__(describe(embeddings))
        self._inner = embeddings

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = self._inner.embed_documents(list(texts))
        return self._learn(_to_vectors(raw, len(texts), self.name))

    def embed_query(self, text: str) -> Vector:
        return self._learn(_to_vectors([self._inner.embed_query(text)], 1, self.name))[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = await self._inner.aembed_documents(list(texts))
        return self._learn(_to_vectors(raw, len(texts), self.name))

    async def aembed_query(self, text: str) -> Vector:
        raw = await self._inner.aembed_query(text)
        return self._learn(_to_vectors([raw], 1, self.name))[0]


class LlamaIndexEmbedder(_Wrapped):
    """A LlamaIndex `BaseEmbedding`: batch text embeddings and query embeddings."""

    def __init__(self, embedding: Any) -> None:
        super().__init__(describe(embedding))
        self._inner = embedding

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = self._inner.get_text_embedding_batch(list(texts))
        return self._learn(_to_vectors(raw, len(texts), self.name))

    def embed_query(self, text: str) -> Vector:
        return self._learn(_to_vectors([self._inner.get_query_embedding(text)], 1, self.name))[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = await self._inner.aget_text_embedding_batch(list(texts))
        return self._learn(_to_vectors(raw, len(texts), self.name))

    async def aembed_query(self, text: str) -> Vector:
        raw = await self._inner.aget_query_embedding(text)
        return self._learn(_to_vectors([raw], 1, self.name))[0]


def as_embedder(obj: object) -> Embedder:
    """Return `obj` as an `Embedder`, unwrapping our own faces and wrapping foreign ones.

    Order matters: our faces carry the native embedder on `.embedder` (so the collection
    guard sees the same name whichever face filled it); LlamaIndex embeddings are checked
    before LangChain ones because some classes offer both method sets.
    """
    inner = getattr(obj, "embedder", None)
    if inner is not None and isinstance(inner, Embedder):
        return inner
    if isinstance(obj, Embedder):
        return obj
    if hasattr(obj, "get_text_embedding_batch") and hasattr(obj, "get_query_embedding"):
        return LlamaIndexEmbedder(obj)
    if hasattr(obj, "embed_documents") and hasattr(obj, "embed_query"):
        return LangChainEmbedder(obj)
    if callable(obj):
        return ChromaEFEmbedder(obj)
    raise ConfigError(
        f"embedder {type(obj).__name__!r} is not an Embedder, a chromadb EmbeddingFunction, "
        "a LangChain Embeddings or a LlamaIndex BaseEmbedding"
    )
