"""Each store operation is one plan for the blocking and the async API (docs/design.md
§5): what that promises a caller on an embedded store, where the async driver runs the
steps in worker threads. The embedder's failure is typed alike on both paths, an `aadd`
cancelled before its write writes nothing (one cancelled during its write finishes it:
tests/test_store.py), and listeners never run on the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import store_support
from store_support import call

from chromabridge import Chunk
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import EmbeddingError
from chromabridge.vectorstores import ChromaStore

flavour = store_support.flavour  # the shared sync/async fixture


class CrashingEmbedder(FakeEmbedder):
    """A user's embedder whose model fails with its own exception type."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("model crashed on documents")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("model crashed on a query")


class SlowEmbedder(FakeEmbedder):
    """Signals when it starts embedding documents, then takes its time."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.started.set()
        time.sleep(0.5)
        return super().embed_documents(texts)


async def test_an_embedder_crash_is_an_embedding_error_on_both_paths(
    flavour: str, collection_name: str
) -> None:
    store = ChromaStore(collection_name, embedder=CrashingEmbedder(name="crashing"))
    with pytest.raises(EmbeddingError, match="'crashing' failed: model crashed on documents"):
        await call(flavour, store, "add", [Chunk.from_text("kept out", id="a")])
    assert store.count() == 0
    with pytest.raises(EmbeddingError, match="'crashing' failed: model crashed on a query"):
        await call(flavour, store, "query", "anything")


async def test_an_aadd_cancelled_while_embedding_writes_nothing(collection_name: str) -> None:
    embedder = SlowEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    heard: list[object] = []
    store.subscribe(lambda change, ids: heard.append(ids))
    task = asyncio.create_task(store.aadd([Chunk.from_text("never stored", id="a")]))
    assert await asyncio.to_thread(embedder.started.wait, 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(1.0)  # the embedder's thread has returned by now; nothing follows
    assert store.count() == 0
    assert heard == []


async def test_listeners_run_off_the_event_loop(collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    threads: list[tuple[str, int]] = []
    store.subscribe(lambda change, ids: threads.append((change, threading.get_ident())))
    loop_thread = threading.get_ident()
    await store.aadd([Chunk.from_text("one", id="a"), Chunk.from_text("two", id="b")])
    await store.adelete(["a"])
    await store.aclear()
    assert [change for change, _ in threads] == ["upsert", "delete", "clear"]
    assert all(thread != loop_thread for _, thread in threads)
    store.add([Chunk.from_text("three", id="c")])  # the blocking path tells them in place
    assert threads[-1] == ("upsert", loop_thread)
