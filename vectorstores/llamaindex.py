"""LlamaIndex face of `ChromaStore`: a `BasePydanticVectorStore`.

Works wherever LlamaIndex takes a vector store (`VectorStoreIndex.from_vector_store`,
`StorageContext`, `IngestionPipeline(vector_store=...)`). Conversion only: nodes become
chunks on the way in, hits become `TextNode`s on the way out, and filters (every
`MetadataFilters` operator Chroma can express, nested AND/OR) are translated by the
native store. Similarities are the store's relevance scores (cosine similarity on a
cosine collection), not stock's `exp(-distance)`.

Drop-in for `llama_index.vector_stores.chroma.ChromaVectorStore` 0.x: the same
constructor (`chroma_collection=`, `collection_name`, `host`/`port`/`ssl`/`headers`,
`persist_dir`, `collection_kwargs`) and factories (`from_collection`, `from_params`);
docs/migrating.md lists what differs and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

from chromadb import Collection
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.schema import (
    BaseNode,
    ImageNode,
    MetadataMode,
    NodeRelationship,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)

from chromabridge.errors import ConfigError, InputError
from chromabridge.types import Chunk, Hit

from .image_nodes import chunk_to_image_node, image_node_to_chunk
from .llamaindex_modes import LEXICAL_MODES, hybrid_retriever, lexical_for
from .reads import QueryRows
from .records import (
    is_image_record,
    record_to_chunk,
    relevances,
    shown_metadata,
    stored_doc_id,
    user_metadata,
)
from .store import ChromaStore

__all__ = ["LlamaIndexVectorStore", "chunk_to_node", "node_to_chunk"]

_DEFAULT_MMR_PREFETCH = 4  # candidates per result, as LlamaIndex's stock Chroma store


def node_to_chunk(node: BaseNode) -> Chunk:
    """A LlamaIndex node as a chunk; its source document becomes `doc_id`."""
    if isinstance(node, ImageNode):
        return image_node_to_chunk(node)
    index = node.metadata.get("chunk_index", 0)
    return Chunk(
        id=node.node_id,
        doc_id=node.ref_doc_id or node.node_id,
        text=node.get_content(metadata_mode=MetadataMode.NONE),
        metadata=dict(node.metadata),
        index=index if isinstance(index, int) else 0,
        start=getattr(node, "start_char_idx", None),
        end=getattr(node, "end_char_idx", None),
    )


def _node_chunks(nodes: Sequence[BaseNode]) -> list[Chunk]:
    """Nodes to write as chunks; anything that is not a node is refused by position."""
    chunks = []
    for position, node in enumerate(nodes):
        if not isinstance(node, BaseNode):
            raise InputError(f"item {position} is a {type(node).__name__}, not a LlamaIndex node")
        chunks.append(node_to_chunk(node))
    return chunks


def chunk_to_node(chunk: Chunk) -> TextNode:
    """A stored chunk as a `TextNode` (an `ImageNode` for images) linked to its source
    document."""
    if chunk.is_image:
        return chunk_to_image_node(chunk)
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=user_metadata(chunk),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
        start_char_idx=chunk.start,
        end_char_idx=chunk.end,
    )


#: `collection_kwargs` (stock: keywords of `get_or_create_collection`) -> ChromaStore's.
_COLLECTION_KWARGS = {
    "metadata": "metadata",
    "configuration": "configuration",
    "embedding_function": "embedder",
}


def _store_kwargs(collection_kwargs: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(collection_kwargs) - set(_COLLECTION_KWARGS))
    if unknown:
        raise InputError(
            f"collection_kwargs {', '.join(map(repr, unknown))} not supported; known: "
            f"{', '.join(sorted(_COLLECTION_KWARGS))}"
        )
    return {_COLLECTION_KWARGS[k]: v for k, v in collection_kwargs.items()}


def _port(port: str | int | None) -> int:
    if port is None:
        return 8000
    try:
        return int(port)
    except (TypeError, ValueError):
        raise InputError(f"port must be an int, got {port!r}") from None


def _result(hits: Sequence[Hit]) -> VectorStoreQueryResult:
    return VectorStoreQueryResult(
        nodes=[chunk_to_node(h.chunk) for h in hits],
        similarities=[h.score for h in hits],
        ids=[h.chunk.id for h in hits],
    )


def _rows_result(rows: QueryRows, store: ChromaStore) -> VectorStoreQueryResult:
    """A query's rows straight to LlamaIndex's result: a `TextNode` per record, as
    `chunk_to_node(record_to_chunk(...))` builds it but without the Chunk and Hit.
    Images and other writers' records take that full path."""
    nodes: list[BaseNode] = []
    for record_id, text, stored in zip(rows.ids, rows.documents, rows.metadatas, strict=True):
        meta = stored or {}
        doc_id = stored_doc_id(meta)
        if doc_id is None or text is None or "_node_content" in meta or is_image_record(meta):
            nodes.append(chunk_to_node(record_to_chunk(record_id, text, stored)))
            continue
        start, end = meta.get("start_char"), meta.get("end_char")
        node = TextNode(
            id_=record_id,
            text=text,
            metadata=shown_metadata(meta),
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc_id)},
            start_char_idx=start if type(start) is int else None,
            end_char_idx=end if type(end) is int else None,
        )
        nodes.append(node)
    return VectorStoreQueryResult(
        nodes=nodes, similarities=relevances(rows.distances, store.distance), ids=rows.ids
    )


def _embeddings(nodes: Sequence[BaseNode]) -> list[list[float]] | None:
    """Nodes embedded by LlamaIndex keep their vectors; otherwise the store embeds.

    The node's own lists are handed on uncopied: the store reads them into one array.
    """
    vectors = [n.embedding for n in nodes]
    if nodes and all(v is not None for v in vectors):
        return cast(list[list[float]], vectors)
    return None


class LlamaIndexVectorStore(BasePydanticVectorStore):
    """`ChromaStore` as a LlamaIndex vector store (`stores_text=True`), a drop-in for
    `ChromaVectorStore`.

    `LlamaIndexVectorStore(chroma_collection=collection)` wraps a chromadb Collection
    you opened, as stock does; `LlamaIndexVectorStore(store)` (or `store.as_llamaindex()`)
    wraps a `ChromaStore`; `LlamaIndexVectorStore(collection_name="docs", persist_dir=...)`
    (or `host=`, ...) builds one, with any other `ChromaStore` keyword.

    Query modes: DEFAULT, MMR, and HYBRID (`alpha` = weight of the dense side),
    SPARSE / TEXT_SEARCH (BM25 alone) through `HybridRetriever` (`llamaindex_modes.py`).
    `vector_store_kwargs={"max_per_document": N}` keeps at most N chunks per document.
    """

    stores_text: bool = True
    flat_metadata: bool = False  # nested metadata is flattened by the store, not refused
    collection_name: str = ""
    host: str | None = None
    port: str | int | None = None
    ssl: bool = False
    headers: dict[str, str] | None = None
    persist_dir: str | None = None
    collection_kwargs: dict[str, Any] = Field(default_factory=dict)

    _store: ChromaStore = PrivateAttr()
    _lexical: Any = PrivateAttr(default=None)

    def __init__(
        self,
        chroma_collection: Any = None,
        collection_name: str | None = None,
        host: str | None = None,
        port: str | int | None = None,
        ssl: bool = False,
        headers: dict[str, str] | None = None,
        persist_dir: str | None = None,
        collection_kwargs: dict[str, Any] | None = None,
        *,
        store: ChromaStore | None = None,
        **store_kwargs: Any,
    ) -> None:
        if isinstance(chroma_collection, ChromaStore):  # LlamaIndexVectorStore(store)
            chroma_collection, store = None, chroma_collection
        collection_kwargs = dict(collection_kwargs or {})
        if store is None:
            kwargs = {**_store_kwargs(collection_kwargs), **store_kwargs}
            if chroma_collection is not None:
                if not isinstance(chroma_collection, Collection):
                    raise ConfigError(
                        "chroma_collection must be a chromadb Collection, got "
                        f"{type(chroma_collection).__name__}"
                    )
                store = ChromaStore(chroma_collection, **kwargs)
            elif collection_name is None:
                raise ConfigError("pass chroma_collection=, store= or collection_name=")
            else:
                if host is not None:
                    kwargs.update(host=host, port=_port(port), ssl=ssl, headers=headers)
                store = ChromaStore(collection_name, path=persist_dir, **kwargs)
        elif not isinstance(store, ChromaStore):
            raise ConfigError(f"store must be a ChromaStore, got {type(store).__name__}")
        fields: dict[str, Any] = {
            "host": host,
            "port": port,
            "ssl": ssl,
            "headers": headers,
            "persist_dir": persist_dir,
            "collection_kwargs": collection_kwargs,
        }
        super().__init__(stores_text=True, **fields)
        self.collection_name = store.name
        self._store = store

    @classmethod
    def from_collection(cls, collection: Any) -> LlamaIndexVectorStore:
        """Wrap an opened chromadb Collection (as stock `from_collection`)."""
        return cls(chroma_collection=collection)

    @classmethod
    def from_params(
        cls,
        collection_name: str,
        host: str | None = None,
        port: str | int | None = None,
        ssl: bool = False,
        headers: dict[str, str] | None = None,
        persist_dir: str | None = None,
        collection_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LlamaIndexVectorStore:
        """Open `collection_name` in `persist_dir` or on the server at `host`/`port` (as
        stock `from_params`; with neither, in memory)."""
        return cls(
            collection_name=collection_name,
            host=host,
            port=port,
            ssl=ssl,
            headers=headers,
            persist_dir=persist_dir,
            collection_kwargs=collection_kwargs,
            **kwargs,
        )

    @classmethod
    def class_name(cls) -> str:
        return "ChromaBridgeVectorStore"

    @property
    def store(self) -> ChromaStore:
        """The wrapped native store."""
        # read from pydantic's private dict: `self._store` misses the normal lookup and
        # runs `BaseModel.__getattr__`, ~1.5 us a read (~7 us right after a search)
        return cast(ChromaStore, cast(dict[str, Any], self.__pydantic_private__)["_store"])

    @property
    def client(self) -> Any:
        """The chromadb Collection (as stock's `client`)."""
        return self.store.collection

    @property
    def _collection(self) -> Any:
        """The chromadb Collection (read-only; as stock's `_collection`, for existing code)."""
        return self.store.collection

    # -- writes ---------------------------------------------------------------------------

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        return self.store.add(_node_chunks(nodes), _embeddings(nodes))

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        return await self.store.aadd(_node_chunks(nodes), _embeddings(nodes))

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        self.store.delete(doc_id=ref_doc_id)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        await self.store.adelete(doc_id=ref_doc_id)

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        self.store.delete(node_ids, where=filters)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        await self.store.adelete(node_ids, where=filters)

    def clear(self) -> None:
        self.store.clear()

    async def aclear(self) -> None:
        await self.store.aclear()

    # -- reads ----------------------------------------------------------------------------

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        return [chunk_to_node(c) for c in self.store.get(node_ids, where=filters)]

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        return [chunk_to_node(c) for c in await self.store.aget(node_ids, where=filters)]

    def _search(
        self, prefix: str, query: VectorStoreQuery, kwargs: dict[str, Any]
    ) -> tuple[Any, Callable[[Any], VectorStoreQueryResult]]:
        """The native call answering `query`, blocking (`prefix` "") or async ("a": a
        coroutine), and what turns its result into LlamaIndex's. A plain query reads
        Chroma's rows and builds its nodes straight from them."""
        if query.node_ids:
            raise ConfigError("VectorStoreQuery.node_ids is not supported; use filters")
        mode = _mode(query)
        store = self.store
        where = _where(query)
        vector = query.query_embedding
        text = None if vector is not None else query.query_str
        per_doc = kwargs.get("max_per_document")
        where_document = kwargs.get("where_document")
        if mode in LEXICAL_MODES:
            if self._lexical is None:
                self._lexical = lexical_for(store)
            hybrid = hybrid_retriever(store, self._lexical, query, mode, per_doc, where_document)
            retrieve = getattr(hybrid, prefix + "retrieve")
            return retrieve(query.query_str, where=where, embedding=vector), _result
        k = query.similarity_top_k
        if mode is VectorStoreQueryMode.MMR:
            factor = kwargs.get("mmr_prefetch_factor", _DEFAULT_MMR_PREFETCH)
            fetch_k = int(kwargs.get("mmr_prefetch_k") or max(k, int(k * factor)))
            threshold = query.mmr_threshold
            mmr = getattr(store, prefix + "mmr")
            found = mmr(
                text,
                vector,
                k,
                fetch_k,
                0.5 if threshold is None else threshold,
                where,
                where_document,
                max_per_document=per_doc,
            )
            return found, _result
        if per_doc is not None:
            hits = getattr(store, prefix + "query")
            return hits(text, vector, k, where, where_document, max_per_document=per_doc), _result
        rows = getattr(store, prefix + "query_rows")(text, vector, k, where, where_document)
        return rows, partial(_rows_result, store=store)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        found, result = self._search("", query, kwargs)
        return result(found)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        found, result = self._search("a", query, kwargs)
        return result(await found)


#: The query modes this face serves.
_MODES = frozenset({VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR, *LEXICAL_MODES})


def _mode(query: VectorStoreQuery) -> VectorStoreQueryMode:
    """The query's mode (LlamaIndex also takes its value, "mmr"), if served here."""
    mode = query.mode
    if type(mode) is not VectorStoreQueryMode:
        mode = VectorStoreQueryMode(mode)
    if mode not in _MODES:
        raise ConfigError(
            f"query mode {mode.value!r} is not supported here; use 'default', 'mmr', "
            "'hybrid', 'sparse' or 'text_search'"
        )
    return mode


def _where(query: VectorStoreQuery) -> Any:
    """The query's filters, and its `doc_ids` as a filter on `doc_id`."""
    if not query.doc_ids:
        return query.filters
    doc_filter = {"doc_id": {"$in": list(query.doc_ids)}}
    return doc_filter if query.filters is None else _and(query.filters, doc_filter)


def _and(filters: Any, extra: dict[str, Any]) -> Any:
    """Combine LlamaIndex filters with a Chroma where clause (both validated natively)."""
    from .filters import to_chroma_filter

    translated = to_chroma_filter(filters)
    if translated.where_document is not None:
        raise ConfigError("doc_ids cannot be combined with a text-match filter")
    return extra if translated.where is None else {"$and": [translated.where, extra]}
