"""Hybrid retrieval at scale: query latency against pure vector, and BM25 index upkeep.

100,000 synthetic chunks (Zipf-distributed words from a 30,000-word vocabulary, 40-120
words each, like English text's word frequencies) with precomputed random unit vectors,
in one embedded in-memory store. Queries are 3-6 words drawn the same way; the query
embedder is the shipped `FakeEmbedder` (words hashed into buckets) so that both retrievers
pay the same, negligible embedding cost and only the retrieval itself is compared.

    .venv/bin/python benchmarks/hybrid_scale.py [--n 100000] [--queries 200] [--dim 384]

Reports: p50/p95 of `VectorRetriever(k=10)` and `HybridRetriever(k=10)` (defaults:
100 candidates per side), on the same store; the BM25 index's first build; catching up
after 1,000 chunks are added through the store (change feed) and after 1,000 more are
added by another writer (`refresh()`, an id diff); and a full `rebuild()` for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import numpy as np

from chromabridge.embedders import FakeEmbedder
from chromabridge.retrievers import HybridRetriever, VectorRetriever
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

VOCAB = 30_000


def corpus(
    rng: np.random.Generator, n: int, start: int, dim: int
) -> tuple[list[Chunk], np.ndarray]:
    p = 1.0 / np.arange(1, VOCAB + 1)
    p /= p.sum()
    lengths = rng.integers(40, 121, size=n)
    words = rng.choice(VOCAB, size=int(lengths.sum()), p=p)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    chunks = [
        Chunk.from_text(
            " ".join(f"w{w}" for w in words[bounds[i] : bounds[i + 1]]),
            id=f"s{start + i}",
            metadata={"group": int((start + i) % 10)},
        )
        for i in range(n)
    ]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, vectors


def timed(fn: object, *args: object) -> float:
    started = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    rng = np.random.default_rng(7)

    store = ChromaStore(
        f"scale-{uuid.uuid4().hex[:8]}", embedder=FakeEmbedder(args.dim, name="bench:fake")
    )
    chunks, vectors = corpus(rng, args.n, 0, args.dim)
    started = time.perf_counter()
    store.add(chunks, embeddings=vectors.tolist())
    print(f"stored {store.count()} chunks in {time.perf_counter() - started:.1f}s")

    vector = VectorRetriever(store, k=10)
    hybrid = HybridRetriever(store, k=10)
    build = timed(len, hybrid.lexical)  # first use builds the BM25 index from Chroma
    print(f"BM25 index first build (read all texts, tokenise, index): {build:.2f}s")

    qtexts = [
        " ".join(f"w{w}" for w in rng.zipf(1.3, size=int(rng.integers(3, 7))) % VOCAB)
        for _ in range(args.queries)
    ]
    for q in qtexts[:10]:  # warm-up
        vector.retrieve(q)
        hybrid.retrieve(q)
    times: dict[str, list[float]] = {"vector": [], "hybrid": []}
    for q in qtexts:  # interleaved so both see the same machine load
        times["vector"].append(timed(vector.retrieve, q))
        times["hybrid"].append(timed(hybrid.retrieve, q))
    v50, h50 = statistics.median(times["vector"]), statistics.median(times["hybrid"])
    print("\n| query (k=10) | p50 ms | p95 ms |\n|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {pct(values, 50):.1f} | {pct(values, 95):.1f} |")
    print(f"hybrid / vector p50: {h50 / v50:.2f}x")

    filtered: dict[str, list[float]] = {"vector": [], "hybrid": []}
    for q in qtexts[:100]:
        filtered["vector"].append(timed(vector.retrieve, q, None, {"group": 3}))
        filtered["hybrid"].append(timed(hybrid.retrieve, q, None, {"group": 3}))
    print(
        "with a metadata filter matching 10% of chunks, p50: "
        f"vector {pct(filtered['vector'], 50):.1f} ms, hybrid {pct(filtered['hybrid'], 50):.1f} ms"
    )

    more, more_vectors = corpus(rng, 1000, args.n, args.dim)
    store.add(more, embeddings=more_vectors.tolist())
    feed = timed(len, hybrid.lexical)  # applies the change feed
    other = ChromaStore(store.name, client=store.client)
    extra, extra_vectors = corpus(rng, 1000, args.n + 1000, args.dim)
    other.add(extra, embeddings=extra_vectors.tolist())
    diff = timed(hybrid.refresh)
    assert len(hybrid.lexical) == args.n + 2000
    rebuild = timed(hybrid.lexical.rebuild)
    print("\n| BM25 upkeep | seconds | vs rebuild |\n|---|---|---|")
    for name, value in [
        ("+1k chunks via the store (change feed)", feed),
        ("+1k chunks by another writer (refresh, id diff)", diff),
        (f"full rebuild ({args.n + 2000} chunks)", rebuild),
    ]:
        print(f"| {name} | {value:.2f} | {value / rebuild:.1%} |")
    store.delete_collection()


if __name__ == "__main__":
    main()
