"""Images through the framework faces: LangChain's image methods, LlamaIndex's ImageNodes
and MultiModalVectorStoreIndex, and interop with stock `langchain_chroma.Chroma`."""

from __future__ import annotations

from pathlib import Path

import chromadb
import pytest
from clip_support import draw_all, shared_clip
from langchain_chroma import Chroma
from llama_index.core import StorageContext
from llama_index.core.indices.multi_modal import MultiModalVectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.schema import ImageNode, TextNode

from chromabridge.vectorstores import ChromaStore
from chromabridge.vectorstores.langchain import LangChainVectorStore


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    return draw_all(tmp_path / "images")


def test_langchain_add_images_and_search_by_image(images: list[Path]) -> None:
    face = LangChainVectorStore("lc-images", embedding_function=shared_clip().as_langchain())
    uris = [str(p) for p in images]
    ids = face.add_images(uris, metadatas=[{"tag": "first"}])  # short list: rest empty
    face.add_texts(["a red circle", "a blue square"])
    for n, uri in enumerate(uris):
        [top, _] = face.similarity_search_by_image(uri, k=2)
        assert top.id == ids[n] and top.metadata["source"] == uri
        assert top.metadata["modality"] == "image" and top.page_content == uri
    assert face.similarity_search_by_image(uris[0], k=1)[0].metadata["tag"] == "first"
    scored = face.similarity_search_by_image_with_relevance_score(uris[1], k=2)
    # Chroma's distance, as langchain_chroma returns it (lower is better)
    assert scored[0][0].metadata["source"] == uris[1] and scored[0][1] <= scored[1][1]
    only_text = face.similarity_search_by_image(uris[0], k=5, filter={"modality": {"$ne": "image"}})
    assert {d.page_content for d in only_text} == {"a red circle", "a blue square"}


def test_langchain_face_refuses_images_without_an_image_embedder(images: list[Path]) -> None:
    from chromabridge.embedders import FakeEmbedder

    face = LangChainVectorStore("lc-text-only", embedding_function=FakeEmbedder())
    with pytest.raises(ValueError, match="embeds only text"):
        face.similarity_search_by_image(str(images[0]))


def test_stock_add_images_is_searchable_through_our_face(images: list[Path]) -> None:
    client = chromadb.EphemeralClient()
    embeddings = shared_clip().as_langchain()
    stock = Chroma("stock-images", embedding_function=embeddings, client=client)
    ids = stock.add_images([str(p) for p in images], metadatas=[{"n": n} for n in range(5)])
    ours = LangChainVectorStore("stock-images", embedding_function=embeddings, client=client)
    for n, path in enumerate(images):
        top = ours.similarity_search_by_image(str(path), k=1)[0]
        assert top.id == ids[n] and top.metadata == {"n": n}
    native = ours.store.query(image=images[2], k=1)[0]
    assert native.chunk.id == ids[2] and native.score == pytest.approx(1.0, abs=1e-4)


def test_stock_store_reads_our_image_records(images: list[Path]) -> None:
    client = chromadb.EphemeralClient()
    clip = shared_clip()
    store = ChromaStore("our-images", embedder=clip, client=client)
    store.add_images(images)
    stock = Chroma("our-images", embedding_function=clip.as_langchain(), client=client)
    for path in images:
        top = stock.similarity_search_by_image(str(path), k=1)[0]
        assert top.metadata["source"] == str(path) and top.page_content == str(path)
        assert top.metadata["modality"] == "image"


def test_llamaindex_multimodal_index_over_our_store(images: list[Path]) -> None:
    clip = shared_clip()
    store = ChromaStore("li-images", embedder=clip)
    face = store.as_llamaindex()
    context = StorageContext.from_defaults(vector_store=face, image_store=face)
    nodes = [ImageNode(image_path=str(p), metadata={"n": n}) for n, p in enumerate(images)]
    nodes.append(TextNode(text="a red circle on white"))
    embed = clip.as_llamaindex()
    index = MultiModalVectorStoreIndex(
        nodes, storage_context=context, embed_model=embed, image_embed_model=embed
    )
    assert store.count() == len(images) + 1
    retriever = index.as_retriever(similarity_top_k=2, image_similarity_top_k=2)
    for n, path in enumerate(images):
        top = retriever.image_to_image_retrieve(str(path))[0]
        assert isinstance(top.node, ImageNode) and top.node.image_path == str(path)
        assert top.node.node_id == nodes[n].node_id and top.node.metadata["n"] == n
    found = retriever.retrieve("a red circle")  # text search, then text-to-image search
    kinds = {isinstance(hit.node, ImageNode) for hit in found}
    assert kinds == {True, False}
    engine = index.as_query_engine(llm=MockLLM(max_tokens=8))
    answer = engine.query("which shape is red?")
    assert {isinstance(n.node, ImageNode) for n in answer.source_nodes} == {True, False}
    got = face.get_nodes([nodes[0].node_id])
    assert isinstance(got[0], ImageNode) and got[0].image_mimetype == "image/png"


def test_chroma_face_embeds_pixel_arrays(images: list[Path]) -> None:
    import numpy as np
    from PIL import Image

    ef = shared_clip().as_chroma()
    collection = chromadb.EphemeralClient().create_collection(
        "chroma-images", embedding_function=ef
    )
    pixels = [np.asarray(Image.open(p).convert("RGB")) for p in images]
    collection.add(ids=[p.name for p in images], images=pixels)
    found = collection.query(query_images=[pixels[2]], n_results=1, include=["distances"])
    assert found["ids"][0] == [images[2].name] and found["distances"][0][0] < 1e-4
    texts = collection.query(query_texts=["a green triangle"], n_results=5)
    assert len(texts["ids"][0]) == len(images)
