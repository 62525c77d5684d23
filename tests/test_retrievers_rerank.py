"""CohereReranker through the real `cohere` SDK against a loopback rerank server:
wire format, ordering, retries (429 + Retry-After, 500, timeouts), secrets."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from embedder_servers import FakeServer, Reply, Seen, Slow, serve

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ChromaBridgeError, ConfigError, RerankError
from chromabridge.retrievers import CohereReranker, VectorRetriever, rerank
from chromabridge.retry import RetryPolicy
from chromabridge.types import Chunk, Hit
from chromabridge.vectorstores import ChromaStore

KEY = "co-test-key-3f9a1c7e5b"
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_elapsed=10)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def rerank_answer(seen: Seen) -> dict[str, Any]:
    """Cohere's /v2/rerank: relevance = share of query words in the document."""
    body = seen.body
    query = _words(body["query"])
    scored = [
        (i, len(query & _words(doc)) / max(len(query), 1))
        for i, doc in enumerate(body["documents"])
    ]
    scored.sort(key=lambda pair: -pair[1])
    top = scored[: body.get("top_n") or len(scored)]
    return {
        "id": "fake",
        "results": [{"index": i, "relevance_score": s} for i, s in top],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with serve(rerank_answer) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeServer) -> FakeServer:
    server.reset()
    return server


def _reranker(fake: FakeServer, **kw: Any) -> CohereReranker:
    return CohereReranker(
        "rerank-v3.5", api_key=KEY, base_url=fake.url, retry=FAST, timeout=0.5, **kw
    )


def _hits(*texts: str) -> list[Hit]:
    return [
        Hit(Chunk.from_text(t, id=f"h{i}"), score=0.0, distance=0.5) for i, t in enumerate(texts)
    ]


def test_rerank_orders_by_relevance_over_the_wire(fake: FakeServer) -> None:
    hits = _hits("dogs bark", "zebra on the savanna", "a zebra", "nothing here")
    reranked = _reranker(fake, top_n=2).rerank("zebra savanna", hits)
    assert [h.chunk.id for h in reranked] == ["h1", "h2"]
    assert reranked[0].score == pytest.approx(1.0) and reranked[0].distance == 0.5
    request = fake.seen[-1]
    assert request.path == "/v2/rerank"
    assert request.body["model"] == "rerank-v3.5" and request.body["top_n"] == 2
    assert request.body["documents"] == [h.chunk.text for h in hits]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert _reranker(fake).rerank("x", []) == []


async def test_reranker_as_a_retriever_sync_and_async(fake: FakeServer) -> None:
    store = ChromaStore(f"rr-{uuid.uuid4().hex[:8]}", embedder=FakeEmbedder())
    store.add(
        [
            Chunk.from_text(t, id=f"r{i}")
            for i, t in enumerate(["zebra herd", "zebra savanna plains", "cats", "dogs", "birds"])
        ]
    )
    reranker = _reranker(fake, top_n=1, retriever=VectorRetriever(store), candidates=5)
    assert [h.chunk.id for h in reranker.retrieve("savanna zebra")] == ["r1"]
    assert len(fake.seen[-1].body["documents"]) == 5  # candidates, not top_n
    assert [h.chunk.id for h in await reranker.aretrieve("savanna zebra")] == ["r1"]
    lc = reranker.as_langchain()
    assert [d.id for d in lc.invoke("savanna zebra")] == ["r1"]
    with pytest.raises(ConfigError):
        _reranker(fake).retrieve("x")


@pytest.mark.parametrize(
    "failure",
    [
        Reply(429, {"message": "slow down"}, {"retry-after": "0.05"}),
        Reply(503, {"message": "x"}),
        Slow(1.0),
    ],
)
def test_transient_failures_are_retried(fake: FakeServer, failure: Any) -> None:
    fake.queue(failure)
    hits = _reranker(fake).rerank("zebra", _hits("zebra", "cat"))
    assert hits[0].chunk.id == "h0"
    assert len(fake.seen) == 2


async def test_async_retries_then_gives_up_without_leaking_the_key(
    fake: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = Reply(500, {"message": f"internal error for key {KEY}"})
    fake.queue(echo, echo, echo)
    reranker = _reranker(fake)
    with pytest.raises(RerankError) as info:
        await reranker.arerank("zebra", _hits("zebra"))
    assert len(fake.seen) == 3
    assert isinstance(info.value, ChromaBridgeError)
    assert rerank.RerankError is RerankError  # still importable where it used to live
    text = str(info.value) + repr(info.value.__cause__) + str(info.value.__cause__)
    assert "gave up after 3 attempts" in str(info.value)
    assert KEY not in text and KEY not in caplog.text and KEY not in repr(reranker)


def test_client_errors_are_not_retried(fake: FakeServer) -> None:
    fake.queue(Reply(401, {"message": "invalid api token"}))
    with pytest.raises(RerankError, match="401"):
        _reranker(fake).rerank("zebra", _hits("zebra"))
    assert len(fake.seen) == 1


def test_malformed_answer(fake: FakeServer) -> None:
    from embedder_servers import Mangle

    fake.queue(Mangle(lambda body: {**body, "results": [{"index": 7, "relevance_score": 1}]}))
    with pytest.raises(RerankError, match="out of range"):
        _reranker(fake).rerank("zebra", _hits("zebra"))
