"""BM25Index: bm25s's scores, incremental updates equal to a rebuild, persistence; RRF."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest

from chromabridge.errors import ConfigError
from chromabridge.retrievers import BM25Index, reciprocal_rank_fusion

CORPUS = {
    "a": "the cat sat on the mat and the cat slept",
    "b": "dogs chase cats around the garden",
    "c": "a mat of woven grass lay in the garden",
    "d": "supersonic flow over a swept wing",
    "e": "boundary layer transition on a heated wing at supersonic speed",
    "f": "the pressure distribution of slender bodies",
}


def _same(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want]
    assert dict(got) == pytest.approx(dict(want))


def _index(docs: dict[str, str], **kw: object) -> BM25Index:
    index = BM25Index(stemmer=None, **kw)  # type: ignore[arg-type]
    index.upsert(list(docs), list(docs.values()))
    return index


def _bm25s_scores(docs: dict[str, str], query: str) -> dict[str, float]:
    ref = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    ref.index(
        bm25s.tokenize(list(docs.values()), stopwords="en", show_progress=False),
        show_progress=False,
    )
    q = bm25s.tokenize([query], stopwords="en", show_progress=False)
    hits, scores = ref.retrieve(q, k=len(docs), show_progress=False)
    ids = list(docs)
    return {ids[i]: float(s) for i, s in zip(hits[0], scores[0]) if s > 0}


@pytest.mark.parametrize("query", ["cat mat", "supersonic wing", "garden", "pressure of bodies"])
def test_scores_equal_bm25s(query: str) -> None:
    got = dict(_index(CORPUS).search(query, 10))
    assert got == pytest.approx(_bm25s_scores(CORPUS, query), rel=1e-5)
    assert got  # the query matched something


def test_incremental_updates_equal_a_fresh_build() -> None:
    index = _index({k: CORPUS[k] for k in "abc"})
    index.upsert(["d", "e", "f"], [CORPUS[k] for k in "def"])
    index.upsert(["b"], ["supersonic dogs"])  # replace: old terms must be forgotten
    index.remove(["c", "missing"])
    expected = {**{k: CORPUS[k] for k in "abdef"}, "b": "supersonic dogs"}
    fresh = _index(expected)
    for query in ["cat mat garden", "supersonic", "dogs chase cats", "woven grass"]:
        _same(index.search(query, 10), fresh.search(query, 10))
    assert index.search("woven grass", 10) == []  # only c had those words
    assert sorted(index.ids) == sorted(expected)


def test_compaction_keeps_results(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    docs = {f"d{i}": " ".join(rng.choice(words, 12)) for i in range(300)}
    index = BM25Index(stemmer=None)
    items = list(docs.items())
    for lo in range(0, 300, 7):  # many small appends, then deletes past the dead share
        batch = items[lo : lo + 7]
        index.upsert([k for k, _ in batch], [v for _, v in batch])
    index.remove([f"d{i}" for i in range(0, 300, 2)])
    kept = {k: v for k, v in docs.items() if int(k[1:]) % 2}
    _same(index.search("w1 w7 w30", 20), _index(kept).search("w1 w7 w30", 20))


def test_allowed_restricts_and_k_bounds() -> None:
    index = _index(CORPUS)
    assert [i for i, _ in index.search("wing", 10, allowed={"e"})] == ["e"]
    assert index.search("wing", 10, allowed=set()) == []
    assert len(index.search("the garden cat wing", 2)) == 2
    assert index.search("", 5) == [] and index.search("zzz", 5) == []


def test_stemming_matches_inflections() -> None:
    index = BM25Index()  # English Snowball stemmer by default
    index.upsert(["x", "y"], ["heated plates", "cold walls"])
    assert [i for i, _ in index.search("heating plate", 5)] == ["x"]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = _index(CORPUS)
    index.remove(["a"])
    path = tmp_path / "sub" / "bm25.npz"
    index.save(path, {"collection_id": "abc"})
    loaded, extra = BM25Index.load(path)
    assert extra == {"collection_id": "abc"}
    assert sorted(loaded.ids) == sorted(set(CORPUS) - {"a"})
    _same(loaded.search("garden cat", 10), index.search("garden cat", 10))
    loaded.upsert(["g"], ["garden party"])  # a loaded index keeps growing
    assert loaded.search("party", 3)[0][0] == "g"
    assert not list(tmp_path.glob("sub/*.tmp"))


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError):
        BM25Index(k1=-1)
    with pytest.raises(ConfigError):
        BM25Index(stemmer="klingon")
    with pytest.raises(ConfigError):
        BM25Index().upsert(["a"], [])


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d"]], rrf_k=60)
    scores = dict(fused)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [i for i, _ in fused][:2] == ["c", "a"]  # agreement beats one top rank
    weighted = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
    assert [i for i, _ in weighted] == ["b", "a"]
    with pytest.raises(ConfigError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 1.0])
