"""ChromaStore against real Chroma: in-memory, a persistent directory and `chroma run`,
through the blocking and the async methods."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import socket
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import chromadb
import numpy as np
import pytest
import store_support
from store_support import DIM, call

from chromabridge import Chunk, Hit
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import (
    CollectionDeletedError,
    ConfigError,
    EmbedderMismatchError,
    EmbeddingError,
    FilterError,
    InputError,
    PartialWriteError,
    StoreError,
)
from chromabridge.vectorstores import ChromaStore

# The deployment and sync/async fixtures the store suites share.
mode, flavour, make_store = store_support.mode, store_support.flavour, store_support.make_store


TEXTS = {
    "cats": "cats purr and sleep in the sun",
    "dogs": "dogs bark and fetch the ball",
    "chroma": "chroma is a vector database for embeddings",
    "python": "python is a programming language",
}


def docs() -> list[Chunk]:
    return [
        Chunk.from_text(text, doc_id=key, id=f"{key}-0", metadata={"topic": key, "n": i})
        for i, (key, text) in enumerate(TEXTS.items())
    ]


def snapshot(store: ChromaStore) -> dict[str, Any]:
    got = store.collection.get(include=["documents", "metadatas", "embeddings"])
    return {
        i: (d, m, [round(float(x), 5) for x in e])
        for i, d, m, e in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
    }


# -- round trips --------------------------------------------------------------------------


async def test_add_query_roundtrip(make_store: Callable[..., ChromaStore], flavour: str) -> None:
    store = make_store()
    ids = await call(flavour, store, "add", docs())
    assert ids == [f"{k}-0" for k in TEXTS]
    assert await call(flavour, store, "count") == 4

    hits = await call(flavour, store, "query", "do cats sleep in the sun?", k=2)
    assert hits[0].chunk.id == "cats-0"
    top = hits[0]
    assert isinstance(top, Hit)
    assert top.chunk.text == TEXTS["cats"]
    assert top.chunk.doc_id == "cats"
    assert top.chunk.metadata["topic"] == "cats"
    assert top.score == pytest.approx(1 - top.distance, abs=1e-6)  # cosine by default
    assert hits[0].score >= hits[1].score


async def test_nearest_is_query_without_records(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    """`nearest` returns what `query` ranks, as (id, distance) pairs, filters included."""
    store = make_store()
    assert await call(flavour, store, "nearest", "cats", k=3) == []  # empty collection
    store.add(docs())
    hits = store.query("do cats sleep in the sun?", k=10)
    pairs = await call(flavour, store, "nearest", "do cats sleep in the sun?", k=10)
    assert [i for i, _ in pairs] == [h.chunk.id for h in hits]
    assert [d for _, d in pairs] == pytest.approx([h.distance for h in hits], abs=1e-6)
    assert len(pairs) == 4  # k beyond the collection's size: all of it
    only = await call(flavour, store, "nearest", "cats", k=4, where={"topic": {"$in": ["dogs"]}})
    assert [i for i, _ in only] == ["dogs-0"]
    vector = FakeEmbedder().embed_query("python")
    by_vector = await call(flavour, store, "nearest", embedding=vector, k=1)
    assert by_vector[0][0] == "python-0"
    with pytest.raises(ConfigError, match="exactly one"):
        await call(flavour, store, "nearest", "cats", embedding=vector)
    with pytest.raises(FilterError):
        await call(flavour, store, "nearest", "cats", where={"topic": {"$regex": "c.*"}})


async def test_query_filters_and_where_document(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    store.add(docs())
    # a plain multi-key dict: stock Chroma rejects it, we AND it
    hits = await call(flavour, store, "query", "anything", k=4, where={"topic": "dogs", "n": 1})
    assert [h.chunk.id for h in hits] == ["dogs-0"]
    hits = await call(flavour, store, "query", "anything", k=4, where={"n": {"$gte": 2}})
    assert {h.chunk.id for h in hits} == {"chroma-0", "python-0"}
    hits = await call(
        flavour, store, "query", "anything", k=4, where_document={"$contains": "programming"}
    )
    assert [h.chunk.id for h in hits] == ["python-0"]


async def test_query_by_embedding_and_k_beyond_size(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    store.add(docs())
    vector = FakeEmbedder().embed_query("python language")
    hits = await call(flavour, store, "query", embedding=vector, k=50)
    assert len(hits) == 4
    assert hits[0].chunk.id == "python-0"


def test_query_vector_checked_for_junk_nan_and_inf(collection_name: str) -> None:
    store = ChromaStore(collection_name)
    store.add([Chunk.from_text("a", id="a"), Chunk.from_text("b", id="b")], np.eye(2, 4))
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(InputError, match="NaN or inf"):
            store.query(embedding=[1.0, bad, 0.0, 0.0], k=1)
    for junk in (["x", 1.0, 2.0, 3.0], "1.5", b"ab", {"a": 1}, [1.0, [2.0], 3.0, 4.0]):
        with pytest.raises(InputError, match="flat sequence of numbers"):
            store.query(embedding=junk, k=1)
        with pytest.raises(InputError, match="flat sequence of numbers"):
            store.as_langchain().similarity_search_by_vector(junk, k=1)
    # finite values whose float32 sum overflows are still a valid query
    huge = [3e38, 3e38, 0.0, 0.0]
    assert [h.chunk.id for h in store.query(embedding=huge, k=2, where={"doc_id": "a"})] == ["a"]


@pytest.mark.parametrize("distance", ["cosine", "l2", "ip"])
async def test_nan_or_inf_query_vector_refused_by_every_search(
    make_store: Callable[..., ChromaStore], flavour: str, distance: str, collection_name: str
) -> None:
    """A caller's vector is checked for NaN and inf after Chroma answers (`_searched` in
    vectorstores/reads.py). Every search, in every space and deployment, still refuses
    one with `InputError`: with hits, with a filter that matches nothing, and on an
    empty collection."""
    store = make_store(distance=distance)
    store.add(docs())
    empty = make_store(f"{collection_name}-empty", distance=distance)
    finite = FakeEmbedder().embed_query("python language")
    searches: list[tuple[str, dict[str, Any]]] = [
        ("query", {}),
        ("query", {"where": {"topic": "nobody"}}),
        ("query", {"max_per_document": 1}),
        ("query_rows", {}),
        ("nearest", {}),
        ("mmr", {"fetch_k": 4}),
    ]
    for bad in (math.nan, math.inf, -math.inf):
        vector = [bad, *finite[1:]]
        for target in (store, empty):
            for method, kwargs in searches:
                with pytest.raises(InputError, match="NaN or inf"):
                    await call(flavour, target, method, embedding=vector, k=2, **kwargs)
        with pytest.raises(InputError, match="NaN or inf"):
            store.as_langchain().similarity_search_by_vector(vector, k=2)
    # both signs of infinity in one vector (cosine's norm and ip's sum turn NaN)
    with pytest.raises(InputError, match="NaN or inf"):
        await call(flavour, store, "query", embedding=[math.inf, -math.inf, *finite[2:]], k=2)
    hits = await call(flavour, store, "query", embedding=finite, k=2)
    assert hits[0].chunk.id == "python-0"


async def test_empty_collection_query(make_store: Callable[..., ChromaStore], flavour: str) -> None:
    store = make_store()
    assert await call(flavour, store, "query", "nothing here", k=3) == []
    assert await call(flavour, store, "count") == 0


async def test_get_ids_order_filters_and_paging(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    store.add(docs())
    got = await call(flavour, store, "get", ["python-0", "missing", "cats-0"])
    assert [c.id for c in got] == ["python-0", "cats-0"]
    assert got[0].metadata["n"] == 3
    got = await call(flavour, store, "get", where={"topic": {"$in": ["dogs", "cats"]}})
    assert {c.id for c in got} == {"dogs-0", "cats-0"}
    page1 = await call(flavour, store, "get", limit=3, offset=0)
    page2 = await call(flavour, store, "get", limit=3, offset=3)
    assert len(page1) == 3 and len(page2) == 1
    assert {c.id for c in page1 + page2} == {f"{k}-0" for k in TEXTS}


async def test_paged_iteration(make_store: Callable[..., ChromaStore], flavour: str) -> None:
    store = make_store(embedder=None)
    chunks = [Chunk.from_text(f"t{i}", doc_id=f"d{i}") for i in range(25)]
    store.add(chunks, embeddings=np.eye(25, DIM, dtype=np.float32) + 0.01)
    if flavour == "sync":
        seen = [c.id for c in store.iter_chunks(page_size=7)]
    else:
        seen = [c.id async for c in store.aiter_chunks(page_size=7)]
    assert sorted(seen) == sorted(c.id for c in chunks)
    assert len(store) == 25


async def test_delete_by_ids_where_and_doc_id(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    chunks = [
        Chunk.from_text(f"part {i} of {doc}", doc_id=doc, metadata={"i": i}, index=i)
        for doc in ("a", "b", "c")
        for i in range(3)
    ]
    store.add(chunks)
    await call(flavour, store, "delete", [chunks[0].id])
    assert await call(flavour, store, "count") == 8
    await call(flavour, store, "delete", doc_id="b")
    left = store.get()
    assert {c.doc_id for c in left} == {"a", "c"} and len(left) == 5
    await call(flavour, store, "delete", where={"i": 2})
    assert sorted((c.doc_id, c.index) for c in store.get()) == [("a", 1), ("c", 0), ("c", 1)]
    with pytest.raises(ConfigError, match="needs ids=, where= or doc_id="):
        await call(flavour, store, "delete")
    await call(flavour, store, "clear")
    assert store.count() == 0


async def test_upsert_replaces(make_store: Callable[..., ChromaStore], flavour: str) -> None:
    store = make_store()
    store.add(docs())
    new = Chunk.from_text("cats now chase lasers", doc_id="cats", id="cats-0")
    await call(flavour, store, "add", [new])
    assert store.count() == 4
    assert store.get(["cats-0"])[0].text == "cats now chase lasers"


async def test_mmr_prefers_diverse_results(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store(embedder=None)
    base = np.zeros(DIM, dtype=np.float32)
    a = base.copy()
    a[0] = 1.0
    a_twin = a.copy()
    a_twin[1] = 0.05
    b = base.copy()
    b[0], b[2] = 0.7, 0.7
    chunks = [Chunk.from_text(t, doc_id=t) for t in ("a", "a-twin", "b")]
    store.add(chunks, embeddings=[a, a_twin, b])
    query = a.copy()
    query[2] = 0.2
    plain = await call(flavour, store, "query", embedding=query, k=2)
    assert [h.chunk.text for h in plain] == ["a", "a-twin"]
    diverse = await call(flavour, store, "mmr", embedding=query, k=2, fetch_k=3, lambda_mult=0.3)
    assert [h.chunk.text for h in diverse] == ["a", "b"]
    assert diverse[1].score == pytest.approx(1 - diverse[1].distance, abs=1e-6)


async def test_async_is_native_on_server(
    chroma_server: Any, collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ChromaStore(
        collection_name, host=chroma_server.host, port=chroma_server.port, embedder=FakeEmbedder()
    )
    assert store.is_async_native

    def no_threads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("async method fell back to a worker thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    await store.aadd(docs())
    results = await asyncio.gather(*(store.aquery(text, k=1) for text in TEXTS.values()))
    assert [r[0].chunk.id for r in results] == [f"{k}-0" for k in TEXTS]
    assert await store.acount() == 4
    await store.adelete(doc_id="cats")
    assert await store.acount() == 3


async def test_injected_async_client(chroma_server: Any, collection_name: str) -> None:
    client = await chromadb.AsyncHttpClient(host=chroma_server.host, port=chroma_server.port)
    store = ChromaStore(collection_name, client=client, embedder=FakeEmbedder())
    await store.aadd(docs())
    assert [h.chunk.id for h in await store.aquery("dogs fetch balls", k=1)] == ["dogs-0"]
    with pytest.raises(ConfigError, match="only an async client"):
        store.count()


def test_injected_sync_client(collection_name: str) -> None:
    client = chromadb.EphemeralClient()
    store = ChromaStore(collection_name, client=client, embedder=FakeEmbedder())
    store.add(docs())
    assert client.get_collection(collection_name).count() == 4


@pytest.mark.slow
def test_one_add_of_25000_chunks(mode: str, make_store: Callable[..., ChromaStore]) -> None:
    if mode == "persistent":
        pytest.skip("same code path as in-memory; keeps the suite quick")
    store = make_store(embedder=None)
    n = 25_000
    rng = np.random.default_rng(7)
    chunks = [Chunk.from_text(f"t{i}", doc_id=f"d{i % 50}", id=f"c{i}") for i in range(n)]
    assert store.client is not None and store.client.get_max_batch_size() < n
    store.add(chunks, embeddings=rng.normal(size=(n, 8)).astype(np.float32))
    assert store.count() == n
    assert {c.id for c in store.get(["c0", "c24999"])} == {"c0", "c24999"}


# -- deployment details --------------------------------------------------------------------


@pytest.mark.parametrize("space", ["cosine", "l2", "ip"])
def test_distance_spaces_and_scores(space: str, collection_name: str) -> None:
    store = ChromaStore(collection_name, distance=space, hnsw={"ef_search": 77})  # type: ignore[arg-type]
    config = store.collection.configuration_json
    assert config["hnsw"]["space"] == space and config["hnsw"]["ef_search"] == 77
    store.add(
        [Chunk.from_text("x", id="x"), Chunk.from_text("y", id="y")],
        embeddings=[[1.0, 0.0], [0.6, 0.8]],
    )
    hits = store.query(embedding=[1.0, 0.0], k=2)
    assert [h.chunk.id for h in hits] == ["x", "y"]
    near, far = hits
    if space == "l2":  # squared distance 0.8 between the two unit vectors
        assert far.distance == pytest.approx(0.8, abs=1e-4)
        assert far.score == pytest.approx(1 / 1.8, abs=1e-4)
        assert near.score == pytest.approx(1.0, abs=1e-5)
    else:  # cosine and ip agree for unit vectors: score is the cosine
        assert far.score == pytest.approx(0.6, abs=1e-4)
        assert near.score == pytest.approx(1.0, abs=1e-4)


def test_existing_collection_keeps_its_space(tmp_path: Any, collection_name: str) -> None:
    ChromaStore(collection_name, path=tmp_path, distance="l2")
    again = ChromaStore(collection_name, path=tmp_path)
    assert again.distance == "l2"
    with pytest.raises(ConfigError, match="exists with distance 'l2'"):
        ChromaStore(collection_name, path=tmp_path, distance="ip")


def test_embedder_guard_across_processes_worth_of_reopens(
    tmp_path: Any, collection_name: str
) -> None:
    store = ChromaStore(collection_name, path=tmp_path, embedder=FakeEmbedder(name="model-a"))
    store.add(docs())
    assert store.collection.metadata["chromabridge:embedder"] == "model-a"
    assert store.collection.metadata["chromabridge:dimension"] == DIM
    del store

    ChromaStore(collection_name, path=tmp_path, embedder=FakeEmbedder(name="model-a"))
    with pytest.raises(EmbedderMismatchError, match="filled by embedder 'model-a'"):
        ChromaStore(collection_name, path=tmp_path, embedder=FakeEmbedder(name="model-b"))
    with pytest.raises(EmbedderMismatchError, match="64-dimensional"):
        ChromaStore(
            collection_name, path=tmp_path, embedder=FakeEmbedder(dimension=32, name="model-a")
        )
    # still intact after the refusals
    assert ChromaStore(collection_name, path=tmp_path).count() == 4


def test_guard_records_dimension_of_precomputed_vectors(collection_name: str) -> None:
    store = ChromaStore(collection_name)
    store.add([Chunk.from_text("a", id="a")], embeddings=[[0.1, 0.2, 0.3]])
    assert ChromaStore(collection_name).dimension == 3
    with pytest.raises(EmbedderMismatchError):
        ChromaStore(collection_name, embedder=FakeEmbedder())


def test_cosine_score_of_an_exact_match_is_at_most_one(collection_name: str) -> None:
    # LangChain warns about relevance scores above 1; float32 rounding used to give one.
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    texts = ["cats purr and sleep in the sun", "dogs bark", "chroma stores embeddings"]
    store.add([Chunk.from_text(t, id=str(i)) for i, t in enumerate(texts)])
    for text in texts:
        best = store.query(text, k=1)[0]
        assert best.score <= 1.0 and best.score == pytest.approx(1.0, abs=1e-6)


def test_caller_mistakes_are_input_errors_and_embedder_faults_are_not(
    collection_name: str,
) -> None:
    """InputError (a ValueError) says "fix your call"; StoreError is kept for Chroma."""
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    store.add([Chunk.from_text("kept", id="kept")])
    mistakes: list[Callable[[], object]] = [
        lambda: store.add("text"),  # type: ignore[arg-type]
        lambda: store.add([Chunk.from_text("a", id="x"), Chunk.from_text("b", id="x")]),
        lambda: store.add([Chunk.from_text("a", id="a")], embeddings=[[1.0, 2.0]]),
        lambda: store.query(embedding=[math.nan] * DIM),
        lambda: store.as_langchain().add_texts(["a", "b"], ids=["only-one"]),
    ]
    for mistake in mistakes:
        with pytest.raises(InputError) as info:
            mistake()
        assert isinstance(info.value, ValueError) and not isinstance(info.value, StoreError)
    assert [c.id for c in store.iter_chunks()] == ["kept"]

    class NaNEmbedder(FakeEmbedder):
        def embed_documents(self, texts: Any) -> list[list[float]]:
            return [[math.nan] * DIM for _ in texts]

    broken = ChromaStore(collection_name, embedder=NaNEmbedder())
    with pytest.raises(EmbeddingError, match="NaN or inf") as failed:
        broken.add([Chunk.from_text("new", id="new")])
    assert not isinstance(failed.value, InputError)


def test_wraps_a_chromadb_embedding_function(collection_name: str) -> None:
    """The seed article's custom EmbeddingFunction class works as embedder=."""
    from chromadb import Documents, EmbeddingFunction, Embeddings

    class MyCustomEmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(self, api_key: str) -> None:
            self.api_key = api_key

        def __call__(self, input: Documents) -> Embeddings:
            return [np.array([len(t), 1.0, 0.5], dtype=np.float32) for t in input]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = ChromaStore(
            collection_name, embedder=MyCustomEmbeddingFunction(api_key="sk-secret")
        )
    # chromadb's default name() warns; asking it for an identity must not pass that on.
    assert not [w for w in caught if "name()" in str(w.message)]
    store.add([Chunk.from_text("short", id="s"), Chunk.from_text("a much longer text", id="l")])
    assert store.query("tiny", k=1)[0].chunk.id == "s"
    assert "MyCustomEmbeddingFunction" in store.collection.metadata["chromabridge:embedder"]
    assert "sk-secret" not in repr(store)


def test_unreachable_server_is_a_bounded_store_error(collection_name: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        ChromaStore(collection_name, host="127.0.0.1", port=port)
    assert time.monotonic() - started < 5


def test_silent_server_times_out(collection_name: str) -> None:
    """A port that accepts and never answers must not hang the caller."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(StoreError, match=f"127.0.0.1:{port} within 1s"):
            ChromaStore(collection_name, host="127.0.0.1", port=port, timeout=1.0)
        assert time.monotonic() - started < 4
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_cloud_needs_a_key_and_never_shows_it(
    collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHROMA_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="CHROMA_API_KEY"):
        ChromaStore(collection_name, cloud=True)
    key = "ck-very-secret-key-123"
    with pytest.raises(StoreError) as info:  # no network here: Chroma Cloud is unreachable
        ChromaStore(collection_name, cloud=True, api_key=key, tenant="t", database="d")
    assert "Chroma Cloud" in str(info.value)
    assert key not in str(info.value)


def test_one_deployment_only(tmp_path: Any, collection_name: str) -> None:
    with pytest.raises(ConfigError, match="choose one deployment"):
        ChromaStore(collection_name, path=tmp_path, host="localhost")


# -- bad input: typed errors, nothing stored is lost ---------------------------------------


@pytest.mark.parametrize("name", ["ab", "-bad", "bad-", "has space", "a" * 600, "x..y", 42, ""])
def test_invalid_collection_names(name: Any) -> None:
    with pytest.raises(ConfigError, match="invalid collection name"):
        ChromaStore(name)


async def test_rejected_batches_leave_collection_unchanged(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    store.add(docs())
    before = snapshot(store)

    dup = [Chunk.from_text("x", id="same"), Chunk.from_text("y", id="same")]
    with pytest.raises(InputError, match="duplicate ids in one add: 'same'"):
        await call(flavour, store, "add", dup)

    wrong = [Chunk.from_text("new", id="new")]
    with pytest.raises(InputError, match=f"holds {DIM}-dimensional"):
        await call(flavour, store, "add", wrong, embeddings=[[0.1, 0.2]])

    with pytest.raises(InputError, match="NaN or inf"):
        await call(flavour, store, "add", wrong, embeddings=[[math.nan] * DIM])

    with pytest.raises(InputError, match="ids must be non-empty strings"):
        await call(flavour, store, "add", [Chunk(id=7, doc_id="d", text="t")])  # type: ignore[arg-type]

    with pytest.raises(InputError, match="empty text"):
        await call(flavour, store, "add", [Chunk.from_text("   ", id="blank")])

    for not_a_list in (None, "text", Chunk.from_text("one", id="one")):
        with pytest.raises(InputError, match="add\\(\\) takes a list of Chunks"):
            await call(flavour, store, "add", not_a_list)

    with pytest.raises(ConfigError, match="lambda_mult must be a number"):
        await call(flavour, store, "mmr", "cats", k=1, lambda_mult="high")

    with pytest.raises(ConfigError, match="doc_id must be a string or a list of strings"):
        await call(flavour, store, "delete", doc_id=5)

    with pytest.raises(FilterError, match=r"\$regex"):
        await call(flavour, store, "query", "cats", where={"topic": {"$regex": "c.*"}})

    for k in (0, -1, 2.5):
        with pytest.raises(ConfigError, match="k must be a positive int"):
            await call(flavour, store, "query", "cats", k=k)

    assert snapshot(store) == before


def batched_store(name: str) -> ChromaStore:
    """Five records c0-c4, then writes of 4 per batch: a larger write is several calls,
    not one atomic upsert."""
    store = ChromaStore(name, embedder=None)
    store.add([Chunk.from_text(f"old {i}", id=f"c{i}") for i in range(5)], np.full((5, 4), 0.5))
    store._batch_size = 4
    return store


def fail_writes(
    monkeypatch: pytest.MonkeyPatch, store: ChromaStore, names: list[str], fails: Any
) -> None:
    """Make the collection's `names` calls raise where `fails(n)` (n counts them from 1)."""
    calls = {"n": 0}

    def flaky(real: Callable[..., None]) -> Callable[..., None]:
        def write(**kwargs: Any) -> None:
            calls["n"] += 1
            if fails(calls["n"]):
                raise RuntimeError("server went away")
            real(**kwargs)

        return write

    for name in names:
        monkeypatch.setattr(store.collection, name, flaky(getattr(store.collection, name)))


async def test_failed_multi_batch_write_rolls_back(
    collection_name: str, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    store = batched_store(collection_name)
    before = snapshot(store)
    fail_writes(monkeypatch, store, ["add", "upsert"], lambda n: n == 3)
    new = [Chunk.from_text(f"new {i}", id=f"c{i}") for i in range(12)]  # 5 updates, 7 inserts
    with pytest.raises(StoreError, match="rolled back"):  # async: the sliced write
        await call(flavour, store, "add", new, embeddings=np.full((12, 4), 0.25))
    monkeypatch.undo()
    assert snapshot(store) == before


@pytest.mark.parametrize("batch", [0, 64])  # 0: the client's own (one call), 64: several
async def test_large_adds_of_new_and_existing_ids(
    make_store: Callable[..., ChromaStore], flavour: str, batch: int
) -> None:
    """From 100 ids on, batches of new ids go through Chroma's `add`, others through
    `upsert`: every record must hold what the latest call wrote, whatever the mix."""
    store = make_store()
    if batch:
        store.count()  # opens the collection, so the client's batch size is known
        store._batch_size = batch

    def chunks(ids: range, version: int) -> list[Chunk]:
        return [
            Chunk.from_text(f"v{version} {i}", id=f"c{i}", metadata={"version": version})
            for i in ids
        ]

    await call(flavour, store, "add", chunks(range(150), 1))  # all new
    await call(flavour, store, "add", chunks(range(100, 300), 2))  # 50 replaced, 150 new
    await call(flavour, store, "add", chunks(range(0, 120), 3))  # all replaced
    assert store.count() == 300
    got = {c.id: c for c in store.get([f"c{i}" for i in range(300)])}
    want = {**{i: 2 for i in range(100, 300)}, **{i: 3 for i in range(120)}}
    assert {i: (got[f"c{i}"].text, got[f"c{i}"].metadata["version"]) for i in range(300)} == {
        i: (f"v{v} {i}", v) for i, v in want.items()
    }


def test_new_ids_are_added_not_upserted(
    collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cheap path is taken: a first ingest adds, a re-ingest upserts."""
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    store.count()
    used: list[str] = []
    for name in ("add", "upsert"):
        real = getattr(store.collection, name)

        def spy(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            used.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(store.collection, name, spy)
    batch = [Chunk.from_text(f"text {i}", id=f"c{i}") for i in range(200)]
    store.add(batch)
    store.add(batch)
    store.add(batch[:3])  # small writes skip the existence check and upsert
    assert used == ["add", "upsert", "upsert"]


def test_metadata_is_normalised_on_write(collection_name: str) -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    meta = {
        "author": {"name": "Ada", "langs": ["en", "fr"]},
        "tags": [],
        "mixed": [1, "two"],
        "when": dt.datetime(2024, 5, 6, 7, 8, 9),
        "day": dt.date(2024, 5, 6),
        "none": None,
        "obj": Thing(),
        "ok": 3,
    }
    store.add([Chunk.from_text("some text", id="m", doc_id="doc", metadata=meta)])
    stored = store.collection.get(ids=["m"])["metadatas"][0]
    assert stored["author.name"] == "Ada"
    assert stored["author.langs"] == ["en", "fr"]
    assert "tags" not in stored and "none" not in stored
    assert stored["mixed"] == '[1, "two"]'
    assert stored["when"] == "2024-05-06T07:08:09"
    assert stored["day"] == "2024-05-06"
    assert stored["obj"] == "a thing"
    assert stored["ok"] == 3
    assert stored["doc_id"] == stored["ref_doc_id"] == stored["document_id"] == "doc"
    # filters see the flattened keys
    assert [h.chunk.id for h in store.query("text", where={"author.name": "Ada"})] == ["m"]


async def test_delete_by_an_iterator_of_ids(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    await call(flavour, store, "add", docs())
    events: list[tuple[str, list[str] | None]] = []
    store.subscribe(lambda change, ids: events.append((change, ids)))
    await call(flavour, store, "delete", (i for i in ["cats-0", "dogs-0"]))
    assert events == [("delete", ["cats-0", "dogs-0"])]  # listeners learn what went
    assert {c.id for c in store.get()} == {f"{k}-0" for k in TEXTS} - {"cats-0", "dogs-0"}


async def test_change_listeners_see_every_write(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    events: list[tuple[str, list[str] | None]] = []
    unsubscribe = store.subscribe(lambda change, ids: events.append((change, ids)))
    await call(flavour, store, "add", docs())
    await call(flavour, store, "delete", ["cats-0"])
    await call(flavour, store, "delete", doc_id="dogs")
    with pytest.raises(InputError):  # a refused write notifies nobody
        await call(
            flavour, store, "add", [Chunk.from_text("x", id="d"), Chunk.from_text("y", id="d")]
        )
    await call(flavour, store, "clear")
    unsubscribe()
    await call(flavour, store, "add", docs()[:1])
    assert events == [
        ("upsert", [f"{k}-0" for k in TEXTS]),
        ("delete", ["cats-0"]),
        ("delete", None),
        ("clear", None),
    ]


async def test_metadata_only_get(make_store: Callable[..., ChromaStore], flavour: str) -> None:
    store = make_store()
    store.add(docs())
    got = await call(flavour, store, "get", where={"topic": "cats"}, text=False)
    assert [(c.id, c.doc_id, c.text, c.metadata["n"]) for c in got] == [("cats-0", "cats", "", 0)]
    assert {c.text for c in store.iter_chunks(page_size=2, text=False)} == {""}


def test_user_keys_named_like_bookkeeping_are_kept(collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    chunk = Chunk(id="c", doc_id="doc", text="text", metadata={"end_char": 99, "doc_id": "doc"})
    store.add([chunk])
    stored = store.collection.get(ids=["c"])["metadatas"][0]
    assert stored["user.end_char"] == 99 and "end_char" not in stored  # chunk has no end
    assert stored["doc_id"] == "doc" and "user.doc_id" not in stored  # same value: no copy


async def test_a_deleted_collection_spends_the_store(
    make_store: Callable[..., ChromaStore], flavour: str, collection_name: str
) -> None:
    """After delete_collection (sync or async) every call, sync or async, says so; the
    collection is gone, and a new store makes it again, empty."""
    store = make_store()
    await call(flavour, store, "add", docs())
    await call(flavour, store, "delete_collection")
    spent = "was deleted through this store"
    with pytest.raises(CollectionDeletedError, match=spent):
        store.count()
    with pytest.raises(CollectionDeletedError, match=spent):
        await store.acount()
    with pytest.raises(CollectionDeletedError, match=spent):
        await store.aadd(docs())
    with pytest.raises(CollectionDeletedError, match=spent):
        store.query("cats", k=1)
    with pytest.raises(CollectionDeletedError, match=spent):
        await call(flavour, store, "delete_collection")
    again = make_store()
    assert again.count() == 0


async def test_a_failed_rollback_says_what_may_be_partly_written(
    collection_name: str, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    store = batched_store(collection_name)
    # the third batch fails, and so does every call of the undo
    fail_writes(monkeypatch, store, ["add", "upsert", "delete"], lambda n: n >= 3)
    new = [Chunk.from_text(f"new {i}", id=f"c{i}") for i in range(30)]  # 5 updates, 25 inserts
    with pytest.raises(PartialWriteError, match="may be partially written") as caught:
        await call(flavour, store, "add", new, embeddings=np.full((30, 4), 0.25))
    assert caught.value.ids == [f"c{i}" for i in range(12)]  # three batches of 4
    message = str(caught.value)
    assert "'c0'" in message and "'c9'" in message and "and 2 more" in message
    assert "'c10'" not in message  # the message stays bounded
    monkeypatch.undo()
    held = {c.id: c.text for c in store.get([f"c{i}" for i in range(30)])}
    assert set(held) <= set(caught.value.ids)  # nothing outside the list was touched
    assert held["c0"] == "new 0"  # the first batches did land


async def test_a_cancelled_aadd_still_finishes_its_write(
    collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sliced write is many calls; cancelling the caller must not leave half of it."""
    store = ChromaStore(collection_name, embedder=None)
    written, heard = threading.Event(), threading.Event()
    real_add = store.collection.add

    def add(**kwargs: Any) -> None:
        real_add(**kwargs)
        written.set()

    monkeypatch.setattr(store.collection, "add", add)
    store.subscribe(lambda change, ids: heard.set() if len(ids or []) == 1000 else None)
    batch = [Chunk.from_text(f"text {i}", id=f"k{i}") for i in range(1000)]
    task = asyncio.create_task(store.aadd(batch, embeddings=np.full((1000, 4), 0.5)))
    assert await asyncio.to_thread(written.wait, 30)  # the first slice is in
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.count() < 1000  # cancelled mid-write
    assert await asyncio.to_thread(heard.wait, 60)  # the write went on, and was told
    assert store.count() == 1000
