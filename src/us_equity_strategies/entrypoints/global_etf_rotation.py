"""global_etf_rotation: quarterly 13612W rotation across global ETFs with a daily canary.

Rules of spec/profiles.md §2.1, on the snapshot of spec/features.md §4.5 (built by
:mod:`us_equity_strategies.builders.global_etf_rotation`):

1. **Canary** (every day). For each ``canary_assets`` symbol in parameter order: no data
   (``close`` missing), NaN ``momentum_13612w`` or momentum ``< 0`` counts as bad.
2. **Emergency**: ``n_bad >= canary_bad_threshold`` -> ``{safe_haven: 1.0}`` with risk flag
   ``emergency``, on any day.
3. **Rebalance day** (fix 1: from ``context.as_of``, never the clock): the month of ``as_of``
   is in ``rebalance_months`` **and** ``as_of`` is the last NYSE session of that month
   (:func:`calendar.last_session_of_month`; e.g. 2024-03-28, because 2024-03-29 was Good
   Friday). Otherwise the decision is a hold (``no_execute``, reason ``not_rebalance_day``).
4. **Ranking**: ``ranking_pool`` symbols, in parameter order, whose row has a positive close,
   a finite momentum, ``sma_pass`` and ``eligible`` (for snapshots from our builder
   ``eligible`` adds nothing; for hand-made snapshots a False/NaN ``eligible`` excludes, spec
   fix 5). ``score = momentum + hold_bonus`` if the symbol is in ``context.holdings``. Stable
   sort by descending score (ties keep ``ranking_pool`` order), take ``top_n``.
5. None passes -> ``{safe_haven: 1.0}``, **not** an emergency. Otherwise each selected symbol
   gets ``1/top_n`` and the safe haven ``(1/top_n) * (top_n - count)``.

Momentum convention: the snapshot's ``P0`` is the latest close on or before ``as_of`` (the
current partial month counts), as in profiles.md §2.1. features.md §4.5 notes that the newer
upstream pipeline filters month-ends to ``<= as_of`` and so drops the partial month; we keep
the April 2026 reference rule. On a rebalance day (the last session of its month) both
conventions coincide.

Positions of an actionable decision: the selected symbols (role ``risk``), the safe haven
(role ``safe_haven``, always listed, weight 0.0 when nothing is parked), and an explicit 0.0
for every held symbol (``context.holdings``) of ``ranking_pool`` that is not selected, so the
platform liquidates it (platform_contract §1.5).

Diagnostics (machine codes only; renderers build the text, profiles.md fix 8):

``signal``
    ``emergency`` (canary tripped), ``daily_check`` (not a rebalance day, hold),
    ``no_candidate`` (rebalance day, nothing passes the filters: all in the safe haven;
    the reference's text is the emergency phrase with ``n_bad="SMA"``),
    ``quarterly_rebalance`` (rotation).
``regime``
    ``canary_emergency`` or ``canary_ok``.
``safe_haven_symbol`` = ``safe_haven``; ``benchmark_symbol`` is None (no benchmark price is
part of this rule); ``snapshot_as_of`` is the snapshot date.

``extras`` keys:

``n_bad_canaries`` (int), ``canary_bad_threshold`` (int)
``canary_status``
    One ``{"symbol", "momentum" (float, or null without a value), "ok" (bool),
    "reason"}`` per canary in parameter order; ``reason`` is ``ok``, ``no_data``,
    ``nan_momentum`` or ``negative_momentum``. Numbers are unrounded (the reference text
    shows 3 decimals: ``SPY:✅(0.014)``, ``EEM:❌(-0.008)``, ``AGG:❌(no data)``).
``is_rebalance_day`` (bool)
``rebalance_session``
    ISO date of the last NYSE session of the month of ``as_of``.
``next_rebalance_session``
    ISO date of the first last-session-of-a-rebalance-month on or after ``as_of``.
``top_n`` (int), ``hold_bonus`` (float)
``ranking``
    Every ranked symbol as ``{"symbol", "score"}`` in rank order (empty when the ranking
    step was not reached: emergency or hold).
``selected``
    The chosen symbols as ``{"symbol", "score", "momentum", "held"}`` in rank order (empty
    unless the signal is ``quarterly_rebalance``). Reference text:
    ``quarterly(n=2)\\n  Top: SMH(0.038), GLD(0.021)`` (scores, 3 decimals).
``safe_haven_weight`` (float, absent on a hold)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from .. import calendar
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

__all__ = ["Parameters", "evaluate", "is_rebalance_day", "required_rows"]

_SYMBOL = re.compile(SYMBOL_PATTERN)


def _check_symbols(values: tuple[str, ...], name: str) -> tuple[str, ...]:
    bad = [v for v in values if not _SYMBOL.match(v)]
    if bad:
        raise ValueError(f"{name}: {bad} are not upper-case ticker symbols")
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"{name}: duplicate symbols {dupes}")
    return values


class Parameters(ProfileParameters):
    """Parameters of ``global_etf_rotation``; defaults live in the manifest."""

    ranking_pool: tuple[str, ...] = Field(min_length=1, description="ranked ETFs, tie order")
    canary_assets: tuple[str, ...] = Field(description="daily canary symbols")
    safe_haven: str = Field(pattern=SYMBOL_PATTERN, description="parking symbol (BIL)")
    top_n: int = Field(ge=1, description="number of ETFs held")
    hold_bonus: float = Field(allow_inf_nan=False, description="score bonus of held ETFs")
    canary_bad_threshold: int = Field(ge=1, description="bad canaries that trigger emergency")
    rebalance_months: tuple[int, ...] = Field(min_length=1, description="months (1..12)")
    sma_period: int = Field(ge=1, description="trend-filter SMA length in rows")

    @field_validator("ranking_pool", "canary_assets")
    @classmethod
    def _symbols(cls, v: tuple[str, ...], info: Any) -> tuple[str, ...]:
        return _check_symbols(v, info.field_name)

    @field_validator("rebalance_months")
    @classmethod
    def _months(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        bad = [m for m in v if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months must be in 1..12, got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate months in {list(v)}")
        return v

    @model_validator(mode="after")
    def _safe_not_ranked(self) -> Parameters:
        # A ranked safe haven would be both a risk pick and the parking slot.
        if self.safe_haven in self.ranking_pool:
            raise ValueError(f"safe_haven {self.safe_haven!r} must not be in ranking_pool")
        return self


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """Every pool, canary and safe-haven symbol needs a row; its values may be missing."""
    symbols = {*params.ranking_pool, *params.canary_assets, params.safe_haven}
    return {s: () for s in sorted(symbols)}


def is_rebalance_day(as_of: dt.date, months: tuple[int, ...]) -> bool:
    """True when ``as_of`` is the last NYSE session of a month in ``months``."""
    return as_of.month in months and as_of == calendar.last_session_of_month(
        as_of.year, as_of.month)


def _next_rebalance_session(as_of: dt.date, months: tuple[int, ...]) -> dt.date:
    year, month = as_of.year, as_of.month
    for _ in range(25):
        if month in months:
            last = calendar.last_session_of_month(year, month)
            if last >= as_of:
                return last
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable: rebalance_months is non-empty")


_COLUMNS = ("close", "momentum_13612w", "sma_pass", "eligible")


def _rows(inputs: ProfileInputs) -> dict[str, dict[str, Any]]:
    # Column-wise tolist() on the typed numpy columns: plain Python values, no pandas.
    columns = inputs.columns
    data = {c: columns[c].tolist() for c in _COLUMNS}
    return {sym: {c: data[c][i] for c in _COLUMNS}
            for i, sym in enumerate(columns["symbol"].tolist())}


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _canaries(rows: dict[str, dict[str, Any]], symbols: tuple[str, ...]) -> list[dict[str, Any]]:
    status = []
    for sym in symbols:
        row = rows[sym]
        close = _finite(row["close"])
        mom = _finite(row["momentum_13612w"])
        if close is None or close <= 0:
            reason = "no_data"
        elif mom is None:
            reason = "nan_momentum"
        elif mom < 0:
            reason = "negative_momentum"
        else:
            reason = "ok"
        status.append({"symbol": sym, "momentum": mom, "ok": reason == "ok", "reason": reason})
    return status


def _rank(rows: dict[str, dict[str, Any]], params: Parameters,
          held: frozenset[str]) -> list[dict[str, Any]]:
    candidates = []
    for sym in params.ranking_pool:
        row = rows[sym]
        close, mom = _finite(row["close"]), _finite(row["momentum_13612w"])
        if close is None or close <= 0 or mom is None or not row["sma_pass"] \
                or not row["eligible"]:
            continue
        bonus = params.hold_bonus if sym in held else 0.0
        candidates.append({"symbol": sym, "score": mom + bonus, "momentum": mom,
                           "held": sym in held})
    # sorted() is stable: equal scores keep ranking_pool order.
    return sorted(candidates, key=lambda c: -c["score"])


def _positions(selected: dict[str, float], safe: str, safe_weight: float,
               held: frozenset[str], pool: tuple[str, ...]) -> list[PositionTarget]:
    out = [PositionTarget(symbol=s, target_weight=w) for s, w in selected.items()]
    out.append(PositionTarget(symbol=safe, target_weight=safe_weight, role=Role.SAFE_HAVEN))
    out.extend(PositionTarget(symbol=s, target_weight=0.0)
               for s in sorted(held.intersection(pool).difference(selected)))
    return out


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    """Canary check, then (on a rebalance day) the 13612W top-``top_n`` rotation."""
    params: Parameters = inputs.params
    as_of = inputs.context.as_of
    rows = _rows(inputs)
    held = frozenset(inputs.context.holdings)
    status = _canaries(rows, params.canary_assets)
    n_bad = sum(not s["ok"] for s in status)
    rebalance = is_rebalance_day(as_of, params.rebalance_months)
    extras: dict[str, Any] = {
        "n_bad_canaries": n_bad,
        "canary_bad_threshold": params.canary_bad_threshold,
        "canary_status": status,
        "is_rebalance_day": rebalance,
        "rebalance_session": calendar.last_session_of_month(as_of.year, as_of.month).isoformat(),
        "next_rebalance_session": _next_rebalance_session(as_of, params.rebalance_months)
        .isoformat(),
        "top_n": params.top_n,
        "hold_bonus": params.hold_bonus,
        "ranking": [],
        "selected": [],
    }

    def diagnostics(signal: str, regime: str) -> Diagnostics:
        return Diagnostics(signal=signal, regime=regime, safe_haven_symbol=params.safe_haven,
                           snapshot_as_of=inputs.snapshot_as_of, extras=extras)

    safe, pool = params.safe_haven, params.ranking_pool
    if n_bad >= params.canary_bad_threshold:
        extras["safe_haven_weight"] = 1.0
        return inputs.decide(_positions({}, safe, 1.0, held, pool),
                             diagnostics("emergency", "canary_emergency"), [RiskFlag.EMERGENCY])
    if not rebalance:
        return inputs.hold("not_rebalance_day", diagnostics("daily_check", "canary_ok"))

    ranking = _rank(rows, params, held)
    chosen = ranking[: params.top_n]
    extras["ranking"] = [{"symbol": c["symbol"], "score": c["score"]} for c in ranking]
    extras["selected"] = chosen
    if not chosen:
        extras["safe_haven_weight"] = 1.0
        return inputs.decide(_positions({}, safe, 1.0, held, pool),
                             diagnostics("no_candidate", "canary_ok"))
    weight = 1.0 / params.top_n
    safe_weight = weight * (params.top_n - len(chosen))
    extras["safe_haven_weight"] = safe_weight
    return inputs.decide(_positions({c["symbol"]: weight for c in chosen}, safe, safe_weight,
                                    held, pool),
                         diagnostics("quarterly_rebalance", "canary_ok"))
