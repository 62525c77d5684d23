"""LangChain face of `ChromaStore`: a `langchain_core` `VectorStore`.

Drop-in for `langchain_chroma.Chroma` (same constructor names: `collection_name`,
`embedding_function`, `persist_directory`, `client`, `collection_metadata`), with every
operation delegated to the native store: writes of any size, validated filters, and
async methods that are truly async against a Chroma server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from chromabridge.errors import ConfigError, InputError
from chromabridge.types import Chunk, Hit

from .records import user_metadata
from .store import ChromaStore

__all__ = ["LangChainVectorStore", "hit_to_document", "chunk_to_document"]

DEFAULT_COLLECTION = "langchain"


def chunk_to_document(chunk: Chunk) -> Document:
    """A stored chunk as a LangChain Document (bookkeeping keys hidden)."""
    return Document(page_content=chunk.text, metadata=user_metadata(chunk), id=chunk.id)


def hit_to_document(hit: Hit) -> Document:
    return chunk_to_document(hit.chunk)


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


class LangChainVectorStore(VectorStore):
    """`ChromaStore` as a LangChain vector store.

    Either wrap a store (`LangChainVectorStore(store=store)`, or `store.as_langchain()`),
    or build one with `langchain_chroma.Chroma`'s arguments plus any `ChromaStore`
    keyword (`host`, `port`, `cloud`, `distance`, ...).

    `similarity_search_with_score` returns Chroma's distance (lower is better), as
    `langchain_chroma` does; `similarity_search_with_relevance_scores` returns
    `ChromaStore`'s higher-is-better score.
    """

    def __init__(
        self,
        collection_name: str = DEFAULT_COLLECTION,
        embedding_function: Any = None,
        persist_directory: str | None = None,
        client: Any = None,
        collection_metadata: dict[str, Any] | None = None,
        *,
        store: ChromaStore | None = None,
        **store_kwargs: Any,
    ) -> None:
        if store is None:
            store = ChromaStore(
                collection_name,
                embedder=embedding_function,
                path=persist_directory,
                client=client,
                metadata=collection_metadata,
                **store_kwargs,
            )
        elif not isinstance(store, ChromaStore):
            raise ConfigError(f"store must be a ChromaStore, got {type(store).__name__}")
        self.store = store
        self._embedding_function = embedding_function

    def __repr__(self) -> str:
        return f"LangChainVectorStore({self.store!r})"

    @property
    def embeddings(self) -> Embeddings | None:
        if isinstance(self._embedding_function, Embeddings):
            return self._embedding_function
        embedder = self.store.embedder
        as_langchain = getattr(embedder, "as_langchain", None)
        return as_langchain() if callable(as_langchain) else None

    # -- writes ---------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        return self.store.add(_chunks(texts, metadatas, ids))

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

    # -- reads ----------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [chunk_to_document(c) for c in self.store.get(list(ids))]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [chunk_to_document(c) for c in await self.store.aget(list(ids))]

    def _hits(
        self,
        query: str | None,
        embedding: list[float] | None,
        k: int,
        filter: Any,
        where_document: Any,
    ) -> list[Hit]:
        return self.store.query(query, embedding, k=k, where=filter, where_document=where_document)

    async def _ahits(
        self,
        query: str | None,
        embedding: list[float] | None,
        k: int,
        filter: Any,
        where_document: Any,
    ) -> list[Hit]:
        return await self.store.aquery(
            query, embedding, k=k, where=filter, where_document=where_document
        )

    def similarity_search(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        return [hit_to_document(h) for h in self._hits(query, None, k, filter, where_document)]

    async def asimilarity_search(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = await self._ahits(query, None, k, filter, where_document)
        return [hit_to_document(h) for h in hits]

    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        hits = self._hits(query, None, k, filter, where_document)
        return [(hit_to_document(h), float(h.distance or 0.0)) for h in hits]

    async def asimilarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        hits = await self._ahits(query, None, k, filter, where_document)
        return [(hit_to_document(h), float(h.distance or 0.0)) for h in hits]

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        hits = self._hits(query, None, k, kwargs.get("filter"), kwargs.get("where_document"))
        return [(hit_to_document(h), h.score) for h in hits]

    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        hits = await self._ahits(query, None, k, kwargs.get("filter"), kwargs.get("where_document"))
        return [(hit_to_document(h), h.score) for h in hits]

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        return [hit_to_document(h) for h in self._hits(None, embedding, k, filter, where_document)]

    async def asimilarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[Document]:
        hits = await self._ahits(None, embedding, k, filter, where_document)
        return [hit_to_document(h) for h in hits]

    def similarity_search_by_vector_with_relevance_scores(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Any = None,
        where_document: Any = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        hits = self._hits(None, embedding, k, filter, where_document)
        return [(hit_to_document(h), h.score) for h in hits]

    def _mmr(self, query: str | None, embedding: list[float] | None, *args: Any) -> list[Document]:
        k, fetch_k, lambda_mult, where, where_document = args
        hits = self.store.mmr(query, embedding, k, fetch_k, lambda_mult, where, where_document)
        return [hit_to_document(h) for h in hits]

    async def _ammr(
        self, query: str | None, embedding: list[float] | None, *args: Any
    ) -> list[Document]:
        k, fetch_k, lambda_mult, where, where_document = args
        hits = await self.store.ammr(
            query, embedding, k, fetch_k, lambda_mult, where, where_document
        )
        return [hit_to_document(h) for h in hits]

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
        return self._mmr(query, None, k, fetch_k, lambda_mult, filter, where_document)

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
        return await self._ammr(query, None, k, fetch_k, lambda_mult, filter, where_document)

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
        return self._mmr(None, embedding, k, fetch_k, lambda_mult, filter, where_document)

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
        return await self._ammr(None, embedding, k, fetch_k, lambda_mult, filter, where_document)

    # -- constructors ---------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        collection_name: str = DEFAULT_COLLECTION,
        **kwargs: Any,
    ) -> LangChainVectorStore:
        store = cls(collection_name=collection_name, embedding_function=embedding, **kwargs)
        if texts:
            store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        collection_name: str = DEFAULT_COLLECTION,
        **kwargs: Any,
    ) -> LangChainVectorStore:
        store = cls(collection_name=collection_name, embedding_function=embedding, **kwargs)
        if texts:
            await store.aadd_texts(texts, metadatas, ids=ids)
        return store
