"""`ChromaStore`'s reads: vector query, ids-and-distances query, MMR, get, count, paging."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from chromabridge.embedders import image_embedder
from chromabridge.errors import ConfigError, InputError, LoaderError, StoreError
from chromabridge.images import ImageSource, read_image
from chromabridge.types import Chunk, Hit

from .base import (
    LOCAL,
    RECORD,
    Plan,
    StoreBase,
    check_k,
    embed_step,
    first,
    one_call,
    strings,
    vector_error,
)
from .filters import ChromaFilter, to_chroma_filter
from .grouping import check_per_document, widened
from .mmr import mmr_select
from .records import record_to_chunk, relevances

__all__ = ["DocumentInfo", "QueryRows", "StoreReads"]

T = TypeVar("T")

#: Records per Chroma call of the inventory scan (`documents`).
_INVENTORY_PAGE = 1000


class QueryRows(NamedTuple):
    """One query's records as Chroma returned them, nearest first: what `query_rows`
    gives the framework faces, which build their own objects straight from it."""

    ids: list[str]
    documents: list[str | None]
    metadatas: list[Mapping[str, Any] | None]
    distances: list[float]


class DocumentInfo(NamedTuple):
    """One stored source document, as `ChromaStore.documents` reports it."""

    #: The `source` metadata of its first chunk seen (a path or URL), if any.
    source: str | None
    #: How many chunks (records) it has.
    chunks: int


def _query_call(
    vector: np.ndarray, k: int, flt: ChromaFilter, include: list[str]
) -> tuple[str, dict[str, Any]]:
    """The Chroma `query` call of one vector search."""
    return (
        "query",
        {
            "query_embeddings": [vector],
            "n_results": k,
            "where": flt.where,
            "where_document": flt.where_document,
            "include": include,
        },
    )


def _check_finite(vector: np.ndarray, from_embedder: bool = False) -> None:
    if not np.isfinite(vector).all():
        raise vector_error("the query vector has NaN or inf", from_embedder)


def _searched(
    vector: np.ndarray, k: int, flt: ChromaFilter, include: list[str]
) -> Plan[Mapping[str, Any]]:
    """Chroma's answer to one vector search (`include` must hold "distances").

    A caller's query vector is checked for NaN and inf here, after the call, and only
    when the answer is suspect: no distances, a non-finite one, or a failed call. A NaN
    or an infinity anywhere in the query makes every distance NaN or infinite in each
    of Chroma's spaces (cosine divides by an infinite norm, l2 and ip add an infinite
    or NaN term), so a clean answer proves a clean vector, and a plain query skips a
    reduction over it that costs ~25 us right after the search
    (`benchmarks/vectorstores.py`). A read changes nothing, so checking after it
    loses nothing; `test_nan_or_inf_query_vector_refused_by_every_search` holds Chroma
    to this in every space and deployment.
    """
    try:
        result: Mapping[str, Any] = yield _query_call(vector, k, flt, include)
    except StoreError:
        _check_finite(vector)
        raise
    distances = first(result, "distances")
    if not distances or not math.isfinite(sum(distances)):
        _check_finite(vector)
    return result


def _query_image(image: ImageSource) -> Any:
    """A query image, read and decoded (a bad one is the caller's `InputError`)."""
    try:
        return read_image(image).image
    except LoaderError as exc:
        raise InputError(f"query image: {exc}") from exc


def _by_image(image: object, text: object, vector: object) -> bool:
    """Whether a query is by image; an `InputError` when it is by image and more."""
    if image is None:
        return False
    if text is not None or vector is not None:
        raise InputError("pass exactly one of text=, embedding= or image=")
    return True


def _not_numbers(vector: object, cause: Exception | None = None) -> InputError:
    detail = f" ({cause})" if cause is not None else ""
    return InputError(
        f"a query vector must be a flat sequence of numbers, got {type(vector).__name__}{detail}"
    )


class StoreReads(StoreBase):
    """Reads of `ChromaStore` (see there for the user's view)."""

    @staticmethod
    def _rows(result: Mapping[str, Any]) -> QueryRows:
        """Row 0 of each field (Chroma's lists, fresh per call, handed on uncopied)."""
        ids = result["ids"][0]
        documents, metadatas = result.get("documents"), result.get("metadatas")
        return QueryRows(
            ids,
            documents[0] if documents else [None] * len(ids),
            metadatas[0] if metadatas else [None] * len(ids),
            result["distances"][0],
        )

    def _hits(self, result: Mapping[str, Any]) -> list[Hit]:
        rows = self._rows(result)
        scores = relevances(rows.distances, self._space)
        return [
            Hit(chunk=record_to_chunk(record_id, doc, meta), score=score, distance=dist)
            for record_id, doc, meta, dist, score in zip(*rows, scores, strict=True)
        ]

    def _rows_plan(self, vector: np.ndarray, k: int, flt: ChromaFilter) -> Plan[QueryRows]:
        return self._rows((yield from _searched(vector, k, flt, [*RECORD, "distances"])))

    def _query_plan(
        self, vector: np.ndarray, k: int, flt: ChromaFilter, with_vectors: bool = False
    ) -> Plan[tuple[list[Hit], list[Any]]]:
        include = [*RECORD, "distances"] + (["embeddings"] if with_vectors else [])
        result = yield from _searched(vector, k, flt, include)
        return self._hits(result), first(result, "embeddings") if with_vectors else []

    def _search_plan(
        self,
        vector: np.ndarray,
        k: int,
        flt: ChromaFilter,
        per_doc: int | None,
        with_vectors: bool = False,
    ) -> Plan[tuple[list[Hit], list[Any]]]:
        """`_query_plan`, or with at most `per_doc` hits per document (`grouping.py`)."""
        if per_doc is None:
            return self._query_plan(vector, k, flt, with_vectors)
        return widened(lambda depth: self._query_plan(vector, depth, flt, with_vectors), k, per_doc)

    def _query_vector(self, text: str | None, embedding: Sequence[float] | None) -> Any:
        if (text is None) == (embedding is None):
            raise ConfigError("pass exactly one of text= or embedding=")
        if embedding is not None:
            return self._check_query_vector(embedding)
        if not isinstance(text, str):
            raise ConfigError(f"query text must be a str, got {type(text).__name__}")
        if self.embedder is None:
            raise ConfigError(f"ChromaStore {self.name!r} has no embedder; pass embedding=")
        return None

    def _check_query_vector(self, vector: Any, from_embedder: bool = False) -> np.ndarray:
        """`vector` as a flat float32 array of the collection's dimension. NaN and inf
        are checked here for an embedder's or an image's vector, and after the search
        (`_searched`) for a caller's."""
        if isinstance(vector, (str, bytes)):  # numpy would read "1.5" as a number
            raise _not_numbers(vector)
        try:
            values = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise _not_numbers(vector, exc) from exc
        if values.ndim != 1:
            raise vector_error(
                f"a query vector must be flat, got shape {values.shape}", from_embedder
            )
        if self._dimension is not None and values.shape[0] != self._dimension:
            raise self._mismatch(values.shape[0], "the query vector has", from_embedder)
        return values

    def _image_vector_plan(self, image: ImageSource) -> Plan[list[float]]:
        """The vector of a query image: read in a `LOCAL` step (a worker thread when
        async), embedded by the store's image-capable embedder in an `embed_step` step."""
        picture = yield (LOCAL, (_query_image, (image,)))
        embedder = image_embedder(self.embedder, f"ChromaStore {self.name!r}")
        return list((yield embed_step(embedder, "embed_images", [picture]))[0])

    def _query_op(
        self,
        text: str | None,
        vector: Sequence[float] | None,
        k: int,
        where: Any,
        wd: Any,
        then: Callable[[np.ndarray, int, ChromaFilter], Plan[T]],
        image: ImageSource | None = None,
    ) -> Plan[T]:
        """One query as one plan, for the sync and the async driver alike. The checks
        shared by every query (k, filter, vector) are made now, at the call; the plan
        then embeds `text` or `image` when given (a step run by the embedder) and runs
        `then` with the vector, `k` and the filter (for a caller's vector: `then`'s plan
        itself)."""
        check_k(k)
        flt = to_chroma_filter(where, wd)
        given = None if _by_image(image, text, vector) else self._query_vector(text, vector)
        if given is not None:
            return then(given, k, flt)

        def plan() -> Plan[T]:
            if image is not None:
                query = self._check_query_vector((yield from self._image_vector_plan(image)))
                _check_finite(query)
            else:
                found = yield embed_step(self.embedder, "embed_query", text)
                query = self._check_query_vector(found, True)
                _check_finite(query, True)
            return (yield from then(query, k, flt))

        return plan()

    def _hits_op(
        self,
        text: Any,
        vector: Any,
        k: int,
        where: Any,
        wd: Any,
        per_doc: Any,
        image: ImageSource | None = None,
    ) -> Plan[list[Hit]]:
        per = check_per_document(per_doc)

        def then(query: np.ndarray, k: int, flt: ChromaFilter) -> Plan[list[Hit]]:
            return (yield from self._search_plan(query, k, flt, per))[0]

        return self._query_op(text, vector, k, where, wd, then, image)

    def query(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
        *,
        max_per_document: int | None = None,
        image: ImageSource | None = None,
    ) -> list[Hit]:
        """The `k` nearest records to `text` (embedded here), to `embedding` or to
        `image` (a path, URI, bytes or PIL image, embedded by the store's image-capable
        embedder; hits for images have `hit.chunk.is_image` true).

        `max_per_document` keeps at most that many chunks of each source document,
        searching deeper until `k` hits remain (cost: see `vectorstores/grouping.py`).
        """
        plan = self._hits_op(text, embedding, k, where, where_document, max_per_document, image)
        return self._run(plan, op="query")

    async def aquery(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
        *,
        max_per_document: int | None = None,
        image: ImageSource | None = None,
    ) -> list[Hit]:
        """Async `query`."""
        plan = self._hits_op(text, embedding, k, where, where_document, max_per_document, image)
        return await self._arun(plan, op="query")

    def query_rows(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> QueryRows:
        """`query` without `max_per_document`, as Chroma's rows rather than `Hit`s: the
        same checks and the same Chroma call, for the framework faces, which build their
        `Document`s / nodes straight from the rows (no `Chunk` and `Hit` per hit)."""
        plan = self._query_op(text, embedding, k, where, where_document, self._rows_plan)
        return self._run(plan, op="query_rows")

    async def aquery_rows(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> QueryRows:
        """Async `query_rows`."""
        plan = self._query_op(text, embedding, k, where, where_document, self._rows_plan)
        return await self._arun(plan, op="query_rows")

    def _nearest_plan(
        self, vector: np.ndarray, k: int, flt: ChromaFilter
    ) -> Plan[list[tuple[str, float]]]:
        result = yield from _searched(vector, k, flt, ["distances"])
        return list(zip(first(result, "ids"), first(result, "distances"), strict=True))

    def nearest(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> list[tuple[str, float]]:
        """(id, distance) of the `k` nearest chunks, nearest first, without reading their
        records: for callers that fuse or cut candidate lists before reading the few
        they return (`HybridRetriever`)."""
        plan = self._query_op(text, embedding, k, where, where_document, self._nearest_plan)
        return self._run(plan, op="nearest")

    async def anearest(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> list[tuple[str, float]]:
        """Async `nearest`."""
        plan = self._query_op(text, embedding, k, where, where_document, self._nearest_plan)
        return await self._arun(plan, op="nearest")

    @staticmethod
    def _check_mmr(k: int, fetch_k: int, lambda_mult: float) -> None:
        check_k(k)
        check_k(fetch_k, "fetch_k")
        number = isinstance(lambda_mult, (int, float)) and not isinstance(lambda_mult, bool)
        if not number or not 0.0 <= lambda_mult <= 1.0:
            raise ConfigError(f"lambda_mult must be a number within [0, 1], got {lambda_mult!r}")

    def _mmr_op(
        self,
        text: Any,
        embedding: Any,
        k: int,
        fetch_k: int,
        lambda_mult: float,
        where: Any,
        wd: Any,
        per_doc: Any,
    ) -> Plan[list[Hit]]:
        self._check_mmr(k, fetch_k, lambda_mult)
        per = check_per_document(per_doc)

        def then(vector: np.ndarray, k: int, flt: ChromaFilter) -> Plan[list[Hit]]:
            found = yield from self._search_plan(vector, max(k, fetch_k), flt, per, True)
            hits, vectors = found
            return [hits[i] for i in mmr_select(vector, vectors, k, lambda_mult)]

        return self._query_op(text, embedding, k, where, wd, then)

    def mmr(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        where: Any = None,
        where_document: Any = None,
        *,
        max_per_document: int | None = None,
    ) -> list[Hit]:
        """Maximal marginal relevance: `k` of the `fetch_k` nearest, diverse among
        themselves. Scores are each hit's plain relevance to the query.

        `max_per_document` caps the candidates per source document (the `fetch_k`
        candidates are then that many documents' best chunks; see `query`)."""
        return self._run(
            self._mmr_op(
                text, embedding, k, fetch_k, lambda_mult, where, where_document, max_per_document
            ),
            op="mmr",
        )

    async def ammr(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        where: Any = None,
        where_document: Any = None,
        *,
        max_per_document: int | None = None,
    ) -> list[Hit]:
        """Async `mmr`."""
        return await self._arun(
            self._mmr_op(
                text, embedding, k, fetch_k, lambda_mult, where, where_document, max_per_document
            ),
            op="mmr",
        )

    @staticmethod
    def _get_call(
        ids: Sequence[str] | None,
        where: Any,
        where_document: Any,
        limit: int | None,
        offset: int | None,
        include: list[str],
    ) -> tuple[str, dict[str, Any]]:
        """The checked Chroma `get` call of one read."""
        if limit is not None:
            check_k(limit, "limit")
        if offset is not None and (not isinstance(offset, int) or offset < 0):
            raise ConfigError(f"offset must be a non-negative int, got {offset!r}")
        flt = to_chroma_filter(where, where_document)
        id_list = None if ids is None else strings(ids, "ids")
        return (
            "get",
            {
                "ids": id_list,
                "where": flt.where,
                "where_document": flt.where_document,
                "limit": limit,
                "offset": offset,
                "include": include,
            },
        )

    def _get_plan(
        self,
        ids: Sequence[str] | None,
        where: Any,
        where_document: Any,
        limit: int | None,
        offset: int | None,
        text: bool = True,
    ) -> Plan[list[Chunk]]:
        call = self._get_call(
            ids, where, where_document, limit, offset, RECORD if text else ["metadatas"]
        )
        id_list = call[1]["ids"]
        result = yield call
        docs = result["documents"] if text else [""] * len(result["ids"])
        chunks = [
            record_to_chunk(i, d, m)
            for i, d, m in zip(result["ids"], docs, result["metadatas"], strict=True)
        ]
        if id_list is not None:  # Chroma returns ids in storage order; callers expect theirs
            order = {record_id: n for n, record_id in enumerate(id_list)}
            chunks.sort(key=lambda c: order.get(c.id, len(order)))
        return chunks

    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        where_document: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        text: bool = True,
    ) -> list[Chunk]:
        """Chunks by id (in the order asked; missing ids are skipped) or by filter.

        `text=False` fetches metadata only (chunk text left empty): bookkeeping scans
        over large collections need not move every document's text.
        """
        return self._run(self._get_plan(ids, where, where_document, limit, offset, text), op="get")

    async def aget(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Any = None,
        where_document: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        text: bool = True,
    ) -> list[Chunk]:
        """Async `get`."""
        return await self._arun(
            self._get_plan(ids, where, where_document, limit, offset, text), op="get"
        )

    def records(
        self,
        ids: str | Sequence[str] | None = None,
        *,
        where: Any = None,
        where_document: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        include: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Chroma's own `get` result (`ids`, `documents`, `metadatas`, `embeddings`, ...
        as `include` asks; documents and metadatas by default), with every filter form
        `get` takes: for callers that want Chroma's shape rather than chunks
        (LangChain's `Chroma.get`). Metadata is as stored, bookkeeping keys included.
        """
        if include is None:
            include = ["metadatas", "documents"]  # Chroma's own default, in its order
        call = self._get_call(ids, where, where_document, limit, offset, list(include))
        return dict(self._run(one_call(*call), op="records"))

    async def arecords(
        self,
        ids: str | Sequence[str] | None = None,
        *,
        where: Any = None,
        where_document: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        include: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Async `records`."""
        if include is None:
            include = ["metadatas", "documents"]
        call = self._get_call(ids, where, where_document, limit, offset, list(include))
        return dict(await self._arun(one_call(*call), op="records"))

    def _ids_plan(self, where: Any, where_document: Any) -> Plan[list[str]]:
        result = yield self._get_call(None, where, where_document, None, None, [])
        return list(result["ids"])

    def ids(self, *, where: Any = None, where_document: Any = None) -> list[str]:
        """Ids of every record matching `where` / `where_document` (all ids without
        them), in one Chroma call that moves only ids: for callers that filter or diff
        by id (the BM25 index's filtered search)."""
        return self._run(self._ids_plan(where, where_document), op="ids")

    async def aids(self, *, where: Any = None, where_document: Any = None) -> list[str]:
        """Async `ids`."""
        return await self._arun(self._ids_plan(where, where_document), op="ids")

    def _documents_plan(self, where: Any, page_size: int) -> Plan[dict[str, DocumentInfo]]:
        check_k(page_size, "page_size")
        found: dict[str, DocumentInfo] = {}
        offset = 0
        while True:
            page = yield self._get_call(None, where, None, page_size, offset, ["metadatas"])
            for record_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                chunk = record_to_chunk(record_id, "", meta)  # reads every schema's doc id
                known = found.get(chunk.doc_id)
                source = known.source if known else chunk.metadata.get("source")
                found[chunk.doc_id] = DocumentInfo(source, (known.chunks if known else 0) + 1)
            if len(page["ids"]) < page_size:
                return found
            offset += page_size

    def documents(
        self, *, where: Any = None, page_size: int = _INVENTORY_PAGE
    ) -> dict[str, DocumentInfo]:
        """The per-document inventory: doc id -> `DocumentInfo` (source, chunk count) of
        every stored document (or of those whose chunks match `where`), read as metadata
        only, `page_size` records per call. What `chromabridge stats`, `delete --source`
        and a full pipeline run's clean-up are computed from."""
        return self._run(self._documents_plan(where, page_size), op="documents")

    async def adocuments(
        self, *, where: Any = None, page_size: int = _INVENTORY_PAGE
    ) -> dict[str, DocumentInfo]:
        """Async `documents`."""
        return await self._arun(self._documents_plan(where, page_size), op="documents")

    def query_with_vectors(
        self,
        text: str | None = None,
        embedding: Sequence[float] | None = None,
        k: int = 4,
        where: Any = None,
        where_document: Any = None,
    ) -> list[tuple[Hit, np.ndarray]]:
        """`query`, each hit with its stored vector (LangChain's
        `similarity_search_with_vectors`)."""

        def then(
            vector: np.ndarray, k: int, flt: ChromaFilter
        ) -> Plan[list[tuple[Hit, np.ndarray]]]:
            hits, vectors = yield from self._query_plan(vector, k, flt, with_vectors=True)
            return list(zip(hits, (np.asarray(v) for v in vectors), strict=True))

        return self._run(self._query_op(text, embedding, k, where, where_document, then))

    def _count_plan(self) -> Plan[int]:
        return int((yield ("count", {})))

    def count(self) -> int:
        """Number of records in the collection."""
        return self._run(self._count_plan(), op="count")

    async def acount(self) -> int:
        """Async `count`."""
        return await self._arun(self._count_plan(), op="count")

    def iter_chunks(
        self, page_size: int = 1000, *, where: Any = None, text: bool = True
    ) -> Iterator[Chunk]:
        """Every chunk (or those matching `where`), fetched `page_size` at a time."""
        check_k(page_size, "page_size")
        offset = 0
        while True:
            page = self.get(where=where, limit=page_size, offset=offset, text=text)
            yield from page
            if len(page) < page_size:
                return
            offset += page_size

    def __iter__(self) -> Iterator[Chunk]:
        return self.iter_chunks()

    def __len__(self) -> int:
        return self.count()

    async def aiter_chunks(
        self, page_size: int = 1000, *, where: Any = None, text: bool = True
    ) -> AsyncIterator[Chunk]:
        """Async `iter_chunks` (an async generator)."""
        check_k(page_size, "page_size")
        offset = 0
        while True:
            page = await self.aget(where=where, limit=page_size, offset=offset, text=text)
            for chunk in page:
                yield chunk
            if len(page) < page_size:
                return
            offset += page_size
