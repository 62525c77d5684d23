"""LlamaIndexVectorStore inside real LlamaIndex: VectorStoreIndex, query engines with
MockLLM, retrievers with MetadataFilters, IngestionPipeline, MMR, async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core import Document, MockEmbedding, StorageContext, VectorStoreIndex
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from store_support import llamaindex_embedding

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import (
    ConfigError,
    EmbedderMismatchError,
    FilterError,
    InputError,
)
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.llamaindex import LlamaIndexVectorStore, node_to_chunk

DOCS = [
    Document(
        text="Cats purr and sleep in the sun.",
        doc_id="cats",
        metadata={"kind": "pet", "year": 2001},
    ),
    Document(
        text="Dogs bark and fetch the ball.", doc_id="dogs", metadata={"kind": "pet", "year": 2011}
    ),
    Document(
        text="Chroma stores embeddings for search.",
        doc_id="chroma",
        metadata={"kind": "db", "year": 2023},
    ),
]


def node(node_id: str, text: str, doc: str, **meta: Any) -> TextNode:
    return TextNode(
        id_=node_id,
        text=text,
        metadata=meta,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc)},
        embedding=FakeEmbedder().embed_query(text),
    )


@pytest.fixture
def vector_store(collection_name: str) -> LlamaIndexVectorStore:
    return ChromaStore(collection_name).as_llamaindex()


@pytest.fixture
def index(vector_store: LlamaIndexVectorStore) -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(
        DOCS,
        storage_context=StorageContext.from_defaults(vector_store=vector_store),
        embed_model=llamaindex_embedding(),
    )


def test_index_query_engine_and_sources(index: VectorStoreIndex) -> None:
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=1)
    response = engine.query("where do cats sleep?")
    [source] = response.source_nodes
    assert source.node.ref_doc_id == "cats"
    assert source.node.get_content() == "Cats purr and sleep in the sun."
    assert source.node.metadata == {"kind": "pet", "year": 2001}
    assert 0.0 < (source.score or 0.0) <= 1.0  # cosine similarity, not exp(-distance)


def test_from_vector_store_with_filters(vector_store: LlamaIndexVectorStore, index: Any) -> None:
    reopened = VectorStoreIndex.from_vector_store(vector_store, embed_model=llamaindex_embedding())
    filters = MetadataFilters(
        filters=[
            MetadataFilter(key="kind", value="pet"),
            MetadataFilters(
                filters=[
                    MetadataFilter(key="year", value=2010, operator=FilterOperator.GT),
                    MetadataFilter(key="year", value=[1990, 2001], operator=FilterOperator.IN),
                ],
                condition=FilterCondition.OR,
            ),
        ]
    )
    nodes = reopened.as_retriever(similarity_top_k=5, filters=filters).retrieve("animals")
    assert {n.node.ref_doc_id for n in nodes} == {"cats", "dogs"}
    nin = MetadataFilters(
        filters=[MetadataFilter(key="kind", value=["pet"], operator=FilterOperator.NIN)]
    )
    nodes = reopened.as_retriever(similarity_top_k=5, filters=nin).retrieve("animals")
    assert [n.node.ref_doc_id for n in nodes] == ["chroma"]


def test_ingestion_pipeline_writes_through(collection_name: str) -> None:
    vector_store = LlamaIndexVectorStore(collection_name=collection_name)
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=0), llamaindex_embedding()],
        vector_store=vector_store,
    )
    long_text = " ".join(f"Sentence number {i} talks about topic {i % 3}." for i in range(40))
    nodes = pipeline.run(documents=[Document(text=long_text, doc_id="long")])
    assert len(nodes) > 1
    stored = vector_store.get_nodes()
    assert len(stored) == len(nodes)
    assert {n.ref_doc_id for n in stored} == {"long"}
    first = min(stored, key=lambda n: n.start_char_idx or 0)
    assert long_text[first.start_char_idx : first.end_char_idx] == first.get_content()


def test_add_query_delete_roundtrip(vector_store: LlamaIndexVectorStore) -> None:
    nodes = [
        node("n1", "cats purr", "cats", tag="a"),
        node("n2", "cats sleep", "cats", tag="b"),
        node("n3", "dogs bark", "dogs", tag="a"),
    ]
    assert vector_store.add(nodes) == ["n1", "n2", "n3"]
    query = VectorStoreQuery(
        query_embedding=FakeEmbedder().embed_query("cats purr"), similarity_top_k=2
    )
    result = vector_store.query(query)
    assert result.ids is not None and result.ids[0] == "n1"
    assert result.similarities is not None and result.similarities[0] == pytest.approx(
        1.0, abs=1e-5
    )
    vector_store.delete("cats")
    assert [n.node_id for n in vector_store.get_nodes()] == ["n3"]
    vector_store.add(nodes[:2])
    vector_store.delete_nodes(
        filters=MetadataFilters(filters=[MetadataFilter(key="tag", value="b")])
    )
    assert sorted(n.node_id for n in vector_store.get_nodes()) == ["n1", "n3"]
    vector_store.delete_nodes(["n1"])
    assert [n.node_id for n in vector_store.get_nodes(["n1", "n3"])] == ["n3"]
    vector_store.clear()
    assert vector_store.get_nodes() == []


def test_mmr_mode(vector_store: LlamaIndexVectorStore) -> None:
    vector_store.add(
        [
            node("a", "cats purr loudly", "x"),
            node("a2", "cats purr loudly today", "x"),
            node("b", "cats and dogs play", "y"),
        ]
    )
    query = VectorStoreQuery(
        query_embedding=FakeEmbedder().embed_query("cats purr"),
        similarity_top_k=2,
        mode=VectorStoreQueryMode.MMR,
        mmr_threshold=0.2,
    )
    assert vector_store.query(query).ids == ["a", "b"]
    plain = VectorStoreQuery(query_embedding=query.query_embedding, similarity_top_k=2)
    assert vector_store.query(plain).ids == ["a", "a2"]


async def test_async_on_server(
    chroma_server: Any, collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vector_store = LlamaIndexVectorStore(
        collection_name=collection_name, host=chroma_server.host, port=chroma_server.port
    )

    def no_threads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fell back to a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    await vector_store.async_add([node("n1", "cats purr", "cats"), node("n2", "dogs bark", "dogs")])
    result = await vector_store.aquery(
        VectorStoreQuery(query_embedding=FakeEmbedder().embed_query("dogs"), similarity_top_k=1)
    )
    assert result.ids == ["n2"]
    await vector_store.adelete("cats")
    assert [n.node_id for n in await vector_store.aget_nodes()] == ["n2"]
    await vector_store.aclear()
    assert await vector_store.aget_nodes() == []


def test_bad_input(vector_store: LlamaIndexVectorStore, collection_name: str) -> None:
    vector_store.add([node("n1", "cats purr", "cats")])
    empty = VectorStoreQuery(query_embedding=FakeEmbedder().embed_query("x"), similarity_top_k=10)
    assert vector_store.query(empty).ids == ["n1"]  # k beyond the collection
    with pytest.raises(FilterError, match="'is_empty'"):
        vector_store.query(
            VectorStoreQuery(
                query_embedding=empty.query_embedding,
                filters=MetadataFilters(
                    filters=[MetadataFilter(key="k", value=None, operator=FilterOperator.IS_EMPTY)]
                ),
            )
        )
    with pytest.raises(ConfigError, match="'svm'"):
        vector_store.query(
            VectorStoreQuery(query_embedding=empty.query_embedding, mode=VectorStoreQueryMode.SVM)
        )
    with pytest.raises(InputError, match="'sparse' needs the query text"):
        vector_store.query(
            VectorStoreQuery(
                query_embedding=empty.query_embedding, mode=VectorStoreQueryMode.SPARSE
            )
        )
    for junk in ("text", None):
        with pytest.raises(InputError, match=f"item 1 is a {type(junk).__name__}, not a"):
            vector_store.add([node("n2", "dogs bark", "dogs"), junk])  # type: ignore[list-item]
        with pytest.raises(InputError, match="item 0 is a"):
            asyncio.run(vector_store.async_add([junk]))  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="doc_id must be a string or a list of strings"):
        vector_store.delete(5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ids must be a string or a list of strings"):
        vector_store.get_nodes([1])  # type: ignore[list-item]
    assert vector_store.store.count() == 1  # nothing above changed the collection
    store = ChromaStore(collection_name + "-g", embedder=llamaindex_embedding())
    store.add([node_to_chunk(node("z", "zebra", "z"))])
    with pytest.raises(EmbedderMismatchError):
        ChromaStore(collection_name + "-g", embedder=MockEmbedding(embed_dim=8))
