"""`ChromaStore`'s images: `add_images` and `query(image=...)`.

Images and text share one collection: an image is one record whose text is its URI
(or a base64 data URI), whose metadata says ``modality: "image"`` plus its MIME type,
size and content hash, and whose vector comes from the store's embedder's image tower
(`ImageEmbedder`: CLIP, Cohere embed-v4). With such an embedder a text query finds
images and an image query finds text. Writes are incremental: an image whose record
already holds the same bytes (content hash) and metadata is not embedded again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from chromabridge.embedders import image_embedder
from chromabridge.errors import ChromaBridgeError, EmbeddingError, InputError, LoaderError
from chromabridge.images import ImageData, ImageSource, image_chunk, read_image
from chromabridge.types import Chunk, Hit

from .reads import StoreReads
from .records import chunk_metadata, record_to_chunk
from .writes import StoreWrites

__all__ = ["StoreImages"]


def _read_all(sources: Sequence[ImageSource]) -> list[ImageData]:
    images = []
    for position, source in enumerate(sources):
        try:
            images.append(read_image(source))
        except LoaderError as exc:
            raise InputError(f"image {position}: {exc}; nothing was written") from exc
    return images


def _listed(value: Any, what: str, n: int) -> list[Any] | None:
    if value is None:
        return None
    items = list(value)
    if len(items) != n:
        raise InputError(f"got {len(items)} {what} for {n} images")
    return items


def _image_query(image: object, text: object, embedding: object) -> bool:
    """Whether a query is by image; an `InputError` when it is by image and more."""
    if image is None:
        return False
    if text is not None or embedding is not None:
        raise InputError("pass exactly one of text=, embedding= or image=")
    return True


class StoreImages(StoreReads, StoreWrites):
    """Images in a `ChromaStore` (see the module doc)."""

    def _image_chunks(
        self,
        sources: Sequence[ImageSource],
        metadatas: Sequence[Mapping[str, Any] | None] | None,
        ids: Sequence[str | None] | None,
        store_bytes: bool,
    ) -> tuple[list[Chunk], list[ImageData]]:
        if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
            sources = [sources]
        metas = _listed(metadatas, "metadatas", len(sources))
        id_list = _listed(ids, "ids", len(sources))
        images = _read_all(sources)
        chunks = [
            image_chunk(
                image,
                id=id_list[n] if id_list is not None else None,
                metadata=metas[n] if metas is not None else None,
                store_bytes=store_bytes,
            )
            for n, image in enumerate(images)
        ]
        return chunks, images

    @staticmethod
    def _changed(chunks: list[Chunk], stored: list[Chunk]) -> list[int]:
        """Positions of the chunks whose stored record differs (or is missing)."""
        have = {chunk.id: chunk for chunk in stored}
        return [
            n
            for n, chunk in enumerate(chunks)
            if have.get(chunk.id) != record_to_chunk(chunk.id, chunk.text, chunk_metadata(chunk))
        ]

    def _image_vectors(self, images: Sequence[ImageSource]) -> list[list[float]]:
        embedder = image_embedder(self.embedder, f"ChromaStore {self.name!r}")
        try:
            return embedder.embed_images(images)
        except ChromaBridgeError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"embedder {embedder.name!r} failed on images: {exc}") from exc

    async def _aimage_vectors(self, images: Sequence[ImageSource]) -> list[list[float]]:
        embedder = image_embedder(self.embedder, f"ChromaStore {self.name!r}")
        try:
            return await embedder.aembed_images(images)
        except ChromaBridgeError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"embedder {embedder.name!r} failed on images: {exc}") from exc

    def add_images(
        self,
        sources: Sequence[ImageSource],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str | None] | None = None,
        *,
        store_bytes: bool = False,
    ) -> list[str]:
        """Embed and store images (paths, URIs, bytes or PIL images); return their ids.

        Each record keeps the image's URI as its text and `source` (bytes and PIL images
        have none, so their record holds the image as a base64 data URI, as does every
        record with `store_bytes=True`). Default ids follow the URI, or the content for
        images without one. Every image is read and decoded before anything is written:
        a broken one is an `InputError` naming its position, and nothing is stored.
        """
        chunks, images = self._image_chunks(sources, metadatas, ids, store_bytes)
        if not chunks:
            return []
        todo = self._changed(chunks, self.get([chunk.id for chunk in chunks]))
        if todo:
            vectors = self._image_vectors([images[n].image for n in todo])
            self.add([chunks[n] for n in todo], embeddings=vectors)
        return [chunk.id for chunk in chunks]

    async def aadd_images(
        self,
        sources: Sequence[ImageSource],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str | None] | None = None,
        *,
        store_bytes: bool = False,
    ) -> list[str]:
        """Async `add_images` (images are read in a worker thread)."""
        chunks, images = await asyncio.to_thread(
            self._image_chunks, sources, metadatas, ids, store_bytes
        )
        if not chunks:
            return []
        todo = self._changed(chunks, await self.aget([chunk.id for chunk in chunks]))
        if todo:
            vectors = await self._aimage_vectors([images[n].image for n in todo])
            await self.aadd([chunks[n] for n in todo], embeddings=vectors)
        return [chunk.id for chunk in chunks]

    def image_vector(self, image: ImageSource) -> list[float]:
        """The query vector of `image` in this collection's space."""
        try:
            picture = read_image(image).image
        except LoaderError as exc:
            raise InputError(f"query image: {exc}") from exc
        return self._image_vectors([picture])[0]

    def query(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
        *,
        max_per_document: int | None = None,
        image: ImageSource | None = None,
    ) -> list[Hit]:
        """The `k` nearest records to `text`, to `embedding` or to `image` (a path, URI,
        bytes or PIL image, embedded by the store's image-capable embedder). Hits for
        images have `hit.chunk.is_image` true."""
        if _image_query(image, text, embedding):
            embedding = self.image_vector(image)  # type: ignore[arg-type]
        return super().query(
            text, embedding, k, where, where_document, max_per_document=max_per_document
        )

    async def aquery(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
        *,
        max_per_document: int | None = None,
        image: ImageSource | None = None,
    ) -> list[Hit]:
        """Async `query`."""
        if _image_query(image, text, embedding):
            embedding = await asyncio.to_thread(self.image_vector, image)  # type: ignore[arg-type]
        return await super().aquery(
            text, embedding, k, where, where_document, max_per_document=max_per_document
        )
