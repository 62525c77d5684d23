"""The `chromabridge` command: every subcommand, exit codes 0/1/2, JSON output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chromabridge import specs
from chromabridge.cli import app
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ConfigError, EmbeddingError, StoreError

runner = CliRunner()
COMMANDS = ["ingest", "query", "collections", "stats", "delete", "eval"]
CORPUS = {
    "alpha.md": "# Alpha\n\nAlpha particles are helium nuclei emitted in decay.",
    "beta.txt": "Beta decay turns a neutron into a proton and an electron.",
    "sub/gamma.txt": "Gamma rays are photons of very high energy from nuclei.",
}


@pytest.fixture(autouse=True)
def hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Specs naming `hash` build the fast test embedder; the rest behave as shipped."""
    real = specs.make_embedder

    def make(spec: str) -> Any:
        return FakeEmbedder(512) if spec == "hash" else real(spec)

    monkeypatch.setattr(specs, "make_embedder", make)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, text in CORPUS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def said(result: Any) -> str:
    """The output as one line: rich's error panel wraps text and draws a box around it."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


def ingest(corpus: Path, db: Path, *extra: str) -> Any:
    return cli(
        "ingest", str(corpus), "--path", str(db), "-e", "hash", "--chunker", "recursive:200:20",
        "--json", *extra,
    )  # fmt: skip


def test_help_everywhere() -> None:
    result = cli("--help")
    assert result.exit_code == 0 and all(c in result.output for c in COMMANDS)
    for command in COMMANDS:
        result = cli(command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_ingest_reports_then_skips_unchanged(corpus: Path, tmp_path: Path) -> None:
    first = ingest(corpus, tmp_path / "db")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 3
    second = ingest(corpus, tmp_path / "db")
    report = json.loads(second.stdout)
    assert (report["unchanged"], report["chunks_written"]) == (3, 0)


def test_ingest_table_output(corpus: Path, tmp_path: Path) -> None:
    result = cli("ingest", str(corpus), "--path", str(tmp_path / "db"), "-e", "hash",
                 "--chunker", "recursive:200:20")  # fmt: skip
    assert result.exit_code == 0
    assert "added" in result.stdout and "unchanged" in result.stdout


def test_partial_failure_exits_1_and_lists_the_file(corpus: Path, tmp_path: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    result = ingest(corpus, tmp_path / "db")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["added"] == 3
    assert [f["source"].endswith("empty.txt") for f in report["failures"]] == [True]


def test_full_mode_removes_vanished_files(corpus: Path, tmp_path: Path) -> None:
    ingest(corpus, tmp_path / "db")
    (corpus / "beta.txt").unlink()
    kept = json.loads(ingest(corpus, tmp_path / "db").stdout)
    assert kept["deleted"] == 0
    removed = json.loads(ingest(corpus, tmp_path / "db", "--mode", "full").stdout)
    assert removed["deleted"] == 1


def test_query_json_filter_and_modes(corpus: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ingest(corpus, tmp_path / "db")
    result = cli("query", "neutron proton", "--path", db, "-e", "hash", "--json", "-k", "2")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 2 and hits[0]["doc_id"] == "beta.txt"
    assert hits[0]["source"].endswith("beta.txt") and hits[0]["rank"] == 1
    only = cli("query", "neutron proton", "--path", db, "-e", "hash", "--json",
               "--filter", '{"filename": "gamma.txt"}')  # fmt: skip
    assert [h["doc_id"] for h in json.loads(only.stdout)] == ["sub/gamma.txt"]
    mmr = cli("query", "nuclei", "--path", db, "-e", "hash", "--mode", "mmr", "--json")
    assert mmr.exit_code == 0 and len(json.loads(mmr.stdout)) == 3
    table = cli("query", "neutron proton", "--path", db, "-e", "hash")
    assert table.exit_code == 0 and "beta.txt" in table.stdout


def test_hybrid_mode(corpus: Path, tmp_path: Path) -> None:
    ingest(corpus, tmp_path / "db")
    result = cli("query", "neutron", "--path", str(tmp_path / "db"), "-e", "hash",
                 "--mode", "hybrid", "--json")  # fmt: skip
    assert result.exit_code == 0, said(result)
    assert json.loads(result.stdout)[0]["doc_id"] == "beta.txt"


@pytest.mark.parametrize(
    ("flt", "problem"),
    [
        ('{"filename": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"size": {"$regex": 3}}', "$regex"),
    ],
)
def test_bad_filter_is_a_usage_error(corpus: Path, tmp_path: Path, flt: str, problem: str) -> None:
    ingest(corpus, tmp_path / "db")
    result = cli("query", "x", "--path", str(tmp_path / "db"), "-e", "hash", "--filter", flt)
    assert result.exit_code == 2
    assert problem in said(result) and "--filter" in said(result)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--chunker", "recursive:abc:1"], "SIZE"),
        (["--chunker", "squares:3"], "unknown chunker"),
        (["--chunker", "recursive:100:200"], "OVERLAP"),
        (["-e", "magic:model"], "unknown embedder"),
        (["--host", "localhost"], "choose one deployment"),
    ],
)
def test_usage_errors_exit_2(corpus: Path, tmp_path: Path, args: list[str], problem: str) -> None:
    result = cli("ingest", str(corpus), "--path", str(tmp_path / "db"), "-e", "hash", *args)
    assert result.exit_code == 2, result.output
    assert problem in said(result)


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("ingest", str(tmp_path / "nope"), "--path", str(tmp_path / "db"))
    assert result.exit_code == 2 and "no such file" in said(result)


def test_chunk_size_over_the_model_window_is_a_usage_error(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Small(FakeEmbedder):
        @property
        def max_input_tokens(self) -> int:
            return 64

    monkeypatch.setattr(specs, "make_embedder", lambda spec: Small())
    result = cli("ingest", str(corpus), "--path", str(tmp_path / "db"), "-e", "small",
                 "--chunker", "recursive:200:20")  # fmt: skip
    assert result.exit_code == 2
    assert "chunk size 200" in said(result) and "input of 64 tokens" in said(result)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (specs.SpecError("that spec, whatever it says"), 2),
        (ConfigError("a setting the caller must fix"), 2),
        (EmbeddingError("unknown embedder: a provider's words, not ours"), 1),
        (StoreError("must be a number, says Chroma"), 1),
    ],
)
def test_exit_code_follows_the_error_type_not_its_text(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, code: int
) -> None:
    def fail(spec: str) -> Any:
        raise error

    monkeypatch.setattr(specs, "make_embedder", fail)
    result = cli("ingest", str(corpus), "--path", str(tmp_path / "db"), "-e", "any")
    assert result.exit_code == code, result.output
    assert str(error) in said(result)
    assert ("--embedder" in said(result)) == isinstance(error, specs.SpecError)


def test_missing_collection_and_wrong_embedder_exit_1(corpus: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ingest(corpus, tmp_path / "db")
    missing = cli("query", "x", "--path", db, "-c", "nothing-here", "-e", "hash")
    assert missing.exit_code == 1 and "no collection 'nothing-here'" in said(missing)
    # The collection remembers fake:hash; a local model must be refused, not mixed in.
    unnamed = cli("query", "x", "--path", db)
    assert unnamed.exit_code == 2 and "fake:hash" in said(unnamed)


def test_collections_stats_and_delete(corpus: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    ingest(corpus, tmp_path / "db")
    listed = json.loads(cli("collections", "--path", db, "--json").stdout)
    assert listed == [{"name": "chromabridge", "records": 3, "embedder": "fake:hash"}]
    assert "chromabridge" in cli("collections", "--path", db).stdout
    stats = json.loads(cli("stats", "--path", db, "--json").stdout)
    assert (stats["records"], stats["documents"], stats["embedder"]) == (3, 3, "fake:hash")
    assert "documents" in cli("stats", "--path", db).stdout

    gone = cli("delete", "--source", str(corpus / "sub"), "--path", db, "--json")
    assert gone.exit_code == 0 and json.loads(gone.stdout) == {"documents": 1, "chunks": 1}
    gone = cli("delete", "--source", str(corpus / "beta.txt"), "--path", db, "--json")
    assert json.loads(gone.stdout)["documents"] == 1
    stats = json.loads(cli("stats", "--path", db, "--json").stdout)
    assert stats["documents"] == 1
    none = cli("delete", "--source", str(corpus / "nothing"), "--path", db)
    assert none.exit_code == 0 and "deleted 0 documents" in none.stdout
    assert cli("delete", "--path", db).exit_code == 2  # --source is required


def write_beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    docs = {
        "d1": ("Rivers", "rivers flow downhill into lakes and seas"),
        "d2": ("Volcanoes", "volcanoes erupt lava and ash from magma chambers"),
        "d3": ("Glaciers", "glaciers are slow rivers of ice carving valleys"),
    }
    (root / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, (t, x) in docs.items())
    )
    queries = {"q1": "lava magma eruption", "q2": "ice valleys glaciers", "q3": "unjudged"}
    (root / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": q, "text": t}) for q, t in queries.items())
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t2\nq2\td1\t0\n"
    )
    return root


def test_eval_beir_layout(tmp_path: Path) -> None:
    data = write_beir(tmp_path / "tiny")
    result = cli("eval", str(data), "-e", "hash", "--chunker", "recursive:200:20", "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["queries"] == 2 and scores["documents"] == 3
    assert scores["ndcg@10"] == pytest.approx(1.0) and scores["mrr@10"] == pytest.approx(1.0)


@pytest.mark.slow
def test_eval_cranfield_layout() -> None:
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield"
    if not (data / "cran.all.1400").is_file():
        pytest.skip("the Cranfield collection is not at ../shared/data/cranfield")
    result = cli("eval", str(data), "-e", "hash", "--chunker", "recursive:1000:100",
                 "--max-queries", "40", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["documents"] == 1400 and scores["queries"] == 40
    # Hashed bag-of-words vectors score about 0.15 here; a wrong query numbering
    # (cran.qry's .I values instead of positions) scores about 0.01.
    assert 0.08 < scores["ndcg@10"] <= 1.0


def test_eval_rejects_a_folder_that_is_no_dataset(tmp_path: Path) -> None:
    result = cli("eval", str(tmp_path), "-e", "hash")
    assert result.exit_code == 2 and "not a dataset" in said(result)


def test_module_and_console_script_entry_points() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "chromabridge", "--help"], capture_output=True, text=True
    )
    assert module.returncode == 0 and "ingest" in module.stdout
    script = Path(sys.executable).with_name("chromabridge")
    assert script.exists(), "pip install -e . registers the console script"
    bad = subprocess.run([str(script), "query"], capture_output=True, text=True)
    assert bad.returncode == 2 and "TEXT" in (bad.stderr + bad.stdout).upper()


@pytest.mark.server
def test_ingest_and_query_on_a_server(
    corpus: Path, chroma_server: Any, collection_name: str
) -> None:
    where = ["--host", chroma_server.host, "--port", str(chroma_server.port), "-c", collection_name]
    result = cli("ingest", str(corpus), *where, "-e", "hash", "--chunker", "recursive:200:20",
                 "--json")  # fmt: skip
    assert result.exit_code == 0 and json.loads(result.stdout)["added"] == 3
    hits = json.loads(cli("query", "neutron proton", *where, "-e", "hash", "--json").stdout)
    assert hits[0]["doc_id"] == "beta.txt"
    stats = json.loads(cli("stats", *where, "--json").stdout)
    assert stats["documents"] == 3
