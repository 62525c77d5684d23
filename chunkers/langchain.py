"""LangChain face: any chromabridge chunker as a `langchain_text_splitters.TextSplitter`.

A drop-in for `RecursiveCharacterTextSplitter`: `LangChainTextSplitter(chunk_size=1000,
chunk_overlap=200)` builds a `RecursiveChunker`; pass `chunker=` to wrap any other.
Chunk metadata (a sentence window's `window`/`original_text`) is added to each
Document's metadata, and `add_start_index=True` writes exact offsets instead of
LangChain's `str.find` guesses.
"""

from __future__ import annotations

import copy
from typing import Any

from langchain_core.documents import Document as LCDocument
from langchain_text_splitters import TextSplitter

from .base import BaseChunker
from .recursive import RecursiveChunker

__all__ = ["LangChainTextSplitter"]


class LangChainTextSplitter(TextSplitter):
    """`split_text`, `create_documents`, `split_documents`, `transform_documents`."""

    def __init__(
        self,
        chunker: BaseChunker | None = None,
        *,
        add_start_index: bool = False,
        **recursive_kwargs: Any,
    ) -> None:
        if chunker is None:
            chunker = RecursiveChunker(**recursive_kwargs)
        elif recursive_kwargs:
            raise TypeError(f"unexpected arguments beside chunker=: {sorted(recursive_kwargs)}")
        # TextSplitter validates these; our chunker already did, and owns the real values.
        size = int(getattr(chunker, "chunk_size", getattr(chunker, "max_sentence_chars", 1)))
        overlap = int(getattr(chunker, "chunk_overlap", 0))
        super().__init__(chunk_size=size, chunk_overlap=overlap, add_start_index=add_start_index)
        self.chunker = chunker

    def split_text(self, text: str) -> list[str]:
        return self.chunker.split_text(text)

    def create_documents(
        self, texts: list[str], metadatas: list[dict[Any, Any]] | None = None
    ) -> list[LCDocument]:
        metadatas_ = metadatas or [{}] * len(texts)
        documents = []
        for text, base in zip(texts, metadatas_, strict=True):
            spans = self.chunker.split_spans(text)
            extra = self.chunker.chunk_metadata([text[start:end] for start, end in spans])
            for i, (start, end) in enumerate(spans):
                metadata = copy.deepcopy(base)
                if extra:
                    metadata.update(extra[i])
                if self._add_start_index:
                    metadata["start_index"] = start
                documents.append(LCDocument(page_content=text[start:end], metadata=metadata))
        return documents
