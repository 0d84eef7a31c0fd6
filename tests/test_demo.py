"""Tests for the synthetic demo price history (us_equity_strategies.demo)."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from us_equity_strategies import calendar, demo

REQUIRED_SYMBOLS = {
    *("QQQ", "QQQM", "TQQQ", "SOXX", "SOXL", "SPY", "VOO", "BOXX", "BIL", "SPYI", "QQQI"),
    *("EFA", "EEM", "AGG"),
    # global rotation universe (VOO also belongs to it)
    *("EWY", "EWT", "INDA", "FXI", "EWJ", "VGK", "XLK", "SMH", "GLD", "SLV", "USO", "DBA"),
    *("XLE", "XLF", "ITA", "XLP", "XLU", "XLV", "IHI", "VNQ", "KRE"),
}
COLUMNS = ["date", "symbol", "open", "high", "low", "close", "volume"]
DAILY_FEE = demo.LEVERAGED_FEE / 252


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return demo.demo_prices()


@pytest.fixture(scope="module")
def closes(prices) -> pd.DataFrame:
    return prices.pivot(index="date", columns="symbol", values="close")


def _check_invariants(df: pd.DataFrame, start: date, end: date) -> None:
    assert list(df.columns) == COLUMNS
    assert df["date"].dtype == np.dtype("datetime64[ns]")
    assert (df["date"] == df["date"].dt.normalize()).all()
    assert pd.api.types.is_string_dtype(df["symbol"].dtype)
    assert all(type(s) is str for s in df["symbol"].unique())
    for c in COLUMNS[2:]:
        assert df[c].dtype == np.float64, c
    assert isinstance(df.index, pd.RangeIndex) and df.index.start == 0
    assert not df.duplicated(["symbol", "date"]).any()
    assert df.equals(df.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True))
    assert tuple(df["symbol"].unique()) == demo.DEMO_SYMBOLS

    values = df[COLUMNS[2:]].to_numpy()
    assert np.isfinite(values).all()
    assert (values > 0).all()
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()

    expected_days = pd.DatetimeIndex([pd.Timestamp(d) for d in calendar.sessions(start, end)])
    for _, group in df.groupby("symbol", sort=False):
        assert pd.DatetimeIndex(group["date"]).equals(expected_days)


def test_constants():
    assert demo.DEMO_SEED == 20240101
    assert demo.DEMO_AS_OF == date(2024, 12, 31)
    assert set(demo.DEMO_SYMBOLS) == REQUIRED_SYMBOLS
    assert list(demo.DEMO_SYMBOLS) == sorted(demo.DEMO_SYMBOLS)


def test_deterministic(prices):
    pd.testing.assert_frame_equal(demo.demo_prices(), prices, check_exact=True)


def test_golden_values(prices):
    # Regression guard for our own generator (printed once, then frozen).
    first = prices[prices["date"] == prices["date"].min()].set_index("symbol")
    last = prices[prices["date"] == prices["date"].max()].set_index("symbol")
    golden = [
        (first, "QQQ", "close", 152.4258942157743),
        (last, "QQQ", "close", 580.9961779887234),
        (last, "TQQQ", "close", 720.6842063756791),
        (last, "SOXX", "high", 806.8456345100017),
        (last, "EWY", "volume", 3848105.0),
    ]
    for frame, symbol, column, expected in golden:
        assert frame.loc[symbol, column] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_invariants_default_window(prices):
    assert prices["date"].min() == pd.Timestamp(demo.DEMO_START)
    assert prices["date"].max() == pd.Timestamp(demo.DEMO_AS_OF)
    _check_invariants(prices, demo.DEMO_START, demo.DEMO_AS_OF)


def test_leveraged_daily_reset(closes):
    ret = closes.pct_change().iloc[1:]
    for lev, base in (("TQQQ", "QQQ"), ("SOXL", "SOXX")):
        np.testing.assert_allclose(ret[lev], 3 * ret[base] - DAILY_FEE, rtol=0, atol=1e-12)


def test_trackers(closes):
    ret = closes.pct_change().iloc[1:]
    np.testing.assert_allclose(ret["QQQM"], ret["QQQ"], rtol=0, atol=1e-12)
    assert closes["QQQM"].iloc[0] < closes["QQQ"].iloc[0] / 2
    assert np.corrcoef(ret["VOO"], ret["SPY"])[0, 1] > 0.99


def test_qqq_drawdown_and_recovery(closes):
    qqq = closes["QQQ"]
    drawdown = qqq / qqq.cummax() - 1
    assert drawdown.min() <= -0.25
    # MA200 is broken from above at least once, and QQQ ends above its MA200 (recovery).
    ma200 = qqq.rolling(200).mean()
    breaks = (qqq < ma200) & (qqq.shift() >= ma200.shift())
    assert breaks.sum() >= 1
    assert qqq.iloc[-1] > ma200.iloc[-1]
    assert qqq.iloc[-1] > qqq.iloc[0]


def test_volatility_ordering_and_cash_yields(closes):
    vol = np.log(closes).diff().std() * np.sqrt(252)
    assert vol["SOXX"] > vol["QQQ"] > vol["SPY"] > vol["AGG"] > vol["BIL"]
    assert vol["SPYI"] < vol["SPY"] and vol["QQQI"] < vol["QQQ"]
    assert vol["BIL"] < 0.01 and vol["BOXX"] < 0.01
    years = len(closes) / 252
    for symbol, target in (("BIL", 0.035), ("BOXX", 0.045)):
        cagr = (closes[symbol].iloc[-1] / closes[symbol].iloc[0]) ** (1 / years) - 1
        assert cagr == pytest.approx(target, abs=0.003), symbol


def test_custom_window_and_seed():
    start, end = date(2021, 3, 1), date(2021, 12, 31)
    df = demo.demo_prices(start, end, seed=7)
    _check_invariants(df, start, end)
    other = demo.demo_prices(start, end, seed=8)
    assert not np.allclose(df["close"], other["close"])


def test_empty_window_raises():
    with pytest.raises(ValueError):
        demo.demo_prices(date(2024, 3, 29), date(2024, 3, 31))  # Good Friday + weekend
    with pytest.raises(TypeError):
        demo.demo_prices("2024-01-01", "2024-12-31")


def test_cached_returns_independent_copies(prices):
    first = demo.demo_prices_cached()
    pd.testing.assert_frame_equal(first, prices, check_exact=True)
    first.loc[0, "close"] = -1.0
    pd.testing.assert_frame_equal(demo.demo_prices_cached(), prices, check_exact=True)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(min_value=0, max_value=3000),
)
def test_invariants_any_seed_and_window(seed, start, days):
    end = date.fromordinal(start.toordinal() + days)
    if not calendar.sessions(start, end):
        return
    df = demo.demo_prices(start, end, seed=seed)
    _check_invariants(df, start, end)
    closes = df.pivot(index="date", columns="symbol", values="close")
    ret = closes.pct_change().iloc[1:]
    np.testing.assert_allclose(ret["TQQQ"], 3 * ret["QQQ"] - DAILY_FEE, rtol=0, atol=1e-12)
