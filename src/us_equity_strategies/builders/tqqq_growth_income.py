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

Backtests call :func:`precompute` once (every indicator as a causal series over the whole
history) and :func:`build_from` per session (a slice at ``as_of``); :func:`build` is exactly
``build_from(precompute(prices, params), as_of, params)``, so there is one code path and a
snapshot built from truncated prices is identical to the precomputed slice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import indicators as ind
from ..errors import PriceHistoryError

if TYPE_CHECKING:
    from ..entrypoints.tqqq_growth_income import Parameters

__all__ = ["COLUMNS", "TRADABLE_SYMBOLS", "Precomputed", "build", "build_columns", "build_from",
           "precompute", "symbols"]

COLUMNS = ("as_of", "symbol", "role", "close", "history_days", "ma200", "ma20", "ma20_slope",
           "pullback_low", "rebound_volatility")
TRADABLE_SYMBOLS = ("TQQQ", "QQQ", "QQQM", "BOXX", "SPYI", "QQQI")
MA_LONG = 200
MA_SHORT = 20
_INDICATORS = ("ma200", "ma20", "ma20_slope", "pullback_low", "rebound_volatility")


def symbols(params: Parameters) -> tuple[str, ...]:
    """Every symbol the builder reads (benchmark, traded and related symbols), sorted."""
    return tuple(sorted({*TRADABLE_SYMBOLS, params.dual_drive_unlevered_symbol,
                         params.benchmark_symbol}))


@dataclass(frozen=True)
class Precomputed:
    """Histories of :func:`symbols` plus the benchmark's indicator series (all causal).

    ``dates[s]`` (``datetime64[ns]``, ascending), ``close[s]`` and ``history[s]`` (non-NaN
    closes so far) per symbol with rows; ``last_close[s]`` is the last non-NaN close so far;
    ``indicators`` holds the benchmark's columns of :data:`_INDICATORS` row by row.
    """

    key: tuple[Any, ...]
    dates: dict[str, np.ndarray]
    close: dict[str, np.ndarray]
    last_close: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    indicators: dict[str, np.ndarray]


def _key(params: Parameters) -> tuple[Any, ...]:
    return (params.benchmark_symbol, params.dual_drive_pullback_rebound_window,
            params.dual_drive_unlevered_symbol)


def precompute(prices: pd.DataFrame, params: Parameters) -> Precomputed:
    """Compute every indicator once over the whole history (see :class:`Precomputed`)."""
    signal = params.benchmark_symbol
    window = max(1, params.dual_drive_pullback_rebound_window)
    wanted = symbols(params)
    sym = prices["symbol"].to_numpy()
    all_dates = prices["date"].to_numpy(dtype="datetime64[ns]")
    all_close = prices["close"].to_numpy(dtype=np.float64)
    dates, close, last, history, indicators = {}, {}, {}, {}, {}
    for s in wanted:
        idx = np.flatnonzero(sym == s)
        if idx.size == 0:
            continue
        idx = idx[np.argsort(all_dates[idx], kind="stable")]
        series = pd.Series(all_close[idx], index=pd.DatetimeIndex(all_dates[idx]), name=s)
        dates[s] = all_dates[idx]
        close[s] = all_close[idx]
        last[s] = series.ffill().to_numpy()
        history[s] = ind.history_days(series).to_numpy()
        if s == signal:
            indicators = {
                "ma200": ind.sma(series, MA_LONG).to_numpy(),
                "ma20": ind.sma(series, MA_SHORT).to_numpy(),
                "ma20_slope": ind.sma_slope(series, MA_SHORT).to_numpy(),
                "pullback_low": ind.rolling_min(series, window).to_numpy(),
                "rebound_volatility": ind.realized_volatility(series, window, ddof=1).to_numpy(),
            }
    return Precomputed(_key(params), dates, close, last, history, indicators)


def build_from(pre: Precomputed, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    """The snapshot table at ``as_of`` read from :func:`precompute` output (rows <= as_of).

    ``pandas.DataFrame(build_columns(pre, as_of, params))``; raises as :func:`build_columns`.
    """
    return pd.DataFrame(build_columns(pre, as_of, params))


def build_columns(pre: Precomputed, as_of: dt.date, params: Parameters
                  ) -> dict[str, np.ndarray]:
    """The snapshot table at ``as_of`` as numpy columns (:data:`COLUMNS`, rows <= as_of).

    Raises
    ------
    PriceHistoryError
        If the benchmark has no price row on or before ``as_of``.
    ValueError
        If ``pre`` was computed with other builder parameters.
    """
    if pre.key != _key(params):
        raise ValueError(f"precomputed for {pre.key}, asked for {_key(params)}")
    as_of_text = as_of.isoformat()[:10]
    signal = params.benchmark_symbol
    cutoff = np.datetime64(as_of_text, "ns")
    ends = {s: int(np.searchsorted(d, cutoff, side="right")) for s, d in pre.dates.items()}
    if ends.get(signal, 0) == 0:
        raise PriceHistoryError(
            f"tqqq_growth_income: no price rows for benchmark {signal!r} on or before {as_of_text}"
        )
    rows = sorted(s for s, k in ends.items() if k > 0)
    at = [ends[s] - 1 for s in rows]
    n = len(rows)
    # numpy columns: building the frame from typed arrays is ~10x cheaper than from records.
    table = {
        "as_of": np.full(n, as_of_text, dtype=object),
        "symbol": np.array(rows, dtype=object),
        "role": np.array(["signal" if s == signal else "tradable" for s in rows], dtype=object),
        "close": np.array([pre.close[s][k] if s == signal else pre.last_close[s][k]
                           for s, k in zip(rows, at, strict=True)], dtype=np.float64),
        "history_days": np.array([pre.history[s][k] for s, k in zip(rows, at, strict=True)],
                                 dtype=np.int64),
    }
    i = rows.index(signal)
    for col in _INDICATORS:
        values = np.full(n, np.nan)
        values[i] = pre.indicators[col][at[i]]
        table[col] = values
    return table


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
    day = np.datetime64(pd.Timestamp(as_of).normalize().to_datetime64(), "ns")
    usable = prices[prices["date"].to_numpy(dtype="datetime64[ns]") <= day]
    return build_from(precompute(usable, params), as_of, params)
