"""dynamic_mega_leveraged_pullback: daily 2x single-stock products on pulled-back mega-caps.

Rules (spec/profiles.md §2.9; the snapshot of features.md §4.4 plus the daily features the
reference fetched through its ``market_history`` loader, spec fix 1: they are snapshot
columns built by :mod:`us_equity_strategies.builders.dynamic_mega_leveraged_pullback`)
--------------------------------------------------------------------------------------------
1. **Candidates**: rows other than the benchmark row with ``eligible`` and
   ``product_available`` (NaN -> False) and non-empty ``symbol`` (the 2x product) and
   ``underlying_symbol``; sorted by ``candidate_rank`` ascending (NaN last), then underlying;
   the first row per underlying; the first ``candidate_universe_size``. Their products are
   the ``risk_symbols``.
2. **Benchmark lines** (benchmark row, required: spec fix 5): ``entry_mult = clamp(1 +
   atr_pct * atr_entry_scale, entry_line_floor, entry_line_cap)``, ``exit_mult = clamp(1 -
   atr_pct * atr_exit_scale, exit_line_floor, exit_line_cap)``; lines = SMA x multiplier.
3. **Gate**, in this order: close < exit line -> exposure 0, ``hard_defense``; else a risk
   symbol is held -> ``max_product_exposure``, ``risk_on_hold_band``; else close > entry line
   -> ``max_product_exposure``, ``risk_on_entry``; else 0, ``entry_wait``.
4. **Ranking**: candidates with ``history_days < 253`` are skipped; ``rel_mom_126_vs_benchmark
   = mom_126 - benchmark_mom_126``; rows with NaN in mom_63, mom_126, mom_252, rel_mom,
   sma_200_gap, vol_63 or high_63_gap are dropped. ``depth = |min(high_63_gap, 0)|``,
   ``quality = clamp(1 - |depth - 0.10| / 0.10, -1, 1)``. Size multiplier: 0 if sma_200_gap
   or mom_126 <= 0; depth bands < 0.02 -> 0.45, < 0.06 -> 0.85, < 0.16 -> 1.25, < 0.28 ->
   0.75, else 0; x 0.50 if mom_20 > 0.18 or sma_50_gap > 0.16; x 0.60 if sma_200_gap < 0.03;
   x 0.50 if rel_mom < -0.08; clamp [0, 1.30]; rows with multiplier > 0 stay. ``score =
   0.35 z(mom_126) + 0.20 z(mom_252) + 0.20 z(rel_mom) + 0.20 z(quality) - 0.05 z(vol_63)``
   (ddof 0) + ``hold_bonus`` when the **product** is held; sorted by score, quality, mom_126
   (descending), then underlying.
5. **Count**: the mega formula on the product exposure (:func:`..mega_cap_leader_rotation.
   effective_count`): 3 names from $11,250, 2 from $7,500, else 1 (defaults).
6. **Weights**: empty ranking, exposure <= 0 or count 0 -> BOXX 1.0. Else hysteresis with
   ``hold_buffer``; ``raw = min(single_name_cap, exposure / n * multiplier)``, scaled down to
   the exposure if the sum exceeds it; weights <= 1e-12 dropped; BOXX gets the rest.

Positions: the selected products (``risk``), the safe haven (``safe_haven``, always listed,
0.0 when nothing is parked) and an explicit 0.0 for every other held symbol except the
benchmark (liquidation is explicit, as for the mega-cap profiles).

Diagnostics (machine codes; :mod:`us_equity_strategies.render` phrases them)
---------------------------------------------------------------------------
``signal``: ``rebalance`` (products selected) or ``safe_haven_only``. ``regime``:
``hard_defense`` (risk flag ``hard_defense``, the reference ``is_emergency``),
``risk_on_hold_band``, ``risk_on_entry``, ``entry_wait``. ``benchmark_price`` = benchmark
close. ``extras``: ``benchmark_close``, ``benchmark_sma``, ``benchmark_sma_gap``,
``benchmark_atr``, ``benchmark_atr_pct``, ``benchmark_entry_line``, ``benchmark_exit_line``,
``benchmark_entry_multiplier``, ``benchmark_exit_multiplier``, ``benchmark_mom_126`` (null if
NaN), ``current_risk_active``, ``target_product_exposure``, ``realized_product_exposure``,
``underlying_exposure`` (= realized x ``leverage_multiple``), ``leverage_multiple``,
``safe_haven_weight``, ``selected_symbols`` / ``selected_underlyings`` (selection order),
``selected_count``, ``candidate_count`` (ranked rows), ``candidate_universe_size``,
``skipped_short_history`` (underlyings with < 253 closes), ``requested_holdings_count``,
``effective_holdings_count``, ``max_hold_rank``, ``portfolio_total_equity``,
``min_position_value_usd``, ``single_name_cap``, ``avg_pullback_depth`` (when products are
selected), ``managed_symbols`` (snapshot products, safe haven, holdings), ``top`` (first 5 of
the ranking: ``symbol, underlying, score, size_multiplier, pullback_depth``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..contract import Diagnostics, PositionTarget, ProfileInputs, RiskFlag, Role, StrategyDecision
from ..contract._base import SYMBOL_PATTERN
from ..params import ProfileParameters
from ..selection import grouped_zscore, rank_order, select_with_hysteresis
from .mega_cap_leader_rotation import effective_count

__all__ = ["BENCHMARK_COLUMNS", "MIN_HISTORY_DAYS", "Parameters", "Product", "evaluate",
           "rank_candidates", "required_rows", "size_multiplier"]

#: Benchmark-row values the gate needs (a missing row or value is a SnapshotError).
BENCHMARK_COLUMNS = ("benchmark_close", "benchmark_sma", "benchmark_atr", "benchmark_atr_pct")
#: Candidates with fewer closes are skipped (mom_252 needs C[-253]).
MIN_HISTORY_DAYS = 253
#: A row with NaN in any of these is dropped from the ranking.
RANK_COLUMNS = ("mom_63", "mom_126", "mom_252", "rel_mom_126_vs_benchmark", "sma_200_gap",
                "vol_63", "high_63_gap")
SCORE_WEIGHTS = {"mom_126": 0.35, "mom_252": 0.20, "rel_mom_126_vs_benchmark": 0.20,
                 "pullback_quality": 0.20, "vol_63": -0.05}
REGIMES = ("hard_defense", "risk_on_hold_band", "risk_on_entry", "entry_wait")
_FEATURES = ("mom_20", "mom_63", "mom_126", "mom_252", "sma_50_gap", "sma_200_gap",
             "high_63_gap", "vol_63")
_NUMERIC = ("candidate_rank", "history_days", *_FEATURES, *BENCHMARK_COLUMNS,
            "benchmark_mom_126")
_EPS = 1e-12
_TOP = 5
_LEVERAGE_TOLERANCE = 0.05


class Product(BaseModel):
    """One product-map entry: the 2x product traded for an underlying (features.md §4.4)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    trade_symbol: str | None = Field(default=None, pattern=SYMBOL_PATTERN)
    product_leverage: float = 2.0
    product_expense_ratio: float = Field(default=0.01, ge=0)
    product_available: bool = True

    @field_validator("trade_symbol", mode="before")
    @classmethod
    def _symbol(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip().upper()
            return v or None
        return v

    @model_validator(mode="after")
    def _checks(self) -> Product:
        if self.product_available:  # unavailable rows are not checked (reference)
            if not self.trade_symbol:
                raise ValueError("an available product needs a trade_symbol")
            if abs(self.product_leverage - 2.0) > _LEVERAGE_TOLERANCE:
                raise ValueError(f"product_leverage {self.product_leverage} is not 2 +- 0.05")
        return self


class Parameters(ProfileParameters):
    """Parameters of dynamic_mega_leveraged_pullback; defaults live in its manifest."""

    benchmark_symbol: str = Field(pattern=SYMBOL_PATTERN, description="gate benchmark (QQQ)")
    safe_haven: str = Field(pattern=SYMBOL_PATTERN, description="parking symbol (BOXX)")
    candidate_universe_size: int = Field(ge=1, description="builder top-N and profile cut")
    holdings_count: int = Field(ge=1)
    single_name_cap: float = Field(gt=0, le=1)
    min_position_value_usd: float = Field(ge=0, description="0 disables the count reduction")
    hold_buffer: int = Field(ge=0)
    hold_bonus: float
    max_product_exposure: float = Field(ge=0, le=1)
    leverage_multiple: float = Field(gt=0, description="diagnostics only")
    atr_period: int = Field(ge=1, description="builder: ATR window of the benchmark")
    sma_period: int = Field(ge=1, description="builder: SMA window of the benchmark")
    atr_entry_scale: float
    entry_line_floor: float = Field(gt=0)
    entry_line_cap: float = Field(gt=0)
    atr_exit_scale: float
    exit_line_floor: float = Field(gt=0)
    exit_line_cap: float = Field(gt=0)
    product_map: dict[str, Product] = Field(description="builder: underlying -> 2x product")
    universe_lag_sessions: int = Field(ge=0, description="builder: universe availability lag")

    @field_validator("product_map", mode="before")
    @classmethod
    def _map(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for key, item in v.items():
            name = str(key).strip().upper()
            if name in out:
                raise ValueError(f"underlying {name!r} is listed twice")
            out[name] = {"trade_symbol": item} if isinstance(item, str) else item
        return out

    @model_validator(mode="after")
    def _consistent(self) -> Parameters:
        if self.benchmark_symbol == self.safe_haven:
            raise ValueError("benchmark_symbol and safe_haven must differ")
        for lo, hi in (("entry_line_floor", "entry_line_cap"),
                       ("exit_line_floor", "exit_line_cap")):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(f"{lo} must not exceed {hi}")
        for und, prod in self.product_map.items():
            if not re.match(SYMBOL_PATTERN, und):
                raise ValueError(f"product_map key {und!r} is not a symbol")
            if prod.trade_symbol in (self.benchmark_symbol, self.safe_haven):
                raise ValueError(f"product_map maps {und} to {prod.trade_symbol}, which is the "
                                 "benchmark or the safe haven")
        return self


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """The benchmark row and the gate's values must exist (spec fix 5)."""
    return {params.benchmark_symbol: BENCHMARK_COLUMNS}


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def size_multiplier(depth: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    """Position-size multiplier of each row (profiles.md §2.9 ranking step 3)."""
    with np.errstate(invalid="ignore"):
        mult = np.select([depth < 0.02, depth < 0.06, depth < 0.16, depth < 0.28],
                         [0.45, 0.85, 1.25, 0.75], 0.0)
        mult = np.where((f["mom_20"] > 0.18) | (f["sma_50_gap"] > 0.16), mult * 0.50, mult)
        mult = np.where(f["sma_200_gap"] < 0.03, mult * 0.60, mult)
        mult = np.where(f["rel_mom_126_vs_benchmark"] < -0.08, mult * 0.50, mult)
        trend_ok = (f["sma_200_gap"] > 0) & (f["mom_126"] > 0)  # NaN compares False
    return np.clip(np.where(trend_ok, mult, 0.0), 0.0, 1.30)


def rank_candidates(f: dict[str, np.ndarray], underlyings: np.ndarray, products: np.ndarray,
                    held: frozenset[str], hold_bonus: float) -> dict[str, np.ndarray]:
    """Ranking (steps 1-6): arrays of the kept rows, best first.

    ``f`` maps feature names (incl. ``rel_mom_126_vs_benchmark``) to arrays aligned with
    ``underlyings``/``products``. Returns ``index`` (positions in the input), ``score`` (hold
    bonus included), ``size_multiplier``, ``pullback_depth`` and ``pullback_quality``.
    """
    keep = np.ones(underlyings.size, dtype=bool)
    for name in RANK_COLUMNS:
        keep &= ~np.isnan(f[name])
    depth = np.abs(np.minimum(f["high_63_gap"], 0.0))
    quality = np.clip(1.0 - np.abs(depth - 0.10) / 0.10, -1.0, 1.0)
    mult = size_multiplier(depth, f)
    idx = np.flatnonzero(keep & (mult > 0))
    cols = {**f, "pullback_quality": quality}
    # one grouped call (group = score input) instead of five: same ddof-0 z per input
    stacked = np.concatenate([cols[name][idx] for name in SCORE_WEIGHTS])
    z = grouped_zscore(stacked, np.repeat(np.arange(len(SCORE_WEIGHTS)), idx.size))
    score = np.zeros(idx.size)
    for k, weight in enumerate(SCORE_WEIGHTS.values()):
        score = score + weight * z[k * idx.size:(k + 1) * idx.size]
    bonus = np.fromiter((p in held for p in products[idx]), dtype=bool, count=idx.size)
    score = score + hold_bonus * bonus
    order = rank_order(underlyings[idx].astype(str), score, quality[idx], f["mom_126"][idx])
    pick = idx[order]
    return {"index": pick, "score": score[order], "size_multiplier": mult[pick],
            "pullback_depth": depth[pick], "pullback_quality": quality[pick]}


def _columns(frame: Any) -> dict[str, np.ndarray]:
    """The columns the profile reads. The validated frame stores every number as float64, so
    one ``select_dtypes`` block replaces 15 column look-ups (~20 us each)."""
    floats = frame.select_dtypes("float64")
    table = floats.to_numpy()
    pos = {c: i for i, c in enumerate(floats.columns)}
    out = {c: table[:, pos[c]] for c in _NUMERIC}
    for c in ("eligible", "product_available"):
        out[c] = frame[c].to_numpy(dtype=bool)
    for c in ("symbol", "underlying_symbol"):  # missing (NaN/None) or blank -> None
        out[c] = np.array([v if isinstance(v, str) and v else None
                           for v in frame[c].to_numpy(dtype=object)], dtype=object)
    return out


def _candidates(cols: dict[str, np.ndarray], params: Parameters) -> np.ndarray:
    """Row positions of the candidate set, in candidate order (step 1)."""
    symbols, underlyings = cols["symbol"], cols["underlying_symbol"]
    named = np.array([s is not None and u is not None for s, u in zip(symbols, underlyings,
                                                                     strict=True)], dtype=bool)
    ok = (cols["eligible"] & cols["product_available"] & named
          & (symbols != params.benchmark_symbol))
    rows = np.flatnonzero(ok)
    rank = cols["candidate_rank"][rows]
    rows = rows[np.lexsort((underlyings[rows].astype(str), rank))]  # NaN ranks sort last
    seen: set[str] = set()
    out = []
    for r in rows:
        if underlyings[r] not in seen:
            seen.add(underlyings[r])
            out.append(r)
    return np.asarray(out[: params.candidate_universe_size], dtype=np.int64)


def _nullable(x: float) -> float | None:
    return x if math.isfinite(x) else None


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    """Candidates, QQQ gate, pullback ranking, hysteresis and capped product weights."""
    params: Parameters = inputs.params
    bench_sym, safe = params.benchmark_symbol, params.safe_haven
    num = _columns(inputs.frame)
    symbols, underlyings = num["symbol"], num["underlying_symbol"]
    held = frozenset(inputs.context.holdings)

    b = int(np.flatnonzero(symbols == bench_sym)[0])
    close, sma, atr, atr_pct = (float(num[c][b]) for c in BENCHMARK_COLUMNS)
    bench_mom = float(num["benchmark_mom_126"][b])
    entry_mult = _clamp(1 + atr_pct * params.atr_entry_scale, params.entry_line_floor,
                        params.entry_line_cap)
    exit_mult = _clamp(1 - atr_pct * params.atr_exit_scale, params.exit_line_floor,
                       params.exit_line_cap)
    entry_line, exit_line = sma * entry_mult, sma * exit_mult

    cand = _candidates(num, params)
    risk_symbols = symbols[cand].tolist()
    risk_active = any(s in held for s in risk_symbols)
    if close < exit_line:
        exposure, regime = 0.0, "hard_defense"
    elif risk_active:
        exposure, regime = params.max_product_exposure, "risk_on_hold_band"
    elif close > entry_line:
        exposure, regime = params.max_product_exposure, "risk_on_entry"
    else:
        exposure, regime = 0.0, "entry_wait"

    history = num["history_days"][cand]
    long_enough = history >= MIN_HISTORY_DAYS
    skipped = underlyings[cand][~long_enough].tolist()
    rows = cand[long_enough]
    feats = {c: num[c][rows] for c in _FEATURES}
    feats["rel_mom_126_vs_benchmark"] = feats["mom_126"] - bench_mom
    ranked = rank_candidates(feats, underlyings[rows], symbols[rows], held, params.hold_bonus)
    products = symbols[rows][ranked["index"]].tolist()
    ranked_und = underlyings[rows][ranked["index"]].tolist()

    equity = inputs.context.total_equity
    count = effective_count(params.holdings_count, exposure, equity,
                            params.min_position_value_usd)
    weights: dict[str, float] = {}
    chosen: list[str] = []
    if products and exposure > 0 and count > 0:
        chosen = select_with_hysteresis(products, held, count, params.hold_buffer)
        mult = dict(zip(products, ranked["size_multiplier"].tolist(), strict=True))
        base = exposure / len(chosen)
        raw = {s: min(params.single_name_cap, base * mult[s]) for s in chosen}
        total = sum(raw.values())
        scale = exposure / total if total > exposure else 1.0
        weights = {s: w * scale for s, w in raw.items() if w * scale > _EPS}
    invested = sum(weights.values())
    safe_weight = 1.0 - invested if 1.0 - invested > _EPS else 0.0

    pos = {s: i for i, s in enumerate(products)}
    depth = [float(ranked["pullback_depth"][pos[s]]) for s in weights]
    managed = list(dict.fromkeys(s for s in symbols.tolist() if s and s != bench_sym))
    managed += [s for s in (safe, *sorted(held)) if s not in managed and s != bench_sym]
    extras: dict[str, Any] = {
        "benchmark_close": close, "benchmark_sma": sma, "benchmark_sma_gap": close / sma - 1,
        "benchmark_atr": atr, "benchmark_atr_pct": atr_pct,
        "benchmark_entry_line": entry_line, "benchmark_exit_line": exit_line,
        "benchmark_entry_multiplier": entry_mult, "benchmark_exit_multiplier": exit_mult,
        "benchmark_mom_126": _nullable(bench_mom), "current_risk_active": risk_active,
        "target_product_exposure": exposure, "realized_product_exposure": invested,
        "underlying_exposure": invested * params.leverage_multiple,
        "leverage_multiple": params.leverage_multiple, "safe_haven_weight": safe_weight,
        "selected_symbols": list(weights),
        "selected_underlyings": [ranked_und[pos[s]] for s in weights],
        "selected_count": len(weights), "candidate_count": len(products),
        "candidate_universe_size": params.candidate_universe_size,
        "skipped_short_history": skipped,
        "requested_holdings_count": params.holdings_count, "effective_holdings_count": count,
        "max_hold_rank": count + params.hold_buffer, "portfolio_total_equity": equity,
        "min_position_value_usd": params.min_position_value_usd,
        "single_name_cap": params.single_name_cap, "managed_symbols": managed,
        "top": [{"symbol": products[i], "underlying": ranked_und[i],
                 "score": float(ranked["score"][i]),
                 "size_multiplier": float(ranked["size_multiplier"][i]),
                 "pullback_depth": float(ranked["pullback_depth"][i])}
                for i in range(min(_TOP, len(products)))],
    }
    if weights:
        extras["avg_pullback_depth"] = sum(depth) / len(depth)
    positions = [PositionTarget(symbol=s, target_weight=w) for s, w in weights.items()]
    positions.append(PositionTarget(symbol=safe, target_weight=safe_weight, role=Role.SAFE_HAVEN))
    positions += [PositionTarget(symbol=s, target_weight=0.0) for s in sorted(held)
                  if s not in weights and s not in (safe, bench_sym)]
    diagnostics = Diagnostics(
        signal="rebalance" if weights else "safe_haven_only", regime=regime,
        benchmark_symbol=bench_sym, benchmark_price=close, safe_haven_symbol=safe,
        snapshot_as_of=inputs.snapshot_as_of, extras=extras)
    flags = [RiskFlag.HARD_DEFENSE] if regime == "hard_defense" else []
    return inputs.decide(positions, diagnostics, flags)
