"""OpenAIEmbedder through the real `openai` SDK against a loopback /v1/embeddings server."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator

import numpy as np
import pytest
import tiktoken
from embedder_servers import FakeServer, Mangle, Reply, Slow, fake_vector, openai_answer, serve

from chromabridge.embedders import OpenAIEmbedder
from chromabridge.errors import ConfigError, EmbeddingError
from chromabridge.retry import RetryPolicy

KEY = "sk-test-0123456789abcdefSECRET"
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_elapsed=10)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with serve(openai_answer) as srv:
        yield srv


@pytest.fixture
def api(server: FakeServer) -> FakeServer:
    server.reset()
    return server


def make(api: FakeServer, **kwargs: object) -> OpenAIEmbedder:
    args: dict[str, object] = {"api_key": KEY, "base_url": f"{api.url}/v1", "retry": FAST}
    args.update(kwargs)
    return OpenAIEmbedder(**args)  # type: ignore[arg-type]


def tokens(text: str) -> int:
    return len(tiktoken.get_encoding("cl100k_base").encode(text, disallowed_special=()))


def test_request_carries_model_dimensions_and_auth(api: FakeServer) -> None:
    emb = make(api, dimensions=8, organization="org-42")
    assert emb.name == "openai:text-embedding-3-small@8"
    assert emb.dimension == 8
    vectors = emb.embed_documents(["alpha", "beta", "gamma"])
    (seen,) = api.seen
    assert seen.path == "/v1/embeddings"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["openai-organization"] == "org-42"
    assert seen.body["model"] == "text-embedding-3-small"
    assert seen.body["dimensions"] == 8
    assert seen.body["encoding_format"] == "float"
    assert seen.body["input"] == ["alpha", "beta", "gamma"]
    # the server answers in reverse order: results must follow `index`, not position
    for text, vector in zip(["alpha", "beta", "gamma"], vectors, strict=True):
        assert vector == pytest.approx(fake_vector(text, 8))


def test_known_models_know_their_dimension_and_names_are_stable(api: FakeServer) -> None:
    assert make(api).name == "openai:text-embedding-3-small"
    assert make(api).dimension == 1536
    assert make(api, model="text-embedding-3-large").dimension == 3072
    custom = make(api, model="my-compatible-model")
    assert custom.dimension is None
    assert len(custom.embed_query("x")) == 1536
    assert custom.dimension == 1536


def test_base64_encoding_is_decoded(api: FakeServer) -> None:
    emb = make(api, dimensions=4, encoding_format="base64")
    assert emb.embed_query("hello") == pytest.approx(fake_vector("hello", 4), abs=1e-7)
    assert api.seen[0].body["encoding_format"] == "base64"


def test_batches_never_exceed_2048_inputs(api: FakeServer) -> None:
    texts = [f"text number {i}" for i in range(5000)]
    vectors = make(api, dimensions=2).embed_documents(texts)
    assert [len(s.body["input"]) for s in api.seen] == [2048, 2048, 904]
    assert len(vectors) == 5000
    assert vectors[4999] == pytest.approx(fake_vector(texts[4999], 2))


def test_batches_stay_under_the_300k_token_budget(api: FakeServer) -> None:
    text = "lorem ipsum dolor sit amet " * 1000  # ~5k tokens
    texts = [f"{i} {text}" for i in range(130)]
    make(api, dimensions=2).embed_documents(texts)
    sent = [sum(tokens(t) for t in s.body["input"]) for s in api.seen]
    assert len(sent) >= 3
    assert max(sent) <= 300_000
    assert sum(len(s.body["input"]) for s in api.seen) == 130


def test_overflow_truncate_sends_the_first_8191_tokens_and_warns_once(api: FakeServer) -> None:
    long = " ".join(f"w{i}" for i in range(9000))
    emb = make(api, dimensions=4)
    with pytest.warns(UserWarning, match="overflow='truncate'"):
        emb.embed_documents(["short", long])
    sent = api.seen[0].body["input"][1]
    assert long.startswith(sent)
    assert 8000 < tokens(sent) <= 8191
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emb.embed_documents([long + " again"])  # no second warning


def test_overflow_average_splits_and_weights_windows(api: FakeServer) -> None:
    long = " ".join(f"w{i}" for i in range(8000))  # ~ 20k tokens
    n = tokens(long)
    emb = make(api, dimensions=4, overflow="average")
    vector = emb.embed_documents([long, "tail"])[0]
    windows = api.seen[0].body["input"][:-1]
    assert len(windows) == -(-n // 8191)
    assert all(tokens(w) <= 8191 for w in windows)
    assert api.seen[0].body["input"][-1] == "tail"
    weights = [tokens(w) for w in windows]
    expected = np.average([fake_vector(w, 4) for w in windows], axis=0, weights=weights)
    expected /= np.linalg.norm(expected)
    assert vector == pytest.approx(expected.tolist(), abs=1e-6)


def test_overflow_error_names_the_text_and_sends_nothing(api: FakeServer) -> None:
    emb = make(api, overflow="error")
    with pytest.raises(EmbeddingError, match=r"text 1 has \d+ tokens"):
        emb.embed_documents(["fine", "word " * 9000])
    assert api.seen == []


def test_empty_strings_are_sent_as_a_space(api: FakeServer) -> None:
    make(api, dimensions=2).embed_documents(["", "x"])
    assert api.seen[0].body["input"] == [" ", "x"]


def test_429_honours_retry_after(api: FakeServer) -> None:
    api.queue(Reply(429, {"error": {"message": "slow down"}}, {"retry-after": "0.3"}))
    start = time.monotonic()
    vector = make(api, dimensions=2).embed_query("q")
    assert time.monotonic() - start >= 0.3
    assert len(api.seen) == 2
    assert vector == pytest.approx(fake_vector("q", 2))


def test_500s_are_retried_then_succeed(api: FakeServer) -> None:
    api.queue(Reply(500, {"error": {"message": "boom"}}), Reply(503, b"upstream down"))
    assert len(make(api, dimensions=2).embed_documents(["a", "b"])) == 2
    assert len(api.seen) == 3


def test_exhausted_retries_raise_embedding_error_with_provider_status_attempts(
    api: FakeServer,
) -> None:
    api.queue(*[Reply(500, {"error": {"message": "boom"}})] * 4)
    with pytest.raises(EmbeddingError) as info:
        make(api, dimensions=2).embed_query("q")
    message = str(info.value)
    assert "openai:text-embedding-3-small@2" in message
    assert "HTTP 500" in message
    assert "4 attempts" in message
    assert len(api.seen) == 4


def test_retry_budget_is_bounded_in_time(api: FakeServer) -> None:
    api.queue(*[Reply(429, {}, {"retry-after": "0.2"})] * 10)
    policy = RetryPolicy(max_attempts=10, base_delay=0.01, max_elapsed=0.5)
    start = time.monotonic()
    with pytest.raises(EmbeddingError, match="max_elapsed"):
        make(api, dimensions=2, retry=policy).embed_query("q")
    assert time.monotonic() - start < 1.5


def test_slow_responses_time_out_and_are_retried(api: FakeServer) -> None:
    api.queue(Slow(1.5))
    emb = make(api, dimensions=2, timeout=0.3)
    assert emb.embed_query("q") == pytest.approx(fake_vector("q", 2))
    assert len(api.seen) == 2
    api.reset()
    api.queue(Slow(1.5), Slow(1.5))
    with pytest.raises(EmbeddingError, match="timed out"):
        make(
            api, dimensions=2, timeout=0.3, retry=RetryPolicy(max_attempts=2, base_delay=0.01)
        ).embed_query("q")


def test_malformed_json_is_an_error_not_retried(api: FakeServer) -> None:
    api.queue(Reply(200, b'{"object": "list", "data": [ oops'))
    with pytest.raises(EmbeddingError, match="malformed"):
        make(api, dimensions=2).embed_query("q")
    assert len(api.seen) == 1


def test_wrong_length_vectors_are_rejected(api: FakeServer) -> None:
    def shorten(payload: dict) -> dict:
        payload["data"][0]["embedding"] = payload["data"][0]["embedding"][:3]
        return payload

    api.queue(Mangle(shorten))
    with pytest.raises(EmbeddingError, match="3-dimensional vector"):
        make(api, dimensions=4).embed_documents(["a", "b"])

    api.queue(Mangle(lambda p: {**p, "data": p["data"][:1]}))
    with pytest.raises(EmbeddingError, match="1 vectors for 2 texts"):
        make(api, dimensions=4).embed_documents(["a", "b"])


def test_api_key_never_leaks(api: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
    api.queue(Reply(401, echo), Reply(429, echo, {"retry-after": "0"}), Reply(401, echo))
    emb = make(api, dimensions=2)
    for _ in range(2):  # a 401 straight away, then a 429 (logged) followed by a 401
        with pytest.raises(EmbeddingError) as info:
            emb.embed_query("q")
        err = info.value
        text = str(err) + repr(err) + "".join(traceback.format_exception(err))
        assert KEY not in text
        assert "HTTP 401" in str(err) and "check the API key" in str(err)
        assert "Incorrect API key provided" in str(err)  # the server's words, redacted
    assert api.seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(emb) and KEY not in repr(emb.as_langchain())
    assert "retry 1" in caplog.text
    assert KEY not in caplog.text


def test_key_from_environment_is_used_and_redacted(
    api: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_key = "sk-from-environment-987654321"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    api.queue(Reply(401, {"error": {"message": f"bad key {env_key}"}}))
    emb = OpenAIEmbedder(base_url=f"{api.url}/v1", dimensions=2, retry=FAST)
    with pytest.raises(EmbeddingError) as info:
        emb.embed_query("q")
    assert env_key not in "".join(traceback.format_exception(info.value))
    assert api.seen[0].headers["authorization"] == f"Bearer {env_key}"


def test_missing_key_and_bad_options_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="api_key"):
        OpenAIEmbedder()
    with pytest.raises(ConfigError, match="does not support `dimensions`"):
        OpenAIEmbedder("text-embedding-ada-002", dimensions=256, api_key=KEY)
    with pytest.raises(ConfigError, match="at most 1536"):
        OpenAIEmbedder(dimensions=4096, api_key=KEY)
    with pytest.raises(ConfigError, match="overflow"):
        OpenAIEmbedder(api_key=KEY, overflow="drop")  # type: ignore[arg-type]


def test_azure_routes_to_the_deployment_with_api_key_header(api: FakeServer) -> None:
    emb = OpenAIEmbedder(
        "text-embedding-3-small",
        dimensions=2,
        azure_endpoint=api.url,
        azure_deployment="my-embeddings",
        api_version="2024-10-21",
        api_key=KEY,
        retry=FAST,
    )
    assert emb.name == "openai:text-embedding-3-small@2"
    emb.embed_query("q")
    (seen,) = api.seen
    assert seen.path == "/openai/deployments/my-embeddings/embeddings?api-version=2024-10-21"
    assert seen.headers["api-key"] == KEY


async def test_async_batches_concurrently_and_retries(api: FakeServer) -> None:
    api.queue(Reply(429, {}, {"retry-after": "0.05"}))
    emb = make(api, dimensions=2, max_batch_inputs=10)
    texts = [f"t{i}" for i in range(45)]
    vectors = await emb.aembed_documents(texts)
    assert vectors == [pytest.approx(fake_vector(t, 2)) for t in texts]
    assert len(api.seen) == 6  # five batches, one of them retried after the 429
    assert {len(s.body["input"]) for s in api.seen} == {5, 10}
    assert await emb.aembed_query("q") == pytest.approx(fake_vector("q", 2))


async def test_async_errors_are_embedding_errors(api: FakeServer) -> None:
    api.queue(*[Reply(502, b"bad gateway")] * 2)
    emb = make(api, dimensions=2, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(EmbeddingError, match=r"HTTP 502.*2 attempts"):
        await emb.aembed_documents(["a"])


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_errors_are_retried_then_reported() -> None:
    emb = OpenAIEmbedder(
        api_key=KEY,
        base_url=f"http://127.0.0.1:{_closed_port()}/v1",
        retry=RetryPolicy(max_attempts=3, base_delay=0.01),
    )
    with pytest.raises(EmbeddingError, match=r"connection failed; gave up after 3 attempts"):
        emb.embed_query("q")


async def test_injected_sync_client_serves_async_calls(api: FakeServer) -> None:
    import openai

    client = openai.OpenAI(api_key=KEY, base_url=f"{api.url}/v1", max_retries=5)
    emb = OpenAIEmbedder(client=client, dimensions=2)
    assert await emb.aembed_query("q") == pytest.approx(fake_vector("q", 2))
    api.queue(Reply(500, b"x"), Reply(500, b"x"))
    with pytest.raises(EmbeddingError, match="2 attempts"):  # SDK retries are off: ours rule
        OpenAIEmbedder(
            client=client, dimensions=2, retry=RetryPolicy(max_attempts=2, base_delay=0.01)
        ).embed_query("q")
    assert len(api.seen) == 3
