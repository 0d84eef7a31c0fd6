"""tech_communication_pullback_enhancement (alias ``qqq_tech_enhancement``).

Monthly stock selection among Information Technology and Communication names: buy strong
names on a controlled pullback, measured against QQQ, with a BOXX cash buffer. Rules of
spec/profiles.md §2.3 on the snapshot of spec/features.md §4.2 (built by
:mod:`us_equity_strategies.builders.tech_communication_pullback_enhancement`).

Rules
-----
0. **Execution window** (profiles.md "Shared helper semantics"): the snapshot executes only on
   the first ``runtime_execution_window_trading_days`` NYSE sessions strictly after its
   ``as_of``; run date = ``context.as_of`` (the reference reads it from runtime_config, ours
   always applies). Outside: a hold with the reference reason string
   ``outside_monthly_execution_window snapshot=D allowed=d1,d2,d3`` (or
   ``no_execution_window_after_snapshot:D`` when N <= 0).
1. ``benchmark_trend_positive`` = benchmark row's ``sma200_gap > 0`` (NaN -> False). The
   benchmark row (``benchmark_symbol``, default QQQ) is required (:func:`required_rows`, spec
   fix 5: a missing row is a :class:`~us_equity_strategies.errors.SnapshotError`). The
   reference hard-codes "QQQ" for this check whatever ``benchmark_symbol`` says; we use
   ``benchmark_symbol`` for both.
2. Candidates: symbol not the benchmark nor the safe haven, ``base_eligible`` True (NaN ->
   False), ``adv20_usd >= min_adv20_usd`` and, if ``sector_whitelist`` is non-empty, sector in
   it. "Communication" (iShares) and "Communication Services" (GICS) are the same label here,
   both in the whitelist and for sector grouping. NaN factors are **not** excluded (z = 0).
3. ``breadth`` = share of candidates with ``sma200_gap > 0`` (0 without candidates); regime:
   ``hard_defense`` if trend down and breadth < hard; else ``soft_defense`` if trend down or
   breadth < soft; else ``risk_on``. Exposure: risk_on / soft / hard exposure parameters.
4. Small accounts (equity = ``context.total_equity``): with equity, ``min_position_value_usd
   > 0`` and exposure > 0: ``target_stock_value = max(0, equity * exposure)``; if > 0,
   ``count = max(1, min(holdings_count, max(1, floor(target_stock_value /
   min_position_value_usd))))``; when ``count < holdings_count`` the caps rise to
   ``single = max(single_name_cap, min(max_dynamic_single_name_cap, exposure / count))`` and
   ``sector = max(sector_cap, max_dynamic_sector_cap)``.
5. No candidate or exposure <= 0 -> ``{safe_haven: 1.0}``.
6. Family features (q = benchmark row): ``excess_mom_k = mom_k - q.mom_k``,
   ``drawdown_abs = |maxdd_126|``, ``trend_strength = 0.45 sma200_gap + 0.35 breakout_252 +
   0.20 ma50_over_ma200``, ``controlled_pullback_score = -0.55 |dist_63_high + 0.08| - 0.25
   |dist_126_high + 0.12| - 0.10 max(0, -sma50_gap) - 0.10 max(0, -sma200_gap)``,
   ``recovery_confirmation = 0.40 sma20_gap + 0.35 sma50_gap + 0.25 rebound_20``,
   ``rel_strength_vs_group = excess_mom_12_1 - median(excess_mom_12_1)`` of the sector if the
   candidates span more than one sector, else of all candidates (whatever ``normalization``).
7. z-scores (ddof 0, zero dispersion -> 0, NaN -> 0) over all candidates
   (``universe_cross_sectional`` / ``universe``) or per sector (``sector``, when more than one
   sector is present). ``score = 0.25 z(excess_mom_12_1) + 0.20 z(excess_mom_6_1) + 0.15
   z(trend_strength) + 0.15 z(controlled_pullback_score) + 0.10 z(recovery_confirmation) +
   0.10 z(rel_strength_vs_group) - 0.03 z(vol_63) - 0.02 z(drawdown_abs)``, plus
   ``hold_bonus`` for ``context.holdings``.
8. Rank by score, excess_mom_12_1, trend_strength (descending, NaN last), then symbol.
9. ``slot cap = max(1, floor(effective_sector_cap / (exposure / count)))``; greedy walk down
   the ranking skipping full sectors, up to ``count`` names.
10. ``per_name = min(effective_single_cap, exposure / n)``; BOXX gets ``1 - n per_name`` when
    that exceeds 1e-12.

Positions of an actionable decision: the selected names (role ``risk``), the safe haven
(role ``safe_haven``, always listed, 0.0 when nothing is parked) and an explicit 0.0 for every
held managed symbol that is not selected. Managed symbols (reference
``extract_managed_symbols``): every snapshot symbol except the benchmark, plus the safe haven.

Diagnostics (machine codes; :mod:`us_equity_strategies.render` phrases them)
---------------------------------------------------------------------------
``signal``
    ``rebalance`` (names selected), ``safe_haven_only`` (no candidate or exposure <= 0),
    ``no_selection`` (candidates but nothing selected; unreachable with slot cap >= 1, kept for
    parity with the reference), ``waiting_execution_window`` (hold outside the window).
``regime``
    ``risk_on``, ``soft_defense`` or ``hard_defense`` (None on a hold). Risk flags
    ``hard_defense`` / ``soft_defense`` mirror it (reference ``is_emergency`` = hard).
``benchmark_symbol``, ``benchmark_price`` (benchmark close), ``safe_haven_symbol``,
``snapshot_as_of``.

``extras`` keys: ``execution_window`` (ISO dates), ``execution_calendar_source``
(``nyse_calendar``), ``managed_symbols``; on a hold also ``no_op_reason``. After the window
check: ``benchmark_trend_positive``, ``breadth_ratio``, ``candidate_count``,
``target_stock_weight`` (exposure; 0.0 on the safe-haven-only path), ``realized_stock_weight``
(n per_name), ``safe_haven_weight``, ``selected_symbols`` (selection order),
``selected_count``, ``sector_slot_cap`` (not on the safe-haven-only path),
``requested_holdings_count``, ``effective_holdings_count``, ``target_stock_value`` (null
without equity), ``min_position_value_usd``, ``effective_single_name_cap``,
``effective_sector_cap``, ``normalization``, ``score_template``, ``residual_proxy`` (label),
``top`` (up to 5 selected ``{"symbol", "score"}``, the reference's ``top=S1(1.23), ...``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..contract import Diagnostics, PositionTarget, ProfileInputs, RiskFlag, Role, StrategyDecision
from ..contract._base import SYMBOL_PATTERN
from ..errors import closest
from ..execution import check_execution_window
from ..params import ProfileParameters
from ..selection import (
    HARD_DEFENSE,
    SOFT_DEFENSE,
    breadth_ratio,
    classify_regime,
    grouped_median,
    rank_order,
    sector_slot_cap,
    select_sector_capped,
    zscore_columns,
)

__all__ = ["COMMUNICATION_LABELS", "FACTORS", "KNOWN_SECTORS", "SCORE_WEIGHTS", "Parameters",
           "effective_limits", "evaluate", "required_rows", "sector_key"]

#: iShares writes "Communication", GICS "Communication Services": one sector here.
COMMUNICATION_LABELS = ("Communication", "Communication Services")
#: Labels a ``sector_whitelist`` may use: the 11 GICS sectors plus the iShares variant.
KNOWN_SECTORS = ("Communication", "Communication Services", "Consumer Discretionary",
                 "Consumer Staples", "Energy", "Financials", "Health Care", "Industrials",
                 "Information Technology", "Materials", "Real Estate", "Utilities")
UNKNOWN_SECTOR = "unknown"
#: balanced_pullback: z-score column -> weight (profiles.md §2.3 step 7).
SCORE_WEIGHTS = {"excess_mom_12_1": 0.25, "excess_mom_6_1": 0.20, "trend_strength": 0.15,
                 "controlled_pullback_score": 0.15, "recovery_confirmation": 0.10,
                 "rel_strength_vs_group": 0.10, "vol_63": -0.03, "drawdown_abs": -0.02}
_PARKED_EPS = 1e-12
_TOP = 5


def sector_key(label: Any) -> str:
    """Sector used for filtering and grouping: blank -> "unknown", Communication merged."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return UNKNOWN_SECTOR
    text = str(label).strip()
    if not text:
        return UNKNOWN_SECTOR
    return COMMUNICATION_LABELS[0] if text in COMMUNICATION_LABELS else text


class Parameters(ProfileParameters):
    """Parameters of ``tech_communication_pullback_enhancement``; defaults in the manifest."""

    benchmark_symbol: str = Field(pattern=SYMBOL_PATTERN, description="trend and excess base")
    safe_haven: str = Field(pattern=SYMBOL_PATTERN, description="parking symbol (BOXX)")
    holdings_count: int = Field(ge=1, description="names held")
    single_name_cap: float = Field(gt=0, le=1, description="max weight per name")
    sector_cap: float = Field(gt=0, le=1, description="sector budget for the slot cap")
    min_position_value_usd: float = Field(ge=0, description="small-account count reduction")
    max_dynamic_single_name_cap: float = Field(gt=0, le=1)
    max_dynamic_sector_cap: float = Field(gt=0, le=1)
    hold_bonus: float = Field(description="score bonus of current holdings")
    risk_on_exposure: float = Field(ge=0, le=1)
    soft_defense_exposure: float = Field(ge=0, le=1)
    hard_defense_exposure: float = Field(ge=0, le=1)
    soft_breadth_threshold: float = Field(ge=0, le=1)
    hard_breadth_threshold: float = Field(ge=0, le=1)
    min_adv20_usd: float = Field(ge=0, description="liquidity floor (adv20_usd >= floor)")
    sector_whitelist: tuple[str, ...] = Field(description="allowed sectors; empty = all")
    normalization: Literal["universe_cross_sectional", "universe", "sector"]
    score_template: Literal["balanced_pullback"]
    runtime_execution_window_trading_days: int = Field(
        description="sessions after the snapshot that may execute it (<= 0: none)")
    residual_proxy: str = Field(description="label only, echoed in diagnostics")
    min_history_days: int = Field(ge=0, description="builder: base_eligible history floor")
    min_close: float = Field(ge=0, description="builder: base_eligible close > min_close")

    @field_validator("sector_whitelist")
    @classmethod
    def _whitelist(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(s.strip() for s in v)
        for label in cleaned:
            if label not in KNOWN_SECTORS:
                near = closest(label, KNOWN_SECTORS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ValueError(f"unknown sector label {label!r}{hint}; known labels: "
                                 f"{', '.join(KNOWN_SECTORS)}")
        return cleaned

    @model_validator(mode="after")
    def _distinct(self) -> Parameters:
        if self.benchmark_symbol == self.safe_haven:
            raise ValueError("benchmark_symbol and safe_haven must differ")
        return self


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """The benchmark row must exist (spec fix 5); its values may be NaN (rules 1 and 6)."""
    return {params.benchmark_symbol: ()}


def effective_limits(equity: float | None, exposure: float, params: Parameters
                     ) -> tuple[int, float, float, float | None]:
    """``(count, single_cap, sector_cap, target_stock_value)`` of rule 4."""
    keep = (params.holdings_count, params.single_name_cap, params.sector_cap)
    if equity is None or params.min_position_value_usd <= 0 or exposure <= 0:
        return (*keep, None)
    target = max(0.0, equity * exposure)
    if target <= 0:
        return (*keep, target)
    by_value = max(1, math.floor(target / params.min_position_value_usd))
    count = max(1, min(params.holdings_count, by_value))
    if count >= params.holdings_count:
        return (*keep, target)
    single = max(params.single_name_cap, min(params.max_dynamic_single_name_cap,
                                             exposure / count))
    return count, single, max(params.sector_cap, params.max_dynamic_sector_cap), target


#: Snapshot factor columns read by the score (features.md §4.2), in this order.
FACTORS = ("mom_6_1", "mom_12_1", "sma20_gap", "sma50_gap", "sma200_gap", "ma50_over_ma200",
           "vol_63", "maxdd_126", "breakout_252", "dist_63_high", "dist_126_high", "rebound_20")


def _family(x: dict[str, np.ndarray], q: dict[str, float]) -> dict[str, np.ndarray]:
    """The family features of rule 6 except ``rel_strength_vs_group`` (NaN propagates)."""
    with np.errstate(invalid="ignore"):
        return {
            "excess_mom_12_1": x["mom_12_1"] - q["mom_12_1"],
            "excess_mom_6_1": x["mom_6_1"] - q["mom_6_1"],
            "trend_strength": 0.45 * x["sma200_gap"] + 0.35 * x["breakout_252"]
            + 0.20 * x["ma50_over_ma200"],
            "controlled_pullback_score": -0.55 * np.abs(x["dist_63_high"] + 0.08)
            - 0.25 * np.abs(x["dist_126_high"] + 0.12)
            - 0.10 * np.maximum(-x["sma50_gap"], 0.0) - 0.10 * np.maximum(-x["sma200_gap"], 0.0),
            "recovery_confirmation": 0.40 * x["sma20_gap"] + 0.35 * x["sma50_gap"]
            + 0.25 * x["rebound_20"],
            "vol_63": x["vol_63"],
            "drawdown_abs": np.abs(x["maxdd_126"]),
        }


def _scores(data: np.ndarray, idx: np.ndarray, bench: int, sectors: list[str],
            params: Parameters, bonus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score, excess_mom_12_1 and trend_strength of the candidate rows ``idx`` (rules 6-7).

    ``data`` holds the :data:`FACTORS` columns (first) of every snapshot row.
    """
    col = {name: j for j, name in enumerate(FACTORS)}
    x = {name: data[idx, j] for name, j in col.items()}
    q = {name: float(data[bench, col[name]]) for name in ("mom_6_1", "mom_12_1")}
    fam = _family(x, q)
    multi = len(set(sectors)) > 1
    ex12 = fam["excess_mom_12_1"]
    fam["rel_strength_vs_group"] = ex12 - grouped_median(ex12, sectors if multi else None)
    matrix = np.column_stack([fam[name] for name in SCORE_WEIGHTS])
    z = zscore_columns(matrix, sectors if params.normalization == "sector" and multi else None)
    score = z @ np.fromiter(SCORE_WEIGHTS.values(), dtype=np.float64) + params.hold_bonus * bonus
    return score, ex12, fam["trend_strength"]


def _positions(weights: dict[str, float], safe: str, safe_weight: float,
               held: frozenset[str], managed: list[str]) -> list[PositionTarget]:
    out = [PositionTarget(symbol=s, target_weight=w) for s, w in weights.items()]
    out.append(PositionTarget(symbol=safe, target_weight=safe_weight, role=Role.SAFE_HAVEN))
    out.extend(PositionTarget(symbol=s, target_weight=0.0)
               for s in sorted(held.intersection(managed).difference(weights, {safe})))
    return out


def _managed(symbols: np.ndarray, bench: str, safe: str) -> list[str]:
    out = list(dict.fromkeys(s for s in symbols.tolist() if s != bench))
    return out if safe in out else [*out, safe]


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    """Execution window, regime, small-account limits, scoring and sector-capped selection."""
    params: Parameters = inputs.params
    frame = inputs.frame
    bench_sym, safe = params.benchmark_symbol, params.safe_haven
    symbols = frame["symbol"].to_numpy(dtype=object)
    managed = _managed(symbols, bench_sym, safe)
    window = check_execution_window(inputs.snapshot_as_of, inputs.context.as_of,
                                    params.runtime_execution_window_trading_days)
    extras: dict[str, Any] = {**window.diagnostics(), "managed_symbols": managed}
    bench = int(np.flatnonzero(symbols == bench_sym)[0])
    # One block read of the float columns (pandas column access dominates the runtime).
    wanted = [*FACTORS, "adv20_usd", "close"]
    floats = frame.select_dtypes("float64")
    names = list(floats.columns)
    data = floats.to_numpy()[:, [names.index(c) for c in wanted]] if set(wanted) <= set(names) \
        else frame[wanted].to_numpy(dtype=np.float64)
    close = float(data[bench, -1])

    def diagnostics(signal: str, regime: str | None) -> Diagnostics:
        return Diagnostics(signal=signal, regime=regime, benchmark_symbol=bench_sym,
                           benchmark_price=close if math.isfinite(close) else None,
                           safe_haven_symbol=safe, snapshot_as_of=inputs.snapshot_as_of,
                           extras=extras)

    if not window.in_window:
        return inputs.hold(str(window.no_op_reason),
                           diagnostics("waiting_execution_window", None))

    held = frozenset(inputs.context.holdings)
    labels = frame["sector"].tolist()
    keys = {label: sector_key(label) for label in set(labels)}
    sectors_all = [keys[label] for label in labels]
    allowed = {sector_key(s) for s in params.sector_whitelist}
    sma200 = data[:, FACTORS.index("sma200_gap")]
    with np.errstate(invalid="ignore"):
        mask = ((symbols != bench_sym) & (symbols != safe)
                & frame["base_eligible"].to_numpy(dtype=bool)
                & (data[:, len(FACTORS)] >= params.min_adv20_usd))
    if allowed:
        mask &= np.fromiter((s in allowed for s in sectors_all), dtype=bool, count=mask.size)
    idx = np.flatnonzero(mask)
    trend = bool(sma200[bench] > 0)
    breadth = breadth_ratio(sma200[idx])
    regime = classify_regime(trend, breadth, params.soft_breadth_threshold,
                             params.hard_breadth_threshold)
    exposure = {HARD_DEFENSE: params.hard_defense_exposure,
                SOFT_DEFENSE: params.soft_defense_exposure}.get(regime, params.risk_on_exposure)
    count, single_cap, sector_cap, target_value = effective_limits(
        inputs.context.total_equity, exposure, params)
    flags = {HARD_DEFENSE: [RiskFlag.HARD_DEFENSE],
             SOFT_DEFENSE: [RiskFlag.SOFT_DEFENSE]}.get(regime, [])
    extras.update({
        "benchmark_trend_positive": trend, "breadth_ratio": breadth,
        "candidate_count": int(idx.size), "requested_holdings_count": params.holdings_count,
        "effective_holdings_count": count, "target_stock_value": target_value,
        "min_position_value_usd": params.min_position_value_usd,
        "effective_single_name_cap": single_cap, "effective_sector_cap": sector_cap,
        "normalization": params.normalization, "score_template": params.score_template,
        "residual_proxy": params.residual_proxy,
        "target_stock_weight": 0.0, "realized_stock_weight": 0.0, "safe_haven_weight": 1.0,
        "selected_symbols": [], "selected_count": 0, "top": [],
    })
    if idx.size == 0 or exposure <= 0:
        return inputs.decide(_positions({}, safe, 1.0, held, managed),
                             diagnostics("safe_haven_only", regime), flags)

    sectors = [sectors_all[i] for i in idx]
    bonus = np.fromiter((s in held for s in symbols[idx]), dtype=np.float64, count=idx.size)
    score, ex12, trend_strength = _scores(data, idx, bench, sectors, params, bonus)
    order = rank_order(symbols[idx], score, ex12, trend_strength)
    slot_cap = sector_slot_cap(sector_cap, exposure / count, count)
    picked = order[select_sector_capped([sectors[i] for i in order], count, slot_cap)]
    extras.update({"target_stock_weight": exposure, "sector_slot_cap": slot_cap})
    if picked.size == 0:
        return inputs.decide(_positions({}, safe, 1.0, held, managed),
                             diagnostics("no_selection", regime), flags)
    per_name = min(single_cap, exposure / picked.size)
    parked = max(0.0, 1.0 - picked.size * per_name)
    parked = parked if parked > _PARKED_EPS else 0.0
    chosen = [str(s) for s in symbols[idx][picked]]
    extras.update({
        "realized_stock_weight": picked.size * per_name, "safe_haven_weight": parked,
        "selected_symbols": chosen, "selected_count": len(chosen),
        "top": [{"symbol": s, "score": float(v)}
                for s, v in zip(chosen[:_TOP], score[picked][:_TOP], strict=True)],
    })
    return inputs.decide(_positions(dict.fromkeys(chosen, per_name), safe, parked, held,
                                    managed), diagnostics("rebalance", regime), flags)
