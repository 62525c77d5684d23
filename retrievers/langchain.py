"""LangChain face: any native retriever as a `langchain_core` `BaseRetriever`.

`k` and a metadata `filter` (any form `to_chroma_filter` accepts) can be given at
construction or per call: `retriever.invoke("query", k=3, filter={"kind": "pet"})`.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from chromabridge.types import Hit
from chromabridge.vectorstores.langchain import hit_to_document

from .base import Retriever

__all__ = ["LangChainRetriever"]


class LangChainRetriever(BaseRetriever):
    """Delegates to `retriever` (a `VectorRetriever`, `HybridRetriever`, ...)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    k: int | None = None
    filter: Any = None

    def _args(self, kwargs: dict[str, Any]) -> tuple[int | None, Any]:
        k = kwargs.pop("k", self.k)
        where = kwargs.pop("filter", kwargs.pop("where", self.filter))
        if kwargs:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        return k, where

    @staticmethod
    def _documents(hits: list[Hit]) -> list[Document]:
        return [hit_to_document(h) for h in hits]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        native: Retriever = self.retriever
        k, where = self._args(kwargs)
        return self._documents(native.retrieve(query, k=k, where=where))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        native: Retriever = self.retriever
        k, where = self._args(kwargs)
        return self._documents(await native.aretrieve(query, k=k, where=where))
