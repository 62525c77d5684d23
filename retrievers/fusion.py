"""Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009).

RRF reads only ranks, so it fuses BM25 scores (unbounded) with cosine similarities
(bounded) without any calibration; that is why it is the default hybrid fusion in
Elasticsearch, OpenSearch, Weaviate and Chroma Cloud alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from chromabridge.errors import ConfigError

__all__ = ["DEFAULT_RRF_K", "reciprocal_rank_fusion"]

#: The constant from the RRF paper; it damps the head so that one list's top rank
#: cannot outvote agreement between lists. Used unchanged by most search engines.
DEFAULT_RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]],
    weights: Sequence[float] | None = None,
    rrf_k: float = DEFAULT_RRF_K,
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum_i weight_i / (rrf_k + rank_i(id)), rank from 1.

    Ties keep first-seen order (earlier list, then earlier rank), so results are stable.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ConfigError(f"got {len(weights)} weights for {len(rankings)} rankings")
    if any(w < 0 for w in weights) or rrf_k < 0:
        raise ConfigError("RRF weights and rrf_k must not be negative")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
