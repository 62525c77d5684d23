"""Decompression-bomb checks for zip containers, before any parser opens them.

docx, xlsx, pptx, odt, epub (and any other zip unstructured accepts) are zip archives: a
1 MB upload can declare a 400 MB `word/document.xml` and cost minutes and gigabytes to
parse. The central directory states every member's uncompressed size, and Python's
`zipfile` (which python-docx, python-pptx and openpyxl read through) never inflates a
member past its declared size, so reading the directory alone (milliseconds) bounds what
those parsers can unpack. Parsers with their own zip code (pandoc for odt and epub) may
not honour a forged size: the per-file memory and time budgets of `DirectoryLoader`'s
workers are the backstop there.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .errors import ArchiveLimitError

__all__ = [
    "DEFAULT_MAX_UNCOMPRESSED_SIZE",
    "DEFAULT_MAX_COMPRESSION_RATIO",
    "check_archive",
]

#: 256 MiB of declared content. Media members of office files are stored nearly
#: uncompressed (bounded by `max_file_size` on disk already); XML past this size costs
#: unstructured gigabytes of memory (measured: 400 MB of document.xml, 5.3 GB resident).
DEFAULT_MAX_UNCOMPRESSED_SIZE = 256 * 1024 * 1024
#: Office XML compresses 5-20x, text-heavy members rarely past 50x; bombs go past 1000x.
DEFAULT_MAX_COMPRESSION_RATIO = 100.0
#: Members smaller than this are never a bomb, whatever their ratio (a run of spaces).
_RATIO_FLOOR = 1024 * 1024


def check_archive(
    path: Path, max_uncompressed_size: int | None, max_compression_ratio: float | None
) -> None:
    """Raise `ArchiveLimitError` if `path` is a zip over either limit; other files pass.

    The ratio is checked per member (of at least 1 MiB declared), so a container of many
    small, highly compressible members is not refused for a tiny total.
    """
    if (max_uncompressed_size is None and max_compression_ratio is None) or not _is_zip(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except Exception:  # any zip-reader error on garbage: the parser reports it, in its words
        return
    total = sum(m.file_size for m in members)
    if max_uncompressed_size is not None and total > max_uncompressed_size:
        raise ArchiveLimitError(
            f"{path} declares {total} bytes uncompressed ({total / 2**20:.0f} MiB), over "
            f"max_uncompressed_size={max_uncompressed_size}: a decompression bomb or an "
            "unusually large document; not opened (raise the limit if you trust it)",
            limit="max_uncompressed_size",
            measured=total,
        )
    if max_compression_ratio is None:
        return
    for member in members:
        if member.file_size < _RATIO_FLOOR:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > max_compression_ratio:
            raise ArchiveLimitError(
                f"{path}: member {member.filename!r} inflates {ratio:.0f}x "
                f"({member.compress_size} -> {member.file_size} bytes), over "
                f"max_compression_ratio={max_compression_ratio:g}: a decompression bomb; "
                "not opened (raise the limit if you trust the file)",
                limit="max_compression_ratio",
                measured=ratio,
            )


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except Exception:  # unreadable or garbage: not a zip to check
        return False
