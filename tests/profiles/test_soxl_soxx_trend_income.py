"""soxl_soxx_trend_income: spec/profiles.md §2.8 worked examples, edge rules and the builder.

Every expectation is worked out by hand from the spec (arithmetic in the comments) or from a
slow, obviously-correct loop; all profile tests go through ``runner.evaluate``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from us_equity_strategies import calendar, registry, runner
from us_equity_strategies.builders import build_snapshot
from us_equity_strategies.builders import soxl_soxx_trend_income as builder
from us_equity_strategies.contract import EvaluationContext, Holding, Portfolio, Role
from us_equity_strategies.entrypoints.soxl_soxx_trend_income import income_ratio
from us_equity_strategies.errors import (
    InputError,
    ParameterError,
    PriceHistoryError,
    SnapshotError,
)
from us_equity_strategies.prices import load_prices, normalize_prices
from us_equity_strategies.snapshot import Snapshot

PROFILE = "soxl_soxx_trend_income"
AS_OF = dt.date(2024, 12, 31)
BUILT = {"blend_gate_trend_source": "SOXX", "trend_ma_window": 140}
CONTRACT = "soxl_soxx_trend_income.feature_snapshot.v1"
COLUMNS = list(builder.COLUMNS)
NAN = math.nan
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EXTRAS_KEYS = {
    "deploy_ratio", "income_ratio", "income_locked_ratio", "active_risk_asset",
    "investable_cash", "current_min_trade", "total_strategy_equity", "allocation_mode",
    "trend_entry_buffer", "trend_mid_buffer", "trend_exit_buffer", "blend_tier",
    "soxl_entry_line", "soxl_exit_line", "trend_entry_line", "trend_mid_line",
    "trend_exit_line", "trend_symbol", "trend_price", "trend_ma", "trend_ma20",
    "trend_ma20_slope", "trend_ma_window", "soxl_ratio", "soxx_ratio", "current_blend_active",
    "trend_fallback",
}


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def make_snapshot(soxx_price: float = 109.0, soxx_ma: float = 100.0, *, soxl_price=30.0,
                  soxl_ma=25.0, ma20=105.0, slope=0.5, trend="SOXX", rows=None,
                  built=None) -> Snapshot:
    """A hand-built snapshot: SOXL, the trend source and the three tradables."""
    a = AS_OF.isoformat()
    table = rows if rows is not None else [
        (a, "BOXX", "tradable", 110.0, 500, NAN, NAN, NAN),
        (a, "QQQI", "tradable", 50.0, 200, NAN, NAN, NAN),
        (a, "SOXL", "leveraged", soxl_price, 3000, soxl_ma, NAN, NAN),
        (a, trend, "trend_source", soxx_price, 5000, soxx_ma, ma20, slope),
        (a, "SPYI", "tradable", 48.0, 300, NAN, NAN, NAN),
    ]
    frame = pd.DataFrame(table, columns=COLUMNS).sort_values("symbol").reset_index(drop=True)
    return Snapshot.from_frame(frame, profile=PROFILE, as_of=AS_OF, contract_version=CONTRACT,
                               builder_parameters=built or BUILT)


def make_portfolio(equity: float, *, soxl=(0.0, 0.0), qqqi=0.0, spyi=0.0, cash="rest",
                   buying_power=None) -> Portfolio:
    """``soxl`` = (quantity, market value); cash defaults to equity minus the holdings."""
    positions = []
    if soxl != (0.0, 0.0):
        positions.append(Holding(symbol="SOXL", quantity=soxl[0], market_value=soxl[1]))
    if qqqi:
        positions.append(Holding(symbol="QQQI", quantity=qqqi / 50.0, market_value=qqqi))
    if spyi:
        positions.append(Holding(symbol="SPYI", quantity=spyi / 48.0, market_value=spyi))
    if cash == "rest":
        cash = equity - sum(h.market_value for h in positions)
    return Portfolio(total_equity=equity, cash=cash, buying_power=buying_power,
                     positions=tuple(positions))


def run(snapshot: Snapshot, portfolio: Portfolio | None, **overrides):
    context = EvaluationContext(as_of=AS_OF, portfolio=portfolio)
    return runner.evaluate(snapshot, context, overrides=overrides)


def values(decision) -> dict[str, float]:
    return decision.targets()


def assert_targets(decision, expected: dict[str, float]) -> None:
    got = values(decision)
    assert set(got) == {"BOXX", "QQQI", "SOXL", "SOXX", "SPYI"}
    for sym, want in expected.items():
        assert got[sym] == pytest.approx(want, rel=1e-12, abs=1e-6), sym


HELD = (100.0, 3000.0)  # 100 SOXL shares at 30


# ------------------------------------------------------------------------------------------
# worked table (defaults, SOXX ma 100, E = 100k, no income): lines 108 / 106 / 98
# ------------------------------------------------------------------------------------------
FULL = {"SOXL": 70_000, "SOXX": 20_000, "BOXX": 10_000, "QQQI": 0, "SPYI": 0}
MID = {"SOXL": 65_000, "SOXX": 20_000, "BOXX": 15_000, "QQQI": 0, "SPYI": 0}
DEFENSIVE = {"SOXL": 0, "SOXX": 15_000, "BOXX": 85_000, "QQQI": 0, "SPYI": 0}


@pytest.mark.parametrize(
    ("price", "held", "tier", "expected"),
    [
        (109.0, False, "full", FULL),
        (109.0, True, "full", FULL),
        (108.0, False, "mid", MID),  # = entry line, not >
        (108.0, True, "mid", MID),
        (107.0, False, "mid", MID),
        (107.0, True, "mid", MID),
        (106.0, False, "defensive", DEFENSIVE),  # = mid line, not >
        (106.0, True, "mid", MID),  # held and 106 > exit 98
        (99.0, False, "defensive", DEFENSIVE),
        (99.0, True, "mid", MID),
        (98.0, True, "defensive", DEFENSIVE),  # = exit line, not >
        (97.0, False, "defensive", DEFENSIVE),
        (97.0, True, "defensive", DEFENSIVE),
    ],
)
def test_worked_table(price, held, tier, expected):
    pf = make_portfolio(100_000, soxl=HELD if held else (0.0, 0.0))
    decision = run(make_snapshot(price), pf)
    assert decision.diagnostics.regime == tier
    assert decision.diagnostics.extras["blend_tier"] == tier
    assert decision.diagnostics.extras["current_blend_active"] is held
    assert decision.diagnostics.signal == (
        "blend_gate_defensive" if tier == "defensive" else "blend_gate_risk_on")
    assert_targets(decision, expected)
    extras = decision.diagnostics.extras
    assert extras["trend_entry_line"] == pytest.approx(108.0)
    assert extras["trend_mid_line"] == pytest.approx(106.0)
    assert extras["trend_exit_line"] == pytest.approx(98.0)
    # deploy: 0.7 + 0.2, 0.65 + 0.2, or the defensive 0.15
    deploy = {"full": 0.9, "mid": 0.85, "defensive": 0.15}[tier]
    assert extras["deploy_ratio"] == pytest.approx(deploy)
    assert extras["active_risk_asset"] == ("SOXX" if tier == "defensive" else "SOXX+SOXL")


def test_diagnostics_shape_and_roles():
    decision = run(make_snapshot(109.0), make_portfolio(100_000))
    d = decision.diagnostics
    assert decision.actionable and decision.risk_flags == ()
    assert decision.target_mode.value == "value"
    roles = {p.symbol: p.role for p in decision.positions}
    assert roles == {"SOXL": Role.RISK, "SOXX": Role.RISK, "BOXX": Role.SAFE_HAVEN,
                     "QQQI": Role.INCOME, "SPYI": Role.INCOME}
    assert (d.benchmark_symbol, d.benchmark_price, d.safe_haven_symbol) == ("SOXX", 109.0, "BOXX")
    assert d.snapshot_as_of == AS_OF
    assert d.trade_threshold_value == pytest.approx(1_000.0)  # 100k * 0.01
    assert d.reserved_cash == pytest.approx(3_000.0)  # 100k * 0.03
    assert set(d.extras) == EXTRAS_KEYS
    x = d.extras
    assert x["soxl_entry_line"] == pytest.approx(27.0)  # 25 * 1.08
    assert x["soxl_exit_line"] == pytest.approx(24.5)  # 25 * 0.98
    assert (x["trend_symbol"], x["trend_price"], x["trend_ma"]) == ("SOXX", 109.0, 100.0)
    assert (x["trend_ma20"], x["trend_ma20_slope"], x["trend_ma_window"]) == (105.0, 0.5, 140)
    assert (x["soxl_ratio"], x["soxx_ratio"]) == (0.7, 0.2)
    assert x["allocation_mode"] == "soxx_gate_tiered_blend"
    assert x["total_strategy_equity"] == 100_000
    assert x["current_min_trade"] == pytest.approx(1_000.0)  # max(100, 1% of 100k)
    assert (x["trend_entry_buffer"], x["trend_mid_buffer"], x["trend_exit_buffer"]) == (
        0.08, 0.06, 0.02)
    assert x["trend_fallback"] == []


# ------------------------------------------------------------------------------------------
# income layer
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("equity", "ratio"),
    [(150_000, 0.0), (200_000, 0.05), (225_000, 0.075), (300_000, 0.15), (450_000, 0.15),
     (100_000, 0.0)],
)
def test_income_ratio_examples(equity, ratio):
    # linear on (150k, 300k]: 0.15 * (E - 150k) / 150k
    assert income_ratio(equity, 150_000.0, 0.15) == pytest.approx(ratio, rel=1e-12)
    decision = run(make_snapshot(109.0), make_portfolio(equity))
    x = decision.diagnostics.extras
    assert x["income_ratio"] == pytest.approx(ratio, rel=1e-12)
    # nothing held: locked = desired = E * ratio, split 70/30; C = E - locked, full tier
    core = equity * (1 - ratio)
    assert_targets(decision, {"QQQI": equity * ratio * 0.7, "SPYI": equity * ratio * 0.3,
                              "SOXL": core * 0.7, "SOXX": core * 0.2, "BOXX": core * 0.1})
    assert x["income_locked_ratio"] == pytest.approx(ratio, rel=1e-12)


def test_income_ratio_degenerate_start():
    assert income_ratio(0.0, 0.0, 0.15) == 0.0
    assert income_ratio(1.0, 0.0, 0.15) == 0.15


def test_income_example_225k_with_qqqi():
    # desired 225k * 0.075 = 16,875; add = 16,875 - 10,000 = 6,875; C = 225k - 16,875 = 208,125
    # SOXL 0.7 C = 145,687.5; SOXX 0.2 C = 41,625; BOXX 0.1 C = 20,812.5
    # QQQI 10,000 + 0.7 * 6,875 = 14,812.5; SPYI 0.3 * 6,875 = 2,062.5
    decision = run(make_snapshot(109.0), make_portfolio(225_000, qqqi=10_000))
    assert_targets(decision, {"SOXL": 145_687.5, "SOXX": 41_625.0, "BOXX": 20_812.5,
                              "QQQI": 14_812.5, "SPYI": 2_062.5})
    assert decision.diagnostics.extras["income_locked_ratio"] == pytest.approx(0.075)


def test_income_example_200k_locked_existing():
    # desired 10k < held 50k -> locked 50k, add 0, C = 150k: SOXL 105k, SOXX 30k, BOXX 15k
    decision = run(make_snapshot(109.0), make_portfolio(200_000, qqqi=50_000))
    assert_targets(decision, {"SOXL": 105_000, "SOXX": 30_000, "BOXX": 15_000,
                              "QQQI": 50_000, "SPYI": 0})
    x = decision.diagnostics.extras
    assert x["income_ratio"] == pytest.approx(0.05)  # text "5.0%"
    assert x["income_locked_ratio"] == pytest.approx(0.25)  # 50k / 200k, text "25.0%"


def test_income_layer_never_sells_below_equity_threshold():
    # E = 100k (ratio 0) holding SPYI 20k: locked 20k, SPYI kept, C = 80k defensive
    decision = run(make_snapshot(97.0), make_portfolio(100_000, spyi=20_000))
    assert_targets(decision, {"SPYI": 20_000, "QQQI": 0, "SOXL": 0, "SOXX": 12_000,
                              "BOXX": 68_000})


def test_zero_equity_gives_explicit_zeros():
    decision = run(make_snapshot(109.0), make_portfolio(0.0))
    assert values(decision) == {"BOXX": 0.0, "QQQI": 0.0, "SOXL": 0.0, "SOXX": 0.0, "SPYI": 0.0}
    x = decision.diagnostics.extras
    assert x["income_locked_ratio"] == 0.0
    assert x["current_min_trade"] == 100.0  # the floor


# ------------------------------------------------------------------------------------------
# ratios: clamping and scaling
# ------------------------------------------------------------------------------------------
def test_soxl_plus_soxx_above_one_is_scaled_full():
    # 0.9 + 0.3 = 1.2 -> 0.75 / 0.25
    decision = run(make_snapshot(109.0), make_portfolio(100_000),
                   blend_gate_soxl_weight=0.9, blend_gate_active_soxx_weight=0.3)
    assert_targets(decision, {"SOXL": 75_000, "SOXX": 25_000, "BOXX": 0})
    assert decision.diagnostics.extras["deploy_ratio"] == pytest.approx(1.0)


def test_soxl_plus_soxx_above_one_is_scaled_mid():
    # mid: min(0.85, 0.9) = 0.85; 0.85 + 0.3 = 1.15 -> 0.85/1.15 and 0.3/1.15
    decision = run(make_snapshot(107.0), make_portfolio(100_000), blend_gate_soxl_weight=0.9,
                   blend_gate_mid_soxl_weight=0.85, blend_gate_active_soxx_weight=0.3)
    assert_targets(decision, {"SOXL": 100_000 * 0.85 / 1.15, "SOXX": 100_000 * 0.3 / 1.15,
                              "BOXX": 0})


def test_weights_are_clamped_to_unit_interval():
    d = run(make_snapshot(109.0), make_portfolio(100_000), blend_gate_soxl_weight=1.5,
            blend_gate_active_soxx_weight=-0.2)
    assert_targets(d, {"SOXL": 100_000, "SOXX": 0, "BOXX": 0})
    d = run(make_snapshot(97.0), make_portfolio(100_000), blend_gate_defensive_soxx_weight=2.0)
    assert_targets(d, {"SOXL": 0, "SOXX": 100_000, "BOXX": 0})


def test_mid_soxl_weight_capped_by_full_weight():
    d = run(make_snapshot(107.0), make_portfolio(100_000), blend_gate_mid_soxl_weight=0.8)
    assert_targets(d, {"SOXL": 70_000, "SOXX": 20_000, "BOXX": 10_000})


def test_explicit_zero_weight_is_honoured():
    d = run(make_snapshot(109.0), make_portfolio(100_000), blend_gate_active_soxx_weight=0)
    assert_targets(d, {"SOXL": 70_000, "SOXX": 0, "BOXX": 30_000})


# ------------------------------------------------------------------------------------------
# buffers
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("unset", [None, NAN])
def test_entry_buffer_unset_defaults(unset):
    # entry 0.03 -> line 103; mid = min(0.06, 0.03) = 0.03 -> line 103; 103.5 is full
    d = run(make_snapshot(103.5), make_portfolio(100_000), trend_entry_buffer=unset)
    x = d.diagnostics.extras
    assert (x["trend_entry_buffer"], x["trend_mid_buffer"]) == (0.03, 0.03)
    assert x["trend_entry_line"] == pytest.approx(103.0)
    assert d.diagnostics.regime == "full"


@pytest.mark.parametrize("unset", [None, NAN])
def test_exit_buffer_unset_defaults(unset):
    # exit 0.03 -> line 97; held at 97.5 stays mid (the default 0.02 exit line 98 would not)
    d = run(make_snapshot(97.5), make_portfolio(100_000, soxl=HELD), trend_exit_buffer=unset)
    assert d.diagnostics.extras["trend_exit_line"] == pytest.approx(97.0)
    assert d.diagnostics.regime == "mid"
    d2 = run(make_snapshot(97.5), make_portfolio(100_000, soxl=HELD))
    assert d2.diagnostics.regime == "defensive"


@pytest.mark.parametrize(
    ("entry", "mid", "expected_mid"),
    [(0.08, None, 0.06), (0.08, NAN, 0.06), (0.04, None, 0.04), (None, None, 0.03)],
)
def test_mid_buffer_default_is_min_of_006_and_entry(entry, mid, expected_mid):
    d = run(make_snapshot(109.0), make_portfolio(100_000), trend_entry_buffer=entry,
            trend_mid_buffer=mid)
    assert d.diagnostics.extras["trend_mid_buffer"] == pytest.approx(expected_mid)


def test_mid_buffer_above_entry_is_clipped():
    # entry 0.05, mid 0.07 -> mid 0.05: both lines at 105 (unclipped the mid line would be 107).
    # The clip only shows in diagnostics: a mid line above the entry line could never be the
    # deciding test, since "> mid line" is only checked when price <= entry line.
    kw = {"trend_entry_buffer": 0.05, "trend_mid_buffer": 0.07}
    d = run(make_snapshot(105.0), make_portfolio(100_000), **kw)
    assert d.diagnostics.extras["trend_mid_buffer"] == 0.05
    assert d.diagnostics.extras["trend_mid_line"] == pytest.approx(105.0)
    assert d.diagnostics.regime == "defensive"
    assert run(make_snapshot(105.0), make_portfolio(100_000, soxl=HELD), **kw) \
        .diagnostics.regime == "mid"
    assert run(make_snapshot(105.01), make_portfolio(100_000), **kw).diagnostics.regime == "full"


@pytest.mark.parametrize(
    ("overrides", "key", "clamped", "line_key", "line"),
    [
        ({"trend_entry_buffer": 0.5}, "trend_entry_buffer", 0.25, "trend_entry_line", 125.0),
        ({"trend_entry_buffer": -0.1}, "trend_entry_buffer", 0.0, "trend_entry_line", 100.0),
        ({"trend_exit_buffer": -0.1}, "trend_exit_buffer", 0.0, "trend_exit_line", 100.0),
        ({"trend_exit_buffer": 0.9}, "trend_exit_buffer", 0.25, "trend_exit_line", 75.0),
        ({"trend_entry_buffer": 0.3, "trend_mid_buffer": 0.3}, "trend_mid_buffer", 0.25,
         "trend_mid_line", 125.0),
        ({"trend_mid_buffer": -0.5}, "trend_mid_buffer", 0.0, "trend_mid_line", 100.0),
    ],
)
def test_buffer_clamps(overrides, key, clamped, line_key, line):
    x = run(make_snapshot(109.0), make_portfolio(100_000), **overrides).diagnostics.extras
    assert x[key] == clamped
    assert x[line_key] == pytest.approx(line)


def test_entry_clamp_decides_tier():
    # entry 0.5 -> 0.25, line 125: 124 is mid (> 106), 126 full
    kw = {"trend_entry_buffer": 0.5}
    assert run(make_snapshot(124.0), make_portfolio(100_000), **kw).diagnostics.regime == "mid"
    assert run(make_snapshot(126.0), make_portfolio(100_000), **kw).diagnostics.regime == "full"


# ------------------------------------------------------------------------------------------
# hysteresis: current_blend_active
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("equity", "soxl", "active"),
    [
        (100_000, (0.0, 1000.01), True),  # no quantity, mv > min trade 1,000
        (100_000, (0.0, 1000.0), False),  # mv = min trade, not >
        (100_000, (0.9, 27.0), False),  # 0.9 shares -> int 0, mv small
        (100_000, (1.0, 30.0), True),  # one share
        (5_000, (0.0, 100.5), True),  # min trade = max(100, 50) = 100
        (5_000, (0.0, 100.0), False),
    ],
)
def test_current_blend_active(equity, soxl, active):
    d = run(make_snapshot(106.0), make_portfolio(equity, soxl=soxl))
    assert d.diagnostics.extras["current_blend_active"] is active
    assert d.diagnostics.regime == ("mid" if active else "defensive")


# ------------------------------------------------------------------------------------------
# trend source fallback and invalid input
# ------------------------------------------------------------------------------------------
def test_trend_ma_nan_falls_back_to_soxl_ma():
    # trend_ma = SOXL ma 25 -> entry line 27; SOXX price 109 stays the trend price -> full
    d = run(make_snapshot(109.0, NAN, ma20=NAN, slope=NAN), make_portfolio(100_000))
    x = d.diagnostics.extras
    assert (x["trend_ma"], x["trend_price"], x["trend_entry_line"]) == (25.0, 109.0,
                                                                         pytest.approx(27.0))
    assert (x["trend_ma20"], x["trend_ma20_slope"]) == (None, None)
    assert x["trend_fallback"] == ["ma_trend"]
    assert d.diagnostics.regime == "full"


def test_trend_close_nan_falls_back_to_soxl_close():
    # price = SOXL 30 vs SOXX ma 100: 30 < 98 -> defensive; benchmark_price reports 30
    d = run(make_snapshot(NAN, 100.0), make_portfolio(100_000, soxl=HELD))
    assert d.diagnostics.benchmark_price == 30.0
    assert d.diagnostics.extras["trend_fallback"] == ["close"]
    assert d.diagnostics.regime == "defensive"
    # both NaN: SOXL 30 against its own ma 25 * 1.08 = 27 -> full
    d = run(make_snapshot(NAN, NAN), make_portfolio(100_000))
    assert d.diagnostics.regime == "full"
    assert d.diagnostics.extras["trend_fallback"] == ["close", "ma_trend"]


def test_missing_trend_row_is_snapshot_error():
    a = AS_OF.isoformat()
    rows = [(a, "SOXL", "leveraged", 30.0, 3000, 25.0, NAN, NAN),
            (a, "BOXX", "tradable", 110.0, 500, NAN, NAN, NAN)]
    with pytest.raises(SnapshotError, match="'SOXX' is missing"):
        run(make_snapshot(rows=rows), make_portfolio(100_000))


def test_missing_soxl_values_are_snapshot_errors():
    with pytest.raises(SnapshotError, match=r"SOXL\): required values missing in ma_trend"):
        run(make_snapshot(soxl_ma=NAN), make_portfolio(100_000))
    with pytest.raises(SnapshotError, match=r"SOXL\): required values missing in close"):
        run(make_snapshot(soxl_price=NAN), make_portfolio(100_000))


def test_missing_portfolio_is_input_error():
    with pytest.raises(InputError, match="--equity"):
        run(make_snapshot(), None)


def test_other_trend_source():
    snap = make_snapshot(50.0, 40.0, trend="SMH",
                         built={"blend_gate_trend_source": "SMH", "trend_ma_window": 140})
    d = run(snap, make_portfolio(100_000), blend_gate_trend_source="smh")  # normalised
    assert (d.diagnostics.benchmark_symbol, d.diagnostics.benchmark_price) == ("SMH", 50.0)
    assert d.diagnostics.regime == "full"  # 50 > 40 * 1.08 = 43.2
    with pytest.raises(SnapshotError, match="blend_gate_trend_source"):
        run(make_snapshot(), make_portfolio(100_000), blend_gate_trend_source="SMH")


@pytest.mark.parametrize(
    "overrides",
    [{"attack_allocation_mode": "fixed_soxl"}, {"trend_ma_window": 0},
     {"income_layer_qqqi_weight": 0.8, "income_layer_spyi_weight": 0.3},
     {"cash_reserve_ratio": 1.5}, {"blend_gate_soxl_weight": math.inf}],
)
def test_invalid_parameters(overrides):
    with pytest.raises(ParameterError):
        run(make_snapshot(), make_portfolio(100_000), **overrides)


# ------------------------------------------------------------------------------------------
# cash arithmetic
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cash", "buying_power", "investable"),
    [
        (20_000.0, None, 17_000.0),  # buying power None -> cash; 20k - 3% of 100k
        (20_000.0, 0.0, 17_000.0),  # falsy 0 falls through to cash
        (20_000.0, 50_000.0, 47_000.0),  # buying power first
        (None, None, 0.0),  # nothing -> 0, floored at 0
        (1_000.0, None, 0.0),  # 1,000 - 3,000 -> 0
    ],
)
def test_investable_cash(cash, buying_power, investable):
    d = run(make_snapshot(109.0),
            make_portfolio(100_000, cash=cash, buying_power=buying_power))
    assert d.diagnostics.extras["investable_cash"] == pytest.approx(investable)
    assert d.diagnostics.reserved_cash == pytest.approx(3_000.0)
    # the reserve is not deducted from targets
    assert sum(values(d).values()) == pytest.approx(100_000.0)


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------
TIER_RANK = {"defensive": 0, "mid": 1, "full": 2}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    price=st.floats(80.0, 120.0),
    equity=st.floats(0.0, 1_000_000.0),
    income_share=st.floats(0.0, 1.0),
    soxl_share=st.floats(0.0, 1.0),
    entry=st.one_of(st.none(), st.floats(-0.1, 0.4)),
    mid=st.one_of(st.none(), st.floats(-0.1, 0.4)),
    exit_=st.one_of(st.none(), st.floats(-0.1, 0.4)),
)
def test_properties(price, equity, income_share, soxl_share, entry, mid, exit_):
    income = equity * income_share
    soxl_mv = (equity - income) * soxl_share
    kw = {"trend_entry_buffer": entry, "trend_mid_buffer": mid, "trend_exit_buffer": exit_}
    snap = make_snapshot(price)
    held = run(snap, make_portfolio(equity, soxl=(soxl_mv / 30.0, soxl_mv), qqqi=income), **kw)
    idle = run(snap, make_portfolio(equity, qqqi=income), **kw)
    for d in (held, idle):
        got = values(d)
        assert all(v >= 0 for v in got.values())
        # holdings consistent with equity: targets sum to E, income never sold down
        assert sum(got.values()) == pytest.approx(equity, rel=1e-9, abs=1e-6)
        assert got["QQQI"] >= income - 1e-9
        x = d.diagnostics.extras
        assert 0 <= x["trend_mid_buffer"] <= x["trend_entry_buffer"] <= 0.25
    # holding SOXL can only keep the tier up (hysteresis), never push it down
    assert TIER_RANK[held.diagnostics.regime] >= TIER_RANK[idle.diagnostics.regime]


# ------------------------------------------------------------------------------------------
# builder
# ------------------------------------------------------------------------------------------
def synthetic_prices(n: int = 320, seed: int = 7) -> pd.DataFrame:
    """Random walks on NYSE sessions; BOXX starts late, SPYI has 10 rows, QQQI none."""
    days = calendar.sessions(dt.date(2023, 1, 3), dt.date(2025, 12, 31))[:n]
    rng = np.random.default_rng(seed)
    parts = []
    for sym, start, level in (("SOXL", 0, 30.0), ("SOXX", 0, 200.0), ("BOXX", 150, 100.0),
                              ("SPYI", n - 10, 50.0), ("SMH", 0, 150.0)):
        k = n - start
        close = level * np.exp(np.cumsum(rng.normal(0, 0.02, k)))
        parts.append(pd.DataFrame({"date": pd.to_datetime(days[start:]), "symbol": sym,
                                   "close": close}))
    return normalize_prices(pd.concat(parts, ignore_index=True))


def slow_features(closes: list[float], window: int) -> tuple[float, float, float]:
    """ma_trend, ma20, ma20_slope by plain loops."""
    def mean_last(xs, k):
        if len(xs) < k:
            return NAN
        total = 0.0
        for v in xs[-k:]:
            total += v
        return total / k
    ma = mean_last(closes, window)
    ma20 = mean_last(closes, 20)
    prev = mean_last(closes[:-1], 20)
    return ma, ma20, ma20 - prev


@pytest.mark.parametrize(("as_of_pos", "window"), [(319, 140), (200, 140), (160, 50)])
def test_builder_matches_slow_loop(as_of_pos, window):
    prices = synthetic_prices()
    days = sorted(prices["date"].unique())
    as_of = pd.Timestamp(days[as_of_pos]).date()
    snap = build_snapshot(PROFILE, prices, as_of, overrides={"trend_ma_window": window})
    frame = snap.frame
    assert list(frame.columns) == COLUMNS
    assert list(frame["symbol"]) == sorted(frame["symbol"])
    assert set(frame["as_of"]) == {as_of.isoformat()}
    assert snap.builder_parameters == {"blend_gate_trend_source": "SOXX",
                                       "trend_ma_window": window}
    expected_symbols = {"SOXL", "SOXX"} | ({"BOXX"} if as_of_pos >= 150 else set()) \
        | ({"SPYI"} if as_of_pos >= 310 else set())
    assert set(frame["symbol"]) == expected_symbols  # no QQQI prices, no SMH row
    for row in frame.itertuples():
        closes = [float(c) for c in prices.loc[(prices["symbol"] == row.symbol)
                                               & (prices["date"] <= pd.Timestamp(as_of)),
                                               "close"]]
        assert row.close == closes[-1]
        assert row.history_days == len(closes)
        ma, ma20, slope = slow_features(closes, window)
        role = {"SOXL": "leveraged", "SOXX": "trend_source"}.get(row.symbol, "tradable")
        assert row.role == role
        if role == "tradable":
            assert all(math.isnan(v) for v in (row.ma_trend, row.ma20, row.ma20_slope))
            continue
        np.testing.assert_allclose(row.ma_trend, ma, rtol=1e-12)
        if role == "leveraged":
            assert math.isnan(row.ma20) and math.isnan(row.ma20_slope)
        else:
            np.testing.assert_allclose([row.ma20, row.ma20_slope], [ma20, slope],
                                       rtol=1e-9, atol=1e-10)


def test_builder_truncation_invariance():
    prices = synthetic_prices()
    days = sorted(prices["date"].unique())
    for pos in (200, 250):
        as_of = pd.Timestamp(days[pos]).date()
        past = prices[prices["date"] <= pd.Timestamp(as_of)].reset_index(drop=True)
        a = build_snapshot(PROFILE, past, as_of)
        b = build_snapshot(PROFILE, prices, as_of)
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.sha256 == b.sha256


def test_builder_errors_name_the_symbol():
    prices = synthetic_prices()
    last = pd.Timestamp(prices["date"].max()).date()
    with pytest.raises(PriceHistoryError, match="'SOXL'"):
        build_snapshot(PROFILE, prices[prices["symbol"] != "SOXL"], last)
    with pytest.raises(PriceHistoryError, match="'SOXX'"):
        build_snapshot(PROFILE, prices[prices["symbol"] != "SOXX"], last)
    with pytest.raises(PriceHistoryError, match="trend_ma_window=140"):
        days = sorted(prices["date"].unique())
        build_snapshot(PROFILE, prices, pd.Timestamp(days[100]).date())


def test_builder_short_trend_history_falls_back_in_profile():
    # SOXX with only 100 rows: ma_trend NaN in the snapshot, the profile uses SOXL's ma
    prices = synthetic_prices()
    soxx = prices[prices["symbol"] == "SOXX"]
    prices = prices[(prices["symbol"] != "SOXX") | prices.index.isin(soxx.index[-100:])]
    day = pd.Timestamp(prices["date"].max()).date()
    snap = build_snapshot(PROFILE, prices.reset_index(drop=True), day)
    row = snap.frame.set_index("symbol").loc["SOXX"]
    assert row["history_days"] == 100 and math.isnan(row["ma_trend"])
    assert not math.isnan(row["ma20_slope"])
    context = EvaluationContext(as_of=day, portfolio=make_portfolio(100_000))
    d = runner.evaluate(snap, context)
    soxl_ma = snap.frame.set_index("symbol").loc["SOXL", "ma_trend"]
    assert d.diagnostics.extras["trend_ma"] == pytest.approx(soxl_ma, rel=1e-15)
    assert d.diagnostics.extras["trend_fallback"] == ["ma_trend"]


def test_builder_trend_source_is_soxl():
    prices = synthetic_prices()
    day = pd.Timestamp(prices["date"].max()).date()
    snap = build_snapshot(PROFILE, prices, day, overrides={"blend_gate_trend_source": "SOXL"})
    soxl = snap.frame[snap.frame["symbol"] == "SOXL"]
    assert len(soxl) == 1 and soxl["role"].iloc[0] == "leveraged"
    assert not math.isnan(soxl["ma20"].iloc[0])
    assert "SOXX" not in set(snap.frame["symbol"])


def test_demo_end_to_end():
    from us_equity_strategies.demo import DEMO_AS_OF, demo_prices_cached

    prices = demo_prices_cached()
    snap = build_snapshot(PROFILE, prices, DEMO_AS_OF)
    assert set(snap.frame["symbol"]) == {"BOXX", "QQQI", "SOXL", "SOXX", "SPYI"}
    soxx = prices.loc[prices["symbol"] == "SOXX", "close"].to_numpy()
    price, ma = soxx[-1], soxx[-140:].mean()
    expected = "full" if price > ma * 1.08 else "mid" if price > ma * 1.06 else "defensive"
    context = EvaluationContext(as_of=DEMO_AS_OF, portfolio=make_portfolio(250_000))
    d = runner.evaluate(snap, context)
    assert d.diagnostics.regime == expected
    assert d.diagnostics.extras["trend_ma"] == pytest.approx(ma, rel=1e-12)
    assert sum(values(d).values()) == pytest.approx(250_000.0)
    assert d.provenance is not None and d.small_account is not None


# ------------------------------------------------------------------------------------------
# real data
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_prices() -> pd.DataFrame:
    path = DATA / "daily" / "adj_close.parquet"
    if not path.exists():
        pytest.skip(f"real data not available at {DATA}")
    return load_prices(path, symbols=["SOXL", "SOXX", "BOXX", "QQQI", "SPYI"])


@pytest.mark.realdata
def test_real_data_last_60_sessions(real_prices):
    days = [d for d in calendar.sessions(dt.date(2025, 12, 1), dt.date(2026, 6, 1))][-60:]
    assert days[-1] == dt.date(2026, 6, 1) and len(days) == 60
    pf = make_portfolio(250_000, qqqi=5_000)
    for day in days:
        snap = build_snapshot(PROFILE, real_prices, day)
        assert set(snap.frame["symbol"]) == {"BOXX", "QQQI", "SOXL", "SOXX", "SPYI"}
        d = runner.evaluate(snap, EvaluationContext(as_of=day, portfolio=pf))
        assert sum(values(d).values()) == pytest.approx(250_000.0)


@pytest.mark.realdata
def test_real_data_month_end_replay_hits_every_tier(real_prices):
    soxx = real_prices[real_prices["symbol"] == "SOXX"]
    soxx_dates, soxx_close = soxx["date"].to_numpy(), soxx["close"].to_numpy()
    equity, prev_soxl, tiers, hysteresis = 100_000.0, 0.0, [], 0
    for year in range(2011, 2027):
        for month in range(1, 13):
            day = calendar.last_session_of_month(year, month)
            if day > dt.date(2026, 7, 31):
                break
            snap = build_snapshot(PROFILE, real_prices, day)
            soxl_price = float(snap.frame.set_index("symbol").loc["SOXL", "close"])
            pf = make_portfolio(equity, soxl=(prev_soxl / soxl_price, prev_soxl))
            d = runner.evaluate(snap, EvaluationContext(as_of=day, portfolio=pf))
            # independent tier from raw closes (numpy mean of the last 140)
            closes = soxx_close[soxx_dates <= np.datetime64(day)]
            price, ma = closes[-1], closes[-140:].mean()
            active = int(prev_soxl / soxl_price) > 0 or prev_soxl > 1_000.0
            want = ("full" if price > ma * 1.08 else
                    "mid" if price > ma * 1.06 or (active and price > ma * 0.98) else
                    "defensive")
            assert d.diagnostics.regime == want, day
            hysteresis += want == "mid" and not price > ma * 1.06
            tiers.append(want)
            prev_soxl = values(d)["SOXL"]
    assert set(tiers) == {"full", "mid", "defensive"}
    assert hysteresis > 0  # the held-above-exit path occurs in real history
    assert len(tiers) == 187  # 2011-01 .. 2026-07


def test_registry_loads_profile():
    loaded = registry.load(PROFILE)
    assert loaded.required_rows is not None
    params = loaded.parameters_model.model_validate(loaded.manifest.parameters)
    assert loaded.required_rows(params) == {"SOXX": (), "SOXL": ("close", "ma_trend")}
