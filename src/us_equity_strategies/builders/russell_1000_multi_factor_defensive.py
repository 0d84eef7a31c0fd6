"""Snapshot builder of ``russell_1000_multi_factor_defensive`` (spec/features.md §4.1).

Rows: the universe rows active on ``as_of`` (:func:`universe.active_at`, inclusive dates, the
last active row of a symbol wins with its sector) plus the benchmark (``benchmark_symbol``,
SPY) with sector ``benchmark`` when it is not a member. The safe haven (BOXX) is **not**
added. Rows are sorted by symbol; columns :data:`COLUMNS`, in the reference pipeline's order:

``as_of``
    The requested date as ``YYYY-MM-DD`` (not the last price date).
``sector``
    The universe label as given (blank -> ``unknown``).
``close``, ``volume``, ``history_days``
    Values at the symbol's last price row ``<= as_of`` (no staleness check, §1.3);
    ``history_days`` counts the symbol's rows ``<= as_of``.
``adv20_usd``
    R variant: NaN-skipping mean of ``close * volume`` over the last 20 rows, NaN below 20
    rows or when all 20 products are NaN. A missing volume is never guessed: without volume
    the value is NaN and the name is not eligible.
``mom_6_1``, ``mom_12_1``, ``sma200_gap``, ``vol_63``, ``maxdd_126``
    features.md §3, ``maxdd_126`` in the window version (peak restricted to the last 126
    closes). Computed by :func:`features.feature_panel`.
``eligible``
    not the benchmark ∧ ``history_days >= min_history_days`` ∧ ``close > min_close`` (strict)
    ∧ ``adv20_usd >= min_adv20_usd`` ∧ all five factors non-NaN (NaN comparisons are False).

A universe symbol without any price row ``<= as_of`` still gets a row: NaN features,
``history_days`` 0 and ``eligible`` False. The benchmark must have at least one price row
``<= as_of`` (otherwise the snapshot could only say "trend unknown": PriceHistoryError).

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
from ..errors import PriceHistoryError, UniverseError

if TYPE_CHECKING:
    from ..entrypoints.russell_1000_multi_factor_defensive import Parameters

__all__ = ["BENCHMARK_SECTOR", "COLUMNS", "FACTORS", "FEATURES", "build", "build_from_panel",
           "panel"]

COLUMNS = ("as_of", "symbol", "sector", "close", "volume", "adv20_usd", "history_days",
           "mom_6_1", "mom_12_1", "sma200_gap", "vol_63", "maxdd_126", "eligible")
FACTORS = ("mom_6_1", "mom_12_1", "sma200_gap", "vol_63", "maxdd_126")
FEATURES = ("adv20_usd", *FACTORS)
BENCHMARK_SECTOR = "benchmark"


def panel(prices: pd.DataFrame, symbols: list[str] | None = None) -> pd.DataFrame:
    """The Russell feature panel (R adv variant, window maxdd) of ``prices``.

    Parameters
    ----------
    prices : pandas.DataFrame
        Normalised long price table (``date, symbol, close[, volume]``).
    symbols : list of str, optional
        Restrict the computation to these symbols (others are dropped first).
    """
    if symbols is not None:
        prices = prices[prices["symbol"].isin(symbols)]
    return features.feature_panel(prices, FEATURES, adv_variant="skipna",
                                  maxdd_variant="window")


def _members(table: pd.DataFrame, as_of: dt.date, benchmark: str) -> pd.DataFrame:
    active = universe_mod.active_at(universe_mod.normalize_universe(table, "<universe>"), as_of)
    if active.empty:
        raise UniverseError(f"universe: no rows active on {as_of.isoformat()} "
                            f"(start_date <= as_of <= end_date)")
    members = active[["symbol", "sector"]]
    if benchmark not in set(members["symbol"]):
        members = pd.concat([members, pd.DataFrame({"symbol": [benchmark],
                                                    "sector": [BENCHMARK_SECTOR]})])
    return members.sort_values("symbol", kind="mergesort").reset_index(drop=True)


def build_from_panel(feature_panel: pd.DataFrame, as_of: dt.date, params: Parameters,
                     universe_table: pd.DataFrame) -> pd.DataFrame:
    """The snapshot table at ``as_of`` from a precomputed :func:`panel`.

    Parameters
    ----------
    feature_panel : pandas.DataFrame
        Output of :func:`panel` on any price history that contains every row ``<= as_of``
        of the members and the benchmark (later rows are ignored).
    as_of : datetime.date
        Snapshot date.
    params : Parameters
        Resolved profile parameters (``benchmark_symbol``, ``min_history_days``,
        ``min_close``, ``min_adv20_usd``).
    universe_table : pandas.DataFrame
        Universe table (``symbol, sector[, start_date, end_date]``; see
        :mod:`us_equity_strategies.universe`).

    Returns
    -------
    pandas.DataFrame
        The snapshot table (columns :data:`COLUMNS`, sorted by symbol).

    Raises
    ------
    UniverseError
        No universe row is active on ``as_of``.
    PriceHistoryError
        The benchmark has no price row on or before ``as_of``.
    """
    members = _members(universe_table, as_of, params.benchmark_symbol)
    at = features.features_at(feature_panel, as_of, symbols=members["symbol"].tolist())
    bench = (at["symbol"] == params.benchmark_symbol).to_numpy()
    if at.loc[bench, "history_days"].iloc[0] == 0:
        raise PriceHistoryError(f"prices: benchmark {params.benchmark_symbol} has no rows on "
                                f"or before {as_of.isoformat()}")
    values = {c: at[c].to_numpy(dtype=np.float64) for c in ("close", *FEATURES)}
    hist = at["history_days"].to_numpy(dtype=np.int64)
    with np.errstate(invalid="ignore"):
        eligible = (~bench & (hist >= params.min_history_days)
                    & (values["close"] > params.min_close)
                    & (values["adv20_usd"] >= params.min_adv20_usd)
                    & np.isfinite(np.column_stack([values[c] for c in FACTORS])).all(axis=1))
    table = pd.DataFrame({
        "as_of": as_of.isoformat(),
        "symbol": at["symbol"].to_numpy(dtype=object),
        "sector": members.set_index("symbol")["sector"].reindex(at["symbol"]).to_numpy(
            dtype=object),
        "close": values["close"],
        "volume": at["volume"].to_numpy(dtype=np.float64),
        "adv20_usd": values["adv20_usd"],
        "history_days": hist,
        **{c: values[c] for c in FACTORS},
        "eligible": eligible,
    })
    return table[list(COLUMNS)]


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters, *,
          universe: pd.DataFrame) -> pd.DataFrame:
    """Build the snapshot table from prices ``<= as_of`` and a universe table.

    See :func:`build_from_panel` for the parameters, result and errors; ``prices`` is the
    normalised long table (:func:`us_equity_strategies.prices.normalize_prices`).
    """
    members = _members(universe, as_of, params.benchmark_symbol)
    cut = prices[prices["date"] <= np.datetime64(as_of)]
    return build_from_panel(panel(cut, members["symbol"].tolist()), as_of, params, universe)


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
