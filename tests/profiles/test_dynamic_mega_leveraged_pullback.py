"""Tests of dynamic_mega_leveraged_pullback (spec/profiles.md §2.9) and its builder
(features.md §4.4 + the daily features of spec fix 1).

Decisions go through ``runner.evaluate``. Expected values come from the spec's [computed]
reference run (benchmark numbers, regimes, and -- with a fixture built to have the same size
multipliers and order -- the weights), from hand arithmetic in the comments, or from
``slow_*`` below: a plain-Python restatement of §2.9 (lists, ``statistics.pstdev``, sorted
tuples) that shares no code with the package.
"""

from __future__ import annotations

import datetime as dt
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

from us_equity_strategies import calendar, registry, runner
from us_equity_strategies.builders import build_snapshot
from us_equity_strategies.builders import dynamic_mega_leveraged_pullback as builder
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
from us_equity_strategies.prices import normalize_prices, truncate
from us_equity_strategies.snapshot import Snapshot, read_snapshot, validate_snapshot

PROFILE = "dynamic_mega_leveraged_pullback"
MANIFEST = registry.get_manifest(PROFILE)
CONTRACT = MANIFEST.snapshot.contract_version
LOADED = registry.load(PROFILE)
NAN = math.nan
DATA = Path(__file__).parents[3] / "shared" / "data"
PM4 = {"NVDA": "NVDL", "MSFT": "MSFU", "AAPL": "AAPU", "AMZN": "AMZU"}
N = 280
DATES = pd.bdate_range(end="2025-03-31", periods=N)  # 2025-03-31 is an NYSE session
AS_OF = DATES[-1].date()
IDX = np.arange(N, dtype=float)
FEATS = ("mom_20", "mom_63", "mom_126", "mom_252", "sma_50_gap", "sma_200_gap", "high_63_gap",
         "high_252_gap", "low_20_gap", "vol_63")


def params(**over):
    return resolve_parameters(LOADED.parameters_model, MANIFEST.parameters, over, PROFILE)


# --------------------------------------------------------------------------------------------
# slow, independent restatement of the spec
# --------------------------------------------------------------------------------------------
def slow_underlying(c: list[float]) -> dict[str, float]:
    n = len(c)

    def ret(k):
        return c[-1] / c[n - 1 - k] - 1 if n > k else NAN

    def gap(fn, w):
        return c[-1] / fn(c[-w:]) - 1 if n >= w else NAN

    rets = [c[j] / c[j - 1] - 1 for j in range(n - 63, n)] if n >= 64 else None
    return {"history_days": n, "underlying_close": c[-1], "mom_20": ret(20), "mom_63": ret(63),
            "mom_126": ret(126), "mom_252": ret(252),
            "sma_50_gap": gap(lambda w: math.fsum(w) / len(w), 50),
            "sma_200_gap": gap(lambda w: math.fsum(w) / len(w), 200),
            "high_63_gap": gap(max, 63), "high_252_gap": gap(max, 252),
            "low_20_gap": gap(min, 20),
            "vol_63": statistics.pstdev(rets) * math.sqrt(252) if rets else NAN}


def slow_atr(c, h, lo, period):
    tr = [h[0] - lo[0]] + [max(h[j] - lo[j], abs(h[j] - c[j - 1]), abs(lo[j] - c[j - 1]))
                           for j in range(1, len(c))]
    return math.fsum(tr[-period:]) / period


def slow_z(values):
    if max(values) == min(values):
        return [0.0] * len(values)
    mu, sd = statistics.fmean(values), statistics.pstdev(values)
    return [(v - mu) / sd for v in values]


def slow_rank(cands, bench_mom, held, bonus):
    """cands: dicts with product, underlying and the features; returns ranked dicts."""
    rows = []
    for c in cands:
        if c["history_days"] < 253:
            continue
        r = dict(c, rel=c["mom_126"] - bench_mom)
        if any(math.isnan(r[k]) for k in ("mom_63", "mom_126", "mom_252", "rel",
                                          "sma_200_gap", "vol_63", "high_63_gap")):
            continue
        d = abs(min(r["high_63_gap"], 0.0))
        r["depth"], r["quality"] = d, max(-1.0, min(1.0, 1 - abs(d - 0.10) / 0.10))
        if not (r["sma_200_gap"] > 0 and r["mom_126"] > 0):
            m = 0.0
        else:
            m = 0.45 if d < 0.02 else 0.85 if d < 0.06 else 1.25 if d < 0.16 else \
                0.75 if d < 0.28 else 0.0
            if r["mom_20"] > 0.18 or r["sma_50_gap"] > 0.16:
                m *= 0.5
            if r["sma_200_gap"] < 0.03:
                m *= 0.6
            if r["rel"] < -0.08:
                m *= 0.5
        r["mult"] = max(0.0, min(1.3, m))
        if r["mult"] > 0:
            rows.append(r)
    if not rows:
        return []
    zs = {k: slow_z([r[k] for r in rows]) for k in ("mom_126", "mom_252", "rel", "quality",
                                                    "vol_63")}
    for i, r in enumerate(rows):
        r["score"] = (0.35 * zs["mom_126"][i] + 0.20 * zs["mom_252"][i] + 0.20 * zs["rel"][i]
                      + 0.20 * zs["quality"][i] - 0.05 * zs["vol_63"][i]
                      + (bonus if r["product"] in held else 0.0))
    return sorted(rows, key=lambda r: (-r["score"], -r["quality"], -r["mom_126"],
                                       r["underlying"]))


def slow_weights(ranked, held, exposure, equity, p):
    if exposure <= 0:
        return {}
    count = p.holdings_count
    if equity is not None and p.min_position_value_usd > 0:
        target = equity * exposure
        count = 0 if target <= 0 else max(1, min(count, max(1, math.floor(
            target / p.min_position_value_usd))))
    if not ranked or count == 0:
        return {}
    names = [r["product"] for r in ranked]
    keep = [s for s in names[: count + p.hold_buffer] if s in held]
    chosen = (keep + [s for s in names if s not in keep])[:count]
    mult = {r["product"]: r["mult"] for r in ranked}
    raw = {s: min(p.single_name_cap, exposure / len(chosen) * mult[s]) for s in chosen}
    total = math.fsum(raw.values())
    scale = exposure / total if total > exposure else 1.0
    return {s: w * scale for s, w in raw.items() if w * scale > 1e-12}


# --------------------------------------------------------------------------------------------
# fixtures: the reference run's shape (4 products, linear trends then a pullback, QQQ ramp)
# --------------------------------------------------------------------------------------------
def trend_pullback(slope, peak, depth, knee=None, slope2=None):
    """100 + slope*i (slope2 after ``knee``) up to bar ``peak``, then a linear fall to
    ``depth`` below the peak at the last bar."""
    c = 100 + slope * IDX if knee is None else \
        np.where(IDX <= knee, 100 + slope * IDX, 100 + slope * knee + slope2 * (IDX - knee))
    tail = c[peak] * (1 - depth * (IDX - peak) / (N - 1 - peak))
    return np.where(IDX <= peak, c, tail)


UNDERLYINGS = {  # built so the multipliers and order equal the reference run's
    "NVDA": trend_pullback(1.0, 270, 0.052),   # depth 5.2% -> 0.85
    "MSFT": trend_pullback(0.5, 270, 0.03),    # depth 3% -> 0.85
    "AMZN": trend_pullback(0.4, 278, 0.01),    # depth 1% -> 0.45
    "AAPL": trend_pullback(0.6, 270, 0.07, knee=150, slope2=0.2),  # 1.25 x 0.5 (rel_mom)
}


def qqq(variant="ramp"):
    c = 100 + (0.035 if variant == "flat" else 0.25) * IDX
    if variant == "break":
        c = np.where(IDX > 260, c * 0.82, c)
    return c


def price_table(variant="ramp", extra=None, dates=DATES):
    q = qqq(variant)
    frames = [pd.DataFrame({"date": dates, "symbol": "QQQ", "close": q, "high": q * 1.005,
                            "low": q * 0.995})]
    for sym, c in {**UNDERLYINGS, **(extra or {})}.items():
        frames.append(pd.DataFrame({"date": dates[-len(c):], "symbol": sym, "close": c}))
    return normalize_prices(pd.concat(frames, ignore_index=True))


UNIVERSE = pd.DataFrame({"symbol": ["NVDA", "MSFT", "AAPL", "AMZN"],
                         "sector": "Information Technology", "weight": [4.0, 3.0, 2.0, 1.0]})


def ref_snapshot(variant="ramp", **over):
    return build_snapshot(PROFILE, price_table(variant), AS_OF, {"product_map": PM4, **over},
                          universe=UNIVERSE)


def context(equity=20_000.0, held=(), as_of=AS_OF, **over):
    positions = tuple(Holding(symbol=s, quantity=10, market_value=1000.0) for s in held)
    return EvaluationContext(as_of=as_of, portfolio=None if equity is None else Portfolio(
        total_equity=equity, cash=equity, positions=positions), holdings=tuple(held),
        parameters={"product_map": PM4, **over})


def decide(snapshot, ctx):
    return runner.evaluate(snapshot, ctx)


def slow_expected(variant, held=(), equity=20_000.0):
    prices = price_table(variant)
    q = prices[prices.symbol == "QQQ"]
    cq = q.close.tolist()
    bench_mom = cq[-1] / cq[-127] - 1
    cands = [dict(product=PM4[u], underlying=u, **slow_underlying(c.tolist()))
             for u, c in UNDERLYINGS.items()]
    return slow_rank(cands, bench_mom, set(held), 0.05)


# --------------------------------------------------------------------------------------------
# the [computed] reference run
# --------------------------------------------------------------------------------------------
def test_reference_run_benchmark_numbers_exact():
    snap = ref_snapshot()
    bench = snap.frame[snap.frame.symbol == "QQQ"].iloc[0]
    # close = 100 + 0.25*279; SMA = mean(i = 80..279) = 100 + 0.25*179.5
    assert bench.benchmark_close == 169.75
    assert bench.benchmark_sma == pytest.approx(144.875, rel=1e-14)
    # TR = 0.01*C (the range beats |H - C[t-1]| = 0.005*C + 0.25): 0.01*(100 + 0.25*272.5)
    assert bench.benchmark_atr == pytest.approx(1.68125, rel=1e-12)
    q = qqq()
    assert bench.benchmark_atr == pytest.approx(slow_atr(q, q * 1.005, q * 0.995, 14), rel=1e-13)
    assert bench.benchmark_atr_pct == pytest.approx(0.009904, abs=5e-7)
    d = decide(snap, context())
    x = d.diagnostics.extras
    # 1 + 0.009904*2.5 = 1.02476 < 1.04 -> floor; exit = clamp(1 - 0, 1.02, 1.02)
    assert x["benchmark_entry_multiplier"] == 1.04 and x["benchmark_exit_multiplier"] == 1.02
    assert x["benchmark_entry_line"] == pytest.approx(150.67, rel=1e-12)
    assert x["benchmark_exit_line"] == pytest.approx(147.7725, rel=1e-12)
    assert d.diagnostics.regime == "risk_on_entry" and d.diagnostics.benchmark_price == 169.75
    # mom_126 = C[279]/C[153] - 1 = 169.75/138.25 - 1
    assert x["benchmark_mom_126"] == pytest.approx(169.75 / 138.25 - 1, rel=1e-13)


def test_reference_run_ranking_and_weights():
    d = decide(ref_snapshot(), context())
    x = d.diagnostics.extras
    expected = slow_expected("ramp")
    assert [t["symbol"] for t in x["top"]] == ["NVDL", "MSFU", "AMZU", "AAPU"]
    assert [r["product"] for r in expected] == ["NVDL", "MSFU", "AMZU", "AAPU"]
    # multipliers: NVDA depth 5.2% -> 0.85; MSFT 3% -> 0.85; AMZN 1% -> 0.45;
    # AAPL 7% -> 1.25, x 0.5 because mom_126 - QQQ mom_126 < -0.08 -> 0.625 (as the reference)
    assert [t["size_multiplier"] for t in x["top"]] == [0.85, 0.85, 0.45, 0.625]
    for got, want in zip(x["top"], expected, strict=True):
        assert got["score"] == pytest.approx(want["score"], abs=1e-12)
        assert got["pullback_depth"] == pytest.approx(want["depth"], abs=1e-12)
    assert x["top"][0]["pullback_depth"] == pytest.approx(0.052, abs=1e-12)
    # $20,000 x 0.8 / $3,000 = 5.3 -> 3 names; base 0.8/3; NVDL, MSFU 0.8/3*0.85 = 0.22667,
    # AMZU 0.8/3*0.45 = 0.12; BOXX 1 - 0.57333 = 0.42667 (reference numbers)
    w = d.targets()
    assert w == pytest.approx({"NVDL": 0.8 / 3 * 0.85, "MSFU": 0.8 / 3 * 0.85,
                               "AMZU": 0.8 / 3 * 0.45, "BOXX": 1 - 0.8 / 3 * 2.15}, abs=1e-15)
    assert round(w["NVDL"], 5) == 0.22667 and round(w["BOXX"], 5) == 0.42667
    assert x["realized_product_exposure"] == pytest.approx(0.573333333, abs=1e-9)
    assert x["underlying_exposure"] == pytest.approx(1.146666667, abs=1e-9)
    assert x["selected_underlyings"] == ["NVDA", "MSFT", "AMZN"]
    assert x["avg_pullback_depth"] == pytest.approx((0.052 + 0.03 + 0.01) / 3, abs=1e-12)
    assert d.diagnostics.signal == "rebalance" and d.risk_flags == ()
    assert {p.symbol: p.role for p in d.positions}["BOXX"] is Role.SAFE_HAVEN
    assert slow_weights(slow_expected("ramp"), set(), 0.8, 20_000.0, params()) == \
        pytest.approx({s: v for s, v in w.items() if s != "BOXX"}, abs=1e-15)


def test_reference_flat_variant_entry_wait_then_hold_band():
    snap = ref_snapshot("flat")
    d = decide(snap, context())
    x = d.diagnostics.extras
    # close 100 + 0.035*279 = 109.765 < entry (100 + 0.035*179.5)*1.04 = 110.5338
    assert x["benchmark_close"] == pytest.approx(109.765, rel=1e-14)
    assert x["benchmark_entry_line"] == pytest.approx(110.5338, rel=1e-12)
    assert d.diagnostics.regime == "entry_wait" and d.diagnostics.signal == "safe_haven_only"
    assert d.targets() == {"BOXX": 1.0}
    held = decide(snap, context(held=("NVDL",)))
    assert held.diagnostics.regime == "risk_on_hold_band"
    assert held.diagnostics.extras["current_risk_active"] is True
    assert held.diagnostics.extras["selected_symbols"] == ["NVDL", "MSFU", "AMZU"]
    want = slow_expected("flat", held=("NVDL",))
    assert held.diagnostics.extras["top"][0]["score"] == pytest.approx(want[0]["score"], abs=1e-12)
    no_bonus = slow_expected("flat")
    assert want[0]["score"] - no_bonus[0]["score"] == pytest.approx(0.05, abs=1e-12)
    assert held.targets()["NVDL"] == pytest.approx(0.8 / 3 * 0.85, abs=1e-15)


def test_reference_break_variant_hard_defense_liquidates():
    d = decide(ref_snapshot("break"), context(held=("NVDL",)))
    x = d.diagnostics.extras
    # close 169.75*0.82 = 139.195; SMA = (28975 - 0.18*sum_{i=261..279} C_i)/200
    #   = (28975 - 0.18*19*167.5)/200 = 142.01075; exit = 1.02 * SMA = 144.850965
    assert x["benchmark_close"] == pytest.approx(139.195, rel=1e-14)
    assert x["benchmark_exit_line"] == pytest.approx(144.850965, rel=1e-12)
    assert d.diagnostics.regime == "hard_defense" and RiskFlag.HARD_DEFENSE in d.risk_flags
    assert d.targets() == {"BOXX": 1.0, "NVDL": 0.0}  # explicit liquidation of the holding
    assert x["target_product_exposure"] == 0.0 and x["selected_symbols"] == []
    # close < exit applies whether or not anything is held
    assert decide(ref_snapshot("break"), context()).diagnostics.regime == "hard_defense"


# --------------------------------------------------------------------------------------------
# hand-built snapshots: one rule at a time
# --------------------------------------------------------------------------------------------
GOOD = {"mom_20": 0.02, "mom_63": 0.08, "mom_126": 0.30, "mom_252": 0.60, "sma_50_gap": 0.02,
        "sma_200_gap": 0.15, "high_63_gap": -0.10, "high_252_gap": -0.10, "low_20_gap": 0.01,
        "vol_63": 0.30}  # depth 0.10 -> band 1.25, quality 1, no penalty
BENCH = {"benchmark_close": 110.0, "benchmark_sma": 100.0, "benchmark_atr": 1.0,
         "benchmark_atr_pct": 1 / 110, "benchmark_mom_126": 0.10}  # entry 104, exit 102


def cand(und, product="", rank=None, **kw):
    row = {"underlying_symbol": und, "symbol": product, "trade_symbol": product,
           "candidate_rank": rank, "product_available": bool(product), "eligible": bool(product),
           "history_days": 300, **GOOD}
    row.update(kw)
    return row


def hand_snapshot(cands, bench=None, as_of=AS_OF, drop_bench=False):
    rows = []
    for k, c in enumerate(cands, start=1):
        row = dict.fromkeys(builder.COLUMNS, NAN)
        row.update(sector="Information Technology", product_leverage=2.0,
                   product_expense_ratio=0.01, universe_as_of=as_of.isoformat(),
                   underlying_close=100.0)
        row.update(c)
        row["candidate_rank"] = k if c.get("candidate_rank") is None else c["candidate_rank"]
        row["mega_rank"] = row["candidate_rank"]
        rows.append(row)
    if not drop_bench:
        b = dict.fromkeys(builder.COLUMNS, NAN)
        b.update(symbol="QQQ", trade_symbol="", underlying_symbol="QQQ", sector="benchmark",
                 product_available=False, eligible=False, history_days=400, **BENCH)
        b.update(bench or {})
        rows.append(b)
    frame = pd.DataFrame(rows, columns=list(builder.COLUMNS))
    for col in ("symbol", "trade_symbol"):  # unmapped -> missing, as the builder writes it
        frame[col] = frame[col].where(frame[col] != "", None)
    frame["as_of"] = as_of.isoformat()
    return Snapshot.from_frame(frame, profile=PROFILE, as_of=as_of, contract_version=CONTRACT)


def run(cands, bench=None, held=(), equity=20_000.0, **over):
    return decide(hand_snapshot(cands, bench), context(equity=equity, held=held, **over))


@pytest.mark.parametrize("close,held,regime", [
    (110.0, (), "risk_on_entry"),
    (104.0, (), "entry_wait"),          # entry line 100*1.04 = 104: strict >
    (104.0, ("AAAL",), "risk_on_hold_band"),
    (103.0, ("AAAL",), "risk_on_hold_band"),  # held above the exit line keeps exposure
    (102.0, ("AAAL",), "risk_on_hold_band"),  # exit line 102: strict <
    (101.99, ("AAAL",), "hard_defense"),      # exit first, even when held
    (101.99, (), "hard_defense"),
    (103.0, ("BBBL",), "entry_wait"),   # BBBL is not a candidate product: not risk-active
])
def test_market_gate_order_and_strictness(close, held, regime):
    d = run([cand("AAA", "AAAL"), cand("BBB", "BBBL", product_available=False)],
            {"benchmark_close": close, "benchmark_atr_pct": 1 / close}, held=held)
    assert d.diagnostics.regime == regime
    exposure = 0.0 if regime in ("entry_wait", "hard_defense") else 0.8
    assert d.diagnostics.extras["target_product_exposure"] == exposure
    # one name (count 3 but one candidate): min(0.25, 0.8/1*1.25) = 0.25
    assert d.targets().get("AAAL", 0.0) == (0.25 if exposure else 0.0)
    assert (RiskFlag.HARD_DEFENSE in d.risk_flags) == (regime == "hard_defense")


def test_entry_and_exit_lines_scale_with_atr_and_clamp():
    # atr_pct 0.02: 1 + 0.05 = 1.05 -> entry 105; close 104.5 waits (it enters at atr_pct 0)
    d = run([cand("AAA", "AAAL")], {"benchmark_close": 104.5, "benchmark_atr_pct": 0.02})
    assert d.diagnostics.extras["benchmark_entry_multiplier"] == pytest.approx(1.05)
    assert d.diagnostics.regime == "entry_wait"
    # atr_pct 0.05: 1.125 -> capped at 1.08
    d = run([cand("AAA", "AAAL")], {"benchmark_close": 107.0, "benchmark_atr_pct": 0.05})
    assert d.diagnostics.extras["benchmark_entry_multiplier"] == 1.08
    assert d.diagnostics.regime == "entry_wait"
    # exit below the SMA with a non-zero exit scale: 1 - 0.05*1.0 = 0.95 in [0.9, 1.1]
    d = run([cand("AAA", "AAAL")], {"benchmark_close": 96.0, "benchmark_atr_pct": 0.05},
            held=("AAAL",), atr_exit_scale=1.0, exit_line_floor=0.9, exit_line_cap=1.1)
    assert d.diagnostics.extras["benchmark_exit_line"] == pytest.approx(95.0)
    assert d.diagnostics.regime == "risk_on_hold_band"


def test_candidate_filter_sort_dedupe_and_cut():
    cands = [
        cand("ZZZ", "ZZZL", rank=None),             # NaN rank sorts last
        cand("BBB", "BBBL", rank=2),
        cand("AAA", "AAAL", rank=2),                # rank tie -> underlying asc: AAA first
        cand("CCC", "", rank=1),                    # unmapped: empty symbol
        cand("DDD", "DDDL", rank=3, eligible=False),
        cand("EEE", "EEEL", rank=4, product_available=False, eligible=True),
        cand("AAA", "AAAX", rank=5),                # duplicate underlying: first (rank 2) kept
        cand("FFF", "FFFL", rank=6),
    ]
    cands[0]["candidate_rank"] = NAN
    d = run(cands, candidate_universe_size=3)
    # candidates in order: AAA(2), BBB(2), FFF(6) | ZZZ (NaN) cut by the size 3
    assert sorted(t["symbol"] for t in d.diagnostics.extras["top"]) == ["AAAL", "BBBL", "FFFL"]
    assert d.diagnostics.extras["candidate_count"] == 3
    d = run(cands)  # size 15: ZZZL comes back
    assert sorted(t["symbol"] for t in d.diagnostics.extras["top"]) == \
        ["AAAL", "BBBL", "FFFL", "ZZZL"]
    # managed = every snapshot product plus BOXX (unmapped and benchmark excluded)
    assert d.diagnostics.extras["managed_symbols"] == \
        ["ZZZL", "BBBL", "AAAL", "DDDL", "EEEL", "AAAX", "FFFL", "BOXX"]


def test_short_history_candidates_are_skipped():
    d = run([cand("AAA", "AAAL", history_days=252), cand("BBB", "BBBL", history_days=253)])
    assert [t["symbol"] for t in d.diagnostics.extras["top"]] == ["BBBL"]
    assert d.diagnostics.extras["skipped_short_history"] == ["AAA"]


@pytest.mark.parametrize("gap63,mult", [
    (0.0, 0.45), (-0.0199, 0.45), (-0.02, 0.85), (-0.0599, 0.85), (-0.06, 1.25),
    (-0.1599, 1.25), (-0.16, 0.75), (-0.2799, 0.75), (-0.28, 0.0), (-0.5, 0.0),
])
def test_size_multiplier_depth_bands(gap63, mult):
    d = run([cand("AAA", "AAAL", high_63_gap=gap63), cand("BBB", "BBBL")])
    top = {t["symbol"]: t for t in d.diagnostics.extras["top"]}
    if mult == 0:
        assert "AAAL" not in top  # multiplier 0 -> not ranked
    else:
        assert top["AAAL"]["size_multiplier"] == pytest.approx(mult, abs=1e-15)
        assert top["AAAL"]["pullback_depth"] == pytest.approx(abs(gap63), abs=1e-15)


@pytest.mark.parametrize("kw,mult", [
    ({"mom_20": 0.18}, 1.25), ({"mom_20": 0.181}, 0.625),            # strict >
    ({"sma_50_gap": 0.16}, 1.25), ({"sma_50_gap": 0.17}, 0.625),
    ({"sma_200_gap": 0.03}, 1.25), ({"sma_200_gap": 0.029}, 0.75),   # x 0.60
    ({"mom_126": 0.02}, 1.25),                  # rel = 0.02 - 0.10 = -0.08: strict <
    ({"mom_126": 0.019}, 0.625),                # rel -0.081 -> x 0.5
    ({"mom_20": 0.3, "sma_200_gap": 0.01, "mom_126": 0.01}, 1.25 * 0.5 * 0.6 * 0.5),
    ({"mom_20": NAN}, 1.25),                    # NaN mom_20: no penalty, row kept
    ({"sma_200_gap": 0.0}, 0.0), ({"mom_126": 0.0}, 0.0), ({"mom_126": -0.1}, 0.0),
])
def test_size_multiplier_penalties(kw, mult):
    d = run([cand("AAA", "AAAL", **kw), cand("BBB", "BBBL")])
    top = {t["symbol"]: t["size_multiplier"] for t in d.diagnostics.extras["top"]}
    assert top.get("AAAL", 0.0) == pytest.approx(mult, abs=1e-15)


@pytest.mark.parametrize("col", ["mom_63", "mom_126", "mom_252", "sma_200_gap", "vol_63",
                                 "high_63_gap"])
def test_nan_in_a_ranking_input_drops_the_row(col):
    d = run([cand("AAA", "AAAL", **{col: NAN}), cand("BBB", "BBBL")])
    assert [t["symbol"] for t in d.diagnostics.extras["top"]] == ["BBBL"]


def test_nan_benchmark_momentum_empties_the_ranking():
    d = run([cand("AAA", "AAAL")], {"benchmark_mom_126": NAN})
    assert d.diagnostics.extras["candidate_count"] == 0
    assert d.diagnostics.extras["benchmark_mom_126"] is None
    assert d.targets() == {"BOXX": 1.0} and d.diagnostics.signal == "safe_haven_only"


def test_score_formula_ties_and_hold_bonus_on_the_product():
    # A: mom_126 0.4, B 0.3, C 0.2 (others equal): z(mom_126) = (+1.2247, 0, -1.2247) and
    # z(rel) is the same -> score = 0.55 z = +0.6736, 0, -0.6736
    cands = [cand("CCC", "CCCL", mom_126=0.2), cand("AAA", "AAAL", mom_126=0.4),
             cand("BBB", "BBBL", mom_126=0.3)]
    top = run(cands).diagnostics.extras["top"]
    z = math.sqrt(1.5)
    assert [(t["symbol"], round(t["score"], 12)) for t in top] == [
        ("AAAL", round(0.55 * z, 12)), ("BBBL", 0.0), ("CCCL", round(-0.55 * z, 12))]
    # the bonus goes to the held PRODUCT (holding the underlying CCC gives nothing)
    top = run(cands, held=("CCCL", "BBB")).diagnostics.extras["top"]
    assert {t["symbol"]: t["score"] for t in top}["CCCL"] == pytest.approx(-0.55 * z + 0.05)
    assert {t["symbol"]: t["score"] for t in top}["BBBL"] == 0.0
    # identical rows tie on score, quality and mom_126 -> underlying ascending
    top = run([cand("YYY", "YYYL"), cand("XXX", "XXXL")]).diagnostics.extras["top"]
    assert [t["underlying"] for t in top] == ["XXX", "YYY"]


@pytest.mark.parametrize("equity,count", [
    (None, 3), (11_250.0, 3), (11_249.99, 2), (7_500.0, 2), (7_499.99, 1), (100.0, 1),
])
def test_effective_count_thresholds(equity, count):
    # 0.8 * equity / 3000: 11,250 -> 3.0; 7,500 -> 2.0 (floor, at least 1)
    cands = [cand(u, u + "L", mom_126=m) for u, m in (("AAA", 0.4), ("BBB", 0.3),
                                                      ("CCC", 0.2), ("DDD", 0.1))]
    d = run(cands, equity=equity)
    assert d.diagnostics.extras["effective_holdings_count"] == count
    assert d.diagnostics.extras["selected_symbols"] == ["AAAL", "BBBL", "CCCL"][:count]
    # 1.25 * 0.8 / n >= 0.25 for n <= 3: every name at the 0.25 cap
    assert d.targets()["BOXX"] == pytest.approx(1 - 0.25 * count, abs=1e-15)
    assert d.diagnostics.extras["portfolio_total_equity"] == equity


def test_hysteresis_keeps_a_holding_within_count_plus_buffer():
    cands = [cand(u, u + "L", mom_126=m) for u, m in (("AAA", 0.50), ("BBB", 0.45),
                                                      ("CCC", 0.40), ("DDD", 0.35),
                                                      ("EEE", 0.30))]
    # DDDL holds at rank 4 (<= 3 + 1) even after its +0.05 bonus leaves it 4th; kept
    # holdings come first in the selection order (reference), then the best others
    d = run(cands, held=("DDDL",))
    assert d.diagnostics.extras["selected_symbols"] == ["DDDL", "AAAL", "BBBL"]
    assert d.diagnostics.extras["max_hold_rank"] == 4
    # EEEL at rank 5 is dropped and liquidated explicitly
    d = run(cands, held=("EEEL",))
    assert d.diagnostics.extras["selected_symbols"] == ["AAAL", "BBBL", "CCCL"]
    assert d.targets()["EEEL"] == 0.0
    # hold_buffer 0: DDDL (rank 4) is dropped too
    d = run(cands, held=("DDDL",), hold_buffer=0)
    assert d.diagnostics.extras["selected_symbols"] == ["AAAL", "BBBL", "CCCL"]


def test_weights_scale_down_to_the_exposure_and_cap():
    # cap 0.5, two names at 1.25: raw = min(0.5, 0.8/2*1.25 = 0.5) -> sum 1.0 > 0.8 -> 0.4 each
    d = run([cand("AAA", "AAAL"), cand("BBB", "BBBL")], single_name_cap=0.5)
    assert d.targets() == pytest.approx({"AAAL": 0.4, "BBBL": 0.4, "BOXX": 0.2}, abs=1e-15)
    # mixed: 1.25 and 0.45 -> raw 0.5 and 0.18, sum 0.68 <= 0.8: no scaling, BOXX 0.32
    d = run([cand("AAA", "AAAL"), cand("BBB", "BBBL", high_63_gap=-0.01)],
            single_name_cap=0.5)
    assert d.targets() == pytest.approx({"AAAL": 0.5, "BBBL": 0.18, "BOXX": 0.32}, abs=1e-15)


def test_zero_exposure_parameter_and_empty_ranking_park_everything():
    d = run([cand("AAA", "AAAL")], max_product_exposure=0.0)  # explicit 0 honoured (fix 3)
    assert d.targets() == {"BOXX": 1.0} and d.diagnostics.regime == "risk_on_entry"
    assert d.diagnostics.extras["effective_holdings_count"] == 0
    d = run([cand("AAA", "AAAL", mom_126=-0.1)], held=("AAAL", "XYZ", "QQQ"))
    assert d.targets() == {"AAAL": 0.0, "BOXX": 1.0, "XYZ": 0.0}  # benchmark never zeroed
    assert "avg_pullback_depth" not in d.diagnostics.extras


def test_benchmark_row_is_required():
    with pytest.raises(SnapshotError, match="required row symbol='QQQ' is missing"):
        decide(hand_snapshot([cand("AAA", "AAAL")], drop_bench=True), context())
    with pytest.raises(SnapshotError, match="benchmark_sma"):
        run([cand("AAA", "AAAL")], {"benchmark_sma": NAN})


def test_unmapped_rows_validate_and_keys_stay_unique():
    snap = hand_snapshot([cand("AAA", ""), cand("BBB", ""), cand("CCC", "CCCL")])
    frame = validate_snapshot(snap, MANIFEST)
    assert frame["symbol"].isna().tolist() == [True, True, False, False]
    dup = hand_snapshot([cand("AAA", "SAME"), cand("BBB", "SAME")])
    with pytest.raises(SnapshotError, match="duplicate symbol values SAME"):
        validate_snapshot(dup, MANIFEST)


def test_decision_json_is_deterministic():
    snap = hand_snapshot([cand(f"U{k:02d}", f"P{k:02d}", mom_126=0.1 + k / 100)
                          for k in range(15)])
    ctx = context(held=("P03",))
    a, b = decide(snap, ctx), decide(snap, ctx)
    assert a.to_json() == b.to_json()
    json.loads(a.to_json())
    p = params()
    frame = validate_snapshot(snap, MANIFEST)
    inputs = ProfileInputs(frame=frame, snapshot_as_of=AS_OF, context=ctx, params=p,
                           profile=PROFILE, profile_version=MANIFEST.version,
                           target_mode=MANIFEST.target_mode)
    assert LOADED.evaluate(inputs).to_json() == LOADED.evaluate(inputs).to_json()


# --------------------------------------------------------------------------------------------
# builder
# --------------------------------------------------------------------------------------------
def test_builder_features_match_the_slow_definitions():
    short = trend_pullback(0.3, 270, 0.05)[-100:]  # 100 rows: long features NaN
    prices = price_table(extra={"SHRT": short})
    uni = pd.concat([UNIVERSE, pd.DataFrame({"symbol": ["SHRT", "NOPX"], "sector": "X",
                                             "weight": [0.5, 0.4]})], ignore_index=True)
    pm = {**PM4, "SHRT": "SHRL", "NOPX": "NOPL"}
    frame = build_snapshot(PROFILE, prices, AS_OF, {"product_map": pm}, universe=uni).frame
    assert list(frame.columns) == [c.name for c in MANIFEST.snapshot.columns]
    assert frame["symbol"].tolist() == ["NVDL", "MSFU", "AAPU", "AMZU", "SHRL", "NOPL", "QQQ"]
    for _, row in frame.iloc[:5].iterrows():
        c = prices[prices.symbol == row.underlying_symbol].close.tolist()
        want = slow_underlying(c)
        assert row.history_days == want["history_days"]
        for col in ("underlying_close", *FEATS):
            got = row[col]
            assert (math.isnan(got) and math.isnan(want[col])) or \
                got == pytest.approx(want[col], rel=1e-12, abs=1e-13), (row.symbol, col)
    short_row = frame.iloc[4]
    assert short_row.history_days == 100 and math.isnan(short_row.mom_126)
    assert not math.isnan(short_row.mom_63)
    nopx = frame.iloc[5]  # a selected name without prices keeps its slot
    assert nopx.history_days == 0 and math.isnan(nopx.underlying_close) and nopx.eligible
    assert frame["close"].iloc[:6].isna().all() and frame["close"].iloc[6] == 169.75
    d = decide(Snapshot.from_frame(frame, profile=PROFILE, as_of=AS_OF,
                                   contract_version=CONTRACT), context(product_map=pm))
    assert d.diagnostics.extras["skipped_short_history"] == ["SHRT", "NOPX"]


def test_builder_worked_example_5_4_and_product_map_csv(tmp_path):
    # features.md §5.3/§5.4: weights NVDA 6.5, MSFT 6.1, AAPL 6.1, GOOGL 2.0, GOOG 1.7,
    # BRKB 1.7, XYZ NaN (market_value 9 is ignored); N = 5 -> NVDA, AAPL, MSFT, GOOGL, BRKB
    uni = pd.DataFrame({"symbol": ["NVDA", "MSFT", "AAPL", "GOOGL", "GOOG", "BRKB", "XYZ"],
                        "sector": "S", "weight": [6.5, 6.1, 6.1, 2.0, 1.7, 1.7, NAN],
                        "market_value": [1, 1, 1, 1, 1, 1, 9]})
    path = tmp_path / "map.csv"
    path.write_text("Underlying,ETF_Symbol,Leverage,Available\nNVDA,NVDL,2.0,\nAAPL,AAPU,,\n"
                    "MSFT,MSFU,,no\nNVDA,XXXX,2.0,yes\n", encoding="utf-8")
    pm = builder.load_product_map(path)
    assert pm["NVDA"]["trade_symbol"] == "NVDL"  # duplicate underlying: first row kept
    assert pm["MSFT"]["product_available"] is False and pm["AAPL"]["product_leverage"] == 2.0
    over = {"product_map": pm, "candidate_universe_size": 5}
    snap = build_snapshot(PROFILE, price_table(), AS_OF, over, universe=uni)
    f = snap.frame.iloc[:5]
    assert f["underlying_symbol"].tolist() == ["NVDA", "AAPL", "MSFT", "GOOGL", "BRKB"]
    assert f["symbol"].tolist() == ["NVDL", "AAPU", "MSFU", None, None]
    assert f["candidate_rank"].tolist() == f["mega_rank"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert f["product_available"].tolist() == f["eligible"].tolist() == \
        [True, True, False, False, False]
    assert (f["product_leverage"] == 2.0).all() and (f["product_expense_ratio"] == 0.01).all()
    assert snap.builder_parameters["product_map"]["MSFT"]["product_available"] is False
    # the CSV round trip keeps the unmapped slots (empty symbol) and evaluates
    from us_equity_strategies.snapshot import write_snapshot
    written = write_snapshot(snap, tmp_path / "snap.csv", generated_at="2025-03-31T22:00:00")
    assert ",,,GOOGL,S,4.0,4.0," in (tmp_path / "snap.csv").read_text()
    back = read_snapshot(tmp_path / "snap.csv")
    assert back.sha256 == written.sha256
    d = decide(back, context(**over))
    # AAPU (AAPL: depth 7%, rel_mom < -0.08 -> 0.625) and NVDL rank; NVDL first
    assert d.diagnostics.extras["selected_symbols"] == ["NVDL", "AAPU"]


@pytest.mark.parametrize("text,match", [
    ("stock,product\nNVDA,NVDL\n", "no trade_symbol column"),
    ("symbol,trade_symbol,available\nNVDA,NVDL,maybe\n", "'maybe' is not one of"),
    ("symbol,trade_symbol\nNVDA,\n", "available product without a trade symbol"),
    ("symbol,trade_symbol,leverage\nNVDA,NVDL,3\n", "leverage 3.0 is not 2"),
    ("symbol,trade_symbol,leverage\nNVDA,NVDL,two\n", "'two' is not a number"),
    ("symbol,trade_symbol\n,NVDL\n", "row 0: empty underlying"),
])
def test_product_map_csv_errors(tmp_path, text, match):
    path = tmp_path / "map.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError, match=match):
        builder.load_product_map(path)


def test_product_map_csv_unavailable_rows_are_not_checked(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("STOCK_SYMBOL,Target_Symbol,leverage_multiple,enabled,expense_rate\n"
                    "TSLA,,3,0,\nAMD,AMUU,2.05,Y,0.0095\n", encoding="utf-8")
    assert builder.load_product_map(path) == {
        "TSLA": {"trade_symbol": None, "product_leverage": 3.0, "product_expense_ratio": 0.01,
                 "product_available": False},
        "AMD": {"trade_symbol": "AMUU", "product_leverage": 2.05,
                "product_expense_ratio": 0.0095, "product_available": True}}
    params(product_map=builder.load_product_map(path))  # a valid parameter value


def test_parameters_product_map_and_line_checks():
    p = params(product_map={"nvda ": "nvdl"})
    assert p.product_map["NVDA"].trade_symbol == "NVDL"
    assert p.product_map["NVDA"].product_leverage == 2.0
    for bad in ({"product_map": {"NVDA": "QQQ"}}, {"product_map": {"NVDA": "BOXX"}},
                {"product_map": {"NVDA": {"trade_symbol": "NVDL", "product_leverage": 3}}},
                {"product_map": {"NVDA": {"product_available": True}}},
                {"product_map": {"NVDA": "NVDL", "nvda": "NVDX"}},
                {"entry_line_floor": 1.1, "entry_line_cap": 1.05},
                {"benchmark_symbol": "BOXX"}, {"min_adv20_usd": 1}):
        with pytest.raises(ParameterError):
            params(**bad)
    assert params(product_map={"NVDA": {"trade_symbol": None, "product_available": False,
                                        "product_leverage": 3}}).product_map["NVDA"].trade_symbol \
        is None


def test_two_selected_underlyings_on_one_product_is_an_error():
    uni = pd.DataFrame({"symbol": ["GOOG", "GOOGL"], "sector": "S", "mega_rank": [1, 2]})
    with pytest.raises(ParameterError, match="GGLL <- GOOG, GOOGL"):
        build_snapshot(PROFILE, price_table(), AS_OF,
                       {"product_map": {"GOOG": "GGLL", "GOOGL": "GGLL"}}, universe=uni)
    # the weight branch collapses share classes first, so the same map is fine there
    uni = uni.drop(columns="mega_rank").assign(weight=[1.0, 2.0])
    snap = build_snapshot(PROFILE, price_table(), AS_OF,
                          {"product_map": {"GOOG": "GGLL", "GOOGL": "GGLL"}}, universe=uni)
    assert snap.frame["underlying_symbol"].tolist() == ["GOOGL", "QQQ"]


def test_benchmark_history_requirements_and_closes_only_atr():
    short = price_table()
    short = short[~((short.symbol == "QQQ") & (short.date < DATES[81]))]  # 199 QQQ rows
    with pytest.raises(PriceHistoryError, match=r"QQQ has 199 price rows .* = 200"):
        build_snapshot(PROFILE, short, AS_OF, {"product_map": PM4}, universe=UNIVERSE)
    ok = price_table()
    ok = ok[~((ok.symbol == "QQQ") & (ok.date < DATES[80]))]  # exactly 200
    snap = build_snapshot(PROFILE, ok, AS_OF, {"product_map": PM4}, universe=UNIVERSE)
    assert snap.frame.iloc[-1].history_days == 200
    with pytest.raises(PriceHistoryError, match=r"needs max.* = 126"):  # sma 100: 126 rows
        build_snapshot(PROFILE, ok[~((ok.symbol == "QQQ") & (ok.date < DATES[155]))], AS_OF,
                       {"product_map": PM4, "sma_period": 100}, universe=UNIVERSE)
    # exactly 126 rows with sma_period 100: mom_126 needs 127 -> NaN (ranking empties)
    snap = build_snapshot(PROFILE, ok[~((ok.symbol == "QQQ") & (ok.date < DATES[154]))],
                          AS_OF, {"product_map": PM4, "sma_period": 100}, universe=UNIVERSE)
    assert math.isnan(snap.frame.iloc[-1].benchmark_mom_126)
    # without high/low the true range is |C[t] - C[t-1]| = 0.25: ATR 0.25
    no_hl = price_table().drop(columns=["high", "low"])
    snap = build_snapshot(PROFILE, no_hl, AS_OF, {"product_map": PM4}, universe=UNIVERSE)
    assert snap.frame.iloc[-1].benchmark_atr == pytest.approx(0.25, rel=1e-12)
    empty_uni = UNIVERSE.assign(start_date="2030-01-01")
    with pytest.raises(UniverseError, match="no active rows"):
        build_snapshot(PROFILE, price_table(), AS_OF, {"product_map": PM4}, universe=empty_uni)


def test_builder_truncation_invariance():
    prices = price_table()
    p = params(product_map=PM4)
    for day in (DATES[-1], DATES[-2], DATES[-30], DATES[210]):
        full = builder.build(prices, day.date(), p, universe=UNIVERSE)
        cut = builder.build(truncate(prices, day.date()), day.date(), p, universe=UNIVERSE)
        pd.testing.assert_frame_equal(full, cut)
        assert full["as_of"].eq(day.date().isoformat()).all()
    # a later price can only change a later snapshot
    moved = prices.copy()
    moved.loc[(moved.symbol == "NVDA") & (moved.date == DATES[-1]), "close"] = 1.0
    a = builder.build(prices, DATES[-2].date(), p, universe=UNIVERSE)
    pd.testing.assert_frame_equal(a, builder.build(moved, DATES[-2].date(), p,
                                                   universe=UNIVERSE))


def test_universe_lag_uses_earlier_membership():
    uni = pd.DataFrame({"symbol": ["NVDA", "MSFT"], "sector": "S", "weight": [2.0, 1.0],
                        "start_date": [None, AS_OF.isoformat()]})
    p = params(product_map=PM4)
    assert builder.build(price_table(), AS_OF, p, universe=uni)["symbol"].tolist() == \
        ["NVDL", "MSFU", "QQQ"]
    lagged = builder.build(price_table(), AS_OF, params(product_map=PM4, universe_lag_sessions=1),
                           universe=uni)
    assert lagged["symbol"].tolist() == ["NVDL", "QQQ"]
    assert lagged["universe_as_of"].iloc[0] == DATES[-2].date().isoformat()


# --------------------------------------------------------------------------------------------
# reference-produced candidate files: load, enrich from prices, evaluate
# --------------------------------------------------------------------------------------------
REF_CSV = """as_of,symbol,trade_symbol,underlying_symbol,sector,candidate_rank,mega_rank,\
product_leverage,product_expense_ratio,product_available,eligible
2026-03-31,NVDL,NVDL,NVDA,Information Technology,1,1,2.0,0.01,True,True
2026-03-31,AAPU,AAPU,AAPL,Information Technology,2,2,2.0,0.01,True,True
2026-03-31,MSFU,MSFU,MSFT,Information Technology,3,3,2.0,0.01,False,False
2026-03-31,,,GOOGL,Communication,4,4,2.0,0.01,False,False
2026-03-31,,,BRKB,Financials,5,5,2.0,0.01,False,False
"""


def test_reference_candidate_csv_loads_enriches_and_evaluates(tmp_path):
    import hashlib

    path = tmp_path / "dynamic_mega_leveraged_pullback_feature_snapshot_latest.csv"
    path.write_bytes(REF_CSV.encode())
    side = {"manifest_type": "feature_snapshot", "contract_version": CONTRACT,
            "strategy_profile": PROFILE, "config_name": PROFILE, "config_path": "x.json",
            "config_sha256": "0" * 64, "snapshot_path": str(path), "row_count": 5,
            "snapshot_sha256": hashlib.sha256(REF_CSV.encode()).hexdigest(),
            "snapshot_as_of": "2026-03-31", "generated_at": "2026-04-01T00:46:03+00:00",
            "source_project": "UsEquitySnapshotPipelines"}
    (tmp_path / f"{path.name}.manifest.json").write_text(json.dumps(side, indent=2))
    snap = read_snapshot(path)
    assert snap.profile == PROFILE and snap.as_of == dt.date(2026, 3, 31)
    day = dt.date(2026, 3, 31)
    ctx = EvaluationContext(as_of=day, portfolio=Portfolio(total_equity=20_000.0))
    with pytest.raises(SnapshotError, match="missing required columns: universe_as_of"):
        runner.evaluate(snap, ctx)  # no daily features yet
    sessions = calendar.sessions(dt.date(2024, 1, 1), dt.date(2026, 4, 2))
    dates = pd.to_datetime(list(sessions[-N:]))
    prices = price_table(dates=dates).replace({"symbol": {"AMZN": "BRKB"}})
    enriched = builder.enrich_snapshot(snap, prices)  # at the candidates' date
    assert enriched.as_of == day and enriched.builder_parameters == {
        "atr_period": 14, "benchmark_symbol": "QQQ", "sma_period": 200}
    f = enriched.frame
    assert f["underlying_symbol"].tolist() == ["NVDA", "AAPL", "MSFT", "GOOGL", "BRKB", "QQQ"]
    assert f["history_days"].tolist()[3] == 0  # GOOGL has no prices
    d = runner.evaluate(enriched, ctx)
    assert d.diagnostics.extras["selected_symbols"] == ["NVDL", "AAPU"]
    assert d.diagnostics.extras["managed_symbols"] == ["NVDL", "AAPU", "MSFU", "BOXX"]
    # a monthly candidate file is enriched daily afterwards; as_of moves, the selection date
    # is kept; enriching before the candidates' date is look-ahead
    later = builder.enrich_snapshot(snap, prices, as_of=dt.date(2026, 4, 2))
    assert later.as_of == dt.date(2026, 4, 2)
    assert set(later.frame["universe_as_of"].dropna()) == {"2026-03-31"}
    assert runner.evaluate(later, ctx.model_copy(update={"as_of": dt.date(2026, 4, 2)})).actionable
    with pytest.raises(SnapshotError, match="look-ahead"):
        builder.enrich_snapshot(snap, prices, as_of=dt.date(2026, 3, 30))
    # re-enriching our own snapshot rebuilds the features and the benchmark row
    again = builder.enrich_candidates(later.frame, prices, dt.date(2026, 4, 2), params())
    pd.testing.assert_frame_equal(again, later.frame)


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------
def grid(lo, hi, step, nan=True):
    values = [round(lo + k * step, 6) for k in range(round((hi - lo) / step) + 1)]
    return st.sampled_from(values + ([NAN] if nan else []))


candidate_rows = st.fixed_dictionaries({
    "mom_20": grid(-0.1, 0.3, 0.05), "mom_63": grid(-0.2, 0.4, 0.1),
    "mom_126": grid(-0.1, 0.6, 0.05), "mom_252": grid(-0.2, 1.0, 0.2),
    "sma_50_gap": grid(-0.1, 0.2, 0.05), "sma_200_gap": grid(-0.05, 0.3, 0.01),
    "high_63_gap": grid(-0.3, 0.0, 0.01), "vol_63": grid(0.1, 0.8, 0.1),
    "history_days": st.sampled_from([252, 253, 400]), "available": st.booleans(),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(candidate_rows, min_size=1, max_size=7),
       held_mask=st.lists(st.booleans(), min_size=7, max_size=7),
       equity=st.one_of(st.none(), st.sampled_from([1_000.0, 7_500.0, 11_250.0, 50_000.0])),
       close=st.sampled_from([101.0, 103.0, 105.0, 110.0]),
       count=st.integers(1, 4), buffer=st.integers(0, 2),
       cap=st.sampled_from([0.1, 0.25, 0.5]), exposure=st.sampled_from([0.0, 0.5, 0.8, 1.0]))
def test_weights_are_valid_bounded_deterministic_and_match_the_slow_rules(
        rows, held_mask, equity, close, count, buffer, cap, exposure):
    cands = [cand(f"U{k}", f"P{k}", product_available=r["available"], eligible=True,
                  **{c: v for c, v in r.items() if c != "available"})
             for k, r in enumerate(rows)]
    held = tuple(f"P{k}" for k in range(len(rows)) if held_mask[k])
    over = {"holdings_count": count, "hold_buffer": buffer, "single_name_cap": cap,
            "max_product_exposure": exposure}
    bench = {"benchmark_close": close, "benchmark_atr_pct": 1 / close}
    d = run(cands, bench, held=held, equity=equity, **over)
    assert d.to_json() == run(cands, bench, held=held, equity=equity, **over).to_json()
    w = d.targets()
    assert all(0.0 <= v <= 1.0 for v in w.values())
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-9)
    assert {p.symbol: p.role for p in d.positions}["BOXX"] is Role.SAFE_HAVEN
    products = {s: v for s, v in w.items() if s != "BOXX" and v > 0}
    assert len(products) <= d.diagnostics.extras["effective_holdings_count"] <= count
    assert sum(products.values()) <= exposure + 1e-12
    assert all(v <= cap + 1e-15 for v in products.values())
    assert all(w.get(s) == 0.0 for s in held if s not in products)  # explicit liquidation
    # the slow restatement gives the same gate and weights
    p = params(**over)
    live = [dict(product=f"P{k}", underlying=f"U{k}", **r) for k, r in enumerate(rows)
            if r["available"]]
    risk_active = any(c["product"] in held for c in live)
    gated = 0.0 if close < 102.0 else exposure if risk_active or close > 104.0 else 0.0
    ranked = slow_rank(live, BENCH["benchmark_mom_126"], set(held), p.hold_bonus)
    scores = sorted(r["score"] for r in ranked)
    assume(all(b - a > 1e-9 or b == a for a, b in itertools.pairwise(scores)))
    want = slow_weights(ranked, set(held), gated, equity, p)
    assert products == pytest.approx(want, abs=1e-12)
    assert [t["symbol"] for t in d.diagnostics.extras["top"]] == \
        [r["product"] for r in ranked[:5]]


# --------------------------------------------------------------------------------------------
# real data (../shared/data): Nasdaq-100 point-in-time membership ranked by a liquidity proxy
# --------------------------------------------------------------------------------------------
RENAMES = {"FB": "META"}  # membership uses the ticker of the time, prices the 2026 ticker


def real_inputs():
    """(prices, universe_at) on ../shared/data.

    Universe: Nasdaq-100 point-in-time members. Rank proxy ``weight`` at ``as_of`` = the mean
    of ``close * volume`` over each member's last 63 rows on or before ``as_of``
    (``daily/ohlcv.parquet``, split-adjusted close and volume). Stock volume ends on
    2024-03-08, so later dates use the last known 63-row mean (carried forward: data <= as_of,
    but stale). Members without prices (delisted: survivorship) have no weight and drop out.
    """
    from us_equity_strategies import universe as uni_mod

    members = uni_mod.load_membership(DATA / "universe" / "nasdaq100_membership.csv")
    members["symbol"] = members["symbol"].replace(RENAMES)
    members = uni_mod.attach_sectors(members, uni_mod.load_sectors(DATA / "universe" /
                                                                    "sectors.csv"))
    symbols = sorted(set(members["symbol"]))
    px = pd.read_parquet(DATA / "daily" / "adj_close.parquet",
                         filters=[("symbol", "in", [*symbols, "QQQ"]),
                                  ("date", ">=", pd.Timestamp("2017-01-01"))])
    prices = normalize_prices(px)
    vol = pd.read_parquet(DATA / "daily" / "ohlcv.parquet", columns=["date", "symbol", "close",
                                                                      "volume"],
                          filters=[("symbol", "in", symbols),
                                   ("date", ">=", pd.Timestamp("2017-06-01"))])
    dollar = (vol.assign(dv=vol["close"].astype(float) * vol["volume"].astype(float))
              .pivot(index="date", columns="symbol", values="dv").sort_index())
    adv63 = dollar.rolling(63, min_periods=20).mean().ffill()

    def universe_at(day: dt.date) -> pd.DataFrame:
        row = adv63.loc[:pd.Timestamp(day)].iloc[-1]
        return members.assign(weight=members["symbol"].map(row))

    return prices, universe_at


@pytest.fixture(scope="module")
def real():
    if not DATA.exists():
        pytest.skip(f"real market data not found at {DATA}")
    return real_inputs()


def run_days(prices, universe_at, days):
    """Build + evaluate each day (evaluation on the snapshot's session), carrying holdings."""
    held, out = (), {}
    for day in days:
        snap = build_snapshot(PROFILE, prices, day, universe=universe_at(day))
        d = runner.evaluate(snap, EvaluationContext(
            as_of=day, holdings=held, portfolio=Portfolio(total_equity=20_000.0)))
        out[day] = (snap, d)
        held = tuple(s for s, v in d.targets().items() if v > 0 and s != "BOXX")
    return out


@pytest.mark.realdata
def test_real_data_month_ends_and_consecutive_sessions(real):
    prices, universe_at = real
    month_ends = [calendar.last_session_of_month(y, m) for y in range(2019, 2025)
                  for m in range(1, 13)]
    daily = list(calendar.sessions(dt.date(2024, 5, 1), dt.date(2024, 8, 30)))[:50]
    monthly = run_days(prices, universe_at, month_ends)
    sessions = run_days(prices, universe_at, daily)
    assert len(monthly) == 72 and len(sessions) == 50
    regimes = set()
    for day, (snap, d) in {**monthly, **sessions}.items():
        f = snap.frame
        assert len(f) == 16 and f["symbol"].iloc[-1] == "QQQ", day  # 15 candidates + QQQ
        assert f["candidate_rank"].iloc[:15].tolist() == list(map(float, range(1, 16)))
        assert d.actionable and sum(d.targets().values()) == pytest.approx(1.0, abs=1e-9)
        x = d.diagnostics.extras
        assert x["selected_count"] <= 3 and x["realized_product_exposure"] <= 0.8 + 1e-12
        regimes.add(d.diagnostics.regime)
    # 2019-2024 passes through entries, hold bands and the 2018/2020/2022 breaks
    assert regimes >= {"risk_on_entry", "risk_on_hold_band", "hard_defense"}
    assert monthly[dt.date(2022, 6, 30)][1].diagnostics.regime == "hard_defense"
    # mega-cap products are picked (NVDL/MSFU/AAPU/AMZU/FBL/TSLL/GGLL)
    picked = {s for _, d in monthly.values() for s in d.diagnostics.extras["selected_symbols"]}
    assert picked == {"NVDL", "MSFU", "AAPU", "AMZU", "FBL", "TSLL", "GGLL"}


def test_rendered_reference_text():
    from us_equity_strategies import render

    d = decide(ref_snapshot(), context())
    text = render.signal_text(d)
    assert text.startswith("regime=risk_on_entry qqq=169.75 entry=150.67 exit=147.77 "
                           "target_product=80.0% realized_product=57.3% selected=3 "
                           "top=NVDA->NVDL(")
    assert "MSFT->MSFU(" in text and render.signal_text(d, "zh-CN").startswith("regime=")
    assert render.status_text(d) == ("QQQ close=169.75 | entry=150.67 | exit=147.77 | "
                                     "product=57.3% | regime=risk_on_entry | "
                                     "snapshot_as_of=2025-03-31")


def test_manifest_defaults_are_the_spec_defaults():
    p = MANIFEST.parameters
    assert {k: p[k] for k in p if k != "product_map"} == {
        "benchmark_symbol": "QQQ", "safe_haven": "BOXX", "candidate_universe_size": 15,
        "holdings_count": 3, "single_name_cap": 0.25, "min_position_value_usd": 3000.0,
        "hold_buffer": 1, "hold_bonus": 0.05, "max_product_exposure": 0.8,
        "leverage_multiple": 2.0, "atr_period": 14, "sma_period": 200, "atr_entry_scale": 2.5,
        "entry_line_floor": 1.04, "entry_line_cap": 1.08, "atr_exit_scale": 0.0,
        "exit_line_floor": 1.02, "exit_line_cap": 1.02, "universe_lag_sessions": 0}
    assert {k: v for k, v in p["product_map"].items()} == {
        "NVDA": "NVDL", "MSFT": "MSFU", "AAPL": "AAPU", "AMZN": "AMZU", "META": "FBL",
        "TSLA": "TSLL", "GOOGL": "GGLL", "GOOG": "GGLL"}
    assert MANIFEST.small_account.min_recommended_equity_usd == 10_000
    assert MANIFEST.evaluation_frequency == "daily" and MANIFEST.snapshot.max_age_sessions == 0
    assert MANIFEST.benchmark == "QQQ" and MANIFEST.role == "offensive_leveraged_pullback"
    # CLI style override: --set 'product_map={"NVDA": "NVDL"}'
    from us_equity_strategies.params import parse_override

    key, value = parse_override('product_map={"NVDA": "NVDL"}')
    assert params(**{key: value}).product_map == {"NVDA": params().product_map["NVDA"]}
    # a one-session-old snapshot is stale for this daily profile
    with pytest.raises(SnapshotError, match="1 NYSE sessions older"):
        decide(ref_snapshot(), context(as_of=dt.date(2025, 4, 1)))


def test_enrich_applies_reference_defaults_and_rejects_tables_without_symbols():
    # profiles.md §2.9 input defaults: trade_symbol := symbol, candidate_rank := mega_rank,
    # product_leverage 2.0, product_available/eligible True when the column is missing
    minimal = pd.DataFrame({"as_of": ["2025-03-28"] * 2, "symbol": ["NVDL", "MSFU"],
                            "underlying_symbol": ["NVDA", "MSFT"], "mega_rank": [2, 1]})
    table = builder.enrich_candidates(minimal, price_table(), AS_OF, params())
    assert table["trade_symbol"].tolist()[:2] == ["NVDL", "MSFU"]
    assert table["candidate_rank"].tolist()[:2] == [2.0, 1.0]
    assert table["eligible"].tolist() == [True, True, False]
    assert table["universe_as_of"].tolist()[:2] == ["2025-03-28"] * 2
    snap = Snapshot.from_frame(table, profile=PROFILE, as_of=AS_OF, contract_version=CONTRACT)
    d = decide(snap, context())
    assert [t["symbol"] for t in d.diagnostics.extras["top"]] == ["NVDL", "MSFU"]
    with pytest.raises(SnapshotError, match="needs underlying_symbol, symbol or trade_symbol"):
        builder.enrich_candidates(pd.DataFrame({"ticker": ["NVDA"]}), price_table(), AS_OF,
                                  params())
