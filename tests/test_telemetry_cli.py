"""`--trace console|otlp` on the CLI: spans on stderr, or over OTLP/gRPC to a receiver
on loopback that speaks the collector's protocol (the real exporter, real grpc)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)
from test_cli import cli, corpus, hash_embedder, ingest  # noqa: F401  (fixtures)


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace collector that keeps the span names it was sent."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.services: set[str] = set()

    def Export(self, request: Any, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    self.services.add(attribute.value.string_value)
            for scope in resource_spans.scope_spans:
                self.names.extend(span.name for span in scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    collector = Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "cli-under-test")
    try:
        yield collector
    finally:
        server.stop(None)


def _console_spans(stderr: str) -> list[dict[str, Any]]:
    """The ConsoleSpanExporter prints one JSON object per span."""
    decoder = json.JSONDecoder()
    spans, index = [], stderr.find("{")
    while index != -1:
        span, end = decoder.raw_decode(stderr, index)
        spans.append(span)
        index = stderr.find("{", end)
    return spans


def test_trace_console_prints_the_ingest_and_query_spans(corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    result = ingest(corpus, tmp_path / "db", "--trace", "console")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 3  # stdout keeps the report alone
    names = {span["name"] for span in _console_spans(result.stderr)}
    assert {"chromabridge.pipeline.run", "chromabridge.pipeline.embed", "chroma add"} <= names
    result = cli("query", "decay", "--path", str(tmp_path / "db"), "-e", "hash")
    assert "chroma" not in result.stderr  # off unless asked
    result = cli(
        "query", "decay", "--path", str(tmp_path / "db"), "-e", "hash", "--trace", "console"
    )
    assert result.exit_code == 0, result.output
    assert "chroma query" in {span["name"] for span in _console_spans(result.stderr)}


@pytest.mark.slow  # a gRPC server and the OTLP exporter's channel
def test_trace_otlp_sends_the_spans_to_the_collector(
    corpus: Path,  # noqa: F811
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    result = ingest(corpus, tmp_path / "db", "--trace", "otlp")
    assert result.exit_code == 0, result.output
    assert "chromabridge.pipeline.run" in receiver.names
    assert receiver.names.count("chromabridge.load_file") == 3
    assert receiver.services == {"cli-under-test"}


@pytest.mark.slow
def test_trace_from_the_environment_and_a_bad_value(
    corpus: Path,  # noqa: F811
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHROMABRIDGE_TRACE", "otlp")
    assert ingest(corpus, tmp_path / "db").exit_code == 0
    assert "chromabridge.pipeline.run" in receiver.names
    monkeypatch.setenv("CHROMABRIDGE_TRACE", "jaeger")
    result = ingest(corpus, tmp_path / "db")
    assert result.exit_code == 2
    assert "jaeger" in result.output and "console" in result.output
