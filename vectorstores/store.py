"""`ChromaStore`: one native store over every Chroma deployment.

The same object works in-memory, on a directory, against a Chroma server and on Chroma
Cloud; only the constructor arguments change. Each operation is written once, as a plan
of steps (Chroma calls, embedder calls) run by a sync or an async driver (`base.py`), so
the async twins are truly async against a server; embedded clients have no async API,
so there the async driver runs each step in a worker thread. Writes live in `writes.py`, reads in
`reads.py`; this module builds the store and holds what concerns the whole collection.
Images (`add_images`, `query(image=...)`) live in `images.py`.

Score semantics (`Hit.score`, higher is better) per distance space:

* ``cosine`` (default): cosine similarity, ``1 - distance``, in [-1, 1];
* ``ip``: the inner product, ``1 - distance``;
* ``l2``: ``1 / (1 + distance)``, in (0, 1], where Chroma's l2 distance is squared.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chromadb import Collection
from chromadb.api import AsyncClientAPI, ClientAPI
from chromadb.config import Settings

from chromabridge.embedders import as_embedder
from chromabridge.errors import ConfigError

from .base import SPACES, Plan, configured_space, one_call
from .clients import client_of, connect
from .images import StoreImages
from .lifecycle import StoreLifecycle
from .records import Space, relevance
from .tuning import StoreTuning

__all__ = ["ChromaStore"]

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")
_HNSW_KEYS = {"ef_construction", "ef_search", "max_neighbors", "resize_factor", "sync_threshold"}
#: Chroma's legacy collection-metadata HNSW keys (as LangChain users pass them).
_LEGACY_HNSW = {
    "hnsw:construction_ef": "ef_construction",
    "hnsw:search_ef": "ef_search",
    "hnsw:M": "max_neighbors",
    "hnsw:resize_factor": "resize_factor",
    "hnsw:sync_threshold": "sync_threshold",
}


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ConfigError(
            f"invalid collection name {name!r}: use 3-512 characters from [a-zA-Z0-9._-], "
            "starting and ending with a letter or digit, without '..'"
        )
    return name


class ChromaStore(StoreImages, StoreTuning, StoreLifecycle):  # StoreImages: reads and writes
    """A Chroma collection holding chunks, wherever Chroma runs.

    Deployment, by argument: nothing -> in-memory; `path` -> a local directory;
    `host` (+ `port`, `ssl`, `headers`) -> a Chroma server (async methods use
    `AsyncHttpClient`); `cloud=True` (+ `api_key`, `tenant`, `database`) -> Chroma Cloud;
    `client` -> any chromadb client you built, sync or async.

    `embedder` is our `Embedder`, a chromadb EmbeddingFunction, a LangChain `Embeddings`
    or a LlamaIndex `BaseEmbedding`. Its name and dimension are recorded on the collection
    and checked each time it is opened (`EmbedderMismatchError`).

    A local directory belongs to one process at a time: another process opening it waits
    up to `timeout` seconds, then gets `StoreBusyError` naming the holder. With
    `shared=True` every process instead goes through one loopback Chroma server for the
    directory, started on first use and stopped `idle` seconds (default 300) after its
    last client process exits. `close()` (or a `with` block) releases the directory.

    `distance` ("cosine", "l2" or "ip") and `hnsw` (ef_construction, ef_search,
    max_neighbors, ...) apply when the collection is created; an existing collection keeps
    its own space, and an explicit `distance` that contradicts it is a `ConfigError`.
    `metadata` is extra collection metadata written at creation (LangChain's
    `collection_metadata`); Chroma's legacy ``hnsw:*`` keys in it are read as
    `distance` / `hnsw`. `configuration` is a chromadb collection configuration
    (LangChain's `collection_configuration`), used at creation; its index ``space`` is
    read as `distance`.

    `collection` is a name, or an opened chromadb `Collection` to wrap (LlamaIndex's
    `chroma_collection=`): the store then talks to that collection's Chroma. With
    `create=False` a missing collection is a `ConfigError` instead of being created.
    `settings` (chromadb `Settings`) is handed to the client the store builds.
    """

    def __init__(
        self,
        collection: str | Collection,
        *,
        embedder: object | None = None,
        client: ClientAPI | AsyncClientAPI | None = None,
        path: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int = 8000,
        ssl: bool = False,
        headers: Mapping[str, str] | None = None,
        cloud: bool = False,
        api_key: str | None = None,
        tenant: str | None = None,
        database: str | None = None,
        distance: Space | None = None,
        hnsw: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
        configuration: Mapping[str, Any] | None = None,
        create: bool = True,
        settings: Settings | None = None,
        shared: bool = False,
        idle: float | None = None,
    ) -> None:
        if isinstance(collection, Collection):  # wrap the user's opened collection
            if path or host or cloud or client is not None:
                raise ConfigError("an opened Collection brings its own client; drop the others")
            client, collection = client_of(collection), collection.name
        self.name = _check_name(collection)
        self._create = create
        self._given_configuration = dict(configuration or {})
        configured = configured_space(self._given_configuration)
        if configured is not None and configured not in SPACES:
            raise ConfigError(f"configuration space must be one of {', '.join(SPACES)}")
        if distance is None:
            distance = configured
        elif configured is not None and configured != distance:
            raise ConfigError(
                f"distance={distance!r} contradicts configuration space {configured!r}"
            )
        legacy = {k: v for k, v in (metadata or {}).items() if k.startswith("hnsw:")}
        self._extra_metadata = {k: v for k, v in (metadata or {}).items() if k not in legacy}
        legacy_space = legacy.pop("hnsw:space", None)
        if distance is None and legacy_space is not None:
            distance = legacy_space
        if distance is not None and distance not in SPACES:
            raise ConfigError(f"distance must be one of {', '.join(SPACES)}, got {distance!r}")
        hnsw = {**{_LEGACY_HNSW.get(k, k): v for k, v in legacy.items()}, **(hnsw or {})}
        unknown = set(hnsw) - _HNSW_KEYS
        if unknown:
            raise ConfigError(
                f"unknown hnsw parameter(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(_HNSW_KEYS))}"
            )
        self._distance = distance
        self._hnsw = hnsw
        self.embedder = as_embedder(embedder) if embedder is not None else None
        self._conn = connect(
            client=client,
            path=path,
            host=host,
            port=port,
            ssl=ssl,
            headers=headers,
            cloud=cloud,
            api_key=api_key,
            tenant=tenant,
            database=database,
            timeout=timeout,
            settings=settings,
            shared=shared,
            idle=idle,
        )
        # How another process reaches this collection (`reopen_options`); None when only
        # this process can (in memory, an embedded directory, an injected client).
        self._reopen: dict[str, Any] | None = None
        if client is None and settings is None and (host or cloud or (path and shared)):
            self._reopen = {
                "path": path,
                "host": host,
                "port": port,
                "ssl": ssl,
                "headers": dict(headers or {}),
                "cloud": cloud,
                "api_key": api_key,
                "tenant": tenant,
                "database": database,
                "timeout": timeout,
                "shared": shared,
                "idle": idle,
            }
        self._space = distance or "cosine"
        self._dimension = None
        self._batch_size = 0
        self._metadata = {}
        self._collection = None
        self._async = weakref.WeakKeyDictionary()
        self._listeners = []
        if self._conn.sync is not None:
            try:
                self._collection = self._open_sync(self._conn.sync)
            except BaseException:
                self._conn.close()
                raise

    def close(self) -> None:
        """Release the local directory (its lock, or this process's shared-server
        registration) once no other store of this process uses it; unusable afterwards.

        Without it the directory is released when the process exits.
        """
        self._collection = None
        self._async.clear()
        self._conn.close()

    def reopen_options(self) -> dict[str, Any] | None:
        """Keyword arguments that open this store's deployment from another process (a
        Ray worker): server, cloud or a shared directory; None for an in-memory store, an
        embedded directory or an injected client, which no other process can reach.
        They hold credentials (api_key, headers): hand them only to your own workers."""
        return dict(self._reopen) if self._reopen is not None else None

    def __enter__(self) -> ChromaStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        embedder = self.embedder.name if self.embedder else None
        return (
            f"ChromaStore(collection={self.name!r}, deployment={self._conn.label!r}, "
            f"embedder={embedder!r}, distance={self._space!r})"
        )

    # -- properties ---------------------------------------------------------------------------

    @property
    def distance(self) -> Space:
        """The collection's distance space (decides `Hit.score`, see module doc)."""
        return self._space

    @property
    def dimension(self) -> int | None:
        """Vector size held by the collection, once known."""
        return self._dimension

    @property
    def directory(self) -> Path | None:
        """The local directory Chroma keeps this store in: `path=` (embedded or shared
        mode) or an injected `PersistentClient`; None in memory, on a server and in the
        cloud. Derived files (the embedding cache, the BM25 index) live by it."""
        if self._conn.directory is not None:
            return self._conn.directory
        client = self._conn.sync
        if client is None:
            return None
        try:
            settings = client.get_settings()
        except Exception:  # an injected client of some other kind
            return None
        if not getattr(settings, "is_persistent", False) or not settings.persist_directory:
            return None
        return Path(settings.persist_directory)

    @property
    def metadata(self) -> dict[str, Any]:
        """The collection's metadata as read when it was opened (a copy), bookkeeping
        included (the recorded embedder and dimension)."""
        return dict(self._metadata)

    @property
    def collection_id(self) -> str | None:
        """Chroma's id of the collection (it changes when the collection is dropped and
        made again), once opened; None before an async-only store's first call."""
        opened = self._collection or next(iter(self._async.values()), None)
        return None if opened is None else str(opened.id)

    @property
    def client(self) -> ClientAPI | None:
        """The blocking chromadb client (None when only an async client was given)."""
        return self._conn.sync

    @property
    def collection(self) -> Any:
        """The underlying chromadb Collection (blocking), for what we do not wrap."""
        return self._require_sync()

    def as_langchain(self, embedding: Any = None) -> Any:
        """This store as a LangChain `VectorStore` (`LangChainVectorStore`)."""
        from .langchain import LangChainVectorStore

        return LangChainVectorStore(store=self, embedding_function=embedding)

    def as_llamaindex(self) -> Any:
        """This store as a LlamaIndex vector store (`LlamaIndexVectorStore`)."""
        from .llamaindex import LlamaIndexVectorStore

        return LlamaIndexVectorStore(store=self)

    def relevance(self, distance: float) -> float:
        """Chroma distance -> score in this collection's space."""
        return relevance(distance, self._space)

    # -- the whole collection -----------------------------------------------------------------

    def delete_collection(self) -> None:
        """Drop the whole collection from Chroma. The store is spent afterwards: every
        call, sync or async, raises `CollectionDeletedError` (make a new `ChromaStore` to
        create the collection again)."""
        self._check_alive()
        if self._conn.sync is None:
            raise ConfigError("delete_collection needs a blocking client; use adelete_collection")
        self._run(self._drop_plan(), on_client=True, op="delete_collection")
        self._spend()

    async def adelete_collection(self) -> None:
        """Async `delete_collection` (leaves the store in the same state)."""
        await self._arun(self._drop_plan(), on_client=True, op="delete_collection")
        self._spend()

    def _spend(self) -> None:
        self._dropped = True
        self._collection = None
        self._async.clear()

    def _drop_plan(self) -> Plan[None]:
        yield ("delete_collection", {"name": self.name})

    def reset(self) -> None:
        """Drop the collection and create it again, empty, with this store's settings
        (LangChain's `reset_collection`); unlike `clear`, it also resets the index."""
        client = self._conn.sync
        if client is None:
            raise ConfigError("reset needs a blocking client")
        self._drive(self._drop_plan(), client)
        self._collection = None
        self._async.clear()
        self._dimension = None
        self._distance = self._distance or self._space  # the space it had, not the default
        self._collection = self._drive(self._open_plan(create=True), client)
        self._notify("clear", None)

    def fork(self, new_name: str) -> ChromaStore:
        """A copy of the collection under `new_name`, as a store with this embedder.

        Chroma forks on Chroma Cloud only; elsewhere Chroma's own error comes back as a
        `StoreError`.
        """
        self._run(one_call("fork", {"new_name": _check_name(new_name)}), op="fork")
        return ChromaStore(new_name, embedder=self.embedder, client=self._conn.sync)

    def search(self, search: Any) -> Any:
        """Run a chromadb `Search` (dense, sparse and hybrid ranking) on the collection
        and return Chroma's `SearchResult`. Chroma runs `Search` on Chroma Cloud only;
        elsewhere Chroma's own error comes back as a `StoreError`."""
        return self._run(one_call("search", {"searches": search}), op="search")
