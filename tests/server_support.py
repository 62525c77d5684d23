"""Test support for `chromabridge serve`: a real uvicorn on a loopback port, a small
collection (with a hostile chunk) and a tiny BEIR-layout dataset."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from conftest import free_port

from chromabridge import Document
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import FakeEmbedder
from chromabridge.vectorstores import ChromaStore

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

DOCS = {
    "guide.md": (
        "Chroma keeps embeddings in collections. A collection stores documents, metadata "
        "and vectors side by side, and answers nearest neighbour queries.\n\n"
        "Hybrid search fuses BM25 keyword scores with dense vector similarity, so exact "
        "terms such as product codes are still found.\n\n"
        "Maximal marginal relevance picks results that are relevant to the query and "
        "diverse among themselves, which avoids near duplicate chunks."
    ),
    "faq.md": (
        "How do I filter by metadata? Pass a where filter such as source equals faq.\n\n"
        "Which embedding model is used? The collection remembers the embedder that filled "
        "it and refuses another one, so vector spaces never mix."
    ),
    "notes.txt": (
        "Chunk overlap keeps sentences that straddle a boundary retrievable from both "
        "chunks. Offsets record where each chunk starts and ends in the document."
    ),
    "hostile.html": f"Untrusted page text follows. {HOSTILE} End of untrusted text.",
}


def fill(path: Path | None, name: str = "docs", **deployment: Any) -> ChromaStore:
    """A collection of the documents above (in `path`, or wherever `deployment` says),
    chunked small so documents span several chunks with overlap."""
    store = ChromaStore(name, path=path, embedder=FakeEmbedder(), **deployment)
    chunker = RecursiveChunker(120, 30)
    chunks = []
    for source, text in DOCS.items():
        doc = Document(id=source, text=text, metadata={"source": source}, source=source)
        chunks.extend(chunker.chunk(doc))
    store.add(chunks)
    return store


def beir(root: Path, name: str = "tiny") -> Path:
    """A BEIR-layout dataset: six documents, three judged queries."""
    folder = root / name
    (folder / "qrels").mkdir(parents=True)
    corpus = {
        "d1": "wing lift at high angle of attack",
        "d2": "boundary layer transition on a flat plate",
        "d3": "heat transfer in hypersonic flow",
        "d4": "buckling of thin cylindrical shells",
        "d5": "shock wave interaction with a boundary layer",
        "d6": "lift and drag of slender wings",
    }
    queries = {"q1": "wing lift", "q2": "boundary layer", "q3": "hypersonic heat"}
    qrels = [("q1", "d1", 2), ("q1", "d6", 1), ("q2", "d2", 2), ("q2", "d5", 1), ("q3", "d3", 2)]
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n" for k, v in corpus.items())
    )
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels)
    )
    return folder


def fill_dataset(path: Path, folder: Path, name: str) -> ChromaStore:
    """A collection holding a dataset's corpus, as `chromabridge eval` ingests it."""
    from chromabridge.evaluate import DatasetLoader, load_dataset
    from chromabridge.pipeline import Pipeline

    store = ChromaStore(name, path=path, embedder=FakeEmbedder())
    Pipeline(DatasetLoader(load_dataset(folder)), RecursiveChunker(200, 0), None, store).run()
    return store


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run `app` on a real uvicorn bound to 127.0.0.1 on a free port; yield its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for_job(client: httpx.Client, url: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(url).json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)
