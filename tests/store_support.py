"""Test support for the store suite: deployment factories, and the shipped `FakeEmbedder`
dressed as a user's own LangChain or LlamaIndex embeddings (foreign objects, so the
store wraps them as it wraps any third-party embedder)."""

from __future__ import annotations

from typing import Any

from chromabridge.embedders import FakeEmbedder

DIM = 64  # FakeEmbedder's default dimension


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
    """FakeEmbedder as a LangChain `Embeddings` of the user's own (not our face)."""
    from langchain_core.embeddings import Embeddings

    inner = FakeEmbedder(dim)

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
    """FakeEmbedder as a LlamaIndex `BaseEmbedding` of the user's own (not our face)."""
    from llama_index.core.embeddings import BaseEmbedding

    inner = FakeEmbedder(dim)

    class HashEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return inner.embed_query(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return inner.embed_query(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return inner.embed_query(text)

    return HashEmbedding(model_name="hash")
