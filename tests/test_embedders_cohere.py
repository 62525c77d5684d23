"""CohereEmbedder through the real `cohere` SDK (ClientV2) against a loopback /v2/embed."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator

import pytest
from embedder_servers import FakeServer, Mangle, Reply, Slow, cohere_answer, fake_vector, serve

from chromabridge.embedders import CohereEmbedder
from chromabridge.errors import ConfigError, EmbeddingError
from chromabridge.retry import RetryPolicy

KEY = "co-test-key-0123456789SECRET"
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_elapsed=10)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with serve(cohere_answer) as srv:
        yield srv


@pytest.fixture
def api(server: FakeServer) -> FakeServer:
    server.reset()
    return server


def make(api: FakeServer, **kwargs: object) -> CohereEmbedder:
    args: dict[str, object] = {"api_key": KEY, "base_url": api.url, "retry": FAST}
    args.update(kwargs)
    return CohereEmbedder(**args)  # type: ignore[arg-type]


def test_documents_and_queries_use_their_input_types(api: FakeServer) -> None:
    emb = make(api)
    assert emb.name == "cohere:embed-english-v3.0"
    assert emb.dimension == 1024
    docs = emb.embed_documents(["a doc", "another doc"])
    query = emb.embed_query("a question")
    first, second = api.seen
    assert first.path == "/v2/embed"
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.body["input_type"] == "search_document"
    assert first.body["embedding_types"] == ["float"]
    assert first.body["model"] == "embed-english-v3.0"
    assert first.body["truncate"] == "END"
    assert first.body["texts"] == ["a doc", "another doc"]
    assert second.body["input_type"] == "search_query"
    assert docs[1] == pytest.approx(fake_vector("search_document|another doc", 1024))
    assert query == pytest.approx(fake_vector("search_query|a question", 1024))


def test_batches_hold_at_most_96_texts(api: FakeServer) -> None:
    texts = [f"t{i}" for i in range(200)]
    vectors = make(api, model="embed-english-light-v3.0").embed_documents(texts)
    assert [len(s.body["texts"]) for s in api.seen] == [96, 96, 8]
    assert vectors[199] == pytest.approx(fake_vector("search_document|t199", 384))
    with pytest.raises(ConfigError):
        make(api, batch_size=97)


def test_int8_vectors_are_a_separate_space(api: FakeServer) -> None:
    emb = make(api, embedding_types="int8", model="embed-english-light-v3.0")
    assert emb.name == "cohere:embed-english-light-v3.0:int8"
    (vector,) = emb.embed_documents(["x"])
    assert api.seen[0].body["embedding_types"] == ["int8"]
    assert all(isinstance(x, float) and x == int(x) and -128 <= x <= 127 for x in vector)
    assert vector == [round(x * 127) for x in fake_vector("search_document|x", 384)]


def test_output_dimension_is_sent_and_named(api: FakeServer) -> None:
    emb = make(api, model="embed-v4.0", output_dimension=256)
    assert (emb.name, emb.dimension) == ("cohere:embed-v4.0@256", 256)
    assert len(emb.embed_query("q")) == 256
    assert api.seen[0].body["output_dimension"] == 256


def test_429_honours_retry_after(api: FakeServer) -> None:
    api.queue(Reply(429, {"message": "too many"}, {"Retry-After": "0.3"}))
    start = time.monotonic()
    make(api).embed_query("q")
    assert time.monotonic() - start >= 0.3
    assert len(api.seen) == 2


def test_500_exhausts_into_embedding_error(api: FakeServer) -> None:
    api.queue(*[Reply(500, {"message": "internal"})] * 3)
    with pytest.raises(EmbeddingError) as info:
        make(api, retry=RetryPolicy(max_attempts=3, base_delay=0.01)).embed_query("q")
    assert "cohere:embed-english-v3.0" in str(info.value)
    assert "HTTP 500" in str(info.value) and "3 attempts" in str(info.value)


def test_slow_responses_time_out_and_are_retried(api: FakeServer) -> None:
    api.queue(Slow(1.5))
    assert len(make(api, timeout=0.3).embed_query("q")) == 1024
    assert len(api.seen) == 2


def test_malformed_json_is_not_retried(api: FakeServer) -> None:
    api.queue(Reply(200, b"<html>proxy error</html>"))
    with pytest.raises(EmbeddingError, match="malformed"):
        make(api).embed_query("q")
    assert len(api.seen) == 1


def test_wrong_length_vectors_are_rejected(api: FakeServer) -> None:
    def shorten(payload: dict) -> dict:
        payload["embeddings"]["float"][1] = payload["embeddings"]["float"][1][:10]
        return payload

    api.queue(Mangle(shorten))
    with pytest.raises(EmbeddingError, match="10-dimensional vector for text 1"):
        make(api).embed_documents(["a", "b"])


def test_api_key_never_leaks(api: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"message": f"invalid api token {KEY}"}
    api.queue(Reply(503, echo), Reply(401, echo))
    emb = make(api)
    with pytest.raises(EmbeddingError) as info:
        emb.embed_query("q")
    err = info.value
    assert KEY not in str(err) + repr(err) + "".join(traceback.format_exception(err))
    assert "HTTP 401" in str(err) and "invalid api token" in str(err)
    assert KEY not in repr(emb) and KEY not in caplog.text
    assert "HTTP 503" in caplog.text


def test_key_from_co_api_key(api: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", "co-env-key-123456789")
    CohereEmbedder(base_url=api.url, retry=FAST).embed_query("q")
    assert api.seen[0].headers["authorization"] == "Bearer co-env-key-123456789"
    monkeypatch.delenv("CO_API_KEY")
    with pytest.raises(ConfigError, match="CO_API_KEY"):
        CohereEmbedder(base_url=api.url)


async def test_async_client_batches_and_retries(api: FakeServer) -> None:
    api.queue(Reply(429, {"message": "wait"}, {"retry-after": "0.05"}))
    emb = make(api, model="embed-english-light-v3.0")
    texts = [f"t{i}" for i in range(100)]
    vectors = await emb.aembed_documents(texts)
    assert vectors[99] == pytest.approx(fake_vector("search_document|t99", 384))
    assert len(api.seen) == 3  # two batches, one of them retried after the 429
    assert {len(s.body["texts"]) for s in api.seen} == {4, 96}
    assert {s.body["input_type"] for s in api.seen} == {"search_document"}
    assert await emb.aembed_query("q") == pytest.approx(fake_vector("search_query|q", 384))
    assert api.seen[-1].body["input_type"] == "search_query"


def test_connection_errors_are_retried_then_reported() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    emb = CohereEmbedder(
        api_key=KEY,
        base_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    )
    with pytest.raises(EmbeddingError, match=r"connection failed; gave up after 2 attempts"):
        emb.embed_documents(["x"])
