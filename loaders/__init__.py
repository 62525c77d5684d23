"""Document loaders: files and directories in, `chromabridge.Document`s out.

`TextLoader` reads plain text and markdown directly; `FileLoader` partitions any other
format through `unstructured` (imported on first use, so this import stays cheap);
`ImageLoader` describes images (`DirectoryLoader(images=True)` routes image files there);
`DirectoryLoader` streams a tree through them with a per-file error report. Each offers
`.as_langchain()` and `.as_llamaindex()`.
"""

from __future__ import annotations

from .directory import DEFAULT_MAX_FILE_SIZE, DirectoryLoader
from .errors import (
    BinaryFileError,
    EmptyFileError,
    FileTooLargeError,
    LoaderError,
    NoTextError,
    OutsideRootError,
)
from .file import FileLoader
from .ids import document_id
from .image import BrokenImageError, ImageLoader
from .report import FileFailure, LoadReport
from .text import TextLoader

__all__ = [
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
    "DEFAULT_MAX_FILE_SIZE",
    "document_id",
]
