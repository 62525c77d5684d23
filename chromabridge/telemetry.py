"""OpenTelemetry traces and metrics: one place for the tracer, meter, names and helpers.

Only `opentelemetry-api` is needed. With no SDK configured every span is the API's
non-recording span and every instrument a no-op, so the call sites cost a function call
(`benchmarks/tracing.py` measures it). Configure an SDK the standard way
(`trace.set_tracer_provider`, `metrics.set_meter_provider`), or for one program with
`configure(tracer_provider=..., meter_provider=...)`, or from the command line with
`--trace console|otlp` (`setup_exporter`).

Attribute names follow the semantic conventions: `gen_ai.*` for embedding requests,
`db.*` for Chroma calls; ours are under `chromabridge.`. No document text, query text
or secret is ever recorded; `CHROMABRIDGE_TRACE_QUERY_TEXT=1` opts in to query text
(`chromabridge.query.text`) for debugging.

Span names (docs/observability.md): `chromabridge.pipeline.run` with a child per stage
step (`chromabridge.pipeline.load|chunk|compare|embed|write|delete`), `chroma {op}` per
`ChromaStore` call, `embeddings {model}` per provider request (retries are events),
`chromabridge.retrieve` (hybrid: children `chromabridge.retrieve.dense|lexical|fuse`),
`chromabridge.rerank`, `chromabridge.load_file` per file.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import (
    OTEL_PYTHON_METER_PROVIDER,
    OTEL_PYTHON_TRACER_PROVIDER,
)
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.trace import Span, Status, StatusCode

from chromabridge.errors import ConfigError

__all__ = [
    "TRACE_ENV",
    "configure",
    "after_span",
    "cache_lookups",
    "embedding_span",
    "exporting",
    "file_span",
    "hits",
    "instruments",
    "listening",
    "query_text",
    "retrieve_span",
    "retry_event",
    "setup_exporter",
    "span",
    "store_span",
    "tracer",
    "usage",
]

#: `console` or `otlp`: what the CLI's `--trace` sets, and what `make demo TRACE=` passes.
TRACE_ENV = "CHROMABRIDGE_TRACE"
QUERY_TEXT_ENV = "CHROMABRIDGE_TRACE_QUERY_TEXT"
_NAME = "chromabridge"
_READS = frozenset({"query", "query_rows", "nearest", "mmr", "get", "records", "ids", "count"})


class _Instruments:
    """The metrics, made from one meter."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.chunks_written = meter.create_counter(
            "chromabridge.chunks.written", unit="{chunk}", description="Chunks written to Chroma"
        )
        self.tokens = meter.create_counter(
            "chromabridge.embedding.tokens", unit="{token}", description="Tokens embedded"
        )
        self.cache = meter.create_counter(
            "chromabridge.cache.lookups",
            unit="{lookup}",
            description="Embedding cache lookups; chromabridge.cache.hit says which hit",
        )
        self.duration = meter.create_histogram(
            "db.client.operation.duration", unit="s", description="ChromaStore call latency"
        )
        self.retries = meter.create_counter(
            "chromabridge.retries", unit="{retry}", description="Provider requests retried"
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(_NAME)
    except PackageNotFoundError:  # pragma: no cover - a bare checkout on sys.path
        return "0"


#: Whether `listening` may read the API's globals directly: `get_tracer_provider()` and
#: `get_meter_provider()` look the environment up on every call (a few microseconds, and
#: tens with cold caches right after a Chroma query), where the module attributes they
#: return are one read each. Falls back to those calls when the attributes are not there
#: (another API version) or when the environment names a provider to load on first use.
_GLOBALS_READABLE = (
    hasattr(trace, "_TRACER_PROVIDER")
    and hasattr(_metrics_api, "_METER_PROVIDER")
    and OTEL_PYTHON_TRACER_PROVIDER not in os.environ
    and OTEL_PYTHON_METER_PROVIDER not in os.environ
)


class _State:
    explicit: bool
    global_sdk: bool = False
    tracer: trace.Tracer
    meter: metrics.Meter
    instruments: _Instruments


_state = _State()


def configure(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> None:
    """Send chromabridge's spans and metrics to these providers (None: the global ones,
    which is the default and follows `trace.set_tracer_provider` made at any time)."""
    version = _version()
    if tracer_provider is None:
        _state.tracer = trace.get_tracer(_NAME, version)
    else:
        _state.tracer = tracer_provider.get_tracer(_NAME, version)
    if meter_provider is None:
        _state.meter = metrics.get_meter(_NAME, version)
    else:
        _state.meter = meter_provider.get_meter(_NAME, version)
    _state.instruments = _Instruments(_state.meter)
    _state.explicit = tracer_provider is not None or meter_provider is not None


configure()


def listening() -> bool:
    """Whether anyone listens: providers given to `configure`, or a global SDK set (the
    API's defaults are proxies until then). The hot paths skip all work when nobody
    does (a store call does not even build its span's context manager): with no SDK
    this reads two module attributes."""
    if _state.explicit or _state.global_sdk:
        return True
    if (
        _GLOBALS_READABLE
        and trace._TRACER_PROVIDER is None
        and _metrics_api._METER_PROVIDER is None
    ):
        return False
    # A global provider is set once and never unset (the API refuses a second one).
    _state.global_sdk = _global_provider_set()
    return _state.global_sdk


def _global_provider_set() -> bool:
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return True
    # The API's default meter provider is a proxy too; its class is not public.
    return type(metrics.get_meter_provider()).__name__ != "_ProxyMeterProvider"


def tracer() -> trace.Tracer:
    return _state.tracer


def instruments() -> _Instruments:
    return _state.instruments


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A current span around a block; an exception is recorded and the status set."""
    if not listening():
        yield trace.INVALID_SPAN
        return
    with _state.tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


@contextmanager
def retrieve_span(mode: str, k: int, query: object) -> Iterator[Span]:
    """A retrieval: `chromabridge.retrieve` with its mode and k (query text opt-in)."""
    attributes: dict[str, str | int] = {"chromabridge.retrieval.mode": mode, "chromabridge.k": k}
    with _state.tracer.start_as_current_span("chromabridge.retrieve", attributes=attributes) as s:
        query_text(s, query)
        yield s


def hits(current: Span, found: list[Any]) -> list[Any]:
    """The number of hits on the retrieval's span; returns them."""
    current.set_attribute("chromabridge.hits", len(found))
    return found


def query_text(current: Span, text: object) -> None:
    """Record the query's text only where the user opted in."""
    if isinstance(text, str) and os.environ.get(QUERY_TEXT_ENV) == "1" and current.is_recording():
        current.set_attribute("chromabridge.query.text", text)


@contextmanager
def store_span(collection: str, op: str | None, size: int | None = None) -> Iterator[Span]:
    """A `ChromaStore` call: `chroma {op}`, with its latency in the duration histogram;
    `op` None (an internal call, part of a public one) is not traced."""
    if op is None or not listening():
        yield trace.INVALID_SPAN
        return
    attributes: dict[str, Any] = {
        "db.system.name": "chroma",
        "db.collection.name": collection,
        "db.operation.name": op,
    }
    if size is not None:
        attributes["db.operation.batch.size"] = size
    start = time.perf_counter()
    error: str | None = None
    with _state.tracer.start_as_current_span(f"chroma {op}", attributes=attributes) as current:
        try:
            yield current
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            labels = {"db.system.name": "chroma", "db.operation.name": op}
            if error is not None:
                labels["error.type"] = error
            _state.instruments.duration.record(time.perf_counter() - start, labels)


@contextmanager
def embedding_span(provider: str, model: str, inputs: int) -> Iterator[Span]:
    """One embedding request to `provider` (`openai`, `cohere`, `local`...)."""
    attributes: dict[str, str | int] = {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "chromabridge.inputs": inputs,
    }
    with _state.tracer.start_as_current_span(
        f"embeddings {model}", kind=trace.SpanKind.CLIENT, attributes=attributes
    ) as current:
        yield current


def usage(current: Span, input_tokens: object) -> None:
    """The input tokens a provider reports for one request, on its span."""
    if isinstance(input_tokens, int) and not isinstance(input_tokens, bool):
        current.set_attribute("gen_ai.usage.input_tokens", input_tokens)


def retry_event(what: str, reason: str, attempt: int, delay: float) -> None:
    """A retried request: an event on the current span and one in the retry counter.
    `reason` is the secret-free text `retry.Failure` carries."""
    trace.get_current_span().add_event(
        "retry",
        {
            "chromabridge.retry.attempt": attempt,
            "chromabridge.retry.delay_s": delay,
            "chromabridge.retry.reason": reason,
        },
    )
    _state.instruments.retries.add(1, {"chromabridge.request": what.split(":")[0]})


def cache_lookups(hits: int, misses: int) -> None:
    if hits:
        _state.instruments.cache.add(hits, {"chromabridge.cache.hit": True})
    if misses:
        _state.instruments.cache.add(misses, {"chromabridge.cache.hit": False})


def file_span(source: str, seconds: float, error_type: str | None, documents: int) -> None:
    """One loaded file, after the fact (it was parsed in a worker process)."""
    attributes: dict[str, str | int | float] = {
        "chromabridge.source": source,
        "chromabridge.documents": documents,
    }
    after_span("chromabridge.load_file", seconds, attributes, error_type)


def after_span(
    name: str,
    seconds: float,
    attributes: Mapping[str, str | int | float],
    error_type: str | None = None,
    start_ns: int | None = None,
) -> None:
    """A span for work already done (`seconds` long, from `start_ns` or ending now),
    under the current span. Creating one never attaches a context, so plans may."""
    end = time.time_ns()
    start = end - int(seconds * 1e9) if start_ns is None else start_ns
    current = _state.tracer.start_span(name, start_time=start, attributes=attributes)
    if error_type is not None:
        current.set_attribute("error.type", error_type)
        current.set_status(Status(StatusCode.ERROR, error_type))
    current.end(end_time=max(end if start_ns is None else start + int(seconds * 1e9), start))


@contextmanager
def exporting(kind: str | None = None) -> Iterator[None]:
    """`setup_exporter(kind)` for a block, flushed and undone at its end: what a script
    wraps its `main()` in to honour `CHROMABRIDGE_TRACE` (the examples, `make demo`)."""
    provider = setup_exporter(kind)
    try:
        yield
    finally:
        if provider is not None:
            provider.shutdown()
            configure()


def setup_exporter(kind: str | None = None) -> Any:
    """Install an SDK provider exporting to `kind` (`console`: stderr; `otlp`: the OTLP
    gRPC exporter, configured by the standard `OTEL_EXPORTER_OTLP_*` variables); None
    reads `CHROMABRIDGE_TRACE`. Returns the provider (call `shutdown()` to flush) or
    None when nothing was asked for."""
    kind = kind or os.environ.get(TRACE_ENV) or None
    if kind is None:
        return None
    if kind not in ("console", "otlp"):
        raise ConfigError(f"trace exporter {kind!r}: use 'console' or 'otlp'")
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as exc:  # pragma: no cover - the otel extra is part of `all`
        raise ConfigError(
            "tracing needs the OpenTelemetry SDK: pip install 'chromabridge[otel]'"
        ) from exc
    exporter: Any
    if kind == "console":
        exporter = ConsoleSpanExporter(out=sys.stderr)
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", _NAME)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    configure(tracer_provider=provider)
    return provider
