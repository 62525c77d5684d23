"""One exception hierarchy for everything chromabridge raises.

Callers catch `ChromaBridgeError` to handle any of our failures, or a subclass to handle
one kind. This docstring is the one place the tree is documented (docs/design.md points
here); the CLI maps it to exit codes by type: `InputError` 2, any other 1.
Third-party exceptions are wrapped (`raise ... from exc`) so the original stays
on `__cause__` while the message says what was at fault and what to do.

The tree splits by who must act:

    ChromaBridgeError
    +-- InputError (also ValueError)   the caller's mistake: fix the call
    |   +-- ConfigError                 arguments and settings
    |   +-- ChunkerError                chunker parameters
    |   +-- FilterError                 metadata / document filters
    |   +-- CollectionDeletedError      a store used after its delete_collection()
    +-- StoreError                      Chroma failed or could not be reached
    |   +-- StoreBusyError              another live process holds a local directory
    |   +-- PartialWriteError           a failed write whose undo failed too
    +-- EmbeddingError                  an embedder failed, or its vectors are unusable
    |   +-- EmbedderMismatchError       a collection filled by another embedder
    +-- LoaderError                     a file could not be read or partitioned
    +-- RerankError                     a rerank provider failed
"""

from __future__ import annotations

__all__ = [
    "ChromaBridgeError",
    "InputError",
    "ConfigError",
    "LoaderError",
    "ChunkerError",
    "EmbeddingError",
    "EmbedderMismatchError",
    "FilterError",
    "StoreError",
    "StoreBusyError",
    "CollectionDeletedError",
    "PartialWriteError",
    "RerankError",
]


class ChromaBridgeError(Exception):
    """Base class of every error chromabridge raises on purpose."""


class InputError(ChromaBridgeError, ValueError):
    """The caller's mistake: a bad argument, value or combination. Retrying will not help."""


class ConfigError(InputError):
    """An argument or setting is invalid (bad name, conflicting options, k <= 0...)."""


class LoaderError(ChromaBridgeError):
    """A file could not be read or partitioned."""


class ChunkerError(InputError):
    """Chunker parameters are inconsistent or the text cannot be split as asked."""


class EmbeddingError(ChromaBridgeError):
    """An embedder failed: provider error after retries, or vectors of the wrong shape.

    Vectors the caller passed (`add(..., embeddings=)`, `query(embedding=)`) that are
    malformed are the caller's mistake: `InputError`.
    """


class EmbedderMismatchError(EmbeddingError):
    """A collection is opened with an embedder other than the one that filled it."""


class FilterError(InputError):
    """A metadata or document filter uses an unknown operator or an invalid value."""


class StoreError(ChromaBridgeError):
    """Chroma refused a read or write, or could not be reached."""


class StoreBusyError(StoreError):
    """Another live process holds a local Chroma directory open for writing.

    Embedded Chroma is single-process: a second writer on the same directory silently
    overwrites the first one's vector index. Use `shared=True` or a Chroma server.
    """


class CollectionDeletedError(InputError):
    """A `ChromaStore` was used after its `delete_collection()`: like a closed file, the
    object is spent; make a new `ChromaStore` to create the collection again."""


class PartialWriteError(StoreError):
    """A multi-batch write failed and so did its rollback: the collection may be
    partially written. `ids` lists every record that may hold this write's data (or
    lack its earlier state); write them again, or delete them."""

    def __init__(self, message: str, ids: list[str] | None = None) -> None:
        super().__init__(message)
        self.ids: list[str] = list(ids or [])


class RerankError(ChromaBridgeError):
    """A rerank provider failed (after retries) or answered something unusable."""
