"""The LangChain and LlamaIndex faces of the chunkers: thin, and faithful to each framework."""

from __future__ import annotations

import subprocess
import sys

from langchain_core.documents import Document as LCDocument
from langchain_text_splitters import RecursiveCharacterTextSplitter, TextSplitter
from llama_index.core import Document as LIDocument
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import NodeRelationship, TextNode

from chromabridge.chunkers import RecursiveChunker, SentenceWindowChunker
from chromabridge.chunkers.langchain import LangChainTextSplitter
from chromabridge.chunkers.llamaindex import LlamaIndexNodeParser

TEXT = (
    "Chroma stores vectors. It runs embedded or as a server.\n\n"
    "LangChain wraps it. LlamaIndex wraps it too. Yes.\n\n"
    "Chunkers cut documents into pieces small enough to embed. Yes."
)


def test_importing_chunkers_imports_no_framework() -> None:
    code = (
        "import sys, chromabridge.chunkers as c; c.RecursiveChunker(10, 0).split_text('a b');"
        "bad = [m for m in sys.modules if m.startswith(('langchain', 'llama_index'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- LangChain ---------------------------------------------------------------------------


def test_langchain_face_is_a_text_splitter_matching_langchain() -> None:
    splitter = RecursiveChunker(40, 10).as_langchain()
    stock = RecursiveCharacterTextSplitter(chunk_size=40, chunk_overlap=10)
    assert isinstance(splitter, TextSplitter)
    assert splitter.split_text(TEXT) == stock.split_text(TEXT)
    docs = [LCDocument(page_content=TEXT, metadata={"source": "a.txt"})]
    assert splitter.split_documents(docs) == stock.split_documents(docs)
    assert list(splitter.transform_documents(docs)) == list(stock.transform_documents(docs))
    assert splitter.create_documents([TEXT, "tiny"], [{"i": 0}, {"i": 1}]) == (
        stock.create_documents([TEXT, "tiny"], [{"i": 0}, {"i": 1}])
    )


def test_langchain_drop_in_constructor_and_exact_start_index() -> None:
    text = "Yes. " * 30
    splitter = LangChainTextSplitter(chunk_size=12, chunk_overlap=6, add_start_index=True)
    docs = splitter.create_documents([text])
    assert len(docs) > 5
    for doc in docs:
        start = doc.metadata["start_index"]
        assert text[start : start + len(doc.page_content)] == doc.page_content
    assert [d.metadata["start_index"] for d in docs] == sorted(
        {d.metadata["start_index"] for d in docs}
    )


def test_langchain_face_carries_sentence_windows() -> None:
    docs = (
        SentenceWindowChunker(window_size=1)
        .as_langchain()
        .split_documents([LCDocument(page_content=TEXT, metadata={"source": "a.txt"})])
    )
    assert docs[1].page_content == "It runs embedded or as a server."
    assert docs[1].metadata == {
        "source": "a.txt",
        "window": "Chroma stores vectors. It runs embedded or as a server. LangChain wraps it.",
        "original_text": "It runs embedded or as a server.",
    }


# --- LlamaIndex --------------------------------------------------------------------------


def test_llamaindex_face_nodes_have_ref_doc_prev_next_and_offsets() -> None:
    parser = RecursiveChunker(60, 0).as_llamaindex()
    assert isinstance(parser, NodeParser) and isinstance(parser, LlamaIndexNodeParser)
    doc = LIDocument(text=TEXT, id_="doc-1", metadata={"author": "me"})
    nodes = parser.get_nodes_from_documents([doc])
    assert [n.get_content() for n in nodes] == RecursiveChunker(60, 0).split_text(TEXT)
    assert all(isinstance(n, TextNode) for n in nodes)
    for i, node in enumerate(nodes):
        assert node.ref_doc_id == "doc-1"
        assert node.metadata == {"author": "me"}
        assert TEXT[node.start_char_idx : node.end_char_idx] == node.text  # type: ignore[union-attr]
        prev = node.relationships.get(NodeRelationship.PREVIOUS)
        nxt = node.relationships.get(NodeRelationship.NEXT)
        assert (prev.node_id if prev else None) == (nodes[i - 1].node_id if i else None)  # type: ignore[union-attr]
        assert (nxt.node_id if nxt else None) == (  # type: ignore[union-attr]
            nodes[i + 1].node_id if i + 1 < len(nodes) else None
        )
    again = parser.get_nodes_from_documents([doc])
    assert [n.node_id for n in again] == [n.node_id for n in nodes]  # deterministic ids


def test_llamaindex_offsets_are_exact_for_repeated_sentences() -> None:
    nodes = (
        SentenceWindowChunker()
        .as_llamaindex()
        .get_nodes_from_documents([LIDocument(text=TEXT, id_="d")])
    )
    yes = [n for n in nodes if n.text == "Yes."]  # type: ignore[attr-defined]
    assert len(yes) == 2
    for node in nodes:
        assert TEXT[node.start_char_idx : node.end_char_idx] == node.text  # type: ignore[attr-defined]


def test_llamaindex_face_runs_in_an_ingestion_pipeline() -> None:
    pipeline = IngestionPipeline(transformations=[SentenceWindowChunker(2).as_llamaindex()])
    nodes = pipeline.run(
        documents=[LIDocument(text=TEXT, id_="a"), LIDocument(text="One. Two.", id_="b")]
    )
    assert [n.ref_doc_id for n in nodes].count("b") == 2
    first_b = next(n for n in nodes if n.ref_doc_id == "b")
    assert NodeRelationship.PREVIOUS not in first_b.relationships  # no link across documents
    assert first_b.metadata["window"] == "One. Two."
    assert "window" in first_b.excluded_embed_metadata_keys


def test_llamaindex_face_splits_nodes_as_well_as_documents() -> None:
    parent = TextNode(text=TEXT, id_="parent", metadata={"k": 1})
    nodes = RecursiveChunker(60, 0).as_llamaindex().get_nodes_from_documents([parent])  # type: ignore[list-item]
    assert len(nodes) > 1
    assert all(n.source_node and n.source_node.node_id == "parent" for n in nodes)
    assert all(n.metadata["k"] == 1 for n in nodes)


def test_llamaindex_cache_key_follows_chunker_parameters() -> None:
    small, large = RecursiveChunker(100, 10).as_llamaindex(), RecursiveChunker(200, 10)
    assert small.to_dict() != large.as_llamaindex().to_dict()
    assert small.to_dict() == RecursiveChunker(100, 10).as_llamaindex().to_dict()
    pipeline = IngestionPipeline(transformations=[small])
    doc = LIDocument(text=TEXT * 5, id_="d")
    assert len(pipeline.run(documents=[doc])) == len(RecursiveChunker(100, 10).split_text(doc.text))
