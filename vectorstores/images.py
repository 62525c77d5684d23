"""`ChromaStore`'s images: `add_images` and `image_vector` (`query(image=...)` is a read:
the image's embedding is a step of the query's plan, in `reads.py`).

Images and text share one collection: an image is one record whose text is its URI
(or a base64 data URI), whose metadata says ``modality: "image"`` plus its MIME type,
size and content hash, and whose vector comes from the store's embedder's image tower
(`ImageEmbedder`: CLIP, Cohere embed-v4). With such an embedder a text query finds
images and an image query finds text. Writes are incremental: an image whose record
already holds the same bytes (content hash) and metadata is not embedded again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chromabridge.embedders import image_embedder
from chromabridge.errors import InputError, LoaderError
from chromabridge.images import ImageData, ImageSource, image_chunk, read_image
from chromabridge.types import Chunk

from .base import LOCAL, Plan, embed_step
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

    def _add_images_op(
        self,
        sources: Sequence[ImageSource],
        metadatas: Sequence[Mapping[str, Any] | None] | None,
        ids: Sequence[str | None] | None,
        store_bytes: bool,
    ) -> Plan[list[str]]:
        """`add_images` as one plan: the images read in a `LOCAL` step (a worker thread
        when async), the stored records read, the changed ones embedded (a step run by
        the image embedder) and written as `add` writes."""
        args = (sources, metadatas, ids, store_bytes)
        chunks, images = yield (LOCAL, (self._image_chunks, args))
        if not chunks:
            return []
        stored = yield from self._get_plan([c.id for c in chunks], None, None, None, None)
        todo = self._changed(chunks, stored)
        if todo:
            embedder = image_embedder(self.embedder, f"ChromaStore {self.name!r}")
            found = [images[n].image for n in todo]
            vectors = yield embed_step(embedder, "embed_images", found)
            yield from self._add_op([chunks[n] for n in todo], vectors)
        return [chunk.id for chunk in chunks]

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
        return self._run(
            self._add_images_op(sources, metadatas, ids, store_bytes),
            op="add_images",
            size=len(sources),
        )

    async def aadd_images(
        self,
        sources: Sequence[ImageSource],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str | None] | None = None,
        *,
        store_bytes: bool = False,
    ) -> list[str]:
        """Async `add_images` (images are read in a worker thread)."""
        return await self._arun(
            self._add_images_op(sources, metadatas, ids, store_bytes),
            op="add_images",
            size=len(sources),
        )

    def image_vector(self, image: ImageSource) -> list[float]:
        """The query vector of `image` in this collection's space."""
        return self._drive(self._image_vector_plan(image), None)  # the embedder's alone
