"""Test support for the store suite: a deterministic embedder and deployment factories."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

DIM = 64
_WORD = re.compile(r"\w+")


class HashEmbedder:
    """Bag-of-words hashed into `dim` buckets, unit length: texts sharing words are near.

    A real (if simple) embedder satisfying the `Embedder` protocol, so store tests do not
    depend on a model download or on the embedders package.
    """

    def __init__(self, dim: int = DIM, name: str = "test:hash") -> None:
        self._dim = dim
        self._name = name
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dim

    @property
    def max_input_tokens(self) -> int | None:
        return None

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self._dim
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest[:4], "little") % self._dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self._one(text)


def deployment(mode: str, server: Any, tmp_path: Any) -> dict[str, Any]:
    """ChromaStore keyword arguments for one deployment mode."""
    if mode == "memory":
        return {}
    if mode == "persistent":
        return {"path": tmp_path / "chroma"}
    if mode == "server":
        return {"host": server.host, "port": server.port}
    raise ValueError(mode)


def langchain_embeddings(dim: int = DIM) -> Any:
    """HashEmbedder as a LangChain `Embeddings` (what a LangChain user would pass)."""
    from langchain_core.embeddings import Embeddings

    inner = HashEmbedder(dim)

    class HashEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return inner.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return inner.embed_query(text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return inner.embed_documents(texts)

        async def aembed_query(self, text: str) -> list[float]:
            return inner.embed_query(text)

    return HashEmbeddings()


def llamaindex_embedding(dim: int = DIM) -> Any:
    """HashEmbedder as a LlamaIndex `BaseEmbedding`."""
    from llama_index.core.embeddings import BaseEmbedding

    inner = HashEmbedder(dim)

    class HashEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return inner.embed_query(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return inner.embed_query(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return inner.embed_query(text)

    return HashEmbedding(model_name="hash")
