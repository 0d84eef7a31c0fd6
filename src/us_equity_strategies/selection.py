"""Cross-sectional helpers shared by the stock-selection profiles (pure, vectorised).

Semantics (spec/profiles.md §2.2-§2.6, features.md §4):

* :func:`zscore` / :func:`grouped_zscore`: population std (ddof 0); a group whose finite
  values are all equal (zero dispersion, including a single member) or that has no finite
  value gives 0 for every row; a NaN input gives 0. Zero dispersion is detected exactly
  (max == min of the finite values), not via ``std == 0``: the floating-point std of equal
  values can be a tiny non-zero number (``std([0.1, 0.1, 0.1]) = 1.4e-17``), which would turn
  identical values into arbitrary z-scores of about ±1.
* :func:`zscore_columns`: the same z-scores for every column of a 2-D array at once
  (optionally within groups), for profiles that standardise several factors per call.
* :func:`grouped_median`: median of the finite values of each group (NaN when a group has
  none), broadcast back to the rows, as pandas ``groupby(...).transform("median")``.
* :func:`classify_regime`: ``hard_defense`` if the trend is not positive **and**
  ``breadth < hard``; else ``soft_defense`` if the trend is not positive **or**
  ``breadth < soft``; else ``risk_on`` (strict ``<``).
* :func:`rank_order`: sort by each key descending (NaN last), then symbol ascending.
* :func:`sector_slot_cap`: ``max(1, floor(sector_cap / per_name_target))`` in plain binary
  floating point, exactly as the reference computes it (``0.20 / (1/24) = 4.8 -> 4``,
  ``0.25 / (1/4) = 1.0 -> 1``; note ``0.3 / 0.1 = 2.9999999999999996 -> 2``).
* :func:`select_sector_capped`: greedy walk down the ranking skipping full sectors.
* :func:`select_with_hysteresis`: keep holdings ranked ``<= count + max(buffer, 0)`` in
  rank order, then fill with the best-ranked others, truncated to ``count``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "HARD_DEFENSE",
    "REGIMES",
    "RISK_ON",
    "SOFT_DEFENSE",
    "breadth_ratio",
    "classify_regime",
    "grouped_median",
    "grouped_zscore",
    "rank_order",
    "sector_slot_cap",
    "select_sector_capped",
    "select_with_hysteresis",
    "zscore",
    "zscore_columns",
]

RISK_ON = "risk_on"
SOFT_DEFENSE = "soft_defense"
HARD_DEFENSE = "hard_defense"
REGIMES = (RISK_ON, SOFT_DEFENSE, HARD_DEFENSE)


def grouped_zscore(values: Any, groups: Any) -> np.ndarray:
    """Population z-score of ``values`` within each group of ``groups``.

    Parameters
    ----------
    values : array-like of float, shape (n,) or (n, k)
        One value per row (or one column per factor); NaN allowed (it gets z = 0 and is left
        out of its group's mean and std).
    groups : array-like, shape (n,)
        One hashable label per row (e.g. the sector). ``None``/NaN labels form one group.

    Returns
    -------
    numpy.ndarray
        float64 z-scores of the same shape, 0 for NaN inputs and for every row of a
        zero-dispersion group (per column).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"values must be 1- or 2-dimensional, got shape {x.shape}")
    codes, _ = pd.factorize(np.asarray(groups, dtype=object), use_na_sentinel=False)
    n = x.shape[0]
    if codes.size != n:
        raise ValueError(f"values ({n}) and groups ({codes.size}) differ in length")
    if n == 0:
        return np.zeros(x.shape)
    matrix = x.reshape(n, -1)
    order = np.argsort(codes, kind="stable")  # rows of a group become contiguous
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    segment = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n]))
    xs = matrix[order]
    finite = np.isfinite(xs)
    count = np.add.reduceat(finite.astype(np.float64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # z is scale-invariant: bring each group's largest |x| into [0.5, 1) by a power of two
        # (exact, so ordinary inputs give bit-identical results), so that subnormal or huge
        # values cannot lose the mean to rounding, underflow or overflow.
        size = np.maximum.reduceat(np.where(finite, np.abs(xs), 0.0), starts, axis=0)
        xs = np.ldexp(xs, -np.frexp(size)[1][segment])
        mean = np.add.reduceat(np.where(finite, xs, 0.0), starts, axis=0) / count
        dev = np.where(finite, xs - mean[segment], 0.0)
        # deviations scaled by their group maximum, so squaring cannot underflow to 0
        scale = np.maximum.reduceat(np.abs(dev), starts, axis=0)
        dev = dev / np.where(scale > 0, scale, 1.0)[segment]
        std = np.sqrt(np.add.reduceat(dev * dev, starts, axis=0) / count)
        hi = np.maximum.reduceat(np.where(finite, xs, -np.inf), starts, axis=0)
        lo = np.minimum.reduceat(np.where(finite, xs, np.inf), starts, axis=0)
        z = dev / std[segment]
    flat = ~(hi > lo)  # <= 1 finite value, or all finite values equal
    z[flat[segment] | ~finite] = 0.0
    out = np.empty_like(z)
    out[order] = z
    return out.reshape(x.shape)


def zscore(values: Any) -> np.ndarray:
    """Population z-score across all rows (see :func:`grouped_zscore`)."""
    x = np.asarray(values, dtype=np.float64)
    return grouped_zscore(x, np.zeros(x.size, dtype=np.int64))


def zscore_columns(matrix: Any, groups: Any = None) -> np.ndarray:
    """Column-wise :func:`zscore` of a 2-D array (rows = names, columns = factors).

    Same rules as :func:`zscore` (ddof 0; NaN -> 0; a column whose finite values are all
    equal or absent -> all 0), without the per-call grouping overhead: one call scores every
    factor of a profile in a few microseconds.

    Parameters
    ----------
    matrix : array-like of float, shape (n_rows, n_columns)
    groups : sequence of hashable, optional
        One label per row (e.g. the normalised sector; labels are compared with ``==``, so
        use strings, not NaN): z-scores within each group, as :func:`grouped_zscore` per
        column. None: across all rows.
    """
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"matrix must be two-dimensional, got shape {x.shape}")
    if x.shape[0] == 0:
        return np.zeros(x.shape)
    if groups is None:
        return _zscore_block(x)
    codes, n_groups = _group_codes(groups, x.shape[0])
    z = np.zeros_like(x)
    for k in range(n_groups):
        rows = codes == k
        z[rows] = _zscore_block(x[rows])
    return z


def _zscore_block(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    count = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, x, 0.0).sum(axis=0) / count
        dev = np.where(finite, x - mean, 0.0)
        # scaled by the column maximum, so squaring cannot underflow (as grouped_zscore)
        scale = np.abs(dev).max(axis=0)
        dev = dev / np.where(scale > 0, scale, 1.0)
        std = np.sqrt((dev * dev).sum(axis=0) / count)
        flat = ~(np.where(finite, x, -np.inf).max(axis=0) > np.where(finite, x, np.inf)
                 .min(axis=0))
        z = dev / std
    z[:, flat] = 0.0
    z[~finite] = 0.0
    return z


def breadth_ratio(sma200_gap: Any) -> float:
    """Share of rows with ``sma200_gap > 0`` (NaN counts as not above); 0.0 for no rows."""
    gap = np.asarray(sma200_gap, dtype=np.float64)
    return float(np.count_nonzero(gap > 0) / gap.size) if gap.size else 0.0


def classify_regime(trend_positive: bool, breadth: float, soft_threshold: float,
                    hard_threshold: float) -> str:
    """``hard_defense`` / ``soft_defense`` / ``risk_on`` (profiles.md §2.2 step 4)."""
    if not trend_positive and breadth < hard_threshold:
        return HARD_DEFENSE
    if not trend_positive or breadth < soft_threshold:
        return SOFT_DEFENSE
    return RISK_ON


def rank_order(symbols: Sequence[str] | np.ndarray, *descending_keys: Any) -> np.ndarray:
    """Row indices sorted by each key descending (first key first; NaN last), then symbol.

    Equal values (``0.0 == -0.0``) tie and fall through to the next key.
    """
    sym = np.asarray(symbols, dtype=object)
    # integer rank of each symbol: cheaper in lexsort than a unicode key
    sym_rank = np.empty(sym.size, dtype=np.int64)
    sym_rank[np.argsort(sym, kind="stable")] = np.arange(sym.size)
    keys = [sym_rank]
    for key in reversed(descending_keys):
        k = np.asarray(key, dtype=np.float64)
        if k.shape != sym.shape:
            raise ValueError(f"sort key of shape {k.shape} does not match {sym.shape} symbols")
        keys.append(-k)  # -NaN is NaN, which lexsort places last
    return np.lexsort(keys) if sym.size else np.zeros(0, dtype=np.int64)


def sector_slot_cap(sector_cap: float, per_name_target: float, holdings_count: int) -> int:
    """``max(1, floor(sector_cap / per_name_target))``; ``holdings_count`` if the target <= 0."""
    if per_name_target <= 0:
        return int(holdings_count)
    return max(1, math.floor(sector_cap / per_name_target))


def select_sector_capped(ranked_sectors: Sequence[str], count: int, slot_cap: int) -> list[int]:
    """Greedy walk down a ranking: positions taken, at most ``slot_cap`` per sector.

    Parameters
    ----------
    ranked_sectors : sequence of str
        Sector of each row, best-ranked first.
    count : int
        Stop once this many rows are taken.
    slot_cap : int
        Maximum rows per sector.

    Returns
    -------
    list of int
        Positions in ``ranked_sectors`` of the chosen rows, in rank order.
    """
    taken: dict[str, int] = {}
    chosen: list[int] = []
    for i, sector in enumerate(ranked_sectors):
        if len(chosen) >= count:
            break
        if taken.get(sector, 0) >= slot_cap:
            continue
        taken[sector] = taken.get(sector, 0) + 1
        chosen.append(i)
    return chosen


def select_with_hysteresis(ranked_symbols: Sequence[str], holdings: Collection[str],
                           count: int, buffer: int) -> list[str]:
    """Selection with a hold buffer (profiles.md §2.4 "Selection with hysteresis").

    Current holdings ranked ``<= count + max(buffer, 0)`` (1-based) are kept, in rank order;
    the best-ranked other symbols fill up to ``count``; the result is truncated to ``count``
    (so with more qualifying holdings than ``count`` the best-ranked holdings win).
    """
    if count <= 0:
        return []
    max_hold_rank = count + max(buffer, 0)
    held = set(holdings)
    kept = [s for s in ranked_symbols[:max_hold_rank] if s in held]
    chosen = set(kept)
    fill = [s for s in ranked_symbols if s not in chosen]
    return (kept + fill)[:count]


def _group_codes(groups: Any, size: int) -> tuple[np.ndarray, int]:
    """Integer code per row (first-seen order) from hashable labels; ``None`` -> all one group."""
    if groups is None:
        return np.zeros(size, dtype=np.int64), 1 if size else 0
    index: dict[Any, int] = {}
    labels = list(groups)
    if len(labels) != size:
        raise ValueError(f"values ({size}) and groups ({len(labels)}) differ in length")
    codes = np.fromiter((index.setdefault(g, len(index)) for g in labels), dtype=np.int64,
                        count=size)
    return codes, len(index)


def grouped_median(values: Any, groups: Any = None) -> np.ndarray:
    """Median of each row's group, NaN values left out (``groupby().transform("median")``).

    Parameters
    ----------
    values : array-like of float
        One value per row; NaN allowed.
    groups : sequence of hashable, optional
        One label per row (compared with ``==``). None: one group (the overall median).

    Returns
    -------
    numpy.ndarray
        float64, the median of the finite values of the row's group (NaN if it has none).
    """
    x = np.asarray(values, dtype=np.float64)
    codes, n_groups = _group_codes(groups, x.size)
    medians = np.full(n_groups, np.nan)
    finite = np.isfinite(x)
    for k in range(n_groups):
        member = x[(codes == k) & finite]
        if member.size:
            medians[k] = float(np.median(member))
    return medians[codes] if x.size else np.zeros(0)
