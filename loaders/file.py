"""Any file unstructured can partition, as chromabridge `Document`s.

Partitioning runs through `unstructured.partition.auto.partition`, imported on first use
so `import chromabridge.loaders` stays cheap. Every failure inside unstructured (or its
PDF, Office and HTML libraries) is wrapped in a `LoaderError` that names the file and
what to do, with the original exception on `__cause__`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from chromabridge.errors import ConfigError
from chromabridge.types import Document

from .archives import DEFAULT_MAX_COMPRESSION_RATIO, DEFAULT_MAX_UNCOMPRESSED_SIZE, check_archive
from .base import Loader, check_file, check_unchanged, file_metadata, normalize
from .errors import LoaderError, NoTextError
from .ids import document_id, part_id
from .report import FileFailure, LoadReport

__all__ = ["FileLoader", "Mode", "Strategy"]

Mode = Literal["single", "elements", "paged"]
Strategy = Literal["fast", "hi_res", "auto", "ocr_only"]
_MODES = ("single", "elements", "paged")
_STRATEGIES = ("fast", "hi_res", "auto", "ocr_only")

#: Element keys that describe one element, not the file; left out of whole-file metadata.
_PER_ELEMENT = frozenset(
    {"coordinates", "parent_id", "category_depth", "detection_class_prob", "page_number"}
)


def _partition(path: Path, strategy: str, kwargs: Mapping[str, Any]) -> list[Any]:
    try:
        from unstructured.partition.auto import partition
    except ImportError as exc:
        raise LoaderError(
            f"cannot load {path}: unstructured is not installed; "
            "pip install 'chromabridge[unstructured]'"
        ) from exc
    try:
        return list(partition(filename=str(path), strategy=strategy, **kwargs))
    except Exception as exc:
        raise LoaderError(_advice(path, strategy, exc)) from exc


def _advice(path: Path, strategy: str, exc: Exception) -> str:
    """A message that says what failed and what the user can do about it."""
    what = f"unstructured could not partition {path} ({type(exc).__name__}: {exc})"
    name = type(exc).__name__
    if name == "UnsupportedFileFormatError":
        return f"{what}; this file type is not supported: exclude it"
    if isinstance(exc, ImportError):
        return f"{what}; install the unstructured extra (or system tool) for this file type"
    if strategy in ("hi_res", "auto") and "huggingface" in type(exc).__module__:
        return (
            f"{what}; strategy={strategy!r} needs layout models from the Hugging Face hub, "
            "which cannot be reached: use strategy='fast' or pre-fetch the models"
        )
    return f"{what}; the file may be corrupt or mislabelled: check it opens, or exclude it"


def _texts(elements: Sequence[Any]) -> list[tuple[str, Any]]:
    return [(text, el) for el in elements if (text := (el.text or "").strip())]


def _element_metadata(element: Any) -> dict[str, Any]:
    meta: dict[str, Any] = dict(element.metadata.to_dict())
    meta["category"] = element.category
    meta["element_id"] = element.id
    return meta


def _file_metadata(elements: Sequence[Any]) -> dict[str, Any]:
    """Whole-file metadata: keys every element agrees on, all languages, the page count."""
    metas = [el.metadata.to_dict() for el in elements]
    common: dict[str, Any] = {}
    for key, value in metas[0].items():
        if (
            key not in _PER_ELEMENT
            and key != "languages"
            and all(m.get(key) == value for m in metas[1:])
        ):
            common[key] = value
    languages = list(dict.fromkeys(lang for m in metas for lang in m.get("languages") or ()))
    if languages:
        common["languages"] = languages
    pages = [m["page_number"] for m in metas if isinstance(m.get("page_number"), int)]
    if pages:
        common["page_count"] = max(pages)
    return common


class FileLoader(Loader):
    """One file through unstructured, as one document, one per element, or one per page.

    `mode="single"` joins element texts with blank lines; `"elements"` keeps each
    element (title, table, list item...) with its own metadata; `"paged"` groups
    elements by `page_number` (files without pages give one document). PDFs default to
    `strategy="fast"` (text layer, no models); `"hi_res"` needs layout models from the
    Hugging Face hub and cannot run offline.

    Zip containers (docx, xlsx, pptx, odt, epub...) declaring more than
    `max_uncompressed_size` bytes, or a member inflating more than
    `max_compression_ratio` times, are refused before parsing (`ArchiveLimitError`);
    `None` turns a check off.

    `file_timeout` (seconds) / `file_memory` (bytes): when either is set the file is
    parsed in a worker process held to them, as `DirectoryLoader` does for each file,
    and a file over one raises `FileTimeoutError` / `FileMemoryError` (reported too);
    None for both (the default) parses in this process.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "single",
        strategy: Strategy = "fast",
        root: str | os.PathLike[str] | None = None,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_file_size: int | None = None,
        source: str | None = None,
        partition_kwargs: Mapping[str, Any] | None = None,
        max_uncompressed_size: int | None = DEFAULT_MAX_UNCOMPRESSED_SIZE,
        max_compression_ratio: float | None = DEFAULT_MAX_COMPRESSION_RATIO,
        file_timeout: float | None = None,
        file_memory: int | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ConfigError(f"mode={mode!r} is not one of {_MODES}")
        if strategy not in _STRATEGIES:
            raise ConfigError(f"strategy={strategy!r} is not one of {_STRATEGIES}")
        for name, value in (
            ("max_uncompressed_size", max_uncompressed_size),
            ("max_compression_ratio", max_compression_ratio),
            ("file_timeout", file_timeout),
            ("file_memory", file_memory),
        ):
            if value is not None and not value > 0:
                raise ConfigError(f"{name}={value} must be positive or None")
        self.file_timeout = file_timeout
        self.file_memory = file_memory
        self.max_uncompressed_size = max_uncompressed_size
        self.max_compression_ratio = max_compression_ratio
        self.path = Path(path)
        self.mode = mode
        self.strategy = strategy
        self.id = id if id is not None else document_id(self.path, root)
        self.metadata = dict(metadata or {})
        self.max_file_size = max_file_size
        self.source = source if source is not None else str(self.path)
        self.partition_kwargs = dict(partition_kwargs or {})
        self.report = LoadReport()

    def lazy_load(self) -> Iterator[Document]:
        self.report = LoadReport()
        try:
            documents = self._in_worker() if self._budgeted() else self._documents()
        except LoaderError as exc:
            self.report.failures.append(FileFailure.of(self.source, exc, self.id))
            raise
        self.report.files_loaded = 1
        self.report.documents = len(documents)
        yield from documents

    def _budgeted(self) -> bool:
        return self.file_timeout is not None or self.file_memory is not None

    def _in_worker(self) -> list[Document]:
        """Parse in a (warm) worker process held to this loader's budgets."""
        from .workers import Budget, WorkerPool

        inner = copy.copy(self)  # parses where it lands: no worker of its own
        inner.file_timeout = inner.file_memory = None
        pool = WorkerPool(1, Budget(self.file_timeout, self.file_memory))
        try:
            outcome = next(pool.map([inner]))
        finally:
            pool.close()
        if outcome.failure is not None:
            raise outcome.error or LoaderError(outcome.failure.message)
        return outcome.documents

    def _documents(self) -> list[Document]:
        info = check_file(self.path, self.max_file_size)
        check_archive(self.path, self.max_uncompressed_size, self.max_compression_ratio)
        stat = file_metadata(self.path, info)
        elements = _texts(_partition(self.path, self.strategy, self.partition_kwargs))
        check_unchanged(self.path, info)
        if not elements:
            hint = " (a scanned PDF needs OCR: strategy='ocr_only' with tesseract)"
            raise NoTextError(
                f"{self.path}: no text found{hint if self.path.suffix.lower() == '.pdf' else ''}"
                "; if the file should have text it may be corrupt"
            )
        if self.mode == "elements":
            return [
                self._document(part_id(self.id, "element", i), text, _element_metadata(el), stat)
                for i, (text, el) in enumerate(elements)
            ]
        if self.mode == "paged":
            return self._pages(elements, stat)
        meta = _file_metadata([el for _, el in elements])
        return [self._document(self.id, "\n\n".join(t for t, _ in elements), meta, stat)]

    def _pages(self, elements: list[tuple[str, Any]], stat: dict[str, Any]) -> list[Document]:
        pages: dict[int, list[tuple[str, Any]]] = {}
        current = 1
        for text, el in elements:
            number = el.metadata.page_number
            current = number if isinstance(number, int) else current
            pages.setdefault(current, []).append((text, el))
        if all(el.metadata.page_number is None for _, el in elements):
            meta = _file_metadata([el for _, el in elements])
            return [self._document(self.id, "\n\n".join(t for t, _ in elements), meta, stat)]
        out = []
        for number, group in pages.items():
            meta = _file_metadata([el for _, el in group])
            meta.pop("page_count", None)
            meta["page_number"] = number
            text = "\n\n".join(t for t, _ in group)
            out.append(self._document(part_id(self.id, "page", number), text, meta, stat))
        return out

    def _document(
        self, doc_id: str, text: str, meta: dict[str, Any], stat: dict[str, Any]
    ) -> Document:
        # unstructured's own keys win; the stat fills what some partitioners omit.
        meta = {**stat, **meta, **self.metadata}
        return Document(id=doc_id, text=text, metadata=normalize(meta), source=self.source)
