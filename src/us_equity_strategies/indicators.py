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

# Drawdown, true range / ATR and 13612W momentum live in private helper modules and are
# re-exported here: ``indicators`` stays the one public import path.
from ._indicators_common import _as_float_series, _check_positive_int, _last_float
from ._indicators_momentum import (
    MOMENTUM_13612W_MIN_MONTH_ENDS,
    MOMENTUM_13612W_MIN_ROWS,
    MOMENTUM_13612W_WEIGHTS,
    momentum_13612w,
    momentum_13612w_last,
)
from ._indicators_ranges import (
    average_true_range,
    average_true_range_last,
    drawdown_max,
    drawdown_max_last,
    true_range,
)

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
# ranges, volatility
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
