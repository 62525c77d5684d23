"""Embedder benchmark: LocalEmbedder vs sentence-transformers directly, and the cache.

Run: `.venv/bin/python benchmarks/embedders.py [--rounds 3] [--batch-size 32]`
(with HF_HUB_OFFLINE=1; the Makefile exports it). Prints a markdown table.

Both local contenders embed the same mixed-length corpus (Cranfield queries, titles,
abstracts and over-long concatenations, all distinct) with the same batch size and
return Python lists of normalised float vectors, which is what a vector store needs.
Rounds alternate between contenders so machine load hits both alike; the best round
counts, by wall clock and by this process's CPU time (steadier on a
shared machine). The cache row times `CachedEmbedder` answering the whole corpus from its
sqlite file against the model embedding it.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CRANFIELD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield"


def _fields(path: Path, field: str) -> list[str]:
    text = path.read_text(errors="replace")
    out = []
    for record in re.split(r"^\.I ", text, flags=re.M)[1:]:
        match = re.search(rf"^\.{field}\n(.*?)(?=^\.[A-Z]\n|\Z)", record, flags=re.M | re.S)
        if match and match.group(1).strip():
            out.append(" ".join(match.group(1).split()))
    return out


def corpus() -> list[str]:
    """Short, medium and over-long texts, as a RAG ingest sees them, without repeats."""
    if (CRANFIELD / "cran.all.1400").exists():
        queries = _fields(CRANFIELD / "cran.qry", "W")
        titles = _fields(CRANFIELD / "cran.all.1400", "T")[:300]
        abstracts = _fields(CRANFIELD / "cran.all.1400", "W")
        longs = [" ".join(abstracts[i : i + 3]) for i in range(600, 660)]
        texts = queries + titles + abstracts[:300] + longs
    else:  # synthetic fallback with the same length mix
        words = [
            "lift",
            "drag",
            "boundary",
            "layer",
            "flow",
            "shock",
            "wave",
            "pressure",
            "supersonic",
            "wing",
        ]
        texts = [
            " ".join(words[(i + j) % 8] for j in range(5 + (i * 37) % 400)) for i in range(900)
        ]
        texts = [f"{i} {t}" for i, t in enumerate(texts)]
    return list(dict.fromkeys(texts))


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): CPU time is what survives a busy box."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=300, help="texts, sampled evenly")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import torch

    from chromabridge.embedders import CachedEmbedder, LocalEmbedder

    warnings.simplefilter("ignore")  # the over-long texts warn once; expected here
    if args.threads:
        torch.set_num_threads(args.threads)
    everything = corpus()
    size = min(args.size, len(everything))
    texts = [everything[i * len(everything) // size] for i in range(size)]
    local = LocalEmbedder(batch_size=args.batch_size)
    model = local.model
    counts = [local.count_tokens(t) for t in texts]

    def direct() -> object:
        return model.encode(
            texts, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False
        ).tolist()

    def ours() -> object:
        return local.embed_documents(texts)

    direct()  # warm-up: first forward passes allocate
    ours()
    t_direct: list[tuple[float, float]] = []
    t_ours: list[tuple[float, float]] = []
    for i in range(args.rounds):  # alternate who goes first, too
        pair = [(direct, t_direct), (ours, t_ours)]
        for fn, times in pair if i % 2 == 0 else pair[::-1]:
            times.append(timed(fn))

    with tempfile.TemporaryDirectory() as tmp:
        cached = CachedEmbedder(local, Path(tmp) / "cache.sqlite")
        cached.embed_documents(texts)  # fill
        t_hit = [timed(lambda: cached.embed_documents(texts)) for _ in range(max(args.rounds, 3))]
        assert cached.hits >= len(texts)

    n = len(texts)
    rows = [("sentence-transformers `encode` (direct)", t_direct), ("`LocalEmbedder`", t_ours)]
    rows.append(("`CachedEmbedder` hit path", t_hit))
    print(
        f"corpus: {n} distinct texts, tokens min/median/max = {min(counts)}/"
        f"{int(statistics.median(counts))}/{max(counts)} "
        f"({sum(c > local.max_text_tokens for c in counts)} over the model's limit); "
        f"batch size {args.batch_size}; device {local.device}; torch threads "
        f"{torch.get_num_threads()}; {platform.processor() or platform.machine()}; "
        f"{args.rounds} alternating rounds, best round shown\n"
    )
    print("| contender | wall s | CPU s | texts/s (wall) | ratio by wall | ratio by CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    base_wall = min(w for w, _ in t_direct)
    base_cpu = min(c for _, c in t_direct)
    model_wall = min(w for w, _ in t_ours)
    model_cpu = min(c for _, c in t_ours)
    for label, times in rows:
        wall, cpu = min(w for w, _ in times), min(c for _, c in times)
        if times is t_hit:
            ratio = f"{model_wall / wall:.0f}x vs LocalEmbedder", f"{model_cpu / cpu:.0f}x"
        else:
            ratio = f"{base_wall / wall:.2f}x", f"{base_cpu / cpu:.2f}x"
        print(f"| {label} | {wall:.3f} | {cpu:.3f} | {n / wall:.0f} | {ratio[0]} | {ratio[1]} |")
    print("\nall rounds, wall/CPU seconds:")
    for label, times in rows:
        print(f"- {label}: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in times))


if __name__ == "__main__":
    main()
