"""Vectorised categorical draws shared by the episode and session generators."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def codes_from_p(u: np.ndarray, p: Sequence[float]) -> np.ndarray:
    """Category codes for uniforms `u` under probabilities `p` (int8).

    >>> codes_from_p(np.array([0.1, 0.5, 0.95]), (0.3, 0.6, 0.1)).tolist()
    [0, 1, 2]
    """
    cdf = np.cumsum(np.asarray(p, dtype=np.float64))
    cdf /= cdf[-1]
    codes = np.searchsorted(cdf, u, side="right")
    return np.minimum(codes, len(cdf) - 1).astype(np.int8)


def codes_by_group(u: np.ndarray, group: np.ndarray,
                   p_by_group: Mapping[int, Sequence[float]]) -> np.ndarray:
    """Category codes where each group (e.g. program) has its own probabilities."""
    out = np.zeros(len(u), dtype=np.int8)
    for g, p in p_by_group.items():
        mask = group == g
        out[mask] = codes_from_p(u[mask], p)
    return out


def codes_from_mapping(u: np.ndarray, p: Mapping[str, float],
                       vocabulary: Sequence[str]) -> np.ndarray:
    """Codes into `vocabulary` for a {label: probability} mapping."""
    labels = list(p)
    local = codes_from_p(u, [p[k] for k in labels])
    lookup = np.array([vocabulary.index(k) for k in labels], dtype=np.int8)
    return lookup[local]


def to_weekday(day: np.ndarray, last_day: int) -> np.ndarray:
    """Days moved off weekends: Saturday and Sunday go to Monday, or back to Friday
    when that Monday would be after `last_day` (days since 1970-01-01, a Thursday)."""
    weekday = (day + 3) % 7  # Monday = 0
    forward = np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    moved = day + forward
    back = day - np.maximum(weekday - 4, 0)
    return np.where(moved > last_day, back, moved).astype(np.int32)
