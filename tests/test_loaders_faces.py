"""The LangChain and LlamaIndex faces: same documents, framework types, our ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document as LCDocument
from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document as LIDocument
from llama_index.core.schema import MetadataMode

from chromabridge.loaders import DirectoryLoader, FileLoader, TextLoader
from chromabridge.loaders.langchain import LangChainLoader
from chromabridge.loaders.llamaindex import LlamaIndexReader


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("faces")
    (base / "a.md").write_text("# Alpha\n\nAlpha text about vector stores.\n")
    (base / "sub").mkdir()
    (base / "sub" / "b.txt").write_text("Bravo text about rerankers.\n")
    (base / "sub" / "empty.txt").touch()
    return base


def test_langchain_face_is_a_base_loader_with_our_ids(root: Path) -> None:
    native = DirectoryLoader(root)
    face = native.as_langchain()
    assert isinstance(face, BaseLoader) and isinstance(face, LangChainLoader)
    docs = face.load()
    assert all(isinstance(d, LCDocument) for d in docs)
    assert [d.id for d in docs] == ["a.md", "sub/b.txt"]
    assert docs[0].page_content.startswith("# Alpha")
    assert docs[1].metadata["source"] == str(root / "sub" / "b.txt")
    assert docs[1].metadata["filename"] == "b.txt"
    assert [f.error_type for f in face.report] == ["EmptyFileError"]


async def test_langchain_alazy_load_streams_the_same_documents(root: Path) -> None:
    face = DirectoryLoader(root).as_langchain()
    docs = [doc async for doc in face.alazy_load()]
    assert [d.id for d in docs] == [d.id for d in face.load()]
    assert [d.page_content for d in await face.aload()] == [d.page_content for d in docs]


def test_llamaindex_face_uses_our_id_as_doc_id(root: Path) -> None:
    reader = DirectoryLoader(root).as_llamaindex()
    assert isinstance(reader, BaseReader) and isinstance(reader, LlamaIndexReader)
    docs = reader.load_data()
    assert all(isinstance(d, LIDocument) for d in docs)
    assert [d.doc_id for d in docs] == ["a.md", "sub/b.txt"]
    assert [d.id_ for d in reader.lazy_load_data()] == ["a.md", "sub/b.txt"]
    assert docs[1].metadata["source"] == str(root / "sub" / "b.txt")
    assert len(reader.report) == 1


def test_llamaindex_embeds_content_not_bookkeeping(root: Path) -> None:
    [doc] = TextLoader(root / "a.md").as_llamaindex().load_data()
    embedded = doc.get_content(metadata_mode=MetadataMode.EMBED)
    assert "filename: a.md" in embedded
    assert "last_modified" not in embedded and "file_size" not in embedded
    assert "Alpha text" in embedded


def test_single_file_loaders_have_faces_too(root: Path) -> None:
    lc = FileLoader(root / "a.md", mode="elements").as_langchain().load()
    assert [d.id for d in lc] == ["a.md#element=0", "a.md#element=1"]
    assert lc[0].metadata["category"] == "Title"
    li = TextLoader(root / "sub" / "b.txt", id="custom").as_llamaindex().load_data()
    assert [d.doc_id for d in li] == ["custom"]
