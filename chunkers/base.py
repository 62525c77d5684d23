"""What every chromabridge chunker shares: spans in, strings/chunks/framework faces out.

A chunker only has to say where its pieces are (`split_spans`); the string, `Chunk` and
framework views all derive from those offsets, so `document.text[start:end]` is always
exactly the chunk text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chromabridge.types import Chunk, Document

if TYPE_CHECKING:
    from .langchain import LangChainTextSplitter
    from .llamaindex import LlamaIndexNodeParser

__all__ = ["BaseChunker", "Span"]

Span = tuple[int, int]


class BaseChunker(ABC):
    """Native chunker: `split_text`, `chunk`, `chunk_many`, plus both framework faces."""

    #: Metadata keys to keep out of embeddings and LLM prompts (a sentence's window).
    hidden_metadata_keys: tuple[str, ...] = ()

    @abstractmethod
    def split_spans(self, text: str) -> list[Span]:
        """Character offsets `(start, end)` of each piece of `text`, in order."""

    def chunk_metadata(self, pieces: Sequence[str]) -> list[dict[str, Any]] | None:
        """Per-chunk metadata beyond what the document passes down (none by default)."""
        return None

    def split_text(self, text: str) -> list[str]:
        """The pieces of `text` as strings (LangChain's `split_text`)."""
        return [text[start:end] for start, end in self.split_spans(text)]

    def chunk(self, document: Document) -> list[Chunk]:
        """The chunks of one document, with offsets, ids and inherited metadata."""
        text = document.text
        spans = self.split_spans(text)
        pieces = [text[start:end] for start, end in spans]
        found = self.chunk_metadata(pieces)
        extra: Sequence[Mapping[str, Any] | None] = found if found else [None] * len(spans)
        return [
            Chunk.of(document, piece, index=i, start=span[0], end=span[1], metadata=meta)
            for i, (span, piece, meta) in enumerate(zip(spans, pieces, extra, strict=True))
        ]

    def chunk_many(self, documents: Iterable[Document]) -> Iterator[Chunk]:
        """Chunks of many documents, lazily, document by document."""
        for document in documents:
            yield from self.chunk(document)

    def as_langchain(self, **kwargs: Any) -> LangChainTextSplitter:
        """This chunker as a `langchain_text_splitters.TextSplitter`."""
        from .langchain import LangChainTextSplitter

        return LangChainTextSplitter(self, **kwargs)

    def as_llamaindex(self, **kwargs: Any) -> LlamaIndexNodeParser:
        """This chunker as a LlamaIndex `NodeParser` (an IngestionPipeline transformation)."""
        from .llamaindex import LlamaIndexNodeParser

        return LlamaIndexNodeParser.from_chunker(self, **kwargs)
