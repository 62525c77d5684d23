"""LangChain face: any embedder as a `langchain_core.embeddings.Embeddings`."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from .adapt import as_embedder
from .base import Embedder
from .multimodal import image_embedder

__all__ = ["LangChainEmbeddings"]


class LangChainEmbeddings(Embeddings):
    """Delegates to `embedder` (kept on `.embedder`, where the store looks for it).

    Accepts our embedders and anything `as_embedder` wraps (chromadb EFs, LlamaIndex).
    """

    def __init__(self, embedder: object) -> None:
        self.embedder: Embedder = as_embedder(embedder)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await self.embedder.aembed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await self.embedder.aembed_query(text)

    def embed_image(self, uris: list[str]) -> list[list[float]]:
        """Image vectors, under the name stock `langchain_chroma.Chroma.add_images` and
        `similarity_search_by_image` call (an `InputError` for text-only embedders)."""
        return image_embedder(self.embedder, "LangChainEmbeddings").embed_images(uris)

    def __repr__(self) -> str:
        return f"LangChainEmbeddings({self.embedder!r})"
