"""LlamaIndex face: any native retriever as a llama_index `BaseRetriever`.

Returns `NodeWithScore` (score = the native `Hit.score`), sync and async, so it plugs
into `RetrieverQueryEngine`, `QueryFusionRetriever` and node postprocessors.
`filters` takes LlamaIndex `MetadataFilters` (or any form `to_chroma_filter` accepts).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from chromabridge.types import Hit
from chromabridge.vectorstores.llamaindex import chunk_to_node

from .base import Retriever

__all__ = ["LlamaIndexRetriever"]


class LlamaIndexRetriever(BaseRetriever):
    """Delegates to `retriever`; `similarity_top_k` overrides its `k`."""

    def __init__(
        self,
        retriever: Retriever,
        similarity_top_k: int | None = None,
        filters: Any = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.retriever = retriever
        self.similarity_top_k = similarity_top_k
        self.filters = filters

    @staticmethod
    def _nodes(hits: list[Hit]) -> list[NodeWithScore]:
        return [NodeWithScore(node=chunk_to_node(h.chunk), score=h.score) for h in hits]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.retriever.retrieve(
            query_bundle.query_str, k=self.similarity_top_k, where=self.filters
        )
        return self._nodes(hits)

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = await self.retriever.aretrieve(
            query_bundle.query_str, k=self.similarity_top_k, where=self.filters
        )
        return self._nodes(hits)
