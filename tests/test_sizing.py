"""Tests for us_equity_strategies.sizing: whole-share feasibility and the small-account rule."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from us_equity_strategies.contract import (
    Diagnostics,
    PositionTarget,
    RiskFlag,
    Role,
    StrategyDecision,
    WarningCode,
)
from us_equity_strategies.manifests import SmallAccountSpec
from us_equity_strategies.sizing import (
    MAX_TRACKING_GAP,
    REASON,
    assess,
    feasibility,
    format_usd,
    min_equity_for_gap,
    small_account_message,
)

REASON_TEXT = "integer_shares_min_position_value_may_prevent_backtest_replication"


def bound(weights: dict[str, float], prices: dict[str, float], equity: float) -> float:
    """f(E) = sum_i min(w_i, p_i / E) over priced, positive-weight positions."""
    return sum(min(w, prices[s] / equity) for s, w in weights.items()
               if w > 0 and s in prices and prices[s] > 0)


def brute_min_equity(weights, prices, gap=MAX_TRACKING_GAP) -> float:
    """Bisection on the decreasing f: the E where f crosses ``gap`` (slow and obvious)."""
    if bound(weights, prices, 1e-300) < gap:  # f is at most the total weight: never above
        return 0.0
    lo, hi = 1e-9, 1e15
    for _ in range(400):
        mid = math.sqrt(lo * hi) if hi / lo > 4 else (lo + hi) / 2
        if bound(weights, prices, mid) < gap:
            hi = mid
        else:
            lo = mid
    return hi


def decide(mode: str, positions, **kw) -> StrategyDecision:
    return StrategyDecision(profile="demo_profile", profile_version="1.0.0",
                            as_of=dt.date(2024, 3, 28), target_mode=mode,
                            positions=tuple(positions), diagnostics=Diagnostics(signal="s"), **kw)


def w(symbol, weight, role=Role.RISK):
    return PositionTarget(symbol=symbol, target_weight=weight, role=role)


def v(symbol, value, role=Role.RISK):
    return PositionTarget(symbol=symbol, target_value=value, role=role)


SPEC = SmallAccountSpec(min_recommended_equity_usd=10_000, note="n")


# ---------------------------------------------------------------------------------------------
# min_equity_for_gap
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weights", "prices", "expected"),
    [
        # one position: min(1, 100/E) < 0.05  <=>  E > 100 / 0.05 = 2,000
        ({"A": 1.0}, {"A": 100.0}, 2000.0),
        # breakpoints p/w: A 200, B 100; beyond 200 f = (100 + 50) / E -> E = 150 / 0.05 = 3,000
        ({"A": 0.5, "B": 0.5}, {"A": 100.0, "B": 50.0}, 3000.0),
        # A switches at 10/0.96 = 10.42, B only at 1000/0.04 = 25,000; in between
        # f = 10/E + 0.04 < 0.05  <=>  E > 10 / 0.01 = 1,000 (< 25,000, so B never switches)
        ({"A": 0.96, "B": 0.04}, {"A": 10.0, "B": 1000.0}, 1000.0),
        # breakpoints C 25, B 100, A 800; only past A does the weight above vanish:
        # f = (400 + 30 + 5) / E < 0.05  <=>  E > 8,700
        ({"A": 0.5, "B": 0.3, "C": 0.2}, {"A": 400.0, "B": 30.0, "C": 5.0}, 8700.0),
        # f = 1/E + 0.03 < 0.05  <=>  E > 50 (B at 10,000/0.03 never switches)
        ({"A": 0.97, "B": 0.03}, {"A": 1.0, "B": 10_000.0}, 50.0),
        # total weight below 5%: the bound holds at any equity
        ({"A": 0.04}, {"A": 1000.0}, 0.0),
        # zero weights and unpriced symbols are ignored: only A counts -> 100 / 0.05
        ({"A": 0.5, "B": 0.0, "C": 0.5}, {"A": 100.0, "B": 1.0}, 2000.0),
    ],
)
def test_min_equity_for_gap_by_hand(weights, prices, expected):
    got = min_equity_for_gap(weights, prices)
    assert got == pytest.approx(expected, rel=1e-12)
    assert got == pytest.approx(brute_min_equity(weights, prices), rel=1e-9, abs=1e-9)


def test_min_equity_for_gap_other_threshold():
    # max_gap 0.01: 100 / 0.01 = 10,000
    assert min_equity_for_gap({"A": 1.0}, {"A": 100.0}, max_gap=0.01) == pytest.approx(10_000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.001, 1.0), st.floats(0.01, 5000.0)), min_size=1,
                max_size=8))
def test_min_equity_for_gap_matches_brute_force(items):
    weights = {f"S{i}": wt for i, (wt, _) in enumerate(items)}
    prices = {f"S{i}": p for i, (_, p) in enumerate(items)}
    got = min_equity_for_gap(weights, prices)
    if got == 0.0:
        assert sum(weights.values()) < MAX_TRACKING_GAP
        return
    assert got == pytest.approx(brute_min_equity(weights, prices), rel=1e-7)
    assert bound(weights, prices, got * (1 + 1e-9)) < MAX_TRACKING_GAP
    assert bound(weights, prices, got * (1 - 1e-9)) >= MAX_TRACKING_GAP


# ---------------------------------------------------------------------------------------------
# feasibility
# ---------------------------------------------------------------------------------------------
def test_feasibility_weight_mode_by_hand():
    d = decide("weight", [w("AAA", 0.6), w("BIL", 0.4, Role.SAFE_HAVEN)])
    f = feasibility(d, 10_000.0, {"AAA": 123.45, "BIL": 91.2})
    lines = {ln.symbol: ln for ln in f.lines}
    # AAA: 6,000 / 123.45 = 48.60 -> 48 shares = 5,925.60
    # BIL: 4,000 / 91.2 = 43.86 -> 43 shares = 3,921.60
    assert lines["AAA"].shares == 48 and lines["BIL"].shares == 43
    assert lines["AAA"].achievable_value == pytest.approx(5925.6)
    assert lines["BIL"].achievable_value == pytest.approx(3921.6)
    assert lines["AAA"].target_value == pytest.approx(6000.0)
    assert lines["AAA"].achievable_weight == pytest.approx(0.59256)
    assert f.residual_cash == pytest.approx(152.8)  # 10,000 - 9,847.20
    # |0.6 - 0.59256| + |0.4 - 0.39216| = 0.00744 + 0.00784
    assert f.tracking_gap == pytest.approx(0.01528)
    # breakpoints 205.75 and 228, then (123.45 + 91.2) / E < 0.05 -> E > 4,293
    assert f.min_equity_for_max_gap == pytest.approx(4293.0)
    assert f.max_tracking_gap == 0.05 and f.unpriced_symbols == () and f.equity == 10_000.0


def test_feasibility_value_mode_by_hand():
    d = decide("value", [v("AAA", 3000.0), v("BBB", 1500.0)])
    f = feasibility(d, 5000.0, {"AAA": 250.0, "BBB": 99.99})
    lines = {ln.symbol: ln for ln in f.lines}
    # AAA: 12 shares exactly; BBB: 1,500 / 99.99 = 15.0015 -> 15 shares = 1,499.85
    assert (lines["AAA"].shares, lines["BBB"].shares) == (12, 15)
    assert lines["BBB"].achievable_value == pytest.approx(1499.85)
    assert lines["AAA"].target_weight == pytest.approx(0.6)
    assert lines["BBB"].target_weight == pytest.approx(0.3)
    assert f.residual_cash == pytest.approx(500.15)  # 5,000 - 3,000 - 1,499.85
    assert f.tracking_gap == pytest.approx(0.00003)  # |0.3 - 0.29997|
    # weights 0.6 / 0.3, breakpoints 416.67 / 333.3: (250 + 99.99) / 0.05 = 6,999.8
    assert f.min_equity_for_max_gap == pytest.approx(6999.8)


def test_feasibility_exact_multiple_is_not_lost_to_binary_fractions():
    # 0.3 * 1,000 / 0.1 = 2999.9999999999995 in binary floating point: still 3,000 shares
    d = decide("weight", [w("AAA", 0.3)])
    line = feasibility(d, 1000.0, {"AAA": 0.1}).lines[0]
    assert line.shares == 3000


def test_feasibility_unpriced_and_zero_targets():
    d = decide("weight", [w("AAA", 0.5), w("ZZZ", 0.5), w("OLD", 0.0)])
    f = feasibility(d, 1000.0, {"AAA": 10.0})
    lines = {ln.symbol: ln for ln in f.lines}
    assert f.unpriced_symbols == ("ZZZ",)  # OLD has no target, so no price is needed
    assert lines["ZZZ"].shares is None and lines["ZZZ"].price is None
    assert lines["ZZZ"].achievable_value is None and lines["ZZZ"].target_value == 500.0
    assert lines["AAA"].shares == 50 and lines["OLD"].shares is None
    # AAA 500 bought exactly, ZZZ assumed filled at 500: nothing left, no gap measured
    assert f.residual_cash == pytest.approx(0.0) and f.tracking_gap == 0.0
    assert f.min_equity_for_max_gap == pytest.approx(200.0)  # only AAA: 10 / 0.05


# ---------------------------------------------------------------------------------------------
# assess: the reference small-account rule plus warnings
# ---------------------------------------------------------------------------------------------
def test_message_text_exact():
    assert small_account_message(1000, 10_000) == (
        "small account warning: portfolio equity $1,000 is below the recommended $10,000; "
        "integer-share minimum position sizing may prevent backtest replication")
    assert format_usd(1234567.89) == "$1,234,568" and format_usd(0) == "$0"
    assert REASON == REASON_TEXT


def test_assess_warns_strictly_below_minimum():
    d = decide("weight", [w("AAA", 1.0)])
    small, warns = assess(SPEC, d, 1000.0, {"AAA": 10.0})
    assert small.min_recommended_equity_usd == 10_000.0
    assert small.portfolio_total_equity == 1000.0
    assert small.small_account_warning is True
    assert small.small_account_warning_reason == REASON_TEXT
    assert small.note == "n"
    assert [x.code for x in warns] == [WarningCode.SMALL_ACCOUNT]
    assert warns[0].message == (
        "small account warning: portfolio equity $1,000 is below the recommended $10,000; "
        "integer-share minimum position sizing may prevent backtest replication")
    assert warns[0].data == {"min_recommended_equity": 10_000.0, "portfolio_equity": 1000.0,
                             "reason": REASON_TEXT}
    assert small.feasibility.lines[0].shares == 100


def test_assess_equal_to_minimum_is_fine():
    d = decide("weight", [w("AAA", 1.0)])
    small, warns = assess(SPEC, d, 10_000.0, {"AAA": 10.0})
    assert small.small_account_warning is False
    assert small.small_account_warning_reason is None
    assert small.portfolio_total_equity == 10_000.0
    assert warns == ()


@pytest.mark.parametrize("equity", [None, float("nan"), float("inf")])
def test_assess_without_equity(equity):
    d = decide("weight", [w("AAA", 1.0)])
    small, warns = assess(SPEC, d, equity, {"AAA": 10.0})
    assert small.portfolio_total_equity is None
    assert small.small_account_warning is False and small.small_account_warning_reason is None
    assert small.feasibility is None and warns == ()
    assert small.min_recommended_equity_usd == 10_000.0


def test_assess_zero_equity_warns_without_feasibility():
    small, warns = assess(SPEC, decide("weight", [w("AAA", 1.0)]), 0.0, {"AAA": 10.0})
    assert small.small_account_warning is True and small.feasibility is None
    assert [x.code for x in warns] == [WarningCode.SMALL_ACCOUNT]
    assert "portfolio equity $0 is below the recommended $10,000" in warns[0].message


def test_assess_hold_has_no_feasibility():
    d = decide("weight", [], actionable=False, risk_flags=(RiskFlag.NO_EXECUTE,),
               no_op_reason="wait")
    small, warns = assess(SPEC, d, 20_000.0, {})
    assert small.feasibility is None and warns == ()
    assert small.portfolio_total_equity == 20_000.0


def test_assess_below_one_share_and_tracking_gap():
    spec = SmallAccountSpec(min_recommended_equity_usd=500, note="n")
    d = decide("weight", [w("AAA", 1.0)])
    small, warns = assess(spec, d, 1000.0, {"AAA": 2000.0})
    assert [x.code for x in warns] == [WarningCode.BELOW_ONE_SHARE,
                                       WarningCode.INTEGER_SHARE_TRACKING_GAP]
    assert warns[0].message == "AAA: target $1,000 buys no whole share at 2,000.00"
    assert warns[0].data == {"price": 2000.0, "symbol": "AAA", "target_value": 1000.0}
    # gap |1 - 0| = 100%; the bound holds from 2,000 / 0.05 = 40,000
    assert warns[1].message == ("whole shares miss the targets by 100.0% (L1); the gap stays "
                                "under 5% from equity $40,000")
    assert warns[1].data == {"min_equity_for_max_gap": 40_000.0, "tracking_gap": 1.0}
    assert small.small_account_warning is False
    assert small.feasibility.residual_cash == 1000.0


def test_assess_unpriced_warning():
    spec = SmallAccountSpec(min_recommended_equity_usd=0, note="n")
    d = decide("weight", [w("AAA", 0.5), w("ZZZ", 0.5)])
    small, warns = assess(spec, d, 1000.0, {"AAA": 10.0})
    assert [(x.code, x.message) for x in warns] == [
        (WarningCode.UNPRICED_POSITION,
         "ZZZ: no price known, whole-share sizing assumed the target is met")]
    assert warns[0].data == {"symbol": "ZZZ"}
    assert small.feasibility.unpriced_symbols == ("ZZZ",)


def test_assess_gap_just_below_threshold_no_warning():
    spec = SmallAccountSpec(min_recommended_equity_usd=0, note="n")
    # 1,000 in AAA at 21: 47 shares = 987, gap 13/1000 = 1.3% < 5%
    _, warns = assess(spec, decide("weight", [w("AAA", 1.0)]), 1000.0, {"AAA": 21.0})
    assert warns == ()


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------
@st.composite
def weight_cases(draw):
    n = draw(st.integers(1, 6))
    parts = [draw(st.integers(0, 10_000 // n)) for _ in range(n)]
    weights = {f"S{i}": k / 10_000 for i, k in enumerate(parts)}
    prices = {s: draw(st.floats(0.01, 5000.0)) for s in weights}
    equity = draw(st.floats(1.0, 1e7))
    return weights, prices, equity


@settings(max_examples=300, deadline=None)
@given(weight_cases())
def test_properties_weight_mode(case):
    weights, prices, equity = case
    d = decide("weight", [w(s, x) for s, x in weights.items()])
    f = feasibility(d, equity, prices)
    for line in f.lines:
        # never buys more than the target (beyond float noise), and never a whole share less
        assert line.achievable_value <= line.target_value * (1 + 1e-9) + 1e-9
        assert (line.shares + 1) * line.price > line.target_value * (1 - 1e-9)
        assert line.shares >= 0
    assert sum(weights.values()) <= 1 + 1e-12
    assert f.residual_cash >= -1e-9 * equity
    assert f.tracking_gap <= bound(weights, prices, equity) + 1e-9
    if f.min_equity_for_max_gap and equity > f.min_equity_for_max_gap * (1 + 1e-9):
        assert f.tracking_gap < MAX_TRACKING_GAP


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["A", "B", "C", "D"]), st.floats(0, 1e6), min_size=1),
       st.floats(0.01, 5000.0), st.floats(1.0, 1e7))
def test_properties_value_mode(values, price, equity):
    assume(any(x > 0 for x in values.values()))
    d = decide("value", [v(s, x) for s, x in values.items()])
    f = feasibility(d, equity, dict.fromkeys(values, price))
    for line in f.lines:
        assert line.achievable_value <= line.target_value * (1 + 1e-9) + 1e-9
        assert line.target_weight == pytest.approx(line.target_value / equity)
    expected_residual = equity - sum(ln.achievable_value for ln in f.lines)
    assert f.residual_cash == pytest.approx(expected_residual, abs=1e-6)


@pytest.mark.parametrize("equity", [5e-324, 1e-300, 0.009])
def test_assess_sub_cent_equity_skips_sizing(equity):
    # value targets over a denormal equity would overflow to infinite weights
    d = decide("value", [v("AAA", 1e9)])
    small, warns = assess(SPEC, d, equity, {"AAA": 10.0})
    assert small.feasibility is None and small.small_account_warning is True
    assert [x.code for x in warns] == [WarningCode.SMALL_ACCOUNT]
