"""Document loaders: files and directories in, `chromabridge.Document`s out.

`TextLoader` reads plain text and markdown directly; `FileLoader` partitions any other
format through `unstructured` (imported on first use, so this import stays cheap);
`ImageLoader` describes images (`DirectoryLoader(images=True)` routes image files there);
`DirectoryLoader` streams a tree through them with a per-file error report. Each offers
`.as_langchain()` and `.as_llamaindex()`.
"""

from __future__ import annotations

from .archives import DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_UNCOMPRESSED_SIZE
from .directory import (
    DEFAULT_FILE_MEMORY,
    DEFAULT_FILE_TIMEOUT,
    DEFAULT_MAX_FILE_SIZE,
    DirectoryLoader,
)
from .errors import (
    ArchiveLimitError,
    BinaryFileError,
    BudgetExceededError,
    EmptyFileError,
    FileChangedError,
    FileMemoryError,
    FileTimeoutError,
    FileTooLargeError,
    LoaderError,
    NoTextError,
    NotRegularFileError,
    OutsideRootError,
    WorkerCrashError,
)
from .file import FileLoader
from .ids import document_id
from .image import BrokenImageError, ImageLoader
from .report import FileFailure, LoadReport
from .text import TextLoader
from .warm import stop_idle_workers

__all__ = [
    "stop_idle_workers",
    "FileLoader",
    "DirectoryLoader",
    "TextLoader",
    "ImageLoader",
    "BrokenImageError",
    "LoadReport",
    "FileFailure",
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
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_FILE_TIMEOUT",
    "DEFAULT_FILE_MEMORY",
    "DEFAULT_MAX_UNCOMPRESSED_SIZE",
    "DEFAULT_MAX_COMPRESSION_RATIO",
    "document_id",
]
