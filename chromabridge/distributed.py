"""`RayExecutor`: one `Pipeline.run` spread over Ray workers, same semantics and report.

The driver walks the sources lazily (a `DirectoryLoader`'s walk yields per-file loaders,
never documents) and sends batches of `batch_size` files to a pool of actors, at most two
batches in flight per actor, so its memory is bounded by the batches in flight, not the
corpus. Each actor opens the store itself (a server, Chroma Cloud, or a shared
directory: `ChromaStore.reopen_options`), holds one embedder (loaded once per actor) and
runs an ordinary incremental `Pipeline` over its batch: comparing, embedding, the upsert
then the delete of stale records are the single-process code, not a copy. It returns
its partial report and the document ids it saw; the driver merges the reports and, in
full mode, removes vanished documents with `Pipeline._remove_vanished`.

Crash safety is the pipeline's: ids are deterministic and every write is an upsert of a
final record or a delete of a stale one, so a batch run twice (Ray restarting a killed
actor and retrying its task, or a re-run after the driver died) converges on the state
one uninterrupted run gives, with no duplicates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from chromabridge.embedders import CachedEmbedder, Embedder
from chromabridge.errors import ChromaBridgeError, ConfigError, LoaderError
from chromabridge.pipeline import Pipeline
from chromabridge.plans import drive
from chromabridge.progress import Progress, want_progress
from chromabridge.report import STAGES, Failure, IngestReport

__all__ = ["RayExecutor", "WorkerError"]

_INSTALL = "pip install 'chromabridge[ray]'"


class WorkerError(ChromaBridgeError):
    """A Ray worker kept dying past its restarts; re-run: finished batches cost nothing."""


@dataclass
class _Part:
    """A loader for one batch of a `DirectoryLoader`'s walk: its own budgets and report."""

    loader: Any  # DirectoryLoader
    units: list[Any]

    @property
    def report(self) -> Any:
        return self.loader.report

    def lazy_load(self) -> Iterator[Any]:
        from chromabridge.loaders.report import LoadReport

        self.loader.report = LoadReport()
        return iter(self.loader.load_units(self.units))


@dataclass
class _Job:
    """What every worker needs to build its pipeline (pickled once, put in Ray's store)."""

    collection: str
    store_options: dict[str, Any] = field(repr=False)  # credentials: never in a repr
    chunker: Any
    embedder: Embedder | None
    embedder_factory: Callable[[], object] | None
    cache_path: str | None
    pipeline_batch: int


@dataclass
class _Result:
    report: IngestReport
    seen: dict[str, str] = field(default_factory=dict)


class _Worker:
    """One Ray actor: the store, the embedder (loaded once) and a pipeline per batch."""

    def __init__(self, job: _Job) -> None:
        from chromabridge.vectorstores import ChromaStore

        embedder = job.embedder_factory() if job.embedder_factory else job.embedder
        self.job = job
        self.store = ChromaStore(
            job.collection, embedder=embedder, create=False, **job.store_options
        )
        base = self.store.embedder
        assert base is not None  # the driver's pipeline resolved one
        self.embedder: Embedder = (
            CachedEmbedder(base, job.cache_path) if job.cache_path is not None else base
        )

    def pid(self) -> int:
        return os.getpid()

    def ingest(self, loaders: list[Any]) -> _Result:
        pipeline = Pipeline(
            loaders,
            self.job.chunker,
            self.embedder,
            self.store,
            batch_size=self.job.pipeline_batch,
            cache=False,
            progress=False,
        )
        seen: dict[str, str] = {}
        report = drive(pipeline._run_plan(seen), pipeline._do)
        return _Result(report, seen)


def _merge(total: IngestReport, part: IngestReport) -> None:
    for name in (
        "seen",
        "added",
        "updated",
        "unchanged",
        "failed",
        "chunks",
        "chunks_written",
        "chunks_deleted",
        "tokens",
        "cache_hits",
    ):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for stage in STAGES:
        total.add_time(stage, part.seconds.get(stage, 0.0))
    total.failures.extend(part.failures)


def _batches(loaders: Sequence[Any], size: int, unwalkable: list[Failure]) -> Iterator[list[Any]]:
    """Lists of at most `size` loaders: a directory's files in walk order, others whole.
    A directory that cannot be walked at all goes to `unwalkable`."""
    from chromabridge.loaders import DirectoryLoader

    for loader in loaders:
        if not isinstance(loader, DirectoryLoader):
            yield [loader]
            continue
        try:
            walk = loader.units()
        except LoaderError as exc:
            unwalkable.append(Failure.of(str(loader.root), exc, "load"))
            continue
        units: list[Any] = []
        for unit in walk:
            units.append(unit)
            if len(units) >= size:
                yield [_Part(loader, units)]
                units = []
        if units:
            yield [_Part(loader, units)]


class RayExecutor:
    """Run a `Pipeline` on Ray: `Pipeline(..., executor=RayExecutor())`.

    `address`: None starts (or joins) a local Ray instance, ``"auto"`` or
    ``"ray://host:10001"`` joins a cluster. `num_workers`: actors, each with one embedder;
    None: one per CPU Ray offers. `num_gpus_per_worker`: GPUs reserved per actor (Ray
    sets CUDA_VISIBLE_DEVICES, so a `LocalEmbedder` built in the actor picks its GPU;
    pass `embedder_factory` so the model is built there rather than pickled from the
    driver). `batch_size`: files per task. `max_concurrency_per_worker`: embedder calls
    one actor makes at once (1: one batch at a time); with a remote embedder the
    provider sees at most `num_workers * max_concurrency_per_worker` requests in flight,
    so size it to the account's rate limit. `init_options`: extra `ray.init` arguments.
    `on_result`: called on the driver after each finished batch (progress hooks, tests).

    The store must be reachable from every worker: a server (host/port), Chroma Cloud,
    or a shared directory (``path=..., shared=True``, one machine). An in-memory or
    embedded store is refused with `ConfigError` before Ray starts.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_workers: int | None = None,
        num_gpus_per_worker: float = 0,
        batch_size: int = 64,
        max_concurrency_per_worker: int = 1,
        max_restarts: int = 3,
        embedder_factory: Callable[[], object] | None = None,
        init_options: dict[str, Any] | None = None,
        on_result: Callable[[RayExecutor, IngestReport], None] | None = None,
    ) -> None:
        for name, value in (
            ("num_workers", num_workers),
            ("batch_size", batch_size),
            ("max_concurrency_per_worker", max_concurrency_per_worker),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise ConfigError(f"max_restarts must be an int >= 0, got {max_restarts!r}")
        if num_gpus_per_worker < 0:
            raise ConfigError(f"num_gpus_per_worker must be >= 0, got {num_gpus_per_worker!r}")
        self.address = address
        self.num_workers = num_workers
        self.num_gpus_per_worker = num_gpus_per_worker
        self.batch_size = batch_size
        self.max_concurrency_per_worker = max_concurrency_per_worker
        self.max_restarts = max_restarts
        self.embedder_factory = embedder_factory
        self.init_options = dict(init_options or {})
        self.on_result = on_result
        #: The process ids of the actors of the current run (known once they started).
        self.worker_pids: list[int] = []

    def __repr__(self) -> str:
        return (
            f"RayExecutor(address={self.address!r}, num_workers={self.num_workers!r}, "
            f"num_gpus_per_worker={self.num_gpus_per_worker!r}, batch_size={self.batch_size})"
        )

    # -- the run --------------------------------------------------------------------------

    def _job(self, pipeline: Pipeline) -> _Job:
        """What the workers need; refuses a store they cannot reach, before Ray starts."""
        store = pipeline.store
        options = store.reopen_options()
        if options is None:
            raise ConfigError(
                f"store {store.name!r} is in memory or an embedded directory that only this "
                "process can open; a Ray run needs one every worker reaches: a Chroma "
                "server (host=, port=), Chroma Cloud (cloud=True) or a shared directory "
                "(path=..., shared=True)"
            )
        embedder = pipeline.embedder
        cache_path = None
        if isinstance(embedder, CachedEmbedder):
            cache_path = str(embedder.path)
            embedder = embedder.inner
        return _Job(
            collection=store.name,
            store_options=options,
            chunker=pipeline.chunker,
            embedder=None if self.embedder_factory else embedder,
            embedder_factory=self.embedder_factory,
            cache_path=cache_path,
            pipeline_batch=pipeline.batch_size,
        )

    def _ray(self) -> tuple[Any, bool]:
        """The `ray` module, initialised; True when this call started it."""
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(f"RayExecutor needs Ray: {_INSTALL}") from exc
        if ray.is_initialized():
            return ray, False
        options = {"include_dashboard": False, "log_to_driver": False, **self.init_options}
        ray.init(address=self.address, **options)
        return ray, True

    def run(self, pipeline: Pipeline) -> IngestReport:
        """Run `pipeline` on the workers; the same `IngestReport` as `pipeline.run()`."""
        job = self._job(pipeline)
        ray, started = self._ray()
        try:
            return self._run(ray, pipeline, job)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, pipeline: Pipeline, job: _Job) -> IngestReport:
        from time import perf_counter

        start = perf_counter()
        report = IngestReport(collection=pipeline.store.name, mode=pipeline.mode)
        workers = self.num_workers or max(1, int(ray.available_resources().get("CPU", 1)))
        actor_class = ray.remote(_Worker).options(
            num_cpus=1,
            num_gpus=self.num_gpus_per_worker,
            max_restarts=self.max_restarts,
            max_task_retries=self.max_restarts,
            max_concurrency=self.max_concurrency_per_worker,
        )
        try:
            job_ref = ray.put(job)
        except Exception as exc:  # cloudpickle's errors have no common type
            raise ConfigError(
                f"the chunker or embedder cannot be sent to Ray workers ({exc}); pass "
                "RayExecutor(embedder_factory=...) to build the embedder in each worker"
            ) from exc
        actors = [actor_class.remote(job_ref) for _ in range(workers)]
        seen: dict[str, str] = {}
        failed_paths: list[str] = []
        unwalkable: list[Failure] = []
        try:
            self.worker_pids = ray.get([actor.pid.remote() for actor in actors])
            slots = self.max_concurrency_per_worker + 1  # one queued behind the running
            free = [actor for actor in actors for _ in range(slots)]
            running: dict[Any, Any] = {}
            batches = _batches(pipeline.loaders, self.batch_size, unwalkable)
            with Progress(want_progress(pipeline.progress)) as progress:
                exhausted = False
                while running or not exhausted:
                    while free and not exhausted:
                        batch = next(batches, None)
                        if batch is None:
                            exhausted = True
                            break
                        actor = free.pop()
                        running[actor.ingest.remote(batch)] = actor
                    if not running:
                        break
                    (done,), _ = ray.wait(list(running), num_returns=1)
                    free.append(running.pop(done))
                    result = self._get(ray, done)
                    _merge(report, result.report)
                    seen.update(result.seen)
                    failed_paths.extend(f.source for f in result.report.failures)
                    progress.advance(report.seen, report.chunks_written)
                    if self.on_result is not None:
                        self.on_result(self, result.report)
        finally:
            for actor in actors:
                ray.kill(actor)
        for failure in unwalkable:  # as Pipeline: reported, and the walk is incomplete
            report.failures.append(failure)
            report.failed += 1
        if pipeline.mode == "full" and not unwalkable:
            drive(pipeline._remove_vanished(seen, failed_paths, report), pipeline._do)
        report.total_seconds = perf_counter() - start
        return report

    def _get(self, ray: Any, ref: Any) -> _Result:
        """One batch's result; Ray's own errors (a worker that kept dying) typed."""
        try:
            result: _Result = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None
        except ray.exceptions.RayActorError as exc:
            raise WorkerError(
                f"a Ray worker died more than {self.max_restarts} times: {exc}; re-run "
                "(batches already written cost no embedding)"
            ) from exc
        return result
