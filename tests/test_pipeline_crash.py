"""Crash safety: SIGKILL a real ingestion at many points, re-run, compare with no crash.

The ingesting process is a real subprocess on a persistent store. It kills itself with
SIGKILL just before or just after its Nth Chroma write (add, upsert or delete), so every run
dies at a known, different place: in the middle of a multi-batch upsert, between a
document's new chunks and the removal of its stale ones, during full-mode removal of
vanished files. The next, uninterrupted run must leave exactly the records (ids, texts,
metadata, vectors) that a run without any crash leaves.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent

SCRIPT = r"""
import json, os, signal, sys
sys.path.insert(0, sys.argv[4])
from chromabridge.embedders import FakeEmbedder
from chromabridge import Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.loaders import DirectoryLoader
from chromabridge.vectorstores import ChromaStore

corpus, db, mode = sys.argv[1:4]
before = int(os.environ.get("KILL_BEFORE_WRITE", "0"))
after = int(os.environ.get("KILL_AFTER_WRITE", "0"))
embedder = FakeEmbedder()
store = ChromaStore("crash", embedder=embedder, path=db)
store._batch_size = 2  # many small Chroma writes: many places to die
collection = store.collection
writes = 0


def killing(real):
    def write(*args, **kwargs):
        global writes
        writes += 1
        if writes == before:
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if writes == after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return write


collection.add = killing(collection.add)
collection.upsert = killing(collection.upsert)
collection.delete = killing(collection.delete)
report = Pipeline(
    DirectoryLoader(corpus), RecursiveChunker(60, 10), embedder, store,
    mode=mode, batch_size=4, progress=False,
).run()
got = collection.get(include=["documents", "metadatas", "embeddings"])
records = sorted(
    [i, d, m, [round(float(x), 5) for x in e]]
    for i, d, m, e in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
)
print(json.dumps({"writes": writes, "report": report.to_dict(), "records": records}))
"""

V1 = {
    "a.md": "# A\n\n" + "Apples grow on trees in orchards. " * 10,
    "b.txt": "Bananas are berries botanically. " * 9,
    "c.txt": "Cherries ripen in early summer. " * 8,
    "d/e.md": "Elderberries make a dark syrup.\n\n" * 6,
    "d/f.txt": "Figs need a warm climate. " * 7,
}
V2_CHANGES = {
    "b.txt": "Bananas changed: now about bandwidth and networks. " * 6,
    "d/e.md": "Elderberries make a dark syrup.\n\n" * 3 + "And a cordial too.",
    "g.txt": "Grapes become wine or raisins. " * 8,
    "d/h.md": "Hazelnuts are used in spreads. " * 5,
}
V2_REMOVED = ["c.txt"]


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def ingest(
    script: Path, corpus: Path, db: Path, mode: str = "full", **kill: int
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KILL_BEFORE_WRITE": "0", "KILL_AFTER_WRITE": "0"}
    env.update({f"KILL_{k.upper()}_WRITE": str(v) for k, v in kill.items()})
    return subprocess.run(
        [sys.executable, str(script), str(corpus), str(db), mode, str(TESTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


@pytest.mark.slow
def test_sigkill_at_any_write_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    script = tmp_path / "ingest.py"
    script.write_text(SCRIPT)
    corpus = tmp_path / "corpus"
    write_tree(corpus, V1)
    base = tmp_path / "base"
    result(ingest(script, corpus, base))
    write_tree(corpus, V2_CHANGES)
    for name in V2_REMOVED:
        (corpus / name).unlink()

    shutil.copytree(base, tmp_path / "reference")
    reference = result(ingest(script, corpus, tmp_path / "reference"))
    writes = reference["writes"]
    report = reference["report"]
    assert (report["added"], report["updated"], report["deleted"]) == (2, 2, 1)
    assert writes >= 14, "the scenario must have many writes to die between"

    # Six points before a write and six after one, interleaved over the whole run.
    points = sorted({1 + (writes - 2) * i // 11 for i in range(12)})
    cases = [{"before" if i % 2 == 0 else "after": n} for i, n in enumerate(points)]
    assert len(cases) >= 10, points
    for case in cases:
        db = tmp_path / f"db-{'-'.join(f'{k}{v}' for k, v in case.items())}"
        shutil.copytree(base, db)
        killed = ingest(script, corpus, db, **case)
        assert killed.returncode == -signal.SIGKILL, (case, killed.stderr[-2000:])
        final = result(ingest(script, corpus, db))
        assert final["records"] == reference["records"], case
        done = final["report"]
        left = done["chunks_written"] + done["chunks_deleted"] + done["deleted"]
        assert left > 0, f"{case}: the killed run left nothing to do; the kill had no effect"

    # Two crashes in a row, then an incremental run followed by a full one.
    db = tmp_path / "db-twice"
    shutil.copytree(base, db)
    assert ingest(script, corpus, db, after=2).returncode == -signal.SIGKILL
    assert ingest(script, corpus, db, before=3).returncode == -signal.SIGKILL
    result(ingest(script, corpus, db, mode="incremental"))
    assert result(ingest(script, corpus, db))["records"] == reference["records"]
