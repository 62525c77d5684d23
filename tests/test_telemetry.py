"""OpenTelemetry spans and metrics, read back through the SDK's in-memory exporter and
metric reader; LangChain callbacks and LlamaIndex instrumentation events from our faces.

The SDK providers are handed to `chromabridge.telemetry.configure` for this module only
(the process-wide providers can be set once and would record every later test).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from embedder_servers import Reply, openai_answer, serve
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chromabridge import telemetry
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import FakeEmbedder, OpenAIEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.pipeline import Pipeline
from chromabridge.retrievers import HybridRetriever, VectorRetriever
from chromabridge.retry import RetryPolicy
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

KEY = "sk-telemetry-test-key-0123456789abcdef"
SECRET_TEXT = "zebra quartz harbour lighthouse keeper"
TEXTS = {
    "a.txt": f"The harbour opens at dawn. {SECRET_TEXT}.",
    "b.txt": "Ferries leave the pier every hour in summer.",
    "c.txt": "The lighthouse museum is closed on Mondays.",
}


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.name == name]

    def metric(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        points: list[Any] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture(scope="module")
def sdk() -> Iterator[Telemetry]:
    state = Telemetry()
    telemetry.configure(state.tracer_provider, state.meter_provider)
    yield state
    telemetry.configure()  # back to the global (no-op) providers
    state.tracer_provider.shutdown()
    state.meter_provider.shutdown()


@pytest.fixture
def otel(sdk: Telemetry) -> Telemetry:
    sdk.spans.clear()
    return sdk


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in TEXTS.items():
        (root / name).write_text(text)
    return root


def _parent(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan | None:
    parent = span.parent
    if parent is None:
        return None
    return next((s for s in spans if s.context.span_id == parent.span_id), None)


def _ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    names = []
    current = _parent(span, spans)
    while current is not None:
        names.append(current.name)
        current = _parent(current, spans)
    return names


def _values(spans: list[ReadableSpan]) -> list[str]:
    """Every attribute and event attribute value of every span, as text."""
    out: list[str] = []
    for span in spans:
        out.extend(str(v) for v in (span.attributes or {}).values())
        for event in span.events:
            out.extend(str(v) for v in (event.attributes or {}).values())
        out.append(span.name)
    return out


def _pipeline(root: Path, name: str) -> tuple[Pipeline, ChromaStore]:
    store = ChromaStore(name, embedder=FakeEmbedder(dimension=16))
    chunker = RecursiveChunker(chunk_size=200, chunk_overlap=0)
    return Pipeline(DirectoryLoader(root), chunker, None, store), store


def test_pipeline_run_is_one_trace_with_a_span_per_stage_and_store_call(
    otel: Telemetry, tmp_path: Path
) -> None:
    pipeline, _ = _pipeline(_folder(tmp_path), "traced-run")
    report = pipeline.run()
    spans = otel.finished()
    (run,) = otel.named("chromabridge.pipeline.run")
    assert run.parent is None
    assert run.attributes["db.collection.name"] == "traced-run"
    assert run.attributes["chromabridge.documents.added"] == 3
    assert run.attributes["chromabridge.chunks.written"] == report.chunks_written == 3
    stages = {s.name for s in spans if _parent(s, spans) is run}
    assert {
        "chromabridge.pipeline.load",
        "chromabridge.pipeline.chunk",
        "chromabridge.pipeline.compare",
        "chromabridge.pipeline.embed",
        "chromabridge.pipeline.write",
    } <= stages
    (write,) = otel.named("chromabridge.pipeline.write")
    assert write.attributes["chromabridge.chunks"] == 3
    (add,) = otel.named("chroma add")
    assert _parent(add, spans) is write
    assert add.attributes["db.system.name"] == "chroma"
    assert add.attributes["db.operation.name"] == "add"
    assert add.attributes["db.collection.name"] == "traced-run"
    assert add.attributes["db.operation.batch.size"] == 3
    files = otel.named("chromabridge.load_file")
    assert len(files) == 3 and all(
        "chromabridge.pipeline.run" in _ancestors(f, spans) for f in files
    )
    assert sum(p.value for p in otel.metric("chromabridge.chunks.written")) >= 3
    # A second run: every document unchanged, nothing written.
    otel.spans.clear()
    assert pipeline.run().unchanged == 3
    assert not otel.named("chroma add")


def test_query_and_hybrid_retrieval_span_trees(otel: Telemetry, tmp_path: Path) -> None:
    pipeline, store = _pipeline(_folder(tmp_path), "traced-query")
    pipeline.run()
    otel.spans.clear()
    hits = VectorRetriever(store, k=2).retrieve("ferries")
    (retrieve,) = otel.named("chromabridge.retrieve")
    assert retrieve.attributes["chromabridge.retrieval.mode"] == "similarity"
    assert retrieve.attributes["chromabridge.hits"] == len(hits) == 2
    (query,) = otel.named("chroma query")
    assert query.parent is not None and query.parent.span_id == retrieve.context.span_id
    latency = [p for p in otel.metric("db.client.operation.duration")]
    assert any(p.attributes.get("db.operation.name") == "query" and p.count for p in latency)

    otel.spans.clear()
    hybrid = HybridRetriever(store, k=2)
    hybrid.retrieve("lighthouse")
    spans = otel.finished()
    (root,) = [s for s in spans if s.name == "chromabridge.retrieve"]
    assert root.attributes["chromabridge.retrieval.mode"] == "hybrid"
    children = {s.name for s in spans if _parent(s, spans) is root}
    assert {
        "chromabridge.retrieve.dense",
        "chromabridge.retrieve.lexical",
        "chromabridge.retrieve.fuse",
    } <= children
    (nearest,) = otel.named("chroma nearest")
    assert _parent(nearest, spans).name == "chromabridge.retrieve.dense"  # type: ignore[union-attr]
    hybrid.close()


def test_no_span_holds_document_text_query_text_or_a_key(otel: Telemetry, tmp_path: Path) -> None:
    with serve(openai_answer) as api:
        embedder = OpenAIEmbedder(api_key=KEY, base_url=f"{api.url}/v1", dimensions=8)
        store = ChromaStore("traced-secret", embedder=embedder)
        chunker = RecursiveChunker(chunk_size=200, chunk_overlap=0)
        Pipeline(DirectoryLoader(_folder(tmp_path)), chunker, None, store).run()
        VectorRetriever(store, k=2).retrieve(SECRET_TEXT)
    values = _values(otel.finished())
    assert otel.named("embeddings text-embedding-3-small")
    for value in values:
        assert KEY not in value
        assert SECRET_TEXT not in value
        assert "harbour" not in value  # no document text either


def test_query_text_is_recorded_only_when_asked(
    otel: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ChromaStore("traced-opt-in", embedder=FakeEmbedder(dimension=8))
    store.add([Chunk(id="c1", doc_id="d1", text="ferry timetable", metadata={})])
    VectorRetriever(store, k=1).retrieve("when is the ferry")
    (span,) = otel.named("chromabridge.retrieve")
    assert "chromabridge.query.text" not in span.attributes
    otel.spans.clear()
    monkeypatch.setenv(telemetry.QUERY_TEXT_ENV, "1")
    VectorRetriever(store, k=1).retrieve("when is the ferry")
    (span,) = otel.named("chromabridge.retrieve")
    assert span.attributes["chromabridge.query.text"] == "when is the ferry"


def test_retries_show_as_events_on_the_request_span(otel: Telemetry) -> None:
    fast = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_elapsed=10)
    with serve(openai_answer) as api:
        api.queue(Reply(429, {"error": {"message": "slow down"}}, {"retry-after": "0"}))
        embedder = OpenAIEmbedder(api_key=KEY, base_url=f"{api.url}/v1", retry=fast)
        embedder.embed_documents(["one", "two"])
    (request,) = otel.named("embeddings text-embedding-3-small")
    assert request.attributes["gen_ai.operation.name"] == "embeddings"
    assert request.attributes["gen_ai.provider.name"] == "openai"
    assert request.attributes["gen_ai.request.model"] == "text-embedding-3-small"
    assert request.attributes["gen_ai.usage.input_tokens"] > 0
    (event,) = [e for e in request.events if e.name == "retry"]
    assert event.attributes["chromabridge.retry.attempt"] == 1
    assert "429" in str(event.attributes["chromabridge.retry.reason"])
    assert sum(p.value for p in otel.metric("chromabridge.retries")) >= 1


def test_async_spans_nest_under_their_parents(otel: Telemetry, tmp_path: Path) -> None:
    pipeline, store = _pipeline(_folder(tmp_path), "traced-async")
    tracer = otel.tracer_provider.get_tracer("test")

    async def main() -> None:
        with tracer.start_as_current_span("request"):
            await pipeline.arun()
            await asyncio.gather(store.aquery("ferries", k=1), store.acount())

    asyncio.run(main())
    spans = otel.finished()
    (request,) = otel.named("request")
    (run,) = otel.named("chromabridge.pipeline.run")
    assert _parent(run, spans) is request
    (add,) = otel.named("chroma add")
    assert _ancestors(add, spans)[:3] == [
        "chromabridge.pipeline.write",
        "chromabridge.pipeline.run",
        "request",
    ]
    for name in ("chroma query", "chroma count"):
        (span,) = otel.named(name)
        assert _parent(span, spans) is request  # gathered tasks keep their parent
    assert all(s.context.trace_id == request.context.trace_id for s in spans)


def test_langchain_callbacks_see_our_retriever(tmp_path: Path) -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Recorder(BaseCallbackHandler):
        def __init__(self) -> None:
            self.events: list[tuple[str, Any]] = []

        def on_retriever_start(self, serialized: Any, query: str, **kwargs: Any) -> None:
            self.events.append(("start", query))

        def on_retriever_end(self, documents: Any, **kwargs: Any) -> None:
            self.events.append(("end", documents))

    pipeline, store = _pipeline(_folder(tmp_path), "traced-langchain")
    pipeline.run()
    recorder = Recorder()
    for retriever in (
        VectorRetriever(store, k=2).as_langchain(),
        store.as_langchain().as_retriever(search_kwargs={"k": 2}),
    ):
        recorder.events.clear()
        docs = retriever.invoke("ferries", config={"callbacks": [recorder]})
        assert recorder.events[0] == ("start", "ferries")
        assert recorder.events[-1][0] == "end"
        assert recorder.events[-1][1] == docs and len(docs) == 2


def test_llamaindex_handlers_see_our_faces_events(tmp_path: Path) -> None:
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events import BaseEvent

    seen: list[str] = []

    class Recorder(BaseEventHandler):
        @classmethod
        def class_name(cls) -> str:
            return "Recorder"

        def handle(self, event: BaseEvent, **kwargs: Any) -> None:
            seen.append(event.class_name())

    pipeline, store = _pipeline(_folder(tmp_path), "traced-llamaindex")
    pipeline.run()
    recorder = Recorder()
    root = get_dispatcher()
    root.add_event_handler(recorder)
    try:
        nodes = VectorRetriever(store, k=2).as_llamaindex().retrieve("ferries")
        embedding = FakeEmbedder(dimension=16).as_llamaindex()
        embedding.get_text_embedding("ferries")
    finally:
        root.event_handlers.remove(recorder)
    assert len(nodes) == 2
    assert {
        "RetrievalStartEvent",
        "RetrievalEndEvent",
        "EmbeddingStartEvent",
        "EmbeddingEndEvent",
    } <= set(seen)


_GLOBAL_SDK_SCRIPT = """
import numpy as np
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chromabridge import telemetry
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

store = ChromaStore("global-sdk")
store.add([Chunk.from_text("a", id="a"), Chunk.from_text("b", id="b")], np.eye(2, 4))
store.query(embedding=[1.0, 0.0, 0.0, 0.0], k=1)  # nobody listens yet
assert not telemetry.listening()
spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(provider)
assert telemetry.listening()
store.query(embedding=[1.0, 0.0, 0.0, 0.0], k=1)
print(sorted(s.name for s in spans.get_finished_spans()))
"""


def test_a_global_sdk_set_after_the_first_call_is_followed(tmp_path: Path) -> None:
    """The process-wide SDK, set the standard way at any time, gets the spans from then
    on (in a child process: the global provider can be set once per process)."""
    script = tmp_path / "global_sdk.py"
    script.write_text(_GLOBAL_SDK_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['chroma query']"
