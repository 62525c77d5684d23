"""16 concurrent async clients query a Chroma server while one writer ingests.

Every reader is its own `ChromaStore` (so its own `AsyncHttpClient`) on one event loop;
the writer upserts batches of new chunks and now and then rewrites an earlier batch as
a new version. Checked for every single result: no exception of any kind; hits are
well-formed (finite scores, sorted by distance, at most k, filter respected); every hit
is a record the writer really wrote, with text and metadata of one and the same written
version; every record committed before a read started is visible to it (`aget` by id,
`acount`). Short in CI (`CHROMABRIDGE_SOAK_SECONDS`, default 5 s); `make soak` runs it
for 60 s (`CHROMABRIDGE_SOAK=1`).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from typing import Any

import pytest

from chromabridge.embedders import FakeEmbedder
from chromabridge.types import Chunk, Hit
from chromabridge.vectorstores import ChromaStore

pytestmark = pytest.mark.server

READERS = 16
BATCH = 40
MAX_BATCHES = 2000  # a hard stop, whatever the duration
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def duration() -> float:
    if os.environ.get("CHROMABRIDGE_SOAK") == "1":
        return float(os.environ.get("CHROMABRIDGE_SOAK_SECONDS", "60"))
    return float(os.environ.get("CHROMABRIDGE_SOAK_SECONDS", "5"))


def text_of(chunk_id: str, version: int) -> str:
    rnd = random.Random(chunk_id)
    words = " ".join(rnd.choice(WORDS) for _ in range(12))
    return f"{chunk_id} v{version}: {words}"


class Ledger:
    """What the writer has started and finished writing."""

    def __init__(self) -> None:
        self.started: dict[str, set[int]] = {}  # id -> versions whose write began
        self.committed: dict[str, int] = {}  # id -> version of a finished write (min)

    def batch(self, b: int, version: int) -> list[Chunk]:
        chunks = []
        for i in range(BATCH):
            chunk_id = f"b{b:04d}-{i:02d}"
            chunks.append(
                Chunk(
                    id=chunk_id,
                    doc_id=f"b{b:04d}",
                    text=text_of(chunk_id, version),
                    metadata={"version": version, "batch": b},
                    index=i,
                )
            )
            self.started.setdefault(chunk_id, set()).add(version)
        return chunks


def check_hit(hit: Hit, ledger: Ledger, where_batch: int | None) -> None:
    chunk = hit.chunk
    assert chunk.id in ledger.started, f"{chunk.id} was never written"
    version = chunk.metadata["version"]
    assert version in ledger.started[chunk.id], (chunk.id, version)
    assert chunk.text == text_of(chunk.id, version), "text and metadata of different writes"
    assert chunk.doc_id == chunk.id.split("-")[0]
    assert chunk.metadata["batch"] == int(chunk.id[1:5])
    assert math.isfinite(hit.score) and math.isfinite(hit.distance)
    assert -1.0001 <= hit.score <= 1.0001
    if where_batch is not None:
        assert chunk.metadata["batch"] >= where_batch


async def test_sixteen_async_readers_and_one_writer(
    chroma_server: Any, collection_name: str
) -> None:
    seconds = duration()
    embedder = FakeEmbedder()
    kwargs = {"embedder": embedder, "host": chroma_server.host, "port": chroma_server.port}
    writer = ChromaStore(collection_name, **kwargs)
    readers = [ChromaStore(collection_name, **kwargs) for _ in range(READERS)]
    ledger = Ledger()
    await writer.aadd(ledger.batch(0, 1))
    ledger.committed.update(dict.fromkeys(ledger.started, 1))
    deadline = time.monotonic() + seconds
    errors: list[str] = []
    stats = {"queries": 0, "gets": 0, "writes": 1, "rewrites": 0}

    async def write() -> None:
        rnd = random.Random(7)
        b, step = 1, 0
        while time.monotonic() < deadline and b < MAX_BATCHES:
            step += 1
            if step % 5 == 0:  # rewrite an earlier batch as a new version
                old = rnd.randrange(b)
                version = max(ledger.started[f"b{old:04d}-00"]) + 1
                chunks = ledger.batch(old, version)
                stats["rewrites"] += 1
            else:
                chunks = ledger.batch(b, 1)
                b += 1
            try:
                await writer.aadd(chunks)
            except Exception as exc:
                errors.append(f"writer: {type(exc).__name__}: {exc}")
                return
            for chunk in chunks:
                ledger.committed.setdefault(chunk.id, int(chunk.metadata["version"]))
            stats["writes"] += 1

    async def read(store: ChromaStore, seed: int) -> None:
        rnd = random.Random(seed)
        while time.monotonic() < deadline:
            committed = dict(ledger.committed)  # snapshot before the read starts
            try:
                k = rnd.choice([1, 5, 10])
                where_batch = rnd.choice(
                    [None, None, rnd.randrange(max(1, len(committed) // BATCH))]
                )
                where = None if where_batch is None else {"batch": {"$gte": where_batch}}
                query = " ".join(rnd.choice(WORDS) for _ in range(3))
                hits = await store.aquery(query, k=k, where=where)
                assert len(hits) <= k
                if where is None:
                    assert len(hits) == min(k, len(committed)) or len(hits) == k
                distances = [h.distance for h in hits]
                assert distances == sorted(distances)
                for hit in hits:
                    check_hit(hit, ledger, where_batch)
                stats["queries"] += 1
                picked = rnd.sample(sorted(committed), min(5, len(committed)))
                got = await store.aget(ids=picked)
                assert [c.id for c in got] == picked, "a committed record is missing"
                for chunk in got:
                    assert chunk.metadata["version"] >= committed[chunk.id]
                    assert chunk.text == text_of(chunk.id, chunk.metadata["version"])
                assert await store.acount() >= len(committed)
                stats["gets"] += 1
            except Exception as exc:
                errors.append(f"reader {seed}: {type(exc).__name__}: {exc}")
                return

    await asyncio.wait_for(
        asyncio.gather(write(), *(read(s, n) for n, s in enumerate(readers))),
        timeout=seconds + 120,
    )
    assert errors == []
    assert stats["queries"] >= READERS, stats
    assert stats["writes"] >= 3, stats
    assert await writer.acount() == len(ledger.started)
    print(f"\nconcurrency over {seconds:.0f}s: {stats}")
