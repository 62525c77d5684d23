"""Retrieval quality on Cranfield: dense vs BM25 vs hybrid (our defaults), one run.

Cranfield (1400 aeronautics abstracts, 225 queries, graded judgements) from
../shared/data/cranfield, the local all-MiniLM-L6-v2 embedder, an in-memory store, one
chunk per document: its title (`.T`) then its text (`.W`), the usual title + body
indexing (BEIR's convention). Metrics by ranx: nDCG@10, recall@100, MRR@10.

    .venv/bin/python benchmarks/retrieval_quality.py [--data DIR]

Qrels: `cranqrel` lines are "query doc code"; codes 1-4 mean gain 4-1 (1 is the most
relevant), -1 not relevant. Query numbers in `cranqrel` are the queries' positions
(1..225) in `cran.qry`, not their `.I` labels (which skip numbers).
Every retriever runs with its library defaults; nothing here is tuned to Cranfield.
"""

from __future__ import annotations

import argparse
import re
import time
import uuid
from pathlib import Path

from ranx import Qrels, Run, evaluate

from chromabridge.embedders import LocalEmbedder
from chromabridge.retrievers import HybridRetriever, VectorRetriever
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cranfield"
METRICS = ["ndcg@10", "recall@100", "mrr@10"]


def _records(path: Path) -> list[dict[str, str]]:
    """Split a SMART-format file into records of fields (.I, .T, .W ...)."""
    records: list[dict[str, str]] = []
    field = ""
    for line in path.read_text().splitlines():
        match = re.match(r"^\.([A-Z])\s*(.*)$", line)
        if match:
            field = match.group(1)
            if field == "I":
                records.append({"I": match.group(2).strip()})
                continue
            records[-1].setdefault(field, "")
            continue
        if records and field:
            records[-1][field] = (records[-1].get(field, "") + " " + line).strip()
    return records


def load(data: Path) -> tuple[list[Chunk], dict[str, str], dict[str, dict[str, int]]]:
    docs = _records(data / "cran.all.1400")
    chunks = [  # two abstracts are empty in the collection: they are left out
        Chunk.from_text(
            " ".join(f"{d.get('T', '')} {d['W']}".split()),
            id=d["I"],
            metadata={"title": " ".join(d.get("T", "").split())},
        )
        for d in docs
        if d.get("W", "").strip()
    ]
    queries = {
        str(n): " ".join(q["W"].split()) for n, q in enumerate(_records(data / "cran.qry"), 1)
    }
    qrels: dict[str, dict[str, int]] = {}
    for line in (data / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        query, doc, code = parts[0], parts[1], int(parts[2])
        if 1 <= code <= 4:
            qrels.setdefault(query, {})[doc] = 5 - code
    return chunks, {q: t for q, t in queries.items() if q in qrels}, qrels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    chunks, queries, qrels = load(args.data)
    print(f"{len(chunks)} documents, {len(queries)} judged queries")

    started = time.perf_counter()
    store = ChromaStore(f"cranfield-{uuid.uuid4().hex[:8]}", embedder=LocalEmbedder())
    store.add(chunks)
    print(f"indexed in {time.perf_counter() - started:.1f}s")
    hybrid = HybridRetriever(store)
    dense = VectorRetriever(store)
    runs: dict[str, dict[str, dict[str, float]]] = {"dense": {}, "bm25": {}, "hybrid": {}}
    for qid, text in queries.items():
        runs["dense"][qid] = {h.chunk.id: h.score for h in dense.retrieve(text, k=100)}
        runs["bm25"][qid] = dict(hybrid.lexical.search(text, 100)) or {"-": 0.0}
        runs["hybrid"][qid] = {h.chunk.id: h.score for h in hybrid.retrieve(text, k=100)}
    print(f"\n| run | {' | '.join(METRICS)} |\n|---|{'---|' * len(METRICS)}")
    for name, run in runs.items():
        scores = evaluate(Qrels(qrels), Run(run, name=name), METRICS)
        print(f"| {name} | " + " | ".join(f"{scores[m]:.3f}" for m in METRICS) + " |")
    store.delete_collection()


if __name__ == "__main__":
    main()
