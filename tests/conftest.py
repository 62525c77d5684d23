"""Shared test set-up: offline provisions and a real `chroma run` server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO / ".cache" / "tiktoken"))
sys.path.insert(0, str(REPO / "scripts"))
from seed_tiktoken import seed  # noqa: E402

seed(Path(os.environ["TIKTOKEN_CACHE_DIR"]))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `server` every test that starts the shared `chroma run`, so `-m "not server"`
    never starts it: tests that request `chroma_server` (directly or through another
    fixture), and tests parametrized with `mode="server"` (whose fixtures ask for the
    server with `request.getfixturevalue`, a request collection cannot see)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        by_mode = callspec is not None and callspec.params.get("mode") == "server"
        if by_mode or "chroma_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.server)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ChromaServer:
    host: str
    port: int
    path: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _chroma_cli() -> str:
    exe = Path(sys.executable).with_name("chroma")
    found = str(exe) if exe.exists() else shutil.which("chroma")
    if not found:
        pytest.fail("the `chroma` CLI from chromadb is not installed; run `make setup`")
    return found


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A real Chroma server (`chroma run`) on a free loopback port, for the session."""
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = open(path / "server.log", "wb")  # closed below
    proc = subprocess.Popen(
        [
            _chroma_cli(),
            "run",
            "--path",
            str(path / "data"),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = ChromaServer("127.0.0.1", port, path)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/api/v2/heartbeat", timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            text = (path / "server.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"chroma run did not come up on port {port}:\n{text}")
        time.sleep(0.2)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def collection_name() -> str:
    """A fresh collection name: in-memory clients share state within a process."""
    return f"t-{uuid.uuid4().hex[:12]}"
