"""Validated translation of user filters into Chroma `where` / `where_document` dicts.

Accepted inputs:

* Chroma `where` dicts (``{"$and": [...]}``, ``{"k": {"$gte": 3}}``, ``{"k": "v"}``);
* plain multi-key dicts, ``{"a": 1, "b": 2}``, which become an ``$and`` (stock Chroma
  rejects them); several operators on one key, ``{"n": {"$gt": 1, "$lt": 5}}``, likewise;
* LangChain-style dicts, the same shape plus ``$between: [lo, hi]``;
* LlamaIndex ``MetadataFilters`` / ``MetadataFilter`` (recognised by shape, so this
  module never imports llama_index) with EQ, NE, GT, GTE, LT, LTE, IN, NIN, CONTAINS,
  ANY, ALL on metadata, TEXT_MATCH / TEXT_MATCH_INSENSITIVE on the document text, and
  nested AND / OR.

Everything is rebuilt from validated parts; nothing the user passed is forwarded as is.
Whatever Chroma cannot express raises `FilterError` naming the operator or key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chromabridge.errors import FilterError

__all__ = ["ChromaFilter", "to_chroma_filter", "to_chroma_where", "validate_where_document"]

Where = dict[str, Any]

_COMPARE = {"$gt", "$gte", "$lt", "$lte"}
_EQUALITY = {"$eq", "$ne"}
_MEMBERSHIP = {"$in", "$nin"}
_ARRAY = {"$contains", "$not_contains"}
_FIELD_OPS = _COMPARE | _EQUALITY | _MEMBERSHIP | _ARRAY
_DOC_OPS = {"$contains", "$not_contains", "$regex", "$not_regex"}
_LOGICAL = {"$and", "$or"}

_LLAMA_OPS = {
    "==": "$eq",
    "!=": "$ne",
    ">": "$gt",
    ">=": "$gte",
    "<": "$lt",
    "<=": "$lte",
    "in": "$in",
    "nin": "$nin",
    "contains": "$contains",
}


@dataclass(frozen=True, slots=True)
class ChromaFilter:
    """A metadata filter and a document-text filter, either possibly absent."""

    where: Where | None = None
    where_document: Where | None = None


#: The absence of both filters.
NO_FILTER = ChromaFilter()


def _combine(op: str, clauses: Sequence[Where]) -> Where | None:
    """Chroma wants at least two clauses under $and/$or; fold the degenerate cases."""
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    return {op: list(clauses)}


def _scalar(key: str, op: str, value: Any) -> str | int | float | bool:
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()  # metadata stores dates as ISO-8601 strings
    if isinstance(value, (str, int, float, bool)):
        return value
    raise FilterError(
        f"filter on {key!r}: {op} needs a str, int, float or bool, got {type(value).__name__}"
    )


def _operand(key: str, op: str, value: Any) -> Any:
    if op in _COMPARE:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FilterError(
                f"filter on {key!r}: {op} compares numbers only, got {value!r}; Chroma has "
                "no ordering on strings (store dates as numbers, e.g. a unix timestamp)"
            )
        return value
    if op in _MEMBERSHIP:
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, set, frozenset)):
            raise FilterError(f"filter on {key!r}: {op} needs a list of values, got {value!r}")
        items = [_scalar(key, op, item) for item in value]
        if not items:
            raise FilterError(f"filter on {key!r}: {op} needs a non-empty list")
        if len({type(item) for item in items}) > 1:
            raise FilterError(f"filter on {key!r}: {op} values must all have one type")
        return items
    return _scalar(key, op, value)


def _key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise FilterError(f"filter key {key!r} must be a non-empty string")
    if key.startswith("$"):
        raise FilterError(f"unknown filter operator {key!r}; supported: $and, $or")
    return key


def _field(key: str, condition: Any) -> list[Where]:
    if not isinstance(condition, Mapping):
        return [{key: {"$eq": _scalar(key, "$eq", condition)}}]
    if not condition:
        raise FilterError(f"filter on {key!r} has an empty condition")
    clauses: list[Where] = []
    for op, value in condition.items():
        if op == "$between":
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
                raise FilterError(f"filter on {key!r}: $between needs [low, high]")
            clauses.append({key: {"$gte": _operand(key, "$gte", value[0])}})
            clauses.append({key: {"$lte": _operand(key, "$lte", value[1])}})
        elif op in _FIELD_OPS:
            clauses.append({key: {op: _operand(key, op, value)}})
        else:
            supported = ", ".join(sorted(_FIELD_OPS | {"$between"}))
            raise FilterError(f"unknown filter operator {op!r} on {key!r}; supported: {supported}")
    return clauses


def _where(node: Any) -> Where | None:
    if not isinstance(node, Mapping):
        raise FilterError(f"a filter must be a dict, got {type(node).__name__}")
    clauses: list[Where] = []
    for key, value in node.items():
        if key in _LOGICAL:
            if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence) or not value:
                raise FilterError(f"{key} needs a non-empty list of filters")
            subs = [sub for sub in (_where(item) for item in value) if sub is not None]
            combined = _combine(key, subs)
            if combined is not None:
                clauses.append(combined)
        else:
            clauses.extend(_field(_key(key), value))
    return _combine("$and", clauses)


def validate_where_document(node: Any) -> Where | None:
    """Check and rebuild a Chroma `where_document` dict."""
    if node is None or (isinstance(node, Mapping) and not node):
        return None
    if not isinstance(node, Mapping):
        raise FilterError(f"where_document must be a dict, got {type(node).__name__}")
    clauses: list[Where] = []
    for op, value in node.items():
        if op in _LOGICAL:
            if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence) or not value:
                raise FilterError(f"where_document {op} needs a non-empty list")
            subs = [s for s in (validate_where_document(v) for v in value) if s is not None]
            combined = _combine(op, subs)
            if combined is not None:
                clauses.append(combined)
        elif op in _DOC_OPS:
            if not isinstance(value, str) or not value:
                raise FilterError(f"where_document {op} needs a non-empty string")
            if "regex" in op:
                try:
                    re.compile(value)
                except re.error as exc:
                    raise FilterError(f"where_document {op}: invalid regex {value!r}") from exc
            clauses.append({op: value})
        else:
            supported = ", ".join(sorted(_DOC_OPS | _LOGICAL))
            raise FilterError(f"unknown where_document operator {op!r}; supported: {supported}")
    return _combine("$and", clauses)


def _is_llama_filters(obj: object) -> bool:
    return hasattr(obj, "filters") and hasattr(obj, "condition")


def _is_llama_filter(obj: object) -> bool:
    return hasattr(obj, "key") and hasattr(obj, "value")


def _enum_value(value: Any, default: str) -> str:
    if value is None:
        return default
    return str(getattr(value, "value", value))


def _llama_leaf(item: Any) -> ChromaFilter:
    key = _key(item.key)
    op = _enum_value(getattr(item, "operator", None), "==")
    value = item.value
    if op == "text_match":
        return ChromaFilter(where_document={"$contains": _scalar(key, op, value)})
    if op == "text_match_insensitive":
        text = str(_scalar(key, op, value))
        return ChromaFilter(where_document={"$regex": "(?i)" + re.escape(text)})
    if op in ("any", "all"):
        values = _operand(key, "$in", value)
        parts = [{key: {"$contains": v}} for v in values]
        return ChromaFilter(where=_combine("$or" if op == "any" else "$and", parts))
    chroma_op = _LLAMA_OPS.get(op)
    if chroma_op is None:
        supported = ", ".join([*_LLAMA_OPS, "any", "all", "text_match", "text_match_insensitive"])
        raise FilterError(
            f"LlamaIndex filter operator {op!r} on {key!r} has no Chroma equivalent; "
            f"supported: {supported}"
        )
    return ChromaFilter(where={key: {chroma_op: _operand(key, chroma_op, value)}})


def _llama(filters: Any) -> ChromaFilter:
    condition = _enum_value(getattr(filters, "condition", None), "and").lower()
    if condition not in ("and", "or"):
        raise FilterError(
            f"LlamaIndex filter condition {condition!r} is not supported by Chroma; "
            "use and / or (negate the operators instead of NOT)"
        )
    parts = [
        _llama(item) if _is_llama_filters(item) else _llama_leaf(item) for item in filters.filters
    ]
    wheres = [p.where for p in parts if p.where is not None]
    docs = [p.where_document for p in parts if p.where_document is not None]
    if condition == "or" and wheres and docs:
        raise FilterError(
            "cannot OR a text match with metadata filters: Chroma applies where and "
            "where_document together (AND)"
        )
    op = "$and" if condition == "and" else "$or"
    return ChromaFilter(where=_combine(op, wheres), where_document=_combine(op, docs))


def to_chroma_filter(filter: Any = None, where_document: Any = None) -> ChromaFilter:
    """Translate any supported filter (plus an optional `where_document`) for Chroma."""
    if filter is None and where_document is None:  # most queries: nothing to build
        return NO_FILTER
    if filter is None or (isinstance(filter, Mapping) and not filter):
        result = NO_FILTER
    elif _is_llama_filters(filter):
        result = _llama(filter)
    elif _is_llama_filter(filter) and not isinstance(filter, Mapping):
        result = _llama_leaf(filter)
    else:
        result = ChromaFilter(where=_where(filter))
    extra = validate_where_document(where_document)
    if extra is None:
        return result
    docs = [d for d in (result.where_document, extra) if d is not None]
    return ChromaFilter(where=result.where, where_document=_combine("$and", docs))


def to_chroma_where(filter: Any) -> Where | None:
    """The Chroma `where` dict for `filter`; `FilterError` if it also needs document text.

    Use `to_chroma_filter` for filters that include TEXT_MATCH.
    """
    result = to_chroma_filter(filter)
    if result.where_document is not None:
        raise FilterError(
            "this filter matches document text (TEXT_MATCH); use to_chroma_filter() "
            "and pass its where_document too"
        )
    return result.where
