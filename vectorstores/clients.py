"""Choose and build the chromadb client for a deployment, from ChromaStore's arguments.

One place decides what "in-memory", "a directory", "a server" and "Chroma Cloud" mean, so
the store's read/write code is the same for all of them.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import AsyncClientAPI, ClientAPI
from chromadb.api.client import Client
from chromadb.config import Settings

from chromabridge.errors import ConfigError, StoreError
from chromabridge.secrets import redact, scrub_exception

from . import dirlock
from .shared import DEFAULT_IDLE, ensure_server, release_client

__all__ = ["Connection", "client_of", "connect"]

AsyncFactory = Callable[[], Awaitable[AsyncClientAPI]]


@dataclass
class Connection:
    """The clients a store talks through.

    `sync` serves the blocking methods; async methods use `async_client` (injected) or
    `async_factory` (a server: one AsyncHttpClient per event loop), and otherwise run
    the blocking call in a worker thread.
    """

    label: str
    sync: ClientAPI | None = None
    async_client: AsyncClientAPI | None = None
    async_factory: AsyncFactory | None = field(default=None, repr=False)
    #: The local directory behind the store (embedded or shared), else None.
    directory: Path | None = None
    #: Gives back what this connection holds (directory lock, shared-server registration).
    release: Callable[[], object] | None = field(default=None, repr=False)

    def close(self) -> None:
        """Close our own blocking client, then release the directory; idempotent."""
        release, self.release = self.release, None
        if release is None:
            return
        try:
            close = getattr(self.sync, "close", None)  # chromadb >= 1.1 clients
            if callable(close):
                close()
        finally:
            release()


def _preflight(host: str, port: int, ssl: bool, headers: Mapping[str, str], timeout: float) -> None:
    """Fail fast, and within `timeout`, when nothing answers at host:port.

    chromadb's HTTP client has no timeout of its own, so an address that accepts and never
    answers would hang the first call for ever.
    """
    url = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
    request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise StoreError(
                f"Chroma server at {host}:{port} refused the credentials (HTTP {exc.code}); "
                "check the auth headers or token"
            ) from None
        raise StoreError(
            f"{host}:{port} answered HTTP {exc.code} to a Chroma heartbeat; is it a Chroma "
            "server (chroma >= 1.0)?"
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StoreError(
            f"cannot reach a Chroma server at {host}:{port} within {timeout:g}s "
            f"({type(reason).__name__}); start one with `chroma run --port {port}` or fix "
            "host/port"
        ) from None


def _wrap(label: str, build: Callable[[], ClientAPI], secrets: Sequence[str] = ()) -> ClientAPI:
    try:
        return build()
    except Exception as exc:  # chromadb raises ValueError / RuntimeError / OSError here
        cause = scrub_exception(exc, secrets)
        error = StoreError(
            f"cannot open Chroma ({label}): {redact(f'{type(exc).__name__}: {exc}', secrets)}"
        )
    # Raised outside the except block so that a secret-bearing original is not chained
    # as implicit context; `cause` is the original only when it is clean.
    raise error from cause


def _isolate_async_http_clients() -> None:
    """Give each chromadb AsyncFastAPI its own httpx clients.

    chromadb (1.x) keeps them in a class-level dict keyed by event loop, so every
    AsyncHttpClient on a loop reuses the first one's httpx client and headers: a second
    store's requests carry the first store's auth token, to its own host. Making the dict
    per instance keeps each client's headers its own. Applied once, only while chromadb
    still has the shared dict.
    """
    from chromadb.api.async_fastapi import AsyncFastAPI

    if isinstance(AsyncFastAPI.__dict__.get("_clients"), dict):
        AsyncFastAPI._clients = _PerInstanceClients()  # type: ignore[assignment]


class _PerInstanceClients:
    """Descriptor: one {loop hash: httpx.AsyncClient} dict per AsyncFastAPI instance."""

    def __get__(self, instance: object, owner: type | None = None) -> dict[int, Any]:
        if instance is None:
            return {}
        store: dict[int, Any] | None = instance.__dict__.get("_chromabridge_clients")
        if store is None:
            store = instance.__dict__["_chromabridge_clients"] = {}
        return store


def _embedded(
    path: str | os.PathLike[str], timeout: float, extra: Mapping[str, Any] | None = None
) -> Connection:
    label = f"directory {Path(path)}"
    directory = Path(path).resolve()
    try:
        lock = dirlock.acquire(directory, timeout)
    except OSError as exc:  # cannot create or stat the directory
        raise StoreError(f"cannot open Chroma ({label}): {type(exc).__name__}: {exc}") from exc
    try:
        client = _wrap(
            label, lambda: chromadb.PersistentClient(path=str(directory), **(extra or {}))
        )
    except BaseException:
        lock.release()
        raise
    return Connection(label=label, sync=client, directory=directory, release=lock.release)


def _shared(path: str | os.PathLike[str], timeout: float, idle: float) -> Connection:
    if os.name != "posix":
        raise ConfigError("shared=True needs a POSIX system (Linux, macOS)")
    directory, endpoint = ensure_server(path, timeout, idle)
    try:
        conn = _server("127.0.0.1", endpoint.port, False, endpoint.headers, None, None, timeout)
    except BaseException:
        release_client(directory)
        raise
    conn.label = f"shared directory {Path(path)} (server 127.0.0.1:{endpoint.port})"
    conn.directory = directory
    conn.release = lambda: release_client(directory)
    return conn


def _server(
    host: str,
    port: int,
    ssl: bool,
    headers: Mapping[str, str],
    tenant: str | None,
    database: str | None,
    timeout: float,
    extra: Mapping[str, Any] | None = None,
) -> Connection:
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"port must be an int in 1..65535, got {port!r}")
    hdrs = dict(headers)
    _preflight(host, port, ssl, hdrs, timeout)
    label = f"server {host}:{port}"
    kwargs: dict[str, Any] = {"host": host, "port": port, "ssl": ssl, "headers": hdrs}
    if tenant:
        kwargs["tenant"] = tenant
    if database:
        kwargs["database"] = database

    async def factory() -> AsyncClientAPI:
        _isolate_async_http_clients()
        return await chromadb.AsyncHttpClient(**kwargs)

    return Connection(
        label=label,
        sync=_wrap(label, lambda: chromadb.HttpClient(**kwargs, **(extra or {}))),
        async_factory=factory,
    )


def connect(
    *,
    client: Any = None,
    path: str | os.PathLike[str] | None = None,
    host: str | None = None,
    port: int = 8000,
    ssl: bool = False,
    headers: Mapping[str, str] | None = None,
    cloud: bool = False,
    api_key: str | None = None,
    tenant: str | None = None,
    database: str | None = None,
    timeout: float = 10.0,
    settings: Settings | None = None,
    shared: bool = False,
    idle: float | None = None,
) -> Connection:
    """Build the Connection for exactly one deployment choice (none means in-memory).

    A directory is held by one process at a time (`dirlock`; `StoreBusyError` after
    `timeout` s), unless `shared`: then every process talks to the directory's one
    loopback Chroma server (`shared.py`), stopped `idle` s after its last client exits.

    `settings` (chromadb `Settings`, LangChain's `client_settings`) is handed to the client
    that is built; with no deployment argument it may itself choose a persistent client
    (`is_persistent=True`), as `chromadb.Client(settings)` does.
    """
    extra: dict[str, Any] = {} if settings is None else {"settings": settings}
    chosen = [
        name
        for name, value in (("client", client), ("path", path), ("host", host), ("cloud", cloud))
        if value
    ]
    if len(chosen) > 1:
        raise ConfigError(f"choose one deployment, got {' and '.join(chosen)}")
    if client is not None:
        if isinstance(client, AsyncClientAPI):
            _isolate_async_http_clients()
            return Connection(label="injected async client", async_client=client)
        if not isinstance(client, ClientAPI):
            raise ConfigError(f"client must be a chromadb client, got {type(client).__name__}")
        return Connection(label="injected client", sync=client)
    if shared and path is None:
        raise ConfigError("shared=True needs path= (the local directory to share)")
    if idle is not None and not shared:
        raise ConfigError("idle= applies only with shared=True")
    if path is not None and shared:
        return _shared(path, timeout, DEFAULT_IDLE if idle is None else idle)
    if path is not None:
        return _embedded(path, timeout, {**extra, **_scope(tenant, database)})
    if host is not None:
        return _server(host, port, ssl, headers or {}, tenant, database, timeout, extra)
    if cloud:
        key = api_key or os.environ.get("CHROMA_API_KEY")
        if not key:
            raise ConfigError("cloud=True needs api_key= or the CHROMA_API_KEY variable")
        label = "Chroma Cloud"
        return Connection(
            label=label,
            sync=_wrap(
                label,
                lambda: chromadb.CloudClient(
                    tenant=tenant, database=database, api_key=key, **extra
                ),
                secrets=[key],
            ),
        )
    if settings is not None:  # chromadb.Client honours settings.is_persistent
        return Connection(
            label="settings client",
            sync=_wrap(
                "settings client", lambda: chromadb.Client(settings, **_scope(tenant, database))
            ),
        )
    return Connection(label="in-memory", sync=chromadb.EphemeralClient())


def _scope(tenant: str | None, database: str | None) -> dict[str, Any]:
    """Tenant and database for a client, only where given (chromadb has defaults)."""
    return {k: v for k, v in (("tenant", tenant), ("database", database)) if v}


def client_of(collection: Any) -> ClientAPI:
    """A blocking client over the same Chroma as `collection`, an opened chromadb
    `Collection` (LlamaIndex's `chroma_collection=`): its tenant, database and system.
    """
    system = getattr(getattr(collection, "_client", None), "_system", None)
    if not isinstance(collection, chromadb.Collection) or system is None:
        raise ConfigError(f"expected a chromadb Collection, got {type(collection).__name__}")
    return Client.from_system(system, tenant=collection.tenant, database=collection.database)
