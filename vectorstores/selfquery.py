"""LangChain self-query for `ChromaStore`: a structured-query translator.

LangChain's `SelfQueryRetriever` has an LLM write a structured query (a search string
plus a filter over metadata) and needs a translator per store to turn that filter into
the store's own dialect; the stock list knows only `langchain_chroma.Chroma`. Pass ours:

    SelfQueryRetriever.from_llm(llm, store.as_langchain(), contents, fields,
                                structured_query_translator=ChromaBridgeTranslator())

or call `self_query_retriever(llm, store, contents, fields)`, which does just that.

Every comparator and operator our filter rules express is translated: eq, ne, gt, gte,
lt, lte, in, nin, contain (a value inside a list-valued field), and, or, not (pushed
down by De Morgan: `not (a > 1)` is `a <= 1`, so like a SQL WHERE clause a record
missing the field matches neither). `like` has no Chroma counterpart: it raises
`InputError` naming it, never a silently dropped filter. Results are validated by
`to_chroma_where`, so a value Chroma cannot compare (gt on a string) fails here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.structured_query import (
    Comparator,
    Comparison,
    Operation,
    Operator,
    StructuredQuery,
    Visitor,
)

from chromabridge.errors import InputError

from .filters import to_chroma_where

__all__ = ["ChromaBridgeTranslator", "self_query_retriever"]

Where = dict[str, Any]

_COMPARATORS = {
    Comparator.EQ: "$eq",
    Comparator.NE: "$ne",
    Comparator.GT: "$gt",
    Comparator.GTE: "$gte",
    Comparator.LT: "$lt",
    Comparator.LTE: "$lte",
    Comparator.IN: "$in",
    Comparator.NIN: "$nin",
    Comparator.CONTAIN: "$contains",
}
_NEGATED = {
    "$eq": "$ne",
    "$gt": "$lte",
    "$gte": "$lt",
    "$in": "$nin",
    "$contains": "$not_contains",
}
_NEGATED.update({v: k for k, v in list(_NEGATED.items())})
_LOGICAL = {Operator.AND: "$and", Operator.OR: "$or"}


def _value(value: Any) -> Any:
    """LangChain's parser writes dates as {"date": "...", "type": "date"}: stored dates
    are ISO strings (our metadata rules), so compare with the string."""
    if isinstance(value, dict) and value.get("type") in ("date", "datetime"):
        return value.get(value["type"])
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return value


def _negate(where: Where) -> Where:
    """`where` negated, pushed down to the comparisons (Chroma has no $not)."""
    [(key, body)] = where.items()
    if key in ("$and", "$or"):
        return {"$or" if key == "$and" else "$and": [_negate(part) for part in body]}
    [(op, value)] = body.items()
    return {key: {_NEGATED[op]: value}}


class ChromaBridgeTranslator(Visitor):
    """Structured queries -> `ChromaStore` filters (Chroma `where` dicts)."""

    allowed_comparators: Sequence[Comparator] = tuple(_COMPARATORS)
    allowed_operators: Sequence[Operator] = (Operator.AND, Operator.OR, Operator.NOT)

    def visit_comparison(self, comparison: Comparison) -> Where:
        op = _COMPARATORS.get(Comparator(comparison.comparator))
        if op is None:
            supported = ", ".join(c.value for c in _COMPARATORS)
            raise InputError(
                f"comparator {Comparator(comparison.comparator).value!r} on "
                f"{comparison.attribute!r} cannot be expressed as a Chroma filter; "
                f"supported: {supported}"
            )
        value = _value(comparison.value)
        if op in ("$in", "$nin") and not isinstance(value, list):
            value = [value]
        return {comparison.attribute: {op: value}}

    def visit_operation(self, operation: Operation) -> Where:
        parts = [arg.accept(self) for arg in operation.arguments]
        operator = Operator(operation.operator)
        if operator is Operator.NOT:
            if len(parts) != 1:
                raise InputError(f"'not' takes one argument, got {len(parts)}")
            return _negate(parts[0])
        if operator not in _LOGICAL:
            raise InputError(f"operator {operator.value!r} cannot be expressed as a Chroma filter")
        return parts[0] if len(parts) == 1 else {_LOGICAL[operator]: parts}

    def visit_structured_query(
        self, structured_query: StructuredQuery
    ) -> tuple[str, dict[str, Any]]:
        if structured_query.filter is None:
            return structured_query.query, {}
        where = structured_query.filter.accept(self)
        return structured_query.query, {"filter": to_chroma_where(where)}


def self_query_retriever(
    llm: Any,
    store: Any,
    document_contents: str,
    metadata_field_info: Sequence[Any],
    **kwargs: Any,
) -> Any:
    """`SelfQueryRetriever.from_llm` over a `ChromaStore` (or its LangChain face) with
    our translator; needs `langchain-classic` (or `langchain` < 1) and `lark`."""
    try:
        from langchain_classic.retrievers.self_query.base import SelfQueryRetriever
    except ImportError:  # pragma: no cover - older LangChain
        from langchain.retrievers.self_query.base import (  # type: ignore[import-not-found,no-redef]
            SelfQueryRetriever,
        )
    vectorstore = store.as_langchain() if hasattr(store, "as_langchain") else store
    kwargs.setdefault("structured_query_translator", ChromaBridgeTranslator())
    return SelfQueryRetriever.from_llm(
        llm, vectorstore, document_contents, metadata_field_info, **kwargs
    )
