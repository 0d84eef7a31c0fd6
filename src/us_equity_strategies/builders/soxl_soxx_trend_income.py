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

Backtests call :func:`precompute` once (every indicator as a causal series over the whole
history) and :func:`build_from` per session; :func:`build` is exactly
``build_from(precompute(prices, params), as_of, params)`` (one code path).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import indicators as ind
from ..errors import PriceHistoryError

if TYPE_CHECKING:
    from ..entrypoints.soxl_soxx_trend_income import Parameters

__all__ = ["COLUMNS", "MA_SHORT", "TRADABLE_SYMBOLS", "Precomputed", "build", "build_columns",
           "build_from", "precompute", "symbols"]

COLUMNS = ("as_of", "symbol", "role", "close", "history_days", "ma_trend", "ma20", "ma20_slope")
LEVERAGED = "SOXL"
TRADABLE_SYMBOLS = ("BOXX", "QQQI", "SPYI")
MA_SHORT = 20


def symbols(params: Parameters) -> tuple[str, ...]:
    """Every symbol the builder reads, sorted."""
    return tuple(sorted({LEVERAGED, params.blend_gate_trend_source, *TRADABLE_SYMBOLS}))


@dataclass(frozen=True)
class Precomputed:
    """Per-symbol causal series: ``columns[s]`` maps ``close``, ``history_days`` and the
    symbol's indicator columns to arrays aligned with ``dates[s]`` (ascending)."""

    key: tuple[Any, ...]
    dates: dict[str, np.ndarray]
    columns: dict[str, dict[str, np.ndarray]]


def _key(params: Parameters) -> tuple[Any, ...]:
    return (params.blend_gate_trend_source, params.trend_ma_window)


def _role(sym: str, trend: str) -> str:
    return "leveraged" if sym == LEVERAGED else "trend_source" if sym == trend else "tradable"


def precompute(prices: pd.DataFrame, params: Parameters) -> Precomputed:
    """Compute every indicator once over the whole history (numpy masks per symbol: much
    cheaper than a groupby)."""
    trend = params.blend_gate_trend_source
    window = params.trend_ma_window
    sym = prices["symbol"].to_numpy()
    all_dates = prices["date"].to_numpy(dtype="datetime64[ns]")
    all_close = prices["close"].to_numpy(dtype=np.float64)
    dates, columns = {}, {}
    for s in symbols(params):
        idx = np.flatnonzero(sym == s)
        if idx.size == 0:
            continue
        idx = idx[np.argsort(all_dates[idx], kind="stable")]
        close = pd.Series(all_close[idx], index=pd.DatetimeIndex(all_dates[idx]), name=s)
        cols = {"close": all_close[idx], "history_days": ind.history_days(close).to_numpy()}
        if _role(s, trend) != "tradable":
            cols["ma_trend"] = ind.sma(close, window).to_numpy()
        if s == trend:
            cols["ma20"] = ind.sma(close, MA_SHORT).to_numpy()
            cols["ma20_slope"] = ind.sma_slope(close, MA_SHORT).to_numpy()
        dates[s] = all_dates[idx]
        columns[s] = cols
    return Precomputed(_key(params), dates, columns)


def build_from(pre: Precomputed, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    """The snapshot table at ``as_of`` read from :func:`precompute` output (rows <= as_of).

    ``pandas.DataFrame(build_columns(pre, as_of, params))``; raises as :func:`build_columns`.
    """
    return pd.DataFrame(build_columns(pre, as_of, params))


def build_columns(pre: Precomputed, as_of: dt.date, params: Parameters
                  ) -> dict[str, np.ndarray]:
    """The snapshot table at ``as_of`` as numpy columns (rows <= as_of).

    Raises
    ------
    PriceHistoryError
        As :func:`build`.
    ValueError
        If ``pre`` was computed with other builder parameters.
    """
    if pre.key != _key(params):
        raise ValueError(f"precomputed for {pre.key}, asked for {_key(params)}")
    as_of_text = as_of.isoformat()[:10]
    trend = params.blend_gate_trend_source
    window = params.trend_ma_window
    cutoff = np.datetime64(as_of_text, "ns")
    ends = {s: int(np.searchsorted(d, cutoff, side="right")) for s, d in pre.dates.items()}
    for needed, what in ((LEVERAGED, "the leveraged leg"), (trend, "the trend source")):
        if ends.get(needed, 0) == 0:
            raise PriceHistoryError(
                f"soxl_soxx_trend_income: no price rows for {needed!r} ({what}) on or before "
                f"{as_of_text}"
            )
    if ends[LEVERAGED] < window:
        raise PriceHistoryError(
            f"soxl_soxx_trend_income: {LEVERAGED} has {ends[LEVERAGED]} price rows on or "
            f"before {as_of_text}; its ma_trend needs trend_ma_window={window} rows"
        )
    rows = [s for s in symbols(params) if ends.get(s, 0) > 0]
    n = len(rows)
    table = {
        "as_of": np.full(n, as_of_text, dtype=object),
        "symbol": np.array(rows, dtype=object),
        "role": np.array([_role(s, trend) for s in rows], dtype=object),
    }
    # numpy columns: building the frame from typed arrays is much cheaper than from records.
    for col, dtype in (("close", np.float64), ("history_days", np.int64), ("ma_trend", np.float64),
                       ("ma20", np.float64), ("ma20_slope", np.float64)):
        table[col] = np.array([pre.columns[s][col][ends[s] - 1] if col in pre.columns[s]
                               else math.nan for s in rows], dtype=dtype)
    return table


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
    day = np.datetime64(pd.Timestamp(as_of).normalize().to_datetime64(), "ns")
    usable = prices[prices["date"].to_numpy(dtype="datetime64[ns]") <= day]
    return build_from(precompute(usable, params), as_of, params)
