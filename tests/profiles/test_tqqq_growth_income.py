"""Tests of the tqqq_growth_income profile (spec/profiles.md §2.7) and its snapshot builder.

Profile tests go through ``runner.evaluate`` on hand-built snapshots; expected values are worked
out by hand from the spec (arithmetic in the comments). Builder tests compare with slow loops.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from us_equity_strategies import calendar, demo, registry, runner
from us_equity_strategies.builders import build_snapshot
from us_equity_strategies.builders import tqqq_growth_income as builder
from us_equity_strategies.contract import EvaluationContext, Holding, Portfolio, Role
from us_equity_strategies.errors import (
    InputError,
    ParameterError,
    PriceHistoryError,
    SnapshotError,
)
from us_equity_strategies.params import resolve_parameters
from us_equity_strategies.prices import load_prices, normalize_prices
from us_equity_strategies.snapshot import Snapshot

PROFILE = "tqqq_growth_income"
AS_OF = dt.date(2024, 12, 31)  # an NYSE session (max_age_sessions = 0)
CONTRACT = "tqqq_growth_income.feature_snapshot.v1"
BUILT_WITH = {"benchmark_symbol": "QQQ", "dual_drive_pullback_rebound_window": 20}
NAN = math.nan
DATA = Path(__file__).parents[2].parent / "shared" / "data"

# Default QQQ row: above MA200 (100 > 90), MA20 slope +0.5, rebound 100/95 - 1 = 0.0526,
# volatility-scaled threshold 0.01 * 2 = 0.02.
QQQ_ROW = {"close": 100.0, "ma200": 90.0, "ma20": 95.0, "ma20_slope": 0.5,
           "pullback_low": 95.0, "rebound_volatility": 0.01}
# Below MA200 (100 < 110) but above MA20 with a positive slope: only the pullback path can fire.
PULLBACK = {"ma200": 110.0, "ma20": 98.0, "ma20_slope": 0.2}
# Below MA200 and below MA20: neither path fires.
BEARISH = {"ma200": 110.0, "ma20": 105.0, "ma20_slope": -0.2}


def snapshot(qqq: dict | None = None, *, drop_qqq: bool = False, tradable: bool = True,
             built_with: dict | None = None) -> Snapshot:
    rows = []
    if not drop_qqq:
        rows.append({"symbol": "QQQ", "role": "signal", "history_days": 300,
                     **QQQ_ROW, **(qqq or {})})
    if tradable:
        for sym, px in (("BOXX", 110.0), ("QQQI", 50.0), ("QQQM", 200.0), ("SPYI", 50.0),
                        ("TQQQ", 80.0)):
            rows.append({"symbol": sym, "role": "tradable", "close": px, "history_days": 300,
                         "ma200": NAN, "ma20": NAN, "ma20_slope": NAN, "pullback_low": NAN,
                         "rebound_volatility": NAN})
    frame = pd.DataFrame(rows)
    frame.insert(0, "as_of", AS_OF.isoformat())
    frame = frame.sort_values("symbol").reset_index(drop=True)
    return Snapshot.from_frame(frame, profile=PROFILE, as_of=AS_OF, contract_version=CONTRACT,
                               builder_parameters=built_with or BUILT_WITH)


def context(equity: float = 100_000.0, held: tuple[str, ...] = (),
            buying_power: float | None = None, **params) -> EvaluationContext:
    positions = tuple(Holding(symbol=s, quantity=10, market_value=1_000.0) for s in held)
    return EvaluationContext(
        as_of=AS_OF, parameters=params,
        portfolio=Portfolio(total_equity=equity, buying_power=buying_power, positions=positions),
    )


def run(qqq: dict | None = None, equity: float = 100_000.0, held: tuple[str, ...] = (),
        **params):
    return runner.evaluate(snapshot(qqq), context(equity, held, **params))


def targets(decision) -> dict[str, float]:
    return decision.targets()


def assert_targets(decision, expected: dict[str, float]) -> None:
    got = targets(decision)
    assert sorted(got) == sorted(expected)
    for sym, value in expected.items():
        assert got[sym] == pytest.approx(value, rel=1e-12, abs=1e-6), sym


# Risk on at E = 100k with defaults: S = E (income off), reserved = 100k * 0.02 = 2,000;
# t + u = 0.90 <= max_risk = 1 - 2,000/100k = 0.98, so no scaling;
# TQQQ = 100k * 0.45 = 45,000, QQQ = 45,000, BOXX = 100k - 2k - 45k - 45k = 8,000.
RISK_ON_100K = {"TQQQ": 45_000.0, "QQQ": 45_000.0, "BOXX": 8_000.0, "SPYI": 0.0, "QQQI": 0.0}
# Risk off at E = 100k: reserved = 2,000, BOXX = 98,000.
RISK_OFF_100K = {"TQQQ": 0.0, "QQQ": 0.0, "BOXX": 98_000.0, "SPYI": 0.0, "QQQI": 0.0}


# --------------------------------------------------------------------------------------------
# state machine
# --------------------------------------------------------------------------------------------
def test_entry_above_ma200_with_positive_slope_not_held():
    d = run()
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("entry", "risk_on")
    assert_targets(d, RISK_ON_100K)
    assert d.diagnostics.reserved_cash == pytest.approx(2_000.0)
    assert d.diagnostics.trade_threshold_value == pytest.approx(1_000.0)  # 100k * 0.01
    assert d.diagnostics.benchmark_price == 100.0
    assert d.diagnostics.benchmark_symbol == "QQQ"
    assert d.diagnostics.safe_haven_symbol == "BOXX"
    assert d.diagnostics.snapshot_as_of == AS_OF
    roles = {p.symbol: p.role for p in d.positions}
    assert roles == {"BOXX": Role.SAFE_HAVEN, "QQQ": Role.RISK, "QQQI": Role.INCOME,
                     "SPYI": Role.INCOME, "TQQQ": Role.RISK}
    x = d.diagnostics.extras
    assert x["above_ma200"] is True and x["current_risk_active"] is False
    assert x["ma200"] == 90.0 and x["exit_line"] == 90.0
    assert x["ma20"] == 95.0 and x["ma20_slope"] == 0.5
    assert x["unlevered_symbol"] == "QQQ"
    assert x["strategy_equity"] == 100_000.0 and x["total_equity"] == 100_000.0
    assert x["income_ratio"] == 0.0 and x["income_value"] == 0.0
    assert x["real_buying_power"] == 0.0  # buying_power None -> 0


def test_hold_above_ma200_with_negative_slope_stays_on():
    d = run({"ma20_slope": -0.3}, held=("TQQQ",))
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("hold", "risk_on")
    assert_targets(d, RISK_ON_100K)
    assert d.diagnostics.extras["current_risk_active"] is True


def test_holding_only_the_unlevered_symbol_counts_as_active():
    d = run({"ma20_slope": -0.3}, held=("QQQ",))
    assert d.diagnostics.signal == "hold"
    assert_targets(d, RISK_ON_100K)


def test_negative_slope_blocks_entry_when_not_held():
    d = run({"ma20_slope": -0.3})
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("idle", "risk_off")
    assert_targets(d, RISK_OFF_100K)


def test_nan_slope_blocks_entry_when_required():
    d = run({"ma20_slope": NAN})
    assert d.diagnostics.signal == "idle"
    assert d.diagnostics.extras["ma20_slope"] is None


def test_exit_on_ma200_break():
    d = run(BEARISH, held=("TQQQ", "QQQ"))
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("exit", "risk_off")
    assert_targets(d, RISK_OFF_100K)
    assert d.diagnostics.reserved_cash == pytest.approx(2_000.0)
    assert d.diagnostics.extras["above_ma200"] is False


def test_price_equal_to_ma200_is_not_above():
    # above = price > MA200 is strict: 100 == 100 -> exit; MA20 105 keeps pullback off.
    d = run({"ma200": 100.0, "ma20": 105.0}, held=("TQQQ",))
    assert d.diagnostics.signal == "exit"
    assert d.diagnostics.extras["above_ma200"] is False


def test_idle_below_ma200_without_pullback():
    d = run(BEARISH)
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("idle", "risk_off")
    assert_targets(d, RISK_OFF_100K)


def test_require_ma20_slope_false_enters_on_negative_or_missing_slope():
    for slope in (-0.3, NAN):
        d = run({"ma20_slope": slope}, dual_drive_require_ma20_slope=False)
        assert (d.diagnostics.signal, d.diagnostics.regime) == ("entry", "risk_on")
        assert_targets(d, RISK_ON_100K)


def test_ma200_nan_is_not_above():
    # < 200 rows: MA200 NaN -> above False; a holder exits (MA20 105 keeps pullback off).
    d = run({"ma200": NAN, "ma20": 105.0}, held=("TQQQ",))
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("exit", "risk_off")
    x = d.diagnostics.extras
    assert x["above_ma200"] is False and x["ma200"] is None and x["exit_line"] is None
    # ... and an idle account does not enter on MA200 alone; here the pullback path fires
    # instead (100 > MA20 95, slope +0.5, rebound 0.0526 > 0.02).
    d = run({"ma200": NAN})
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("entry", "pullback_risk_on")


# --------------------------------------------------------------------------------------------
# pullback path and rebound gate
# --------------------------------------------------------------------------------------------
def test_pullback_path_on_when_not_held():
    d = run(PULLBACK)
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("entry", "pullback_risk_on")
    assert_targets(d, RISK_ON_100K)
    x = d.diagnostics.extras
    assert x["pullback_rebound"] == pytest.approx(100 / 95 - 1)  # 0.05263
    assert x["pullback_rebound_threshold"] == pytest.approx(0.02)  # 0.01 * 2
    assert x["pullback_rebound_volatility"] == 0.01
    assert x["pullback_rebound_volatility_multiplier"] == 2.0
    assert x["pullback_rebound_threshold_mode"] == "volatility_scaled"
    assert x["pullback_rebound_window"] == 20
    assert x["rebound_ok"] is True and x["above_ma200"] is False


def test_pullback_keeps_a_holder_on_after_ma200_break():
    # The state machine exits (not above) but the pullback path is on: icon "hold".
    d = run(PULLBACK, held=("TQQQ",))
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("hold", "pullback_risk_on")
    assert_targets(d, RISK_ON_100K)


@pytest.mark.parametrize(("row", "params"), [
    ({}, {"dual_drive_allow_pullback": False}),           # not allowed
    ({"ma20": 100.0}, {}),                                 # price == MA20 (strict >)
    ({"ma20": 101.0}, {}),                                 # price below MA20
    ({"ma20": NAN}, {}),                                   # MA20 missing
    ({"ma20_slope": 0.0}, {}),                             # slope not > 0
    ({"ma20_slope": NAN}, {}),                             # slope missing
    # positive slope is required on the pullback path even if require_ma20_slope is False
    ({"ma20_slope": -0.1}, {"dual_drive_require_ma20_slope": False}),
    # rebound = 100/80 - 1 = 0.25 == threshold 0.125 * 2 = 0.25 (exact floats): strict -> not ok
    ({"pullback_low": 80.0, "rebound_volatility": 0.125}, {}),
    ({"pullback_low": 99.0}, {}),                          # rebound 0.0101 < 0.02
    ({"pullback_low": NAN}, {}),                           # rebound NaN with threshold > 0
])
def test_each_failing_pullback_condition_turns_it_off(row, params):
    d = run({**PULLBACK, **row}, **params)
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("idle", "risk_off")
    assert_targets(d, RISK_OFF_100K)


def test_rebound_just_above_threshold_is_ok():
    # threshold 0.12 * 2 = 0.24 < rebound 0.25
    d = run({**PULLBACK, "pullback_low": 80.0, "rebound_volatility": 0.12})
    assert d.diagnostics.regime == "pullback_risk_on"
    assert d.diagnostics.extras["pullback_rebound"] == 0.25


def test_rebound_equal_to_threshold_is_not_ok():
    d = run({**PULLBACK, "pullback_low": 80.0, "rebound_volatility": 0.125})
    x = d.diagnostics.extras
    assert x["pullback_rebound"] == 0.25 and x["pullback_rebound_threshold"] == 0.25
    assert x["rebound_ok"] is False


def test_fixed_threshold_mode_ignores_volatility():
    row = {**PULLBACK, "pullback_low": 80.0, "rebound_volatility": 0.5}  # rebound 0.25
    # vol-scaled: 0.5 * 2 = 1.0 > 0.25 -> off; fixed 0.2 < 0.25 -> on; fixed 0.3 -> off
    assert run(row).diagnostics.regime == "risk_off"
    d = run(row, dual_drive_pullback_rebound_threshold_mode="fixed",
            dual_drive_pullback_rebound_threshold=0.2)
    assert d.diagnostics.regime == "pullback_risk_on"
    x = d.diagnostics.extras
    assert x["pullback_rebound_threshold"] == 0.2
    assert x["pullback_rebound_threshold_mode"] == "fixed"
    assert x["pullback_rebound_volatility"] is None
    d = run(row, dual_drive_pullback_rebound_threshold_mode=" Fixed ",
            dual_drive_pullback_rebound_threshold=0.3)
    assert d.diagnostics.regime == "risk_off"


def test_missing_volatility_falls_back_to_fixed_threshold():
    row = {**PULLBACK, "pullback_low": 80.0, "rebound_volatility": NAN}  # rebound 0.25
    d = run(row, dual_drive_pullback_rebound_threshold=0.3)  # fallback 0.3 > 0.25 -> off
    assert d.diagnostics.regime == "risk_off"
    assert d.diagnostics.extras["pullback_rebound_threshold"] == 0.3
    assert d.diagnostics.extras["pullback_rebound_volatility"] is None
    d = run(row, dual_drive_pullback_rebound_threshold=0.2)  # 0.2 < 0.25 -> on
    assert d.diagnostics.regime == "pullback_risk_on"


def test_zero_threshold_accepts_any_rebound():
    # Default fixed threshold 0 is the NaN-volatility fallback: threshold <= 0 -> rebound_ok,
    # even with no pullback low (rebound NaN).
    d = run({**PULLBACK, "rebound_volatility": NAN, "pullback_low": NAN})
    assert d.diagnostics.regime == "pullback_risk_on"
    x = d.diagnostics.extras
    assert x["pullback_rebound_threshold"] == 0.0 and x["pullback_rebound"] is None
    # multiplier 0 -> threshold max(0, 0.01 * 0) = 0 -> ok even with rebound 99/99 - 1 = 0
    d = run({**PULLBACK, "pullback_low": 100.0},
            dual_drive_pullback_rebound_volatility_multiplier=0.0)
    assert d.diagnostics.regime == "pullback_risk_on"


# --------------------------------------------------------------------------------------------
# sizing
# --------------------------------------------------------------------------------------------
def test_explicit_zero_weights_are_honoured():
    # t = 0: TQQQ 0, QQQ 45,000, BOXX = 100k - 2k - 45k = 53,000
    d = run(dual_drive_tqqq_weight=0.0)
    assert_targets(d, {"TQQQ": 0.0, "QQQ": 45_000.0, "BOXX": 53_000.0, "SPYI": 0.0,
                       "QQQI": 0.0})
    # both 0: still "entry"/risk_on, everything parked: BOXX = 100k - 2k = 98,000
    d = run(dual_drive_tqqq_weight=0, dual_drive_qqq_weight=0)
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("entry", "risk_on")
    assert_targets(d, RISK_OFF_100K)
    # a zero dual-drive reserve: BOXX = 100k - 90k = 10,000, reserved 0
    d = run(dual_drive_cash_reserve_ratio=0.0)
    assert targets(d)["BOXX"] == pytest.approx(10_000.0)
    assert d.diagnostics.reserved_cash == 0.0


def test_weights_above_max_risk_are_scaled():
    # t = u = 0.6: t + u = 1.2 > max_risk 0.98 -> scale 0.98/1.2 -> t = u = 0.49
    # TQQQ = QQQ = 49,000; BOXX = max(0, 100k - 2k - 98k) = 0
    d = run(dual_drive_tqqq_weight=0.6, dual_drive_qqq_weight=0.6)
    assert_targets(d, {"TQQQ": 49_000.0, "QQQ": 49_000.0, "BOXX": 0.0, "SPYI": 0.0,
                       "QQQI": 0.0})
    # reserve 0.2: max_risk 0.8 < 0.9 -> t = u = 0.4 -> 40,000 each, BOXX 100k - 20k - 80k = 0
    d = run(dual_drive_cash_reserve_ratio=0.2)
    assert_targets(d, {"TQQQ": 40_000.0, "QQQ": 40_000.0, "BOXX": 0.0, "SPYI": 0.0,
                       "QQQI": 0.0})
    assert d.diagnostics.reserved_cash == pytest.approx(20_000.0)


def test_risk_off_uses_cash_reserve_ratio_not_the_dual_drive_one():
    # risk off: reserved = 100k * 0.05 = 5,000, BOXX 95,000 (dual-drive reserve unused)
    d = run(BEARISH, cash_reserve_ratio=0.05, dual_drive_cash_reserve_ratio=0.1)
    assert_targets(d, {"TQQQ": 0.0, "QQQ": 0.0, "BOXX": 95_000.0, "SPYI": 0.0, "QQQI": 0.0})
    assert d.diagnostics.reserved_cash == pytest.approx(5_000.0)
    # risk on: reserved = 100k * 0.1 = 10,000; max_risk 0.9 = t + u -> no scaling;
    # BOXX = 100k - 10k - 90k = 0
    d = run(cash_reserve_ratio=0.05, dual_drive_cash_reserve_ratio=0.1)
    assert targets(d)["TQQQ"] == pytest.approx(45_000.0)
    assert targets(d)["BOXX"] == pytest.approx(0.0, abs=1e-6)
    assert d.diagnostics.reserved_cash == pytest.approx(10_000.0)


def test_rebalance_threshold_and_buying_power():
    d = runner.evaluate(snapshot(), context(250_000.0, buying_power=12_345.0),
                        overrides={"rebalance_threshold_ratio": 0.02})
    assert d.diagnostics.trade_threshold_value == pytest.approx(5_000.0)  # 250k * 0.02
    assert d.diagnostics.extras["real_buying_power"] == 12_345.0


# --------------------------------------------------------------------------------------------
# income layer (T = 1,000,000)
# --------------------------------------------------------------------------------------------
T = {"income_threshold_usd": 1_000_000.0}


def test_income_layer_off_below_threshold_and_at_threshold():
    for equity in (900_000.0, 1_000_000.0):  # E < T -> 0; E == T -> ramp value 0
        d = run(equity=equity, **T)
        assert d.diagnostics.extras["income_ratio"] == 0.0
        assert targets(d)["SPYI"] == 0.0 and targets(d)["QQQI"] == 0.0
        assert targets(d)["TQQQ"] == pytest.approx(equity * 0.45)


def test_income_layer_linear_ramp():
    # E = 1.5M: ratio 0.40 * 0.5M/1M = 0.20; income 300k -> SPYI 150k, QQQI 150k; S = 1.2M;
    # risk on: reserved 24k, TQQQ = QQQ = 540k, BOXX = 1.2M - 24k - 1.08M = 96k;
    # threshold = 1.5M * 0.01 = 15k.
    d = run(equity=1_500_000.0, **T)
    assert_targets(d, {"TQQQ": 540_000.0, "QQQ": 540_000.0, "BOXX": 96_000.0,
                       "SPYI": 150_000.0, "QQQI": 150_000.0})
    x = d.diagnostics.extras
    assert x["income_ratio"] == pytest.approx(0.2)
    assert x["income_value"] == pytest.approx(300_000.0)
    assert x["strategy_equity"] == pytest.approx(1_200_000.0)
    assert d.diagnostics.reserved_cash == pytest.approx(24_000.0)
    assert d.diagnostics.trade_threshold_value == pytest.approx(15_000.0)
    # risk off: BOXX = 1.2M - 24k = 1,176,000; income unchanged (exact values, can force sales)
    d = run(BEARISH, equity=1_500_000.0, **T)
    assert_targets(d, {"TQQQ": 0.0, "QQQ": 0.0, "BOXX": 1_176_000.0,
                       "SPYI": 150_000.0, "QQQI": 150_000.0})


def test_income_layer_split_follows_qqqi_ratio():
    # income 300k; QQQI 0.25 -> QQQI 75k, SPYI 225k; explicit 0 -> all SPYI
    d = run(equity=1_500_000.0, qqqi_income_ratio=0.25, **T)
    assert targets(d)["QQQI"] == pytest.approx(75_000.0)
    assert targets(d)["SPYI"] == pytest.approx(225_000.0)
    d = run(equity=1_500_000.0, qqqi_income_ratio=0.0, **T)
    assert targets(d)["QQQI"] == 0.0
    assert targets(d)["SPYI"] == pytest.approx(300_000.0)


def test_income_layer_jumps_from_040_to_060_above_2t():
    # E = 2T: ratio 0.40, income 800k, S = 1.2M
    d = run(equity=2_000_000.0, **T)
    assert d.diagnostics.extras["income_ratio"] == pytest.approx(0.40)
    assert d.diagnostics.extras["income_value"] == pytest.approx(800_000.0)
    assert targets(d)["SPYI"] == pytest.approx(400_000.0)
    # E = 2T + 1: ratio 0.60, income 1,200,000.6, S = 800,000.4; TQQQ = 0.45 S = 360,000.18
    d = run(equity=2_000_001.0, **T)
    assert d.diagnostics.extras["income_ratio"] == 0.60
    assert d.diagnostics.extras["income_value"] == pytest.approx(1_200_000.6)
    assert targets(d)["QQQI"] == pytest.approx(600_000.3)
    assert targets(d)["TQQQ"] == pytest.approx(360_000.18)


def test_zero_income_threshold_puts_060_in_income():
    d = run(equity=100_000.0, income_threshold_usd=0.0)
    assert d.diagnostics.extras["income_ratio"] == 0.60
    assert targets(d)["TQQQ"] == pytest.approx(18_000.0)  # S = 40k, 0.45 S


# --------------------------------------------------------------------------------------------
# unlevered symbol, validation, bad input
# --------------------------------------------------------------------------------------------
def test_qqqm_as_unlevered_symbol():
    d = run(dual_drive_unlevered_symbol="qqqm")
    assert_targets(d, {"TQQQ": 45_000.0, "QQQM": 45_000.0, "BOXX": 8_000.0, "SPYI": 0.0,
                       "QQQI": 0.0})
    assert "QQQ" not in targets(d)
    assert d.diagnostics.extras["unlevered_symbol"] == "QQQM"
    # holding QQQM counts as active; holding plain QQQ does not when QQQM is configured
    d = run({"ma20_slope": -0.3}, held=("QQQM",), dual_drive_unlevered_symbol="QQQM")
    assert d.diagnostics.signal == "hold"
    d = run({"ma20_slope": -0.3}, held=("QQQ",), dual_drive_unlevered_symbol="QQQM")
    assert d.diagnostics.signal == "idle"


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("attack_allocation_mode", "dynamic", "fixed_qqq_tqqq_pullback"),
    ("dual_drive_unlevered_symbol", "tqqq", "dual_drive_unlevered_symbol"),
    ("dual_drive_unlevered_symbol", "BOXX", "dual_drive_unlevered_symbol"),
    ("dual_drive_unlevered_symbol", "SPYI", "dual_drive_unlevered_symbol"),
    ("dual_drive_unlevered_symbol", "QQQI", "dual_drive_unlevered_symbol"),
    ("dual_drive_unlevered_symbol", "  ", "must not be empty"),
    ("dual_drive_pullback_rebound_threshold_mode", "adaptive", "volatility_scaled"),
    ("dual_drive_tqqq_weight", -0.1, "dual_drive_tqqq_weight"),
    ("dual_drive_qqq_weight", 1.5, "dual_drive_qqq_weight"),
    ("dual_drive_pullback_rebound_window", 0, "dual_drive_pullback_rebound_window"),
    ("income_threshold_usd", math.inf, "income_threshold_usd"),
    ("dual_drive_tqqq_weigth", 0.5, "did you mean 'dual_drive_tqqq_weight'"),
])
def test_invalid_parameters_raise_parameter_error(key, value, needle):
    # overrides bypass EvaluationContext's own finiteness check, so the model sees inf too
    with pytest.raises(ParameterError, match=needle):
        runner.evaluate(snapshot(), context(), overrides={key: value})


def test_allocation_mode_is_normalised():
    d = run(attack_allocation_mode="  FIXED_QQQ_TQQQ_PULLBACK ")
    assert_targets(d, RISK_ON_100K)


def test_missing_portfolio_is_an_input_error():
    with pytest.raises(InputError, match="--equity") as info:
        runner.evaluate(snapshot(), EvaluationContext(as_of=AS_OF))
    assert not isinstance(info.value, SnapshotError)


def test_missing_benchmark_row_or_close_is_a_snapshot_error():
    with pytest.raises(SnapshotError, match="'QQQ' is missing"):
        runner.evaluate(snapshot(drop_qqq=True), context())
    with pytest.raises(SnapshotError, match="close"):
        runner.evaluate(snapshot({"close": NAN}), context())


def test_snapshot_built_with_other_window_is_refused():
    snap = snapshot(built_with={**BUILT_WITH, "dual_drive_pullback_rebound_window": 10})
    with pytest.raises(SnapshotError, match="dual_drive_pullback_rebound_window"):
        runner.evaluate(snap, context())


finite = st.floats(min_value=1.0, max_value=1_000.0, allow_nan=False)
maybe = st.one_of(st.just(NAN), finite)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(close=finite, ma200=maybe, ma20=maybe, slope=st.one_of(st.just(NAN),
       st.floats(-5, 5)), low=maybe, vol=st.one_of(st.just(NAN), st.floats(0, 0.2)),
       equity=st.floats(0, 5e6), held=st.booleans(), income_t=st.floats(0, 3e6))
def test_invariants(close, ma200, ma20, slope, low, vol, equity, held, income_t):
    row = {"close": close, "ma200": ma200, "ma20": ma20, "ma20_slope": slope,
           "pullback_low": low, "rebound_volatility": vol}
    d = run(row, equity=equity, held=("TQQQ",) if held else (), income_threshold_usd=income_t)
    got = targets(d)
    assert sorted(got) == ["BOXX", "QQQ", "QQQI", "SPYI", "TQQQ"]
    assert min(got.values()) >= 0.0
    # targets + reserved cash never exceed equity; equality unless BOXX was floored at 0
    total = sum(got.values()) + d.diagnostics.reserved_cash
    assert total <= equity * (1 + 1e-12) + 1e-6
    assert total == pytest.approx(equity, rel=1e-9, abs=1e-6)
    on = d.diagnostics.regime != "risk_off"
    assert d.diagnostics.signal == {(True, True): "hold", (True, False): "entry",
                                    (False, True): "exit", (False, False): "idle"}[(on, held)]
    if not on:
        assert got["TQQQ"] == 0.0 and got["QQQ"] == 0.0


# --------------------------------------------------------------------------------------------
# builder
# --------------------------------------------------------------------------------------------
def _params(**overrides):
    loaded = registry.load(PROFILE)
    return resolve_parameters(loaded.parameters_model, loaded.manifest.parameters, overrides,
                              PROFILE)


def _long(series: dict[str, list[float]], start: str = "2023-01-02") -> pd.DataFrame:
    frames = []
    for sym, closes in series.items():
        dates = pd.bdate_range(start, periods=len(closes))
        frames.append(pd.DataFrame({"date": dates, "symbol": sym, "close": closes}))
    return normalize_prices(pd.concat(frames, ignore_index=True))


def _synthetic(n: int, seed: int = 7) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(100.0 * np.cumprod(1.0 + rng.normal(0.0005, 0.015, n)))


def _slow_indicators(c: list[float], w: int) -> dict[str, float]:
    """Obvious loops over the closes (spec §2.7 'Indicators')."""
    def mean_ending(k: int, n: int) -> float:  # mean of n closes ending at index k
        return sum(c[k - n + 1:k + 1]) / n if k - n + 1 >= 0 else NAN

    last = len(c) - 1
    rets = [c[i] / c[i - 1] - 1 for i in range(1, len(c))]
    return {
        "close": c[-1],
        "history_days": len(c),
        "ma200": mean_ending(last, 200),
        "ma20": mean_ending(last, 20),
        "ma20_slope": mean_ending(last, 20) - mean_ending(last - 1, 20)
        if last - 20 >= 0 else NAN,
        "pullback_low": min(c[-w:]) if len(c) >= w else NAN,
        "rebound_volatility": statistics.stdev(rets[-w:]) if len(rets) >= w and w > 1 else NAN,
    }


@pytest.mark.parametrize(("n", "window"), [(230, 20), (230, 5), (150, 20), (21, 20), (20, 20),
                                           (3, 2), (1, 20)])
def test_builder_matches_slow_loops(n, window):
    closes = _synthetic(n)
    prices = _long({"QQQ": closes, "TQQQ": _synthetic(n, 3)})
    as_of = prices["date"].max().date()
    table = builder.build(prices, as_of, _params(dual_drive_pullback_rebound_window=window))
    assert list(table.columns) == list(builder.COLUMNS)
    assert list(table["symbol"]) == ["QQQ", "TQQQ"]
    row = table.iloc[0]
    expected = _slow_indicators(closes, window)
    assert row["role"] == "signal" and row["as_of"] == as_of.isoformat()
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(row[key]), key
        else:
            assert row[key] == pytest.approx(value, rel=1e-11, abs=1e-12), key


def test_builder_tradable_rows_and_as_of_cut():
    prices = _long({"QQQ": _synthetic(40), "TQQQ": [10.0, 11.0, 12.0, 13.0],
                    "BOXX": [100.0, 101.0], "SPY": [1.0] * 5, "VOO": [5.0, 6.0, 7.0],
                    "QQQI": [50.0] * 10})
    as_of = dt.date(2023, 1, 4)  # third business day: TQQQ 12.0 (3 rows), BOXX 101 (2 rows)
    table = builder.build(prices, as_of, _params(dual_drive_unlevered_symbol="VOO"))
    assert list(table["symbol"]) == ["BOXX", "QQQ", "QQQI", "TQQQ", "VOO"]  # no SPY
    t = table.set_index("symbol")
    assert t.loc["TQQQ", "close"] == 12.0 and t.loc["TQQQ", "history_days"] == 3
    assert t.loc["BOXX", "close"] == 101.0 and t.loc["BOXX", "history_days"] == 2
    assert t.loc["VOO", "close"] == 7.0 and t.loc["QQQ", "history_days"] == 3
    assert (t.drop(index="QQQ")["role"] == "tradable").all()
    assert t.drop(index="QQQ")[["ma200", "ma20", "ma20_slope", "pullback_low",
                                "rebound_volatility"]].isna().all().all()
    assert (table["as_of"] == "2023-01-04").all()
    assert table["history_days"].dtype == np.int64


def test_builder_other_benchmark_symbol():
    prices = _long({"QQQ": [1.0, 2.0], "QQQM": [3.0, 4.0, 5.0]})
    table = builder.build(prices, prices["date"].max().date(),
                          _params(benchmark_symbol="qqqm"))
    t = table.set_index("symbol")
    assert t.loc["QQQM", "role"] == "signal" and t.loc["QQQM", "close"] == 5.0
    assert t.loc["QQQ", "role"] == "tradable"


def test_builder_without_benchmark_rows_raises():
    prices = _long({"TQQQ": [1.0, 2.0], "QQQ": [5.0]}, start="2023-02-01")
    with pytest.raises(PriceHistoryError, match=r"'QQQ'.*2023-01-31"):
        builder.build(prices, dt.date(2023, 1, 31), _params())
    with pytest.raises(PriceHistoryError, match=r"'QQQM'.*2023-03-01"):
        builder.build(prices, dt.date(2023, 3, 1), _params(benchmark_symbol="QQQM"))


def test_build_snapshot_is_truncation_invariant():
    prices = _long({"QQQ": _synthetic(300), "TQQQ": _synthetic(300, 1),
                    "BOXX": _synthetic(300, 2)})
    as_of = dt.date(2023, 10, 2)
    cut = prices[prices["date"] <= pd.Timestamp(as_of)].reset_index(drop=True)
    assert len(cut) < len(prices)
    a = build_snapshot(PROFILE, prices, as_of)
    b = build_snapshot(PROFILE, cut, as_of)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.sha256 == b.sha256
    assert a.builder_parameters == BUILT_WITH


def test_demo_prices_end_to_end():
    snap = build_snapshot(PROFILE, demo.demo_prices(), demo.DEMO_AS_OF)
    d = runner.evaluate(snap, EvaluationContext(
        as_of=demo.DEMO_AS_OF, portfolio=Portfolio(total_equity=100_000.0)))
    assert sorted(d.targets()) == ["BOXX", "QQQ", "QQQI", "SPYI", "TQQQ"]
    assert d.diagnostics.signal in {"entry", "hold", "exit", "idle"}
    assert sum(d.targets().values()) + d.diagnostics.reserved_cash == pytest.approx(100_000.0)
    assert d.small_account is not None and d.small_account.feasibility is not None
    assert not d.small_account.feasibility.unpriced_symbols


# --------------------------------------------------------------------------------------------
# real data
# --------------------------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.slow
def test_real_data_sessions_and_month_ends():
    path = DATA / "daily" / "adj_close.parquet"
    if not path.exists():
        pytest.skip("../shared/data is absent")
    prices = load_prices(path, symbols=["QQQ", "TQQQ", "BOXX", "SPYI", "QQQI"])
    end = dt.date(2026, 6, 1)
    days = calendar.sessions(dt.date(2026, 2, 1), end)[-60:]
    assert len(days) == 60 and days[-1] == end
    for day in days:
        snap = build_snapshot(PROFILE, prices, day)
        d = runner.evaluate(snap, EvaluationContext(
            as_of=day, portfolio=Portfolio(total_equity=50_000.0)))
        assert d.actionable and len(d.positions) == 5
    # Month-ends 2011-01 .. 2026-05, carrying TQQQ holdings from one decision to the next.
    regimes, held = [], False
    for year in range(2011, 2027):
        for month in range(1, 13):
            if (year, month) > (2026, 5):
                break
            day = calendar.last_session_of_month(year, month)
            snap = build_snapshot(PROFILE, prices, day)
            positions = (Holding(symbol="TQQQ", quantity=10, market_value=1_000.0),) \
                if held else ()
            d = runner.evaluate(snap, EvaluationContext(
                as_of=day, portfolio=Portfolio(total_equity=100_000.0, positions=positions)))
            regimes.append(d.diagnostics.regime)
            held = d.targets()["TQQQ"] > 0
    assert "risk_off" in regimes and "risk_on" in regimes
