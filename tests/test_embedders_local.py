"""LocalEmbedder with the bundled all-MiniLM-L6-v2 (loaded once per test process)."""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings

import numpy as np
import pytest
from embedder_servers import shared_local_embedder

from chromabridge.embedders import Embedder, LocalEmbedder
from chromabridge.errors import ConfigError, EmbeddingError


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    emb = shared_local_embedder()
    assert isinstance(emb, LocalEmbedder)
    return emb


def test_identity_comes_from_the_bundled_model(local: LocalEmbedder) -> None:
    assert isinstance(local, Embedder)
    assert local.name == "local:all-MiniLM-L6-v2"
    assert local.dimension == 384
    assert local.max_input_tokens == 256
    assert local.max_text_tokens == 254
    assert local.device in ("cpu", "cuda", "mps")


def test_vectors_match_sentence_transformers_and_keep_input_order(local: LocalEmbedder) -> None:
    texts = [
        "A long paragraph about databases " * 20,
        "short",
        "cats purr",
        "short",
        "",
        "A medium sentence about vector search engines.",
    ]
    vectors = local.embed_documents(texts)
    direct = local.model.encode(texts, normalize_embeddings=True)
    assert np.allclose(np.array(vectors), direct, atol=1e-5)
    assert vectors[1] == vectors[3]
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vectors)
    assert local.embed_documents([]) == []


def test_meaning_decides_distance(local: LocalEmbedder) -> None:
    a, b, c = local.embed_documents(
        ["The cat sits on the mat.", "A cat is sitting on a rug.", "Stock markets fell sharply."]
    )
    assert np.dot(a, b) > np.dot(a, c) + 0.3
    assert np.dot(local.embed_query("where is the cat?"), a) > 0.4


def test_token_count_is_exposed_for_chunkers(local: LocalEmbedder) -> None:
    text = "Tokenizers split unbelievably long words"
    assert local.count_tokens(text) == len(local.tokenizer.tokenize(text))
    assert local.count_tokens("") == 0


def test_over_long_input_warns_once(local: LocalEmbedder) -> None:
    fresh = copy.copy(local)  # same model, its own warn-once state
    fresh._warned = False
    long = "word " * 400
    with pytest.warns(UserWarning, match=r"text 1 has 400 tokens.*first 254"):
        fresh.embed_documents(["ok", long])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh.embed_documents([long])


def test_strict_mode_raises_on_over_long_input(local: LocalEmbedder) -> None:
    strict = copy.copy(local)
    strict.strict = True
    with pytest.raises(EmbeddingError, match=r"text 0 has 400 tokens.*count_tokens"):
        strict.embed_documents(["word " * 400])
    assert len(strict.embed_documents(["word " * 254])[0]) == 384


async def test_async_runs_off_the_event_loop(local: LocalEmbedder) -> None:
    docs = await local.aembed_documents(["x", "y"])
    assert docs == local.embed_documents(["x", "y"])
    assert await local.aembed_query("x") == pytest.approx(docs[0], abs=1e-6)


def test_bad_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="could not load"):
        LocalEmbedder("/nonexistent/model/dir", device="cpu")
    with pytest.raises(ConfigError, match="batch_size"):
        LocalEmbedder(batch_size=0)


def test_importing_embedders_pulls_in_no_sdk() -> None:
    code = (
        "import sys, chromabridge.embedders as e; "
        "heavy = ('langchain_core', 'llama_index', 'openai', 'cohere', 'sentence_transformers', "
        "'torch', 'tiktoken'); "
        "print([m for m in sys.modules if m.split('.')[0] in heavy]); "
        "assert e.OpenAIEmbedder.__name__ == 'OpenAIEmbedder'; "
        "print([m for m in sys.modules if m.split('.')[0] in heavy])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = out.stdout.splitlines()
    assert first == "[]"
    assert "openai" not in second  # the class loads; its SDK only on construction
