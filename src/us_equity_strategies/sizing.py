"""Small-account assessment: the reference's advisory keys plus whole-share feasibility.

The reference (spec/profiles.md §3) only says "equity < minimum". We also size every target in
whole shares (rounding down, so cash never goes negative), report the residual cash, the
tracking gap ``sum_i |w_i - a_i|`` between target and achievable weights, and the smallest
equity from which that gap is *guaranteed* to stay under 5% whatever the rounding:
each position's rounding error is below ``min(w_i, p_i / E)``, so the gap is bounded by
``f(E) = sum_i min(w_i, p_i / E)``, which decreases with ``E``; we report
``inf {E : f(E) < 5%}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .contract import (
    DecisionWarning,
    ShareFeasibility,
    ShareLine,
    SmallAccount,
    StrategyDecision,
    WarningCode,
)
from .manifests import SmallAccountSpec

__all__ = [
    "MAX_TRACKING_GAP",
    "REASON",
    "assess",
    "feasibility",
    "format_usd",
    "min_equity_for_gap",
    "small_account_message",
    "whole_shares",
]

MAX_TRACKING_GAP = 0.05
REASON = "integer_shares_min_position_value_may_prevent_backtest_replication"
_REASON_TEXT = "integer-share minimum position sizing may prevent backtest replication"


def format_usd(value: float) -> str:
    """``$1,000`` style: thousands separators, no decimals (reference formatting)."""
    return f"${value:,.0f}"


def small_account_message(equity: float, minimum: float) -> str:
    """The reference's English fallback note."""
    return (f"small account warning: portfolio equity {format_usd(equity)} is below the "
            f"recommended {format_usd(minimum)}; {_REASON_TEXT}")


def whole_shares(value: float, price: float) -> int:
    """Whole shares that ``value`` buys at ``price``, rounded down so cash never goes negative.

    ``round(..., 9)`` first guards against ``99.99999999`` from binary fractions (shared by the
    feasibility check and the backtester, so both round the same way).
    """
    return math.floor(round(value / price, 9))


def min_equity_for_gap(
    weights: Mapping[str, float], prices: Mapping[str, float], max_gap: float = MAX_TRACKING_GAP
) -> float | None:
    """Smallest equity ``E`` with ``sum_i min(w_i, p_i/E) < max_gap`` for all larger equity.

    Positions with a zero weight or no price are ignored. Returns 0.0 when the bound already
    holds at any equity (total weight below ``max_gap``), and None when the answer is not a
    finite number (absurd prices or weights overflow float64).
    """
    items = [(w, prices[s]) for s, w in sorted(weights.items())
             if w > 0 and s in prices and prices[s] > 0]
    if sum(w for w, _ in items) < max_gap:
        return 0.0
    # Breakpoint b_i = p_i / w_i: for E >= b_i the term is p_i/E, else w_i.
    points = sorted(((p / w, w, p) for w, p in items))
    w_above = sum(w for w, _ in items)
    p_below = 0.0
    for k, (b, w, p) in enumerate(points):
        # Segment [b_k, b_{k+1}): term k switched to p_k/E.
        w_above -= w
        p_below += p
        hi = points[k + 1][0] if k + 1 < len(points) else math.inf
        if max_gap > w_above:
            e = p_below / (max_gap - w_above)
            if e < hi:
                e = max(e, b)
                return e if math.isfinite(e) else None
    return None  # only reached when float overflow breaks the segment arithmetic


def feasibility(
    decision: StrategyDecision, equity: float, prices: Mapping[str, float]
) -> ShareFeasibility:
    """Whole-share sizing of the decision's targets at ``equity`` with ``prices``."""
    lines = []
    unpriced = []
    achieved = 0.0
    gap = 0.0
    weights: dict[str, float] = {}
    for pos in decision.positions:
        target = (pos.target_weight * equity if pos.target_weight is not None
                  else pos.target_value or 0.0)
        tw = target / equity
        weights[pos.symbol] = tw
        price = prices.get(pos.symbol)
        if price is None or not price > 0:
            if target > 0:
                unpriced.append(pos.symbol)
            achieved += target  # assumed filled at target; flagged as unpriced
            lines.append(ShareLine(symbol=pos.symbol, price=None, target_value=target,
                                   shares=None, achievable_value=None, target_weight=tw,
                                   achievable_weight=None))
            continue
        shares = whole_shares(target, price)
        value = shares * price
        achieved += value
        aw = value / equity
        gap += abs(tw - aw)
        lines.append(ShareLine(symbol=pos.symbol, price=price, target_value=target, shares=shares,
                               achievable_value=value, target_weight=tw, achievable_weight=aw))
    return ShareFeasibility(
        equity=equity,
        lines=tuple(lines),
        residual_cash=equity - achieved,
        tracking_gap=gap,
        max_tracking_gap=MAX_TRACKING_GAP,
        min_equity_for_max_gap=min_equity_for_gap(weights, prices),
        unpriced_symbols=tuple(unpriced),
    )


def assess(
    spec: SmallAccountSpec,
    decision: StrategyDecision,
    equity: float | None,
    prices: Mapping[str, float],
) -> tuple[SmallAccount, tuple[DecisionWarning, ...]]:
    """The small-account block and typed warnings for ``decision`` (advisory only)."""
    minimum = float(spec.min_recommended_equity_usd)
    if equity is None or not math.isfinite(equity):
        return SmallAccount(min_recommended_equity_usd=minimum, note=spec.note), ()
    warn = equity < minimum  # strict, as the reference: equal to the minimum is fine
    warnings: list[DecisionWarning] = []
    if warn:
        warnings.append(DecisionWarning(
            code=WarningCode.SMALL_ACCOUNT,
            message=small_account_message(equity, minimum),
            data={"portfolio_equity": equity, "min_recommended_equity": minimum,
                  "reason": REASON},
        ))
    feas = None
    # Below one cent whole-share sizing is meaningless (and value/equity can overflow).
    if decision.actionable and equity >= 0.01:
        feas = feasibility(decision, equity, prices)
        for line in feas.lines:
            if line.shares == 0 and line.target_value > 0:
                warnings.append(DecisionWarning(
                    code=WarningCode.BELOW_ONE_SHARE,
                    message=(f"{line.symbol}: target {format_usd(line.target_value)} buys no "
                             f"whole share at {line.price:,.2f}"),
                    data={"symbol": line.symbol, "target_value": line.target_value,
                          "price": line.price},
                ))
        for sym in feas.unpriced_symbols:
            warnings.append(DecisionWarning(
                code=WarningCode.UNPRICED_POSITION,
                message=f"{sym}: no price known, whole-share sizing assumed the target is met",
                data={"symbol": sym},
            ))
        if feas.tracking_gap >= MAX_TRACKING_GAP:
            floor = feas.min_equity_for_max_gap
            where = format_usd(floor) if floor is not None else "an unknown amount"
            warnings.append(DecisionWarning(
                code=WarningCode.INTEGER_SHARE_TRACKING_GAP,
                message=(f"whole shares miss the targets by {feas.tracking_gap:.1%} (L1); the gap "
                         f"stays under {MAX_TRACKING_GAP:.0%} from equity {where}"),
                data={"tracking_gap": feas.tracking_gap,
                      "min_equity_for_max_gap": feas.min_equity_for_max_gap},
            ))
    block = SmallAccount(
        min_recommended_equity_usd=minimum,
        portfolio_total_equity=equity,
        small_account_warning=warn,
        small_account_warning_reason=REASON if warn else None,
        note=spec.note,
        feasibility=feas,
    )
    return block, tuple(warnings)
