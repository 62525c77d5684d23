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
