"""What the parts of `ChromaStore` share: its state, opening the collection, and the
plan drivers.

Each operation is written once, as a plan (`chromabridge.plans`): a generator that
yields the steps it needs and receives their results. Most steps are Chroma calls,
``(method name, keyword arguments)``; the rest the store runs itself: the embedder's
calls (`embed_step`), blocking work such as telling listeners or reading images
(`LOCAL`), a pause for the event loop (`PAUSE`), and the question of how many records
a write may send per call (`SLICE`). `_drive` runs a plan on a blocking client and
`_adrive` on `AsyncHttpClient`, so an operation and its async twin are one plan, truly
async against a server. On an embedded client `_adrive(threaded=True)` runs each step
in a worker thread, one at a time (the one worker-thread fallback): embedded Chroma
holds the GIL for a whole call, so the event loop runs only between calls, and the
async driver answers `SLICE` with `WRITE_SLICE` so that writes there go in slices. A
Chroma exception is thrown into the plan as a `StoreError`, so plans can undo or
re-raise.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar, cast, get_args

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from chromabridge import telemetry
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
from chromabridge.plans import FINISH, Plan, Step, adrive, drive

from . import guard
from .clients import Connection
from .records import Space

__all__ = ["Plan", "StoreBase"]

T = TypeVar("T")
#: Called after a successful write: ("upsert", ids), ("delete", ids or None when the
#: deleted set is only known as a filter), or ("clear", None).
ChangeListener = Callable[[str, "list[str] | None"], None]
#: One Chroma call a plan needs: (method name, keyword arguments).
Call = Step

#: A step the store runs itself, blocking: ``(LOCAL, (function, args))``. The async
#: driver runs it in a worker thread (telling listeners, who may wait on a lock or do
#: I/O; reading images).
LOCAL = "store.local"
#: A step asking the embedder for vectors: ``(EMBED, (embedder, method, argument))``,
#: made by `embed_step`.
EMBED = "store.embed"
#: A step that lets the event loop run (async driver) or does nothing (blocking driver).
PAUSE: Step = ("store.pause", None)
#: A step asking for the records a write may send per Chroma call: the async driver of
#: an embedded store answers `WRITE_SLICE`, any other 0 (the client's batch size).
SLICE: Step = ("store.slice", None)
#: Records per Chroma call in async writes to an embedded store. Embedded Chroma holds
#: the GIL for a whole call, so the event loop runs only between calls. Measured hold:
#: 0.4-1.3 ms per record of 64 floats, 1-2.3 ms per record of 384 onto 20,000 (several
#: times more on a loaded machine), so a slice stalls the loop for tens of milliseconds
#: where one call of 5,000 stalls it for seconds; smaller slices cost throughput
#: (per-call overhead). docs/vectorstores.md has the figures.
WRITE_SLICE = 64

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
    """A plan of one step (a Chroma call), returning its result."""
    return (yield (name, kwargs))


def embed_step(embedder: Any, method: str, argument: Any) -> Step:
    """The step calling `embedder.method(argument)` (`embed_query`, `embed_documents`,
    `embed_images`); the async driver calls its twin, ``a<method>``, or on an embedded
    store `method` in a worker thread (an embedder's own async twin may well compute on
    the loop)."""
    return (EMBED, (embedder, method, argument))


@contextmanager
def embedder_errors(embedder: Any, method: str) -> Iterator[None]:
    """An embedder's own failure (a third-party exception) as an `EmbeddingError`."""
    try:
        yield
    except ChromaBridgeError:
        raise
    except Exception as exc:
        on = " on images" if method == "embed_images" else ""
        raise EmbeddingError(f"embedder {embedder.name!r} failed{on}: {exc}") from exc


def embed_now(embedder: Any, method: str, argument: Any) -> Any:
    """An `embed_step` step, blocking."""
    with embedder_errors(embedder, method):
        return getattr(embedder, method)(argument)


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
    _index: str  # the collection's index kind, "hnsw" or "spann": read at open
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

    def _written(self, plan: Plan[T], change: str, ids: list[str] | None) -> Plan[T]:
        """A write plan, then its listeners told. From the `FINISH` step on, a cancelled
        async caller stops waiting, but the write (or its rollback) completes and the
        listeners hear of it; the listeners never run on the event loop."""
        yield (FINISH, None)
        result = yield from plan
        if self._listeners:
            yield (LOCAL, (self._notify, (change, ids)))
        return result

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
        self._index = "spann" if configuration(collection).get("spann") else "hnsw"
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

    async def _aclient(self) -> Any:
        """The async client (a factory's is made per call: it is bound to its loop)."""
        if self._conn.async_client is not None:
            return self._conn.async_client
        assert self._conn.async_factory is not None
        try:
            return await self._conn.async_factory()
        except Exception as exc:
            raise StoreError(f"cannot open Chroma ({self._conn.label}): {exc}") from exc

    async def _acollection(self) -> Any:
        """This event loop's async collection (AsyncHttpClient is bound to its loop)."""
        self._check_alive()
        loop = asyncio.get_running_loop()
        collection = self._async.get(loop)
        if collection is None:
            collection = await self._adrive(self._open_plan(), await self._aclient())
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
        """Chroma's exception from call `name` as our `StoreError`, chained."""
        if isinstance(exc, StoreError):
            return exc
        if isinstance(exc, ChromaBridgeError):
            error = StoreError(str(exc))
        else:
            error = StoreError(
                f"Chroma {name} on collection {self.name!r} ({self._conn.label}) failed: "
                f"{type(exc).__name__}: {exc}"
            )
        error.__cause__ = exc
        return error

    def _step(self, target: Any, name: str, argument: Any) -> Any:
        """One plan step, blocking: a Chroma call on `target`, or one the store runs."""
        if name == EMBED:
            return embed_now(*argument)
        if name == LOCAL:
            function, args = argument
            return function(*args)
        if name == SLICE[0]:
            return 0
        if name == PAUSE[0]:
            return None
        try:
            return getattr(target, name)(**argument)
        except Exception as exc:  # chromadb and httpx raise many types
            raise self._fail(name, exc)  # noqa: B904 - _fail chains it

    async def _astep(self, target: Any, threaded: bool, name: str, argument: Any) -> Any:
        """One plan step, async: each in a worker thread when `threaded` (an embedded
        store; `LOCAL` steps always), else Chroma's or the embedder's async call."""
        if name == PAUSE[0]:
            await asyncio.sleep(0)
            return None
        if name == SLICE[0]:
            return WRITE_SLICE if threaded else 0
        if threaded or name == LOCAL:
            return await asyncio.to_thread(self._step, target, name, argument)
        if name == EMBED:
            embedder, method, value = argument
            with embedder_errors(embedder, method):
                return await getattr(embedder, "a" + method)(value)
        try:
            return await getattr(target, name)(**argument)
        except Exception as exc:
            raise self._fail(name, exc)  # noqa: B904 - _fail chains it

    def _drive(self, plan: Plan[T], target: Any) -> T:
        """Run `plan` against a blocking client or collection."""
        return drive(plan, partial(self._step, target))

    async def _adrive(self, plan: Plan[T], target: Any, threaded: bool = False) -> T:
        """Run `plan` against an async client or collection, or, `threaded`, against a
        blocking one with each step in a worker thread."""
        return await adrive(plan, partial(self._astep, target, threaded))

    def _run(
        self,
        plan: Plan[T],
        on_client: bool = False,
        *,
        op: str | None = None,
        size: int | None = None,
    ) -> T:
        """Run `plan` on the collection (`on_client`: on the client, for plans about
        collections) with the blocking API; a public operation `op` is traced as one span
        (`size`: its batch size)."""
        if on_client:
            self._check_alive()
            target = self._conn.sync
        else:
            target = self._require_sync()  # checks it is alive too
        if op is None or not telemetry.listening():  # a query's hot path: no span object
            return self._drive(plan, target)
        with telemetry.store_span(self.name, op, size):
            return self._drive(plan, target)

    async def _arun(
        self,
        plan: Plan[T],
        on_client: bool = False,
        *,
        op: str | None = None,
        size: int | None = None,
    ) -> T:
        """`_run`, async: natively on a server, else step by step in a worker thread."""
        self._check_alive()
        with telemetry.store_span(self.name, op, size):
            return await self._arun_plan(plan, on_client)

    async def _arun_plan(self, plan: Plan[T], on_client: bool) -> T:
        if not self.is_async_native:
            target = self._conn.sync if on_client else self._require_sync()
            return await self._adrive(plan, target, threaded=True)
        target = await self._aclient() if on_client else await self._acollection()
        return await self._adrive(plan, target)

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
