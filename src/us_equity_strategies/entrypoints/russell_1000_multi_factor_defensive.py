"""russell_1000_multi_factor_defensive: monthly sector-relative multi-factor basket with defense.

Rules of spec/profiles.md §2.2 on the snapshot of spec/features.md §4.1 (built by
:mod:`us_equity_strategies.builders.russell_1000_multi_factor_defensive`):

1. **Trend**: the benchmark row's ``sma200_gap > 0`` (NaN -> down). A snapshot without the
   benchmark row is invalid input (:func:`required_rows`, spec fix 5; the reference assumed
   "trend up").
2. **Candidates**: rows other than the benchmark and the safe haven whose ``eligible`` is True
   and whose five factors ``mom_6_1, mom_12_1, sma200_gap, vol_63, maxdd_126`` are all
   non-NaN. NaN ``eligible`` means not eligible (spec fix 5; the reference read it as True).
3. **Breadth** = share of candidates with ``sma200_gap > 0`` (0.0 without candidates).
4. **Regime** (:func:`selection.classify_regime`, strict ``<``): ``hard_defense`` if trend down
   and breadth < ``hard_breadth_threshold``; else ``soft_defense`` if trend down or breadth <
   ``soft_breadth_threshold``; else ``risk_on``. Exposure = ``hard_defense_exposure`` /
   ``soft_defense_exposure`` / 1.0 (fixed).
5. No candidate or exposure <= 0 -> ``{safe_haven: 1.0}``.
6. **Score**: z-scores within each sector (ddof 0; a single-member or zero-dispersion sector
   gives 0; blank sector = ``unknown``): ``0.35 z(mom_6_1) + 0.30 z(mom_12_1) +
   0.15 z(sma200_gap) - 0.10 z(vol_63) - 0.10 z(|maxdd_126|)``, plus ``hold_bonus`` for each
   symbol in ``context.holdings``.
7. **Rank**: score desc, mom_12_1 desc, mom_6_1 desc, symbol asc.
8. ``per_name_target = exposure / holdings_count``; ``sector_slot_cap = max(1,
   floor(sector_cap / per_name_target))`` in binary floating point, like the reference.
9. Greedy walk down the ranking skipping full sectors, up to ``holdings_count`` names.
10. (Nothing selected -> ``{safe_haven: 1.0}``; unreachable with valid parameters, since the
    best-ranked candidate always fits.)
11. ``per_name_weight = min(single_name_cap, exposure / n)``; ``invested = n * per_name_weight``;
    the safe haven gets ``1 - invested`` (a float residue below 1e-12 counts as 0).

No execution window and no small-account count reduction (reference). The snapshot must be at
most one calendar month old (manifest ``max_age_months``).

Positions of every decision: the selected names (role ``risk``), the safe haven (role
``safe_haven``, always listed, 0.0 when nothing is parked), and an explicit 0.0 for each held
symbol that the profile manages but does not select. Managed symbols are the reference's
``managed_symbols``: every snapshot symbol except the benchmark, plus the safe haven. Held
symbols outside that set (e.g. a name that left the universe) are not touched and are listed in
``extras["unmanaged_holdings"]``.

Risk flags: ``hard_defense`` / ``soft_defense`` for those regimes (the reference's
``is_emergency`` is the hard-defense regime).

Diagnostics (machine codes only; renderers phrase them, spec fix 8):

``signal``
    ``rebalance`` (names selected), ``safe_haven_only`` (no candidate, or exposure <= 0) or
    ``no_selection`` (step 10).
``regime``
    ``risk_on``, ``soft_defense`` or ``hard_defense``.
``benchmark_symbol``, ``benchmark_price`` (the benchmark's ``close`` when known),
``safe_haven_symbol``, ``snapshot_as_of``.

``extras`` keys:

``benchmark_trend_positive`` (bool), ``benchmark_sma200_gap`` (float or null),
``breadth_ratio`` (float 0..1), ``soft_breadth_threshold``, ``hard_breadth_threshold``,
``target_stock_weight`` (the regime's exposure), ``stock_exposure`` (as the reference: the
exposure, or 0.0 on a safe-haven-only decision), ``realized_stock_weight`` (``n *
per_name_weight``), ``safe_haven_weight``, ``candidate_count`` (eligible rows),
``universe_count`` (rows other than benchmark and safe haven), ``requested_holdings_count``,
``selected_count``, ``selected_symbols`` (selection order), ``unmanaged_holdings``.
On ``safe_haven_only``: ``safe_haven_reason`` = ``no_candidate`` or ``zero_exposure``.
On ``rebalance`` only: ``sector_slot_cap`` (int), ``per_name_weight``, ``selected_sectors``
({sector: count}), ``top`` (first 5 selected as ``{"symbol", "score"}``, scores including
the hold bonus; the reference text shows ``top=AAA(1.23)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from .. import selection
from ..contract import (
    Diagnostics,
    PositionTarget,
    ProfileInputs,
    RiskFlag,
    Role,
    StrategyDecision,
)
from ..contract._base import SYMBOL_PATTERN
from ..params import ProfileParameters

__all__ = ["FACTORS", "RISK_ON_EXPOSURE", "SCORE_WEIGHTS", "Parameters", "evaluate",
           "required_rows"]

#: The five factor columns every candidate needs.
FACTORS = ("mom_6_1", "mom_12_1", "sma200_gap", "vol_63", "maxdd_126")
#: Score weights of the sector z-scores (maxdd_126 enters as |maxdd_126|).
SCORE_WEIGHTS = {"mom_6_1": 0.35, "mom_12_1": 0.30, "sma200_gap": 0.15, "vol_63": -0.10,
                 "maxdd_126": -0.10}
#: Risk-on exposure is fixed in the reference (not configurable).
RISK_ON_EXPOSURE = 1.0
UNKNOWN_SECTOR = "unknown"
_WEIGHTS = np.array([SCORE_WEIGHTS[c] for c in FACTORS])
_M6, _M12, _GAP, _MAXDD = (FACTORS.index(c) for c in ("mom_6_1", "mom_12_1", "sma200_gap",
                                                       "maxdd_126"))
_TOP = 5
_RESIDUE = 1e-12
_FLAGS = {selection.HARD_DEFENSE: [RiskFlag.HARD_DEFENSE],
          selection.SOFT_DEFENSE: [RiskFlag.SOFT_DEFENSE], selection.RISK_ON: []}


class Parameters(ProfileParameters):
    """Parameters of ``russell_1000_multi_factor_defensive``; defaults live in the manifest."""

    benchmark_symbol: str = Field(pattern=SYMBOL_PATTERN, description="trend benchmark (SPY)")
    safe_haven: str = Field(pattern=SYMBOL_PATTERN, description="parking symbol (BOXX)")
    holdings_count: int = Field(gt=0, description="names selected")
    single_name_cap: float = Field(gt=0, description="maximum weight per name")
    sector_cap: float = Field(gt=0, description="sector budget; slots = floor(cap/target)")
    hold_bonus: float = Field(description="score bonus of current holdings")
    soft_defense_exposure: float = Field(ge=0, le=1, description="stock exposure, soft regime")
    hard_defense_exposure: float = Field(ge=0, le=1, description="stock exposure, hard regime")
    soft_breadth_threshold: float = Field(ge=0, le=1, description="breadth < this -> soft")
    hard_breadth_threshold: float = Field(ge=0, le=1, description="breadth < this -> hard")
    min_history_days: int = Field(ge=0, description="builder: eligible needs >= rows")
    min_close: float = Field(ge=0, description="builder: eligible needs close > this")
    min_adv20_usd: float = Field(ge=0, description="builder: eligible needs adv20_usd >= this")

    @model_validator(mode="after")
    def _distinct(self) -> Parameters:
        if self.benchmark_symbol == self.safe_haven:
            raise ValueError("benchmark_symbol and safe_haven must differ")
        return self


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """The benchmark row must exist (spec fix 5); a NaN ``sma200_gap`` there means trend down."""
    return {params.benchmark_symbol: ()}


def _positions(weights: dict[str, float], safe: str, safe_weight: float,
               liquidate: list[str]) -> list[PositionTarget]:
    out = [PositionTarget(symbol=s, target_weight=w) for s, w in weights.items()]
    out.append(PositionTarget(symbol=safe, target_weight=safe_weight, role=Role.SAFE_HAVEN))
    out.extend(PositionTarget(symbol=s, target_weight=0.0) for s in liquidate)
    return out


def _scores(factors: np.ndarray, sectors: np.ndarray) -> np.ndarray:
    """Weighted sum of the sector z-scores of the candidates' factor matrix (FACTORS order)."""
    matrix = factors.copy()
    matrix[:, _MAXDD] = np.abs(matrix[:, _MAXDD])
    return selection.grouped_zscore(matrix, sectors) @ _WEIGHTS


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    """Regime from SPY trend and breadth, then the sector-capped top-``holdings_count`` basket."""
    p: Parameters = inputs.params
    frame = inputs.frame
    symbols = frame["symbol"].to_numpy(dtype=object)
    # column by column: frame[list] is slow with pandas' string column index
    factors = np.column_stack([frame[c].to_numpy(dtype=np.float64) for c in FACTORS])
    gap = factors[:, _GAP]
    bench = int(np.flatnonzero(symbols == p.benchmark_symbol)[0])  # required_rows: present
    bench_gap, bench_close = gap[bench], float(frame["close"].iat[bench])
    trend = bool(bench_gap > 0)  # NaN -> False

    managed = (symbols != p.benchmark_symbol) & (symbols != p.safe_haven)
    complete = np.isfinite(factors).all(axis=1)
    idx = np.flatnonzero(managed & frame["eligible"].to_numpy(dtype=bool) & complete)
    breadth = selection.breadth_ratio(gap[idx])
    regime = selection.classify_regime(trend, breadth, p.soft_breadth_threshold,
                                       p.hard_breadth_threshold)
    exposure = {selection.RISK_ON: RISK_ON_EXPOSURE,
                selection.SOFT_DEFENSE: p.soft_defense_exposure,
                selection.HARD_DEFENSE: p.hard_defense_exposure}[regime]

    held = set(inputs.context.holdings)
    managed_set = set(symbols[managed].tolist())
    extras: dict[str, Any] = {
        "benchmark_trend_positive": trend,
        "benchmark_sma200_gap": float(bench_gap) if np.isfinite(bench_gap) else None,
        "breadth_ratio": breadth,
        "soft_breadth_threshold": p.soft_breadth_threshold,
        "hard_breadth_threshold": p.hard_breadth_threshold,
        "target_stock_weight": exposure,
        "candidate_count": int(idx.size),
        "universe_count": int(np.count_nonzero(managed)),
        "requested_holdings_count": p.holdings_count,
        "unmanaged_holdings": sorted(held - managed_set - {p.safe_haven}),
    }
    diagnostics = {
        "regime": regime, "benchmark_symbol": p.benchmark_symbol,
        "benchmark_price": float(bench_close) if np.isfinite(bench_close) else None,
        "safe_haven_symbol": p.safe_haven, "snapshot_as_of": inputs.snapshot_as_of,
    }
    flags = _FLAGS[regime]

    def all_safe(signal: str, reason: str | None) -> StrategyDecision:
        extras.update(stock_exposure=0.0, realized_stock_weight=0.0, safe_haven_weight=1.0,
                      selected_count=0, selected_symbols=[])
        if reason is not None:
            extras["safe_haven_reason"] = reason
        return inputs.decide(_positions({}, p.safe_haven, 1.0, sorted(held & managed_set)),
                             Diagnostics(signal=signal, extras=extras, **diagnostics), flags)

    if idx.size == 0 or exposure <= 0:
        return all_safe("safe_haven_only", "no_candidate" if idx.size == 0 else "zero_exposure")

    sym = symbols[idx]
    # blank/missing sectors (NaN/None in the typed frame): one "unknown" group (spec)
    sectors = frame["sector"].to_numpy(dtype=object, na_value=UNKNOWN_SECTOR)[idx]
    sectors[sectors == ""] = UNKNOWN_SECTOR
    cand = factors[idx]
    score = _scores(cand, sectors)
    score += p.hold_bonus * np.fromiter((s in held for s in sym), dtype=bool, count=sym.size)
    order = selection.rank_order(sym, score, cand[:, _M12], cand[:, _M6])
    slot_cap = selection.sector_slot_cap(p.sector_cap, exposure / p.holdings_count,
                                         p.holdings_count)
    chosen = order[selection.select_sector_capped(sectors[order].tolist(), p.holdings_count,
                                                  slot_cap)]
    if chosen.size == 0:
        return all_safe("no_selection", None)

    n = int(chosen.size)
    per_name = min(p.single_name_cap, exposure / n)
    invested = per_name * n
    safe_weight = 1.0 - invested if 1.0 - invested > _RESIDUE else 0.0
    picked = sym[chosen].tolist()
    sector_counts: dict[str, int] = {}
    for s in sectors[chosen]:
        sector_counts[s] = sector_counts.get(s, 0) + 1
    extras.update(
        stock_exposure=exposure, realized_stock_weight=invested, safe_haven_weight=safe_weight,
        selected_count=n, selected_symbols=picked, sector_slot_cap=slot_cap,
        per_name_weight=per_name, selected_sectors=sector_counts,
        top=[{"symbol": s, "score": float(v)}
             for s, v in zip(picked[:_TOP], score[chosen][:_TOP], strict=True)],
    )
    liquidate = sorted((held & managed_set) - set(picked))
    return inputs.decide(_positions(dict.fromkeys(picked, per_name), p.safe_haven, safe_weight,
                                    liquidate),
                         Diagnostics(signal="rebalance", extras=extras, **diagnostics), flags)
