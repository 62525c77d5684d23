"""A progress display that only exists on a terminal.

Ingestion of a real corpus takes minutes, and a live count is how a user tells a slow run
from a stuck one. Piped output, CI logs and tests get nothing: a bar redrawn into a file
is noise.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

__all__ = ["Progress", "want_progress"]


def want_progress(requested: bool | None) -> bool:
    """`requested`, or (None) whether stderr is a terminal."""
    if requested is not None:
        return requested
    return sys.stderr.isatty()


class Progress:
    """Documents and chunks processed so far; a no-op unless `enabled`.

    The total is unknown up front (loaders stream), so it shows counts and a spinner.
    """

    def __init__(self, enabled: bool, description: str = "ingesting") -> None:
        self.enabled = enabled
        self._description = description
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                Progress as RichProgress,
            )
            from rich.progress import (
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.completed} documents"),
                TextColumn("{task.fields[chunks]} chunks written"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self._description, total=None, chunks=0)
        return self

    def advance(self, documents: int, chunks_written: int) -> None:
        """Show the running totals (absolute numbers, not increments)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=documents, chunks=chunks_written)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
            self._bar = None
