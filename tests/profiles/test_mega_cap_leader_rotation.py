"""Mega-cap leader rotation family (profiles.md §2.4-§2.6, §3; features.md §4.3, §5.3, §6.2).

One engine, three manifests. Every expectation is worked out by hand from the spec (the
arithmetic is in the comments) or from a slow, obviously-correct loop; profile tests go
through ``runner.evaluate``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from us_equity_strategies import calendar, registry, runner
from us_equity_strategies.builders import build_snapshot
from us_equity_strategies.builders import mega_cap_leader_rotation as builder
from us_equity_strategies.contract import EvaluationContext, Portfolio, RiskFlag, Role
from us_equity_strategies.entrypoints import mega_cap_leader_rotation as engine
from us_equity_strategies.errors import (
    ParameterError,
    PriceHistoryError,
    SnapshotError,
    UniverseError,
)
from us_equity_strategies.prices import normalize_prices, truncate, volume_on_close_basis
from us_equity_strategies.snapshot import Snapshot, read_snapshot
from us_equity_strategies.snapshot._model import default_config_sha256

TOP20 = "mega_cap_leader_rotation_dynamic_top20"
AGGR = "mega_cap_leader_rotation_aggressive"
BAL = "mega_cap_leader_rotation_top50_balanced"
PROFILES = (TOP20, AGGR, BAL)
SNAP_DAY = dt.date(2026, 3, 31)
RUN_DAY = dt.date(2026, 4, 1)
NAN = math.nan
S = math.sqrt(1.5)  # z of the high value of three evenly spaced values (ddof 0)
Q6, SPY6 = 0.10, 0.05  # benchmark and broad-benchmark mom_6m in hand snapshots
#: Ranked best first by mom_6m (0.50, 0.45, ...); other features equal (z = 0).
LADDER = ("NVDA", "MSFT", "AAPL", "AMZN", "META", "AVGO", "GOOGL", "TSLA", "COST", "NFLX")
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def stock(symbol: str, mom_6m: float = 0.2, **kw) -> dict:
    row = dict(as_of=SNAP_DAY.isoformat(), symbol=symbol, sector="Information Technology",
               close=100.0, volume=1e6, adv20_usd=5e8, history_days=300, mom_3m=0.1,
               mom_6m=mom_6m, mom_12_1=0.2, sma200_gap=0.05, high_252_gap=-0.02, vol_63=0.3,
               maxdd_126=-0.1, eligible=True, rel_mom_6m_vs_benchmark=mom_6m - Q6,
               rel_mom_6m_vs_broad_benchmark=mom_6m - SPY6)
    row.update(kw)
    return row


def fixed(qqq_gap: float = 0.05, *, drop: tuple[str, ...] = ()) -> list[dict]:
    """QQQ, SPY and BOXX rows as the builder writes them (forced ineligible)."""
    rows = [stock("QQQ", Q6, sector="benchmark", close=480.0, sma200_gap=qqq_gap,
                  eligible=False),
            stock("SPY", SPY6, sector="benchmark", eligible=False),
            stock("BOXX", 0.02, sector="cash", eligible=False)]
    return [r for r in rows if r["symbol"] not in drop]


def ladder(n: int = 8) -> list[dict]:
    return [stock(s, 0.50 - 0.05 * i) for i, s in enumerate(LADDER[:n])]


def snapshot(profile: str, rows: list[dict], as_of: dt.date = SNAP_DAY) -> Snapshot:
    frame = pd.DataFrame(rows, columns=list(builder.COLUMNS))
    frame = frame.sort_values("symbol", kind="mergesort").reset_index(drop=True)
    return Snapshot.from_frame(frame, profile=profile, as_of=as_of,
                               contract_version=f"{profile}.feature_snapshot.v1")


def run(profile: str, rows: list[dict], *, equity: float | None = None, holdings=(),
        run_day: dt.date = RUN_DAY, qqq_gap: float = 0.05, **overrides):
    ctx = EvaluationContext(
        as_of=run_day, holdings=tuple(holdings),
        portfolio=None if equity is None else Portfolio(total_equity=equity))
    return runner.evaluate(snapshot(profile, rows + fixed(qqq_gap)), ctx, overrides=overrides)


def risk(decision) -> dict[str, float]:
    return {p.symbol: p.target_weight for p in decision.positions if p.role is Role.RISK}


def boxx(decision) -> float:
    (pos,) = [p for p in decision.positions if p.symbol == "BOXX"]
    assert pos.role is Role.SAFE_HAVEN
    return pos.target_weight


# ------------------------------------------------------------------------------------------
# registration and parameters
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("profile", "role", "universe", "count", "cap", "soft", "sleeves"), [
    (TOP20, "concentrated_leader_rotation", 20, 4, 0.25, 0.5, 0),
    (AGGR, "aggressive_leader_rotation", 50, 3, 0.35, 1.0, 0),
    (BAL, "balanced_leader_rotation", 50, 4, 0.25, 1.0, 2),
])
def test_manifest_defaults(profile, role, universe, count, cap, soft, sleeves):
    loaded = registry.load(profile)
    m = loaded.manifest
    assert loaded.module.evaluate is engine.evaluate
    assert loaded.parameters_model is engine.Parameters
    assert (m.benchmark, m.role, m.safe_haven, m.target_mode.value) == ("QQQ", role, "BOXX",
                                                                          "weight")
    assert m.small_account.min_recommended_equity_usd == 10000
    assert m.snapshot.max_age_months == 1 and m.snapshot.requires_universe
    assert m.snapshot.contract_version == f"{profile}.feature_snapshot.v1"
    assert [c.name for c in m.snapshot.columns] == list(builder.COLUMNS)
    p = m.parameters
    assert (p["dynamic_universe_size"], p["holdings_count"], p["single_name_cap"]) == (
        universe, count, cap)
    assert (p["soft_defense_exposure"], p["hard_defense_exposure"]) == (soft, soft)
    assert (p["min_position_value_usd"], p["hold_buffer"], p["hold_bonus"]) == (3000, 2, 0.10)
    assert (p["risk_on_exposure"], p["soft_breadth_threshold"], p["hard_breadth_threshold"],
            p["min_adv20_usd"], p["runtime_execution_window_trading_days"]) == (
        1.0, 0.0, 0.0, 20_000_000, 3)
    assert (p["min_history_days"], p["min_close"], p["universe_lag_sessions"]) == (273, 10, 0)
    assert "execution_cash_reserve_ratio" not in p
    assert len(p["blend_sleeves"]) == sleeves


def test_top50_sleeves_default():
    assert registry.get_manifest(BAL).parameters["blend_sleeves"] == [
        {"name": "top2_cap50", "weight": 0.5, "holdings_count": 2, "single_name_cap": 0.5},
        {"name": "top4_cap25", "weight": 0.5, "holdings_count": 4, "single_name_cap": 0.25}]


@pytest.mark.parametrize(("override", "match"), [
    ({"blend_sleeves": [{"weight": 0.0, "holdings_count": 2, "single_name_cap": 0.5}]},
     "greater than 0"),
    ({"blend_sleeves": [{"weight": 1, "holdings_count": 0, "single_name_cap": 0.5}]},
     "greater than or equal to 1"),
    ({"blend_sleeves": [{"name": "a", "weight": 1, "holdings_count": 1, "single_name_cap": 1},
                        {"name": "a", "weight": 1, "holdings_count": 2,
                         "single_name_cap": 0.5}]}, "duplicate sleeve names"),
    ({"blend_sleeves": [{"weight": 1, "holdings_count": 1, "single_name_cap": 0.5,
                         "cap": 1}]}, "Extra inputs"),
    ({"holdings_count": 0}, "greater than or equal to 1"),
    ({"single_name_cap": 0.0}, "greater than 0"),
    ({"risk_on_exposure": 1.5}, "less than or equal to 1"),
    ({"safe_haven": "QQQ"}, "must differ"),
    ({"execution_cash_reserve_ratio": 0.0}, "unknown parameter"),
])
def test_invalid_parameters(override, match):
    with pytest.raises(ParameterError, match=match):
        run(TOP20, ladder(4), **override)


def test_unnamed_sleeves_get_positional_names():
    d = run(TOP20, ladder(4), blend_sleeves=[
        {"name": "solo", "weight": 1, "holdings_count": 1, "single_name_cap": 1.0},
        {"weight": 1, "holdings_count": 2, "single_name_cap": 0.5}])
    assert [r["name"] for r in d.diagnostics.extras["blend_sleeves"]] == ["solo", "sleeve_2"]


# ------------------------------------------------------------------------------------------
# spec worked examples (profiles.md §2.5, §2.6, §3)
# ------------------------------------------------------------------------------------------
def test_top20_risk_on_four_names_at_25pct():
    d = run(TOP20, ladder(8))
    assert risk(d) == {"NVDA": 0.25, "MSFT": 0.25, "AAPL": 0.25, "AMZN": 0.25}
    assert boxx(d) == 0.0 and d.risk_flags == () and d.actionable
    assert d.diagnostics.signal == "rebalance" and d.diagnostics.regime == "risk_on"


def test_top20_below_trend_four_names_at_12_5pct_and_boxx_half():
    # QQQ sma200_gap <= 0 -> soft_defense, exposure 0.5 -> per name min(0.25, 0.5/4) = 0.125
    d = run(TOP20, ladder(8), qqq_gap=-0.01)
    assert risk(d) == {"NVDA": 0.125, "MSFT": 0.125, "AAPL": 0.125, "AMZN": 0.125}
    assert boxx(d) == 0.5
    assert d.risk_flags == (RiskFlag.SOFT_DEFENSE,) and d.diagnostics.regime == "soft_defense"


def test_top20_small_account_10k_three_names():
    # target 10,000 x 1.0 -> floor(10,000 / 3,000) = 3 names x 0.25; BOXX 1 - 0.75 = 0.25
    d = run(TOP20, ladder(8), equity=10_000)
    assert risk(d) == {"NVDA": 0.25, "MSFT": 0.25, "AAPL": 0.25} and boxx(d) == 0.25
    x = d.diagnostics.extras
    assert (x["requested_holdings_count"], x["effective_holdings_count"]) == (4, 3)
    assert d.small_account.min_recommended_equity_usd == 10000
    assert not d.small_account.small_account_warning  # 10,000 < 10,000 is False (strict)


def test_mega_8k_with_cap_half_holds_two_names():
    # floor(8,000 / 3,000) = 2 names x min(0.50, 1.0 / 2) = 0.5 each, nothing parked
    d = run(TOP20, ladder(8), equity=8_000, single_name_cap=0.5)
    assert risk(d) == {"NVDA": 0.5, "MSFT": 0.5} and boxx(d) == 0.0
    assert d.small_account.small_account_warning


def test_aggressive_three_names_fully_invested_in_any_regime():
    for gap, flags in ((0.05, ()), (-0.05, (RiskFlag.SOFT_DEFENSE,))):
        d = run(AGGR, ladder(8), qqq_gap=gap)
        # min(0.35, 1.0 / 3) = 1/3 each; 1 - 3 * (1/3) = 0 -> nothing parked
        assert risk(d) == {"NVDA": 1 / 3, "MSFT": 1 / 3, "AAPL": 1 / 3}
        assert boxx(d) == 0.0 and d.risk_flags == flags
        assert d.diagnostics.extras["target_stock_weight"] == 1.0


def test_top50_balanced_blend():
    # top1/top2: 0.5 x 0.5 + 0.5 x 0.25 = 0.375; top3/top4: 0.5 x 0.25 = 0.125
    d = run(BAL, ladder(8))
    assert risk(d) == {"NVDA": 0.375, "MSFT": 0.375, "AAPL": 0.125, "AMZN": 0.125}
    assert boxx(d) == 0.0
    x = d.diagnostics.extras
    assert x["blend_mode"] == "fixed_weighted_sleeves"
    assert x["selected_symbols"] == ["NVDA", "MSFT", "AAPL", "AMZN"]
    assert (x["requested_holdings_count"], x["effective_holdings_count"], x["single_name_cap"],
            x["target_stock_weight"], x["realized_stock_weight"]) == (4, 4, 0.5, 1.0, 1.0)
    assert x["blend_sleeves"] == [
        {"name": "top2_cap50", "weight": 0.5, "holdings_count": 2, "single_name_cap": 0.5,
         "effective_holdings_count": 2, "selected_symbols": ["NVDA", "MSFT"],
         "realized_stock_weight": 1.0, "safe_haven_weight": 0.0},
        {"name": "top4_cap25", "weight": 0.5, "holdings_count": 4, "single_name_cap": 0.25,
         "effective_holdings_count": 4, "selected_symbols": ["NVDA", "MSFT", "AAPL", "AMZN"],
         "realized_stock_weight": 1.0, "safe_haven_weight": 0.0}]


def test_top50_balanced_at_10k_one_name_per_sleeve():
    # each sleeve sees 5,000 -> floor(5,000 / 3,000) = 1 name. top2 sleeve: NVDA 0.5, BOXX 0.5;
    # top4 sleeve: NVDA 0.25, BOXX 0.75 -> NVDA 0.375, BOXX 0.625
    d = run(BAL, ladder(8), equity=10_000)
    assert risk(d) == {"NVDA": 0.375} and boxx(d) == 0.625
    rows = d.diagnostics.extras["blend_sleeves"]
    assert [(r["effective_holdings_count"], r["safe_haven_weight"]) for r in rows] == [
        (1, 0.5), (1, 0.75)]
    assert d.diagnostics.extras["target_stock_weight"] == 0.375


def test_top50_balanced_at_20k_counts_per_sleeve():
    # each sleeve sees 10,000 -> 3 names allowed: top2 sleeve keeps 2 (0.5 each), top4 sleeve
    # 3 x 0.25 + BOXX 0.25 -> NVDA/MSFT 0.25 + 0.125, AAPL 0.125, BOXX 0.125
    d = run(BAL, ladder(8), equity=20_000)
    assert risk(d) == {"NVDA": 0.375, "MSFT": 0.375, "AAPL": 0.125} and boxx(d) == 0.125


def test_sleeve_weights_are_normalised():
    # weights 1 and 3 -> 0.25 / 0.75: top1/top2 0.25 x 0.5 + 0.75 x 0.25 = 0.3125,
    # top3/top4 0.75 x 0.25 = 0.1875
    d = run(BAL, ladder(8), blend_sleeves=[
        {"name": "a", "weight": 1, "holdings_count": 2, "single_name_cap": 0.5},
        {"name": "b", "weight": 3, "holdings_count": 4, "single_name_cap": 0.25}])
    assert risk(d) == {"NVDA": 0.3125, "MSFT": 0.3125, "AAPL": 0.1875, "AMZN": 0.1875}
    assert [r["weight"] for r in d.diagnostics.extras["blend_sleeves"]] == [0.25, 0.75]


# ------------------------------------------------------------------------------------------
# score, candidates, tie-breaks
# ------------------------------------------------------------------------------------------
def three() -> list[dict]:
    """Each feature is a permutation of low/mid/high, so every z is -S, 0 or +S."""
    return [
        stock("AAA", 0.3, mom_3m=0.1, high_252_gap=-0.2, sma200_gap=0.2, vol_63=0.4,
              maxdd_126=-0.1),
        stock("BBB", 0.2, mom_3m=0.3, high_252_gap=-0.3, sma200_gap=0.3, vol_63=0.2,
              maxdd_126=-0.2),
        stock("CCC", 0.1, mom_3m=0.2, high_252_gap=-0.1, sma200_gap=0.1, vol_63=0.3,
              maxdd_126=-0.3),
    ]


# z:        mom6 mom3 rel rel_broad high sma vol |dd|
# AAA:       +S   -S   +S   +S       0    0   +S  -S
# BBB:        0   +S    0    0      -S   +S   -S   0
# CCC:       -S    0   -S   -S      +S   -S    0  +S
# AAA = (.25 - .20 + .20 + .10 - .025 + .025) S = 0.35 S
# BBB = (.20 - .10 + .10 + .025) S = 0.225 S
# CCC = (-.25 - .20 - .10 + .10 - .10 - .025) S = -0.575 S
def test_score_hand_worked_and_fewer_candidates_than_count():
    d = run(TOP20, three())
    assert [t["symbol"] for t in d.diagnostics.extras["top"]] == ["AAA", "BBB", "CCC"]
    np.testing.assert_allclose([t["score"] for t in d.diagnostics.extras["top"]],
                               [0.35 * S, 0.225 * S, -0.575 * S], rtol=0, atol=1e-12)
    # 3 names x min(0.25, 1/3) = 0.25, the rest parked
    assert risk(d) == {"AAA": 0.25, "BBB": 0.25, "CCC": 0.25} and boxx(d) == 0.25


def test_hold_bonus_can_lift_a_holding():
    # count 1, buffer 0. Bonus 0.10: BBB 0.225 S + 0.1 = 0.376 < AAA 0.429 -> AAA, BBB to 0.
    d = run(TOP20, three(), holdings=("BBB",), holdings_count=1, hold_buffer=0)
    assert risk(d) == {"AAA": 0.25, "BBB": 0.0}
    # bonus 0.20: BBB 0.476 > AAA 0.429 -> BBB ranks first and is kept
    d = run(TOP20, three(), holdings=("BBB",), holdings_count=1, hold_buffer=0, hold_bonus=0.2)
    assert risk(d) == {"BBB": 0.25}
    assert d.diagnostics.extras["top"][0] == {"symbol": "BBB", "score": pytest.approx(
        0.225 * S + 0.2, abs=1e-12)}


def test_tie_break_rel_mom_vs_benchmark():
    # dyadic values make z exactly +-1: AAA 0.20(+1) + 0.20(-1) = 0 = ZZZ 0.20(-1) + 0.20(+1);
    # tie -> rel_mom_6m_vs_benchmark desc -> ZZZ first (against symbol order)
    rows = [stock("AAA", 0.5, mom_3m=0.75, rel_mom_6m_vs_benchmark=0.25),
            stock("ZZZ", 0.5, mom_3m=0.25, rel_mom_6m_vs_benchmark=0.75)]
    d = run(TOP20, rows, holdings_count=1)
    assert [t["score"] for t in d.diagnostics.extras["top"]] == [0.0, 0.0]
    assert d.diagnostics.extras["selected_symbols"] == ["ZZZ"]


def test_tie_break_mom_6m():
    # AAA z(mom6) = -1 plus bonus 0.5: -0.25 + 0.5 = 0.25 = ZZZ +0.25; rel equal -> mom_6m
    rows = [stock("AAA", 0.25, rel_mom_6m_vs_benchmark=0.0, rel_mom_6m_vs_broad_benchmark=0.0),
            stock("ZZZ", 0.75, rel_mom_6m_vs_benchmark=0.0, rel_mom_6m_vs_broad_benchmark=0.0)]
    d = run(TOP20, rows, holdings=("AAA",), holdings_count=1, hold_buffer=0, hold_bonus=0.5)
    assert d.diagnostics.extras["top"] == [{"symbol": "ZZZ", "score": 0.25},
                                           {"symbol": "AAA", "score": 0.25}]
    assert risk(d) == {"ZZZ": 0.25, "AAA": 0.0}


def test_tie_break_symbol():
    d = run(TOP20, [stock("ZZZ"), stock("AAA")], holdings_count=1)
    assert d.diagnostics.extras["selected_symbols"] == ["AAA"]


def test_candidate_filters():
    rows = [
        stock("GOOD", 0.40),
        stock("EDGE", 0.30, adv20_usd=20_000_000.0),  # adv >= min: kept
        stock("THIN", 0.50, adv20_usd=19_999_999.99),
        stock("NOTE", 0.50, eligible=False),
        stock("NANE", 0.50, eligible=None),  # NaN eligible -> not eligible (fix 5)
        stock("NO12", 0.50, mom_12_1=NAN),  # required although never scored
        stock("NOBR", 0.50, rel_mom_6m_vs_broad_benchmark=NAN),
        stock("NODD", 0.50, maxdd_126=NAN),
    ]
    d = run(TOP20, rows)
    assert d.diagnostics.extras["candidate_count"] == 2
    assert risk(d) == {"GOOD": 0.25, "EDGE": 0.25} and boxx(d) == 0.5


def test_benchmarks_never_candidates_even_if_marked_eligible():
    rows = ladder(2) + [r | {"eligible": True, "mom_6m": 9.0} for r in fixed()]
    ctx = EvaluationContext(as_of=RUN_DAY)
    d = runner.evaluate(snapshot(TOP20, rows), ctx)
    assert set(risk(d)) == {"NVDA", "MSFT"} and d.diagnostics.extras["candidate_count"] == 2


def test_no_candidates_all_in_safe_haven():
    d = run(TOP20, [stock("NOTE", eligible=False)], holdings=("NOTE",))
    assert d.diagnostics.signal == "safe_haven_only" and boxx(d) == 1.0
    assert risk(d) == {"NOTE": 0.0}
    x = d.diagnostics.extras
    assert (x["candidate_count"], x["breadth_ratio"], x["selected_symbols"], x["top"]) == (
        0, 0.0, [], [])
    assert "effective_single_name_cap" not in x


# ------------------------------------------------------------------------------------------
# regime variants
# ------------------------------------------------------------------------------------------
def breadth_rows() -> list[dict]:
    # 1 of 4 candidates above its SMA200 -> breadth 0.25
    return [stock(s, 0.5 - 0.1 * i, sma200_gap=0.05 if i == 0 else -0.05)
            for i, s in enumerate(("NVDA", "MSFT", "AAPL", "AMZN"))]


def test_zero_trend_gap_and_nan_gap_are_not_positive():
    for gap in (0.0, NAN):
        d = run(TOP20, ladder(4), qqq_gap=gap)
        assert d.diagnostics.regime == "soft_defense"
        assert d.diagnostics.extras["benchmark_trend_positive"] is False


def test_hard_defense_when_trend_down_and_breadth_below_hard():
    # breadth 0.25 < 0.6 and trend down -> hard: per name min(0.25, 0.2 / 4) = 0.05
    d = run(TOP20, breadth_rows(), qqq_gap=-0.01, hard_breadth_threshold=0.6,
            soft_breadth_threshold=0.6, hard_defense_exposure=0.2)
    assert d.diagnostics.regime == "hard_defense" and d.risk_flags == (RiskFlag.HARD_DEFENSE,)
    assert set(risk(d).values()) == {0.05} and boxx(d) == pytest.approx(0.8, abs=1e-15)
    assert d.diagnostics.extras["breadth_ratio"] == 0.25


def test_soft_defense_from_breadth_with_trend_up():
    # trend up, breadth 0.25 < soft 0.5 -> soft (hard needs trend down): exposure 0.5
    d = run(TOP20, breadth_rows(), soft_breadth_threshold=0.5, hard_breadth_threshold=0.5)
    assert d.diagnostics.regime == "soft_defense" and boxx(d) == 0.5


def test_default_thresholds_never_hard():
    d = run(TOP20, breadth_rows(), qqq_gap=-0.01)
    assert d.diagnostics.regime == "soft_defense"


@pytest.mark.parametrize("profile", [AGGR, BAL])
def test_no_trend_derisking_for_aggressive_and_balanced(profile):
    up, down = run(profile, ladder(8)), run(profile, ladder(8), qqq_gap=-0.01)
    assert risk(up) == risk(down) and boxx(down) == 0.0
    assert down.diagnostics.regime == "soft_defense"


def test_zero_exposure_parks_everything():
    d = run(TOP20, ladder(4), qqq_gap=-0.01, soft_defense_exposure=0.0, holdings=("NVDA",))
    assert d.diagnostics.signal == "safe_haven_only" and boxx(d) == 1.0
    assert risk(d) == {"NVDA": 0.0}
    assert d.diagnostics.extras["effective_holdings_count"] == 0


# ------------------------------------------------------------------------------------------
# hysteresis and small accounts
# ------------------------------------------------------------------------------------------
# With LADDER's even mom_6m spacing the score gap between ranks (0.55 x 0.44 = 0.24) exceeds
# the 0.10 hold bonus, so a holding keeps its raw rank.
@pytest.mark.parametrize(("held", "kept"), [("AVGO", True), ("GOOGL", False)])
def test_top20_holds_a_name_within_the_top_six(held, kept):
    # count 4 + buffer 2 = 6: AVGO (rank 6) stays, GOOGL (rank 7) is replaced
    d = run(TOP20, ladder(8), holdings=(held,))
    if kept:
        assert risk(d) == {"AVGO": 0.25, "NVDA": 0.25, "MSFT": 0.25, "AAPL": 0.25}
        assert d.diagnostics.extras["selected_symbols"] == ["AVGO", "NVDA", "MSFT", "AAPL"]
    else:
        assert risk(d) == {"NVDA": 0.25, "MSFT": 0.25, "AAPL": 0.25, "AMZN": 0.25,
                           "GOOGL": 0.0}
    assert d.diagnostics.extras["max_hold_rank"] == 6


def test_max_hold_rank_uses_the_effective_count():
    # 10k -> count 3, max hold rank 5: META (5) stays, AVGO (6) goes
    d = run(TOP20, ladder(8), equity=10_000, holdings=("META", "AVGO"))
    assert risk(d) == {"META": 0.25, "NVDA": 0.25, "MSFT": 0.25, "AVGO": 0.0}
    assert d.diagnostics.extras["max_hold_rank"] == 5


def test_best_ranked_holdings_win_when_too_many_qualify():
    # aggressive at 7k: count floor(7,000 / 3,000) = 2, max hold rank 4; AMZN (4), AAPL (3),
    # MSFT (2) qualify -> MSFT, AAPL kept (rank order), AMZN liquidated
    d = run(AGGR, ladder(8), equity=7_000, holdings=("AMZN", "AAPL", "MSFT"))
    assert risk(d) == {"MSFT": 0.35, "AAPL": 0.35, "AMZN": 0.0}
    assert boxx(d) == pytest.approx(0.3, abs=1e-15)


def test_sleeves_apply_hysteresis_separately():
    # AMZN (rank 4) held: top2 sleeve max hold rank 4 keeps it -> [AMZN, NVDA]; top4 sleeve
    # [AMZN, NVDA, MSFT, AAPL]. NVDA, AMZN 0.375; MSFT, AAPL 0.125
    d = run(BAL, ladder(8), holdings=("AMZN",))
    assert risk(d) == {"AMZN": 0.375, "NVDA": 0.375, "MSFT": 0.125, "AAPL": 0.125}
    assert d.diagnostics.extras["selected_symbols"] == ["AMZN", "NVDA", "MSFT", "AAPL"]


@pytest.mark.parametrize(("equity", "count", "names"), [
    (2_999, 1, 1),  # floor < 1 -> max(1, 0) = 1
    (0, 0, 0),  # target 0 -> count 0 -> all parked
])
def test_small_account_edges(equity, count, names):
    d = run(TOP20, ladder(8), equity=equity)
    assert d.diagnostics.extras["effective_holdings_count"] == count
    assert len(risk(d)) == names and boxx(d) == 1.0 - 0.25 * names


def test_soft_defense_small_account_counts_on_exposed_equity():
    # 10,000 x 0.5 = 5,000 -> 1 name; per name min(0.25, 0.5 / 1) = 0.25 (cap not raised)
    d = run(TOP20, ladder(8), equity=10_000, qqq_gap=-0.01)
    assert risk(d) == {"NVDA": 0.25} and boxx(d) == 0.75


def test_min_position_value_zero_disables_reduction():
    d = run(TOP20, ladder(8), equity=1_000, min_position_value_usd=0)
    assert len(risk(d)) == 4


def test_effective_count_rules():
    assert engine.effective_count(4, 0.0, 1e6, 3000) == 0
    assert engine.effective_count(4, 1.0, None, 3000) == 4
    assert engine.effective_count(4, 1.0, 1e6, 3000) == 4
    assert engine.effective_count(4, 0.5, 12_000, 3000) == 2  # floor(6,000 / 3,000)


# ------------------------------------------------------------------------------------------
# execution window, positions, diagnostics, bad input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("day", "executes"), [
    (dt.date(2026, 3, 31), False), (dt.date(2026, 4, 1), True), (dt.date(2026, 4, 2), True),
    (dt.date(2026, 4, 3), False),  # Good Friday: not a session
    (dt.date(2026, 4, 6), True), (dt.date(2026, 4, 7), False), (dt.date(2026, 4, 10), False),
])
def test_execution_window(day, executes):
    for profile in PROFILES:
        d = run(profile, ladder(8), run_day=day)
        assert d.actionable is executes
        if not executes:
            assert d.no_op_reason == ("outside_monthly_execution_window snapshot=2026-03-31 "
                                      "allowed=2026-04-01,2026-04-02,2026-04-06")
            assert d.positions == () and d.risk_flags == (RiskFlag.NO_EXECUTE,)
            assert d.diagnostics.signal == "waiting_execution_window"
            assert d.diagnostics.extras["execution_window"] == [
                "2026-04-01", "2026-04-02", "2026-04-06"]
            assert d.diagnostics.extras["execution_calendar_source"] == "nyse_calendar"


def test_execution_window_parameter():
    assert run(TOP20, ladder(8), run_day=dt.date(2026, 4, 7),
               runtime_execution_window_trading_days=4).actionable
    d = run(TOP20, ladder(8), runtime_execution_window_trading_days=0)
    assert d.no_op_reason == "no_execution_window_after_snapshot:2026-03-31"


def test_stale_snapshot_rejected():
    with pytest.raises(SnapshotError, match="calendar months older"):
        run(TOP20, ladder(8), run_day=dt.date(2026, 5, 1))


@pytest.mark.parametrize("missing", ["QQQ", "SPY"])
def test_missing_benchmark_row_is_invalid_input(missing):
    ctx = EvaluationContext(as_of=RUN_DAY)
    with pytest.raises(SnapshotError, match=f"required row symbol='{missing}' is missing"):
        runner.evaluate(snapshot(TOP20, ladder(4) + fixed(drop=(missing,))), ctx)


def test_missing_boxx_row_still_lists_boxx():
    ctx = EvaluationContext(as_of=RUN_DAY)
    d = runner.evaluate(snapshot(TOP20, ladder(4) + fixed(drop=("BOXX",))), ctx)
    assert boxx(d) == 0.0


def test_held_names_outside_selection_are_liquidated_explicitly():
    # ORCL left the universe (no row), GOOGL is in it but not selected, QQQ is a benchmark
    d = run(TOP20, ladder(8), holdings=("ORCL", "GOOGL", "QQQ", "BOXX"))
    assert risk(d) == {"NVDA": 0.25, "MSFT": 0.25, "AAPL": 0.25, "AMZN": 0.25,
                       "GOOGL": 0.0, "ORCL": 0.0}
    assert "QQQ" not in d.targets()
    managed = d.diagnostics.extras["managed_symbols"]
    # snapshot symbols in snapshot order without the benchmarks, then held extras
    assert managed == [*sorted([*LADDER[:8], "BOXX"]), "ORCL"]


def test_diagnostics_single_basket():
    d = run(TOP20, ladder(8), equity=50_000)
    g = d.diagnostics
    assert (g.benchmark_symbol, g.benchmark_price, g.safe_haven_symbol, g.snapshot_as_of) == (
        "QQQ", 480.0, "BOXX", SNAP_DAY)
    x = g.extras
    assert set(x) == {
        "execution_window", "execution_calendar_source", "managed_symbols",
        "broad_benchmark_symbol", "benchmark_trend_positive", "breadth_ratio",
        "candidate_count", "dynamic_universe_size", "portfolio_total_equity",
        "min_position_value_usd", "top", "target_stock_weight", "realized_stock_weight",
        "requested_holdings_count", "effective_holdings_count", "single_name_cap",
        "max_hold_rank", "effective_single_name_cap", "safe_haven_weight",
        "selected_symbols", "selected_count"}
    assert (x["dynamic_universe_size"], x["candidate_count"], x["breadth_ratio"],
            x["portfolio_total_equity"], x["selected_count"], len(x["top"])) == (
        20, 8, 1.0, 50_000.0, 4, 5)


@pytest.mark.parametrize("profile", PROFILES)
def test_evaluate_is_pure_and_deterministic(profile):
    from us_equity_strategies.contract import ProfileInputs
    from us_equity_strategies.snapshot import validate_snapshot

    loaded = registry.load(profile)
    rows = [stock(f"S{i:02d}", 0.01 * i, mom_3m=0.003 * (i % 7)) for i in range(50)]
    frame = validate_snapshot(snapshot(profile, rows + fixed()), loaded.manifest)
    before = frame.copy()
    ctx = EvaluationContext(as_of=RUN_DAY, portfolio=Portfolio(total_equity=1e5),
                            holdings=("S01", "S40"))
    inputs = ProfileInputs(frame=frame, snapshot_as_of=SNAP_DAY, context=ctx,
                           params=params(profile), profile=profile, profile_version="1.0.0",
                           target_mode=loaded.manifest.target_mode)
    first = loaded.evaluate(inputs)
    assert loaded.evaluate(inputs).to_json() == first.to_json()
    pd.testing.assert_frame_equal(frame, before)


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------
FEATURE = st.one_of(st.floats(-0.9, 3.0), st.just(NAN))


@st.composite
def cases(draw):
    n = draw(st.integers(0, 12))
    rows = []
    for i in range(n):
        mom6 = draw(st.floats(-0.8, 3.0))
        rows.append(stock(f"S{i:02d}", mom6, mom_3m=draw(FEATURE), high_252_gap=draw(FEATURE),
                          sma200_gap=draw(FEATURE), vol_63=draw(FEATURE),
                          maxdd_126=draw(FEATURE), eligible=draw(st.booleans()),
                          adv20_usd=draw(st.sampled_from([1e7, 2e7, 1e9]))))
    held = draw(st.sets(st.sampled_from([f"S{i:02d}" for i in range(14)])))
    equity = draw(st.one_of(st.none(), st.floats(0, 200_000)))
    gap = draw(st.sampled_from([-0.1, 0.0, 0.1, NAN]))
    return rows, held, equity, gap


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_properties(case):
    rows, held, equity, gap = case
    for profile in PROFILES:
        p = registry.get_manifest(profile).parameters
        sleeves = p["blend_sleeves"]
        max_names = max((s["holdings_count"] for s in sleeves), default=p["holdings_count"])
        cap = (sum(s["weight"] * s["single_name_cap"] for s in sleeves)
               / sum(s["weight"] for s in sleeves)) if sleeves else p["single_name_cap"]
        d = run(profile, rows, equity=equity, holdings=held, qqq_gap=gap)
        again = run(profile, rows, equity=equity, holdings=held, qqq_gap=gap)
        assert d.to_json() == again.to_json()
        weights = risk(d)
        live = {s: w for s, w in weights.items() if w > 0}
        assert len(live) <= max_names and all(w <= cap + 1e-12 for w in live.values())
        assert sum(weights.values()) + boxx(d) == pytest.approx(1.0, abs=1e-9)
        assert all(s in held for s, w in weights.items() if w == 0)
        assert len(live) == d.diagnostics.extras["selected_count"]


# ------------------------------------------------------------------------------------------
# builder (features.md §4.3)
# ------------------------------------------------------------------------------------------
B_DAY = dt.date(2024, 12, 31)
B_RUN = dt.date(2025, 1, 2)
# symbol: (rows, daily drift, seed, first close, shares per day)
PRICE_SPEC = {
    "QQQ": (400, 0.0010, 1, 300.0, 5e7), "SPY": (400, 0.0005, 2, 400.0, 5e7),
    "BOXX": (300, 0.0002, 3, 100.0, 1e5),
    "NVDA": (400, 0.0030, 10, 50.0, 5e6), "MSFT": (400, 0.0010, 11, 300.0, 2e6),
    "AAPL": (400, 0.0015, 12, 150.0, 3e6),
    "AMZN": (274, 0.0020, 13, 100.0, 3e6),  # 274 rows: the effective minimum (mom_12_1)
    "SHRT": (273, 0.0020, 14, 100.0, 3e6),  # history 273 >= 273 but mom_12_1 is NaN
    "CHEAP": (400, 0.0010, 15, 20.0, 9e7),  # last close exactly 10.0: not > 10
    "THIN": (400, 0.0010, 16, 100.0, 1e5),  # adv about 1e7 < 2e7
    "GAPV": (400, 0.0010, 17, 100.0, 3e6),  # volume NaN 5 rows back -> adv NaN
    "OLDV": (400, 0.0010, 18, 100.0, 3e6),  # volume NaN 25 rows back -> outside the window
}
ELIGIBLE = {"NVDA", "MSFT", "AAPL", "AMZN", "OLDV"}


def make_prices(spec=PRICE_SPEC, end=B_DAY, extra_days: int = 0) -> pd.DataFrame:
    frames = []
    for sym, (n, drift, seed, first, shares) in spec.items():
        days = calendar.sessions(calendar.session_offset(end, -(n - 1)), end)
        days += calendar.next_sessions(end, extra_days)
        rng = np.random.default_rng(seed)
        ret = drift + 0.02 * rng.standard_normal(len(days))
        ret[0] = 0.0
        close = first * np.cumprod(1.0 + ret)
        volume = np.full(len(days), shares)
        if sym == "CHEAP":
            close = close * (10.0 / close[n - 1])
            close[n - 1] = 10.0
        if sym == "GAPV":
            volume[n - 5] = NAN
        if sym == "OLDV":
            volume[n - 25] = NAN
        if extra_days:  # wild future rows: must not change anything at `end`
            close[n:] = close[n:] * 7.0
            volume[n:] = NAN
        frames.append(pd.DataFrame({"date": pd.to_datetime(days), "symbol": sym,
                                    "close": close, "volume": volume}))
    return normalize_prices(pd.concat(frames, ignore_index=True))


def universe_table(symbols=None) -> pd.DataFrame:
    names = [s for s in PRICE_SPEC if s not in ("QQQ", "SPY", "BOXX")] + ["NOPX"]
    names = symbols or names
    return pd.DataFrame({"symbol": names, "sector": "Information Technology",
                         "weight": np.linspace(9.0, 1.0, len(names))})


def slow_features(c: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """features.md §3 for one symbol, straight from the definitions (L = last row)."""
    L = len(c) - 1

    def need(rows, value):
        return value() if L + 1 >= rows else NAN

    def maxdd():
        w = c[L - 125:L + 1]
        return min(w[j] / max(w[:j + 1]) - 1 for j in range(126))

    ret = c[1:] / c[:-1] - 1
    return {
        "close": c[L], "volume": v[L], "history_days": L + 1,
        "adv20_usd": need(20, lambda: float(np.mean(c[L - 19:L + 1] * v[L - 19:L + 1]))),
        "mom_3m": need(64, lambda: c[L] / c[L - 63] - 1),
        "mom_6m": need(127, lambda: c[L] / c[L - 126] - 1),
        "mom_12_1": need(274, lambda: c[L - 21] / c[L - 273] - 1),
        "sma200_gap": need(200, lambda: c[L] / np.mean(c[L - 199:L + 1]) - 1),
        "high_252_gap": need(252, lambda: c[L] / max(c[L - 251:L + 1]) - 1),
        "vol_63": need(64, lambda: float(np.std(ret[-63:], ddof=0)) * math.sqrt(252)),
        "maxdd_126": need(126, maxdd),
    }


def params(profile=TOP20, **overrides):
    from us_equity_strategies.params import resolve_parameters

    loaded = registry.load(profile)
    return resolve_parameters(loaded.parameters_model, loaded.manifest.parameters, overrides,
                              profile)


def test_builder_columns_values_and_eligibility():
    prices = make_prices()
    table = builder.build(prices, B_DAY, params(), universe=universe_table())
    assert list(table.columns) == list(builder.COLUMNS)
    assert table["symbol"].tolist() == sorted([*PRICE_SPEC, "NOPX"])
    assert (table["as_of"] == "2024-12-31").all()
    by = table.set_index("symbol")
    assert {s for s in by.index if by.at[s, "eligible"]} == ELIGIBLE
    assert by.loc[["QQQ", "SPY", "BOXX"], "sector"].tolist() == ["benchmark", "benchmark",
                                                                 "cash"]
    for sym in PRICE_SPEC:
        one = prices[prices["symbol"] == sym]
        want = slow_features(one["close"].to_numpy(), one["volume"].to_numpy())
        for col, value in want.items():
            got = by.at[sym, col]
            assert (math.isnan(got) and math.isnan(value)) or got == pytest.approx(
                value, rel=1e-12, abs=1e-15), (sym, col)
    q6, s6 = by.at["QQQ", "mom_6m"], by.at["SPY", "mom_6m"]
    for sym in PRICE_SPEC:
        assert by.at[sym, "rel_mom_6m_vs_benchmark"] == by.at[sym, "mom_6m"] - q6
        assert by.at[sym, "rel_mom_6m_vs_broad_benchmark"] == by.at[sym, "mom_6m"] - s6
    assert by.at["QQQ", "rel_mom_6m_vs_benchmark"] == 0.0
    assert by.at["SPY", "rel_mom_6m_vs_broad_benchmark"] == 0.0
    assert (by.at["SHRT", "history_days"], by.at["AMZN", "history_days"]) == (273, 274)
    assert math.isnan(by.at["SHRT", "mom_12_1"]) and by.at["CHEAP", "close"] == 10.0
    assert math.isnan(by.at["GAPV", "adv20_usd"]) and by.at["THIN", "adv20_usd"] < 2e7
    nopx = by.loc["NOPX"]
    assert nopx["history_days"] == 0 and not nopx["eligible"]
    assert nopx[list(builder.FEATURES)].isna().all() and nopx["sector"] == (
        "Information Technology")


def slow_ranking(rows: pd.DataFrame, held=()) -> list[str]:
    """profiles.md §2.4 ranking with statistics.pstdev and plain loops."""
    import statistics

    cand = rows[rows["eligible"] & (rows["adv20_usd"] >= 2e7)]
    cand = cand[cand[list(engine.CANDIDATE_COLUMNS)].notna().all(axis=1)]
    recs = cand.to_dict("records")
    scores = dict.fromkeys((r["symbol"] for r in recs), 0.0)
    for col, w in engine.SCORE_WEIGHTS.items():
        vals = [abs(r[col]) if col == "maxdd_126" else r[col] for r in recs]
        mu, sd = statistics.fmean(vals), statistics.pstdev(vals)
        for r, x in zip(recs, vals, strict=True):
            scores[r["symbol"]] += w * ((x - mu) / sd if sd > 0 else 0.0)
    for s in held:
        scores[s] += 0.10
    return sorted(scores, key=lambda s: -scores[s])


def test_build_snapshot_then_evaluate_matches_slow_ranking():
    prices, uni = make_prices(), universe_table()
    for profile in PROFILES:
        snap = build_snapshot(profile, prices, B_DAY, universe=uni)
        assert snap.builder_parameters == {
            "benchmark_symbol": "QQQ", "broad_benchmark_symbol": "SPY",
            "dynamic_universe_size": 20 if profile == TOP20 else 50,
            "min_adv20_usd": 20_000_000.0, "min_close": 10.0, "min_history_days": 273,
            "safe_haven": "BOXX", "universe_lag_sessions": 0}
        d = runner.evaluate(snap, EvaluationContext(as_of=B_RUN))
        order = slow_ranking(snap.frame)
        assert [t["symbol"] for t in d.diagnostics.extras["top"]] == order[:5]
        assert d.diagnostics.extras["candidate_count"] == len(ELIGIBLE)
        n = {TOP20: 4, AGGR: 3, BAL: 4}[profile]
        assert d.diagnostics.extras["selected_symbols"] == order[:n]


def test_builder_truncation_invariance():
    uni = universe_table()
    base = builder.build(make_prices(), B_DAY, params(), universe=uni)
    future = make_prices(extra_days=30)
    pd.testing.assert_frame_equal(builder.build(future, B_DAY, params(), universe=uni), base)
    pd.testing.assert_frame_equal(
        builder.build(truncate(future, B_DAY), B_DAY, params(), universe=uni), base)
    panel = builder.panel(future)
    pd.testing.assert_frame_equal(builder.build_from_panel(panel, B_DAY, params(), uni), base)
    snap = build_snapshot(TOP20, future, B_DAY, universe=uni)
    pd.testing.assert_frame_equal(snap.frame, base)


def test_builder_requires_both_benchmarks():
    prices = make_prices()
    for sym in ("QQQ", "SPY"):
        with pytest.raises(PriceHistoryError, match=f"benchmark {sym} has no rows"):
            builder.build(prices[prices["symbol"] != sym], B_DAY, params(),
                          universe=universe_table())
    table = builder.build(prices[prices["symbol"] != "BOXX"], B_DAY, params(),
                          universe=universe_table())
    assert table.set_index("symbol").at["BOXX", "history_days"] == 0


def test_builder_without_volume_column_makes_nothing_eligible():
    prices = make_prices().drop(columns="volume")
    table = builder.build(prices, B_DAY, params(), universe=universe_table())
    assert not table["eligible"].any() and table["adv20_usd"].isna().all()


FIXED_ONLY = {k: PRICE_SPEC[k] for k in ("QQQ", "SPY", "BOXX")}
SEC_53 = pd.DataFrame({  # features.md §5.3
    "symbol": ["NVDA", "MSFT", "AAPL", "GOOGL", "GOOG", "BRKB", "XYZ"],
    "sector": ["Information Technology"] * 3 + ["Communication"] * 2 + ["Financials", ""],
    "weight": [6.5, 6.1, 6.1, 2.0, 1.7, 1.7, NAN],
    "market_value": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0],
})


@pytest.mark.parametrize(("n", "expected"), [
    (4, ["NVDA", "AAPL", "MSFT", "GOOGL"]), (5, ["NVDA", "AAPL", "MSFT", "GOOGL", "BRKB"])])
def test_builder_weight_branch_features_5_3(n, expected):
    p = params(dynamic_universe_size=n)
    assert builder.select_universe(SEC_53, B_DAY, p)["symbol"].tolist() == expected
    table = builder.build(make_prices(FIXED_ONLY), B_DAY, p, universe=SEC_53)
    assert table["symbol"].tolist() == sorted([*expected, "QQQ", "SPY", "BOXX"])
    # selected names without prices keep their slot, ineligible
    assert not table[table["symbol"].isin(expected)]["eligible"].any()


def test_builder_mega_rank_branch_keeps_share_classes():
    uni = pd.DataFrame({"symbol": ["MSFT", "GOOG", "GOOGL", "XYZ"], "sector": "x",
                        "mega_rank": [3, 2, 1, NAN], "weight": [9.0, 1.0, 1.0, 99.0]})
    p = params(dynamic_universe_size=2)
    assert builder.select_universe(uni, B_DAY, p)["symbol"].tolist() == ["GOOGL", "GOOG"]


def test_builder_all_rows_branch_and_errors():
    uni = pd.DataFrame({"symbol": ["AAA", "BBB", "CCC"], "sector": "x"})
    assert builder.select_universe(uni, B_DAY, params(dynamic_universe_size=3))[
        "symbol"].tolist() == ["AAA", "BBB", "CCC"]
    with pytest.raises(UniverseError, match="exceed N=2"):
        builder.build(make_prices(FIXED_ONLY), B_DAY, params(dynamic_universe_size=2),
                      universe=uni)
    gone = uni.assign(end_date="2024-12-30")
    with pytest.raises(UniverseError, match="no active rows on 2024-12-31"):
        builder.build(make_prices(FIXED_ONLY), B_DAY, params(), universe=gone)


def test_builder_universe_lag_sessions():
    # OLD leaves on 2024-12-30 (inclusive end), NEW joins on 2024-12-31
    uni = pd.DataFrame({"symbol": ["OLD", "NEW"], "sector": "x",
                        "start_date": ["2020-01-01", "2024-12-31"],
                        "end_date": ["2024-12-30", ""]})
    now = builder.select_universe(uni, B_DAY, params())
    lagged = builder.select_universe(uni, B_DAY, params(universe_lag_sessions=1))
    assert (now["symbol"].tolist(), lagged["symbol"].tolist()) == (["NEW"], ["OLD"])


def test_universe_size_differs_per_profile():
    uni = pd.DataFrame({"symbol": [f"N{i:02d}" for i in range(60)], "sector": "x",
                        "weight": np.arange(60.0, 0.0, -1.0)})
    prices = make_prices(FIXED_ONLY)
    sizes = {p: len(build_snapshot(p, prices, B_DAY, universe=uni).frame) for p in PROFILES}
    assert sizes == {TOP20: 23, AGGR: 53, BAL: 53}


# ------------------------------------------------------------------------------------------
# reference-pipeline file (features.md §1.10 CSV, §6.2 sidecar)
# ------------------------------------------------------------------------------------------
REFERENCE_CSV = """\
as_of,symbol,sector,close,volume,adv20_usd,history_days,mom_3m,mom_6m,mom_12_1,sma200_gap,\
high_252_gap,vol_63,maxdd_126,eligible,rel_mom_6m_vs_benchmark,rel_mom_6m_vs_broad_benchmark
2026-03-31,AAPL,Information Technology,251.3,41234567.0,10364000000.12,1820,0.04,0.12,0.31,\
0.05,-0.08,0.27,-0.11,True,0.020000000000000004,0.06999999999999999
2026-03-31,AMZN,Consumer Discretionary,201.7,38123456.0,7700000000.5,1820,0.03,0.1,0.25,0.05,\
-0.08,0.27,-0.11,True,0.0,0.05
2026-03-31,BOXX,cash,112.51,1200000.0,135000000.0,800,0.012,0.024,0.047,0.01,0.0,0.004,\
-0.001,False,-0.07600000000000001,-0.026000000000000002
2026-03-31,GOOGL,Communication,170.2,30123456.0,5100000000.0,1820,0.02,0.3,0.2,0.05,-0.08,0.27,\
-0.11,,0.19999999999999998,0.25
2026-03-31,META,Communication,590.0,15000000.0,8800000000.0,1820,0.05,0.15,0.4,0.05,-0.08,\
0.27,-0.11,True,0.04999999999999999,0.09999999999999999
2026-03-31,MSFT,Information Technology,420.5,22000000.0,9200000000.0,1820,0.06,0.2,0.35,0.05,\
-0.08,0.27,-0.11,True,0.1,0.15000000000000002
2026-03-31,NVDA,Information Technology,120.25,250000000.0,30000000000.0,1820,0.09,0.35,1.2,\
0.05,-0.08,0.27,-0.11,True,0.24999999999999997,0.3
2026-03-31,QQQ,benchmark,480.1,45000000.0,21000000000.0,1820,0.03,0.1,0.22,0.03,-0.04,0.2,\
-0.09,False,0.0,0.05
2026-03-31,SPY,benchmark,560.3,60000000.0,33000000000.0,1820,0.02,0.05,0.18,0.02,-0.03,0.15,\
-0.07,False,-0.05,0.0
2026-03-31,XYZ,unknown,,,,0,,,,,,,,False,,
"""
CONFIG_SHA = {  # features.md §6.2 default config_sha256
    TOP20: "cda0a7765ca0bdf2a410bfe4d024c2b20e35b29caeffa434c8ee2cc31549c192",
    AGGR: "cdf112433796ea554a1dd731f23ebcb76f3148ef0796272e10ee8ef38d5ba129",
    BAL: "e24e951c358bc551dfcc1d06be6887efb46d4eec4004fb41ae467856c5adbbbf",
}
# Only mom_6m and mom_3m vary among candidates (co-monotone), so the ranking is by mom_6m:
# NVDA .35, MSFT .20, META .15, AAPL .12, AMZN .10 (GOOGL has a blank eligible -> excluded).
REFERENCE_WEIGHTS = {
    TOP20: {"NVDA": 0.25, "MSFT": 0.25, "META": 0.25, "AAPL": 0.25},
    AGGR: {"NVDA": 1 / 3, "MSFT": 1 / 3, "META": 1 / 3},
    BAL: {"NVDA": 0.375, "MSFT": 0.375, "META": 0.125, "AAPL": 0.125},
}


@pytest.mark.parametrize("profile", PROFILES)
def test_reference_pipeline_file_loads_and_evaluates(tmp_path, profile):
    contract = f"{profile}.feature_snapshot.v1"
    assert default_config_sha256(profile, contract) == CONFIG_SHA[profile]
    path = tmp_path / f"{profile}_feature_snapshot_latest.csv"
    data = REFERENCE_CSV.encode()
    path.write_bytes(data)
    sidecar = {
        "config_name": profile, "config_path": "strategy_manifest_default",
        "config_sha256": CONFIG_SHA[profile], "contract_version": contract,
        "generated_at": "2026-04-01T00:46:03.123456+00:00", "manifest_type": "feature_snapshot",
        "row_count": 10, "snapshot_as_of": "2026-03-31",
        "snapshot_path": f"data/output/{profile}/{path.name}",
        "snapshot_sha256": hashlib.sha256(data).hexdigest(),
        "source_project": "UsEquitySnapshotPipelines", "strategy_profile": profile,
    }
    Path(f"{path}.manifest.json").write_text(json.dumps(sidecar, indent=2, sort_keys=True))
    snap = read_snapshot(path, require_sidecar=True)
    assert (snap.profile, snap.as_of) == (profile, SNAP_DAY)
    d = runner.evaluate(snap, EvaluationContext(as_of=RUN_DAY, holdings=("XYZ",)))
    assert risk(d) == {**REFERENCE_WEIGHTS[profile], "XYZ": 0.0} and boxx(d) == 0.0
    assert d.diagnostics.extras["candidate_count"] == 5
    assert d.diagnostics.benchmark_price == 480.1


# ------------------------------------------------------------------------------------------
# real data (../shared/data): every month-end 2018-2024, all three profiles
# ------------------------------------------------------------------------------------------
# There is no historical index-weight file, so the evidence harness approximates the
# point-in-time mega-cap ranking: Nasdaq-100 members on each month-end (FB -> META, the
# ticker prices are keyed by), weighted by their trailing 63-session mean dollar volume from
# data <= as_of. This is a test choice, not a builder default: the builder ranks by whatever
# weight the universe table carries. Volume: daily/ohlcv.parquet (stocks until 2024-03-08),
# rescaled to adjusted-close share units (volume x ohlcv close / adj_close, so close x volume
# is the traded dollar volume whatever the later splits); after a symbol's last volume row
# the mean of its last 20 rescaled volumes is carried forward (README: "a relaxed gate or the
# last known ADV carried forward"). Names whose prices are missing (delisted: ATVI, XLNX, ...)
# get no weight and are never selected.
MONTH_ENDS = [calendar.last_session_of_month(y, m) for y in range(2018, 2025)
              for m in range(1, 13)]
DOC_DATES = (dt.date(2018, 12, 31), dt.date(2020, 12, 31), dt.date(2022, 12, 30),
             dt.date(2024, 12, 31))


def load_real_inputs() -> tuple[pd.DataFrame, pd.DataFrame, dict[dt.date, pd.DataFrame]]:
    """(prices, feature panel, {month-end: universe rows}) from ../shared/data."""
    from us_equity_strategies import universe as uni_mod

    members = uni_mod.load_membership(DATA / "universe" / "nasdaq100_membership.csv")
    members["symbol"] = members["symbol"].replace({"FB": "META"})
    members = uni_mod.attach_sectors(members,
                                     uni_mod.load_sectors(DATA / "universe" / "sectors.csv"))
    stocks = sorted(set(members["symbol"]))
    start, end = pd.Timestamp("2016-01-01"), pd.Timestamp("2024-12-31")
    px = pd.read_parquet(DATA / "daily" / "adj_close.parquet", filters=[
        ("symbol", "in", [*stocks, "QQQ", "SPY", "BOXX"]), ("date", ">=", start),
        ("date", "<=", end)])
    ov = pd.read_parquet(DATA / "daily" / "ohlcv.parquet",
                         columns=["date", "symbol", "close", "volume"],
                         filters=[("symbol", "in", stocks), ("date", ">=", start)])
    ov = ov.rename(columns={"close": "raw_close"})
    px = px.astype({"symbol": object}).merge(ov.astype({"symbol": object}),
                                             on=["date", "symbol"], how="left")
    px = px.sort_values(["symbol", "date"], kind="mergesort").reset_index(drop=True)
    px["close"] = px["close"].astype(np.float64)
    vol = pd.Series(volume_on_close_basis(px["close"], px["volume"], px["raw_close"]),
                    index=px.index)
    known = vol.notna()
    last20 = vol.where(known).groupby(px["symbol"]).transform(
        lambda v: v.dropna().tail(20).mean() if v.notna().any() else np.nan)
    after = known.groupby(px["symbol"]).transform(lambda k: k[::-1].cumsum()[::-1] == 0)
    px["volume"] = vol.where(~after, last20)
    prices = normalize_prices(px[["date", "symbol", "close", "volume"]])
    panel = builder.panel(prices)
    dollar = (prices["close"] * prices["volume"]).groupby(prices["symbol"]).transform(
        lambda s: s.rolling(63).mean())
    proxy = pd.DataFrame({"date": prices["date"], "symbol": prices["symbol"], "w": dollar})
    wide = proxy.pivot(index="date", columns="symbol", values="w").ffill()
    universes = {}
    for day in MONTH_ENDS:
        active = uni_mod.active_at(members, day)[["symbol", "sector"]]
        weights = wide.loc[pd.Timestamp(day)].reindex(active["symbol"]).to_numpy()
        universes[day] = active.assign(start_date=day.isoformat(), end_date=day.isoformat(),
                                       weight=weights)
    return prices, panel, universes


@pytest.fixture(scope="module")
def real():
    if not DATA.exists():
        pytest.skip(f"real market data not found at {DATA}")
    started = time.perf_counter()
    inputs = load_real_inputs()
    return (*inputs, time.perf_counter() - started)


def run_real(profile: str, panel: pd.DataFrame, universes) -> dict[dt.date, object]:
    """Build + evaluate at every month-end, carrying the selected names as holdings."""
    p = params(profile)
    decisions, held = {}, ()
    for day in MONTH_ENDS:
        table = builder.build_from_panel(panel, day, p, universes[day])
        snap = Snapshot.from_frame(table, profile=profile, as_of=day,
                                   contract_version=f"{profile}.feature_snapshot.v1")
        ctx = EvaluationContext(as_of=calendar.next_session(day), holdings=held)
        decisions[day] = d = runner.evaluate(snap, ctx)
        held = tuple(s for s, w in risk(d).items() if w > 0)
    return decisions


@pytest.mark.parametrize("profile", PROFILES)
def test_real_data_every_month_end(real, profile):
    prices, panel, universes, _ = real
    decisions = run_real(profile, panel, universes)
    size = registry.get_manifest(profile).parameters["dynamic_universe_size"]
    n = {TOP20: 4, AGGR: 3, BAL: 4}[profile]
    for day, d in decisions.items():
        assert d.actionable and d.diagnostics.signal == "rebalance", day
        x = d.diagnostics.extras
        assert 0 < x["candidate_count"] <= size and x["selected_count"] == n
        assert sum(d.targets().values()) == pytest.approx(1.0, abs=1e-9)
    # the official path (build_snapshot on the truncated price table) gives the same snapshot
    for day in (MONTH_ENDS[0], DOC_DATES[-1]):
        snap = build_snapshot(profile, prices, day, universe=universes[day])
        expected = builder.build_from_panel(panel, day, params(profile), universes[day])
        pd.testing.assert_frame_equal(snap.frame, expected)


# ------------------------------------------------------------------------------------------
# rendering (render.py phrases of this family's codes)
# ------------------------------------------------------------------------------------------
def test_render_reference_signal_and_status():
    from us_equity_strategies import render

    d = run(TOP20, three(), qqq_gap=-0.01)
    # soft: exposure 0.5, 3 names x min(0.25, 0.5 / 3) -> 50% realized;
    # scores 0.35 S = 0.43, 0.225 S = 0.28, -0.575 S = -0.70
    assert render.signal_text(d) == (
        "regime=soft_defense breadth=100.0% benchmark_trend=down target_stock=50.0% "
        "realized_stock=50.0% selected=3 top=AAA(0.43), BBB(0.28), CCC(-0.70)")
    assert render.status_text(d, "zh-CN") == (
        "breadth=100.0% | target_stock=50.0% | realized_stock=50.0% | regime=soft_defense | "
        "snapshot_as_of=2026-03-31")
    idle = run(TOP20, [stock("NOTE", eligible=False)])
    assert render.signal_text(idle).endswith("selected=0 top=- | no stock selected, all to BOXX")
    wait = run(BAL, ladder(4), run_day=dt.date(2026, 4, 7))
    assert render.signal_text(wait, "zh-CN") == "月度快照节奏 | 等待执行窗口"
    assert render.status_text(wait).startswith(
        "window=2026-04-01,2026-04-02,2026-04-06 | regime=n/a | no-op | "
        "reason=outside_monthly_execution_window")
