"""Scale sweep on a persistent store: ingest rate, query latency and disk size against n.

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000] [--million] [--queries 200]

For each n a fresh `ChromaStore(path=...)` (a `PersistentClient` directory under
`--dir`, default a temporary one) receives n chunks of ~200 characters with precomputed
384-dimensional unit vectors (the size of all-MiniLM-L6-v2's) and bookkeeping metadata,
through `ChromaStore.add` in calls of `--call` chunks (each split at Chroma's max batch
size). Measured: ingest rate (chunks/s, wall), top-10 query latency p50 / p99 by vector
for `--queries` random queries (plain and filtered on a metadata key), the directory's
size on disk, and each figure's growth against the previous n (x10 in n: a linear cost
grows x10, a logarithmic one barely). Each n runs in its own process so that memory and
file caches of one size do not help the next. `--million` adds n = 1,000,000 (about 25
minutes, 4 GB of disk and 2.5 GB of memory on a 2-core machine).

Vectors are random (seeded), which is the hard case for HNSW: no cluster structure to
exploit. Figures depend on the machine; ratios within one run are the comparable part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DIM = 384
WORDS = [
    "chroma",
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
]


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def child(n: int, queries: int, call: int, directory: Path) -> dict[str, Any]:
    """Ingest n chunks into a fresh store under `directory` and measure it."""
    import numpy as np

    from chromabridge.types import Chunk
    from chromabridge.vectorstores import ChromaStore

    rng = np.random.default_rng(n)
    store = ChromaStore("scale", path=directory)
    start = time.perf_counter()
    for lo in range(0, n, call):
        hi = min(lo + call, n)
        vectors = rng.standard_normal((hi - lo, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        picks = rng.integers(0, len(WORDS), size=(hi - lo, 28))
        chunks = [
            Chunk(
                id=f"doc{i // 10}:{i % 10}",
                doc_id=f"doc{i // 10}",
                text=f"chunk {i}: " + " ".join(WORDS[w] for w in row),
                metadata={"source": f"/corpus/doc{i // 10}.txt", "shard": i % 16},
                index=i % 10,
                start=0,
                end=200,
            )
            for i, row in zip(range(lo, hi), picks, strict=True)
        ]
        store.add(chunks, embeddings=vectors)
    ingest = time.perf_counter() - start
    count = store.count()

    qs = rng.standard_normal((queries, DIM)).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    for q in qs[:10]:  # warm-up: first queries load the index from disk
        store.query(embedding=q, k=10)
    plain, filtered = [], []
    for i, q in enumerate(qs):
        t = time.perf_counter()
        hits = store.query(embedding=q, k=10)
        plain.append(time.perf_counter() - t)
        assert len(hits) == 10
        t = time.perf_counter()
        store.query(embedding=q, k=10, where={"shard": i % 16})
        filtered.append(time.perf_counter() - t)
    del store
    return {
        "n": n,
        "count": count,
        "ingest_s": ingest,
        "rate": n / ingest,
        "p50_ms": statistics.median(plain) * 1e3,
        "p99_ms": float(np.percentile(plain, 99)) * 1e3,
        "filtered_p50_ms": statistics.median(filtered) * 1e3,
        "filtered_p99_ms": float(np.percentile(filtered, 99)) * 1e3,
        "disk_bytes": _dir_size(directory),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def _growth(now: float, before: float | None) -> str:
    return "" if before is None or before == 0 else f" (x{now / before:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts")
    parser.add_argument("--million", action="store_true", help="add n = 1,000,000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--call", type=int, default=10_000, help="chunks per add() call")
    parser.add_argument("--dir", type=Path, default=None, help="where stores are created")
    parser.add_argument("--keep", action="store_true", help="keep the store directories")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        result = child(args.child, args.queries, args.call, args.dir)
        print(json.dumps(result))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.million and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    base = args.dir or Path(tempfile.mkdtemp(prefix="cb-scale-"))
    rows: list[dict[str, Any]] = []
    try:
        for n in sorted(sizes):
            directory = base / f"n{n}"
            shutil.rmtree(directory, ignore_errors=True)
            command = [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--queries",
                str(args.queries),
                "--call",
                str(args.call),
                "--dir",
                str(directory),
            ]
            print(f"  n={n:,}: ingesting...", file=sys.stderr, flush=True)
            out = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
            if out.returncode != 0:
                sys.exit(f"n={n} failed:\n{out.stderr[-3000:]}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            if not args.keep:
                shutil.rmtree(directory, ignore_errors=True)
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    print(
        f"Persistent ChromaStore, {DIM}-dim vectors, ~200-char chunks, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; growth vs the previous n in parentheses\n"
    )
    print(
        "| chunks | ingest chunks/s | query p50 ms | query p99 ms | filtered p50 ms | "
        "filtered p99 ms | disk MB | disk bytes/chunk | peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in enumerate(rows):
        prev = rows[n - 1] if n else None

        def g(key: str, r: dict[str, Any] = r, prev: dict[str, Any] | None = prev) -> str:
            return _growth(r[key], prev[key] if prev else None)

        print(
            f"| {r['n']:,} | {r['rate']:,.0f}{g('rate')} | {r['p50_ms']:.2f}{g('p50_ms')} | "
            f"{r['p99_ms']:.2f}{g('p99_ms')} | {r['filtered_p50_ms']:.2f}"
            f"{g('filtered_p50_ms')} | {r['filtered_p99_ms']:.2f}{g('filtered_p99_ms')} | "
            f"{r['disk_bytes'] / 1e6:,.0f}{g('disk_bytes')} | {r['disk_bytes'] / r['n']:,.0f} | "
            f"{r['peak_rss_bytes'] / 2**20:,.0f}{g('peak_rss_bytes')} |"
        )


if __name__ == "__main__":
    main()
