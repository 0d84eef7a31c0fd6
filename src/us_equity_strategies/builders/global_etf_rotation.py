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

Backtests call :func:`precompute` once (every column as a causal series over each symbol's
whole history) and :func:`build_from` per session; :func:`build` is exactly
``build_from(precompute(prices, params), as_of, params)`` (one code path), so a snapshot built
from truncated prices is bit-identical to the precomputed slice.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import indicators

if TYPE_CHECKING:
    from ..entrypoints.global_etf_rotation import Parameters

__all__ = ["COLUMNS", "MIN_ELIGIBLE_HISTORY", "SELECTION_RULE_ID", "SELECTION_RULE_VERSION",
           "VOL_WINDOW", "Precomputed", "build", "build_columns", "build_from", "precompute",
           "symbols"]

SELECTION_RULE_ID = "global_etf_rotation.13612w_sma"
SELECTION_RULE_VERSION = "1"
#: ``eligible`` needs at least this many rows (features.md §4.5).
MIN_ELIGIBLE_HISTORY = 252
#: Number of daily returns in ``vol_126``.
VOL_WINDOW = 126
COLUMNS = ("as_of", "symbol", "role", "close", "momentum_13612w", "score", "sma_pass",
           "eligible", "vol_126", "history_days", "selection_rule_id", "selection_rule_version")

def _roles(params: Any) -> dict[str, str]:
    roles: dict[str, str] = {}
    for symbols, role in ((params.ranking_pool, "ranking"), (params.canary_assets, "canary"),
                          ((params.safe_haven,), "safe_haven")):
        for sym in symbols:
            roles.setdefault(sym, role)
    return roles


def symbols(params: Parameters) -> tuple[str, ...]:
    """Every symbol the builder reads (one snapshot row each), sorted."""
    return tuple(sorted(_roles(params)))


def _slices(prices: pd.DataFrame, symbols: list[str]
            ) -> tuple[np.ndarray, np.ndarray, dict[str, slice]]:
    """Dates (ns), closes and the row range of each symbol (dates ascending).

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
    ranges = {}
    for s in symbols:
        code = code_of.get(s, -1)
        lo, hi = (int(np.searchsorted(codes, code, "left")),
                  int(np.searchsorted(codes, code, "right"))) if code >= 0 else (0, 0)
        block = dates[lo:hi]
        if hi - lo > 1 and not bool((block[1:] >= block[:-1]).all()):
            raise ValueError(f"prices of {s} are not sorted by date; normalise the price "
                             "table with us_equity_strategies.prices.normalize_prices")
        ranges[s] = slice(lo, hi)
    return dates, closes, ranges


def _momentum(dates: np.ndarray, closes: np.ndarray, ranges: dict[str, slice]
              ) -> dict[str, np.ndarray]:
    """:func:`indicators.momentum_13612w` of every symbol's whole history (one call each)."""
    return {
        s: indicators.momentum_13612w(
            pd.Series(closes[r], index=pd.DatetimeIndex(dates[r]), copy=False)).to_numpy()
        if r.stop > r.start else np.full(0, np.nan)
        for s, r in ranges.items()
    }


@dataclass(frozen=True)
class Precomputed:
    """Per-symbol causal columns (arrays aligned with ``dates[s]``, ascending)."""

    key: tuple[Any, ...]
    roles: dict[str, str]
    dates: dict[str, np.ndarray]
    columns: dict[str, dict[str, np.ndarray]]


def _key(params: Parameters) -> tuple[Any, ...]:
    return (tuple(params.ranking_pool), tuple(params.canary_assets), params.safe_haven,
            params.sma_period)


def precompute(prices: pd.DataFrame, params: Parameters) -> Precomputed:
    """Every column of every symbol as a series over its whole history.

    The rolling columns use one :mod:`indicators` call per symbol: pandas' rolling sums
    carry rounding from row to row, so a stacked call would not be prefix-exact.
    """
    roles = _roles(params)
    names = sorted(roles)
    dates, closes, ranges = _slices(prices, names)
    momentum = _momentum(dates, closes, ranges)
    period = params.sma_period
    out_dates, columns = {}, {}
    for s in names:
        rng = ranges[s]
        if rng.stop == rng.start:
            continue
        # Positional indicators: a plain RangeIndex is cheaper than the dates.
        series = pd.Series(closes[rng], copy=False)
        out_dates[s] = dates[rng]
        columns[s] = {
            "close": closes[rng],
            "momentum_13612w": momentum[s],
            "sma_pass": indicators.sma_pass(series, period).to_numpy(),
            "vol_126": indicators.realized_volatility(
                series, VOL_WINDOW, ddof=1, annualize=True).to_numpy(),
            "history_days": np.cumsum(~np.isnan(closes[rng]), dtype=np.int64),
        }
    return Precomputed(_key(params), roles, out_dates, columns)


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
    ValueError
        If ``pre`` was computed with other builder parameters.
    """
    if pre.key != _key(params):
        raise ValueError(f"precomputed for {pre.key}, asked for {_key(params)}")
    names = sorted(pre.roles)
    cutoff = np.datetime64(as_of, "ns")
    n = len(names)
    last = np.full(n, math.nan)
    mom = np.full(n, math.nan)
    vol = np.full(n, math.nan)
    passed = np.zeros(n, dtype=bool)
    hist = np.zeros(n, dtype=np.int64)
    for i, s in enumerate(names):
        k = int(np.searchsorted(pre.dates[s], cutoff, "right")) if s in pre.dates else 0
        if k == 0:
            continue
        cols = pre.columns[s]
        last[i] = cols["close"][k - 1]
        mom[i] = cols["momentum_13612w"][k - 1]
        vol[i] = cols["vol_126"][k - 1]
        passed[i] = cols["sma_pass"][k - 1]
        hist[i] = cols["history_days"][k - 1]
    role = np.array([pre.roles[s] for s in names], dtype=object)
    with np.errstate(invalid="ignore"):
        eligible = ((role == "ranking") & (hist >= MIN_ELIGIBLE_HISTORY) & (last > 0)
                    & ~np.isnan(mom) & passed)
    return {
        "as_of": np.full(n, as_of.isoformat(), dtype=object),
        "symbol": np.array(names, dtype=object),
        "role": role,
        "close": last,
        "momentum_13612w": mom,
        "score": mom.copy(),
        "sma_pass": passed,
        "eligible": eligible,
        "vol_126": vol,
        "history_days": hist,
        "selection_rule_id": np.full(n, SELECTION_RULE_ID, dtype=object),
        "selection_rule_version": np.full(n, SELECTION_RULE_VERSION, dtype=object),
    }


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
    cutoff = np.datetime64(as_of, "ns")
    usable = prices[prices["date"].to_numpy(dtype="datetime64[ns]") <= cutoff]
    return build_from(precompute(usable, params), as_of, params)
