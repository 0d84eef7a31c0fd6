"""Tests for us_equity_strategies.metrics: hand-computed values, the features.md §5.6 example,
golden values from empyrical-reloaded (test-only dependency) and metamorphic properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from us_equity_strategies import metrics as m
from us_equity_strategies.contract import Role

# --------------------------------------------------------------------------------------------
# a tiny series, every metric by hand
# --------------------------------------------------------------------------------------------
# r = [0.10, -0.05, 0.02, -0.02], quarterly (ppy 4, so N / ppy = 1 year)
# wealth: 1 -> 1.1 -> 1.045 -> 1.0659 -> 1.044582
# mean = 0.05 / 4 = 0.0125; deviations 0.0875, -0.0625, 0.0075, -0.0325
# squares 0.00765625 + 0.00390625 + 0.00005625 + 0.00105625 = 0.012675
# var(ddof 1) = 0.012675 / 3 = 0.004225 -> std = 0.065 exactly
R = [0.10, -0.05, 0.02, -0.02]
DATES = pd.to_datetime(["2024-03-28", "2024-06-28", "2024-09-30", "2024-12-31"])
RS = pd.Series(R, index=DATES)
Q = 4


def test_hand_total_return_and_cagr():
    assert m.total_return(R) == pytest.approx(0.044582, abs=1e-12)  # 1.044582 - 1
    # N = 4, ppy 4 -> years = 1 -> CAGR = total return
    assert m.cagr(R, periods_per_year=Q) == pytest.approx(0.044582, abs=1e-12)
    assert m.cagr(R, periods_per_year="quarterly") == pytest.approx(0.044582, abs=1e-12)
    # daily: years = 4/252 -> 1.044582 ** (252/4) - 1
    assert m.cagr(R) == pytest.approx(1.044582**63 - 1, rel=1e-12)


def test_hand_volatility_sharpe():
    assert m.annual_volatility(R, periods_per_year=Q) == pytest.approx(0.13, abs=1e-12)  # .065·2
    # 0.0125 / 0.065 * 2 = 5/13
    assert m.sharpe_ratio(R, periods_per_year=Q) == pytest.approx(5 / 13, abs=1e-12)
    # annual rf with a per-period rate of 0.0025: (0.0125 - 0.0025) / 0.065 * 2 = 4/13
    rf = 1.0025**4 - 1
    assert m.periodic_rate(rf, Q) == pytest.approx(0.0025, abs=1e-15)
    assert m.sharpe_ratio(R, periods_per_year=Q, risk_free=rf) == pytest.approx(4 / 13, abs=1e-12)


def test_hand_downside_and_sortino():
    # below MAR 0: [0, -0.05, 0, -0.02] -> mean of squares (0.0025 + 0.0004) / 4 = 0.000725
    dr = math.sqrt(0.000725) * 2  # = sqrt(0.0029)
    assert m.downside_risk(R, periods_per_year=Q) == pytest.approx(dr, abs=1e-12)
    # sortino = mean·ppy / dr = 0.05 / sqrt(0.0029) = 0.92847669...
    assert m.sortino_ratio(R, periods_per_year=Q) == pytest.approx(0.05 / math.sqrt(0.0029))
    # MAR with a per-period rate of 0.01: diffs [0.09, -0.06, 0.01, -0.03]
    # downside mean of squares (0.0036 + 0.0009) / 4 = 0.001125; numerator mean 0.0025 · 4
    mar = 1.01**4 - 1
    assert m.downside_risk(R, periods_per_year=Q, required_return=mar) == pytest.approx(
        math.sqrt(0.001125) * 2, abs=1e-12)
    assert m.sortino_ratio(R, periods_per_year=Q, required_return=mar) == pytest.approx(
        0.01 / (math.sqrt(0.001125) * 2), rel=1e-12)


def test_hand_drawdown_and_calmar():
    # peak 1.1 after r[0]; trough 1.044582 after r[3] (deeper than 1.045 after r[1]):
    # 0.95 · 1.02 · 0.98 - 1 = -0.05038
    assert m.max_drawdown(R) == pytest.approx(-0.05038, abs=1e-12)
    info = m.drawdown_details(RS)
    assert info.max_drawdown == pytest.approx(-0.05038, abs=1e-12)
    assert (info.peak_date, info.trough_date, info.recovery_date) == (
        DATES[0], DATES[3], None)
    assert info.duration_periods == 3  # peak after r[0] to the last observation r[3]
    assert info.duration_days == (DATES[3] - DATES[0]).days == 278
    assert m.calmar_ratio(R, periods_per_year=Q) == pytest.approx(0.044582 / 0.05038, rel=1e-12)


def test_hand_skew_kurtosis():
    # central moments (divisor n = 4) of the deviations above
    m2 = 0.012675 / 4
    m3 = (0.0875**3 - 0.0625**3 + 0.0075**3 - 0.0325**3) / 4
    m4 = (0.0875**4 + 0.0625**4 + 0.0075**4 + 0.0325**4) / 4
    g1 = math.sqrt(4 * 3) / 2 * m3 / m2**1.5
    g2 = ((4 + 1) * (m4 / m2**2 - 3) + 6) * 3 / (2 * 1)
    assert m.skew(R) == pytest.approx(g1, rel=1e-12)
    assert m.excess_kurtosis(R) == pytest.approx(g2, rel=1e-12)
    # same convention as pandas (independent implementation)
    assert m.skew(R) == pytest.approx(pd.Series(R).skew(), rel=1e-12)
    assert m.excess_kurtosis(R) == pytest.approx(pd.Series(R).kurt(), rel=1e-12)
    assert math.isnan(m.skew([0.1, 0.2])) and math.isnan(m.excess_kurtosis([0.1, 0.2, 0.3]))
    assert math.isnan(m.skew([0.01] * 5)) and math.isnan(m.excess_kurtosis([0.01] * 5))
    # scale-free: tiny values whose m2 would underflow give the same shape statistics
    assert m.skew([1.3e-166, 0.0, 0.0]) == pytest.approx(m.skew([1.0, 0.0, 0.0]))
    assert m.skew([1.0, 0.0, 0.0]) == pytest.approx(math.sqrt(3))  # pandas: 1.7320508


def test_hand_hit_rate():
    assert m.hit_rate(R) == 0.5  # 0.10, 0.02 of 4
    with_zero = [*R, 0.0, np.nan]
    assert m.hit_rate(with_zero) == 0.5  # zero and NaN excluded: 2 / 4
    assert m.hit_rate(with_zero, include_zeros=True) == 0.4  # NaN excluded: 2 / 5
    assert math.isnan(m.hit_rate([0.0, 0.0]))


def test_hand_turnover_time_in_market_exposure():
    turnover = [0.5, 0.0, 0.25, 0.25]  # sum 1.0
    assert m.turnover_per_year(turnover, periods_per_year=Q) == pytest.approx(1.0)  # / 1 year
    assert m.turnover_per_year(turnover) == pytest.approx(63.0)  # 1.0 / (4/252)
    assert m.time_in_market([1.0, 0.0, 0.5, np.nan]) == pytest.approx(2 / 3)
    assert m.time_in_market([0.3, 0.3, 0.0], threshold=0.3) == 0.0
    weights = pd.DataFrame({"QQQ": [1.0, 0.0, 0.5, 0.2, 0.0], "BOXX": [0.0, 0.7, 0.5, 0.8, 1.0],
                            "SCHD": [0.0, 0.3, 0.0, np.nan, 0.0]})
    roles = {"QQQ": "risk", "BOXX": Role.SAFE_HAVEN, "SCHD": "income"}
    # risk (1 + 0 + 0.5 + 0.2 + 0) / 5 = 0.34; safe haven (0 + 0.7 + 0.5 + 0.8 + 1) / 5 = 0.6;
    # income (0.3 + NaN as 0) / 5 = 0.06; every row sums to 1 -> cash 0
    assert m.exposure_by_role(weights, roles) == pytest.approx(
        {"risk": 0.34, "safe_haven": 0.6, "income": 0.06, "cash": 0.0}, abs=1e-12)
    half = weights * 0.5  # cash = mean(1 - 0.5) = 0.5
    assert m.exposure_by_role(half, roles)["cash"] == pytest.approx(0.5)
    # market exposure = every role but the safe haven: risk + income
    exposure = m.market_exposure(weights, roles)
    assert exposure.tolist() == pytest.approx([1.0, 0.3, 0.5, 0.2, 0.0])
    assert m.time_in_market(exposure) == pytest.approx(4 / 5)


def test_hand_benchmark_relative():
    b = [0.05, 0.05, 0.0, 0.0]  # CAGR (ppy 4, 1 year) = 1.05² - 1 = 0.1025
    assert m.benchmark_relative_return(R, b, periods_per_year=Q) == pytest.approx(
        0.044582 - 0.1025, abs=1e-12)
    # active = [0.05, -0.10, 0.02, -0.02]: mean -0.0125, deviations mirror the ones above,
    # so std = 0.065 -> TE = 0.13, IR = -0.0125 / 0.065 · 2 = -5/13
    assert m.tracking_error(R, b, periods_per_year=Q) == pytest.approx(0.13, abs=1e-12)
    assert m.information_ratio(R, b, periods_per_year=Q) == pytest.approx(-5 / 13, abs=1e-12)
    # dated series align on common dates: an extra benchmark date is ignored
    bs = pd.Series([*b, 0.5], index=[*DATES, pd.Timestamp("2025-03-31")])
    assert m.tracking_error(RS, bs, periods_per_year=Q) == pytest.approx(0.13, abs=1e-12)
    with pytest.raises(ValueError, match="different lengths"):
        m.tracking_error(R, [*b, 0.0])


# --------------------------------------------------------------------------------------------
# features.md §5.6 worked example (reference pipeline conventions)
# --------------------------------------------------------------------------------------------
EX = pd.Series([0.0, 0.01, -0.02, 0.03, 0.005],
               index=pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
                                     "2024-01-08"]))


def test_features_5_6_reference_summary():
    ref = m.reference_summary(EX)
    assert ref["years"] == pytest.approx(6 / 365.25, abs=1e-15)
    assert ref["total_return"] == pytest.approx(0.02459147, abs=1e-9)
    assert ref["cagr"] == pytest.approx(3.388095292, abs=1e-9)
    assert ref["max_drawdown"] == pytest.approx(-0.02, abs=1e-9)
    assert ref["annual_volatility"] == pytest.approx(0.2559687481, abs=1e-9)
    assert ref["sharpe_ratio"] == pytest.approx(4.922475925, abs=1e-9)
    assert ref["calmar_ratio"] == pytest.approx(169.4047646, abs=1e-7)
    assert ref["calmar_ratio"] == pytest.approx(ref["cagr"] / 0.02, rel=1e-12)
    assert (ref["ddof"], ref["year_basis"], ref["periods_per_year"]) == (
        0, "calendar_days/365.25", 252.0)
    # turnover [0, 0.5, 0, 0.5, 0]: 1.0 / (6 / 365.25) = 60.875
    assert m.reference_summary(EX, turnover=[0, 0.5, 0, 0.5, 0])["turnover_per_year"] == (
        pytest.approx(60.875))


def test_features_5_6_summary_uses_empyrical_conventions():
    s = m.summary(EX)
    # count-based: 1.02459147 ** (252 / 5) - 1; ddof 1: sqrt(0.0013 / 4) · sqrt(252)
    assert s["cagr"] == pytest.approx(1.02459147 ** (252 / 5) - 1, rel=1e-9)
    assert s["annual_volatility"] == pytest.approx(math.sqrt(0.0013 / 4 * 252), rel=1e-12)
    assert s["sharpe_ratio"] == pytest.approx(0.005 / math.sqrt(0.0013 / 4) * math.sqrt(252))
    assert (s["periods_per_year"], s["risk_free_annual"], s["compounding"]) == (
        252.0, 0.0, "geometric")
    assert (s["start"], s["end"], s["n_periods"]) == ("2024-01-02", "2024-01-08", 5)
    # peak after 0.01 (01-03), trough 01-04, recovered 01-05 (0.98 · 1.03 >= 1)
    assert (s["max_drawdown_peak"], s["max_drawdown_trough"], s["max_drawdown_recovery"],
            s["max_drawdown_duration_periods"], s["max_drawdown_duration_days"]) == (
        "2024-01-03", "2024-01-04", "2024-01-05", 2, 2)
    frame = m.summary_frame(EX)
    assert list(frame.columns) == list(s) and len(frame) == 1


def test_summary_optional_blocks():
    weights = pd.DataFrame({"QQQ": [0.0, 1.0, 1.0, 0.0, 0.5], "BOXX": [1.0, 0.0, 0.0, 1.0, 0.5]},
                           index=EX.index)
    s = m.summary(EX, benchmark=EX * 0.5, turnover=[1.0, 1.0, 0.0, 1.0, 0.5], weights=weights,
                  roles={"QQQ": "risk", "BOXX": "safe_haven"}, periods_per_year=252,
                  risk_free=0.02)
    assert s["turnover_per_year"] == pytest.approx(3.5 * 252 / 5)
    assert s["time_in_market"] == pytest.approx(3 / 5)
    assert (s["exposure_risk"], s["exposure_safe_haven"]) == pytest.approx((0.5, 0.5))
    assert s["benchmark_periods"] == 5
    assert s["relative_return"] == pytest.approx(s["cagr"] - s["benchmark_cagr"])
    assert s["sharpe_ratio"] == pytest.approx(m.sharpe_ratio(EX, risk_free=0.02))
    assert s["sortino_ratio"] == pytest.approx(m.sortino_ratio(EX, required_return=0.02))
    bare = m.summary(EX)
    assert math.isnan(bare["time_in_market"]) and bare["benchmark_periods"] == 0
    with pytest.raises(ValueError, match="turnover has 2 periods"):
        m.summary(EX, turnover=[0.1, 0.1])
    with pytest.raises(ValueError, match="together"):
        m.summary(EX, weights=weights)


# --------------------------------------------------------------------------------------------
# edge cases and input handling
# --------------------------------------------------------------------------------------------
def test_short_and_empty_inputs():
    one = [-0.1]
    assert m.total_return(one) == pytest.approx(-0.1)
    assert m.max_drawdown(one) == pytest.approx(-0.1)  # starting value prepended
    for f in (m.cagr, m.annual_volatility, m.sharpe_ratio, m.sortino_ratio, m.downside_risk,
              m.calmar_ratio):
        assert math.isnan(f(one)), f.__name__
    for f in (m.total_return, m.max_drawdown, m.cagr, m.sharpe_ratio):
        assert math.isnan(f([])), f.__name__
        assert math.isnan(f([np.nan, np.nan])), f.__name__


def test_zero_denominators_give_nan_not_inf():
    assert math.isnan(m.sharpe_ratio([0.01] * 10))  # std 0 (empyrical: inf)
    assert math.isnan(m.sortino_ratio([0.01, 0.02, 0.0]))  # no downside (empyrical: inf)
    assert math.isnan(m.calmar_ratio([0.01, 0.02, 0.0]))  # no drawdown
    assert m.annual_volatility([0.01] * 10) == 0.0


def test_drawdown_day_one_loss_and_recovery():
    s = pd.Series([-0.1, 0.05, 0.06, -0.01], index=pd.bdate_range("2024-01-02", periods=4))
    info = m.drawdown_details(s)
    # wealth 1 -> 0.9 -> 0.945 -> 1.0017: peak = starting value, recovered on day 3
    assert info.max_drawdown == pytest.approx(-0.1)
    assert (info.peak_date, info.trough_date, info.recovery_date) == (
        None, s.index[0], s.index[2])
    assert (info.duration_periods, info.duration_days) == (3, 2)  # days from the first date
    # wealth 1.25 -> 1.25 (flat) -> 1.0 -> 1.25 (all exact in binary): the peak is the LAST
    # period at the high, and equity back exactly at the peak counts as recovered
    tie = pd.Series([0.25, 0.0, -0.2, 0.25], index=pd.bdate_range("2024-01-02", periods=4))
    info = m.drawdown_details(tie)
    assert (info.max_drawdown, info.peak_date, info.trough_date, info.recovery_date) == (
        -0.2, tie.index[1], tie.index[2], tie.index[3])
    assert (info.duration_periods, info.duration_days) == (2, 2)
    flat = m.drawdown_details([0.01, 0.0])
    assert (flat.max_drawdown, flat.peak_date, flat.duration_periods, flat.duration_days) == (
        0.0, None, 0, None)


def test_nan_semantics_follow_empyrical():
    r = [0.1, np.nan, -0.1]
    assert m.total_return(r) == pytest.approx(1.1 * 0.9 - 1)  # NaN is a flat period
    assert m.cagr(r, periods_per_year=3) == pytest.approx(0.99 - 1)  # N = 3 including NaN
    assert m.annual_volatility(r, periods_per_year=1) == pytest.approx(np.std([0.1, -0.1],
                                                                              ddof=1))


def test_returns_from_equity():
    eq = pd.Series([100.0, 110.0, 99.0, 121.0], index=pd.bdate_range("2024-01-01", periods=4))
    r = m.returns_from_equity(eq)
    assert r.tolist() == pytest.approx([0.1, -0.1, 121 / 99 - 1])
    assert list(r.index) == list(eq.index[1:])
    # drawdown of the returns equals the drawdown of the equity curve itself
    assert m.max_drawdown(r) == pytest.approx((eq / eq.cummax() - 1).min())
    assert m.returns_from_equity(np.array([1.0, 2.0])).tolist() == [1.0]
    for bad in ([1.0, 0.0], [1.0, np.nan], [1.0, -2.0]):
        with pytest.raises(ValueError, match="equity must be finite and > 0"):
            m.returns_from_equity(bad)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"below -1.*returns_from_equity"):
        m.sharpe_ratio([100.0, 101.0, -150.0])
    with pytest.raises(TypeError, match="DataFrame"):
        m.cagr(pd.DataFrame({"a": R}))
    with pytest.raises(ValueError, match="±inf at positions 1"):
        m.total_return([0.1, np.inf])
    with pytest.raises(ValueError, match="strictly increasing"):
        m.cagr(RS.iloc[::-1])
    with pytest.raises(ValueError, match="options are"):
        m.cagr(R, periods_per_year="hourly")
    with pytest.raises(ValueError, match="positive number"):
        m.cagr(R, periods_per_year=0)
    with pytest.raises(ValueError, match="> -1"):
        m.sharpe_ratio(R, risk_free=-1.0)
    with pytest.raises(ValueError, match="must hold numbers"):
        m.total_return(["a", "b"])
    with pytest.raises(ValueError, match="turnover must be >= 0"):
        m.turnover_per_year([0.1, -0.1])
    weights = pd.DataFrame({"QQQ": [1.0], "XYZ": [0.0]})
    with pytest.raises(ValueError, match=r"without a role.*XYZ"):
        m.exposure_by_role(weights, {"QQQ": "risk"})
    with pytest.raises(ValueError, match=r"roles\['XYZ'\] = 'cash'"):
        m.exposure_by_role(weights, {"QQQ": "risk", "XYZ": "cash"})
    with pytest.raises(ValueError, match="NaN"):
        m.reference_summary(pd.Series([0.0, np.nan], index=DATES[:2]))
    with pytest.raises(TypeError, match="DatetimeIndex"):
        m.reference_summary(R)


def test_inputs_are_not_mutated():
    s = pd.Series([0.1, np.nan, -0.05], index=DATES[:3])
    before = s.copy()
    m.summary(s, benchmark=s, turnover=[0.1, np.nan, 0.0])
    pd.testing.assert_series_equal(s, before)


def test_tz_aware_index_is_new_york_dates():
    ny = RS.tz_localize("America/New_York")
    utc_close = pd.Series(R, index=(DATES + pd.Timedelta(hours=21)).tz_localize("UTC"))
    for series in (ny, utc_close):  # 21:00 UTC = 16:00 New York, same calendar date
        assert m.drawdown_details(series) == m.drawdown_details(RS)
        assert _same(m.summary(series, benchmark=RS), m.summary(RS, benchmark=RS))
        assert m.reference_summary(series) == m.reference_summary(RS)
    intraday = pd.Series([0.1, 0.2], index=pd.DatetimeIndex(
        ["2024-01-02 15:00", "2024-01-02 16:00"]).tz_localize("America/New_York"))
    with pytest.raises(ValueError, match="same New York date"):
        m.cagr(intraday)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k]
        for k in a)


# --------------------------------------------------------------------------------------------
# golden values: empyrical-reloaded 0.7.1
# --------------------------------------------------------------------------------------------
def _fixtures() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240102)
    noise = rng.uniform(-0.01, 0.01, 1000)
    with_nans = rng.normal(0.0005, 0.012, 300)
    with_nans[[0, 17, 150, 299]] = np.nan
    return {
        "noise_uniform": noise,
        "trending": 0.0015 + rng.normal(0.0, 0.004, 500),
        "with_nans": with_nans,
        "loss_day_one": np.array([-0.05, 0.01, 0.02, -0.01, 0.03, 0.0, 0.004, -0.02]),
        "all_zero": np.zeros(20),
    }


FIXTURES = _fixtures()


@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.parametrize("ppy", [252, 52, 12])
def test_golden_empyrical(name, ppy):
    ep = pytest.importorskip("empyrical")
    r = FIXTURES[name]
    pairs = {
        "cagr": (m.cagr(r, periods_per_year=ppy), ep.annual_return(r, annualization=ppy)),
        "vol": (m.annual_volatility(r, periods_per_year=ppy),
                ep.annual_volatility(r, annualization=ppy)),
        "sharpe": (m.sharpe_ratio(r, periods_per_year=ppy), ep.sharpe_ratio(r, annualization=ppy)),
        "sortino": (m.sortino_ratio(r, periods_per_year=ppy),
                    ep.sortino_ratio(r, annualization=ppy)),
        "downside": (m.downside_risk(r, periods_per_year=ppy),
                     ep.downside_risk(r, annualization=ppy)),
        "maxdd": (m.max_drawdown(r), ep.max_drawdown(r)),
        "calmar": (m.calmar_ratio(r, periods_per_year=ppy),
                   ep.calmar_ratio(r, annualization=ppy)),
        "total": (m.total_return(r), ep.cum_returns_final(r)),
    }
    for metric, (ours, theirs) in pairs.items():
        assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-14, nan_ok=True), metric
    if name == "all_zero":  # the undefined ratios really are NaN on both sides
        assert math.isnan(pairs["sharpe"][0]) and math.isnan(pairs["calmar"][0])
    else:
        assert all(math.isfinite(v[0]) for v in pairs.values())


@pytest.mark.parametrize("name", ["noise_uniform", "trending", "with_nans", "loss_day_one"])
@pytest.mark.parametrize("annual", [0.02, 0.05])
def test_golden_empyrical_with_annual_rates(name, annual):
    # empyrical takes per-period rates; ours are annual and converted inside
    ep = pytest.importorskip("empyrical")
    r, daily = FIXTURES[name], 1.0 + annual
    daily = daily ** (1 / 252) - 1
    assert m.sharpe_ratio(r, risk_free=annual) == pytest.approx(
        ep.sharpe_ratio(r, risk_free=daily), rel=1e-10)
    assert m.sortino_ratio(r, required_return=annual) == pytest.approx(
        ep.sortino_ratio(r, required_return=daily), rel=1e-10)
    assert m.downside_risk(r, required_return=annual) == pytest.approx(
        ep.downside_risk(r, required_return=daily), rel=1e-10)


def test_documented_divergence_from_empyrical():
    ep = pytest.importorskip("empyrical")
    constant = np.full(10, 0.001)
    assert np.isinf(ep.sharpe_ratio(constant)) and math.isnan(m.sharpe_ratio(constant))
    gains = np.array([0.01, 0.02, 0.0])
    assert np.isinf(ep.sortino_ratio(gains)) and math.isnan(m.sortino_ratio(gains))
    one = np.array([0.01])
    assert math.isfinite(ep.annual_return(one)) and math.isnan(m.cagr(one))


# --------------------------------------------------------------------------------------------
# metamorphic properties
# --------------------------------------------------------------------------------------------
returns_arrays = arrays(np.float64, st.integers(3, 60),
                        elements=st.floats(-0.05, 0.05, allow_nan=False))


@given(returns_arrays, st.floats(-0.004, 0.004), st.sampled_from([252, 52, 12]))
def test_sharpe_translation_invariant(r, c, ppy):
    assume(np.std(r) > 1e-4)
    rf = 0.03
    rf_p = m.periodic_rate(rf, ppy)
    shifted_rf = (1 + rf_p + c) ** ppy - 1  # annual rate whose per-period rate is rf_p + c
    assert m.sharpe_ratio(r + c, periods_per_year=ppy, risk_free=shifted_rf) == pytest.approx(
        m.sharpe_ratio(r, periods_per_year=ppy, risk_free=rf), rel=1e-6, abs=1e-9)


@given(returns_arrays, st.floats(0.1, 10.0))
def test_scaling_scales_vol_keeps_sharpe(r, k):
    assume(np.std(r) > 1e-4)
    assert m.annual_volatility(k * r) == pytest.approx(k * m.annual_volatility(r), rel=1e-9)
    assert m.sharpe_ratio(k * r) == pytest.approx(m.sharpe_ratio(r), rel=1e-9, abs=1e-12)


@given(arrays(np.float64, st.integers(1, 60),
              elements=st.one_of(st.floats(-1.0, 1.0), st.just(np.nan))))
def test_max_drawdown_bounds_and_slow_loop(r):
    assume(not np.isnan(r).all())
    got = m.max_drawdown(r)
    assert -1.0 <= got <= 0.0
    wealth, peak, worst = 1.0, 1.0, 0.0  # obviously-correct loop with the starting value
    for x in r:
        wealth *= 1.0 + (0.0 if np.isnan(x) else x)
        peak = max(peak, wealth)
        worst = min(worst, (wealth - peak) / peak)
    assert got == pytest.approx(worst, abs=1e-12)
    assert m.drawdown_details(r).max_drawdown == got


@given(arrays(np.float64, st.integers(2, 40), elements=st.floats(0.0, 0.05)))
def test_calmar_nan_without_drawdown(r):
    assert m.max_drawdown(r) == 0.0
    assert math.isnan(m.calmar_ratio(r))


@given(arrays(np.float64, st.integers(4, 60), elements=st.floats(-0.1, 0.1)))
@settings(max_examples=50)
def test_skew_kurtosis_match_pandas(r):
    assume(np.std(r) > 1e-6)
    assert m.skew(r) == pytest.approx(pd.Series(r).skew(), rel=1e-6, abs=1e-9)
    assert m.excess_kurtosis(r) == pytest.approx(pd.Series(r).kurt(), rel=1e-6, abs=1e-9)


@given(arrays(np.float64, st.integers(2, 30), elements=st.floats(-0.05, 0.05)),
       st.sampled_from(["America/New_York", "UTC", "Europe/London", "Asia/Tokyo"]))
@settings(max_examples=30)
def test_tz_aware_same_numbers_as_naive(r, tz):
    naive = pd.Series(r, index=pd.bdate_range("2024-03-01", periods=len(r)))
    # stamp each session at its New York close, expressed in another zone (in Tokyo that is
    # already the next calendar day: only converting to New York gives back the session date)
    aware = pd.Series(r, index=(naive.index + pd.Timedelta(hours=16))
                      .tz_localize("America/New_York").tz_convert(tz))
    assert _same(m.summary(aware), m.summary(naive))
    assert _same(m.reference_summary(aware), m.reference_summary(naive))
