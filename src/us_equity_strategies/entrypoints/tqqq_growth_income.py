"""tqqq_growth_income: QQQ/TQQQ dual drive with a BOXX park and an optional income layer.

Value-mode profile restating spec/profiles.md §2.7 with the intentional fixes: no
``account_hash`` is needed, an explicit ``0`` weight is honoured (the reference's
``weight or 0.45`` turned it into 0.45), and no text is built here (a renderer phrases the
codes below in English or Chinese).

Rules (indicators come from the benchmark row the builder wrote):

* ``current_risk_active`` = the portfolio holds TQQQ or the unlevered symbol (quantity > 0).
* State machine: a held position exits when the price is not above MA200; an idle account
  enters when the price is above MA200 and (if required) the MA20 slope is positive; a held
  position above MA200 stays on even with a negative slope.
* Pullback path (independent of holdings): allowed, price not above MA200, price > MA20,
  MA20 slope > 0 (always required) and the rebound gate passes.
* Income layer on total equity ``E`` with threshold ``T``: ratio 0 below ``T``, linear
  0 -> 0.40 on ``[T, 2T]``, 0.60 above ``2T`` (the jump at ``2T`` is the reference's).

Diagnostics codes
-----------------
``signal`` (the reference's status icon):
    ``"entry"`` risk on from an idle account; ``"hold"`` risk on while already holding;
    ``"exit"`` risk off while holding (MA200 break); ``"idle"`` risk off, nothing held.
``regime``:
    ``"risk_on"`` the state machine is active; ``"pullback_risk_on"`` only the pullback path
    is on; ``"risk_off"`` otherwise.

``extras`` keys (numbers are ``None`` when undefined, e.g. MA200 with < 200 rows):
    ``ma200``, ``exit_line`` (= ma200), ``ma20``, ``ma20_slope`` (MA20[t] - MA20[t-1]),
    ``pullback_rebound`` (price / W-day low - 1), ``pullback_rebound_window`` (W),
    ``pullback_rebound_threshold``, ``pullback_rebound_threshold_mode``,
    ``pullback_rebound_volatility`` (sample std of the last W returns; ``None`` in fixed mode
    or when unavailable), ``pullback_rebound_volatility_multiplier``, ``rebound_ok``,
    ``above_ma200``, ``current_risk_active``, ``income_ratio``, ``income_value``,
    ``strategy_equity`` (equity net of the income layer), ``total_equity``,
    ``real_buying_power`` (portfolio buying power, ``None`` -> 0), ``unlevered_symbol``.

Parameter ranges: ratios and weights must lie in [0, 1] and the volatility multiplier and
fixed threshold must be >= 0; out-of-range values are rejected instead of being clamped
silently (the spec's clamps are kept in the arithmetic and are no-ops for valid values).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import Field, field_validator

from ..contract import Diagnostics, PositionTarget, ProfileInputs, Role, StrategyDecision
from ..contract._base import SYMBOL_PATTERN
from ..errors import InputError
from ..params import ProfileParameters

__all__ = ["ALLOCATION_MODE", "SAFE_HAVEN", "Parameters", "evaluate", "required_rows"]

ALLOCATION_MODE = "fixed_qqq_tqqq_pullback"
THRESHOLD_MODES = ("fixed", "volatility_scaled")
LEVERED = "TQQQ"
SAFE_HAVEN = "BOXX"
INCOME_SPYI = "SPYI"
INCOME_QQQI = "QQQI"
_RESERVED_UNLEVERED = frozenset({LEVERED, SAFE_HAVEN, INCOME_SPYI, INCOME_QQQI})
# Income layer: ratio reached at 2T by the linear ramp, and the ratio above 2T.
INCOME_RAMP_TOP = 0.40
INCOME_ABOVE_2T = 0.60

_SIGNAL_COLUMNS = ("close", "ma200", "ma20", "ma20_slope", "pullback_low", "rebound_volatility")

Ratio = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class Parameters(ProfileParameters):
    """Parameters of tqqq_growth_income (defaults in ``manifests/tqqq_growth_income.toml``)."""

    benchmark_symbol: str = Field(pattern=SYMBOL_PATTERN)
    income_threshold_usd: NonNegative
    qqqi_income_ratio: Ratio
    cash_reserve_ratio: Ratio
    rebalance_threshold_ratio: Ratio
    attack_allocation_mode: str
    dual_drive_qqq_weight: Ratio
    dual_drive_tqqq_weight: Ratio
    dual_drive_unlevered_symbol: str
    dual_drive_cash_reserve_ratio: Ratio
    dual_drive_allow_pullback: bool
    dual_drive_require_ma20_slope: bool
    dual_drive_pullback_rebound_window: int = Field(ge=1)
    dual_drive_pullback_rebound_threshold_mode: str
    dual_drive_pullback_rebound_threshold: NonNegative
    dual_drive_pullback_rebound_volatility_multiplier: NonNegative

    @field_validator("benchmark_symbol", mode="before")
    @classmethod
    def _upper_symbol(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("attack_allocation_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        mode = v.strip().lower()
        if mode != ALLOCATION_MODE:
            raise ValueError(f"attack_allocation_mode must be {ALLOCATION_MODE!r}, got {v!r}")
        return mode

    @field_validator("dual_drive_unlevered_symbol")
    @classmethod
    def _unlevered(cls, v: str) -> str:
        symbol = v.strip().upper()
        if not symbol:
            raise ValueError("dual_drive_unlevered_symbol must not be empty")
        if symbol in _RESERVED_UNLEVERED:
            raise ValueError(
                f"dual_drive_unlevered_symbol must not be one of "
                f"{', '.join(sorted(_RESERVED_UNLEVERED))}, got {symbol!r}"
            )
        if not re.match(SYMBOL_PATTERN, symbol):
            raise ValueError(f"dual_drive_unlevered_symbol {symbol!r} is not a valid ticker")
        return symbol

    @field_validator("dual_drive_pullback_rebound_threshold_mode")
    @classmethod
    def _threshold_mode(cls, v: str) -> str:
        mode = v.strip().lower()
        if mode not in THRESHOLD_MODES:
            raise ValueError(
                f"dual_drive_pullback_rebound_threshold_mode must be one of "
                f"{', '.join(THRESHOLD_MODES)}, got {v!r}"
            )
        return mode


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """The benchmark (signal) row must exist with a close (spec fix 5)."""
    return {params.benchmark_symbol: ("close",)}


def _num(value: Any) -> float:
    """A snapshot cell as float; missing -> NaN."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _signal_row(inputs: ProfileInputs, symbol: str) -> dict[str, Any]:
    """The benchmark row only (presence is pre-validated by ``required_rows``)."""
    return inputs.row(symbol, _SIGNAL_COLUMNS) or {}


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def income_ratio(equity: float, threshold: float) -> float:
    """Share of equity in the income layer (0; linear 0 -> 0.40 on [T, 2T]; 0.60 above 2T).

    With ``T = 0`` the ramp is degenerate: any positive equity is above ``2T`` (0.60) and
    zero equity has no income either way.
    """
    if equity < threshold:
        return 0.0
    if equity <= 2.0 * threshold:
        return INCOME_RAMP_TOP * (equity - threshold) / threshold if threshold > 0 else 0.0
    return INCOME_ABOVE_2T


def _rebound_threshold(p: Parameters, volatility: float) -> tuple[float, float]:
    """(threshold, volatility used); the fixed value is the fallback without volatility."""
    fixed = max(0.0, p.dual_drive_pullback_rebound_threshold)
    if p.dual_drive_pullback_rebound_threshold_mode == "fixed":
        return fixed, math.nan
    if not math.isfinite(volatility):
        return fixed, math.nan
    return max(0.0, volatility * max(0.0, p.dual_drive_pullback_rebound_volatility_multiplier)), \
        volatility


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    """Value targets for TQQQ, the unlevered symbol, BOXX, SPYI and QQQI (see module doc)."""
    p: Parameters = inputs.params
    portfolio = inputs.context.portfolio
    if portfolio is None:
        raise InputError(
            "tqqq_growth_income is a value-mode profile and needs the account's total equity: "
            "pass a portfolio in the evaluation context (CLI: --equity)"
        )
    unlevered = p.dual_drive_unlevered_symbol
    row = _signal_row(inputs, p.benchmark_symbol)
    price = _num(row.get("close"))
    ma200 = _num(row.get("ma200"))
    ma20 = _num(row.get("ma20"))
    slope = _num(row.get("ma20_slope"))
    low = _num(row.get("pullback_low"))
    window = max(1, p.dual_drive_pullback_rebound_window)

    threshold_rebound, vol = _rebound_threshold(p, _num(row.get("rebound_volatility")))
    rebound = price / low - 1.0 if math.isfinite(low) and low > 0 else math.nan
    rebound_ok = threshold_rebound <= 0 or rebound > threshold_rebound  # NaN -> False

    current_risk_active = portfolio.quantity(LEVERED) > 0 or portfolio.quantity(unlevered) > 0
    above = price > ma200  # NaN MA200 (< 200 rows) -> False
    positive_slope = math.isfinite(slope) and slope > 0
    slope_ok = positive_slope if p.dual_drive_require_ma20_slope else True
    risk_active = current_risk_active
    if current_risk_active and not above:
        risk_active = False
    elif not current_risk_active and above and slope_ok:
        risk_active = True
    pullback_on = (p.dual_drive_allow_pullback and not above and math.isfinite(ma20)
                   and price > ma20 and positive_slope and rebound_ok)

    equity = portfolio.total_equity
    ratio = income_ratio(equity, p.income_threshold_usd)
    income = equity * ratio
    qqqi = income * p.qqqi_income_ratio
    spyi = income * (1.0 - p.qqqi_income_ratio)
    strategy_equity = max(0.0, equity - income)

    if risk_active or pullback_on:
        reserved = strategy_equity * _clamp01(p.dual_drive_cash_reserve_ratio)
        t = _clamp01(p.dual_drive_tqqq_weight)
        u = _clamp01(p.dual_drive_qqq_weight)
        max_risk = max(0.0, 1.0 - reserved / strategy_equity) if strategy_equity > 0 else 0.0
        if t + u > max_risk:
            scale = max_risk / (t + u)
            t, u = t * scale, u * scale
        tqqq = strategy_equity * t
        unlev = strategy_equity * u
        boxx = max(0.0, strategy_equity - reserved - tqqq - unlev)
        signal = "hold" if current_risk_active else "entry"
    else:
        reserved = strategy_equity * p.cash_reserve_ratio
        tqqq = unlev = 0.0
        boxx = max(0.0, strategy_equity - reserved)
        signal = "exit" if current_risk_active else "idle"
    regime = "risk_on" if risk_active else "pullback_risk_on" if pullback_on else "risk_off"
    trade_threshold = equity * p.rebalance_threshold_ratio

    positions = (
        PositionTarget(symbol=LEVERED, target_value=tqqq, role=Role.RISK),
        PositionTarget(symbol=unlevered, target_value=unlev, role=Role.RISK),
        PositionTarget(symbol=SAFE_HAVEN, target_value=boxx, role=Role.SAFE_HAVEN),
        PositionTarget(symbol=INCOME_SPYI, target_value=spyi, role=Role.INCOME),
        PositionTarget(symbol=INCOME_QQQI, target_value=qqqi, role=Role.INCOME),
    )
    extras = {
        "ma200": _finite_or_none(ma200),
        "exit_line": _finite_or_none(ma200),
        "ma20": _finite_or_none(ma20),
        "ma20_slope": _finite_or_none(slope),
        "pullback_rebound": _finite_or_none(rebound),
        "pullback_rebound_window": window,
        "pullback_rebound_threshold": threshold_rebound,
        "pullback_rebound_threshold_mode": p.dual_drive_pullback_rebound_threshold_mode,
        "pullback_rebound_volatility": _finite_or_none(vol),
        "pullback_rebound_volatility_multiplier":
            p.dual_drive_pullback_rebound_volatility_multiplier,
        "rebound_ok": bool(rebound_ok),
        "above_ma200": bool(above),
        "current_risk_active": bool(current_risk_active),
        "income_ratio": ratio,
        "income_value": income,
        "strategy_equity": strategy_equity,
        "total_equity": equity,
        "real_buying_power": portfolio.buying_power or 0.0,
        "unlevered_symbol": unlevered,
    }
    diagnostics = Diagnostics(
        signal=signal,
        regime=regime,
        benchmark_symbol=p.benchmark_symbol,
        benchmark_price=price,
        safe_haven_symbol=SAFE_HAVEN,
        snapshot_as_of=inputs.snapshot_as_of,
        trade_threshold_value=trade_threshold,
        reserved_cash=reserved,
        extras=extras,
    )
    return inputs.decide(positions, diagnostics)
