"""Snapshot builder of the three mega-cap leader rotation profiles (spec/features.md §4.3).

**Universe.** At ``as_of`` the builder selects ``N = dynamic_universe_size`` names from the
universe table with :func:`universe.select_top_n` (membership known ``universe_lag_sessions``
NYSE sessions before ``as_of``; 0 = the reference, no lag): a ``mega_rank`` column ranks
directly (no issuer de-duplication); otherwise the first present of ``source_weight, weight,
source_market_value, market_value`` ranks descending with one row per issuer (GOOG/GOOGL, BRK
classes, FOX/FOXA, NWS/NWSA); otherwise all active rows are used if there are at most N, else
:class:`~us_equity_strategies.errors.UniverseError`. The builder takes whatever ranks or
weights the table carries; it does not estimate market caps.

**Rows**: the selected names, plus the benchmark and broad benchmark (sector ``benchmark``)
and the safe haven (sector ``cash``) when they are not selected; sorted by symbol. A selected
name without prices keeps its slot with NaN features, ``history_days`` 0 and ``eligible``
False. The benchmark and broad benchmark must have a price row ``<= as_of``
(:class:`~us_equity_strategies.errors.PriceHistoryError` otherwise, spec fix 5).

**Columns** (:data:`COLUMNS`, the reference's 17, in its order): ``as_of`` (requested date,
``YYYY-MM-DD``), ``symbol``, ``sector``, ``close``/``volume``/``history_days`` at the symbol's
last row ``<= as_of``, ``adv20_usd`` (strict M variant: NaN if any of the last 20
``close * volume`` is NaN, so a missing volume is never guessed and makes the name
ineligible), ``mom_3m, mom_6m, mom_12_1, sma200_gap, high_252_gap, vol_63, maxdd_126``
(features.md §3; ``maxdd_126`` window version), ``eligible``, and
``rel_mom_6m_vs_benchmark`` / ``rel_mom_6m_vs_broad_benchmark`` = ``mom_6m`` minus the
benchmark's ``mom_6m``, for every row (the benchmark's own value is 0).

``eligible`` = not a benchmark or the safe haven ∧ ``history_days >= min_history_days`` ∧
``close > min_close`` ∧ ``adv20_usd >= min_adv20_usd`` ∧ the seven features non-NaN.

Backtests compute :func:`panel` once and call :func:`build_from_panel` per date; features at a
row depend only on that row and earlier rows of the same symbol, so this equals :func:`build`
on prices truncated to each date.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import features
from .. import universe as universe_mod
from ..errors import PriceHistoryError

if TYPE_CHECKING:
    from ..entrypoints.mega_cap_leader_rotation import Parameters

__all__ = ["BENCHMARK_SECTOR", "CASH_SECTOR", "COLUMNS", "FEATURES", "build",
           "build_from_panel", "panel", "select_universe"]

COLUMNS = ("as_of", "symbol", "sector", "close", "volume", "adv20_usd", "history_days",
           "mom_3m", "mom_6m", "mom_12_1", "sma200_gap", "high_252_gap", "vol_63", "maxdd_126",
           "eligible", "rel_mom_6m_vs_benchmark", "rel_mom_6m_vs_broad_benchmark")
#: Non-NaN for eligibility (``mom_12_1`` only matters here, never in the score).
ELIGIBILITY_FEATURES = ("mom_3m", "mom_6m", "mom_12_1", "sma200_gap", "high_252_gap", "vol_63",
                        "maxdd_126")
FEATURES = ("adv20_usd", *ELIGIBILITY_FEATURES)
BENCHMARK_SECTOR = "benchmark"
CASH_SECTOR = "cash"


def panel(prices: pd.DataFrame, symbols: list[str] | None = None) -> pd.DataFrame:
    """The mega-cap feature panel (strict adv, window maxdd) of ``prices``.

    Parameters
    ----------
    prices : pandas.DataFrame
        Normalised long price table (``date, symbol, close[, volume]``).
    symbols : list of str, optional
        Restrict the computation to these symbols (others are dropped first).
    """
    if symbols is not None:
        prices = prices[prices["symbol"].isin(symbols)]
    return features.feature_panel(prices, FEATURES, adv_variant="strict",
                                  maxdd_variant="window")


def select_universe(universe_table: pd.DataFrame, as_of: dt.date,
                    params: Parameters) -> pd.DataFrame:
    """The ``symbol, sector`` rows of the top-N universe at ``as_of``, in selection order."""
    table = universe_mod.normalize_universe(universe_table, "<universe>")
    chosen = universe_mod.select_top_n(table, params.dynamic_universe_size, as_of=as_of,
                                       lag_sessions=params.universe_lag_sessions)
    return chosen[["symbol", "sector"]].reset_index(drop=True)


def _rows(selected: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    extra = [(params.benchmark_symbol, BENCHMARK_SECTOR),
             (params.broad_benchmark_symbol, BENCHMARK_SECTOR), (params.safe_haven, CASH_SECTOR)]
    have = set(selected["symbol"])
    add = pd.DataFrame([r for r in extra if r[0] not in have], columns=["symbol", "sector"])
    rows = pd.concat([selected, add], ignore_index=True) if len(add) else selected
    return rows.sort_values("symbol", kind="mergesort").reset_index(drop=True)


def build_from_panel(feature_panel: pd.DataFrame, as_of: dt.date, params: Parameters,
                     universe_table: pd.DataFrame) -> pd.DataFrame:
    """The snapshot table at ``as_of`` from a precomputed :func:`panel`.

    Parameters
    ----------
    feature_panel : pandas.DataFrame
        Output of :func:`panel` on any price history that contains every row ``<= as_of`` of
        the universe names and the three fixed symbols (later rows are ignored).
    as_of : datetime.date
        Snapshot date.
    params : Parameters
        Resolved profile parameters (the builder uses ``dynamic_universe_size``,
        ``universe_lag_sessions``, ``benchmark_symbol``, ``broad_benchmark_symbol``,
        ``safe_haven``, ``min_history_days``, ``min_close`` and ``min_adv20_usd``).
    universe_table : pandas.DataFrame
        Universe table (``symbol, sector[, start_date, end_date][, mega_rank | weights]``;
        see :mod:`us_equity_strategies.universe`).

    Returns
    -------
    pandas.DataFrame
        The snapshot table (columns :data:`COLUMNS`, sorted by symbol).

    Raises
    ------
    UniverseError
        No universe row is active, or more than N rows and nothing to rank by.
    PriceHistoryError
        The benchmark or broad benchmark has no price row on or before ``as_of``.
    """
    rows = _rows(select_universe(universe_table, as_of, params), params)
    at = features.features_at(feature_panel, as_of, symbols=rows["symbol"].tolist())
    symbols = at["symbol"].to_numpy(dtype=object)
    hist = at["history_days"].to_numpy(dtype=np.int64)
    for sym in (params.benchmark_symbol, params.broad_benchmark_symbol):
        if hist[symbols == sym][0] == 0:
            raise PriceHistoryError(f"prices: benchmark {sym} has no rows on or before "
                                    f"{as_of.isoformat()}")
    values = {c: at[c].to_numpy(dtype=np.float64) for c in ("close", *FEATURES)}
    fixed = np.isin(symbols, [params.benchmark_symbol, params.broad_benchmark_symbol,
                              params.safe_haven])
    with np.errstate(invalid="ignore"):
        eligible = (~fixed & (hist >= params.min_history_days)
                    & (values["close"] > params.min_close)
                    & (values["adv20_usd"] >= params.min_adv20_usd)
                    & np.isfinite(np.column_stack([values[c] for c in ELIGIBILITY_FEATURES]))
                    .all(axis=1))
    table = pd.DataFrame({
        "as_of": as_of.isoformat(),
        "symbol": symbols,
        "sector": rows["sector"].to_numpy(dtype=object),  # both sorted by symbol
        "close": values["close"],
        "volume": at["volume"].to_numpy(dtype=np.float64),
        "adv20_usd": values["adv20_usd"],
        "history_days": hist,
        **{c: values[c] for c in ELIGIBILITY_FEATURES},
        "eligible": eligible,
    })
    table["rel_mom_6m_vs_benchmark"] = features.relative_to(
        table, "mom_6m", params.benchmark_symbol).to_numpy()
    table["rel_mom_6m_vs_broad_benchmark"] = features.relative_to(
        table, "mom_6m", params.broad_benchmark_symbol).to_numpy()
    return table[list(COLUMNS)]


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters, *,
          universe: pd.DataFrame) -> pd.DataFrame:
    """Build the snapshot table from prices ``<= as_of`` and a universe table.

    Only the selected names and the three fixed symbols are computed. See
    :func:`build_from_panel` for the parameters, result and errors.
    """
    rows = _rows(select_universe(universe, as_of, params), params)
    return build_from_panel(panel(prices, rows["symbol"].tolist()), as_of, params, universe)


def precompute(prices: pd.DataFrame, params: Parameters, *,
               universe: pd.DataFrame) -> pd.DataFrame:
    """Backtest fast path: the feature panel of the whole history, computed once.

    Every feature at a row uses only that symbol's earlier rows, so slicing the panel at
    ``as_of`` (:func:`build_from`) equals :func:`build` on prices truncated to ``as_of``.
    """
    return panel(prices)


def build_from(pre: pd.DataFrame, as_of: dt.date, params: Parameters, *,
               universe: pd.DataFrame) -> pd.DataFrame:
    """The snapshot table at ``as_of`` from :func:`precompute` output."""
    return build_from_panel(pre, as_of, params, universe)
