"""`IngestReport`: what one pipeline run did, for people (a table) and machines (JSON).

A run over a real corpus always meets something odd; the report says exactly which
documents were written, skipped or removed, which failed and why, and where the time went,
so a user can trust (or fix) the index without reading logs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Failure", "IngestReport", "STAGES"]

#: The stages timed in `IngestReport.seconds`, in pipeline order.
STAGES = ("load", "chunk", "compare", "embed", "write", "delete")


@dataclass(frozen=True, slots=True)
class Failure:
    """One file or document that is not (fully) in the index after the run.

    `source` is the file path (or document id when there is no path); `error_type` the
    class name of the root cause; `message` says what was wrong and what to do.
    """

    source: str
    error_type: str
    message: str
    stage: str = "load"

    @classmethod
    def of(cls, source: str, error: BaseException, stage: str) -> Failure:
        cause = error.__cause__ if error.__cause__ is not None else error
        return cls(source, type(cause).__name__, str(error), stage)


@dataclass(slots=True)
class IngestReport:
    """Counts, failures and timings of one `Pipeline.run()`.

    Documents: `seen` counts what the loaders yielded; each seen document ends `added`,
    `updated`, `unchanged` or failed. `failed` counts entries of `failures`: documents
    that could not be chunked or embedded, and files the loader could not read (which
    never became documents); their stored records are left as they were. `deleted`
    counts documents removed because their source vanished (full mode). Chunks: `chunks`
    = chunks of all seen documents, `chunks_written` / `chunks_deleted` = records
    upserted / removed. `tokens` = tokens sent for embedding (the embedder's own count
    when it has one, else words); `cache_hits` = texts served by the embedding cache.
    `seconds` holds the time per stage (see `STAGES`), `total_seconds` the wall time.
    """

    collection: str = ""
    mode: str = "incremental"
    seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    tokens: int = 0
    cache_hits: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    total_seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file and document made it into the index."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """The CLI's exit status: 0 when everything was ingested, 1 on partial failure."""
        return 0 if self.ok else 1

    def add_time(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["seconds"] = {k: round(v, 4) for k, v in self.seconds.items()}
        data["total_seconds"] = round(self.total_seconds, 4)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON (the CLI's `--json`); keys as in `to_dict`."""
        return json.dumps(self.to_dict(), indent=indent)

    def __rich__(self) -> Any:
        """A rich renderable: the counts table, then the failures (rich is imported here)."""
        from rich.console import Group
        from rich.table import Table

        counts = Table(title=f"ingest {self.collection} ({self.mode})", show_header=True)
        counts.add_column("documents", justify="left")
        counts.add_column("", justify="right")
        counts.add_column("chunks", justify="left")
        counts.add_column("", justify="right")
        counts.add_column("seconds", justify="left")
        counts.add_column("", justify="right")
        left = [
            ("seen", self.seen),
            ("added", self.added),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("deleted", self.deleted),
            ("failed", self.failed),
            ("", ""),
        ]
        middle = [
            ("total", self.chunks),
            ("written", self.chunks_written),
            ("deleted", self.chunks_deleted),
            ("tokens", self.tokens),
            ("cache hits", self.cache_hits),
            ("", ""),
            ("", ""),
        ]
        right = [(stage, f"{self.seconds.get(stage, 0.0):.2f}") for stage in STAGES]
        right.append(("total", f"{self.total_seconds:.2f}"))
        for (a, b), (c, d), (e, f) in zip(left, middle, right, strict=True):
            counts.add_row(a, str(b), c, str(d), e, f)
        if not self.failures:
            return counts
        failed = Table(title="failures", show_header=True)
        for column in ("source", "stage", "error", "message"):
            failed.add_column(column, overflow="fold")
        for failure in self.failures:
            failed.add_row(failure.source, failure.stage, failure.error_type, failure.message)
        return Group(counts, failed)

    def __str__(self) -> str:
        return (
            f"{self.seen} documents seen: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed; {self.deleted} deleted; "
            f"{self.chunks_written} chunks written, {self.chunks_deleted} deleted "
            f"in {self.total_seconds:.2f}s"
        )
