"""Every example runs as a user runs it (a subprocess) and says what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
DATA = EXAMPLES / "data"


#: What the examples must not print unless run with --verbose (chromabridge/quiet.py).
NOISE = ("Loading weights", "No languages specified", "Hide this notice")


def run(script: str, *args: str, check: bool = True) -> str:
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("UNSTRUCTURED_DISABLE_NOTICE", None)  # the examples quiet it themselves
    env.pop("OPENAI_API_KEY", None)  # the offline path is the one under test
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=REPO,
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        noise = [n for n in NOISE if n in proc.stdout + proc.stderr]
        assert "--verbose" in args or not noise, proc.stderr[-3000:]
    return proc.stdout


def answers(output: str) -> dict[str, tuple[str, list[str]]]:
    """question -> (answer, source file names), from the examples' Q:/A:/source: lines."""
    found: dict[str, tuple[str, list[str]]] = {}
    question = ""
    for line in output.splitlines():
        if line.startswith("Q: "):
            question = line[3:]
            found[question] = ("", [])
        elif line.startswith("A: "):
            found[question] = (line[3:], found[question][1])
        elif line.strip().startswith("source: "):
            found[question][1].append(line.split("source: ")[1].split()[0])
    return found


def test_corpus_is_small_and_multi_format() -> None:
    files = list(DATA.iterdir())
    assert {f.suffix for f in files} >= {".md", ".html", ".txt", ".pdf", ".docx"}
    assert sum(f.stat().st_size for f in files) < 300_000


def test_make_data_reproduces_the_committed_binaries(tmp_path: Path) -> None:
    run("make_data.py", "--out", str(tmp_path))
    for name in ("annual-report.pdf", "volunteer-guide.docx"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


@pytest.mark.slow
def test_quickstart_then_framework_examples_share_one_store(tmp_path: Path) -> None:
    store = str(tmp_path / "chroma")
    first = run("quickstart.py", "--path", store)
    assert re.search(r"added\s*│\s*5\b", first), first
    assert "volunteer-guide.docx" in first.split("Q:")[1].splitlines()[1]
    second = run("quickstart.py", "--path", store)
    assert re.search(r"unchanged\s*│\s*5\b", second), second
    assert re.search(r"written\s*│\s*0\b", second), second

    lc = answers(run("langchain_rag.py", "--path", store))
    expected_lc = {
        "How many items can I borrow at once with an adult card?": ("12 items", "membership.html"),
        "How do I book a slot on the 3D printer?": ("book a printer slot", "makerspace.txt"),
        "How many visitors did the library have in 2024?": ("182,400", "annual-report.pdf"),
    }
    for question, (fact, source) in expected_lc.items():
        answer, sources = lc[question]
        assert fact in answer and sources[0] == source, (question, answer, sources)

    li = answers(run("llamaindex_query_engine.py", "--path", store))
    expected_li = {
        "Is the library open on Sundays?": ("closed on Sundays", "opening-hours.md"),
        "How much does 3D printing filament cost?": ("5 cents per gram", "makerspace.txt"),
        "How many hours a week do volunteers give?": ("two hours a week", "volunteer-guide.docx"),
    }
    for question, (fact, source) in expected_li.items():
        answer, sources = li[question]
        assert fact in answer and sources[0] == source, (question, answer, sources)


@pytest.mark.slow
@pytest.mark.server
def test_async_server_example(chroma_server: Any, collection_name: str) -> None:
    args = ("--host", chroma_server.host, "--port", str(chroma_server.port))
    out = run("async_server.py", *args, "--collection", collection_name)
    assert "5 added" in out and "0 failed" in out
    assert "4 concurrent searches" in out
    assert any("opening-hours.md" in line and "Saturdays" in line for line in out.splitlines())
    assert any("annual-report.pdf" in line and "budget" in line for line in out.splitlines())


def test_make_demo_runs_the_examples_on_dot_chroma() -> None:
    dry = subprocess.run(
        ["make", "-n", "demo"], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    for script in (
        "make_data.py",
        "quickstart.py",
        "langchain_rag.py",
        "llamaindex_query_engine.py",
    ):
        assert re.search(rf"examples/{script}.*(--path \.chroma)?", dry), script
    assert "--path .chroma" in dry
