"""What the HTTP service reads from Chroma: collections, documents, searches, vectors.

Everything here is blocking and runs in a worker thread (the app never calls it on the
event loop). Stores are opened in one place, `Catalog.store`, and kept open: a store per
collection, one embedder per spec (a local model loads once), one hybrid retriever per
collection (its BM25 index is built once, then follows the collection's writes).
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np

from chromabridge.errors import ConfigError, InputError
from chromabridge.types import EMBEDDER_KEY, Chunk, Hit
from chromabridge.vectorstores import ChromaFilter

__all__ = [
    "Catalog",
    "CollectionNotFound",
    "Mode",
    "data_path",
    "list_datasets",
    "llama_filters",
    "project",
]

Mode = Literal["dense", "hybrid", "mmr"]


class CollectionNotFound(InputError):
    """The URL names a collection the store does not hold (HTTP 404)."""


@dataclass
class _DocIndex:
    """Documents of a collection (doc id -> source, chunk count), valid for `records`."""

    records: int
    docs: dict[str, tuple[str | None, int]]


def llama_filters(node: Any) -> Any:
    """A LlamaIndex `MetadataFilters` as JSON (its `model_dump()`) -> the attribute shape
    `to_chroma_where` recognises, so HTTP clients can send that dialect too."""
    if isinstance(node, Mapping):
        fields = {k: llama_filters(v) for k, v in node.items()}
        if "filters" in fields:  # `condition` defaults to "and", as in MetadataFilters
            fields.setdefault("condition", "and")
        return SimpleNamespace(**fields)
    if isinstance(node, list):
        return [llama_filters(v) for v in node]
    return node


class Catalog:
    """The collections of one Chroma deployment, opened on demand and kept open.

    `deployment`: `ChromaStore` keyword arguments (path / host+port / cloud / client).
    `embedder`: an `Embedder` used for every collection, a spec string ("local",
    "openai:MODEL"), or None for each collection's recorded embedder (else "local").
    """

    def __init__(self, deployment: Mapping[str, Any], embedder: object | None = None) -> None:
        from chromabridge.vectorstores.clients import connect

        self._deployment = dict(deployment)
        self._connection = None  # ours to close: the directory lock or shared registration
        if "client" not in self._deployment:
            self._connection = connect(**self._deployment)
            self._deployment = {"client": self._connection.sync}
        self.client: Any = self._deployment["client"]
        self._embedder = embedder
        self._lock = threading.Lock()
        self._stores: dict[str, Any] = {}
        self._models: dict[str, Any] = {}
        self._hybrid: dict[str, Any] = {}
        self._docs: dict[str, _DocIndex] = {}

    # -- opening ------------------------------------------------------------------------

    def _model(self, name: str) -> Any:
        if self._embedder is not None and not isinstance(self._embedder, str):
            return self._embedder
        from chromabridge.specs import DEFAULT_EMBEDDER, make_embedder, spec_of

        spec: str | None
        if isinstance(self._embedder, str):
            spec = self._embedder
        else:
            found = self.client.get_collection(name) if name in self.names() else None
            recorded = ((found.metadata if found else None) or {}).get(EMBEDDER_KEY)
            spec = spec_of(recorded) if isinstance(recorded, str) else DEFAULT_EMBEDDER
            if spec is None:
                raise ConfigError(
                    f"collection {name!r} was filled by embedder {recorded!r}, which the "
                    "server cannot rebuild; start it with --embedder"
                )
        if spec not in self._models:
            self._models[spec] = make_embedder(spec)
        return self._models[spec]

    def names(self) -> list[str]:
        return sorted(getattr(c, "name", c) for c in self.client.list_collections())

    def store(self, name: str, *, create: bool = False) -> Any:
        """The open `ChromaStore` of `name` (the one place the service opens stores)."""
        from chromabridge.vectorstores import ChromaStore

        with self._lock:
            if name in self._stores:
                return self._stores[name]
            if not create and name not in self.names():
                raise CollectionNotFound(f"no collection {name!r} in this store")
            store = ChromaStore(name, embedder=self._model(name), **self._deployment)
            self._stores[name] = store
            return store

    def close(self) -> None:
        with self._lock:
            for retriever in self._hybrid.values():
                retriever.close()
            self._hybrid.clear()
            if self._connection is not None:
                self._connection.close()

    # -- reads --------------------------------------------------------------------------

    def collections(self) -> list[dict[str, Any]]:
        rows = []
        for name in self.names():
            found = self.client.get_collection(name)
            rows.append(
                {
                    "name": name,
                    "count": found.count(),
                    "embedder": (found.metadata or {}).get(EMBEDDER_KEY),
                }
            )
        return rows

    def _doc_index(self, name: str) -> _DocIndex:
        store = self.store(name)
        records = store.count()
        cached = self._docs.get(name)
        if cached is not None and cached.records == records:
            return cached
        index = _DocIndex(records, dict(store.documents(page_size=2000)))
        self._docs[name] = index
        return index

    def documents(self, name: str, offset: int, limit: int) -> dict[str, Any]:
        """A page of the collection's documents, in doc-id order, with chunk counts."""
        docs = self._doc_index(name).docs
        page = sorted(docs)[offset : offset + limit]
        return {
            "total": len(docs),
            "offset": offset,
            "documents": [{"doc_id": d, "source": docs[d][0], "chunks": docs[d][1]} for d in page],
        }

    def document(self, name: str, doc_id: str) -> dict[str, Any]:
        """A document's chunks in order, with their character offsets."""
        chunks = sorted(self.store(name).get(where={"doc_id": doc_id}), key=_position)
        if not chunks:
            raise CollectionNotFound(f"no document {doc_id!r} in collection {name!r}")
        return {
            "doc_id": doc_id,
            "source": chunks[0].metadata.get("source"),
            "chunks": [
                {
                    "id": c.id,
                    "index": c.index,
                    "start": c.start,
                    "end": c.end,
                    "text": c.text,
                    "metadata": c.metadata,
                }
                for c in chunks
            ],
        }

    def _lexical(self, name: str) -> Any:
        """The collection's BM25 index, built once and shared by every hybrid search."""
        from chromabridge.retrievers import HybridRetriever

        store = self.store(name)
        with self._lock:
            if name not in self._hybrid:
                self._hybrid[name] = HybridRetriever(store)
            return self._hybrid[name].lexical

    def search(self, name: str, query: str, k: int, mode: Mode, flt: ChromaFilter) -> list[Hit]:
        """One retrieval mode, through the same code the CLI and the retrievers use."""
        store = self.store(name)
        where = {"where": flt.where, "where_document": flt.where_document}
        if mode == "dense":
            return list(store.query(query, k=k, **where))
        if mode == "mmr":
            return list(store.mmr(query, k=k, fetch_k=max(20, 4 * k), **where))
        from chromabridge.retrievers import HybridRetriever

        lexical = self._lexical(name)
        retriever = HybridRetriever(
            store, k=k, filter=flt.where, where_document=flt.where_document, lexical=lexical
        )
        return retriever.retrieve(query)

    def vectors(self, name: str, sample: int, seed: int = 0) -> tuple[np.ndarray, list[Chunk]]:
        """Up to `sample` records with their embeddings, drawn evenly at random."""
        from chromabridge.vectorstores.records import record_to_chunk

        store = self.store(name)
        ids = store.ids()
        if len(ids) > sample:
            ids = random.Random(seed).sample(ids, sample)
        if not ids:
            return np.zeros((0, 0)), []
        got = store.records(ids=ids, include=["embeddings", "documents", "metadatas"])
        chunks = [
            record_to_chunk(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        return np.asarray(got["embeddings"], dtype=np.float64), chunks


def _position(chunk: Chunk) -> tuple[int, int]:
    return (chunk.index if chunk.index is not None else 0, chunk.start or 0)


def project(vectors: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """PCA to two dimensions (SVD of the centred sample) and the variance each axis keeps."""
    if len(vectors) == 0:
        return np.zeros((0, 2)), [0.0, 0.0]
    centred = vectors - vectors.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ axes[:2].T
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(coords), 2 - coords.shape[1]))])
    total = float((singular**2).sum()) or 1.0
    kept = [float(s**2 / total) for s in singular[:2]] + [0.0, 0.0]
    return coords, kept[:2]


def list_datasets(root: str | os.PathLike[str] | None) -> list[str]:
    """Folders of the data folder laid out as BEIR or Cranfield datasets."""
    from pathlib import Path

    if root is None:
        return []
    return [
        p.name
        for p in sorted(Path(root).iterdir())
        if p.is_dir() and ((p / "corpus.jsonl").is_file() or (p / "cran.all.1400").is_file())
    ]


def data_path(root: str | os.PathLike[str] | None, relative: str) -> Any:
    """`relative` inside the data folder `root`, refusing anything that leaves it."""
    from pathlib import Path

    if root is None:
        raise ConfigError("evaluation is off: start the server with --data-dir DIR")
    base = Path(root).resolve()
    if not relative or Path(relative).is_absolute() or "\x00" in relative:
        raise InputError("dataset must be a path relative to the server's data folder")
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise InputError(f"dataset {relative!r} is outside the server's data folder")
    if not target.is_dir():
        raise InputError(f"dataset {relative!r} is not a folder in the server's data folder")
    return target
