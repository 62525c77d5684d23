"""What every native loader shares: the core methods, the report and the two faces.

Framework faces are imported only when asked for, so a user with one framework installed
(or none) can still use every loader.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chromabridge.types import Document

from .errors import (
    EmptyFileError,
    FileChangedError,
    FileTooLargeError,
    LoaderError,
    NotRegularFileError,
)
from .report import LoadReport

if TYPE_CHECKING:
    from .langchain import LangChainLoader
    from .llamaindex import LlamaIndexReader

__all__ = ["Loader", "check_file", "check_unchanged", "file_metadata", "normalize"]

#: Types the stdlib does not map (or maps differently on some platforms).
_EXTRA_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".rst": "text/x-rst"}


class Loader(ABC):
    """Base of `FileLoader`, `TextLoader` and `DirectoryLoader` (docs/design.md §5)."""

    report: LoadReport

    @abstractmethod
    def lazy_load(self) -> Iterator[Document]:
        """Yield documents one file at a time; `report` is complete when it ends."""

    def load(self) -> list[Document]:
        return list(self.lazy_load())

    def as_langchain(self) -> LangChainLoader:
        """This loader as a LangChain `BaseLoader` (needs the `langchain` extra)."""
        from .langchain import LangChainLoader

        return LangChainLoader(self)

    def as_llamaindex(self) -> LlamaIndexReader:
        """This loader as a LlamaIndex `BaseReader` (needs the `llamaindex` extra)."""
        from .llamaindex import LlamaIndexReader

        return LlamaIndexReader(self)


def check_file(path: Path, max_file_size: int | None = None) -> os.stat_result:
    """Stat `path` and refuse what no loader can use, with a message that says why."""
    try:
        info = path.stat()
    except OSError as exc:
        raise LoaderError(f"cannot read {path}: {exc.strerror or exc}; check it exists") from exc
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the open below forever
        raise NotRegularFileError(
            f"{path} is not a regular file (a named pipe, socket or device); not read"
        )
    if info.st_size == 0:
        raise EmptyFileError(f"{path} is empty (0 bytes); nothing to load")
    if max_file_size is not None and info.st_size > max_file_size:
        raise FileTooLargeError(
            f"{path} is {info.st_size} bytes, over max_file_size={max_file_size}; "
            "raise the limit or exclude the file"
        )
    try:  # fail here, clearly, rather than deep inside a parser
        with path.open("rb"):
            pass
    except OSError as exc:
        raise LoaderError(
            f"cannot read {path}: {exc.strerror or exc}; fix its permissions or exclude it"
        ) from exc
    return info


def check_unchanged(path: Path, before: os.stat_result, read: int | None = None) -> None:
    """Refuse a file that changed while it was read (`read`: bytes read, when known): its
    text may be half old, half new."""
    try:
        after = path.stat()
    except OSError as exc:
        raise FileChangedError(f"{path} vanished while it was being read") from exc
    fields = ("st_ino", "st_size", "st_mtime_ns")
    changed = any(getattr(before, f) != getattr(after, f) for f in fields)
    if changed or (read is not None and read != before.st_size):
        raise FileChangedError(
            f"{path} changed while it was being read ({before.st_size} -> {after.st_size} "
            "bytes); load it again once it is written"
        )


def file_metadata(path: Path, info: os.stat_result) -> dict[str, Any]:
    """The file-level keys unstructured also sets, for loaders that bypass it."""
    suffix = path.suffix.lower()
    filetype = _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "text/plain"
    modified = dt.datetime.fromtimestamp(info.st_mtime).replace(microsecond=0)
    return {
        "filename": path.name,
        "filetype": filetype,
        "last_modified": modified.isoformat(),
        "file_size": info.st_size,
    }


def normalize(metadata: dict[str, Any]) -> dict[str, Any]:
    """Chroma-ready metadata (docs/design.md §3), imported late: `chromabridge.vectorstores`
    pulls in chromadb, which `import chromabridge.loaders` should not pay for."""
    from chromabridge.vectorstores.metadata import normalize_metadata

    return normalize_metadata(metadata)
