"""The embedder guard: a collection remembers the vector space that filled it.

Mixing vectors from two models in one collection gives plausible-looking nonsense, the
classic silent RAG bug. The embedder's name and dimension go into collection metadata
when it is created (or first written); opening it with another embedder raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chromabridge.embedders import Embedder
from chromabridge.errors import EmbedderMismatchError
from chromabridge.types import DIMENSION_KEY, EMBEDDER_KEY

__all__ = ["EMBEDDER_KEY", "DIMENSION_KEY", "check", "record"]


def recorded_dimension(metadata: Mapping[str, Any] | None) -> int | None:
    value = (metadata or {}).get(DIMENSION_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check(collection: str, metadata: Mapping[str, Any] | None, embedder: Embedder | None) -> None:
    """Raise `EmbedderMismatchError` when `embedder` is not the collection's embedder."""
    if embedder is None:
        return
    meta = metadata or {}
    name = meta.get(EMBEDDER_KEY)
    if isinstance(name, str) and name != embedder.name:
        raise EmbedderMismatchError(
            f"collection {collection!r} was filled by embedder {name!r}, not "
            f"{embedder.name!r}; open it with that embedder or use another collection"
        )
    dim = recorded_dimension(meta)
    if dim is not None and embedder.dimension is not None and dim != embedder.dimension:
        raise EmbedderMismatchError(
            f"collection {collection!r} holds {dim}-dimensional vectors; embedder "
            f"{embedder.name!r} makes {embedder.dimension}-dimensional ones"
        )


def record(
    metadata: Mapping[str, Any] | None, embedder: Embedder | None, dimension: int | None
) -> dict[str, Any] | None:
    """Collection metadata with the guard filled in, or None when nothing is new.

    Collections carrying legacy `hnsw:*` metadata (made by the stock stores) are left
    alone: Chroma refuses modify() with those keys and dropping them would mislead stock
    readers; Chroma itself still rejects vectors of the wrong dimension there.
    """
    meta = dict(metadata or {})
    if any(k.startswith("hnsw:") for k in meta):
        return None  # modify() would drop Chroma's own keys, which stock readers need
    update: dict[str, Any] = {}
    if embedder is not None and EMBEDDER_KEY not in meta:
        update[EMBEDDER_KEY] = embedder.name
    if dimension is not None and recorded_dimension(meta) is None:
        update[DIMENSION_KEY] = dimension
    if not update:
        return None
    meta.update(update)
    return meta
