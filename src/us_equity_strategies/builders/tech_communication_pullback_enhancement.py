"""Snapshot builder of ``tech_communication_pullback_enhancement`` (spec/features.md §4.2).

Rows: the universe rows active on ``as_of`` (inclusive dates) whose sector is in
``sector_whitelist`` ("Communication" and "Communication Services" count as one label, as in
the profile), de-duplicated keeping the last row; then the benchmark (``benchmark_symbol``,
QQQ) and SPY with sector ``benchmark`` and the safe haven (``safe_haven``, BOXX) with sector
``defense``, each only when it is not already a member. Rows are sorted by symbol; columns
:data:`COLUMNS`, in the reference pipeline's order:

``as_of``
    The requested date as ``YYYY-MM-DD`` (not the last price date).
``sector``
    The universe label as given (blank -> ``unknown``).
``close``, ``volume``, ``history_days``
    Values at the symbol's last price row ``<= as_of`` (no staleness check, §1.3).
``adv20_usd``
    T variant: strict mean of ``close * volume`` over the last 20 rows, NaN if any of the 20
    products is NaN. A missing volume is never guessed: the value is NaN and the name is not
    eligible. Research runs on data whose volume stops early may pass
    ``carry_forward_adv=True`` to :func:`panel`, which carries each symbol's last known
    value forward (documented in docs/profiles/tech_communication_pullback_enhancement.md).
``mom_6_1`` ... ``rebound_20``
    The 12 features of features.md §3 with ``maxdd_126`` in the **rolling** version
    (``min(D[L-125..L])``, ``D[i] = C[i] / max(C[i-125..i]) - 1``; 251 rows), computed by
    :func:`us_equity_strategies.features.feature_panel`.
``base_eligible``
    not the benchmark / SPY / safe haven ∧ ``history_days >= min_history_days`` ∧
    ``close > min_close`` (strict) ∧ ``adv20_usd >= min_adv20_usd`` ∧ all 12 features
    non-NaN (NaN comparisons are False).

The reference hard-codes QQQ/SPY/BOXX; we take the benchmark and the safe haven from the
parameters (SPY stays the broad benchmark row). A universe symbol without any price row
``<= as_of`` still gets a row (NaN features, ``history_days`` 0, not eligible). Errors: no
whitelisted member active on ``as_of`` or an unknown sector label among the active members
(:class:`~us_equity_strategies.errors.UniverseError`); no benchmark price row ``<= as_of``
(:class:`~us_equity_strategies.errors.PriceHistoryError`).

Backtests compute :func:`panel` once and call :func:`build_from_panel` (or
:func:`snapshot_from_panel`) per date; features at a row depend only on that row and earlier
rows of the same symbol, so this equals :func:`build` on prices truncated to each date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import features
from .. import universe as universe_mod
from ..entrypoints.tech_communication_pullback_enhancement import (
    FACTORS,
    KNOWN_SECTORS,
    sector_key,
)
from ..errors import PriceHistoryError, UniverseError

if TYPE_CHECKING:
    from ..entrypoints.tech_communication_pullback_enhancement import Parameters
    from ..snapshot import Snapshot

__all__ = ["BENCHMARK_SECTOR", "BROAD_BENCHMARK", "COLUMNS", "FEATURES", "SAFE_HAVEN_SECTOR",
           "build", "build_from_panel", "panel", "snapshot_from_panel"]

COLUMNS = ("as_of", "symbol", "sector", "close", "volume", "adv20_usd", "history_days",
           *FACTORS, "base_eligible")
FEATURES = ("adv20_usd", *FACTORS)
BROAD_BENCHMARK = "SPY"
BENCHMARK_SECTOR = "benchmark"
SAFE_HAVEN_SECTOR = "defense"
_ROW_LABELS = {universe_mod.UNKNOWN_SECTOR, BENCHMARK_SECTOR, SAFE_HAVEN_SECTOR, "cash"}


def panel(prices: pd.DataFrame, symbols: list[str] | None = None, *,
          carry_forward_adv: bool = False) -> pd.DataFrame:
    """The tech feature panel (strict adv, rolling maxdd) of ``prices``.

    Parameters
    ----------
    prices : pandas.DataFrame
        Normalised long price table (``date, symbol, close[, volume]``).
    symbols : list of str, optional
        Restrict the computation to these symbols (others are dropped first).
    carry_forward_adv : bool, default False
        Replace a NaN ``adv20_usd`` by the symbol's last non-NaN value on an earlier row
        (research option for histories whose volume stops; the reference never does this).
    """
    if symbols is not None:
        prices = prices[prices["symbol"].isin(symbols)]
    out = features.feature_panel(prices, FEATURES, adv_variant="strict",
                                 maxdd_variant="rolling")
    if carry_forward_adv:
        out["adv20_usd"] = out.groupby("symbol", sort=False)["adv20_usd"].ffill()
    return out


def _members(table: pd.DataFrame, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    uni = universe_mod.normalize_universe(table, "<universe>")
    keys = uni["sector"].map(sector_key)
    allowed = {sector_key(s) for s in params.sector_whitelist}
    # Whitelist row by row, then the active rows, the last per symbol (features.md §4.2).
    active = universe_mod.active_at(uni[keys.isin(allowed)] if allowed else uni, as_of)
    everyone = universe_mod.active_at(uni, as_of)
    odd = sorted(set(everyone["sector"]) - set(KNOWN_SECTORS) - _ROW_LABELS)
    if odd:
        raise UniverseError(f"universe: unknown sector labels {odd} among the members active "
                            f"on {as_of.isoformat()}; expected GICS labels "
                            f"({', '.join(KNOWN_SECTORS)}) or 'unknown'")
    if active.empty:
        raise UniverseError(f"universe: no member active on {as_of.isoformat()} in the sectors "
                            f"{list(params.sector_whitelist) or 'any'} (empty universe)")
    members = active[["symbol", "sector"]]
    extra = [(params.benchmark_symbol, BENCHMARK_SECTOR), (BROAD_BENCHMARK, BENCHMARK_SECTOR),
             (params.safe_haven, SAFE_HAVEN_SECTOR)]
    present = set(members["symbol"])
    add = [(s, sec) for s, sec in dict(extra).items() if s not in present]
    if add:
        members = pd.concat([members, pd.DataFrame(add, columns=["symbol", "sector"])])
    return members.sort_values("symbol", kind="mergesort").reset_index(drop=True)


def build_from_panel(feature_panel: pd.DataFrame, as_of: dt.date, params: Parameters,
                     universe_table: pd.DataFrame) -> pd.DataFrame:
    """The snapshot table at ``as_of`` from a precomputed :func:`panel`.

    Parameters
    ----------
    feature_panel : pandas.DataFrame
        Output of :func:`panel` on any price history that contains every row ``<= as_of``
        of the members and the extra rows (later rows are ignored).
    as_of : datetime.date
        Snapshot date.
    params : Parameters
        Resolved profile parameters (``benchmark_symbol``, ``safe_haven``,
        ``sector_whitelist``, ``min_history_days``, ``min_close``, ``min_adv20_usd``).
    universe_table : pandas.DataFrame
        Universe table (``symbol, sector[, start_date, end_date]``; see
        :mod:`us_equity_strategies.universe`).

    Returns
    -------
    pandas.DataFrame
        The snapshot table (columns :data:`COLUMNS`, sorted by symbol).
    """
    members = _members(universe_table, as_of, params)
    at = features.features_at(feature_panel, as_of, symbols=members["symbol"].tolist())
    symbols = at["symbol"].to_numpy(dtype=object)
    hist = at["history_days"].to_numpy(dtype=np.int64)
    bench = symbols == params.benchmark_symbol
    if hist[bench][0] == 0:
        raise PriceHistoryError(f"prices: benchmark {params.benchmark_symbol} has no rows on "
                                f"or before {as_of.isoformat()}")
    values = {c: at[c].to_numpy(dtype=np.float64) for c in ("close", "volume", *FEATURES)}
    special = np.isin(symbols, [params.benchmark_symbol, BROAD_BENCHMARK, params.safe_haven])
    with np.errstate(invalid="ignore"):
        eligible = (~special & (hist >= params.min_history_days)
                    & (values["close"] > params.min_close)
                    & (values["adv20_usd"] >= params.min_adv20_usd)
                    & np.isfinite(np.column_stack([values[c] for c in FACTORS])).all(axis=1))
    table = pd.DataFrame({
        "as_of": as_of.isoformat(),
        "symbol": symbols,
        "sector": members.set_index("symbol")["sector"].reindex(at["symbol"]).to_numpy(
            dtype=object),
        **{c: values[c] for c in ("close", "volume", "adv20_usd")},
        "history_days": hist,
        **{c: values[c] for c in FACTORS},
        "base_eligible": eligible,
    })
    return table[list(COLUMNS)]


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters, *,
          universe: pd.DataFrame) -> pd.DataFrame:
    """Build the snapshot table from prices ``<= as_of`` and a universe table.

    See :func:`build_from_panel` for the parameters, result and errors; ``prices`` is the
    normalised long table (:func:`us_equity_strategies.prices.normalize_prices`).
    """
    members = _members(universe, as_of, params)
    cut = prices[prices["date"] <= np.datetime64(as_of)]
    return build_from_panel(panel(cut, members["symbol"].tolist()), as_of, params, universe)


def snapshot_from_panel(feature_panel: pd.DataFrame, as_of: dt.date,
                        universe_table: pd.DataFrame,
                        overrides: Mapping[str, Any] | None = None) -> Snapshot:
    """A validated :class:`~us_equity_strategies.snapshot.Snapshot` from a precomputed panel.

    Same result as :func:`us_equity_strategies.builders.build_snapshot` on prices truncated
    to ``as_of`` (parameters resolved from the manifest plus ``overrides``; the builder
    parameters are recorded), without recomputing the features for every date.
    """
    from .. import registry
    from ..params import resolve_parameters
    from ..snapshot import Snapshot, validate_snapshot

    loaded = registry.load("tech_communication_pullback_enhancement")
    manifest = loaded.manifest
    params = resolve_parameters(loaded.parameters_model, manifest.parameters, overrides,
                                manifest.profile)
    used = params.model_dump(mode="json")
    snapshot = Snapshot.from_frame(
        build_from_panel(feature_panel, as_of, params, universe_table),
        profile=manifest.profile, as_of=as_of,
        contract_version=manifest.snapshot.contract_version,
        builder_parameters={k: used[k] for k in manifest.snapshot.builder_parameters},
    )
    validate_snapshot(snapshot, manifest, parameters=used, required_rows=loaded.required_rows,
                      params_model=params)
    return snapshot


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
