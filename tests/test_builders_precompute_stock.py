"""The stock builders' precomputed path equals a build on truncated prices (no look-ahead)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from us_equity_strategies import builders, demo
from us_equity_strategies.prices import normalize_prices

PROFILES = ("russell_1000_multi_factor_defensive", "tech_communication_pullback_enhancement",
            "mega_cap_leader_rotation_dynamic_top20", "mega_cap_leader_rotation_top50_balanced")
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
