"""`LexicalIndex`: a `BM25Index` kept consistent with one `ChromaStore` collection.

What is noticed, and when:

* writes made through the same `ChromaStore` object (any retriever sharing it) are
  reported by `ChromaStore.subscribe`; the listener only queues them (it never waits,
  so a rebuild in progress cannot stall a writer or its event loop), and the index
  applies them before the next search (upserted texts are read back from Chroma in one
  batch, so the index holds exactly what Chroma holds);
* writes by other processes or other `ChromaStore` objects: every `check_interval`
  seconds a search compares `count()` with the index and, when they differ, runs
  `refresh()` (an id diff: new ids are fetched and indexed, vanished ids dropped).
  Rewrites in place by other writers (same id, new text, count unchanged) are found
  only by `refresh(full=True)`, which compares text hashes.

Whatever the index believes, hits are read back from Chroma before they are returned, so
a chunk deleted by anyone is never returned and a replaced chunk comes back with its
current text; only its lexical rank can be stale until a refresh.

For a persistent (directory) store the index is saved next to Chroma's directory, in
`<dir>.bm25/<collection>.npz`, and reloaded (then verified with an id diff) on open.

The async methods (`asearch`, `arefresh`) do the index work in a worker thread. On a
store given only an `AsyncHttpClient`, that thread reads Chroma through the async client,
each read run on the client's event loop, so the index works async end to end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from chromabridge.errors import StoreError
from chromabridge.vectorstores import ChromaFilter, ChromaStore

from .bm25_index import BM25Index, text_hash

__all__ = ["LexicalIndex", "default_index_path"]

log = logging.getLogger("chromabridge.retrievers")
_PAGE = 5000


def default_index_path(store: ChromaStore) -> Path | None:
    """`<chroma dir>.bm25/<collection>.npz` for a store kept in a local directory
    (`ChromaStore.directory`), else None."""
    if store.directory is None:
        return None
    base = store.directory.resolve()
    return base.with_name(base.name + ".bm25") / f"{store.name}.npz"


class _LoopReader:
    """The store's async reads for a worker thread (a store given only an async client):
    each is run on the store's event loop, and only the thread waits for it. Reads the
    way the blocking store does (`records`, `ids`, `count`)."""

    def __init__(self, store: ChromaStore, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop

    def _wait(self, call: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

    def records(self, ids: Any = None, **kwargs: Any) -> dict[str, Any]:
        return dict(self._wait(self._store.arecords(ids, **kwargs)))

    def ids(self, **kwargs: Any) -> list[str]:
        return list(self._wait(self._store.aids(**kwargs)))

    def count(self) -> int:
        return int(self._wait(self._store.acount()))


class LexicalIndex:
    """BM25 over a collection's documents, following its writes (see module doc).

    `path`: where to persist ("auto": next to a persistent store, nowhere otherwise;
    None: never). `check_interval`: seconds between cheap checks for other writers
    (0 = before every search, None = never; call `refresh()` yourself).
    `save_interval`: seconds between saves after incremental changes.
    """

    def __init__(
        self,
        store: ChromaStore,
        *,
        path: str | os.PathLike[str] | None = "auto",
        check_interval: float | None = 5.0,
        save_interval: float = 10.0,
        k1: float = 1.5,
        b: float = 0.75,
        stemmer: str | None = "english",
        stopwords: str | None = "en",
    ) -> None:
        self.store = store
        self.path = default_index_path(store) if path == "auto" else (Path(path) if path else None)
        self.check_interval = check_interval
        self.save_interval = save_interval
        self._params: dict[str, Any] = {
            "k1": k1,
            "b": b,
            "stemmer": stemmer,
            "stopwords": stopwords,
        }
        self._index: BM25Index | None = None
        self._lock = threading.RLock()
        #: The change feed, filled by the store's writers without the lock.
        self._changes: deque[tuple[str, list[str] | None]] = deque()
        self._upserted: set[str] = set()
        self._deleted: set[str] = set()
        self._stale = False
        self._dirty = False
        self._checked = 0.0
        self._saved = time.monotonic()
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._on_change)

    def __repr__(self) -> str:
        size = len(self._index) if self._index is not None else None
        return f"LexicalIndex(store={self.store.name!r}, documents={size}, path={self.path})"

    # -- change feed --------------------------------------------------------------------

    def _on_change(self, change: str, ids: list[str] | None) -> None:
        """The store's listener: queue the change (thread-safe, never blocks)."""
        self._changes.append((change, ids))

    def _apply_changes(self) -> None:
        """Fold the queued changes into the pending sets (under the lock)."""
        while self._changes:
            change, ids = self._changes.popleft()
            if change == "upsert" and ids is not None:
                self._upserted.update(ids)
                self._deleted.difference_update(ids)
            elif change == "delete" and ids is not None:
                self._deleted.update(ids)
                self._upserted.difference_update(ids)
            elif change == "clear":
                self._upserted.clear()
                self._deleted.clear()
                if self._index is not None:
                    self._index.clear()
                    self._dirty = True
            else:  # a delete known only as a filter
                self._stale = True

    def close(self) -> None:
        """Stop following the store and save pending changes."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.path is not None:
            with self._lock:
                if self._dirty:
                    self.save()

    # -- Chroma reads -------------------------------------------------------------------

    def _pages(self, reader: Any, include: list[str], **kwargs: Any) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            try:
                page = reader.records(include=include, limit=_PAGE, offset=offset, **kwargs)
            except Exception as exc:
                raise StoreError(f"reading {self.store.name!r} for the BM25 index: {exc}") from exc
            yield page
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def _fetch(self, reader: Any, index: BM25Index, ids: list[str]) -> None:
        """Index the current text of `ids`; ids Chroma no longer has are dropped."""
        for lo in range(0, len(ids), _PAGE):
            batch = ids[lo : lo + _PAGE]
            try:
                found = reader.records(batch, include=["documents"])
            except Exception as exc:
                raise StoreError(f"reading {self.store.name!r} for the BM25 index: {exc}") from exc
            texts = [d or "" for d in found["documents"]]
            index.upsert(found["ids"], texts)
            index.remove(set(batch) - set(found["ids"]))

    def _collection_id(self) -> str | None:
        return self.store.collection_id

    # -- building and refreshing --------------------------------------------------------

    def _load_or_build(self, reader: Any) -> BM25Index:
        if self.path is not None and self.path.exists():
            try:
                index, extra = BM25Index.load(self.path)
                same = {k: getattr(index, k) for k in self._params} == self._params
                if same and extra.get("collection_id") == self._collection_id():
                    self._index = index
                    self._refresh(reader)
                    return index
            except Exception as exc:  # a damaged cache file must never break search
                log.warning("BM25 index %s unreadable (%s); rebuilding", self.path, exc)
        return self._rebuild(reader)

    def rebuild(self) -> BM25Index:
        """Index every document of the collection from scratch."""
        return self._rebuild(self.store)

    def _rebuild(self, reader: Any) -> BM25Index:
        with self._lock:
            index = BM25Index(**self._params)
            self._changes.clear()  # the pages read below hold them; later ones stay queued
            self._upserted.clear()
            self._deleted.clear()
            self._stale = False
            for page in self._pages(reader, ["documents"]):
                index.upsert(page["ids"], [d or "" for d in page["documents"]], compact=False)
            index.compact()
            self._index = index
            self._dirty = True
            self._checked = time.monotonic()
            self.save()
            return index

    def refresh(self, full: bool = False) -> None:
        """Catch up with writes by others: an id diff, plus text hashes when `full`."""
        self._refresh(self.store, full)

    async def arefresh(self, full: bool = False) -> None:
        """Async `refresh` (works on a store given only an async client)."""
        await asyncio.to_thread(self._refresh, await self._areader(), full)

    def _refresh(self, reader: Any, full: bool = False) -> None:
        with self._lock:
            index = self._index
            if index is None:
                self._load_or_build(reader)
                return
            seen: set[str] = set()
            changed: list[str] = []
            for page in self._pages(reader, ["documents"] if full else []):
                seen.update(page["ids"])
                if full:
                    for doc_id, text in zip(page["ids"], page["documents"], strict=True):
                        if index.hash_of(doc_id) != text_hash(text or ""):
                            changed.append(doc_id)
                else:
                    changed.extend(i for i in page["ids"] if i not in index)
            gone = [i for i in index.ids if i not in seen]
            if gone or changed:
                index.remove(gone)
                self._fetch(reader, index, changed)
                self._dirty = True
            self._stale = False
            self._checked = time.monotonic()
            if self._dirty:
                self.save()

    def _sync(self, reader: Any) -> BM25Index:
        """Apply the change feed, and look for other writers when a check is due."""
        index = self._index if self._index is not None else self._load_or_build(reader)
        self._apply_changes()
        if self._deleted:
            index.remove(self._deleted)
            self._deleted.clear()
            self._dirty = True
        if self._upserted:
            pending, self._upserted = sorted(self._upserted), set()
            self._fetch(reader, index, pending)
            self._dirty = True
        due = self.check_interval is not None and (
            time.monotonic() - self._checked >= self.check_interval
        )
        if self._stale or (due and reader.count() != len(index)):
            self._refresh(reader)
        elif due:
            self._checked = time.monotonic()
        if self._dirty and time.monotonic() - self._saved >= self.save_interval:
            self.save()
        return index

    def save(self) -> None:
        """Persist now (no-op for stores without a directory)."""
        with self._lock:
            if self.path is None or self._index is None:
                self._dirty = False
                return
            self._index.save(self.path, {"collection_id": self._collection_id()})
            self._dirty = False
            self._saved = time.monotonic()

    # -- search -------------------------------------------------------------------------

    def _allowed(self, reader: Any, flt: ChromaFilter) -> set[str]:
        """Ids matching `flt`, by Chroma itself (one call; only ids travel).

        Measured alternatives were slower: checking the best BM25 hits with
        `get(ids=..., where=...)` costs ~0.9 s per 1,000 ids in Chroma 1.5, and paging
        this call by offset costs more than one unpaged call.
        """
        try:
            return set(reader.ids(where=flt.where, where_document=flt.where_document))
        except StoreError as exc:
            raise StoreError(f"filtering BM25 hits on {self.store.name!r}: {exc}") from exc

    def search(
        self, query: str, k: int, flt: ChromaFilter | None = None
    ) -> list[tuple[str, float]]:
        """Best `k` (id, BM25 score) among chunks matching `flt`, filtered by Chroma so
        the semantics are Chroma's; the cost grows with the number of matching chunks."""
        return self._search(self.store, query, k, flt)

    async def asearch(
        self, query: str, k: int, flt: ChromaFilter | None = None
    ) -> list[tuple[str, float]]:
        """Async `search`: the index work runs in a worker thread, never on the loop."""
        return await asyncio.to_thread(self._search, await self._areader(), query, k, flt)

    def _search(
        self, reader: Any, query: str, k: int, flt: ChromaFilter | None
    ) -> list[tuple[str, float]]:
        allowed = None
        if flt is not None and (flt.where is not None or flt.where_document is not None):
            allowed = self._allowed(reader, flt)
        with self._lock:
            return self._sync(reader).search(query, k, allowed)

    async def _areader(self) -> Any:
        """What the worker thread reads Chroma through: the blocking collection, or the
        async one (a store given only an async client) bridged to this loop."""
        if self.store.client is not None:
            return self.store
        return _LoopReader(self.store, asyncio.get_running_loop())

    def forget(self, ids: list[str]) -> None:
        """Drop ids found missing from Chroma (deleted by another writer); queued like a
        delete, so it never waits."""
        self._on_change("delete", list(ids))

    def __len__(self) -> int:
        reader = self.store
        with self._lock:
            return len(self._sync(reader))
