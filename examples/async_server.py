"""Async ingestion and concurrent search against a Chroma server (`chroma run`).

    chroma run --path ./chroma-server --port 8000 &
    python examples/async_server.py --host localhost --port 8000

Against a server, `Pipeline.arun()` and the store's async methods use chromadb's
`AsyncHttpClient`, so one event loop serves many searches at once: the shape of a web
service answering users while it keeps its index fresh. The same code with `path=` runs
embedded (the async methods then use a worker thread).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from chromabridge import Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import LocalEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.quiet import quiet
from chromabridge.vectorstores import ChromaStore

DATA = Path(__file__).resolve().parent / "data"
QUESTIONS = [
    "When does the library close on Saturdays?",
    "Are there late fees?",
    "Which materials are allowed in the laser cutter?",
    "What share of the budget came from the city council?",
]


async def answer(store: ChromaStore, question: str) -> tuple[str, str, float]:
    (hit,) = await store.aquery(question, k=1)
    return question, Path(hit.chunk.metadata["source"]).name, hit.score


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--collection", default="harbor-point-async")
    parser.add_argument(
        "--verbose", action="store_true", help="show model-loading bars and library notices"
    )
    args = parser.parse_args()
    quiet(args.verbose)

    embedder = LocalEmbedder()
    store = ChromaStore(args.collection, host=args.host, port=args.port, embedder=embedder)
    chunker = RecursiveChunker(120, 20, length="tokens", tokenizer=embedder.tokenizer)
    report = await Pipeline(DirectoryLoader(DATA), chunker, embedder, store, mode="full").arun()
    print(report)

    started = time.perf_counter()
    results = await asyncio.gather(*(answer(store, q) for q in QUESTIONS))
    elapsed = time.perf_counter() - started
    for question, source, score in results:
        print(f"{score:.3f}  {source:<22} {question}")
    print(f"{len(QUESTIONS)} concurrent searches in {elapsed:.2f}s")


if __name__ == "__main__":
    asyncio.run(main())
