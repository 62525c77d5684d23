"""The per-file outcome of a load: what failed, why, and how much succeeded.

Loading a real directory always meets some unreadable file; a report lets the run go on
and still tell the user exactly which files are missing from the index and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["FileFailure", "LoadReport"]


@dataclass(frozen=True, slots=True)
class FileFailure:
    """One file that produced no documents.

    `error_type` is the class name of the root cause (``PermissionError``,
    ``PdfReadError``, ``FileTooLargeError``...); `message` names the file and what to do.
    """

    path: str
    error_type: str
    message: str
    #: The id the file's documents would have had: lets a pipeline keep what it stored
    #: from that file last time instead of treating a failed file as deleted.
    id: str | None = None

    @classmethod
    def of(cls, path: str, error: BaseException, id: str | None = None) -> FileFailure:
        cause = error.__cause__ if error.__cause__ is not None else error
        return cls(path=path, error_type=type(cause).__name__, message=str(error), id=id)


@dataclass(slots=True)
class LoadReport:
    """Counts and failures of one iteration; reset when a new iteration starts."""

    files_loaded: int = 0
    documents: int = 0
    failures: list[FileFailure] = field(default_factory=list)
    #: The largest resident memory a worker process reached while loading one file
    #: (bytes; 0 when files were loaded in the calling process): a basis for `file_memory`.
    peak_rss: int = 0

    @property
    def ok(self) -> bool:
        """True when every file that was tried produced documents."""
        return not self.failures

    def __iter__(self) -> Iterator[FileFailure]:
        return iter(self.failures)

    def __len__(self) -> int:
        return len(self.failures)
