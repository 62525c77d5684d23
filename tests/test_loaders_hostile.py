"""Hostile files beside good ones: each is a report entry or a bounded cost, never a hang.

Every hostile file is built here, at run time (`hostile_files.py`). Limits are small so
the tests stay cheap; each test states its time and memory bounds and checks that the
good files in the same folder still load (and, through the CLI, stay stored).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import hostile_files as H
import pytest
from test_cli import hash_embedder, ingest  # noqa: F401  (the CLI's fast test embedder)

from chromabridge.chunkers import RecursiveChunker, SentenceWindowChunker
from chromabridge.loaders import (
    DEFAULT_MAX_COMPRESSION_RATIO,
    ArchiveLimitError,
    DirectoryLoader,
    FileChangedError,
    FileLoader,
    LoadReport,
    TextLoader,
)
from chromabridge.loaders.archives import check_archive
from chromabridge.vectorstores import ChromaStore

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

MiB = 2**20
GOOD_TEXT = "An ordinary note about Chroma collections."


def _good(root: Path) -> None:
    (root / "good.txt").write_text(GOOD_TEXT)


def _failures(report: LoadReport) -> dict[str, str]:
    return {Path(f.path).name: f.error_type for f in report}


def _by_name(report: LoadReport) -> dict[str, str]:
    return {Path(f.path).name: f.message for f in report}


def test_zip_bomb_is_refused_before_parsing_within_a_second(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _good(root)
    H.docx_bomb(root / "bomb.docx", 24)  # ~100 KB on disk, 24 MiB of XML: ~300x
    H.docx(root / "real.docx", "<w:p><w:r><w:t>a real paragraph</w:t></w:r></w:p>")
    start = time.perf_counter()
    check_archive(root / "real.docx", 8 * MiB, DEFAULT_MAX_COMPRESSION_RATIO)  # passes
    with pytest.raises(ArchiveLimitError) as ratio:
        check_archive(root / "bomb.docx", None, DEFAULT_MAX_COMPRESSION_RATIO)
    with pytest.raises(ArchiveLimitError) as size:
        check_archive(root / "bomb.docx", 8 * MiB, None)
    assert time.perf_counter() - start < 1.0
    assert ratio.value.limit == "max_compression_ratio" and ratio.value.measured > 100
    assert "max_compression_ratio=100" in str(ratio.value) and "word/document.xml" in str(
        ratio.value
    )
    assert size.value.limit == "max_uncompressed_size" and size.value.measured > 24 * MiB
    assert "max_uncompressed_size=8388608" in str(size.value)

    # Through a directory (defaults): refused in the walk, the rest loads.
    loader = DirectoryLoader(root, include=["bomb.docx", "good.txt"])
    start = time.perf_counter()
    docs = loader.load()
    assert [d.text for d in docs] == [GOOD_TEXT]
    assert _failures(loader.report) == {"bomb.docx": "ArchiveLimitError"}
    assert "inflates" in _by_name(loader.report)["bomb.docx"]
    assert time.perf_counter() - start < 30  # one worker for good.txt; the bomb costs ms
    with pytest.raises(ArchiveLimitError):  # and a lone FileLoader checks too
        FileLoader(root / "bomb.docx").load()


@pytest.mark.slow
def test_xml_entities_never_expand_in_any_format_family(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(H.SECRET)
    root = tmp_path / "root"
    root.mkdir()
    _good(root)
    for suffix, build in H.ENTITY_BUILDERS.items():
        for attack in H.ATTACKS:
            build(root / f"{attack}{suffix}", attack, secret)
    loader = DirectoryLoader(root, file_timeout=60, file_memory=512 * MiB)
    start = time.perf_counter()
    docs = loader.load()
    elapsed = time.perf_counter() - start
    for doc in docs:
        assert H.SECRET not in doc.text, doc.id  # no external entity was read
        assert H.LAUGH * 3 not in doc.text, doc.id  # no entity was expanded
    loaded = {d.id for d in docs}
    failed = _failures(loader.report)
    assert "good.txt" in loaded and loaded | set(failed) == {p.name for p in root.iterdir()}
    # Refused by the parsers themselves (libxml2's amplification guard, defusedxml),
    # not by our budgets: a billion laughs costs milliseconds, not gigabytes.
    assert not {"FileMemoryError", "FileTimeoutError"} & set(failed.values())
    assert {"laughs.xml", "laughs.docx", "laughs.svg", "laughs.xlsx"} <= set(failed)
    assert {"external.xml", "external.docx", "laughs.html", "external.html"} <= loaded
    assert elapsed < 90 and 0 < loader.report.peak_rss < 1536 * MiB


def test_file_over_its_memory_budget_is_reported_and_its_worker_replaced(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    # One line of 64 MiB (max_file_size raised): reading it alone needs more than 48 MiB.
    (root / "a-line.txt").write_text("word " * (64 * MiB // 5))
    _good(root)
    budget = 48 * MiB
    loader = DirectoryLoader(root, file_memory=budget, max_file_size=None)
    start = time.perf_counter()
    docs = loader.load()
    elapsed = time.perf_counter() - start
    assert [d.text for d in docs] == [GOOD_TEXT]  # after the file, a fresh worker
    assert _failures(loader.report) == {"a-line.txt": "FileMemoryError"}
    assert f"file_memory={budget}" in _by_name(loader.report)["a-line.txt"]
    # Bounded: a worker without unstructured (text files only) plus the budget.
    assert loader.report.peak_rss < 400 * MiB + budget
    assert elapsed < 60


@pytest.mark.slow
def test_file_over_its_time_budget_is_killed_and_the_rest_loads(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    H.empty_pages_pdf(root / "a-pages.pdf", 20_000)  # tens of seconds of pdfminer
    _good(root)
    loader = DirectoryLoader(root, file_timeout=1.5)
    start = time.perf_counter()
    docs = loader.load()
    elapsed = time.perf_counter() - start
    assert [d.text for d in docs] == [GOOD_TEXT]  # loaded by the replacement worker
    assert _failures(loader.report) == {"a-pages.pdf": "FileTimeoutError"}
    assert "file_timeout=1.5 s" in _by_name(loader.report)["a-pages.pdf"]
    # The clock starts after the worker's one-off warm-up (imports, spaCy's model: ~5 s
    # idle, 15 s on busy shared cores), so the bound is that plus 1.5 s, not the PDF.
    assert elapsed < 60


@pytest.mark.slow
def test_a_single_file_loader_holds_its_file_to_the_same_budgets(tmp_path: Path) -> None:
    from chromabridge.loaders import FileTimeoutError

    real = H.docx(tmp_path / "real.docx", "<w:p><w:r><w:t>a real paragraph</w:t></w:r></w:p>")
    assert FileLoader(real, file_timeout=60).load() == FileLoader(real).load()
    pdf = H.empty_pages_pdf(tmp_path / "pages.pdf", 20_000)
    loader = FileLoader(pdf, file_timeout=1.5)
    start = time.perf_counter()
    with pytest.raises(FileTimeoutError, match=r"file_timeout=1\.5 s"):
        loader.load()
    assert time.perf_counter() - start < 60  # warm-up plus 1.5 s, not the PDF's minutes
    assert [f.error_type for f in loader.report] == ["FileTimeoutError"]


@pytest.mark.slow  # worker processes start unstructured: seconds each
def test_pathological_entries_are_reported_or_bounded(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _good(root)
    os.mkfifo(root / "pipe.txt")  # opening it would block forever
    (root / "loop-a.txt").symlink_to(root / "loop-b.txt")
    (root / "loop-b.txt").symlink_to(root / "loop-a.txt")
    (root / "sub").mkdir()
    (root / "sub" / "back").symlink_to(root, target_is_directory=True)
    H.nested_html(root / "nested.html", 100_000)
    H.empty_pages_pdf(root / "pages.pdf", 300)
    text_only = {
        "pipe.txt": "NotRegularFileError",
        "loop-a.txt": "OSError",  # a symlink loop: ELOOP, reported
        "loop-b.txt": "OSError",
    }
    loader = DirectoryLoader(root, file_timeout=60)
    start = time.perf_counter()
    docs = {d.id: d.text for d in loader.load()}
    assert time.perf_counter() - start < 60
    assert docs["good.txt"] == GOOD_TEXT
    assert "before the nesting" in docs["nested.html"]  # parsed; lxml caps the depth
    # Blank pages: a bounded cost, linear in pages (3 ms a page; file_timeout past that).
    assert _failures(loader.report) == {**text_only, "pages.pdf": "NoTextError"}
    # Following links: the loop back to the root is not re-entered.
    loader = DirectoryLoader(root, include=["*.txt"], follow_symlinks=True)
    assert [d.id for d in loader.load()] == ["good.txt"]
    assert _failures(loader.report) == text_only


def test_a_file_that_changes_while_read_is_reported_and_reading_stays_bounded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "growing.txt"
    path.write_text("line of a log that keeps growing\n" * 100_000)
    stop = threading.Event()

    def grow() -> None:
        with path.open("a") as log:
            while not stop.is_set():
                log.write("appended while being read\n" * 100)
                log.flush()

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        start = time.perf_counter()
        with pytest.raises(FileChangedError, match="changed while it was being read"):
            for _ in range(20):  # each try reads what was there when it looked
                TextLoader(path).load()
        assert time.perf_counter() - start < 30
    finally:
        stop.set()
        writer.join()


@pytest.mark.slow
@pytest.mark.parametrize(
    "chunker", [RecursiveChunker(1000, 100), SentenceWindowChunker(3)], ids=["rec", "sw"]
)
def test_chunkers_stay_linear_on_a_single_line_text(chunker: object) -> None:
    """A 200 MB one-line text file passes `max_file_size` when it is raised: 4x the text
    must cost about 4x the time (quadratic would be 16x). Loosely bounded: shared CPUs."""

    def seconds(size: int) -> float:
        text = "word " * (size // 5)
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            chunks = chunker.split_text(text)  # type: ignore[attr-defined]
            best = min(best, time.perf_counter() - start)
            assert len(chunks) >= size // 1000
        return best

    small, large = seconds(500_000), seconds(2_000_000)
    assert large < 10 * max(small, 0.01), (small, large)


@pytest.mark.slow  # worker processes start unstructured: seconds each
def test_cli_reports_hostile_files_exit_1_and_keeps_what_was_stored(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _good(corpus)
    H.docx(corpus / "report.docx", "<w:p><w:r><w:t>the genuine report</w:t></w:r></w:p>")
    db = tmp_path / "db"
    first = ingest(corpus, db)
    assert first.exit_code == 0, first.output
    H.docx_bomb(corpus / "report.docx", 24)  # replaced by a bomb under the same name
    os.mkfifo(corpus / "pipe.md")
    second = ingest(corpus, db)
    assert second.exit_code == 1, second.output  # partial
    report = json.loads(second.stdout)
    errors = {Path(f["source"]).name: f["error_type"] for f in report["failures"]}
    assert errors == {"report.docx": "ArchiveLimitError", "pipe.md": "NotRegularFileError"}
    store = ChromaStore("chromabridge", path=str(db))
    kept = [c.text for c in store.get(where={"doc_id": "report.docx"})]
    assert kept == ["the genuine report"]  # the stored version is kept
