"""TextLoader: verbatim text, encoding detection, and no crash on any bytes."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chromabridge.errors import LoaderError
from chromabridge.loaders import BinaryFileError, EmptyFileError, NoTextError, TextLoader
from chromabridge.loaders.text import decode_text

FRENCH = "Le café était crème, la façade naïve ; à côté, les élèves déçus.\n"


def test_markdown_is_kept_verbatim_with_file_metadata(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("# Title\n\n- item one\n\n```py\nx = 1\n```\n", encoding="utf-8")
    [doc] = TextLoader(path).load()
    assert doc.text == path.read_text()
    assert doc.id == "guide.md"
    assert doc.source == str(path)
    assert doc.metadata["filetype"] == "text/markdown"
    assert doc.metadata["encoding"] == "utf-8"
    assert doc.metadata["file_size"] == path.stat().st_size
    assert doc.metadata["filename"] == "guide.md"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (FRENCH.encode("utf-8"), FRENCH),
        (codecs.BOM_UTF8 + FRENCH.encode("utf-8"), FRENCH),
        (FRENCH.encode("utf-16"), FRENCH),
        (FRENCH.encode("cp1252"), FRENCH),
        ("Привет, мир! Это обычный русский текст.\n".encode("cp1251"), None),
    ],
    ids=["utf8", "utf8-bom", "utf16", "cp1252", "cp1251"],
)
def test_encodings_are_detected(data: bytes, text: str | None) -> None:
    decoded, _ = decode_text(data)
    if text is not None:
        assert decoded == text
    else:
        assert "Привет" in decoded


def test_non_utf8_file_loads_with_its_detected_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(FRENCH.encode("latin-1"))
    [doc] = TextLoader(path).load()
    assert doc.text == FRENCH
    assert doc.metadata["encoding"] == "cp1252"


def test_explicit_encoding_replaces_invalid_bytes(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"valid start \xff\xfe\xfa then valid end")
    [doc] = TextLoader(path, encoding="utf-8").load()
    assert doc.text.startswith("valid start ") and doc.text.endswith("then valid end")
    assert "\ufffd" in doc.text


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_refused_as_binary_never_crash(data: bytes) -> None:
    try:
        text, encoding = decode_text(data)
    except BinaryFileError:
        return
    assert isinstance(text, str) and encoding


def test_binary_garbage_named_txt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(256)) * 8)
    loader = TextLoader(path)
    with pytest.raises(BinaryFileError, match=r"garbage\.txt"):
        loader.load()
    assert loader.report.failures[0].error_type == "BinaryFileError"


def test_empty_and_blank_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.touch()
    with pytest.raises(EmptyFileError):
        TextLoader(empty).load()
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\t\n")
    with pytest.raises(NoTextError):
        TextLoader(blank).load()


def test_unknown_encoding_is_a_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    with pytest.raises(LoaderError, match="no-such-codec"):
        TextLoader(path, encoding="no-such-codec").load()


def test_max_file_size_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000)
    with pytest.raises(LoaderError, match="max_file_size=1000"):
        TextLoader(path, max_file_size=1000).load()
