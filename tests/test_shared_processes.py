"""Several real processes on one local directory: nothing is lost, or a clear busy error.

Default mode: one process holds the directory (an OS lock); the others wait and then
raise `StoreBusyError`, and a killed holder never blocks anyone. Shared mode: every
process goes through the directory's one loopback `chroma run`, started on demand,
restarted when it dies, stopped when idle or by `chromabridge server stop`.

Every check of "nothing lost" runs in a fresh process: each record a writer was told was
written must be in `get()` and be the top hit for a query by its own vector (the failure
this guards against: records that `count()` reports but the vector index has lost).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chromabridge.cli import app
from chromabridge.errors import StoreBusyError, StoreError
from chromabridge.retrievers.lexical import LexicalIndex
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.shared import server_info, stop_server

TESTS = Path(__file__).resolve().parent
DIM = 16
RECORDS = 300
BATCH = 50

WRITER = r"""
import json, sys, time
import numpy as np
from chromabridge.retrievers.lexical import LexicalIndex
from chromabridge.errors import StoreBusyError
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.shared import server_info

directory, mode, writer, n, batch, timeout = sys.argv[1:7]
writer, n, batch, timeout = int(writer), int(n), int(batch), float(timeout)
extra = {"shared": True, "idle": 20.0} if mode == "shared" else {}
vectors = np.random.default_rng(writer).standard_normal((n, 16)).tolist()
try:
    store = ChromaStore("many", path=directory, timeout=timeout, **extra)
except StoreBusyError as exc:
    print(json.dumps({"busy": str(exc)}), flush=True)
    sys.exit(0)
info = server_info(directory) if mode == "shared" else None
print(json.dumps({"port": info.port if info else None}), flush=True)
for lo in range(0, n, batch):
    ids = [f"w{writer}-{i}" for i in range(lo, min(n, lo + batch))]
    chunks = [Chunk(id=i, doc_id=f"w{writer}", text=f"writer {writer} record {i}") for i in ids]
    store.add(chunks, embeddings=vectors[lo : lo + len(ids)])
    print(json.dumps({"written": ids}), flush=True)
"""

CHECKER = r"""
import json, sys
import numpy as np
from chromabridge.vectorstores import ChromaStore

directory, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
claimed = json.loads(sys.stdin.read())
extra = {"shared": True, "idle": 20.0} if mode == "shared" else {}
store = ChromaStore("many", path=directory, **extra)
everything = [i for ids in claimed.values() for i in ids]
found = set(store.collection.get(ids=everything, include=[])["ids"]) if everything else set()
missing, not_top = [], []
for writer, ids in claimed.items():
    vectors = np.random.default_rng(int(writer)).standard_normal((n, 16))
    wanted = [(i, vectors[int(i.split("-")[1])].tolist()) for i in ids]
    missing += [i for i, _ in wanted if i not in found]
    for lo in range(0, len(wanted), 100):
        part = wanted[lo : lo + 100]
        top = store.collection.query(query_embeddings=[v for _, v in part], n_results=1, include=[])
        not_top += [i for (i, _), got in zip(part, top["ids"]) if got[:1] != [i]]
print(json.dumps({"count": store.count(), "missing": missing, "not_top": not_top}))
"""


def _script(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def start_writers(
    tmp: Path, directory: Path, mode: str, writers: int, timeout: float
) -> list[subprocess.Popen[str]]:
    script = _script(tmp, "writer.py", WRITER)
    fixed = [str(RECORDS), str(BATCH), str(timeout)]
    return [
        subprocess.Popen(
            [sys.executable, str(script), str(directory), mode, str(w), *fixed],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]


def outcomes(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Per writer: exit code, ids it was told were written, busy message, server port."""
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        results.append(
            {
                "code": proc.returncode,
                "stderr": err[-3000:],
                "written": [i for line in lines for i in line.get("written", [])],
                "busy": next((line["busy"] for line in lines if "busy" in line), None),
                "port": next((line["port"] for line in lines if "port" in line), None),
            }
        )
    return results


def check_fresh(tmp: Path, directory: Path, mode: str, claimed: dict[str, list[str]]) -> Any:
    script = _script(tmp, "checker.py", CHECKER)
    proc = subprocess.run(
        [sys.executable, str(script), str(directory), mode, str(RECORDS)],
        input=json.dumps(claimed),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def claimed_by(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {str(w): r["written"] for w, r in enumerate(results) if r["written"]}


def wait_for(condition: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def gone(pid: int) -> bool:
    """No such process, or only a zombie left for whoever reaps orphans."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# -- default mode ------------------------------------------------------------------------


@pytest.mark.slow
def test_default_mode_writers_succeed_or_get_busy_and_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    results = outcomes(start_writers(tmp_path, directory, "default", 3, 0.0))
    for r in results:
        assert r["code"] == 0, r["stderr"]
        assert (r["busy"] is None) != (not r["written"]), r  # succeeded xor busy
        if r["busy"] is None:
            assert len(r["written"]) == RECORDS
    succeeded = [r for r in results if r["busy"] is None]
    assert succeeded, "someone must get the directory"
    for r in results:
        if r["busy"]:
            assert "shared=True" in r["busy"] and "pid " in r["busy"], r["busy"]
    claimed = claimed_by(results)
    seen = check_fresh(tmp_path, directory, "default", claimed)
    assert seen["missing"] == [] and seen["not_top"] == []
    assert seen["count"] == RECORDS * len(succeeded)


HOLDER = r"""
import sys, time
from chromabridge.vectorstores import ChromaStore
store = ChromaStore("held", path=sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""


def test_busy_error_names_the_holder_and_a_killed_holder_blocks_no_one(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    script = _script(tmp_path, "holder.py", HOLDER)
    holder = subprocess.Popen(
        [sys.executable, str(script), str(directory), "--api-key", "sk-do-not-show"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(StoreBusyError) as caught:
            ChromaStore("held", path=directory, timeout=0.5)
        assert time.monotonic() - started >= 0.5
        message = str(caught.value)
        assert f"pid {holder.pid}" in message and "holder.py" in message
        assert "sk-do-not-show" not in message and "--api-key ***" in message
        assert "shared=True" in message and "chroma run" in message
        assert isinstance(caught.value, StoreError)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    started = time.monotonic()
    with ChromaStore("held", path=directory, timeout=0) as store:  # no wait at all
        store.add([Chunk(id="a", doc_id="d", text="after the kill")], embeddings=[[1.0] * DIM])
        assert store.count() == 1
    assert time.monotonic() - started < 5


LOCKED = r"""
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(9)
"""


def test_one_process_may_open_a_directory_many_times_and_close_releases_it(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "db"
    first = ChromaStore("one-a", path=directory, timeout=0)
    second = ChromaStore("one-b", path=directory, timeout=0)  # same process: no conflict
    lock = directory / ".chromabridge" / "lock"
    assert json.loads(lock.read_text())["pid"] == os.getpid()

    def locked() -> bool:
        probe = [sys.executable, "-c", LOCKED, str(lock)]
        return subprocess.run(probe, timeout=60, check=False).returncode == 9

    first.close()
    assert locked()  # `second` still holds the directory
    second.close()
    assert not locked()
    with ChromaStore("one-a", path=directory, timeout=0) as reopened:  # fresh from disk
        assert reopened.count() == 0
    assert not locked()


# -- shared mode -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.server
def test_shared_mode_writers_at_once_lose_nothing_and_share_one_server(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    results = outcomes(start_writers(tmp_path, directory, "shared", 3, 30.0))
    for r in results:
        assert r["code"] == 0 and r["busy"] is None, r["stderr"] or r["busy"]
        assert len(r["written"]) == RECORDS
    assert len({r["port"] for r in results}) == 1, "simultaneous starters got two servers"
    claimed = claimed_by(results)
    seen = check_fresh(tmp_path, directory, "shared", claimed)
    assert seen == {"count": 3 * RECORDS, "missing": [], "not_top": []}

    # An embedded opener is refused while the server runs; `server stop` ends it, after
    # which the same directory opens embedded with everything in it.
    info = server_info(directory)
    assert info is not None
    with pytest.raises(StoreBusyError):
        ChromaStore("many", path=directory, timeout=0.2)
    cli = CliRunner()
    stats = cli.invoke(app, ["stats", "-c", "many", "--path", str(directory), "--shared", "--json"])
    assert stats.exit_code == 0 and json.loads(stats.output)["records"] == 3 * RECORDS
    assert server_info(directory) == info  # the CLI joined the running server
    result = cli.invoke(app, ["server", "stop", str(directory)])
    assert result.exit_code == 0 and "stopped" in result.output, result.output
    assert server_info(directory) is None and gone(info.server_pid)
    with ChromaStore("many", path=directory, timeout=5) as embedded:  # same files, embedded
        assert embedded.count() == 3 * RECORDS


@pytest.mark.slow
@pytest.mark.server
def test_shared_writes_are_seen_by_other_processes_within_a_second_and_restart(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "db"
    store = ChromaStore("many", path=directory, shared=True, idle=1.0)
    restarted = None
    try:
        assert store.is_async_native
        (writer,) = start_writers(tmp_path, directory, "shared", 1, 30.0)
        assert writer.stdout is not None
        first: list[str] = []
        for line in writer.stdout:
            first = json.loads(line).get("written", [])
            if first:
                break
        seen_at = time.monotonic()
        wait_for(lambda: len(store.get(ids=first)) == len(first), 1.0, "another's write")
        assert time.monotonic() - seen_at <= 1.0
        (result,) = outcomes([writer])
        assert result["code"] == 0, result["stderr"]

        # SIGKILL the Chroma server: the supervisor restarts it on the same port, and
        # this process's store works again without being reopened.
        info = server_info(directory)
        assert info is not None
        os.kill(info.server_pid, signal.SIGKILL)
        wait_for(
            lambda: (
                (now := server_info(directory)) is not None and now.server_pid != info.server_pid
            ),
            60,
            "the restarted server",
        )
        restarted = server_info(directory)
        assert restarted is not None and restarted.port == info.port
        assert store.count() == RECORDS

        # SIGKILL the supervisor: its server follows it (parent-death signal), this
        # process notices the dead supervisor and starts a new one, on the same port.
        os.kill(restarted.pid, signal.SIGKILL)
        wait_for(
            lambda: (now := server_info(directory)) is not None and now.pid != restarted.pid,
            60,
            "a new supervisor",
        )
        old_server = restarted.server_pid
        wait_for(lambda: gone(old_server), 30, "the orphaned server to exit")
        restarted = server_info(directory)
        assert restarted is not None and restarted.port == info.port
        assert store.count() == RECORDS
        assert asyncio.run(store.acount()) == RECORDS  # AsyncHttpClient: truly async

        # The hybrid retriever's BM25 index persists next to the directory, as embedded.
        index = LexicalIndex(store)
        assert len(index) == RECORDS
        assert index.path == tmp_path / "db.bm25" / "many.npz" and index.path.exists()
        index.close()
    finally:
        store.close()
    # Idle stop: no client process left alive, so the server goes after `idle` seconds.
    wait_for(lambda: server_info(directory) is None, 30, "the idle stop")
    assert restarted is not None
    wait_for(lambda: gone(restarted.server_pid), 15, "the server process to exit")


def test_shared_needs_a_directory() -> None:
    with pytest.raises(ValueError, match="shared=True needs path="):
        ChromaStore("nope", shared=True)
    assert stop_server(Path("/nonexistent-chromabridge-dir")) is False
    result = CliRunner().invoke(app, ["stats", "--host", "localhost", "--shared"])
    assert result.exit_code == 2 and "--shared" in result.output


# The pipeline's crash-safety through a shared server: the Chroma server is SIGKILLed
# before the Nth write of an ingest; a re-run must end exactly where an uninterrupted run
# ends.
PIPELINE = r"""
import json, os, signal, sys
sys.path.insert(0, sys.argv[4])
from chromabridge.embedders import FakeEmbedder
from chromabridge import Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.loaders import DirectoryLoader
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.shared import server_info

corpus, db, shared = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
kill_at = int(os.environ.get("KILL_SERVER_AT_WRITE", "0"))
embedder = FakeEmbedder()
extra = {"shared": True, "idle": 2.0} if shared else {}
store = ChromaStore("crash", embedder=embedder, path=db, **extra)
store._batch_size = 2
collection = store.collection
writes = 0

def killing(real):
    def write(*args, **kwargs):
        global writes
        writes += 1
        if writes == kill_at:
            os.kill(server_info(db).server_pid, signal.SIGKILL)
        return real(*args, **kwargs)
    return write

collection.add = killing(collection.add)
collection.upsert = killing(collection.upsert)
collection.delete = killing(collection.delete)
try:
    report = Pipeline(
        DirectoryLoader(corpus), RecursiveChunker(60, 10), embedder, store,
        mode="full", batch_size=4, progress=False, cache=False,
    ).run()
except Exception as exc:
    print(json.dumps({"failed": type(exc).__name__}))
    sys.exit(3)
got = collection.get(include=["documents", "metadatas", "embeddings"])
records = sorted(
    [i, d, m, [round(float(x), 5) for x in e]]
    for i, d, m, e in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
)
print(json.dumps({"writes": writes, "records": records, "failures": len(report.failures)}))
"""


@pytest.mark.slow
@pytest.mark.server
def test_sigkill_of_the_shared_server_mid_ingest_then_rerun_equals_uninterrupted(
    tmp_path: Path,
) -> None:
    from test_pipeline_crash import V1, write_tree

    script = _script(tmp_path, "pipeline.py", PIPELINE)
    corpus = tmp_path / "corpus"
    write_tree(corpus, V1)

    def ingest(db: Path, shared: bool, kill_at: int = 0) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KILL_SERVER_AT_WRITE": str(kill_at)}
        args = [str(corpus), str(db), "1" if shared else "0", str(TESTS)]
        return subprocess.run(
            [sys.executable, str(script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    reference = ingest(tmp_path / "reference", shared=False)
    assert reference.returncode == 0, reference.stderr[-3000:]
    expected = json.loads(reference.stdout.strip().splitlines()[-1])
    assert expected["writes"] >= 6

    db = tmp_path / "db"
    killed = ingest(db, shared=True, kill_at=expected["writes"] // 2)
    outcome = json.loads(killed.stdout.strip().splitlines()[-1])
    # The run notices: it stops with a StoreError, or reports failed documents.
    assert killed.returncode == 3 or outcome["failures"] > 0, killed.stdout[-2000:]
    again = ingest(db, shared=True)
    assert again.returncode == 0, again.stderr[-3000:]
    final = json.loads(again.stdout.strip().splitlines()[-1])
    assert final["records"] == expected["records"]
    stop_server(db)  # or it stops by itself, 2 s after the re-run's exit
    assert server_info(db) is None
