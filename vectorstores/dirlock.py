"""One live process per local Chroma directory: an OS file lock inside the directory.

Embedded Chroma keeps each collection's vector index in memory and writes it back whole,
so two processes on one directory overwrite each other's records without any error. A
process that opens a directory therefore takes `fcntl.flock` on ``DIR/.chromabridge/lock``
and keeps it until it exits or closes its last store there. The kernel drops the lock
when its holder dies, however it dies, so a stale lock can never block anyone.

Readers take it too: opening a `PersistentClient` and reading are not read-only (Chroma
runs its migrations on open and applies its write-ahead log to the index files on read).

flock belongs to an open file description, so two opens of one lock file in one process
would block each other; a small registry, keyed by the directory's device and inode (a
bind mount of the same directory is the same directory), shares one descriptor per
process and counts its users.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chromabridge.errors import StoreBusyError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DirectoryLock", "acquire", "holder", "meta_dir", "lock_file"]

_POLL = 0.1
_registry: dict[tuple[int, int], DirectoryLock] = {}
_registry_lock = threading.Lock()


def meta_dir(directory: Path) -> Path:
    """``DIR/.chromabridge``: the lock, the shared server's record and its log."""
    return directory / ".chromabridge"


def lock_file(directory: Path) -> Path:
    return meta_dir(directory) / "lock"


def holder(directory: Path) -> dict[str, Any] | None:
    """What the holding process wrote into the lock file (pid, command), if anything."""
    try:
        data = json.loads(lock_file(directory).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def busy_message(directory: Path, timeout: float) -> str:
    held = holder(directory) or {}
    who = f"pid {held.get('pid', '?')} ({held.get('command', 'unknown command')})"
    return (
        f"local Chroma directory {directory} is in use by another process, {who}; waited "
        f"{timeout:g}s. Embedded Chroma is single-process: two processes on one directory "
        "lose records. Open it with ChromaStore(..., path=DIR, shared=True) (CLI: --shared) "
        "in every process, or run a Chroma server (`chroma run --path DIR`) and connect "
        "with host=/--host"
    )


_SECRETISH = re.compile(r"key|token|secret|password|passwd|auth", re.IGNORECASE)


def _command() -> str:
    """This process's command line for the busy message, with secret-looking option
    values masked (another user's process shows it in an error)."""
    shown: list[str] = []
    previous = ""
    for arg in sys.argv:
        name, eq, _ = arg.partition("=")
        secret_option = previous.startswith("-") and "=" not in previous
        if secret_option and _SECRETISH.search(previous):
            shown.append("***")
        else:
            shown.append(f"{name}=***" if eq and _SECRETISH.search(name) else arg)
        previous = arg
    return " ".join(shown)[:300] or sys.executable


@dataclass(eq=False)
class DirectoryLock:
    """This process's hold on one directory; `release()` once per `acquire()`."""

    directory: Path
    fd: int | None
    key: tuple[int, int]
    users: int = 1

    def release(self) -> bool:
        """Drop one use; True when it was the last and the directory is free now."""
        with _registry_lock:
            self.users -= 1
            if self.users > 0:
                return False
            if _registry.get(self.key) is self:
                del _registry[self.key]
            if self.fd is not None:
                os.close(self.fd)  # the kernel drops the flock with the last descriptor
                self.fd = None
            return True


def _open_lock_file(directory: Path) -> int | None:
    meta = meta_dir(directory)
    try:
        meta.mkdir(mode=0o700, exist_ok=True)
        return os.open(lock_file(directory), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        pass
    try:  # a read-only directory: lock the file if some writer made one
        return os.open(lock_file(directory), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # read-only and never locked: nobody can be writing through us


def acquire(directory: str | os.PathLike[str], timeout: float) -> DirectoryLock:
    """Hold `directory` for this process, waiting up to `timeout` s; `StoreBusyError` else."""
    path = Path(directory).resolve()
    path.mkdir(parents=True, exist_ok=True)
    stat = path.stat()
    key = (stat.st_dev, stat.st_ino)
    with _registry_lock:
        held = _registry.get(key)
        if held is not None and _same_file(held, path):
            held.users += 1
            return held
        fd = _open_lock_file(path)
        if fd is not None:
            _wait(fd, path, timeout)
            _record(fd)
        lock = _registry[key] = DirectoryLock(path, fd, key)
        return lock


def _lock(fd: int) -> None:
    """Exclusive, non-blocking; BlockingIOError (or PermissionError) when held elsewhere."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # Windows (not tested here): a byte-range lock, also dropped when its holder dies
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def flock_within(fd: int, timeout: float, poll: float = _POLL) -> bool:
    """Take an exclusive flock on `fd`, trying for up to `timeout` s; False if never."""
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        try:
            _lock(fd)
            return True
        except (BlockingIOError, PermissionError):
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)


def _same_file(held: DirectoryLock, path: Path) -> bool:
    """Whether `held` still locks `path`'s lock file: a directory deleted while held and
    another created later can share an inode number, and must not share the hold."""
    if held.fd is None:
        return True
    try:
        mine, now = os.fstat(held.fd), os.stat(lock_file(path))
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def _wait(fd: int, path: Path, timeout: float) -> None:
    if not flock_within(fd, timeout):
        os.close(fd)
        raise StoreBusyError(busy_message(path, timeout))


def _record(fd: int) -> None:
    """Write who holds the lock, for the error another process will show."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": _command()}).encode(), 0)
    except OSError:  # read-only lock file: the lock still holds, only the label is old
        pass
