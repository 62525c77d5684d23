"""An incrementally updatable BM25 index, tokenised by `bm25s`.

Why not `bm25s.BM25` itself: it precomputes every (document, term) score with the
corpus-wide IDF and average length baked in, so one added document means rebuilding the
whole matrix (6.5 s for 100k chunks here, even from cached token ids). This index keeps
raw term frequencies in a sparse matrix (a compacted base plus a small append-only
delta) with exact corpus statistics, and scores at query time with the Lucene BM25
variant that `bm25s` uses by default (the tests check the scores equal bm25s's).
Adding a document costs its tokenisation; deleting one flips a bit and updates the
statistics. Tokenisation (regex, English stopwords, Snowball stemming) is bm25s's.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from chromabridge.errors import ConfigError

__all__ = ["BM25Index", "text_hash"]

_FORMAT = 1
#: Rebuild the base when the delta exceeds this share of it (and at least _MIN_DELTA).
_DELTA_SHARE = 0.1
_MIN_DELTA = 2048
#: Drop deleted positions (renumber) when they exceed this share of all positions.
_DEAD_SHARE = 0.25


def text_hash(text: str) -> int:
    """64-bit hash of a text, kept per document to notice in-place replacements."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


#: bm25s's token pattern: words of two or more word characters.
_WORDS = re.compile(r"(?u)\b\w\w+\b").findall
#: Distinct words whose stems are remembered (a word -> stem dict; stemming is the
#: costly step and vocabularies are Zipfian, so a bounded cache catches most words).
_STEM_CACHE = 500_000


def _make_tokenizer(
    stemmer: str | None, stopwords: str | None
) -> Callable[[list[str]], list[list[str]]]:
    """bm25s's analysis (lowercase, its word pattern, its stopword lists, Snowball stems)
    as a plain function. bm25s's own `Tokenizer` keeps a vocabulary that grows with every
    text it sees, queries included, and rebuilds its inverse on every call: over 1 ms
    per query at 100k chunks. Our index keeps its own vocabulary."""
    from bm25s.tokenization import Tokenizer

    stem: Callable[[str], str] | None = None
    if stemmer is not None:
        try:
            import Stemmer
        except ImportError as exc:
            raise ConfigError(
                "BM25 stemming needs PyStemmer: pip install 'chromabridge[hybrid]' "
                "(or pass stemmer=None)"
            ) from exc
        try:
            stem = Stemmer.Stemmer(stemmer).stemWord
        except KeyError as exc:
            raise ConfigError(f"unknown Snowball stemmer language {stemmer!r}") from exc
    stop = frozenset(Tokenizer(stopwords=stopwords or []).stopwords or ())
    stems: dict[str, str] = {}

    def analyse(text: str) -> list[str]:
        words = [w for w in _WORDS(text.lower()) if w not in stop]
        if stem is None:
            return words
        out = []
        for word in words:
            found = stems.get(word)
            if found is None:
                found = stem(word)
                if len(stems) < _STEM_CACHE:
                    stems[word] = found
            out.append(found)
        return out

    def tokenize(texts: list[str]) -> list[list[str]]:
        return [analyse(text) for text in texts]

    return tokenize


class BM25Index:
    """Documents by id -> BM25 ranking; upsert, remove, search, save, load.

    Not thread-safe by itself: `LexicalIndex` serialises access.
    `k1`, `b`: the usual BM25 parameters (bm25s defaults 1.5, 0.75; Lucene uses 1.2, 0.75).
    `stemmer`: a Snowball language (PyStemmer) or None; `stopwords`: a bm25s stopword
    language ("en") or None.
    """

    def __init__(
        self,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        stemmer: str | None = "english",
        stopwords: str | None = "en",
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ConfigError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1, self.b = float(k1), float(b)
        self.stemmer, self.stopwords = stemmer, stopwords
        self._tokenize = _make_tokenizer(stemmer, stopwords)
        self.clear()

    # -- state --------------------------------------------------------------------------

    def clear(self) -> None:
        self._vocab: dict[str, int] = {}
        self._df = np.zeros(0, dtype=np.int64)
        self._ids: list[str | None] = []  # per position; None once deleted
        self._pos: dict[str, int] = {}
        self._terms: list[np.ndarray] = []  # per position: term ids
        self._counts: list[np.ndarray] = []  # per position: their frequencies
        self._length = np.zeros(0, dtype=np.float64)
        self._hash = np.zeros(0, dtype=np.int64)
        self._live = np.zeros(0, dtype=bool)
        self._total_length = 0.0
        self._base: sparse.csc_matrix | None = None
        self._base_n = 0
        self._delta: sparse.csc_matrix | None = None
        self._version = 0
        self._norm: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._pos)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._pos

    @property
    def ids(self) -> list[str]:
        return list(self._pos)

    def hash_of(self, doc_id: str) -> int | None:
        pos = self._pos.get(doc_id)
        return None if pos is None else int(self._hash[pos])

    # -- writes -------------------------------------------------------------------------

    def _term_ids(self, tokens: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        ids = []
        for token in tokens:
            if not token:
                continue
            tid = self._vocab.get(token)
            if tid is None:
                tid = self._vocab[token] = len(self._vocab)
            ids.append(tid)
        terms, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
        return terms, counts.astype(np.float64)

    def _grow(self, extra: int) -> None:
        self._length = np.concatenate([self._length, np.zeros(extra)])
        self._hash = np.concatenate([self._hash, np.zeros(extra, dtype=np.int64)])
        self._live = np.concatenate([self._live, np.zeros(extra, dtype=bool)])
        if len(self._vocab) > len(self._df):
            self._df = np.concatenate(
                [self._df, np.zeros(len(self._vocab) - len(self._df), dtype=np.int64)]
            )

    def upsert(self, ids: Sequence[str], texts: Sequence[str], *, compact: bool = True) -> None:
        """Index (or re-index) documents; a replaced document's old terms are forgotten.

        `compact=False` defers folding the delta into the base (bulk loads call
        `compact()` once at the end instead of once per batch).
        """
        if len(ids) != len(texts):
            raise ConfigError(f"got {len(texts)} texts for {len(ids)} ids")
        latest = dict(zip(ids, texts, strict=True))  # last write of an id wins
        self.remove(list(latest))
        order = list(latest)
        tokenized = self._tokenize([latest[i] for i in order])
        start = len(self._ids)
        pairs = [self._term_ids(tokens) for tokens in tokenized]
        self._grow(len(order))
        for n, (doc_id, (terms, counts)) in enumerate(zip(order, pairs, strict=True)):
            pos = start + n
            self._ids.append(doc_id)
            self._pos[doc_id] = pos
            self._terms.append(terms)
            self._counts.append(counts)
            self._length[pos] = counts.sum()
            self._hash[pos] = text_hash(latest[doc_id])
            self._live[pos] = True
            self._df[terms] += 1
            self._total_length += float(self._length[pos])
        self._delta = None
        self._version += 1
        if compact:
            self._maybe_compact()

    def remove(self, ids: Iterable[str]) -> int:
        """Forget documents (unknown ids are ignored); returns how many were indexed."""
        removed = 0
        for doc_id in ids:
            pos = self._pos.pop(doc_id, None)
            if pos is None:
                continue
            removed += 1
            self._ids[pos] = None
            self._live[pos] = False
            self._df[self._terms[pos]] -= 1
            self._total_length -= float(self._length[pos])
        if removed:
            self._version += 1
            self._maybe_compact()
        return removed

    # -- the sparse term-frequency matrices ---------------------------------------------

    def _matrix(self, lo: int, hi: int) -> sparse.csc_matrix:
        terms = self._terms[lo:hi]
        sizes = np.fromiter((len(t) for t in terms), dtype=np.int64, count=len(terms))
        rows = np.repeat(np.arange(lo, hi, dtype=np.int64), sizes)
        cols = np.concatenate(terms) if terms else np.zeros(0, dtype=np.int64)
        data = np.concatenate(self._counts[lo:hi]) if terms else np.zeros(0)
        shape = (hi, max(len(self._vocab), 1))
        return sparse.csc_matrix((data, (rows, cols)), shape=shape)

    def _renumber(self) -> None:
        keep = [p for p, doc_id in enumerate(self._ids) if doc_id is not None]
        self._ids = [self._ids[p] for p in keep]
        self._terms = [self._terms[p] for p in keep]
        self._counts = [self._counts[p] for p in keep]
        index = np.asarray(keep, dtype=np.int64)
        self._length, self._hash = self._length[index], self._hash[index]
        self._live = np.ones(len(keep), dtype=bool)
        self._pos = {doc_id: p for p, doc_id in enumerate(self._ids) if doc_id is not None}

    def compact(self) -> None:
        """Fold the delta into the base and drop deleted positions."""
        if len(self._ids) - len(self._pos) > 0:
            self._renumber()
        self._base = self._matrix(0, len(self._ids))
        self._base_n = len(self._ids)
        self._delta = None
        self._version += 1

    def _maybe_compact(self) -> None:
        n = len(self._ids)
        dead = n - len(self._pos)
        delta = n - self._base_n
        if dead > _DEAD_SHARE * max(n, 1) or delta > max(_MIN_DELTA, _DELTA_SHARE * self._base_n):
            self.compact()

    def _segments(self) -> list[sparse.csc_matrix]:
        n = len(self._ids)
        if self._base is None and self._base_n:
            self._base = self._matrix(0, self._base_n)
        if self._delta is None and n > self._base_n:
            self._delta = self._matrix(self._base_n, n)
        return [m for m in (self._base, self._delta) if m is not None]

    def _length_norm(self, n: int, live_n: int) -> np.ndarray:
        """k1 * (1 - b + b * dl / avgdl) per position, cached until the index changes."""
        if self._norm is None or self._norm[0] != self._version:
            avgdl = self._total_length / live_n or 1.0
            norm = self.k1 * ((1 - self.b) + self.b * self._length[:n] / avgdl)
            self._norm = (self._version, norm)
        return self._norm[1]

    # -- search -------------------------------------------------------------------------

    def search(
        self, query: str, k: int, allowed: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The `k` best (id, BM25 score) with score > 0, among `allowed` ids if given."""
        live_n = len(self._pos)
        if not live_n or k <= 0:
            return []
        tokens = [t for t in self._tokenize([query])[0] if t in self._vocab]
        if not tokens:
            return []
        n = len(self._ids)
        norm = self._length_norm(n, live_n)
        scores = np.zeros(n)
        segments = self._segments()
        for token in tokens:
            tid = self._vocab[token]
            df = int(self._df[tid])
            if df <= 0:
                continue
            idf = math.log(1 + (live_n - df + 0.5) / (df + 0.5))
            for matrix in segments:
                if tid >= matrix.shape[1]:
                    continue
                lo, hi = matrix.indptr[tid], matrix.indptr[tid + 1]
                rows, tf = matrix.indices[lo:hi], matrix.data[lo:hi]
                scores[rows] += idf * tf / (tf + norm[rows])
        scores[~self._live[:n]] = 0.0
        if allowed is not None:
            mask = np.zeros(n, dtype=bool)
            positions = [self._pos[i] for i in allowed if i in self._pos]
            mask[np.asarray(positions, dtype=np.int64)] = True
            scores[~mask] = 0.0
        found = np.flatnonzero(scores > 0)
        if len(found) > k:
            found = found[np.argpartition(-scores[found], k - 1)[:k]]
        found = found[np.argsort(-scores[found], kind="stable")]
        return [(str(self._ids[p]), float(scores[p])) for p in found]

    # -- persistence --------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> None:
        """Write the index to one file, atomically (a crash leaves the old file)."""
        self.compact()
        vocab = sorted(self._vocab, key=self._vocab.__getitem__)
        header = {
            "format": _FORMAT,
            "k1": self.k1,
            "b": self.b,
            "stemmer": self.stemmer,
            "stopwords": self.stopwords,
            "ids": self._ids,
            "vocab": vocab,
            "extra": extra or {},
        }
        sizes = np.fromiter((len(t) for t in self._terms), dtype=np.int64)
        buffer = io.BytesIO()
        np.savez(
            buffer,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            sizes=sizes,
            terms=np.concatenate(self._terms) if self._terms else np.zeros(0, np.int64),
            counts=np.concatenate(self._counts) if self._counts else np.zeros(0),
            hashes=self._hash,
        )
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> tuple[BM25Index, dict[str, Any]]:
        """Read a saved index and the `extra` dict saved with it."""
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            if header.get("format") != _FORMAT:
                raise ConfigError(f"{path}: unknown BM25 index format {header.get('format')!r}")
            index = cls(
                k1=header["k1"],
                b=header["b"],
                stemmer=header["stemmer"],
                stopwords=header["stopwords"],
            )
            sizes, terms, counts = data["sizes"], data["terms"], data["counts"]
            index._hash = data["hashes"].astype(np.int64)
        index._vocab = {token: n for n, token in enumerate(header["vocab"])}
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        index._terms = [terms[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]
        index._counts = [counts[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]
        ids: list[str] = list(header["ids"])
        index._ids = list(ids)
        index._pos = {doc_id: p for p, doc_id in enumerate(ids)}
        index._length = np.asarray([c.sum() for c in index._counts], dtype=np.float64)
        index._live = np.ones(len(index._ids), dtype=bool)
        index._total_length = float(index._length.sum())
        index._df = np.bincount(terms.astype(np.int64), minlength=len(index._vocab)).astype(
            np.int64
        )
        index.compact()
        return index, dict(header.get("extra") or {})
