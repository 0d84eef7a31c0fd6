"""russell_1000_multi_factor_defensive: spec/profiles.md §2.2 rules and the §4.1 builder.

Every expectation is worked out by hand from the spec (arithmetic in the comments) or checked
against a slow pandas re-implementation; all profile tests go through ``runner.evaluate``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from us_equity_strategies import calendar, registry, runner, selection
from us_equity_strategies import universe as universe_mod
from us_equity_strategies.builders import build_snapshot
from us_equity_strategies.builders import russell_1000_multi_factor_defensive as builder
from us_equity_strategies.contract import EvaluationContext, RiskFlag, Role
from us_equity_strategies.errors import (
    ParameterError,
    PriceHistoryError,
    SnapshotError,
    UniverseError,
)
from us_equity_strategies.params import resolve_parameters
from us_equity_strategies.prices import normalize_prices, volume_on_close_basis
from us_equity_strategies.snapshot import Snapshot, read_snapshot
from us_equity_strategies.snapshot._model import default_config_sha256

PROFILE = "russell_1000_multi_factor_defensive"
CONTRACT = f"{PROFILE}.feature_snapshot.v1"
AS_OF = dt.date(2024, 1, 31)
NAN = math.nan
FACTORS = ("mom_6_1", "mom_12_1", "sma200_gap", "vol_63", "maxdd_126")
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def row(symbol, sector="Tech", m6=0.1, m12=0.2, gap=0.05, vol=0.2, dd=-0.1, eligible=True,
        close=50.0):
    return {"as_of": AS_OF.isoformat(), "symbol": symbol, "sector": sector, "close": close,
            "volume": 1e6, "adv20_usd": 5e7, "history_days": 300, "mom_6_1": m6,
            "mom_12_1": m12, "sma200_gap": gap, "vol_63": vol, "maxdd_126": dd,
            "eligible": eligible}


def make_snapshot(rows, spy_gap=0.05, *, spy=True, as_of=AS_OF, built=None) -> Snapshot:
    rows = list(rows)
    if spy:
        rows.append(row("SPY", "benchmark", gap=spy_gap, eligible=False, close=480.0))
    frame = pd.DataFrame(rows, columns=list(builder.COLUMNS))
    frame = frame.sort_values("symbol", kind="mergesort").reset_index(drop=True)
    return Snapshot.from_frame(frame, profile=PROFILE, as_of=as_of, contract_version=CONTRACT,
                               builder_parameters=built or {})


def run(snapshot, holdings=(), as_of=AS_OF, profile=None, **overrides):
    context = EvaluationContext(as_of=as_of, holdings=tuple(holdings))
    return runner.evaluate(snapshot, context, profile, overrides=overrides)


def weights(decision) -> dict[str, float]:
    return decision.targets()


def singles(spec):
    """One name per sector (every z-score 0): ``spec`` = [(symbol, mom_12_1, mom_6_1), ...]."""
    return [row(s, f"S_{s}", m12=m12, m6=m6) for s, m12, m6 in spec]


def breadth_universe(n_positive, n=20):
    """20 single-sector names, mom_12_1 decreasing with the index; first k have gap > 0."""
    return [row(f"N{i:02d}", f"S{i:02d}", m12=0.01 * (n - i),
                gap=0.05 if i < n_positive else -0.05) for i in range(n)]


# ------------------------------------------------------------------------------------------
# regimes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spy_gap", "k", "regime", "exposure", "flags"),
    [
        (0.02, 11, "risk_on", 1.0, ()),                   # breadth 11/20 = 0.55, not < 0.55
        (0.02, 20, "risk_on", 1.0, ()),
        (0.02, 10, "soft_defense", 0.5, (RiskFlag.SOFT_DEFENSE,)),  # breadth 0.50 < 0.55
        (-0.01, 20, "soft_defense", 0.5, (RiskFlag.SOFT_DEFENSE,)),  # trend down only
        (0.0, 20, "soft_defense", 0.5, (RiskFlag.SOFT_DEFENSE,)),    # gap 0 is not > 0
        (NAN, 20, "soft_defense", 0.5, (RiskFlag.SOFT_DEFENSE,)),    # NaN gap -> down
        (-0.01, 7, "soft_defense", 0.5, (RiskFlag.SOFT_DEFENSE,)),   # 7/20 = 0.35, not < 0.35
        (-0.01, 6, "hard_defense", 0.1, (RiskFlag.HARD_DEFENSE,)),   # 0.30 < 0.35, trend down
        (0.01, 0, "soft_defense", 0.5, (RiskFlag.SOFT_DEFENSE,)),    # breadth 0 but trend up
    ],
)
def test_regimes(spy_gap, k, regime, exposure, flags):
    decision = run(make_snapshot(breadth_universe(k), spy_gap))
    d, x = decision.diagnostics, decision.diagnostics.extras
    assert d.regime == regime and decision.risk_flags == flags
    assert x["breadth_ratio"] == k / 20
    assert x["benchmark_trend_positive"] is (spy_gap > 0)
    assert x["target_stock_weight"] == exposure == x["stock_exposure"]
    # 20 single-sector names <= 24 slots: all selected; per name min(0.06, E/20) = E/20
    w = weights(decision)
    assert x["selected_count"] == 20
    for i in range(20):
        assert w[f"N{i:02d}"] == pytest.approx(exposure / 20, rel=1e-12)
    assert w["BOXX"] == pytest.approx(1.0 - exposure, abs=1e-12)
    assert x["realized_stock_weight"] == pytest.approx(exposure, rel=1e-12)
    # slot caps: 0.2 / (1/24) = 4.8 -> 4; 0.2 / (0.5/24) = 9.6 -> 9; 0.2 / (0.1/24) = 48
    assert x["sector_slot_cap"] == {1.0: 4, 0.5: 9, 0.1: 48}[exposure]


def test_risk_on_fully_invested_has_explicit_zero_safe_haven():
    decision = run(make_snapshot(breadth_universe(20, n=24)))
    w = weights(decision)
    # 24 names at min(0.06, 1/24) = 1/24: invested 1.0, BOXX listed with 0.0
    assert w["BOXX"] == 0.0 and len(w) == 25
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-12)
    roles = {p.symbol: p.role for p in decision.positions}
    assert roles["BOXX"] is Role.SAFE_HAVEN and roles["N00"] is Role.RISK


def test_spec_cap_binding_example():
    # profiles.md §2.2 edge case: 6 eligible names -> 6 x 0.06 = 0.36 invested, BOXX 0.64
    decision = run(make_snapshot(breadth_universe(6, n=6), 0.05))
    assert decision.diagnostics.regime == "risk_on"  # breadth 6/6 = 1.0
    w = weights(decision)
    assert {s: w[s] for s in w if s != "BOXX"} == {f"N{i:02d}": 0.06 for i in range(6)}
    assert w["BOXX"] == pytest.approx(0.64, abs=1e-12)
    x = decision.diagnostics.extras
    assert x["per_name_weight"] == 0.06 and x["realized_stock_weight"] == pytest.approx(0.36)


def test_diagnostics_fields():
    decision = run(make_snapshot(breadth_universe(6, n=6), 0.05))
    d = decision.diagnostics
    assert d.signal == "rebalance"
    assert (d.benchmark_symbol, d.benchmark_price, d.safe_haven_symbol) == ("SPY", 480.0, "BOXX")
    assert d.snapshot_as_of == AS_OF
    x = d.extras
    assert set(x) == {
        "benchmark_trend_positive", "benchmark_sma200_gap", "breadth_ratio",
        "soft_breadth_threshold", "hard_breadth_threshold", "target_stock_weight",
        "stock_exposure", "realized_stock_weight", "safe_haven_weight", "candidate_count",
        "universe_count", "requested_holdings_count", "selected_count", "selected_symbols",
        "unmanaged_holdings", "sector_slot_cap", "per_name_weight", "selected_sectors", "top"}
    assert x["benchmark_sma200_gap"] == 0.05
    assert (x["candidate_count"], x["universe_count"], x["requested_holdings_count"]) == (6, 6, 24)
    # single-member sectors: every score 0, order by mom_12_1 (N00 highest)
    assert x["selected_symbols"] == [f"N{i:02d}" for i in range(6)]
    assert x["top"] == [{"symbol": f"N{i:02d}", "score": 0.0} for i in range(5)]
    assert x["selected_sectors"] == {f"S{i:02d}": 1 for i in range(6)}


def test_alias_resolves():
    decision = run(make_snapshot(breadth_universe(6, n=6)), profile="r1000_multifactor_defensive")
    assert decision.profile == PROFILE


# ------------------------------------------------------------------------------------------
# scores, ranking and selection
# ------------------------------------------------------------------------------------------
def test_two_member_sector_scores_by_hand():
    # two members: every z is +1 / -1. A is better on all five (higher mom/gap, lower vol,
    # smaller |maxdd|): 0.35 + 0.30 + 0.15 + 0.10 + 0.10 = 1.00; B = -1.00
    rows = [row("A", "X", m6=0.3, m12=0.4, gap=0.08, vol=0.1, dd=-0.05),
            row("B", "X", m6=0.1, m12=0.2, gap=0.02, vol=0.3, dd=-0.20)]
    x = run(make_snapshot(rows)).diagnostics.extras
    assert [t["symbol"] for t in x["top"]] == ["A", "B"]
    assert x["top"][0]["score"] == pytest.approx(1.0, abs=1e-12)
    assert x["top"][1]["score"] == pytest.approx(-1.0, abs=1e-12)


def test_mixed_signs_and_abs_maxdd():
    # A: higher mom_6_1 (+0.35), lower mom_12_1 (-0.30), higher gap (+0.15), higher vol
    # (-0.10 * +1), deeper drawdown |-0.3| > |-0.1| (-0.10 * +1): 0.35-0.30+0.15-0.10-0.10 = 0
    # B mirrors it: 0 as well -> tie on score; mom_12_1 decides: B (0.4) before A (0.2)
    rows = [row("A", "X", m6=0.3, m12=0.2, gap=0.08, vol=0.4, dd=-0.3),
            row("B", "X", m6=0.1, m12=0.4, gap=0.02, vol=0.2, dd=-0.1)]
    x = run(make_snapshot(rows)).diagnostics.extras
    assert [t["symbol"] for t in x["top"]] == ["B", "A"]
    assert x["top"][0]["score"] == pytest.approx(0.0, abs=1e-12)


def test_three_member_sector_scores_by_hand():
    # values 1,2,3 pattern: z = -sqrt(1.5), 0, +sqrt(1.5) on every factor in the good direction;
    # the weights' magnitudes sum to 1.0, so scores are +-1.224744871391589 and 0
    rows = [row("LO", "X", m6=0.1, m12=0.1, gap=0.01, vol=0.3, dd=-0.3),
            row("MID", "X", m6=0.2, m12=0.2, gap=0.02, vol=0.2, dd=-0.2),
            row("HI", "X", m6=0.3, m12=0.3, gap=0.03, vol=0.1, dd=-0.1)]
    x = run(make_snapshot(rows)).diagnostics.extras
    got = {t["symbol"]: t["score"] for t in x["top"]}
    assert got == pytest.approx({"HI": math.sqrt(1.5), "MID": 0.0, "LO": -math.sqrt(1.5)},
                                abs=1e-12)
    assert x["selected_symbols"] == ["HI", "MID", "LO"]


def test_single_member_sector_scores_zero():
    # a lone sector member has z = 0 on every factor whatever its values
    rows = [row("LONE", "Solo", m6=5.0, m12=-3.0, gap=9.0, vol=0.01, dd=-0.9)]
    x = run(make_snapshot(rows)).diagnostics.extras
    assert x["top"] == [{"symbol": "LONE", "score": 0.0}]


def test_zero_dispersion_sector_scores_exactly_zero():
    # identical values: std in floating point is 1.4e-17, not 0, but the spec says
    # "zero dispersion gives 0"; ties then fall to mom_12_1 (equal), mom_6_1 (equal), symbol
    rows = [row(s, "Flat", m6=0.1, m12=0.1, gap=0.1, vol=0.1, dd=-0.1) for s in ("C", "A", "B")]
    x = run(make_snapshot(rows)).diagnostics.extras
    assert x["top"] == [{"symbol": s, "score": 0.0} for s in ("A", "B", "C")]


def test_tie_breaks_mom_12_1_then_mom_6_1_then_symbol():
    # all scores 0 (single-member sectors). B has the best mom_12_1; C and D tie on mom_12_1
    # and mom_6_1 -> symbol; A ties them on mom_12_1 but has the lower mom_6_1; E last
    rows = singles([("A", 0.2, 0.1), ("B", 0.3, 0.0), ("D", 0.2, 0.3), ("C", 0.2, 0.3),
                    ("E", 0.1, 0.9)])
    x = run(make_snapshot(rows), holdings_count=3).diagnostics.extras
    assert x["selected_symbols"] == ["B", "C", "D"]
    x = run(make_snapshot(rows)).diagnostics.extras
    assert x["selected_symbols"] == ["B", "C", "D", "A", "E"]


def test_hold_bonus_flips_selection_and_liquidates_explicitly():
    rows = singles([("A", 0.3, 0.1), ("B", 0.2, 0.1), ("C", 0.1, 0.1)])
    # one slot: per_name_target 1/1, slot cap max(1, floor(0.2)) = 1, weight min(0.06, 1)
    assert weights(run(make_snapshot(rows), holdings_count=1)) == {"A": 0.06, "BOXX": 0.94}
    # B held: 0 + 0.15 > A's 0 -> B; C held but not selected -> explicit 0.0; ZZZ is not in
    # the snapshot and SPY is the benchmark: neither is managed, so no position
    decision = run(make_snapshot(rows), holdings=("B", "C", "ZZZ", "SPY", "BOXX"),
                   holdings_count=1)
    assert weights(decision) == {"B": 0.06, "BOXX": 0.94, "C": 0.0}
    x = decision.diagnostics.extras
    assert x["top"] == [{"symbol": "B", "score": 0.15}]
    assert x["unmanaged_holdings"] == ["SPY", "ZZZ"]


def test_hold_bonus_too_small_to_flip():
    # two-member sector: A scores +1.00, B -1.00; held B: -1.00 + 0.15 = -0.85 < 1.00
    rows = [row("A", "X", m6=0.3, m12=0.4, gap=0.08, vol=0.1, dd=-0.05),
            row("B", "X", m6=0.1, m12=0.2, gap=0.02, vol=0.3, dd=-0.20)]
    decision = run(make_snapshot(rows), holdings=("B",), holdings_count=1)
    assert weights(decision) == {"A": 0.06, "B": 0.0, "BOXX": 0.94}
    assert decision.diagnostics.extras["top"][0]["score"] == pytest.approx(1.0, abs=1e-12)
    # with a bonus of 2.5, B wins: -1.00 + 2.5 = 1.5 > 1.0
    decision = run(make_snapshot(rows), holdings=("B",), holdings_count=1, hold_bonus=2.5)
    assert weights(decision) == {"B": 0.06, "BOXX": 0.94}


def test_sector_slot_cap_binds():
    # Tech: six identical names (z 0) with the best mom_12_1; four other single-name sectors.
    # Ranking: T1..T6 (symbol order), then O1..O4. Risk-on slot cap 4 -> T5, T6 skipped.
    tech = [row(f"T{i}", "Tech", m12=0.5) for i in range(1, 7)]
    others = [row(f"O{i}", f"Other{i}", m12=0.1 - 0.01 * i) for i in range(1, 5)]
    decision = run(make_snapshot(tech + others))
    x = decision.diagnostics.extras
    assert x["sector_slot_cap"] == 4
    assert x["selected_symbols"] == ["T1", "T2", "T3", "T4", "O1", "O2", "O3", "O4"]
    assert x["selected_sectors"] == {"Tech": 4, "Other1": 1, "Other2": 1, "Other3": 1,
                                     "Other4": 1}
    # 8 names x min(0.06, 1/8) = 0.48 invested, BOXX 0.52
    assert weights(decision)["BOXX"] == pytest.approx(0.52, abs=1e-12)
    # soft regime (SPY down): slot cap 9 -> all six Tech names fit
    x = run(make_snapshot(tech + others, spy_gap=-0.01)).diagnostics.extras
    assert x["sector_slot_cap"] == 9 and x["selected_count"] == 10
    # sector_cap 0.25 with 4 names: 0.25 / (1/4) = 1.0 exactly -> 1 slot per sector
    x = run(make_snapshot(tech + others), holdings_count=4, sector_cap=0.25).diagnostics.extras
    assert x["sector_slot_cap"] == 1
    assert x["selected_symbols"] == ["T1", "O1", "O2", "O3"]


def test_blank_sectors_form_one_unknown_group():
    # U1 and U2 have no sector: they are z-scored together (+1 / -1), not as singles
    rows = [row("U1", None, m6=0.3, m12=0.4, gap=0.08, vol=0.1, dd=-0.05),
            row("U2", "", m6=0.1, m12=0.2, gap=0.02, vol=0.3, dd=-0.20)]
    x = run(make_snapshot(rows)).diagnostics.extras
    assert x["selected_sectors"] == {"unknown": 2}
    assert x["top"][0] == {"symbol": "U1", "score": pytest.approx(1.0, abs=1e-12)}


# ------------------------------------------------------------------------------------------
# safe-haven-only paths, exclusions and bad input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("spy_gap", "regime"), [(0.05, "soft_defense"), (-0.05, "hard_defense")])
def test_nothing_eligible_all_in_safe_haven(spy_gap, regime):
    rows = [row("A", eligible=False), row("B", m6=NAN)]
    decision = run(make_snapshot(rows, spy_gap), holdings=("A",))
    # breadth 0.0 (no candidates): trend up -> soft, trend down -> hard
    assert weights(decision) == {"A": 0.0, "BOXX": 1.0}
    d = decision.diagnostics
    assert (d.signal, d.regime) == ("safe_haven_only", regime)
    x = d.extras
    assert x["safe_haven_reason"] == "no_candidate"
    assert (x["stock_exposure"], x["safe_haven_weight"], x["candidate_count"]) == (0.0, 1.0, 0)
    assert "sector_slot_cap" not in x and x["selected_symbols"] == []


def test_zero_exposure_is_honoured():
    # fix 3: an explicit 0 stays 0; hard regime with exposure 0 -> all BOXX
    decision = run(make_snapshot(breadth_universe(0), -0.05), hard_defense_exposure=0)
    assert weights(decision) == {"BOXX": 1.0}
    assert decision.diagnostics.extras["safe_haven_reason"] == "zero_exposure"
    assert decision.risk_flags == (RiskFlag.HARD_DEFENSE,)


def test_nan_and_false_eligible_are_excluded():
    # X would rank first (mom_12_1 0.9) but its eligible is NaN (fix 5: not eligible) /
    # "no" (boolean coercion); "yes" counts as True
    for flag, included in ((None, False), (NAN, False), ("no", False), (False, False),
                           ("yes", True), (1, True)):
        rows = [row("X", "S1", m12=0.9, eligible=flag), row("Y", "S2", m12=0.1)]
        x = run(make_snapshot(rows)).diagnostics.extras
        assert ("X" in x["selected_symbols"]) is included, flag
        assert x["candidate_count"] == (2 if included else 1)


def test_nan_factor_on_eligible_row_is_excluded():
    for factor in FACTORS:
        rows = [row("X", "S1", m12=0.9), row("Y", "S2", m12=0.1)]
        rows[0][factor] = NAN
        x = run(make_snapshot(rows)).diagnostics.extras
        assert x["selected_symbols"] == ["Y"], factor


def test_safe_haven_and_benchmark_rows_never_selected():
    # both rows claim eligible with complete factors and the best mom_12_1
    rows = [row("BOXX", "Cash", m12=0.9), row("SPY", "benchmark", m12=0.8), row("Y", "S2")]
    x = run(make_snapshot(rows, spy=False)).diagnostics.extras
    assert x["selected_symbols"] == ["Y"] and x["universe_count"] == 1


def test_missing_benchmark_row_is_invalid():
    with pytest.raises(SnapshotError, match="required row symbol='SPY' is missing"):
        run(make_snapshot([row("A")], spy=False))


def test_missing_columns_rejected():
    snap = make_snapshot([row("A")])
    frame = snap.frame.drop(columns=["vol_63", "eligible"])
    bad = Snapshot.from_frame(frame, profile=PROFILE, as_of=AS_OF, contract_version=CONTRACT)
    with pytest.raises(SnapshotError, match="missing required columns: vol_63, eligible"):
        run(bad)


def test_duplicate_symbols_rejected():
    with pytest.raises(SnapshotError, match=r"duplicate symbol values:? A"):
        run(make_snapshot([row("A"), row("A", "Other")]))


def test_non_numeric_factor_rejected():
    with pytest.raises(SnapshotError, match="column 'mom_6_1': not a number in rows 0 \\(A\\)"):
        run(make_snapshot([row("A", m6="abc")]))


def test_snapshot_age_limit_one_month():
    snap = make_snapshot(breadth_universe(20))
    assert run(snap, as_of=dt.date(2024, 2, 29)).actionable  # one calendar month later
    with pytest.raises(SnapshotError, match="2 calendar months older"):
        run(snap, as_of=dt.date(2024, 3, 1))


def test_snapshot_built_with_other_thresholds_is_refused():
    snap = make_snapshot([row("A")], built={"min_adv20_usd": 0.0})
    with pytest.raises(SnapshotError, match=r"min_adv20_usd=0\.0 but evaluation uses"):
        run(snap)
    assert run(snap, min_adv20_usd=0).actionable


@pytest.mark.parametrize("bad", [{"holdings_count": 0}, {"single_name_cap": 0},
                                 {"sector_cap": 0}, {"soft_defense_exposure": 1.5},
                                 {"safe_haven": "SPY"}, {"hold_bonuss": 0.1}])
def test_invalid_parameters(bad):
    with pytest.raises(ParameterError):
        run(make_snapshot([row("A")]), **bad)


def test_unreachable_no_selection_branch(monkeypatch):
    # step 10 cannot happen with valid parameters; force it to check its shape
    monkeypatch.setattr(selection, "select_sector_capped", lambda *a, **k: [])
    decision = run(make_snapshot([row("A")]), holdings=("A",))
    assert decision.diagnostics.signal == "no_selection"
    assert weights(decision) == {"A": 0.0, "BOXX": 1.0}


# ------------------------------------------------------------------------------------------
# property test against a slow pandas re-implementation
# ------------------------------------------------------------------------------------------
def slow_reference(rows, spy_gap, holdings, p):
    """profiles.md §2.2 steps 1-11 written out with pandas, row by row where possible."""
    df = pd.DataFrame(rows, columns=list(builder.COLUMNS))
    trend = bool(spy_gap > 0)
    uni = df[~df["symbol"].isin(["SPY", "BOXX"])]
    ok = uni["eligible"].map(lambda v: v is True) & uni[list(FACTORS)].notna().all(axis=1)
    cand = uni[ok].copy()
    breadth = float((cand["sma200_gap"] > 0).mean()) if len(cand) else 0.0
    if not trend and breadth < p["hard_breadth_threshold"]:
        regime, exposure = "hard_defense", p["hard_defense_exposure"]
    elif not trend or breadth < p["soft_breadth_threshold"]:
        regime, exposure = "soft_defense", p["soft_defense_exposure"]
    else:
        regime, exposure = "risk_on", 1.0
    if cand.empty or exposure <= 0:
        return regime, breadth, [], None, True
    cand["sector"] = cand["sector"].fillna("unknown").replace("", "unknown")
    cand["absdd"] = cand["maxdd_126"].abs()

    def z(s):
        return s * 0.0 if s.max() == s.min() else (s - s.mean()) / s.std(ddof=0)

    zs = {c: cand.groupby("sector")[c].transform(z) for c in
          ("mom_6_1", "mom_12_1", "sma200_gap", "vol_63", "absdd")}
    cand["score"] = (0.35 * zs["mom_6_1"] + 0.30 * zs["mom_12_1"] + 0.15 * zs["sma200_gap"]
                     - 0.10 * zs["vol_63"] - 0.10 * zs["absdd"]
                     + p["hold_bonus"] * cand["symbol"].isin(holdings))
    cand["flat"] = sum(zs[c].abs() for c in zs) == 0
    # near-ties (|diff| < 1e-9) are only trusted when the two rows tie exactly by
    # construction (both all-zero z, or identical rows of one sector), with equal hold status
    def exact_tie(a, b):
        if (a.symbol in holdings) != (b.symbol in holdings):
            return False
        same_row = a.sector == b.sector and all(getattr(a, c) == getattr(b, c) for c in FACTORS)
        return (a.flat and b.flat) or same_row

    cands = list(cand.itertuples())
    clean = all(abs(a.score - b.score) >= 1e-9 or exact_tie(a, b)
                for i, a in enumerate(cands) for b in cands[i + 1:])
    ranked = cand.sort_values(["score", "mom_12_1", "mom_6_1", "symbol"],
                              ascending=[False, False, False, True], kind="mergesort")
    target = exposure / p["holdings_count"]
    slot = max(1, math.floor(p["sector_cap"] / target))
    chosen, used = [], {}
    for sym, sec in zip(ranked["symbol"], ranked["sector"], strict=True):
        if len(chosen) == p["holdings_count"]:
            break
        if used.get(sec, 0) < slot:
            used[sec] = used.get(sec, 0) + 1
            chosen.append(sym)
    return regime, breadth, chosen, slot, clean


VALUE = st.integers(-10**6, 10**6).map(lambda i: i / 10**6)
UNIT = st.integers(0, 1000).map(lambda i: i / 1000)


@st.composite
def scenarios(draw):
    n = draw(st.integers(0, 30))
    rows = []
    for i in range(n):
        values = [draw(VALUE) for _ in range(5)]
        hole = draw(st.integers(0, 49))  # 1 row in 10 has a NaN factor
        if hole < 5:
            values[hole] = NAN
        rows.append(row(f"S{i:02d}", draw(st.sampled_from(["A", "B", "C", "D", None])), *values,
                        eligible=draw(st.sampled_from([True, True, True, True, False, None]))))
    spy_gap = draw(st.one_of(st.floats(-0.2, 0.2), st.just(NAN)))
    pool = [f"S{i:02d}" for i in range(n)] + ["ZZZ", "SPY"]
    holdings = sorted(draw(st.sets(st.sampled_from(pool), max_size=8)))
    params = {"holdings_count": draw(st.integers(1, 30)),
              "single_name_cap": draw(UNIT.filter(bool)), "sector_cap": draw(UNIT.filter(bool)),
              "hold_bonus": draw(st.integers(-500, 500).map(lambda i: i / 1000)),
              "soft_defense_exposure": draw(UNIT), "hard_defense_exposure": draw(UNIT),
              "soft_breadth_threshold": draw(UNIT), "hard_breadth_threshold": draw(UNIT)}
    return rows, spy_gap, holdings, params


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenarios())
def test_random_snapshots_match_slow_reference(case):
    rows, spy_gap, holdings, params = case
    regime, breadth, chosen, slot, clean = slow_reference(rows, spy_gap, holdings, params)
    assume(clean)
    snap = make_snapshot(rows, spy_gap)
    decision = run(snap, holdings=holdings, **params)
    assert decision.to_json() == run(snap, holdings=holdings, **params).to_json()  # deterministic
    d, x = decision.diagnostics, decision.diagnostics.extras
    event(f"{d.signal} {d.regime}")
    assert (d.regime, x["breadth_ratio"]) == (regime, breadth)
    assert x["selected_symbols"] == chosen
    w = weights(decision)
    risk = {p.symbol: p.target_weight for p in decision.positions if p.role is Role.RISK}
    assert sum(w.values()) <= 1.0 + 1e-9
    picked = {s: v for s, v in risk.items() if v > 0}
    assert set(picked) == set(chosen) and len(picked) <= params["holdings_count"]
    assert all(v <= params["single_name_cap"] for v in picked.values())
    if chosen:
        per = min(params["single_name_cap"],
                  x["target_stock_weight"] / len(chosen))
        assert all(v == per for v in picked.values())
        assert x["sector_slot_cap"] == slot
        assert max(x["selected_sectors"].values()) <= slot
        assert w["BOXX"] == pytest.approx(max(0.0, 1.0 - per * len(chosen)), abs=1e-12)
    else:
        assert w["BOXX"] == 1.0
    # explicit zeros: exactly the held, managed, unselected snapshot symbols
    managed = {r["symbol"] for r in rows}
    assert {s for s, v in risk.items() if v == 0} == (set(holdings) & managed) - set(chosen)


# ------------------------------------------------------------------------------------------
# builder (features.md §4.1) on the toy series of features.md §5.1
# ------------------------------------------------------------------------------------------
TOY_AS_OF = dt.date(2025, 2, 24)
TOY_DATES = pd.bdate_range("2024-01-02", periods=300)  # t = 0..299, last = 2025-02-24
T = np.arange(300)
TOY = {
    "AAA": (100 * (1 + 0.001 * T) * (1 + 0.05 * np.sin(2 * np.pi * T / 50)), 1e6 + 1e4 * (T % 7)),
    "GEO": (100 * 1.001 ** T, np.full(300, 1e6)),
    "QQQ": (100 * (1 + 0.0008 * T), np.full(300, 5e7)),
    "SPY": (100 * (1 + 0.0005 * T), np.full(300, 5e7)),
    "BOXX": (100 * (1 + 0.0002 * T), np.full(300, 1e6)),
}
TOY_UNIVERSE = pd.DataFrame({"symbol": ["AAA", "GEO"],
                             "sector": ["Information Technology", "Communication"]})
# features.md §5.1 expected values at 2025-02-24 (reproduce to 1e-9)
SPEC = {
    "AAA": {"close": 129.0859606, "adv20_usd": 127_768_701, "mom_6_1": 0.07558128184,
            "mom_12_1": 0.2303974643, "sma200_gap": 0.07652136466, "vol_63": 0.06867336773,
            "maxdd_126": -0.07790143207},
    "GEO": {"close": 134.8308171, "adv20_usd": 133_558_841.5, "mom_6_1": 1.001 ** 126 - 1,
            "mom_12_1": 1.001 ** 252 - 1, "sma200_gap": 0.1027266411, "vol_63": 0.0,
            "maxdd_126": 0.0},
    "SPY": {"close": 114.95, "adv20_usd": 5.72375e9, "mom_6_1": 0.05855018587,
            "mom_12_1": 0.1243830207, "sma200_gap": 0.04523755399, "vol_63": 5.617639855e-5,
            "maxdd_126": 0.0},
}


def toy_prices(extra=None, dates=TOY_DATES):
    series = {**TOY, **(extra or {})}
    frames = []
    for sym, (close, volume) in series.items():
        n = len(close)
        frames.append(pd.DataFrame({"date": dates[-n:], "symbol": sym, "close": close,
                                    "volume": volume}))
    return normalize_prices(pd.concat(frames, ignore_index=True))


def build(prices=None, as_of=TOY_AS_OF, universe=TOY_UNIVERSE, **overrides):
    prices = toy_prices() if prices is None else prices
    return build_snapshot(PROFILE, prices, as_of, overrides, universe=universe)


def test_builder_matches_spec_toy_values():
    snap = build()
    frame = snap.frame
    assert list(frame.columns) == list(builder.COLUMNS)
    assert frame["symbol"].tolist() == ["AAA", "GEO", "SPY"]  # SPY appended, no QQQ/BOXX
    assert frame["sector"].tolist() == ["Information Technology", "Communication", "benchmark"]
    assert set(frame["as_of"]) == {"2025-02-24"}
    assert frame["history_days"].tolist() == [300, 300, 300]
    assert frame["eligible"].tolist() == [True, True, False]
    for _, r in frame.iterrows():
        for col, want in SPEC[r["symbol"]].items():
            assert r[col] == pytest.approx(want, rel=1e-9, abs=1e-12), (r["symbol"], col)
    assert frame.loc[0, "volume"] == 1e6 + 1e4 * (299 % 7)  # 1,050,000
    assert snap.builder_parameters == {"benchmark_symbol": "SPY", "min_adv20_usd": 20_000_000.0,
                                       "min_close": 10.0, "min_history_days": 252}
    # the built snapshot evaluates: distinct sectors -> scores 0 -> GEO (higher mom_12_1) first
    decision = run(snap, as_of=TOY_AS_OF)
    assert decision.diagnostics.extras["selected_symbols"] == ["GEO", "AAA"]
    assert weights(decision) == {"AAA": 0.06, "BOXX": pytest.approx(0.88), "GEO": 0.06}


def test_eligibility_boundaries():
    frame = build().frame.set_index("symbol")
    close_aaa, adv_aaa = frame.loc["AAA", "close"], frame.loc["AAA", "adv20_usd"]
    # close must be strictly above min_close
    assert build(min_close=close_aaa).frame["eligible"].tolist() == [False, True, False]
    # adv20_usd >= min_adv20_usd (equality passes)
    assert build(min_adv20_usd=adv_aaa).frame["eligible"].tolist() == [True, True, False]
    above = float(np.nextafter(adv_aaa, np.inf))
    assert build(min_adv20_usd=above).frame["eligible"].tolist() == [False, True, False]
    # history_days >= min_history_days (300 rows each)
    assert build(min_history_days=300).frame["eligible"].tolist() == [True, True, False]
    assert build(min_history_days=301).frame["eligible"].tolist() == [False, False, False]


def test_effective_minimum_history_is_274_rows():
    # geometric series with 274 / 273 rows: mom_12_1 needs C[L-273]
    extra = {"N274": (50 * 1.001 ** np.arange(274), np.full(274, 1e6)),
             "N273": (50 * 1.001 ** np.arange(273), np.full(273, 1e6))}
    uni = pd.DataFrame({"symbol": ["N273", "N274"], "sector": ["X", "X"]})
    frame = build(toy_prices(extra), universe=uni).frame.set_index("symbol")
    assert frame.loc["N274", "mom_12_1"] == pytest.approx(1.001 ** 252 - 1, rel=1e-12)
    assert bool(frame.loc["N274", "eligible"]) is True
    assert math.isnan(frame.loc["N273", "mom_12_1"])
    assert frame.loc["N273", "history_days"] == 273 and not frame.loc["N273", "eligible"]


def test_adv_skips_missing_volume_but_never_invents_it():
    # constant close 50: product 5e7 where volume 1e6 is known
    vol_tail_missing = np.full(300, 1e6)
    vol_tail_missing[-5:] = NAN          # 15 known products in the window -> mean 5e7
    vol_one = np.full(300, NAN)
    vol_one[-1] = 2e6                    # one known product 1e8 -> mean 1e8
    extra = {"PART": (np.full(300, 50.0), vol_tail_missing), "ONE": (np.full(300, 50.0), vol_one),
             "NONE": (np.full(300, 50.0), np.full(300, NAN))}
    uni = pd.DataFrame({"symbol": list(extra), "sector": ["X", "Y", "Z"]})
    frame = build(toy_prices(extra), universe=uni).frame.set_index("symbol")
    assert frame.loc["PART", "adv20_usd"] == pytest.approx(5e7, rel=1e-15)
    assert frame.loc["ONE", "adv20_usd"] == pytest.approx(1e8, rel=1e-15)
    assert math.isnan(frame.loc["NONE", "adv20_usd"]) and not frame.loc["NONE", "eligible"]
    # a flat series has vol_63 0 and maxdd 0 but is eligible when liquid
    assert bool(frame.loc["PART", "eligible"]) and bool(frame.loc["ONE", "eligible"])
    # even a zero liquidity gate does not let an unknown ADV through
    frame = build(toy_prices(extra), universe=uni, min_adv20_usd=0).frame.set_index("symbol")
    assert not frame.loc["NONE", "eligible"]


def test_member_without_prices_gets_an_empty_row():
    uni = pd.concat([TOY_UNIVERSE, pd.DataFrame({"symbol": ["GHOST"], "sector": [""]})])
    frame = build(universe=uni).frame.set_index("symbol")
    ghost = frame.loc["GHOST"]
    assert ghost["sector"] == "unknown" and ghost["history_days"] == 0
    assert not ghost["eligible"]
    assert all(math.isnan(ghost[c]) for c in ("close", "volume", "adv20_usd", *FACTORS))


def test_benchmark_in_universe_keeps_its_row_and_is_never_eligible():
    uni = pd.concat([TOY_UNIVERSE, pd.DataFrame({"symbol": ["SPY"], "sector": ["ETF"]})])
    frame = build(universe=uni).frame.set_index("symbol")
    assert frame.loc["SPY", "sector"] == "ETF" and not frame.loc["SPY", "eligible"]


def test_point_in_time_membership():
    uni = pd.DataFrame({
        "symbol": ["AAA", "GEO", "GEO", "OLD", "NEW"],
        "sector": ["IT", "Old Sector", "Communication", "X", "Y"],
        "start_date": ["2024-01-01", "2024-01-01", "2025-01-01", "2024-01-01", "2025-03-01"],
        "end_date": ["", "2024-12-31", "", "2025-02-21", ""],
    })
    prices = toy_prices({"OLD": TOY["GEO"], "NEW": TOY["GEO"]})
    frame = build(prices, universe=uni).frame
    # OLD left on 2025-02-21 (< as_of), NEW joins later; GEO's active row is the 2025 one
    assert frame["symbol"].tolist() == ["AAA", "GEO", "SPY"]
    assert frame.set_index("symbol").loc["GEO", "sector"] == "Communication"
    # end dates are inclusive: OLD is a member on 2025-02-21
    early = build(prices, as_of=dt.date(2025, 2, 21), universe=uni).frame
    assert "OLD" in set(early["symbol"])
    assert early.set_index("symbol").loc["OLD", "history_days"] == 299  # t = 298 (Friday)


def test_empty_universe_and_missing_benchmark_prices():
    uni = pd.DataFrame({"symbol": ["AAA"], "sector": ["IT"], "start_date": ["2026-01-01"]})
    with pytest.raises(UniverseError, match="no rows active on 2025-02-24"):
        build(universe=uni)
    prices = toy_prices()
    with pytest.raises(PriceHistoryError, match="benchmark SPY has no rows on or before"):
        build(prices[prices["symbol"] != "SPY"])


def test_truncation_invariance_and_precomputed_panel():
    full = toy_prices()
    future = full[full["date"] > pd.Timestamp("2024-11-29")].copy()
    future["close"] = future["close"] * 3.0  # changing later rows must not matter
    changed = normalize_prices(pd.concat([full[full["date"] <= pd.Timestamp("2024-11-29")],
                                          future]))
    params = resolve_parameters(registry.load(PROFILE).parameters_model,
                                registry.get_manifest(PROFILE).parameters, {}, PROFILE)
    panel = builder.panel(full)
    for day in (dt.date(2024, 11, 29), dt.date(2024, 10, 15)):
        cut = full[full["date"] <= pd.Timestamp(day)]
        want = builder.build(cut, day, params, universe=TOY_UNIVERSE)
        pd.testing.assert_frame_equal(builder.build(full, day, params, universe=TOY_UNIVERSE),
                                      want)
        pd.testing.assert_frame_equal(builder.build(changed, day, params,
                                                    universe=TOY_UNIVERSE), want)
        pd.testing.assert_frame_equal(builder.build_from_panel(panel, day, params,
                                                               TOY_UNIVERSE), want)


# ------------------------------------------------------------------------------------------
# a snapshot written by the reference pipeline (CSV + sidecar, features.md §1.10 and §6.2)
# ------------------------------------------------------------------------------------------
REFERENCE_CSV = "".join(line + "\n" for line in (
    "as_of,symbol,sector,close,volume,adv20_usd,history_days,mom_6_1,mom_12_1,sma200_gap,"
    "vol_63,maxdd_126,eligible",
    "2025-02-24,AAA,Information Technology,129.0859606,1050000.0,127768701.0,300,"
    "0.07558128184,0.2303974643,0.07652136466,0.06867336773,-0.07790143207,True",
    "2025-02-24,GEO,Communication,134.8308171,1000000.0,133558841.5,300,0.1342107584,"
    "0.2864340444,0.1027266411,2e-15,0.0,True",
    "2025-02-24,GHOST,Health Care,,,,0,,,,,,False",
    "2025-02-24,SPY,benchmark,114.95,50000000.0,5723750000.0,300,0.05855018587,0.1243830207,"
    "0.04523755399,5.617639855e-05,0.0,False",
    "2025-02-24,XYZ,Financials,80.5,2000000.0,161000000.0,300,0.4,0.9,0.1,0.2,-0.05,",
))


def test_reference_pipeline_csv_and_sidecar(tmp_path):
    # the contract name reproduces the reference's default config hash (features.md §6.2)
    assert default_config_sha256(PROFILE, CONTRACT) == (
        "5cca5587981bf1cb87ec30fd598c20c4c3025ab3b8fe00d6859d1c456824e2b1")
    path = tmp_path / f"{PROFILE}_feature_snapshot_latest.csv"
    data = REFERENCE_CSV.encode()
    path.write_bytes(data)
    sidecar = {
        "config_name": PROFILE, "config_path": "strategy_manifest_default",
        "config_sha256": default_config_sha256(PROFILE, CONTRACT),
        "contract_version": CONTRACT, "generated_at": "2025-02-25T00:46:03.123456+00:00",
        "manifest_type": "feature_snapshot", "row_count": 5, "snapshot_as_of": "2025-02-24",
        "snapshot_path": f"data/output/{PROFILE}/{path.name}",
        "snapshot_sha256": hashlib.sha256(data).hexdigest(),
        "source_project": "UsEquitySnapshotPipelines", "strategy_profile": PROFILE,
    }
    (tmp_path / f"{path.name}.manifest.json").write_text(
        json.dumps(sidecar, indent=2, sort_keys=True))
    snap = read_snapshot(path)
    assert (snap.profile, snap.as_of) == (PROFILE, TOY_AS_OF)
    decision = run(snap, as_of=dt.date(2025, 2, 25))
    x = decision.diagnostics.extras
    # XYZ's empty eligible is NaN -> not eligible (fix 5), although it would rank first;
    # GHOST has no data. AAA and GEO: distinct sectors, scores 0, GEO has the higher mom_12_1
    assert (x["candidate_count"], x["universe_count"]) == (2, 4)
    assert x["selected_symbols"] == ["GEO", "AAA"]
    # SPY gap > 0 and breadth 2/2 -> risk_on; 2 x min(0.06, 1/2) = 0.12, BOXX 0.88
    assert decision.diagnostics.regime == "risk_on"
    assert weights(decision) == {"AAA": 0.06, "BOXX": pytest.approx(0.88), "GEO": 0.06}


# ------------------------------------------------------------------------------------------
# real data: S&P 500 point-in-time membership as the universe, month-ends 2018-2024
# ------------------------------------------------------------------------------------------
REAL_START = pd.Timestamp("2016-01-01")  # >= 274 rows before 2018-01 for every old name
REAL_END = pd.Timestamp("2024-12-31")
LAST_VOLUME = dt.date(2024, 3, 8)  # stock volume in daily/ohlcv.parquet ends here
# names selected (hold bonus from the previous month's selection, carried from 2018-01);
# the same table is in docs/profiles/russell_1000_multi_factor_defensive.md
DOC_DATES = (dt.date(2019, 12, 31), dt.date(2021, 12, 31), dt.date(2022, 9, 30),
             dt.date(2023, 12, 29))

REAL_SELECTIONS = {
    dt.date(2019, 12, 31): ["TGT", "PSX", "TDG", "WU", "EW", "VLO", "CPRT", "MKTX", "ODFL",
                            "CHTR", "LEG", "KLAC", "LRCX", "SHW", "ETR", "KIM", "MAS", "AIZ",
                            "QRVO", "GRMN", "SO", "AAPL", "PHM", "RMD"],
    dt.date(2021, 12, 31): ["COST", "DVN", "TSLA", "NVDA", "FDS", "ODFL", "ALB", "EXC", "GOOGL",
                            "BBWI", "GOOG", "EXR", "F", "MAA", "FTNT", "RHI", "NEE", "EFX",
                            "NDAQ", "PLD", "EIX", "BRO", "DXCM", "MSCI"],
    dt.date(2022, 9, 30): ["ENPH", "GPC", "MCK", "PGR", "VICI", "PWR", "AZO", "TMUS", "AJG",
                           "CF", "WRB", "OXY", "CAH", "LW", "MTB", "NOC", "VRTX", "ORLY", "HII",
                           "ADP", "ULTA", "RSG", "CI", "GWW"],
    dt.date(2023, 12, 29): ["NRG", "UBER", "CEG", "LLY", "META", "DLR", "PHM", "CBOE", "NVDA",
                            "COST", "RCL", "AIZ", "CAH", "WELL", "IRM", "ADBE", "MPC", "CE",
                            "PSX", "BG", "FICO", "EXPE", "BLDR", "URI"],
}


def load_real():
    """Universe (membership + sectors) and the Russell feature panel of every name needed."""
    if not (DATA / "daily" / "adj_close.parquet").exists():
        pytest.skip(f"real data not available at {DATA}")
    members = universe_mod.load_membership(DATA / "universe" / "sp500_membership.csv")
    members = universe_mod.attach_sectors(
        members, universe_mod.load_sectors(DATA / "universe" / "sectors.csv"))
    alive = members[(members["start_date"].isna() | (members["start_date"] <= REAL_END))
                    & (members["end_date"].isna() | (members["end_date"] >= REAL_START))]
    symbols = sorted({*alive["symbol"], "SPY"})
    window = [("symbol", "in", symbols), ("date", ">=", REAL_START), ("date", "<=", REAL_END)]
    close = pd.read_parquet(DATA / "daily" / "adj_close.parquet", filters=window)
    volume = pd.read_parquet(DATA / "daily" / "ohlcv.parquet", filters=window,
                             columns=["date", "symbol", "close", "volume"])
    merged = close.merge(volume.rename(columns={"close": "raw_close"}), on=["date", "symbol"],
                         how="left")
    # ohlcv's volume is split-adjusted as of 2024-03 and pairs with its own close; the closes
    # here are adjusted as of 2026-08 (NVDA's 2024 10:1 split, ...): rescale so that
    # close x volume is the traded dollar volume (data/README.md).
    merged["volume"] = volume_on_close_basis(merged["close"], merged["volume"],
                                             merged["raw_close"])
    prices = normalize_prices(merged.drop(columns="raw_close"))
    return members, prices


def real_run(members, panel):
    loaded = registry.load(PROFILE)
    params = resolve_parameters(loaded.parameters_model, loaded.manifest.parameters, {},
                                PROFILE)
    built = {k: params.model_dump(mode="json")[k]
             for k in loaded.manifest.snapshot.builder_parameters}
    held: tuple[str, ...] = ()
    out = {}
    for year in range(2018, 2025):
        for month in range(1, 13):
            day = calendar.last_session_of_month(year, month)
            table = builder.build_from_panel(panel, day, params, members)
            snap = Snapshot.from_frame(table, profile=PROFILE, as_of=day,
                                       contract_version=CONTRACT, builder_parameters=built)
            decision = run(snap, holdings=held, as_of=day)
            held = tuple(decision.diagnostics.extras["selected_symbols"])
            out[day] = (table, decision)
    return out


@pytest.mark.realdata
@pytest.mark.slow
def test_real_month_ends_2018_2024():
    members, prices = load_real()
    panel = builder.panel(prices)
    results = real_run(members, panel)
    assert len(results) == 84
    for day, (table, decision) in results.items():
        x = decision.diagnostics.extras
        active = set(universe_mod.active_at(members, day)["symbol"])
        assert set(table["symbol"]) == active | {"SPY"}
        assert decision.actionable and sum(weights(decision).values()) <= 1 + 1e-9
        if day <= dt.date(2024, 3, 31):
            # ~400-470 liquid members: always a full 24-name basket
            assert x["candidate_count"] > 350 and x["selected_count"] == 24
            assert max(x["selected_sectors"].values()) <= x["sector_slot_cap"]
            chosen = table.set_index("symbol").loc[x["selected_symbols"]]
            assert chosen["eligible"].all() and (chosen["adv20_usd"] >= 2e7).all()
        else:
            # no stock volume after 2024-03-08: adv20_usd unknown -> nobody eligible -> BOXX
            assert x["candidate_count"] == 0 and weights(decision)["BOXX"] == 1.0
    selected = {d: results[d][1].diagnostics.extras["selected_symbols"] for d in DOC_DATES}
    assert selected == REAL_SELECTIONS
    # the precomputed-panel path equals the regular builder on prices truncated to the date
    day = DOC_DATES[1]
    snap = build_snapshot(PROFILE, prices, day, universe=members)
    pd.testing.assert_frame_equal(snap.frame, results[day][0])


# ------------------------------------------------------------------------------------------
# rendering (reference texts, profiles.md §2.2 step 12 and status)
# ------------------------------------------------------------------------------------------
def test_rendered_texts():
    from us_equity_strategies import render

    rows = [row("A", "X", m6=0.3, m12=0.4, gap=0.08, vol=0.1, dd=-0.05),
            row("B", "X", m6=0.1, m12=0.2, gap=0.02, vol=0.3, dd=-0.20)]
    decision = run(make_snapshot(rows))
    # breadth 2/2, SPY up, exposure 1.0; scores +1.00 / -1.00
    assert render.signal_text(decision) == ("regime=risk_on breadth=100.0% benchmark_trend=up "
                                            "stock_exposure=100.0% selected=2 "
                                            "top=A(1.00), B(-1.00)")
    assert render.status_text(decision) == ("breadth=100.0% | benchmark=up | regime=risk_on | "
                                            "snapshot_as_of=2024-01-31")
    empty = run(make_snapshot([row("A", eligible=False)], -0.05))
    assert render.signal_text(empty) == "regime=hard_defense breadth=0.0% benchmark_trend=down"
