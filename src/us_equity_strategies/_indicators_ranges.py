"""Drawdown and true range / ATR, re-exported by :mod:`us_equity_strategies.indicators`.

The conventions of that module apply: one symbol's closes, inputs never mutated, values as of
each row from that row and earlier rows only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._indicators_common import _as_float_series, _check_positive_int, _last_float

__all__ = [
    "average_true_range",
    "average_true_range_last",
    "drawdown_max",
    "drawdown_max_last",
    "true_range",
]


# --------------------------------------------------------------------------------------------
# drawdown
# --------------------------------------------------------------------------------------------
def drawdown_max(close: pd.Series, window: int) -> pd.Series:
    """Maximum drawdown inside the last ``window`` rows (peak restricted to the window).

    This is the *window version* of ``maxdd_126`` (features.md §3, Russell and mega builders).

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.
    window : int
        Number of rows, ``>= 1``.

    Returns
    -------
    pandas.Series
        With ``W = C[t-window+1..t]``:
        ``dd[t] = min_{j=0..window-1} ( W[j] / max(W[0..j]) - 1 )``, a value ``<= 0``
        (0 = no drawdown inside the window). ``NaN`` while fewer than ``window`` rows exist
        and if any close in the window is ``NaN`` **or not strictly positive** (closes
        ``<= 0`` are treated as missing; drawdown ratios are meaningless for them).

    Notes
    -----
    For positive closes ``min_j W[j] / max(W[0..j]) = min_{i <= j} W[j] / W[i]``, and because
    IEEE division is monotone both sides are the *same* float. That allows an O(n)
    block decomposition (van Herk / Gil-Werman style): the array is cut into blocks of
    ``window`` rows, so every window is either one whole block or a suffix of block ``k`` plus
    a prefix of block ``k + 1``; the worst pair is then the worst of (pairs inside the suffix,
    pairs inside the prefix, ``min(prefix) / max(suffix)``). All block scans are vectorised
    ``ufunc.accumulate`` calls.
    """
    window = _check_positive_int(window, "window")
    values = _as_float_series(close)
    arr = values.to_numpy(copy=True)
    arr[~(arr > 0.0)] = np.nan  # NaN, zero and negative closes -> missing
    n = arr.size
    out = np.full(n, np.nan)
    if n >= window:
        n_blocks = -(-n // window)
        blocks = np.full(n_blocks * window, np.nan)
        blocks[:n] = arr
        blocks = blocks.reshape(n_blocks, window)
        rev = blocks[:, ::-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            # prefix stats: rows block_start..e
            pre_max = np.maximum.accumulate(blocks, axis=1)
            pre_min = np.minimum.accumulate(blocks, axis=1).ravel()
            pre_best = np.minimum.accumulate(blocks / pre_max, axis=1).ravel()
            # suffix stats: rows s..block_end
            suf_max = np.maximum.accumulate(rev, axis=1)[:, ::-1].ravel()
            suf_min = np.minimum.accumulate(rev, axis=1)[:, ::-1]
            suf_best = np.minimum.accumulate((suf_min / blocks)[:, ::-1], axis=1)[:, ::-1]
            suf_best = suf_best.ravel()
            ends = np.arange(window - 1, n)
            starts = ends - (window - 1)
            cross = np.minimum(
                np.minimum(suf_best[starts], pre_best[ends]), pre_min[ends] / suf_max[starts]
            )
            ratio = np.where(starts % window == 0, suf_best[starts], cross)
            out[window - 1 :] = ratio - 1.0
    return pd.Series(out, index=values.index, name=values.name, copy=False)


def drawdown_max_last(close: pd.Series, window: int) -> float:
    """``drawdown_max(close, window).iloc[-1]`` as a ``float`` (NaN for an empty series)."""
    return _last_float(drawdown_max(close, window))


# --------------------------------------------------------------------------------------------
# true range / ATR (dynamic_mega_leveraged_pullback's QQQ gate, profiles.md §2.9)
# --------------------------------------------------------------------------------------------
def _aligned(other: pd.Series | None, close: pd.Series, name: str) -> np.ndarray:
    """``other`` as float64 aligned with ``close``; missing values (or no series) -> close."""
    c = close.to_numpy()
    if other is None:
        return c
    if not isinstance(other, pd.Series) or not other.index.equals(close.index):
        raise ValueError(f"{name} must be a Series with the same index as close")
    values = other.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(values), c, values)


def true_range(
    close: pd.Series, high: pd.Series | None = None, low: pd.Series | None = None
) -> pd.Series:
    """True range of every row.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.
    high, low : pandas.Series, optional
        Same index as ``close`` and the same adjustment basis. A missing series or value is
        replaced by the close (the reference's rule), so closes alone give ``|C[t] - C[t-1]|``.

    Returns
    -------
    pandas.Series
        ``TR[t] = max(H[t] - L[t], |H[t] - C[t-1]|, |L[t] - C[t-1]|)``; where the previous
        close is missing (the first row) it is ``H[t] - L[t]``. NaN where ``C[t]`` is NaN.
    """
    c = _as_float_series(close)
    h = _aligned(high, c, "high")
    lo = _aligned(low, c, "low")
    prev = c.shift(1).to_numpy()
    with np.errstate(invalid="ignore"):
        gap = np.fmax(np.abs(h - prev), np.abs(lo - prev))  # NaN only without a previous close
        tr = np.fmax(h - lo, gap)
    tr[np.isnan(c.to_numpy())] = np.nan
    return pd.Series(tr, index=c.index, name=c.name, copy=False)


def average_true_range(
    close: pd.Series, period: int, high: pd.Series | None = None,
    low: pd.Series | None = None,
) -> pd.Series:
    """Simple (not Wilder) mean of :func:`true_range` over the last ``period`` rows.

    NaN until ``period`` true ranges exist; ``period + 1`` rows keep the first row's
    ``H - L`` out of the window.
    """
    period = _check_positive_int(period, "period")
    return true_range(close, high, low).rolling(period, min_periods=period).mean()


def average_true_range_last(
    close: pd.Series, period: int, high: pd.Series | None = None,
    low: pd.Series | None = None,
) -> float:
    """``average_true_range(...).iloc[-1]`` as a ``float`` (NaN for an empty series)."""
    return _last_float(average_true_range(close, period, high, low))
