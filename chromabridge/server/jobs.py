"""Evaluation runs in the background: one worker thread, progress readable at any time.

An evaluation can take minutes (ingesting a dataset, then every judged query under each
mode), far longer than an HTTP request should live, so `POST .../eval` starts a job and
the page polls it. One job runs at a time so evaluations never starve the queries.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromabridge.evaluate import Dataset, DatasetLoader, documents_of, load_dataset, ndcg, recall
from chromabridge.vectorstores import ChromaFilter

from .catalog import Catalog, Mode

__all__ = ["EvalJob", "EvalJobs"]

#: nDCG is read at 10 and recall at 100, the two cut-offs BEIR and MTEB report.
NDCG_AT, RECALL_AT = 10, 100


@dataclass
class EvalJob:
    """One evaluation: its state and, per mode, mean nDCG@10 and recall@100."""

    id: str
    collection: str
    dataset: str
    modes: list[Mode]
    status: str = "queued"  # queued | running | done | failed
    phase: str = ""
    done: int = 0
    total: int = 0
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str | None = None
    started: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "collection": self.collection,
            "dataset": self.dataset,
            "modes": self.modes,
            "status": self.status,
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "results": self.results,
            "error": self.error,
        }


class EvalJobs:
    """Evaluation jobs of one app; the newest `keep` are remembered."""

    def __init__(self, catalog: Catalog, keep: int = 50) -> None:
        self._catalog = catalog
        self._keep = keep
        self._jobs: dict[str, EvalJob] = {}
        self._ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromabridge-eval")

    def start(
        self, collection: str, path: Path, label: str, modes: Sequence[Mode], max_queries: int
    ) -> EvalJob:
        job = EvalJob(f"eval-{next(self._ids)}", collection, label, list(modes))
        self._jobs[job.id] = job
        for old in list(self._jobs)[: -self._keep]:
            del self._jobs[old]
        self._pool.submit(self._run, job, path, max_queries)
        return job

    def get(self, job_id: str) -> EvalJob | None:
        return self._jobs.get(job_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: EvalJob, path: Path, max_queries: int) -> None:
        job.status = "running"
        try:
            data = load_dataset(path)
            self._ingest(job, data)
            judged = [q for q in data.queries if data.qrels.get(q)][:max_queries]
            job.total, job.done = len(judged) * len(job.modes), 0
            for mode in job.modes:
                job.phase = f"evaluating {mode}"
                totals = {f"ndcg@{NDCG_AT}": 0.0, f"recall@{RECALL_AT}": 0.0}
                for query in judged:  # 3x deeper in chunks, as `evaluate` does
                    hits = self._catalog.search(
                        job.collection, data.queries[query], 3 * RECALL_AT, mode, ChromaFilter()
                    )
                    ranked, gains = documents_of(hits), data.qrels[query]
                    totals[f"ndcg@{NDCG_AT}"] += ndcg(ranked, gains, NDCG_AT)
                    totals[f"recall@{RECALL_AT}"] += recall(ranked, gains, RECALL_AT)
                    job.done += 1
                n = max(1, len(judged))
                job.results[mode] = {name: value / n for name, value in totals.items()}
            job.phase, job.status = "", "done"
        except Exception as exc:  # reported through the job, never lost in the thread
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"

    def _ingest(self, job: EvalJob, data: Dataset) -> None:
        """Fill the collection from the dataset when it is missing or empty; a collection
        that already holds documents is evaluated as it is (its doc ids must be the
        dataset's)."""
        from chromabridge.pipeline import Pipeline
        from chromabridge.specs import DEFAULT_CHUNKER, make_chunker

        store = self._catalog.store(job.collection, create=True)
        if store.count():
            return
        job.phase = f"ingesting {len(data.corpus)} documents"
        chunker = make_chunker(DEFAULT_CHUNKER, store.embedder)
        Pipeline(DatasetLoader(data), chunker, None, store).run()
