"""End-to-end ingestion overhead: chunk + embed + store, side by side in one run.

The same in-memory documents (the Python 3.11 documentation sources by default, Debian's
`python3.11-doc`) go through:

* raw chromadb: LangChain's splitter output written with `collection.add` (no framework);
* LangChain: `RecursiveCharacterTextSplitter(1000, 200)` + `langchain_chroma.Chroma`;
* LlamaIndex: `IngestionPipeline([SentenceSplitter(256, 50), embed])` into the
  stock `ChromaVectorStore`;
* chromabridge: `Pipeline(..., RecursiveChunker(1000, 200), ...)` into `ChromaStore`.

Every contender embeds with the same cheap deterministic hash embedder (64 dims), so the
figures are the libraries' own overhead, not a model's. Loading is not timed (all start
from the same strings). Ratios are against raw chromadb.

    .venv/bin/python benchmarks/ingest.py [--limit 200]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chromadb
import numpy as np

CORPUS = Path("/usr/share/doc/python3.11/html/_sources")
DIM = 64


def embed(texts: list[str]) -> list[list[float]]:
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.split()[:200]:
            out[row, hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % DIM] += 1.0
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    return out.tolist()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=200, help="number of files")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}: apt-get install python3.11-doc")

    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from llama_index.core import Document as LIDocument
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from chromabridge import Document, Pipeline
    from chromabridge.chunkers import RecursiveChunker
    from chromabridge.vectorstores import ChromaStore

    files = sorted(args.corpus.rglob("*.txt"))[: args.limit]
    texts = {str(p.relative_to(args.corpus)): p.read_text(errors="replace") for p in files}
    mb = sum(len(t.encode()) for t in texts.values()) / 1e6

    class HashEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embed(texts)

        def embed_query(self, text: str) -> list[float]:
            return embed([text])[0]

    class HashEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embed([query])[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return embed([query])[0]

        def _get_text_embedding(self, text: str) -> list[float]:
            return embed([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embed(texts)

    class HashEmbedder:
        name, dimension, max_input_tokens = "bench:hash", DIM, None

        def embed_documents(self, texts: Any) -> list[list[float]]:
            return embed(list(texts))

        def embed_query(self, text: str) -> list[float]:
            return embed([text])[0]

        async def aembed_documents(self, texts: Any) -> list[list[float]]:
            return embed(list(texts))

        async def aembed_query(self, text: str) -> list[float]:
            return embed([text])[0]

    class Source:
        def lazy_load(self) -> Iterator[Document]:
            for doc_id, text in texts.items():
                yield Document(id=doc_id, text=text, source=doc_id)

    client = chromadb.EphemeralClient()
    batch = client.get_max_batch_size()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)

    def name() -> str:
        return f"ingest-{uuid.uuid4().hex[:8]}"

    def raw() -> int:
        col = client.create_collection(name(), embedding_function=None)
        pieces = [(doc_id, p) for doc_id, t in texts.items() for p in splitter.split_text(t)]
        ids = [f"{d}#{i}" for i, (d, _) in enumerate(pieces)]
        docs = [p for _, p in pieces]
        vectors = embed(docs)
        for lo in range(0, len(ids), batch):
            col.add(
                ids=ids[lo : lo + batch],
                embeddings=vectors[lo : lo + batch],
                documents=docs[lo : lo + batch],
                metadatas=[{"source": d} for d, _ in pieces[lo : lo + batch]],
            )
        return col.count()

    def langchain() -> int:
        store = Chroma(name(), HashEmbeddings(), client=client)
        docs = splitter.split_documents(
            [LCDocument(page_content=t, metadata={"source": d}) for d, t in texts.items()]
        )
        for lo in range(0, len(docs), batch):  # one call above 5,461 fails
            store.add_documents(docs[lo : lo + batch])
        return int(store._collection.count())

    def llamaindex() -> int:
        col = client.create_collection(name())
        pipeline = IngestionPipeline(
            transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=50), HashEmbedding()],
        )
        nodes = pipeline.run(
            documents=[
                LIDocument(text=t, doc_id=d, metadata={"source": d}) for d, t in texts.items()
            ]
        )
        store = ChromaVectorStore(chroma_collection=col)
        for lo in range(0, len(nodes), batch):
            store.add(nodes[lo : lo + batch])
        return col.count()

    def ours() -> int:
        store = ChromaStore(name(), client=client, embedder=HashEmbedder())
        Pipeline(Source(), RecursiveChunker(1000, 200), None, store, progress=False).run()
        return store.count()

    runs: dict[str, Callable[[], int]] = {
        "raw chromadb (LangChain splitter, collection.add)": raw,
        "LangChain splitter + langchain_chroma": langchain,
        "LlamaIndex IngestionPipeline + ChromaVectorStore": llamaindex,
        "chromabridge Pipeline + ChromaStore": ours,
    }
    best = {label: float("inf") for label in runs}
    chunks = {}
    for order in (list(runs), list(runs)[::-1]):  # best of two, opposite orders
        for label in order:
            gc.collect()
            start = time.perf_counter()
            chunks[label] = runs[label]()
            best[label] = min(best[label], time.perf_counter() - start)
    base = best[next(iter(runs))]
    print(f"\n{len(texts)} files, {mb:.1f} MB, hash embedder ({DIM} dims), in-memory Chroma\n")
    print("| contender | chunks | s | MB/s | x raw time |")
    print("|---|---:|---:|---:|---:|")
    for label, seconds in best.items():
        print(
            f"| {label} | {chunks[label]} | {seconds:.2f} | {mb / seconds:.2f} "
            f"| {seconds / base:.2f} |"
        )


if __name__ == "__main__":
    main()
