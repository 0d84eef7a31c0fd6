"""Tests for us_equity_strategies.contract: decision invariants, context, platform projection."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from us_equity_strategies import sizing
from us_equity_strategies.contract import (
    WEIGHT_SUM_TOLERANCE,
    DecisionWarning,
    Diagnostics,
    EvaluationContext,
    Holding,
    Portfolio,
    PositionTarget,
    Provenance,
    RiskFlag,
    Role,
    ShareFeasibility,
    SmallAccount,
    StrategyDecision,
    TargetMode,
    WarningCode,
)
from us_equity_strategies.contract._platform import META_KEY, RESERVED_DIAGNOSTIC_KEYS
from us_equity_strategies.manifests import SmallAccountSpec

AS_OF = dt.date(2024, 3, 28)
NAN = float("nan")
INF = float("inf")


def weight(symbol: str, w: float, role: Role = Role.RISK) -> PositionTarget:
    return PositionTarget(symbol=symbol, target_weight=w, role=role)


def value(symbol: str, v: float, role: Role = Role.RISK) -> PositionTarget:
    return PositionTarget(symbol=symbol, target_value=v, role=role)


def decision(**kw) -> StrategyDecision:
    base = dict(profile="demo_profile", profile_version="1.0.0", as_of=AS_OF,
                target_mode="weight", positions=(weight("SPY", 0.6), weight("BIL", 0.4)),
                diagnostics=Diagnostics(signal="risk_on"))
    base.update(kw)
    return StrategyDecision(**base)


def hold(**kw) -> StrategyDecision:
    base = dict(positions=(), risk_flags=(RiskFlag.NO_EXECUTE,), actionable=False,
                no_op_reason="outside_execution_window")
    base.update(kw)
    return decision(**base)


def errors_of(excinfo) -> str:
    return str(excinfo.value)


# ---------------------------------------------------------------------------------------------
# PositionTarget
# ---------------------------------------------------------------------------------------------
def test_position_both_weight_and_value_rejected():
    with pytest.raises(ValidationError, match="exactly one of target_weight or target_value"):
        PositionTarget(symbol="SPY", target_weight=0.5, target_value=100.0)


def test_position_neither_weight_nor_value_rejected():
    with pytest.raises(ValidationError, match="exactly one of target_weight or target_value"):
        PositionTarget(symbol="SPY")


@pytest.mark.parametrize("bad", [1.0000001, -0.01, NAN, INF])
def test_position_weight_out_of_range_or_non_finite(bad):
    with pytest.raises(ValidationError, match="target_weight"):
        weight("SPY", bad)


@pytest.mark.parametrize("bad", [-1.0, NAN, INF, -INF])
def test_position_value_negative_or_non_finite(bad):
    with pytest.raises(ValidationError, match="target_value"):
        value("SPY", bad)


def test_position_zero_is_a_valid_liquidation_target():
    assert weight("SPY", 0.0).target_weight == 0.0
    assert value("SPY", 0.0).target_value == 0.0
    assert weight("SPY", 0.0).mode is TargetMode.WEIGHT
    assert value("SPY", 0.0).mode is TargetMode.VALUE


@pytest.mark.parametrize("symbol", ["spy", "", " SPY", "SPY$", "A" * 21])
def test_position_symbol_pattern(symbol):
    with pytest.raises(ValidationError, match="symbol"):
        weight(symbol, 0.5)


@pytest.mark.parametrize("symbol", ["BRK-B", "BRK.B", "BF-B", "02800", "A" * 20])
def test_position_symbol_pattern_accepts_real_tickers(symbol):
    assert weight(symbol, 0.5).symbol == symbol


# ---------------------------------------------------------------------------------------------
# StrategyDecision invariants
# ---------------------------------------------------------------------------------------------
def test_weight_sum_tolerance_boundary():
    ok = decision(positions=(weight("AAA", 0.5), weight("BBB", 0.5 + 1e-9)))
    assert sum(ok.targets().values()) == pytest.approx(1.0 + 1e-9, abs=1e-15)
    with pytest.raises(ValidationError, match=r"target weights sum to 1\.00000001"):
        decision(positions=(weight("AAA", 0.5), weight("BBB", 0.5 + 1e-8)))
    assert WEIGHT_SUM_TOLERANCE == 1e-9


def test_weight_sum_one_point_five_rejected():
    with pytest.raises(ValidationError, match=r"target weights sum to 1.5 > 1"):
        decision(positions=(weight("AAA", 0.75), weight("BBB", 0.75)))


def test_value_mode_has_no_sum_limit():
    d = decision(target_mode="value", positions=(value("AAA", 1e7), value("BBB", 2e7)))
    assert d.targets() == {"AAA": 1e7, "BBB": 2e7}


def test_mixed_modes_rejected_and_named():
    with pytest.raises(ValidationError, match=r"positions BBB are not in the decision's "
                                              r"target_mode 'weight'"):
        decision(positions=(weight("AAA", 0.5), value("BBB", 100.0)))
    with pytest.raises(ValidationError, match=r"positions AAA are not in .* 'value'"):
        decision(target_mode="value", positions=(weight("AAA", 0.5), value("BBB", 100.0)))


def test_duplicate_symbols_rejected():
    with pytest.raises(ValidationError, match="duplicate position symbols: SPY"):
        decision(positions=(weight("SPY", 0.2), weight("BIL", 0.2), weight("SPY", 0.3)))


def test_positions_and_flags_sorted_automatically():
    d = decision(positions=(weight("ZZZ", 0.1), weight("AAA", 0.2), weight("MMM", 0.3)),
                 risk_flags=("soft_defense", "emergency", "soft_defense"))
    assert [p.symbol for p in d.positions] == ["AAA", "MMM", "ZZZ"]
    assert d.risk_flags == (RiskFlag.EMERGENCY, RiskFlag.SOFT_DEFENSE)
    assert list(d.targets()) == ["AAA", "MMM", "ZZZ"]


def test_no_execute_without_not_actionable_rejected():
    with pytest.raises(ValidationError, match="no_execute must be set exactly when actionable"):
        decision(risk_flags=(RiskFlag.NO_EXECUTE,))


def test_not_actionable_without_no_execute_rejected():
    with pytest.raises(ValidationError, match="no_execute must be set exactly when actionable"):
        hold(risk_flags=())


def test_non_actionable_with_positions_rejected():
    with pytest.raises(ValidationError, match=r"non-actionable .* must have no positions"):
        hold(positions=(weight("SPY", 1.0),))


def test_non_actionable_needs_reason():
    with pytest.raises(ValidationError, match="needs a no_op_reason"):
        hold(no_op_reason=None)
    with pytest.raises(ValidationError, match="needs a no_op_reason"):
        hold(no_op_reason="")


def test_actionable_with_reason_rejected():
    with pytest.raises(ValidationError, match="no_op_reason is only allowed on non-actionable"):
        decision(no_op_reason="why")


def test_actionable_without_positions_rejected():
    with pytest.raises(ValidationError, match="actionable decision needs at least one position"):
        decision(positions=())


def test_hold_is_valid():
    d = hold(risk_flags=(RiskFlag.NO_EXECUTE, RiskFlag.EMERGENCY))
    assert d.positions == () and not d.actionable
    assert d.risk_flags == (RiskFlag.EMERGENCY, RiskFlag.NO_EXECUTE)


def test_safe_haven_must_be_explicit_position():
    diag = Diagnostics(signal="risk_off", safe_haven_symbol="BIL")
    with pytest.raises(ValidationError, match="safe haven BIL must be an explicit position"):
        decision(positions=(weight("SPY", 1.0),), diagnostics=diag)
    # present, but with the wrong role
    with pytest.raises(ValidationError, match="safe haven BIL must be an explicit position"):
        decision(positions=(weight("SPY", 0.5), weight("BIL", 0.5)), diagnostics=diag)
    ok = decision(positions=(weight("SPY", 0.5), weight("BIL", 0.5, Role.SAFE_HAVEN)),
                  diagnostics=diag)
    assert ok.positions[0].role is Role.SAFE_HAVEN
    # a hold may name its safe haven without listing it
    assert hold(diagnostics=diag).diagnostics.safe_haven_symbol == "BIL"


@pytest.mark.parametrize(
    ("field", "bad"),
    [("benchmark_price", NAN), ("trade_threshold_value", INF), ("reserved_cash", -INF)],
)
def test_diagnostics_non_finite_rejected(field, bad):
    with pytest.raises(ValidationError, match=field):
        Diagnostics(signal="s", **{field: bad})


@pytest.mark.parametrize(
    ("extras", "path"),
    [({"x": NAN}, "diagnostics.extras.x"),
     ({"a": {"b": [1.0, INF]}}, r"diagnostics.extras.a.b\[1\]"),
     ({"a": [{"c": -INF}]}, r"diagnostics.extras.a\[0\].c")],
)
def test_diagnostics_extras_non_finite_rejected_with_path(extras, path):
    with pytest.raises(ValidationError, match=path + " must be finite"):
        Diagnostics(signal="s", extras=extras)


def test_diagnostics_extras_reject_non_json():
    with pytest.raises(ValidationError, match="non-JSON value of type set"):
        Diagnostics(signal="s", extras={"x": {1, 2}})
    with pytest.raises(ValidationError, match="keys must be strings"):
        Diagnostics(signal="s", extras={"x": {1: 2}})


def test_diagnostics_extras_convert_numpy_and_dates():
    np = pytest.importorskip("numpy")
    extras = {"f": np.float64(1.5), "b": np.bool_(True), "i": np.int64(3),
              "d": dt.date(2024, 1, 2), "t": (1, 2)}
    got = Diagnostics(signal="s", extras=extras).extras
    assert got == {"b": True, "d": "2024-01-02", "f": 1.5, "i": 3, "t": [1, 2]}
    assert type(got["b"]) is bool and type(got["i"]) is int and type(got["f"]) is float
    assert list(got) == ["b", "d", "f", "i", "t"]


def test_warning_data_non_finite_rejected():
    with pytest.raises(ValidationError, match=r"warning\.data\.gap must be finite"):
        DecisionWarning(code=WarningCode.PROFILE, message="m", data={"gap": INF})


@pytest.mark.parametrize(
    "build",
    [lambda: SmallAccount(min_recommended_equity_usd=NAN),
     lambda: SmallAccount(min_recommended_equity_usd=1.0, portfolio_total_equity=INF),
     lambda: ShareFeasibility(equity=1.0, lines=(), residual_cash=0.0, tracking_gap=0.0,
                              max_tracking_gap=0.05, min_equity_for_max_gap=INF)],
)
def test_small_account_blocks_reject_non_finite(build):
    # to_json would silently turn these into null and break the round trip
    with pytest.raises(ValidationError, match="finite"):
        build()


def test_empty_signal_rejected():
    with pytest.raises(ValidationError, match="signal"):
        Diagnostics(signal="")


@pytest.mark.parametrize("profile", ["Demo", "demo-profile", "1demo", ""])
def test_profile_name_pattern(profile):
    with pytest.raises(ValidationError, match="profile"):
        decision(profile=profile)


def test_frozen_and_extra_forbid():
    d = decision()
    with pytest.raises(ValidationError, match="frozen"):
        d.profile = "other"
    with pytest.raises(ValidationError, match="frozen"):
        d.positions[0].target_weight = 0.1
    with pytest.raises(ValidationError, match="frozen"):
        d.diagnostics.signal = "x"
    with pytest.raises(ValidationError, match="bogus"):
        decision(bogus=1)
    with pytest.raises(ValidationError, match="bogus"):
        PositionTarget(symbol="SPY", target_weight=0.1, bogus=1)
    with pytest.raises(ValidationError, match="bogus"):
        Diagnostics(signal="s", bogus=1)


def test_contract_version_is_fixed():
    with pytest.raises(ValidationError, match="contract_version"):
        decision(contract_version="us_equity_strategies.decision.v2")


# ---------------------------------------------------------------------------------------------
# JSON schema and canonical JSON
# ---------------------------------------------------------------------------------------------
def test_json_schema_export():
    schema = StrategyDecision.json_schema()
    text = json.dumps(schema)
    again = json.loads(text)
    assert again["title"] == "StrategyDecision"
    props = again["properties"]
    for name in ("contract_version", "profile", "profile_version", "as_of", "target_mode",
                 "positions", "risk_flags", "actionable", "no_op_reason", "diagnostics",
                 "warnings", "small_account", "provenance"):
        assert name in props, name
    defs = again["$defs"]
    assert {"target_weight", "target_value", "role", "symbol"} <= set(
        defs["PositionTarget"]["properties"])
    assert set(defs["RiskFlag"]["enum"]) == {"no_execute", "emergency", "hard_defense",
                                             "soft_defense"}


def test_to_json_byte_identical_regardless_of_key_order():
    a = decision(diagnostics=Diagnostics(signal="s", extras={"b": 2, "a": {"y": 1, "x": [0.5]}}),
                 positions=(weight("SPY", 0.6), weight("BIL", 0.4)))
    b = decision(diagnostics=Diagnostics(signal="s", extras={"a": {"x": [0.5], "y": 1}, "b": 2}),
                 positions=(weight("BIL", 0.4), weight("SPY", 0.6)))
    assert a.to_json() == b.to_json()
    assert a.to_json().encode() == b.to_json().encode()
    text = a.to_json()
    assert text.index('"a"') < text.index('"b"') and text.index('"x"') < text.index('"y"')
    assert StrategyDecision.model_validate_json(text) == a


# ---------------------------------------------------------------------------------------------
# Platform projection
# ---------------------------------------------------------------------------------------------
def test_to_platform_dict_weight_mode():
    d = decision(
        positions=(weight("SPY", 0.6), weight("BIL", 0.4, Role.SAFE_HAVEN)),
        diagnostics=Diagnostics(signal="risk_on", regime="bull", safe_haven_symbol="BIL",
                                snapshot_as_of=dt.date(2024, 3, 27),
                                extras={"canary_bad": 1}),
    )
    out = d.to_platform_dict()
    assert set(out) == {"positions", "budgets", "risk_flags", "diagnostics"}
    assert out["positions"] == [
        {"symbol": "BIL", "role": "safe_haven", "target_weight": 0.4},
        {"symbol": "SPY", "role": "risk", "target_weight": 0.6},
    ]
    assert out["budgets"] == [] and out["risk_flags"] == []
    diag = out["diagnostics"]
    assert diag["signal"] == "risk_on" and diag["regime"] == "bull"
    assert diag["safe_haven_symbol"] == "BIL" and diag["snapshot_as_of"] == "2024-03-27"
    assert diag["canary_bad"] == 1
    assert diag["actionable"] is True and "no_op_reason" not in diag
    assert isinstance(diag["signal_description"], str) and diag["signal_description"]
    assert isinstance(diag["status_description"], str) and diag["status_description"]
    assert "execution_annotations" not in diag
    assert "min_recommended_equity_usd" not in diag
    json.dumps(out)  # platform payloads are plain JSON


def test_to_platform_dict_hold():
    out = hold(diagnostics=Diagnostics(signal="wait")).to_platform_dict()
    assert out["positions"] == []
    assert out["risk_flags"] == ["no_execute"]
    assert out["diagnostics"]["actionable"] is False
    assert out["diagnostics"]["no_op_reason"] == "outside_execution_window"


def test_to_platform_dict_value_mode_annotations_and_small_account():
    d = decision(
        target_mode="value",
        positions=(value("TQQQ", 6000.0), value("BOXX", 3800.0, Role.SAFE_HAVEN)),
        diagnostics=Diagnostics(signal="attack", safe_haven_symbol="BOXX",
                                benchmark_symbol="QQQ", benchmark_price=450.25,
                                trade_threshold_value=100.0, reserved_cash=200.0),
    )
    spec = SmallAccountSpec(min_recommended_equity_usd=10_000, note="n")
    small, warns = sizing.assess(spec, d, 1000.0, {"TQQQ": 60.0, "BOXX": 110.0})
    d = StrategyDecision.model_validate({**d.model_dump(), "small_account": small,
                                         "warnings": warns})
    out = d.to_platform_dict()
    assert out["positions"] == [
        {"symbol": "BOXX", "role": "safe_haven", "target_value": 3800.0},
        {"symbol": "TQQQ", "role": "risk", "target_value": 6000.0},
    ]
    diag = out["diagnostics"]
    ann = diag["execution_annotations"]
    assert ann["trade_threshold_value"] == 100.0
    assert ann["reserved_cash"] == 200.0
    assert ann["benchmark_symbol"] == "QQQ" and ann["benchmark_price"] == 450.25
    assert ann["signal_display"] == diag["signal_description"]
    assert ann["status_display"] == diag["status_description"]
    assert diag["min_recommended_equity_usd"] == 10_000.0
    assert diag["portfolio_total_equity"] == 1000.0
    assert diag["small_account_warning"] is True
    assert diag["small_account_warning_reason"] == (
        "integer_shares_min_position_value_may_prevent_backtest_replication")
    assert StrategyDecision.from_platform_dict(out) == d


def test_to_platform_dict_small_account_without_equity():
    spec = SmallAccountSpec(min_recommended_equity_usd=3000, note="n")
    d = decision()
    small, _ = sizing.assess(spec, d, None, {})
    d = StrategyDecision.model_validate({**d.model_dump(), "small_account": small})
    diag = d.to_platform_dict()["diagnostics"]
    assert diag["min_recommended_equity_usd"] == 3000.0
    assert diag["small_account_warning"] is False
    assert "portfolio_total_equity" not in diag
    assert "small_account_warning_reason" not in diag


def test_to_platform_dict_rejects_reserved_extras():
    d = decision(diagnostics=Diagnostics(signal="s", extras={"actionable": False}))
    with pytest.raises(ValueError, match="reserved platform keys: actionable"):
        d.to_platform_dict()


# ---------------------------------------------------------------------------------------------
# Hypothesis: random valid decisions round-trip through the platform projection
# ---------------------------------------------------------------------------------------------
symbols = st.from_regex(r"[A-Z]{1,5}", fullmatch=True)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k not in RESERVED_DIAGNOSTIC_KEYS)
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
money = st.floats(min_value=0, max_value=1e9, allow_nan=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
hexdigest = st.from_regex(r"[0-9a-f]{64}", fullmatch=True)


@st.composite
def decisions(draw) -> StrategyDecision:
    mode = draw(st.sampled_from(["weight", "value"]))
    actionable = draw(st.booleans())
    diag = dict(
        signal=draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True)),
        regime=draw(st.none() | st.sampled_from(["bull", "bear", "neutral"])),
        benchmark_symbol=draw(st.none() | symbols),
        benchmark_price=draw(st.none() | money),
        snapshot_as_of=draw(st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31))),
        trade_threshold_value=draw(st.none() | money),
        reserved_cash=draw(st.none() | money),
        extras=draw(st.dictionaries(keys, json_values, max_size=4)),
    )
    flags = set(draw(st.lists(st.sampled_from(
        [RiskFlag.EMERGENCY, RiskFlag.HARD_DEFENSE, RiskFlag.SOFT_DEFENSE]), max_size=3)))
    positions: list[PositionTarget] = []
    if actionable:
        syms = draw(st.lists(symbols, min_size=1, max_size=6, unique=True))
        roles = [draw(st.sampled_from(list(Role))) for _ in syms]
        if draw(st.booleans()):  # name a safe haven: it must be an explicit safe_haven row
            roles[0] = Role.SAFE_HAVEN
            diag["safe_haven_symbol"] = syms[0]
        if mode == "weight":
            cap = 10_000 // len(syms)
            amounts = [draw(st.integers(0, cap)) / 10_000 for _ in syms]
            positions = [weight(s, w, r) for s, w, r in zip(syms, amounts, roles, strict=True)]
        else:
            positions = [value(s, draw(money), r) for s, r in zip(syms, roles, strict=True)]
        reason = None
    else:
        flags.add(RiskFlag.NO_EXECUTE)
        diag["safe_haven_symbol"] = draw(st.none() | symbols)
        reason = draw(st.from_regex(r"[a-z_:=0-9 -]{1,30}", fullmatch=True))
    d = StrategyDecision(
        profile=draw(st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)),
        profile_version=draw(st.sampled_from(["1.0.0", "0.1.0", "2.3.4"])),
        as_of=draw(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31))),
        target_mode=mode, positions=tuple(positions), risk_flags=tuple(flags),
        actionable=actionable, no_op_reason=reason, diagnostics=Diagnostics(**diag),
    )
    extra: dict = {}
    if draw(st.booleans()):  # small-account block + typed warnings from the real sizing code
        spec = SmallAccountSpec(min_recommended_equity_usd=draw(money), note=draw(text))
        equity = draw(st.none() | st.floats(min_value=0, max_value=1e8))
        prices = {p.symbol: draw(st.floats(min_value=0.01, max_value=5000))
                  for p in positions if draw(st.booleans())}
        small, warns = sizing.assess(spec, d, equity, prices)
        extra.update(small_account=small, warnings=warns)
    if draw(st.booleans()):
        extra["warnings"] = (*extra.get("warnings", ()), DecisionWarning(
            code=WarningCode.PROFILE, message=draw(text),
            data=draw(st.dictionaries(keys, json_values, max_size=3))))
    if draw(st.booleans()):
        extra["provenance"] = Provenance(
            snapshot_sha256=draw(st.none() | hexdigest), snapshot_source=draw(st.none() | text),
            config_sha256=draw(hexdigest), package_version="0.1.0", calendar_version="NYSE/x")
    if extra:
        d = StrategyDecision.model_validate({**d.model_dump(), **extra})
    return d


@settings(max_examples=150, deadline=None)
@given(decisions())
def test_platform_round_trip(d):
    out = d.to_platform_dict()
    assert StrategyDecision.from_platform_dict(out) == d
    # the same through real JSON text, as a platform would receive it
    wire = json.loads(json.dumps(out))
    assert StrategyDecision.from_platform_dict(wire) == d
    # and the canonical JSON is stable
    assert StrategyDecision.model_validate_json(d.to_json()).to_json() == d.to_json()
    key = "target_weight" if d.target_mode is TargetMode.WEIGHT else "target_value"
    assert [set(p) for p in out["positions"]] == [{"symbol", "role", key}] * len(d.positions)
    assert ("no_execute" in out["risk_flags"]) is (not d.actionable)
    assert out["diagnostics"]["actionable"] is d.actionable
    assert out["diagnostics"][META_KEY]["extras_keys"] == sorted(d.diagnostics.extras)
    if d.target_mode is TargetMode.VALUE:
        ann = out["diagnostics"]["execution_annotations"]
        if d.diagnostics.trade_threshold_value is not None:
            assert ann["trade_threshold_value"] == d.diagnostics.trade_threshold_value
    if d.small_account is not None:
        assert out["diagnostics"]["min_recommended_equity_usd"] == (
            d.small_account.min_recommended_equity_usd)


@settings(max_examples=50, deadline=None)
@given(decisions())
def test_weight_sums_of_generated_decisions_respect_invariant(d):
    if d.target_mode is TargetMode.WEIGHT:
        assert sum(d.targets().values()) <= 1 + WEIGHT_SUM_TOLERANCE
    assert all(math.isfinite(v) for v in d.targets().values())


# ---------------------------------------------------------------------------------------------
# EvaluationContext
# ---------------------------------------------------------------------------------------------
def test_context_datetime_becomes_date():
    ctx = EvaluationContext(as_of=dt.datetime(2024, 3, 28, 15, 59, 59))
    assert ctx.as_of == dt.date(2024, 3, 28) and type(ctx.as_of) is dt.date
    assert EvaluationContext(as_of="2024-03-28").as_of == dt.date(2024, 3, 28)


def test_context_holdings_derived_from_positive_quantities():
    pf = Portfolio(total_equity=10_000.0, cash=1000.0, positions=(
        Holding(symbol="SPY", quantity=10, market_value=5000.0),
        Holding(symbol="BIL", quantity=0, market_value=0.0),
        Holding(symbol="AGG", quantity=40, market_value=4000.0),
    ))
    ctx = EvaluationContext(as_of=AS_OF, portfolio=pf)
    assert ctx.holdings == ("AGG", "SPY")
    assert ctx.total_equity == 10_000.0
    assert [h.symbol for h in pf.positions] == ["AGG", "BIL", "SPY"]
    assert pf.quantity("SPY") == 10 and pf.quantity("QQQ") == 0.0
    assert pf.market_value("AGG") == 4000.0 and pf.position("QQQ") is None
    assert pf.position("SPY").price == 500.0 and pf.position("BIL").price is None


def test_context_explicit_holdings_win_and_are_normalised():
    pf = Portfolio(total_equity=1.0, positions=(Holding(symbol="SPY", quantity=1,
                                                        market_value=1.0),))
    ctx = EvaluationContext(as_of=AS_OF, portfolio=pf, holdings=(" qqq", "QQQ", "bil", ""))
    assert ctx.holdings == ("BIL", "QQQ")


def test_context_without_portfolio():
    ctx = EvaluationContext(as_of=AS_OF)
    assert ctx.holdings == () and ctx.total_equity is None and ctx.parameters == {}


def test_duplicate_portfolio_positions_rejected():
    with pytest.raises(ValidationError, match="duplicate portfolio positions: SPY"):
        Portfolio(total_equity=1.0, positions=(
            Holding(symbol="SPY", quantity=1, market_value=1.0),
            Holding(symbol="SPY", quantity=2, market_value=2.0)))


@pytest.mark.parametrize(("field", "bad"), [("quantity", -1.0), ("market_value", -5.0),
                                            ("quantity", NAN), ("market_value", INF)])
def test_holding_negative_or_non_finite_rejected(field, bad):
    kw = {"symbol": "SPY", "quantity": 1.0, "market_value": 1.0, field: bad}
    with pytest.raises(ValidationError, match=field):
        Holding(**kw)


@pytest.mark.parametrize(("field", "bad"), [("total_equity", -1.0), ("total_equity", NAN),
                                            ("cash", INF), ("buying_power", NAN)])
def test_portfolio_numbers_checked(field, bad):
    kw = {"total_equity": 1.0, field: bad}
    with pytest.raises(ValidationError, match=field):
        Portfolio(**kw)


def test_context_parameters_are_json_and_sorted():
    ctx = EvaluationContext(as_of=AS_OF, parameters={"top_n": 3, "pool": ("A", "B")})
    assert ctx.parameters == {"pool": ["A", "B"], "top_n": 3}
    with pytest.raises(ValidationError, match=r"parameters\.x must be finite"):
        EvaluationContext(as_of=AS_OF, parameters={"x": NAN})


# ---------------------------------------------------------------------------------------------
# ProfileInputs helpers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_profile_inputs_rows_are_plain_python(unit):
    import numpy as np
    import pandas as pd

    from us_equity_strategies.contract import ProfileInputs

    frame = pd.DataFrame({
        "as_of": np.array(["2024-03-28", "NaT"], dtype=f"datetime64[{unit}]"),
        "symbol": np.array(["SPY", "BIL"], dtype=object),
        "close": [500.5, float("nan")], "eligible": [True, False],
    })
    inputs = ProfileInputs(frame=frame, snapshot_as_of=AS_OF,
                           context=EvaluationContext(as_of=dt.date(2024, 4, 1)), params=None,
                           profile="demo_profile", profile_version="1.0.0",
                           target_mode=TargetMode.WEIGHT)
    rows = inputs.rows()
    assert list(rows) == ["SPY", "BIL"]
    assert rows["SPY"] == {"as_of": dt.datetime(2024, 3, 28), "symbol": "SPY", "close": 500.5,
                           "eligible": True}
    assert rows["BIL"]["as_of"] is None and math.isnan(rows["BIL"]["close"])
    assert type(rows["SPY"]["eligible"]) is bool and type(rows["SPY"]["close"]) is float
    d = inputs.decide([weight("SPY", 1.0)], {"signal": "go"}, risk_flags=["soft_defense"])
    assert (d.profile, d.as_of, d.target_mode) == ("demo_profile", dt.date(2024, 4, 1),
                                                   TargetMode.WEIGHT)
    assert d.risk_flags == (RiskFlag.SOFT_DEFENSE,) and d.actionable
    h = inputs.hold("waiting", Diagnostics(signal="wait"), risk_flags=["emergency"])
    assert h.risk_flags == (RiskFlag.EMERGENCY, RiskFlag.NO_EXECUTE)
    assert h.no_op_reason == "waiting" and h.positions == () and not h.actionable


def test_profile_inputs_from_a_typed_table_read_columns_rows_and_frame():
    import numpy as np
    import pandas as pd

    from us_equity_strategies.contract import ProfileInputs
    from us_equity_strategies.snapshot import TypedTable

    table = TypedTable({
        "as_of": np.array(["2024-03-28", "2024-03-28"], dtype="datetime64[ns]"),
        "symbol": np.array(["SPY", "BIL"], dtype=object),
        "role": np.array([None, "cash"], dtype=object),
        "close": np.array([500.5, float("nan")]),
    }, problems=(), key_index={"SPY": 0, "BIL": 1})
    ctx = EvaluationContext(as_of=dt.date(2024, 4, 1))
    inputs = ProfileInputs(table=table, snapshot_as_of=AS_OF, context=ctx, params=None,
                           profile="demo_profile", profile_version="1.0.0",
                           target_mode=TargetMode.WEIGHT)
    assert inputs.columns is table.columns
    assert (inputs.index("BIL"), inputs.index("QQQ")) == (1, None)
    assert inputs.row("SPY") == {"as_of": dt.datetime(2024, 3, 28), "symbol": "SPY",
                                 "role": None, "close": 500.5}
    assert inputs.row("BIL", ("role",)) == {"role": "cash"} and inputs.row("QQQ") is None
    assert type(inputs.row("SPY", ("close",))["close"]) is float
    with pytest.raises(ValueError, match="read-only"):
        inputs.columns["close"][0] = 1.0  # profiles cannot mutate their input
    with pytest.raises(AttributeError, match="immutable"):
        inputs.params = 1  # type: ignore[misc]
    assert inputs.frame is table.frame  # built once, shared by every evaluation
    assert inputs.frame["close"].tolist()[0] == 500.5 and len(inputs.frame) == 2
    # the frame= path (tests and tools) answers the same questions from a DataFrame
    framed = ProfileInputs(frame=pd.DataFrame({"symbol": ["SPY", "BIL", "SPY"]}),
                           snapshot_as_of=AS_OF, context=ctx, params=None,
                           profile="demo_profile", profile_version="1.0.0",
                           target_mode=TargetMode.WEIGHT)
    assert (framed.index("SPY"), framed.index("BIL")) == (0, 1)
    with pytest.raises(TypeError, match="exactly one of frame= or table="):
        ProfileInputs(snapshot_as_of=AS_OF, context=ctx, params=None, profile="p",
                      profile_version="1", target_mode=TargetMode.WEIGHT)
