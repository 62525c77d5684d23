"""FileLoader on real files of every common format, built with their own libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chromabridge.errors import ConfigError, LoaderError
from chromabridge.loaders import EmptyFileError, FileLoader, NoTextError

os.environ.setdefault("DO_NOT_TRACK", "1")  # unstructured telemetry: nothing to reach here
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

REAL_PDFS = [
    Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
    Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
]


def make_pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Quarterly vector report", 1)
    document.add_paragraph("Chroma stores the embeddings of every docx paragraph.")
    document.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    import pptx

    deck = pptx.Presentation()
    for title in ("First slide about retrieval", "Second slide about rerankers"):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = f"Notes for {title.lower()}"
    deck.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Prices"
    sheet.append(["item", "price"])
    sheet.append(["embedding", 42])
    book.save(str(path))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    make_pdf(
        root / "two-pages.pdf", ["Alpha page talks about HNSW.", "Beta page talks about BM25."]
    )
    make_docx(root / "report.docx")
    make_pptx(root / "deck.pptx")
    make_xlsx(root / "sheet.xlsx")
    (root / "page.html").write_text(
        "<html><head><title>T</title></head><body><h1>Install guide</h1>"
        "<p>Run the installer, then restart the server.</p></body></html>"
    )
    (root / "notes.md").write_text("# Notes\n\nMarkdown body about collections.\n")
    (root / "table.csv").write_text("name,dim\nminilm,384\n")
    (root / "mail.eml").write_text(
        "From: ana@example.org\nTo: bo@example.org\nSubject: Index rebuild\n"
        "Content-Type: text/plain\n\nThe index rebuild finished overnight.\n"
    )
    return root


@pytest.mark.parametrize(
    ("name", "expected", "filetype"),
    [
        ("two-pages.pdf", "BM25", "application/pdf"),
        ("report.docx", "every docx paragraph", "wordprocessingml"),
        ("deck.pptx", "Second slide about rerankers", "presentationml"),
        ("sheet.xlsx", "embedding", "spreadsheetml"),
        ("page.html", "restart the server", "text/html"),
        ("notes.md", "Markdown body about collections", "text/markdown"),
        ("table.csv", "minilm", "text/csv"),
        ("mail.eml", "rebuild finished overnight", "message/rfc822"),
    ],
)
def test_each_format_loads_text_and_file_metadata(
    corpus: Path, name: str, expected: str, filetype: str
) -> None:
    [doc] = FileLoader(corpus / name).load()
    assert expected in doc.text
    assert doc.id == name
    assert doc.source == str(corpus / name)
    assert doc.metadata["filename"] == name
    assert filetype in doc.metadata["filetype"]
    assert doc.metadata["last_modified"].startswith("20")
    assert doc.metadata["languages"] == ["eng"]
    for value in doc.metadata.values():  # Chroma-ready: scalars or homogeneous lists
        assert isinstance(value, (str, int, float, bool, list))


def test_pdf_modes_keep_pages_and_categories(corpus: Path) -> None:
    pdf = corpus / "two-pages.pdf"
    [single] = FileLoader(pdf).load()
    assert single.metadata["page_count"] == 2
    assert "Alpha" in single.text and "Beta" in single.text

    pages = FileLoader(pdf, mode="paged").load()
    assert [d.id for d in pages] == ["two-pages.pdf#page=1", "two-pages.pdf#page=2"]
    assert [d.metadata["page_number"] for d in pages] == [1, 2]
    assert "Alpha" in pages[0].text and "Beta" not in pages[0].text

    elements = FileLoader(pdf, mode="elements").load()
    assert [d.id for d in elements] == [f"two-pages.pdf#element={i}" for i in range(len(elements))]
    assert {d.metadata["page_number"] for d in elements} == {1, 2}
    assert all(d.metadata["category"] and d.metadata["element_id"] for d in elements)


def test_pptx_paged_gives_one_document_per_slide(corpus: Path) -> None:
    slides = FileLoader(corpus / "deck.pptx", mode="paged").load()
    assert [d.metadata["page_number"] for d in slides] == [1, 2]
    assert "rerankers" in slides[1].text and "rerankers" not in slides[0].text


def test_paged_mode_on_a_pageless_format_gives_the_whole_file(corpus: Path) -> None:
    [doc] = FileLoader(corpus / "page.html", mode="paged").load()
    assert doc.id == "page.html"
    assert "Install guide" in doc.text and "restart" in doc.text


def test_auto_strategy_reads_a_text_pdf_offline(corpus: Path) -> None:
    [doc] = FileLoader(corpus / "two-pages.pdf", strategy="auto").load()
    assert "HNSW" in doc.text


def test_hi_res_offline_fails_with_advice_or_works_with_cached_models(corpus: Path) -> None:
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        pytest.skip("hi_res would try the Hugging Face hub; run with HF_HUB_OFFLINE=1")
    try:
        [doc] = FileLoader(corpus / "two-pages.pdf", strategy="hi_res").load()
    except LoaderError as exc:
        assert "Hugging Face hub" in str(exc) and "strategy='fast'" in str(exc)
        assert "two-pages.pdf" in str(exc)
    else:  # the layout model is cached on this machine
        assert "HNSW" in doc.text


def test_ids_are_stable_relative_to_root_and_overridable(corpus: Path) -> None:
    first = FileLoader(corpus / "notes.md", root=corpus.parent).load()[0]
    again = FileLoader(corpus / "notes.md", root=corpus.parent).load()[0]
    assert first.id == again.id == f"{corpus.name}/notes.md"
    assert FileLoader(corpus / "notes.md", id="custom").load()[0].id == "custom"


def test_user_metadata_is_merged_and_normalised(corpus: Path) -> None:
    [doc] = FileLoader(corpus / "table.csv", metadata={"team": {"name": "search"}}).load()
    assert doc.metadata["team.name"] == "search"


def test_bad_arguments_raise_config_error(corpus: Path) -> None:
    with pytest.raises(ConfigError, match="mode"):
        FileLoader(corpus / "notes.md", mode="pages")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="strategy"):
        FileLoader(corpus / "notes.md", strategy="best")  # type: ignore[arg-type]


def test_failures_are_loader_errors_naming_the_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(NoTextError, match=r"corrupt\.pdf"):
        FileLoader(corrupt).load()

    zero = tmp_path / "zero.pdf"
    zero.touch()
    with pytest.raises(EmptyFileError, match=r"zero\.pdf"):
        FileLoader(zero).load()

    with pytest.raises(LoaderError, match=r"missing\.docx") as info:
        FileLoader(tmp_path / "missing.docx").load()
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_truncated_docx_wraps_the_parser_error(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "report.docx").read_bytes()
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(data[: len(data) // 2])
    loader = FileLoader(truncated)
    with pytest.raises(LoaderError, match=r"truncated\.docx.*corrupt") as info:
        loader.load()
    assert info.value.__cause__ is not None
    assert [f.path for f in loader.report] == [str(truncated)]


@pytest.mark.parametrize("fmt", ["epub", "rtf", "odt"])
def test_pandoc_formats_load_when_pandoc_is_installed(tmp_path: Path, fmt: str) -> None:
    pypandoc = pytest.importorskip("pypandoc")
    path = tmp_path / f"book.{fmt}"
    pypandoc.convert_text(
        "# Chapter one\n\nThe librarian indexed every shelf.\n",
        fmt,
        format="md",
        outputfile=str(path),
        extra_args=["--standalone", "--metadata", "title=Book"],
    )
    [doc] = FileLoader(path).load()
    assert "The librarian indexed every shelf." in doc.text
    assert doc.metadata["filename"] == path.name


def test_unsupported_type_says_so(tmp_path: Path) -> None:
    path = tmp_path / "archive.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoaderError, match="not supported") as info:
        FileLoader(path).load()
    assert type(info.value.__cause__).__name__ == "UnsupportedFileFormatError"


@pytest.mark.slow
@pytest.mark.parametrize("pdf", REAL_PDFS, ids=lambda p: p.name)
def test_real_world_pdf(pdf: Path) -> None:
    if not pdf.is_file():
        pytest.skip(f"{pdf} absent (apt-get install libtasn1-doc shared-mime-info)")
    pages = FileLoader(pdf, mode="paged").load()
    assert len(pages) > 3
    assert [d.metadata["page_number"] for d in pages] == sorted(
        d.metadata["page_number"] for d in pages
    )
    assert sum(len(d.text) for d in pages) > 5000
    assert all(d.metadata["filetype"] == "application/pdf" for d in pages)


OFFLINE_SCRIPT = """
import socket, sys
from pathlib import Path
sys.modules["nltk"] = None  # any `import nltk` now fails: unstructured must not need it

def no_network(*args, **kwargs):
    raise OSError("network blocked by the test")

socket.socket.connect = no_network
socket.create_connection = no_network
from chromabridge.loaders import FileLoader
for path in sorted(Path(sys.argv[1]).iterdir()):
    print(path.name, len(FileLoader(path).load()[0].text))
"""


@pytest.mark.slow
def test_every_format_loads_without_nltk_or_network(corpus: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, str(corpus)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = dict(line.split() for line in out.stdout.splitlines())
    assert set(loaded) == {p.name for p in corpus.iterdir()}
    assert all(int(n) > 0 for n in loaded.values())


def test_import_is_cheap_and_framework_free() -> None:
    code = (
        "import sys, chromabridge.loaders as m; "
        "assert m.FileLoader and m.DirectoryLoader and m.TextLoader; "
        "heavy = {'unstructured', 'langchain_core', 'llama_index', 'chromadb'}; "
        "print(sorted({n.split('.')[0] for n in sys.modules} & heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert out.stdout.strip() == "[]"
