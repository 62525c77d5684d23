"""Images beside text: the CLIP embedder, the native store, loaders, pipeline and CLI.

A tiny random CLIP (tests/clip_support.py) stands in for the real model: its vectors
mean nothing semantically, but an image is always nearest to itself, and everything
between the files and Chroma is real.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from clip_support import SHAPES, draw, draw_all, shared_clip, tiny_clip_dir, truncated_png
from PIL import Image
from typer.testing import CliRunner

from chromabridge import Chunk, Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import CachedEmbedder, ClipEmbedder
from chromabridge.errors import ConfigError, InputError
from chromabridge.loaders import BrokenImageError, DirectoryLoader, ImageLoader
from chromabridge.vectorstores import ChromaStore


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    return draw_all(tmp_path / "images")


def store_of(name: str, **kwargs: object) -> ChromaStore:
    return ChromaStore(name, embedder=shared_clip(), **kwargs)


# -- the embedder ---------------------------------------------------------------------


def test_clip_loads_a_saved_model_and_embeds_both_modalities(images: list[Path]) -> None:
    clip = shared_clip()
    assert clip.name == "clip:tiny-clip" and clip.dimension == 32
    assert clip.max_input_tokens == 77
    texts = clip.embed_documents(["a red circle", "a blue square"])
    pictures = clip.embed_images(images)
    assert len(texts) == 2 and len(pictures) == len(SHAPES)
    for vector in texts + pictures:
        assert len(vector) == 32 and abs(np.linalg.norm(vector) - 1) < 1e-5
    assert clip.embed_query("a red circle") == pytest.approx(texts[0], abs=1e-5)
    # no import path pulled torchvision in (its PyPI build breaks beside the CPU torch)
    assert "torchvision" not in sys.modules


def test_an_image_is_the_same_vector_whatever_form_it_comes_in(images: list[Path]) -> None:
    clip = shared_clip()
    path = images[0]
    data = path.read_bytes()
    forms = [
        path,
        str(path),
        path.as_uri(),
        data,
        Image.open(path),
        "data:image/png;base64," + base64.b64encode(data).decode(),
    ]
    vectors = clip.embed_images(forms)
    for vector in vectors[1:]:
        assert vector == pytest.approx(vectors[0], abs=1e-5)


def test_unknown_model_offline_says_where_the_weights_go() -> None:
    with pytest.raises(ConfigError) as caught:
        ClipEmbedder("no-such-org/no-such-clip-model", device="cpu")
    message = str(caught.value)
    assert "no-such-org/no-such-clip-model" in message
    assert "hf download" in message and "hub" in message and "model=DIR" in message


def test_a_text_only_embedder_refuses_images_clearly(tmp_path: Path, images: list[Path]) -> None:
    from chromabridge.embedders import FakeEmbedder

    store = ChromaStore("text-only", embedder=FakeEmbedder())
    with pytest.raises(InputError, match="embeds only text"):
        store.add_images(images[:1])
    assert store.count() == 0


def test_the_cache_serves_images_by_content(tmp_path: Path, images: list[Path]) -> None:
    cached = CachedEmbedder(shared_clip(), tmp_path / "cache.sqlite")
    first = cached.embed_images(images)
    copy = tmp_path / "copy.png"
    copy.write_bytes(images[0].read_bytes())
    again = cached.embed_images([copy, *images[1:]])
    assert cached.misses == len(images) and cached.hits == len(images)
    assert again == first
    assert cached.as_llamaindex().get_image_embedding(str(images[1])) == pytest.approx(first[1])


# -- the native store -----------------------------------------------------------------


def test_each_image_is_its_own_top_hit_and_says_it_is_an_image(images: list[Path]) -> None:
    store = store_of("images-top")
    ids = store.add_images(images, metadatas=[{"n": n} for n in range(len(images))])
    store.add([Chunk.from_text("a red circle"), Chunk.from_text("a blue square")])
    assert store.count() == len(images) + 2
    for n, path in enumerate(images):
        hits = store.query(image=path, k=3)
        top = hits[0]
        assert top.chunk.id == ids[n] and top.chunk.is_image
        assert top.chunk.metadata["source"] == str(path) and top.chunk.metadata["n"] == n
        assert top.chunk.metadata["mime_type"] == "image/png"
        assert (top.chunk.metadata["width"], top.chunk.metadata["height"]) == (48, 48)
        assert top.score == pytest.approx(1.0, abs=1e-4)
    text_hits = store.query(text="a red circle", k=10)
    assert {h.chunk.is_image for h in text_hits} == {True, False}


def test_where_picks_either_kind(images: list[Path]) -> None:
    store = store_of("images-where")
    store.add_images(images)
    store.add([Chunk.from_text("a red circle")])
    only_images = store.query(text="circle", k=10, where={"modality": "image"})
    only_text = store.query(image=images[0], k=10, where={"modality": {"$ne": "image"}})
    assert len(only_images) == len(images) and all(h.chunk.is_image for h in only_images)
    assert [h.chunk.text for h in only_text] == ["a red circle"]


def test_add_images_is_incremental_and_follows_changed_files(images: list[Path]) -> None:
    store = store_of("images-incremental")
    ids = store.add_images(images)
    assert store.add_images(images) == ids and store.count() == len(images)
    draw("triangle", "black").save(images[0])  # the file changes under the same name
    assert store.add_images(images[:1]) == ids[:1]
    top = store.query(image=images[0], k=1)[0]
    assert top.chunk.id == ids[0] and top.score == pytest.approx(1.0, abs=1e-4)
    assert store.count() == len(images)


def test_bytes_and_pil_images_are_stored_inline(images: list[Path]) -> None:
    store = store_of("images-inline")
    data = images[1].read_bytes()
    [from_bytes] = store.add_images([data])
    [kept] = store.add_images([images[2]], store_bytes=True)
    got = {c.id: c for c in store.get([from_bytes, kept])}
    assert got[from_bytes].text.startswith("data:image/png;base64,")
    assert "source" not in got[from_bytes].metadata
    assert got[kept].text.startswith("data:image/png;base64,")
    assert got[kept].metadata["source"] == str(images[2])
    assert store.query(image=Image.open(images[1]), k=1)[0].chunk.id == from_bytes


def test_a_broken_image_stores_nothing(tmp_path: Path, images: list[Path]) -> None:
    store = store_of("images-broken")
    broken = truncated_png(tmp_path / "broken.png")
    with pytest.raises(InputError, match=r"image 1: .*broken\.png"):
        store.add_images([images[0], broken, images[1]])
    assert store.count() == 0
    with pytest.raises(InputError, match="exactly one"):
        store.query(text="x", image=images[0])


async def test_async_twins(images: list[Path]) -> None:
    store = store_of("images-async")
    ids = await store.aadd_images(images[:2])
    hits = await store.aquery(image=images[1], k=1)
    assert hits[0].chunk.id == ids[1]


# -- loaders, pipeline, CLI -----------------------------------------------------------


def mixed_folder(root: Path) -> Path:
    draw_all(root / "pictures")
    (root / "notes.md").write_text(
        "# Shapes\n\n" + " ".join(f"The {c} {s} is drawn on white." for s, c in SHAPES) * 4
    )
    (root / "caption.txt").write_text("A red circle on a white background.")
    truncated_png(root / "pictures" / "torn.png")
    return root


def test_image_loader_describes_images_and_reports_broken_ones(
    tmp_path: Path, images: list[Path]
) -> None:
    broken = truncated_png(tmp_path / "torn.png")
    loader = ImageLoader([images[0], broken, images[1]], root=tmp_path)
    documents = loader.load()
    assert [d.id for d in documents] == ["images/red-circle.png", "images/blue-square.png"]
    meta = documents[0].metadata
    assert meta["modality"] == "image" and meta["mime_type"] == "image/png"
    assert (meta["width"], meta["height"]) == (48, 48)
    assert meta["content_hash"] == hashlib.sha256(images[0].read_bytes()).hexdigest()
    assert documents[0].source == str(images[0])
    [failure] = loader.report.failures
    assert failure.error_type in {"OSError", "BrokenImageError"} and "torn.png" in failure.path
    with pytest.raises(BrokenImageError):
        ImageLoader(broken, on_error="raise").load()


def test_directory_loader_yields_images_only_when_asked(tmp_path: Path) -> None:
    root = mixed_folder(tmp_path / "mixed")
    loader = DirectoryLoader(root, images=True)
    documents = loader.load()
    kinds = {d.id: d.metadata.get("modality") for d in documents}
    assert kinds["pictures/red-circle.png"] == "image" and kinds["notes.md"] is None
    assert [f.path for f in loader.report.failures] == [str(root / "pictures" / "torn.png")]


@pytest.mark.slow
def test_pipeline_ingests_a_mixed_folder_incrementally(tmp_path: Path) -> None:
    root = mixed_folder(tmp_path / "mixed")
    store = ChromaStore("mixed", embedder=shared_clip(), path=tmp_path / "db")
    chunker = RecursiveChunker(60, 0)

    def run() -> object:
        return Pipeline(DirectoryLoader(root, images=True), chunker, None, store).run()

    first = run()
    assert first.added == 7 and first.failed == 1  # 5 images, 2 texts; the torn PNG
    images = store.get(where={"modality": "image"})
    texts = store.get(where={"modality": {"$ne": "image"}})
    assert len(images) == 5 and len(texts) > 2  # notes.md was chunked, images stored whole
    red = root / "pictures" / "red-circle.png"
    assert store.query(image=red, k=1)[0].chunk.metadata["source"] == str(red)
    second = run()
    assert second.unchanged == 7 and second.chunks_written == 0
    draw("square", "black").save(red)
    third = run()
    assert third.updated == 1 and third.unchanged == 6
    assert store.query(image=red, k=1)[0].score == pytest.approx(1.0, abs=1e-4)
    assert store.count() == len(images) + len(texts)


@pytest.mark.slow
def test_cli_ingests_images_and_queries_by_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chromabridge import specs
    from chromabridge.cli import app

    made = specs.make_embedder

    def make(spec: str) -> object:  # one CLIP per process; other specs as usual
        return shared_clip() if spec.startswith("clip:") else made(spec)

    monkeypatch.setattr(specs, "make_embedder", make)
    root = mixed_folder(tmp_path / "mixed")
    db = str(tmp_path / "db")
    runner = CliRunner()
    spec = f"clip:{tiny_clip_dir()}"
    result = runner.invoke(
        app, ["ingest", str(root), "--images", "--embedder", spec, "--path", db, "--json"]
    )
    assert result.exit_code == 1, result.output  # the torn PNG is listed, the rest stored
    report = json.loads(result.output)
    assert report["added"] == 7
    red = root / "pictures" / "blue-square.png"
    result = runner.invoke(app, ["query", "--image", str(red), "--path", db, "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert hits[0]["source"] == str(red) and hits[0]["metadata"]["modality"] == "image"
    result = runner.invoke(app, ["query", "--path", db])
    assert result.exit_code == 2 and "--image" in result.output
    text_only = [
        "ingest",
        str(root),
        "--images",
        "--embedder",
        "local",
        "--path",
        db,
        "-c",
        "texts",
    ]
    result = runner.invoke(app, text_only)
    assert result.exit_code == 2 and "embeds images" in " ".join(result.output.split())


def test_clip_spec_and_its_default_chunker_fit_the_window() -> None:
    from chromabridge.specs import default_chunker, make_chunker, spec_of

    clip = shared_clip()
    assert spec_of(clip.name) == clip.name
    spec = default_chunker(clip)
    assert spec == "recursive:75:7:tokens"
    chunker = make_chunker(spec, clip)
    from chromabridge.pipeline import check_chunk_size

    check_chunk_size(chunker, clip)  # does not raise
    assert default_chunker(None) == "recursive:200:20:tokens"


@pytest.mark.server
async def test_images_on_a_chroma_server(chroma_server: object, images: list[Path]) -> None:
    host, port = chroma_server.host, chroma_server.port  # type: ignore[attr-defined]
    store = ChromaStore("images-server", embedder=shared_clip(), host=host, port=port)
    ids = await store.aadd_images(images)  # AsyncHttpClient end to end
    assert await store.aadd_images(images) == ids and await store.acount() == len(images)
    for n, path in enumerate(images):
        assert store.query(image=path, k=1)[0].chunk.id == ids[n]
    store.delete_collection()


def test_the_guard_keeps_other_embedders_out_of_an_image_collection(images: list[Path]) -> None:
    import chromadb

    from chromabridge.embedders import FakeEmbedder
    from chromabridge.errors import EmbedderMismatchError

    client = chromadb.EphemeralClient()
    ChromaStore("images-guard", embedder=shared_clip(), client=client).add_images(images[:1])
    with pytest.raises(EmbedderMismatchError, match="clip:tiny-clip"):
        ChromaStore("images-guard", embedder=FakeEmbedder(), client=client)
