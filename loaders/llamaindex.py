"""LlamaIndex face of the loaders: a `BaseReader` around a native loader.

Conversion only: our id becomes `doc_id` (`id_`), `source` joins the metadata. File
bookkeeping keys (sizes, dates, encodings, element ids, coordinates...) are excluded from
the text LlamaIndex embeds and shows the LLM, as `SimpleDirectoryReader` does, so they
do not pollute vectors; they stay in the metadata for filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document as LIDocument

from chromabridge.types import Document

if TYPE_CHECKING:
    from .base import Loader
    from .report import LoadReport

__all__ = ["LlamaIndexReader", "to_llamaindex"]

#: Metadata worth embedding and showing an LLM; every other key is bookkeeping.
CONTENT_KEYS = frozenset({"filename", "page_number", "page_name", "subject", "category"})


def to_llamaindex(document: Document) -> LIDocument:
    metadata = dict(document.metadata)
    if document.source is not None:
        metadata["source"] = document.source
    hidden = [key for key in metadata if key not in CONTENT_KEYS]
    return LIDocument(
        id_=document.id,
        text=document.text,
        metadata=metadata,
        excluded_embed_metadata_keys=hidden,
        excluded_llm_metadata_keys=hidden,
    )


class LlamaIndexReader(BaseReader):
    """Any chromabridge loader (`DirectoryLoader(...).as_llamaindex()`) as a reader."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    @property
    def report(self) -> LoadReport:
        """The wrapped loader's per-file report, complete after an iteration."""
        return self.loader.report

    def lazy_load_data(self, *args: Any, **load_kwargs: Any) -> Iterator[LIDocument]:
        for document in self.loader.lazy_load():
            yield to_llamaindex(document)

    def load_data(self, *args: Any, **load_kwargs: Any) -> list[LIDocument]:
        return list(self.lazy_load_data())
