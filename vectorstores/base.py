"""What the parts of `ChromaStore` share: its state, opening the collection, and the
plan drivers.

Each operation is written once, as a plan: a generator that yields the Chroma calls it
needs, as (method name, keyword arguments), and receives their results. `_drive` runs a
plan on a blocking client and `_adrive` on `AsyncHttpClient`, so the async twins are
truly async against a server without a second copy of the logic. On an embedded client
`_adrive(threaded=True)` runs each call in a worker thread, one at a time: embedded
Chroma holds the GIL for a whole call, so the event loop runs only between calls, and
async writes there are cut into slices. A Chroma exception is thrown into the plan as a
`StoreError`, so plans can undo or re-raise. A query's embedder call is a step of its
plan too (`EMBED_QUERY`): the drivers run it blocking, through the embedder's async
twin, or in a worker thread, so a query and its async twin are one plan and the async
reads need no worker-thread copy of the blocking method.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, TypeVar, cast, get_args

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from chromabridge.embedders import Embedder
from chromabridge.errors import (
    ChromaBridgeError,
    CollectionDeletedError,
    ConfigError,
    EmbedderMismatchError,
    EmbeddingError,
    InputError,
    StoreError,
)

from . import guard
from .clients import Connection
from .records import Space

__all__ = ["StoreBase"]

T = TypeVar("T")
#: Called after a successful write: ("upsert", ids), ("delete", ids or None when the
#: deleted set is only known as a filter), or ("clear", None).
ChangeListener = Callable[[str, "list[str] | None"], None]
#: One Chroma call a plan needs: (method name, keyword arguments).
Call = tuple[str, dict[str, Any]]
Plan = Generator[Call, Any, T]

#: A plan step run by the store's embedder rather than Chroma: ``(EMBED_QUERY, {"text":
#: ...})``. The sync driver calls `embed_query`, the async driver `aembed_query`, or
#: `embed_query` in a worker thread on an embedded store (one async mechanism: the
#: operation is written once, as a plan, embedding included).
EMBED_QUERY = "embedder.embed_query"

SPACES: tuple[str, ...] = get_args(Space)
#: What `include` asks for to rebuild chunks.
RECORD = ["documents", "metadatas"]


def check_k(k: object, what: str = "k") -> int:
    """`k` (or the count named `what`) as a positive int; `ConfigError` otherwise."""
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ConfigError(f"{what} must be a positive int, got {k!r}")
    return k


def vector_error(message: str, from_embedder: bool) -> ChromaBridgeError:
    """Bad vectors: the embedder's failure, or the caller's mistake when they passed them."""
    return EmbeddingError(message) if from_embedder else InputError(message)


def configured_space(config: Mapping[str, Any] | None) -> Any:
    """The index space a chromadb collection configuration names, if any."""
    for index in ("hnsw", "spann"):
        space = ((config or {}).get(index) or {}).get("space")
        if space is not None:
            return space
    return None


def configuration(collection: Any) -> dict[str, Any]:
    """A collection's configuration as Chroma stored it (`{"hnsw": {...}, ...}`).

    The raw JSON: `collection.configuration` warns (DeprecationWarning) on every read of a
    collection created with embedding_function=None, as ours are.
    """
    return dict(getattr(collection, "configuration_json", None) or {})


def _space_of(collection: Any) -> Space:
    space = configured_space(configuration(collection))
    if space in SPACES:
        return cast(Space, space)
    space = (collection.metadata or {}).get("hnsw:space", "l2")
    return cast(Space, space if space in SPACES else "l2")


def strings(value: Any, what: str) -> list[str]:
    """One string or an iterable of strings, as a list; `ConfigError` naming `what`."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = list(value)
        if all(isinstance(item, str) for item in items):
            return items
    raise ConfigError(f"{what} must be a string or a list of strings, got {value!r:.80}")


def one_call(name: str, kwargs: dict[str, Any]) -> Plan[Any]:
    """A plan of one Chroma call, returning its result."""
    return (yield (name, kwargs))


def first(result: Mapping[str, Any], key: str) -> list[Any]:
    """Row 0 of a query result field (Chroma nests per query embedding)."""
    rows = result.get(key)
    return list(rows[0]) if rows else []


class StoreBase:
    """State, opening and drivers; `ChromaStore` sets the state in its constructor."""

    name: str
    embedder: Embedder | None
    _conn: Connection
    _distance: Space | None
    _hnsw: dict[str, Any]
    _extra_metadata: dict[str, Any]
    _space: Space
    _dimension: int | None
    _batch_size: int
    _metadata: dict[str, Any]  # the collection's metadata: read at open, the guard extends it
    _collection: Any
    _async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]
    _listeners: list[ChangeListener]
    _create: bool
    _given_configuration: dict[str, Any]
    #: Set by `delete_collection`: every later call raises `CollectionDeletedError`.
    _dropped: bool = False

    @property
    def is_async_native(self) -> bool:
        """True when async methods talk to Chroma asynchronously (a server)."""
        return self._conn.async_client is not None or self._conn.async_factory is not None

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call `listener` after each write made through this store; returns unsubscribe.

        Derived indexes (the hybrid retriever's BM25 index) stay consistent this way;
        writes by other processes are not seen and need their own refresh.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, change: str, ids: list[str] | None) -> None:
        for listener in list(self._listeners):
            listener(change, ids)

    async def _anotify(self, change: str, ids: list[str] | None) -> None:
        """`_notify` from async code: listeners run in a worker thread, never on the loop
        (a listener may wait on a lock or do I/O)."""
        if self._listeners:
            await asyncio.to_thread(self._notify, change, ids)

    # -- opening ------------------------------------------------------------------------------

    def _configuration(self) -> dict[str, Any]:
        given = self._given_configuration  # the caller's chromadb configuration, if any
        index = "spann" if "spann" in given and "hnsw" not in given else "hnsw"
        own = {"space": self._distance or "cosine", **(self._hnsw if index == "hnsw" else {})}
        return {**given, index: {**own, **(given.get(index) or {})}}

    def _adopt(self, collection: Any) -> None:
        """Check an opened collection against our embedder and arguments."""
        guard.check(self.name, collection.metadata, self.embedder)
        space = _space_of(collection)
        if self._distance is not None and self._distance != space:
            raise ConfigError(
                f"collection {self.name!r} exists with distance {space!r}, not "
                f"{self._distance!r}; drop distance= or use another collection"
            )
        self._space = space
        self._metadata = dict(collection.metadata or {})
        self._dimension = guard.recorded_dimension(collection.metadata) or (
            self.embedder.dimension if self.embedder else None
        )

    def _open_plan(self, create: bool | None = None) -> Plan[Any]:
        try:
            collection = yield ("get_collection", {"name": self.name, "embedding_function": None})
        except StoreError as exc:
            if not isinstance(exc.__cause__, NotFoundError):
                raise
            if not (self._create if create is None else create):
                raise ConfigError(
                    f"collection {self.name!r} does not exist ({self._conn.label}); create "
                    "it first, or allow creating it (create=True; LangChain: "
                    "create_collection_if_not_exists=True)"
                ) from None
            metadata = guard.record(
                self._extra_metadata,
                self.embedder,
                self.embedder.dimension if self.embedder else None,
            ) or (self._extra_metadata or None)
            collection = yield (
                "get_or_create_collection",
                {
                    "name": self.name,
                    "configuration": self._configuration(),
                    "metadata": metadata,
                    "embedding_function": None,
                },
            )
        self._adopt(collection)
        self._batch_size = int((yield ("get_max_batch_size", {})))
        return collection

    def _open_sync(self, client: ClientAPI) -> Any:
        return self._drive(self._open_plan(), client)

    async def _acollection(self) -> Any:
        """This event loop's async collection (AsyncHttpClient is bound to its loop)."""
        self._check_alive()
        loop = asyncio.get_running_loop()
        collection = self._async.get(loop)
        if collection is None:
            if self._conn.async_client is not None:
                client: Any = self._conn.async_client
            else:
                assert self._conn.async_factory is not None
                try:
                    client = await self._conn.async_factory()
                except Exception as exc:
                    raise StoreError(f"cannot open Chroma ({self._conn.label}): {exc}") from exc
            collection = await self._adrive(self._open_plan(), client)
            self._async[loop] = collection
        return collection

    def _check_alive(self) -> None:
        if self._dropped:
            raise CollectionDeletedError(
                f"collection {self.name!r} was deleted through this store "
                "(delete_collection); create a new ChromaStore to make it again"
            )

    def _require_sync(self) -> Any:
        self._check_alive()
        if self._collection is None:
            raise ConfigError(
                f"ChromaStore {self.name!r} was given only an async client; use the async "
                "methods (aadd, aquery, ...) or pass a blocking client too"
            )
        return self._collection

    # -- drivers ------------------------------------------------------------------------------

    def _fail(self, name: str, exc: Exception) -> StoreError:
        if isinstance(exc, ChromaBridgeError):
            return exc if isinstance(exc, StoreError) else StoreError(str(exc))
        return StoreError(
            f"Chroma {name} on collection {self.name!r} ({self._conn.label}) failed: "
            f"{type(exc).__name__}: {exc}"
        )

    def _embed_step(self, name: str, kwargs: dict[str, Any]) -> Any:
        """A plan's embedder step, blocking (its errors are the embedder's, not Chroma's)."""
        assert name == EMBED_QUERY and self.embedder is not None
        return self.embedder.embed_query(**kwargs)

    async def _aembed_step(self, name: str, kwargs: dict[str, Any], threaded: bool) -> Any:
        """A plan's embedder step, async: in a worker thread on an embedded store (an
        embedder's own async twin may well compute on the loop), else the embedder's
        async call."""
        assert name == EMBED_QUERY and self.embedder is not None
        if threaded:
            return await asyncio.to_thread(self._embed_step, name, kwargs)
        return await self.embedder.aembed_query(**kwargs)

    def _drive(self, plan: Plan[T], target: Any) -> T:
        """Run `plan` against a blocking client or collection."""
        try:
            call = next(plan)
            while True:
                name, kwargs = call
                if name == EMBED_QUERY:
                    call = plan.send(self._embed_step(name, kwargs))
                    continue
                try:
                    result = getattr(target, name)(**kwargs)
                except Exception as exc:  # chromadb and httpx raise many types
                    error = self._fail(name, exc)
                    error.__cause__ = exc
                    call = plan.throw(error)
                    continue
                call = plan.send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    async def _adrive(self, plan: Plan[T], target: Any, threaded: bool = False) -> T:
        """Run `plan` against an async client or collection, or, `threaded`, against a
        blocking one with each call in a worker thread."""
        try:
            call = next(plan)
            while True:
                name, kwargs = call
                if name == EMBED_QUERY:
                    call = plan.send(await self._aembed_step(name, kwargs, threaded))
                    continue
                try:
                    method = getattr(target, name)
                    if threaded:
                        result = await asyncio.to_thread(method, **kwargs)
                    else:
                        result = await method(**kwargs)
                except Exception as exc:
                    error = self._fail(name, exc)
                    error.__cause__ = exc
                    call = plan.throw(error)
                    continue
                call = plan.send(result)
        except StopIteration as stop:
            return cast(T, stop.value)

    def _run(self, plan: Plan[T]) -> T:
        return self._drive(plan, self._require_sync())

    async def _arun(self, plan: Plan[T]) -> T:
        """Run `plan` asynchronously: natively on a server, else call by call in a worker
        thread (plans that write in many small calls keep the loop responsive)."""
        if not self.is_async_native:
            return await self._adrive(plan, self._require_sync(), threaded=True)
        return await self._adrive(plan, await self._acollection())

    # -- checks -------------------------------------------------------------------------------

    def _mismatch(self, dim: int, what: str, from_embedder: bool) -> ChromaBridgeError:
        """Wrong-size vectors: the embedder's fault (a mismatch) or the caller's."""
        message = (
            f"{what} {dim} dimensions but collection {self.name!r} holds "
            f"{self._dimension}-dimensional vectors"
        )
        if from_embedder and self.embedder is not None:
            return EmbedderMismatchError(f"embedder {self.embedder.name!r}: {message}")
        return InputError(message)
