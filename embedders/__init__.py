"""Embedding providers and the `Embedder` protocol."""

from .adapt import as_embedder
from .base import Embedder, Vector

__all__ = ["Embedder", "Vector", "as_embedder"]
