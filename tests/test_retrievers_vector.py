"""VectorRetriever (similarity, threshold, MMR, filters) and SentenceWindowRetriever."""

from __future__ import annotations

import pytest

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ConfigError, FilterError
from chromabridge.retrievers import Retriever, SentenceWindowRetriever, VectorRetriever
from chromabridge.types import Chunk, Document
from chromabridge.vectorstores import ChromaStore

TEXTS = [
    ("cats purr in the warm sun", "pet"),
    ("cats purr in the warm sun today", "pet"),  # a near duplicate, for MMR
    ("dogs fetch the ball", "pet"),
    ("the zebra grazes on the savanna", "wild"),
]


@pytest.fixture
def store(collection_name: str) -> ChromaStore:
    s = ChromaStore(collection_name, embedder=FakeEmbedder())
    s.add(
        [
            Chunk.from_text(t, id=f"v{i}", metadata={"kind": kind, "n": i})
            for i, (t, kind) in enumerate(TEXTS)
        ]
    )
    return s


def test_similarity_k_and_filters(store: ChromaStore) -> None:
    retriever = VectorRetriever(store, k=2)
    assert isinstance(retriever, Retriever)
    hits = retriever.retrieve("cats purr in the sun")
    assert [h.chunk.id for h in hits] == ["v0", "v1"]
    assert hits[0].score >= hits[1].score
    assert len(retriever.retrieve("cats", k=3)) == 3
    wild = VectorRetriever(store, k=4, filter={"kind": "wild"})
    assert [h.chunk.id for h in wild.retrieve("cats")] == ["v3"]
    assert wild.retrieve("cats", where={"n": {"$lt": 3}}) == []  # per-call filter is ANDed
    docs = VectorRetriever(store, k=4, where_document={"$contains": "ball"})
    assert [h.chunk.id for h in docs.retrieve("cats")] == ["v2"]
    with pytest.raises(FilterError):
        retriever.retrieve("cats", where={"n": {"$regex": "x"}})


def test_score_threshold(store: ChromaStore) -> None:
    everything = VectorRetriever(store, k=4).retrieve("zebra savanna")
    cut = (everything[0].score + everything[1].score) / 2
    kept = VectorRetriever(store, k=4, score_threshold=cut).retrieve("zebra savanna")
    assert [h.chunk.id for h in kept] == ["v3"]


def test_mmr_skips_near_duplicates(store: ChromaStore) -> None:
    plain = VectorRetriever(store, k=2).retrieve("cats purr in the warm sun")
    mmr = VectorRetriever(store, k=2, search_type="mmr", lambda_mult=0.3).retrieve(
        "cats purr in the warm sun"
    )
    assert [h.chunk.id for h in plain] == ["v0", "v1"]
    assert mmr[0].chunk.id == "v0" and mmr[1].chunk.id != "v1"


async def test_async(store: ChromaStore) -> None:
    retriever = VectorRetriever(store, k=2, search_type="mmr")
    assert await retriever.aretrieve("cats") == retriever.retrieve("cats")


def test_bad_arguments(store: ChromaStore) -> None:
    with pytest.raises(ConfigError):
        VectorRetriever(store, search_type="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        VectorRetriever(store, k=0)
    with pytest.raises(ConfigError):
        VectorRetriever(store, lambda_mult=2.0)


SENTENCES = [
    "Alpha opens the report.",
    "Zebras cross the river at noon.",
    "Lions wait by the zebra crossing.",
    "Beta is a filler sentence.",
    "Gamma is another filler.",
    "Delta fills more space.",
    "Epsilon is filler too.",
    "Zeta is the penultimate line.",
    "Eta mentions a quokka once.",
]


def _sentence_store(name: str, window: int) -> ChromaStore:
    from chromabridge.chunkers import SentenceWindowChunker

    store = ChromaStore(name, embedder=FakeEmbedder())
    document = Document(id="report", text=" ".join(SENTENCES))
    store.add(SentenceWindowChunker(window_size=window).chunk(document))
    return store


def test_sentence_windows_are_returned_and_merged(collection_name: str) -> None:
    store = _sentence_store(collection_name, 1)
    retriever = SentenceWindowRetriever(store, k=2, window_size=1)
    hits = retriever.retrieve("zebras zebra crossing river lions")
    # sentences 1 and 2 both match; their windows overlap -> one passage, no repeats
    assert len(hits) == 1
    assert hits[0].chunk.text == " ".join(SENTENCES[0:4])
    assert sorted(hits[0].chunk.metadata["merged_ids"]) == sorted(
        c.id for c in store.get(where={"chunk_index": {"$in": [1, 2]}})
    )
    single = retriever.retrieve("quokka", k=1)
    assert single[0].chunk.text == " ".join(SENTENCES[7:9])  # its window (end of text)
    assert single[0].chunk.metadata["original_text"] == SENTENCES[8]


async def test_sentence_windows_far_apart_stay_separate(collection_name: str) -> None:
    store = _sentence_store(collection_name, 1)
    retriever = SentenceWindowRetriever(store, k=2, window_size=1)
    hits = await retriever.aretrieve("alpha report eta mentions quokka")
    assert sorted(h.chunk.text for h in hits) == sorted(
        [" ".join(SENTENCES[0:2]), " ".join(SENTENCES[7:9])]
    )


def test_sentence_windows_over_a_hybrid_retriever(collection_name: str) -> None:
    from chromabridge.retrievers import HybridRetriever

    store = _sentence_store(collection_name, 1)
    inner = HybridRetriever(store, k=1, weights=(0.0, 1.0))
    hits = SentenceWindowRetriever(store, k=1, window_size=1, retriever=inner).retrieve("quokka")
    assert hits[0].chunk.text == " ".join(SENTENCES[7:9])
    with pytest.raises(ConfigError):
        SentenceWindowRetriever(store, retriever=inner, filter={"kind": "x"})
