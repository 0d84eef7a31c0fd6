"""Tests of tech_communication_pullback_enhancement (spec/profiles.md §2.3) and its builder
(spec/features.md §4.2).

Profile tests go through ``runner.evaluate`` on hand-built snapshots; expected values are
worked out by hand from the spec (arithmetic in the comments) or, in the property test, by a
slow plain-Python restatement of the rules. Builder tests compare with slow per-symbol loops.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from us_equity_strategies import calendar, features, registry, runner, universe
from us_equity_strategies.builders import build_snapshot
from us_equity_strategies.builders import tech_communication_pullback_enhancement as builder
from us_equity_strategies.contract import (
    EvaluationContext,
    Holding,
    Portfolio,
    ProfileInputs,
    RiskFlag,
    Role,
)
from us_equity_strategies.errors import (
    ParameterError,
    PriceHistoryError,
    SnapshotError,
    UniverseError,
)
from us_equity_strategies.params import resolve_parameters
from us_equity_strategies.prices import normalize_prices, volume_on_close_basis
from us_equity_strategies.snapshot import Snapshot, read_snapshot, validate_snapshot

PROFILE = "tech_communication_pullback_enhancement"
CONTRACT = f"{PROFILE}.feature_snapshot.v1"
SNAP_AS_OF = dt.date(2026, 3, 31)
RUN = dt.date(2026, 4, 1)  # first session of the execution window
NAN = math.nan
IT, COMM, COMM_GICS, HC = ("Information Technology", "Communication", "Communication Services",
                           "Health Care")
FACTORS = ("mom_6_1", "mom_12_1", "sma20_gap", "sma50_gap", "sma200_gap", "ma50_over_ma200",
           "vol_63", "maxdd_126", "breakout_252", "dist_63_high", "dist_126_high", "rebound_20")
COLUMNS = ("as_of", "symbol", "sector", "close", "volume", "adv20_usd", "history_days",
           *FACTORS, "base_eligible")
MANIFEST = registry.get_manifest(PROFILE)
DEFAULTS = dict(MANIFEST.parameters)


def stock(symbol: str, sector: str | None = IT, **values) -> dict:
    """A candidate row: eligible, liquid, every factor 0 unless given."""
    row = {"symbol": symbol, "sector": sector, "close": 100.0, "volume": 1e6,
           "adv20_usd": 1e8, "history_days": 300, **dict.fromkeys(FACTORS, 0.0),
           "base_eligible": True}
    row.update(values)
    return row


def qqq(**values) -> dict:
    """Benchmark row: trend up (sma200_gap 0.05), momentum 0 unless given."""
    return stock("QQQ", "benchmark", close=500.0, base_eligible=False,
                 **{"sma200_gap": 0.05, **values})


def boxx() -> dict:
    return stock("BOXX", "defense", close=110.0, base_eligible=False)


def snapshot(rows: list[dict], *, bench: dict | None = None, with_bench: bool = True,
             as_of: dt.date = SNAP_AS_OF, built_with: dict | None = None) -> Snapshot:
    all_rows = [*rows, boxx()] + ([bench or qqq()] if with_bench else [])
    frame = pd.DataFrame(all_rows)
    frame.insert(0, "as_of", as_of.isoformat())
    frame = frame[list(COLUMNS)].sort_values("symbol").reset_index(drop=True)
    return Snapshot.from_frame(frame, profile=PROFILE, as_of=as_of, contract_version=CONTRACT,
                               builder_parameters=built_with or {})


def context(equity: float | None = None, held: tuple[str, ...] = (), run: dt.date = RUN,
            **params) -> EvaluationContext:
    portfolio = None
    if equity is not None:
        positions = tuple(Holding(symbol=s, quantity=1, market_value=100.0) for s in held)
        portfolio = Portfolio(total_equity=equity, positions=positions)
        held = ()
    return EvaluationContext(as_of=run, portfolio=portfolio, holdings=held, parameters=params)


def run(rows: list[dict], *, equity: float | None = None, held: tuple[str, ...] = (),
        bench: dict | None = None, run_date: dt.date = RUN, **params):
    return runner.evaluate(snapshot(rows, bench=bench), context(equity, held, run_date, **params))


def assert_targets(decision, expected: dict[str, float]) -> None:
    got = decision.targets()
    assert sorted(got) == sorted(expected)
    for sym, value in expected.items():
        assert got[sym] == pytest.approx(value, rel=1e-12, abs=1e-12), sym


def trend_up(n_above: int, n_below: int, sector: str = IT, prefix: str = "S") -> list[dict]:
    """Candidates with identical factors except sma200_gap (+0.1 / -0.1): exact breadth."""
    return ([stock(f"{prefix}A{i:02d}", sector, sma200_gap=0.1) for i in range(n_above)]
            + [stock(f"{prefix}B{i:02d}", sector, sma200_gap=-0.1) for i in range(n_below)])


# --------------------------------------------------------------------------------------------
# regime
# --------------------------------------------------------------------------------------------
def test_risk_on_defaults_eight_names_ten_percent_each():
    # 10 IT names all above SMA200: breadth 1.0, QQQ trend up -> risk_on, exposure 0.80.
    # No equity: count 8, caps 0.10 / 0.40; per-name target 0.8/8 = 0.1 -> slot cap
    # floor(0.40/0.1) = floor(4.000000000000001) = 4 IT names. Identical factors -> all scores
    # 0 -> symbol order: SA00..SA03. 4 x min(0.10, 0.8/4 = 0.2) = 0.4 -> BOXX 0.6.
    d = run(trend_up(10, 0))
    assert (d.diagnostics.signal, d.diagnostics.regime) == ("rebalance", "risk_on")
    assert d.risk_flags == ()
    assert_targets(d, {"SA00": 0.1, "SA01": 0.1, "SA02": 0.1, "SA03": 0.1, "BOXX": 0.6})
    x = d.diagnostics.extras
    assert x["breadth_ratio"] == 1.0 and x["benchmark_trend_positive"] is True
    assert x["target_stock_weight"] == 0.8
    assert x["realized_stock_weight"] == pytest.approx(0.4)
    assert x["safe_haven_weight"] == pytest.approx(0.6)
    assert x["sector_slot_cap"] == 4 and x["candidate_count"] == 10
    assert x["selected_symbols"] == ["SA00", "SA01", "SA02", "SA03"]
    assert x["selected_count"] == 4
    assert x["requested_holdings_count"] == 8 and x["effective_holdings_count"] == 8
    assert x["target_stock_value"] is None
    assert x["effective_single_name_cap"] == 0.1 and x["effective_sector_cap"] == 0.4
    assert x["residual_proxy"] == "simple_excess_return_vs_QQQ"
    assert x["top"] == [{"symbol": s, "score": 0.0} for s in ("SA00", "SA01", "SA02", "SA03")]
    assert x["execution_window"] == ["2026-04-01", "2026-04-02", "2026-04-06"]
    assert x["execution_calendar_source"] == "nyse_calendar"
    roles = {p.symbol: p.role for p in d.positions}
    assert roles["BOXX"] is Role.SAFE_HAVEN and roles["SA00"] is Role.RISK
    assert d.diagnostics.benchmark_symbol == "QQQ" and d.diagnostics.benchmark_price == 500.0
    assert d.diagnostics.safe_haven_symbol == "BOXX"
    assert d.diagnostics.snapshot_as_of == SNAP_AS_OF


def test_sector_slot_cap_fills_with_the_other_sector():
    # 6 IT names ranked first (higher mom_12_1), then 3 Communication names. Slot cap 4:
    # the 4 best IT names, the 2 other IT names are skipped, then the 3 Communication names:
    # 7 names x 0.10 = 0.70 -> BOXX 0.30.
    rows = [stock(f"I{i}", IT, sma200_gap=0.1, mom_12_1=1.0 - 0.1 * i) for i in range(6)]
    rows += [stock(f"C{i}", COMM, sma200_gap=0.1, mom_12_1=0.2 - 0.1 * i) for i in range(3)]
    d = run(rows)
    expected = {s: 0.1 for s in ("I0", "I1", "I2", "I3", "C0", "C1", "C2")}
    assert_targets(d, {**expected, "BOXX": 0.3})
    assert d.diagnostics.extras["selected_symbols"] == ["I0", "I1", "I2", "I3", "C0", "C1",
                                                        "C2"]


@pytest.mark.parametrize(("n_above", "n_below", "bench_gap", "regime", "exposure"), [
    (11, 9, 0.05, "risk_on", 0.80),        # breadth 11/20 = 0.55 is not < 0.55
    (10, 10, 0.05, "soft_defense", 0.60),  # trend up, breadth 0.50 < 0.55
    (10, 10, -0.05, "soft_defense", 0.60),  # trend down, 0.50 >= 0.35
    (7, 13, -0.05, "soft_defense", 0.60),  # trend down, breadth 0.35 is not < 0.35
    (6, 14, -0.05, "hard_defense", 0.0),   # trend down and 0.30 < 0.35
    (6, 14, 0.05, "soft_defense", 0.60),   # trend up: never hard
    (20, 0, 0.0, "soft_defense", 0.60),    # gap 0 is not > 0: trend down
    (20, 0, NAN, "soft_defense", 0.60),    # NaN gap -> trend down
])
def test_regime_rule(n_above, n_below, bench_gap, regime, exposure):
    d = run(trend_up(n_above, n_below), bench=qqq(sma200_gap=bench_gap))
    x = d.diagnostics.extras
    assert d.diagnostics.regime == regime
    assert x["breadth_ratio"] == n_above / 20
    assert x["benchmark_trend_positive"] is (bench_gap > 0)
    flags = {"risk_on": (), "soft_defense": (RiskFlag.SOFT_DEFENSE,),
             "hard_defense": (RiskFlag.HARD_DEFENSE,)}[regime]
    assert d.risk_flags == flags
    if exposure == 0:
        # hard defense exposure 0.00 -> everything in BOXX, no sector_slot_cap reported.
        assert d.diagnostics.signal == "safe_haven_only"
        assert_targets(d, {"BOXX": 1.0})
        assert x["target_stock_weight"] == 0.0 and x["realized_stock_weight"] == 0.0
        assert "sector_slot_cap" not in x
    else:
        # 8 names; slot cap floor(0.40 / (E/8)): E 0.8 -> 4, E 0.6 -> floor(5.33) = 5;
        # per name min(0.10, E/n): 4 x 0.10 (0.8) or 5 x 0.10 (0.6, since 0.6/5 = 0.12).
        slots = 4 if exposure == 0.8 else 5
        assert x["sector_slot_cap"] == slots
        assert x["target_stock_weight"] == exposure
        assert sum(w for s, w in d.targets().items() if s != "BOXX") == pytest.approx(
            0.1 * slots)


def test_exposure_overrides_and_explicit_zero_is_honoured():
    d = run(trend_up(10, 0), risk_on_exposure=0.0)
    assert d.diagnostics.signal == "safe_haven_only"
    assert_targets(d, {"BOXX": 1.0})
    # soft exposure 0.3: per-name target 0.3/8 = 0.0375, slot floor(0.4/0.0375) = 10; 10 IT
    # names rank by symbol, first 8: min(0.10, 0.3/8 = 0.0375) each -> 0.30, BOXX 0.70.
    d = run(trend_up(10, 0), soft_defense_exposure=0.3, bench=qqq(sma200_gap=-0.05))
    assert d.diagnostics.regime == "soft_defense"
    assert d.diagnostics.extras["sector_slot_cap"] == 10
    assert_targets(d, {**{f"SA{i:02d}": 0.0375 for i in range(8)}, "BOXX": 0.7})


def test_no_candidate_goes_to_safe_haven():
    rows = [stock("AAA", base_eligible=False), stock("BBB", base_eligible=NAN),
            stock("CCC", HC)]
    d = run(rows)
    assert d.diagnostics.signal == "safe_haven_only"
    assert_targets(d, {"BOXX": 1.0})
    x = d.diagnostics.extras
    assert x["candidate_count"] == 0 and x["breadth_ratio"] == 0.0
    # breadth 0 < 0.55 with trend up -> soft defense, but nothing to buy.
    assert d.diagnostics.regime == "soft_defense"
    assert x["selected_symbols"] == [] and "sector_slot_cap" not in x


# --------------------------------------------------------------------------------------------
# small accounts (profiles.md §3 worked examples)
# --------------------------------------------------------------------------------------------
def small_account_rows() -> list[dict]:
    # Only mom_12_1 varies (QQQ 0): ex12 = NVDA .9, AAPL .6, MSFT .3 (IT), META .5, GOOGL .2
    # (Communication). Universe z of ex12 (mean .5, std sqrt(.06)): NVDA .4/s, AAPL .1/s ...
    # rel = ex12 - sector median (IT .6, Comm .35): NVDA .3, AAPL 0, MSFT -.3, META .15,
    # GOOGL -.15 (std sqrt(.045)). score = .25 z(ex12) + .10 z(rel):
    # NVDA .25*.4/.2449 + .1*.3/.2121 = .4082 + .1414 = .5497; AAPL .1021; META .0707;
    # MSFT -.2041 - .1414 = -.3455; GOOGL -.3062 - .0707 = -.3769.
    return [stock("NVDA", IT, sma200_gap=0.1, mom_12_1=0.9),
            stock("AAPL", IT, sma200_gap=0.1, mom_12_1=0.6),
            stock("MSFT", IT, sma200_gap=0.1, mom_12_1=0.3),
            stock("META", COMM, sma200_gap=0.1, mom_12_1=0.5),
            stock("GOOGL", COMM, sma200_gap=0.1, mom_12_1=0.2)]


def test_small_account_scores_by_hand():
    d = run(small_account_rows())
    s1, s2 = math.sqrt(0.06), math.sqrt(0.045)
    expected = {"NVDA": 0.25 * 0.4 / s1 + 0.1 * 0.3 / s2, "AAPL": 0.25 * 0.1 / s1,
                "META": 0.1 * 0.15 / s2, "MSFT": -0.25 * 0.2 / s1 - 0.1 * 0.3 / s2,
                "GOOGL": -0.25 * 0.3 / s1 - 0.1 * 0.15 / s2}
    top = d.diagnostics.extras["top"]
    assert [t["symbol"] for t in top] == ["NVDA", "AAPL", "META", "MSFT", "GOOGL"]
    for t in top:
        assert t["score"] == pytest.approx(expected[t["symbol"]], abs=1e-12)


def test_small_account_10k_nvda_meta_boxx():
    # Tested reference example: $10k, risk_on 0.8 -> target $8,000 -> floor(8000/3000) = 2
    # names; caps max(.10, min(.40, .8/2)) = .40 and max(.40, .60) = .60; per-name target .40
    # -> slot cap floor(.60/.40) = 1 per sector: NVDA, AAPL skipped (IT full), META.
    d = run(small_account_rows(), equity=10_000.0)
    assert_targets(d, {"NVDA": 0.4, "META": 0.4, "BOXX": 0.2})
    x = d.diagnostics.extras
    assert x["target_stock_value"] == 8_000.0
    assert x["effective_holdings_count"] == 2 and x["requested_holdings_count"] == 8
    assert x["effective_single_name_cap"] == 0.4 and x["effective_sector_cap"] == 0.6
    assert x["sector_slot_cap"] == 1
    assert d.small_account is not None and d.small_account.small_account_warning is False


def test_small_account_1k_single_name():
    # $1k: target $800 -> floor(800/3000) = 0 -> max(1, 0) = 1 name; cap max(.1, min(.4, .8))
    # = .40 -> NVDA .40, BOXX .60.
    d = run(small_account_rows(), equity=1_000.0)
    assert_targets(d, {"NVDA": 0.4, "BOXX": 0.6})
    x = d.diagnostics.extras
    assert x["effective_holdings_count"] == 1 and x["target_stock_value"] == 800.0
    assert d.small_account.small_account_warning is True


def test_small_account_soft_defense_and_boundaries():
    # Soft (breadth 3/5 = .6 but trend down): exposure .6, $10k -> target 6,000 -> 2 names;
    # single cap max(.1, min(.4, .3)) = .3, sector cap .6, slot floor(.6/.3) = 2 -> NVDA, AAPL
    # (both IT) at min(.3, .6/2) = .3 each, BOXX .4.
    rows = small_account_rows()
    rows[2]["sma200_gap"] = rows[4]["sma200_gap"] = -0.1
    d = run(rows, equity=10_000.0, bench=qqq(sma200_gap=-0.01))
    assert d.diagnostics.regime == "soft_defense"
    assert_targets(d, {"NVDA": 0.3, "AAPL": 0.3, "BOXX": 0.4})
    assert d.diagnostics.extras["sector_slot_cap"] == 2
    # $30,000: target 24,000 -> floor(8) = 8 = holdings_count -> default caps kept.
    x = run(small_account_rows(), equity=30_000.0).diagnostics.extras
    assert (x["effective_holdings_count"], x["effective_single_name_cap"],
            x["effective_sector_cap"]) == (8, 0.1, 0.4)
    # $29,999: target 23,999.2 -> 7 names; cap max(.1, min(.4, .8/7)) = .8/7, sector .6.
    x = run(small_account_rows(), equity=29_999.0).diagnostics.extras
    assert x["effective_holdings_count"] == 7
    assert x["effective_single_name_cap"] == pytest.approx(0.8 / 7)
    assert x["effective_sector_cap"] == 0.6
    assert x["sector_slot_cap"] == 5  # floor(.6 / (.8/7)) = floor(5.25)
    # min_position_value_usd 0 switches the reduction off.
    x = run(small_account_rows(), equity=1_000.0, min_position_value_usd=0).diagnostics.extras
    assert x["effective_holdings_count"] == 8 and x["target_stock_value"] is None
    # Zero equity: target 0 -> defaults kept.
    x = run(small_account_rows(), equity=0.0).diagnostics.extras
    assert x["effective_holdings_count"] == 8 and x["target_stock_value"] == 0.0


# --------------------------------------------------------------------------------------------
# normalisation, whitelist, liquidity, tie-breaks, hold bonus
# --------------------------------------------------------------------------------------------
def normalization_rows() -> list[dict]:
    # Exact binary values so both sectors' z-scores are bitwise equal under "sector".
    # IT ex12 .125/.25/.375, Communication .5/.625/.75.
    return [stock("A1", IT, mom_12_1=0.125), stock("A2", IT, mom_12_1=0.25),
            stock("A3", IT, mom_12_1=0.375), stock("C1", COMM, mom_12_1=0.5),
            stock("C2", COMM, mom_12_1=0.625), stock("C3", COMM, mom_12_1=0.75)]


@pytest.mark.parametrize("normalization", ["universe_cross_sectional", "universe"])
def test_universe_normalization_uses_sector_median_for_rel_strength(normalization):
    # Universe z of ex12: mean .4375, std sqrt(2(.3125²+.1875²+.0625²)/6).
    # rel = ex12 - sector median (.25 / .625) = -.125, 0, .125 in each sector ->
    # std sqrt(4 * .125² / 6). C3: .25 * .3125/s1 + .1 * .125/s2 = .4880.
    # holdings_count 2, sector_cap .8: slot floor(.8/.4) = 2 -> C3, C2 (both Communication).
    d = run(normalization_rows(), holdings_count=2, sector_cap=0.8,
            normalization=normalization)
    s1 = math.sqrt(2 * (0.3125**2 + 0.1875**2 + 0.0625**2) / 6)
    s2 = math.sqrt(4 * 0.125**2 / 6)
    top = d.diagnostics.extras["top"]
    assert [t["symbol"] for t in top] == ["C3", "C2"]
    assert top[0]["score"] == pytest.approx(0.25 * 0.3125 / s1 + 0.1 * 0.125 / s2, abs=1e-12)
    assert top[1]["score"] == pytest.approx(0.25 * 0.1875 / s1, abs=1e-12)
    assert d.diagnostics.extras["normalization"] == normalization


def test_sector_normalization_scores_within_each_sector():
    # Per-sector z of ex12 and of rel: -sqrt(1.5), 0, sqrt(1.5) in both sectors, so
    # C3 and A3 tie at .35 * sqrt(1.5) = .4287; the tie-break excess_mom_12_1 puts C3 first.
    d = run(normalization_rows(), holdings_count=2, sector_cap=0.8, normalization="sector")
    top = d.diagnostics.extras["top"]
    assert [t["symbol"] for t in top] == ["C3", "A3"]
    assert top[0]["score"] == top[1]["score"] == pytest.approx(0.35 * math.sqrt(1.5),
                                                               abs=1e-12)


def test_single_sector_uses_universe_median_and_sector_normalization_is_universe():
    # One sector: rel = ex12 - universe median is a shift of ex12, so z(rel) = z(ex12) and
    # score = .35 z(ex12); values .1 .2 .3: z = ±sqrt(1.5) -> .35 sqrt(1.5) for the best.
    rows = [stock("A", IT, mom_12_1=0.1), stock("B", IT, mom_12_1=0.2),
            stock("C", IT, mom_12_1=0.3)]
    for norm in ("universe_cross_sectional", "sector"):
        top = run(rows, normalization=norm).diagnostics.extras["top"]
        assert [t["symbol"] for t in top] == ["C", "B", "A"]
        assert top[0]["score"] == pytest.approx(0.35 * math.sqrt(1.5), abs=1e-12)
        assert top[1]["score"] == pytest.approx(0.0, abs=1e-12)


def test_whitelist_accepts_both_communication_labels_as_one_sector():
    # Communication and Communication Services are one sector: with a slot cap of 1 only
    # the better of M1/M2 is taken; Health Care is outside the whitelist.
    rows = [stock("I1", IT, sma200_gap=0.1, mom_12_1=0.3),
            stock("M1", COMM, sma200_gap=0.1, mom_12_1=0.5),
            stock("M2", COMM_GICS, sma200_gap=0.1, mom_12_1=0.6),
            stock("H1", HC, sma200_gap=0.1, mom_12_1=0.9)]
    d = run(rows, equity=10_000.0)
    assert d.diagnostics.extras["candidate_count"] == 3
    assert d.diagnostics.extras["sector_slot_cap"] == 1
    assert d.diagnostics.extras["selected_symbols"] == ["M2", "I1"]
    # A whitelist written with the GICS label admits the iShares label too.
    d = run(rows, sector_whitelist=[IT, COMM_GICS])
    assert d.diagnostics.extras["candidate_count"] == 3
    # An empty whitelist admits every sector.
    d = run(rows, sector_whitelist=[])
    assert d.diagnostics.extras["candidate_count"] == 4
    d = run(rows, sector_whitelist=[HC])
    assert d.diagnostics.extras["selected_symbols"] == ["H1"]


def test_unknown_whitelist_label_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"Informaton Technology.*did you mean "
                                             r"'Information Technology'"):
        run([stock("A")], sector_whitelist=["Informaton Technology"])


def test_blank_sector_is_unknown_and_not_whitelisted():
    rows = [stock("A", None), stock("B", "  "), stock("C", IT)]
    d = run(rows)
    assert d.diagnostics.extras["candidate_count"] == 1
    d = run(rows, sector_whitelist=[])
    assert d.diagnostics.extras["candidate_count"] == 3


def test_liquidity_floor_is_inclusive():
    rows = [stock("EQ", adv20_usd=50_000_000.0), stock("LO", adv20_usd=49_999_999.99),
            stock("NA", adv20_usd=NAN), stock("HI", adv20_usd=5e9)]
    d = run(rows)
    assert d.diagnostics.extras["candidate_count"] == 2
    assert sorted(d.diagnostics.extras["selected_symbols"]) == ["EQ", "HI"]
    d = run(rows, min_adv20_usd=0)
    assert d.diagnostics.extras["candidate_count"] == 3  # NaN adv never passes


def test_nan_factors_are_not_excluded_and_score_zero():
    # B has every factor NaN except sma200_gap: all its z-scores are 0 -> score 0, while A
    # and C (ex12 .1 / .3, the only finite values) get -/+ .35 (z = ±1).
    rows = [stock("A", mom_12_1=0.1), stock("C", mom_12_1=0.3),
            stock("B", **{f: NAN for f in FACTORS if f != "sma200_gap"})]
    d = run(rows)
    top = {t["symbol"]: t["score"] for t in d.diagnostics.extras["top"]}
    assert top == pytest.approx({"C": 0.35, "B": 0.0, "A": -0.35}, abs=1e-12)
    assert d.diagnostics.extras["selected_symbols"] == ["C", "B", "A"]


def tie_rows(**overrides: dict) -> list[dict]:
    # Each name alone in its sector + "sector" normalisation: every z-score is 0 (single
    # member), rel = ex12 - own median = 0, so the score is 0 (+ hold bonus) and the order
    # comes from the tie-breaks only.
    sectors = {"A": IT, "B": COMM, "C": HC, "D": "Energy"}
    return [stock(s, sectors[s], **overrides.get(s, {})) for s in sorted(sectors)]


TIE = {"sector_whitelist": [], "normalization": "sector"}


def test_tie_break_excess_momentum_then_trend_strength_then_symbol():
    d = run(tie_rows(A={"mom_12_1": 0.1}, B={"mom_12_1": 0.3}, C={"mom_12_1": 0.2},
                     D={"mom_12_1": NAN}), **TIE)
    assert d.diagnostics.extras["selected_symbols"] == ["B", "C", "A", "D"]  # NaN last
    d = run(tie_rows(A={"breakout_252": -0.1}, B={"breakout_252": -0.3},
                     C={"breakout_252": 0.0}, D={"ma50_over_ma200": 0.05}), **TIE)
    # trend_strength: A -.035, B -.105, C 0, D .01 -> D, C, A, B
    assert d.diagnostics.extras["selected_symbols"] == ["D", "C", "A", "B"]
    d = run(tie_rows(), **TIE)
    assert d.diagnostics.extras["selected_symbols"] == ["A", "B", "C", "D"]


def test_hold_bonus_lifts_current_holdings():
    d = run(tie_rows(A={"mom_12_1": 0.1}, B={"mom_12_1": 0.3}), held=("A",), **TIE)
    x = d.diagnostics.extras
    assert x["selected_symbols"] == ["A", "B", "C", "D"]
    assert x["top"][0] == {"symbol": "A", "score": 0.1}
    # Universe normalisation: ex12 .1/.2/.3 in one sector gives scores -.4287, 0, .4287;
    # a .5 bonus lifts A (-.4287 + .5 = .0713) above B (0) but not above C.
    rows = [stock("A", mom_12_1=0.1), stock("B", mom_12_1=0.2), stock("C", mom_12_1=0.3)]
    d = run(rows, held=("A",), hold_bonus=0.5)
    assert d.diagnostics.extras["selected_symbols"] == ["C", "A", "B"]
    assert d.diagnostics.extras["top"][1]["score"] == pytest.approx(
        0.5 - 0.35 * math.sqrt(1.5), abs=1e-12)


def test_held_unselected_managed_symbols_are_liquidated_explicitly():
    # $10k -> 2 names (NVDA, META). AAPL is held and managed -> 0.0; QQQ (benchmark) and
    # XYZ (not in the snapshot) are not managed and are left alone.
    d = run(small_account_rows(), equity=10_000.0, held=("AAPL", "QQQ", "XYZ"))
    assert_targets(d, {"NVDA": 0.4, "META": 0.4, "BOXX": 0.2, "AAPL": 0.0})
    managed = d.diagnostics.extras["managed_symbols"]
    assert "QQQ" not in managed and "BOXX" in managed and "AAPL" in managed
    # hard defense: everything to BOXX, held names liquidated explicitly
    d = run(trend_up(6, 14), held=("SA00",), bench=qqq(sma200_gap=-0.1))
    assert_targets(d, {"BOXX": 1.0, "SA00": 0.0})


# --------------------------------------------------------------------------------------------
# execution window
# --------------------------------------------------------------------------------------------
ALLOWED = "outside_monthly_execution_window snapshot=2026-03-31 allowed=2026-04-01,2026-04-02," \
          "2026-04-06"


@pytest.mark.parametrize("run_date", [dt.date(2026, 4, 1), dt.date(2026, 4, 2),
                                      dt.date(2026, 4, 6)])
def test_execution_window_in(run_date):
    # 2026-04-06 is the third session after 2026-03-31: Good Friday 2026-04-03 is skipped.
    d = run(trend_up(10, 0), run_date=run_date)
    assert d.actionable and d.diagnostics.signal == "rebalance"


@pytest.mark.parametrize("run_date", [dt.date(2026, 3, 31), dt.date(2026, 4, 3),
                                      dt.date(2026, 4, 7), dt.date(2026, 4, 10)])
def test_execution_window_out(run_date):
    d = run(trend_up(10, 0), run_date=run_date)
    assert not d.actionable and d.positions == ()
    assert d.risk_flags == (RiskFlag.NO_EXECUTE,)
    assert d.no_op_reason == ALLOWED
    assert d.diagnostics.signal == "waiting_execution_window"
    assert d.diagnostics.regime is None
    x = d.diagnostics.extras
    assert x["execution_window"] == ["2026-04-01", "2026-04-02", "2026-04-06"]
    assert x["no_op_reason"] == ALLOWED and x["execution_calendar_source"] == "nyse_calendar"
    assert "BOXX" in x["managed_symbols"]


def test_execution_window_of_zero_or_longer():
    d = run(trend_up(10, 0), runtime_execution_window_trading_days=0)
    assert not d.actionable
    assert d.no_op_reason == "no_execution_window_after_snapshot:2026-03-31"
    assert d.diagnostics.extras["execution_window"] == []
    d = run(trend_up(10, 0), run_date=dt.date(2026, 4, 10),
            runtime_execution_window_trading_days=5)  # 04-01 02 06 07 08
    assert not d.actionable
    d = run(trend_up(10, 0), run_date=dt.date(2026, 4, 10),
            runtime_execution_window_trading_days=7)  # ... 09 10
    assert d.actionable


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_missing_benchmark_row_is_a_snapshot_error():
    snap = snapshot([stock("A")], with_bench=False)
    with pytest.raises(SnapshotError, match=r"required row symbol='QQQ' is missing"):
        runner.evaluate(snap, context())


def test_benchmark_symbol_parameter_selects_the_row():
    # Reference hard-codes QQQ; ours follows benchmark_symbol.
    spy = stock("SPY", "benchmark", close=400.0, sma200_gap=-0.05, mom_12_1=0.2,
                base_eligible=False)
    snap = snapshot([stock("A", mom_12_1=0.1), stock("B", mom_12_1=0.3), spy])
    d = runner.evaluate(snap, context(benchmark_symbol="SPY"))
    assert d.diagnostics.benchmark_symbol == "SPY" and d.diagnostics.benchmark_price == 400.0
    assert d.diagnostics.extras["benchmark_trend_positive"] is False
    assert "QQQ" in d.diagnostics.extras["managed_symbols"]  # every symbol but the benchmark
    with pytest.raises(SnapshotError, match="'SPY' is missing"):
        runner.evaluate(snapshot([stock("A")]), context(benchmark_symbol="SPY"))


def test_nan_benchmark_momentum_gives_zero_excess_scores():
    # QQQ mom_12_1 NaN -> every excess_mom_12_1 (and rel) NaN -> z 0; only excess_mom_6_1
    # varies: .1/.3 -> z ±1 -> scores ±.20.
    d = run([stock("A", mom_12_1=0.5, mom_6_1=0.1), stock("B", mom_12_1=0.1, mom_6_1=0.3)],
            bench=qqq(mom_12_1=NAN))
    assert d.diagnostics.extras["top"] == [{"symbol": "B", "score": pytest.approx(0.2)},
                                           {"symbol": "A", "score": pytest.approx(-0.2)}]


@pytest.mark.parametrize(("key", "value"), [
    ("score_template", "momentum_only"), ("normalization", "industry"), ("holdings_count", 0),
    ("single_name_cap", 0), ("sector_cap", 0.0), ("min_position_value_usd", -1),
    ("max_dynamic_single_name_cap", 0), ("max_dynamic_sector_cap", 0),
    ("risk_on_exposure", 1.2), ("benchmark_symbol", "BOXX"), ("execution_cash_reserve_ratio", 0),
])
def test_invalid_parameters(key, value):
    with pytest.raises(ParameterError, match=key if key != "benchmark_symbol" else "differ"):
        run([stock("A")], **{key: value})


def test_duplicate_symbols_and_bad_numbers_are_snapshot_errors():
    snap = snapshot([stock("A"), stock("A")])
    with pytest.raises(SnapshotError, match="duplicate symbol"):
        runner.evaluate(snap, context())
    snap = snapshot([stock("A", mom_6_1="abc")])
    with pytest.raises(SnapshotError, match="'mom_6_1': not a number"):
        runner.evaluate(snap, context())
    frame = snapshot([stock("A")]).frame.drop(columns=["rebound_20"])
    bad = Snapshot.from_frame(frame, profile=PROFILE, as_of=SNAP_AS_OF, contract_version=CONTRACT)
    with pytest.raises(SnapshotError, match="missing required columns: rebound_20"):
        runner.evaluate(bad, context())


def test_stale_snapshot_is_rejected():
    # max_age_months = 1: a 2026-01-30 snapshot cannot be evaluated on 2026-04-01.
    snap = snapshot([stock("A")], as_of=dt.date(2026, 1, 30))
    with pytest.raises(SnapshotError, match="calendar months older"):
        runner.evaluate(snap, context())


def test_alias_resolves():
    assert registry.resolve("qqq_tech_enhancement") == PROFILE
    d = runner.evaluate(snapshot(trend_up(3, 0)), context(), "qqq_tech_enhancement")
    assert d.profile == PROFILE


# --------------------------------------------------------------------------------------------
# properties: a slow restatement of the rules agrees; invariants hold
# --------------------------------------------------------------------------------------------
def slow_sector(label) -> str:
    text = "" if label is None else str(label).strip()
    text = text or "unknown"
    return "Communication" if text in (COMM, COMM_GICS) else text


def slow_z(values: list[float]) -> list[float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite or max(finite) == min(finite):
        return [0.0] * len(values)
    mean = statistics.fmean(finite)
    scale = max(abs(v - mean) for v in finite)  # tiny (subnormal) values must not underflow
    std = math.sqrt(sum(((v - mean) / scale) ** 2 for v in finite) / len(finite))
    return [(v - mean) / scale / std if math.isfinite(v) else 0.0 for v in values]


def slow_decision(rows: list[dict], params: dict, equity: float | None, held: set[str]):
    """Plain-Python restatement of profiles.md §2.3 steps 1-11: (ranking, weights)."""
    p = {**DEFAULTS, **params}
    q = next(r for r in rows if r["symbol"] == p["benchmark_symbol"])
    wl = {slow_sector(s) for s in p["sector_whitelist"]}
    cands = [r for r in rows if r["symbol"] not in (p["benchmark_symbol"], p["safe_haven"])
             and r["base_eligible"] is True and r["adv20_usd"] >= p["min_adv20_usd"]
             and (not wl or slow_sector(r["sector"]) in wl)]
    trend = q["sma200_gap"] > 0
    breadth = sum(r["sma200_gap"] > 0 for r in cands) / len(cands) if cands else 0.0
    if not trend and breadth < p["hard_breadth_threshold"]:
        exposure = p["hard_defense_exposure"]
    elif not trend or breadth < p["soft_breadth_threshold"]:
        exposure = p["soft_defense_exposure"]
    else:
        exposure = p["risk_on_exposure"]
    count, single, sector_cap = p["holdings_count"], p["single_name_cap"], p["sector_cap"]
    if equity is not None and p["min_position_value_usd"] > 0 and exposure > 0 \
            and equity * exposure > 0:
        by_value = max(1, math.floor(equity * exposure / p["min_position_value_usd"]))
        eff = max(1, min(count, by_value))
        if eff < count:
            single = max(single, min(p["max_dynamic_single_name_cap"], exposure / eff))
            sector_cap = max(sector_cap, p["max_dynamic_sector_cap"])
            count = eff
    if not cands or exposure <= 0:
        return [], {}, (count, single, sector_cap)
    fam = {k: [] for k in ("ex12", "ex6", "ts", "cps", "rc", "rel", "vol", "dd")}
    for r in cands:
        fam["ex12"].append(r["mom_12_1"] - q["mom_12_1"])
        fam["ex6"].append(r["mom_6_1"] - q["mom_6_1"])
        fam["ts"].append(0.45 * r["sma200_gap"] + 0.35 * r["breakout_252"]
                         + 0.20 * r["ma50_over_ma200"])
        fam["cps"].append(-0.55 * abs(r["dist_63_high"] + 0.08)
                          - 0.25 * abs(r["dist_126_high"] + 0.12)
                          - 0.10 * (max(0.0, -r["sma50_gap"]) if math.isfinite(r["sma50_gap"])
                                    else NAN)
                          - 0.10 * (max(0.0, -r["sma200_gap"])
                                    if math.isfinite(r["sma200_gap"]) else NAN))
        fam["rc"].append(0.40 * r["sma20_gap"] + 0.35 * r["sma50_gap"] + 0.25 * r["rebound_20"])
        fam["vol"].append(r["vol_63"])
        fam["dd"].append(abs(r["maxdd_126"]))
    sectors = [slow_sector(r["sector"]) for r in cands]
    multi = len(set(sectors)) > 1
    for i in range(len(cands)):
        group = [fam["ex12"][j] for j in range(len(cands))
                 if (sectors[j] == sectors[i] or not multi) and math.isfinite(fam["ex12"][j])]
        fam["rel"].append(fam["ex12"][i] - statistics.median(group) if group else NAN)
    weights = {"ex12": 0.25, "ex6": 0.20, "ts": 0.15, "cps": 0.15, "rc": 0.10, "rel": 0.10,
               "vol": -0.03, "dd": -0.02}
    scores = [0.0] * len(cands)
    by_sector = p["normalization"] == "sector" and multi
    for name, w in weights.items():
        z = [0.0] * len(cands)
        for g in (set(sectors) if by_sector else {None}):
            members = [i for i in range(len(cands)) if g is None or sectors[i] == g]
            for i, v in zip(members, slow_z([fam[name][i] for i in members]), strict=True):
                z[i] = v
        scores = [s + w * v for s, v in zip(scores, z, strict=True)]
    scores = [s + (p["hold_bonus"] if r["symbol"] in held else 0.0)
              for s, r in zip(scores, cands, strict=True)]

    def key(i):
        ex, ts = fam["ex12"][i], fam["ts"][i]
        return (-scores[i], not math.isfinite(ex), -ex if math.isfinite(ex) else 0,
                not math.isfinite(ts), -ts if math.isfinite(ts) else 0, cands[i]["symbol"])
    order = sorted(range(len(cands)), key=key)
    slot = max(1, math.floor(sector_cap / (exposure / count)))
    taken: dict[str, int] = {}
    chosen = []
    for i in order:
        if len(chosen) >= count:
            break
        if taken.get(sectors[i], 0) < slot:
            taken[sectors[i]] = taken.get(sectors[i], 0) + 1
            chosen.append(i)
    per_name = min(single, exposure / len(chosen))
    ranking = [(cands[i]["symbol"], scores[i]) for i in order]
    return ranking, {cands[i]["symbol"]: per_name for i in chosen}, (count, single, sector_cap)


finite_or_nan = st.one_of(st.floats(-0.6, 0.6, allow_nan=False), st.just(NAN))
row_strategy = st.fixed_dictionaries({
    "sector": st.sampled_from([IT, COMM, COMM_GICS, HC, None]),
    "adv20_usd": st.sampled_from([NAN, 4e7, 5e7, 2e8]),
    "base_eligible": st.sampled_from([True, True, True, False, NAN]),
    **{f: finite_or_nan for f in FACTORS},
})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rows=st.lists(row_strategy, max_size=14),
       bench=st.fixed_dictionaries({"sma200_gap": finite_or_nan, "mom_6_1": finite_or_nan,
                                    "mom_12_1": finite_or_nan}),
       equity=st.one_of(st.none(), st.floats(0, 150_000)),
       held_mask=st.integers(0, 2**14 - 1),
       params=st.fixed_dictionaries({
           "normalization": st.sampled_from(["universe_cross_sectional", "universe", "sector"]),
           "holdings_count": st.integers(1, 10),
           "hold_bonus": st.sampled_from([0.0, 0.1, 0.3]),
           "sector_whitelist": st.sampled_from([[IT, COMM], [], [COMM_GICS], [IT, HC]]),
           "soft_defense_exposure": st.sampled_from([0.6, 0.25, 1.0]),
           "sector_cap": st.sampled_from([0.4, 0.2, 0.9]),
       }))
def test_property_matches_slow_rules_and_invariants(rows, bench, equity, held_mask, params):
    stocks = [stock(f"S{i:02d}", **r) for i, r in enumerate(rows)]
    held = {s["symbol"] for i, s in enumerate(stocks) if held_mask >> i & 1}
    d = runner.evaluate(snapshot(stocks, bench=qqq(**bench)),
                        context(equity, tuple(sorted(held)), **params))
    again = runner.evaluate(snapshot(stocks, bench=qqq(**bench)),
                            context(equity, tuple(sorted(held)), **params))
    assert d.model_dump() == again.model_dump()  # deterministic
    assert d.actionable
    targets = d.targets()
    assert sum(targets.values()) == pytest.approx(1.0, abs=1e-9)
    x = d.diagnostics.extras
    risk = {s: w for s, w in targets.items() if s != "BOXX" and w > 0}
    assert len(risk) <= x["effective_holdings_count"] <= params["holdings_count"]
    assert all(w <= x["effective_single_name_cap"] + 1e-12 for w in risk.values())
    by_sector: dict[str, int] = {}
    for s in risk:
        sec = slow_sector(next(r["sector"] for r in stocks if r["symbol"] == s))
        by_sector[sec] = by_sector.get(sec, 0) + 1
    if risk:
        assert max(by_sector.values()) <= x["sector_slot_cap"]
    assert {s for s, w in targets.items() if w == 0 and s != "BOXX"} <= held
    # the slow restatement agrees (skip near-ties that floating point may order either way)
    all_rows = [*stocks, boxx(), qqq(**bench)]
    ranking, weights, limits = slow_decision(all_rows, params, equity, held)
    distinct = sorted({round(s, 15) for _, s in ranking})
    assume(all(b - a > 1e-9 for a, b in itertools.pairwise(distinct)))
    assert (x["effective_holdings_count"], x["effective_single_name_cap"],
            x["effective_sector_cap"]) == pytest.approx(limits)
    assert risk == pytest.approx(weights)
    assert x["selected_symbols"] == list(weights)
    for t in x["top"]:
        assert t["score"] == pytest.approx(dict(ranking)[t["symbol"]], abs=1e-9)


def test_evaluate_is_pure_and_deterministic():
    rng = np.random.default_rng(7)
    rows = [stock(f"S{i:03d}", (IT, COMM_GICS)[i % 2], sma200_gap=float(rng.normal(0.05, 0.1)),
                  **{f: float(rng.normal(0, 0.1)) for f in FACTORS if f != "sma200_gap"})
            for i in range(100)]
    snap = snapshot(rows)
    loaded = registry.load(PROFILE)
    params = resolve_parameters(loaded.parameters_model, MANIFEST.parameters, {}, PROFILE)
    frame = validate_snapshot(snap, MANIFEST)
    before = frame.copy()
    inputs = ProfileInputs(frame=frame, snapshot_as_of=SNAP_AS_OF,
                           context=context(50_000.0, ("S001", "S002")), params=params,
                           profile=PROFILE, profile_version=MANIFEST.version,
                           target_mode=MANIFEST.target_mode)
    first = loaded.evaluate(inputs)
    assert loaded.evaluate(inputs).to_json() == first.to_json()
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------------------------
# builder (features.md §4.2 and the worked examples of §5)
# --------------------------------------------------------------------------------------------
TOY_AS_OF = dt.date(2025, 2, 24)
TOY_UNIVERSE = pd.DataFrame({"symbol": ["AAA", "GEO"], "sector": [IT, COMM]})


def toy_prices(extra: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> pd.DataFrame:
    """features.md §5.1: 300 weekdays from 2024-01-02 (no holidays), t = 0..299."""
    dates = pd.bdate_range("2024-01-02", periods=300)
    t = np.arange(300)
    series = {
        "AAA": (100 * (1 + 0.001 * t) * (1 + 0.05 * np.sin(2 * np.pi * t / 50)),
                1e6 + 1e4 * (t % 7)),
        "GEO": (100 * 1.001**t, np.full(300, 1e6)),
        "QQQ": (100 * (1 + 0.0008 * t), np.full(300, 5e7)),
        "SPY": (100 * (1 + 0.0005 * t), np.full(300, 5e7)),
        "BOXX": (100 * (1 + 0.0002 * t), np.full(300, 1e6)),
        **(extra or {}),
    }
    frames = [pd.DataFrame({"date": dates, "symbol": s, "close": c, "volume": v})
              for s, (c, v) in series.items()]
    return normalize_prices(pd.concat(frames, ignore_index=True))


# features.md §5.1 expected values at 2025-02-24 (10 significant digits).
TOY_EXPECTED = {
    "AAA": {"close": 129.0859606, "adv20_usd": 127_768_701, "mom_6_1": 0.07558128184,
            "mom_12_1": 0.2303974643, "sma20_gap": 0.03913049829, "sma50_gap": 0.0131519782,
            "sma200_gap": 0.07652136466, "ma50_over_ma200": 0.06254677267,
            "vol_63": 0.06867336773, "maxdd_126": -0.07790143207,
            "breakout_252": -0.0265601872, "dist_63_high": -0.0265601872,
            "dist_126_high": -0.0265601872, "rebound_20": 0.03418365042},
    "GEO": {"close": 134.8308171, "adv20_usd": 133_558_841.5, "mom_6_1": 1.001**126 - 1,
            "mom_12_1": 1.001**252 - 1, "sma20_gap": 0.009523709455,
            "sma50_gap": 0.02468345382, "sma200_gap": 0.1027266411,
            "ma50_over_ma200": 0.07616321601, "vol_63": 0.0, "maxdd_126": 0.0,
            "breakout_252": 0.0, "dist_63_high": 0.0, "dist_126_high": 0.0,
            "rebound_20": 0.02019114486},
    "QQQ": {"close": 123.92, "adv20_usd": 6.158e9, "mom_6_1": 0.08987161198,
            "mom_12_1": 0.197492163, "sma20_gap": 0.006170834687, "sma50_gap": 0.0160708429,
            "sma200_gap": 0.06864436012, "ma50_over_ma200": 0.05174197999,
            "vol_63": 1.254762624e-4, "maxdd_126": 0.0, "rebound_20": 0.01308044474},
    "SPY": {"close": 114.95, "adv20_usd": 5.72375e9, "mom_12_1": 0.1243830207},
    "BOXX": {"close": 105.98, "adv20_usd": 105_790_000, "mom_6_1": 0.02445652174},
}


def built(prices: pd.DataFrame, as_of: dt.date = TOY_AS_OF, universe=TOY_UNIVERSE, **overrides):
    return build_snapshot(PROFILE, prices, as_of, overrides, universe=universe)


def test_builder_reproduces_the_worked_example():
    snap = built(toy_prices())
    frame = snap.frame
    assert tuple(frame.columns) == COLUMNS
    assert frame["symbol"].tolist() == ["AAA", "BOXX", "GEO", "QQQ", "SPY"]
    assert frame["sector"].tolist() == [IT, "defense", COMM, "benchmark", "benchmark"]
    assert (frame["as_of"] == "2025-02-24").all()
    assert (frame["history_days"] == 300).all()
    rows = frame.set_index("symbol")
    for sym, expected in TOY_EXPECTED.items():
        for col, value in expected.items():
            assert rows.at[sym, col] == pytest.approx(value, rel=1e-9, abs=1e-12), (sym, col)
    # AAA and GEO eligible; the three extra rows are always forced ineligible.
    assert rows["base_eligible"].to_dict() == {"AAA": True, "BOXX": False, "GEO": True,
                                               "QQQ": False, "SPY": False}
    assert snap.builder_parameters == {
        "benchmark_symbol": "QQQ", "min_adv20_usd": 50_000_000.0, "min_close": 10.0,
        "min_history_days": 252, "safe_haven": "BOXX", "sector_whitelist": [IT, COMM]}


def test_built_toy_snapshot_evaluates_by_hand():
    # Two candidates in two sectors, risk_on (QQQ gap .069 > 0, breadth 1): every factor
    # that differs has z = ±1; rel_strength is 0 for both (each alone in its sector).
    # GEO: +.25 (ex12) +.20 (ex6) +.15 (trend .0615 > .0376) -.15 (pullback -.074 < -.0527)
    # -.10 (recovery .0175 < .0288) +.03 (lower vol) +.02 (smaller drawdown) = .40; AAA -.40.
    # 2 names x min(.10, .8/2) = .2 -> BOXX .8.
    d = runner.evaluate(built(toy_prices()), EvaluationContext(as_of=dt.date(2025, 2, 25)))
    assert d.diagnostics.regime == "risk_on"
    assert d.diagnostics.extras["top"] == [{"symbol": "GEO", "score": pytest.approx(0.40)},
                                           {"symbol": "AAA", "score": pytest.approx(-0.40)}]
    assert_targets(d, {"GEO": 0.1, "AAA": 0.1, "BOXX": 0.8})


def test_builder_uses_the_rolling_maxdd():
    # features.md §5.2: VEE peaks at 132 (t=160), falls to 92.4 (t=200), recovers to 125.4.
    # Rolling version: 92.4/132 - 1 = -0.30; the window version would give -0.2178770950.
    t = np.arange(300, dtype=float)
    vee = np.where(t <= 160, 100 * (1 + 0.002 * t),
                   np.where(t <= 200, 132 - (132 - 92.4) * (t - 160) / 40,
                            92.4 + (125.4 - 92.4) * (t - 200) / 99))
    px = toy_prices({"VEE": (vee, np.full(300, 1e6))})
    uni = pd.DataFrame({"symbol": ["AAA", "VEE"], "sector": [IT, IT]})
    rows = built(px, universe=uni).frame.set_index("symbol")
    assert rows.at["VEE", "maxdd_126"] == pytest.approx(-0.30, abs=1e-12)
    window = features.features_at(features.feature_panel(px, ["maxdd_126"]), TOY_AS_OF)
    assert window.set_index("symbol").at["VEE", "maxdd_126"] == pytest.approx(
        -0.2178770950, abs=1e-9)


@pytest.mark.parametrize("as_of", [dt.date(2024, 6, 28), dt.date(2025, 1, 15), TOY_AS_OF])
def test_builder_truncation_invariance(as_of):
    px = toy_prices()
    params = resolve_parameters(registry.load(PROFILE).parameters_model, DEFAULTS, {}, PROFILE)
    full = builder.build(px, as_of, params, universe=TOY_UNIVERSE)
    cut = builder.build(px[px["date"] <= np.datetime64(as_of)], as_of, params,
                        universe=TOY_UNIVERSE)
    later = px.copy()
    later.loc[later["date"] > np.datetime64(as_of), "close"] *= 3.0  # future rows change
    shifted = builder.build(later, as_of, params, universe=TOY_UNIVERSE)
    from_panel = builder.build_from_panel(builder.panel(px), as_of, params, TOY_UNIVERSE)
    for other in (cut, shifted, from_panel):
        pd.testing.assert_frame_equal(full, other)


def test_builder_eligibility_rules():
    base = toy_prices()
    px = base.copy()
    # KAY: GEO's path scaled to close exactly 10 at as_of (close > 10 is strict).
    geo = px[px["symbol"] == "GEO"]
    kay = geo.assign(symbol="KAY", close=geo["close"] * 10 / geo["close"].iloc[-1],
                     volume=1e9)
    short = geo.iloc[-273:].assign(symbol="SHO")  # 273 rows: mom_12_1 NaN
    px = normalize_prices(pd.concat([px, kay, short], ignore_index=True))
    uni = pd.DataFrame({"symbol": ["AAA", "GEO", "KAY", "SHO", "HCX"],
                        "sector": [IT, COMM_GICS, IT, IT, HC]})
    rows = built(px, universe=uni).frame.set_index("symbol")
    assert "HCX" not in rows.index  # Health Care is outside the whitelist
    assert rows.at["GEO", "sector"] == COMM_GICS  # the GICS label is kept as given
    assert rows.at["KAY", "close"] == pytest.approx(10.0)
    assert not rows.at["KAY", "base_eligible"]
    assert math.isnan(rows.at["SHO", "mom_12_1"]) and not rows.at["SHO", "base_eligible"]
    assert rows.at["SHO", "history_days"] == 273
    assert rows.at["GEO", "base_eligible"] and rows.at["AAA", "base_eligible"]
    # adv20 == floor passes (>=): GEO's adv is 133,558,841.5
    adv = rows.at["GEO", "adv20_usd"]
    assert built(px, universe=uni, min_adv20_usd=adv).frame.set_index(
        "symbol").at["GEO", "base_eligible"]
    assert not built(px, universe=uni, min_adv20_usd=adv * (1 + 1e-12)).frame.set_index(
        "symbol").at["GEO", "base_eligible"]
    # history floor: 300 rows pass min_history_days 300, not 301
    for floor, ok in ((300, True), (301, False)):
        rows = built(px, universe=uni, min_history_days=floor).frame.set_index("symbol")
        assert bool(rows.at["GEO", "base_eligible"]) is ok


def test_builder_point_in_time_membership_and_dedup():
    uni = pd.DataFrame({
        "symbol": ["AAA", "GEO", "GEO", "OLD"],
        "sector": [IT, HC, COMM, IT],
        "start_date": ["2024-01-01", "2024-01-01", "2025-01-01", "2024-01-01"],
        "end_date": ["", "", "", "2025-02-23"],  # OLD left the day before as_of
    })
    px = toy_prices({"OLD": (np.full(300, 50.0), np.full(300, 1e6))})
    rows = built(px, universe=uni).frame.set_index("symbol")
    assert "OLD" not in rows.index
    assert rows.at["GEO", "sector"] == COMM  # the last active row wins
    earlier = built(px, as_of=dt.date(2024, 12, 31), universe=uni).frame
    assert "GEO" not in set(earlier["symbol"])  # only its Health Care row was active


def test_builder_missing_volume_is_not_guessed():
    px = toy_prices()
    last_rows = (px["symbol"] == "AAA") & (px["date"] > np.datetime64("2025-02-10"))
    px.loc[last_rows, "volume"] = np.nan
    rows = built(px).frame.set_index("symbol")
    assert math.isnan(rows.at["AAA", "adv20_usd"]) and not rows.at["AAA", "base_eligible"]
    assert math.isnan(rows.at["AAA", "volume"])
    # Explicit research option: the last known adv20 (2025-02-10, 20 rows with volume).
    params = resolve_parameters(registry.load(PROFILE).parameters_model, DEFAULTS, {}, PROFILE)
    pan = builder.panel(px, carry_forward_adv=True)
    at = builder.build_from_panel(pan, TOY_AS_OF, params, TOY_UNIVERSE).set_index("symbol")
    aaa = px[(px["symbol"] == "AAA") & (px["date"] <= np.datetime64("2025-02-10"))].tail(20)
    assert at.at["AAA", "adv20_usd"] == pytest.approx((aaa["close"] * aaa["volume"]).mean(),
                                                      rel=1e-12)
    assert at.at["AAA", "base_eligible"]


def test_builder_bad_universe_and_prices():
    px = toy_prices()
    with pytest.raises(UniverseError, match=r"unknown sector labels.*'Tech'"):
        built(px, universe=pd.DataFrame({"symbol": ["AAA"], "sector": ["Tech"]}))
    with pytest.raises(UniverseError, match="empty universe"):
        built(px, universe=pd.DataFrame({"symbol": ["AAA"], "sector": [HC]}))
    with pytest.raises(UniverseError, match="empty universe"):
        built(px, universe=pd.DataFrame({"symbol": ["AAA"], "sector": [IT],
                                         "start_date": ["2025-03-01"]}))
    with pytest.raises(PriceHistoryError, match="benchmark QQQ has no rows"):
        built(px[px["symbol"] != "QQQ"])
    # A member without prices gets an ineligible row (history 0), not an error.
    rows = built(px, universe=pd.DataFrame({"symbol": ["AAA", "ZZZ"], "sector": [IT, IT]})
                 ).frame.set_index("symbol")
    assert rows.at["ZZZ", "history_days"] == 0 and not rows.at["ZZZ", "base_eligible"]


def test_reference_pipeline_csv_with_sidecar_loads_and_evaluates(tmp_path):
    # A file as the reference pipeline writes it: pandas to_csv (NaN empty, True/False), the
    # sidecar of features.md §6.2 (no builder_parameters), an empty base_eligible cell.
    frame = built(toy_prices()).frame.copy()
    frame["base_eligible"] = frame["base_eligible"].astype(object)
    frame.loc[frame["symbol"] == "BOXX", "base_eligible"] = np.nan
    path = tmp_path / f"{PROFILE}_feature_snapshot_latest.csv"
    data = frame.to_csv(index=False).encode()
    path.write_bytes(data)
    sidecar = {
        "manifest_type": "feature_snapshot", "contract_version": CONTRACT,
        "strategy_profile": PROFILE, "config_name": PROFILE,
        "config_path": "strategy_manifest_default",
        "config_sha256": "17f060f554c255febcbdd48276c99ba7417c25e3828980d3ba85b000356a46d8",
        "snapshot_path": f"data/output/{PROFILE}/{path.name}",
        "snapshot_sha256": hashlib.sha256(data).hexdigest(), "snapshot_as_of": "2025-02-24",
        "row_count": len(frame), "generated_at": "2025-02-25T00:46:03.123456+00:00",
        "source_project": "UsEquitySnapshotPipelines",
    }
    (tmp_path / f"{path.name}.manifest.json").write_text(
        json.dumps(sidecar, indent=2, sort_keys=True))
    snap = read_snapshot(path)
    assert snap.profile == PROFILE and snap.as_of == TOY_AS_OF
    d = runner.evaluate(snap, EvaluationContext(as_of=dt.date(2025, 2, 25)))
    assert_targets(d, {"GEO": 0.1, "AAA": 0.1, "BOXX": 0.8})
    # the legacy alias name in the sidecar resolves to the canonical profile
    sidecar["strategy_profile"] = "qqq_tech_enhancement"
    (tmp_path / f"{path.name}.manifest.json").write_text(json.dumps(sidecar))
    assert read_snapshot(path).profile == PROFILE


# --------------------------------------------------------------------------------------------
# real data: S&P 500 point-in-time members, every month-end 2018-2024
# --------------------------------------------------------------------------------------------
DATA = Path(__file__).parents[2].parent / "shared" / "data"


def real_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Universe (S&P 500 membership + current GICS sectors) and prices with volume.

    Prices: daily/adj_close.parquet (adjusted close) joined with the volume of
    daily/ohlcv.parquet. Stock volume there is in split-adjusted shares as of 2024-03 and pairs
    with ohlcv's own close, so it is rescaled to adjusted-close share units (``volume x ohlcv
    close / adj_close``: close x volume is then the traded dollar volume even for names that
    split later, such as NVDA); ETF rows without an ohlcv close keep their volume.
    Membership says FB until 2022-06-09 and META afterwards while prices are keyed META
    throughout, so FB is mapped to META.
    """
    members = universe.load_membership(DATA / "universe" / "sp500_membership.csv")
    members["symbol"] = members["symbol"].replace({"FB": "META"})
    table = universe.attach_sectors(members, universe.load_sectors(
        DATA / "universe" / "sectors.csv"))
    tech = table[table["sector"].isin([IT, COMM_GICS])]
    symbols = sorted({*tech["symbol"], "QQQ", "SPY", "BOXX"})
    start = ("date", ">=", pd.Timestamp("2016-06-01"))
    px = pd.read_parquet(DATA / "daily" / "adj_close.parquet",
                         filters=[("symbol", "in", symbols), start])
    vol = pd.read_parquet(DATA / "daily" / "ohlcv.parquet",
                          columns=["date", "symbol", "close", "volume"],
                          filters=[("symbol", "in", symbols), start])
    merged = px.merge(vol.rename(columns={"close": "raw_close"}), on=["date", "symbol"],
                      how="left")
    merged["volume"] = volume_on_close_basis(merged["close"], merged["volume"],
                                             merged["raw_close"])
    return table, normalize_prices(merged.drop(columns="raw_close"))


@pytest.mark.realdata
@pytest.mark.slow
def test_real_data_every_month_end_2018_2024():
    if not (DATA / "daily" / "adj_close.parquet").exists():
        pytest.skip("../shared/data is absent")
    table, px = real_inputs()
    # Stock volume stops on 2024-03-08: carry the last known adv20 forward (research option;
    # the default builder would make every later name ineligible).
    pan = builder.panel(px, carry_forward_adv=True)
    picks = {}
    for year in range(2018, 2025):
        for month in range(1, 13):
            as_of = calendar.last_session_of_month(year, month)
            snap = builder.snapshot_from_panel(pan, as_of, table)
            d = runner.evaluate(snap, EvaluationContext(as_of=calendar.next_session(as_of)))
            x = d.diagnostics.extras
            assert d.actionable and x["candidate_count"] > 0
            assert len(x["selected_symbols"]) <= 8
            assert sum(d.targets().values()) == pytest.approx(1.0, abs=1e-12)
            picks[as_of] = x["selected_symbols"]
    assert len(picks) == 84
    # Spot check against a from-scratch build on truncated prices (same snapshot).
    as_of = dt.date(2021, 6, 30)
    direct = build_snapshot(PROFILE, px, as_of, universe=table).frame
    params = resolve_parameters(registry.load(PROFILE).parameters_model, DEFAULTS, {}, PROFILE)
    pd.testing.assert_frame_equal(direct, builder.build_from_panel(
        builder.panel(px), as_of, params, table))


def test_render_uses_the_reference_wording():
    from us_equity_strategies import render

    d = run(small_account_rows(), equity=10_000.0)
    # NVDA .5497 and META .0707 (small_account_rows comment)
    assert render.signal_text(d) == ("regime=risk_on breadth=100.0% benchmark_trend=up "
                                     "target_stock=80.0% realized_stock=80.0% selected=2 "
                                     "top=NVDA(0.55), META(0.07)")
    assert render.status_text(d) == ("breadth=100.0% | target_stock=80.0% | "
                                     "realized_stock=80.0% | regime=risk_on | "
                                     "snapshot_as_of=2026-03-31")
    hold = run(trend_up(3, 0), run_date=dt.date(2026, 4, 10))
    assert render.signal_text(hold) == "monthly snapshot cadence | waiting inside execution window"
