"""`chromabridge reembed --eval --swap` and `chromabridge rollback` on a Cranfield subset."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chromabridge import specs
from chromabridge.cli import app
from chromabridge.embedders import FakeEmbedder
from chromabridge.vectorstores import ChromaStore

CRANFIELD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield"
DOCS = 300
runner = CliRunner()


@pytest.fixture(autouse=True)
def hash_embedders(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hash` and `hash32` build fast test embedders (two vector spaces)."""
    real = specs.make_embedder
    fakes = {"hash": (256, "test:hash"), "hash32": (32, "test:hash-32")}

    def make(spec: str) -> Any:
        return FakeEmbedder(fakes[spec][0], name=fakes[spec][1]) if spec in fakes else real(spec)

    monkeypatch.setattr(specs, "make_embedder", make)


@pytest.fixture
def cranfield(tmp_path: Path) -> Path:
    """The first DOCS abstracts of Cranfield, every query, the judgements on those."""
    if not (CRANFIELD / "cran.all.1400").is_file():
        pytest.skip("the Cranfield collection is not at ../shared/data/cranfield")
    out = tmp_path / "cranfield"
    out.mkdir()
    records = re.split(r"(?m)^(?=\.I )", (CRANFIELD / "cran.all.1400").read_text())
    (out / "cran.all.1400").write_text("".join([r for r in records if r][:DOCS]))
    (out / "cran.qry").write_text((CRANFIELD / "cran.qry").read_text())
    qrels = [
        line
        for line in (CRANFIELD / "cranqrel").read_text().splitlines()
        if len(line.split()) >= 3 and int(line.split()[1]) <= DOCS
    ]
    (out / "cranqrel").write_text("\n".join(qrels) + "\n")
    return out


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.mark.slow
def test_reembed_eval_swap_then_rollback(cranfield: Path, tmp_path: Path) -> None:
    where = ["--path", str(tmp_path / "db"), "-c", "cran"]
    ingest = cli("eval", str(cranfield), *where, "-e", "hash", "--chunker",
                 "recursive:1000:100", "--max-queries", "2", "--json")  # fmt: skip
    assert ingest.exit_code == 0, ingest.output

    table = cli("reembed", *where, "-e", "hash32", "--old-embedder", "hash",
                "--eval", str(cranfield), "--max-queries", "15")  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "nDCG@10".lower() in table.output.lower() and "recall@100" in table.output
    assert "old (test:hash)" in table.output and "new (test:hash-32)" in table.output

    result = cli("reembed", *where, "-e", "hash32", "--old-embedder", "hash",
                 "--eval", str(cranfield), "--max-queries", "15", "--swap", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["unchanged"] > 0 and data["embedded"] == 0  # the first run did the work
    old, new = data["eval"]["old (test:hash)"], data["eval"]["new (test:hash-32)"]
    for scores in (old, new):
        assert 0.0 < scores["ndcg@10"] <= 1.0 and 0.0 < scores["recall@100"] <= 1.0
    assert old != new  # two vector spaces, two sets of figures
    db = tmp_path / "db"
    assert ChromaStore("cran", embedder=FakeEmbedder(32, name="test:hash-32"), path=db).count() > 0

    back = cli("rollback", *where, "--json")
    assert back.exit_code == 0, back.output
    assert ChromaStore("cran", embedder=FakeEmbedder(256, name="test:hash"), path=db).count() > 0


def test_rollback_without_a_swap_is_an_error(tmp_path: Path) -> None:
    ChromaStore("plain", embedder=FakeEmbedder(name="test:hash"), path=tmp_path / "db").close()
    result = cli("rollback", "--path", str(tmp_path / "db"), "-c", "plain")
    assert result.exit_code == 2 and "no backup" in result.output  # a caller mistake
