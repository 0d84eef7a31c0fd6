"""Mega-cap leader rotation: the one engine behind the three mega-cap profiles.

``mega_cap_leader_rotation_dynamic_top20``, ``..._aggressive`` and ``..._top50_balanced``
differ only in their manifest defaults (spec/profiles.md §2.4-§2.6); each has a thin module
re-exporting :class:`Parameters`, :func:`required_rows` and :func:`evaluate`. The snapshot is
the one of features.md §4.3, built by :mod:`us_equity_strategies.builders.mega_cap_leader_rotation`.

Rules
-----
0. **Execution window**: the snapshot executes only on the first
   ``runtime_execution_window_trading_days`` NYSE sessions strictly after its ``as_of``; run
   date = ``context.as_of``. Outside: a hold (``no_execute``) with the reference reason
   ``outside_monthly_execution_window snapshot=D allowed=d1,d2,d3``, or
   ``no_execution_window_after_snapshot:D`` when N = 0.
1. **Candidates**: symbol not the benchmark, broad benchmark or safe haven; ``eligible`` True
   (NaN -> False, spec fix 5); ``adv20_usd >= min_adv20_usd``; all nine of ``mom_3m, mom_6m,
   mom_12_1, rel_mom_6m_vs_benchmark, rel_mom_6m_vs_broad_benchmark, high_252_gap,
   sma200_gap, vol_63, maxdd_126`` non-NaN (``mom_12_1`` is never scored).
2. ``breadth`` = share of candidates with ``sma200_gap > 0`` (0 without candidates);
   ``benchmark_trend_positive`` = benchmark ``sma200_gap > 0`` (NaN -> False). The benchmark
   and broad-benchmark rows are required (:func:`required_rows`, spec fix 5: a missing row is a
   :class:`~us_equity_strategies.errors.SnapshotError`, not "trend down").
3. Regime: ``hard_defense`` if trend down and breadth < hard threshold; else ``soft_defense``
   if trend down or breadth < soft threshold; else ``risk_on``; exposure = the regime's
   parameter. With the default thresholds 0.0, hard_defense is unreachable.
4. ``score = 0.25 z(mom_6m) + 0.20 z(mom_3m) + 0.20 z(rel_mom_6m_vs_benchmark) + 0.10
   z(rel_mom_6m_vs_broad_benchmark) + 0.10 z(high_252_gap) + 0.10 z(sma200_gap) - 0.025
   z(vol_63) - 0.025 z(|maxdd_126|)`` (z over the candidates, ddof 0, zero dispersion -> 0),
   plus ``hold_bonus`` for ``context.holdings``. Rank by score, rel_mom_6m_vs_benchmark,
   mom_6m (descending), then symbol.
5. Effective count (equity = ``context.total_equity``): exposure <= 0 -> 0; no equity or
   ``min_position_value_usd <= 0`` -> ``holdings_count``; else ``target = equity *
   exposure`` and ``count = max(1, min(holdings_count, max(1, floor(target /
   min_position_value_usd))))`` (0 if target <= 0). The cap is **not** raised.
6. Hysteresis: holdings ranked ``<= count + hold_buffer`` are kept in rank order, the best
   others fill up to ``count``. ``per_name = min(single_name_cap, exposure / n)``; the safe
   haven gets ``1 - sum`` when above 1e-12. No ranking, exposure <= 0 or count 0 ->
   ``{safe_haven: 1.0}``.
7. Sleeve blend (``blend_sleeves`` non-empty): sleeve weights rescaled to sum 1; each sleeve
   runs step 5-6 with its own count and cap on ``equity * sleeve weight``; the combined weight
   is ``sum(sleeve weight * sleeve's weight)``, renormalised by its total.

Positions of an actionable decision: the selected names (role ``risk``), the safe haven (role
``safe_haven``, always listed, 0.0 when nothing is parked) and an explicit 0.0 for every held
symbol that is not selected, except the two benchmarks. A holding that left the top-N universe
is therefore liquidated explicitly, as the reference backtest does (features.md §7.1); the
reference's live ``managed_symbols`` (snapshot symbols only) would leave it untouched.

Diagnostics (machine codes; :mod:`us_equity_strategies.render` phrases them)
---------------------------------------------------------------------------
``signal``: ``rebalance`` (names selected), ``safe_haven_only`` (no candidate, exposure <= 0
or effective count 0: all in the safe haven), ``waiting_execution_window`` (hold).
``regime``: ``risk_on`` / ``soft_defense`` / ``hard_defense`` (None on a hold); risk flags
``soft_defense`` / ``hard_defense`` mirror it (reference ``is_emergency`` = hard).
``benchmark_symbol``, ``benchmark_price`` (benchmark close), ``safe_haven_symbol``,
``snapshot_as_of``.

``extras``: ``execution_window`` (ISO dates), ``execution_calendar_source``,
``managed_symbols``, on a hold ``no_op_reason``. After the window: ``broad_benchmark_symbol``,
``benchmark_trend_positive``, ``breadth_ratio``, ``candidate_count``, ``dynamic_universe_size``
(echo), ``portfolio_total_equity`` (null without portfolio), ``min_position_value_usd``,
``target_stock_weight`` (= exposure; blend: 1 - safe haven), ``realized_stock_weight``,
``safe_haven_weight``, ``selected_symbols`` (selection order), ``selected_count``,
``requested_holdings_count``, ``effective_holdings_count``, ``single_name_cap``,
``effective_single_name_cap`` (when names were selected), ``max_hold_rank``, ``top`` (the
first 5 of the ranking as ``{"symbol", "score"}``, hold bonus included). Blend only:
``blend_mode`` (``fixed_weighted_sleeves``) and ``blend_sleeves`` (per sleeve ``name, weight,
holdings_count, single_name_cap, effective_holdings_count, selected_symbols,
realized_stock_weight, safe_haven_weight``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..contract import Diagnostics, PositionTarget, ProfileInputs, RiskFlag, Role, StrategyDecision
from ..contract._base import SYMBOL_PATTERN
from ..execution import check_execution_window
from ..params import ProfileParameters
from ..selection import (
    HARD_DEFENSE,
    SOFT_DEFENSE,
    breadth_ratio,
    classify_regime,
    rank_order,
    select_with_hysteresis,
    zscore_columns,
)

__all__ = ["CANDIDATE_COLUMNS", "SCORE_WEIGHTS", "Parameters", "Sleeve", "effective_count",
           "evaluate", "required_rows"]

#: All nine must be non-NaN for a candidate (profiles.md §2.4).
CANDIDATE_COLUMNS = ("mom_3m", "mom_6m", "mom_12_1", "rel_mom_6m_vs_benchmark",
                     "rel_mom_6m_vs_broad_benchmark", "high_252_gap", "sma200_gap", "vol_63",
                     "maxdd_126")
#: z-score column -> weight, in the spec's order (``maxdd_126`` enters as ``|maxdd_126|``).
SCORE_WEIGHTS = {"mom_6m": 0.25, "mom_3m": 0.20, "rel_mom_6m_vs_benchmark": 0.20,
                 "rel_mom_6m_vs_broad_benchmark": 0.10, "high_252_gap": 0.10,
                 "sma200_gap": 0.10, "vol_63": -0.025, "maxdd_126": -0.025}
_NUMERIC = ("adv20_usd", *CANDIDATE_COLUMNS)
_PARKED_EPS = 1e-12
_TOP = 5


class Sleeve(BaseModel):
    """One fixed-weight sleeve of a blended basket (``blend_sleeves`` entry)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str | None = Field(default=None, min_length=1, description="default sleeve_<i>")
    weight: float = Field(gt=0, description="relative weight; rescaled to sum 1")
    holdings_count: int = Field(ge=1)
    single_name_cap: float = Field(gt=0, le=1)


class Parameters(ProfileParameters):
    """Parameters of the mega-cap engine; defaults live in each profile's manifest."""

    benchmark_symbol: str = Field(pattern=SYMBOL_PATTERN, description="trend benchmark (QQQ)")
    broad_benchmark_symbol: str = Field(pattern=SYMBOL_PATTERN, description="SPY")
    safe_haven: str = Field(pattern=SYMBOL_PATTERN, description="parking symbol (BOXX)")
    dynamic_universe_size: int = Field(ge=1, description="builder: top-N universe size")
    holdings_count: int = Field(ge=1)
    single_name_cap: float = Field(gt=0, le=1)
    min_position_value_usd: float = Field(ge=0, description="0 disables the count reduction")
    hold_buffer: int = Field(ge=0, description="extra ranks a holding may fall and be kept")
    hold_bonus: float = Field(description="score bonus of current holdings")
    risk_on_exposure: float = Field(ge=0, le=1)
    soft_defense_exposure: float = Field(ge=0, le=1)
    hard_defense_exposure: float = Field(ge=0, le=1)
    soft_breadth_threshold: float = Field(ge=0, le=1)
    hard_breadth_threshold: float = Field(ge=0, le=1)
    min_adv20_usd: float = Field(ge=0, description="candidate and builder liquidity floor")
    runtime_execution_window_trading_days: int = Field(ge=0)
    blend_sleeves: tuple[Sleeve, ...] = Field(description="empty = one basket")
    min_history_days: int = Field(ge=0, description="builder eligibility")
    min_close: float = Field(ge=0, description="builder eligibility: close > min_close")
    universe_lag_sessions: int = Field(ge=0, description="builder: universe availability lag")

    @field_validator("blend_sleeves")
    @classmethod
    def _sleeves(cls, v: tuple[Sleeve, ...]) -> tuple[Sleeve, ...]:
        named = tuple(s if s.name else s.model_copy(update={"name": f"sleeve_{i}"})
                      for i, s in enumerate(v, start=1))
        names = [s.name for s in named]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate sleeve names {names}")
        return named

    @model_validator(mode="after")
    def _distinct(self) -> Parameters:
        roles = {"benchmark_symbol": self.benchmark_symbol,
                 "broad_benchmark_symbol": self.broad_benchmark_symbol,
                 "safe_haven": self.safe_haven}
        if len(set(roles.values())) != 3:
            raise ValueError(f"benchmark, broad benchmark and safe haven must differ: {roles}")
        return self


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """The benchmark and broad-benchmark rows must exist (spec fix 5); values may be NaN."""
    return {params.benchmark_symbol: (), params.broad_benchmark_symbol: ()}


def effective_count(requested: int, exposure: float, equity: float | None,
                    min_position_value_usd: float) -> int:
    """Holdings count after the small-account reduction (profiles.md §2.4; cap not raised)."""
    if exposure <= 0:
        return 0
    if equity is None or min_position_value_usd <= 0:
        return requested
    target = equity * exposure
    if target <= 0:
        return 0
    return max(1, min(requested, max(1, math.floor(target / min_position_value_usd))))


@dataclass(frozen=True)
class _Run:
    """One basket: selected names and weights (selection order), the safe-haven remainder."""

    weights: dict[str, float]
    safe_weight: float
    count: int
    max_hold_rank: int


def _basket(ranked: list[str], held: frozenset[str], count_req: int, cap: float,
            exposure: float, equity: float | None, params: Parameters) -> _Run:
    count = effective_count(count_req, exposure, equity, params.min_position_value_usd)
    max_hold = count + params.hold_buffer
    if not ranked or exposure <= 0 or count == 0:
        return _Run({}, 1.0, count, max_hold)
    chosen = select_with_hysteresis(ranked, held, count, params.hold_buffer)
    per_name = min(cap, exposure / len(chosen))
    weights = dict.fromkeys(chosen, per_name)
    rest = 1.0 - sum(weights.values())
    return _Run(weights, rest if rest > _PARKED_EPS else 0.0, count, max_hold)


def _rank(frame: Any, symbols: np.ndarray, params: Parameters,
          held: frozenset[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidate rows ranked best first (row indices, scores with bonus), the candidate mask
    and every row's ``sma200_gap``."""
    col = {c: frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in _NUMERIC}
    with np.errstate(invalid="ignore"):
        mask = (frame["eligible"].to_numpy(dtype=bool)
                & (col["adv20_usd"] >= params.min_adv20_usd)
                & np.isfinite(np.column_stack([col[c] for c in CANDIDATE_COLUMNS])).all(axis=1)
                & ~np.isin(symbols, [params.benchmark_symbol, params.broad_benchmark_symbol,
                                     params.safe_haven]))
    idx = np.flatnonzero(mask)
    factors = np.column_stack([np.abs(col[c][idx]) if c == "maxdd_126" else col[c][idx]
                               for c in SCORE_WEIGHTS])
    z = zscore_columns(factors)
    score = np.zeros(idx.size)
    for j, weight in enumerate(SCORE_WEIGHTS.values()):  # the spec's order of terms
        score = score + weight * z[:, j]
    bonus = np.fromiter((s in held for s in symbols[idx]), dtype=bool, count=idx.size)
    score = score + params.hold_bonus * bonus
    order = rank_order(symbols[idx], score, col["rel_mom_6m_vs_benchmark"][idx],
                       col["mom_6m"][idx])
    return idx[order], score[order], mask, col["sma200_gap"]


def _positions(weights: dict[str, float], safe: str, safe_weight: float,
               zeros: list[str]) -> list[PositionTarget]:
    out = [PositionTarget(symbol=s, target_weight=w) for s, w in weights.items()]
    out.append(PositionTarget(symbol=safe, target_weight=safe_weight, role=Role.SAFE_HAVEN))
    out.extend(PositionTarget(symbol=s, target_weight=0.0) for s in zeros)
    return out


def _blend(ranked: list[str], held: frozenset[str], exposure: float, equity: float | None,
           params: Parameters, extras: dict[str, Any]) -> tuple[dict[str, float], float]:
    total = sum(s.weight for s in params.blend_sleeves)
    combined: dict[str, float] = {}
    safe_acc = 0.0
    rows = []
    for sleeve in params.blend_sleeves:
        share = sleeve.weight / total
        run = _basket(ranked, held, sleeve.holdings_count, sleeve.single_name_cap, exposure,
                      None if equity is None else equity * share, params)
        for sym, w in run.weights.items():
            combined[sym] = combined.get(sym, 0.0) + share * w
        safe_acc += share * run.safe_weight
        rows.append({"name": sleeve.name, "weight": share,
                     "holdings_count": sleeve.holdings_count,
                     "single_name_cap": sleeve.single_name_cap,
                     "effective_holdings_count": run.count,
                     "selected_symbols": list(run.weights),
                     "realized_stock_weight": sum(run.weights.values()),
                     "safe_haven_weight": run.safe_weight})
    norm = sum(combined.values()) + safe_acc
    weights = {s: w / norm for s, w in combined.items() if w / norm > _PARKED_EPS}
    safe_weight = safe_acc / norm if safe_acc / norm > _PARKED_EPS else 0.0
    first = params.blend_sleeves[0]
    extras.update({
        "blend_mode": "fixed_weighted_sleeves", "blend_sleeves": rows,
        "target_stock_weight": 1.0 - safe_weight, "realized_stock_weight": 1.0 - safe_weight,
        "requested_holdings_count": max(s.holdings_count for s in params.blend_sleeves),
        "effective_holdings_count": len(weights),
        "single_name_cap": max(s.single_name_cap for s in params.blend_sleeves),
        "max_hold_rank": rows[0]["effective_holdings_count"] + params.hold_buffer,
    })
    if weights:
        extras["effective_single_name_cap"] = first.single_name_cap
    return weights, safe_weight


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    """Execution window, regime, ranking, hysteresis selection (single basket or sleeves)."""
    params: Parameters = inputs.params
    frame = inputs.frame
    bench_sym, broad_sym, safe = (params.benchmark_symbol, params.broad_benchmark_symbol,
                                  params.safe_haven)
    symbols = frame["symbol"].to_numpy(dtype=object)
    held = frozenset(inputs.context.holdings)
    benchmarks = {bench_sym, broad_sym}
    managed = list(dict.fromkeys(s for s in symbols.tolist() if s not in benchmarks))
    managed += [s for s in (safe, *sorted(held)) if s not in managed and s not in benchmarks]
    window = check_execution_window(inputs.snapshot_as_of, inputs.context.as_of,
                                    params.runtime_execution_window_trading_days)
    extras: dict[str, Any] = {**window.diagnostics(), "managed_symbols": managed}
    bench = int(np.flatnonzero(symbols == bench_sym)[0])
    close = float(frame["close"].iat[bench])

    def diagnostics(signal: str, regime: str | None) -> Diagnostics:
        return Diagnostics(signal=signal, regime=regime, benchmark_symbol=bench_sym,
                           benchmark_price=close if math.isfinite(close) else None,
                           safe_haven_symbol=safe, snapshot_as_of=inputs.snapshot_as_of,
                           extras=extras)

    if not window.in_window:
        return inputs.hold(str(window.no_op_reason),
                           diagnostics("waiting_execution_window", None))

    rows, scores, mask, sma200 = _rank(frame, symbols, params, held)
    trend = bool(sma200[bench] > 0)
    breadth = breadth_ratio(sma200[mask])
    regime = classify_regime(trend, breadth, params.soft_breadth_threshold,
                             params.hard_breadth_threshold)
    exposure = {HARD_DEFENSE: params.hard_defense_exposure,
                SOFT_DEFENSE: params.soft_defense_exposure}.get(regime, params.risk_on_exposure)
    flags = {HARD_DEFENSE: [RiskFlag.HARD_DEFENSE],
             SOFT_DEFENSE: [RiskFlag.SOFT_DEFENSE]}.get(regime, [])
    ranked = symbols[rows].tolist()
    equity = inputs.context.total_equity
    extras.update({
        "broad_benchmark_symbol": broad_sym, "benchmark_trend_positive": trend,
        "breadth_ratio": breadth, "candidate_count": len(ranked),
        "dynamic_universe_size": params.dynamic_universe_size,
        "portfolio_total_equity": equity,
        "min_position_value_usd": params.min_position_value_usd,
        "top": [{"symbol": s, "score": float(v)}
                for s, v in zip(ranked[:_TOP], scores[:_TOP], strict=True)],
    })
    if params.blend_sleeves:
        weights, safe_weight = _blend(ranked, held, exposure, equity, params, extras)
    else:
        run = _basket(ranked, held, params.holdings_count, params.single_name_cap, exposure,
                      equity, params)
        weights, safe_weight = run.weights, run.safe_weight
        extras.update({"target_stock_weight": exposure,
                       "realized_stock_weight": sum(weights.values()),
                       "requested_holdings_count": params.holdings_count,
                       "effective_holdings_count": run.count,
                       "single_name_cap": params.single_name_cap,
                       "max_hold_rank": run.max_hold_rank})
        if weights:
            extras["effective_single_name_cap"] = params.single_name_cap
    extras.update({"safe_haven_weight": safe_weight, "selected_symbols": list(weights),
                   "selected_count": len(weights)})
    zeros = sorted(s for s in managed if s in held and s not in weights and s != safe)
    signal = "rebalance" if weights else "safe_haven_only"
    return inputs.decide(_positions(weights, safe, safe_weight, zeros),
                         diagnostics(signal, regime), flags)
