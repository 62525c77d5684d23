"""A Chroma server killed (SIGKILL) mid-ingest, then restarted: fail clearly, then converge.

Each test starts its own `chroma run` on a free loopback port (never the shared session
server), runs `Pipeline(...).run()` against it, and kills the server just before or just
after the Nth write (add or upsert) reaches it. The run must stop with a `StoreError` that names the
server (quickly: no hang), the server must come back on the same directory with its
data readable, and a second run must end with exactly the records (ids, texts, metadata,
vectors) that an uninterrupted ingest of the same corpus leaves.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from conftest import _chroma_cli, free_port

from chromabridge import Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import StoreError
from chromabridge.loaders import DirectoryLoader
from chromabridge.vectorstores import ChromaStore

pytestmark = [pytest.mark.server, pytest.mark.slow]


class OwnServer:
    """A `chroma run` this test owns: it may kill and restart it on the same path/port."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.path / "server.log", "ab")
        self.proc = subprocess.Popen(
            [
                _chroma_cli(),
                "run",
                "--path",
                str(self.path / "data"),
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{self.port}/api/v2/heartbeat"
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log_text = (self.path / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"own chroma server did not start:\n{log_text}")
            time.sleep(0.2)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OwnServer]:
    (tmp_path / "srv").mkdir()
    server = OwnServer(tmp_path / "srv")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(24):
        sentences = [f"Document {i} sentence {j} about topic {(i * j) % 7}." for j in range(40)]
        (root / f"doc{i:02d}.txt").write_text(" ".join(sentences))
    return root


def snapshot(store: ChromaStore) -> dict[str, tuple[str, dict[str, Any], list[float]]]:
    """Every record: id -> (text, metadata, rounded vector)."""
    got = store.collection.get(include=["documents", "metadatas", "embeddings"])
    return {
        i: (d, dict(m or {}), np.round(np.asarray(e, dtype=np.float64), 5).tolist())
        for i, d, m, e in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        )
    }


def pipeline(corpus: Path, store: ChromaStore) -> Pipeline:
    return Pipeline(
        DirectoryLoader(corpus),
        RecursiveChunker(300, 30),
        None,
        store,
        batch_size=4,
        mode="full",
        progress=False,
    )


def reference(corpus: Path, name: str) -> dict[str, Any]:
    store = ChromaStore(f"{name}-ref", embedder=FakeEmbedder())
    report = pipeline(corpus, store).run()
    assert report.ok and report.chunks_written > 100
    return snapshot(store)


def kill_on_write(store: ChromaStore, server: OwnServer, nth: int, when: str) -> list[int]:
    """Kill the server just `when` ("before"/"after") the `nth` add or upsert reaches it."""
    collection = store.collection
    calls = [0]

    def killing(real: Any) -> Any:
        def write(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == nth and when == "before":
                server.kill()
            result = real(*args, **kwargs)
            if calls[0] == nth and when == "after":
                server.kill()
            return result

        return write

    collection.add = killing(collection.add)
    collection.upsert = killing(collection.upsert)
    return calls


def live_store(server: OwnServer, name: str) -> ChromaStore:
    """A store on the server before the kill (its preflight gives up after 5 s)."""
    return ChromaStore(name, embedder=FakeEmbedder(), host="127.0.0.1", port=server.port, timeout=5)


def restarted_store(server: OwnServer, name: str) -> ChromaStore:
    """A store on the restarted server whose requests give up after `_WEDGE` s.

    chromadb's HTTP client never times out a request; a server that accepts and never
    answers would hold the test until pytest-timeout, with nothing said about why.
    """
    store = ChromaStore(name, embedder=FakeEmbedder(), host="127.0.0.1", port=server.port)
    store.collection._client._session.timeout = httpx.Timeout(_WEDGE)
    return store


_WEDGE = 60.0


def rerun_past_a_wedge(server: OwnServer, corpus: Path, name: str, store: ChromaStore) -> Any:
    """The re-run, once more on a freshly restarted server if the first one wedges.

    Once in CI (chromadb 1.5.9, a contended machine) a `chroma run` restarted after a
    SIGKILL accepted a `get` and never answered it. That is the server's fault, not the
    pipeline's: the claim under test is that a re-run against a working server converges,
    so a request that times out restarts the server (its log goes to the captured
    output) and the re-run is tried once more. A second wedge fails the test.
    """
    try:
        return pipeline(corpus, store).run()
    except StoreError as error:
        if not isinstance(error.__cause__, httpx.TimeoutException):
            raise
    _restart_wedged(server)
    return pipeline(corpus, restarted_store(server, name)).run()


async def arerun_past_a_wedge(server: OwnServer, corpus: Path, name: str) -> Any:
    """`rerun_past_a_wedge` for `arun`, whose async client has no request timeout either:
    the whole re-run is given `_WEDGE` s."""
    store = ChromaStore(name, embedder=FakeEmbedder(), host="127.0.0.1", port=server.port)
    try:
        return await asyncio.wait_for(pipeline(corpus, store).arun(), _WEDGE)
    except TimeoutError:
        _restart_wedged(server)
    store = ChromaStore(name, embedder=FakeEmbedder(), host="127.0.0.1", port=server.port)
    return await asyncio.wait_for(pipeline(corpus, store).arun(), _WEDGE)


def _report_live_failure(server: OwnServer, error: BaseException) -> None:
    log = (server.path / "server.log").read_text(errors="replace")
    print(f"run failed before the kill: {error!r} (cause {error.__cause__!r})")
    print(f"the live server's log ends:\n{log[-4000:]}")


def _restart_wedged(server: OwnServer) -> None:
    log = (server.path / "server.log").read_text(errors="replace")
    print(f"chroma server wedged after restart; its log ends:\n{log[-4000:]}")
    server.stop()
    server.start()


@pytest.mark.parametrize(("nth", "when"), [(1, "before"), (3, "after"), (5, "before")])
def test_server_killed_mid_ingest_fails_clearly_and_a_rerun_converges(
    own_server: OwnServer, corpus: Path, collection_name: str, nth: int, when: str
) -> None:
    expected = reference(corpus, collection_name)
    for attempt in (1, 2):
        store = live_store(own_server, collection_name)
        store._batch_size = 16  # several upserts per batch: kills land inside a multi-part write
        calls = kill_on_write(store, own_server, nth, when)
        started = time.monotonic()
        with pytest.raises(StoreError) as info:
            pipeline(corpus, store).run()
        assert time.monotonic() - started < 60, "a dead server must not hang the run"
        if calls[0] >= nth or attempt == 2:
            break
        # Once in CI the run failed before any write, the server still up: a refusal by
        # Chroma, not the kill under test. Say what it was, and run the scenario again.
        _report_live_failure(own_server, info.value)
    assert calls[0] >= nth, f"failed twice before the kill, on a live server: {info.value}"
    assert f"127.0.0.1:{own_server.port}" in str(info.value)

    # While it is down: a new store says clearly that nothing answers.
    with pytest.raises(StoreError, match="cannot reach"):
        ChromaStore(collection_name, host="127.0.0.1", port=own_server.port, timeout=2)

    own_server.start()
    store = restarted_store(own_server, collection_name)
    partial = snapshot(store)
    for record_id, record in partial.items():  # whatever survived is a correct record
        assert expected.get(record_id) == record, record_id
    report = rerun_past_a_wedge(own_server, corpus, collection_name, store)
    store = restarted_store(own_server, collection_name)
    assert report.ok, report.failures
    assert snapshot(store) == expected
    again = pipeline(corpus, store).run()  # and it is stable: nothing left to do
    assert again.unchanged == 24 and again.chunks_written == 0


async def test_server_killed_during_async_ingest_then_rerun_converges(
    own_server: OwnServer, corpus: Path, collection_name: str
) -> None:
    expected = reference(corpus, collection_name)
    store = live_store(own_server, collection_name)
    writes = [0]
    real = store.aadd

    async def aadd(*args: Any, **kwargs: Any) -> Any:
        writes[0] += 1
        if writes[0] == 3:
            own_server.kill()
        return await real(*args, **kwargs)

    store.aadd = aadd  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        await pipeline(corpus, store).arun()
    own_server.start()
    report = await arerun_past_a_wedge(own_server, corpus, collection_name)
    assert report.ok, report.failures
    assert snapshot(restarted_store(own_server, collection_name)) == expected
