"""LlamaIndex face: any embedder as a `llama_index.core` `BaseEmbedding`."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding
from pydantic import PrivateAttr

from .adapt import as_embedder
from .base import Embedder
from .multimodal import image_embedder

__all__ = ["LlamaIndexEmbedding", "LlamaIndexMultiModalEmbedding"]


class LlamaIndexEmbedding(BaseEmbedding):
    """Delegates to `embedder` (kept on `.embedder`, where the store looks for it).

    `embed_batch_size` defaults to LlamaIndex's maximum: the native embedder batches
    by its own limits (tokens, inputs), so small framework batches would only add
    round trips. Queries go through the embedder's query path (Cohere's
    `search_query`, prompts), texts through its document path.
    """

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: object, *, embed_batch_size: int = 2048, **kwargs: Any) -> None:
        native = as_embedder(embedder)
        kwargs.setdefault("model_name", native.name)
        super().__init__(embed_batch_size=embed_batch_size, **kwargs)
        self._embedder = native

    @classmethod
    def class_name(cls) -> str:
        return "ChromaBridgeEmbedding"

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await self._embedder.aembed_query(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_documents([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._embedder.aembed_documents([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await self._embedder.aembed_documents(texts)


class LlamaIndexMultiModalEmbedding(LlamaIndexEmbedding, MultiModalEmbedding):
    """An image-capable embedder (CLIP, Cohere embed-v4) as a LlamaIndex
    `MultiModalEmbedding`: what `MultiModalVectorStoreIndex` takes as `image_embed_model`.
    """

    def __init__(self, embedder: object, **kwargs: Any) -> None:
        super().__init__(embedder, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "ChromaBridgeMultiModalEmbedding"

    def _get_image_embedding(self, img_file_path: Any) -> list[float]:
        return image_embedder(self._embedder, self.class_name()).embed_images([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: Any) -> list[float]:
        native = image_embedder(self._embedder, self.class_name())
        return (await native.aembed_images([img_file_path]))[0]

    def _get_image_embeddings(self, img_file_paths: list[Any]) -> list[list[float]]:
        return image_embedder(self._embedder, self.class_name()).embed_images(img_file_paths)

    async def _aget_image_embeddings(self, img_file_paths: list[Any]) -> list[list[float]]:
        native = image_embedder(self._embedder, self.class_name())
        return await native.aembed_images(img_file_paths)
