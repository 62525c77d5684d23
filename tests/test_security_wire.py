"""Security on the wire: auth headers reach a Chroma server, and secrets never leak.

A loopback TCP proxy sits between `ChromaStore(host=...)` and the real `chroma run`
server and records every byte the client sends, so the assertions are about what
actually went over the socket (sync `HttpClient`, async `AsyncHttpClient` and the
preflight heartbeat alike), not about what the client was configured with. The same
proxy can answer 401 by itself, to check that a refused token never shows in errors.
"""

from __future__ import annotations

import logging
import socket
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from embedder_servers import Reply, cohere_answer, openai_answer, serve

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ChromaBridgeError, StoreError
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

pytestmark = pytest.mark.server

TOKEN = "cb-wire-token-0123456789SECRET"
CLOUD_KEY = "ck-cloud-key-0123456789SECRET"
OPENAI_KEY = "sk-pipeline-0123456789abcdefSECRET"
COHERE_KEY = "co-pipeline-0123456789SECRET"


class RecordingProxy:
    """Forward loopback connections to `upstream`, keeping what clients sent.

    `refuse=True` answers every request with HTTP 401 (an auth proxy saying no), echoing
    the Authorization header back in the body as careless servers do.
    """

    def __init__(self, upstream: tuple[str, int] | None, refuse: bool = False) -> None:
        self.upstream = upstream
        self.refuse = refuse
        self.sent = bytearray()
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _record(self, data: bytes) -> None:
        with self.lock:
            self.sent.extend(data)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        if self.refuse:
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    part = conn.recv(65536)
                    if not part:
                        return
                    data += part
                self._record(data)
                echo = b"unauthorized: " + data.split(b"\r\n\r\n")[0].replace(b"\r\n", b"; ")
                conn.sendall(
                    b"HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\n"
                    + f"content-length: {len(echo)}\r\nconnection: close\r\n\r\n".encode()
                    + echo
                )
            return
        assert self.upstream is not None
        up = socket.create_connection(self.upstream, timeout=5)

        def pump(src: socket.socket, dst: socket.socket, record: bool) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if record:
                        self._record(data)
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        back = threading.Thread(target=pump, args=(up, conn, False), daemon=True)
        back.start()
        pump(conn, up, True)
        back.join(timeout=5)
        conn.close()
        up.close()

    def requests(self) -> list[dict[str, str]]:
        """Header blocks of the requests seen so far (lower-cased names)."""
        with self.lock:
            raw = bytes(self.sent)
        found = []
        for block in raw.split(b"\r\n\r\n"):
            lines = block.decode("latin-1").split("\r\n")
            start = next(
                (i for i, line in enumerate(lines) if " HTTP/1." in line and "/api/" in line),
                None,
            )
            if start is None:
                continue
            headers = {"_request": lines[start]}
            for line in lines[start + 1 :]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            found.append(headers)
        return found

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        self.acceptor.join(timeout=2)


@contextmanager
def proxy(upstream: tuple[str, int] | None, refuse: bool = False) -> Iterator[RecordingProxy]:
    p = RecordingProxy(upstream, refuse)
    p.acceptor.start()
    try:
        yield p
    finally:
        p.close()


def _chunks(n: int) -> list[Chunk]:
    return [Chunk.from_text(f"wire test chunk {i}", doc_id=f"d{i}") for i in range(n)]


def _leak_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def test_custom_headers_reach_the_server_on_every_sync_request(
    chroma_server: Any, collection_name: str
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Tenant-Route": "blue"}
    with proxy((chroma_server.host, chroma_server.port)) as p:
        store = ChromaStore(
            collection_name,
            embedder=FakeEmbedder(),
            host="127.0.0.1",
            port=p.port,
            headers=headers,
        )
        store.add(_chunks(3))
        assert len(store.query("wire test", k=2)) == 2
        assert store.count() == 3
        requests = p.requests()
    api = [r for r in requests if "/api/v2/" in r["_request"]]
    assert any("heartbeat" in r["_request"] for r in api)  # the preflight too
    assert any("/upsert" in r["_request"] for r in api)
    assert any("/query" in r["_request"] for r in api)
    for r in api:
        assert r.get("authorization") == f"Bearer {TOKEN}", r["_request"]
        assert r.get("x-tenant-route") == "blue", r["_request"]
    assert TOKEN not in repr(store)


@pytest.fixture
def fresh_async_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate chromadb's per-event-loop httpx clients (a class-level cache, see below)."""
    from chromadb.api.async_fastapi import AsyncFastAPI

    monkeypatch.setattr(AsyncFastAPI, "_clients", {})


async def test_custom_headers_reach_the_server_on_the_async_path(
    chroma_server: Any, collection_name: str, fresh_async_clients: None
) -> None:
    headers = {"X-Chroma-Token": TOKEN}
    with proxy((chroma_server.host, chroma_server.port)) as p:
        store = ChromaStore(
            collection_name,
            embedder=FakeEmbedder(),
            host="127.0.0.1",
            port=p.port,
            headers=headers,
        )
        assert store.is_async_native
        before = len(p.requests())
        await store.aadd(_chunks(4))
        assert len(await store.aquery("wire test", k=3)) == 3
        assert await store.acount() == 4
        requests = p.requests()[before:]
    assert any("/upsert" in r["_request"] for r in requests)
    assert any("/query" in r["_request"] for r in requests)
    for r in requests:
        assert r.get("x-chroma-token") == TOKEN, r["_request"]


async def test_async_stores_on_one_loop_each_send_their_own_headers(
    chroma_server: Any, collection_name: str, fresh_async_clients: None
) -> None:
    with (
        proxy((chroma_server.host, chroma_server.port)) as first,
        proxy((chroma_server.host, chroma_server.port)) as second,
    ):
        a = ChromaStore(
            collection_name, embedder=FakeEmbedder(), host="127.0.0.1", port=first.port,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )  # fmt: skip
        await a.acount()
        b = ChromaStore(f"{collection_name}-b", host="127.0.0.1", port=second.port)
        await b.acount()
        c = ChromaStore(
            f"{collection_name}-c", host="127.0.0.1", port=second.port,
            headers={"X-Chroma-Token": "other-token-0123456789"},
        )  # fmt: skip
        await c.acount()
        sent_to_second = second.requests()
    assert all(TOKEN not in str(r) for r in sent_to_second), "a's token went to b's host"
    assert any(r.get("x-chroma-token") == "other-token-0123456789" for r in sent_to_second)


def test_refused_token_never_appears_in_errors_or_logs(
    collection_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with proxy(None, refuse=True) as p:
        with pytest.raises(StoreError) as info:
            ChromaStore(
                collection_name,
                host="127.0.0.1",
                port=p.port,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=5,
            )
        (request,) = p.requests()
    assert request["authorization"] == f"Bearer {TOKEN}"  # it was sent...
    assert "credentials" in str(info.value)  # ...refused, said clearly...
    assert TOKEN not in _leak_text(info.value)  # ...and never echoed back to the user
    assert TOKEN not in caplog.text


def test_cloud_api_key_never_in_errors(
    monkeypatch: pytest.MonkeyPatch, collection_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Chroma Cloud: the key goes to CloudClient and nowhere a user can see it."""
    import chromadb

    caplog.set_level(logging.DEBUG)
    given: dict[str, Any] = {}

    def cloud_client(**kwargs: Any) -> Any:  # no network here: fail like a bad key does
        given.update(kwargs)
        raise ValueError(f"Permission denied for api key {kwargs['api_key']}")

    monkeypatch.setattr(chromadb, "CloudClient", cloud_client)
    monkeypatch.delenv("CHROMA_API_KEY", raising=False)
    with pytest.raises(StoreError) as info:
        ChromaStore(collection_name, cloud=True, api_key=CLOUD_KEY, tenant="t", database="d")
    assert given["api_key"] == CLOUD_KEY
    assert CLOUD_KEY not in _leak_text(info.value)
    monkeypatch.setenv("CHROMA_API_KEY", CLOUD_KEY)
    with pytest.raises(StoreError) as info:
        ChromaStore(collection_name, cloud=True)
    assert CLOUD_KEY not in _leak_text(info.value)
    assert CLOUD_KEY not in caplog.text


# The embedders build their SDK clients and have no close(): the pooled connection to this
# test's loopback server is reclaimed by garbage collection, which Python reports.
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
def test_provider_keys_never_leak_through_store_or_pipeline(
    collection_name: str, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider echoing the key back: not in the store's error, the report or logs."""
    from chromabridge import Pipeline
    from chromabridge.chunkers import RecursiveChunker
    from chromabridge.embedders import CohereEmbedder, OpenAIEmbedder
    from chromabridge.loaders import DirectoryLoader
    from chromabridge.retry import RetryPolicy

    caplog.set_level(logging.DEBUG)
    fast = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, max_elapsed=5)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Alpha text about keys. " * 20)
    echo = {"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}.", "code": "x"}}
    with serve(openai_answer) as api:
        embedder = OpenAIEmbedder(
            api_key=OPENAI_KEY, base_url=f"{api.url}/v1", dimensions=8, retry=fast
        )
        store = ChromaStore(collection_name, embedder=embedder)
        api.queue(Reply(401, echo))
        with pytest.raises(ChromaBridgeError) as info:
            store.add(_chunks(2))
        assert OPENAI_KEY not in _leak_text(info.value)
        api.queue(Reply(401, echo), Reply(401, echo))
        report = Pipeline(
            DirectoryLoader(tmp_path / "docs"), RecursiveChunker(200, 0), None, store
        ).run()
        assert report.failed == 1
        assert OPENAI_KEY not in report.to_json() + str(report)
        assert OPENAI_KEY not in repr(report) + str(report.failures)
        assert OPENAI_KEY not in repr(store) + repr(embedder)
        assert api.seen[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    cohere_echo = {"message": f"invalid api token {COHERE_KEY}"}
    with serve(cohere_answer) as api:
        cohere = CohereEmbedder(
            "embed-english-light-v3.0", api_key=COHERE_KEY, base_url=api.url, retry=fast
        )
        store = ChromaStore(f"{collection_name}-co", embedder=cohere)
        api.queue(Reply(401, cohere_echo))
        with pytest.raises(ChromaBridgeError) as info:
            store.add(_chunks(2))
        assert COHERE_KEY not in _leak_text(info.value)
        assert COHERE_KEY not in repr(store) + repr(cohere)
    assert OPENAI_KEY not in caplog.text and COHERE_KEY not in caplog.text
