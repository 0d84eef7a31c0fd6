"""Tests for us_equity_strategies.render: phrases, status fragments, summary, fallbacks.

Decisions are built by hand with the diagnostics each profile documents in its module
docstring, so every expected string below is worked out from the inputs shown.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from us_equity_strategies import render
from us_equity_strategies.contract import (
    DecisionWarning,
    Diagnostics,
    EvaluationContext,
    PositionTarget,
    RiskFlag,
    Role,
    SmallAccount,
    StrategyDecision,
    WarningCode,
)
from us_equity_strategies.errors import SnapshotError
from us_equity_strategies.sizing import REASON

AS_OF = dt.date(2024, 12, 31)
LANGS = ("en", "zh-CN")


def make(profile: str, signal: str, *, regime: str | None = None, mode: str = "value",
         positions: tuple[PositionTarget, ...] = (), extras: dict | None = None,
         hold: str | None = None, small: SmallAccount | None = None,
         warnings: tuple[DecisionWarning, ...] = (), flags: tuple[RiskFlag, ...] = (),
         **diag) -> StrategyDecision:
    """A decision as the runner would return it (no provenance needed for rendering)."""
    return StrategyDecision(
        profile=profile, profile_version="1.0.0", as_of=AS_OF, target_mode=mode,
        positions=() if hold else positions,
        risk_flags=(*flags, RiskFlag.NO_EXECUTE) if hold else flags,
        actionable=hold is None, no_op_reason=hold,
        diagnostics=Diagnostics(signal=signal, regime=regime, snapshot_as_of=AS_OF,
                                extras=extras or {}, **diag),
        small_account=small, warnings=warnings,
    )


def val(symbol: str, value: float, role: Role = Role.RISK) -> PositionTarget:
    return PositionTarget(symbol=symbol, target_value=value, role=role)


def wt(symbol: str, weight: float, role: Role = Role.RISK) -> PositionTarget:
    return PositionTarget(symbol=symbol, target_weight=weight, role=role)


# --- tqqq_growth_income -----------------------------------------------------------------
# E = 100,000, no income (S = 100,000): risk on = TQQQ 45% / QQQ 45% / BOXX 8% (2% reserve);
# risk off = BOXX 98%.
TQQQ_EXTRAS = {"strategy_equity": 100_000.0, "unlevered_symbol": "QQQ", "ma200": 480.0,
               "ma20": 500.0, "ma20_slope": 1.25, "pullback_rebound": 0.034,
               "pullback_rebound_threshold": 0.02}
RISK_ON = (val("BOXX", 8_000.0, Role.SAFE_HAVEN), val("QQQ", 45_000.0),
           val("QQQI", 0.0, Role.INCOME), val("SPYI", 0.0, Role.INCOME), val("TQQQ", 45_000.0))
RISK_OFF = (val("BOXX", 98_000.0, Role.SAFE_HAVEN), val("QQQ", 0.0),
            val("QQQI", 0.0, Role.INCOME), val("SPYI", 0.0, Role.INCOME), val("TQQQ", 0.0))


def tqqq(signal: str, regime: str, positions=RISK_ON, extras=None, **kw) -> StrategyDecision:
    return make("tqqq_growth_income", signal, regime=regime, positions=positions,
                extras=extras or TQQQ_EXTRAS, benchmark_symbol="QQQ", benchmark_price=512.34,
                safe_haven_symbol="BOXX", **kw)


TQQQ_CASES = [
    ("entry", "risk_on", RISK_ON,
     "🚀 ENTRY: QQQ above MA200, buy TQQQ 45.0% + QQQ 45.0%",
     "🚀 入场：QQQ 站上 MA200，买入 TQQQ 45.0% + QQQ 45.0%"),
    ("entry", "pullback_risk_on", RISK_ON,
     "🚀 PULLBACK ENTRY: QQQ below MA200 but rebounding above MA20, buy TQQQ 45.0% + QQQ 45.0%",
     "🚀 回调入场：QQQ 低于 MA200 但站上 MA20 并反弹，买入 TQQQ 45.0% + QQQ 45.0%"),
    ("hold", "risk_on", RISK_ON,
     "💎 HOLD: QQQ above MA200, keep TQQQ 45.0% + QQQ 45.0%",
     "💎 持有：QQQ 位于 MA200 之上，继续持有 TQQQ 45.0% + QQQ 45.0%"),
    ("hold", "pullback_risk_on", RISK_ON,
     "💎 HOLD (pullback rebound): QQQ below MA200 but above MA20, keep TQQQ 45.0% + QQQ 45.0%",
     "💎 持有（回调反弹）：QQQ 低于 MA200 但站上 MA20，继续持有 TQQQ 45.0% + QQQ 45.0%"),
    ("exit", "risk_off", RISK_OFF,
     "🛡️ EXIT: QQQ not above MA200, move to BOXX 98.0%",
     "🛡️ 离场：QQQ 未站上 MA200，转入 BOXX 98.0%"),
    ("idle", "risk_off", RISK_OFF,
     "💤 IDLE: risk off, park in BOXX 98.0%",
     "💤 观望：风险关闭，资金停泊于 BOXX 98.0%"),
]


@pytest.mark.parametrize(("signal", "regime", "positions", "en", "zh"), TQQQ_CASES)
def test_tqqq_signal_text(signal, regime, positions, en, zh):
    d = tqqq(signal, regime, positions)
    assert render.signal_text(d, "en") == en
    assert render.signal_text(d, "zh-CN") == zh


def test_tqqq_percentages_are_of_strategy_equity_and_follow_unlevered_symbol():
    # Income layer took 40,000 of 100,000: S = 60,000; TQQQ 27,000 / 60,000 = 45.0%,
    # QQQM 13,500 / 60,000 = 22.5%.
    extras = {**TQQQ_EXTRAS, "strategy_equity": 60_000.0, "unlevered_symbol": "QQQM"}
    positions = (val("BOXX", 19_500.0, Role.SAFE_HAVEN), val("QQQM", 13_500.0),
                 val("TQQQ", 27_000.0))
    d = tqqq("hold", "risk_on", positions, extras)
    assert render.signal_text(d) == "💎 HOLD: QQQ above MA200, keep TQQQ 45.0% + QQQM 22.5%"


def test_tqqq_status_keeps_key_value_fragments_in_both_languages():
    d = tqqq("entry", "risk_on")
    tail = ("QQQ=512.34 | ma200=480.00 | ma20=500.00 | ma20_slope=+1.25 | rebound=3.40% | "
            "rebound_threshold=2.00% | regime=risk_on | snapshot_as_of=2024-12-31")
    assert render.status_text(d, "en") == f"🚀 RISK-ON | {tail}"
    assert render.status_text(d, "zh-CN") == f"🚀 进攻 | {tail}"
    missing = tqqq("idle", "risk_off", RISK_OFF, {"strategy_equity": 100_000.0})
    assert "ma200=n/a | ma20=n/a | ma20_slope=n/a" in render.status_text(missing)


# --- soxl_soxx_trend_income -------------------------------------------------------------

def soxl(signal: str, tier: str, soxl_ratio: float, soxx_ratio: float, **kw) -> StrategyDecision:
    # SOXX ma_trend = 100 with the default buffers: entry 108, mid 106, exit 98.
    extras = {"trend_symbol": "SOXX", "trend_ma_window": 140, "soxl_ratio": soxl_ratio,
              "soxx_ratio": soxx_ratio, "deploy_ratio": soxl_ratio + soxx_ratio,
              "active_risk_asset": "SOXX" if tier == "defensive" else "SOXX+SOXL",
              "trend_entry_line": 108.0, "trend_mid_line": 106.0, "trend_exit_line": 98.0}
    core = 100_000.0
    positions = (val("BOXX", core * (1 - soxl_ratio - soxx_ratio), Role.SAFE_HAVEN),
                 val("QQQI", 0.0, Role.INCOME), val("SOXL", core * soxl_ratio),
                 val("SOXX", core * soxx_ratio), val("SPYI", 0.0, Role.INCOME))
    return make("soxl_soxx_trend_income", signal, regime=tier, positions=positions,
                extras=extras, benchmark_symbol="SOXX", benchmark_price=109.0,
                safe_haven_symbol="BOXX", **kw)


SOXL_CASES = [
    ("blend_gate_risk_on", "full", 0.70, 0.20,
     "SOXX above 140d gated entry, hold SOXL 70.0% + SOXX 20.0%",
     "SOXX 站上 140 日门控入场线，持有 SOXL 70.0% + SOXX 20.0%",
     "🚀 RISK-ON (SOXX+SOXL)", "🚀 进攻 (SOXX+SOXL)"),
    ("blend_gate_risk_on", "mid", 0.65, 0.20,
     "SOXX above 140d gated entry, hold SOXL 65.0% + SOXX 20.0%",
     "SOXX 站上 140 日门控入场线，持有 SOXL 65.0% + SOXX 20.0%",
     "🚀 RISK-ON (SOXX+SOXL)", "🚀 进攻 (SOXX+SOXL)"),
    ("blend_gate_defensive", "defensive", 0.0, 0.15,
     "SOXX below gated entry, hold defensive SOXX 15.0%",
     "SOXX 跌破门控入场线，防守持有 SOXX 15.0%",
     "🛡️ DE-LEVER (SOXX)", "🛡️ 降杠杆 (SOXX)"),
]


@pytest.mark.parametrize(("signal", "tier", "r1", "r2", "en", "zh", "status_en", "status_zh"),
                         SOXL_CASES)
def test_soxl_reference_wording(signal, tier, r1, r2, en, zh, status_en, status_zh):
    d = soxl(signal, tier, r1, r2)
    assert render.signal_text(d, "en") == en
    assert render.signal_text(d, "zh-CN") == zh
    deploy = f"{r1 + r2:.1%}"  # 90.0%, 85.0%, 15.0%
    tail = (f"SOXX=109.00 | entry=108.00 | mid=106.00 | exit=98.00 | deploy={deploy} | "
            f"regime={tier} | snapshot_as_of=2024-12-31")
    assert render.status_text(d, "en") == f"{status_en} | {tail}"
    assert render.status_text(d, "zh-CN") == f"{status_zh} | {tail}"


# --- global_etf_rotation ----------------------------------------------------------------
CANARIES = [
    {"symbol": "SPY", "momentum": 0.0141, "ok": True, "reason": "ok"},
    {"symbol": "EFA", "momentum": -0.0084, "ok": False, "reason": "negative_momentum"},
    {"symbol": "EEM", "momentum": None, "ok": False, "reason": "nan_momentum"},
    {"symbol": "AGG", "momentum": None, "ok": False, "reason": "no_data"},
]


def glob(signal: str, regime: str = "canary_ok", **kw) -> StrategyDecision:
    extras = {"n_bad_canaries": 3, "canary_bad_threshold": 4, "canary_status": CANARIES,
              "top_n": 2, "next_rebalance_session": "2025-03-31",
              "selected": [{"symbol": "SMH", "score": 0.03849, "momentum": 0.03849,
                            "held": False}]}
    extras.update(kw.pop("extras", {}))
    return make("global_etf_rotation", signal, regime=regime, mode="weight",
                safe_haven_symbol="BIL", extras=extras, **kw)


def test_global_quarterly_reference_text():
    d = glob("quarterly_rebalance",
             positions=(wt("BIL", 0.5, Role.SAFE_HAVEN), wt("SMH", 0.5)))
    assert render.signal_text(d, "en") == "quarterly(n=2)\n  Top: SMH(0.038)"
    assert render.signal_text(d, "zh-CN") == "季度调仓(n=2)\n  入选: SMH(0.038)"
    two = glob("quarterly_rebalance",
               positions=(wt("BIL", 0.0, Role.SAFE_HAVEN), wt("GLD", 0.5), wt("SMH", 0.5)),
               extras={"selected": [{"symbol": "SMH", "score": 0.0384},
                                    {"symbol": "GLD", "score": 0.0205}]})
    assert render.signal_text(two) == "quarterly(n=2)\n  Top: SMH(0.038), GLD(0.021)"


@pytest.mark.parametrize(("signal", "kw", "en", "zh"), [
    ("emergency", {"regime": "canary_emergency", "flags": (RiskFlag.EMERGENCY,),
                   "positions": (wt("BIL", 1.0, Role.SAFE_HAVEN),),
                   "extras": {"n_bad_canaries": 4}},
     "🚨 EMERGENCY: 4 canaries bad, all to BIL",
     "🚨 紧急避险：4 个金丝雀资产转弱，全部转入 BIL"),
    ("no_candidate", {"positions": (wt("BIL", 1.0, Role.SAFE_HAVEN),)},
     "⚠️ no ETF passes the momentum and SMA filters, all to BIL",
     "⚠️ 没有 ETF 通过动量与均线筛选，全部转入 BIL"),
    ("daily_check", {"hold": "not_rebalance_day"},
     "daily check: canary OK, no rebalance today (next 2025-03-31)",
     "每日检查：金丝雀正常，今日不调仓（下次 2025-03-31）"),
])
def test_global_signals(signal, kw, en, zh):
    d = glob(signal, **kw)
    assert render.signal_text(d, "en") == en
    assert render.signal_text(d, "zh-CN") == zh


def test_global_status_is_the_reference_canary_string_plus_codes():
    d = glob("daily_check", hold="not_rebalance_day")
    canary = "SPY:✅(0.014), EFA:❌(-0.008), EEM:❌(nan), AGG:❌(no data)"
    codes = ("canary_bad=3/4 | regime=canary_ok | no-op | reason=not_rebalance_day | "
             "snapshot_as_of=2024-12-31")
    assert render.status_text(d, "en") == f"{canary} | {codes}"
    assert render.status_text(d, "zh-CN") == f"{canary.replace('no data', '无数据')} | {codes}"


# --- fail-closed, unknown codes, languages ------------------------------------------------

def test_fail_closed_decision_from_the_runner():
    from us_equity_strategies.runner import fail_closed_decision

    d = fail_closed_decision("global_etf_rotation", EvaluationContext(as_of=AS_OF),
                             SnapshotError("x.csv: checksum mismatch"))
    assert render.signal_text(d, "en") == "🛑 fail closed: no trades (fail_closed:input_error)"
    assert render.signal_text(d, "zh-CN") == "🛑 安全停止：本次不交易（fail_closed:input_error）"
    assert render.status_text(d, "zh-CN") == "fail_closed | reason=fail_closed:input_error"


def test_unknown_signal_falls_back_generically():
    d = make("acme_momentum", "hold_leader", mode="weight", positions=(wt("AAA", 1.0),))
    assert render.signal_text(d, "en") == "signal: hold_leader"
    assert render.signal_text(d, "zh-CN") == "信号: hold_leader"
    assert render.status_text(d) == "signal=hold_leader | regime=n/a | snapshot_as_of=2024-12-31"
    # A known profile with a code this renderer has never seen falls back too.
    assert render.signal_text(make("tqqq_growth_income", "moon", positions=RISK_ON)) \
        == "signal: moon"
    # No manifest for a plugin that is not installed: the id names it.
    assert render.summary(d).splitlines()[0] == "acme_momentum (acme_momentum 1.0.0)"


@settings(max_examples=50, deadline=None)
@given(code=st.text(min_size=1, max_size=30), lang=st.sampled_from(LANGS),
       profile=st.sampled_from(["tqqq_growth_income", "soxl_soxx_trend_income",
                                "global_etf_rotation", "acme_momentum"]))
def test_any_signal_code_renders(code, lang, profile):
    known = {"entry", "hold", "exit", "idle", "blend_gate_risk_on", "blend_gate_defensive",
             "emergency", "daily_check", "quarterly_rebalance", "no_candidate", "fail_closed"}
    d = make(profile, code, hold="some_reason")
    text = render.signal_text(d, lang)
    status = render.status_text(d, lang)
    if code not in known:
        assert text == ("signal: " if lang == "en" else "信号: ") + code
        assert status.startswith(f"signal={code} | ")
    assert "reason=some_reason" in status
    assert render.summary(d, lang)


def test_unknown_language_is_a_value_error_listing_supported():
    d = tqqq("entry", "risk_on")
    for fn in (render.signal_text, render.status_text, render.summary):
        with pytest.raises(ValueError, match=r"'fr'.*en, zh-CN"):
            fn(d, "fr")


# --- small-account note -----------------------------------------------------------------

def small(equity: float | None, minimum: float, warn: bool) -> SmallAccount:
    return SmallAccount(min_recommended_equity_usd=minimum, portfolio_total_equity=equity,
                        small_account_warning=warn,
                        small_account_warning_reason=REASON if warn else None,
                        note="one position; needs a whole share")


NOTE_EN = ("small account warning: portfolio equity $1,000 is below the recommended $10,000; "
           "integer-share minimum position sizing may prevent backtest replication")


def test_small_account_note_is_appended_exactly():
    d = make("acme_momentum", "signal", mode="weight", positions=(wt("AAA", 1.0),),
             small=small(1_000.0, 10_000.0, True))
    # spec §3 example: "signal | small account warning: ..." (here after the fallback text).
    assert render.signal_text(d, "en") == f"signal: signal | {NOTE_EN}"
    assert render.signal_text(d, "zh-CN") == (
        "信号: signal | 小账户提示：账户净值 $1,000 低于建议的 $10,000；"
        "整数股与最小持仓金额可能导致无法复现回测结果")
    soxl_small = soxl("blend_gate_defensive", "defensive", 0.0, 0.15,
                      small=small(1_000.0, 10_000.0, True))
    assert render.signal_text(soxl_small) == (
        f"SOXX below gated entry, hold defensive SOXX 15.0% | {NOTE_EN}")


@pytest.mark.parametrize("block", [small(10_000.0, 10_000.0, False), small(None, 10_000.0, True),
                                   None])
def test_no_note_without_warning_or_equity(block):
    d = soxl("blend_gate_defensive", "defensive", 0.0, 0.15, small=block)
    assert render.signal_text(d) == "SOXX below gated entry, hold defensive SOXX 15.0%"
    assert render.small_account_note(d) is None


def test_note_through_the_runner_on_demo_data():
    from us_equity_strategies.contract import Portfolio
    from us_equity_strategies.dryrun import dry_run

    ctx = EvaluationContext(as_of=dt.date(2024, 12, 31),
                            portfolio=Portfolio(total_equity=800.0, cash=800.0))
    d = dry_run("soxl_soxx_trend_income", context=ctx).decision
    # Manifest minimum is $1,000 and 800 < 1000 (strict).
    assert render.signal_text(d).endswith(
        " | small account warning: portfolio equity $800 is below the recommended $1,000; "
        "integer-share minimum position sizing may prevent backtest replication")
    platform = d.to_platform_dict("zh-CN")["diagnostics"]
    assert platform["signal_description"] == render.signal_text(d, "zh-CN")
    assert platform["status_description"] == render.status_text(d, "zh-CN")


# --- summary ----------------------------------------------------------------------------

def test_summary_weight_mode_exact():
    d = glob("quarterly_rebalance",
             positions=(wt("BIL", 0.125, Role.SAFE_HAVEN), wt("GLD", 0.375), wt("SMH", 0.5)))
    assert render.summary(d) == "\n".join([
        "Global ETF Rotation (global_etf_rotation 1.0.0)",
        "as of: 2024-12-31 (snapshot 2024-12-31)",
        "signal: quarterly(n=2)",
        "  Top: SMH(0.038)",
        "status: SPY:✅(0.014), EFA:❌(-0.008), EEM:❌(nan), AGG:❌(no data) | canary_bad=3/4 | "
        "regime=canary_ok | snapshot_as_of=2024-12-31",
        "regime: canary_ok",
        "targets (weight):",
        "  BIL    safe haven   12.5%",
        "  GLD    risk         37.5%",
        "  SMH    risk         50.0%",
        "  total              100.0%",
    ])


def test_summary_value_mode_thousands_separators_warnings_and_hold():
    positions = (val("BOXX", 1_234_567.89, Role.SAFE_HAVEN), val("SOXX", 950.4))
    warnings = (
        DecisionWarning(code=WarningCode.SMALL_ACCOUNT, message="(shown as the note)"),
        DecisionWarning(code=WarningCode.BELOW_ONE_SHARE, message="SOXX: english",
                        data={"symbol": "SOXX", "target_value": 950.4, "price": 1012.5}),
    )
    d = make("soxl_soxx_trend_income", "blend_gate_defensive", regime="defensive",
             positions=positions, small=small(1_000.0, 10_000.0, True), warnings=warnings,
             extras={"soxx_ratio": 0.15}, benchmark_symbol="SOXX")
    lines = render.summary(d).splitlines()
    # No decimals, rounded, as the reference: 1,234,567.89 -> "$1,234,568", 950.4 -> "$950",
    # total 1,235,518.29 -> "$1,235,518".
    assert lines[5:9] == ["targets (value):", "  BOXX   safe haven  $1,234,568",
                          "  SOXX   risk              $950", "  total              $1,235,518"]
    assert lines[9] == f"small account: {NOTE_EN} (one position; needs a whole share)"
    assert lines[10:] == ["warnings:", "  - SOXX: target $950 buys no whole share at 1,012.50"]
    assert lines[2] == "signal: SOXX below gated entry, hold defensive SOXX 15.0%"
    zh = render.summary(d, "zh-CN").splitlines()
    assert zh[0] == "SOXL/SOXX 半导体趋势收益 (soxl_soxx_trend_income 1.0.0)"
    assert zh[-1] == "  - SOXX：目标 $950 按价格 1,012.50 买不到一整股"
    assert zh[-3].endswith("(SOXX 与 BOXX 目标不足一股时可能被跳过)")  # manifest note_zh

    held = glob("daily_check", hold="not_rebalance_day")
    lines = render.summary(held).splitlines()
    assert lines[-2:] == ["risk flags: no_execute",
                          "no trades (hold current positions), reason: not_rebalance_day"]
    assert render.summary(held, "zh-CN").splitlines()[-1] == \
        "不交易（保持现有持仓），原因: not_rebalance_day"
