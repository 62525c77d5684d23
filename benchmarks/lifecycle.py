"""Changing the embedding model: `ChromaStore.reembed` against a fresh ingest, in one run.

The stock way to move a collection to another model is to ingest the corpus again:
load the files, chunk them, embed, write. `reembed` reads the stored chunks instead (no
loading, no chunking) and embeds them into a shadow collection. Both paths write the same
chunks with the same new embedder into a persistent store, the embedding cache off
(cold: the new model has never seen the texts). A third row re-embeds with a warm cache
(the model saw the texts before: a resumed run, or re-running after a rollback).

Corpus: the Cranfield abstracts written out as one text file each. Embedders: a cheap
deterministic hash embedder by default, so the figures are the pipeline's own work;
`--model local` uses all-MiniLM-L6-v2 instead, where the model's time dominates both.

    .venv/bin/python benchmarks/lifecycle.py [--limit 1400] [--model hash|local]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from chromabridge.embedders import FakeEmbedder

CRANFIELD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=1400, help="abstracts to use")
    parser.add_argument("--model", choices=["hash", "local"], default="hash")
    args = parser.parse_args()
    if not (CRANFIELD / "cran.all.1400").is_file():
        raise SystemExit(f"no Cranfield collection at {CRANFIELD}")

    from chromabridge import Pipeline
    from chromabridge.chunkers import RecursiveChunker
    from chromabridge.evaluate import read_cranfield
    from chromabridge.loaders import DirectoryLoader
    from chromabridge.vectorstores import ChromaStore

    old = FakeEmbedder(64, name="bench:hash-64")
    if args.model == "local":
        from chromabridge.embedders import LocalEmbedder

        new: object = LocalEmbedder()
    else:
        new = FakeEmbedder(256, name="bench:hash-256")
    docs = list(read_cranfield(CRANFIELD).corpus.values())[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        for doc in docs:
            (corpus / f"{doc.id}.txt").write_text(doc.text)

        def ingest(name: str, embedder: object) -> tuple[ChromaStore, float]:
            store = ChromaStore(name, embedder=embedder, path=work / "db")
            chunker = RecursiveChunker(250, 25)  # within MiniLM's 254-token input
            start = time.perf_counter()
            Pipeline(DirectoryLoader(corpus), chunker, None, store, cache=False,
                     progress=False).run()  # fmt: skip
            return store, time.perf_counter() - start

        source, _ = ingest("source", old)
        chunks = source.count()
        _, fresh = ingest("fresh", new)
        start = time.perf_counter()
        source.reembed(new, name="shadow-cold", cache=False)
        cold = time.perf_counter() - start
        cache = work / "cache.sqlite"
        source.reembed(new, name="shadow-warmup", cache=cache)  # fills the cache
        start = time.perf_counter()
        source.reembed(new, name="shadow-warm", cache=cache)
        warm = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{len(docs)} Cranfield abstracts, {chunks} chunks, new embedder: {args.model}\n")
    print("| path | seconds | chunks/s | speed-up vs fresh ingest |")
    print("|---|---:|---:|---:|")
    for label, seconds in (
        ("fresh ingest (load + chunk + embed + write)", fresh),
        ("reembed, cold cache (read + embed + write)", cold),
        ("reembed, warm cache", warm),
    ):
        print(f"| {label} | {seconds:.2f} | {chunks / seconds:,.0f} | {fresh / seconds:.2f}x |")


if __name__ == "__main__":
    main()
