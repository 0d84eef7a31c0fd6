"""13612W momentum, re-exported by :mod:`us_equity_strategies.indicators`.

The conventions of that module apply: one symbol's closes, inputs never mutated, values as of
each row from that row and earlier rows only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._indicators_common import _as_float_series, _last_float

__all__ = [
    "MOMENTUM_13612W_MIN_MONTH_ENDS",
    "MOMENTUM_13612W_MIN_ROWS",
    "MOMENTUM_13612W_WEIGHTS",
    "momentum_13612w",
    "momentum_13612w_last",
]

#: ``(months back, weight)`` pairs of the 13612W score, in summation order.
MOMENTUM_13612W_WEIGHTS: tuple[tuple[int, int], ...] = ((1, 12), (3, 4), (6, 2), (12, 1))
#: Minimum number of rows (positional, up to and including ``t``) for a 13612W value.
MOMENTUM_13612W_MIN_ROWS: int = 253
#: Minimum number of month-end points for a 13612W value.
MOMENTUM_13612W_MIN_MONTH_ENDS: int = 13


def momentum_13612w(close: pd.Series) -> pd.Series:
    """13612W momentum as of every row (profiles.md §2.1, features.md §4.5).

    As of row ``t`` only rows ``<= t`` are used, exactly like the reference
    ``compute_13612w_momentum(close.iloc[:t+1])``:

    1. ``NaN`` if ``t + 1 < 253`` (positional row count, ``NaN`` rows included, as the
       reference's ``len(closes)``).
    2. Month-end points ``P`` = ``close.iloc[:t+1].resample("ME").last().dropna()``: for every
       calendar month with at least one non-NaN close ``<= t``, its last non-NaN close. The
       final point is the current (possibly partial) month's last non-NaN close up to ``t``,
       i.e. ``C[t]`` when it is not NaN. Months without a valid close are **skipped**, so
       offsets below are positions in this list, not calendar months.
    3. ``NaN`` if ``len(P) < 13``.
    4. With ``P0 = P[-1]`` and ``P_k = P[-(k+1)]``:
       ``score = (12 (P0/P_1 - 1) + 4 (P0/P_3 - 1) + 2 (P0/P_6 - 1) + (P0/P_12 - 1)) / 19``,
       summed left to right; ``NaN`` if any used ``P_k`` is 0.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol indexed by an ascending (non-decreasing) ``DatetimeIndex``
        without ``NaT``.

    Returns
    -------
    pandas.Series
        ``float64`` score per row.

    Notes
    -----
    Vectorised: month-end values are computed once, each row is mapped to the number of
    complete valid months before its own month (``searchsorted``), and the prior points are
    gathered from the month-end array. Cost is O(n log n).
    """
    values = _as_float_series(close)
    index = values.index
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError("momentum_13612w needs a Series indexed by a DatetimeIndex")
    if index.hasnans:
        raise ValueError("momentum_13612w: the index contains NaT")
    if not index.is_monotonic_increasing:
        raise ValueError("momentum_13612w: the index must be sorted ascending")

    arr = values.to_numpy()
    n = arr.size
    out = np.full(n, np.nan)
    if n < MOMENTUM_13612W_MIN_ROWS:
        return pd.Series(out, index=index, name=values.name, copy=False)

    month = index.year.to_numpy(dtype=np.int64) * 12 + index.month.to_numpy(dtype=np.int64)
    positions = np.arange(n)
    valid = ~np.isnan(arr)

    # Last non-NaN row at or before each row; it is the current month's point only if it falls
    # in the same calendar month as the row itself.
    last_valid = np.maximum.accumulate(np.where(valid, positions, -1))
    has_cur = last_valid >= 0
    has_cur[has_cur] = month[last_valid[has_cur]] == month[has_cur]

    # Month-end points of every month with >= 1 valid close (the last valid close of the month).
    valid_pos = positions[valid]
    valid_month = month[valid_pos]
    is_month_last = np.ones(valid_pos.size, dtype=bool)
    is_month_last[:-1] = valid_month[1:] != valid_month[:-1]
    me_month = valid_month[is_month_last]
    me_value = arr[valid_pos[is_month_last]]

    # Number of valid months strictly before each row's month.
    before = np.searchsorted(me_month, month, side="left")
    # Position of P0 in the month-end list; the list has base + 1 points.
    base = np.where(has_cur, before, before - 1)
    ok = (positions + 1 >= MOMENTUM_13612W_MIN_ROWS) & (base + 1 >= MOMENTUM_13612W_MIN_MONTH_ENDS)
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return pd.Series(out, index=index, name=values.name, copy=False)

    row_base = base[rows]
    cur = np.where(has_cur[rows], arr[last_valid[rows]], me_value[row_base])
    total = np.zeros(rows.size)
    bad = np.zeros(rows.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for months_back, weight in MOMENTUM_13612W_WEIGHTS:
            prior = me_value[row_base - months_back]
            bad |= prior == 0.0
            total = total + weight * (cur / prior - 1.0)
    score = total / 19.0
    score[bad] = np.nan
    out[rows] = score
    return pd.Series(out, index=index, name=values.name, copy=False)


def momentum_13612w_last(close: pd.Series) -> float:
    """``momentum_13612w(close).iloc[-1]`` as a ``float`` (NaN for an empty series)."""
    return _last_float(momentum_13612w(close))
