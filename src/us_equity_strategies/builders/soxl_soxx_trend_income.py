"""Snapshot builder of soxl_soxx_trend_income (spec/profiles.md §2.8 "Inputs", spec fix 7).

Rows, read at each symbol's last row dated on or before ``as_of`` (no staleness check, as in
features.md §1.3), sorted by symbol:

* ``SOXL`` (role ``leveraged``): ``ma_trend`` = mean of the last ``trend_ma_window`` closes;
* the trend source (``blend_gate_trend_source``, default SOXX; role ``trend_source``):
  ``ma_trend`` with the same window, ``ma20`` = mean of the last 20 closes and
  ``ma20_slope`` = MA20[t] - MA20[t-1];
* ``BOXX``, ``QQQI``, ``SPYI`` (role ``tradable``, indicators NaN) when they have price rows,
  so whole-share sizing knows their prices.

If the trend source is SOXL itself there is one SOXL row (role ``leveraged``) carrying the
trend-source indicators too. A trend source with fewer rows than the window gets a NaN
``ma_trend`` (the profile then falls back to SOXL's, per the spec).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import indicators as ind
from ..errors import PriceHistoryError

if TYPE_CHECKING:
    from ..entrypoints.soxl_soxx_trend_income import Parameters

__all__ = ["COLUMNS", "MA_SHORT", "TRADABLE_SYMBOLS", "build"]

COLUMNS = ("as_of", "symbol", "role", "close", "history_days", "ma_trend", "ma20", "ma20_slope")
LEVERAGED = "SOXL"
TRADABLE_SYMBOLS = ("BOXX", "QQQI", "SPYI")
MA_SHORT = 20


def _closes(prices: pd.DataFrame, day: pd.Timestamp, symbols: list[str]) -> dict[str, pd.Series]:
    """Date-ordered closes on or before ``day`` of each symbol that has any (numpy masks:
    much cheaper than a groupby when the builder runs once per backtest day)."""
    sym = prices["symbol"].to_numpy()
    dates = prices["date"].to_numpy(dtype="datetime64[ns]")
    close = prices["close"].to_numpy(dtype=np.float64)
    usable = dates <= day.to_datetime64()
    out = {}
    for s in symbols:
        idx = np.flatnonzero(usable & (sym == s))
        if idx.size == 0:
            continue
        idx = idx[np.argsort(dates[idx], kind="stable")]
        out[s] = pd.Series(close[idx], index=pd.DatetimeIndex(dates[idx]), name=s)
    return out


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    """Build the snapshot table at ``as_of``.

    Parameters
    ----------
    prices : pandas.DataFrame
        Normalised long price table (``date``, ``symbol``, ``close``).
    as_of : datetime.date
        Requested date; only rows dated on or before it are used.
    params : Parameters
        Resolved profile parameters (``trend_ma_window``, ``blend_gate_trend_source``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, rows sorted by symbol.

    Raises
    ------
    PriceHistoryError
        If SOXL or the trend source has no price row on or before ``as_of``, or SOXL has
        fewer than ``trend_ma_window`` rows (its ``ma_trend`` is required).
    """
    day = pd.Timestamp(as_of).normalize()
    as_of_text = day.date().isoformat()
    trend = params.blend_gate_trend_source
    window = params.trend_ma_window
    wanted = sorted({LEVERAGED, trend, *TRADABLE_SYMBOLS})
    closes = _closes(prices, day, wanted)
    for needed, what in ((LEVERAGED, "the leveraged leg"), (trend, "the trend source")):
        if needed not in closes:
            raise PriceHistoryError(
                f"soxl_soxx_trend_income: no price rows for {needed!r} ({what}) on or before "
                f"{as_of_text}"
            )
    if len(closes[LEVERAGED]) < window:
        raise PriceHistoryError(
            f"soxl_soxx_trend_income: {LEVERAGED} has {len(closes[LEVERAGED])} price rows on or "
            f"before {as_of_text}; its ma_trend needs trend_ma_window={window} rows"
        )

    records = []
    for sym in wanted:
        close = closes.get(sym)
        if close is None:
            continue
        is_trend = sym == trend
        role = "leveraged" if sym == LEVERAGED else "trend_source" if is_trend else "tradable"
        records.append({
            "as_of": as_of_text,
            "symbol": sym,
            "role": role,
            "close": float(close.iloc[-1]),
            "history_days": ind.history_days_last(close),
            "ma_trend": ind.sma_last(close, window) if role != "tradable" else math.nan,
            "ma20": ind.sma_last(close, MA_SHORT) if is_trend else math.nan,
            "ma20_slope": ind.sma_slope_last(close, MA_SHORT) if is_trend else math.nan,
        })
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    table["history_days"] = table["history_days"].astype(np.int64)
    for col in ("close", "ma_trend", "ma20", "ma20_slope"):
        table[col] = table[col].astype(np.float64)
    return table.reset_index(drop=True)
