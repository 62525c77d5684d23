"""A persistent embedding cache, so re-ingesting unchanged text costs nothing.

Entries are keyed by (the embedder's `name`, document-or-query, sha256 of the text);
images by (`name`, "image", sha256 of the image's content hash).
`name` already carries the model and every option that changes vectors (dimensions,
int8, normalisation), so two spaces never share an entry. Queries get their own
entries because several providers embed queries differently from documents.

Storage is one sqlite file in WAL mode: any number of threads and processes can read
and write it at once; writers wait for each other (`busy_timeout`) instead of failing.
Vectors are stored as float64 so a hit returns exactly what the model returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from chromabridge import telemetry
from chromabridge.errors import ConfigError
from chromabridge.images import ImageSource, read_image

from .adapt import as_embedder
from .base import Embedder, Vector
from .multimodal import image_embedder, supports_images
from .native import NativeEmbedder

__all__ = ["CachedEmbedder"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    space TEXT NOT NULL,
    kind TEXT NOT NULL,
    digest BLOB NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (space, kind, digest)
) WITHOUT ROWID
"""
_LOOKUP_CHUNK = 500  # stays under sqlite's bound-parameter limit


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class CachedEmbedder(NativeEmbedder):
    """Wrap any embedder with a persistent cache at `path` (a sqlite file).

    `hits` and `misses` count texts served from the cache and texts sent to the
    wrapped embedder (`inner`) since this object was created. The wrapped embedder's
    `name` and `dimension` are passed through: a cache never changes the vector space.
    """

    def __init__(
        self, embedder: object, path: str | os.PathLike[str], *, timeout: float = 30.0
    ) -> None:
        self.inner: Embedder = as_embedder(embedder)
        self.path = Path(path)
        self.timeout = timeout
        self.hits = 0
        self.misses = 0
        self._local = threading.local()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open embedding cache {self.path}: {exc}") from exc

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int | None:
        return self.inner.dimension

    @property
    def max_input_tokens(self) -> int | None:
        return self.inner.max_input_tokens

    def _connect(self) -> sqlite3.Connection:
        """One connection per thread: sqlite connections must not be shared."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    def _lookup(self, kind: str, digests: list[bytes]) -> dict[bytes, Vector]:
        conn = self._connect()
        found: dict[bytes, Vector] = {}
        want = self.inner.dimension
        for start in range(0, len(digests), _LOOKUP_CHUNK):
            chunk = digests[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT digest, dim, vector FROM embeddings "  # noqa: S608 - only '?' marks
                f"WHERE space = ? AND kind = ? AND digest IN ({marks})",
                (self.name, kind, *chunk),
            )
            for digest, dim, blob in rows:
                if want is not None and dim != want:
                    continue  # stale entry from a misbehaving provider: treat as a miss
                found[digest] = array("d", blob).tolist()
        return found

    def _store(self, kind: str, items: Iterable[tuple[bytes, Vector]]) -> None:
        rows = [(self.name, kind, d, len(v), array("d", v).tobytes()) for d, v in items]
        if not rows:
            return
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)", rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _split(
        self, kind: str, texts: Sequence[str]
    ) -> tuple[list[bytes], dict[bytes, Vector], list[str]]:
        digests = [_digest(t) for t in texts]
        found = self._lookup(kind, list(dict.fromkeys(digests)))
        missing: dict[bytes, str] = {}
        for digest, text in zip(digests, texts, strict=True):
            if digest not in found:
                missing.setdefault(digest, text)
        hits = len(texts) - sum(1 for d in digests if d in missing)
        with self._lock:
            self.misses += len(missing)
            self.hits += hits
        telemetry.cache_lookups(hits, len(missing))
        return digests, found, list(missing.values())

    def _merge(
        self,
        kind: str,
        digests: list[bytes],
        found: dict[bytes, Vector],
        todo: list[str],
        new: list[Vector],
    ) -> list[Vector]:
        fresh = list(zip((_digest(t) for t in todo), new, strict=True))
        self._store(kind, fresh)
        found.update(fresh)
        return [found[d] for d in digests]

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        digests, found, todo = self._split("document", texts)
        new = self.inner.embed_documents(todo) if todo else []
        return self._merge("document", digests, found, todo, new)

    def embed_query(self, text: str) -> Vector:
        digests, found, todo = self._split("query", [text])
        new = [self.inner.embed_query(text)] if todo else []
        return self._merge("query", digests, found, todo, new)[0]

    async def aembed_documents(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        digests, found, todo = await asyncio.to_thread(self._split, "document", texts)
        new = await self.inner.aembed_documents(todo) if todo else []
        return await asyncio.to_thread(self._merge, "document", digests, found, todo, new)

    async def aembed_query(self, text: str) -> Vector:
        digests, found, todo = await asyncio.to_thread(self._split, "query", [text])
        new = [await self.inner.aembed_query(text)] if todo else []
        return (await asyncio.to_thread(self._merge, "query", digests, found, todo, new))[0]

    # -- images (when the wrapped embedder embeds them), keyed by the encoded bytes --------

    @property
    def supports_images(self) -> bool:
        return supports_images(self.inner)

    def _image_keys(self, images: Sequence[ImageSource]) -> tuple[list[str], dict[str, Any]]:
        keys: list[str] = []
        sources: dict[str, Any] = {}
        for image in images:
            key = read_image(image).content_hash
            keys.append(key)
            sources.setdefault(key, image)
        return keys, sources

    def embed_images(self, images: Sequence[ImageSource]) -> list[Vector]:
        inner = image_embedder(self.inner, "CachedEmbedder")
        if not images:
            return []
        keys, sources = self._image_keys(images)
        digests, found, todo = self._split("image", keys)
        new = inner.embed_images([sources[k] for k in todo]) if todo else []
        return self._merge("image", digests, found, todo, new)

    async def aembed_images(self, images: Sequence[ImageSource]) -> list[Vector]:
        inner = image_embedder(self.inner, "CachedEmbedder")
        if not images:
            return []
        keys, sources = await asyncio.to_thread(self._image_keys, images)
        digests, found, todo = await asyncio.to_thread(self._split, "image", keys)
        new = await inner.aembed_images([sources[k] for k in todo]) if todo else []
        return await asyncio.to_thread(self._merge, "image", digests, found, todo, new)

    def stats(self) -> dict[str, int]:
        """Hits, misses and the number of entries stored for this embedder's space."""
        (entries,) = (
            self._connect()
            .execute("SELECT COUNT(*) FROM embeddings WHERE space = ?", (self.name,))
            .fetchone()
        )
        return {"hits": self.hits, "misses": self.misses, "entries": int(entries)}

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, path={str(self.path)!r})"
