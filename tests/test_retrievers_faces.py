"""The LangChain and LlamaIndex faces: LangChain's standard retriever suite, invoke
kwargs, NodeWithScore sync/async, RetrieverQueryEngine with MockLLM; lazy imports."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from chromabridge.embedders import FakeEmbedder
from chromabridge.retrievers import HybridRetriever, VectorRetriever
from chromabridge.retrievers.langchain import LangChainRetriever
from chromabridge.retrievers.llamaindex import LlamaIndexRetriever
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore

TEXTS = [
    ("cats purr and sleep in the sun", "pet"),
    ("dogs bark and fetch the ball", "pet"),
    ("the zebra grazes on the savanna", "wild"),
    ("chroma stores embeddings", "db"),
    ("hybrid search fuses rankings", "db"),
]


def _store() -> ChromaStore:
    store = ChromaStore(f"face-{uuid.uuid4().hex[:10]}", embedder=FakeEmbedder())
    store.add(
        [
            Chunk.from_text(t, id=f"f{i}", metadata={"kind": kind, "source": f"s{i}.txt"})
            for i, (t, kind) in enumerate(TEXTS)
        ]
    )
    return store


class TestLangChainStandardHybrid(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[LangChainRetriever]:
        return LangChainRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"retriever": HybridRetriever(_store())}

    @property
    def retriever_query_example(self) -> str:
        return "cats and zebras"


class TestLangChainStandardVector(TestLangChainStandardHybrid):
    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"retriever": VectorRetriever(_store())}


def test_langchain_documents_and_filter_kwarg() -> None:
    lc = VectorRetriever(_store(), k=2).as_langchain()
    assert isinstance(lc, LangChainRetriever)
    docs = lc.invoke("zebra savanna", k=1)
    assert docs == [
        Document(
            id="f2",
            page_content="the zebra grazes on the savanna",
            metadata={"kind": "wild", "source": "s2.txt"},  # bookkeeping keys hidden
        )
    ]
    assert {d.id for d in lc.invoke("cats zebra", k=5, filter={"kind": "db"})} == {"f3", "f4"}
    with pytest.raises(TypeError):
        lc.invoke("cats", nonsense=1)


async def test_llamaindex_nodes_sync_and_async() -> None:
    from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters

    native = HybridRetriever(_store(), k=2)
    li = native.as_llamaindex()
    assert isinstance(li, LlamaIndexRetriever)
    nodes = li.retrieve("zebra savanna")
    assert nodes[0].node.node_id == "f2"
    assert nodes[0].node.get_content() == "the zebra grazes on the savanna"
    assert nodes[0].node.ref_doc_id == "f2"
    assert nodes[0].node.metadata == {"kind": "wild", "source": "s2.txt"}
    assert nodes[0].score == pytest.approx(native.retrieve("zebra savanna")[0].score)
    anodes = await li.aretrieve("zebra savanna")
    assert [n.node.node_id for n in anodes] == [n.node.node_id for n in nodes]
    filtered = LlamaIndexRetriever(
        native,
        similarity_top_k=5,
        filters=MetadataFilters(filters=[MetadataFilter(key="kind", value="db")]),
    )
    assert {n.node.node_id for n in filtered.retrieve("cats")} == {"f3", "f4"}


def test_llamaindex_query_engine_with_mock_llm() -> None:
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    li = VectorRetriever(_store(), k=1).as_llamaindex()
    engine = RetrieverQueryEngine.from_args(li, llm=MockLLM(max_tokens=5))
    response = engine.query("where does the zebra graze?")
    assert [n.node.node_id for n in response.source_nodes] == ["f2"]
    assert str(response)


def test_package_import_loads_no_framework() -> None:
    code = (
        "import sys, chromabridge.retrievers as r; "
        "r.HybridRetriever; r.SentenceWindowRetriever; "
        "bad = [m for m in ('langchain_core', 'llama_index', 'cohere') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
