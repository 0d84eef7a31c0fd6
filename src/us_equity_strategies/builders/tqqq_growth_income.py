"""Snapshot builder of tqqq_growth_income (spec/profiles.md §2.7 "Indicators").

One ``signal`` row for the benchmark with the indicators the profile reads, computed from its
closes on or before ``as_of`` and read at its last row:

* ``ma200`` = mean of the last 200 closes (NaN below 200 rows);
* ``ma20`` = mean of the last 20 closes and ``ma20_slope`` = MA20[t] - MA20[t-1];
* ``pullback_low`` = minimum of the last W closes, today included;
* ``rebound_volatility`` = sample std (ddof 1) of the last W daily simple returns (NaN unless
  all W returns exist),

with ``W = dual_drive_pullback_rebound_window``. Plus one ``tradable`` row (indicators NaN) for
each traded or related symbol that has prices, so whole-share sizing knows their prices.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import indicators as ind
from ..errors import PriceHistoryError

if TYPE_CHECKING:
    from ..entrypoints.tqqq_growth_income import Parameters

__all__ = ["COLUMNS", "TRADABLE_SYMBOLS", "build"]

COLUMNS = ("as_of", "symbol", "role", "close", "history_days", "ma200", "ma20", "ma20_slope",
           "pullback_low", "rebound_volatility")
TRADABLE_SYMBOLS = ("TQQQ", "QQQ", "QQQM", "BOXX", "SPYI", "QQQI")
MA_LONG = 200
MA_SHORT = 20
_INDICATORS = ("ma200", "ma20", "ma20_slope", "pullback_low", "rebound_volatility")


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    """Build the snapshot table at ``as_of``.

    Parameters
    ----------
    prices : pandas.DataFrame
        Normalised long price table (``date``, ``symbol``, ``close``; sorted by symbol, date).
    as_of : datetime.date
        Requested date; only rows dated on or before it are used.
    params : Parameters
        Resolved profile parameters (benchmark symbol, rebound window, unlevered symbol).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, rows sorted by symbol.

    Raises
    ------
    PriceHistoryError
        If the benchmark has no price row on or before ``as_of``.
    """
    day = pd.Timestamp(as_of).normalize()
    as_of_text = day.date().isoformat()
    signal = params.benchmark_symbol
    window = max(1, params.dual_drive_pullback_rebound_window)
    wanted = {*TRADABLE_SYMBOLS, params.dual_drive_unlevered_symbol, signal}
    usable = prices[(prices["date"] <= day) & prices["symbol"].isin(wanted)]

    sig = usable[usable["symbol"] == signal]
    if sig.empty:
        raise PriceHistoryError(
            f"tqqq_growth_income: no price rows for benchmark {signal!r} on or before {as_of_text}"
        )
    close = pd.Series(sig["close"].to_numpy(dtype=np.float64), index=pd.DatetimeIndex(sig["date"]))
    signal_row = {
        "symbol": signal,
        "role": "signal",
        "close": float(close.iloc[-1]),
        "history_days": ind.history_days_last(close),
        "ma200": ind.sma_last(close, MA_LONG),
        "ma20": ind.sma_last(close, MA_SHORT),
        "ma20_slope": ind.sma_slope_last(close, MA_SHORT),
        "pullback_low": ind.rolling_min_last(close, window),
        "rebound_volatility": ind.realized_volatility_last(close, window, ddof=1),
    }

    others = usable[usable["symbol"] != signal]
    grouped = others.groupby("symbol", sort=True)["close"]
    tradable = pd.DataFrame({
        "close": grouped.last().astype(np.float64),
        "history_days": grouped.count().astype(np.int64),
    }).reset_index()
    tradable["role"] = "tradable"
    for col in _INDICATORS:
        tradable[col] = np.nan

    frames = [pd.DataFrame([signal_row])] + ([tradable] if len(tradable) else [])
    table = pd.concat(frames, ignore_index=True)
    table["as_of"] = as_of_text
    table = table.sort_values("symbol", kind="mergesort").reset_index(drop=True)
    table["history_days"] = table["history_days"].astype(np.int64)
    for col in ("close", *_INDICATORS):
        table[col] = table[col].astype(np.float64)
    return table.loc[:, list(COLUMNS)]
