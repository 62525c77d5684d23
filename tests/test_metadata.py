"""normalize_metadata: each documented rule, plus a property test that Chroma accepts
whatever it returns and that no key with a value is lost."""

from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from pathlib import PurePosixPath
from typing import Any

import chromadb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chromabridge.vectorstores import normalize_metadata


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ({"s": "x", "i": 1, "f": 1.5, "b": True}, {"s": "x", "i": 1, "f": 1.5, "b": True}),
        ({"a": {"b": {"c": 1}, "d": "e"}}, {"a.b.c": 1, "a.d": "e"}),
        ({"a": {}}, {}),
        ({"l": []}, {}),
        ({"l": ()}, {}),
        ({"l": ["a", "b"]}, {"l": ["a", "b"]}),
        ({"l": (1, 2)}, {"l": [1, 2]}),
        ({"l": {3, 1, 2}}, {"l": [1, 2, 3]}),
        ({"l": [1, "a"]}, {"l": '[1, "a"]'}),
        ({"l": [1, 2.5]}, {"l": "[1, 2.5]"}),
        ({"l": [True, 1]}, {"l": "[true, 1]"}),
        ({"l": [{"x": 1}]}, {"l": '[{"x": 1}]'}),
        ({"l": ["a", None]}, {"l": '["a", null]'}),
        ({"d": dt.datetime(2024, 1, 2, 3, 4, 5)}, {"d": "2024-01-02T03:04:05"}),
        ({"d": dt.date(2024, 1, 2)}, {"d": "2024-01-02"}),
        ({"d": dt.time(3, 4)}, {"d": "03:04:00"}),
        ({"n": None}, {}),
        ({"f": math.nan, "g": math.inf, "h": -math.inf}, {"f": "nan", "g": "inf", "h": "-inf"}),
        ({"p": PurePosixPath("/a/b")}, {"p": "/a/b"}),
        ({"e": Colour.RED}, {"e": "Colour.RED"}),
        ({1: "x"}, {"1": "x"}),
        ({"big": 2**70, "l": [1, 2**64]}, {"big": str(2**70), "l": f"[1, {2**64}]"}),
        ({"low": -(2**63), "lower": -(2**63) - 1}, {"low": -(2**63), "lower": str(-(2**63) - 1)}),
        ({"top": 2**63 - 1, "over": 2**63}, {"top": 2**63 - 1, "over": str(2**63)}),
        ({"": 1, "$and": 2, "#doc": 3}, {"_": 1, "_$and": 2, "_#doc": 3}),
        ({"l": [dt.date(2024, 1, 1), "x"]}, {"l": '["2024-01-01", "x"]'}),
    ],
)
def test_rules(given_: dict[Any, Any], expected: dict[str, Any]) -> None:
    assert normalize_metadata(given_) == expected


def test_flattened_key_never_overwrites_an_explicit_one() -> None:
    out = normalize_metadata({"a.b": 1, "a": {"b": 2, "c": 3}})
    assert out == {"a.b": 1, "a": '{"b": 2, "c": 3}'}


def test_deterministic() -> None:
    value = {"z": {"y": [{"b": 1, "a": 2}]}, "s": {"q", "p"}}
    assert normalize_metadata(value) == normalize_metadata(dict(reversed(value.items())))
    assert normalize_metadata(value)["z.y"] == '[{"a": 2, "b": 1}]'


def test_input_not_mutated() -> None:
    value = {"a": {"b": [1]}}
    normalize_metadata(value)
    assert value == {"a": {"b": [1]}}


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=12,
)
metadata = st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), values, max_size=6)


def _has_value(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return any(_has_value(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) > 0
    return True


def _same(stored: Any, value: Any) -> bool:
    if isinstance(value, list):
        return len(stored) == len(value) and all(map(_same, stored, value))
    if isinstance(value, float):
        return math.isclose(stored, value, rel_tol=1e-12)
    return bool(stored == value and type(stored) is type(value))


@pytest.fixture(scope="module")
def collection() -> Any:
    client = chromadb.EphemeralClient()
    return client.get_or_create_collection("metadata-fuzz", embedding_function=None)


@pytest.mark.slow
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(meta=metadata)
def test_chroma_accepts_and_nothing_with_a_value_is_lost(
    collection: Any, meta: dict[Any, Any]
) -> None:
    out = normalize_metadata(meta)
    record_id = uuid.uuid4().hex
    collection.add(ids=[record_id], embeddings=[[0.0, 1.0]], metadatas=[out or None])
    stored = collection.get(ids=[record_id])["metadatas"][0] or {}
    assert stored.keys() == out.keys()
    for key, value in out.items():  # Chroma may round a float's last digit
        assert _same(stored[key], value), key
    for key, value in meta.items():
        if _has_value(value):
            name = {"": "_"}.get(str(key), str(key))
            name = "_" + name if name[0] in "$#" else name
            assert any(k == name or k.startswith(name + ".") for k in out), (key, value, out)
