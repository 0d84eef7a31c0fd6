"""Pure, vectorised price indicators shared by snapshot builders and the backtester.

Every function takes the close history of **one** symbol as a :class:`pandas.Series`
(ascending, naive :class:`~pandas.DatetimeIndex`; only :func:`momentum_13612w` actually needs
the dates) and returns a new Series aligned to the input index, holding the indicator *as of
each row* using only that row and earlier rows. Lookbacks count the symbol's own rows, not
exchange days (features.md §1.1).

Conventions
-----------
* Inputs are never mutated; values are converted to ``float64`` (``pd.NA`` -> ``NaN``).
* Rolling indicators use ``min_periods = window``: a value needs ``window`` rows and is ``NaN``
  if any of the rows (or returns) in its window is ``NaN``.
* Every value at row ``t`` depends only on rows ``<= t``: appending rows never changes earlier
  values (truncation invariance), so a backtester can compute a whole history at once.
* Each ``*_last`` function is defined as ``series_function(...).iloc[-1]`` (converted to a
  Python scalar) and returns ``NaN`` (``False`` / ``0`` for the bool / count indicators) for an
  empty series.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "MOMENTUM_13612W_MIN_MONTH_ENDS",
    "MOMENTUM_13612W_MIN_ROWS",
    "MOMENTUM_13612W_WEIGHTS",
    "TRADING_DAYS_PER_YEAR",
    "average_true_range",
    "average_true_range_last",
    "drawdown_max",
    "drawdown_max_last",
    "history_days",
    "history_days_last",
    "momentum_13612w",
    "momentum_13612w_last",
    "realized_volatility",
    "realized_volatility_last",
    "returns",
    "rolling_min",
    "rolling_min_last",
    "sma",
    "sma_last",
    "sma_pass",
    "sma_pass_last",
    "sma_slope",
    "sma_slope_last",
    "true_range",
]

#: Annualisation factor used by :func:`realized_volatility` (``sqrt(252)``).
TRADING_DAYS_PER_YEAR: int = 252
#: ``(months back, weight)`` pairs of the 13612W score, in summation order.
MOMENTUM_13612W_WEIGHTS: tuple[tuple[int, int], ...] = ((1, 12), (3, 4), (6, 2), (12, 1))
#: Minimum number of rows (positional, up to and including ``t``) for a 13612W value.
MOMENTUM_13612W_MIN_ROWS: int = 253
#: Minimum number of month-end points for a 13612W value.
MOMENTUM_13612W_MIN_MONTH_ENDS: int = 13


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_float_series(close: pd.Series) -> pd.Series:
    """Return a new float64 Series with the same index and name (input untouched)."""
    if not isinstance(close, pd.Series):
        raise TypeError(f"close must be a pandas Series, got {type(close).__name__}")
    values = close.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    return pd.Series(values, index=close.index, name=close.name, copy=False)


def _check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _last_float(series: pd.Series) -> float:
    return float(series.iloc[-1]) if len(series) else math.nan


# --------------------------------------------------------------------------------------------
# basic series
# --------------------------------------------------------------------------------------------
def history_days(close: pd.Series) -> pd.Series:
    """Number of non-NaN closes up to and including each row.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.

    Returns
    -------
    pandas.Series
        ``int64`` series, ``history_days[t] = sum_{i <= t} [C[i] is not NaN]``.
    """
    values = _as_float_series(close)
    return values.notna().cumsum().astype(np.int64)


def history_days_last(close: pd.Series) -> int:
    """``history_days(close).iloc[-1]`` as an ``int`` (0 for an empty series)."""
    series = history_days(close)
    return int(series.iloc[-1]) if len(series) else 0


def returns(close: pd.Series) -> pd.Series:
    """Simple one-row returns.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.

    Returns
    -------
    pandas.Series
        ``R[t] = C[t] / C[t-1] - 1``; ``NaN`` at the first row and wherever ``C[t]`` or
        ``C[t-1]`` is ``NaN`` (no forward filling). A zero previous close gives ``±inf`` (or
        ``NaN`` for ``0/0``) as in IEEE arithmetic.
    """
    values = _as_float_series(close)
    return values / values.shift(1) - 1.0


# --------------------------------------------------------------------------------------------
# moving averages
# --------------------------------------------------------------------------------------------
def sma(close: pd.Series, window: int) -> pd.Series:
    """Simple moving average over the last ``window`` rows, today included.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.
    window : int
        Number of rows, ``>= 1``.

    Returns
    -------
    pandas.Series
        ``SMA[t] = (1/window) * sum_{i=t-window+1..t} C[i]``; ``NaN`` for ``t < window - 1``
        and whenever a close in the window is ``NaN`` (``min_periods = window``). Computed with
        pandas' rolling mean, which may differ from a direct ``np.mean`` by ~1e-16 relative.
    """
    window = _check_positive_int(window, "window")
    values = _as_float_series(close)
    return values.rolling(window, min_periods=window).mean()


def sma_last(close: pd.Series, window: int) -> float:
    """``sma(close, window).iloc[-1]`` as a ``float`` (NaN for an empty series)."""
    return _last_float(sma(close, window))


def sma_slope(close: pd.Series, window: int) -> pd.Series:
    """One-row difference of the simple moving average.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.
    window : int
        SMA length in rows, ``>= 1``.

    Returns
    -------
    pandas.Series
        ``slope[t] = SMA[t] - SMA[t-1]`` with ``SMA = sma(close, window)``; ``NaN`` unless
        both SMA values exist (so at least ``window + 1`` rows are needed).
    """
    return sma(close, window).diff()


def sma_slope_last(close: pd.Series, window: int) -> float:
    """``sma_slope(close, window).iloc[-1]`` as a ``float`` (NaN for an empty series)."""
    return _last_float(sma_slope(close, window))


def sma_pass(close: pd.Series, period: int) -> pd.Series:
    """Trend filter: close strictly above its simple moving average.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.
    period : int
        SMA length in rows, ``>= 1``.

    Returns
    -------
    pandas.Series
        ``bool`` series, ``pass[t] = C[t] > SMA_period[t]`` (strict: equality is ``False``).
        ``False`` where fewer than ``period`` rows exist or where ``C[t]`` / ``SMA`` is ``NaN``.
    """
    values = _as_float_series(close)
    average = sma(values, period)
    return (values > average).astype(bool)


def sma_pass_last(close: pd.Series, period: int) -> bool:
    """``sma_pass(close, period).iloc[-1]`` as a ``bool`` (False for an empty series)."""
    series = sma_pass(close, period)
    return bool(series.iloc[-1]) if len(series) else False


# --------------------------------------------------------------------------------------------
# ranges, volatility, drawdown
# --------------------------------------------------------------------------------------------
def rolling_min(close: pd.Series, window: int) -> pd.Series:
    """Minimum of the last ``window`` closes, today included.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.
    window : int
        Number of rows, ``>= 1``.

    Returns
    -------
    pandas.Series
        ``low[t] = min_{i=t-window+1..t} C[i]``. ``min_periods = window``: ``NaN`` while fewer
        than ``window`` rows exist, and ``NaN`` if any close in the window is ``NaN``.
    """
    window = _check_positive_int(window, "window")
    values = _as_float_series(close)
    return values.rolling(window, min_periods=window).min()


def rolling_min_last(close: pd.Series, window: int) -> float:
    """``rolling_min(close, window).iloc[-1]`` as a ``float`` (NaN for an empty series)."""
    return _last_float(rolling_min(close, window))


def realized_volatility(
    close: pd.Series, window: int, ddof: int = 1, annualize: bool = False
) -> pd.Series:
    """Rolling standard deviation of simple daily returns.

    Parameters
    ----------
    close : pandas.Series
        Closes of one symbol, ascending.
    window : int
        Number of returns, ``>= 1``.
    ddof : int, default 1
        Delta degrees of freedom (1 = sample std, 0 = population std).
    annualize : bool, default False
        Multiply by ``sqrt(252)``.

    Returns
    -------
    pandas.Series
        With ``R = returns(close)`` and ``m = mean(R[t-window+1..t])``,
        ``vol[t] = sqrt( sum_{i=t-window+1..t} (R[i] - m)^2 / (window - ddof) )``
        (times ``sqrt(252)`` if ``annualize``). ``NaN`` unless all ``window`` returns in the
        window are valid (so ``window + 1`` rows are needed) and ``window > ddof``. Pandas'
        rolling algorithm can differ from a two-pass std by ~1e-16 absolute.
    """
    window = _check_positive_int(window, "window")
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise ValueError(f"ddof must be a non-negative int, got {ddof!r}")
    vol = returns(close).rolling(window, min_periods=window).std(ddof=int(ddof))
    if annualize:
        vol = vol * math.sqrt(TRADING_DAYS_PER_YEAR)
    return vol


def realized_volatility_last(
    close: pd.Series, window: int, ddof: int = 1, annualize: bool = False
) -> float:
    """``realized_volatility(...).iloc[-1]`` as a ``float`` (NaN for an empty series)."""
    return _last_float(realized_volatility(close, window, ddof=ddof, annualize=annualize))


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


# --------------------------------------------------------------------------------------------
# 13612W momentum
# --------------------------------------------------------------------------------------------
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
