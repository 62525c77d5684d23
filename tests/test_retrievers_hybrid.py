"""HybridRetriever: real Hits, consistency with every write, other writers, filters,
persistence, on in-memory, directory and server stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
import pytest
from store_support import deployment

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ConfigError
from chromabridge.retrievers import HybridRetriever, LexicalIndex
from chromabridge.retrievers.lexical import default_index_path
from chromabridge.types import Chunk, Hit
from chromabridge.vectorstores import ChromaStore

TEXTS = {
    "c0": ("cats purr and sleep in the warm sun", "pet"),
    "c1": ("dogs bark and fetch the ball in the park", "pet"),
    "c2": ("the zebra grazes on the open savanna", "wild"),
    "c3": ("chroma stores embeddings for retrieval", "db"),
    "c4": ("hybrid search fuses lexical and dense rankings", "db"),
    "c5": ("a lion hunts a zebra at dawn", "wild"),
}


def _chunks(items: dict[str, tuple[str, str]]) -> list[Chunk]:
    return [
        Chunk.from_text(
            text, id=cid, doc_id=f"doc-{cid}", metadata={"kind": kind, "n": int(cid[1:])}
        )
        for cid, (text, kind) in items.items()
    ]


def _store(mode: str, server: Any, tmp_path: Path, name: str) -> ChromaStore:
    return ChromaStore(name, embedder=FakeEmbedder(), **deployment(mode, server, tmp_path))


def _ids(hits: list[Hit]) -> list[str]:
    return [h.chunk.id for h in hits]


def _assert_current(store: ChromaStore, hits: list[Hit]) -> None:
    """Every hit is a real, current record: same text and metadata as Chroma holds."""
    stored = {c.id: c for c in store.get(_ids(hits))}
    assert set(_ids(hits)) <= set(stored)
    for hit in hits:
        assert hit.chunk == stored[hit.chunk.id]


@pytest.fixture(params=["memory", "persistent", "server"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(request: pytest.FixtureRequest, mode: str) -> Any:
    return request.getfixturevalue("chroma_server") if mode == "server" else None


def test_consistent_with_adds_deletes_and_replacements(
    mode: str, server: Any, tmp_path: Path, collection_name: str
) -> None:
    store = _store(mode, server, tmp_path, collection_name)
    store.add(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=2)
    hits = hybrid.retrieve("zebra savanna")
    assert _ids(hits)[0] == "c2"
    assert hits[0].chunk.text == TEXTS["c2"][0] and hits[0].chunk.metadata["kind"] == "wild"
    assert hits[0].chunk.doc_id == "doc-c2"
    _assert_current(store, hits)

    store.add(_chunks({"c6": ("a quokka smiles on rottnest island", "wild")}))
    assert _ids(hybrid.retrieve("quokka island", k=1)) == ["c6"]

    store.delete(["c2"])
    everything = hybrid.retrieve("zebra savanna", k=10)
    assert "c2" not in _ids(everything)
    assert "c2" not in dict(hybrid.lexical.search("zebra savanna", 10))

    store.add(_chunks({"c5": ("a penguin waddles on the ice", "wild")}))  # replace in place
    assert "c5" not in dict(hybrid.lexical.search("zebra lion", 10))
    top = hybrid.retrieve("penguin ice", k=1)
    assert _ids(top) == ["c5"] and top[0].chunk.text == "a penguin waddles on the ice"
    _assert_current(store, hybrid.retrieve("zebra lion penguin", k=10))

    store.delete(doc_id="doc-c6")  # a delete known only as a filter
    assert "c6" not in _ids(hybrid.retrieve("quokka island", k=10))
    store.clear()
    assert hybrid.retrieve("penguin") == []


def test_lexical_only_hits_are_read_back_with_metadata(collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    store.add(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=6, weights=(0.0, 1.0))  # lexical side only
    hits = hybrid.retrieve("zebra")
    assert set(_ids(hits)) == {"c2", "c5"}  # BM25 returns only matching chunks
    _assert_current(store, hits)
    assert all(h.distance is None for h in hits)
    assert hits[0].score > 0


def test_filters_apply_to_both_sides(collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    store.add(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=6, filter={"kind": "wild"})
    assert set(_ids(hybrid.retrieve("cats zebra chroma"))) == {"c2", "c5"}
    assert _ids(hybrid.retrieve("zebra", where={"n": {"$gte": 3}})) == ["c5"]  # ANDed
    lexical = HybridRetriever(store, k=6, weights=(0.0, 1.0))
    assert _ids(lexical.retrieve("zebra", where={"kind": "pet"})) == []
    doc_filtered = HybridRetriever(store, k=6, where_document={"$contains": "lion"})
    assert _ids(doc_filtered.retrieve("zebra")) == ["c5"]


def test_writes_by_another_store_object(tmp_path: Path, collection_name: str) -> None:
    store = _store("persistent", None, tmp_path, collection_name)
    store.add(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=3, check_interval=None)
    assert _ids(hybrid.retrieve("zebra savanna"))[0] == "c2"

    other = _store("persistent", None, tmp_path, collection_name)  # a second writer
    other.delete(["c2"])
    other.add(_chunks({"c7": ("an okapi hides in the rainforest", "wild")}))
    # Not refreshed yet: the deleted chunk is still never returned (hits are read back).
    assert "c2" not in _ids(hybrid.retrieve("zebra savanna", k=10))
    hybrid.refresh()
    assert _ids(hybrid.retrieve("okapi rainforest", k=1)) == ["c7"]
    assert "c2" not in hybrid.lexical.search("savanna", 5)

    other.add(_chunks({"c3": ("a narwhal surfaces in arctic water", "wild")}))  # in place
    hybrid.refresh()  # an id diff does not see same-id rewrites...
    assert dict(hybrid.lexical.search("narwhal", 5)) == {}
    hybrid.refresh(full=True)  # ...a full refresh compares text hashes
    assert list(dict(hybrid.lexical.search("narwhal", 5))) == ["c3"]


def test_other_writers_noticed_by_count_check(tmp_path: Path, collection_name: str) -> None:
    store = _store("persistent", None, tmp_path, collection_name)
    store.add(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=1, check_interval=0.0)
    hybrid.retrieve("zebra")
    _store("persistent", None, tmp_path, collection_name).add(
        _chunks({"c8": ("a wombat digs a burrow", "wild")})
    )
    assert _ids(hybrid.retrieve("wombat burrow")) == ["c8"]


def test_index_persists_next_to_the_directory(
    tmp_path: Path, collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store("persistent", None, tmp_path, collection_name)
    store.add(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=1)
    hybrid.retrieve("zebra")
    hybrid.close()
    path = default_index_path(store)
    assert path == (tmp_path / "chroma.bm25" / f"{collection_name}.npz").resolve()
    assert path.exists()
    _store("persistent", None, tmp_path, collection_name).delete(["c2"])  # while closed

    def no_rebuild(self: LexicalIndex) -> None:
        raise AssertionError("the saved index should have been loaded")

    monkeypatch.setattr(LexicalIndex, "rebuild", no_rebuild)
    reopened = HybridRetriever(_store("persistent", None, tmp_path, collection_name), k=2)
    assert _ids(reopened.retrieve("zebra"))[0] == "c5"
    assert "c2" not in dict(reopened.lexical.search("zebra", 5))


def test_no_index_file_for_memory_store(collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    assert default_index_path(store) is None
    assert HybridRetriever(store).lexical.path is None


async def test_async_matches_sync(chroma_server: Any, tmp_path: Path, collection_name: str) -> None:
    store = _store("server", chroma_server, tmp_path, collection_name)
    await store.aadd(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=3)
    assert await hybrid.aretrieve("zebra lion", where={"kind": "wild"}) == hybrid.retrieve(
        "zebra lion", where={"kind": "wild"}
    )


def test_bad_arguments(collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    with pytest.raises(ConfigError):
        HybridRetriever(store, weights=(1.0,))
    with pytest.raises(ConfigError):
        HybridRetriever(store, candidates=0)
    with pytest.raises(ConfigError):
        HybridRetriever(store).retrieve("x", k=0)
    other = ChromaStore(collection_name + "x", embedder=FakeEmbedder())
    with pytest.raises(ConfigError):
        HybridRetriever(store, lexical=LexicalIndex(other))


def test_selective_filter_is_exact(collection_name: str) -> None:
    from chromabridge.vectorstores import to_chroma_filter

    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    common = [
        Chunk.from_text(f"common word {i}", id=f"p{i}", metadata={"kind": "bulk"})
        for i in range(1100)
    ]
    rare = Chunk.from_text(
        "common " + "padding " * 40, id="rare", metadata={"kind": "rare"}
    )  # long, so it ranks last for "common"
    store.add([*common, rare])
    lexical = LexicalIndex(store)
    assert lexical.search("common", 1101)[-1][0] == "rare"
    flt = to_chroma_filter({"kind": "rare"})
    assert [i for i, _ in lexical.search("common", 5, flt)] == ["rare"]
    bulk = to_chroma_filter({"kind": "bulk"})
    assert len(lexical.search("common", 5, bulk)) == 5


def test_damaged_index_file_is_rebuilt(tmp_path: Path, collection_name: str) -> None:
    store = _store("persistent", None, tmp_path, collection_name)
    store.add(_chunks(TEXTS))
    path = default_index_path(store)
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an index")
    assert _ids(HybridRetriever(store, k=1, weights=(0.0, 1.0)).retrieve("savanna")) == ["c2"]
    assert path.stat().st_size > 100  # rewritten by the rebuild


@pytest.mark.server
async def test_a_store_with_only_an_async_client_works_end_to_end(
    chroma_server: Any, collection_name: str
) -> None:
    """Index built, searched and kept current through the async client alone."""
    client = await chromadb.AsyncHttpClient(host=chroma_server.host, port=chroma_server.port)
    store = ChromaStore(collection_name, client=client, embedder=FakeEmbedder())
    await store.aadd(_chunks(TEXTS))
    hybrid = HybridRetriever(store, k=2)
    assert set(_ids(await hybrid.aretrieve("zebra lion", where={"kind": "wild"}))) == {"c2", "c5"}
    lexical = HybridRetriever(store, k=1, weights=(0.0, 1.0), lexical=hybrid.lexical)
    assert _ids(await lexical.aretrieve("savanna")) == ["c2"]

    await store.aadd(_chunks({"c6": ("a giraffe crosses the savanna at noon", "wild")}))
    await store.adelete(["c2"])
    assert _ids(await lexical.aretrieve("savanna")) == ["c6"]

    other = ChromaStore(  # another writer, unseen by the change feed
        collection_name, host=chroma_server.host, port=chroma_server.port, embedder=FakeEmbedder()
    )
    other.add(_chunks({"c7": ("savanna savanna savanna grass", "wild")}))
    await lexical.arefresh()
    assert _ids(await lexical.aretrieve("savanna")) == ["c7"]
    with pytest.raises(ConfigError, match="only an async client"):
        hybrid.retrieve("zebra")
