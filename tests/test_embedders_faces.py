"""The LangChain, LlamaIndex and Chroma faces, including LangChain's standard suites."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import chromadb
import pytest
import pytest_socket
from embedder_servers import FakeServer, fake_vector, openai_answer, serve, shared_local_embedder
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests
from llama_index.core.base.embeddings.base import BaseEmbedding

from chromabridge.embedders import OpenAIEmbedder, as_embedder
from chromabridge.embedders.chroma import ChromaEmbeddingFunction
from chromabridge.embedders.langchain import LangChainEmbeddings
from chromabridge.embedders.llamaindex import LlamaIndexEmbedding
from chromabridge.retry import RetryPolicy

KEY = "sk-faces-test-key-000000000"


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeServer]:
    with serve(openai_answer) as srv:
        yield srv


def loopback_openai(url: str) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        api_key=KEY, base_url=f"{url}/v1", dimensions=16, retry=RetryPolicy(base_delay=0.01)
    )


# -- LangChain standard suites ---------------------------------------------------------


class TestLocalLangChainUnit(EmbeddingsUnitTests):
    """Construction must not touch the network: sockets are off while these run."""

    @pytest.fixture(autouse=True)
    def _no_network(self) -> Iterator[None]:
        shared_local_embedder()  # loaded before sockets go (offline anyway)
        pytest_socket.disable_socket(allow_unix_socket=True)
        try:
            yield
        finally:
            pytest_socket.enable_socket()

    @property
    def embeddings_class(self) -> type[LangChainEmbeddings]:
        return LangChainEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": shared_local_embedder()}


class TestLocalLangChainIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[LangChainEmbeddings]:
        return LangChainEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": shared_local_embedder()}


class TestOpenAILangChainUnit(EmbeddingsUnitTests):
    url = "http://127.0.0.1:9"

    @pytest.fixture(autouse=True)
    def _no_network(self) -> Iterator[None]:
        pytest_socket.disable_socket(allow_unix_socket=True)
        try:
            yield
        finally:
            pytest_socket.enable_socket()

    @property
    def embeddings_class(self) -> type[LangChainEmbeddings]:
        return LangChainEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": loopback_openai(self.url)}


class TestOpenAILangChainIntegration(EmbeddingsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _server(self, openai_server: FakeServer) -> None:
        type(self).url = openai_server.url

    @property
    def embeddings_class(self) -> type[LangChainEmbeddings]:
        return LangChainEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": loopback_openai(type(self).url)}


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_sockets_really_are_off_in_the_unit_suites() -> None:
    pytest_socket.disable_socket(allow_unix_socket=True)
    try:
        with pytest.raises(pytest_socket.SocketBlockedError):
            loopback_openai("http://127.0.0.1:9").as_langchain().embed_query("x")
    finally:
        pytest_socket.enable_socket()


# -- unwrapping: every face hands the store the native embedder ------------------------


def test_faces_expose_and_unwrap_to_the_native_embedder(openai_server: FakeServer) -> None:
    native = loopback_openai(openai_server.url)
    for face in (native.as_langchain(), native.as_llamaindex(), native.as_chroma()):
        assert face.embedder is native
        assert as_embedder(face) is native
    assert LangChainEmbeddings(native.as_llamaindex()).embedder is native


# -- LlamaIndex ------------------------------------------------------------------------


async def test_llamaindex_face_batches_and_async(openai_server: FakeServer) -> None:
    openai_server.reset()
    face = loopback_openai(openai_server.url).as_llamaindex()
    assert isinstance(face, BaseEmbedding) and isinstance(face, LlamaIndexEmbedding)
    assert face.model_name == "openai:text-embedding-3-small@16"
    texts = [f"node {i}" for i in range(30)]
    vectors = face.get_text_embedding_batch(texts)
    assert len(openai_server.seen) == 1  # one request, not LlamaIndex's default 10 per batch
    assert vectors[29] == pytest.approx(fake_vector("node 29", 16))
    assert face.get_query_embedding("q") == pytest.approx(fake_vector("q", 16))
    assert face.get_text_embedding("t") == pytest.approx(fake_vector("t", 16))
    avectors = await face.aget_text_embedding_batch(texts)
    assert avectors == vectors
    assert await face.aget_query_embedding("q") == pytest.approx(fake_vector("q", 16))


def test_llamaindex_face_uses_query_path_for_queries() -> None:
    local = shared_local_embedder()
    prompted = type(local).__new__(type(local))
    prompted.__dict__.update(local.__dict__)
    prompted.query_prompt = "query: "
    face = prompted.as_llamaindex()
    assert face.get_query_embedding("cats") == pytest.approx(
        local.embed_query("query: cats"), abs=1e-5
    )
    assert face.get_text_embedding("cats") == pytest.approx(
        local.embed_documents(["cats"])[0], abs=1e-5
    )


# -- Chroma ----------------------------------------------------------------------------


def _use_collection(client: Any, name: str) -> None:
    ef = shared_local_embedder().as_chroma()
    collection = client.create_collection(
        name, embedding_function=ef, metadata={"hnsw:space": "cosine"}
    )
    collection.add(
        ids=["cat", "stocks", "pasta"],
        documents=[
            "The cat sleeps on the sofa.",
            "Stock markets rallied today.",
            "Boil pasta in salted water.",
        ],
    )
    hits = collection.query(query_texts=["where does the kitty nap?"], n_results=1)
    assert hits["ids"] == [["cat"]]
    stored = collection.get(ids=["pasta"], include=["embeddings"])
    assert len(stored["embeddings"][0]) == 384
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        plain = client.get_collection(name)  # a stock reader without our EF still opens it
    assert plain.count() == 3


def test_chroma_face_in_an_in_memory_collection(collection_name: str) -> None:
    _use_collection(chromadb.EphemeralClient(), collection_name)


@pytest.mark.server
def test_chroma_face_against_a_chroma_server(chroma_server: Any, collection_name: str) -> None:
    client = chromadb.HttpClient(host=chroma_server.host, port=chroma_server.port)
    _use_collection(client, collection_name)


def test_chroma_face_wraps_foreign_embedders_too() -> None:
    ef = ChromaEmbeddingFunction(LangChainEmbeddings(shared_local_embedder()))
    assert ef.embedder is shared_local_embedder()
    assert len(ef(["a", "b"])) == 2
    assert len(ef.embed_query(["q"])[0]) == 384
