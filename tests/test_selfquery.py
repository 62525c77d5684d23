"""LangChain's SelfQueryRetriever over our store, driven by a fake LLM that writes
structured queries: eq, gt, in, and/or, contain, not; `like` is a clear InputError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_classic.chains.query_constructor.schema import AttributeInfo
from langchain_classic.retrievers.self_query.base import SelfQueryRetriever
from langchain_core.language_models import FakeListLLM
from langchain_core.structured_query import (
    Comparator,
    Comparison,
    Operation,
    Operator,
    StructuredQuery,
)

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import FilterError, InputError
from chromabridge.types import Chunk
from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.selfquery import ChromaBridgeTranslator, self_query_retriever

ROWS: dict[str, dict[str, Any]] = {
    "cat": {"kind": "pet", "year": 2001, "tags": ["fluffy", "small"]},
    "dog": {"kind": "pet", "year": 2011, "tags": ["loyal"]},
    "lion": {"kind": "wild", "year": 2015, "tags": ["fluffy", "big"]},
    "chroma": {"kind": "db", "year": 2023, "tags": ["vectors"]},
}
FIELDS = [
    AttributeInfo(name="kind", description="pet, wild or db", type="string"),
    AttributeInfo(name="year", description="year written", type="integer"),
    AttributeInfo(name="tags", description="labels", type="list[string]"),
]


@pytest.fixture
def store(collection_name: str) -> ChromaStore:
    made = ChromaStore(collection_name, embedder=FakeEmbedder())
    made.add(
        [Chunk.from_text(f"all about the {i}", id=i, doc_id=i, metadata=m) for i, m in ROWS.items()]
    )
    return made


def _llm(filter_text: str) -> FakeListLLM:
    answer = json.dumps({"query": "animals", "filter": filter_text})
    return FakeListLLM(responses=[f"```json\n{answer}\n```"] * 4)


CASES = [
    ('eq("kind", "pet")', lambda m: m["kind"] == "pet"),
    ('gt("year", 2012)', lambda m: m["year"] > 2012),
    ('in("kind", ["wild", "db"])', lambda m: m["kind"] in ("wild", "db")),
    (
        'or(and(eq("kind", "pet"), gt("year", 2005)), eq("kind", "db"))',
        lambda m: (m["kind"] == "pet" and m["year"] > 2005) or m["kind"] == "db",
    ),
    ('contain("tags", "fluffy")', lambda m: "fluffy" in m["tags"]),
    (
        'and(contain("tags", "fluffy"), not(eq("kind", "wild")))',
        lambda m: "fluffy" in m["tags"] and m["kind"] != "wild",
    ),
    (
        'not(or(lte("year", 2011), eq("kind", "db")))',
        lambda m: not (m["year"] <= 2011 or m["kind"] == "db"),
    ),
    ("NO_FILTER", lambda m: True),
]


@pytest.mark.parametrize(("filter_text", "predicate"), CASES, ids=[c[0] for c in CASES])
async def test_fake_llm_filters_select_exactly(
    store: ChromaStore, filter_text: str, predicate: Any
) -> None:
    retriever = SelfQueryRetriever.from_llm(
        _llm(filter_text),
        store.as_langchain(),
        "short notes about animals and databases",
        FIELDS,
        structured_query_translator=ChromaBridgeTranslator(),
        search_kwargs={"k": 10},
    )
    expected = sorted(i for i, m in ROWS.items() if predicate(m))
    assert sorted(d.id for d in retriever.invoke("which ones?")) == expected
    assert sorted(d.id for d in await retriever.ainvoke("which ones?")) == expected


def test_helper_builds_the_retriever_on_a_native_store(store: ChromaStore) -> None:
    retriever = self_query_retriever(
        _llm('eq("kind", "wild")'), store, "notes", FIELDS, search_kwargs={"k": 10}
    )
    assert [d.id for d in retriever.invoke("wild ones")] == ["lion"]


def test_like_is_an_input_error_not_a_dropped_filter(store: ChromaStore) -> None:
    retriever = self_query_retriever(
        _llm('like("kind", "pe")'),
        store,
        "notes",
        FIELDS,
        chain_kwargs={"allowed_comparators": list(Comparator)},
    )
    with pytest.raises(InputError, match="'like' on 'kind' cannot be expressed"):
        retriever.invoke("pets?")
    direct = Comparison(comparator=Comparator.LIKE, attribute="kind", value="pe")
    with pytest.raises(InputError, match="like"):
        ChromaBridgeTranslator().visit_comparison(direct)


def test_values_chroma_cannot_compare_fail_in_translation() -> None:
    translator = ChromaBridgeTranslator()
    query = Operation(
        operator=Operator.AND,
        arguments=[Comparison(comparator=Comparator.GT, attribute="kind", value="pet")],
    )
    with pytest.raises(FilterError, match="compares numbers only"):
        translator.visit_structured_query(StructuredQuery(query="x", filter=query))
