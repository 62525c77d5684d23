"""Shared mode's cost: one directory through its loopback `chroma run` vs embedded.

The same records (precomputed 384-dim vectors, no model) go into a fresh directory
twice: once with `ChromaStore(path=DIR)` (embedded Chroma in this process) and once with
`ChromaStore(path=DIR, shared=True)` (every call over HTTP to the directory's server).
Reported: the time to add them (best of `--rounds`, each round on a fresh directory and
a fresh server start excluded), the query p50 for a top-10 query by vector, and the
time to start the shared server on first open. Ratios are shared / embedded.

    .venv/bin/python benchmarks/shared.py [--n 20000] [--queries 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.shared import stop_server

DIM = 384


def measure(
    directory: Path, shared: bool, chunks: list[Chunk], vectors: np.ndarray, queries: np.ndarray
) -> tuple[float, float, list[float]]:
    """(open s, add s, query latencies s) on a fresh directory."""
    shutil.rmtree(directory, ignore_errors=True)
    start = time.perf_counter()
    store = ChromaStore(
        "bench", path=directory, shared=shared, **({"idle": 30.0} if shared else {})
    )
    opened = time.perf_counter() - start
    try:
        start = time.perf_counter()
        store.add(chunks, embeddings=vectors.tolist())
        added = time.perf_counter() - start
        latencies = []
        for q in queries:
            start = time.perf_counter()
            store.query(embedding=q.tolist(), k=10)
            latencies.append(time.perf_counter() - start)
    finally:
        store.close()
        if shared:
            stop_server(directory)
    return opened, added, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.n, DIM)).astype(np.float32)
    queries = rng.standard_normal((args.queries, DIM)).astype(np.float32)
    chunks = [Chunk(id=f"c{i}", doc_id=f"d{i // 10}", text=f"chunk {i}") for i in range(args.n)]
    best: dict[str, tuple[float, float, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            order = [False, True] if round_no % 2 == 0 else [True, False]
            for shared in order:
                name = "shared" if shared else "embedded"
                result = measure(Path(tmp) / name, shared, chunks, vectors, queries)
                if name not in best or result[1] < best[name][1]:
                    best[name] = result
    p50 = {name: statistics.median(r[2]) * 1000 for name, r in best.items()}
    base_add, base_q = best["embedded"][1], p50["embedded"]
    print(
        f"\n{args.n} chunks, {DIM}-dim precomputed vectors, one local directory, adds best "
        f"of {args.rounds}, {args.queries} top-10 queries by vector\n"
    )
    print("| mode | open s | add s | add x embedded | query p50 ms | query x embedded |")
    print("|---|---|---|---|---|---|")
    for name in ("embedded", "shared"):
        opened, added, _ = best[name]
        print(
            f"| {name} | {opened:.2f} | {added:.2f} | {added / base_add:.2f} "
            f"| {p50[name]:.2f} | {p50[name] / base_q:.2f} |"
        )


if __name__ == "__main__":
    main()
