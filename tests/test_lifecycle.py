"""Re-embedding without downtime: a shadow built from stored records, killed half-way
and resumed, readers answered by the old collection meanwhile, then swap and rollback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import EmbedderMismatchError, InputError
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.lifecycle import shadow_name

TESTS = Path(__file__).resolve().parent
OLD = ("test:hash", 64)
NEW = ("test:hash-32", 32)
TOPICS = ["cats purr", "dogs bark", "zebras graze", "chroma stores", "lions hunt"]


def _chunks() -> list[Chunk]:
    return [
        Chunk.from_text(
            f"{TOPICS[d % 5]} in note {d} part {p}",
            id=f"d{d}-{p}",
            doc_id=f"d{d}",
            index=p,
            metadata={"topic": TOPICS[d % 5].split()[0], "n": d, "tags": ["a", f"t{d}"]},
        )
        for d in range(12)
        for p in range(5)
    ]


def _old() -> FakeEmbedder:
    return FakeEmbedder(OLD[1], name=OLD[0])


def _new() -> FakeEmbedder:
    return FakeEmbedder(NEW[1], name=NEW[0])


def _records(store: ChromaStore) -> dict[str, tuple[Any, Any]]:
    got = store.collection.get(include=["documents", "metadatas"])
    return {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}


SCRIPT = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[3])
from chromabridge.embedders import FakeEmbedder
from chromabridge.vectorstores import ChromaStore

class Dying(FakeEmbedder):
    def embed_documents(self, texts):
        if len(self.calls) == int(os.environ["DIE_AT_CALL"]):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().embed_documents(texts)

store = ChromaStore("docs", embedder=FakeEmbedder(64, name="test:hash"), path=sys.argv[1])
store.reembed(Dying(32, name="test:hash-32"), batch_size=10, cache=sys.argv[2])
"""


@pytest.mark.slow
def test_reembed_killed_resumed_swapped_rolled_back(tmp_path: Path) -> None:
    db, cache = tmp_path / "db", tmp_path / "cache.sqlite"
    store = ChromaStore("docs", embedder=_old(), path=db)
    store.add(_chunks())
    source = _records(store)
    store.close()  # the directory belongs to one process at a time: the script's, next

    script = tmp_path / "reembed.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "DIE_AT_CALL": "3"}
    proc = subprocess.run(
        [sys.executable, str(script), str(db), str(cache), str(TESTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    store = ChromaStore("docs", embedder=_old(), path=db)
    before = [h.chunk.id for h in store.query("zebras graze", k=5)]  # ties: as reopened
    partial = ChromaStore(shadow_name("docs", NEW[0]), path=db)
    assert partial.count() == 30  # three pages of 10 written before the kill

    # Resume; a reader on another store object queries between the shadow's batches.
    answers: list[list[str]] = []
    reader = ChromaStore("docs", embedder=_old(), path=db)

    class Watched(FakeEmbedder):
        def embed_documents(self, texts: Any) -> list[list[float]]:
            worker = threading.Thread(
                target=lambda: answers.append(
                    [h.chunk.id for h in reader.query("zebras graze", k=5)]
                )
            )
            worker.start()
            worker.join()
            return super().embed_documents(texts)

    shadow = store.reembed(Watched(NEW[1], name=NEW[0]), batch_size=10, cache=cache)
    report = shadow.last_reembed
    assert report is not None
    assert (report.unchanged, report.embedded, report.removed) == (30, 30, 0)
    assert answers and all(a == before for a in answers)
    assert _records(shadow) == source  # texts and metadata copied as stored
    got = shadow.collection.get(ids=["d3-2"], include=["embeddings", "documents"])
    expected = _new().embed_documents(got["documents"])
    assert np.allclose(got["embeddings"], expected, atol=1e-6)
    assert store.count() == 60 and store.dimension == OLD[1]  # the original is untouched

    # Writes to the original since: a rerun catches the shadow up, through the cache.
    store.delete(doc_id="d0")
    store.add([Chunk.from_text("hippos wallow in rivers", id="new-0", doc_id="new")])
    shadow = store.reembed(_new(), batch_size=10, cache=cache)
    report = shadow.last_reembed
    assert report is not None
    assert (report.embedded, report.removed, report.unchanged) == (1, 5, 55)
    assert _records(shadow) == _records(store)

    backup = store.swap(shadow)
    assert store.name == "docs" and store.dimension == NEW[1]
    assert [h.chunk.doc_id for h in store.query("hippos wallow", k=1)] == ["new"]
    with pytest.raises(EmbedderMismatchError):
        ChromaStore("docs", embedder=_old(), path=db)
    assert ChromaStore("docs", embedder=_new(), path=db).count() == 56
    assert ChromaStore(backup, embedder=_old(), path=db).count() == 56

    undone = store.rollback()
    assert store.dimension == OLD[1] and store.embedder is not None
    assert store.embedder.name == OLD[0]
    assert ChromaStore("docs", embedder=_old(), path=db).count() == 56
    assert ChromaStore(undone, embedder=_new(), path=db).count() == 56
    names = {c.name for c in store.client.list_collections()}  # type: ignore[union-attr]
    assert names == {"docs", undone}


def test_reembed_goes_through_the_embedding_cache(tmp_path: Path, collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=_old())
    store.add(_chunks()[:20])
    cache = tmp_path / "c.sqlite"
    first = store.reembed(_new(), cache=cache)
    again = store.reembed(_new(), name=f"{collection_name}-2", cache=cache)
    assert first.last_reembed is not None and again.last_reembed is not None
    assert (first.last_reembed.cache_hits, first.last_reembed.embedded) == (0, 20)
    assert (again.last_reembed.cache_hits, again.last_reembed.embedded) == (20, 20)


@pytest.mark.server
def test_swap_and_rollback_on_a_server(chroma_server: Any, collection_name: str) -> None:
    where = {"host": chroma_server.host, "port": chroma_server.port}
    store = ChromaStore(collection_name, embedder=_old(), **where)
    store.add(_chunks()[:10])
    shadow = store.reembed(_new(), cache=False)
    backup = store.swap(shadow)
    other = ChromaStore(collection_name, embedder=_new(), **where)
    assert other.count() == 10 and other.dimension == NEW[1]
    undone = store.rollback()
    assert ChromaStore(collection_name, embedder=_old(), **where).count() == 10
    names = {c.name for c in store.client.list_collections()}  # type: ignore[union-attr]
    assert {collection_name, undone} <= names and backup not in names


def test_mistakes_are_input_errors(collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=_old())
    store.add(_chunks()[:5])
    with pytest.raises(InputError, match="other than the collection's own"):
        store.reembed(_new(), name=collection_name, cache=False)
    unrelated = ChromaStore(f"{collection_name}-x", embedder=_new())
    with pytest.raises(InputError, match="not a re-embedding"):
        store.reembed(_new(), name=unrelated.name, cache=False)
    with pytest.raises(InputError, match="not a re-embedding"):
        store.swap(unrelated)
    with pytest.raises(InputError, match="no backup"):
        store.rollback()
    shadow = store.reembed(_new(), cache=False)
    store.add([Chunk.from_text("written after the shadow was built", id="late")])
    with pytest.raises(InputError, match=r"holds 5 records.*6: run reembed"):
        store.swap(shadow)
    assert store.swap(store.reembed(_new(), cache=False)).startswith(f"{collection_name}--backup-")
    with pytest.raises(InputError, match="batch_size"):
        store.reembed(_new(), batch_size=0)
