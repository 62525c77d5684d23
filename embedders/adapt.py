"""Wrap the embedders users already have into our `Embedder` protocol.

`ChromaStore(embedder=...)` accepts a chromadb `EmbeddingFunction` (the custom EF classes
of the seed article), a LangChain `Embeddings` or a LlamaIndex `BaseEmbedding`. They are
recognised by duck typing so this module never imports a framework.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from chromabridge.errors import ConfigError

from .base import Embedder, Vector
from .native import NativeEmbedder

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


class _Wrapped(NativeEmbedder):
    """A third-party embedder: its name, and a dimension learned from the first call."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._dimension = None


class ChromaEFEmbedder(_Wrapped):
    """A chromadb `EmbeddingFunction`: `__call__(input)` plus optional `embed_query`."""

    def __init__(self, ef: Callable[..., Any]) -> None:
        name_fn = getattr(ef, "name", None)
        name = None
        if callable(name_fn):
            # chromadb's default `name()` emits a DeprecationWarning and returns
            # NotImplemented (not a str, so `describe` names it); a user's may raise.
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    name = name_fn()
            except Exception:
                name = None
        super().__init__(f"chroma:{name}" if isinstance(name, str) and name else describe(ef))
        self._ef = ef

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        return self._checked(self._ef(list(texts)), len(texts))

    def embed_query(self, text: str) -> Vector:
        embed_query = getattr(self._ef, "embed_query", None)
        raw = embed_query([text]) if callable(embed_query) else self._ef([text])
        return self._checked(raw, 1)[0]


class LangChainEmbedder(_Wrapped):
    """A LangChain `Embeddings`: `embed_documents` / `embed_query` and async twins."""

    def __init__(self, embeddings: Any) -> None:
        super().__init__(describe(embeddings))
        self._inner = embeddings

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = self._inner.embed_documents(list(texts))
        return self._checked(raw, len(texts))

    def embed_query(self, text: str) -> Vector:
        return self._checked([self._inner.embed_query(text)], 1)[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = await self._inner.aembed_documents(list(texts))
        return self._checked(raw, len(texts))

    async def aembed_query(self, text: str) -> Vector:
        raw = await self._inner.aembed_query(text)
        return self._checked([raw], 1)[0]


class LlamaIndexEmbedder(_Wrapped):
    """A LlamaIndex `BaseEmbedding`: batch text embeddings and query embeddings."""

    def __init__(self, embedding: Any) -> None:
        super().__init__(describe(embedding))
        self._inner = embedding

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = self._inner.get_text_embedding_batch(list(texts))
        return self._checked(raw, len(texts))

    def embed_query(self, text: str) -> Vector:
        return self._checked([self._inner.get_query_embedding(text)], 1)[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        raw = await self._inner.aget_text_embedding_batch(list(texts))
        return self._checked(raw, len(texts))

    async def aembed_query(self, text: str) -> Vector:
        raw = await self._inner.aget_query_embedding(text)
        return self._checked([raw], 1)[0]


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
