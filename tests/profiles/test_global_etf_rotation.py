"""Tests of the global_etf_rotation profile (spec/profiles.md §2.1) and its snapshot builder
(spec/features.md §4.5).

Decisions go through ``runner.evaluate`` on snapshots from the builder (synthetic prices on
real NYSE sessions) or hand-built ones. Expected momentum values come from the spec's worked
example or from ``slow_13612w`` below (pandas ``resample("ME")``, independent of
``indicators``); expected weights are worked out by hand in the comments.
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
from us_equity_strategies.builders import global_etf_rotation as builder
from us_equity_strategies.contract import EvaluationContext, ProfileInputs, RiskFlag, Role
from us_equity_strategies.entrypoints import global_etf_rotation as profile
from us_equity_strategies.errors import ParameterError, SnapshotError
from us_equity_strategies.params import resolve_parameters
from us_equity_strategies.prices import normalize_prices
from us_equity_strategies.snapshot import Snapshot, validate_snapshot

PROFILE = "global_etf_rotation"
MANIFEST = registry.get_manifest(PROFILE)
DEFAULTS = MANIFEST.parameters
POOL = list(DEFAULTS["ranking_pool"])
CANARIES = list(DEFAULTS["canary_assets"])
SAFE = DEFAULTS["safe_haven"]
ALL = sorted({*POOL, *CANARIES, SAFE})
CONTRACT = MANIFEST.snapshot.contract_version
QUARTER_END = dt.date(2025, 3, 31)  # last NYSE session of March 2025 (a Monday)
NAN = math.nan
DATA = Path(__file__).parents[3] / "shared" / "data"
WEIGHTS_13612W = ((1, 12), (3, 4), (6, 2), (12, 1))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def slow_13612w(dates, closes) -> float:
    """13612W straight from profiles.md §2.1 steps 1-5 with pandas month-end resampling."""
    s = pd.Series(np.asarray(closes, dtype=float), index=pd.DatetimeIndex(dates))
    if len(s) < 253:
        return NAN
    me = s.resample("ME").last().dropna()
    if len(me) < 13:
        return NAN
    cur = me.iloc[-1]
    return sum(w * (cur / me.iloc[-(m + 1)] - 1) for m, w in WEIGHTS_13612W) / 19


def last_sessions(end: dt.date, n: int) -> list[dt.date]:
    days = calendar.sessions(end - dt.timedelta(days=2 * n), end)
    assert len(days) >= n
    return list(days[-n:])


def linear(end: dt.date, change: float, n: int = 320, start: float = 100.0):
    """n NYSE sessions ending at ``end``, moving linearly by ``change`` (0.1 = +10%)."""
    dates = last_sessions(end, n)
    return dates, start * (1 + change * np.arange(n) / (n - 1))


def prices(series: dict[str, tuple]) -> pd.DataFrame:
    frames = [pd.DataFrame({"date": pd.to_datetime(d), "symbol": sym, "close": c})
              for sym, (d, c) in series.items()]
    return normalize_prices(pd.concat(frames, ignore_index=True))


def market(end: dt.date, canary: float, picks: dict[str, float], others: float = -0.1,
           missing: tuple[str, ...] = ()) -> pd.DataFrame:
    """Canaries move by ``canary``, ``picks`` by their value, the rest of the pool by
    ``others``; BIL drifts +1%. Symbols in ``missing`` have no rows at all."""
    series = {s: linear(end, canary) for s in CANARIES}
    series |= {s: linear(end, picks.get(s, others)) for s in POOL}
    series[SAFE] = linear(end, 0.01)
    return prices({s: v for s, v in series.items() if s not in missing})


def context(as_of: dt.date, held: tuple[str, ...] = (), **params) -> EvaluationContext:
    return EvaluationContext(as_of=as_of, holdings=held, parameters=params)


def run_built(px: pd.DataFrame, as_of: dt.date, held: tuple[str, ...] = (), **params):
    snap = build_snapshot(PROFILE, px, as_of, params)
    return runner.evaluate(snap, context(as_of, held, **params))


def built_with(params: dict) -> dict:
    merged = {**DEFAULTS, **params}
    return {k: (list(merged[k]) if isinstance(merged[k], (list, tuple)) else merged[k])
            for k in MANIFEST.snapshot.builder_parameters}


def hand_snapshot(as_of: dt.date, rows: dict[str, dict] | None = None, drop: tuple = (),
                  **params) -> Snapshot:
    """A snapshot with a row for every required symbol. Defaults: canaries healthy
    (momentum +0.01), every ranking symbol failing (momentum -0.01, below its SMA)."""
    merged = {**DEFAULTS, **params}
    pool, canaries, safe = merged["ranking_pool"], merged["canary_assets"], merged["safe_haven"]
    records = []
    for sym in sorted({*pool, *canaries, safe}):
        role = "ranking" if sym in pool else "canary" if sym in canaries else "safe_haven"
        base = {"ranking": {"close": 50.0, "momentum_13612w": -0.01, "sma_pass": False},
                "canary": {"close": 100.0, "momentum_13612w": 0.01, "sma_pass": True},
                "safe_haven": {"close": 90.0, "momentum_13612w": 0.001, "sma_pass": True}}[role]
        row = {**base, **(rows or {}).get(sym, {})}
        mom = row["momentum_13612w"]
        row.setdefault("eligible", role == "ranking" and not math.isnan(mom)
                       and row["sma_pass"] and row["close"] > 0)
        records.append({"as_of": as_of.isoformat(), "symbol": sym, "role": role,
                        "close": row["close"], "momentum_13612w": mom, "score": mom,
                        "sma_pass": row["sma_pass"], "eligible": row["eligible"],
                        "vol_126": 0.2, "history_days": 300,
                        "selection_rule_id": builder.SELECTION_RULE_ID,
                        "selection_rule_version": builder.SELECTION_RULE_VERSION})
    frame = pd.DataFrame([r for r in records if r["symbol"] not in drop])
    return Snapshot.from_frame(frame, profile=PROFILE, as_of=as_of, contract_version=CONTRACT,
                               builder_parameters=built_with(params))


def run_hand(as_of: dt.date, rows: dict[str, dict] | None = None,
             held: tuple[str, ...] = (), **params):
    return runner.evaluate(hand_snapshot(as_of, rows, **params), context(as_of, held, **params))


def passing(*pairs: tuple[str, float]) -> dict[str, dict]:
    return {s: {"momentum_13612w": m, "sma_pass": True} for s, m in pairs}


def assert_targets(decision, expected: dict[str, float]) -> None:
    got = decision.targets()
    assert sorted(got) == sorted(expected)
    for sym, value in expected.items():
        assert got[sym] == pytest.approx(value, rel=1e-12, abs=1e-15), sym


def params_model(**overrides):
    return resolve_parameters(profile.Parameters, DEFAULTS, overrides, PROFILE)


# --------------------------------------------------------------------------------------------
# the spec's computed examples
# --------------------------------------------------------------------------------------------
def test_builder_reproduces_the_spec_momentum_example():
    # 320 business days from 2024-01-01 with close 100 + 0.1 i; last date 2025-03-21.
    dates = pd.bdate_range("2024-01-01", periods=320)
    assert dates[-1] == pd.Timestamp("2025-03-21")
    px = prices({"SMH": (dates, 100 + 0.1 * np.arange(320))})
    snap = build_snapshot(PROFILE, px, dt.date(2025, 3, 21))
    row = snap.frame.set_index("symbol").loc["SMH"]
    # Month-ends from the spec: 2025-03 131.9, 2025-02 130.4, 2024-12 126.1, 2024-09 119.5,
    # 2024-03 106.4 -> (12 (131.9/130.4 - 1) + 4 (131.9/126.1 - 1) + 2 (131.9/119.5 - 1)
    # + (131.9/106.4 - 1)) / 19.
    by_hand = (12 * (131.9 / 130.4 - 1) + 4 * (131.9 / 126.1 - 1) + 2 * (131.9 / 119.5 - 1)
               + (131.9 / 106.4 - 1)) / 19
    assert row["momentum_13612w"] == pytest.approx(by_hand, rel=1e-12)
    assert round(row["momentum_13612w"], 7) == 0.0404848
    assert row["score"] == row["momentum_13612w"]
    assert row["close"] == pytest.approx(131.9)
    assert row["history_days"] == 320 and row["role"] == "ranking"
    assert bool(row["sma_pass"]) and bool(row["eligible"])  # rising: close > its SMA200
    # The spec's other two series on the same dates: -5% -> -0.008, +30% -> 0.038.
    for change, expected in ((-0.05, -0.008), (0.30, 0.038)):
        px = prices({"SMH": (dates, 100 * (1 + change * np.arange(320) / 319))})
        mom = build_snapshot(PROFILE, px, dt.date(2025, 3, 21)).frame.set_index(
            "symbol").loc["SMH", "momentum_13612w"]
        assert round(mom, 3) == expected


def test_spec_example_canaries_falling_5pct_is_an_emergency():
    px = market(QUARTER_END, canary=-0.05, picks={"SMH": 0.30})
    d = run_built(px, QUARTER_END)
    assert_targets(d, {SAFE: 1.0})
    assert d.risk_flags == (RiskFlag.EMERGENCY,) and d.actionable
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("emergency", "canary_emergency")
    assert d.positions[0].role is Role.SAFE_HAVEN
    x = d.diagnostics.extras
    assert x["n_bad_canaries"] == 4 and x["canary_bad_threshold"] == 4
    expected = slow_13612w(*linear(QUARTER_END, -0.05))  # ~ -0.00845 on NYSE sessions
    assert expected < 0
    assert [c["symbol"] for c in x["canary_status"]] == CANARIES
    for c in x["canary_status"]:
        assert c["ok"] is False and c["reason"] == "negative_momentum"
        assert c["momentum"] == pytest.approx(expected, rel=1e-12)
    assert x["selected"] == [] and x["ranking"] == []


def test_emergency_is_checked_on_non_rebalance_days():
    # The spec's exact dates: business days ending Friday 2025-03-21, not a rebalance day.
    dates = pd.bdate_range("2024-01-01", periods=320)
    falling = (dates, 100 * (1 - 0.05 * np.arange(320) / 319))
    px = prices({s: falling for s in CANARIES} | {"SMH": (dates, 100 + 0.1 * np.arange(320))})
    d = run_built(px, dt.date(2025, 3, 21))
    assert_targets(d, {SAFE: 1.0})
    assert d.risk_flags == (RiskFlag.EMERGENCY,)
    x = d.diagnostics.extras
    assert x["is_rebalance_day"] is False
    assert [round(c["momentum"], 3) for c in x["canary_status"]] == [-0.008] * 4


def test_spec_example_only_smh_rising_gives_half_smh_half_bil():
    px = market(QUARTER_END, canary=0.10, picks={"SMH": 0.30})
    d = run_built(px, QUARTER_END)
    # One candidate, top_n 2: SMH 1/2, BIL (1/2) * (2 - 1) = 1/2.
    assert_targets(d, {"SMH": 0.5, SAFE: 0.5})
    assert d.risk_flags == () and d.actionable
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("quarterly_rebalance", "canary_ok")
    roles = {p.symbol: p.role for p in d.positions}
    assert roles == {"SMH": Role.RISK, SAFE: Role.SAFE_HAVEN}
    smh = slow_13612w(*linear(QUARTER_END, 0.30))
    x = d.diagnostics.extras
    assert x["selected"] == [{"held": False, "momentum": pytest.approx(smh, rel=1e-12),
                              "score": pytest.approx(smh, rel=1e-12), "symbol": "SMH"}]
    assert [r["symbol"] for r in x["ranking"]] == ["SMH"]
    assert x["safe_haven_weight"] == 0.5 and x["top_n"] == 2
    assert x["n_bad_canaries"] == 0 and all(c["ok"] for c in x["canary_status"])
    assert x["is_rebalance_day"] is True and x["rebalance_session"] == "2025-03-31"
    assert d.diagnostics.safe_haven_symbol == SAFE and d.diagnostics.benchmark_symbol is None
    assert d.diagnostics.snapshot_as_of == QUARTER_END


# --------------------------------------------------------------------------------------------
# canary
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n_bad", "threshold", "emergency"),
                         [(3, 4, False), (4, 4, True), (3, 3, True), (2, 3, False)])
def test_canary_threshold_boundary(n_bad, threshold, emergency):
    rows = passing(("XLK", 0.05))
    for sym in CANARIES[:n_bad]:
        rows[sym] = {"momentum_13612w": -0.001}
    d = run_hand(QUARTER_END, rows, canary_bad_threshold=threshold)
    assert d.diagnostics.extras["n_bad_canaries"] == n_bad
    if emergency:  # n_bad >= threshold
        assert_targets(d, {SAFE: 1.0})
        assert d.risk_flags == (RiskFlag.EMERGENCY,)
    else:  # XLK alone: 1/2, BIL 1/2
        assert_targets(d, {"XLK": 0.5, SAFE: 0.5})
        assert d.risk_flags == ()


def test_canary_momentum_zero_is_good_and_nan_is_bad():
    # Bad means m < 0 (strict) or NaN: 0.0 is good.
    d = run_hand(QUARTER_END, {"SPY": {"momentum_13612w": 0.0},
                               "EFA": {"momentum_13612w": NAN}} | passing(("XLK", 0.05)))
    status = {c["symbol"]: c for c in d.diagnostics.extras["canary_status"]}
    assert status["SPY"] == {"symbol": "SPY", "momentum": 0.0, "ok": True, "reason": "ok"}
    assert status["EFA"] == {"symbol": "EFA", "momentum": None, "ok": False,
                             "reason": "nan_momentum"}
    assert d.diagnostics.extras["n_bad_canaries"] == 1


def test_canary_without_data_counts_as_bad():
    # AGG has no price rows: the builder writes a row with NaN close/momentum.
    px = market(QUARTER_END, canary=0.10, picks={"SMH": 0.30}, missing=("AGG",))
    snap = build_snapshot(PROFILE, px, QUARTER_END)
    agg = snap.frame.set_index("symbol").loc["AGG"]
    assert math.isnan(agg["close"]) and math.isnan(agg["momentum_13612w"])
    assert agg["history_days"] == 0 and not agg["sma_pass"] and not agg["eligible"]
    d = runner.evaluate(snap, context(QUARTER_END))
    status = {c["symbol"]: c for c in d.diagnostics.extras["canary_status"]}
    assert status["AGG"] == {"symbol": "AGG", "momentum": None, "ok": False, "reason": "no_data"}
    assert d.diagnostics.extras["n_bad_canaries"] == 1
    assert_targets(d, {"SMH": 0.5, SAFE: 0.5})
    # With the three others falling, the missing one makes it 4 of 4 -> emergency.
    px = market(QUARTER_END, canary=-0.05, picks={"SMH": 0.30}, missing=("AGG",))
    d = run_built(px, QUARTER_END)
    assert d.risk_flags == (RiskFlag.EMERGENCY,)
    assert_targets(d, {SAFE: 1.0})


# --------------------------------------------------------------------------------------------
# ranking
# --------------------------------------------------------------------------------------------
def test_hold_bonus_changes_the_winner():
    rows = passing(("XLK", 0.05), ("XLE", 0.04))
    # Not held: XLK 0.05 > XLE 0.04.
    d = run_hand(QUARTER_END, rows, top_n=1)
    assert_targets(d, {"XLK": 1.0, SAFE: 0.0})
    # XLE held: 0.04 + 0.02 = 0.06 > 0.05.
    d = run_hand(QUARTER_END, rows, held=("XLE",), top_n=1)
    assert_targets(d, {"XLE": 1.0, SAFE: 0.0})
    sel = d.diagnostics.extras["selected"]
    assert sel == [{"symbol": "XLE", "score": pytest.approx(0.06, abs=1e-15),
                    "momentum": 0.04, "held": True}]
    assert d.diagnostics.extras["ranking"] == [
        {"symbol": "XLE", "score": pytest.approx(0.06, abs=1e-15)},
        {"symbol": "XLK", "score": 0.05}]
    # A bonus of 0.005: 0.045 < 0.05, XLK wins and the held XLE is liquidated explicitly.
    d = run_hand(QUARTER_END, rows, held=("XLE",), top_n=1, hold_bonus=0.005)
    assert_targets(d, {"XLK": 1.0, SAFE: 0.0, "XLE": 0.0})


def test_ties_keep_ranking_pool_order():
    rows = passing(("XLK", 0.03), ("XLE", 0.03))
    d = run_hand(QUARTER_END, rows, top_n=1)  # default pool: XLK (8th) before XLE (14th)
    assert_targets(d, {"XLK": 1.0, SAFE: 0.0})
    pool = [s for s in POOL if s != "XLE"]
    pool.insert(0, "XLE")
    d = run_hand(QUARTER_END, rows, top_n=1, ranking_pool=pool)
    assert_targets(d, {"XLE": 1.0, SAFE: 0.0})
    assert [r["symbol"] for r in d.diagnostics.extras["ranking"]] == ["XLE", "XLK"]


def test_top3_with_one_candidate_parks_two_thirds():
    d = run_hand(QUARTER_END, passing(("GLD", 0.02)), top_n=3)
    # GLD 1/3; BIL (1/3) * (3 - 1) = 2/3.
    assert_targets(d, {"GLD": 1 / 3, SAFE: (1 / 3) * 2})
    # Exactly the spec's arithmetic (1/top_n) * (top_n - count), not 1 - count/top_n
    # (0.6666666666666666 vs 0.6666666666666667).
    assert d.targets()[SAFE] == (1 / 3) * 2 != 1 - 1 / 3
    assert d.diagnostics.extras["safe_haven_weight"] == (1 / 3) * 2


def test_selection_order_weights_and_top_n_cut():
    rows = passing(("EWJ", 0.01), ("GLD", 0.08), ("XLU", 0.03), ("IHI", -0.02))
    d = run_hand(QUARTER_END, rows)
    assert_targets(d, {"GLD": 0.5, "XLU": 0.5, SAFE: 0.0})
    # A negative but finite momentum that passes the SMA is still ranked.
    assert [r["symbol"] for r in d.diagnostics.extras["ranking"]] == ["GLD", "XLU", "EWJ", "IHI"]


def test_no_candidate_parks_everything_without_emergency():
    d = run_hand(QUARTER_END, held=("XLK",))
    assert_targets(d, {SAFE: 1.0, "XLK": 0.0})
    assert d.risk_flags == () and d.actionable
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("no_candidate", "canary_ok")


@pytest.mark.parametrize("row", [
    {"momentum_13612w": 0.05, "sma_pass": False},           # below its SMA
    {"momentum_13612w": NAN, "sma_pass": True},             # no momentum
    {"momentum_13612w": 0.05, "sma_pass": True, "eligible": False},  # snapshot says no
    {"momentum_13612w": 0.05, "sma_pass": True, "close": NAN, "eligible": True},  # no data
])
def test_unrankable_rows_are_skipped(row):
    d = run_hand(QUARTER_END, {"XLK": row} | passing(("XLE", 0.01)))
    assert_targets(d, {"XLE": 0.5, SAFE: 0.5})


def test_sma_equal_to_close_fails_strictly():
    # XLK: 120 sessions rising 100 -> 150, then 200 sessions flat at 150. The last close equals
    # the mean of the last 200 closes, so sma_pass is False although momentum is positive
    # (P0 = P1 = P3 = P6 = 150 > P12).
    dates = last_sessions(QUARTER_END, 320)
    flat = np.concatenate([np.linspace(100, 150, 120), np.full(200, 150.0)])
    base = {s: linear(QUARTER_END, 0.10) for s in CANARIES} | {SAFE: linear(QUARTER_END, 0.01)}
    px = prices(base | {"XLK": (dates, flat)})
    snap = build_snapshot(PROFILE, px, QUARTER_END)
    xlk = snap.frame.set_index("symbol").loc["XLK"]
    assert xlk["momentum_13612w"] == pytest.approx(slow_13612w(dates, flat), rel=1e-12)
    assert xlk["momentum_13612w"] > 0
    assert not xlk["sma_pass"] and not xlk["eligible"]
    d = runner.evaluate(snap, context(QUARTER_END))
    assert d.diagnostics.signal == "no_candidate"
    assert_targets(d, {SAFE: 1.0})
    # One cent above the mean passes.
    bumped = flat.copy()
    bumped[-1] = 150.01
    d = run_built(prices(base | {"XLK": (dates, bumped)}), QUARTER_END)
    assert_targets(d, {"XLK": 0.5, SAFE: 0.5})


# --------------------------------------------------------------------------------------------
# rebalance days (fix 1: from context.as_of)
# --------------------------------------------------------------------------------------------
def test_outside_rebalance_months_is_a_hold_with_reason():
    as_of = dt.date(2025, 4, 30)  # last session of April, not a rebalance month
    d = run_hand(as_of, passing(("XLK", 0.05)))
    assert not d.actionable and d.positions == ()
    assert d.risk_flags == (RiskFlag.NO_EXECUTE,)
    assert d.no_op_reason == "not_rebalance_day"
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("daily_check", "canary_ok")
    x = d.diagnostics.extras
    assert x["is_rebalance_day"] is False
    assert x["rebalance_session"] == "2025-04-30"
    assert x["next_rebalance_session"] == "2025-06-30"
    assert x["n_bad_canaries"] == 0 and x["selected"] == []


def test_rebalance_month_but_not_its_last_session_is_a_hold():
    d = run_hand(dt.date(2025, 3, 28), passing(("XLK", 0.05)))  # Friday; March ends Mon 31
    assert not d.actionable and d.no_op_reason == "not_rebalance_day"
    assert d.diagnostics.extras["rebalance_session"] == "2025-03-31"
    assert d.diagnostics.extras["next_rebalance_session"] == "2025-03-31"
    assert run_hand(QUARTER_END, passing(("XLK", 0.05))).actionable


def test_last_session_before_good_friday_is_the_rebalance_day():
    # 2024-03-29 was Good Friday (market closed), so 2024-03-28 ends the quarter.
    assert not calendar.is_session(dt.date(2024, 3, 29))
    d = run_hand(dt.date(2024, 3, 28), passing(("XLK", 0.05)))
    assert d.actionable and d.diagnostics.signal == "quarterly_rebalance"
    assert d.diagnostics.extras["rebalance_session"] == "2024-03-28"
    assert_targets(d, {"XLK": 0.5, SAFE: 0.5})


def test_custom_rebalance_months():
    d = run_hand(dt.date(2025, 4, 30), passing(("XLK", 0.05)), rebalance_months=[1, 4])
    assert d.actionable
    d = run_hand(QUARTER_END, passing(("XLK", 0.05)), rebalance_months=[1, 4])
    assert not d.actionable
    assert d.diagnostics.extras["next_rebalance_session"] == "2025-04-30"


@pytest.mark.parametrize("as_of", [dt.date(2025, 3, 31), dt.date(2024, 3, 28),
                                   dt.date(2024, 12, 31), dt.date(2025, 1, 31)])
def test_is_rebalance_day_matches_the_calendar(as_of):
    months = (3, 6, 9, 12)
    expected = as_of.month in months and calendar.is_last_session_of_month(as_of)
    assert profile.is_rebalance_day(as_of, months) is expected


# --------------------------------------------------------------------------------------------
# positions
# --------------------------------------------------------------------------------------------
def test_held_but_not_selected_symbols_get_explicit_zero():
    held = ("GLD", "XLU", SAFE, "SPY", "QQQ")  # SPY is a canary, QQQ is not ours
    d = run_hand(QUARTER_END, passing(("XLK", 0.05), ("XLE", 0.04)), held=held)
    assert_targets(d, {"XLK": 0.5, "XLE": 0.5, SAFE: 0.0, "GLD": 0.0, "XLU": 0.0})
    roles = {p.symbol: p.role for p in d.positions}
    assert roles["GLD"] is Role.RISK and roles[SAFE] is Role.SAFE_HAVEN
    # In an emergency too.
    rows = {s: {"momentum_13612w": -0.01} for s in CANARIES}
    d = run_hand(QUARTER_END, rows, held=held)
    assert_targets(d, {SAFE: 1.0, "GLD": 0.0, "XLU": 0.0})


def test_missing_row_is_a_snapshot_error():
    with pytest.raises(SnapshotError, match="AGG"):
        runner.evaluate(hand_snapshot(QUARTER_END, drop=("AGG",)), context(QUARTER_END))
    with pytest.raises(SnapshotError, match="XLK"):
        runner.evaluate(hand_snapshot(QUARTER_END, drop=("XLK",)), context(QUARTER_END))


def test_snapshot_built_for_another_pool_is_refused():
    snap = hand_snapshot(QUARTER_END)
    with pytest.raises(SnapshotError, match="sma_period"):
        runner.evaluate(snap, context(QUARTER_END, sma_period=100))


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "needle"), [
    ("ranking_pool", [], "ranking_pool"),
    ("ranking_pool", ["xlk"], "upper-case"),
    ("ranking_pool", ["XLK", "XLK"], "duplicate"),
    ("ranking_pool", ["XLK", "BIL"], "safe_haven"),
    ("canary_assets", ["SPY", "SPY"], "duplicate"),
    ("safe_haven", "bil", "safe_haven"),
    ("top_n", 0, "top_n"),
    ("hold_bonus", "nan", "hold_bonus"),
    ("canary_bad_threshold", 0, "canary_bad_threshold"),
    ("rebalance_months", [], "rebalance_months"),
    ("rebalance_months", [3, 13], "1..12"),
    ("rebalance_months", [3, 3], "duplicate"),
    ("sma_period", 0, "sma_period"),
    ("top_m", 2, "did you mean 'top_n'"),
])
def test_invalid_parameters_raise_parameter_error(key, value, needle):
    with pytest.raises(ParameterError, match=needle):
        params_model(**{key: value})


def test_manifest_defaults_are_the_spec_defaults():
    p = params_model()
    assert p.ranking_pool == ("EWY", "EWT", "INDA", "FXI", "EWJ", "VGK", "VOO", "XLK", "SMH",
                              "GLD", "SLV", "USO", "DBA", "XLE", "XLF", "ITA", "XLP", "XLU",
                              "XLV", "IHI", "VNQ", "KRE")
    assert p.canary_assets == ("SPY", "EFA", "EEM", "AGG") and p.safe_haven == "BIL"
    assert (p.top_n, p.hold_bonus, p.canary_bad_threshold, p.sma_period) == (2, 0.02, 4, 200)
    assert p.rebalance_months == (3, 6, 9, 12)
    assert profile.required_rows(p) == {s: () for s in ALL} and len(ALL) == 27


# --------------------------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------------------------
MOMENTUM = st.one_of(st.just(NAN), st.floats(-0.2, 0.2, allow_nan=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ranked=st.dictionaries(st.sampled_from(POOL), st.tuples(MOMENTUM, st.booleans()),
                              max_size=8),
       canary=st.lists(MOMENTUM, min_size=4, max_size=4),
       held=st.lists(st.sampled_from([*POOL, SAFE, "SPY", "QQQ"]), max_size=5, unique=True),
       top_n=st.integers(1, 4), threshold=st.integers(1, 4),
       as_of=st.sampled_from([QUARTER_END, dt.date(2025, 3, 28), dt.date(2024, 3, 28)]))
def test_decision_invariants(ranked, canary, held, top_n, threshold, as_of):
    rows = {s: {"momentum_13612w": m, "sma_pass": ok} for s, (m, ok) in ranked.items()}
    rows |= {s: {"momentum_13612w": m} for s, m in zip(CANARIES, canary, strict=True)}
    d = run_hand(as_of, rows, held=tuple(held), top_n=top_n, canary_bad_threshold=threshold)
    n_bad = sum(math.isnan(m) or m < 0 for m in canary)
    rebalance = as_of != dt.date(2025, 3, 28)
    assert d.diagnostics.extras["n_bad_canaries"] == n_bad
    if n_bad >= threshold:
        expected = {SAFE: 1.0}
    elif not rebalance:
        assert not d.actionable and d.no_op_reason == "not_rebalance_day"
        return
    else:
        # Brute force: eligible pool symbols by (-score, pool index).
        ok = [(s, m + (0.02 if s in held else 0.0)) for s in POOL if s in ranked
              for m, sma in [ranked[s]] if sma and not math.isnan(m)]
        ok.sort(key=lambda t: (-t[1], POOL.index(t[0])))
        chosen = [s for s, _ in ok[:top_n]]
        expected = {s: 1 / top_n for s in chosen}
        expected[SAFE] = (1 / top_n) * (top_n - len(chosen))
        assert [c["symbol"] for c in d.diagnostics.extras["selected"]] == chosen
    for s in held:
        if s in POOL and s not in expected:
            expected[s] = 0.0
    assert_targets(d, expected)
    assert sum(d.targets().values()) == pytest.approx(1.0, abs=1e-12)
    assert (RiskFlag.EMERGENCY in d.risk_flags) == (n_bad >= threshold)


def test_evaluate_is_pure_and_deterministic():
    snap = hand_snapshot(QUARTER_END, passing(("XLK", 0.05), ("GLD", 0.04)))
    loaded = registry.load(PROFILE)
    frame = validate_snapshot(snap, MANIFEST)
    before = frame.copy()
    inputs = ProfileInputs(frame=frame, snapshot_as_of=QUARTER_END,
                           context=context(QUARTER_END, ("XLU",)), params=params_model(),
                           profile=PROFILE, profile_version=MANIFEST.version,
                           target_mode=MANIFEST.target_mode)
    first = loaded.evaluate(inputs)
    assert loaded.evaluate(inputs).to_json() == first.to_json()
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------------------------
# builder
# --------------------------------------------------------------------------------------------
def slow_rows(px: pd.DataFrame, as_of: dt.date, params) -> dict[str, dict]:
    """Each feature from its definition, one symbol at a time, on the full history."""
    out = {}
    for sym in sorted({*params.ranking_pool, *params.canary_assets, params.safe_haven}):
        g = px[(px["symbol"] == sym) & (px["date"] <= pd.Timestamp(as_of))]
        c = g["close"].to_numpy()
        p = params.sma_period
        rets = c[1:] / c[:-1] - 1
        out[sym] = {
            "close": c[-1] if len(c) else NAN,
            "momentum_13612w": slow_13612w(g["date"], c),
            "sma_pass": bool(len(c) >= p and c[-1] > np.mean(c[-p:])),
            "vol_126": (statistics.stdev(rets[-126:]) * math.sqrt(252)
                        if len(rets) >= 126 else NAN),
            "history_days": len(c),
        }
    return out


def assert_matches_slow(frame: pd.DataFrame, px: pd.DataFrame, as_of: dt.date, params) -> None:
    slow = slow_rows(px, as_of, params)
    assert list(frame["symbol"]) == sorted(slow)
    for rec in frame.to_dict("records"):
        ref = slow[rec["symbol"]]
        for key in ("close", "momentum_13612w", "vol_126"):
            if math.isnan(ref[key]):
                assert math.isnan(rec[key]), (rec["symbol"], key)
            else:
                assert rec[key] == pytest.approx(ref[key], rel=1e-12), (rec["symbol"], key)
        assert rec["sma_pass"] == ref["sma_pass"], rec["symbol"]
        assert rec["history_days"] == ref["history_days"]
        assert rec["score"] == rec["momentum_13612w"] or math.isnan(rec["score"])
        assert rec["eligible"] == (rec["role"] == "ranking" and ref["history_days"] >= 252
                                   and not math.isnan(ref["momentum_13612w"])
                                   and ref["sma_pass"]), rec["symbol"]


@pytest.mark.parametrize("as_of", [dt.date(2024, 12, 31), dt.date(2023, 8, 15),
                                   dt.date(2019, 3, 1), dt.date(2018, 12, 3)])
def test_builder_matches_slow_definitions_on_demo_prices(as_of):
    px = demo.demo_prices_cached()
    params = params_model()
    frame = builder.build(px, as_of, params)
    assert list(frame.columns) == [c.name for c in MANIFEST.snapshot.columns]
    assert (frame["as_of"] == as_of.isoformat()).all()
    assert set(frame["selection_rule_id"]) == {"global_etf_rotation.13612w_sma"}
    assert set(frame["selection_rule_version"]) == {"1"}
    assert_matches_slow(frame, px, as_of, params)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(0, 460), min_size=3, max_size=3),
       sma=st.integers(1, 260), seed=st.integers(0, 2**32 - 1))
def test_builder_matches_slow_definitions_for_any_history_length(lengths, sma, seed):
    # Three pool symbols with random walks of random lengths (0 rows = no data) exercise the
    # per-symbol computations at every boundary: < 127, < sma, < 253 rows, < 13 months.
    rng = np.random.default_rng(seed)
    end = dt.date(2025, 3, 14)
    series = {}
    for sym, n in zip(("XLK", "XLE", "SPY"), lengths, strict=True):
        if n:
            series[sym] = (last_sessions(end, n),
                           50 * np.exp(np.cumsum(rng.normal(0, 0.02, n))))
    params = params_model(ranking_pool=["XLK", "XLE"], canary_assets=["SPY"], sma_period=sma)
    px = prices(series) if series else pd.DataFrame(
        {"date": pd.to_datetime([]), "symbol": [], "close": []})
    assert_matches_slow(builder.build(px, end, params), px, end, params)


def test_builder_falls_back_for_dense_short_histories():
    # 300 calendar-day rows span ~10 months: >= 253 rows but < 13 month-ends -> NaN.
    dates = pd.date_range("2024-05-20", periods=300, freq="D")
    px = prices({"XLK": (dates, np.linspace(10, 20, 300))})
    frame = builder.build(px, dates[-1].date(), params_model())
    xlk = frame.set_index("symbol").loc["XLK"]
    assert math.isnan(xlk["momentum_13612w"]) and xlk["history_days"] == 300
    assert xlk["sma_pass"] and not xlk["eligible"]


def test_builder_roles_first_that_applies():
    params = params_model(ranking_pool=["XLK", "GLD"], canary_assets=["SPY", "XLK", "BIL"])
    frame = builder.build(prices({"SPY": linear(QUARTER_END, 0.1)}), QUARTER_END, params)
    roles = dict(zip(frame["symbol"], frame["role"], strict=True))
    assert roles == {"BIL": "canary", "GLD": "ranking", "SPY": "canary", "XLK": "ranking"}
    assert list(frame["symbol"]) == ["BIL", "GLD", "SPY", "XLK"]


def test_builder_accepts_unsorted_prices_and_ignores_rows_after_as_of():
    px = demo.demo_prices_cached()
    params = params_model()
    as_of = dt.date(2022, 6, 30)
    expected = builder.build(px[px["date"] <= pd.Timestamp(as_of)], as_of, params)
    shuffled = px.sample(frac=1.0, random_state=7).reset_index(drop=True)
    pd.testing.assert_frame_equal(builder.build(shuffled, as_of, params), expected)


def test_build_snapshot_is_truncation_invariant():
    px = demo.demo_prices_cached()
    for as_of in (dt.date(2023, 6, 30), dt.date(2023, 8, 15)):
        cut = px[px["date"] <= pd.Timestamp(as_of)]
        a = build_snapshot(PROFILE, cut, as_of)
        # Future rows with absurd prices must not leak into the snapshot.
        future = px[px["date"] > pd.Timestamp(as_of)].assign(close=1e6)
        b = build_snapshot(PROFILE, pd.concat([cut, future], ignore_index=True), as_of)
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.sha256 == b.sha256
        assert a.builder_parameters == built_with({})




def test_demo_prices_end_to_end():
    as_of = demo.DEMO_AS_OF
    assert profile.is_rebalance_day(as_of, (3, 6, 9, 12))
    d = run_built(demo.demo_prices_cached(), as_of)
    assert d.actionable
    assert d.diagnostics.signal in {"quarterly_rebalance", "no_candidate", "emergency"}
    assert sum(d.targets().values()) == pytest.approx(1.0, abs=1e-12)
    assert d.small_account is not None and d.provenance is not None


# --------------------------------------------------------------------------------------------
# real market data
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_prices() -> pd.DataFrame:
    path = DATA / "daily" / "adj_close.parquet"
    if not path.exists():
        pytest.skip("../shared/data is absent")
    raw = pd.read_parquet(path, filters=[("symbol", "in", ALL)])
    px = normalize_prices(raw.reset_index(drop=True), source=str(path))
    assert sorted(px["symbol"].unique()) == ALL
    return px


@pytest.mark.realdata
def test_real_data_every_session_of_2024_h1(real_prices):
    days = calendar.sessions(dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    assert len(days) >= 50
    signals = {}
    for day in days:
        d = run_built(real_prices, day)
        signals[day] = d.diagnostics.signal
        rebalance = day in (dt.date(2024, 3, 28), dt.date(2024, 6, 28))
        assert d.diagnostics.extras["is_rebalance_day"] is rebalance
        if d.actionable:
            assert rebalance or d.diagnostics.signal == "emergency"
            assert sum(d.targets().values()) == pytest.approx(1.0, abs=1e-12)
        else:
            assert d.no_op_reason == "not_rebalance_day"
    assert signals[dt.date(2024, 3, 28)] != "daily_check"
    assert signals[dt.date(2024, 6, 28)] != "daily_check"


@pytest.mark.realdata
def test_real_data_quarter_ends_are_actionable(real_prices):
    for year in range(2016, 2026):
        for quarter in range(1, 5):
            day = calendar.last_session_of_quarter(year, quarter)
            d = run_built(real_prices, day)
            assert d.actionable, day
            assert d.diagnostics.signal in {"quarterly_rebalance", "no_candidate", "emergency"}
            assert sum(d.targets().values()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.realdata
def test_real_data_builder_matches_slow_definitions(real_prices):
    params = params_model()
    for as_of in (dt.date(2016, 3, 31), dt.date(2020, 3, 20), dt.date(2025, 3, 31)):
        assert_matches_slow(builder.build(real_prices, as_of, params), real_prices, as_of, params)
