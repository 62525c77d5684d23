"""A persist directory that is read-only or runs out of space: a clear StoreError, no damage.

A full disk is then given room again (the tmpfs is grown, as a user frees space) and a
fresh process must find every record written before the disk filled up.

Root ignores permission bits, so read-only is a real read-only bind mount of a store
directory, and "full" is a real tiny tmpfs. Both need mount rights (root with
CAP_SYS_ADMIN); without them the tests skip and say why. What survived is checked from a
fresh process, since chromadb keeps one client per path alive inside a process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ChromaBridgeError, StoreError
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

pytestmark = pytest.mark.slow
TESTS = Path(__file__).resolve().parent

READ_BACK = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from chromabridge.embedders import FakeEmbedder
from chromabridge.vectorstores import ChromaStore
store = ChromaStore(sys.argv[3], embedder=FakeEmbedder(), path=sys.argv[1])
print(json.dumps({c.id: c.text for c in store.get()}))
"""


def read_back(path: Path, name: str) -> dict[str, str]:
    """The records a fresh process sees in the store at `path`."""
    out = subprocess.run(
        [sys.executable, "-c", READ_BACK, str(path), str(TESTS), name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True, timeout=30)


@contextmanager
def mounted(*args: str, target: Path) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    try:
        _mount(*args, str(target))
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"cannot mount here (needs root with CAP_SYS_ADMIN): {detail!r}")
    try:
        yield target
    finally:
        _umount(target)


def chunks(prefix: str, n: int, size: int = 40) -> list[Chunk]:
    return [
        Chunk.from_text(f"{prefix} {i} " + "lorem ipsum dolor " * (size // 18 + 1), doc_id=prefix)
        for i in range(n)
    ]


def test_read_only_directory_gives_store_error_and_keeps_data(tmp_path: Path) -> None:
    name = f"ro-{uuid.uuid4().hex[:8]}"
    data = tmp_path / "data"
    with ChromaStore(name, embedder=FakeEmbedder(), path=data) as store:
        store.add(chunks("before", 50))
    before = read_back(data, name)  # a fresh process: this one must let go of data first
    assert len(before) == 50
    ro = tmp_path / "ro"
    with mounted("--bind", str(data), target=ro):
        _mount("-o", "remount,ro,bind", str(ro))
        with pytest.raises(OSError):
            (ro / "probe").write_text("x")  # really read-only, even for root
        try:
            ro_store = ChromaStore(name, embedder=FakeEmbedder(), path=ro)
        except StoreError as exc:  # refusing to open is clear enough...
            assert str(ro) in str(exc)
        else:  # ...and so is refusing the write
            with pytest.raises(StoreError):
                ro_store.add(chunks("after", 20))
            with pytest.raises(StoreError):
                ro_store.delete(doc_id="before")
            ro_store.close()
    assert read_back(data, name) == before


def test_full_disk_gives_store_error_and_keeps_earlier_data(tmp_path: Path) -> None:
    name = f"full-{uuid.uuid4().hex[:8]}"
    with mounted("-t", "tmpfs", "-o", "size=3m", "tmpfs", target=tmp_path / "tiny") as tiny:
        path = tiny / "db"
        store = ChromaStore(name, embedder=FakeEmbedder(), path=path)
        attempted: dict[str, str] = {}

        def add(batch: list[Chunk]) -> None:
            attempted.update((c.id, c.text) for c in batch)
            store.add(batch)

        add(chunks("early", 30))
        store.close()  # the fresh reader below needs the directory
        early = read_back(path, name)
        store = ChromaStore(name, embedder=FakeEmbedder(), path=path)
        assert len(early) == 30
        failure: BaseException | None = None
        for round_ in range(40):  # ~40 x 0.5 MB: far beyond 3 MB, bounded
            try:
                add(chunks(f"fill{round_}", 250, size=2000))
            except Exception as exc:
                failure = exc
                break
        assert failure is not None, "the tmpfs never filled up"
        assert isinstance(failure, ChromaBridgeError), repr(failure)
        assert isinstance(failure, StoreError), repr(failure)
        # Reads while the disk is full may fail too (Chroma applies its log on read), but
        # as a StoreError; once space is freed, everything written before is there.
        with pytest.raises(StoreError):
            add(chunks("still-full", 250, size=2000))
        _mount("-o", "remount,size=64m", str(tiny))
        store.close()
        after = read_back(path, name)
        for record_id, text in early.items():
            assert after.get(record_id) == text, f"{record_id} lost after a full disk"
        # nothing half-stored: every surviving record is a complete one we wrote
        # Nothing half-stored or corrupt: every record is exactly one we tried to write.
        # (An add that raised may still have landed: Chroma can log a write durably and
        # then fail compacting it. Upserts are idempotent, so re-running the add or the
        # pipeline is the remedy; docs/reliability.md says so.)
        for record_id, text in after.items():
            assert attempted.get(record_id) == text, f"{record_id} is not a record we wrote"
