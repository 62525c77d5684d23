"""Pipeline: incremental ingestion, full-mode removal, failures, cache, guard, async."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from chromabridge import IngestReport, Pipeline
from chromabridge.chunkers import RecursiveChunker, SentenceWindowChunker
from chromabridge.embedders import FakeEmbedder
from chromabridge.errors import ConfigError, EmbedderMismatchError, EmbeddingError
from chromabridge.loaders import DirectoryLoader, TextLoader
from chromabridge.pipeline import CACHE_FILE
from chromabridge.vectorstores import ChromaStore

CORPUS = {
    "alpha.md": "# Alpha\n\n" + "Alpha particles are helium nuclei. " * 12,
    "beta.txt": "Beta decay turns a neutron into a proton. " * 10,
    "notes/gamma.md": "Gamma rays are photons of high energy.\n\n" * 8,
    "notes/delta.txt": "Delta wings suit supersonic aircraft. " * 9,
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def records(store: ChromaStore) -> list[tuple[str, str, dict[str, Any]]]:
    got = store.collection.get(include=["documents", "metadatas"])
    return sorted(zip(got["ids"], got["documents"], got["metadatas"], strict=True))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write(root, CORPUS)
    return root


def make(
    root: Path,
    store: ChromaStore,
    embedder: Any,
    mode: str = "incremental",
    **kwargs: Any,
) -> Pipeline:
    return Pipeline(
        DirectoryLoader(root),
        RecursiveChunker(120, 20),
        embedder,
        store,
        mode=mode,  # type: ignore[arg-type]
        cache=kwargs.pop("cache", False),
        progress=False,
        **kwargs,
    )


def test_first_run_stores_exactly_the_chunkers_chunks(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    report = make(corpus, store, embedder).run()
    chunker = RecursiveChunker(120, 20)
    expected = sorted(c.id for d in DirectoryLoader(corpus).load() for c in chunker.chunk(d))
    assert [r[0] for r in records(store)] == expected
    assert (report.seen, report.added, report.updated, report.unchanged) == (4, 4, 0, 0)
    assert report.chunks == report.chunks_written == len(expected)
    assert report.ok and report.exit_code == 0
    meta = records(store)[0][2]
    assert meta["source"].startswith(str(corpus))
    assert meta["doc_id"] in CORPUS


def test_second_run_skips_unchanged_without_embedding(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    make(corpus, store, embedder).run()
    before = records(store)
    embedder.calls.clear()
    report = make(corpus, store, embedder).run()
    assert embedder.calls == []
    assert (report.unchanged, report.added, report.updated, report.chunks_written) == (4, 0, 0, 0)
    assert records(store) == before


def test_changed_file_is_replaced_and_others_untouched(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    make(corpus, store, embedder).run()
    old_beta = {r[0] for r in records(store) if r[2]["doc_id"] == "beta.txt"}
    others = [r for r in records(store) if r[2]["doc_id"] != "beta.txt"]
    (corpus / "beta.txt").write_text("Beta is now about software releases. " * 3)
    report = make(corpus, store, embedder).run()
    assert (report.updated, report.unchanged) == (1, 3)
    beta = [r for r in records(store) if r[2]["doc_id"] == "beta.txt"]
    assert beta and all("software releases" in text for _, text, _ in beta)
    assert not old_beta & {r[0] for r in beta}
    assert report.chunks_deleted == len(old_beta)
    assert [r for r in records(store) if r[2]["doc_id"] != "beta.txt"] == others


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_vanished_file_removed_only_in_full_mode(
    corpus: Path, collection_name: str, mode: str
) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    make(corpus, store, embedder).run()
    (corpus / "notes" / "gamma.md").unlink()
    report = make(corpus, store, embedder, mode=mode).run()
    docs = {r[2]["doc_id"] for r in records(store)}
    if mode == "full":
        assert docs == set(CORPUS) - {"notes/gamma.md"}
        assert report.deleted == 1 and report.chunks_deleted > 0
    else:
        assert docs == set(CORPUS)
        assert report.deleted == 0


def test_full_mode_keeps_documents_of_other_sources(
    corpus: Path, tmp_path: Path, collection_name: str
) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    other = tmp_path / "other"
    write(other, {"zeta.txt": "Zeta functions and primes. " * 5})
    make(other, store, embedder).run()
    make(corpus, store, embedder, mode="full").run()
    assert "zeta.txt" in {r[2]["doc_id"] for r in records(store)}


def test_file_that_fails_to_load_is_reported_and_kept(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    make(corpus, store, embedder).run()
    (corpus / "alpha.md").write_bytes(b"")  # EmptyFileError: a failure, not a deletion
    report = make(corpus, store, embedder, mode="full").run()
    assert not report.ok and report.exit_code == 1
    assert report.failed == 1 and report.deleted == 0
    (failure,) = report.failures
    assert failure.source.endswith("alpha.md") and failure.error_type == "EmptyFileError"
    assert "alpha.md" in {r[2]["doc_id"] for r in records(store)}


def test_incremental_result_equals_a_fresh_ingest(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    make(corpus, store, embedder).run()
    (corpus / "beta.txt").write_text("Short beta.")
    (corpus / "notes" / "delta.txt").unlink()
    write(corpus, {"epsilon.md": "Epsilon is small. " * 20})
    make(corpus, store, embedder, mode="full").run()
    fresh = ChromaStore(collection_name + "-fresh", embedder=embedder)
    make(corpus, fresh, embedder).run()
    assert records(store) == records(fresh)


def test_persistent_store_caches_embeddings(corpus: Path, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore("cached", embedder=embedder, path=tmp_path / "db")
    first = make(corpus, store, embedder, cache=None).run()
    assert (tmp_path / "db" / CACHE_FILE).is_file()
    store.clear()  # records gone, cache kept: the re-ingest must not re-embed
    embedder.calls.clear()
    second = make(corpus, store, embedder, cache=None).run()
    assert embedder.calls == []
    assert second.cache_hits == first.chunks_written == second.chunks_written


def test_chunk_size_over_the_embedder_limit_is_refused_before_work(
    corpus: Path, collection_name: str
) -> None:
    class Small(FakeEmbedder):
        @property
        def max_input_tokens(self) -> int:
            return 100

    embedder = Small()
    store = ChromaStore(collection_name, embedder=embedder)
    with pytest.raises(ConfigError, match=r"chunk size 120 .*maximum input of 100 tokens"):
        make(corpus, store, embedder)
    with pytest.raises(ConfigError, match=r"1000 .*100"):
        Pipeline(DirectoryLoader(corpus), SentenceWindowChunker(2), embedder, store)
    assert store.count() == 0
    Pipeline(DirectoryLoader(corpus), RecursiveChunker(100, 10), embedder, store)  # at the limit


def test_embedding_failure_costs_only_its_document(corpus: Path, collection_name: str) -> None:
    class Picky(FakeEmbedder):
        def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
            if any("neutron" in t for t in texts):
                raise EmbeddingError("provider refused a text about neutrons")
            return super().embed_documents(texts)

    embedder = Picky()
    store = ChromaStore(collection_name, embedder=embedder)
    report = make(corpus, store, embedder).run()
    assert report.added == 3 and report.failed == 1
    assert report.failures[0].stage == "embed" and report.failures[0].source.endswith("beta.txt")
    assert "beta.txt" not in {r[2]["doc_id"] for r in records(store)}


def test_duplicate_document_ids_are_reported(
    corpus: Path, tmp_path: Path, collection_name: str
) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    twin = tmp_path / "twin"
    write(twin, {"beta.txt": "Another beta file with other text. " * 4})
    report = Pipeline(
        [DirectoryLoader(corpus), DirectoryLoader(twin)],
        RecursiveChunker(120, 20),
        embedder,
        store,
        progress=False,
    ).run()
    assert report.failed == 1 and report.failures[0].error_type == "DuplicateDocumentId"
    assert "already ingested" in report.failures[0].message


def test_embedder_must_match_the_store(corpus: Path, collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    with pytest.raises(EmbedderMismatchError):
        make(corpus, store, FakeEmbedder(name="test:other"))
    with pytest.raises(ConfigError, match="no embedder"):
        Pipeline(
            TextLoader(corpus / "beta.txt"),
            RecursiveChunker(100, 0),
            None,
            ChromaStore(collection_name + "-bare"),
        )


def test_bad_arguments(corpus: Path, collection_name: str) -> None:
    store = ChromaStore(collection_name, embedder=FakeEmbedder())
    with pytest.raises(ConfigError, match="mode"):
        make(corpus, store, None, mode="sometimes")
    with pytest.raises(ConfigError, match="batch_size"):
        make(corpus, store, None, batch_size=0)


def test_small_batches_give_the_same_result(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    one = ChromaStore(collection_name, embedder=embedder)
    many = ChromaStore(collection_name + "-b", embedder=embedder)
    make(corpus, one, embedder, batch_size=1).run()
    make(corpus, many, embedder, batch_size=1000).run()
    assert records(one) == records(many)


def test_report_json_and_table(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    (corpus / "empty.txt").write_bytes(b"")
    report = make(corpus, store, embedder).run()
    data = json.loads(report.to_json())
    assert data["added"] == 4 and data["failed"] == 1 and data["ok"] is False
    assert set(data["seconds"]) >= {"load", "chunk", "embed", "write"}
    assert data["failures"][0]["error_type"] == "EmptyFileError"
    assert data["tokens"] > 0
    console = Console(record=True, width=160)
    console.print(report)
    text = console.export_text()
    assert "unchanged" in text and "EmptyFileError" in text and "empty.txt" in text
    assert isinstance(report, IngestReport)


async def test_arun_matches_run(corpus: Path, collection_name: str) -> None:
    embedder = FakeEmbedder()
    sync_store = ChromaStore(collection_name, embedder=embedder)
    async_store = ChromaStore(collection_name + "-a", embedder=embedder)
    make(corpus, sync_store, embedder).run()
    report = await make(corpus, async_store, embedder).arun()
    assert report.added == 4
    assert records(sync_store) == records(async_store)
    (corpus / "alpha.md").unlink()
    again = await make(corpus, async_store, embedder, mode="full").arun()
    assert (again.deleted, again.unchanged) == (1, 3)


@pytest.mark.server
async def test_arun_on_a_server(corpus: Path, chroma_server: Any, collection_name: str) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(
        collection_name, embedder=embedder, host=chroma_server.host, port=chroma_server.port
    )
    assert store.is_async_native
    report = await make(corpus, store, embedder).arun()
    assert report.added == 4 and report.ok
    (corpus / "beta.txt").write_text("Changed beta text about a new topic entirely. " * 2)
    (corpus / "alpha.md").unlink()
    again = await make(corpus, store, embedder, mode="full").arun()
    assert (again.updated, again.deleted, again.unchanged) == (1, 1, 2)
    fresh = ChromaStore(collection_name + "-fresh", embedder=embedder)
    make(corpus, fresh, embedder).run()
    assert records(store) == records(fresh)


def test_progress_only_on_a_terminal(
    corpus: Path, collection_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chromabridge.progress import want_progress

    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert want_progress(None) is False and want_progress(True) is True
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert want_progress(None) is True and want_progress(False) is False
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    shown = make(corpus, store, embedder)
    shown.progress = True  # a bar drawn on (captured) stderr must not disturb the run
    assert shown.run().added == 4


def test_strict_loader_failure_stops_only_safe_deletions(
    corpus: Path, tmp_path: Path, collection_name: str
) -> None:
    embedder = FakeEmbedder()
    store = ChromaStore(collection_name, embedder=embedder)
    make(corpus, store, embedder).run()
    (corpus / "alpha.md").unlink()
    (corpus / "beta.txt").write_bytes(b"")  # fails to load: strict mode stops the walk there

    def strict_run() -> IngestReport:
        loader = DirectoryLoader(corpus, on_error="raise")
        return Pipeline(
            loader, RecursiveChunker(120, 20), embedder, store, mode="full", progress=False
        ).run()

    report = strict_run()
    assert report.failed == 1 and report.failures[0].error_type == "EmptyFileError"
    # The walk stopped early: nothing it did not reach may be taken for vanished.
    assert report.deleted == 0
    assert {r[2]["doc_id"] for r in records(store)} == set(CORPUS)

    # A single file that fails is fully known: the walk goes on, vanished files go, and
    # the failed file's records stay.
    single = Pipeline(
        [
            TextLoader(corpus / "beta.txt", root=corpus),
            DirectoryLoader(corpus, exclude=["beta.txt"]),
        ],
        RecursiveChunker(120, 20),
        embedder,
        store,
        mode="full",
        progress=False,
    )
    (corpus / "notes" / "delta.txt").unlink()
    report = single.run()
    assert [f.error_type for f in report.failures] == ["EmptyFileError"]
    assert report.deleted == 2  # alpha.md and notes/delta.txt
    assert {r[2]["doc_id"] for r in records(store)} == {"beta.txt", "notes/gamma.md"}
