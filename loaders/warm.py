"""Idle loader workers kept warm between loads, so each load does not pay a start-up.

A worker's start-up (a fresh interpreter, unstructured's imports, spaCy's model) costs
about two seconds on a small machine: paid once per `DirectoryLoader.lazy_load`, it was
the whole price of the per-file budgets on a short corpus, and a pipeline that loads
folder after folder paid it for each. A pool that closes gives its idle, healthy workers
here instead of stopping them; the next pool with the same settings takes them back.

Bounds: at most `MAX_IDLE` workers wait, each at most `IDLE_TIMEOUT` seconds; then a
timer stops them. `stop_idle_workers()` stops them at once (tests, or a program about to
measure its memory); interpreter exit stops them too. A forked child forgets the
parent's workers without touching them: they are the parent's to stop.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Hashable
from typing import Protocol

__all__ = ["IDLE_TIMEOUT", "MAX_IDLE", "Idle", "give", "stop_idle_workers", "take"]

#: Seconds an idle worker waits for the next load before it is stopped.
IDLE_TIMEOUT = 60.0
#: Idle workers kept at most, across all settings: a few hundred MB each.
MAX_IDLE = max(2, os.cpu_count() or 1)


class Idle(Protocol):
    """What the stash needs of a worker."""

    def is_alive(self) -> bool: ...

    def stop(self) -> None: ...


_lock = threading.Lock()
_idle: list[tuple[Hashable, Idle, float]] = []  # (settings, worker, idle since)
_timer: threading.Timer | None = None
#: Set at interpreter exit: a pool closed after that (a generator finalized during
#: shutdown) stops its workers, since nothing would stop them later and a live worker
#: holds the inherited stdout open, so whoever waits for this process's output hangs.
_exiting = False


def take(key: Hashable) -> Idle | None:
    """A live idle worker started with settings `key`, or None."""
    while True:
        with _lock:
            index = next((i for i, (k, _, _) in enumerate(_idle) if k == key), None)
            if index is None:
                return None
            _, worker, _ = _idle.pop(index)
        if worker.is_alive():
            return worker
        worker.stop()  # it died while idle: reap it and look again


def give(key: Hashable, worker: Idle) -> None:
    """Keep `worker` (idle, healthy) for the next pool with settings `key`."""
    global _timer
    if _exiting or sys.is_finalizing():
        worker.stop()
        return
    extra: list[Idle] = []
    with _lock:
        _idle.append((key, worker, time.monotonic()))
        while len(_idle) > MAX_IDLE:  # the longest idle goes first
            extra.append(_idle.pop(0)[1])
        if _timer is None:
            _timer = threading.Timer(IDLE_TIMEOUT, _reap)
            _timer.daemon = True
            _timer.start()
    for surplus in extra:
        surplus.stop()


def _reap() -> None:
    """Stop the workers idle for `IDLE_TIMEOUT`; come back for the rest."""
    global _timer
    now = time.monotonic()
    with _lock:
        expired = [w for _, w, since in _idle if now - since >= IDLE_TIMEOUT]
        _idle[:] = [entry for entry in _idle if now - entry[2] < IDLE_TIMEOUT]
        _timer = None
        if _idle:
            wait = max(0.1, IDLE_TIMEOUT - (now - min(since for _, _, since in _idle)))
            _timer = threading.Timer(wait, _reap)
            _timer.daemon = True
            _timer.start()
    for worker in expired:
        worker.stop()


def stop_idle_workers() -> int:
    """Stop every idle loader worker now; returns how many were stopped."""
    global _timer
    with _lock:
        workers = [w for _, w, _ in _idle]
        _idle.clear()
        if _timer is not None:
            _timer.cancel()
            _timer = None
    for worker in workers:
        worker.stop()
    return len(workers)


def _forget() -> None:
    """In a forked child: the idle workers (and the timer thread) are the parent's."""
    global _timer, _lock
    _idle.clear()
    _timer = None
    _lock = threading.Lock()


def _at_exit() -> None:
    global _exiting
    _exiting = True
    stop_idle_workers()


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
