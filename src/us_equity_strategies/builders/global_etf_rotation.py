"""Snapshot builder of ``global_etf_rotation`` (spec/features.md §4.5, profiles.md §2.1).

One row per symbol of ``ranking_pool ∪ canary_assets ∪ {safe_haven}``, sorted by symbol, with
the columns of ``manifests/global_etf_rotation.toml`` in manifest order:

``as_of``
    The requested date as ``YYYY-MM-DD`` (not the last price date, features.md §1.4).
``role``
    ``ranking``, ``canary`` or ``safe_haven``: the first that applies, in that order.
``close``
    Last close on or before ``as_of`` (NaN when the symbol has no rows).
``momentum_13612w`` / ``score``
    :func:`indicators.momentum_13612w_last` of the symbol's closes ``<= as_of``. As in the
    April 2026 reference (profiles.md §2.1) the last month-end point ``P0`` is the latest
    close, so a mid-month ``as_of`` counts the current partial month. (The newer pipeline of
    features.md §4.5 drops the partial month; we deliberately do not.) ``score`` equals the
    momentum: the hold bonus depends on the account and is applied by the profile.
``sma_pass``
    :func:`indicators.sma_pass_last` with ``sma_period`` rows: last close strictly above the
    mean of the last ``sma_period`` closes (today included); False below ``sma_period`` rows.
``eligible``
    role is ``ranking`` ∧ ``history_days >= 252`` ∧ close > 0 ∧ momentum non-NaN ∧ ``sma_pass``.
``vol_126``
    Sample std (ddof 1) of the last 126 daily returns × √252 (NaN below 127 rows).
``history_days``
    Number of price rows ``<= as_of`` (0 without data).
``selection_rule_id`` / ``selection_rule_version``
    ``global_etf_rotation.13612w_sma`` / ``1``.

A symbol without price rows still gets a row (close and momentum NaN, ``sma_pass`` and
``eligible`` False, ``history_days`` 0): that is how "missing data" reaches the profile, where
a canary without data counts as bad.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import indicators

if TYPE_CHECKING:
    from ..entrypoints.global_etf_rotation import Parameters

__all__ = ["COLUMNS", "MIN_ELIGIBLE_HISTORY", "SELECTION_RULE_ID", "SELECTION_RULE_VERSION",
           "VOL_WINDOW", "build"]

SELECTION_RULE_ID = "global_etf_rotation.13612w_sma"
SELECTION_RULE_VERSION = "1"
#: ``eligible`` needs at least this many rows (features.md §4.5).
MIN_ELIGIBLE_HISTORY = 252
#: Number of daily returns in ``vol_126``.
VOL_WINDOW = 126
COLUMNS = ("as_of", "symbol", "role", "close", "momentum_13612w", "score", "sma_pass",
           "eligible", "vol_126", "history_days", "selection_rule_id", "selection_rule_version")

# Rows kept per symbol for the momentum: 13 months of sessions with room to spare.
_MOMENTUM_TAIL = 400
# Exactly 400 Gregorian years: shifting dates by a multiple keeps every (month, day).
_GREGORIAN_CYCLE = np.timedelta64(146_097, "D")


def _roles(params: Any) -> dict[str, str]:
    roles: dict[str, str] = {}
    for symbols, role in ((params.ranking_pool, "ranking"), (params.canary_assets, "canary"),
                          ((params.safe_haven,), "safe_haven")):
        for sym in symbols:
            roles.setdefault(sym, role)
    return roles


def _slices(prices: pd.DataFrame, symbols: list[str], as_of: dt.date
            ) -> tuple[np.ndarray, np.ndarray, dict[str, slice]]:
    """Dates (ns), closes and the row range of each symbol (rows <= as_of, dates ascending).

    The table is expected sorted by (symbol, date), as ``normalize_prices`` returns it. That
    is checked through ``pandas.factorize`` (first-appearance codes are non-decreasing and
    the uniques ascending exactly when the column is sorted); an unsorted table is sorted.
    """
    codes, uniques = pd.factorize(prices["symbol"])
    uniq = np.asarray(uniques, dtype=object)
    if not (bool((np.diff(codes) >= 0).all()) and bool((uniq[1:] > uniq[:-1]).all())):
        prices = prices.sort_values(["symbol", "date"], kind="mergesort")
        codes, uniques = pd.factorize(prices["symbol"])
    code_of = {sym: i for i, sym in enumerate(uniques)}
    dates = prices["date"].to_numpy().astype("datetime64[ns]", copy=False)
    closes = prices["close"].to_numpy(dtype=np.float64)
    cutoff = np.datetime64(as_of, "ns")
    ranges = {}
    for s in symbols:
        code = code_of.get(s, -1)
        lo, hi = (int(np.searchsorted(codes, code, "left")),
                  int(np.searchsorted(codes, code, "right"))) if code >= 0 else (0, 0)
        block = dates[lo:hi]
        if hi - lo > 1 and not bool((block[1:] >= block[:-1]).all()):
            raise ValueError(f"prices of {s} are not sorted by date; normalise the price "
                             "table with us_equity_strategies.prices.normalize_prices")
        ranges[s] = slice(lo, lo + int(np.searchsorted(block, cutoff, "right")))
    return dates, closes, ranges


def _month_count(dates: np.ndarray, closes: np.ndarray) -> int:
    months = dates[~np.isnan(closes)].astype("datetime64[M]")
    return int(np.unique(months).size)


def _momentum(dates: np.ndarray, closes: np.ndarray, ranges: dict[str, slice]
              ) -> dict[str, float]:
    """13612W of every symbol's full history <= as_of, from one call on stacked tails.

    The score reads 13 month-end points and needs >= 253 rows. A month with a row in a
    suffix of the series has its last row there too, so a tail of >= 253 rows spanning >= 13
    months gives exactly the full-history score. Such tails are stacked into one series,
    tail ``k`` shifted by ``k`` x 400 Gregorian years so the index stays ascending and each
    tail's month-ends (all >= 13 it needs) are its own; the value at each tail's last row is
    then bit-identical to a separate call. Other symbols are computed on their own.
    """
    out: dict[str, float] = {}
    stacked_dates, stacked_close, ends = [], [], {}
    for sym, rng in ranges.items():
        n = rng.stop - rng.start
        tail = slice(max(rng.start, rng.stop - _MOMENTUM_TAIL), rng.stop)
        if n >= indicators.MOMENTUM_13612W_MIN_ROWS and _month_count(
                dates[tail], closes[tail]) >= indicators.MOMENTUM_13612W_MIN_MONTH_ENDS:
            k = len(stacked_dates)
            stacked_dates.append(dates[tail].astype("datetime64[s]") + k * _GREGORIAN_CYCLE)
            stacked_close.append(closes[tail])
            ends[sym] = sum(len(c) for c in stacked_close) - 1
        else:
            series = pd.Series(closes[rng], index=pd.DatetimeIndex(dates[rng]), copy=False)
            out[sym] = indicators.momentum_13612w_last(series)
    if ends:
        series = pd.Series(np.concatenate(stacked_close),
                           index=pd.DatetimeIndex(np.concatenate(stacked_dates)), copy=False)
        values = indicators.momentum_13612w(series).to_numpy()
        out.update({sym: float(values[end]) for sym, end in ends.items()})
    return out


def _stacked_last(closes: np.ndarray, ranges: dict[str, slice], rows: int,
                  func: Any) -> dict[str, Any]:
    """``func`` of each symbol's last ``rows`` closes, from one call on stacked segments.

    Segments are separated by ``rows`` NaNs so no window of ``rows`` rows reaches into the
    previous symbol; a symbol with fewer rows gets ``func`` of an empty window (NaN / False).
    Pandas' rolling sums carry rounding across segments, so values may differ from a
    separate call in the last bit (~1e-16 relative).
    """
    gap = np.full(rows, np.nan)
    parts, ends = [], {}
    offset = 0
    for sym, rng in ranges.items():
        if rng.stop - rng.start >= rows:
            parts.extend((gap, closes[rng.stop - rows: rng.stop]))
            offset += 2 * rows
            ends[sym] = offset - 1
    values = func(pd.Series(np.concatenate(parts))).to_numpy() if parts else np.array([])
    return {sym: values[ends[sym]] if sym in ends else None for sym in ranges}


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    """Build the ``global_etf_rotation`` snapshot table.

    Parameters
    ----------
    prices : pandas.DataFrame
        Normalised long price table (``date``, ``symbol``, ``close``; see
        :func:`us_equity_strategies.prices.normalize_prices`). Rows after ``as_of`` are ignored
        (:func:`us_equity_strategies.builders.build_snapshot` already removes them).
    as_of : datetime.date
        Snapshot date, written to the ``as_of`` column.
    params : Parameters
        Resolved profile parameters; ``ranking_pool``, ``canary_assets``, ``safe_haven`` and
        ``sma_period`` are used.

    Returns
    -------
    pandas.DataFrame
        The snapshot table, one row per symbol, sorted by symbol, columns :data:`COLUMNS`.
    """
    roles = _roles(params)
    symbols = sorted(roles)
    dates, closes, ranges = _slices(prices, symbols, as_of)
    momentum = _momentum(dates, closes, ranges)
    period = params.sma_period
    sma_ok = _stacked_last(closes, ranges, period, lambda s: indicators.sma_pass(s, period))
    vol = _stacked_last(closes, ranges, VOL_WINDOW + 1, lambda s: indicators.realized_volatility(
        s, VOL_WINDOW, ddof=1, annualize=True))

    n = len(symbols)
    hist = np.array([np.count_nonzero(~np.isnan(closes[ranges[s]])) for s in symbols],
                    dtype=np.int64)
    last = np.array([closes[ranges[s].stop - 1] if ranges[s].stop > ranges[s].start
                     else math.nan for s in symbols], dtype=np.float64)
    mom = np.array([momentum[s] for s in symbols], dtype=np.float64)
    passed = np.array([bool(sma_ok[s]) if sma_ok[s] is not None else False for s in symbols],
                      dtype=bool)
    role = np.array([roles[s] for s in symbols], dtype=object)
    with np.errstate(invalid="ignore"):
        eligible = ((role == "ranking") & (hist >= MIN_ELIGIBLE_HISTORY) & (last > 0)
                    & ~np.isnan(mom) & passed)
    return pd.DataFrame({
        "as_of": np.full(n, as_of.isoformat(), dtype=object),
        "symbol": np.array(symbols, dtype=object),
        "role": role,
        "close": last,
        "momentum_13612w": mom,
        "score": mom.copy(),
        "sma_pass": passed,
        "eligible": eligible,
        "vol_126": np.array([math.nan if vol[s] is None else vol[s] for s in symbols],
                            dtype=np.float64),
        "history_days": hist,
        "selection_rule_id": np.full(n, SELECTION_RULE_ID, dtype=object),
        "selection_rule_version": np.full(n, SELECTION_RULE_VERSION, dtype=object),
    })
