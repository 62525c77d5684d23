"""End-to-end ingestion overhead: chunk + embed + store, side by side in one run.

The same in-memory documents (the Python 3.11 documentation sources by default, Debian's
`python3.11-doc`) go through:

* raw chromadb: LangChain's splitter output written with `collection.add` (no framework);
* LangChain: `RecursiveCharacterTextSplitter(1000, 200)` + `langchain_chroma.Chroma`;
* LlamaIndex: `IngestionPipeline([SentenceSplitter(256, 50), embed])` into the
  stock `ChromaVectorStore`;
* chromabridge: `Pipeline(..., RecursiveChunker(1000, 200), ...)` into `ChromaStore`.

Every contender embeds with the same cheap deterministic embedder (`FakeEmbedder`, 64
dims, through its LangChain and LlamaIndex faces for the stock stacks), so the
figures are the libraries' own overhead, not a model's. Loading is not timed (all start
from the same strings). Ratios are against raw chromadb.

    .venv/bin/python benchmarks/ingest.py [--limit 200]
"""

from __future__ import annotations

import argparse
import gc
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import chromadb

CORPUS = Path("/usr/share/doc/python3.11/html/_sources")
DIM = 64


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=200, help="number of files")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}: apt-get install python3.11-doc")

    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from llama_index.core import Document as LIDocument
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from chromabridge import Document, Pipeline
    from chromabridge.chunkers import RecursiveChunker
    from chromabridge.embedders import FakeEmbedder
    from chromabridge.vectorstores import ChromaStore

    files = sorted(args.corpus.rglob("*.txt"))[: args.limit]
    texts = {str(p.relative_to(args.corpus)): p.read_text(errors="replace") for p in files}
    mb = sum(len(t.encode()) for t in texts.values()) / 1e6

    fake = FakeEmbedder(DIM, name="bench:hash")  # the same vectors for every contender

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
        vectors = fake.embed_documents(docs)
        for lo in range(0, len(ids), batch):
            col.add(
                ids=ids[lo : lo + batch],
                embeddings=vectors[lo : lo + batch],
                documents=docs[lo : lo + batch],
                metadatas=[{"source": d} for d, _ in pieces[lo : lo + batch]],
            )
        return col.count()

    def langchain() -> int:
        store = Chroma(name(), fake.as_langchain(), client=client)
        docs = splitter.split_documents(
            [LCDocument(page_content=t, metadata={"source": d}) for d, t in texts.items()]
        )
        for lo in range(0, len(docs), batch):  # one call above 5,461 fails
            store.add_documents(docs[lo : lo + batch])
        return int(store._collection.count())

    def llamaindex() -> int:
        col = client.create_collection(name())
        pipeline = IngestionPipeline(
            transformations=[
                SentenceSplitter(chunk_size=256, chunk_overlap=50),
                fake.as_llamaindex(),
            ],
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
        store = ChromaStore(name(), client=client, embedder=fake)
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
