"""LangChain face of the loaders: a `langchain_core` `BaseLoader` around a native loader.

Conversion only: text becomes `page_content`, our id becomes `Document.id`, and `source`
joins the metadata (the LangChain convention for citations).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document as LCDocument

from chromabridge.types import Document

if TYPE_CHECKING:
    from .base import Loader
    from .report import LoadReport

__all__ = ["LangChainLoader", "to_langchain"]


def to_langchain(document: Document) -> LCDocument:
    metadata = dict(document.metadata)
    if document.source is not None:
        metadata["source"] = document.source
    return LCDocument(page_content=document.text, metadata=metadata, id=document.id)


class LangChainLoader(BaseLoader):
    """Any chromabridge loader (`DirectoryLoader(...).as_langchain()`) as a LangChain one."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    @property
    def report(self) -> LoadReport:
        """The wrapped loader's per-file report, complete after an iteration."""
        return self.loader.report

    def lazy_load(self) -> Iterator[LCDocument]:
        for document in self.loader.lazy_load():
            yield to_langchain(document)

    async def alazy_load(self) -> AsyncIterator[LCDocument]:
        """Streams without blocking the event loop: each next file is read in a thread."""
        iterator = self.lazy_load()
        while (item := await asyncio.to_thread(next, iterator, None)) is not None:
            yield item
