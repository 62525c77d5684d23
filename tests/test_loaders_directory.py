"""DirectoryLoader on a real tree with every kind of bad input beside good files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chromabridge.errors import ConfigError, LoaderError
from chromabridge.loaders import (
    BinaryFileError,
    DirectoryLoader,
    FileTooLargeError,
    LoadReport,
    OutsideRootError,
    TextLoader,
)
from chromabridge.loaders.patterns import GlobSet

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")

GOOD = {
    "readme.md": "Project readme about Chroma collections",
    "docs/guide.html": "Open the dashboard and create an index",
    "docs/report.docx": "docx paragraph on recall",
    "docs/paper.pdf": "PDF sentence on embeddings",
    "docs/deep/latin1.txt": "Le café était crème",
}
BAD = {
    "bad/corrupt.pdf": "NoTextError",
    "bad/truncated.docx": "ValueError",
    "bad/garbage.txt": "BinaryFileError",
    "bad/empty.md": "EmptyFileError",
    "bad/zero.pdf": "EmptyFileError",
    "bad/huge.txt": "FileTooLargeError",
    "bad/escape.txt": "OutsideRootError",
}
MAX = 50_000


def _docx(path: Path, text: str) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))


def _pdf(path: Path, text: str) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 10, text)
    pdf.output(str(path))


def build_tree(root: Path, outside: Path) -> Path:
    for rel, text in GOOD.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".docx":
            _docx(path, text)
        elif path.suffix == ".pdf":
            _pdf(path, text)
        elif path.suffix == ".html":
            path.write_text(f"<html><body><h1>Guide</h1><p>{text}.</p></body></html>")
        elif rel.endswith("latin1.txt"):
            path.write_bytes(f"{text}, la façade naïve et les élèves déçus.\n".encode("latin-1"))
        else:
            path.write_text(f"# Readme\n\n{text}.\n")
    bad = root / "bad"
    bad.mkdir()
    (bad / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\n")
    docx_bytes = (root / "docs/report.docx").read_bytes()
    (bad / "truncated.docx").write_bytes(docx_bytes[: len(docx_bytes) // 2])
    (bad / "garbage.txt").write_bytes(bytes(range(256)) * 16)
    (bad / "empty.md").touch()
    (bad / "zero.pdf").touch()
    (bad / "huge.txt").write_text("big " * (MAX // 4 + 1))
    secret = outside / "secret.txt"
    secret.write_text("outside the root: must never be read")
    (bad / "escape.txt").symlink_to(secret)
    (root / "linked-out").symlink_to(outside, target_is_directory=True)
    (root / ".hidden.md").write_text("hidden file text")
    (root / ".git").mkdir()
    (root / ".git" / "config.txt").write_text("hidden dir text")
    (root / "docs" / "alias.md").symlink_to(root / "readme.md")
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("dir-loader")
    (base / "outside").mkdir()
    (base / "root").mkdir()
    return build_tree(base / "root", base / "outside")


@pytest.fixture(scope="module")
def serial(tree: Path) -> tuple[list, LoadReport]:
    loader = DirectoryLoader(tree, max_file_size=MAX)
    return loader.load(), loader.report


@pytest.mark.slow  # worker processes start unstructured: seconds each
def test_good_files_load_and_every_bad_one_is_reported(
    tree: Path, serial: tuple[list, LoadReport]
) -> None:
    docs, report = serial
    by_id = {d.id: d for d in docs}
    assert set(by_id) == set(GOOD) | {"docs/alias.md"}
    for rel, text in GOOD.items():
        assert text in by_id[rel].text, rel
    assert "façade naïve" in by_id["docs/deep/latin1.txt"].text  # non-UTF-8 text is decoded
    got = {Path(f.path).relative_to(tree).as_posix(): f for f in report}
    assert {rel: f.error_type for rel, f in got.items()} == BAD
    for rel, failure in got.items():
        assert Path(rel).name in failure.message
        assert failure.id == rel  # the id its documents would have had
    assert report.files_loaded == len(GOOD) + 1
    assert report.documents == len(docs)
    assert not any("outside the root" in d.text for d in docs)


def test_ids_are_relative_posix_paths_and_sources_are_paths(
    tree: Path, serial: tuple[list, LoadReport]
) -> None:
    docs, _ = serial
    for doc in docs:
        assert doc.source == str(tree / doc.id)


def test_walk_order_is_deterministic_files_before_subdirectories(
    serial: tuple[list, LoadReport],
) -> None:
    docs, _ = serial
    assert [d.id for d in docs] == [
        "readme.md",
        "docs/alias.md",
        "docs/guide.html",
        "docs/paper.pdf",
        "docs/report.docx",
        "docs/deep/latin1.txt",
    ]


@pytest.mark.slow
def test_workers_give_the_same_documents_and_report(
    tree: Path, serial: tuple[list, LoadReport]
) -> None:
    loader = DirectoryLoader(tree, max_file_size=MAX, workers=2)
    docs = loader.load()
    assert docs == serial[0]
    assert loader.report.failures == serial[1].failures


@pytest.mark.slow  # worker processes start unstructured: seconds each
def test_strict_mode_raises_the_specific_error(tree: Path) -> None:
    loader = DirectoryLoader(tree, include=["bad/huge.txt"], max_file_size=MAX, on_error="raise")
    with pytest.raises(FileTooLargeError, match=r"huge\.txt"):
        loader.load()
    loader = DirectoryLoader(tree, include=["bad/*.pdf"], on_error="raise")
    with pytest.raises(LoaderError, match=r"corrupt\.pdf"):
        loader.load()


@pytest.mark.slow
def test_strict_mode_in_workers_raises_too(tree: Path) -> None:
    loader = DirectoryLoader(
        tree, include=["bad/garbage.txt", "readme.md"], on_error="raise", workers=2
    )
    with pytest.raises(BinaryFileError, match=r"garbage\.txt"):
        loader.load()


def test_strict_mode_stops_at_an_escaping_symlink(tree: Path) -> None:
    with pytest.raises(OutsideRootError, match=r"escape\.txt"):
        DirectoryLoader(tree, include=["escape.txt"], on_error="raise").load()


def test_followed_symlinked_directory_outside_root_is_reported_not_read(tree: Path) -> None:
    loader = DirectoryLoader(tree, include=["*.md", "*.txt"], follow_symlinks=True, exclude=["bad"])
    docs = loader.load()
    assert not any("outside the root" in d.text for d in docs)
    assert [(Path(f.path).name, f.error_type) for f in loader.report] == [
        ("linked-out", "OutsideRootError")
    ]


def test_symlinked_directory_inside_root_is_followed_once_when_asked(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text("text under the real directory")
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    assert [d.id for d in DirectoryLoader(tmp_path).load()] == ["real/a.txt"]
    followed = [d.id for d in DirectoryLoader(tmp_path, follow_symlinks=True).load()]
    assert followed == ["alias/a.txt", "real/a.txt"]  # the loop back into real/ is not re-entered


def test_hidden_files_are_skipped_unless_asked(tree: Path) -> None:
    ids = {d.id for d in DirectoryLoader(tree, include=["*.md", "*.txt"], exclude=["bad"]).load()}
    assert ".hidden.md" not in ids and ".git/config.txt" not in ids
    loader = DirectoryLoader(tree, include=["*.md", "*.txt"], exclude=["bad"], include_hidden=True)
    ids = {d.id for d in loader.load()}
    assert {".hidden.md", ".git/config.txt"} <= ids


@pytest.mark.slow  # worker processes start unstructured: seconds each
def test_include_exclude_and_recursive(tree: Path) -> None:
    def ids(**kwargs: object) -> list[str]:
        return [d.id for d in DirectoryLoader(tree, **kwargs).load()]  # type: ignore[arg-type]

    assert ids(include=["*.md"], exclude=["bad/**"]) == ["readme.md", "docs/alias.md"]
    assert ids(include=["docs/**/*.txt"]) == ["docs/deep/latin1.txt"]
    assert ids(include=["*.txt", "*.md"], exclude=["bad", "deep"]) == ["readme.md", "docs/alias.md"]
    assert ids(recursive=False) == ["readme.md"]
    assert ids(include="*.html") == ["docs/guide.html"]  # a bare string is one pattern


def test_streaming_yields_before_the_walk_ends(tree: Path) -> None:
    loader = DirectoryLoader(tree, include=["*.md", "*.txt"], exclude=["bad"])
    stream: Iterator = loader.lazy_load()
    first = next(stream)
    assert first.id == "readme.md"
    assert loader.report.files_loaded == 1  # later files not read yet
    stream.close()


@pytest.mark.slow  # worker processes start unstructured: seconds each
def test_elements_mode_uses_unstructured_for_markdown_too(tree: Path) -> None:
    docs = DirectoryLoader(tree, include=["readme.md"], mode="elements").load()
    assert [d.id for d in docs] == ["readme.md#element=0", "readme.md#element=1"]
    assert docs[0].metadata["category"] == "Title"


def test_user_metadata_reaches_every_document(tree: Path) -> None:
    loader = DirectoryLoader(tree, include=["*.md"], exclude=["bad"], metadata={"corpus": "t"})
    assert {d.metadata["corpus"] for d in loader.load()} == {"t"}


def test_missing_root_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="not a directory"):
        DirectoryLoader(tmp_path / "nope").load()
    with pytest.raises(ConfigError):
        DirectoryLoader(tmp_path, workers=0)
    with pytest.raises(ConfigError):
        DirectoryLoader(tmp_path, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        DirectoryLoader(tmp_path, mode="lines")  # type: ignore[arg-type]


def test_default_max_file_size_bounds_reads(tmp_path: Path) -> None:
    from chromabridge.loaders import DEFAULT_MAX_FILE_SIZE

    big = tmp_path / "big.txt"
    with big.open("wb") as f:  # sparse: no disk cost
        f.truncate(DEFAULT_MAX_FILE_SIZE + 1)
    loader = DirectoryLoader(tmp_path)
    assert loader.load() == []
    assert [f.error_type for f in loader.report] == ["FileTooLargeError"]


class CrashingTextLoader(TextLoader):
    """Kills its worker process on a file named *crash*, as a segfaulting parser would."""

    def load(self) -> list:
        if "crash" in self.path.name:
            os._exit(3)
        return super().load()


class CrashingDirectoryLoader(DirectoryLoader):
    def _loader(self, path: Path, real: str, rel: str) -> TextLoader:  # type: ignore[override]
        return CrashingTextLoader(real, id=rel, source=str(path))


@pytest.mark.slow
def test_a_dying_worker_is_reported_and_a_fresh_pool_takes_the_rest(tmp_path: Path) -> None:
    names = ["00.txt", "01-crash.txt", *(f"{i:02d}.txt" for i in range(2, 12))]
    for name in names:
        (tmp_path / name).write_text(f"text of {name}")
    loader = CrashingDirectoryLoader(tmp_path, workers=2)
    docs = loader.load()
    failed = {Path(f.path).name: f.error_type for f in loader.report}
    loaded = {d.id for d in docs}
    assert failed["01-crash.txt"] == "WorkerCrashError"
    assert loaded | set(failed) == set(names) and not loaded & set(failed)  # nothing lost
    assert {"09.txt", "10.txt", "11.txt"} <= loaded  # files after the crash still load


UNREADABLE_SCRIPT = """
import json, sys
from chromabridge.loaders import DirectoryLoader
loader = DirectoryLoader(sys.argv[1])
docs = loader.load()
print(json.dumps({"ids": [d.id for d in docs],
                  "failures": [[f.path, f.error_type] for f in loader.report]}))
"""


def test_unreadable_file_is_reported_and_the_rest_loads(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("readable text")
    (tmp_path / "locked.txt").write_text("nobody may read this")
    (tmp_path / "locked.txt").chmod(0o000)
    (tmp_path / "sealed").mkdir()
    (tmp_path / "sealed" / "inner.txt").write_text("in a directory nobody may list")
    (tmp_path / "sealed").chmod(0o000)
    command = [sys.executable, "-c", UNREADABLE_SCRIPT, str(tmp_path)]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that allow it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux's setpriv")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *command]
    out = subprocess.run(command, capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ids"] == ["ok.txt"]
    try:
        assert result["failures"] == [
            [str(tmp_path / "locked.txt"), "PermissionError"],
            [str(tmp_path / "sealed"), "PermissionError"],
        ]
    finally:
        (tmp_path / "sealed").chmod(0o755)  # let pytest clean up


@pytest.mark.parametrize(
    ("patterns", "path", "hit"),
    [
        (["*.pdf"], "a/b/c.pdf", True),
        (["*.pdf"], "a/b/c.pdfx", False),
        (["docs/*.md"], "docs/a.md", True),
        (["docs/*.md"], "docs/x/a.md", False),
        (["docs/**/*.md"], "docs/a.md", True),
        (["docs/**/*.md"], "docs/x/y/a.md", True),
        (["**/build/**"], "a/build/x.txt", True),
        (["file?.txt"], "file1.txt", True),
        (["[!a]*.txt"], "b.txt", True),
        (["[!a]*.txt"], "a.txt", False),
        (["../*"], "x", False),
    ],
)
def test_glob_semantics(patterns: list[str], path: str, hit: bool) -> None:
    assert GlobSet(patterns).matches(path) is hit


def _children() -> set[int]:
    """Live child processes of this test process (Linux /proc)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        text = (task / "children").read_text()
        pids.update(int(pid) for pid in text.split())
    return pids


@pytest.mark.slow  # starts two loader workers
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_worker_stays_warm_for_the_next_load_until_stopped(tmp_path: Path) -> None:
    from chromabridge.loaders import stop_idle_workers

    stop_idle_workers()
    (tmp_path / "a.txt").write_text("alpha text")
    before = _children()
    loader = DirectoryLoader(tmp_path, file_timeout=30)  # a budget: files load in a worker
    assert [d.text for d in loader.load()] == ["alpha text"]
    kept = _children() - before
    assert len(kept) == 1  # the worker outlived its load, idle
    (tmp_path / "b.txt").write_text("beta text")
    assert [d.text for d in DirectoryLoader(tmp_path, file_timeout=30).load()] == [
        "alpha text",
        "beta text",
    ]
    assert _children() - before == kept  # the second load started no process
    # Another memory budget needs a worker started under it: not the idle one.
    assert len(DirectoryLoader(tmp_path, file_memory=2**30).load()) == 2
    assert len(_children() - before) == 2
    assert stop_idle_workers() == 2
    assert not _children() - before


@pytest.mark.slow  # a fresh interpreter and its worker
def test_a_script_that_exits_mid_load_leaves_no_worker_holding_its_output(
    tmp_path: Path,
) -> None:
    """The loader's generator is finalized at interpreter exit: its worker must stop
    then, not stay warm, or whoever reads the script's output waits forever."""
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"text of {name}")
    script = (
        "import sys\n"
        "from chromabridge.loaders import DirectoryLoader\n"
        f"docs = DirectoryLoader({str(tmp_path)!r}, file_timeout=30).lazy_load()\n"
        "print(next(docs).text, flush=True)\n"
        "sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stdout.strip() == "text of a.txt"
