"""Tests for us_equity_strategies.runner: the single evaluation path and its contract checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
import pytest

import us_equity_strategies
from us_equity_strategies import registry, runner
from us_equity_strategies.calendar import CALENDAR_VERSION
from us_equity_strategies.contract import (
    EvaluationContext,
    Holding,
    Portfolio,
    RiskFlag,
    StrategyDecision,
    WarningCode,
)
from us_equity_strategies.errors import (
    EXIT_EVALUATION,
    ParameterError,
    ProfileContractError,
    ProfileEvaluationError,
    SnapshotError,
    UsageError,
)
from us_equity_strategies.snapshot import Snapshot

AS_OF = dt.date(2024, 3, 28)
NEXT = dt.date(2024, 4, 1)  # one NYSE session later (Good Friday in between)


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "as_of": ["2024-03-28"] * 3, "symbol": ["AAA", "BBB", "SPY"],
        "close": [10.0, 20.0, 500.0], "momentum": [0.1, 0.2, 0.05],
        "eligible": [True, True, False], "history_days": [300, 300, 300],
    })


def snap(profile: str = "acme_momentum", f: pd.DataFrame | None = None) -> Snapshot:
    return Snapshot.from_frame(frame() if f is None else f, profile=profile, as_of=AS_OF,
                               contract_version=f"{profile}.feature_snapshot.v1",
                               builder_parameters={"lookback": 63})


def ctx(equity: float | None = 10_000.0, **kw) -> EvaluationContext:
    pf = None if equity is None else Portfolio(total_equity=equity, **kw)
    return EvaluationContext(as_of=NEXT, portfolio=pf)


@pytest.fixture
def faulty(plugins):
    """Every faulty variant registered under its own profile name."""
    variants = ["returns_dict", "wrong_profile", "bad_weights", "garbage", "raises_validation",
                "raises_runtime", "mutates"]
    plugins.install({"acme_momentum": "momentum", **{f"acme_{v}": v for v in variants}})
    return plugins


# ---------------------------------------------------------------------------------------------
# The happy path: provenance, small-account block, determinism, no mutation
# ---------------------------------------------------------------------------------------------
def test_evaluate_attaches_provenance_and_small_account(acme):
    s = snap()
    d = runner.evaluate(s, ctx(1000.0))
    assert d.targets() == {"BBB": 1.0}  # 0.2 beats 0.1; SPY is not eligible
    assert d.diagnostics.benchmark_price == 500.0
    assert d.diagnostics.snapshot_as_of == AS_OF
    assert d.as_of == NEXT
    p = d.provenance
    assert p.snapshot_sha256 == s.sha256
    assert p.snapshot_sha256 == hashlib.sha256(s.frame.to_csv(
        index=False, lineterminator="\n").encode()).hexdigest()
    assert p.snapshot_source == "memory"
    blob = ('{"parameters":{"benchmark":"SPY","lookback":63,"min_momentum":0.0},'
            '"profile":"acme_momentum","profile_version":"0.1.0"}')
    assert p.config_sha256 == hashlib.sha256(blob.encode()).hexdigest()
    assert p.package_version == us_equity_strategies.__version__
    assert p.calendar_version == CALENDAR_VERSION
    small = d.small_account
    # equity 1,000 is not below the plugin's minimum of 1,000 (strict <)
    assert small.min_recommended_equity_usd == 1000.0
    assert small.portfolio_total_equity == 1000.0 and small.small_account_warning is False
    line = small.feasibility.lines[0]
    assert (line.symbol, line.price, line.shares) == ("BBB", 20.0, 50)  # 1,000 / 20
    assert d.warnings == ()


def test_small_account_warning_through_runner(acme):
    d = runner.evaluate(snap(), ctx(999.0))
    assert d.small_account.small_account_warning is True
    assert [w.code for w in d.warnings] == [WarningCode.SMALL_ACCOUNT]
    assert d.warnings[0].message.startswith(
        "small account warning: portfolio equity $999 is below the recommended $1,000;")


def test_no_portfolio_means_no_equity_keys(acme):
    d = runner.evaluate(snap(), ctx(None))
    assert d.small_account.portfolio_total_equity is None
    assert d.small_account.small_account_warning is False
    assert d.small_account.feasibility is None


def test_same_inputs_byte_identical_json(acme):
    a = runner.evaluate(snap(), ctx(5000.0))
    registry.clear_cache()
    b = runner.evaluate(snap(), ctx(5000.0))
    assert a.to_json() == b.to_json()
    assert a == b


def test_input_snapshot_not_mutated(acme):
    s = snap()
    before = s.frame.copy(deep=True)
    runner.evaluate(s, ctx())
    pd.testing.assert_frame_equal(s.frame, before)


def test_mutating_profile_cannot_touch_the_callers_frame(faulty):
    s = snap("acme_mutates")
    before = s.frame.copy(deep=True)
    d = runner.evaluate(s, ctx())
    pd.testing.assert_frame_equal(s.frame, before)
    assert d.profile == "acme_mutates"


def test_profile_defaults_to_snapshot_profile_and_accepts_alias(plugins):
    plugins.install(aliases={"acme_momentum": ["acme_mom"]})
    assert runner.evaluate(snap(), ctx()).profile == "acme_momentum"
    assert runner.evaluate(snap(), ctx(), "ACME-MOM").profile == "acme_momentum"


def test_context_parameters_and_overrides(acme):
    # min_momentum 0.5 > best 0.2 -> hold; an explicit override on top wins
    held = runner.evaluate(snap(), EvaluationContext(
        as_of=NEXT, parameters={"min_momentum": 0.5}))
    assert not held.actionable and held.no_op_reason == "no_positive_momentum"
    assert held.risk_flags == (RiskFlag.NO_EXECUTE,) and held.positions == ()
    again = runner.evaluate(snap(), EvaluationContext(as_of=NEXT, parameters={
        "min_momentum": 0.5}), overrides={"min_momentum": 0.0})
    assert again.targets() == {"BBB": 1.0}
    assert again.provenance.config_sha256 != held.provenance.config_sha256


def test_bad_parameters_fail_before_the_profile_runs(acme):
    with pytest.raises(ParameterError, match="unknown parameter 'min_momentun' "
                                             r"\(did you mean 'min_momentum'\?\)"):
        runner.evaluate(snap(), ctx(), overrides={"min_momentun": 0.1})
    with pytest.raises(SnapshotError, match="built with lookback=63 but evaluation uses "
                                            "lookback=20"):
        runner.evaluate(snap(), ctx(), overrides={"lookback": 20})


def test_stale_and_invalid_snapshots_rejected(acme):
    with pytest.raises(SnapshotError, match="2 NYSE sessions older than 2024-04-02"):
        runner.evaluate(snap(), EvaluationContext(as_of=dt.date(2024, 4, 2)))
    with pytest.raises(SnapshotError, match="required row symbol='QQQ' is missing"):
        runner.evaluate(snap(), ctx(), overrides={"benchmark": "QQQ"})


def test_snapshot_prices_prefer_snapshot_close():
    # as check_snapshot types it: str columns are object arrays with None for missing
    f = {"symbol": np.array(["AAA", "BBB", None], dtype=object),
         "close": np.array([10.0, float("nan"), 3.0])}
    c = EvaluationContext(as_of=NEXT, portfolio=Portfolio(total_equity=1.0, positions=(
        Holding(symbol="AAA", quantity=2, market_value=30.0),
        Holding(symbol="BBB", quantity=4, market_value=100.0),
        Holding(symbol="CCC", quantity=0, market_value=0.0))))
    # AAA from the snapshot (10, not 30/2); BBB has no close, so 100/4 from the portfolio
    assert runner.snapshot_prices(f, c) == {"AAA": 10.0, "BBB": 25.0}


# ---------------------------------------------------------------------------------------------
# Contract violations by plugins
# ---------------------------------------------------------------------------------------------
def test_plugin_returning_dict(faulty):
    with pytest.raises(ProfileContractError) as exc:
        runner.evaluate(snap("acme_returns_dict"), ctx())
    assert str(exc.value) == ("profile 'acme_returns_dict' (module acme_plugin.returns_dict) "
                              "returned dict, expected StrategyDecision")
    assert exc.value.exit_code == EXIT_EVALUATION


def test_plugin_returning_wrong_profile_name(faulty):
    with pytest.raises(ProfileContractError, match="returned profile='someone_else', expected "
                                                   "'acme_wrong_profile'"):
        runner.evaluate(snap("acme_wrong_profile"), ctx())


def test_plugin_bypassing_validation_weights(faulty):
    with pytest.raises(ProfileContractError) as exc:
        runner.evaluate(snap("acme_bad_weights"), ctx())
    msg = str(exc.value)
    assert "profile 'acme_bad_weights' (module acme_plugin.bad_weights) returned a decision " \
           "that violates the contract" in msg
    assert "target weights sum to 1.5 > 1" in msg


def test_plugin_bypassing_validation_with_garbage(faulty):
    with pytest.raises(ProfileContractError) as exc:
        runner.evaluate(snap("acme_garbage"), ctx())
    assert "violates the contract: positions.0:" in str(exc.value)


def test_plugin_raising_validation_error(faulty):
    with pytest.raises(ProfileContractError) as exc:
        runner.evaluate(snap("acme_raises_validation"), ctx())
    msg = str(exc.value)
    assert "violates the contract: target_weight: Input should be less than or equal to 1" in msg
    assert exc.value.__cause__ is not None


def test_plugin_raising_bug(faulty):
    with pytest.raises(ProfileEvaluationError) as exc:
        runner.evaluate(snap("acme_raises_runtime"), ctx())
    assert type(exc.value) is ProfileEvaluationError
    assert str(exc.value) == ("profile 'acme_raises_runtime' (module acme_plugin.raises_runtime) "
                              "raised ZeroDivisionError: division by zero")
    assert isinstance(exc.value.__cause__, ZeroDivisionError)


# ---------------------------------------------------------------------------------------------
# fail_closed_decision
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("error", "reason"), [
    (SnapshotError("snap.csv: missing required columns: close"), "fail_closed:input_error"),
    (ProfileEvaluationError("boom"), "fail_closed:evaluation_error"),
    (UsageError("no profile"), "fail_closed:evaluation_error"),
])
def test_fail_closed_decision_shape(error, reason):
    c = EvaluationContext(as_of=dt.datetime(2024, 4, 1, 9, 30))
    d = runner.fail_closed_decision("global-macro-etf-rotation", c, error)
    assert isinstance(d, StrategyDecision)
    assert d.profile == "global_etf_rotation"
    assert d.profile_version == registry.get_manifest("global_etf_rotation").version
    assert d.as_of == dt.date(2024, 4, 1) and d.target_mode.value == "weight"
    assert d.positions == () and d.risk_flags == (RiskFlag.NO_EXECUTE,)
    assert d.actionable is False and d.no_op_reason == reason
    assert d.diagnostics.signal == "fail_closed"
    assert d.diagnostics.extras == {"error_type": type(error).__name__,
                                    "fail_reason": str(error),
                                    "snapshot_guard_decision": "fail_closed"}
    out = d.to_platform_dict()
    assert out["positions"] == [] and out["risk_flags"] == ["no_execute"]
    diag = out["diagnostics"]
    assert diag["actionable"] is False and diag["no_op_reason"] == reason
    assert diag["fail_reason"] == str(error) and diag["snapshot_guard_decision"] == "fail_closed"
    assert diag["signal_description"] and diag["status_description"]
    assert StrategyDecision.from_platform_dict(json.loads(json.dumps(out))) == d


def test_fail_closed_for_value_mode_profile():
    d = runner.fail_closed_decision("tqqq_growth_income", EvaluationContext(as_of=NEXT),
                                    SnapshotError("x"))
    assert d.target_mode.value == "value" and d.positions == ()


# ---------------------------------------------------------------------------------------------
# A real packaged profile through the same path
# ---------------------------------------------------------------------------------------------
def test_global_etf_rotation_end_to_end_deterministic():
    from us_equity_strategies.builders import build_snapshot
    from us_equity_strategies.demo import DEMO_AS_OF, demo_prices_cached

    s = build_snapshot("global_etf_rotation", demo_prices_cached(), DEMO_AS_OF)
    before = s.frame.copy(deep=True)
    c = EvaluationContext(as_of=DEMO_AS_OF, portfolio=Portfolio(total_equity=2500.0))
    a = runner.evaluate(s, c)
    b = runner.evaluate(s, c)
    pd.testing.assert_frame_equal(s.frame, before)
    assert a.to_json() == b.to_json()
    assert a.provenance.snapshot_sha256 == s.sha256
    assert a.small_account.min_recommended_equity_usd == 3000.0
    assert a.small_account.small_account_warning is True  # 2,500 < 3,000
    assert a.warnings[0].code is WarningCode.SMALL_ACCOUNT
    assert a.profile == "global_etf_rotation" and a.as_of == DEMO_AS_OF
    if a.actionable:
        assert sum(a.targets().values()) <= 1 + 1e-9
        assert a.small_account.feasibility is not None
