"""CohereEmbedder's images through the real `cohere` SDK against the loopback /v2/embed:
base64 data URIs, `input_type="image"`, Cohere's per-request image limits."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from clip_support import draw_all
from embedder_servers import FakeServer, cohere_answer, fake_vector, serve

from chromabridge.embedders import CohereEmbedder
from chromabridge.errors import InputError
from chromabridge.retry import RetryPolicy
from chromabridge.vectorstores import ChromaStore

KEY = "co-test-key-0123456789SECRET"
FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05, max_elapsed=5)


@pytest.fixture(scope="module")
def api() -> Iterator[FakeServer]:
    with serve(cohere_answer) as srv:
        yield srv


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    return draw_all(tmp_path / "images")


def make(api: FakeServer, model: str) -> CohereEmbedder:
    return CohereEmbedder(model, api_key=KEY, base_url=api.url, retry=FAST)


def test_embed_v4_sends_data_uris_as_images(api: FakeServer, images: list[Path]) -> None:
    api.reset()
    emb = make(api, "embed-v4.0")
    vectors = emb.embed_images(images)
    [request] = api.seen
    body = request.body
    assert request.path == "/v2/embed" and body["input_type"] == "image"
    assert "texts" not in body and len(body["images"]) == len(images)
    first = body["images"][0]
    assert first.startswith("data:image/png;base64,")
    assert base64.b64decode(first.partition(",")[2]) == images[0].read_bytes()
    assert vectors[0] == pytest.approx(fake_vector(f"image|{first}", 1536))
    assert len(vectors) == len(images) and all(len(v) == 1536 for v in vectors)


def test_v3_models_get_one_image_per_request(api: FakeServer, images: list[Path]) -> None:
    api.reset()
    vectors = make(api, "embed-english-v3.0").embed_images(images[:3])
    assert [len(seen.body["images"]) for seen in api.seen] == [1, 1, 1]
    assert len(vectors) == 3


async def test_async_images_and_a_store_search_by_image(
    api: FakeServer, images: list[Path]
) -> None:
    api.reset()
    emb = make(api, "embed-v4.0")
    assert await emb.aembed_images(images[:2]) == emb.embed_images(images[:2])
    store = ChromaStore("cohere-images", embedder=emb)
    ids = store.add_images(images)
    assert store.query(image=images[3], k=1)[0].chunk.id == ids[3]


def test_a_broken_image_is_refused_before_any_request(api: FakeServer, tmp_path: Path) -> None:
    api.reset()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    store = ChromaStore("cohere-broken", embedder=make(api, "embed-v4.0"))
    with pytest.raises(InputError, match=r"broken\.png"):
        store.add_images([broken])
    assert api.seen == [] and KEY not in repr(store)
