"""Images as documents: one `Document` per image file, described, not transcribed.

An image document's text is its source path (what the store keeps as the record's text
and what the embedder reads the pixels from) and its metadata marks it as an image
(``modality: "image"``) with its MIME type, width, height and the sha256 of its bytes
(`content_hash`: a re-run skips unchanged images, a changed file is re-embedded). The
pipeline stores each image whole, as one record, with the embedder's image tower.

The image is decoded fully while loading, so a truncated or corrupt file becomes a
report entry (`BrokenImageError`) instead of failing the embedder later.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from chromabridge.errors import ConfigError
from chromabridge.images import IMAGE_SUFFIXES, image_metadata, read_image
from chromabridge.types import Document

from .base import Loader, check_file, file_metadata, normalize
from .errors import LoaderError
from .ids import document_id
from .report import FileFailure, LoadReport

__all__ = ["IMAGE_SUFFIXES", "BrokenImageError", "ImageLoader"]


class BrokenImageError(LoaderError):
    """The file is not an image Pillow can decode (truncated, corrupt, another format)."""


class ImageLoader(Loader):
    """One image `Document` per file in `paths` (one path or several).

    Ids are paths relative to `root` (the file name without one), as for every loader.
    A file that cannot be read or decoded is listed in `report` and skipped
    (`on_error="skip"`, the default) or raised (`on_error="raise"`).
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        root: str | os.PathLike[str] | None = None,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_file_size: int | None = None,
        source: str | None = None,
        on_error: Literal["skip", "raise"] = "skip",
    ) -> None:
        if on_error not in ("skip", "raise"):
            raise ConfigError(f"on_error={on_error!r} must be 'skip' or 'raise'")
        many = not isinstance(paths, (str, os.PathLike))
        self.paths = [Path(p) for p in paths] if many else [Path(paths)]  # type: ignore[union-attr,arg-type]
        if (id is not None or source is not None) and len(self.paths) != 1:
            raise ConfigError("id= and source= name one image; pass a single path with them")
        self.root = root
        self.metadata = dict(metadata or {})
        self.max_file_size = max_file_size
        self.on_error = on_error
        self._id = id
        self._source = source
        self.report = LoadReport()

    @property
    def sources(self) -> list[str]:
        """The source of each image, as its documents will carry it."""
        return [self._source or str(p) for p in self.paths]

    @property
    def source(self) -> str:
        """The one image's source (for the single-file loaders `DirectoryLoader` makes)."""
        return self.sources[0]

    @property
    def id(self) -> str:
        return self._id if self._id is not None else document_id(self.paths[0], self.root)

    def lazy_load(self) -> Iterator[Document]:
        self.report = LoadReport()
        for path, source in zip(self.paths, self.sources, strict=True):
            doc_id = self._id if self._id is not None else document_id(path, self.root)
            try:
                document = self._read(path, source, doc_id)
            except LoaderError as exc:
                self.report.failures.append(FileFailure.of(source, exc, doc_id))
                if self.on_error == "raise":
                    raise
                continue
            self.report.files_loaded += 1
            self.report.documents += 1
            yield document

    def _read(self, path: Path, source: str, doc_id: str) -> Document:
        info = check_file(path, self.max_file_size)
        try:
            image = read_image(path)
        except LoaderError as exc:
            raise BrokenImageError(f"{exc}; fix or exclude the file") from exc.__cause__
        meta = file_metadata(path, info)
        meta.update(image_metadata(image))
        meta.update(self.metadata)
        return Document(id=doc_id, text=source, metadata=normalize(meta), source=source)
