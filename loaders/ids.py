"""Stable document ids: the same file under the same root gets the same id on every run.

The id is the POSIX path relative to the loaded root, so moving the whole corpus to
another machine or directory keeps its ids, and re-ingesting replaces instead of
duplicating. Documents cut from one file (elements, pages) add a URI-style fragment.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["document_id", "part_id"]


def document_id(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> str:
    """The id of the file `path`: relative to `root` when given, else its file name.

    Paths are compared lexically (no symlink resolution), so the id names the file as the
    user sees it in the tree, not where a link points.
    """
    file = Path(os.path.abspath(path))
    if root is None:
        return file.name
    base = Path(os.path.abspath(root))
    try:
        return file.relative_to(base).as_posix()
    except ValueError:
        return file.as_posix()


def part_id(base: str, kind: str, number: int) -> str:
    """The id of one part of a file: ``"a/report.pdf#page=3"``, ``"notes.md#element=0"``."""
    return f"{base}#{kind}={number}"
