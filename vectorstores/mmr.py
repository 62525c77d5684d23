"""Maximal marginal relevance over candidate vectors (numpy, no framework)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["mmr_select"]


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = matrix / norms
    return unit


def mmr_select(
    query: Sequence[float] | np.ndarray,
    candidates: Sequence[Sequence[float]],
    k: int,
    lambda_mult: float = 0.5,
) -> list[int]:
    """Indices of `k` candidates trading relevance to `query` against redundancy.

    `lambda_mult` = 1 is pure relevance, 0 pure diversity (LangChain's convention).
    Cosine similarity is used whatever the collection's space, as LangChain does.
    """
    if not len(candidates) or k <= 0:
        return []
    cand = _unit(np.asarray(candidates, dtype=np.float64))
    q = _unit(np.asarray(query, dtype=np.float64).reshape(1, -1))[0]
    relevance = cand @ q
    chosen = [int(np.argmax(relevance))]
    best_redundancy = cand @ cand[chosen[0]]
    while len(chosen) < min(k, len(cand)):
        scores = lambda_mult * relevance - (1 - lambda_mult) * best_redundancy
        scores[chosen] = -np.inf
        pick = int(np.argmax(scores))
        chosen.append(pick)
        best_redundancy = np.maximum(best_redundancy, cand @ cand[pick])
    return chosen
