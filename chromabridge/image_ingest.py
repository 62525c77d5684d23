"""The pipeline's image path: image documents are stored whole, with image vectors.

A mixed folder (`DirectoryLoader(images=True)`) yields text documents and image
documents. Text goes through the chunker and the embedder's text tower; an image becomes
exactly one record (its id derived from the document id and the image's content hash,
so an unchanged image is skipped and a changed one replaced) embedded by the image
tower. Everything else about a run (compare, write, delete, crash safety) is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chromabridge.embedders import Embedder, Vector, image_embedder
from chromabridge.errors import EmbeddingError, LoaderError
from chromabridge.images import is_image_record
from chromabridge.types import Chunk, Document, chunk_id

__all__ = ["aembed_chunks", "chunk_document", "embed_chunks", "image_document_chunk"]


def image_document_chunk(document: Document) -> Chunk:
    """The one record of an image document (`ImageLoader`)."""
    meta = dict(document.metadata)
    if document.source is not None:
        meta["source"] = document.source
    digest = str(meta.get("content_hash") or document.content_hash)
    return Chunk(
        id=chunk_id(document.id, 0, digest),
        doc_id=document.id,
        text=document.text,
        metadata=meta,
    )


def chunk_document(chunker: Any, document: Document) -> list[Chunk]:
    """`chunker.chunk(document)` for text; the single image record for an image."""
    if is_image_record(document.metadata):
        return [image_document_chunk(document)]
    chunks: list[Chunk] = chunker.chunk(document)
    return chunks


def _split(chunks: Sequence[Chunk]) -> tuple[list[int], list[int]]:
    images = [n for n, chunk in enumerate(chunks) if chunk.is_image]
    wanted = set(images)
    return [n for n in range(len(chunks)) if n not in wanted], images


def _merge(
    n: int, texts: list[int], tv: list[Vector], images: list[int], iv: list[Vector]
) -> list[Vector]:
    out: list[Vector] = [[] for _ in range(n)]
    for position, vector in zip(texts + images, tv + iv, strict=True):
        out[position] = vector
    return out


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> list[Vector]:
    """One vector per chunk: text chunks by the text tower, images by the image tower
    (reading the image from the record's text: its path, URI or data URI)."""
    texts, images = _split(chunks)
    if not images:
        return embedder.embed_documents([chunk.text for chunk in chunks])
    tv = embedder.embed_documents([chunks[n].text for n in texts]) if texts else []
    try:
        iv = image_embedder(embedder, "the pipeline").embed_images([chunks[n].text for n in images])
    except LoaderError as exc:  # the file changed or vanished since it was loaded
        raise EmbeddingError(str(exc)) from exc
    return _merge(len(chunks), texts, tv, images, iv)


async def aembed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> list[Vector]:
    """Async `embed_chunks`."""
    texts, images = _split(chunks)
    if not images:
        return await embedder.aembed_documents([chunk.text for chunk in chunks])
    tv = await embedder.aembed_documents([chunks[n].text for n in texts]) if texts else []
    native = image_embedder(embedder, "the pipeline")
    try:
        iv = await native.aembed_images([chunks[n].text for n in images])
    except LoaderError as exc:
        raise EmbeddingError(str(exc)) from exc
    return _merge(len(chunks), texts, tv, images, iv)
