"""Tests for us_equity_strategies.indicators.

Expected values are either written out by hand, taken from the spec's worked examples
(profiles.md §2.1, features.md §5) or produced by slow, obviously-correct loops below.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from us_equity_strategies import indicators as ind

NAN = math.nan


# --------------------------------------------------------------------------------------------
# helpers and slow references
# --------------------------------------------------------------------------------------------
def _series(values, start: str = "2024-01-02") -> pd.Series:
    values = list(values)
    return pd.Series(
        np.asarray(values, dtype=float), index=pd.bdate_range(start, periods=len(values))
    )


def _assert_same(actual: pd.Series, expected) -> None:
    """Exact equality, NaN == NaN."""
    np.testing.assert_array_equal(np.asarray(actual, dtype=float), np.asarray(expected, float))


def ref_momentum_13612w(closes: pd.Series) -> float:
    """Literal restatement of the reference ``compute_13612w_momentum`` (profiles.md §2.1)."""
    if len(closes) < 253:
        return NAN
    me = closes.resample("ME").last().dropna()
    if len(me) < 13:
        return NAN
    cur = float(me.iloc[-1])
    total = 0.0
    for months, weight in ((1, 12), (3, 4), (6, 2), (12, 1)):
        prior = float(me.iloc[-(months + 1)])
        if prior == 0 or np.isnan(prior):
            return NAN
        total += weight * (cur / prior - 1)
    return total / 19


def slow_momentum_series(close: pd.Series) -> np.ndarray:
    return np.array([ref_momentum_13612w(close.iloc[: t + 1]) for t in range(len(close))])


def slow_window(close: pd.Series, window: int, fn) -> np.ndarray:
    """Apply ``fn`` to every full window of ``window`` closes (NaN if the window has a NaN)."""
    arr = close.to_numpy(dtype=float)
    out = np.full(arr.size, NAN)
    for t in range(window - 1, arr.size):
        w = arr[t - window + 1 : t + 1]
        if not np.isnan(w).any():
            out[t] = fn(w)
    return out


def slow_drawdown(w: np.ndarray) -> float:
    if any(x <= 0 for x in w):
        return NAN  # closes <= 0 are treated as missing
    peak = -math.inf
    worst = 0.0
    for x in w:
        peak = max(peak, x)
        worst = min(worst, x / peak - 1.0)
    return worst


def slow_vol(close: pd.Series, window: int, ddof: int) -> np.ndarray:
    arr = close.to_numpy(dtype=float)
    out = np.full(arr.size, NAN)
    for t in range(window, arr.size):
        r = [arr[i] / arr[i - 1] - 1.0 for i in range(t - window + 1, t + 1)]
        if any(math.isnan(x) for x in r) or window <= ddof:
            continue
        out[t] = statistics.stdev(r) if ddof == 1 else statistics.pstdev(r)
    return out


def random_walk(n: int, seed: int, start: str = "2015-01-01") -> pd.Series:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, n)))
    return pd.Series(close, index=pd.bdate_range(start, periods=n), name="X")


@st.composite
def dated_closes(draw, min_rows: int = 0, max_rows: int = 340) -> pd.Series:
    """Random closes on a non-decreasing date index, with optional NaNs, zeros, duplicated
    dates and multi-week gaps that skip whole calendar months."""
    n = draw(st.integers(min_rows, max_rows))
    seed = draw(st.integers(0, 2**32 - 1))
    nan_frac = draw(st.sampled_from([0.0, 0.0, 0.02, 0.3]))
    zero_frac = draw(st.sampled_from([0.0, 0.0, 0.01]))
    gap_frac = draw(st.sampled_from([0.0, 0.01, 0.05]))
    dup_frac = draw(st.sampled_from([0.0, 0.0, 0.02]))
    rng = np.random.default_rng(seed)
    gaps = rng.choice([1, 1, 1, 3], size=n)
    gaps = np.where(rng.random(n) < gap_frac, rng.integers(25, 90, size=n), gaps)
    gaps = np.where(rng.random(n) < dup_frac, 0, gaps)
    dates = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.cumsum(gaps), unit="D")
    values = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, n)))
    values = np.where(rng.random(n) < zero_frac, 0.0, values)
    values = np.where(rng.random(n) < nan_frac, np.nan, values)
    return pd.Series(values, index=pd.DatetimeIndex(dates), name="S")


WINDOWED = [
    ("sma", lambda s: ind.sma(s, 5), lambda s: ind.sma_last(s, 5)),
    ("sma_slope", lambda s: ind.sma_slope(s, 4), lambda s: ind.sma_slope_last(s, 4)),
    ("sma_pass", lambda s: ind.sma_pass(s, 6), lambda s: ind.sma_pass_last(s, 6)),
    ("rolling_min", lambda s: ind.rolling_min(s, 7), lambda s: ind.rolling_min_last(s, 7)),
    (
        "vol",
        lambda s: ind.realized_volatility(s, 10),
        lambda s: ind.realized_volatility_last(s, 10),
    ),
    (
        "vol_ann0",
        lambda s: ind.realized_volatility(s, 8, ddof=0, annualize=True),
        lambda s: ind.realized_volatility_last(s, 8, ddof=0, annualize=True),
    ),
    ("drawdown", lambda s: ind.drawdown_max(s, 9), lambda s: ind.drawdown_max_last(s, 9)),
    ("history", ind.history_days, ind.history_days_last),
    ("momentum", ind.momentum_13612w, ind.momentum_13612w_last),
    ("returns", ind.returns, None),
]


# --------------------------------------------------------------------------------------------
# hand-computed values
# --------------------------------------------------------------------------------------------
def test_sma_and_slope_hand_values():
    close = _series([10, 12, 11, 15, 14, 13])
    _assert_same(ind.sma(close, 2), [NAN, 11.0, 11.5, 13.0, 14.5, 13.5])
    _assert_same(ind.sma_slope(close, 2), [NAN, NAN, 0.5, 1.5, 1.5, -1.0])
    # window 4: (10+12+11+15)/4 = 12, (12+11+15+14)/4 = 13, (11+15+14+13)/4 = 13.25
    _assert_same(ind.sma(close, 4), [NAN, NAN, NAN, 12.0, 13.0, 13.25])
    _assert_same(ind.sma_slope(close, 4), [NAN, NAN, NAN, NAN, 1.0, 0.25])
    # window 1 is the close itself; slope is the first difference
    _assert_same(ind.sma(close, 1), [10, 12, 11, 15, 14, 13])
    _assert_same(ind.sma_slope(close, 1), [NAN, 2, -1, 4, -1, -1])
    assert ind.sma_last(close, 4) == 13.25
    assert ind.sma_slope_last(close, 4) == 0.25
    # window longer than the history: all NaN (min_periods = window)
    assert ind.sma(close, 7).isna().all()
    assert math.isnan(ind.sma_last(close, 7))


def test_sma_window_3_non_dyadic():
    close = _series([1, 2, 4, 8, 16])
    expected = [NAN, NAN, 7 / 3, 14 / 3, 28 / 3]
    np.testing.assert_allclose(ind.sma(close, 3), expected, rtol=1e-15, equal_nan=True)
    np.testing.assert_allclose(
        ind.sma_slope(close, 3), [NAN, NAN, NAN, 7 / 3, 14 / 3], rtol=1e-14, equal_nan=True
    )


def test_sma_nan_propagates_for_window_rows():
    close = _series([1, NAN, 3, 4, 5, 6])
    _assert_same(ind.sma(close, 2), [NAN, NAN, NAN, 3.5, 4.5, 5.5])
    _assert_same(ind.sma_slope(close, 2), [NAN, NAN, NAN, NAN, 1.0, 1.0])
    _assert_same(ind.rolling_min(close, 2), [NAN, NAN, NAN, 3, 4, 5])


def test_sma_pass_is_strict_and_false_without_history():
    # sma3 at row 2 = 2 -> close 3 > 2 passes; row 0/1 lack history
    assert ind.sma_pass(_series([1, 2, 3]), 3).tolist() == [False, False, True]
    # equal to the SMA -> False
    assert ind.sma_pass(_series([1, 3, 2]), 3).tolist() == [False, False, False]
    assert ind.sma_pass(_series([5, 5, 5, 5]), 2).tolist() == [False, False, False, False]
    assert ind.sma_pass(_series([3, 2, 1]), 3).tolist() == [False, False, False]
    # NaN close or NaN in the window -> False
    assert ind.sma_pass(_series([1, 2, NAN, 9, 10]), 2).tolist() == [
        False,
        True,
        False,
        False,
        True,
    ]
    result = ind.sma_pass(_series([1, 2, 3]), 3)
    assert result.dtype == bool
    assert ind.sma_pass_last(_series([1, 2, 3]), 3) is True
    assert ind.sma_pass_last(_series([1, 3, 2]), 3) is False
    assert ind.sma_pass_last(_series([1, 2, 3]), 4) is False


def test_rolling_min_min_periods():
    close = _series([5, 3, 4, 1, 2])
    _assert_same(ind.rolling_min(close, 3), [NAN, NAN, 3, 1, 1])
    _assert_same(ind.rolling_min(close, 1), [5, 3, 4, 1, 2])
    assert ind.rolling_min(close, 6).isna().all()
    assert ind.rolling_min_last(close, 2) == 1.0


def test_returns_and_history_days():
    close = _series([100, 110, NAN, 99, 0, 5])
    r = ind.returns(close)
    np.testing.assert_allclose(r.iloc[:4], [NAN, 0.1, NAN, NAN], rtol=1e-15, equal_nan=True)
    assert r.iloc[4] == -1.0
    assert r.iloc[5] == math.inf
    _assert_same(ind.returns(_series([4, 5, 4, 6])), [NAN, 0.25, 4 / 5 - 1, 0.5])
    hd = ind.history_days(close)
    assert hd.tolist() == [1, 2, 2, 3, 4, 5]
    assert hd.dtype == np.int64
    assert ind.history_days_last(close) == 5
    assert ind.history_days(_series([NAN, NAN, 1.0])).tolist() == [0, 0, 1]


def test_realized_volatility_matches_statistics_stdev():
    close = random_walk(120, seed=7)
    for window in (1, 2, 5, 20):
        for ddof in (0, 1):
            got = ind.realized_volatility(close, window, ddof=ddof)
            np.testing.assert_allclose(
                got, slow_vol(close, window, ddof), rtol=1e-12, atol=1e-15, equal_nan=True
            )
    # first value needs window + 1 rows (window valid returns)
    got = ind.realized_volatility(close, 20)
    assert got.iloc[:20].isna().all() and not math.isnan(got.iloc[20])
    # annualisation multiplies by sqrt(252)
    ann = ind.realized_volatility(close, 20, annualize=True)
    np.testing.assert_allclose(ann, got * math.sqrt(252), rtol=1e-15, equal_nan=True)
    # ddof=1 with a single return has no sample std
    assert ind.realized_volatility(close, 1, ddof=1).isna().all()


def test_realized_volatility_hand_value_and_nan_window():
    # returns 0.1, -0.1, 0.1 (exact-ish); sample std of [0.1, -0.1] etc. checked vs stdev
    close = _series([100, 110, 99, 108.9, NAN, 100, 101, 102])
    got = ind.realized_volatility(close, 2)
    r1, r2, r3 = 110 / 100 - 1, 99 / 110 - 1, 108.9 / 99 - 1
    assert got.iloc[:2].isna().all()
    assert got.iloc[2] == pytest.approx(statistics.stdev([r1, r2]), rel=1e-12)
    assert got.iloc[3] == pytest.approx(statistics.stdev([r2, r3]), rel=1e-12)
    # returns at rows 4 and 5 are NaN -> rows 4, 5, 6 have a NaN return in the window
    assert got.iloc[4:7].isna().all()
    assert got.iloc[7] == pytest.approx(statistics.stdev([101 / 100 - 1, 102 / 101 - 1]))


def test_drawdown_max_hand_values_and_slow_loop():
    close = _series([10, 12, 9, 11, 6, 8, 13])
    # window 3: [10,12,9] -> 9/12-1; [12,9,11] -> 9/12-1; [9,11,6] -> 6/11-1;
    # [11,6,8] -> 6/11-1; [6,8,13] -> 0
    expected = [NAN, NAN, 9 / 12 - 1, 9 / 12 - 1, 6 / 11 - 1, 6 / 11 - 1, 0.0]
    _assert_same(ind.drawdown_max(close, 3), expected)
    _assert_same(ind.drawdown_max(close, 1), [0.0] * 7)
    assert ind.drawdown_max(close, 8).isna().all()
    assert ind.drawdown_max_last(close, 5) == 6 / 11 - 1  # [9, 11, 6, 8, 13]
    assert ind.drawdown_max_last(close, 6) == 6 / 12 - 1  # [12, 9, 11, 6, 8, 13]
    long = random_walk(600, seed=3)
    long.iloc[[50, 51, 300]] = NAN
    for window in (2, 21, 126):
        _assert_same(ind.drawdown_max(long, window), slow_window(long, window, slow_drawdown))


def test_drawdown_max_block_boundaries_and_non_positive():
    close = random_walk(97, seed=11)
    # windows that divide / do not divide the length, equal it, or are 1
    for window in (1, 2, 7, 8, 96, 97):
        _assert_same(ind.drawdown_max(close, window), slow_window(close, window, slow_drawdown))
    # a zero or negative close makes every window containing it NaN
    close = _series([5, 4, 0, 6, 7, 8, -1, 9, 10, 11])
    _assert_same(ind.drawdown_max(close, 2), [NAN, 4 / 5 - 1, NAN, NAN, 0, 0, NAN, NAN, 0, 0])


# --------------------------------------------------------------------------------------------
# spec worked examples (features.md §5.1, §5.2; profiles.md §2.1; features.md §5.5)
# --------------------------------------------------------------------------------------------
def _toy(formula) -> pd.Series:
    t = np.arange(300)
    return pd.Series(formula(t), index=pd.bdate_range("2024-01-02", periods=300))


def test_features_toy_series_values():
    aaa = _toy(lambda t: 100 * (1 + 0.001 * t) * (1 + 0.05 * np.sin(2 * np.pi * t / 50)))
    qqq = _toy(lambda t: 100 * (1 + 0.0008 * t))
    assert aaa.index[-1] == pd.Timestamp("2025-02-24")
    last = aaa.iloc[-1]
    assert last / ind.sma_last(aaa, 20) - 1 == pytest.approx(0.03913049829, abs=1e-9)
    assert last / ind.sma_last(aaa, 50) - 1 == pytest.approx(0.0131519782, abs=1e-9)
    assert last / ind.sma_last(aaa, 200) - 1 == pytest.approx(0.07652136466, abs=1e-9)
    vol63 = ind.realized_volatility_last(aaa, 63, ddof=0, annualize=True)
    assert vol63 == pytest.approx(0.06867336773, abs=1e-9)
    assert ind.realized_volatility_last(qqq, 63, ddof=0, annualize=True) == pytest.approx(
        1.254762624e-4, abs=1e-12
    )
    assert ind.drawdown_max_last(aaa, 126) == pytest.approx(-0.07790143207, abs=1e-9)
    assert ind.drawdown_max_last(qqq, 126) == 0.0
    assert ind.history_days_last(aaa) == 300


def test_features_maxdd_window_version_vee():
    vee = _toy(lambda t: np.interp(t, [0, 160, 200, 299], [100, 132, 92.4, 125.4]))
    assert vee.iloc[160] == pytest.approx(132) and vee.iloc[200] == pytest.approx(92.4)
    got = ind.drawdown_max_last(vee, 126)
    assert got == pytest.approx(vee.iloc[200] / vee.iloc[174] - 1, abs=1e-12)
    assert got == pytest.approx(-0.2178770950, abs=1e-9)


def test_momentum_worked_example_profiles_linear():
    dates = pd.bdate_range(start="2024-01-01", periods=320)
    close = pd.Series(100 + 0.1 * np.arange(320), index=dates)
    assert dates[-1] == pd.Timestamp("2025-03-21")
    me = close.resample("ME").last()
    assert me["2025-03"].iloc[0] == pytest.approx(131.9)
    assert me["2025-02"].iloc[0] == pytest.approx(130.4)
    assert me["2024-12"].iloc[0] == pytest.approx(126.1)
    assert me["2024-09"].iloc[0] == pytest.approx(119.5)
    assert me["2024-03"].iloc[0] == pytest.approx(106.4)
    score = ind.momentum_13612w_last(close)
    assert score == pytest.approx(0.0404848, abs=5e-8)
    hand = (
        12 * (131.9 / 130.4 - 1)
        + 4 * (131.9 / 126.1 - 1)
        + 2 * (131.9 / 119.5 - 1)
        + (131.9 / 106.4 - 1)
    ) / 19
    assert score == pytest.approx(hand, abs=1e-12)
    assert score == ref_momentum_13612w(close)


def test_momentum_worked_example_features_month_ends():
    targets = [80, 82, 84, 86, 88, 90, 95, 96, 98, 100, 102, 105, 110]
    dates = pd.bdate_range("2024-01-01", "2025-01-31")
    month_index = (dates.year - 2024) * 12 + dates.month - 1
    # wiggle inside each month; only each month's last close matters
    wiggle = np.where(np.arange(len(dates)) % 2 == 0, 1.5, -1.5)
    close = pd.Series(np.asarray(targets, float)[month_index] + wiggle, index=dates)
    is_month_last = np.r_[month_index[1:] != month_index[:-1], True]
    close[is_month_last] = np.asarray(targets, float)
    assert len(close) >= 253
    assert close.resample("ME").last().tolist() == targets
    expected = 0.08748516027
    hand = (12 * (110 / 105 - 1) + 4 * (110 / 100 - 1) + 2 * (110 / 95 - 1) + (110 / 80 - 1)) / 19
    assert hand == pytest.approx(expected, abs=1e-11)
    score = ind.momentum_13612w_last(close)
    assert score == pytest.approx(expected, abs=1e-11)
    assert score == hand
    # one row earlier the current month's point is the previous row's close
    series = ind.momentum_13612w(close)
    assert series.iloc[-1] == score
    assert series.iloc[-2] == ref_momentum_13612w(close.iloc[:-1])


def test_momentum_row_and_month_thresholds():
    # 300 rows but only 10 calendar months of data -> NaN (< 13 month-ends)
    dense = pd.Series(
        np.linspace(10, 20, 300), index=pd.date_range("2024-01-01", periods=300, freq="D")
    )
    assert ind.momentum_13612w(dense).isna().all()
    # 252 rows spread over 3 years -> NaN (< 253 rows); 253 rows -> value at the last row only
    sparse = pd.Series(
        np.linspace(10, 20, 253), index=pd.date_range("2020-01-01", periods=253, freq="4D")
    )
    got = ind.momentum_13612w(sparse)
    assert got.iloc[:252].isna().all()
    assert not math.isnan(got.iloc[252])
    assert got.iloc[252] == ref_momentum_13612w(sparse)
    assert ind.momentum_13612w(sparse.iloc[:252]).isna().all()


def test_momentum_zero_prior_gives_nan():
    close = random_walk(400, seed=5)
    month_end_rows = np.r_[close.index.month[1:] != close.index.month[:-1], True]
    target = np.flatnonzero(month_end_rows)[5]
    close.iloc[target] = 0.0  # a month-end close of 0 used as a prior for later rows
    got = ind.momentum_13612w(close).to_numpy()
    _assert_same(got, slow_momentum_series(close))
    # rows whose 1/3/6/12-month-back point is that zero close are NaN, later rows recover
    clean = ind.momentum_13612w(random_walk(400, seed=5)).to_numpy()
    assert np.isnan(got).sum() > np.isnan(clean).sum()
    assert not np.isnan(got[-1])


def test_momentum_nan_at_last_row_uses_previous_valid_close():
    close = random_walk(320, seed=9)
    close.iloc[-1] = NAN
    got = ind.momentum_13612w_last(close)
    assert got == ref_momentum_13612w(close)
    assert not math.isnan(got)
    # the whole current month NaN -> that month is dropped from the month-end list
    cur_month = close.index.to_period("M") == close.index[-1].to_period("M")
    close[cur_month] = NAN
    assert ind.momentum_13612w_last(close) == ref_momentum_13612w(close)


# --------------------------------------------------------------------------------------------
# equivalence with the slow reference
# --------------------------------------------------------------------------------------------
def test_momentum_long_random_walk_matches_reference():
    close = random_walk(2000, seed=2024)
    _assert_same(ind.momentum_13612w(close), slow_momentum_series(close))


def test_momentum_long_random_walk_with_missing_months_matches_reference():
    close = random_walk(2000, seed=77)
    periods = close.index.to_period("M")
    dropped = periods.isin(
        [pd.Period(p, "M") for p in ("2015-06", "2016-02", "2016-03", "2017-11", "2019-01")]
    )
    close = close[~dropped]
    close.iloc[100:140] = NAN  # partly NaN month plus one fully NaN month
    close.iloc[[700, 701, 1200]] = NAN
    _assert_same(ind.momentum_13612w(close), slow_momentum_series(close))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(close=dated_closes(min_rows=240, max_rows=340))
def test_momentum_matches_reference_property(close):
    series = ind.momentum_13612w(close)
    _assert_same(series, slow_momentum_series(close))
    if len(close):
        _assert_same([ind.momentum_13612w_last(close)], [series.iloc[-1]])


@settings(max_examples=40, deadline=None)
@given(close=dated_closes(min_rows=0, max_rows=80))
def test_windowed_match_slow_loops_property(close):
    for window in (1, 3, 10):
        _assert_same(ind.rolling_min(close, window), slow_window(close, window, np.min))
        _assert_same(ind.drawdown_max(close, window), slow_window(close, window, slow_drawdown))
        np.testing.assert_allclose(
            ind.sma(close, window),
            slow_window(close, window, lambda w: math.fsum(w) / len(w)),
            rtol=1e-12,
            atol=1e-12,
            equal_nan=True,
        )


# --------------------------------------------------------------------------------------------
# scalar == series, truncation invariance, purity
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,series_fn,last_fn", [w for w in WINDOWED if w[2] is not None])
def test_scalar_equals_series_last(name, series_fn, last_fn):
    for close in (random_walk(400, seed=1), random_walk(30, seed=2), random_walk(1, seed=3)):
        close.iloc[len(close) // 2] = NAN
        expected = series_fn(close).iloc[-1]
        got = last_fn(close)
        if isinstance(got, float) and math.isnan(got):
            assert math.isnan(expected)
        else:
            assert got == expected
            assert type(got) in (float, bool, int)


def test_scalar_on_empty_series():
    empty = pd.Series([], dtype=float, index=pd.DatetimeIndex([]))
    assert math.isnan(ind.sma_last(empty, 3))
    assert math.isnan(ind.sma_slope_last(empty, 3))
    assert ind.sma_pass_last(empty, 3) is False
    assert math.isnan(ind.rolling_min_last(empty, 3))
    assert math.isnan(ind.realized_volatility_last(empty, 3))
    assert math.isnan(ind.drawdown_max_last(empty, 3))
    assert math.isnan(ind.momentum_13612w_last(empty))
    assert ind.history_days_last(empty) == 0
    for _, series_fn, _ in WINDOWED:
        assert len(series_fn(empty)) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(close=dated_closes(min_rows=0, max_rows=340), data=st.data())
def test_truncation_invariance_property(close, data):
    cut = data.draw(st.integers(0, len(close)))
    head = close.iloc[:cut]
    for name, series_fn, _ in WINDOWED:
        full = series_fn(close)
        part = series_fn(head)
        assert part.index.equals(head.index), name
        np.testing.assert_array_equal(full.iloc[:cut].to_numpy(), part.to_numpy(), err_msg=name)


def test_inputs_not_mutated_and_index_preserved():
    close = random_walk(300, seed=4)
    close.iloc[10] = NAN
    before = close.copy()
    for _, series_fn, _ in WINDOWED:
        out = series_fn(close)
        assert out.index.equals(close.index)
        assert out is not close
    pd.testing.assert_series_equal(close, before)


def test_integer_and_nullable_inputs():
    ints = pd.Series([1, 2, 3, 4], index=pd.bdate_range("2024-01-01", periods=4))
    _assert_same(ind.sma(ints, 2), [NAN, 1.5, 2.5, 3.5])
    nullable = pd.Series(pd.array([1.0, None, 3.0, 4.0], dtype="Float64"), index=ints.index)
    _assert_same(ind.sma(nullable, 2), [NAN, NAN, NAN, 3.5])
    assert ind.history_days(nullable).tolist() == [1, 1, 2, 3]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def test_validation_errors():
    close = random_walk(10, seed=0)
    with pytest.raises(TypeError):
        ind.sma(close.to_numpy(), 3)  # type: ignore[arg-type]
    for bad in (0, -1):
        with pytest.raises(ValueError):
            ind.sma(close, bad)
        with pytest.raises(ValueError):
            ind.drawdown_max(close, bad)
    for bad in (True, 2.0, "3"):
        with pytest.raises(TypeError):
            ind.rolling_min(close, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ind.realized_volatility(close, 3, ddof=-1)
    with pytest.raises(TypeError):
        ind.momentum_13612w(close.reset_index(drop=True))
    with pytest.raises(ValueError):
        ind.momentum_13612w(close.iloc[::-1])
    with pytest.raises(ValueError):
        ind.momentum_13612w(pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-01-01", pd.NaT])))


# --------------------------------------------------------------------------------------------
# true range / ATR (profiles.md §2.9, QQQ gate of dynamic_mega_leveraged_pullback)
# --------------------------------------------------------------------------------------------
def test_true_range_hand_values():
    idx = pd.bdate_range("2024-01-01", periods=4)
    close = pd.Series([10.0, 11.0, 9.0, 9.5], index=idx)
    high = pd.Series([10.5, 11.2, NAN, 9.8], index=idx)
    low = pd.Series([9.5, 10.9, 8.5, 9.4], index=idx)
    # row 0: no previous close -> H - L = 1.0
    # row 1: max(0.3, |11.2 - 10| = 1.2, |10.9 - 10| = 0.9) = 1.2
    # row 2: high NaN -> close 9.0: max(0.5, |9 - 11| = 2, |8.5 - 11| = 2.5) = 2.5
    # row 3: max(0.4, |9.8 - 9| = 0.8, |9.4 - 9| = 0.4) = 0.8
    def close_to(actual, expected):  # decimal inputs: binary rounding ~1e-16
        np.testing.assert_allclose(actual.to_numpy(), expected, rtol=1e-12, equal_nan=True)

    close_to(ind.true_range(close, high, low), [1.0, 1.2, 2.5, 0.8])
    # closes only: |C[t] - C[t-1]|, 0 at the first row (H = L = C)
    _assert_same(ind.true_range(close), [0.0, 1.0, 2.0, 0.5])
    # ATR(2) = simple mean of the last 2 true ranges
    close_to(ind.average_true_range(close, 2, high, low), [NAN, 1.1, 1.85, 1.65])
    assert ind.average_true_range_last(close, 3, high, low) == pytest.approx((1.2 + 2.5 + 0.8) / 3)
    assert math.isnan(ind.average_true_range_last(close.iloc[:0], 3))


def test_atr_reference_qqq_fixture():
    # profiles.md §2.9 [computed]: QQQ 100 + 0.25 i, high/low +-0.5%, ATR(14) = 1.68125.
    # TR = 0.01 C (the range beats |H - C[t-1]| = 0.005 C + 0.25), so ATR = 0.01 * mean of the
    # last 14 closes = 0.01 * (100 + 0.25 * 272.5).
    idx = pd.bdate_range("2024-01-01", periods=280)
    close = pd.Series(100 + 0.25 * np.arange(280), index=idx)
    atr = ind.average_true_range_last(close, 14, close * 1.005, close * 0.995)
    assert atr == pytest.approx(1.68125, rel=1e-12)


def test_true_range_validation_and_purity():
    idx = pd.bdate_range("2024-01-01", periods=3)
    close = pd.Series([1.0, 2.0, 3.0], index=idx)
    with pytest.raises(ValueError):
        ind.true_range(close, pd.Series([1.0, 2.0, 3.0]))  # index differs
    with pytest.raises(ValueError):
        ind.average_true_range(close, 0)
    before = close.copy()
    ind.average_true_range(close, 2)
    pd.testing.assert_series_equal(close, before)
