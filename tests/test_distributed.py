"""RayExecutor: a Pipeline run on a real local Ray instance into a real `chroma run` server
gives exactly the single-process result, incrementally, in full mode and after a worker
is killed mid-run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from chromabridge import IngestReport, Pipeline, specs
from chromabridge.chunkers import RecursiveChunker
from chromabridge.cli import app
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ConfigError
from chromabridge.loaders import DirectoryLoader
from chromabridge.vectorstores import ChromaStore

ray = pytest.importorskip("ray")
from chromabridge.distributed import RayExecutor  # noqa: E402

CORPUS = {
    f"{folder}/{name}-{i}.md": f"# {name} {i}\n\n" + f"{name} number {i} is in {folder}. " * 9
    for folder in ("a", "b")
    for i in range(6)
    for name in ("alpha", "beta")
}


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """One local Ray instance for the test session (start-up costs seconds): only this
    module uses Ray, so it is stopped when the module ends, not held through the rest."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024 * 1024,
        log_to_driver=False,
        runtime_env={"env_vars": {"ANONYMIZED_TELEMETRY": "False"}},
    )
    yield
    ray.shutdown()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, text in CORPUS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def server_store(server: Any, name: str) -> ChromaStore:
    return ChromaStore(name, embedder=FakeEmbedder(), host=server.host, port=server.port)


def pipeline(root: Path, store: ChromaStore, executor: Any = None, **kw: Any) -> Pipeline:
    return Pipeline(
        DirectoryLoader(root, file_timeout=None, file_memory=None),
        RecursiveChunker(120, 20),
        FakeEmbedder(),
        store,
        batch_size=4,
        executor=executor,
        progress=False,
        **kw,
    )


def snapshot(store: ChromaStore) -> dict[str, tuple[str, dict[str, Any], np.ndarray]]:
    got = store.collection.get(include=["documents", "metadatas", "embeddings"])
    return {
        i: (d, m, np.asarray(e))
        for i, d, m, e in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        )
    }


def assert_same(got: ChromaStore, want: ChromaStore) -> None:
    a, b = snapshot(got), snapshot(want)
    assert sorted(a) == sorted(b)
    assert a, "nothing was ingested"
    for key, (text, meta, vector) in b.items():
        assert a[key][0] == text
        assert a[key][1] == meta
        np.testing.assert_allclose(a[key][2], vector, rtol=1e-6, atol=1e-6)


@pytest.fixture
def reference(chroma_server: Any, corpus: Path, collection_name: str) -> ChromaStore:
    store = server_store(chroma_server, collection_name + "-ref")
    report = pipeline(corpus, store).run()
    assert report.ok and report.added == len(CORPUS)
    return store


def test_ray_run_equals_single_process_then_unchanged_then_full_removes(
    ray_session: None,
    chroma_server: Any,
    corpus: Path,
    reference: ChromaStore,
    collection_name: str,
) -> None:
    store = server_store(chroma_server, collection_name)
    executor = RayExecutor(num_workers=2, batch_size=3)
    report = pipeline(corpus, store, executor).run()
    assert isinstance(report, IngestReport)
    assert report.ok, report.failures
    assert (report.seen, report.added, report.unchanged) == (len(CORPUS), len(CORPUS), 0)
    assert report.chunks_written == reference.count()
    assert_same(store, reference)

    again = pipeline(corpus, store, executor).run()
    assert (again.unchanged, again.added, again.updated) == (len(CORPUS), 0, 0)
    assert again.chunks_written == 0

    (corpus / "a" / "alpha-0.md").unlink()
    (corpus / "b" / "beta-1.md").write_text("Beta one, rewritten.", encoding="utf-8")
    full = pipeline(corpus, store, executor, mode="full").run()
    pipeline(corpus, reference, mode="full").run()
    assert (full.deleted, full.updated, full.unchanged) == (1, 1, len(CORPUS) - 2)
    assert_same(store, reference)


def test_worker_killed_mid_run_then_rerun_gives_uninterrupted_result(
    ray_session: None,
    chroma_server: Any,
    corpus: Path,
    reference: ChromaStore,
    collection_name: str,
) -> None:
    store = server_store(chroma_server, collection_name)
    killed: list[int] = []

    def kill_first(executor: RayExecutor, part: IngestReport) -> None:
        if not killed:  # a worker with batches queued: it dies mid-run
            killed.append(executor.worker_pids[0])
            os.kill(executor.worker_pids[0], signal.SIGKILL)

    executor = RayExecutor(num_workers=2, batch_size=2, on_result=kill_first)
    first = pipeline(corpus, store, executor).run()  # Ray restarts the actor, retries
    assert killed
    assert first.ok
    rerun = pipeline(corpus, store, RayExecutor(num_workers=2)).run()
    assert rerun.added == rerun.updated == 0
    assert rerun.unchanged == len(CORPUS)
    assert store.count() == reference.count()  # retries left no duplicate
    assert_same(store, reference)


@pytest.mark.parametrize("deployment", ["memory", "embedded"])
def test_embedded_store_refused_before_ray_starts(
    deployment: str, tmp_path: Path, corpus: Path, collection_name: str
) -> None:
    path = None if deployment == "memory" else tmp_path / "db"
    with ChromaStore(collection_name, embedder=FakeEmbedder(), path=path) as store:
        started = ray.is_initialized()
        with pytest.raises(ConfigError, match="every worker reaches"):
            pipeline(corpus, store, RayExecutor()).run()
        assert ray.is_initialized() == started


def test_cli_ray_ingest_end_to_end(
    ray_session: None,
    monkeypatch: pytest.MonkeyPatch,
    chroma_server: Any,
    corpus: Path,
    reference: ChromaStore,
    collection_name: str,
) -> None:
    monkeypatch.setattr(specs, "make_embedder", lambda spec: FakeEmbedder())
    args = ["ingest", str(corpus), "-c", collection_name, "--host", chroma_server.host]
    args += ["--port", str(chroma_server.port), "-e", "hash", "--chunker", "recursive:120:20"]
    result = CliRunner().invoke(app, [*args, "--ray", "--workers", "2", "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert f"{len(CORPUS)}" in result.output
    assert_same(server_store(chroma_server, collection_name), reference)


def test_shared_directory_store_and_cache_shared_by_workers(
    ray_session: None, tmp_path: Path, corpus: Path, reference: ChromaStore, collection_name: str
) -> None:
    """A shared directory is reachable by every worker; its embedding cache (one sqlite
    file, WAL) is written by two workers at once and then serves every vector."""
    from chromabridge.pipeline import CACHE_FILE
    from chromabridge.vectorstores.shared import stop_server

    db = tmp_path / "db"
    executor = RayExecutor(num_workers=2, batch_size=2)
    try:
        for n, name in enumerate((collection_name, collection_name + "-again")):
            with ChromaStore(name, embedder=FakeEmbedder(), path=db, shared=True) as store:
                report = pipeline(corpus, store, executor).run()
                assert report.ok and report.added == len(CORPUS)
                # First run: the model embeds (repeated texts hit); then: all cache hits.
                hits, written = report.cache_hits, report.chunks_written
                assert hits < written if n == 0 else hits == written
                assert_same(store, reference)
        assert (db / CACHE_FILE).exists()
    finally:
        stop_server(db)


def test_without_ray_installed_config_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, chroma_server: Any, corpus: Path, collection_name: str
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    store = server_store(chroma_server, collection_name)
    with pytest.raises(ConfigError, match=r"pip install 'chromabridge\[ray\]'"):
        pipeline(corpus, store, RayExecutor()).run()
    assert store.count() == 0


def test_cli_ray_refuses_an_embedded_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus: Path
) -> None:
    monkeypatch.setattr(specs, "make_embedder", lambda spec: FakeEmbedder())
    result = CliRunner().invoke(
        app, ["ingest", str(corpus), "--path", str(tmp_path / "db"), "-e", "hash", "--ray"]
    )
    assert result.exit_code == 2, result.output
    assert "every worker reaches" in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


DRIVER = """
import os, signal, sys
from pathlib import Path
from chromabridge import Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.distributed import RayExecutor
from chromabridge.embedders import FakeEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.vectorstores import ChromaStore

corpus, name, host, port, address = sys.argv[1:]
store = ChromaStore(name, embedder=FakeEmbedder(), host=host, port=int(port))
die = lambda executor, part: os.kill(os.getpid(), signal.SIGKILL)
executor = RayExecutor(address, num_workers=2, batch_size=2, on_result=die)
loader = DirectoryLoader(Path(corpus), file_timeout=None, file_memory=None)
Pipeline(loader, RecursiveChunker(120, 20), FakeEmbedder(), store, batch_size=4,
         executor=executor, progress=False).run()
"""


def test_driver_killed_mid_run_then_rerun_gives_uninterrupted_result(
    ray_session: None,
    chroma_server: Any,
    corpus: Path,
    reference: ChromaStore,
    collection_name: str,
) -> None:
    """The driver dies (SIGKILL) after its first finished batch, with batches in flight."""
    address = ray.get_runtime_context().gcs_address  # the driver joins this test's Ray
    args = [corpus, collection_name, chroma_server.host, chroma_server.port, address]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *map(str, args)], capture_output=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    store = server_store(chroma_server, collection_name)
    assert 0 < store.count() < reference.count()  # killed part-way
    report = pipeline(corpus, store, RayExecutor(num_workers=2)).run()
    assert report.ok and report.unchanged + report.added + report.updated == len(CORPUS)
    assert report.unchanged > 0  # what the killed run finished costs nothing again
    assert_same(store, reference)


def test_store_credentials_reach_workers_but_no_repr(
    chroma_server: Any, corpus: Path, collection_name: str
) -> None:
    headers = {"X-Chroma-Token": "s3cret-token"}
    store = ChromaStore(
        collection_name,
        embedder=FakeEmbedder(),
        host=chroma_server.host,
        port=chroma_server.port,
        headers=headers,
    )
    executor = RayExecutor()
    job = executor._job(pipeline(corpus, store, executor))
    assert job.store_options["headers"] == headers  # what a worker opens the store with
    assert "s3cret" not in repr(job) + repr(executor) + repr(store)


def test_two_batches_at_once_per_worker_give_the_same_records(
    ray_session: None,
    chroma_server: Any,
    corpus: Path,
    reference: ChromaStore,
    collection_name: str,
) -> None:
    """max_concurrency_per_worker=2: one actor's store and embedder serve two threads."""
    store = server_store(chroma_server, collection_name)
    executor = RayExecutor(num_workers=1, batch_size=2, max_concurrency_per_worker=2)
    report = pipeline(corpus, store, executor).run()
    assert report.ok and report.added == len(CORPUS)
    assert_same(store, reference)
