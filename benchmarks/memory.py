"""Memory: ingest >= 1 GB of generated text with peak RSS bounded independent of corpus size.

    .venv/bin/python benchmarks/memory.py [--sizes 64,256,1024] [--store server|path]

For each corpus size (MB of UTF-8 text) a fresh process runs the real pipeline,
`Pipeline(source, RecursiveChunker(4000, 200), HashVectors, ChromaStore)`, where
`source` generates documents of `--doc-mb` MB on the fly (never holding the corpus) and
`HashVectors` is a cheap 16-dim embedder (a hash of the text), so what is measured is
our streaming, chunking, batching and writing, not a model.

Where the memory goes, and the bound:

* The ingesting process (loader -> chunker -> embedder -> store client) holds one
  batch: `batch_size` documents at most, with their chunks, vectors and the records
  Chroma returns for comparison. Its peak RSS is bounded by
  ``baseline + k * batch_size * doc_size`` with baseline the imports (~250 MB with
  chromadb) and a small k; it does not depend on how many documents pass through.
  That is the bound this benchmark measures: peak RSS at 64 MB, 256 MB and 1 GB of text
  must be flat (the table shows the growth factor).
* Chroma itself keeps its HNSW index in memory: about (4 * dim + ~100) bytes per chunk,
  by design, in whatever process runs Chroma. With `--store server` (default) that is
  the `chroma run` process, reported separately ("server peak"): it grows with the
  number of chunks, not with the text size. With `--store path` (an embedded
  `PersistentClient`) it is inside the ingesting process, so that process grows by the
  same per-chunk amount.

Peak RSS is the kernel's high-water mark (`ru_maxrss` for the ingesting process, VmHWM
of the server). MB = 10^6 bytes of text; RSS in MiB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "vector",
    "store",
    "chunk",
    "embedding",
    "query",
    "index",
    "filter",
    "metadata",
    "document",
    "loader",
    "retriever",
    "pipeline",
    "ingest",
    "search",
    "score",
    "distance",
    "cosine",
    "batch",
    "persist",
    "server",
    "cloud",
    "chroma",
]
DIM = 16


def _pool(size: int = 1 << 22) -> str:
    """~4 MB of word salad with sentence breaks, deterministic."""
    import random

    rnd = random.Random(42)
    parts: list[str] = []
    total = 0
    while total < size:
        sentence = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 24))) + ". "
        if rnd.random() < 0.1:
            sentence += "\n\n"
        parts.append(sentence)
        total += len(sentence)
    return "".join(parts)


class GeneratedSource:
    """Documents of `doc_bytes` characters each, `total_bytes` in all, made on demand."""

    def __init__(self, total_bytes: int, doc_bytes: int) -> None:
        self.total_bytes = total_bytes
        self.doc_bytes = doc_bytes
        self.pool = _pool()

    def lazy_load(self) -> Iterator[Any]:
        from chromabridge.types import Document

        n = max(1, self.total_bytes // self.doc_bytes)
        span = len(self.pool) - self.doc_bytes
        for i in range(n):
            start = (i * 7919 * 4099) % max(1, span)
            text = f"Document {i}.\n\n" + self.pool[start : start + self.doc_bytes]
            yield Document(id=f"gen/{i:07d}", text=text, source=f"gen/{i:07d}")


class HashVectors:
    """A cheap, deterministic embedder: 16 floats from a hash of the text."""

    name = "bench:hash16"
    dimension = DIM
    max_input_tokens = None

    def _one(self, text: str) -> list[float]:
        digest = hashlib.blake2b(text.encode(), digest_size=DIM).digest()
        return [b / 255.0 + 0.01 for b in digest]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self._one(text)


def child(args: argparse.Namespace) -> None:
    from chromabridge import Pipeline
    from chromabridge.chunkers import RecursiveChunker
    from chromabridge.vectorstores import ChromaStore

    embedder = HashVectors()
    if args.port:
        store = ChromaStore("memory", embedder=embedder, host="127.0.0.1", port=args.port)
    else:
        store = ChromaStore("memory", embedder=embedder, path=args.path)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    source = GeneratedSource(int(args.mb * 1e6), int(args.doc_mb * 1e6))
    report = Pipeline(
        source,
        RecursiveChunker(4000, 200),
        None,
        store,
        batch_size=args.batch_size,
        cache=False,
        progress=False,
    ).run()
    assert report.ok, report.failures
    print(
        json.dumps(
            {
                "mb": args.mb,
                "documents": report.seen,
                "chunks": report.chunks_written,
                "count": store.count(),
                "seconds": report.total_seconds,
                "baseline_rss": baseline,
                "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _start_server(path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
            with urllib.request.urlopen(url, timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("chroma run did not start")


def measure(mb: float, args: argparse.Namespace, base: Path) -> dict[str, Any]:
    directory = base / f"mb{mb:g}"
    shutil.rmtree(directory, ignore_errors=True)
    command = [
        sys.executable,
        __file__,
        "--child",
        "--mb",
        str(mb),
        "--doc-mb",
        str(args.doc_mb),
        "--batch-size",
        str(args.batch_size),
    ]
    server = None
    if args.store == "server":
        server, port = _start_server(directory)
        command += ["--port", str(port)]
    else:
        command += ["--path", str(directory)]
    try:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        out = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        if out.returncode != 0:
            sys.exit(f"{mb} MB failed:\n{out.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["server_peak_rss"] = _hwm(server.pid) if server else 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    result["disk_bytes"] = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    shutil.rmtree(directory, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="64,256,1024", help="corpus sizes in MB of text")
    parser.add_argument("--store", choices=["server", "path"], default="server")
    parser.add_argument("--doc-mb", type=float, default=1.0, help="size of one document")
    parser.add_argument("--batch-size", type=int, default=64, help="Pipeline batch_size")
    parser.add_argument("--dir", type=Path, default=None, help="where stores are created")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mb", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    base = args.dir or Path(tempfile.mkdtemp(prefix="cb-memory-"))
    rows = []
    try:
        for mb in [float(s) for s in args.sizes.split(",") if s]:
            print(f"  {mb:g} MB...", file=sys.stderr, flush=True)
            rows.append(measure(mb, args, base))
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)

    where = "a `chroma run` server" if args.store == "server" else "an embedded PersistentClient"
    print(
        f"Pipeline into {where}, RecursiveChunker(4000, 200), {DIM}-dim hash embedder, "
        f"{args.doc_mb:g} MB documents, batch_size={args.batch_size}; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}\n"
    )
    print(
        "| text MB | documents | chunks | s | MB/s | ingesting process peak RSS MiB "
        "(x vs smallest) | above baseline MiB | server peak RSS MiB | disk MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    first = rows[0]["peak_rss"] if rows else 1
    for r in rows:
        print(
            f"| {r['mb']:g} | {r['documents']:,} | {r['chunks']:,} | {r['seconds']:.0f} | "
            f"{r['mb'] / r['seconds']:.2f} | {r['peak_rss'] / 2**20:.0f} "
            f"(x{r['peak_rss'] / first:.2f}) | {(r['peak_rss'] - r['baseline_rss']) / 2**20:.0f} | "
            f"{r['server_peak_rss'] / 2**20:.0f} | {r['disk_bytes'] / 1e6:,.0f} |"
        )


if __name__ == "__main__":
    main()
