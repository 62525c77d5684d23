"""The `ImageEmbedder` protocol: an embedder whose space holds images as well as texts.

Only some embedders have one (CLIP; Cohere's embed-v4). Whoever needs image vectors
(the store's `add_images` and `query(image=...)`, the framework faces) asks
`image_embedder`, which says clearly when the embedder at hand cannot do it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from chromabridge.errors import ConfigError
from chromabridge.images import ImageSource

from .base import Embedder, Vector

__all__ = ["ImageEmbedder", "image_embedder", "supports_images"]


@runtime_checkable
class ImageEmbedder(Embedder, Protocol):
    """An `Embedder` that also embeds images into the space of its text vectors."""

    def embed_images(self, images: Sequence[ImageSource]) -> list[Vector]: ...

    async def aembed_images(self, images: Sequence[ImageSource]) -> list[Vector]: ...


def supports_images(embedder: object) -> bool:
    """Whether `embedder` can embed images (a cache wrapping one can too)."""
    probe = getattr(embedder, "supports_images", None)
    if isinstance(probe, bool):
        return probe
    return callable(getattr(embedder, "embed_images", None))


def image_embedder(embedder: Embedder | None, who: str) -> ImageEmbedder:
    """`embedder` as an `ImageEmbedder`, or a `ConfigError` saying what `who` needs."""
    if embedder is None:
        raise ConfigError(f"{who} has no embedder; images need one that embeds images (CLIP)")
    if not supports_images(embedder) or not isinstance(embedder, ImageEmbedder):
        raise ConfigError(
            f"{who}: embedder {embedder.name!r} embeds only text; use one that embeds "
            "images too, e.g. ClipEmbedder or CohereEmbedder('embed-v4.0')"
        )
    return embedder
