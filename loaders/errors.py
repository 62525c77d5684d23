"""Loader failures precise enough to act on, all of them `LoaderError`s.

A `DirectoryLoader` records the class name of each failure in its report, so a user can
tell "this file is too big" from "this PDF is corrupt" without parsing messages; strict
mode (`on_error="raise"`) raises the same objects.
"""

from __future__ import annotations

from chromabridge.errors import LoaderError

__all__ = [
    "LoaderError",
    "EmptyFileError",
    "NoTextError",
    "BinaryFileError",
    "FileTooLargeError",
    "OutsideRootError",
    "NotRegularFileError",
    "FileChangedError",
    "BudgetExceededError",
    "ArchiveLimitError",
    "FileTimeoutError",
    "FileMemoryError",
    "WorkerCrashError",
]


class EmptyFileError(LoaderError):
    """The file has no bytes at all."""


class NoTextError(LoaderError):
    """The file was read but holds no text (a scanned PDF under `strategy="fast"`...)."""


class BinaryFileError(LoaderError):
    """A file read as text is binary data (NUL bytes, no plausible encoding)."""


class FileTooLargeError(LoaderError):
    """The file is over the loader's `max_file_size`."""


class OutsideRootError(LoaderError):
    """The path resolves outside the directory being loaded (a symlink out of it)."""


class NotRegularFileError(LoaderError):
    """A named pipe, socket or device in the tree: opening it could block forever."""


class FileChangedError(LoaderError):
    """The file changed (size, time or inode) while it was being read."""


class BudgetExceededError(LoaderError):
    """A file went over one of the loader's limits; `limit` names it, `measured` says by how
    much (both also in the message), so a report entry is enough to decide what to raise."""

    def __init__(self, message: str, *, limit: str = "", measured: float = 0.0) -> None:
        super().__init__(message)
        self.limit = limit
        self.measured = measured

    def __reduce__(self) -> tuple[object, ...]:  # keep limit/measured across processes
        return (_rebuild, (type(self), str(self), self.limit, self.measured))


def _rebuild(
    cls: type[BudgetExceededError], message: str, limit: str, measured: float
) -> BudgetExceededError:
    return cls(message, limit=limit, measured=measured)


class ArchiveLimitError(BudgetExceededError):
    """A zip container (docx, xlsx, pptx, odt, epub...) declares more uncompressed bytes,
    or a higher compression ratio, than allowed: a decompression bomb, refused unopened."""


class FileTimeoutError(BudgetExceededError):
    """Parsing the file took longer than `file_timeout`; its worker was killed and replaced."""


class FileMemoryError(BudgetExceededError):
    """Parsing the file needed more memory than `file_memory`; its worker was replaced."""


class WorkerCrashError(LoaderError):
    """The worker process died while loading the file (a crashing parser, the kernel's
    out-of-memory killer); a fresh worker takes the next file."""
