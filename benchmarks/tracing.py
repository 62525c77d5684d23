"""Tracing overhead: OpenTelemetry off (the API alone, no SDK) against on (the SDK with
an in-memory exporter and metric reader), for a query and for an ingest.

Run: `.venv/bin/python benchmarks/tracing.py [--n CHUNKS] [--files N] [--rounds R]`.

Both modes run in one process on the same data, alternating round by round so that
load from other jobs falls on both alike; each figure is the median over rounds.
`FakeEmbedder` keeps the embedder's cost out, so the ratios show the tracing against
the store and pipeline work alone (with a real model they would be smaller still).
The last table prices one span measured directly, with the API alone (no SDK: the cost
of the call sites when nobody is tracing) and with the SDK, against a query (one span)
and an ingest (its spans): on a shared 2-core machine the query's own run-to-run noise
(+-5-10%) is larger than the tracing, which this measure is free of.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chromabridge import telemetry
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import FakeEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.pipeline import Pipeline
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

WORDS = [
    "harbour",
    "ferry",
    "pier",
    "lighthouse",
    "keeper",
    "tide",
    "schedule",
    "museum",
    "summer",
    "winter",
]


def _text(i: int, words: int) -> str:
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] + str(j % 50) for j in range(words))


def _tracing(on: bool, exporter: InMemorySpanExporter) -> None:
    if not on:
        telemetry.configure()
        return
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.configure(tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()]))


def query_p50(store: ChromaStore, queries: list[str]) -> float:
    times = []
    for text in queries:
        start = time.perf_counter()
        store.query(text, k=5)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ingest_seconds(folder: Path, name: str) -> float:
    store = ChromaStore(name, embedder=FakeEmbedder(dimension=384))
    loader = DirectoryLoader(folder, file_timeout=None, file_memory=None)
    pipeline = Pipeline(loader, RecursiveChunker(chunk_size=400, chunk_overlap=0), None, store)
    start = time.perf_counter()
    pipeline.run()
    seconds = time.perf_counter() - start
    store.delete_collection()
    return seconds


def span_cost(calls: int, on: bool, exporter: InMemorySpanExporter) -> float:
    """Seconds per `store_span` (its span and its histogram point): with no SDK
    configured (the API's no-op), or with the SDK. A direct measure, free of the query's
    own noise, which on a shared machine is larger than the tracing."""
    _tracing(on, exporter)
    start = time.perf_counter()
    for _ in range(calls):
        with telemetry.store_span("c", "query"):
            pass
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="chunks in the query store")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--files", type=int, default=300, help="files per ingest")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    exporter = InMemorySpanExporter()
    store = ChromaStore("tracing-bench", embedder=FakeEmbedder(dimension=384))
    store.add(
        [
            Chunk(id=f"c{i}", doc_id=f"d{i // 4}", text=_text(i, 60), metadata={})
            for i in range(args.n)
        ]
    )
    queries = [_text(i * 13, 8) for i in range(args.queries)]
    query_p50(store, queries[:20])  # warm-up

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.files):
            (folder / f"doc{i:05d}.txt").write_text(_text(i, 400))
        ingest_seconds(folder, "warm-up")
        results: dict[str, dict[bool, list[float]]] = {"query": {}, "ingest": {}}
        spans_per_ingest = 0
        for index in range(args.rounds):
            for on in (False, True) if index % 2 == 0 else (True, False):
                _tracing(on, exporter)
                results["query"].setdefault(on, []).append(query_p50(store, queries))
                exporter.clear()
                seconds = ingest_seconds(folder, f"ingest-{index}-{on}")
                results["ingest"].setdefault(on, []).append(seconds)
                if on:
                    spans_per_ingest = len(exporter.get_finished_spans())
                exporter.clear()
    costs = {on: span_cost(50_000, on, exporter) for on in (False, True)}
    exporter.clear()
    telemetry.configure()

    print(
        f"{args.n} chunks queried ({args.queries} queries, k=5); ingest of {args.files} text "
        f"files; {args.rounds} rounds alternating, medians; {spans_per_ingest} spans per ingest\n"
    )
    print("| operation | tracing off | tracing on (SDK, in-memory exporter) | on / off |")
    print("|---|---:|---:|---:|")
    for what, unit, scale in (("query", "ms p50", 1e3), ("ingest", "s", 1.0)):
        off = statistics.median(results[what][False])
        on = statistics.median(results[what][True])
        print(f"| {what} | {off * scale:.3f} {unit} | {on * scale:.3f} {unit} | {on / off:.3f}x |")
    off_query = statistics.median(results["query"][False])
    off_ingest = statistics.median(results["ingest"][False])
    print("\n| one span, measured directly | per span | share of a query | share of an ingest |")
    print("|---|---:|---:|---:|")
    for on, label in ((False, "API alone (no SDK)"), (True, "SDK, in-memory exporter")):
        cost = costs[on]
        print(
            f"| {label} | {cost * 1e6:.2f} us | {cost / off_query:.2%} | "
            f"{cost * spans_per_ingest / off_ingest:.2%} |"
        )


if __name__ == "__main__":
    main()
