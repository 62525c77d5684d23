"""`FakeEmbedder`: the shipped test embedder, deterministic, near for shared words, with
working LangChain, LlamaIndex and chromadb faces."""

from __future__ import annotations

import math
import subprocess
import sys

import chromadb
import pytest

from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ConfigError, InputError

TEXTS = ["python is a programming language", "cats and dogs are pets", "python code runs"]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_deterministic_across_instances_and_processes() -> None:
    here = FakeEmbedder(32).embed_query("python language")
    there = subprocess.run(
        [sys.executable, "-c", "from chromabridge.embedders import FakeEmbedder as F; "
         "print(F(32).embed_query('python language'))"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    assert here == FakeEmbedder(32).embed_query("python language")
    assert str(here) == there.strip()  # not Python's per-process salted hash()
    assert math.isclose(sum(v * v for v in here), 1.0)


def test_shared_words_are_near_and_calls_are_recorded() -> None:
    fake = FakeEmbedder()
    docs = fake.embed_documents(TEXTS)
    query = fake.embed_query("python language")
    ranked = sorted(range(len(TEXTS)), key=lambda i: -_cosine(query, docs[i]))
    assert ranked[-1] == 1  # the pets sentence shares no word
    assert fake.calls == [TEXTS]
    assert (fake.name, fake.dimension, fake.max_input_tokens) == ("fake:hash", 64, None)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "64"])
def test_bad_dimension_is_an_input_error(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        FakeEmbedder(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, InputError)


async def test_framework_faces() -> None:
    from langchain_core.vectorstores import InMemoryVectorStore

    fake = FakeEmbedder()
    lc = fake.as_langchain()
    assert lc.embed_query("python") == fake.embed_query("python")
    assert await lc.aembed_documents(TEXTS) == fake.embed_documents(TEXTS)
    store = InMemoryVectorStore(lc)
    store.add_texts(TEXTS)
    assert store.similarity_search("pets like cats", k=1)[0].page_content == TEXTS[1]

    li = fake.as_llamaindex()
    assert li.get_text_embedding(TEXTS[0]) == fake.embed_documents([TEXTS[0]])[0]
    assert await li.aget_query_embedding("python") == fake.embed_query("python")

    collection = chromadb.EphemeralClient().get_or_create_collection(
        "fake-face",
        embedding_function=fake.as_chroma(),  # type: ignore[arg-type]
    )
    collection.add(ids=["a", "b", "c"], documents=TEXTS)
    found = collection.query(query_texts=["dogs"], n_results=1)
    assert found["ids"] == [["b"]]
