"""`Pipeline`: loader -> chunker -> embedder -> store, incremental and crash-safe.

A run streams documents in batches. For each batch it chunks the documents (chunk ids
are deterministic), reads the records the collection holds for them (one `get`), and
compares (`chromabridge.changes`): unchanged documents cost nothing more. The chunks
that are missing or different are embedded (through a persistent `CachedEmbedder` on a
local store, so a re-run after a crash does not pay twice) and upserted, and only then
are the stale records deleted. In full mode the run ends by deleting the documents of
its sources that it did not see (vanished files).

Crash safety needs no journal. Every write is an upsert of a record exactly as the final
state has it, or a delete of a record the final state must not have, and a document's
stale records go only after its new ones are in. Whatever instant a run is killed at,
the collection holds old and final records side by side, and the next run's comparison
writes exactly the missing ones and deletes exactly the stale ones: it ends in the state
an uninterrupted run gives. Searches in between see old or new text, never nothing.

The run is written once, as a plan (`chromabridge.plans`: a generator of steps,
`_plan`); `run()` drives it with the blocking APIs and `arun()` with the async twins,
through the same driver as `ChromaStore`'s operations.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from time import perf_counter, time_ns
from typing import Any, Literal, Protocol

from chromabridge import telemetry
from chromabridge.changes import DocumentChange, diff_document, in_scope, protected
from chromabridge.embedders import CachedEmbedder, Embedder, as_embedder
from chromabridge.errors import (
    ChunkerError,
    ConfigError,
    EmbedderMismatchError,
    EmbeddingError,
    LoaderError,
)
from chromabridge.image_ingest import aembed_chunks, chunk_document, embed_chunks
from chromabridge.plans import Plan, Step, adrive, drive
from chromabridge.progress import Progress, want_progress
from chromabridge.report import Failure, IngestReport
from chromabridge.types import Chunk, Document
from chromabridge.vectorstores import ChromaStore, DocumentInfo

__all__ = ["CACHE_FILE", "Mode", "Pipeline", "check_chunk_size"]

Mode = Literal["incremental", "full"]
#: The embedding cache's file name inside a persistent store's directory.
CACHE_FILE = "chromabridge-embeddings.sqlite"
_END = object()


def _next_or_end(iterator: Iterator[Document]) -> Any:
    """The iterator's next document, or `_END` (StopIteration must not cross a plan)."""
    return next(iterator, _END)


#: A step of the run: ("next", iterator), ("chunk", document), ("embed", chunks), or a
#: store call, (method name, keyword arguments): get, add, delete, documents.
Op = Step
RunPlan = Plan[None]


class DocumentSource(Protocol):
    """What the pipeline needs of a loader (every chromabridge loader is one)."""

    def lazy_load(self) -> Iterator[Document]: ...


class Executor(Protocol):
    """Runs a whole `Pipeline.run` elsewhere (`chromabridge.distributed.RayExecutor`)."""

    def run(self, pipeline: Pipeline) -> IngestReport: ...


class Chunker(Protocol):
    """What the pipeline needs of a chunker (every chromabridge chunker is one)."""

    def chunk(self, document: Document) -> list[Chunk]: ...


def _chunk_size(chunker: object) -> tuple[int, str] | None:
    """The largest chunk `chunker` makes and its unit, when it says so."""
    size = getattr(chunker, "chunk_size", None)
    if isinstance(size, int) and not isinstance(size, bool):
        name = getattr(getattr(chunker, "length", None), "name", "chars")
        if name == "chars":
            return size, "chars"
        # A tokenizer loaded from a directory is named by its path: too long to show.
        return size, "tokens" if os.sep in str(name) else f"tokens of {name}"
    size = getattr(chunker, "max_sentence_chars", None)  # SentenceWindowChunker's bound
    if isinstance(size, int) and not isinstance(size, bool):
        return size, "chars"
    return None


def check_chunk_size(chunker: object, embedder: Embedder) -> None:
    """Refuse a chunk size larger than the embedder's maximum input, before any work.

    An over-long chunk is silently truncated by most models: its tail is stored and shown
    but never searchable. The bound is the chunker's own unit against the embedder's
    token limit; for character-sized chunks that is conservative (a token is at least
    one character for the usual tokenizers), so measure chunks in tokens
    (`RecursiveChunker(length="tokens", tokenizer=...)`) to use the whole window.
    Embedders that say how many text tokens fit beside their special tokens
    (`max_text_tokens`, as `LocalEmbedder` does) are held to that tighter bound.
    """
    inner = getattr(embedder, "inner", embedder)  # a CachedEmbedder's model
    text_limit = getattr(inner, "max_text_tokens", None)
    limit = text_limit if isinstance(text_limit, int) else embedder.max_input_tokens
    found = _chunk_size(chunker)
    if limit is None or found is None:
        return
    size, unit = found
    if size > limit:
        raise ConfigError(
            f"chunk size {size} ({unit}) is larger than the maximum input of {limit} "
            f"tokens of embedder {embedder.name!r}: chunk tails would be cut off before "
            f"embedding; use a chunk size of at most {limit}"
        )


def _scope(loaders: Sequence[object]) -> tuple[list[str] | None, list[str]]:
    """(directories, files) the loaders cover; directories None: the whole collection."""
    from chromabridge.loaders import DirectoryLoader, FileLoader, ImageLoader, TextLoader

    roots: list[str] = []
    files: list[str] = []
    for loader in loaders:
        if isinstance(loader, DirectoryLoader):
            roots.append(str(loader.root))
        elif isinstance(loader, ImageLoader):
            files.extend(loader.sources)
        elif isinstance(loader, (FileLoader, TextLoader)):
            files.append(loader.source)
        else:
            return None, []
    return roots, files


def _single_file(loader: object) -> bool:
    from chromabridge.loaders import FileLoader, TextLoader

    return isinstance(loader, (FileLoader, TextLoader))


_RUN_SPAN = "chromabridge.pipeline.run"
#: The span of each per-batch step. Loading and chunking go document by document,
#: interleaved: each batch gets one span for each, after the fact (`_batch_spans`).
_STAGE_SPANS = {
    "get": "chromabridge.pipeline.compare",
    "documents": "chromabridge.pipeline.compare",
    "embed": "chromabridge.pipeline.embed",
    "add": "chromabridge.pipeline.write",
    "delete": "chromabridge.pipeline.delete",
}


class _BatchTimes:
    """Loading and chunking time of the documents of one batch, for its two spans."""

    def __init__(self) -> None:
        self.start_ns = time_ns()
        self.load = self.chunk = 0.0
        self.documents = 0

    def spans(self) -> _BatchTimes:
        """Emit the batch's load and chunk spans (each its summed time, from the batch's
        first read); returns a fresh tally for the next batch."""
        if self.load or self.documents:
            attributes = {"chromabridge.documents": self.documents}
            for name, seconds in (("load", self.load), ("chunk", self.chunk)):
                telemetry.after_span(
                    f"chromabridge.pipeline.{name}", seconds, attributes, start_ns=self.start_ns
                )
        return _BatchTimes()


def _step_attributes(name: str, arg: Any) -> dict[str, Any] | None:
    """Counts only: no text, ids or paths."""
    if name == "embed":
        return {"chromabridge.chunks": len(arg)}
    if name == "add":
        return {"chromabridge.chunks": len(arg["chunks"])}
    if name == "delete":
        ids = arg.get("ids") or arg.get("doc_id") or ()
        return {"chromabridge.records" if "ids" in arg else "chromabridge.documents": len(ids)}
    return None


def _traced(span: Any, report: IngestReport) -> IngestReport:
    """The run's outcome on its span."""
    if span.is_recording():
        span.set_attributes(
            {
                "chromabridge.documents.seen": report.seen,
                "chromabridge.documents.added": report.added,
                "chromabridge.documents.updated": report.updated,
                "chromabridge.documents.unchanged": report.unchanged,
                "chromabridge.documents.deleted": report.deleted,
                "chromabridge.documents.failed": report.failed,
                "chromabridge.chunks.written": report.chunks_written,
                "chromabridge.cache.hits": report.cache_hits,
            }
        )
    return report


class Pipeline:
    """Ingest what `loader` yields into `store`, incrementally.

    `loader`: a chromabridge loader (or a list of them); `chunker`: a chromabridge
    chunker; `embedder`: any embedder `ChromaStore` accepts, or None for the store's own;
    `store`: the `ChromaStore` to fill (create it with the same embedder so the collection
    remembers its vector space).

    `mode="incremental"` adds new documents, replaces changed ones and skips unchanged
    ones; `"full"` also deletes documents that the loaders no longer yield. What "the
    loaders' documents" means: for a `DirectoryLoader` every stored document whose
    `source` is under its root, for `FileLoader`/`TextLoader` their file, and for any
    other loader the whole collection. Files that failed to load are never deleted.

    `batch_size`: documents, and at most about that many chunks, handled per batch.
    `cache`: the embedding cache; None puts one in a persistent store's directory (none
    for other deployments), a path puts it there, False disables it. `progress`: a bar
    on stderr; None shows it when stderr is a terminal. `executor`: who runs `run()`;
    None runs it here, `chromabridge.distributed.RayExecutor` spreads loading, chunking
    and embedding over Ray workers with the same semantics and report.
    """

    def __init__(
        self,
        loader: DocumentSource | Sequence[DocumentSource],
        chunker: Chunker,
        embedder: object | None,
        store: ChromaStore,
        *,
        mode: Mode = "incremental",
        batch_size: int = 256,
        cache: bool | str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        executor: Executor | None = None,
    ) -> None:
        if mode not in ("incremental", "full"):
            raise ConfigError(f"mode must be 'incremental' or 'full', got {mode!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
        self.loaders: list[DocumentSource] = (
            list(loader) if isinstance(loader, Sequence) else [loader]
        )
        if not self.loaders:
            raise ConfigError("Pipeline needs at least one loader")
        self.chunker = chunker
        self.store = store
        self.mode: Mode = mode
        self.batch_size = batch_size
        self.progress = progress
        self.executor = executor
        base = self._resolve_embedder(embedder, store)
        check_chunk_size(chunker, base)
        self.embedder: Embedder = self._with_cache(base, store, cache)

    # -- set-up ---------------------------------------------------------------------------

    @staticmethod
    def _resolve_embedder(embedder: object | None, store: ChromaStore) -> Embedder:
        if embedder is None:
            if store.embedder is None:
                raise ConfigError(
                    f"no embedder: pass one to Pipeline or create ChromaStore "
                    f"{store.name!r} with embedder="
                )
            return store.embedder
        resolved = as_embedder(embedder)
        if store.embedder is not None and store.embedder.name != resolved.name:
            raise EmbedderMismatchError(
                f"Pipeline embedder {resolved.name!r} differs from store {store.name!r}'s "
                f"embedder {store.embedder.name!r}; use one embedder for both"
            )
        return resolved

    @staticmethod
    def _with_cache(
        embedder: Embedder, store: ChromaStore, cache: bool | str | os.PathLike[str] | None
    ) -> Embedder:
        if cache is False or isinstance(embedder, CachedEmbedder):
            return embedder
        if cache is None or cache is True:
            directory = store.directory
            if directory is None:
                if cache is True:
                    raise ConfigError(
                        "cache=True needs a persistent store (path=); give the cache a "
                        "path instead: cache='embeddings.sqlite'"
                    )
                return embedder
            return CachedEmbedder(embedder, directory / CACHE_FILE)
        return CachedEmbedder(embedder, cache)

    def _new_report(self) -> IngestReport:
        return IngestReport(collection=self.store.name, mode=self.mode)

    # -- drivers --------------------------------------------------------------------------

    def run(self) -> IngestReport:
        """Ingest everything once; returns the report (failures listed, not raised).

        Raises only for what makes the whole run pointless: the store refusing writes
        (`StoreError`), a wrong embedder (`EmbedderMismatchError`), a strict loader.
        """
        with telemetry.span(_RUN_SPAN, self._span_attributes()) as span:
            if self.executor is not None:
                return _traced(span, self.executor.run(self))
            return _traced(span, drive(self._run_plan(), self._do))

    async def arun(self) -> IngestReport:
        """Async `run`: the store and embedder's async twins; loading in a worker thread.
        With an executor, its blocking run in a worker thread."""
        if self.executor is not None:
            return await asyncio.to_thread(self.run)
        with telemetry.span(_RUN_SPAN, self._span_attributes()) as span:
            return _traced(span, await adrive(self._run_plan(), self._ado))

    def _span_attributes(self) -> dict[str, Any]:
        return {
            "db.system.name": "chroma",
            "db.collection.name": self.store.name,
            "chromabridge.mode": self.mode,
            "chromabridge.embedder": self.embedder.name,
        }

    def _run_plan(self, seen: dict[str, str] | None = None) -> Plan[IngestReport]:
        """The run (`_plan`) with its report's totals and the progress bar around it.
        `seen` collects the ids (and sources) of the documents the run saw."""
        report = self._new_report()
        start = perf_counter()
        hits = self._cache_hits()
        with Progress(want_progress(self.progress)) as progress:
            yield from self._plan(report, progress, {} if seen is None else seen)
        report.cache_hits = self._cache_hits() - hits
        report.total_seconds = perf_counter() - start
        return report

    def _cache_hits(self) -> int:
        return self.embedder.hits if isinstance(self.embedder, CachedEmbedder) else 0

    def _local(self, name: str) -> Callable[[Any], Any] | None:
        """The steps with no async form (loading, chunking): `arun` runs them in a
        worker thread."""
        if name == "next":
            return _next_or_end
        if name == "chunk":
            return partial(chunk_document, self.chunker)
        return None

    def _do(self, name: str, arg: Any) -> Any:
        """One step of the run, blocking, in its stage's span."""
        stage = _STAGE_SPANS.get(name)
        if stage is None:
            return self._do_step(name, arg)
        with telemetry.span(stage, _step_attributes(name, arg)):
            return self._do_step(name, arg)

    def _do_step(self, name: str, arg: Any) -> Any:
        if name == "embed":
            return embed_chunks(self.embedder, arg)
        local = self._local(name)
        if local is not None:
            return local(arg)
        return getattr(self.store, name)(**arg)

    async def _ado(self, name: str, arg: Any) -> Any:
        """One step of the run, async, in its stage's span."""
        stage = _STAGE_SPANS.get(name)
        if stage is None:
            return await self._ado_step(name, arg)
        with telemetry.span(stage, _step_attributes(name, arg)):
            return await self._ado_step(name, arg)

    async def _ado_step(self, name: str, arg: Any) -> Any:
        """The embedder's and the store's async twins; loading in a worker thread."""
        if name == "embed":
            return await aembed_chunks(self.embedder, arg)
        local = self._local(name)
        if local is not None:
            return await asyncio.to_thread(local, arg)
        return await getattr(self.store, "a" + name)(**arg)

    # -- the run, as operations -----------------------------------------------------------

    def _plan(self, report: IngestReport, progress: Progress, seen: dict[str, str]) -> RunPlan:
        # seen: document id -> source, this run
        failed_paths: list[str] = []  # sources whose stored records must stay
        complete = True  # every loader iterated to its end
        group: list[tuple[Document, list[Chunk]]] = []
        group_chunks = 0
        times = _BatchTimes()
        for loader in self.loaders:
            iterator = iter(loader.lazy_load())
            raised: LoaderError | None = None
            while True:
                started = perf_counter()
                try:
                    document = yield ("next", iterator)
                except LoaderError as exc:
                    raised = exc
                    break
                finally:
                    report.add_time("load", perf_counter() - started)
                    times.load += perf_counter() - started
                if document is _END:
                    break
                report.seen += 1
                source = document.source or document.id
                if document.id in seen:
                    self._fail(
                        report,
                        failed_paths,
                        Failure(
                            source,
                            "DuplicateDocumentId",
                            f"document id {document.id!r} from {source} was already "
                            f"ingested in this run from {seen[document.id]}; give the "
                            "loaders distinct roots or ids",
                            "load",
                        ),
                    )
                    continue
                seen[document.id] = source
                started = perf_counter()
                try:
                    chunks = yield ("chunk", document)
                except ChunkerError as exc:
                    self._fail(report, failed_paths, Failure.of(source, exc, "chunk"))
                    continue
                finally:
                    report.add_time("chunk", perf_counter() - started)
                    times.chunk += perf_counter() - started
                    times.documents += 1
                # Whitespace-only pieces cannot be embedded; every run drops them alike.
                chunks = [chunk for chunk in chunks if chunk.text.strip()]
                group.append((document, chunks))
                group_chunks += len(chunks)
                if len(group) >= self.batch_size or group_chunks >= self.batch_size:
                    times = times.spans()
                    yield from self._apply(group, report, failed_paths)
                    progress.advance(report.seen, report.chunks_written)
                    group, group_chunks = [], 0
            recorded = self._loader_failures(loader, report, failed_paths)
            if raised is not None:
                if not recorded:
                    source = str(getattr(loader, "source", None) or getattr(loader, "root", ""))
                    self._fail(report, failed_paths, Failure.of(source, raised, "load"))
                # A single file that failed is fully known; a walk that stopped is not.
                complete = complete and _single_file(loader)
        times.spans()
        if group:
            yield from self._apply(group, report, failed_paths)
            progress.advance(report.seen, report.chunks_written)
        if self.mode == "full" and complete:
            yield from self._remove_vanished(seen, failed_paths, report)

    @staticmethod
    def _fail(report: IngestReport, failed_paths: list[str], failure: Failure) -> None:
        report.failures.append(failure)
        report.failed += 1
        failed_paths.append(failure.source)

    def _loader_failures(
        self, loader: object, report: IngestReport, failed_paths: list[str]
    ) -> bool:
        """Copy the loader's per-file failures into the report; True if there were any."""
        load_report = getattr(loader, "report", None)
        failures = list(getattr(load_report, "failures", None) or ())
        for failure in failures:
            self._fail(
                report,
                failed_paths,
                Failure(failure.path, failure.error_type, failure.message, "load"),
            )
        return bool(failures)

    def _apply(
        self,
        group: list[tuple[Document, list[Chunk]]],
        report: IngestReport,
        failed_paths: list[str],
    ) -> RunPlan:
        """Bring one batch of documents up to date: compare, embed, upsert, then delete."""
        started = perf_counter()
        ids = [document.id for document, _ in group]
        stored = yield ("get", {"where": {"doc_id": {"$in": ids}}})
        by_doc: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in stored:
            by_doc[chunk.doc_id].append(chunk)
        changes = [diff_document(doc, chunks, by_doc.get(doc.id, ())) for doc, chunks in group]
        report.add_time("compare", perf_counter() - started)
        todo = [change for change in changes if change.outcome != "unchanged"]
        report.unchanged += len(changes) - len(todo)
        report.chunks += sum(len(change.chunks) for change in changes)
        if any(change.writes for change in todo):
            started = perf_counter()
            todo, vectors = yield from self._embed(todo, report, failed_paths)
            writes = [chunk for change in todo for chunk in change.writes]
            tokens = self._count_tokens([c.text for c in writes if not c.is_image])
            report.tokens += tokens
            telemetry.instruments().tokens.add(
                tokens, {"chromabridge.embedder": self.embedder.name}
            )
            report.add_time("embed", perf_counter() - started)
            if writes:
                started = perf_counter()
                yield ("add", {"chunks": writes, "embeddings": vectors})
                report.add_time("write", perf_counter() - started)
                telemetry.instruments().chunks_written.add(
                    len(writes), {"db.collection.name": self.store.name}
                )
        stale = [record_id for change in todo for record_id in change.stale]
        if stale:
            started = perf_counter()
            yield ("delete", {"ids": stale})
            report.add_time("delete", perf_counter() - started)
        for change in todo:
            if change.outcome == "added":
                report.added += 1
            else:
                report.updated += 1
            report.chunks_written += len(change.writes)
            report.chunks_deleted += len(change.stale)

    def _embed(
        self, todo: list[DocumentChange], report: IngestReport, failed_paths: list[str]
    ) -> Plan[tuple[list[DocumentChange], list[list[float]]]]:
        """Vectors for the chunks to write; on failure, find the documents at fault.

        One bad text (too long for a strict embedder, refused by a provider) should cost
        its own document, not the batch: the batch is retried document by document.
        """
        writes = [chunk for change in todo for chunk in change.writes]
        try:
            vectors = yield ("embed", writes)
            return todo, list(vectors)
        except EmbedderMismatchError:
            raise
        except EmbeddingError as exc:
            if len(todo) == 1:
                source = todo[0].document.source or todo[0].document.id
                self._fail(report, failed_paths, Failure.of(source, exc, "embed"))
                return [], []
        kept: list[DocumentChange] = []
        vectors = []
        for change in todo:
            if not change.writes:
                kept.append(change)
                continue
            try:
                found = yield ("embed", change.writes)
            except EmbedderMismatchError:
                raise
            except EmbeddingError as exc:
                source = change.document.source or change.document.id
                self._fail(report, failed_paths, Failure.of(source, exc, "embed"))
                continue
            kept.append(change)
            vectors.extend(found)
        return kept, vectors

    def _count_tokens(self, texts: list[str]) -> int:
        inner = self.embedder.inner if isinstance(self.embedder, CachedEmbedder) else self.embedder
        count = getattr(inner, "count_tokens", None)
        if callable(count):
            return sum(int(count(text)) for text in texts)
        return sum(len(text.split()) for text in texts)

    def _remove_vanished(
        self, seen: dict[str, str], failed_paths: list[str], report: IngestReport
    ) -> RunPlan:
        """Full mode: delete stored documents of this run's sources that it did not see."""
        started = perf_counter()
        roots, files = _scope(self.loaders)
        stored: dict[str, DocumentInfo] = yield ("documents", {})
        gone = [
            doc_id
            for doc_id, (source, _) in stored.items()
            if doc_id not in seen
            and in_scope(source, roots, files)
            and not protected(source, failed_paths)
        ]
        if gone:
            yield ("delete", {"doc_id": gone})
        report.deleted += len(gone)
        report.chunks_deleted += sum(stored[doc_id].chunks for doc_id in gone)
        report.add_time("delete", perf_counter() - started)
