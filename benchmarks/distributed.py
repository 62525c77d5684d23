"""Ray scale-out: ingestion throughput with 1 and 2 Ray workers vs the single-process
pipeline, on the same files into the same `chroma run` server.

Files: the Python 3.11 documentation sources (Debian's `python3.11-doc`), the first
`--limit` of them. Each contender ingests them into a fresh collection of one local
`chroma run` server with `RecursiveChunker(250, 30)` and the embedder named by
`--embedder`: ``local`` (the shipped MiniLM, each Ray actor loads its own copy once;
the figure that matters, since embedding limits ingestion) or ``fake`` (hash vectors:
what Ray's own overhead costs). Ray is started once before the runs (its start-up is
reported apart); each Ray run includes starting its actors and loading their models.
Ratios are throughput (chunks/s) against the single-process `Pipeline.run()`.

    .venv/bin/python benchmarks/distributed.py [--limit 25] [--embedder local] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

CORPUS = Path("/usr/share/doc/python3.11/html/_sources")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("chroma run did not start")


def make_embedder(kind: str) -> Any:
    from chromabridge.embedders import FakeEmbedder, LocalEmbedder

    return LocalEmbedder() if kind == "local" else FakeEmbedder(384)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=25, help="number of files")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--embedder", choices=["local", "fake"], default="local")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to measure")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}: apt-get install python3.11-doc")
    import ray

    from chromabridge import Pipeline
    from chromabridge.chunkers import RecursiveChunker
    from chromabridge.distributed import RayExecutor
    from chromabridge.loaders import DirectoryLoader
    from chromabridge.vectorstores import ChromaStore

    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        for path in sorted(args.corpus.rglob("*.txt"))[: args.limit]:
            target = folder / path.relative_to(args.corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        proc, port = start_server(Path(tmp) / "server")
        embedder = make_embedder(args.embedder)
        start = time.perf_counter()
        ray.init(
            num_cpus=max([*counts, os.cpu_count() or 1]),
            include_dashboard=False,
            log_to_driver=False,
        )
        ray_start = time.perf_counter() - start

        def ingest(executor: Any) -> tuple[float, int]:
            store = ChromaStore(
                f"bench-{uuid.uuid4().hex[:8]}", embedder=embedder, host="127.0.0.1", port=port
            )
            pipeline = Pipeline(
                DirectoryLoader(folder),
                RecursiveChunker(250, 30),
                embedder,
                store,
                executor=executor,
                progress=False,
            )
            start = time.perf_counter()
            report = pipeline.run()
            seconds = time.perf_counter() - start
            assert report.ok, report.failures
            return seconds, report.chunks_written

        try:
            rows = [("single process `Pipeline.run()`", *ingest(None))]
            factory = (lambda: make_embedder(args.embedder)) if args.embedder == "local" else None
            for n in counts:
                executor = RayExecutor(num_workers=n, batch_size=4, embedder_factory=factory)
                rows.append((f"Ray, {n} worker{'s' * (n > 1)}", *ingest(executor)))
        finally:
            ray.shutdown()
            proc.terminate()
            proc.wait()
    base = rows[0][2] / rows[0][1]
    print(
        f"\n{args.limit} files ({rows[0][2]} chunks), RecursiveChunker(250, 30), "
        f"embedder {embedder.name}, one local `chroma run`, {os.cpu_count()} CPUs; Ray "
        f"start-up {ray_start:.1f} s (not in the runs; actor start and model load are)\n"
    )
    print("| run | seconds | chunks/s | x single process |")
    print("|---|---|---|---|")
    for name, seconds, chunks in rows:
        rate = chunks / seconds
        print(f"| {name} | {seconds:.1f} | {rate:.1f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
