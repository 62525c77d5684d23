"""Test support for the store suite: deployment factories, the deployment and sync/async
fixtures (import them into a test module to use them), and the shipped `FakeEmbedder`
dressed as a user's own LangChain or LlamaIndex embeddings (foreign objects, so the
store wraps them as it wraps any third-party embedder)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chromabridge.embedders import FakeEmbedder
from chromabridge.vectorstores import ChromaStore

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


MODES = ["memory", "persistent", "server"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Each deployment: in-memory, a directory, `chroma run`."""
    return str(request.param)


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    """The blocking methods, or their async twins (see `call`)."""
    return str(request.param)


@pytest.fixture
def make_store(
    mode: str, request: pytest.FixtureRequest, tmp_path: Any, collection_name: str
) -> Callable[..., ChromaStore]:
    """Makes a `ChromaStore` on `mode`'s deployment (a FakeEmbedder unless given)."""
    server = request.getfixturevalue("chroma_server") if mode == "server" else None

    def make(name: str | None = None, **kwargs: Any) -> ChromaStore:
        kwargs.setdefault("embedder", FakeEmbedder())
        return ChromaStore(name or collection_name, **deployment(mode, server, tmp_path), **kwargs)

    return make


async def call(flavour: str, store: ChromaStore, method: str, *args: Any, **kwargs: Any) -> Any:
    """Run `method` blocking, or its async twin (`a` + name), as the test asks."""
    if flavour == "sync":
        return getattr(store, method)(*args, **kwargs)
    return await getattr(store, "a" + method)(*args, **kwargs)


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
