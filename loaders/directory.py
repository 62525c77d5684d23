"""A whole directory tree, streamed file by file, optionally partitioned in processes.

Memory stays bounded by the files in flight (one, or `2 * workers`), not the corpus.
A file that cannot be loaded becomes a `FileFailure` in `report` and the walk goes on
(`on_error="skip"`), or stops with its `LoaderError` (`on_error="raise"`).

Safety: nothing outside `root` is ever read. Every candidate is resolved and checked
against the resolved root, so a symlink (or a link inside a linked directory) that
leads out is reported as `OutsideRootError`, never opened; symlinked directories are
not entered unless `follow_symlinks=True`, and then never twice (no cycles). Include
and exclude globs match relative paths only. Files over `max_file_size` are refused
before they are opened. A path swapped for a link between the check and the read is
outside this guarantee (no portable API closes that race for third-party parsers).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from chromabridge import telemetry
from chromabridge.errors import ConfigError
from chromabridge.types import Document

from .archives import DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_UNCOMPRESSED_SIZE, check_archive
from .base import Loader
from .errors import LoaderError, NotRegularFileError, OutsideRootError
from .file import FileLoader, Mode, Strategy
from .ids import document_id
from .image import IMAGE_SUFFIXES, ImageLoader
from .patterns import GlobSet
from .report import FileFailure, LoadReport
from .text import TEXT_SUFFIXES, TextLoader
from .workers import Budget, Outcome, WorkerPool, failed, load_one

__all__ = [
    "DirectoryLoader",
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_FILE_TIMEOUT",
    "DEFAULT_FILE_MEMORY",
]

#: 100 MiB: far above any document worth embedding, far below what exhausts memory.
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024
#: Seconds one file may take to parse; see docs/reliability.md for the measured basis.
DEFAULT_FILE_TIMEOUT = 300.0
#: Bytes one file may add to its worker while parsing; see docs/reliability.md.
DEFAULT_FILE_MEMORY = 4 * 1024 * 1024 * 1024


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class DirectoryLoader(Loader):
    """Every matching file under `root`, as `Document`s with ids relative to `root`.

    `include` / `exclude` are globs (``"*.pdf"``, ``"docs/**/*.md"``; a pattern without
    ``/`` matches file names at any depth); `exclude` also prunes directories. Hidden
    files and directories (a name starting with ``.``) are skipped unless
    `include_hidden`. `.txt` / `.md` files go through `TextLoader` (verbatim text, no
    unstructured) when `mode` is not ``"elements"`` and `text_fast_path` is on.

    Files are loaded in `workers` worker processes (with ``mp_context="spawn"``, the
    default, fresh interpreters that never re-run the caller's ``__main__``), even with
    ``workers=1``, so that each file can be held to `file_timeout` seconds and
    `file_memory` bytes: a file over either becomes a `FileTimeoutError` /
    `FileMemoryError` in the report and a fresh worker takes the rest. With both budgets
    None and ``workers=1`` files load in this process. Zip containers over
    `max_uncompressed_size` / `max_compression_ratio` are refused before parsing. Output
    order is the walk order either way, so runs are reproducible.

    `images=True` loads image files (`IMAGE_SUFFIXES`: png, jpeg, gif, webp...) through
    `ImageLoader` as image documents; otherwise they go to unstructured like any file.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        recursive: bool = True,
        follow_symlinks: bool = False,
        include_hidden: bool = False,
        max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
        workers: int | None = 1,
        on_error: Literal["skip", "raise"] = "skip",
        mode: Mode = "single",
        strategy: Strategy = "fast",
        text_fast_path: bool = True,
        metadata: Mapping[str, Any] | None = None,
        partition_kwargs: Mapping[str, Any] | None = None,
        mp_context: str | None = "spawn",
        images: bool = False,
        file_timeout: float | None = DEFAULT_FILE_TIMEOUT,
        file_memory: int | None = DEFAULT_FILE_MEMORY,
        max_uncompressed_size: int | None = DEFAULT_MAX_UNCOMPRESSED_SIZE,
        max_compression_ratio: float | None = DEFAULT_MAX_COMPRESSION_RATIO,
    ) -> None:
        if on_error not in ("skip", "raise"):
            raise ConfigError(f"on_error={on_error!r} must be 'skip' or 'raise'")
        workers = (os.cpu_count() or 1) if workers is None else workers
        if workers < 1:
            raise ConfigError(f"workers={workers} must be at least 1 (None: one per CPU)")
        for name, value in (
            ("max_file_size", max_file_size),
            ("file_timeout", file_timeout),
            ("file_memory", file_memory),
        ):
            if value is not None and not value > 0:
                raise ConfigError(f"{name}={value} must be positive or None")
        self.root = Path(root)
        # A bare string is one pattern, not a sequence of one-character patterns.
        self.include = GlobSet([include] if isinstance(include, str) else include or ())
        self.exclude = GlobSet([exclude] if isinstance(exclude, str) else exclude)
        self.recursive = recursive
        self.follow_symlinks = follow_symlinks
        self.include_hidden = include_hidden
        self.max_file_size = max_file_size
        self.workers = workers
        self.on_error = on_error
        self.text_fast_path = text_fast_path and mode != "elements"
        self.metadata = dict(metadata or {})
        self.mp_context = mp_context
        self.images = images
        self.budget = Budget(file_timeout, file_memory)
        # Validates mode, strategy and the archive limits now rather than at the first file.
        self._template = FileLoader(
            self.root,
            mode=mode,
            strategy=strategy,
            partition_kwargs=partition_kwargs,
            max_uncompressed_size=max_uncompressed_size,
            max_compression_ratio=max_compression_ratio,
        )
        self.report = LoadReport()

    def lazy_load(self) -> Iterator[Document]:
        self.report = LoadReport()
        root_real = os.path.realpath(self.root)
        if not os.path.isdir(root_real):
            raise LoaderError(f"{self.root} is not a directory; pass the folder to load")
        yield from self.load_units(self._walk(self.root, root_real, {root_real}))

    def units(self) -> Iterator[Outcome | FileLoader | TextLoader]:
        """The walk, lazily: one per-file loader (or a failure) per matching file. What a
        distributed run (`chromabridge.distributed`) sends to its workers in batches, to
        `load_units` there; the walk holds no document."""
        root_real = os.path.realpath(self.root)
        if not os.path.isdir(root_real):
            raise LoaderError(f"{self.root} is not a directory; pass the folder to load")
        return self._walk(self.root, root_real, {root_real})

    def load_units(self, items: Iterable[Outcome | FileLoader | TextLoader]) -> Iterator[Document]:
        """Load walked `items` as `lazy_load` does (budgets, workers, `report`), in order."""
        if self.workers == 1 and self.budget == Budget():  # no budget: no process needed
            outcomes: Iterator[Outcome] = (
                item if isinstance(item, Outcome) else load_one(item) for item in items
            )
            yield from (doc for outcome in outcomes for doc in self._settle(outcome))
            return
        pool = WorkerPool(self.workers, self.budget, self.mp_context)
        try:
            for outcome in pool.map(items):
                yield from self._settle(outcome)
        finally:
            pool.close()
            self.report.peak_rss = pool.peak_rss

    def _settle(self, outcome: Outcome) -> Iterator[Document]:
        failure = outcome.failure
        telemetry.file_span(
            outcome.source,
            outcome.seconds,
            None if failure is None else failure.error_type,
            len(outcome.documents),
        )
        if outcome.failure is not None:
            self.report.failures.append(outcome.failure)
            if self.on_error == "raise":
                raise outcome.error or LoaderError(outcome.failure.message)
            return
        self.report.files_loaded += 1
        self.report.documents += len(outcome.documents)
        yield from outcome.documents

    def _failure(self, path: str, error: LoaderError) -> Outcome:
        failure = FileFailure.of(path, error, document_id(path, self.root))
        return Outcome(path, [], failure, error)

    def _walk(
        self, directory: Path, root_real: str, seen: set[str]
    ) -> Iterator[Outcome | FileLoader | TextLoader]:
        """Loaders (or failures) for the files under `directory`, in sorted order."""
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            error = LoaderError(f"cannot list {directory}: {exc.strerror or exc}")
            error.__cause__ = exc
            yield self._failure(str(directory), error)
            return
        subdirs = []
        for entry in entries:
            if entry.name.startswith(".") and not self.include_hidden:
                continue
            rel = Path(entry.path).relative_to(self.root).as_posix()
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError as exc:  # a symlink loop (ELOOP), a name too long...
                if not self.exclude.matches(rel):
                    error = LoaderError(f"cannot follow {entry.path}: {exc.strerror or exc}")
                    error.__cause__ = exc
                    yield self._failure(entry.path, error)
                continue
            if is_dir:
                wanted = self.recursive and not self.exclude.matches(rel)
                if wanted and (self.follow_symlinks or not is_link):
                    subdirs.append(entry)
                continue
            if self.exclude.matches(rel) or (self.include and not self.include.matches(rel)):
                continue
            real = os.path.realpath(entry.path)
            if (is_file or is_link) and not _inside(real, root_real):
                what = "a symlink" if is_link else "a path"
                yield self._failure(
                    entry.path,
                    OutsideRootError(
                        f"{entry.path} is {what} to {real}, outside {self.root}; not read"
                    ),
                )
            elif is_file:
                yield self._checked(self._loader(Path(entry.path), real, rel))
            elif is_link:
                error = LoaderError(f"{entry.path} is a broken symlink or not a file; fix it")
                yield self._failure(entry.path, error)
            else:  # a FIFO, socket or device: never opened (a FIFO would block forever)
                special = NotRegularFileError(
                    f"{entry.path} is a named pipe, socket or device, not a file; not read"
                )
                yield self._failure(entry.path, special)
        for entry in subdirs:
            real = os.path.realpath(entry.path)
            if not _inside(real, root_real):
                yield self._failure(
                    entry.path,
                    OutsideRootError(
                        f"{entry.path} links to {real}, outside {self.root}; not entered"
                    ),
                )
            elif real not in seen:
                yield from self._walk(Path(entry.path), root_real, seen | {real})

    def _checked(self, loader: FileLoader | TextLoader) -> Outcome | FileLoader | TextLoader:
        """Refuse a zip bomb here, in milliseconds, before any worker starts on it."""
        if isinstance(loader, FileLoader):
            try:
                check_archive(
                    loader.path, loader.max_uncompressed_size, loader.max_compression_ratio
                )
            except LoaderError as exc:
                return failed(loader, exc)
        return loader

    def _loader(self, path: Path, real: str, rel: str) -> FileLoader | TextLoader:
        common: dict[str, Any] = {
            "id": rel,
            "metadata": self.metadata,
            "max_file_size": self.max_file_size,
            "source": str(path),
        }
        if self.images and path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageLoader(real, on_error="raise", **common)  # type: ignore[return-value]
        if self.text_fast_path and path.suffix.lower() in TEXT_SUFFIXES:
            return TextLoader(real, **common)
        t = self._template
        return FileLoader(
            real,
            mode=t.mode,
            strategy=t.strategy,
            partition_kwargs=t.partition_kwargs,
            max_uncompressed_size=t.max_uncompressed_size,
            max_compression_ratio=t.max_compression_ratio,
            **common,
        )
