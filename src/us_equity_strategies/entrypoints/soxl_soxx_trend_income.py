"""soxl_soxx_trend_income: tiered SOXL/SOXX trend gate, BOXX parking and a growing income layer.

Value-mode profile restating spec/profiles.md §2.8 with the intentional fixes: no
``account_hash`` is needed, a missing trend-source row is invalid input (spec fix 5, checked by
:func:`required_rows` before evaluation), ``trend_ma_window`` is the moving-average length the
snapshot builder computes (spec fix 7), and no text is built here (fix 8).

Rules (``E`` = portfolio total equity, ``mv`` = market values, ``C`` = core equity):

1. ``current_min_trade = max(min_trade_floor, E * min_trade_ratio)``.
2. Income layer: ratio 0 for ``E <= start``, linear 0 -> max on ``(start, 2 start]``, max above;
   ``locked = max(mv QQQI + mv SPYI, E * ratio)``; ``C = max(0, E - locked)``. The layer only
   grows: existing income holdings are never sold down.
3. Buffers clamped to [0, 0.25]; entry/exit ``None``/NaN -> 0.03; mid ``None``/NaN ->
   ``min(0.06, entry)``; then ``mid = min(mid, entry)``.
4. Lines on the trend source: entry ``ma (1 + entry)``, mid ``ma (1 + mid)``, exit
   ``ma (1 - exit)``; SOXL lines are diagnostics only. A NaN trend-source close or ma_trend
   falls back to SOXL's value (each field on its own).
5. ``current_blend_active`` = ``int(quantity SOXL) > 0`` or ``mv SOXL > current_min_trade``.
6. Tier (strict): ``full`` if price > entry line; else ``mid`` if price > mid line or
   (active and price > exit line); else ``defensive``.
7. SOXL ratio = soxl weight (full) or ``min(mid weight, soxl weight)`` (mid), SOXX ratio =
   active SOXX weight, both scaled down to sum 1 if they exceed it; defensive: SOXL 0, SOXX =
   defensive weight. The four blend weights are clamped to [0, 1].
8. Targets: SOXL = C soxl_ratio, SOXX = C soxx_ratio, BOXX = max(0, C - SOXL - SOXX),
   QQQI = mv + add qqqi_weight, SPYI = mv + add spyi_weight. The cash reserve is **not**
   deducted from targets; it only lowers ``investable_cash``.

Diagnostics codes
-----------------
``signal``:
    ``"blend_gate_risk_on"`` (tier full or mid; reference wording "🚀 RISK-ON (SOXX+SOXL)" /
    "{trend_symbol} above {window}d gated entry, hold SOXL {soxl_ratio:.1%} + SOXX
    {soxx_ratio:.1%}"), ``"blend_gate_defensive"`` (reference wording "🛡️ DE-LEVER (SOXX)" /
    "{trend_symbol} below gated entry, hold defensive SOXX {soxx_ratio:.1%}").
``regime``:
    the blend tier, ``"full"``, ``"mid"`` or ``"defensive"``.
``benchmark_symbol`` / ``benchmark_price``: the trend source and its (possibly fallback) price.
``trade_threshold_value`` = ``E * rebalance_threshold_ratio``; ``reserved_cash`` =
``E * cash_reserve_ratio``.

``extras`` keys (numbers; ``None`` when undefined):
    ``deploy_ratio`` (soxl_ratio + soxx_ratio, e.g. 0.9; the reference's deploy_ratio_text is
    it as a 1-decimal percentage), ``income_ratio`` (the ratio of rule 2),
    ``income_locked_ratio`` (locked / E, 0.0 when E <= 0), ``active_risk_asset``
    (``"SOXX+SOXL"`` or ``"SOXX"``), ``investable_cash`` (max(0, available cash - E reserve
    ratio); available cash = buying power, else cash, else 0, falsy values falling through),
    ``current_min_trade``, ``total_strategy_equity`` (E), ``allocation_mode``,
    ``trend_entry_buffer``, ``trend_mid_buffer``, ``trend_exit_buffer`` (effective values),
    ``blend_tier``, ``soxl_entry_line``, ``soxl_exit_line``, ``trend_entry_line``,
    ``trend_mid_line``, ``trend_exit_line``, ``trend_symbol``, ``trend_price``, ``trend_ma``,
    ``trend_ma20``, ``trend_ma20_slope`` (pass-through), ``trend_ma_window``, ``soxl_ratio``,
    ``soxx_ratio``, ``current_blend_active``, and ``trend_fallback`` (the trend-source fields
    that fell back to SOXL: a subset of ``["close", "ma_trend"]``).

Parameter validation: ratios must lie in [0, 1] (the income weights must also sum to at most
1, so the income add is never over-allocated); the buffers and blend weights accept any finite
number and are clamped as the spec says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..contract import Diagnostics, PositionTarget, ProfileInputs, Role, StrategyDecision
from ..contract._base import SYMBOL_PATTERN
from ..errors import InputError
from ..params import ProfileParameters

__all__ = ["ALLOCATION_MODE", "MANAGED_SYMBOLS", "Parameters", "evaluate", "income_ratio",
           "required_rows"]

ALLOCATION_MODE = "soxx_gate_tiered_blend"
SOXL, SOXX, BOXX, QQQI, SPYI = "SOXL", "SOXX", "BOXX", "QQQI", "SPYI"
MANAGED_SYMBOLS = (SOXL, SOXX, BOXX, QQQI, SPYI)
DEFAULT_BUFFER = 0.03
DEFAULT_MID_BUFFER = 0.06
MAX_BUFFER = 0.25
_NUMERIC = ("close", "ma_trend", "ma20", "ma20_slope")

Ratio = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class Parameters(ProfileParameters):
    """Parameters (defaults in ``manifests/soxl_soxx_trend_income.toml``)."""

    trend_ma_window: int = Field(ge=1)
    cash_reserve_ratio: Ratio
    min_trade_ratio: Ratio
    min_trade_floor: NonNegative
    rebalance_threshold_ratio: Ratio
    income_layer_start_usd: NonNegative
    income_layer_max_ratio: Ratio
    income_layer_qqqi_weight: Ratio
    income_layer_spyi_weight: Ratio
    trend_entry_buffer: float | None
    trend_mid_buffer: float | None
    trend_exit_buffer: float | None
    attack_allocation_mode: Literal["soxx_gate_tiered_blend"]
    blend_gate_trend_source: str = Field(pattern=SYMBOL_PATTERN)
    blend_gate_soxl_weight: Finite
    blend_gate_mid_soxl_weight: Finite
    blend_gate_active_soxx_weight: Finite
    blend_gate_defensive_soxx_weight: Finite

    @field_validator("trend_entry_buffer", "trend_mid_buffer", "trend_exit_buffer",
                     mode="before")
    @classmethod
    def _nan_is_unset(cls, v: Any) -> Any:
        # NaN means "use the default" (spec §2.8 step 3): stored as None, so the base model's
        # NaN ban does not apply and dumps stay JSON.
        return None if isinstance(v, float) and math.isnan(v) else v

    @field_validator("blend_gate_trend_source", mode="before")
    @classmethod
    def _upper_symbol(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _income_weights(self) -> Parameters:
        total = self.income_layer_qqqi_weight + self.income_layer_spyi_weight
        if total > 1.0 + 1e-9:
            raise ValueError(
                "income_layer_qqqi_weight + income_layer_spyi_weight must be <= 1, got "
                f"{self.income_layer_qqqi_weight} + {self.income_layer_spyi_weight} = {total}"
            )
        return self


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """SOXL needs close and ma_trend; the trend-source row must exist (its NaNs fall back)."""
    rows: dict[str, tuple[str, ...]] = {params.blend_gate_trend_source: ()}
    rows[SOXL] = ("close", "ma_trend")
    return rows


def income_ratio(equity: float, start: float, max_ratio: float) -> float:
    """Income-layer share of equity: 0 up to ``start``, linear to ``max_ratio`` at ``2 start``."""
    if equity <= start:
        return 0.0
    if equity > 2.0 * start:
        return max_ratio
    return max_ratio * (equity - start) / start


def _num(value: Any) -> float:
    """A snapshot cell as float; missing -> NaN."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _rows(columns: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The snapshot's numeric cells by symbol, read from the typed numpy columns."""
    cols = {c: columns[c].tolist() for c in _NUMERIC if c in columns}
    return {sym: {c: v[i] for c, v in cols.items()}
            for i, sym in enumerate(columns["symbol"].tolist())}


def _or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _buffer(value: float | None, default: float) -> float:
    if value is None or math.isnan(value):
        return default
    return _clamp(value, 0.0, MAX_BUFFER)


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    """Value targets for SOXL, SOXX, BOXX, QQQI and SPYI (see the module docstring)."""
    p: Parameters = inputs.params
    portfolio = inputs.context.portfolio
    if portfolio is None:
        raise InputError(
            "soxl_soxx_trend_income is a value-mode profile and needs the account: pass a "
            "portfolio with the total equity in the evaluation context (CLI: --equity)"
        )
    rows = _rows(inputs.columns)
    soxl_row = rows[SOXL]
    trend_symbol = p.blend_gate_trend_source
    trend_row = rows[trend_symbol]
    soxl_price = _num(soxl_row.get("close"))
    soxl_ma = _num(soxl_row.get("ma_trend"))
    raw_price = _num(trend_row.get("close"))
    raw_ma = _num(trend_row.get("ma_trend"))
    trend_price = raw_price if math.isfinite(raw_price) else soxl_price
    trend_ma = raw_ma if math.isfinite(raw_ma) else soxl_ma
    fallback = [name for name, v in (("close", raw_price), ("ma_trend", raw_ma))
                if not math.isfinite(v)]

    equity = portfolio.total_equity
    mv = {s: portfolio.market_value(s) for s in MANAGED_SYMBOLS}
    # The reference casts quantities to int, so a fractional SOXL lot below one share counts 0.
    soxl_qty = int(portfolio.quantity(SOXL))
    available_cash = portfolio.buying_power or portfolio.cash or 0.0

    # 1-2. minimum trade and the income layer (it only grows).
    min_trade = max(p.min_trade_floor, equity * p.min_trade_ratio)
    current_income = mv[QQQI] + mv[SPYI]
    ratio = income_ratio(equity, p.income_layer_start_usd, p.income_layer_max_ratio)
    locked = max(current_income, equity * ratio)
    add = max(0.0, locked - current_income)
    core = max(0.0, equity - locked)

    # 3-4. buffers and lines.
    entry = _buffer(p.trend_entry_buffer, DEFAULT_BUFFER)
    mid = min(_buffer(p.trend_mid_buffer, min(DEFAULT_MID_BUFFER, entry)), entry)
    exit_ = _buffer(p.trend_exit_buffer, DEFAULT_BUFFER)
    entry_line = trend_ma * (1.0 + entry)
    mid_line = trend_ma * (1.0 + mid)
    exit_line = trend_ma * (1.0 - exit_)

    # 5-7. hysteresis and the tier (strict inequalities).
    active = soxl_qty > 0 or mv[SOXL] > min_trade
    if trend_price > entry_line:
        tier = "full"
    elif trend_price > mid_line or (active and trend_price > exit_line):
        tier = "mid"
    else:
        tier = "defensive"

    # 8. ratios.
    soxl_w = _clamp(p.blend_gate_soxl_weight, 0.0, 1.0)
    mid_soxl_w = _clamp(p.blend_gate_mid_soxl_weight, 0.0, 1.0)
    active_soxx_w = _clamp(p.blend_gate_active_soxx_weight, 0.0, 1.0)
    defensive_soxx_w = _clamp(p.blend_gate_defensive_soxx_weight, 0.0, 1.0)
    if tier == "defensive":
        soxl_ratio, soxx_ratio = 0.0, defensive_soxx_w
    else:
        soxl_ratio = soxl_w if tier == "full" else min(mid_soxl_w, soxl_w)
        soxx_ratio = active_soxx_w
        total = soxl_ratio + soxx_ratio
        if total > 1.0:
            soxl_ratio, soxx_ratio = soxl_ratio / total, soxx_ratio / total

    # 9. targets.
    soxl_value = core * soxl_ratio
    soxx_value = core * soxx_ratio
    positions = (
        PositionTarget(symbol=SOXL, target_value=soxl_value, role=Role.RISK),
        PositionTarget(symbol=SOXX, target_value=soxx_value, role=Role.RISK),
        PositionTarget(symbol=BOXX, target_value=max(0.0, core - soxl_value - soxx_value),
                       role=Role.SAFE_HAVEN),
        PositionTarget(symbol=QQQI, target_value=mv[QQQI] + add * p.income_layer_qqqi_weight,
                       role=Role.INCOME),
        PositionTarget(symbol=SPYI, target_value=mv[SPYI] + add * p.income_layer_spyi_weight,
                       role=Role.INCOME),
    )

    extras = {
        "deploy_ratio": soxl_ratio + soxx_ratio,
        "income_ratio": ratio,
        "income_locked_ratio": locked / equity if equity > 0 else 0.0,
        "active_risk_asset": "SOXX" if tier == "defensive" else "SOXX+SOXL",
        "investable_cash": max(0.0, available_cash - equity * p.cash_reserve_ratio),
        "current_min_trade": min_trade,
        "total_strategy_equity": equity,
        "allocation_mode": p.attack_allocation_mode,
        "trend_entry_buffer": entry,
        "trend_mid_buffer": mid,
        "trend_exit_buffer": exit_,
        "blend_tier": tier,
        "soxl_entry_line": _or_none(soxl_ma * (1.0 + entry)),
        "soxl_exit_line": _or_none(soxl_ma * (1.0 - exit_)),
        "trend_entry_line": _or_none(entry_line),
        "trend_mid_line": _or_none(mid_line),
        "trend_exit_line": _or_none(exit_line),
        "trend_symbol": trend_symbol,
        "trend_price": _or_none(trend_price),
        "trend_ma": _or_none(trend_ma),
        "trend_ma20": _or_none(_num(trend_row.get("ma20"))),
        "trend_ma20_slope": _or_none(_num(trend_row.get("ma20_slope"))),
        "trend_ma_window": p.trend_ma_window,
        "soxl_ratio": soxl_ratio,
        "soxx_ratio": soxx_ratio,
        "current_blend_active": active,
        "trend_fallback": fallback,
    }
    diagnostics = Diagnostics(
        signal="blend_gate_defensive" if tier == "defensive" else "blend_gate_risk_on",
        regime=tier,
        benchmark_symbol=trend_symbol,
        benchmark_price=_or_none(trend_price),
        safe_haven_symbol=BOXX,
        snapshot_as_of=inputs.snapshot_as_of,
        trade_threshold_value=equity * p.rebalance_threshold_ratio,
        reserved_cash=equity * p.cash_reserve_ratio,
        extras=extras,
    )
    return inputs.decide(positions, diagnostics)
