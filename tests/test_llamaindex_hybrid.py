"""LlamaIndex's hybrid query mode on our face: a query engine (MockLLM) where alpha=1
ranks as the dense search does and alpha=0 as BM25 does; SPARSE / TEXT_SEARCH are BM25."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from store_support import deployment, llamaindex_embedding

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import InputError
from chromabridge.retrievers import HybridRetriever, LexicalIndex
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaFilter, ChromaStore

QUERY = "zebra migration on the savanna"
TEXTS = [
    "zebra zebra zebra herds",
    "the great migration crosses the savanna",
    "a zebra herd on the savanna in the dry season",
    "migration of birds over the sea",
    "lions watch the savanna from the rocks",
    "zebra stripes confuse flies",
    "the savanna grass grows after the rain season",
    "on the move: herds of wildebeest and zebra in migration",
]


@pytest.fixture(params=["memory", pytest.param("server", marks=pytest.mark.server)])
def store(request: pytest.FixtureRequest, tmp_path: Path, collection_name: str) -> ChromaStore:
    server = request.getfixturevalue("chroma_server") if request.param == "server" else None
    made = ChromaStore(
        collection_name,
        embedder=FakeEmbedder(),
        **deployment(request.param, server, tmp_path),
    )
    made.add([Chunk.from_text(t, id=f"c{i}", doc_id=f"d{i}") for i, t in enumerate(TEXTS)])
    return made


def _references(store: ChromaStore, k: int) -> tuple[list[str], list[str]]:
    dense = [h.chunk.id for h in store.query(QUERY, k=k)]
    lexical = LexicalIndex(store, path=None)
    bm25 = [i for i, _ in lexical.search(QUERY, k, ChromaFilter())]
    lexical.close()
    assert dense != bm25  # the corpus separates the two rankings
    return dense, bm25


def _engine(store: ChromaStore, **kwargs: Any) -> Any:
    index = VectorStoreIndex.from_vector_store(
        store.as_llamaindex(), embed_model=llamaindex_embedding()
    )
    return index.as_query_engine(llm=MockLLM(), similarity_top_k=4, **kwargs)


async def test_alpha_one_is_dense_and_zero_is_bm25(store: ChromaStore) -> None:
    dense, bm25 = _references(store, 4)
    for alpha, expected in ((1.0, dense), (0.0, bm25)):
        engine = _engine(store, vector_store_query_mode="hybrid", alpha=alpha)
        response = engine.query(QUERY)
        assert [n.node.node_id for n in response.source_nodes] == expected
        assert str(response)  # MockLLM answered over the retrieved context
        aresponse = await engine.aquery(QUERY)
        assert [n.node.node_id for n in aresponse.source_nodes] == expected


def test_default_alpha_weighs_both_sides_equally(store: ChromaStore) -> None:
    dense, bm25 = _references(store, 4)
    fused = [h.chunk.id for h in HybridRetriever(store, k=4, index_path=None).retrieve(QUERY)]
    assert fused not in (dense, bm25)
    engine = _engine(store, vector_store_query_mode="hybrid")
    assert [n.node.node_id for n in engine.query(QUERY).source_nodes] == fused


@pytest.mark.parametrize("mode", ["sparse", "text_search"])
def test_sparse_modes_are_bm25_alone(store: ChromaStore, mode: str) -> None:
    _, bm25 = _references(store, 4)
    engine = _engine(store, vector_store_query_mode=mode, alpha=1.0)
    assert [n.node.node_id for n in engine.query(QUERY).source_nodes] == bm25


def test_filters_and_new_writes_apply(store: ChromaStore) -> None:
    face = store.as_llamaindex()
    query = VectorStoreQuery(
        query_str=QUERY,
        query_embedding=FakeEmbedder().embed_query(QUERY),
        similarity_top_k=3,
        mode=VectorStoreQueryMode.HYBRID,
        alpha=0.0,
        doc_ids=["d1", "d3"],
    )
    assert sorted(face.query(query).ids) == ["c1", "c3"]
    store.add([Chunk.from_text("zebra migration savanna zebra", id="new", doc_id="d1")])
    assert face.query(query).ids[0] == "new"


@pytest.mark.parametrize("alpha", [-0.1, 1.5])
def test_alpha_out_of_range_is_an_input_error(store: ChromaStore, alpha: float) -> None:
    query = VectorStoreQuery(
        query_str=QUERY, similarity_top_k=2, mode=VectorStoreQueryMode.HYBRID, alpha=alpha
    )
    with pytest.raises(InputError, match="alpha"):
        store.as_llamaindex().query(query)
