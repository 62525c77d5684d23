"""`ChromaStore`'s writes: add (validated, batched, rolled back on failure), delete, clear."""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence, Sized
from typing import Any, TypeVar

import numpy as np

from chromabridge.errors import ConfigError, InputError, PartialWriteError, StoreError
from chromabridge.types import Chunk

from . import guard
from .base import (
    PAUSE,
    RECORD,
    SLICE,
    WRITE_SLICE,
    Plan,
    StoreBase,
    embed_step,
    strings,
    vector_error,
)
from .filters import to_chroma_filter
from .records import chunk_metadata

__all__ = ["StoreWrites"]

T = TypeVar("T")

#: From this many ids on, `add` first asks which exist: a batch of new ids is written with
#: Chroma's `add`, which costs about 9% less than `upsert` with our bookkeeping keys
#: (benchmarks/vectorstores.py); below it the extra read costs more than it saves.
_CHECK_BEFORE_ADD = 100
#: Source documents per Chroma `delete` of `delete(doc_id=[...])`: Chroma evaluates a
#: long `$in` list per record, so thousands of doc ids go in several calls.
_DOC_IDS_PER_DELETE = 100
#: Failed-write ids shown in an error message (all of them are on `PartialWriteError.ids`).
_SHOWN_IDS = 10


def _exact_ids(ids: list[str] | None, where: Any, doc_id: Any) -> list[str] | None:
    """The deleted ids when the call named them exactly, else None (filter-defined)."""
    return None if where is not None or doc_id is not None else ids


def _listed(chunks: Iterable[Chunk]) -> list[Chunk]:
    """`add`'s argument as a list (read here, in the caller's thread), or an `InputError`."""
    if isinstance(chunks, (str, bytes, Chunk)) or not isinstance(chunks, Iterable):
        raise InputError(f"add() takes a list of Chunks, got {type(chunks).__name__}")
    return list(chunks)


def _rows(vectors: Any) -> Plan[Any]:
    """Nested lists of floats as a float32 matrix, converted a slice of rows at a time,
    with a `PAUSE` step between slices: the async driver lets the event loop run there
    (5,000 rows of 384 floats take ~0.5 s in one go). Anything else is returned as is,
    for `_check_vectors` to convert or reject."""
    if isinstance(vectors, np.ndarray) or not isinstance(vectors, Sequence):
        return vectors
    parts = []
    try:
        for lo in range(0, len(vectors), 10 * WRITE_SLICE):
            parts.append(np.asarray(vectors[lo : lo + 10 * WRITE_SLICE], dtype=np.float32))
            yield PAUSE
        return np.concatenate(parts) if parts else vectors
    except (TypeError, ValueError):
        return vectors


def _partial(exc: StoreError, undo: StoreError, name: str, ids: list[str]) -> PartialWriteError:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN_IDS])
    more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
    return PartialWriteError(
        f"{exc}; rolling it back failed too ({undo}): collection {name!r} may be partially "
        f"written. These {len(ids)} records may hold this write's data or have lost their "
        f"earlier state: {shown}{more} (all on the error's .ids); write them again or "
        "delete them",
        ids,
    )


def _size(items: object) -> int | None:
    """A batch's size for its span, where known without consuming it."""
    return len(items) if isinstance(items, Sized) else None


class StoreWrites(StoreBase):
    """Writes of `ChromaStore` (see there for the user's view)."""

    def _texts_to_embed(self, chunks: Sequence[Chunk]) -> list[str]:
        if self.embedder is None:
            raise ConfigError(
                f"ChromaStore {self.name!r} has no embedder: pass embedder= when creating "
                "it, or embeddings= to add()"
            )
        for chunk in chunks:
            if not chunk.text.strip():
                raise InputError(
                    f"chunk {chunk.id!r} has empty text; there is nothing to embed "
                    "(pass embeddings= to store an embedding-only record)"
                )
        return [chunk.text for chunk in chunks]

    def _check_chunks(self, chunks: Iterable[Chunk]) -> list[Chunk]:
        items = _listed(chunks)
        seen: set[str] = set()
        duplicates: list[str] = []
        for position, chunk in enumerate(items):
            if not isinstance(chunk, Chunk):
                raise InputError(f"item {position} is a {type(chunk).__name__}, not a Chunk")
            if not isinstance(chunk.id, str) or not chunk.id:
                raise InputError(
                    f"item {position} has id {chunk.id!r}; ids must be non-empty strings"
                )
            if not isinstance(chunk.text, str):
                raise InputError(f"chunk {chunk.id!r} has text of type {type(chunk.text).__name__}")
            if chunk.id in seen:
                duplicates.append(chunk.id)
            seen.add(chunk.id)
        if duplicates:
            shown = ", ".join(repr(d) for d in duplicates[:5])
            raise InputError(
                f"duplicate ids in one add: {shown}"
                + (f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else "")
                + "; nothing was written"
            )
        return items

    def _check_vectors(
        self, vectors: Any, chunks: Sequence[Chunk], from_embedder: bool = False
    ) -> np.ndarray:
        try:
            matrix = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise vector_error(
                "embeddings are ragged or not numeric: every vector must have the same "
                "number of floats",
                from_embedder,
            ) from exc
        if matrix.ndim != 2 or matrix.shape[0] != len(chunks):
            raise vector_error(
                f"got {matrix.shape[0] if matrix.ndim else 0} embeddings for {len(chunks)} chunks",
                from_embedder,
            )
        dim = matrix.shape[1]
        expected = self._dimension
        if expected is not None and dim != expected:
            raise self._mismatch(dim, "embeddings have", from_embedder)
        if not np.isfinite(matrix).all():
            row = int(np.argwhere(~np.isfinite(matrix))[0][0])
            raise vector_error(
                f"embedding for chunk {chunks[row].id!r} has NaN or inf", from_embedder
            )
        return matrix

    def _add_plan(
        self, chunks: Sequence[Chunk], matrix: np.ndarray, from_embedder: bool
    ) -> Plan[list[str]]:
        """The write, in calls of the client's batch size, or of the driver's `SLICE`."""
        if self._dimension is None and chunks:
            peek = yield ("get", {"limit": 1, "include": ["embeddings"]})
            stored = peek.get("embeddings")
            if stored is not None and len(stored):
                self._dimension = len(stored[0])
            matrix = self._check_vectors(matrix, chunks, from_embedder)
            self._dimension = self._dimension or int(matrix.shape[1])
        update = guard.record(self._metadata, self.embedder, self._dimension)
        if update is not None:
            yield ("modify", {"metadata": update})
            self._metadata = update
        ids = [chunk.id for chunk in chunks]
        limit = self._batch_size or len(ids) or 1
        size = min((yield SLICE) or limit, limit)
        spans = [(lo, min(lo + size, len(ids))) for lo in range(0, len(ids), size)]
        snapshot: dict[str, Any] | None = None
        existing: Container[str] | None = None  # None: not asked, so upsert
        if len(spans) > 1:  # one upsert is atomic in Chroma; several need an undo record
            snapshot = existing = yield from self._snapshot_plan(ids, spans)
        elif len(ids) >= _CHECK_BEFORE_ADD:
            found = yield ("get", {"ids": ids, "include": []})
            existing = set(found["ids"])
        done = 0
        try:
            for lo, hi in spans:
                fresh = existing is not None and not any(i in existing for i in ids[lo:hi])
                yield (
                    "add" if fresh else "upsert",
                    {
                        "ids": ids[lo:hi],
                        "embeddings": matrix[lo:hi],
                        "documents": [chunk.text for chunk in chunks[lo:hi]],
                        "metadatas": [chunk_metadata(chunk) for chunk in chunks[lo:hi]],
                    },
                )
                done = hi
        except StoreError as exc:
            if snapshot is not None:
                touched = ids[: min(done + size, len(ids))]
                try:
                    yield from self._undo_plan(touched, snapshot, size)
                except StoreError as undo:
                    raise _partial(exc, undo, self.name, touched) from exc
                raise StoreError(
                    f"{exc} (the {done} records already written were rolled back)"
                ) from exc
            raise
        return ids

    def _snapshot_plan(self, ids: list[str], spans: list[tuple[int, int]]) -> Plan[dict[str, Any]]:
        """What the records about to be overwritten held, to undo a half-done write."""
        existing: dict[str, Any] = {}
        for lo, hi in spans:
            found = yield ("get", {"ids": ids[lo:hi], "include": [*RECORD, "embeddings"]})
            for i, record_id in enumerate(found["ids"]):
                existing[record_id] = (
                    found["embeddings"][i],
                    found["documents"][i],
                    found["metadatas"][i],
                )
        return existing

    def _undo_plan(self, touched: list[str], snapshot: dict[str, Any], size: int) -> Plan[None]:
        new = [i for i in touched if i not in snapshot]
        for lo in range(0, len(new), size):
            yield ("delete", {"ids": new[lo : lo + size]})
        old = [i for i in touched if i in snapshot]
        for lo in range(0, len(old), size):
            part = old[lo : lo + size]
            yield (
                "upsert",
                {
                    "ids": part,
                    "embeddings": [snapshot[i][0] for i in part],
                    "documents": [snapshot[i][1] for i in part],
                    "metadatas": [snapshot[i][2] or None for i in part],
                },
            )

    def _add_op(
        self, chunks: Iterable[Chunk], embeddings: Sequence[Sequence[float]] | None
    ) -> Plan[list[str]]:
        """One add as one plan, for the blocking and the async driver alike. The chunks
        are checked now, at the call; the plan then embeds them (a step run by the
        embedder), converts the vectors, writes (rolled back on failure) and tells the
        listeners."""
        items = self._check_chunks(chunks)
        from_embedder = embeddings is None
        texts = self._texts_to_embed(items) if items and from_embedder else []

        def plan() -> Plan[list[str]]:
            if not items:
                return []
            vectors = embeddings
            if from_embedder:
                vectors = yield embed_step(self.embedder, "embed_documents", texts)
            matrix = self._check_vectors((yield from _rows(vectors)), items, from_embedder)
            write = self._add_plan(items, matrix, from_embedder)
            return (yield from self._written(write, "upsert", [chunk.id for chunk in items]))

        return plan()

    def add(
        self, chunks: Iterable[Chunk], embeddings: Sequence[Sequence[float]] | None = None
    ) -> list[str]:
        """Upsert `chunks` (embedding them unless `embeddings` is given); return their ids.

        Any number of chunks works: writes are split at the client's max batch size. All
        input is validated before the first write, and a write that fails half-way is
        rolled back, so a rejected call leaves the collection as it was. Batches whose ids
        were all absent when the call began go through Chroma's cheaper `add`; should
        another writer create one of those ids meanwhile, its record is kept, as if it
        had written after this call.
        """
        return self._run(self._add_op(chunks, embeddings), op="add", size=_size(chunks))

    async def aadd(
        self, chunks: Iterable[Chunk], embeddings: Sequence[Sequence[float]] | None = None
    ) -> list[str]:
        """Async `add`.

        On an embedded store the write goes to Chroma in slices of `WRITE_SLICE` records,
        each a worker-thread call, so the event loop stays responsive (one call of 5,000
        records stalls it for seconds); the call is still all-or-nothing, like `add`. A
        cancelled `aadd` finishes its write (or its rollback) before it stops.
        """
        return await self._arun(self._add_op(chunks, embeddings), op="add", size=_size(chunks))

    # -- deletes ------------------------------------------------------------------------------

    def _delete_plan(
        self, ids: list[str] | None, where: Any, doc_id: str | Sequence[str] | None
    ) -> Plan[None]:
        if ids is None and where is None and doc_id is None:
            raise ConfigError("delete() needs ids=, where= or doc_id= (use clear() to empty)")
        flt = to_chroma_filter(where)
        groups: list[list[str] | None] = [None]
        if doc_id is not None:
            doc_ids = strings(doc_id, "doc_id")
            if not doc_ids or not all(doc_ids):
                raise ConfigError(f"doc_id must be a non-empty string or list, got {doc_id!r}")
            step = _DOC_IDS_PER_DELETE
            groups = [doc_ids[lo : lo + step] for lo in range(0, len(doc_ids), step)]
        size = (yield SLICE) or self._batch_size or len(ids or ()) or 1
        for group in groups:
            clauses: list[dict[str, Any]] = [flt.where] if flt.where is not None else []
            if group is not None:
                clauses.append({"doc_id": {"$in": group}})
            where_ = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
            if ids is not None:
                for lo in range(0, len(ids), size):
                    yield ("delete", {"ids": ids[lo : lo + size], "where": where_})
            else:
                yield ("delete", {"where": where_, "where_document": flt.where_document})

    def delete(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        doc_id: str | Sequence[str] | None = None,
    ) -> None:
        """Delete by ids, by filter, or every chunk of one or more source documents.

        Any number of ids or doc ids works: they go to Chroma in batches (not atomic
        across batches; a failure leaves the earlier batches deleted)."""
        self._run(self._delete_op(ids, where, doc_id), op="delete")

    async def adelete(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        doc_id: str | Sequence[str] | None = None,
    ) -> None:
        """Async `delete` (by ids: in slices on an embedded store, as `aadd` writes)."""
        await self._arun(self._delete_op(ids, where, doc_id), op="delete")

    def _delete_op(self, ids: Any, where: Any, doc_id: Any) -> Plan[None]:
        id_list = None if ids is None else strings(ids, "ids")  # read once: may be an iterator
        plan = self._delete_plan(id_list, where, doc_id)
        return self._written(plan, "delete", _exact_ids(id_list, where, doc_id))

    def _clear_plan(self) -> Plan[None]:
        size = (yield SLICE) or self._batch_size or 1000
        while True:
            page = yield ("get", {"limit": size, "include": []})
            if not page["ids"]:
                return
            yield ("delete", {"ids": page["ids"]})

    def clear(self) -> None:
        """Delete every record, keeping the collection and its settings."""
        self._run(self._written(self._clear_plan(), "clear", None), op="clear")

    async def aclear(self) -> None:
        """Async `clear`."""
        await self._arun(self._written(self._clear_plan(), "clear", None), op="clear")
