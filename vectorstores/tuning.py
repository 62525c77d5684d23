"""`ChromaStore.tune`: change an existing collection's search-time HNSW settings.

Chroma 1.5 lets `collection.modify(configuration=...)` change some HNSW settings after
creation. What `tune` takes, and why the rest is refused (measured on 1.5.9, embedded
and server alike):

* `ef_search` (candidate list size while searching: recall against latency),
  `sync_threshold` and `resize_factor` are stored and used: tunable;
* `ef_construction`, `max_neighbors` and `space` shape the graph when it is built:
  `max_neighbors` is even accepted by Chroma and recorded, but the built graph keeps its
  degree, so the record would lie. Refused; build a new collection (`reembed`);
* `num_threads` and `batch_size` are accepted by `modify` but not kept (a fresh client
  reads them back unset): refused rather than silently ignored.

On a SPANN collection (Chroma Cloud) `ef_search` and `search_nprobe` are tunable.
"""

from __future__ import annotations

from typing import Any

from chromabridge.errors import InputError

from .base import Plan, StoreBase

__all__ = ["HNSW_TUNABLE", "StoreTuning"]

#: Setting -> (type, minimum) for what `tune` changes on an HNSW index.
HNSW_TUNABLE: dict[str, tuple[type, float]] = {
    "ef_search": (int, 1),
    "sync_threshold": (int, 2),
    "resize_factor": (float, 1.0),
}
_SPANN_TUNABLE: dict[str, tuple[type, float]] = {"ef_search": (int, 1), "search_nprobe": (int, 1)}
_BUILD_TIME = {
    "ef_construction": "it shapes the graph while it is built",
    "max_neighbors": "the built graph keeps its degree (Chroma would record a value it does "
    "not use)",
    "space": "the vectors were indexed in that space",
    "num_threads": "Chroma accepts it but does not keep it",
    "batch_size": "Chroma accepts it but does not keep it",
}


def _check(settings: dict[str, Any], allowed: dict[str, tuple[type, float]], index: str) -> None:
    for name, value in settings.items():
        if name in _BUILD_TIME and name not in allowed:
            raise InputError(
                f"tune cannot change {name!r}: {_BUILD_TIME[name]}; set it when creating the "
                "collection (ChromaStore(..., hnsw=...)) or rebuild with reembed()"
            )
        if name not in allowed:
            raise InputError(
                f"unknown {index} setting {name!r}; tune changes {', '.join(sorted(allowed))}"
            )
        kind, low = allowed[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (kind is int and not isinstance(value, int)) or value < low:
            raise InputError(f"{name} must be {kind.__name__} >= {low:g}, got {value!r}")


class StoreTuning(StoreBase):
    """`tune` / `atune` (see the module doc for what each setting does here)."""

    def _tune_plan(self, settings: dict[str, Any]) -> Plan[dict[str, Any]]:
        if not settings:
            raise InputError("tune() needs at least one setting, e.g. tune(ef_search=200)")
        kind = self._index  # as read when the collection was opened
        _check(settings, _SPANN_TUNABLE if kind == "spann" else HNSW_TUNABLE, kind)
        clean = {k: float(v) if k == "resize_factor" else v for k, v in settings.items()}
        yield ("modify", {"configuration": {kind: clean}})
        return clean

    def tune(self, **settings: Any) -> dict[str, Any]:
        """Change search-time index settings of this existing collection, e.g.
        `store.tune(ef_search=200)`; returns what was set. Refused settings raise
        `InputError` naming them, before anything changes."""
        return self._run(self._tune_plan(settings), op="tune")

    async def atune(self, **settings: Any) -> dict[str, Any]:
        """Async `tune`."""
        return await self._arun(self._tune_plan(settings), op="tune")
