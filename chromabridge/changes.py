"""What a document's records must become: the pure half of incremental ingestion.

Chunk ids are deterministic (document id, position, text), so the records a document
should have are known before anything is written. Comparing them with the records the
collection holds gives three sets: records to write (missing or different), records to
delete (stale), and nothing else. No journal is needed: whatever a killed run left
behind is just another "stored" state, and the same comparison repairs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from chromabridge.types import Chunk, Document
from chromabridge.vectorstores.records import chunk_metadata, record_to_chunk

__all__ = ["DocumentChange", "Outcome", "diff_document", "in_scope", "protected", "stored_form"]

Outcome = Literal["added", "updated", "unchanged"]


@dataclass(slots=True)
class DocumentChange:
    """The writes and deletes that bring one document's records up to date."""

    document: Document
    chunks: list[Chunk]
    writes: list[Chunk] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    outcome: Outcome = "unchanged"


def stored_form(chunk: Chunk) -> Chunk:
    """`chunk` as it reads back from Chroma (normalised metadata, bookkeeping removed).

    Comparing this with what `ChromaStore.get` returns tells whether a stored record is
    exactly what a fresh write would produce, metadata included.
    """
    return record_to_chunk(chunk.id, chunk.text, chunk_metadata(chunk))


def diff_document(
    document: Document, chunks: Sequence[Chunk], stored: Iterable[Chunk]
) -> DocumentChange:
    """Compare the chunks `document` should have with the records stored for it."""
    have = {chunk.id: chunk for chunk in stored}
    change = DocumentChange(document, list(chunks))
    for chunk in chunks:
        old = have.get(chunk.id)
        if old is None or old != stored_form(chunk):
            change.writes.append(chunk)
    wanted = {chunk.id for chunk in chunks}
    change.stale = [record_id for record_id in have if record_id not in wanted]
    if change.writes or change.stale:
        change.outcome = "updated" if have else "added"
    return change


def in_scope(source: str | None, roots: Sequence[str] | None, files: Sequence[str]) -> bool:
    """Whether a stored document with `source` belongs to the loaders of this run.

    `roots` are directories (their whole subtree belongs), `files` single files; `roots`
    None means the run owns the whole collection. Paths are compared as given and as
    absolute paths, so `docs/a.md` and `/home/me/docs/a.md` match from the same cwd.
    """
    if roots is None:
        return True
    if source is None:
        return False
    candidates = {source, os.path.abspath(source)}
    for file in files:
        if file in candidates or os.path.abspath(file) in candidates:
            return True
    return any(_under(candidates, root) for root in roots)


def _under(candidates: set[str], root: str) -> bool:
    for base in (root, os.path.abspath(root)):
        prefix = base.rstrip(os.sep) + os.sep
        if any(c == base or c.startswith(prefix) for c in candidates):
            return True
    return False


def protected(source: str | None, failed: Iterable[str]) -> bool:
    """Whether `source` is (under) a path that failed to load in this run.

    A file that could not be read this time is not a vanished file: its records stay.
    """
    if source is None:
        return False
    candidates = {source, os.path.abspath(source)}
    return any(_under(candidates, path) for path in failed)
