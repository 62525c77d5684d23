"""`LlamaIndexVectorStore` against stock `ChromaVectorStore`: the canonical LlamaIndex
snippet runs unchanged with our class swapped in, and every constructor and factory
argument means what it means on stock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.vector_stores.chroma import ChromaVectorStore
from store_support import llamaindex_embedding

from chromabridge.errors import ConfigError, InputError
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.base import configuration
from chromabridge.vectorstores.llamaindex import LlamaIndexVectorStore

CLASSES = [ChromaVectorStore, LlamaIndexVectorStore]
IDS = ["stock", "ours"]
DOCS = [
    Document(text="Cats purr and sleep in the sun.", doc_id="cats", metadata={"kind": "pet"}),
    Document(text="Dogs bark and fetch the ball.", doc_id="dogs", metadata={"kind": "pet"}),
    Document(text="Chroma stores embeddings for search.", doc_id="db", metadata={"kind": "db"}),
]


def canonical_snippet(vector_store_class: Any, path: Path) -> Any:
    """LlamaIndex's Chroma quick start, verbatim but for the class it is handed."""
    db = chromadb.PersistentClient(path=str(path))
    chroma_collection = db.get_or_create_collection("quickstart")
    vector_store = vector_store_class(chroma_collection=chroma_collection)
    storage_context = StorageContext.from_defaults(vector_store=vector_store)
    index = VectorStoreIndex.from_documents(
        DOCS, storage_context=storage_context, embed_model=llamaindex_embedding()
    )
    query_engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=2)
    return vector_store, query_engine.query("Which animal fetches the ball?")


def test_canonical_snippet_runs_unchanged(tmp_path: Path) -> None:
    answers = {}
    for cls in CLASSES:
        vector_store, response = canonical_snippet(cls, tmp_path / cls.__name__)
        assert vector_store._collection.count() == len(DOCS)  # tutorials' habit
        assert vector_store.client.count() == len(DOCS)
        answers[cls] = [(n.node.ref_doc_id, n.node.get_content()) for n in response.source_nodes]
        assert response.source_nodes[0].score > response.source_nodes[1].score
    assert answers[LlamaIndexVectorStore] == answers[ChromaVectorStore]
    assert answers[LlamaIndexVectorStore][0][0] == "dogs"


def test_delete_by_ref_doc_id_on_a_wrapped_collection(tmp_path: Path) -> None:
    vector_store, _ = canonical_snippet(LlamaIndexVectorStore, tmp_path)
    vector_store.delete("dogs")
    assert vector_store._collection.count() == len(DOCS) - 1
    # the user's own handle on the collection sees the same records
    collection = chromadb.PersistentClient(path=str(tmp_path)).get_collection("quickstart")
    assert sorted(m["ref_doc_id"] for m in collection.get()["metadatas"]) == ["cats", "db"]


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_from_collection(cls: Any, collection_name: str) -> None:
    collection = chromadb.EphemeralClient().get_or_create_collection(collection_name)
    vector_store = cls.from_collection(collection)
    assert vector_store.client.name == collection_name
    with pytest.raises(Exception, match="collection"):
        cls.from_collection("a-name")  # a name is not a collection: no store is made


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_from_params_persist_dir_and_collection_kwargs(
    cls: Any, tmp_path: Path, collection_name: str
) -> None:
    kwargs = {"metadata": {"hnsw:space": "cosine", "team": "search"}}
    vector_store = cls.from_params(
        collection_name, persist_dir=str(tmp_path), collection_kwargs=kwargs
    )
    assert vector_store.persist_dir == str(tmp_path)
    assert vector_store.collection_kwargs == kwargs
    collection = chromadb.PersistentClient(path=str(tmp_path)).get_collection(collection_name)
    assert configuration(collection)["hnsw"]["space"] == "cosine"
    assert collection.metadata["team"] == "search"


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_collection_kwargs_configuration(cls: Any, tmp_path: Path, collection_name: str) -> None:
    kwargs = {"configuration": {"hnsw": {"space": "ip", "ef_search": 40}}}
    cls.from_params(collection_name, persist_dir=str(tmp_path), collection_kwargs=kwargs)
    collection = chromadb.PersistentClient(path=str(tmp_path)).get_collection(collection_name)
    assert configuration(collection)["hnsw"]["space"] == "ip"
    assert configuration(collection)["hnsw"]["ef_search"] == 40


@pytest.mark.server
@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_host_port_ssl_headers(cls: Any, chroma_server: Any, collection_name: str) -> None:
    vector_store = cls(
        collection_name=collection_name,
        host=chroma_server.host,
        port=str(chroma_server.port),  # stock accepts a str port
        ssl=False,
        headers={"X-Test": "1"},
    )
    assert (vector_store.host, vector_store.port) == (chroma_server.host, str(chroma_server.port))
    index = VectorStoreIndex.from_documents(
        DOCS,
        storage_context=StorageContext.from_defaults(vector_store=vector_store),
        embed_model=llamaindex_embedding(),
    )
    hits = index.as_retriever(similarity_top_k=1).retrieve("purring cats")
    assert hits[0].node.ref_doc_id == "cats"
    server = chromadb.HttpClient(host=chroma_server.host, port=chroma_server.port)
    assert server.get_collection(collection_name).count() == len(DOCS)


def test_existing_positional_store_and_store_keyword(collection_name: str) -> None:
    store = ChromaStore(collection_name)
    assert LlamaIndexVectorStore(store).store is store
    assert LlamaIndexVectorStore(store=store).collection_name == collection_name


def test_bad_arguments_are_typed_errors(collection_name: str) -> None:
    with pytest.raises(InputError, match="'get_or_create'"):
        LlamaIndexVectorStore(
            collection_name=collection_name, collection_kwargs={"get_or_create": True}
        )
    with pytest.raises(InputError, match="port"):
        LlamaIndexVectorStore(collection_name=collection_name, host="localhost", port="http")
    with pytest.raises(ConfigError, match="chroma_collection="):
        LlamaIndexVectorStore()
    collection = chromadb.EphemeralClient().get_or_create_collection(collection_name)
    with pytest.raises(ConfigError, match="own client"):  # which Chroma would be ambiguous
        LlamaIndexVectorStore(chroma_collection=collection, path="/tmp/elsewhere")
