"""The shared-mode supervisor: one loopback `chroma run` per directory, for many processes.

Started detached (its own session) by the first `ChromaStore(..., path=DIR, shared=True)`,
as ``python -m chromabridge.vectorstores.supervisor DIR``. It

* takes DIR's directory lock (`dirlock`), so an embedded opener of DIR gets
  `StoreBusyError` while the server runs; the lock descriptor is inherited by the server
  process too, so the lock lasts while either of them lives;
* runs `chroma run --path DIR --host 127.0.0.1 --port P` and records pid, port and an
  access token in ``DIR/.chromabridge/server.json`` (mode 0600);
* restarts the server on the same port and token when it dies, so clients' next calls
  reach it again;
* stops the server, removes the record and exits once no registered client process has
  been alive for `--idle` seconds, or on SIGTERM (`chromabridge server stop DIR`).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from chromabridge.errors import StoreBusyError

from . import dirlock
from .shared import (
    EXIT_BUSY,
    TOKEN_HEADER,
    chroma_cli,
    clients_dir,
    live_clients,
    read_record,
    record_file,
)

_TOKEN_PROVIDER = "chromadb.auth.token_authn.TokenAuthenticationServerProvider"  # noqa: S105
_stopping = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    global _stopping
    _stopping = True


def _port_free(port: int) -> bool:
    """Bindable as the server binds it (SO_REUSEADDR: old connections in TIME_WAIT do
    not keep a restarted server off its port)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(preferred: int | None) -> int:
    """The port of the previous server when free (old clients find it), else any."""
    if preferred and _port_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _same_port(port: int, wait: float = 5.0) -> int:
    """The old port, so that clients' next calls reach the restarted server; another one
    only when it stays taken."""
    deadline = time.monotonic() + wait
    while not _port_free(port):
        if time.monotonic() >= deadline:
            return _free_port(None)
        time.sleep(0.1)
    return port


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the supervisor dies, so none is left orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(
    directory: Path, port: int, token: str, lock_fd: int | None, log: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        # Honoured by Python Chroma servers; chroma 1.5's Rust server ignores them.
        "CHROMA_SERVER_AUTHN_PROVIDER": _TOKEN_PROVIDER,
        "CHROMA_SERVER_AUTHN_CREDENTIALS": token,
        "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER": TOKEN_HEADER,
    }
    command = [chroma_cli(), "run", "--path", str(directory), "--host", "127.0.0.1"]
    return subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=dirlock.meta_dir(directory),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        pass_fds=(lock_fd,) if lock_fd is not None else (),
        preexec_fn=_die_with_parent,
    )


def _up(port: int, token: str, proc: subprocess.Popen[bytes], limit: float) -> bool:
    deadline = time.monotonic() + limit
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    while time.monotonic() < deadline and proc.poll() is None and not _stopping:
        try:
            request = urllib.request.Request(url, headers={TOKEN_HEADER: token})
            with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _write_record(directory: Path, data: dict[str, object]) -> None:
    path = record_file(directory)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve(directory: Path, idle: float, timeout: float) -> int:
    """Run until idle or told to stop; the exit status says why it could not start."""
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    try:
        lock = dirlock.acquire(directory, timeout)
    except StoreBusyError as exc:
        print(exc, file=sys.stderr, flush=True)
        return EXIT_BUSY
    previous = read_record(directory) or {}
    # A record left by a supervisor that died: keep its port and token, so the stores
    # still open in client processes reach the new server unchanged.
    port = _free_port(int(previous.get("port") or 0))
    token = str(previous.get("token") or "") or secrets.token_urlsafe(32)
    log = os.open(  # one supervisor's log: restarts append, a new supervisor starts afresh
        dirlock.meta_dir(directory) / "server.log",
        os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
        0o600,
    )
    clients_dir(directory).mkdir(mode=0o700, exist_ok=True)
    last_client = time.monotonic()
    proc: subprocess.Popen[bytes] | None = None
    try:
        while not _stopping:
            if proc is None or proc.poll() is not None:
                if proc is not None:
                    print(
                        f"chroma server exited ({proc.returncode}); restarting",
                        file=sys.stderr,
                        flush=True,
                    )
                    port = _same_port(port)
                proc = _start(directory, port, token, lock.fd, log)
                if not _up(port, token, proc, 60):
                    if _stopping:
                        break
                    print("chroma server did not come up", file=sys.stderr, flush=True)
                    return 1
                _write_record(
                    directory,
                    {"pid": os.getpid(), "server_pid": proc.pid, "port": port, "token": token},
                )
            if live_clients(directory):
                last_client = time.monotonic()
            elif time.monotonic() - last_client >= idle:
                break
            time.sleep(0.2)
    finally:
        record_file(directory).unlink(missing_ok=True)
        if proc is not None:
            _stop(proc)
        os.close(log)
        lock.release()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chromabridge.vectorstores.supervisor")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--idle", type=float, default=300.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    return serve(args.directory.resolve(), args.idle, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
