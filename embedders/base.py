"""The `Embedder` protocol every part of chromabridge embeds through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Embedder", "Vector"]

Vector = list[float]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors.

    `name` identifies the vector space (provider, model and any option that changes the
    vectors, e.g. OpenAI `dimensions`); the store records it in collection metadata and
    refuses to mix spaces. `dimension` may be None until the first call for wrapped
    third-party embedders whose size is not known up front.
    """

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int | None: ...

    @property
    def max_input_tokens(self) -> int | None: ...

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]: ...

    def embed_query(self, text: str) -> Vector: ...

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]: ...

    async def aembed_query(self, text: str) -> Vector: ...
