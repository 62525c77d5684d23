"""LangChain face of `ChromaStore`: a `langchain_core` `VectorStore`.

Drop-in for `langchain_chroma.Chroma` 1.x: the same constructor arguments, methods and
return shapes (docs/migrating.md lists what differs and why), with every operation
delegated to the native store: writes of any size, validated filters, and async methods
that are truly async against a Chroma server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from chromabridge.errors import ConfigError, InputError
from chromabridge.types import Chunk, Hit

from .reads import QueryRows
from .records import record_text, shown_metadata, user_metadata
from .store import ChromaStore

__all__ = ["LangChainVectorStore", "hit_to_document", "chunk_to_document"]

DEFAULT_COLLECTION = "langchain"


def chunk_to_document(chunk: Chunk) -> Document:
    """A stored chunk as a LangChain Document (bookkeeping keys hidden)."""
    return Document(page_content=chunk.text, metadata=user_metadata(chunk), id=chunk.id)


def hit_to_document(hit: Hit) -> Document:
    return chunk_to_document(hit.chunk)


def _row_documents(rows: QueryRows) -> list[tuple[Document, float]]:
    """A query's rows straight to (Document, distance): no Chunk or Hit per hit."""
    return [
        (
            Document(page_content=record_text(text, meta), metadata=shown_metadata(meta), id=id_),
            distance,
        )
        for id_, text, meta, distance in zip(*rows, strict=True)
    ]


def _hit_documents(hits: Iterable[Hit]) -> list[tuple[Document, float]]:
    return [(hit_to_document(h), float(h.distance or 0.0)) for h in hits]


def _chunks(
    texts: Iterable[str], metadatas: Sequence[dict[str, Any]] | None, ids: Sequence[Any] | None
) -> list[Chunk]:
    items = list(texts)
    if metadatas is not None and len(metadatas) != len(items):
        raise InputError(f"got {len(metadatas)} metadatas for {len(items)} texts")
    if ids is not None and len(ids) != len(items):
        raise InputError(f"got {len(ids)} ids for {len(items)} texts")
    chunks = []
    for n, text in enumerate(items):
        chunk_id = ids[n] if ids is not None and ids[n] is not None else str(uuid.uuid4())
        given_meta = metadatas[n] if metadatas is not None else None
        if given_meta is not None and not isinstance(given_meta, Mapping):
            raise InputError(f"metadatas[{n}] must be a dict, got {type(given_meta).__name__}")
        meta = dict(given_meta) if given_meta else {}
        given = meta.get("doc_id")
        doc_id = given if isinstance(given, str) and given else chunk_id
        chunks.append(Chunk(id=chunk_id, doc_id=doc_id, text=text, metadata=meta))
    return chunks


def _documents(documents: Iterable[Any]) -> list[Document]:
    """Documents to write; anything else is refused by position (LangChain would fail on
    an attribute deep inside `add_documents`)."""
    items = list(documents)
    for position, document in enumerate(items):
        if not isinstance(document, Document):
            raise InputError(f"item {position} is a {type(document).__name__}, not a Document")
    return items


def _per_doc(kwargs: Mapping[str, Any]) -> int | None:
    """`max_per_document` from a search's keyword arguments (`as_retriever`'s
    `search_kwargs` reach the searches this way)."""
    value: int | None = kwargs.get("max_per_document")
    return value


class LangChainVectorStore(VectorStore):
    """`ChromaStore` as a LangChain vector store, a drop-in for `langchain_chroma.Chroma`.

    Either wrap a store (`LangChainVectorStore(store=store)`, or `store.as_langchain()`),
    or build one with `langchain_chroma.Chroma`'s arguments plus any `ChromaStore`
    keyword (`cloud`, `api_key`, `distance`, `hnsw`, ...).

    Scores as in `langchain_chroma`: `similarity_search_with_score` and
    `similarity_search_by_vector_with_relevance_scores` return Chroma's distance (lower is
    better); `similarity_search_with_relevance_scores` maps it with `relevance_score_fn`,
    or LangChain's function for the collection's space, clamped into [0, 1], the range
    LangChain promises (float error puts an exact cosine match at 1.0000002).

    `_collection` (the chromadb Collection) and `_client` (the chromadb client) are
    read-only aliases kept for existing code such as `db._collection.count()`.

    Every search takes `max_per_document=N` (also through
    `as_retriever(search_kwargs={"max_per_document": 1})`): at most N chunks of each
    source document, searched deeper until `k` remain.
    """

    _LANGCHAIN_DEFAULT_COLLECTION_NAME = DEFAULT_COLLECTION

    def __init__(
        self,
        collection_name: str = DEFAULT_COLLECTION,
        embedding_function: Any = None,
        persist_directory: str | None = None,
        host: str | None = None,
        port: int | None = None,
        headers: dict[str, str] | None = None,
        chroma_cloud_api_key: str | None = None,
        tenant: str | None = None,
        database: str | None = None,
        client_settings: Any = None,
        collection_metadata: dict[str, Any] | None = None,
        collection_configuration: Mapping[str, Any] | None = None,
        client: Any = None,
        relevance_score_fn: Callable[[float], float] | None = None,
        create_collection_if_not_exists: bool | None = True,
        *,
        ssl: bool = False,
        store: ChromaStore | None = None,
        **store_kwargs: Any,
    ) -> None:
        if store is None:
            if chroma_cloud_api_key is not None:
                store_kwargs.update(cloud=True, api_key=chroma_cloud_api_key)
            if host is not None:
                store_kwargs.update(host=host, port=8000 if port is None else port, ssl=ssl)
            store = ChromaStore(
                collection_name,
                embedder=embedding_function,
                path=persist_directory,
                client=client,
                headers=headers,
                tenant=tenant,
                database=database,
                settings=client_settings,
                metadata=collection_metadata,
                configuration=collection_configuration,
                create=bool(create_collection_if_not_exists),
                **store_kwargs,
            )
        elif not isinstance(store, ChromaStore):
            raise ConfigError(f"store must be a ChromaStore, got {type(store).__name__}")
        self.store = store
        self._embedding_function = embedding_function
        self.override_relevance_score_fn = relevance_score_fn

    def __repr__(self) -> str:
        return f"LangChainVectorStore({self.store!r})"

    @property
    def _collection(self) -> Any:
        """The chromadb Collection (read-only; as `langchain_chroma.Chroma._collection`)."""
        return self.store.collection

    @property
    def _client(self) -> Any:
        """The chromadb client (read-only; as `langchain_chroma.Chroma._client`)."""
        return self.store.client

    @property
    def embeddings(self) -> Embeddings | None:
        if isinstance(self._embedding_function, Embeddings):
            return self._embedding_function
        embedder = self.store.embedder
        as_langchain = getattr(embedder, "as_langchain", None)
        return as_langchain() if callable(as_langchain) else None

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """`relevance_score_fn` if given, else LangChain's function for the space, clamped
        into [0, 1] (a user's own function is taken as it is)."""
        if self.override_relevance_score_fn is not None:
            return self.override_relevance_score_fn
        relevance = {
            "cosine": self._cosine_relevance_score_fn,
            "l2": self._euclidean_relevance_score_fn,
            "ip": self._max_inner_product_relevance_score_fn,
        }[self.store.distance]
        return lambda distance: min(1.0, max(0.0, relevance(distance)))

    # -- writes ---------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        return self.store.add(_chunks(texts, metadatas, ids))

    def update_document(self, document_id: str, document: Document) -> None:
        """Replace one record's text and metadata, re-embedding it."""
        self.update_documents([document_id], [document])

    def update_documents(self, ids: list[str], documents: list[Document]) -> None:
        """Replace records' texts and metadata, re-embedding them (an upsert: an id not
        yet stored is written, where stock Chroma's `update` skips it)."""
        items = _documents(documents)
        if len(ids) != len(items):
            raise InputError(f"got {len(ids)} ids for {len(items)} documents")
        self.store.add(_chunks([d.page_content for d in items], [d.metadata for d in items], ids))

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        return super().add_documents(_documents(documents), **kwargs)

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        return await super().aadd_documents(_documents(documents), **kwargs)

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        return await self.store.aadd(_chunks(texts, metadatas, ids))

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete by ids and/or `where=` / `filter=`; no argument at all is refused."""
        where = kwargs.get("where", kwargs.get("filter"))
        self.store.delete(ids, where=where)
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        where = kwargs.get("where", kwargs.get("filter"))
        await self.store.adelete(ids, where=where)
        return True

    def delete_collection(self) -> None:
        """Drop the collection, like `langchain_chroma.Chroma.delete_collection`."""
        self.store.delete_collection()

    def reset_collection(self) -> None:
        """Drop the collection and create it again, empty, with the same settings."""
        self.store.reset()

    def fork(self, new_name: str) -> LangChainVectorStore:
        """A copy of this store's collection under `new_name` (Chroma Cloud only; elsewhere
        Chroma's own error, as a `StoreError`)."""
        return type(self)(
            store=self.store.fork(new_name),
            embedding_function=self._embedding_function,
            relevance_score_fn=self.override_relevance_score_fn,
        )

    # -- reads ----------------------------------------------------------------------------

    def get(
        self,
        ids: str | list[str] | None = None,
        where: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        where_document: Any = None,
        include: list[str] | None = None,
    ) -> dict[str, Any]:
        """Chroma's `get` dict (`ids`, `documents`, `metadatas`, `embeddings`, ... as
        `include` asks), paged with `limit`/`offset`, as `langchain_chroma.Chroma.get`."""
        result = self.store.records(
            ids,
            where=where,
            where_document=where_document,
            limit=limit,
            offset=offset,
            include=include,
        )
        if result.get("metadatas") is not None:
            result["metadatas"] = [shown_metadata(m) for m in result["metadatas"]]
        return result

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [chunk_to_document(c) for c in self.store.get(list(ids))]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [chunk_to_document(c) for c in await self.store.aget(list(ids))]

    def _search(
        self,
        prefix: str,
        query: str | None,
        embedding: list[float] | None,
        k: int,
        filter: Any,
        where_document: Any,
        kwargs: Mapping[str, Any],
    ) -> tuple[Any, Callable[[Any], list[tuple[Document, float]]]]:
        """The store call of a similarity search, blocking (`prefix` "") or async ("a":
        a coroutine), and what turns its result into (Document, Chroma distance) pairs:
        straight from Chroma's rows, or through grouped hits for `max_per_document`."""
        per_doc = _per_doc(kwargs)
        if per_doc is None:
            rows = getattr(self.store, prefix + "query_rows")
            return rows(query, embedding, k, filter, where_document), _row_documents
        hits = getattr(self.store, prefix + "query")
        found = hits(query, embedding, k, filter, where_document, max_per_document=per_doc)
        return found, _hit_documents

    def _found(self, *args: Any) -> list[tuple[Document, float]]:
        """(Document, Chroma distance) of the nearest records (`args`: `_search`'s)."""
        result, documents = self._search("", *args)
        return documents(result)

    async def _afound(self, *args: Any) -> list[tuple[Document, float]]:
        """Async `_found`."""
        result, documents = self._search("a", *args)
        return documents(await result)

    def similarity_search(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        return [doc for doc, _ in self._found(query, None, k, filter, where_document, kwargs)]

    async def asimilarity_search(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        found = await self._afound(query, None, k, filter, where_document, kwargs)
        return [doc for doc, _ in found]

    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        return self._found(query, None, k, filter, where_document, kwargs)

    async def asimilarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        return await self._afound(query, None, k, filter, where_document, kwargs)

    def similarity_search_with_vectors(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[tuple[Document, np.ndarray]]:
        """The `k` nearest documents, each with its stored vector."""
        found = self.store.query_with_vectors(query, None, k, filter, where_document)
        return [(hit_to_document(hit), vector) for hit, vector in found]

    def hybrid_search(self, search: Any) -> list[Document]:
        """Run a chromadb `Search` (dense, sparse and fused ranking; Chroma Cloud only,
        elsewhere Chroma's own error as a `StoreError`)."""
        rows = self.store.search(search).rows()
        return [
            Document(
                page_content=row["document"],
                metadata=shown_metadata(row.get("metadata")),
                id=row["id"],
            )
            for row in (rows[0] if rows else [])
            if row.get("document") is not None
        ]

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        return [doc for doc, _ in self._found(None, embedding, k, filter, where_document, kwargs)]

    async def asimilarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        found = await self._afound(None, embedding, k, filter, where_document, kwargs)
        return [doc for doc, _ in found]

    def similarity_search_by_vector_with_relevance_scores(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """The `k` nearest documents with Chroma's distance (lower is better), as
        `langchain_chroma` returns despite the name."""
        return self._found(None, embedding, k, filter, where_document, kwargs)

    # -- images: langchain_chroma.Chroma's methods, over ChromaStore.add_images ----------

    def add_images(
        self,
        uris: list[str],
        metadatas: list[dict[str, Any]] | None = None,
        ids: list[str] | None = None,
    ) -> list[str]:
        """Embed the images at `uris` (paths or URIs) and store them; return their ids.

        As in `langchain_chroma`, missing trailing metadatas count as empty and None ids
        get one; unlike it, a default id follows the image's URI (re-adding replaces
        instead of duplicating) and the record's text is the URI, not the base64 bytes
        (`store.add_images(..., store_bytes=True)` keeps those). Each Document read back
        carries the URI in `metadata["source"]`.
        """
        metas = None
        if metadatas:
            metas = [*metadatas, *([{}] * (len(uris) - len(metadatas)))]
        return self.store.add_images(uris, metas, ids)

    def similarity_search_by_image(
        self, uri: str, k: int = 4, filter: Any = None, **kwargs: Any
    ) -> list[Document]:
        """Documents nearest to the image at `uri` (images and texts alike)."""
        vector = self.store.image_vector(uri)
        return self.similarity_search_by_vector(vector, k=k, filter=filter, **kwargs)

    def similarity_search_by_image_with_relevance_score(
        self, uri: str, k: int = 4, filter: Any = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """`similarity_search_by_image` with Chroma's distance (lower is better), as
        `langchain_chroma` returns despite the name."""
        vector = self.store.image_vector(uri)
        return self.similarity_search_by_vector_with_relevance_scores(
            vector, k=k, filter=filter, **kwargs
        )

    def _mmr(self, method: str, query: str | None, embedding: Any, *args: Any) -> Any:
        """The store's `mmr` or `ammr` (`method`) call behind all four MMR searches (the
        async one returns a coroutine)."""
        k, fetch_k, lambda_mult, where, where_document, kwargs = args
        mmr = getattr(self.store, method)
        return mmr(
            query,
            embedding,
            k,
            fetch_k,
            lambda_mult,
            where,
            where_document,
            max_per_document=_per_doc(kwargs),
        )

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = self._mmr(
            "mmr", query, None, k, fetch_k, lambda_mult, filter, where_document, kwargs
        )
        return [hit_to_document(h) for h in hits]

    async def amax_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = await self._mmr(
            "ammr", query, None, k, fetch_k, lambda_mult, filter, where_document, kwargs
        )
        return [hit_to_document(h) for h in hits]

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = self._mmr(
            "mmr", None, embedding, k, fetch_k, lambda_mult, filter, where_document, kwargs
        )
        return [hit_to_document(h) for h in hits]

    async def amax_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = await self._mmr(
            "ammr", None, embedding, k, fetch_k, lambda_mult, filter, where_document, kwargs
        )
        return [hit_to_document(h) for h in hits]

    # -- constructors ---------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        ids: list[str] | None = None,
        collection_name: str = DEFAULT_COLLECTION,
        **kwargs: Any,
    ) -> LangChainVectorStore:
        """A store over `collection_name` holding `texts`; `kwargs` are the constructor's
        (`persist_directory`, `client`, `collection_metadata`, ...)."""
        store = cls(collection_name=collection_name, embedding_function=embedding, **kwargs)
        if texts:
            store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    def from_documents(
        cls,
        documents: list[Document],
        embedding: Embeddings | None = None,
        ids: list[str] | None = None,
        collection_name: str = DEFAULT_COLLECTION,
        **kwargs: Any,
    ) -> LangChainVectorStore:
        """A store holding `documents` (their own ids unless `ids` is given); `kwargs`
        are the constructor's, as `langchain_chroma.Chroma.from_documents`."""
        items = _documents(documents)
        if ids is None and any(d.id for d in items):
            ids = [d.id or str(uuid.uuid4()) for d in items]
        return cls.from_texts(
            [d.page_content for d in items],
            embedding,
            [d.metadata for d in items],
            ids,
            collection_name,
            **kwargs,
        )

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        ids: list[str] | None = None,
        collection_name: str = DEFAULT_COLLECTION,
        **kwargs: Any,
    ) -> LangChainVectorStore:
        store = cls(collection_name=collection_name, embedding_function=embedding, **kwargs)
        if texts:
            await store.aadd_texts(texts, metadatas, ids=ids)
        return store
