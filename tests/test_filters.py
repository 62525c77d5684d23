"""to_chroma_where / to_chroma_filter: every accepted form, every refusal, and the
translated filters run against a real collection."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from llama_index.core.vector_stores.types import (
    ExactMatchFilter,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from chromabridge import Chunk
from chromabridge.errors import FilterError
from chromabridge.vectorstores import (
    ChromaStore,
    to_chroma_filter,
    to_chroma_where,
    validate_where_document,
)


def mf(key: str, value: Any, op: FilterOperator = FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


# -- dicts ------------------------------------------------------------------------------


def test_empty_and_none() -> None:
    assert to_chroma_where(None) is None
    assert to_chroma_where({}) is None


def test_chroma_where_passes_validated() -> None:
    where = {"$and": [{"a": {"$eq": 1}}, {"b": {"$in": ["x", "y"]}}]}
    assert to_chroma_where(where) == where
    assert to_chroma_where({"$or": [{"a": 1}, {"b": {"$ne": "z"}}]}) == {
        "$or": [{"a": {"$eq": 1}}, {"b": {"$ne": "z"}}]
    }


def test_plain_multi_key_dict_becomes_and() -> None:
    assert to_chroma_where({"a": 1, "b": "x"}) == {"$and": [{"a": {"$eq": 1}}, {"b": {"$eq": "x"}}]}


def test_several_operators_on_one_key_become_and() -> None:
    assert to_chroma_where({"n": {"$gt": 1, "$lte": 5}}) == {
        "$and": [{"n": {"$gt": 1}}, {"n": {"$lte": 5}}]
    }


def test_single_clause_logical_is_folded() -> None:
    """Chroma rejects $and/$or with one clause; we fold them."""
    assert to_chroma_where({"$and": [{"a": 1}]}) == {"a": {"$eq": 1}}


def test_langchain_between_and_dates() -> None:
    assert to_chroma_where({"year": {"$between": [2000, 2010]}}) == {
        "$and": [{"year": {"$gte": 2000}}, {"year": {"$lte": 2010}}]
    }
    assert to_chroma_where({"day": dt.date(2024, 1, 2)}) == {"day": {"$eq": "2024-01-02"}}


@pytest.mark.parametrize(
    ("where", "culprit"),
    [
        ({"a": {"$regex": "x"}}, "'$regex'"),
        ({"a": {"$like": "x%"}}, "'$like'"),
        ({"$not": [{"a": 1}]}, "'$not'"),
        ({"$and": []}, r"\$and needs a non-empty list"),
        ({"$or": {"a": 1}}, r"\$or needs a non-empty list"),
        ({"a": {"$gt": "2020"}}, "compares numbers only"),
        ({"a": {"$gt": True}}, "compares numbers only"),
        ({"a": {"$in": []}}, "non-empty list"),
        ({"a": {"$in": "abc"}}, "needs a list"),
        ({"a": {"$in": [1, "x"]}}, "one type"),
        ({"a": {}}, "empty condition"),
        ({"a": None}, "NoneType"),
        ({"a": {"$eq": {"nested": 1}}}, "dict"),
        ({"": 1}, "non-empty string"),
        ("a = 1; DROP TABLE", "must be a dict"),
    ],
)
def test_refusals_name_the_culprit(where: Any, culprit: str) -> None:
    with pytest.raises(FilterError, match=culprit if "\\" in culprit else re.escape(culprit)):
        to_chroma_where(where)


def test_where_document_validation() -> None:
    assert validate_where_document({"$contains": "x"}) == {"$contains": "x"}
    assert validate_where_document({"$or": [{"$contains": "a"}, {"$regex": "b+"}]}) == {
        "$or": [{"$contains": "a"}, {"$regex": "b+"}]
    }
    with pytest.raises(FilterError, match="'\\$startswith'"):
        validate_where_document({"$startswith": "x"})
    with pytest.raises(FilterError, match="invalid regex"):
        validate_where_document({"$regex": "("})
    with pytest.raises(FilterError, match="non-empty string"):
        validate_where_document({"$contains": ""})


# -- LlamaIndex ---------------------------------------------------------------------------


def test_llama_operators() -> None:
    cases = {
        FilterOperator.EQ: ("$eq", "x"),
        FilterOperator.NE: ("$ne", "x"),
        FilterOperator.GT: ("$gt", 3),
        FilterOperator.GTE: ("$gte", 3),
        FilterOperator.LT: ("$lt", 3.5),
        FilterOperator.LTE: ("$lte", 3),
        FilterOperator.IN: ("$in", ["a", "b"]),
        FilterOperator.NIN: ("$nin", [1, 2]),
        FilterOperator.CONTAINS: ("$contains", "tag"),
    }
    for op, (chroma_op, value) in cases.items():
        assert to_chroma_where(MetadataFilters(filters=[mf("k", value, op)])) == {
            "k": {chroma_op: value}
        }


def test_llama_any_all_and_legacy_exact_match() -> None:
    any_ = MetadataFilters(filters=[mf("tags", ["a", "b"], FilterOperator.ANY)])
    assert to_chroma_where(any_) == {
        "$or": [{"tags": {"$contains": "a"}}, {"tags": {"$contains": "b"}}]
    }
    all_ = MetadataFilters(filters=[mf("tags", ["a", "b"], FilterOperator.ALL)])
    assert to_chroma_where(all_) == {
        "$and": [{"tags": {"$contains": "a"}}, {"tags": {"$contains": "b"}}]
    }
    assert to_chroma_where(MetadataFilters(filters=[ExactMatchFilter(key="k", value=1)])) == {
        "k": {"$eq": 1}
    }


def test_llama_nested_and_or() -> None:
    filters = MetadataFilters(
        filters=[
            mf("year", 2000, FilterOperator.GTE),
            MetadataFilters(
                filters=[mf("lang", ["en", "fr"], FilterOperator.IN), mf("draft", 0)],
                condition=FilterCondition.OR,
            ),
        ],
        condition=FilterCondition.AND,
    )
    assert to_chroma_where(filters) == {
        "$and": [
            {"year": {"$gte": 2000}},
            {"$or": [{"lang": {"$in": ["en", "fr"]}}, {"draft": {"$eq": 0}}]},
        ]
    }


def test_llama_text_match_goes_to_where_document() -> None:
    filters = MetadataFilters(
        filters=[mf("text", "vector", FilterOperator.TEXT_MATCH), mf("lang", "en")]
    )
    result = to_chroma_filter(filters)
    assert result.where == {"lang": {"$eq": "en"}}
    assert result.where_document == {"$contains": "vector"}
    insensitive = to_chroma_filter(
        MetadataFilters(filters=[mf("text", "a.b", FilterOperator.TEXT_MATCH_INSENSITIVE)])
    )
    assert insensitive.where_document == {"$regex": "(?i)a\\.b"}
    with pytest.raises(FilterError, match="TEXT_MATCH"):
        to_chroma_where(filters)
    with pytest.raises(FilterError, match="cannot OR a text match"):
        to_chroma_filter(
            MetadataFilters(
                filters=[mf("t", "x", FilterOperator.TEXT_MATCH), mf("lang", "en")],
                condition=FilterCondition.OR,
            )
        )


def test_llama_refusals() -> None:
    with pytest.raises(FilterError, match="'is_empty'"):
        to_chroma_where(MetadataFilters(filters=[mf("k", None, FilterOperator.IS_EMPTY)]))
    with pytest.raises(FilterError, match="'not'"):
        to_chroma_where(MetadataFilters(filters=[mf("k", 1)], condition=FilterCondition.NOT))


def test_where_document_merges_with_text_match() -> None:
    filters = MetadataFilters(filters=[mf("t", "alpha", FilterOperator.TEXT_MATCH)])
    result = to_chroma_filter(filters, {"$not_contains": "beta"})
    assert result.where_document == {"$and": [{"$contains": "alpha"}, {"$not_contains": "beta"}]}


# -- translated filters select the right records in real Chroma ---------------------------


@pytest.fixture(scope="module")
def store() -> ChromaStore:
    s = ChromaStore("filters-suite")
    rows = [
        ("a", "alpha vector text", {"year": 1999, "lang": "en", "tags": ["x", "y"]}),
        ("b", "beta vector text", {"year": 2005, "lang": "fr", "tags": ["y"]}),
        ("c", "gamma text", {"year": 2015, "lang": "de", "tags": ["z"]}),
    ]
    s.add(
        [Chunk.from_text(t, id=i, doc_id=i, metadata=m) for i, t, m in rows],
        embeddings=[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
    )
    return s


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lang": "en", "year": 1999}, {"a"}),
        ({"year": {"$between": [2000, 2020]}}, {"b", "c"}),
        (MetadataFilters(filters=[mf("lang", ["en", "de"], FilterOperator.IN)]), {"a", "c"}),
        (MetadataFilters(filters=[mf("lang", ["en", "de"], FilterOperator.NIN)]), {"b"}),
        (MetadataFilters(filters=[mf("tags", "y", FilterOperator.CONTAINS)]), {"a", "b"}),
        (
            MetadataFilters(
                filters=[
                    mf("year", 2000, FilterOperator.GT),
                    MetadataFilters(
                        filters=[mf("lang", "fr"), mf("tags", "z", FilterOperator.CONTAINS)],
                        condition=FilterCondition.OR,
                    ),
                ]
            ),
            {"b", "c"},
        ),
        (MetadataFilters(filters=[mf("text", "vector", FilterOperator.TEXT_MATCH)]), {"a", "b"}),
        (
            MetadataFilters(filters=[mf("text", "ALPHA", FilterOperator.TEXT_MATCH_INSENSITIVE)]),
            {"a"},
        ),
    ],
)
def test_filters_select_records(store: ChromaStore, filters: Any, expected: set[str]) -> None:
    assert {h.chunk.id for h in store.query(embedding=[1.0, 0.5], k=10, where=filters)} == expected
    assert {c.id for c in store.get(where=filters)} == expected
