"""Changing a collection's embedding model without downtime: reembed, swap, rollback.

`reembed(embedder)` builds a shadow collection from the texts and metadata already
stored (no source file is read or chunked again), embedding through a persistent
`CachedEmbedder`, so texts the new model has seen are not paid for twice. Readers keep
using the original collection meanwhile: it is only read.

The run is incremental and resumable: records are copied a page at a time; a record
already in the shadow with the same text and metadata is skipped, a changed one is
re-embedded (an unchanged text comes from the cache), and shadow records whose source
vanished are deleted at the end. A run killed at any point and started again (same
embedder, same shadow name) finishes the job; running it again after writes to the
original catches the shadow up, which is what to do just before `swap`.

`swap(shadow)` renames the original to a timestamped backup and the shadow to the
original name (`collection.modify(name=...)`, two renames: a reader opening the name
between them gets "not found" for those milliseconds; open store objects keep the
collection they hold). `rollback()` restores the backup under the name and keeps the
swapped-out collection under another timestamped name: nothing is ever deleted here.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from chromabridge.embedders import Embedder, as_embedder
from chromabridge.errors import ChromaBridgeError, ConfigError, InputError
from chromabridge.types import DIMENSION_KEY, EMBEDDER_KEY

from . import guard
from .base import Plan, StoreBase, configuration, embed_now

if TYPE_CHECKING:
    import numpy as np

    from .store import ChromaStore

__all__ = ["BACKUP_OF", "PREVIOUS", "REEMBED_OF", "ReembedReport", "StoreLifecycle"]

#: Collection metadata: the collection a shadow is built from.
REEMBED_OF = "chromabridge:reembed_of"
#: Collection metadata on the live collection after a swap: the backup's name.
PREVIOUS = "chromabridge:previous"
#: Collection metadata on a backup: the name it answered under.
BACKUP_OF = "chromabridge:backup_of"
_OWN_KEYS = {EMBEDDER_KEY, DIMENSION_KEY, REEMBED_OF, PREVIOUS, BACKUP_OF}
_HNSW_COPIED = ("ef_construction", "ef_search", "max_neighbors", "resize_factor", "sync_threshold")
DEFAULT_BATCH = 500


@dataclass
class ReembedReport:
    """What one `reembed` run did (`shadow.last_reembed`)."""

    source: str
    shadow: str
    embedder: str
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    cache_hits: int = 0
    seconds: float = 0.0
    skipped_ids: list[str] = field(default_factory=list)


def shadow_name(name: str, embedder_name: str) -> str:
    """The default shadow name: stable per (collection, embedder), so a rerun resumes."""
    digest = hashlib.sha256(embedder_name.encode()).hexdigest()[:10]
    return f"{name}--reembed-{digest}"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


def _user_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        k: v
        for k, v in (metadata or {}).items()
        if k not in _OWN_KEYS and not k.startswith("hnsw:")
    }


class StoreLifecycle(StoreBase):
    """`reembed`, `swap`, `rollback` (see the module doc)."""

    last_reembed: ReembedReport | None = None
    _previous_embedder: Embedder | None = None

    if TYPE_CHECKING:  # from StoreWrites and StoreReads, which ChromaStore also inherits

        def count(self) -> int: ...

        def _check_vectors(
            self, vectors: Any, chunks: Sequence[Any], from_embedder: bool = False
        ) -> np.ndarray: ...

    # -- reembed ------------------------------------------------------------------------------

    def _shadow_store(self, name: str, embedder: Embedder) -> ChromaStore:
        from .store import ChromaStore

        collection = self._require_sync()
        hnsw = dict(configuration(collection).get("hnsw") or {})
        metadata = {**_user_metadata(collection.metadata), REEMBED_OF: self.name}
        shadow = ChromaStore(
            name,
            embedder=embedder,
            client=self._conn.sync,
            distance=self._space,
            hnsw={k: hnsw[k] for k in _HNSW_COPIED if hnsw.get(k) is not None},
            metadata=metadata,
        )
        made_from = shadow._metadata.get(REEMBED_OF)
        if made_from != self.name:
            raise InputError(
                f"collection {name!r} exists and is not a re-embedding of {self.name!r}; "
                "choose another name="
            )
        return shadow

    def reembed(
        self,
        embedder: object,
        *,
        name: str | None = None,
        batch_size: int = DEFAULT_BATCH,
        cache: Any = None,
    ) -> ChromaStore:
        """A shadow collection holding this one's records embedded by `embedder`.

        `name`: the shadow's name (default `<name>--reembed-<hash of the embedder name>`,
        so calling again with the same embedder resumes). `cache`: the embedding cache
        (as `Pipeline`'s: None puts one in a persistent store's directory, a path puts
        it there, False turns it off). Records without text cannot be re-embedded: they
        are not copied and are listed in `shadow.last_reembed.skipped_ids`.
        Cost: one read of every record, and embedding only what the shadow lacks.
        """
        from chromabridge.pipeline import Pipeline  # the pipeline's cache placement

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive int, got {batch_size!r}")
        model = Pipeline._with_cache(as_embedder(embedder), cast("ChromaStore", self), cache)
        target = name or shadow_name(self.name, model.name)
        if target == self.name:
            raise InputError("the shadow needs a name other than the collection's own")
        started = time.perf_counter()
        hits_before = getattr(model, "hits", 0)
        shadow = self._shadow_store(target, model)
        resuming = shadow.count() > 0
        report = ReembedReport(self.name, target, model.name)
        size = min(batch_size, self._batch_size or batch_size, shadow._batch_size or batch_size)
        seen: set[str] = set()
        offset = 0
        while True:
            page = self._run(_page_plan(size, offset, ["documents", "metadatas"]))
            offset += len(page["ids"])
            seen.update(page["ids"])
            shadow._copy_page(page, report, resuming)
            if len(page["ids"]) < size:
                break
        shadow._prune(seen, size, report)
        report.cache_hits = getattr(model, "hits", 0) - hits_before
        report.seconds = time.perf_counter() - started
        shadow.last_reembed = report
        return shadow

    def _copy_page(self, page: Mapping[str, Any], report: ReembedReport, check: bool) -> None:
        """Embed and write the records of `page` this (shadow) store lacks or holds stale
        (`check` False: it was empty when the run began, so nothing to compare with)."""
        ids, docs, metas = page["ids"], page["documents"], page["metadatas"]
        if not ids:
            return
        held = self._run(_held_plan(ids)) if check else {}
        todo = []
        for i, record_id in enumerate(ids):
            if not isinstance(docs[i], str) or not docs[i].strip():
                report.skipped_ids.append(record_id)
            elif held.get(record_id) == (docs[i], metas[i] or None):
                report.unchanged += 1
            else:
                todo.append(i)
        if not todo:
            return
        texts = [docs[i] for i in todo]
        vectors = embed_now(self.embedder, "embed_documents", texts)
        matrix = self._check_vectors(vectors, [_Named(ids[i]) for i in todo], True)
        if self._dimension is None:
            self._dimension = int(matrix.shape[1])
        update = guard.record(self._metadata, self.embedder, self._dimension)
        metadatas = [metas[i] or None for i in todo]
        self._run(_write_plan([ids[i] for i in todo], matrix, texts, metadatas, held, update))
        if update is not None:
            self._metadata = update
        report.embedded += len(todo)

    def _prune(self, keep: set[str], size: int, report: ReembedReport) -> None:
        """Delete shadow records whose source record is gone."""
        gone: list[str] = []
        offset = 0
        while True:
            page = self._run(_page_plan(size, offset, []))
            gone.extend(i for i in page["ids"] if i not in keep)
            offset += len(page["ids"])
            if len(page["ids"]) < size:
                break
        for lo in range(0, len(gone), size):
            self._run(_delete_plan(gone[lo : lo + size]))
        report.removed = len(gone)

    # -- swap / rollback ----------------------------------------------------------------------

    def swap(self, shadow: ChromaStore, *, force: bool = False) -> str:
        """Make `shadow` answer under this collection's name; return the backup's name.

        This store object follows: afterwards it reads and writes the new collection with
        the shadow's embedder. A shadow holding another number of records than the
        original (writes since it was built, records without text) is refused unless
        `force=True`: run `reembed` once more to catch up.
        """
        if shadow is self or shadow.name == self.name:
            raise InputError("swap() takes the shadow store returned by reembed()")
        if shadow._metadata.get(REEMBED_OF) != self.name:
            raise InputError(f"collection {shadow.name!r} is not a re-embedding of {self.name!r}")
        held, wanted = shadow.count(), self.count()
        if held != wanted and not force:
            raise InputError(
                f"shadow {shadow.name!r} holds {held} records, {self.name!r} {wanted}: run "
                "reembed() again to catch up (or swap(..., force=True))"
            )
        old = self._require_sync()
        new = shadow._require_sync()
        backup = f"{self.name}--backup-{_stamp()}"
        old_meta = dict(old.metadata or {})
        self._rename(old, backup, {**old_meta, BACKUP_OF: self.name})
        try:
            meta = {k: v for k, v in (new.metadata or {}).items() if k != REEMBED_OF}
            self._rename(new, self.name, {**meta, PREVIOUS: backup})
        except ChromaBridgeError:
            self._rename(old, self.name, old_meta)
            raise
        self._previous_embedder = self.embedder
        shadow.name = self.name
        self._follow(new, shadow.embedder)
        return backup

    def rollback(self, embedder: object | None = None) -> str:
        """Put the backup of the last `swap` back under this name; return the name the
        swapped-out collection is kept under. `embedder`: the backup's embedder (default:
        the one this object had before `swap`, when it made the swap)."""
        live = self._require_sync()
        backup_name = (live.metadata or {}).get(PREVIOUS)
        if not isinstance(backup_name, str):
            raise InputError(f"collection {self.name!r} has no backup to roll back to")
        client = self._conn.sync
        assert client is not None
        backup = self._drive(_open_plan(backup_name), client)
        model = as_embedder(embedder) if embedder is not None else self._previous_embedder
        if model is not None:
            guard.check(backup_name, backup.metadata, model)
        undone = f"{self.name}--undone-{_stamp()}"
        live_meta = {k: v for k, v in (live.metadata or {}).items() if k != PREVIOUS}
        self._rename(live, undone, {**live_meta, BACKUP_OF: self.name})
        meta = {k: v for k, v in (backup.metadata or {}).items() if k != BACKUP_OF}
        self._rename(backup, self.name, meta)
        self._previous_embedder = None
        self._follow(backup, model)
        return undone

    def _rename(self, collection: Any, name: str, metadata: dict[str, Any]) -> None:
        self._drive(_rename_plan(name, metadata or None), collection)

    def _follow(self, collection: Any, embedder: Embedder | None) -> None:
        """Point this store at `collection` (now under our name), with `embedder`."""
        self.embedder = embedder
        self._distance = None
        self._dimension = None
        self._adopt(collection)
        self._collection = collection
        self._async.clear()


class _Named:
    """What `_check_vectors` reads of a chunk (its id, for messages)."""

    def __init__(self, record_id: str) -> None:
        self.id = record_id


def _page_plan(size: int, offset: int, include: list[str]) -> Plan[dict[str, Any]]:
    page = yield ("get", {"limit": size, "offset": offset, "include": include})
    return dict(page)


def _held_plan(ids: list[str]) -> Plan[dict[str, tuple[Any, Any]]]:
    found = yield ("get", {"ids": ids, "include": ["documents", "metadatas"]})
    return {
        i: (d, m or None)
        for i, d, m in zip(found["ids"], found["documents"], found["metadatas"], strict=True)
    }


def _write_plan(
    ids: list[str],
    matrix: Any,
    texts: list[str],
    metas: list[Any],
    held: Container[str],
    update: Any,
) -> Plan[None]:
    """Records the shadow lacks go through Chroma's cheaper `add`, stale ones `upsert`."""
    if update is not None:
        yield ("modify", {"metadata": update})
    for method, wanted in (("add", False), ("upsert", True)):
        rows = [n for n, record_id in enumerate(ids) if (record_id in held) is wanted]
        if rows:
            yield (
                method,
                {
                    "ids": [ids[n] for n in rows],
                    "embeddings": matrix[rows],
                    "documents": [texts[n] for n in rows],
                    "metadatas": [metas[n] for n in rows],
                },
            )


def _delete_plan(ids: list[str]) -> Plan[None]:
    yield ("delete", {"ids": ids})


def _rename_plan(name: str, metadata: dict[str, Any] | None) -> Plan[None]:
    yield ("modify", {"name": name, "metadata": metadata})


def _open_plan(name: str) -> Plan[Any]:
    try:
        collection = yield ("get_collection", {"name": name, "embedding_function": None})
    except ChromaBridgeError as exc:
        raise ConfigError(f"backup collection {name!r} is gone; nothing to roll back to") from exc
    return collection
