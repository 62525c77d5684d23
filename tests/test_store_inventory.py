"""The store methods callers used to work around through `store.collection`: ids by
filter, the per-document inventory, batched deletes by document, the persist directory,
the collection's metadata and id; in-memory, on a directory and on `chroma run`, blocking
and async."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import chromadb
import pytest
import store_support
from store_support import call

from chromabridge import Chunk
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ConfigError
from chromabridge.types import EMBEDDER_KEY
from chromabridge.vectorstores import ChromaStore, DocumentInfo

# The deployment and sync/async fixtures the store suites share.
mode, flavour, make_store = store_support.mode, store_support.flavour, store_support.make_store


def chunks() -> list[Chunk]:
    """Document a: 3 chunks, b: 2, c: 1 (no source)."""
    out = []
    for doc, n, source in (("a", 3, "/docs/a.txt"), ("b", 2, "/docs/b.md"), ("c", 1, None)):
        for i in range(n):
            meta: dict[str, Any] = {"topic": doc}
            if source:
                meta["source"] = source
            out.append(
                Chunk.from_text(
                    f"{doc} part {i} about {doc}", doc_id=doc, id=f"{doc}{i}", metadata=meta
                )
            )
    return out


async def test_ids_by_filter(make_store: Callable[..., ChromaStore], flavour: str) -> None:
    store = make_store()
    store.add(chunks())
    assert sorted(await call(flavour, store, "ids")) == ["a0", "a1", "a2", "b0", "b1", "c0"]
    assert sorted(await call(flavour, store, "ids", where={"topic": "b"})) == ["b0", "b1"]
    found = await call(flavour, store, "ids", where={"topic": {"$in": ["a", "c"]}})
    assert sorted(found) == ["a0", "a1", "a2", "c0"]
    by_text = await call(flavour, store, "ids", where_document={"$contains": "part 1"})
    assert sorted(by_text) == ["a1", "b1"]
    assert await call(flavour, store, "ids", where={"topic": "none"}) == []


async def test_documents_inventory(make_store: Callable[..., ChromaStore], flavour: str) -> None:
    store = make_store()
    store.add(chunks())
    expected = {
        "a": DocumentInfo("/docs/a.txt", 3),
        "b": DocumentInfo("/docs/b.md", 2),
        "c": DocumentInfo(None, 1),
    }
    assert await call(flavour, store, "documents") == expected
    # pages smaller than a document still count every chunk once
    assert await call(flavour, store, "documents", page_size=2) == expected
    only = await call(flavour, store, "documents", where={"topic": {"$ne": "a"}})
    assert only == {"b": expected["b"], "c": expected["c"]}
    with pytest.raises(ConfigError, match="page_size"):
        await call(flavour, store, "documents", page_size=0)


async def test_delete_of_many_documents_is_batched(
    make_store: Callable[..., ChromaStore], flavour: str
) -> None:
    store = make_store()
    many = [Chunk.from_text(f"text {n}", doc_id=f"d{n}", id=f"d{n}-0") for n in range(250)]
    store.add([*many, *chunks()])
    doomed = [f"d{n}" for n in range(250)] + ["never-stored"]  # more than one Chroma call
    await call(flavour, store, "delete", doc_id=doomed)
    assert sorted(store.ids()) == ["a0", "a1", "a2", "b0", "b1", "c0"]
    # doc ids and a filter together: only the matching chunks of those documents
    await call(flavour, store, "delete", doc_id=["a", "b"], where={"topic": "a"})
    assert sorted(store.ids()) == ["b0", "b1", "c0"]


async def test_arecords_is_records(make_store: Callable[..., ChromaStore]) -> None:
    store = make_store()
    store.add(chunks())
    sync = store.records(["b1", "a0"], include=["documents"])
    got = await store.arecords(["b1", "a0"], include=["documents"])
    assert sorted(got["ids"]) == sorted(sync["ids"]) == ["a0", "b1"]
    assert got["documents"] == sync["documents"]


def test_directory_metadata_and_id(
    make_store: Callable[..., ChromaStore], mode: str, tmp_path: Path
) -> None:
    store = make_store()
    expected = (tmp_path / "chroma").resolve() if mode == "persistent" else None
    assert store.directory == expected
    assert store.metadata[EMBEDDER_KEY] == FakeEmbedder().name
    store.metadata["x"] = 1  # a copy: the store's own view is not changed
    assert "x" not in store.metadata
    assert store.collection_id == str(store.collection.id)


def test_directory_of_an_injected_persistent_client(tmp_path: Path, collection_name: str) -> None:
    client = chromadb.PersistentClient(path=str(tmp_path / "mine"))
    store = ChromaStore(collection_name, client=client, embedder=FakeEmbedder())
    assert store.directory is not None
    assert store.directory.resolve() == (tmp_path / "mine").resolve()
    in_memory = ChromaStore(collection_name, client=chromadb.EphemeralClient())
    assert in_memory.directory is None


async def test_async_only_store_reports_its_id_once_opened(
    chroma_server: Any, collection_name: str
) -> None:
    client = await chromadb.AsyncHttpClient(host=chroma_server.host, port=chroma_server.port)
    store = ChromaStore(collection_name, client=client, embedder=FakeEmbedder())
    assert store.collection_id is None
    await store.aadd(chunks())
    assert store.collection_id is not None
    assert sorted(await store.aids(where={"topic": "c"})) == ["c0"]
    assert (await store.adocuments())["a"] == DocumentInfo("/docs/a.txt", 3)


# -- the faces' straight-from-rows path -------------------------------------------------


def test_faces_build_from_rows_what_the_hit_path_builds(collection_name: str) -> None:
    """Our records, a stock LlamaIndex record and an image record: the faces' plain
    queries (built straight from Chroma's rows) equal the `Hit` conversions."""
    from llama_index.core.schema import ImageNode, TextNode
    from llama_index.core.vector_stores.types import VectorStoreQuery
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from chromabridge.vectorstores.langchain import hit_to_document
    from chromabridge.vectorstores.llamaindex import chunk_to_node

    client = chromadb.EphemeralClient()
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, client=client, embedder=embedder)
    store.add(chunks())
    image = Chunk.from_text(
        "/pics/a.png", doc_id="pic", id="img", metadata={"modality": "image", "topic": "a"}
    )
    store.add([image], embeddings=[embedder.embed_query("a part about a")])
    stock = ChromaVectorStore(chroma_collection=client.get_collection(collection_name))
    stock.add(
        [TextNode(id_="stock", text="a stock part", embedding=embedder.embed_query("a stock"))]
    )

    query = embedder.embed_query("a part about a")
    hits = store.query(embedding=query, k=10)
    assert {h.chunk.id for h in hits} >= {"img", "stock", "a0"}

    lc = store.as_langchain().similarity_search_by_vector_with_relevance_scores(query, k=10)
    assert lc == [(hit_to_document(h), h.distance) for h in hits]

    li = store.as_llamaindex().query(VectorStoreQuery(query_embedding=query, similarity_top_k=10))
    assert li.ids == [h.chunk.id for h in hits]
    assert li.similarities == [h.score for h in hits]
    expected = [chunk_to_node(h.chunk) for h in hits]
    assert [n.model_dump() for n in li.nodes or []] == [n.model_dump() for n in expected]
    assert isinstance(li.nodes[li.ids.index("img")], ImageNode)  # type: ignore[index]
    assert li.nodes[li.ids.index("a0")].metadata == {"topic": "a", "source": "/docs/a.txt"}  # type: ignore[index]
