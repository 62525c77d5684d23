"""At most n results per source document (`max_per_document`), fetching deeper as needed.

Chroma's `GroupBy` exists only on Chroma Cloud, so grouping happens here, over ranked
candidates: a document's best chunks are kept, its others skipped. When too few
distinct documents remain, the candidate pool is widened (`GROWTH` times deeper) and the
search repeated, until `want` results remain or the collection (or filter) has nothing
more to give. So `k` distinct documents come back whenever `k` exist.

Cost: one query of depth `want * START` when the top chunks come from enough
documents; each widening repeats the query `GROWTH` times deeper. A collection where a
few long documents own most chunks near the query can need several rounds and, at
worst, a query as deep as the matching records (what a grouped scan must read anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from chromabridge.errors import InputError
from chromabridge.types import Hit

__all__ = ["GROWTH", "START", "check_per_document", "first_depth", "per_document", "widened"]

#: First candidate depth, in results wanted: most queries need one round.
START = 4
#: How much deeper each further round looks.
GROWTH = 4

T = TypeVar("T")


def check_per_document(value: object) -> int | None:
    """None, or a positive int; an `InputError` naming the argument otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(f"max_per_document must be a positive int or None, got {value!r}")
    return value


def first_depth(want: int) -> int:
    return want * START


def per_document(doc_ids: Sequence[str], limit: int) -> list[int]:
    """Positions to keep from a ranked list: each document's first `limit` entries."""
    seen: dict[str, int] = {}
    keep = []
    for position, doc_id in enumerate(doc_ids):
        count = seen.get(doc_id, 0)
        if count < limit:
            keep.append(position)
        seen[doc_id] = count + 1
    return keep


def widened(
    search: Callable[[int], Generator[Any, Any, tuple[list[Hit], list[Any]]]],
    want: int,
    limit: int,
) -> Generator[Any, Any, tuple[list[Hit], list[Any]]]:
    """A store plan: run `search(depth)` deeper until `want` hits survive the cap.

    `search(depth)` is a plan returning (hits, vectors-or-empty) for that depth; the
    result keeps the surviving hits (and their vectors), best first, at most `want`.
    """
    depth = first_depth(want)
    while True:
        hits, vectors = yield from search(depth)
        keep = per_document([h.chunk.doc_id for h in hits], limit)
        if len(keep) >= want or len(hits) < depth:
            keep = keep[:want]
            return [hits[i] for i in keep], [vectors[i] for i in keep] if vectors else []
        depth *= GROWTH
