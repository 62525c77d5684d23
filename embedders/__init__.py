"""Embedding providers and the `Embedder` protocol.

Importing this package imports no provider SDK and no framework: `LocalEmbedder`,
`OpenAIEmbedder`, `CohereEmbedder`, `CachedEmbedder` and `FakeEmbedder` (deterministic,
for tests) load on first access, and each imports its SDK only when constructed. The
framework faces live in `chromabridge.embedders.langchain`, `.llamaindex` and `.chroma`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .adapt import as_embedder
from .base import Embedder, Vector
from .multimodal import ImageEmbedder, image_embedder, supports_images

if TYPE_CHECKING:
    from .cache import CachedEmbedder
    from .clip import ClipEmbedder
    from .cohere_embedder import CohereEmbedder
    from .fake import FakeEmbedder
    from .local import LocalEmbedder
    from .openai_embedder import OpenAIEmbedder

__all__ = [
    "CachedEmbedder",
    "ClipEmbedder",
    "CohereEmbedder",
    "Embedder",
    "ImageEmbedder",
    "FakeEmbedder",
    "LocalEmbedder",
    "OpenAIEmbedder",
    "Vector",
    "as_embedder",
    "image_embedder",
    "supports_images",
]

_LAZY = {
    "CachedEmbedder": ".cache",
    "ClipEmbedder": ".clip",
    "CohereEmbedder": ".cohere_embedder",
    "FakeEmbedder": ".fake",
    "LocalEmbedder": ".local",
    "OpenAIEmbedder": ".openai_embedder",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
