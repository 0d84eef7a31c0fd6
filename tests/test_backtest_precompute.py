"""Precomputed builder paths: build_from(precompute(all), t) == build(prices <= t, t), exactly.

Also the stacked 13612W computation of the global builder against separate calls, the
``builders.precompute`` / ``build_snapshot(precomputed=...)`` plumbing and the look-ahead guard.
"""

from __future__ import annotations

import datetime as dt
import importlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from us_equity_strategies import builders, demo, indicators, registry
from us_equity_strategies.backtest import LookAheadError, SnapshotSource, first_difference
from us_equity_strategies.backtest._precompute import sample_indices
from us_equity_strategies.errors import PriceHistoryError, UsageError
from us_equity_strategies.params import resolve_parameters
from us_equity_strategies.prices import normalize_prices, truncate

ETF = ("tqqq_growth_income", "soxl_soxx_trend_income", "global_etf_rotation")
OVERRIDES = {
    "tqqq_growth_income": {"dual_drive_pullback_rebound_window": 7,
                           "dual_drive_unlevered_symbol": "QQQM"},
    "soxl_soxx_trend_income": {"trend_ma_window": 60, "blend_gate_trend_source": "SMH"},
    "global_etf_rotation": {"sma_period": 50, "ranking_pool": ["XLK", "GLD", "SMH"]},
}


def module(profile: str):
    return importlib.import_module(f"us_equity_strategies.builders.{profile}")


def params(profile: str, overrides=None):
    loaded = registry.load(profile)
    return resolve_parameters(loaded.parameters_model, loaded.manifest.parameters, overrides,
                              profile)


def outcome(func, *args):
    try:
        return func(*args)
    except PriceHistoryError as exc:
        return str(exc)


def assert_same(fast, slow) -> None:
    if isinstance(slow, str):
        assert fast == slow
    else:
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
        assert first_difference(fast, slow) is None


@pytest.mark.parametrize("overrides", [False, True])
@pytest.mark.parametrize("profile", ETF)
def test_build_from_equals_build_on_truncated_prices(profile, overrides):
    px = demo.demo_prices_cached()
    p = params(profile, OVERRIDES[profile] if overrides else None)
    mod = module(profile)
    pre = mod.precompute(px, p)
    days = sorted(pd.DatetimeIndex(px["date"].unique()).date)
    rng = np.random.default_rng(7)
    # The first sessions (short histories, errors), boundaries and random dates.
    picks = [*days[:3], days[139], days[140], days[199], days[200], days[252], days[253],
             days[-1], *rng.choice(np.array(days, dtype=object), 25), dt.date(2017, 6, 1),
             dt.date(2030, 1, 1)]
    for day in picks:
        assert_same(outcome(mod.build_from, pre, day, p),
                    outcome(mod.build, truncate(px, day), day, p))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lengths=st.lists(st.integers(0, 420), min_size=4, max_size=4),
       seed=st.integers(0, 2**32 - 1), cut=st.floats(0, 1))
def test_build_from_equals_build_for_random_histories(lengths, seed, cut):
    # Random walks of random lengths ending on random dates: every indicator threshold.
    rng = np.random.default_rng(seed)
    frames = []
    for sym, n in zip(("QQQ", "SOXL", "SOXX", "XLK"), lengths, strict=True):
        if n:
            end = pd.Timestamp("2024-12-31") - pd.offsets.BDay(int(rng.integers(0, 60)))
            dates = pd.bdate_range(end=end, periods=n)
            frames.append(pd.DataFrame({"date": dates, "symbol": sym,
                                        "close": 50 * np.exp(np.cumsum(rng.normal(0, .02, n)))}))
    if not frames:
        return
    px = normalize_prices(pd.concat(frames, ignore_index=True))
    days = sorted(pd.DatetimeIndex(px["date"].unique()).date)
    day = days[int(cut * (len(days) - 1))]
    for profile, overrides in (("tqqq_growth_income", None),
                               ("soxl_soxx_trend_income", {"trend_ma_window": 30}),
                               ("global_etf_rotation", {"ranking_pool": ["XLK", "SOXX"],
                                                        "canary_assets": ["QQQ"],
                                                        "sma_period": 40})):
        p, mod = params(profile, overrides), module(profile)
        assert_same(outcome(mod.build_from, mod.precompute(px, p), day, p),
                    outcome(mod.build, truncate(px, day), day, p))


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(0, 700), min_size=1, max_size=5),
       seed=st.integers(0, 2**32 - 1), sparse=st.booleans())
def test_builder_momentum_is_bit_identical_to_separate_calls(lengths, seed, sparse):
    rng = np.random.default_rng(seed)
    frames = []
    for k, n in enumerate(lengths):
        dates = pd.bdate_range("2015-01-01", periods=n, freq="3B" if sparse else "B")
        dates = dates + pd.Timedelta(days=int(rng.integers(0, 400)))
        frames.append(pd.DataFrame({"date": dates, "symbol": f"S{k}",
                                    "close": 50 * np.exp(np.cumsum(rng.normal(0, .02, n)))}))
    px = normalize_prices(pd.concat(frames, ignore_index=True))
    gb = module("global_etf_rotation")
    names = [f"S{k}" for k in range(len(lengths))]
    dates, closes, ranges = gb._slices(px, names)
    got = gb._momentum(dates, closes, ranges)
    for s in names:
        r = ranges[s]
        ref = indicators.momentum_13612w(pd.Series(closes[r], index=pd.DatetimeIndex(dates[r])))
        assert np.array_equal(got[s], ref.to_numpy(), equal_nan=True), s


@pytest.mark.parametrize("profile", ETF)
def test_build_snapshot_with_precomputed_matches_plain(profile):
    px = demo.demo_prices_cached()
    pre = builders.precompute(profile, px)
    assert pre is not None and pre.profile == profile
    for day in (dt.date(2019, 10, 31), demo.DEMO_AS_OF):
        plain = builders.build_snapshot(profile, px, day)
        fast = builders.build_snapshot(profile, None, day, precomputed=pre)
        pd.testing.assert_frame_equal(fast.frame, plain.frame, check_exact=True)
        assert (fast.sha256, fast.builder_parameters) == (plain.sha256, plain.builder_parameters)


def test_precomputed_for_other_parameters_is_refused():
    px = demo.demo_prices_cached()
    pre = builders.precompute("tqqq_growth_income", px)
    with pytest.raises(UsageError, match="other parameters"):
        builders.build_snapshot("tqqq_growth_income", px, demo.DEMO_AS_OF,
                                {"dual_drive_pullback_rebound_window": 5}, precomputed=pre)
    with pytest.raises(UsageError, match="other parameters"):
        builders.build_snapshot("soxl_soxx_trend_income", px, demo.DEMO_AS_OF,
                                precomputed=pre)


def test_builder_symbols():
    assert builders.builder_symbols("tqqq_growth_income") == (
        "BOXX", "QQQ", "QQQI", "QQQM", "SPYI", "TQQQ")
    assert builders.builder_symbols("soxl_soxx_trend_income",
                                    {"blend_gate_trend_source": "SMH"}) == (
        "BOXX", "QQQI", "SMH", "SOXL", "SPYI")
    assert len(builders.builder_symbols("global_etf_rotation")) == 27


def fast_name(mod) -> str:
    """The fast-path function the backtester calls (build_columns is preferred)."""
    return "build_columns" if hasattr(mod, "build_columns") else "build_from"


def relabel(table, as_of: dt.date):
    """``table`` with its as_of column set to ``as_of`` (a DataFrame or numpy columns)."""
    if isinstance(table, pd.DataFrame):
        return table.assign(as_of=as_of.isoformat())
    return {**table, "as_of": np.full(len(table["symbol"]), as_of.isoformat(), dtype=object)}


def test_guard_catches_a_peeking_fast_path(monkeypatch):
    px = demo.demo_prices_cached()
    mod = module("tqqq_growth_income")
    honest = getattr(mod, fast_name(mod))

    def peeking(pre, as_of, p):  # reads the next day's data
        return relabel(honest(pre, as_of + dt.timedelta(days=1), p), as_of)

    source = SnapshotSource("tqqq_growth_income", px)
    source.check(dt.date(2024, 6, 3))  # honest: passes
    monkeypatch.setattr(mod, fast_name(mod), peeking)
    with pytest.raises(LookAheadError, match=r"session 2024-06-03: .*column 'close', row "):
        source.check(dt.date(2024, 6, 3))


def test_guard_compares_errors_too(monkeypatch):
    px = demo.demo_prices_cached()
    mod = module("soxl_soxx_trend_income")
    source = SnapshotSource("soxl_soxx_trend_income", px)
    source.check(dt.date(2018, 1, 5))  # both paths fail the same way: fine
    honest = getattr(mod, fast_name(mod))

    def forgiving(pre, as_of, p):  # uses later rows to get past the history requirement
        return relabel(honest(pre, dt.date(2019, 1, 2), p), as_of)

    monkeypatch.setattr(mod, fast_name(mod), forgiving)
    with pytest.raises(LookAheadError, match="precomputed gave a table, data <= 2018-01-05 "
                                             "gave PriceHistoryError"):
        source.check(dt.date(2018, 1, 5))


def test_first_difference_names_column_and_row():
    a = pd.DataFrame({"symbol": ["A", "B"], "x": [1.0, np.nan], "y": [True, False]})
    assert first_difference(a, a.copy()) is None
    assert first_difference(a.assign(x=[1.0, 2.0]), a) == "column 'x', row 'B': 2.0 != nan"
    assert first_difference(a.assign(y=[1, 0]), a) == "column 'y': dtype int64 != bool"
    assert first_difference(a.iloc[:1], a) == "1 rows != 2 rows"


def test_sample_indices():
    assert sample_indices(10, 3) == [0, 4, 9]  # linspace 0, 4.5, 9; 4.5 rounds to even
    assert sample_indices(3, 10) == [0, 1, 2]
    assert sample_indices(0, 3) == [] and sample_indices(5, 0) == []
