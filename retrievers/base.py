"""The `Retriever` protocol and what every native retriever shares.

A retriever answers `retrieve(query, k=None, where=None) -> list[Hit]`; `k` and `where`
override the defaults it was built with for one call (a per-call `where` is ANDed with
the retriever's own filter, never replacing it, so a scoped retriever stays scoped).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from chromabridge.types import Hit
from chromabridge.vectorstores import ChromaFilter, to_chroma_filter
from chromabridge.vectorstores.base import check_k

__all__ = ["Retriever", "RetrieverBase", "check_k", "combine_filters"]


@runtime_checkable
class Retriever(Protocol):
    """Anything that turns a query into ranked `Hit`s."""

    def retrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]: ...

    async def aretrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]: ...


def _and(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return a if b is None else b
    return {"$and": [a, b]}


def combine_filters(*filters: ChromaFilter) -> ChromaFilter:
    """AND several translated filters (each side: metadata and document text)."""
    where: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    for flt in filters:
        where = _and(where, flt.where)
        document = _and(document, flt.where_document)
    return ChromaFilter(where=where, where_document=document)


class RetrieverBase:
    """Defaults (`k`, filter) and the two framework faces, shared by native retrievers."""

    k: int
    _filter: ChromaFilter

    def _init_base(self, k: int, filter: Any, where_document: Any) -> None:
        self.k = check_k(k)
        self._filter = to_chroma_filter(filter, where_document)

    def _call_args(self, k: int | None, where: Any) -> tuple[int, ChromaFilter]:
        """This call's k and filter (the retriever's own filter ANDed with `where`)."""
        k_ = self.k if k is None else check_k(k)
        if where is None:
            return k_, self._filter
        return k_, combine_filters(self._filter, to_chroma_filter(where))

    def retrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        raise NotImplementedError

    async def aretrieve(self, query: str, k: int | None = None, where: Any = None) -> list[Hit]:
        raise NotImplementedError

    def as_langchain(self, **kwargs: Any) -> Any:
        """This retriever as a LangChain `BaseRetriever` (`LangChainRetriever`)."""
        from .langchain import LangChainRetriever

        return LangChainRetriever(retriever=self, **kwargs)

    def as_llamaindex(self, **kwargs: Any) -> Any:
        """This retriever as a LlamaIndex `BaseRetriever` (`LlamaIndexRetriever`)."""
        from .llamaindex import LlamaIndexRetriever

        return LlamaIndexRetriever(self, **kwargs)
