"""LangChainVectorStore: LangChain's standard suite (in-memory and server), retrievers,
native async, and the bad input a LangChain user hits."""

from __future__ import annotations

import asyncio
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests
from store_support import langchain_embeddings

from chromabridge.errors import ConfigError, EmbedderMismatchError, FilterError, InputError
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.langchain import LangChainVectorStore


def _name() -> str:
    return f"lc-{uuid.uuid4().hex[:10]}"


class TestStandardInMemory(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self) -> Iterator[VectorStore]:  # type: ignore[override]
        store = LangChainVectorStore(_name(), embedding_function=self.get_embeddings())
        try:
            yield store
        finally:
            store.delete_collection()


class TestStandardServer(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, chroma_server: Any) -> Iterator[VectorStore]:  # type: ignore[override]
        store = LangChainVectorStore(
            _name(),
            embedding_function=self.get_embeddings(),
            host=chroma_server.host,
            port=chroma_server.port,
        )
        try:
            yield store
        finally:
            store.delete_collection()


CORPUS = [
    Document(page_content="cats purr and sleep in the sun", metadata={"kind": "pet", "n": 1}),
    Document(page_content="dogs bark and fetch the ball", metadata={"kind": "pet", "n": 2}),
    Document(page_content="cats and dogs are pets", metadata={"kind": "pet", "n": 3}),
    Document(page_content="chroma stores embeddings", metadata={"kind": "db", "n": 4}),
]


@pytest.fixture
def lc_store(collection_name: str) -> LangChainVectorStore:
    store = LangChainVectorStore.from_documents(
        CORPUS,
        langchain_embeddings(),
        ids=[f"d{i}" for i in range(len(CORPUS))],
        collection_name=collection_name,
    )
    assert isinstance(store, LangChainVectorStore)
    return store


def test_search_variants(lc_store: LangChainVectorStore) -> None:
    docs = lc_store.similarity_search("cats sleep in the sun", k=1)
    assert docs == [
        Document(id="d0", page_content=CORPUS[0].page_content, metadata=CORPUS[0].metadata)
    ]
    scored = lc_store.similarity_search_with_score("cats sleep in the sun", k=2)
    assert scored[0][1] <= scored[1][1]  # distances, like langchain_chroma
    relevance = lc_store.similarity_search_with_relevance_scores("cats sleep in the sun", k=2)
    assert relevance[0][1] == pytest.approx(1 - scored[0][1], abs=1e-6)
    vector = lc_store.embeddings.embed_query("chroma embeddings")  # type: ignore[union-attr]
    assert lc_store.similarity_search_by_vector(vector, k=1)[0].id == "d3"
    assert lc_store.similarity_search("pets", k=4, filter={"n": {"$gte": 3}})[0].metadata["n"] >= 3
    assert [
        d.id for d in lc_store.similarity_search("x", k=4, where_document={"$contains": "bark"})
    ] == ["d1"]
    assert [d.id for d in lc_store.get_by_ids(["d3", "nope", "d1"])] == ["d3", "d1"]


async def test_relevance_scores_stay_within_0_and_1(lc_store: LangChainVectorStore) -> None:
    """An exact match's cosine distance comes back as -2.4e-7 from Chroma; LangChain
    warns about relevance scores outside [0, 1], so the face clamps them."""
    text = CORPUS[0].page_content
    assert lc_store.store.query(text, k=1)[0].distance < 0.0  # the case that used to warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = [
            lc_store.similarity_search_with_relevance_scores(text, k=4),
            await lc_store.asimilarity_search_with_relevance_scores(text, k=4),
        ]
    for pairs in found:
        assert pairs[0] == (pairs[0][0], 1.0) and pairs[0][0].id == "d0"
        assert all(0.0 <= score <= 1.0 for _, score in pairs)


def test_mmr(lc_store: LangChainVectorStore) -> None:
    docs = lc_store.max_marginal_relevance_search("cats", k=2, fetch_k=4, lambda_mult=0.1)
    assert len(docs) == 2 and docs[0].id in {"d0", "d2"}
    vector = lc_store.embeddings.embed_query("cats")  # type: ignore[union-attr]
    by_vector = lc_store.max_marginal_relevance_search_by_vector(
        vector, k=2, fetch_k=4, lambda_mult=0.1
    )
    assert by_vector == docs


@pytest.mark.parametrize(
    ("search_type", "search_kwargs", "expected"),
    [
        ("similarity", {"k": 2, "filter": {"kind": "pet", "n": 2}}, ["d1"]),
        ("similarity", {"k": 1, "where_document": {"$contains": "chroma"}}, ["d3"]),
        ("mmr", {"k": 2, "fetch_k": 4, "lambda_mult": 0.5, "filter": {"kind": "pet"}}, None),
        ("similarity_score_threshold", {"k": 4, "score_threshold": 0.5}, ["d0"]),
    ],
)
def test_as_retriever(
    lc_store: LangChainVectorStore,
    search_type: str,
    search_kwargs: dict[str, Any],
    expected: list[str] | None,
) -> None:
    retriever = lc_store.as_retriever(search_type=search_type, search_kwargs=search_kwargs)
    docs = retriever.invoke("cats purr and sleep in the sun")
    if expected is None:
        assert len(docs) == 2 and all(d.metadata["kind"] == "pet" for d in docs)
    else:
        assert [d.id for d in docs] == expected


async def test_async_is_native_on_server(
    chroma_server: Any, collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LangChainVectorStore(
        collection_name,
        embedding_function=langchain_embeddings(),
        host=chroma_server.host,
        port=chroma_server.port,
    )

    def no_threads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fell back to a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    monkeypatch.setattr(asyncio.get_running_loop(), "run_in_executor", no_threads)
    ids = await store.aadd_documents(CORPUS, ids=["a", "b", "c", "d"])
    assert ids == ["a", "b", "c", "d"]
    docs = await store.asimilarity_search("dogs bark", k=1)
    assert docs[0].id == "b"
    assert [d.id for d in await store.aget_by_ids(["d", "a"])] == ["d", "a"]
    assert len(await store.amax_marginal_relevance_search("pets", k=2, fetch_k=4)) == 2
    await store.adelete(["a"])
    assert await store.store.acount() == 3


def test_chroma_style_constructor(tmp_path: Any, collection_name: str) -> None:
    store = LangChainVectorStore(
        collection_name=collection_name,
        embedding_function=langchain_embeddings(),
        persist_directory=str(tmp_path),
        collection_metadata={"hnsw:space": "l2", "team": "search"},
    )
    store.add_texts(["hello world"], ids=["h"])
    reopened = ChromaStore(collection_name, path=tmp_path)
    assert reopened.distance == "l2"
    assert reopened.collection.metadata["team"] == "search"
    assert reopened.count() == 1


@pytest.mark.slow
def test_add_above_chromas_batch_limit(collection_name: str) -> None:
    store = LangChainVectorStore(collection_name, embedding_function=langchain_embeddings())
    n = 6000  # stock langchain_chroma fails above ~5,461 in one call
    ids = store.add_texts([f"text number {i}" for i in range(n)])
    assert len(ids) == n and store.store.count() == n


def test_bad_input(lc_store: LangChainVectorStore, collection_name: str) -> None:
    with pytest.raises(FilterError, match="'\\$like'"):
        lc_store.similarity_search("cats", filter={"kind": {"$like": "p%"}})
    with pytest.raises(InputError, match="ids must be non-empty strings"):
        lc_store.add_texts(["x"], ids=[42])  # type: ignore[list-item]
    with pytest.raises(InputError, match="empty text"):
        lc_store.add_texts([""])
    with pytest.raises(InputError, match=r"metadatas\[1\] must be a dict, got str"):
        lc_store.add_texts(["x", "y"], [{"ok": 1}, "bad"])  # type: ignore[list-item]
    with pytest.raises(InputError, match="item 1 is a str, not a Document"):
        lc_store.add_documents([Document(page_content="x"), "y"])  # type: ignore[list-item]
    with pytest.raises(InputError, match="item 0 is a dict, not a Document"):
        asyncio.run(lc_store.aadd_documents([{"page_content": "x"}]))  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="ids must be a string or a list of strings"):
        lc_store.get_by_ids([1])  # type: ignore[list-item]
    assert len(lc_store.similarity_search("cats", k=100)) == 4  # k beyond the collection
    assert lc_store.store.count() == 4  # nothing above changed the collection
    empty = LangChainVectorStore(collection_name + "-e", embedding_function=langchain_embeddings())
    assert empty.similarity_search("anything") == []
    # a LangChain embeddings' size is unknown until it runs: caught on first use
    other = LangChainVectorStore(collection_name, embedding_function=langchain_embeddings(dim=16))
    with pytest.raises(EmbedderMismatchError, match="holds 64-dimensional"):
        other.similarity_search("cats")
    with pytest.raises(EmbedderMismatchError, match="holds 64-dimensional"):
        other.add_texts(["new text"])
    assert lc_store.store.count() == 4
