"""Hypothesis fuzzing of everything users hand us: only typed errors, never data loss.

Metadata values and shapes into `ChromaStore.add`, filters into `to_chroma_filter` and
`ChromaStore.query`/`get`/`delete`, chunker parameters and texts into `RecursiveChunker` /
`SentenceWindowChunker`, arbitrary file bytes into `DirectoryLoader`. The property is
the same everywhere: the call works, or it raises a `ChromaBridgeError` subclass, never
anything else; and the records stored before it are all still there, unchanged.

Example counts are small in CI; `CHROMABRIDGE_SOAK=1` (`make soak`) multiplies them by
`CHROMABRIDGE_FUZZ_FACTOR` (default 20).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chromabridge.chunkers import RecursiveChunker, SentenceWindowChunker
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ChromaBridgeError, FilterError
from chromabridge.loaders import DirectoryLoader
from chromabridge.types import RESERVED_KEYS, Chunk, Document
from chromabridge.vectorstores import ChromaStore, to_chroma_where
from chromabridge.vectorstores.filters import to_chroma_filter

FACTOR = int(os.environ.get("CHROMABRIDGE_FUZZ_FACTOR", "20"))
SCALE = FACTOR if os.environ.get("CHROMABRIDGE_SOAK") == "1" else 1


def fuzz(n: int) -> Any:
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=SCALE == 1,  # CI: the same examples every run; soak: new ones
    )


# -- a store with records that must survive every example ------------------------------

SEED_META: list[dict[str, Any]] = [
    {"kind": "seed", "n": i, "tags": ["a", "b"], "score": 0.5 * i, "ok": i % 2 == 0}
    for i in range(6)
]


@pytest.fixture(scope="module")
def store() -> Iterator[ChromaStore]:
    s = ChromaStore(f"fuzz-{uuid.uuid4().hex[:10]}", embedder=FakeEmbedder())
    s.add(
        [
            Chunk.from_text(f"seed record {i} alpha", doc_id=f"seed{i}", metadata=m)
            for i, m in enumerate(SEED_META)
        ]
    )
    yield s


def seeds_intact(store: ChromaStore) -> None:
    got = store.get(
        ids=[Chunk.from_text(f"seed record {i} alpha", doc_id=f"seed{i}").id for i in range(6)]
    )
    assert len(got) == 6, "a stored record was lost"
    for i, chunk in enumerate(got):
        assert chunk.text == f"seed record {i} alpha"
        for key, value in SEED_META[i].items():
            assert chunk.metadata[key] == value


def typed_only(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call fn; a ChromaBridgeError is fine (returned), anything else fails the test."""
    try:
        return fn(*args, **kwargs)
    except ChromaBridgeError as exc:
        assert str(exc), "errors must say something"
        return exc


# -- metadata ---------------------------------------------------------------------------


class Weird:
    def __str__(self) -> str:
        return "weird-object"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=10),
    st.dates(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.timezone.utc))),
    st.times(),
    st.just(Weird()),
    st.decimals(allow_nan=False, places=3, min_value=-1000, max_value=1000),
)
keys = st.one_of(st.text(max_size=12), st.integers(-5, 5), st.sampled_from(["$and", "#doc", ""]))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.tuples(inner, inner),
        st.frozensets(st.integers(-3, 3), max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.dictionaries(st.integers(-5, 5), inner, max_size=4),
        st.dictionaries(st.one_of(st.integers(-5, 5), st.text(max_size=3)), inner, max_size=4),
    ),
    max_leaves=12,
)
metadatas = st.dictionaries(keys, values, max_size=6)


@fuzz(60)
@given(meta=metadatas, text=st.text(min_size=1, max_size=60))
def test_any_metadata_is_stored_or_refused_with_a_typed_error(
    store: ChromaStore, meta: dict[Any, Any], text: str
) -> None:
    chunk = Chunk.from_text(f"m {text}", doc_id="fuzz-meta", metadata=meta)
    result = typed_only(store.add, [chunk])
    event(f"metadata add: {type(result).__name__}")
    if not isinstance(result, ChromaBridgeError):
        (got,) = store.get(ids=[chunk.id])
        assert got.text == chunk.text
        for key, value in meta.items():  # nothing with a value silently dropped
            if value is None or value in ([], {}, (), frozenset()):
                continue
            # reserved bookkeeping keys (doc_id, end_char, ...) belong to the chunk
            reserved = key in RESERVED_KEYS or key in ("_node_content", "_node_type")
            name = key if isinstance(key, str) and key and key[0] not in "$#" else None
            if reserved:
                continue
            if name is not None and not isinstance(value, dict):
                assert name in got.metadata, (key, value, got.metadata)
    seeds_intact(store)


def test_mixed_key_types_inside_a_list_are_stored(store: ChromaStore) -> None:
    chunk = Chunk.from_text("mixed keys", doc_id="fuzz-mixed", metadata={"x": [{"a": 1, 0: 2}]})
    store.add([chunk])
    assert store.get([chunk.id])[0].metadata["x"] == '[{"0": 2, "a": 1}]'


# -- filters ----------------------------------------------------------------------------

ops = st.sampled_from(
    [
        "$eq",
        "$ne",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$in",
        "$nin",
        "$contains",
        "$not_contains",
        "$between",
        "$regex",
        "$like",
        "$exists",
        "$and",
        "$or",
        "$not",
        "eq",
        "",
    ]
)
fkeys = st.sampled_from(["kind", "n", "tags", "score", "ok", "missing", "a.b"])
wild_keys = st.sampled_from(["kind", "n", "", "$and", "$gt", "a.b"])
operands = st.one_of(
    scalars,
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=5), st.floats()), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
valid_scalars = st.one_of(
    st.integers(-10, 10), st.floats(-10, 10), st.text(max_size=6), st.booleans()
)
homogeneous = st.one_of(
    st.lists(st.integers(-5, 5), min_size=1, max_size=4),
    st.lists(st.text(max_size=4), min_size=1, max_size=4),
)
valid_leaves = st.one_of(
    st.builds(lambda k, v: {k: v}, fkeys, valid_scalars),
    st.builds(lambda k, o, v: {k: {o: v}}, fkeys, st.sampled_from(["$eq", "$ne"]), valid_scalars),
    st.builds(
        lambda k, o, v: {k: {o: v}},
        fkeys,
        st.sampled_from(["$gt", "$gte", "$lt", "$lte"]),
        st.one_of(st.integers(-10, 10), st.floats(-10, 10)),
    ),
    st.builds(lambda k, o, v: {k: {o: v}}, fkeys, st.sampled_from(["$in", "$nin"]), homogeneous),
    st.builds(lambda k, v: {k: {"$contains": v}}, fkeys, valid_scalars),
    st.builds(
        lambda k, lo, hi: {k: {"$between": [lo, hi]}}, fkeys, st.integers(-5, 5), st.integers(-5, 5)
    ),
)
wild_leaves = st.one_of(
    st.builds(lambda k, v: {k: v}, fkeys, operands),
    st.builds(lambda k, o, v: {k: {o: v}}, wild_keys, ops, operands),
    st.dictionaries(
        wild_keys, st.one_of(operands, st.builds(lambda o, v: {o: v}, ops, operands)), max_size=3
    ),
)
filters = st.recursive(
    st.one_of(valid_leaves, valid_leaves, valid_leaves, wild_leaves),
    lambda inner: st.one_of(
        st.builds(
            lambda o, xs: {o: xs},
            st.sampled_from(["$and", "$or"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(
            lambda o, xs: {o: xs}, st.sampled_from(["$and", "$or"]), st.lists(inner, max_size=3)
        ),
        st.builds(lambda xs: {"$and": xs, "kind": "seed"}, st.lists(inner, min_size=1, max_size=2)),
        st.dictionaries(fkeys, valid_scalars, min_size=2, max_size=3),
    ),
    max_leaves=6,
)
doc_filters = st.one_of(
    st.none(),
    st.none(),
    st.builds(
        lambda o, v: {o: v},
        st.sampled_from(["$contains", "$not_contains"]),
        st.text(min_size=1, max_size=6),
    ),
    st.builds(
        lambda o, v: {o: v},
        st.sampled_from(["$contains", "$not_contains", "$regex", "$not_regex", "$eq", "$and"]),
        operands,
    ),
)


@fuzz(200)
@given(where=st.one_of(filters, filters, filters, operands), where_document=doc_filters)
def test_any_filter_is_translated_or_refused_and_queries_never_crash(
    store: ChromaStore, where: Any, where_document: Any
) -> None:
    typed_only(to_chroma_where, where)
    flt = typed_only(to_chroma_filter, where, where_document)
    vector = FakeEmbedder().embed_query("alpha")
    result = typed_only(
        store.query, embedding=vector, k=3, where=where, where_document=where_document
    )
    event(f"filter {type(flt).__name__}, query {type(result).__name__}")
    if isinstance(flt, FilterError):
        assert isinstance(result, FilterError)  # query validates exactly as the translator
    elif not isinstance(flt, ChromaBridgeError):
        assert isinstance(result, list), f"a filter we accepted was refused: {result}"
    typed_only(store.get, where=where, where_document=where_document, limit=5)
    seeds_intact(store)


@fuzz(40)
@given(where=filters)
def test_deleting_by_any_filter_removes_only_matching_records(
    store: ChromaStore, where: Any
) -> None:
    """Delete on fuzz-written records only: scope every filter to doc_id fuzz-del."""
    store.add([Chunk.from_text("to delete maybe", doc_id="fuzz-del", metadata={"kind": "x"})])
    scoped = {"$and": [{"doc_id": "fuzz-del"}, where]}
    typed_only(store.delete, where=scoped)
    seeds_intact(store)


# -- chunkers ---------------------------------------------------------------------------

sizes = st.one_of(
    st.integers(1, 400),
    st.integers(1, 30),
    st.sampled_from([-5, -1, 0, 1.5, float("nan"), None, "10", True, 10**9]),
)
separators = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["\n\n", "\n", " ", "", ".", "。", ", "]), max_size=5),
    st.lists(
        st.one_of(st.text(max_size=3), st.sampled_from(["(", "[", "\\", "(a)", "x*"])), max_size=5
    ),
)
texts = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(list(" \n\n.!?。\t"))), max_size=2000
)


@fuzz(300)
@given(
    size=st.one_of(st.integers(25, 400), sizes),
    overlap=st.one_of(st.integers(0, 20), st.integers(0, 20), sizes),
    seps=separators,
    regex=st.booleans(),
    text=texts,
    keep=st.sampled_from([True, False, "start", "end", "middle"]),
)
def test_recursive_chunker_parameters_and_text(
    size: Any, overlap: Any, seps: Any, regex: bool, text: str, keep: Any
) -> None:
    chunker = typed_only(
        RecursiveChunker, size, overlap, seps, is_separator_regex=regex, keep_separator=keep
    )
    event(f"recursive chunker: {type(chunker).__name__}")
    if isinstance(chunker, ChromaBridgeError):
        return
    doc = Document(id="d", text=text)
    chunks = typed_only(chunker.chunk, doc)
    if isinstance(chunks, ChromaBridgeError):
        return
    # As in LangChain, the size bound holds when the last resort "" (split anywhere) is
    # among the separators (the default); custom lists without it may leave big pieces.
    bounded = seps is None or "" in seps
    for chunk in chunks:
        assert len(chunk.text) <= size or not bounded, "a chunk over chunk_size"
        if chunk.start is not None and chunk.end is not None:
            assert text[chunk.start : chunk.end] == chunk.text
    assert len({c.id for c in chunks}) == len(chunks)


@fuzz(100)
@given(window=sizes, max_chars=sizes, text=texts)
def test_sentence_window_chunker_parameters_and_text(
    window: Any, max_chars: Any, text: str
) -> None:
    chunker = typed_only(SentenceWindowChunker, window, max_chars)
    event(f"sentence chunker: {type(chunker).__name__}")
    if isinstance(chunker, ChromaBridgeError):
        return
    chunks = typed_only(chunker.chunk, Document(id="d", text=text))
    if isinstance(chunks, ChromaBridgeError):
        return
    for chunk in chunks:
        assert len(chunk.text) <= max_chars
        assert isinstance(chunk.metadata.get("window"), str)
        if chunk.start is not None and chunk.end is not None:
            assert text[chunk.start : chunk.end] == chunk.text


# -- loader: arbitrary bytes ------------------------------------------------------------

suffixes = st.sampled_from([".txt", ".md", ".html", ".csv", ".json", ".xml", ".eml", ".pdf"])
prefixes = st.sampled_from(
    [b"", b"%PDF-1.4\n", b"\xef\xbb\xbf", b"\xff\xfe", b"<html><body>", b"PK\x03\x04", b'{"a":']
)


@pytest.mark.slow
@fuzz(25)
@given(
    files=st.lists(st.tuples(suffixes, prefixes, st.binary(max_size=600)), min_size=1, max_size=4)
)
def test_directory_loader_survives_any_file_bytes(
    tmp_path_factory: pytest.TempPathFactory, files: list[tuple[str, bytes, bytes]]
) -> None:
    root = tmp_path_factory.mktemp("bytes")
    for i, (suffix, prefix, body) in enumerate(files):
        (root / f"f{i}{suffix}").write_bytes(prefix + body)
    # In this process (no budgets): the property is about parsing any bytes, and a
    # worker start-up per example would cost minutes (budgets: test_loaders_hostile.py).
    unbudgeted: dict[str, Any] = {"file_timeout": None, "file_memory": None}
    loader = DirectoryLoader(root, **unbudgeted)
    docs = loader.load()  # skip mode: never raises for a file's content
    assert loader.report.files_loaded + len(loader.report.failures) == len(files)
    for doc in docs:
        assert isinstance(doc.text, str)
        assert Path(doc.source or "").parent == root
    strict = DirectoryLoader(root, on_error="raise", **unbudgeted)
    typed_only(strict.load)
