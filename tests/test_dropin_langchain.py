"""`LangChainVectorStore` against stock `langchain_chroma.Chroma`, method by method and
argument by argument: the same calls on both, the same shapes and meanings back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings
from chromadb.errors import NotFoundError
from langchain_chroma import Chroma
from langchain_core.documents import Document
from store_support import langchain_embeddings

from chromabridge.errors import ConfigError, InputError, StoreError
from chromabridge.vectorstores.base import configuration
from chromabridge.vectorstores.langchain import LangChainVectorStore

TEXTS = [
    "cats purr and sleep in the sun",
    "dogs bark and fetch the ball",
    "cats and dogs are pets",
    "chroma stores embeddings",
    "the sun is a star",
]
METAS = [{"kind": "pet", "n": i} if i < 3 else {"kind": "other", "n": i} for i in range(5)]
IDS = [f"d{i}" for i in range(5)]
Factory = Callable[..., Any]


@pytest.fixture
def client() -> chromadb.ClientAPI:
    return chromadb.EphemeralClient()


@pytest.fixture(params=["stock", "ours"])
def make(request: pytest.FixtureRequest, client: chromadb.ClientAPI, collection_name: str) -> Any:
    """Build the stock or our class with the same arguments, on a fresh collection."""
    cls = Chroma if request.param == "stock" else LangChainVectorStore

    def build(**kwargs: Any) -> Any:
        kwargs.setdefault("collection_name", collection_name)
        kwargs.setdefault("embedding_function", langchain_embeddings())
        if not any(k in kwargs for k in ("persist_directory", "client_settings", "host")):
            kwargs.setdefault("client", client)
        return cls(**kwargs)

    return build


def both(client: chromadb.ClientAPI, name: str, **kwargs: Any) -> tuple[Any, Any]:
    """A stock store and ours, each on its own collection, holding the same records."""
    stores = []
    for cls, suffix in ((Chroma, "-stock"), (LangChainVectorStore, "-ours")):
        store = cls(
            collection_name=name + suffix,
            embedding_function=langchain_embeddings(),
            client=client,
            **kwargs,
        )
        store.add_texts(TEXTS, METAS, IDS)
        stores.append(store)
    return stores[0], stores[1]


def test_get_returns_chromas_dict_honours_include_and_pages(
    client: chromadb.ClientAPI, collection_name: str
) -> None:
    stock, ours = both(client, collection_name)
    plain_stock, plain_ours = stock.get(), ours.get()
    assert plain_ours.keys() == plain_stock.keys()
    assert plain_ours["included"] == plain_stock["included"]
    for key in ("ids", "documents", "metadatas", "embeddings"):
        assert plain_ours[key] == plain_stock[key], key  # user metadata only, no bookkeeping

    vectors_stock = stock.get(ids=["d3", "d1"], include=["embeddings"])
    vectors_ours = ours.get(ids=["d3", "d1"], include=["embeddings"])
    assert vectors_ours["documents"] is None and vectors_ours["metadatas"] is None
    assert sorted(vectors_ours["ids"]) == sorted(vectors_stock["ids"])
    by_id = dict(zip(vectors_stock["ids"], vectors_stock["embeddings"], strict=True))
    for record_id, vector in zip(vectors_ours["ids"], vectors_ours["embeddings"], strict=True):
        np.testing.assert_allclose(vector, by_id[record_id], atol=1e-6)

    pages = [ours.get(limit=2, offset=o)["ids"] for o in (0, 2, 4)]
    assert pages == [stock.get(limit=2, offset=o)["ids"] for o in (0, 2, 4)]
    assert sorted(i for page in pages for i in page) == IDS and [len(p) for p in pages] == [2, 2, 1]

    filtered = {"where": {"kind": "pet"}, "where_document": {"$contains": "cats"}}
    assert sorted(ours.get(**filtered)["ids"]) == sorted(stock.get(**filtered)["ids"])
    assert sorted(ours.get("d2")["ids"]) == ["d2"]


def test_update_documents_reembeds_text_and_replaces_metadata(
    client: chromadb.ClientAPI, collection_name: str
) -> None:
    embeddings = langchain_embeddings()
    new = Document(page_content="a bright comet crossed the sky", metadata={"kind": "sky"})
    results = []
    for store in both(client, collection_name):
        store.update_document("d0", new)
        store.update_documents(["d1"], [Document(page_content="owls hunt", metadata={"n": 9})])
        got = store.get(ids=["d0", "d1"], include=["documents", "metadatas", "embeddings"])
        record = dict(zip(got["ids"], zip(got["documents"], got["metadatas"], got["embeddings"])))
        assert record["d0"][0] == new.page_content
        np.testing.assert_allclose(
            record["d0"][2], embeddings.embed_query(new.page_content), atol=1e-6
        )
        assert store.similarity_search("comet sky", k=1)[0].id == "d0"
        results.append({k: (v[0], v[1]) for k, v in record.items()})
    assert results[0] == results[1]  # Chroma merges metadata keys on update, ours too


def test_update_documents_refuses_mismatched_lengths(make: Factory) -> None:
    store = make()
    store.add_texts(TEXTS, METAS, IDS)
    with pytest.raises(ValueError):  # stock: chromadb's ValueError; ours: InputError
        store.update_documents(["d0", "d1"], [Document(page_content="x")])
    assert store.get(ids=["d0"])["documents"] == [TEXTS[0]]  # nothing lost


def test_reset_collection_empties_and_keeps_the_store_usable(make: Factory) -> None:
    store = make(collection_metadata={"hnsw:space": "l2"})
    store.add_texts(TEXTS, METAS, IDS)
    store.reset_collection()
    assert store._collection.count() == 0
    assert configuration(store._collection)["hnsw"]["space"] == "l2"
    store.add_texts(["after the reset"], ids=["r"])
    assert [d.id for d in store.similarity_search("reset", k=1)] == ["r"]


def test_similarity_search_with_vectors(client: chromadb.ClientAPI, collection_name: str) -> None:
    stock, ours = both(client, collection_name)
    kwargs: dict[str, Any] = {"k": 3, "filter": {"kind": "pet"}}
    expected = stock.similarity_search_with_vectors("cats in the sun", **kwargs)
    found = ours.similarity_search_with_vectors("cats in the sun", **kwargs)
    assert [d.id for d, _ in found] == [d.id for d, _ in expected]
    assert [d.metadata for d, _ in found] == [d.metadata for d, _ in expected]
    for (_, vector), (_, stock_vector) in zip(found, expected, strict=True):
        assert isinstance(vector, np.ndarray) and vector.shape == stock_vector.shape
        np.testing.assert_allclose(vector, stock_vector, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Relevance scores must be between")  # stock warns
@pytest.mark.parametrize(
    "space_args",
    [
        {"collection_metadata": {"hnsw:space": "l2"}},
        {"collection_configuration": {"hnsw": {"space": "l2"}}},
        {"collection_configuration": {"hnsw": {"space": "ip", "ef_search": 50}}},
        {"collection_metadata": {"hnsw:space": "cosine"}},
    ],
    ids=["metadata-l2", "configuration-l2", "configuration-ip", "metadata-cosine"],
)
def test_distance_arguments_and_relevance_match_stock(
    client: chromadb.ClientAPI, collection_name: str, space_args: dict[str, Any]
) -> None:
    stock, ours = both(client, collection_name, **space_args)
    assert configuration(ours._collection)["hnsw"] == configuration(stock._collection)["hnsw"]
    query = "cats and the sun"
    pairs = [
        (
            ours.similarity_search_with_score(query, k=5),
            stock.similarity_search_with_score(query, k=5),
        ),
        (
            ours.similarity_search_with_relevance_scores(query, k=5),
            stock.similarity_search_with_relevance_scores(query, k=5),
        ),
        (
            ours.similarity_search_by_vector_with_relevance_scores(
                langchain_embeddings().embed_query(query), k=5
            ),
            stock.similarity_search_by_vector_with_relevance_scores(
                langchain_embeddings().embed_query(query), k=5
            ),
        ),
    ]
    # Ours clamps LangChain's relevance into [0, 1]; stock leaves it out of range and warns.
    pairs[1] = (pairs[1][0], [(d, min(1.0, max(0.0, s))) for d, s in pairs[1][1]])
    for found, expected in pairs:
        assert [d.id for d, _ in found] == [d.id for d, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_relevance_score_fn_is_used(make: Factory) -> None:
    store = make(relevance_score_fn=lambda distance: 10.0 - distance)
    store.add_texts(TEXTS, METAS, IDS)
    scored = store.similarity_search_with_score("dogs fetch", k=3)
    with pytest.warns(UserWarning, match="between 0 and 1"):  # LangChain's own check
        relevant = store.similarity_search_with_relevance_scores("dogs fetch", k=3)
    assert [s for _, s in relevant] == pytest.approx([10.0 - d for _, d in scored], abs=1e-6)


def test_create_collection_if_not_exists_false(
    make: Factory, client: chromadb.ClientAPI, collection_name: str
) -> None:
    with pytest.raises((NotFoundError, ConfigError)) as caught:
        make(create_collection_if_not_exists=False)
    assert "does not exist" in str(caught.value)
    assert collection_name not in [c.name for c in client.list_collections()]
    client.create_collection(collection_name)
    assert make(create_collection_if_not_exists=False)._collection.count() == 0


def test_private_aliases_work_for_existing_code(make: Factory, client: chromadb.ClientAPI) -> None:
    store = make()
    store.add_texts(TEXTS, METAS, IDS)
    assert store._collection.count() == len(TEXTS)
    assert store._collection.name == store._client.get_collection(store._collection.name).name
    assert isinstance(store._client, chromadb.api.ClientAPI)


def test_private_aliases_are_read_only(collection_name: str) -> None:
    store = LangChainVectorStore(collection_name, langchain_embeddings())
    with pytest.raises(AttributeError):
        store._collection = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        store._client = None  # type: ignore[misc]


def test_fork_and_hybrid_search_give_chromas_own_error_off_cloud(make: Factory) -> None:
    from chromadb import Knn, Search

    store = make()
    store.add_texts(TEXTS, METAS, IDS)
    for call, message in (
        (lambda: store.fork("forked-copy"), "forking is not implemented for Local Chroma"),
        (
            lambda: store.hybrid_search(Search().rank(Knn(query=[0.1] * 64)).limit(2)),
            "Search is not implemented for Local Chroma",
        ),
    ):
        with pytest.raises((NotImplementedError, StoreError), match=message):
            call()


def test_client_settings_choose_the_client(tmp_path: Path, make: Factory) -> None:
    settings = Settings(is_persistent=True, persist_directory=str(tmp_path), allow_reset=True)
    store = make(client_settings=settings)
    store.add_texts(TEXTS, METAS, IDS)
    assert store._client.get_settings().allow_reset is True
    name = store._collection.name
    reader = chromadb.PersistentClient(path=str(tmp_path), settings=settings)
    assert reader.get_collection(name).count() == 5


def test_positional_constructor_and_from_documents(tmp_path: Path, collection_name: str) -> None:
    embeddings = langchain_embeddings()
    docs = [Document(page_content=t, metadata=m, id=i) for t, m, i in zip(TEXTS, METAS, IDS)]
    for cls, suffix in ((Chroma, "s"), (LangChainVectorStore, "o")):
        directory = str(tmp_path / suffix)
        cls.from_documents(
            docs, embeddings, collection_name=collection_name, persist_directory=directory
        )
        reopened = cls(collection_name, embeddings, directory)  # Chroma(name, emb, dir)
        assert sorted(reopened.get()["ids"]) == IDS
        assert reopened.similarity_search("dogs", k=1)[0].metadata == METAS[1]


def test_bad_constructor_input_is_a_typed_error(collection_name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="choose one deployment"):
        LangChainVectorStore(collection_name, persist_directory=str(tmp_path), host="localhost")
    with pytest.raises(ConfigError, match="space"):
        LangChainVectorStore(collection_name, collection_configuration={"hnsw": {"space": "dot"}})
    with pytest.raises(InputError):
        LangChainVectorStore(collection_name).update_documents(["a"], [])


def test_cloud_api_key_is_used_and_never_shown(collection_name: str) -> None:
    secret = "ck-drop-in-secret-123"
    with pytest.raises(StoreError) as caught:
        LangChainVectorStore(
            collection_name,
            chroma_cloud_api_key=secret,
            tenant="t",
            database="d",
        )
    assert "Chroma Cloud" in str(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value.__cause__)


@pytest.mark.server
def test_host_port_headers_tenant_database_on_a_server(
    chroma_server: Any, collection_name: str
) -> None:
    args = {
        "host": chroma_server.host,
        "port": chroma_server.port,
        "ssl": False,
        "headers": {"X-Test": "1"},
        "tenant": "default_tenant",
        "database": "default_database",
    }
    ours = LangChainVectorStore(collection_name, langchain_embeddings(), **args)
    ours.add_texts(TEXTS, METAS, IDS)
    stock = Chroma(collection_name, langchain_embeddings(), **args)
    assert sorted(stock.get()["ids"]) == IDS
    assert stock.similarity_search("dogs", k=1)[0].id == ours.similarity_search("dogs", k=1)[0].id
