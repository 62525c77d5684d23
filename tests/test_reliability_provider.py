"""Embedding provider outages during ingestion: nothing half-written, a re-run completes.

The real OpenAI and Cohere SDKs talk to the loopback fake servers of `embedder_servers`,
which are scripted to answer 429 storms (with Retry-After), 500s or to stall past the
client timeout. After each outage run, every document in the collection is either
absent or complete (all of its chunks, exactly as an uninterrupted ingest writes them),
and a document being updated keeps its old version whole until its new one is in; the
failures are in the report, not raised. Then the provider recovers and a re-run ends in
the state of an ingest that never saw an outage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from embedder_servers import FakeServer, Reply, Slow, cohere_answer, openai_answer, serve

from chromabridge import Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import CohereEmbedder, OpenAIEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.retry import RetryPolicy
from chromabridge.vectorstores import ChromaStore

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02, max_elapsed=10)
DOCS = 12


@pytest.fixture(scope="module")
def openai_api() -> Iterator[FakeServer]:
    with serve(openai_answer) as srv:
        yield srv


@pytest.fixture(scope="module")
def cohere_api() -> Iterator[FakeServer]:
    with serve(cohere_answer) as srv:
        yield srv


def write_corpus(root: Path, version: str = "v1") -> None:
    root.mkdir(exist_ok=True)
    for i in range(DOCS):
        text = " ".join(f"{version} doc {i} line {j} says something." for j in range(30))
        (root / f"doc{i:02d}.txt").write_text(text)


def make_embedder(kind: str, api: FakeServer, timeout: float = 60.0) -> Any:
    if kind == "openai":
        return OpenAIEmbedder(
            api_key="sk-outage-0123456789abcdef",
            base_url=f"{api.url}/v1",
            dimensions=16,
            retry=FAST,
            timeout=timeout,
            max_concurrency=1,
        )
    return CohereEmbedder(
        "embed-english-light-v3.0",
        api_key="co-outage-0123456789",
        base_url=api.url,
        retry=FAST,
        timeout=timeout,
        max_concurrency=1,
    )


def ingest(root: Path, store: ChromaStore) -> Any:
    return Pipeline(
        DirectoryLoader(root),
        RecursiveChunker(250, 0),
        None,
        store,
        batch_size=3,
        progress=False,
    ).run()


def by_doc(store: ChromaStore) -> dict[str, dict[str, str]]:
    docs: dict[str, dict[str, str]] = defaultdict(dict)
    for chunk in store.get():
        docs[chunk.doc_id][chunk.id] = chunk.text
    return dict(docs)


def assert_whole(state: dict[str, dict[str, str]], *versions: dict[str, dict[str, str]]) -> None:
    """Every stored document equals one complete version of itself."""
    for doc_id, chunks in state.items():
        assert any(v.get(doc_id) == chunks for v in versions), f"{doc_id} is half-written"


OUTAGES: dict[str, list[Any]] = {
    "429-storm": [Reply(429, {"error": {"message": "slow down"}}, {"retry-after": "0"})] * 9,
    "500s": [Reply(500, {"error": {"message": "boom"}})] * 7,
    "timeouts": [Slow(1.5)] * 4,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["openai", "cohere"])
@pytest.mark.parametrize("outage", list(OUTAGES))
def test_outage_leaves_nothing_half_written_and_a_rerun_completes(
    kind: str,
    outage: str,
    openai_api: FakeServer,
    cohere_api: FakeServer,
    tmp_path: Path,
    collection_name: str,
) -> None:
    api = openai_api if kind == "openai" else cohere_api
    api.reset()
    timeout = 0.5 if outage == "timeouts" else 60.0
    root = tmp_path / "corpus"
    write_corpus(root)

    clean = ChromaStore(f"{collection_name}-clean", embedder=make_embedder(kind, api))
    assert ingest(root, clean).ok
    v1 = by_doc(clean)
    assert len(v1) == DOCS

    store = ChromaStore(collection_name, embedder=make_embedder(kind, api, timeout))
    api.queue(*OUTAGES[outage])
    report = ingest(root, store)
    assert report.failed > 0, "the outage should have cost some documents"
    assert {f.stage for f in report.failures} == {"embed"}
    state = by_doc(store)
    assert_whole(state, v1)
    failed = {Path(f.source).name for f in report.failures}
    assert not failed & {f"{d}.txt" for d in state}, "a failed document was written"
    assert len(state) + report.failed == DOCS

    # A changed corpus during a second outage: old versions stay whole.
    write_corpus(root, "v2")
    clean2 = ChromaStore(f"{collection_name}-clean2", embedder=make_embedder(kind, api))
    assert ingest(root, clean2).ok
    v2 = by_doc(clean2)
    api.queue(*OUTAGES[outage])
    report = ingest(root, store)
    assert report.failed > 0
    assert_whole(by_doc(store), v1, v2)

    # Recovery: a re-run completes and equals the clean ingest of the latest corpus.
    report = ingest(root, store)
    assert report.ok, report.failures
    assert by_doc(store) == v2
