"""The three values that flow through chromabridge: Document, Chunk and Hit.

They are plain frozen dataclasses so that every part (loaders, chunkers, store,
retrievers) and both framework faces can share them without importing a framework.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = ["Document", "Chunk", "Hit", "Metadata", "content_hash", "chunk_id"]

#: Collection metadata keys recording the embedder that filled a collection (the guard).
EMBEDDER_KEY = "chromabridge:embedder"
DIMENSION_KEY = "chromabridge:dimension"

#: Metadata keys the store writes from `Chunk` fields; adapters hide them from users.
RESERVED_KEYS = frozenset(
    {
        "doc_id",
        "document_id",
        "ref_doc_id",
        "chunk_index",
        "start_char",
        "end_char",
        "content_hash",
        "relationships",
    }
)

Metadata = dict[str, Any]


def content_hash(text: str) -> str:
    """Hex sha256 of `text`; stored as `content_hash` to detect changed documents."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def chunk_id(doc_id: str, index: int, text: str) -> str:
    """Deterministic chunk id: the same document, position and text give the same id."""
    digest = hashlib.sha256(f"{doc_id}\x00{index}\x00{text}".encode("utf-8", "surrogatepass"))
    return f"{doc_id}#{index}-{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class Document:
    """One loaded unit: a file, or a group of a file's elements.

    `id` is stable across runs (loaders derive it from the path relative to the loaded
    root) so re-ingesting the same file replaces rather than duplicates it.
    """

    id: str
    text: str
    metadata: Metadata = field(default_factory=dict)
    source: str | None = None

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the text, computed once: every chunk of the document carries it."""
        return content_hash(self.text)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document, the unit stored as one Chroma record.

    `start`/`end` are character offsets into the document text, so
    `document.text[start:end] == text` for chunkers that cut without rewriting.
    """

    id: str
    doc_id: str
    text: str
    metadata: Metadata = field(default_factory=dict)
    index: int = 0
    start: int | None = None
    end: int | None = None

    @property
    def is_image(self) -> bool:
        """True for an image record (`ChromaStore.add_images`, image documents): its
        text is the image's URI or a base64 data URI (`chromabridge.images`)."""
        return self.metadata.get("modality") == "image"

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        doc_id: str | None = None,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        index: int = 0,
    ) -> Chunk:
        """A chunk from bare text, for callers that have no Document (framework adds)."""
        doc = doc_id if doc_id is not None else (id if id is not None else content_hash(text)[:16])
        cid = id if id is not None else chunk_id(doc, index, text)
        return cls(id=cid, doc_id=doc, text=text, metadata=dict(metadata or {}), index=index)

    @classmethod
    def of(
        cls,
        document: Document,
        text: str,
        *,
        index: int,
        start: int | None,
        end: int | None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Chunk:
        """The chunk of `document` at `index`: inherits its metadata, `source` and hash.

        Every chunker builds chunks through here so ids and inherited keys agree.
        """
        meta: Metadata = dict(document.metadata)
        if document.source is not None:
            meta["source"] = document.source
        meta["content_hash"] = document.content_hash
        if metadata:
            meta.update(metadata)
        return cls(
            id=chunk_id(document.id, index, text),
            doc_id=document.id,
            text=text,
            metadata=meta,
            index=index,
            start=start,
            end=end,
        )


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result.

    `distance` is Chroma's raw value in the collection's space; `score` is a relevance
    in which higher is better (see `ChromaStore` for the mapping per distance space).
    """

    chunk: Chunk
    score: float
    distance: float | None = None
