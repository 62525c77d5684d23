"""One exception hierarchy for everything chromabridge raises.

Callers catch `ChromaBridgeError` to handle any of our failures, or a subclass to handle
one kind. Third-party exceptions are wrapped (`raise ... from exc`) so the original stays
on `__cause__` while the message says what was at fault and what to do.
"""

from __future__ import annotations

__all__ = [
    "ChromaBridgeError",
    "ConfigError",
    "LoaderError",
    "ChunkerError",
    "EmbeddingError",
    "EmbedderMismatchError",
    "FilterError",
    "StoreError",
    "RerankError",
]


class ChromaBridgeError(Exception):
    """Base class of every error chromabridge raises on purpose."""


class ConfigError(ChromaBridgeError, ValueError):
    """An argument or setting is invalid (bad name, conflicting options, k <= 0...)."""


class LoaderError(ChromaBridgeError):
    """A file could not be read or partitioned."""


class ChunkerError(ChromaBridgeError, ValueError):
    """Chunker parameters are inconsistent or the text cannot be split as asked."""


class EmbeddingError(ChromaBridgeError):
    """An embedder failed: provider error after retries, or vectors of the wrong shape."""


class EmbedderMismatchError(EmbeddingError):
    """A collection is opened with an embedder other than the one that filled it."""


class FilterError(ChromaBridgeError, ValueError):
    """A metadata or document filter uses an unknown operator or an invalid value."""


class StoreError(ChromaBridgeError):
    """Chroma refused a read or write, or could not be reached."""


class RerankError(ChromaBridgeError):
    """A rerank provider failed (after retries) or answered something unusable."""
