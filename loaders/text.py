"""Plain text and markdown without unstructured: the fast path for the commonest files.

Partitioning a `.txt` through unstructured costs a file-type sniff, element splitting and
language detection for text that is already plain. This loader reads the bytes, detects
the encoding, and never raises on undecodable bytes (they become U+FFFD); only data that
is clearly binary (NUL bytes, no plausible encoding) is refused, so garbage does not get
embedded.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from chromabridge.types import Document

from .base import Loader, check_file, check_unchanged, file_metadata, normalize
from .errors import BinaryFileError, LoaderError, NoTextError
from .ids import document_id
from .report import FileFailure, LoadReport

__all__ = ["TextLoader", "decode_text"]

#: Suffixes `DirectoryLoader` sends here by default.
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})

#: How much more "chaos" (charset-normalizer's mess ratio) cp1252 may show and still win.
_CP1252_MARGIN = 0.05

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode `data`, returning ``(text, encoding)``; raise `BinaryFileError` for binary.

    Order: an explicit `encoding` (bad bytes replaced), a byte-order mark, strict UTF-8,
    then charset-normalizer's best guess. UTF-8 goes first because it is by far the
    commonest and a detector can mistake short UTF-8 for a legacy code page.
    """
    if encoding is not None:
        return data.decode(encoding, errors="replace"), encoding
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    if b"\x00" in data:
        raise BinaryFileError("NUL bytes: this is binary data, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # only a transitive dependency (via requests): degrade, never crash
        return data.decode("cp1252", errors="replace"), "cp1252"
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise BinaryFileError("no text encoding fits these bytes: this is binary data")
    # On short samples several code pages decode almost equally well and the detector's
    # pick is near random (cp775 for French); Windows-1252 is by far the likeliest of
    # them in practice, so it wins whenever it is nearly as clean as the best guess.
    close = {m.encoding for m in matches if m.chaos <= best.chaos + _CP1252_MARGIN}
    encoding = "cp1252" if "cp1252" in close else best.encoding
    return data.decode(encoding, errors="replace"), encoding


class TextLoader(Loader):
    """One `Document` per text or markdown file, the text kept verbatim.

    Markdown stays markdown (headings, lists, code fences intact), which is what a
    markdown-aware chunker wants; use `FileLoader(mode="elements")` for element splits.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        encoding: str | None = None,
        root: str | os.PathLike[str] | None = None,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_file_size: int | None = None,
        source: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.encoding = encoding
        self.root = root
        self.id = id if id is not None else document_id(self.path, root)
        self.metadata = dict(metadata or {})
        self.max_file_size = max_file_size
        self.source = source if source is not None else str(self.path)
        self.report = LoadReport()

    def lazy_load(self) -> Iterator[Document]:
        self.report = LoadReport()
        try:
            document = self._read()
        except LoaderError as exc:
            self.report.failures.append(FileFailure.of(self.source, exc, self.id))
            raise
        self.report.files_loaded = self.report.documents = 1
        yield document

    def _read(self) -> Document:
        info = check_file(self.path, self.max_file_size)
        try:  # never more than the size checked: a file still being appended stays bounded
            with self.path.open("rb") as file:
                data = file.read(info.st_size + 1)
        except OSError as exc:
            raise LoaderError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        check_unchanged(self.path, info, read=len(data))
        try:
            text, encoding = decode_text(data, self.encoding)
        except BinaryFileError as exc:
            raise BinaryFileError(f"{self.path}: {exc}; exclude it or rename it") from exc
        except LookupError as exc:
            raise LoaderError(f"{self.path}: unknown encoding {self.encoding!r}") from exc
        if not text.strip():
            raise NoTextError(f"{self.path} holds only whitespace; nothing to index")
        meta = file_metadata(self.path, info)
        meta["encoding"] = encoding
        meta.update(self.metadata)
        return Document(id=self.id, text=text, metadata=normalize(meta), source=self.source)
