"""Worker processes that load one file at a time under a wall-clock and a memory budget.

A parser given a hostile file (an XML bomb, a PDF of a million empty pages, deeply
nested HTML) can run for minutes or take gigabytes; in a process of its own it can be
stopped. Each worker receives one loader at a time. Before the file it lowers its own
`RLIMIT_DATA` (heap and private memory, not the address space that libraries merely
reserve) to what it holds now plus `file_memory`, so an allocation past the budget fails
with `MemoryError` inside the parser instead of pushing the machine into swap; the parent
kills a worker that runs past `file_timeout` (measured from when the worker starts on
the file, after its one-off import of unstructured). Either way the file becomes a
report entry and a fresh worker takes the next file. Output keeps the input order.

Memory budgets use Linux's `/proc` and `RLIMIT_DATA`; elsewhere only the time budget
applies.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from multiprocessing import get_context, spawn
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from chromabridge.types import Document

from . import warm
from .errors import FileMemoryError, FileTimeoutError, LoaderError, WorkerCrashError
from .file import FileLoader
from .report import FileFailure
from .text import TextLoader

__all__ = ["Budget", "Outcome", "WorkerPool", "failed", "load_one"]

#: What the worker says once it begins a file: the clock starts then.
_STARTED = "started"
#: How long a worker may take to exit after its pipe is closed, before it is killed.
_EXIT_GRACE = 2.0
#: How often the parent samples a busy worker's peak memory under a memory budget.
_SAMPLE_EVERY = 0.25
#: Deaths that native code dies when an allocation fails (C++ `std::bad_alloc` aborts).
_ALLOCATION_DEATHS = frozenset(
    getattr(signal, name)
    for name in ("SIGABRT", "SIGSEGV", "SIGBUS", "SIGKILL")
    if hasattr(signal, name)
)

FileSource = FileLoader | TextLoader


@dataclass(frozen=True, slots=True)
class Outcome:
    """What loading one file gave: picklable, exceptions already reported."""

    source: str
    documents: list[Document]
    failure: FileFailure | None = None
    error: LoaderError | None = None
    #: Peak resident memory of the worker while it loaded this file (bytes; 0 unknown).
    peak_rss: int = 0
    #: Seconds the file took to load (0: refused before loading).
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Budget:
    """Per-file limits: `timeout` seconds of wall clock, `memory` bytes above the worker's
    own size before the file; None: no limit."""

    timeout: float | None = None
    memory: int | None = None


def failed(loader: FileSource, error: LoaderError, peak_rss: int = 0) -> Outcome:
    failure = FileFailure.of(loader.source, error, loader.id)
    return Outcome(loader.source, [], failure, error, peak_rss)


def load_one(loader: FileSource) -> Outcome:
    """Load one file in this process; a `LoaderError` becomes the outcome's failure."""
    start = time.perf_counter()
    try:
        return Outcome(loader.source, loader.load(), seconds=time.perf_counter() - start)
    except LoaderError as exc:
        return replace(failed(loader, exc), seconds=time.perf_counter() - start)


def _status(pid: int | str, key: str) -> int:
    """A `/proc/<pid>/status` memory figure in bytes (0 where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _reset_peak() -> None:
    """Start VmHWM (peak RSS) afresh, so each file's peak is its own."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _out_of_memory(error: BaseException | None) -> bool:
    """True when an allocation failed somewhere in the chain (Python's MemoryError, an
    ENOMEM from the OS, libxml2's "Memory allocation failed" as an lxml syntax error)."""
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, MemoryError) or getattr(error, "errno", None) == errno.ENOMEM:
            return True
        if "memory allocation failed" in str(error).lower():
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _budgeted(loader: FileSource, memory: int | None) -> tuple[Outcome, bool]:
    """Load under the memory budget; True when the worker should exit afterwards."""
    try:
        import resource
    except ImportError:  # not POSIX: the time budget still holds
        return load_one(loader), False
    base = _status("self", "VmData")
    if memory is None or not base:
        return load_one(loader), False
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = base + memory if hard == resource.RLIM_INFINITY else min(base + memory, hard)
    crashed: BaseException | None = None
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    try:
        outcome = load_one(loader)
    except MemoryError as exc:
        crashed = exc
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    if crashed is None and not _out_of_memory(outcome.error):
        return outcome, False
    peak = _status("self", "VmHWM")
    error = FileMemoryError(
        f"{loader.source} needed more than file_memory={memory} bytes "
        f"({memory / 2**20:.0f} MiB) to parse (worker peak {peak / 2**20:.0f} MiB resident); "
        "not loaded: raise file_memory if the file is genuine",
        limit="file_memory",
        measured=peak,
    )
    return failed(loader, error, peak), True  # a fresh process: no half-freed heap


def _warm_up() -> None:
    """Pay unstructured's one-off costs (imports, spaCy's model) before the first file's
    clock and memory budget start: they are the worker's, not the file's."""
    with contextlib.suppress(Exception):
        from unstructured.partition.text import partition_text

        partition_text(text="Warm up the worker. It loads the sentence model once.")


def _serve(conn: Connection, memory: int | None) -> None:
    """A worker's loop: one loader in, `_STARTED`, one `Outcome` out, until the pipe closes."""
    from chromabridge.loaders.base import normalize
    from chromabridge.quiet import QUIET_ENV, quiet

    if os.environ.get(QUIET_ENV):  # the parent asked for quiet: its notices stay off here too
        quiet()

    normalize({})  # imports chromadb's metadata types: every document needs them
    warmed = False
    while True:
        try:
            loader = conn.recv()
        except (EOFError, OSError):
            return
        except Exception as exc:  # a loader class this process cannot import (__main__)
            conn.send(_STARTED)
            conn.send(f"cannot load this file in a worker process: {type(exc).__name__}: {exc}")
            continue
        if not warmed and isinstance(loader, FileLoader):
            _warm_up()
            warmed = True
        _reset_peak()
        conn.send(_STARTED)
        try:
            outcome, retire = _budgeted(loader, memory)
        except Exception as exc:  # a loader bug must not take the worker's reply with it
            error = LoaderError(f"{loader.source}: unexpected {type(exc).__name__}: {exc}")
            outcome, retire = failed(loader, error), False
        if not outcome.peak_rss:
            outcome = replace(outcome, peak_rss=_status("self", "VmHWM"))
        try:
            conn.send(outcome)
        except Exception:  # an unpicklable cause: the report entry says all that matters
            conn.send(replace(outcome, error=None))
        if retire:
            return


class _Child:
    """A worker started as a fresh interpreter running only this module: unlike
    multiprocessing's spawn it never re-runs the caller's `__main__`, so a script needs
    no ``if __name__ == "__main__":`` guard to load a directory."""

    def __init__(self, memory: int | None) -> None:
        ours, theirs = socket.socketpair()
        code = f"from {__name__} import _main; _main({theirs.fileno()}, {memory!r})"
        with theirs:
            self._popen = subprocess.Popen(
                [spawn.get_executable(), "-c", code], pass_fds=[theirs.fileno()]
            )
        self.conn = Connection(ours.detach())
        self.conn.send(list(sys.path))  # so loaders pickled by reference import there too
        self.pid: int | None = self._popen.pid

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)


def _main(fd: int, memory: int | None) -> None:
    """Entry point of a `_Child`: take the parent's import path, then serve."""
    conn = Connection(fd)
    sys.path[:] = conn.recv()
    _serve(conn, memory)


class _Worker:
    """One worker process and the file it is on."""

    def __init__(self, mp_context: str | None, memory: int | None) -> None:
        self.process: Any
        if mp_context in (None, "spawn") and os.name == "posix":
            self.process = _Child(memory)
            self.conn = self.process.conn
        else:  # "fork", "forkserver", or no fd passing (Windows): multiprocessing
            context: Any = get_context(mp_context)
            self.conn, child = context.Pipe()
            self.process = context.Process(
                target=_serve, args=(child, memory), daemon=True, name="chromabridge-loader"
            )
            self.process.start()
            child.close()
        self.slot: _Slot | None = None
        self.started: float | None = None
        #: Peak RSS seen by the parent while the current file loads (bytes).
        self.peak = 0

    def is_alive(self) -> bool:
        return bool(self.process.is_alive())

    def sample(self) -> int:
        self.peak = max(self.peak, _status(self.process.pid or 0, "VmHWM"))
        return self.peak

    def stop(self) -> None:
        """Kill at once if busy, else let it exit on the closed pipe."""
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.slot is None:
            self.process.join(_EXIT_GRACE)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


@dataclass(slots=True)
class _Slot:
    loader: FileSource | None
    outcome: Outcome | None


class WorkerPool:
    """`size` worker processes loading files under `budget`, results in input order.

    Workers come from, and idle ones go back to, the warm stash (`warm.py`): a second
    load with the same settings starts no process.
    """

    def __init__(self, size: int, budget: Budget, mp_context: str | None = None) -> None:
        self.size = size
        self.budget = budget
        self._mp_context = mp_context
        # A worker serves only pools of the settings it was started with.
        self._settings = (mp_context, budget.memory, tuple(sys.path))
        self._workers: list[_Worker] = []
        #: Largest per-file peak RSS a worker reported (bytes).
        self.peak_rss = 0

    def map(self, items: Iterable[Outcome | FileSource]) -> Iterator[Outcome]:
        """Outcomes of `items` in order; at most `2 * size` files read ahead."""
        source = iter(items)
        pending: deque[_Slot] = deque()
        waiting: deque[_Slot] = deque()
        more = True
        try:
            while True:
                while more and len(pending) < 2 * self.size:
                    item = next(source, None)
                    if item is None:
                        more = False
                    elif isinstance(item, Outcome):
                        pending.append(_Slot(None, item))
                    else:
                        pending.append(_Slot(item, None))
                        waiting.append(pending[-1])
                if pending and pending[0].outcome is not None:
                    yield pending.popleft().outcome  # type: ignore[misc]
                    continue
                if not pending:
                    return
                self._dispatch(waiting)
                self._collect()
        finally:
            self.close()

    def close(self) -> None:
        """Idle, healthy workers go back to the warm stash; busy ones are stopped."""
        for worker in self._workers:
            if worker.slot is None and worker.is_alive():
                worker.peak, worker.started = 0, None
                warm.give(self._settings, worker)
            else:
                worker.stop()
        self._workers.clear()

    def _dispatch(self, waiting: deque[_Slot]) -> None:
        while waiting:
            worker = next((w for w in self._workers if w.slot is None), None)
            if worker is None:
                if len(self._workers) >= self.size:
                    return
                kept = warm.take(self._settings)
                worker = (
                    kept
                    if isinstance(kept, _Worker)
                    else _Worker(self._mp_context, self.budget.memory)
                )
                self._workers.append(worker)
            slot = waiting.popleft()
            assert slot.loader is not None
            try:
                worker.conn.send(slot.loader)
            except (OSError, EOFError):  # it exited after a memory failure: replace it
                self._retire(worker)
                waiting.appendleft(slot)
                continue
            except Exception as exc:  # the loader cannot be pickled
                error = LoaderError(f"{slot.loader.source}: cannot hand to a worker: {exc}")
                slot.outcome = failed(slot.loader, error)
                continue
            worker.slot, worker.started = slot, None

    def _collect(self) -> None:
        """Wait for the next reply, death or deadline among the busy workers."""
        busy = [w for w in self._workers if w.slot is not None]
        if not busy:  # nothing in flight (a loader that could not be sent): no wait
            return
        timeout = self.budget.timeout
        deadlines = [w.started + timeout for w in busy if w.started is not None and timeout]
        delay = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        if self.budget.memory:  # native code may die of a failed allocation: sample first
            delay = _SAMPLE_EVERY if delay is None else min(delay, _SAMPLE_EVERY)
        ready = wait([w.conn for w in busy], delay)
        now = time.monotonic()
        for worker in busy:
            slot = worker.slot
            assert slot is not None and slot.loader is not None
            if self.budget.memory and worker.started is not None:
                worker.sample()
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    error = self._crash(worker, slot.loader)
                    slot.outcome = failed(slot.loader, error, worker.peak)
                    self.peak_rss = max(self.peak_rss, worker.peak)
                    self._retire(worker)
                    continue
                if message == _STARTED:
                    worker.started, worker.peak = now, 0
                    continue
                if isinstance(message, str):  # the worker could not unpickle the loader
                    message = failed(slot.loader, LoaderError(f"{slot.loader.source}: {message}"))
                if worker.started is not None:
                    message = replace(message, seconds=now - worker.started)
                slot.outcome = message
                self.peak_rss = max(self.peak_rss, message.peak_rss)
                worker.slot = worker.started = None
                if isinstance(message.error, FileMemoryError):
                    self._retire(worker)
            elif timeout and worker.started is not None and now - worker.started >= timeout:
                peak = worker.sample()
                error = FileTimeoutError(
                    f"{slot.loader.source}: still parsing after {now - worker.started:.1f} s, "
                    f"over file_timeout={timeout:g} s; its worker was stopped and replaced "
                    "(raise file_timeout if the file is genuine)",
                    limit="file_timeout",
                    measured=now - worker.started,
                )
                slot.outcome = failed(slot.loader, error, peak)
                self.peak_rss = max(self.peak_rss, peak)
                self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        worker.stop()
        self._workers.remove(worker)

    def _crash(self, worker: _Worker, loader: FileSource) -> LoaderError:
        worker.process.join(_EXIT_GRACE)
        code = worker.process.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        memory = self.budget.memory
        if memory and code is not None and -code in _ALLOCATION_DEATHS:
            return FileMemoryError(
                f"the worker died ({how}) loading {loader.source} under "
                f"file_memory={memory} bytes ({memory / 2**20:.0f} MiB), resident at least "
                f"{worker.peak / 2**20:.0f} MiB: native parser code dies this way when an "
                "allocation past the budget fails; raise file_memory if the file is genuine",
                limit="file_memory",
                measured=worker.peak,
            )
        return WorkerCrashError(
            f"the worker process died ({how}) while loading {loader.source}: a crashing "
            "parser or the kernel's out-of-memory killer; a fresh worker takes the next file"
        )
