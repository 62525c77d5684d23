"""Shared mode, client side: find or start DIR's loopback Chroma server and register.

`ensure_server(DIR)` returns the address of the one `chroma run` serving DIR, starting
its supervisor (`supervisor.py`) when none is alive. The check-and-start happens under
``DIR/.chromabridge/start.lock``, so processes starting at the same instant end up on one
server. Each process using it registers as a client (``clients/<pid>``); the supervisor
stops the server once no registered process has been alive for its idle time.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chromabridge.errors import ConfigError, StoreBusyError, StoreError

from . import dirlock

__all__ = [
    "Endpoint",
    "ensure_server",
    "release_client",
    "server_info",
    "stop_server",
    "DEFAULT_IDLE",
]

#: Seconds a shared server outlives its last client process.
DEFAULT_IDLE = 300.0
#: Where the access token travels (Chroma's token header).
TOKEN_HEADER = "X-Chroma-Token"  # noqa: S105 - a header name, not a secret
#: The supervisor's exit status when another process holds the directory.
EXIT_BUSY = 3
#: Longest wait for a fresh `chroma run` to answer.
_STARTUP = 60.0

_users: dict[Path, int] = {}
_users_lock = threading.Lock()
#: Supervisors this process started: polled, so a dead one is reaped, not a zombie.
_children: dict[int, subprocess.Popen[bytes]] = {}
#: Seconds between a client's checks that its directory's supervisor is alive.
WATCH_INTERVAL = 1.0

log = logging.getLogger("chromabridge.vectorstores")


@dataclass(frozen=True)
class Endpoint:
    """A running shared server: where it listens and what to send."""

    port: int
    token: str = ""
    pid: int = 0
    server_pid: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self.token} if self.token else {}

    def __repr__(self) -> str:  # the token is a secret
        return f"Endpoint(port={self.port}, pid={self.pid}, server_pid={self.server_pid})"


def chroma_cli() -> str:
    """The `chroma` command installed beside this Python (chromadb's console script)."""
    exe = Path(sys.executable).with_name("chroma")
    found = str(exe) if exe.exists() else shutil.which("chroma")
    if not found:
        raise StoreError("shared mode needs the `chroma` command from chromadb; not found")
    return found


def record_file(directory: Path) -> Path:
    return dirlock.meta_dir(directory) / "server.json"


def clients_dir(directory: Path) -> Path:
    return dirlock.meta_dir(directory) / "clients"


def read_record(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(record_file(directory).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_clients(directory: Path) -> list[int]:
    """Registered client pids still alive; files of dead ones are removed."""
    pids = []
    try:
        entries = list(clients_dir(directory).iterdir())
    except OSError:
        return []
    for entry in entries:
        pid = int(entry.name) if entry.name.isdigit() else 0
        if alive(pid):
            pids.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return pids


def _heartbeat(endpoint: Endpoint, timeout: float = 2.0) -> bool:
    url = f"http://127.0.0.1:{endpoint.port}/api/v2/heartbeat"
    request = urllib.request.Request(url, headers=endpoint.headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def server_info(directory: str | os.PathLike[str]) -> Endpoint | None:
    """DIR's shared server, when one is recorded and answers; else None."""
    data = read_record(Path(directory).resolve())
    if not data:
        return None
    endpoint = Endpoint(
        port=int(data.get("port", 0)),
        token=str(data.get("token", "")),
        pid=int(data.get("pid", 0)),
        server_pid=int(data.get("server_pid", 0)),
    )
    return endpoint if alive(endpoint.pid) and _heartbeat(endpoint) else None


@contextmanager
def _start_lock(directory: Path, timeout: float) -> Iterator[None]:
    fd = os.open(
        dirlock.meta_dir(directory) / "start.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
    )
    try:
        if not dirlock.flock_within(fd, timeout + _STARTUP, poll=0.05):
            raise StoreBusyError(
                f"another process has been starting the shared Chroma server of "
                f"{directory} for over {timeout + _STARTUP:g}s"
            )
        yield
    finally:
        os.close(fd)


def _register(directory: Path) -> bool:
    """Count one more user of DIR in this process; True for the first."""
    with _users_lock:
        first = _users.get(directory, 0) == 0
        if first:
            clients_dir(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
            (clients_dir(directory) / str(os.getpid())).touch()
        _users[directory] = _users.get(directory, 0) + 1
        return first


def release_client(directory: Path) -> None:
    """One store of this process stopped using DIR's server (the last one unregisters)."""
    with _users_lock:
        users = _users.get(directory, 0) - 1
        if users > 0:
            _users[directory] = users
            return
        _users.pop(directory, None)
    (clients_dir(directory) / str(os.getpid())).unlink(missing_ok=True)


@atexit.register
def _unregister_all() -> None:
    for directory in list(_users):
        (clients_dir(directory) / str(os.getpid())).unlink(missing_ok=True)
    _users.clear()


def ensure_server(
    directory: str | os.PathLike[str], timeout: float = 10.0, idle: float = DEFAULT_IDLE
) -> tuple[Path, Endpoint]:
    """DIR's shared server (started when none answers), with this process registered.

    Call `release_client(DIR)` when done (closing the store does it).
    """
    if idle <= 0:
        raise ConfigError(f"idle must be > 0 seconds, got {idle!r}")
    path = Path(directory).resolve()
    try:
        dirlock.meta_dir(path).mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot share {path}: {type(exc).__name__}: {exc}") from exc
    first = _register(path)  # before any start: the supervisor must see a client at once
    try:
        with _start_lock(path, timeout):
            endpoint = _running(path, timeout) or _launch(path, timeout, idle)
    except BaseException:
        release_client(path)
        raise
    if first:
        threading.Thread(
            target=_watch, args=(path, timeout, idle), name="chromabridge-shared", daemon=True
        ).start()
    return path, endpoint


def _running(directory: Path, timeout: float) -> Endpoint | None:
    """The recorded server; while its supervisor lives but the server does not answer
    (it is being restarted), wait for it rather than start a second supervisor."""
    deadline = time.monotonic() + timeout + _STARTUP
    while True:
        endpoint = server_info(directory)
        data = read_record(directory)
        if endpoint is not None or not data or not alive(int(data.get("pid", 0))):
            return endpoint
        if time.monotonic() >= deadline:
            raise StoreError(f"the shared Chroma server of {directory} does not answer")
        time.sleep(0.1)


def _watch(directory: Path, timeout: float, idle: float) -> None:
    """While this process uses DIR: restart a supervisor that died (its record is left
    behind; a clean stop removes it, and is not undone). The new one takes the old port,
    so open stores' next calls reach it."""
    while directory in _users:
        time.sleep(WATCH_INTERVAL)
        data = read_record(directory)
        if not data or alive(int(data.get("pid", 0))) or directory not in _users:
            continue
        try:
            with _start_lock(directory, timeout):
                data = read_record(directory)
                if data and not alive(int(data.get("pid", 0))):
                    log.warning("shared Chroma server of %s died; restarting it", directory)
                    _launch(directory, timeout, idle)
        except Exception as exc:  # the next check tries again; calls meanwhile fail
            log.warning("could not restart the shared Chroma server of %s: %s", directory, exc)


def _launch(directory: Path, timeout: float, idle: float) -> Endpoint:
    log = open(dirlock.meta_dir(directory) / "supervisor.log", "ab")  # noqa: SIM115
    with log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chromabridge.vectorstores.supervisor",
                str(directory),
                "--idle",
                str(idle),
                "--timeout",
                str(timeout),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives this process and its terminal's signals
        )
    _children[proc.pid] = proc
    deadline = time.monotonic() + timeout + _STARTUP
    while time.monotonic() < deadline:
        code = proc.poll()
        if code == EXIT_BUSY:
            raise StoreBusyError(dirlock.busy_message(directory, timeout))
        if code is not None:
            raise StoreError(
                f"the shared Chroma server of {directory} failed to start (exit {code}); see "
                f"{dirlock.meta_dir(directory) / 'supervisor.log'} and server.log there"
            )
        endpoint = server_info(directory)
        if endpoint is not None and endpoint.pid == proc.pid:
            return endpoint
        time.sleep(0.05)
    proc.terminate()
    raise StoreError(f"the shared Chroma server of {directory} did not start in time")


def stop_server(directory: str | os.PathLike[str], timeout: float = 30.0) -> bool:
    """Stop DIR's shared server now; False when none was running."""
    path = Path(directory).resolve()
    data = read_record(path)
    pid = int((data or {}).get("pid", 0))
    if not data or not alive(pid):
        record_file(path).unlink(missing_ok=True)
        return False
    server_pid = int(data.get("server_pid", 0))
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_record(path) is None and not alive(server_pid):
            return True
        time.sleep(0.05)
    raise StoreError(f"the shared Chroma server of {path} (pid {pid}) did not stop in {timeout:g}s")
