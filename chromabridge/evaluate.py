"""Retrieval quality on a labelled dataset: BEIR's layout or the Cranfield collection.

`chromabridge eval` answers "is this embedder/chunker/mode good on my kind of data?" with
the standard numbers (nDCG@k, recall@k, MRR@k), computed over documents: chunk hits are
folded into their documents, best rank first, because that is what qrels label.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chromabridge.errors import ConfigError
from chromabridge.loaders.report import LoadReport
from chromabridge.types import Document, Hit

__all__ = [
    "Dataset",
    "DatasetLoader",
    "compare",
    "evaluate",
    "load_dataset",
    "mrr",
    "ndcg",
    "read_beir",
    "read_cranfield",
    "recall",
]


@dataclass
class Dataset:
    """Documents, queries and graded relevance (`qrels[query][doc] = gain`, gain > 0)."""

    name: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)


class DatasetLoader:
    """A dataset's corpus as a loader, so `Pipeline` ingests it like any other source."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.report = LoadReport()

    def lazy_load(self) -> Iterator[Document]:
        yield from self.dataset.corpus.values()

    def load(self) -> list[Document]:
        return list(self.lazy_load())


def load_dataset(path: Path, split: str = "test") -> Dataset:
    """Read `path` as BEIR (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv) or Cranfield."""
    if (path / "corpus.jsonl").is_file():
        return read_beir(path, split)
    if (path / "cran.all.1400").is_file():
        return read_cranfield(path)
    raise ConfigError(
        f"{path} is not a dataset: expected BEIR's corpus.jsonl, queries.jsonl and "
        "qrels/<split>.tsv, or Cranfield's cran.all.1400, cran.qry and cranqrel"
    )


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{path}:{number} is not valid JSON: {exc}") from exc
            if not isinstance(row, dict) or "_id" not in row:
                raise ConfigError(f"{path}:{number} needs an object with an '_id'")
            yield row


def read_beir(path: Path, split: str = "test") -> Dataset:
    """A BEIR dataset folder; only queries with judgements in `split` are kept."""
    qrels_path = path / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        raise ConfigError(f"{qrels_path} is missing; BEIR qrels live in qrels/<split>.tsv")
    corpus: dict[str, Document] = {}
    for row in _jsonl(path / "corpus.jsonl"):
        doc_id, title = str(row["_id"]), str(row.get("title") or "")
        text = str(row.get("text") or "")
        corpus[doc_id] = Document(
            id=doc_id,
            text=f"{title}\n\n{text}" if title else text,
            metadata={"title": title} if title else {},
        )
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            cells = line.rstrip("\n").split("\t")
            if (number == 1 and cells[0] == "query-id") or not line.strip():
                continue
            if len(cells) != 3 or not cells[2].lstrip("-").isdigit():
                raise ConfigError(f"{qrels_path}:{number}: want query-id, corpus-id, score")
            if int(cells[2]) > 0:
                qrels.setdefault(cells[0], {})[cells[1]] = int(cells[2])
    queries = {
        str(row["_id"]): str(row.get("text") or "")
        for row in _jsonl(path / "queries.jsonl")
        if str(row["_id"]) in qrels
    }
    return Dataset(path.name, corpus, queries, {q: qrels[q] for q in queries})


_FIELD = re.compile(r"^\.([ITABW])\s*(.*)$")


def _records(path: Path) -> Iterator[dict[str, str]]:
    """Cranfield's SMART format: `.I n` starts a record, `.T/.A/.B/.W` start fields."""
    record: dict[str, str] | None = None
    key = ""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _FIELD.match(line)
        if match and match.group(1) == "I":
            if record is not None:
                yield record
            record, key = {"I": match.group(2).strip()}, ""
        elif match:
            key = match.group(1)
            if record is not None:
                record.setdefault(key, "")
        elif record is not None and key:
            record[key] = f"{record[key]} {line.strip()}".strip()
    if record is not None:
        yield record


def read_cranfield(path: Path) -> Dataset:
    """The Cranfield collection; relevance codes 1-4 become gains 4-1, others are not relevant.

    cranqrel numbers queries 1..225 in file order, not by the `.I` numbers of cran.qry
    (which skip values), so queries are renumbered by position.
    """
    corpus: dict[str, Document] = {}
    for record in _records(path / "cran.all.1400"):
        doc_id = str(int(record["I"]))
        title, text = record.get("T", ""), record.get("W", "")
        body = f"{title}\n\n{text}" if title and not text.startswith(title) else text or title
        corpus[doc_id] = Document(id=doc_id, text=body, metadata={"title": title})
    queries = {
        str(position): record.get("W", "")
        for position, record in enumerate(_records(path / "cran.qry"), 1)
    }
    qrels: dict[str, dict[str, int]] = {}
    for line in (path / "cranqrel").read_text(encoding="utf-8").splitlines():
        cells = line.split()
        if len(cells) < 3:
            continue
        query, doc, code = cells[0], cells[1], int(cells[2])
        if 1 <= code <= 4 and query in queries:
            qrels.setdefault(query, {})[doc] = 5 - code
    return Dataset("cranfield", corpus, queries, qrels)


def ndcg(ranked: Sequence[str], gains: Mapping[str, int], k: int) -> float:
    """Normalised DCG with linear gains (trec_eval's `ndcg_cut`)."""
    dcg = sum(gains.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranked: Sequence[str], gains: Mapping[str, int], k: int) -> float:
    relevant = {doc for doc, gain in gains.items() if gain > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr(ranked: Sequence[str], gains: Mapping[str, int], k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if gains.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def documents_of(hits: Sequence[Hit]) -> list[str]:
    """Document ids in the order of their best chunk."""
    return list(dict.fromkeys(hit.chunk.doc_id for hit in hits))


def evaluate(
    dataset: Dataset,
    retrieve: Callable[[str, int], Sequence[Hit]],
    k: int = 10,
    max_queries: int | None = None,
) -> dict[str, float]:
    """Mean nDCG@k, recall@k and MRR@k over the judged queries.

    `retrieve(query, n)` returns chunk hits; 3k chunks are asked for so that k distinct
    documents remain after folding chunks into documents.
    """
    totals = {f"ndcg@{k}": 0.0, f"recall@{k}": 0.0, f"mrr@{k}": 0.0}
    judged = [q for q in dataset.queries if dataset.qrels.get(q)]
    if max_queries is not None:
        judged = judged[:max_queries]
    if not judged:
        raise ConfigError(f"dataset {dataset.name!r} has no judged queries to evaluate")
    for query in judged:
        ranked = documents_of(retrieve(dataset.queries[query], 3 * k))
        gains = dataset.qrels[query]
        totals[f"ndcg@{k}"] += ndcg(ranked, gains, k)
        totals[f"recall@{k}"] += recall(ranked, gains, k)
        totals[f"mrr@{k}"] += mrr(ranked, gains, k)
    result = {name: value / len(judged) for name, value in totals.items()}
    result["queries"] = float(len(judged))
    return result


def compare(
    dataset: Dataset,
    retrievers: Mapping[str, Callable[[str, int], Sequence[Hit]]],
    max_queries: int | None = None,
) -> dict[str, dict[str, float]]:
    """nDCG@10 and recall@100 of several retrievers over the same judged queries, side by
    side (`chromabridge reembed --eval`): one search of 300 chunks per query each."""
    judged = [q for q in dataset.queries if dataset.qrels.get(q)][:max_queries]
    if not judged:
        raise ConfigError(f"dataset {dataset.name!r} has no judged queries to evaluate")
    result: dict[str, dict[str, float]] = {}
    for name, retrieve in retrievers.items():
        totals = {"ndcg@10": 0.0, "recall@100": 0.0}
        for query in judged:
            ranked = documents_of(retrieve(dataset.queries[query], 300))
            totals["ndcg@10"] += ndcg(ranked, dataset.qrels[query], 10)
            totals["recall@100"] += recall(ranked, dataset.qrels[query], 100)
        result[name] = {metric: total / len(judged) for metric, total in totals.items()}
    return result
