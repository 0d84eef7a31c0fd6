"""Backtest engine: hand-computed account arithmetic, timing, splicing, determinism.

Most tests drive a scripted test profile (tests/_backtest_script.py, installed as a plugin) on
tiny price tables whose every number is worked out in the comments.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from us_equity_strategies import calendar, demo
from us_equity_strategies.backtest import (
    BacktestConfig,
    LookAheadError,
    evaluation_plan,
    run_backtest,
    splice_proxies,
    splice_synthetic,
)
from us_equity_strategies.errors import UsageError
from us_equity_strategies.prices import normalize_prices

HELPER = Path(__file__).parent / "_backtest_script.py"
D = calendar.sessions(dt.date(2024, 1, 2), dt.date(2024, 1, 31))  # Jan 2, 3, 4, 5, 8, ...


@pytest.fixture
def script(plugins):
    """Install the scripted profile ``bt_script``; returns an installer taking manifest knobs."""

    def install(mode: str = "weight", frequency: str = "daily"):
        edits = {'builder_parameters = ["lookback"]':
                 'builder = "acme_plugin.bt_script:build"\nbuilder_parameters = ["lookback"]'}
        if mode == "value":
            edits['target_mode = "weight"'] = 'target_mode = "value"'
        if frequency == "monthly":
            edits['evaluation_frequency = "daily"'] = 'evaluation_frequency = "monthly"'
        pkg = plugins.install({"bt_script": "bt_script"}, manifest_edits={"bt_script": edits})
        shutil.copy(HELPER, pkg / "bt_script.py")
        module = importlib.import_module("acme_plugin.bt_script")
        module.SCRIPT.clear()
        module.SEEN.clear()
        module.PEEK = False
        return module

    return install


def toy(closes: dict[str, list[float | None]], days=D) -> pd.DataFrame:
    """Long price table; ``None`` = no row that session. SPY (benchmark) flat at 100."""
    n = max(len(v) for v in closes.values())
    rows = [(days[i], s, c) for s, v in {"SPY": [100.0] * n, **closes}.items()
            for i, c in enumerate(v) if c is not None]
    return normalize_prices(pd.DataFrame(rows, columns=["date", "symbol", "close"]))


def cfg(start=D[0], end=D[-1], **kw) -> BacktestConfig:
    base = {"profile": "bt_script", "initial_equity": 1000.0, "cost_bps": 0.0,
            "execution": "same_close"}
    return BacktestConfig(start=start, end=end, **{**base, **kw})


def weights(result, day) -> dict[str, float]:
    row = result.weights_history.loc[pd.Timestamp(day)]
    return {k: v for k, v in row.items() if v != 0}


# ------------------------------------------------------------------------------- arithmetic
def test_weights_drift_with_prices(script):
    m = script()
    m.SCRIPT[D[0]] = {"A": 0.5, "B": 0.5}
    px = toy({"A": [100, 110, 121], "B": [100, 90, 99]})
    r = run_backtest(cfg(end=D[2]), px)
    # t0: 5 + 5 shares at 100, cash 0. t1: 550 / 450 (E 1000). t2: 605 / 495 (E 1100).
    assert weights(r, D[0]) == {"A": 0.5, "B": 0.5}
    assert weights(r, D[1]) == pytest.approx({"A": 0.55, "B": 0.45}, rel=1e-15)
    assert weights(r, D[2]) == pytest.approx({"A": 0.55, "B": 0.45}, rel=1e-15)
    assert r.portfolio_returns.tolist() == pytest.approx([0.0, 0.0, 0.1], abs=1e-15)
    assert r.equity.tolist() == pytest.approx([1000.0, 1000.0, 1100.0], rel=1e-15)
    # turnover at t0: 1/2 (|0.5| + |0.5| + |0 - 1| cash) = 1; holds afterwards: 0.
    assert r.turnover.tolist() == [1.0, 0.0, 0.0]
    assert [rec.decision.actionable for rec in r.decisions] == [True, False, False]
    assert m.SEEN[1]["positions"] == {"A": 5.0, "B": 5.0} and m.SEEN[2]["equity"] == 1100.0


def test_costs_in_bps_of_traded_value(script):
    m = script()
    m.SCRIPT.update({D[0]: {"A": 0.4, "B": 0.4}, D[1]: {"A": 0.4, "B": 0.4}})
    px = toy({"A": [100, 110], "B": [100, 90]})
    r = run_backtest(cfg(end=D[1], cost_bps=10.0), px)
    # t0: buy 400 + 400, cost 800 x 10/1e4 = 0.8, cash 1000 - 800 - 0.8 = 199.2, E 999.2.
    # t1: A 440, B 360, E 999.2; targets 0.4 x 999.2 = 399.68: sell A 40.32, buy B 39.68,
    # cost 80 x 0.001 = 0.08; cash 199.2 + 40.32 - 39.68 - 0.08 = 199.76; E 999.12.
    assert r.trades["cost"].tolist() == pytest.approx([0.4, 0.4, 0.04032, 0.03968], rel=1e-12)
    assert r.trades["value"].tolist() == pytest.approx([400, 400, -40.32, 39.68], rel=1e-12)
    assert r.equity.tolist() == pytest.approx([999.2, 999.12], rel=1e-14)
    assert r.weights_history["CASH"].tolist() == pytest.approx([199.2 / 999.2, 199.76 / 999.12])
    assert r.portfolio_returns.tolist() == pytest.approx([-0.0008, 999.12 / 999.2 - 1], rel=1e-12)
    assert "targets_scaled" not in r.warnings


def test_full_investment_is_scaled_so_cash_covers_costs(script):
    m = script()
    m.SCRIPT[D[0]] = {"A": 0.5, "B": 0.5}
    r = run_backtest(cfg(end=D[1], cost_bps=10.0), toy({"A": [100, 100], "B": [100, 100]}))
    # Cash after = 1000 - 1000 s - 0.001 x 1000 s >= 0  ->  s = 1 / 1.001; cost = s.
    s = 1 / 1.001
    assert r.equity.iloc[0] == pytest.approx(1000 - s, rel=1e-12)
    cash = r.weights_history["CASH"].iloc[0] * r.equity.iloc[0]
    assert 0.0 <= cash < 1e-9
    assert r.warnings["targets_scaled"] == 1


def test_unallocated_weight_stays_cash_earning_nothing(script):
    m = script()
    m.SCRIPT[D[0]] = {"A": 0.3}
    r = run_backtest(cfg(end=D[1]), toy({"A": [100, 200]}))
    # 3 shares of A, 700 cash; A doubles: E = 600 + 700 = 1300, return 30%.
    assert r.equity.tolist() == [1000.0, 1300.0]
    assert weights(r, D[1]) == pytest.approx({"A": 600 / 1300, "CASH": 700 / 1300})
    assert r.portfolio_returns.iloc[1] == pytest.approx(0.3, rel=1e-15)


@pytest.mark.parametrize(("bps", "cash"), [(0.0, 210.0), (5.0, 209.605)])
def test_whole_shares_round_down_and_leave_residual_cash(script, bps, cash):
    m = script()
    m.SCRIPT[D[0]] = {"A": 0.5, "B": 0.5}
    r = run_backtest(cfg(end=D[0], integer_shares=True, cost_bps=bps),
                     toy({"A": [300], "B": [70]}))
    # floor(500 / 300) = 1 share (300), floor(500 / 70) = 7 shares (490); cash 210,
    # minus 790 x 5/1e4 = 0.395 with costs.
    assert r.trades["shares"].tolist() == [1.0, 7.0]
    assert r.weights_history["CASH"].iloc[0] * r.equity.iloc[0] == pytest.approx(cash)


def test_whole_shares_with_costs_never_overdraw(script):
    m = script()
    m.SCRIPT[D[0]] = {"A": 0.5, "B": 0.5}
    r = run_backtest(cfg(end=D[0], integer_shares=True, cost_bps=50.0),
                     toy({"A": [100], "B": [100]}))
    # 5 + 5 shares would cost 1000 + 5 > 1000: scaled just below 1 -> 4 + 4 shares,
    # cash 1000 - 800 - 800 x 0.005 = 196.
    assert r.trades["shares"].tolist() == [4.0, 4.0]
    assert r.equity.iloc[0] == pytest.approx(996.0)
    assert r.weights_history["CASH"].iloc[0] * 996.0 == pytest.approx(196.0)


def test_no_execute_keeps_holdings(script):
    m = script()
    m.SCRIPT[D[0]] = {"A": 1.0}
    r = run_backtest(cfg(end=D[2]), toy({"A": [100, 120, 90]}))
    assert r.equity.tolist() == [1000.0, 1200.0, 900.0]
    assert r.turnover.tolist() == [1.0, 0.0, 0.0]
    assert [rec.decision.no_op_reason for rec in r.decisions] == [None, "not_scripted",
                                                                  "not_scripted"]
    assert m.SEEN[1]["positions"] == {"A": 10.0} and m.SEEN[1]["equity"] == 1200.0
    assert len(r.trades) == 1


@pytest.mark.parametrize("keep", [False, True])
def test_unlisted_holdings_are_sold_unless_kept_and_zero_liquidates(script, keep):
    m = script()
    m.SCRIPT.update({D[0]: {"A": 0.5, "B": 0.5}, D[1]: {"B": 0.25}, D[2]: {"A": 0.0, "B": 0.25}})
    r = run_backtest(cfg(end=D[2], keep_unlisted=keep), toy({"A": [100] * 3, "B": [100] * 3}))
    if keep:
        # t1: only B listed -> B to 250 (2.5 shares), A keeps its 5 shares (a platform leaves
        # unmanaged holdings alone); t2: A listed at 0 -> sold, B unchanged.
        assert weights(r, D[1]) == pytest.approx({"A": 0.5, "B": 0.25, "CASH": 0.25})
        assert r.trades[["symbol", "shares"]].values.tolist() == [
            ["A", 5.0], ["B", 5.0], ["B", -2.5], ["A", -5.0]]
        assert r.warnings["unlisted_holding_kept"] == 1
        assert "unlisted_holding_sold" not in r.warnings
        assert r.diagnostics["warning_examples"]["unlisted_holding_kept"] == (
            f"{D[1]}: A held but not in the decision; kept")
    else:
        # t1: A is held but not listed -> sold with B's trade (the account is the profile's).
        assert weights(r, D[1]) == pytest.approx({"B": 0.25, "CASH": 0.75})
        assert r.trades[["symbol", "shares"]].values.tolist() == [
            ["A", 5.0], ["B", 5.0], ["B", -2.5], ["A", -5.0]]
        assert r.trades["date"].tolist()[2:] == [pd.Timestamp(D[1])] * 2
        assert r.warnings["unlisted_holding_sold"] == 1
    assert weights(r, D[2]) == pytest.approx({"B": 0.25, "CASH": 0.75})


def test_value_targets_above_equity_are_scaled_down(script):
    m = script(mode="value")
    m.SCRIPT[D[0]] = {"A": 800.0, "B": 800.0}
    r = run_backtest(cfg(end=D[0]), toy({"A": [100], "B": [100]}))
    # 1600 asked, 1000 available: s = 0.625 -> 500 each.
    assert r.trades["value"].tolist() == pytest.approx([500.0, 500.0], rel=1e-12)
    assert r.warnings["targets_scaled"] == 1


def test_float_residue_trades_are_not_written():
    from us_equity_strategies.backtest import Account

    # Re-targeting a holding at its own value up to float residue (here x (1 + 1e-13), i.e.
    # 3e-14 shares or $9e-14) is no trade; a real target still trades.
    acct = Account(("A", "B"), 10.0)
    price = np.array([3.0, 7.0])
    acct.apply_targets({"A": 0.9}, "value", price, price, cost_bps=0.0)
    held = acct.shares[0]
    report = acct.apply_targets({"A": held * 3.0 * (1 + 1e-13), "B": 1.4}, "value", price,
                                price, cost_bps=0.0)
    assert [f.symbol for f in report.fills] == ["B"]  # A's 3e-14 share residue skipped
    assert acct.shares[0] == held and acct.shares[1] == pytest.approx(0.2, rel=1e-15)


def test_stale_prices_are_counted_and_unpriced_targets_kept(script):
    m = script()
    m.SCRIPT.update({D[0]: {"A": 0.5, "B": 0.5}, D[1]: {"A": 0.0, "B": 0.5}})
    r = run_backtest(cfg(end=D[2]), toy({"A": [100, None, 100], "B": [100, 100, 100]}))
    # A has no close on t1: valued at 100 (stale) and its sale is not filled (kept).
    assert r.equity.tolist() == [1000.0, 1000.0, 1000.0]
    assert r.warnings["stale_price"] == 1 and r.warnings["unpriced_target"] == 1
    assert weights(r, D[2]) == {"A": 0.5, "B": 0.5}


# ------------------------------------------------------------------------------- timing
def test_next_close_versus_same_close(script):
    m = script()
    m.SCRIPT[D[0]] = {"A": 1.0}
    px = toy({"A": [100, 110, 121]})
    same = run_backtest(cfg(end=D[2]), px)
    m.SEEN.clear()
    nxt = run_backtest(cfg(end=D[2], execution="next_close"), px)
    # same_close: 10 shares at 100 -> +10%, +10%. next_close: 1000/110 shares at t1 -> 0, +10%.
    assert same.portfolio_returns.tolist() == pytest.approx([0.0, 0.1, 0.1], abs=1e-15)
    assert nxt.portfolio_returns.tolist() == pytest.approx([0.0, 0.0, 0.1], abs=1e-15)
    assert nxt.trades["shares"].iloc[0] == pytest.approx(1000 / 110)
    # next_close never evaluates the last session (nothing could be filled).
    assert [rec.session for rec in nxt.decisions] == [D[0], D[1]]
    assert [rec.execute_on for rec in nxt.decisions] == [D[1], D[2]]
    assert [s["as_of"] for s in m.SEEN] == [D[0], D[1]]


def test_evaluation_plan():
    days = calendar.sessions(dt.date(2024, 1, 29), dt.date(2024, 3, 1))
    daily = evaluation_plan(days, "daily", "next_close")
    assert len(daily) == len(days) - 1 and daily[0] == (0, days[0], 1)
    assert evaluation_plan(days, "daily", "same_close")[-1] == (len(days) - 1, days[-1],
                                                                 len(days) - 1)
    jan31, feb29 = days.index(dt.date(2024, 1, 31)), days.index(dt.date(2024, 2, 29))
    assert evaluation_plan(days, "monthly", "next_close") == [
        (jan31, dt.date(2024, 2, 1), jan31 + 1), (feb29, dt.date(2024, 3, 1), feb29 + 1)]
    assert evaluation_plan(days, "monthly", "same_close") == [
        (jan31, dt.date(2024, 2, 1), jan31), (feb29, dt.date(2024, 3, 1), feb29)]
    # A month-end that is the run's last session is never evaluated.
    assert evaluation_plan(days[: feb29 + 1], "monthly", "same_close") == [
        (jan31, dt.date(2024, 2, 1), jan31)]


def test_weekly_plan_takes_the_last_session_of_each_week():
    # 2024-03-25..04-12: Good Friday 03-29 is a holiday, so that week ends on Thursday 03-28.
    days = calendar.sessions(dt.date(2024, 3, 25), dt.date(2024, 4, 12))
    ends = [dt.date(2024, 3, 28), dt.date(2024, 4, 5), dt.date(2024, 4, 12)]
    assert [(days[i], a, days[f]) for i, a, f in evaluation_plan(days, "weekly", "same_close")
            ] == [(d, d, d) for d in ends]
    # next_close fills on the Monday after; the run's last Friday has no next session.
    assert [(days[i], days[f]) for i, _, f in evaluation_plan(days, "weekly", "next_close")] == [
        (dt.date(2024, 3, 28), dt.date(2024, 4, 1)), (dt.date(2024, 4, 5), dt.date(2024, 4, 8))]


def test_weekly_cadence_evaluates_a_daily_profile_on_fridays(script):
    m = script()
    m.SCRIPT.update({d: {"A": 1.0} for d in D})
    r = run_backtest(cfg(cadence="weekly"), toy({"A": [100.0 + i for i in range(len(D))]}))
    # Fridays, plus Wednesday 01-31: the run's last session closes its (partial) week.
    fridays = [d for d in D if d.weekday() == 4] + [D[-1]]
    assert [rec.session for rec in r.decisions] == fridays
    assert r.diagnostics["evaluation_frequency"] == "weekly"
    assert [h["as_of"] for h in m.SEEN] == fridays


def test_weekly_cadence_refuses_a_monthly_profile(script):
    script(frequency="monthly")
    with pytest.raises(UsageError, match="cadence 'weekly' needs a daily profile; "
                                         "'bt_script' is evaluated monthly"):
        run_backtest(cfg(cadence="weekly"), toy({"A": [100.0] * len(D)}))


@pytest.mark.parametrize("execution", ["next_close", "same_close"])
def test_monthly_profiles_snapshot_at_month_end_and_run_the_next_session(script, execution):
    m = script(frequency="monthly")
    days = calendar.sessions(dt.date(2024, 1, 2), dt.date(2024, 4, 30))
    m.SCRIPT[dt.date(2024, 2, 1)] = {"A": 1.0}
    px = toy({"A": [100.0 + i for i in range(len(days))]}, days)
    r = run_backtest(cfg(start=days[0], end=days[-1], execution=execution), px)
    # 2024-03-29 was Good Friday: March's last session is the 28th.
    month_ends = [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 28)]
    next_days = [dt.date(2024, 2, 1), dt.date(2024, 3, 1), dt.date(2024, 4, 1)]
    assert [rec.session for rec in r.decisions] == month_ends
    assert [rec.as_of for rec in r.decisions] == next_days
    assert [s["snapshot_as_of"] for s in m.SEEN] == month_ends
    fills = next_days if execution == "next_close" else month_ends
    assert [rec.execute_on for rec in r.decisions] == fills
    # The snapshot only holds data <= the month end: A's close on that day.
    assert m.SEEN[0]["closes"]["A"] == 100.0 + days.index(month_ends[0])
    fill = days.index(fills[0])
    assert r.trades["date"].tolist() == [pd.Timestamp(fills[0])]
    assert r.trades["price"].tolist() == [100.0 + fill]


# ------------------------------------------------------------------------------- value mode
def _tqqq_prices(n: int = 6) -> pd.DataFrame:
    return toy({s: [100.0] * n for s in ("QQQ", "TQQQ", "BOXX", "SPYI", "QQQI")})


def test_value_mode_income_layer_in_dollars():
    # tqqq_growth_income, flat prices (MA200 NaN, MA20 slope 0: risk off), T = 1000, E = 1500:
    # income ratio 0.4 x (1500 - 1000) / 1000 = 0.2 -> 300: QQQI 150, SPYI 150; strategy
    # equity 1200, reserve 2% = 24, BOXX 1176; TQQQ and QQQ 0.
    config = BacktestConfig(profile="tqqq_growth_income", start=D[0], end=D[5],
                            initial_equity=1500.0, cost_bps=5.0,
                            overrides={"income_threshold_usd": 1000.0})
    r = run_backtest(config, _tqqq_prices())
    first = r.decisions[0].decision
    assert first.targets() == pytest.approx(
        {"BOXX": 1176.0, "QQQ": 0.0, "QQQI": 150.0, "SPYI": 150.0, "TQQQ": 0.0}, rel=1e-12)
    assert first.diagnostics.signal == "idle" and first.diagnostics.trade_threshold_value == 15.0
    # Filled at the next close (100): 1476 traded, cost 0.738, cash 23.262, E 1499.262.
    # Later decisions move each target by < 1% of equity (the trade threshold): no trades.
    assert r.trades[["symbol", "shares"]].values.tolist() == [
        ["BOXX", 11.76], ["QQQI", 1.5], ["SPYI", 1.5]]
    assert r.trades["date"].unique().tolist() == [pd.Timestamp(D[1])]
    assert r.equity.tolist() == pytest.approx([1500.0] + [1499.262] * 5, rel=1e-12)
    assert r.weights_history["CASH"].iloc[-1] == pytest.approx(23.262 / 1499.262, rel=1e-12)
    without = run_backtest(config.model_copy(update={"trade_threshold": False}),
                           _tqqq_prices())
    assert len(without.trades) > 3  # small daily top-ups once the threshold is ignored


def test_input_errors_fail_closed_and_hold():
    # SOXL needs 140 rows for its ma_trend: the builder fails in early 2018 on the demo data.
    config = BacktestConfig(profile="soxl_soxx_trend_income", start=dt.date(2018, 1, 2),
                            end=dt.date(2018, 2, 28))
    r = run_backtest(config, demo.demo_prices_cached())
    assert r.warnings["fail_closed"] == len(r.decisions) > 30
    assert {rec.decision.no_op_reason for rec in r.decisions} == {"fail_closed:input_error"}
    assert r.trades.empty and (r.equity == config.initial_equity).all()
    assert "PriceHistoryError" in r.diagnostics["warning_examples"]["fail_closed"]


# ------------------------------------------------------------------------------- splicing
def test_proxy_splice_rescales_the_proxy_to_join_the_real_series():
    px = toy({"BIL": [100, 101, 102.01, 103], "BOXX": [None, None, 50, 50.5]})
    out, added = splice_proxies(px, {"BOXX": "BIL"})
    boxx = out[out["symbol"] == "BOXX"]["close"].tolist()
    assert added == {"BOXX": 2}
    assert boxx == [50 * 100 / 102.01, 50 * 101 / 102.01, 50, 50.5]
    # Returns before the join are BIL's; at the join 50 / (50 x 101 / 102.01) - 1 = 1%.
    r = np.diff(boxx) / boxx[:-1]
    assert r.tolist() == pytest.approx([0.01, 0.01, 0.01], rel=1e-12)


def test_proxy_splice_leaves_symbols_without_prices_alone():
    px = toy({"BIL": [100, 101]})
    out, added = splice_proxies(px, {"BOXX": "BIL", "SGOV": "BIL"})
    assert added == {"BOXX": 0, "SGOV": 0} and out.equals(px)


def test_synthetic_leverage_is_daily_reset_with_fee():
    f = 0.0095 / 252
    px = toy({"QQQ": [100, 110, 99, 100], "TQQQ": [None, None, 30, 31]})
    out, added = splice_synthetic(px, {"TQQQ": ("QQQ", 3.0)}, 0.0095)
    s1 = 3 * (110 / 100 - 1) - f
    s2 = 3 * (99 / 110 - 1) - f
    l1 = 30 / (1 + s2)
    assert added == {"TQQQ": 2}
    got = out[out["symbol"] == "TQQQ"]["close"].tolist()
    assert got == pytest.approx([l1 / (1 + s1), l1, 30, 31], rel=1e-14)


def test_synthetic_leverage_starts_after_a_wipe_out_day():
    # 3 x (-50%) - fee < -100% is floored at -1: every level before it is undefined.
    px = toy({"QQQ": [100, 50, 100], "TQQQ": [None, None, 10]})
    out, added = splice_synthetic(px, {"TQQQ": ("QQQ", 3.0)}, 0.0095)
    assert added == {"TQQQ": 1}
    got = out[out["symbol"] == "TQQQ"]["close"].tolist()
    assert got == pytest.approx([10 / (1 + 3.0 - 0.0095 / 252), 10], rel=1e-14)


def test_product_without_any_price_is_synthesised_forward_from_100():
    # NVDL absent from the data: 100 at the underlying's first date, then 2x daily - fee.
    px = toy({"NVDA": [10, 11, 9.9, 10], "TQQQ": [None, None, 30, 31]})
    out, added = splice_synthetic(px, {"NVDL": ("NVDA", 2.0), "TQQQ": ("QQQ", 3.0)}, 0.0095,
                                  fees={"NVDL": 0.01})
    f = 0.01 / 252
    l1 = 100 * (1 + 2 * (11 / 10 - 1) - f)
    l2 = l1 * (1 + 2 * (9.9 / 11 - 1) - f)
    l3 = l2 * (1 + 2 * (10 / 9.9 - 1) - f)
    assert added == {"NVDL": 4, "TQQQ": 0}  # TQQQ: no QQQ in the data, left alone
    got = out[out["symbol"] == "NVDL"]["close"].tolist()
    assert got == pytest.approx([100, l1, l2, l3], rel=1e-14)
    # a -100% day leaves the product at 0 from then on
    out, _ = splice_synthetic(toy({"X": [100, 40, 50]}), {"XL": ("X", 2.0)}, 0.0)
    assert out[out["symbol"] == "XL"]["close"].tolist() == [100.0, 0.0, 0.0]


def test_synthetic_mapping_adds_the_builders_products():
    from us_equity_strategies.backtest import synthetic_mapping

    base = BacktestConfig(profile="dynamic_mega_leveraged_pullback", start=dt.date(2024, 1, 2),
                          end=dt.date(2024, 2, 1), synthetic_leverage=True)
    mapping, fees = synthetic_mapping(base)
    assert mapping["NVDL"] == ("NVDA", 2.0) and fees["NVDL"] == 0.01
    assert mapping["TQQQ"] == ("QQQ", 3.0) and "TQQQ" not in fees
    # an explicit config entry wins over the builder's (and pays config.synthetic_fee)
    over = base.model_copy(update={"synthetic": {"NVDL": ("NVDA", 1.5)}})
    mapping, fees = synthetic_mapping(over)
    assert mapping["NVDL"] == ("NVDA", 1.5) and "NVDL" not in fees and "TQQQ" not in mapping
    # an unavailable map entry is not synthesised
    off = base.model_copy(update={"overrides": {"product_map": {
        "NVDA": {"trade_symbol": "NVDL", "product_available": False}, "MSFT": "MSFU"}}})
    assert set(synthetic_mapping(off)[0]) == {"MSFU", "SOXL", "TQQQ"}
    assert synthetic_mapping(base.model_copy(update={"profile": "tqqq_growth_income"}))[1] == {}


def test_synthetic_leverage_only_when_asked():
    px = demo.demo_prices_cached()
    early = px[~((px["symbol"] == "TQQQ") & (px["date"] < pd.Timestamp("2019-01-01")))]
    early = early.reset_index(drop=True)
    base = BacktestConfig(profile="tqqq_growth_income", start=dt.date(2018, 11, 1),
                          end=dt.date(2018, 11, 30))
    off = run_backtest(base, early)
    on = run_backtest(base.model_copy(update={"synthetic_leverage": True}), early)
    assert off.diagnostics["synthetic_rows"] == {}
    assert on.diagnostics["synthetic_rows"]["TQQQ"] > 200
    assert on.diagnostics["synthetic_rows"]["SOXL"] == 0  # SOXL already starts in 2018
    assert off.run_id != on.run_id


# ------------------------------------------------------------------------------- guard, ids
def test_peeking_builder_is_caught(script):
    m = script()
    m.PEEK = True
    px = toy({"A": [100, 101, 102, 103]})
    with pytest.raises(LookAheadError, match=r"session 2024-01-02: .*column 'close', row 'A': "
                                             r"103\.0 != 100\.0"):
        run_backtest(cfg(end=D[3], check_lookahead=2), px)
    # Without the guard the bias goes unnoticed: the profile saw A's last close (103) at t0.
    run_backtest(cfg(end=D[3]), px)
    assert m.SEEN[0]["closes"]["A"] == 103.0


def test_lookahead_guard_passes_for_honest_builders():
    config = BacktestConfig(profile="global_etf_rotation", start=dt.date(2019, 3, 1),
                            end=dt.date(2019, 4, 30), check_lookahead=5)
    r = run_backtest(config, demo.demo_prices_cached())
    assert len(r.diagnostics["lookahead_checked_sessions"]) == 5
    assert r.diagnostics["precomputed_features"] is True


def test_same_inputs_same_outputs_and_run_id():
    px = demo.demo_prices_cached()
    config = BacktestConfig(profile="tqqq_growth_income", start=dt.date(2019, 1, 2),
                            end=dt.date(2019, 3, 29), integer_shares=True)
    a, b = run_backtest(config, px), run_backtest(config, px)
    assert a.run_id == b.run_id and len(a.run_id) == 64
    pd.testing.assert_series_equal(a.portfolio_returns, b.portfolio_returns, check_exact=True)
    pd.testing.assert_frame_equal(a.weights_history, b.weights_history, check_exact=True)
    pd.testing.assert_frame_equal(a.trades, b.trades, check_exact=True)
    assert [x.decision.to_json() for x in a.decisions] == [x.decision.to_json()
                                                          for x in b.decisions]
    assert config.model_copy(update={"cost_bps": 6.0}).run_id("x") != config.run_id("x")
    assert config.run_id("x") != config.run_id("y")
    assert config.run_id("x") == BacktestConfig(**config.model_dump()).run_id("x")


def test_config_validation():
    with pytest.raises(ValueError, match="before start"):
        BacktestConfig(profile="tqqq_growth_income", start=D[3], end=D[0])
    with pytest.raises(ValueError, match="stand in for itself"):
        BacktestConfig(profile="tqqq_growth_income", start=D[0], end=D[3],
                       proxies={"BOXX": "BOXX"})
    with pytest.raises(ValueError, match="execution"):
        BacktestConfig(profile="tqqq_growth_income", start=D[0], end=D[3], execution="open")


def test_summary_and_benchmark_are_attached():
    config = BacktestConfig(profile="tqqq_growth_income", start=dt.date(2019, 1, 2),
                            end=dt.date(2019, 6, 28))
    r = run_backtest(config, demo.demo_prices_cached())
    qqq = demo.demo_prices_cached().query("symbol == 'QQQ'").set_index("date")["close"]
    qqq = qqq.loc["2019-01-02":"2019-06-28"]
    assert r.benchmark == "QQQ"
    assert r.benchmark_returns.iloc[1:].to_numpy() == pytest.approx(
        qqq.pct_change().iloc[1:].to_numpy(), rel=1e-12)
    assert r.summary["total_return"] == pytest.approx(r.equity.iloc[-1] / 100_000 - 1)
    assert math.isfinite(r.summary["turnover_per_year"])
    assert set(r.phase_seconds) == {"load", "features", "loop", "metrics", "report"}
    # Weights (incl. CASH) sum to 1 every session.
    assert np.allclose(r.weights_history.sum(axis=1), 1.0, atol=1e-12)


# ------------------------------------------------------------------------------- CLI, real data
def test_cli_backtest_writes_outputs(tmp_path, capsys):
    import json

    from us_equity_strategies.cli import main

    prices = tmp_path / "prices.csv"
    demo.demo_prices_cached().to_csv(prices, index=False)
    out = tmp_path / "out"
    code = main(["backtest", "--profile", "tqqq_growth_income", "--prices", str(prices),
                 "--start", "2019-01-02", "--end", "2019-02-28", "--integer-shares",
                 "--initial-equity", "10000", "--set", "income_threshold_usd=5000",
                 "--check-lookahead", "2", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)
    assert {"summary.csv", "portfolio_returns.csv", "weights_history.csv",
            "turnover_history.csv", "trades.csv", "decisions.jsonl", "run.json",
            "report.html", "timings.json"} <= {p.name for p in out.iterdir()}
    run = json.loads((out / "run.json").read_text())
    assert run["run_id"] == payload["run_id"] and run["config"]["integer_shares"] is True
    assert run["config"]["overrides"] == {"income_threshold_usd": 5000}
    timings = json.loads((out / "timings.json").read_text())
    assert set(timings["phase_seconds"]) == {"load", "features", "loop", "metrics", "report"}
    returns = pd.read_csv(out / "portfolio_returns.csv")
    assert list(returns.columns) == ["date", "portfolio_return", "equity", "benchmark_return"]
    assert len(returns) == payload["sessions"] == len(calendar.sessions(
        dt.date(2019, 1, 2), dt.date(2019, 2, 28)))
    lines = (out / "decisions.jsonl").read_text().splitlines()
    assert len(lines) == payload["sessions"] - 1  # next_close: the last session is not run
    assert json.loads(lines[0])["decision"]["profile"] == "tqqq_growth_income"
    trades = pd.read_csv(out / "trades.csv")
    assert (trades["shares"] == trades["shares"].round()).all()
    assert "note: loop:" in captured.err


def test_cli_backtest_bad_options_are_usage_errors(tmp_path, capsys):
    from us_equity_strategies.cli import main

    prices = tmp_path / "prices.csv"
    demo.demo_prices_cached().head(10).to_csv(prices, index=False)
    code = main(["backtest", "--profile", "tqqq_growth_income", "--prices", str(prices),
                 "--start", "2019-02-28", "--end", "2019-01-02", "-o", str(tmp_path / "o")])
    assert code == 2 and "end 2019-01-02 is before start 2019-02-28" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_synthetic_option(tmp_path, capsys):
    import json

    from us_equity_strategies.cli import main

    prices = tmp_path / "prices.csv"
    demo.demo_prices_cached().to_csv(prices, index=False)
    out = tmp_path / "out"
    code = main(["backtest", "--profile", "tqqq_growth_income", "--prices", str(prices),
                 "--start", "2019-01-02", "--end", "2019-01-31", "--synthetic", "qqql=qqq:2",
                 "--synthetic-fee", "0.01", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["synthetic_leverage"] is True and run["config"]["synthetic_fee"] == 0.01
    assert run["config"]["synthetic"]["QQQL"] == ["QQQ", 2.0]
    assert run["diagnostics"]["synthetic_rows"]["QQQL"] > 1000  # no QQQL in the data at all
    for bad in ("QQQL=QQQ", "=QQQ:2", "QQQL=QQQ:x"):
        code = main(["backtest", "--profile", "tqqq_growth_income", "--prices", str(prices),
                     "--start", "2019-01-02", "--end", "2019-01-31", "--synthetic", bad,
                     "-o", str(tmp_path / "bad")])
        assert code == 2 and "expected PRODUCT=UNDERLYING:K" in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()


REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "daily" / "adj_close.parquet"


@pytest.mark.slow
@pytest.mark.realdata
def test_real_data_tqqq_2011_2026():
    if not REAL.exists():
        pytest.skip("../shared/data is absent")
    from us_equity_strategies import builders
    from us_equity_strategies.prices import load_prices

    px = load_prices(REAL, symbols=[*builders.builder_symbols("tqqq_growth_income"), "BIL"])
    config = BacktestConfig(profile="tqqq_growth_income", start=dt.date(2011, 1, 3),
                            end=dt.date(2026, 6, 1), check_lookahead=8)
    r = run_backtest(config, px)
    assert len(r.sessions) > 3_800 and "fail_closed" not in r.warnings
    assert r.diagnostics["proxy_rows"]["BOXX"] > 2_000  # BIL stands in before 2022-12-28
    assert len(r.diagnostics["lookahead_checked_sessions"]) == 8
    assert np.allclose(r.weights_history.sum(axis=1), 1.0, atol=1e-9)
    assert (r.weights_history["CASH"] >= -1e-12).all()
    assert r.equity.iloc[-1] > 0 and math.isfinite(r.summary["cagr"])
