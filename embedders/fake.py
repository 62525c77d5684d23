"""A deterministic embedder for tests: no model, no network, same vectors in every process.

Shipped, as langchain-core ships `FakeEmbeddings`, so that users' own tests of code built
on chromabridge need neither a model download nor an API key.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from chromabridge.errors import ConfigError

from .base import Vector
from .native import NativeEmbedder

__all__ = ["FakeEmbedder"]

_WORD = re.compile(r"\w+")


class FakeEmbedder(NativeEmbedder):
    """Words hashed into `dimension` buckets, unit length: texts that share words are near.

    Unlike langchain-core's random `FakeEmbeddings`, the vectors are deterministic (blake2b,
    not Python's salted `hash`) and carry enough meaning for retrieval tests to rank:
    "python language" is nearer "python code" than "cats and dogs". `calls` records the
    texts of every `embed_documents` call, so a test can check what was (re-)embedded.
    The framework faces are every native embedder's: `as_langchain()`, `as_llamaindex()`,
    `as_chroma()`.
    """

    def __init__(
        self,
        dimension: int = 64,
        *,
        name: str = "fake:hash",
        max_input_tokens: int | None = None,
    ) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise ConfigError(f"dimension must be a positive int, got {dimension!r}")
        self._name = name
        self._dimension = dimension
        self._max_input_tokens = max_input_tokens
        self.calls: list[list[str]] = []

    @property
    def dimension(self) -> int:
        return self._dimension or 0

    @property
    def max_input_tokens(self) -> int | None:
        return self._max_input_tokens

    def _vector(self, text: str) -> Vector:
        vector = [0.0] * self.dimension
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vector[int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        self.calls.append(list(texts))
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> Vector:
        return self._vector(text)

    # Cheap enough to run inline: a worker thread would cost more than the hashing.
    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> Vector:
        return self.embed_query(text)
