"""Drop-in parity, read from the installed stock classes through `inspect`: every public
member and every constructor (and method) parameter of `langchain_chroma.Chroma` and
LlamaIndex's `ChromaVectorStore` exists on our faces, apart from a short allow-list that
says why. A new stock release that adds a name makes this fail until we follow."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from langchain_chroma import Chroma
from llama_index.vector_stores.chroma import ChromaVectorStore

from chromabridge.vectorstores.langchain import LangChainVectorStore
from chromabridge.vectorstores.llamaindex import LlamaIndexVectorStore

#: Stock names we do not offer (yet), each with the reason.
ALLOWED_MISSING: dict[type, dict[str, str]] = {
    Chroma: {
        "add_images": "issue #17 (multi-modal, engineer `multimodal`)",
        "encode_image": "issue #17 (multi-modal, engineer `multimodal`)",
        "similarity_search_by_image": "issue #17 (multi-modal, engineer `multimodal`)",
        "similarity_search_by_image_with_relevance_score": "issue #17 (multi-modal)",
    },
    ChromaVectorStore: {},
}
#: Methods whose `**kwargs` forward to the constructor, so stock's explicit constructor
#: arguments are accepted there by name (checked against our constructor instead).
FORWARD_TO_CONSTRUCTOR = {"from_texts", "from_documents", "from_params"}
#: Private names that tutorials and notebooks use (`db._collection.count()`).
PRIVATE_IN_USE: dict[type, list[str]] = {
    Chroma: ["_collection", "_client"],
    ChromaVectorStore: ["_collection"],
}
PAIRS = [(Chroma, LangChainVectorStore), (ChromaVectorStore, LlamaIndexVectorStore)]
IDS = ["langchain", "llamaindex"]


def public(cls: type) -> set[str]:
    names = {n for n in dir(cls) if not n.startswith("_")}
    return names | set(getattr(cls, "model_fields", {}))  # pydantic fields too


def named_parameters(func: Callable[..., Any]) -> list[str]:
    """Parameter names a caller can pass by name (not *args/**kwargs, self, cls)."""
    return [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("self", "cls")
    ]


def positional_parameters(func: Callable[..., Any]) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind in kinds and p.name not in ("self", "cls")
    ]


@pytest.mark.parametrize(("stock", "ours"), PAIRS, ids=IDS)
def test_every_stock_public_member_exists(stock: type, ours: type) -> None:
    missing = public(stock) - public(ours) - set(ALLOWED_MISSING[stock])
    assert not missing, f"{ours.__name__} lacks stock {stock.__name__} names: {sorted(missing)}"
    for name in PRIVATE_IN_USE[stock]:
        assert isinstance(inspect.getattr_static(ours, name), property), name


@pytest.mark.parametrize(("stock", "ours"), PAIRS, ids=IDS)
def test_constructor_takes_every_stock_argument_in_stock_order(stock: type, ours: type) -> None:
    stock_names = named_parameters(stock.__init__)  # type: ignore[misc]
    our_names = named_parameters(ours.__init__)  # type: ignore[misc]
    assert [n for n in stock_names if n not in our_names] == []
    # positional calls such as Chroma("docs", embeddings, "./db") mean the same
    stock_positional = positional_parameters(stock.__init__)  # type: ignore[misc]
    assert positional_parameters(ours.__init__)[: len(stock_positional)] == stock_positional  # type: ignore[misc]


@pytest.mark.parametrize(("stock", "ours"), PAIRS, ids=IDS)
def test_every_stock_method_takes_stock_arguments(stock: type, ours: type) -> None:
    constructor = set(named_parameters(ours.__init__))  # type: ignore[misc]
    problems = []
    for name in sorted(public(stock) & public(ours)):
        stock_member, our_member = getattr(stock, name, None), getattr(ours, name, None)
        if not inspect.isroutine(stock_member):
            continue
        assert inspect.isroutine(our_member), f"{name} is not a method on {ours.__name__}"
        stock_names = named_parameters(stock_member)
        our_names = named_parameters(our_member)
        missing = [n for n in stock_names if n not in our_names]
        if name in FORWARD_TO_CONSTRUCTOR:
            missing = [n for n in missing if n not in constructor]
        if missing:
            problems.append(f"{name}: {missing}")
        stock_positional = positional_parameters(stock_member)
        our_positional = positional_parameters(our_member)
        if name not in FORWARD_TO_CONSTRUCTOR and our_positional[: len(stock_positional)] != (
            stock_positional
        ):
            problems.append(f"{name}: positional {our_positional} vs stock {stock_positional}")
    assert not problems, problems


def test_allow_list_gives_a_reason_for_each_entry() -> None:
    for entries in ALLOWED_MISSING.values():
        assert all(reason.strip() for reason in entries.values())
        assert len(entries) <= 5  # short, or the face is not a drop-in
