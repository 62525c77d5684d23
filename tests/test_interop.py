"""Interop promise (docs/design.md §3), tested both ways against the stock packages:
collections written by chromabridge read correctly in stock `langchain_chroma.Chroma`
and stock LlamaIndex `ChromaVectorStore`, and theirs open in ours."""

from __future__ import annotations

import chromadb
import pytest
from langchain_chroma import Chroma
from langchain_core.documents import Document as LCDocument
from llama_index.core import Document as LIDocument
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.vector_stores.chroma import ChromaVectorStore
from store_support import langchain_embeddings, llamaindex_embedding

from chromabridge import Chunk
from chromabridge.embedders import FakeEmbedder
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.langchain import LangChainVectorStore
from chromabridge.vectorstores.llamaindex import LlamaIndexVectorStore

TEXT_A = "Cats purr and sleep in the sun. They like warm windows. Cats chase mice at night."
TEXT_B = "Dogs bark at strangers. Dogs fetch sticks and balls. A dog guards the house."


@pytest.fixture
def client() -> chromadb.ClientAPI:
    return chromadb.EphemeralClient()


def our_chunks() -> list[Chunk]:
    chunks = []
    for doc_id, text in (("doc-a", TEXT_A), ("doc-b", TEXT_B)):
        for i, sentence in enumerate(s for s in text.split(". ") if s):
            start = text.index(sentence)
            chunks.append(
                Chunk(
                    id=f"{doc_id}#{i}",
                    doc_id=doc_id,
                    text=sentence,
                    metadata={"source": f"{doc_id}.txt", "lang": "en", "page": i},
                    index=i,
                    start=start,
                    end=start + len(sentence),
                )
            )
    return chunks


def test_ours_read_by_stock_langchain(client: chromadb.ClientAPI, collection_name: str) -> None:
    ours = LangChainVectorStore(
        collection_name, embedding_function=langchain_embeddings(), client=client
    )
    ours.add_documents(
        [LCDocument(page_content=TEXT_A, metadata={"source": "a.txt", "tags": {"x": 1}})], ids=["a"]
    )
    stock = Chroma(
        collection_name=collection_name, client=client, embedding_function=langchain_embeddings()
    )
    [doc] = stock.similarity_search("cats sleep", k=1)
    assert doc.page_content == TEXT_A and doc.id == "a"
    assert doc.metadata["source"] == "a.txt" and doc.metadata["tags.x"] == 1
    assert stock.get_by_ids(["a"])[0].page_content == TEXT_A


def test_ours_read_by_stock_llamaindex(client: chromadb.ClientAPI, collection_name: str) -> None:
    store = ChromaStore(collection_name, client=client, embedder=FakeEmbedder())
    chunks = our_chunks()
    store.add(chunks)
    stock = ChromaVectorStore(chroma_collection=client.get_collection(collection_name))
    result = stock.query(
        VectorStoreQuery(
            query_embedding=FakeEmbedder().embed_query("Dogs bark at strangers"), similarity_top_k=1
        )
    )
    [node] = result.nodes or []
    assert node.node_id == "doc-b#0"
    assert node.get_content() == "Dogs bark at strangers"
    assert node.ref_doc_id == "doc-b"
    assert node.metadata["source"] == "doc-b.txt" and node.metadata["lang"] == "en"
    # stock delete by ref_doc_id removes every chunk of that document, and only those
    stock.delete("doc-b")
    assert {c.doc_id for c in store.get()} == {"doc-a"}
    assert store.count() == sum(1 for c in chunks if c.doc_id == "doc-a")


def test_ours_via_llamaindex_read_by_stock_index(
    client: chromadb.ClientAPI, collection_name: str
) -> None:
    ours = LlamaIndexVectorStore(ChromaStore(collection_name, client=client))
    VectorStoreIndex.from_documents(
        [LIDocument(text=TEXT_A, doc_id="cats", metadata={"kind": "pet"})],
        storage_context=StorageContext.from_defaults(vector_store=ours),
        embed_model=llamaindex_embedding(),
        transformations=[SentenceSplitter(chunk_size=20, chunk_overlap=0)],
    )
    stock = ChromaVectorStore(chroma_collection=client.get_collection(collection_name))
    index = VectorStoreIndex.from_vector_store(stock, embed_model=llamaindex_embedding())
    nodes = index.as_retriever(similarity_top_k=2).retrieve("mice at night")
    assert nodes and all(n.node.ref_doc_id == "cats" for n in nodes)
    assert all(n.node.metadata.get("kind") == "pet" for n in nodes)
    assert any("mice" in n.node.get_content() for n in nodes)


def test_stock_langchain_collection_opens_in_ours(
    client: chromadb.ClientAPI, collection_name: str
) -> None:
    stock = Chroma(
        collection_name=collection_name, client=client, embedding_function=langchain_embeddings()
    )
    stock.add_documents(
        [
            LCDocument(page_content="cats purr", metadata={"kind": "pet"}),
            LCDocument(page_content="chroma stores vectors", metadata={"kind": "db"}),
        ],
        ids=["c", "d"],
    )
    ours = LangChainVectorStore(
        collection_name, embedding_function=langchain_embeddings(), client=client
    )
    [doc] = ours.similarity_search("cats", k=1, filter={"kind": "pet"})
    assert doc == LCDocument(id="c", page_content="cats purr", metadata={"kind": "pet"})
    nodes = LlamaIndexVectorStore(ours.store).get_nodes(["d"])
    assert nodes[0].get_content() == "chroma stores vectors" and nodes[0].metadata == {"kind": "db"}


def test_stock_llamaindex_collection_opens_in_ours(
    client: chromadb.ClientAPI, collection_name: str
) -> None:
    collection = client.get_or_create_collection(collection_name)
    stock = ChromaVectorStore(chroma_collection=collection)
    stock_nodes = SentenceSplitter(chunk_size=20, chunk_overlap=0).get_nodes_from_documents(
        [
            LIDocument(text=TEXT_A, doc_id="cats", metadata={"kind": "pet"}),
            LIDocument(text=TEXT_B, doc_id="dogs", metadata={"kind": "pet"}),
        ]
    )
    VectorStoreIndex(
        stock_nodes,
        storage_context=StorageContext.from_defaults(vector_store=stock),
        embed_model=llamaindex_embedding(),
    )
    ours = LlamaIndexVectorStore(ChromaStore(collection_name, client=client))
    read = {n.node_id: n for n in ours.get_nodes()}
    assert set(read) == {n.node_id for n in stock_nodes}
    for original in stock_nodes:
        got = read[original.node_id]
        assert got.get_content() == original.get_content()
        assert got.metadata == {"kind": "pet"}  # _node_content / _node_type hidden
        assert got.ref_doc_id == original.ref_doc_id
        assert (got.start_char_idx, got.end_char_idx) == (
            original.start_char_idx,
            original.end_char_idx,
        )
    ours.delete("cats")
    assert {n.ref_doc_id for n in ours.get_nodes()} == {"dogs"}


def test_one_collection_serves_both_frameworks(tmp_path: object, collection_name: str) -> None:
    store = ChromaStore(collection_name, path=tmp_path, embedder=FakeEmbedder())  # type: ignore[arg-type]
    store.add(our_chunks())

    retriever = store.as_langchain(langchain_embeddings()).as_retriever(search_kwargs={"k": 1})
    [lc_doc] = retriever.invoke("dogs fetch sticks and balls")
    assert lc_doc.id == "doc-b#1" and lc_doc.metadata["source"] == "doc-b.txt"

    index = VectorStoreIndex.from_vector_store(
        store.as_llamaindex(), embed_model=llamaindex_embedding()
    )
    response = index.as_query_engine(llm=MockLLM(), similarity_top_k=1).query(
        "dogs fetch sticks and balls"
    )
    [source] = response.source_nodes
    assert source.node.node_id == lc_doc.id and source.node.ref_doc_id == "doc-b"
    assert source.node.get_content() == lc_doc.page_content
