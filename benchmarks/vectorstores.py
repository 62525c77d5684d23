"""Store overhead: raw chromadb vs stock LangChain/LlamaIndex stores vs ours, one run.

20,000 chunks with precomputed 384-dim vectors in an embedded (in-memory) Chroma. For
each contender: time to add everything (best of two rounds, run in opposite orders), and
query p50 (queries interleaved across contenders) for a plain and a filtered
top-10 query by vector. Ratios are against raw chromadb measured in the same run.

    .venv/bin/python benchmarks/vectorstores.py [--n 20000] [--queries 200]

The stock stores fail when one call adds more than the client's max batch size (5,461),
so they are fed in slices of that size (and the single-call failure is reported).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import chromadb
import numpy as np

DIM = 384


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Lookup:
    """An embeddings object that returns precomputed vectors (no model cost)."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.table = {t: v.tolist() for t, v in zip(texts, vectors, strict=True)}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
    from llama_index.core.vector_stores.types import (
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
    )
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from chromabridge import Chunk
    from chromabridge.vectorstores import ChromaStore

    rng = np.random.default_rng(0)
    n = args.n
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"chunk {i} " + "lorem ipsum " * 20 for i in range(n)]
    metas = [{"source": f"doc{i // 10}.txt", "group": i % 10, "lang": "en"} for i in range(n)]
    ids = [f"c{i}" for i in range(n)]
    queries = rng.normal(size=(args.queries, DIM)).astype(np.float32)
    where = {"group": 3}

    class LookupEmbeddings(Embeddings):
        def __init__(self) -> None:
            self.inner = Lookup(texts, vectors)

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.inner.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return self.inner.embed_query(text)

    client = chromadb.EphemeralClient()
    batch = client.get_max_batch_size()
    contenders: list[
        tuple[str, Callable[[], Any], Callable[[np.ndarray], Any], Callable[[np.ndarray], Any], str]
    ] = []

    def record(
        name: str,
        add: Callable[[], Any],
        q: Callable[[np.ndarray], Any],
        qf: Callable[[np.ndarray], Any],
        note: str = "",
    ) -> None:
        contenders.append((name, add, q, qf, note))

    # raw chromadb
    raw = client.create_collection(
        _name("raw"), configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )

    def raw_add() -> None:
        for lo in range(0, n, batch):
            raw.add(
                ids=ids[lo : lo + batch],
                embeddings=vectors[lo : lo + batch],
                documents=texts[lo : lo + batch],
                metadatas=metas[lo : lo + batch],
            )

    record(
        "raw chromadb",
        raw_add,
        lambda v: raw.query(query_embeddings=[v], n_results=10),
        lambda v: raw.query(query_embeddings=[v], n_results=10, where=where),
    )

    # stock langchain_chroma
    lc_stock = Chroma(
        collection_name=_name("lcstock"),
        client=client,
        embedding_function=LookupEmbeddings(),
        collection_metadata={"hnsw:space": "cosine"},
    )
    try:
        Chroma(
            collection_name=_name("lcstock1"), client=client, embedding_function=LookupEmbeddings()
        ).add_texts(texts, metas, ids=ids)
        lc_note = ""
    except Exception as exc:  # the known single-call limit
        lc_note = f"one call of {n}: {type(exc).__name__}"

    def lc_stock_add() -> None:
        for lo in range(0, n, batch):
            lc_stock.add_texts(
                texts[lo : lo + batch], metas[lo : lo + batch], ids=ids[lo : lo + batch]
            )

    record(
        "stock langchain_chroma",
        lc_stock_add,
        lambda v: lc_stock.similarity_search_by_vector(v.tolist(), k=10),
        lambda v: lc_stock.similarity_search_by_vector(v.tolist(), k=10, filter=where),
        lc_note,
    )

    # stock LlamaIndex ChromaVectorStore
    li_nodes = [
        TextNode(
            id_=ids[i],
            text=texts[i],
            metadata=metas[i],
            embedding=vectors[i].tolist(),
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=metas[i]["source"])},
        )
        for i in range(n)
    ]
    li_stock = ChromaVectorStore(
        chroma_collection=client.create_collection(
            _name("listock"), metadata={"hnsw:space": "cosine"}
        )
    )
    try:
        ChromaVectorStore(chroma_collection=client.create_collection(_name("listock1"))).add(
            li_nodes
        )
        li_note = ""
    except Exception as exc:
        li_note = f"one call of {n}: {type(exc).__name__}"
    li_filter = MetadataFilters(filters=[MetadataFilter(key="group", value=3)])

    def li_stock_add() -> None:
        for lo in range(0, n, batch):
            li_stock.add(li_nodes[lo : lo + batch])

    record(
        "stock llama-index ChromaVectorStore",
        li_stock_add,
        lambda v: li_stock.query(VectorStoreQuery(query_embedding=v.tolist(), similarity_top_k=10)),
        lambda v: li_stock.query(
            VectorStoreQuery(query_embedding=v.tolist(), similarity_top_k=10, filters=li_filter)
        ),
        li_note,
    )

    # ours: native, LangChain face, LlamaIndex face (each one call for everything)
    native = ChromaStore(_name("native"), client=client)
    chunks = [
        Chunk(id=ids[i], doc_id=metas[i]["source"], text=texts[i], metadata=metas[i])
        for i in range(n)
    ]
    record(
        "chromabridge ChromaStore",
        lambda: native.add(chunks, vectors),
        lambda v: native.query(embedding=v, k=10),
        lambda v: native.query(embedding=v, k=10, where=where),
    )

    lc_ours = ChromaStore(
        _name("lcours"), client=client, embedder=LookupEmbeddings()
    ).as_langchain()
    record(
        "chromabridge LangChainVectorStore",
        lambda: lc_ours.add_texts(texts, metas, ids=ids),
        lambda v: lc_ours.similarity_search_by_vector(v.tolist(), k=10),
        lambda v: lc_ours.similarity_search_by_vector(v.tolist(), k=10, filter=where),
    )

    li_ours = ChromaStore(_name("liours"), client=client).as_llamaindex()
    record(
        "chromabridge LlamaIndexVectorStore",
        lambda: li_ours.add(li_nodes),
        lambda v: li_ours.query(VectorStoreQuery(query_embedding=v.tolist(), similarity_top_k=10)),
        lambda v: li_ours.query(
            VectorStoreQuery(query_embedding=v.tolist(), similarity_top_k=10, filters=li_filter)
        ),
    )

    # Adds run twice, forward then reverse order, best of two (upserts: same end state);
    # queries go round-robin so drift on a shared machine hits every contender alike.
    add_s = {name: float("inf") for name, *_ in contenders}
    for order in (contenders, contenders[::-1]):
        for name, add, *_ in order:
            gc.collect()
            start = time.perf_counter()
            add()
            add_s[name] = min(add_s[name], time.perf_counter() - start)
    plain: dict[str, list[float]] = {name: [] for name, *_ in contenders}
    filtered: dict[str, list[float]] = {name: [] for name, *_ in contenders}
    for v in queries:
        for name, _, q, qf, _ in contenders:
            for run, out in ((q, plain), (qf, filtered)):
                start = time.perf_counter()
                run(v)
                out[name].append(time.perf_counter() - start)
    rows = [
        (
            name,
            add_s[name],
            statistics.median(plain[name]) * 1000,
            statistics.median(filtered[name]) * 1000,
            note,
        )
        for name, _, _, _, note in contenders
    ]
    base = rows[0]
    print(
        f"\n{n} chunks, {DIM}-dim precomputed vectors, in-memory Chroma, "
        f"{args.queries} queries, top-10\n"
    )
    print("| store | add s | add x raw | query p50 ms | x raw | filtered p50 ms | x raw | note |")
    print("|---|---|---|---|---|---|---|---|")
    for name, add_s, q, qf, note in rows:
        print(
            f"| {name} | {add_s:.2f} | {add_s / base[1]:.2f} | {q:.2f} | {q / base[2]:.2f} "
            f"| {qf:.2f} | {qf / base[3]:.2f} | {note} |"
        )


if __name__ == "__main__":
    main()
