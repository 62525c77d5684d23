"""`max_per_document`: k distinct documents through every entry point, sync and async,
even when one long document owns every chunk near the query (the search widens)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from store_support import deployment, llamaindex_embedding

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import InputError
from chromabridge.retrievers import HybridRetriever, VectorRetriever
from chromabridge.types import Chunk, Hit
from chromabridge.vectorstores import ChromaStore

QUERY = "cats purr"
K = 3


def _corpus() -> list[Chunk]:
    """40 chunks of one long document nearest the query, then three short documents."""
    long = [
        Chunk.from_text(f"cats purr cats purr part {i}", id=f"long-{i}", doc_id="long", index=i)
        for i in range(40)
    ]
    short = [
        Chunk.from_text(text, id=doc, doc_id=doc)
        for doc, text in (
            ("sun", "cats sleep in the warm sun all day"),
            ("dogs", "dogs and cats play in the park together"),
            ("mice", "mice fear cats at night in the barn"),
        )
    ]
    return long + short


@pytest.fixture(params=["memory", pytest.param("server", marks=pytest.mark.server)])
def store(request: pytest.FixtureRequest, tmp_path: Path, collection_name: str) -> ChromaStore:
    server = request.getfixturevalue("chroma_server") if request.param == "server" else None
    made = ChromaStore(
        collection_name,
        embedder=FakeEmbedder(name="test:hash"),
        **deployment(request.param, server, tmp_path),
    )
    made.add(_corpus())
    return made


def _distinct(doc_ids: list[str], want: int = K) -> None:
    assert len(doc_ids) == want
    assert len(set(doc_ids)) == want, doc_ids
    assert doc_ids[0] == "long"


def _docs(hits: list[Hit]) -> list[str]:
    return [h.chunk.doc_id for h in hits]


def test_without_the_cap_one_document_fills_k(store: ChromaStore) -> None:
    assert _docs(store.query(QUERY, k=K)) == ["long"] * K


async def test_store_query_and_mmr(store: ChromaStore) -> None:
    _distinct(_docs(store.query(QUERY, k=K, max_per_document=1)))
    _distinct(_docs(await store.aquery(QUERY, k=K, max_per_document=1)))
    _distinct(_docs(store.mmr(QUERY, k=K, fetch_k=5, max_per_document=1)))
    _distinct(_docs(await store.ammr(QUERY, k=K, fetch_k=5, max_per_document=1)))
    two = _docs(store.query(QUERY, k=4, max_per_document=2))
    assert two.count("long") == 2 and len(set(two)) == 3


def test_fewer_documents_than_k_returns_each_once(store: ChromaStore) -> None:
    docs = _docs(store.query(QUERY, k=10, max_per_document=1))
    assert sorted(docs) == ["dogs", "long", "mice", "sun"]
    filtered = store.query(QUERY, k=3, where={"doc_id": "long"}, max_per_document=1)
    assert _docs(filtered) == ["long"]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "1"])
def test_bad_cap_is_an_input_error(store: ChromaStore, bad: Any) -> None:
    with pytest.raises(InputError, match="max_per_document"):
        store.query(QUERY, k=K, max_per_document=bad)
    with pytest.raises(InputError, match="max_per_document"):
        VectorRetriever(store, max_per_document=bad)


async def test_native_retrievers_and_their_faces(store: ChromaStore) -> None:
    retrievers = [
        VectorRetriever(store, k=K, max_per_document=1),
        VectorRetriever(store, k=K, search_type="mmr", fetch_k=5, max_per_document=1),
        HybridRetriever(store, k=K, candidates=5, max_per_document=1, index_path=None),
    ]
    for retriever in retrievers:
        _distinct(_docs(retriever.retrieve(QUERY)))
        _distinct(_docs(await retriever.aretrieve(QUERY)))
        lc = retriever.as_langchain()
        _distinct([d.metadata.get("doc_id") or _doc_of(store, d.id) for d in lc.invoke(QUERY)])
        _distinct([_doc_of(store, d.id) for d in await lc.ainvoke(QUERY)])
        li = retriever.as_llamaindex()
        _distinct([n.node.ref_doc_id for n in li.retrieve(QUERY)])
        _distinct([n.node.ref_doc_id for n in await li.aretrieve(QUERY)])


def test_hybrid_lexical_side_alone_widens(store: ChromaStore) -> None:
    bm25 = HybridRetriever(
        store, k=K, weights=(0, 1), candidates=3, max_per_document=1, index_path=None
    )
    _distinct(_docs(bm25.retrieve(QUERY)))


def _doc_of(store: ChromaStore, chunk_id: str | None) -> str:
    assert chunk_id is not None
    [chunk] = store.get([chunk_id])
    return chunk.doc_id


async def test_langchain_vector_store(store: ChromaStore) -> None:
    lc = store.as_langchain()
    searches: list[Callable[[], list[Any]]] = [
        lambda: lc.similarity_search(QUERY, k=K, max_per_document=1),
        lambda: [d for d, _ in lc.similarity_search_with_score(QUERY, k=K, max_per_document=1)],
        lambda: lc.max_marginal_relevance_search(QUERY, k=K, fetch_k=5, max_per_document=1),
        lambda: lc.as_retriever(search_kwargs={"k": K, "max_per_document": 1}).invoke(QUERY),
    ]
    for search in searches:
        _distinct([_doc_of(store, d.id) for d in search()])
    asearches: list[Callable[[], Awaitable[list[Any]]]] = [
        lambda: lc.asimilarity_search(QUERY, k=K, max_per_document=1),
        lambda: lc.amax_marginal_relevance_search(QUERY, k=K, fetch_k=5, max_per_document=1),
        lambda: lc.as_retriever(search_kwargs={"k": K, "max_per_document": 1}).ainvoke(QUERY),
    ]
    for asearch in asearches:
        _distinct([_doc_of(store, d.id) for d in await asearch()])


async def test_llamaindex_index_retriever(store: ChromaStore) -> None:
    from llama_index.core import VectorStoreIndex

    index = VectorStoreIndex.from_vector_store(
        store.as_llamaindex(), embed_model=llamaindex_embedding()
    )
    for mode in ("default", "mmr", "hybrid"):
        retriever = index.as_retriever(
            similarity_top_k=K,
            vector_store_query_mode=mode,
            vector_store_kwargs={"max_per_document": 1},
        )
        _distinct([n.node.ref_doc_id for n in retriever.retrieve(QUERY)])
        _distinct([n.node.ref_doc_id for n in await retriever.aretrieve(QUERY)])
