"""`max_per_document` for fused (hybrid) rankings: cap each document, widen when short.

The dense side caps inside `ChromaStore.query`; a fused list must be capped after
fusion, so the chunks' documents are read (metadata only, one `get`) and each
document's best fused chunks kept. When fewer than `k` documents remain and either side
may have more to give, both sides are searched `GROWTH` times deeper and fused again.
Cost: one metadata read of the fused candidates per round (up to twice the depth), on
top of the searches; see `chromabridge.vectorstores.grouping` for the depth schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from chromabridge.vectorstores.grouping import GROWTH, per_document

__all__ = ["Ranked", "grouped_fusion"]

Ranked = list[tuple[str, float]]
#: The steps `grouped_fusion` yields (a plan, `chromabridge.plans`): ("search", depth)
#: -> (dense, lexical), and the store's ("get", {"ids": ..., "text": False}) -> the
#: chunks still stored, metadata only.
Request = tuple[str, Any]


def grouped_fusion(
    fuse: Callable[[Ranked, Ranked], Ranked], k: int, limit: int, depth: int
) -> Generator[Request, Any, tuple[Ranked, Ranked]]:
    """Fused (id, score) pairs, at most `limit` per document, `k` of them when they exist;
    returns them with the dense list of the last round (for its distances)."""
    while True:
        dense, lexical = yield ("search", depth)
        fused = fuse(dense, lexical)
        stored = yield ("get", {"ids": [i for i, _ in fused], "text": False})
        doc_of = {chunk.id: chunk.doc_id for chunk in stored}
        live = [pair for pair in fused if pair[0] in doc_of]
        keep = per_document([doc_of[i] for i, _ in live], limit)
        if len(keep) >= k or (len(dense) < depth and len(lexical) < depth):
            return [live[i] for i in keep[:k]], dense
        depth *= GROWTH
