"""The stock builders' precomputed path equals a build on truncated prices (no look-ahead)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from us_equity_strategies import builders, demo
from us_equity_strategies.prices import normalize_prices

PROFILES = ("russell_1000_multi_factor_defensive", "tech_communication_pullback_enhancement",
            "mega_cap_leader_rotation_dynamic_top20", "mega_cap_leader_rotation_top50_balanced",
            "dynamic_mega_leveraged_pullback")
DATES = (dt.date(2019, 6, 28), dt.date(2021, 12, 31), dt.date(2023, 3, 31))


@pytest.fixture(scope="module")
def data():
    prices = normalize_prices(demo.demo_all_prices_cached())
    return prices, demo.demo_universe_cached()


@pytest.mark.parametrize("profile", PROFILES)
def test_precomputed_equals_truncated_build(data, profile):
    prices, universe = data
    pre = builders.precompute(profile, prices, universe=universe)
    assert pre is not None, "the builder has no fast path"
    for day in DATES:
        fast = builders.build_snapshot(profile, prices, day, universe=universe, precomputed=pre)
        slow = builders.build_snapshot(profile, prices[prices["date"] <= pd.Timestamp(day)],
                                       day, universe=universe)
        pd.testing.assert_frame_equal(fast.frame, slow.frame, check_exact=True)
        assert fast.sha256 == slow.sha256


# --------------------------------------------------------------------------------------------
# dynamic_mega_leveraged_pullback: precompute/build_from == build on truncated prices,
# errors included (same type, same message)
# --------------------------------------------------------------------------------------------
DYNAMIC = "dynamic_mega_leveraged_pullback"


def _outcome(make):
    """The table, or (error type name, message)."""
    from us_equity_strategies.errors import InputError

    try:
        return make()
    except InputError as exc:
        return type(exc).__name__, str(exc)


def _assert_same(fast, slow, day):
    if isinstance(slow, tuple) or isinstance(fast, tuple):
        assert fast == slow, day
        return
    pd.testing.assert_frame_equal(fast, slow, check_exact=True, obj=str(day))
    assert fast.dtypes.astype(str).tolist() == slow.dtypes.astype(str).tolist()
    for col in ("symbol", "trade_symbol", "universe_as_of"):  # None stays None (not NaN)
        assert fast[col].tolist() == slow[col].tolist(), (day, col)


def _compare(prices, universe, days, overrides=None):
    """Compare the two builder paths at ``days``; returns the outcomes (fast path)."""
    from us_equity_strategies.builders import _builder
    from us_equity_strategies.builders import dynamic_mega_leveraged_pullback as mod

    _, _, params = _builder(DYNAMIC, overrides)
    pre = mod.precompute(prices, params, universe=universe)
    out = {}
    for day in days:
        fast = _outcome(lambda d=day: mod.build_from(pre, d, params, universe=universe))
        slow = _outcome(lambda d=day: mod.build(prices[prices["date"] <= pd.Timestamp(d)], d,
                                                params, universe=universe))
        _assert_same(fast, slow, day)
        out[day] = fast
    return out


def _sessions(prices, symbol):
    return [d.date() for d in prices.loc[prices["symbol"] == symbol, "date"]]


def test_dynamic_fast_path_equals_truncated_build_at_random_and_edge_dates(data):
    import numpy as np

    prices, universe = data
    qqq = _sessions(prices, "QQQ")
    rng = np.random.default_rng(20240531)
    random_days = [qqq[i] for i in sorted(rng.choice(np.arange(200, len(qqq)), 12,
                                                     replace=False))]
    edge = [dt.date(2017, 12, 29),          # before the universe's first row: UniverseError
            qqq[0], qqq[150],               # benchmark history too short: PriceHistoryError
            qqq[198], qqq[199],             # 199 rows (error) / exactly 200 rows (a table)
            *qqq[600:606],                  # consecutive sessions share a memoised selection
            dt.date(2021, 7, 4)]            # a holiday: last rows of 2021-07-02
    out = _compare(prices, universe, edge + random_days)
    assert out[edge[0]][0] == "UniverseError" and "no active rows on 2017-12-29" in out[edge[0]][1]
    assert out[qqq[150]] == ("PriceHistoryError",
                             f"dynamic_mega_leveraged_pullback: benchmark QQQ has 151 price rows "
                             f"on or before {qqq[150]}; the QQQ gate needs max(sma_period, "
                             f"atr_period + 1, 126) = 200")
    assert out[qqq[198]][0] == "PriceHistoryError"
    assert out[qqq[199]]["history_days"].iloc[-1] == 200
    tables = [t for t in out.values() if not isinstance(t, tuple)]
    assert len(tables) == len(out) - 4
    # unmapped candidates are exercised: empty product, not eligible, features present
    unmapped = pd.concat(tables).query("symbol.isna() & sector != 'benchmark'", engine="python")
    assert len(unmapped) > 0 and not unmapped["eligible"].any()
    assert unmapped["mom_20"].notna().all()


def test_dynamic_fast_path_other_parameters_missing_prices_and_closes_only(data):
    prices, universe = data
    extra = pd.DataFrame({"symbol": ["ZZZZ"], "sector": ["Other"], "start_date": ["2020-01-01"],
                          "end_date": ["2020-12-31"], "weight": [1e9]})  # no prices at all
    uni = pd.concat([universe, extra], ignore_index=True)
    no_hl = prices.drop(columns=["open", "high", "low"])  # ATR from closes only
    overrides = {"universe_lag_sessions": 3, "sma_period": 50, "atr_period": 5,
                 "candidate_universe_size": 6,
                 "product_map": {"ZZZZ": "ZZZL", "NVDA": "NVDL", "JPM": {"trade_symbol": "JPMU",
                                                                      "product_available": False}}}
    days = [dt.date(2018, 7, 2), dt.date(2020, 1, 2), dt.date(2020, 1, 3), dt.date(2020, 6, 30),
            dt.date(2021, 1, 4), dt.date(2024, 12, 31)]
    for px in (prices, no_hl):
        out = _compare(px, uni, days, overrides)
    z = out[dt.date(2020, 6, 30)].set_index("underlying_symbol").loc["ZZZZ"]
    assert z["symbol"] == "ZZZL" and z["history_days"] == 0 and pd.isna(z["close"])
    assert pd.isna(z["mom_20"]) and z["universe_as_of"] == "2020-06-25"  # 3 sessions earlier


def test_dynamic_fast_path_mega_rank_errors_and_empty_selection(data):
    prices, _ = data
    uni = pd.DataFrame({"symbol": ["GOOG", "GOOGL", "MSFT"], "sector": "S",
                        "mega_rank": [1.0, 2.0, None],
                        "start_date": ["2019-01-01", "2019-01-01", "2018-01-01"]})
    days = [dt.date(2018, 12, 31), dt.date(2019, 1, 2), dt.date(2019, 1, 3)]
    out = _compare(prices, uni, days)
    empty = out[days[0]]  # MSFT alone has no rank: nothing selected, the benchmark row stays
    assert empty["symbol"].tolist() == ["QQQ"]
    assert out[days[1]] == ("ParameterError", "product_map maps several selected underlyings "
                                              "to one product: GGLL <- GOOG, GOOGL")
    bad = _compare(prices, uni.assign(start_date="not a date"), days[:1])[days[0]]
    assert bad[0] == "UniverseError" and "column 'start_date': unparsable dates" in bad[1]


def test_dynamic_fast_path_refuses_other_parameters_or_universe(data):
    from us_equity_strategies.builders import _builder
    from us_equity_strategies.builders import dynamic_mega_leveraged_pullback as mod

    prices, universe = data
    _, _, params = _builder(DYNAMIC, None)
    _, _, other = _builder(DYNAMIC, {"atr_period": 10})
    pre = mod.precompute(prices, params, universe=universe)
    day = dt.date(2022, 6, 30)
    with pytest.raises(ValueError, match="other builder parameters"):
        mod.build_from(pre, day, other, universe=universe)
    with pytest.raises(ValueError, match="another universe"):
        mod.build_from(pre, day, params, universe=universe.iloc[:-1])
    copy = universe.copy()  # an equal table is accepted
    pd.testing.assert_frame_equal(mod.build_from(pre, day, params, universe=copy),
                                  mod.build_from(pre, day, params, universe=universe))
