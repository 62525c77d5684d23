"""`ChromaStore.tune`: search-time HNSW settings change on an existing collection, on
every deployment, and what Chroma cannot change is refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from store_support import deployment

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import InputError
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore


@pytest.fixture(params=["memory", "persistent", pytest.param("server", marks=pytest.mark.server)])
def made(request: pytest.FixtureRequest, tmp_path: Path, collection_name: str) -> Any:
    server = request.getfixturevalue("chroma_server") if request.param == "server" else None
    kwargs = deployment(request.param, server, tmp_path)
    store = ChromaStore(collection_name, embedder=FakeEmbedder(), **kwargs)
    store.add([Chunk.from_text(f"note {i} about cats", id=f"c{i}") for i in range(20)])
    return store, kwargs


def _hnsw(store: ChromaStore, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The settings as a fresh store object (another client, unless in-memory) reads them."""
    fresh = ChromaStore(store.name, embedder=FakeEmbedder(), **kwargs)
    return dict(fresh.collection.configuration["hnsw"])


async def test_tune_changes_search_settings(made: Any) -> None:
    store, kwargs = made
    before = _hnsw(store, kwargs)
    assert before["ef_search"] != 321
    assert store.tune(ef_search=321, sync_threshold=500, resize_factor=1.5) == {
        "ef_search": 321,
        "sync_threshold": 500,
        "resize_factor": 1.5,
    }
    after = _hnsw(store, kwargs)
    assert (after["ef_search"], after["sync_threshold"], after["resize_factor"]) == (321, 500, 1.5)
    assert after["ef_construction"] == before["ef_construction"]
    assert after["max_neighbors"] == before["max_neighbors"]
    assert len(store.query("cats", k=5)) == 5
    await store.atune(ef_search=64)
    assert _hnsw(store, kwargs)["ef_search"] == 64
    assert len(await store.aquery("cats", k=3)) == 3


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"ef_construction": 400}, "'ef_construction'"),
        ({"max_neighbors": 32}, "'max_neighbors'"),
        ({"space": "l2"}, "'space'"),
        ({"num_threads": 4}, "'num_threads'"),
        ({"ef_search": 100, "batch_size": 10}, "'batch_size'"),
        ({"hnsw:search_ef": 100}, "'hnsw:search_ef'"),
        ({"ef_search": 0}, "ef_search must be int >= 1"),
        ({"ef_search": 12.5}, "ef_search must be int"),
        ({"resize_factor": 0.5}, "resize_factor must be float >= 1"),
        ({}, "at least one setting"),
    ],
)
def test_refused_settings_are_named_and_change_nothing(
    made: Any, settings: dict[str, Any], named: str
) -> None:
    store, kwargs = made
    before = _hnsw(store, kwargs)
    with pytest.raises(InputError, match=named):
        store.tune(**settings)
    assert _hnsw(store, kwargs) == before
