"""Tests for us_equity_strategies.prices: normalisation, loading, truncation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from us_equity_strategies.errors import EXIT_INPUT, PriceHistoryError
from us_equity_strategies.prices import (
    load_prices,
    normalize_prices,
    truncate,
    volume_on_close_basis,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def raw(**cols) -> pd.DataFrame:
    base = {"date": ["2024-01-03", "2024-01-02", "2024-01-02"],
            "symbol": ["spy ", "QQQ", "spy"],
            "close": [471.5, "400.25", 470]}
    base.update(cols)
    return pd.DataFrame(base)


def expected() -> pd.DataFrame:
    return pd.DataFrame({
        "date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03"]).astype(
            "datetime64[ns]"),
        "symbol": pd.Series(["QQQ", "SPY", "SPY"], dtype=object),
        "close": [400.25, 470.0, 471.5],
    })


def test_normalize_sorts_types_and_upper_cases():
    out = normalize_prices(raw())
    pd.testing.assert_frame_equal(out, expected())
    assert out["date"].dtype == np.dtype("datetime64[ns]")
    assert out["close"].dtype == np.float64


def test_normalize_does_not_mutate_input():
    f = raw()
    before = f.copy(deep=True)
    normalize_prices(f)
    pd.testing.assert_frame_equal(f, before)


def test_optional_columns_kept_and_typed():
    out = normalize_prices(raw(open=[1, None, "2.5"], volume=[10, 20, 30], junk=[1, 2, 3]))
    assert list(out.columns) == ["date", "symbol", "close", "open", "volume"]
    assert out["volume"].tolist() == [20.0, 30.0, 10.0]
    assert out["open"].iloc[0] != out["open"].iloc[0]  # NaN allowed in optional columns
    assert out["open"].tolist()[1:] == [2.5, 1.0]


def test_intraday_times_become_midnight():
    out = normalize_prices(raw(date=["2024-01-03 16:00", "2024-01-02 09:30", "2024-01-02 00:00"]))
    assert out["date"].tolist() == [pd.Timestamp("2024-01-02")] * 2 + [pd.Timestamp("2024-01-03")]


def test_tz_aware_dates_converted_to_new_york_then_naive():
    # 2024-01-03 02:00 UTC is 2024-01-02 21:00 in New York: the trading date is the 2nd
    utc = pd.to_datetime(["2024-01-03 02:00", "2024-01-03 15:00"]).tz_localize("UTC")
    out = normalize_prices(pd.DataFrame({"date": utc, "symbol": ["SPY", "QQQ"],
                                         "close": [1.0, 2.0]}))
    assert out["date"].dtype == np.dtype("datetime64[ns]")
    assert dict(zip(out["symbol"], out["date"], strict=True)) == {
        "QQQ": pd.Timestamp("2024-01-03"), "SPY": pd.Timestamp("2024-01-02")}


def test_tz_aware_text_dates_converted_to_new_york():
    out = normalize_prices(pd.DataFrame({
        "date": ["2024-01-03T02:00:00+00:00", "2024-01-03T10:00:00-05:00"],
        "symbol": ["SPY", "QQQ"], "close": [1.0, 2.0]}))
    assert dict(zip(out["symbol"], out["date"], strict=True)) == {
        "QQQ": pd.Timestamp("2024-01-03"), "SPY": pd.Timestamp("2024-01-02")}


def test_mixed_naive_and_aware_text_dates_rejected():
    with pytest.raises(PriceHistoryError, match="unparsable or missing dates in rows 1"):
        normalize_prices(pd.DataFrame({"date": ["2024-01-02T21:00:00+00:00", "2024-01-03"],
                                       "symbol": ["SPY", "SPY"], "close": [1.0, 2.0]}))


def test_missing_column():
    with pytest.raises(PriceHistoryError) as exc:
        normalize_prices(raw().drop(columns=["close"]), source="px.csv")
    msg = str(exc.value)
    assert msg.startswith("px.csv: missing required columns ['close']")
    assert "['date', 'symbol', 'close']" in msg and "['open', 'high', 'low', 'volume']" in msg
    assert exc.value.exit_code == EXIT_INPUT


@pytest.mark.filterwarnings("ignore:Could not infer format")
def test_unparsable_dates_name_rows():
    with pytest.raises(PriceHistoryError, match=r"unparsable or missing dates in rows 0, 2$"):
        normalize_prices(raw(date=["soon", "2024-01-02", None]))


def test_duplicate_symbol_date_names_rows():
    f = raw(symbol=["SPY", "QQQ", "spy "], date=["2024-01-02", "2024-01-02", "2024-01-02"])
    with pytest.raises(PriceHistoryError, match=r"duplicate \(symbol, date\) rows 0, 2$"):
        normalize_prices(f)


def test_duplicate_after_tz_conversion():
    utc = pd.to_datetime(["2024-01-02 21:00", "2024-01-03 03:00"]).tz_localize("UTC")
    with pytest.raises(PriceHistoryError, match=r"duplicate \(symbol, date\) rows 0, 1"):
        normalize_prices(pd.DataFrame({"date": utc, "symbol": ["SPY", "SPY"],
                                       "close": [1.0, 2.0]}))


@pytest.mark.parametrize(("close", "rows"), [([0, 1.0, 2.0], "0"), ([1.0, -5, None], "1, 2")])
def test_non_positive_or_missing_close_names_rows(close, rows):
    with pytest.raises(PriceHistoryError,
                       match=f"column 'close': missing or non-positive values in rows {rows}$"):
        normalize_prices(raw(close=close))


def test_inf_and_text_name_rows():
    f = raw(close=[np.inf, "abc", 1.0], volume=[1, -np.inf, 2])
    with pytest.raises(PriceHistoryError) as exc:
        normalize_prices(f, source="px.parquet")
    lines = str(exc.value).splitlines()
    assert lines == [
        "px.parquet: invalid price history:",
        "  - column 'close': not a number in rows 1",
        "  - column 'close': infinite values in rows 0",
        "  - column 'volume': infinite values in rows 1",
        "  - column 'close': missing or non-positive values in rows 1",
    ]


def test_missing_symbols_name_rows():
    with pytest.raises(PriceHistoryError, match="missing symbols in rows 1, 2"):
        normalize_prices(raw(symbol=["SPY", "  ", None]))


def test_many_bad_rows_truncated():
    n = 11
    f = pd.DataFrame({"date": ["2024-01-02"] * n, "symbol": [f"S{i}" for i in range(n)],
                      "close": [0.0] * n})
    with pytest.raises(PriceHistoryError, match=r"rows 0, 1, 2, 3, 4, 5, 6, 7 and 3 more"):
        normalize_prices(f)


def test_load_prices_csv(tmp_path):
    path = tmp_path / "px.csv"
    path.write_text("date,symbol,close,volume\n"
                    "2024-01-03,spy,471.5,100\n"
                    "2024-01-02,QQQ,400.25,\n"
                    "2024-01-02,SPY,470,50\n"
                    "2024-01-02,NA,3.5,1\n")  # "NA" is a real ticker, not a missing value
    out = load_prices(path)
    assert out["symbol"].tolist() == ["NA", "QQQ", "SPY", "SPY"]
    assert out["close"].tolist() == [3.5, 400.25, 470.0, 471.5]
    only = load_prices(path, symbols=["spy"])
    assert only["symbol"].tolist() == ["SPY", "SPY"]
    assert only["date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]


def test_load_prices_parquet(tmp_path):
    path = tmp_path / "px.parquet"
    f = pd.DataFrame({"date": pd.to_datetime(["2024-01-03", "2024-01-02", "2024-01-02"]).astype(
        "datetime64[ms]"), "symbol": ["SPY", "QQQ", "SPY"],
        "close": np.array([471.5, 400.25, 470.0], dtype=np.float32)})
    f.to_parquet(path, index=False)
    out = load_prices(path)
    pd.testing.assert_frame_equal(out, expected())
    assert load_prices(path, symbols=["QQQ"])["close"].tolist() == [400.25]


def test_load_prices_errors_name_file(tmp_path):
    with pytest.raises(PriceHistoryError, match=r"price history file not found: .*nope\.csv"):
        load_prices(tmp_path / "nope.csv")
    bad = tmp_path / "px.xlsx"
    bad.write_text("x")
    with pytest.raises(PriceHistoryError, match=r"px.xlsx: unsupported price format '.xlsx'"):
        load_prices(bad)
    broken = tmp_path / "px.parquet"
    broken.write_bytes(b"nope")
    with pytest.raises(PriceHistoryError, match=r"px.parquet: cannot read price history"):
        load_prices(broken)
    dup = tmp_path / "dup.csv"
    dup.write_text("date,symbol,close\n2024-01-02,SPY,1\n2024-01-02,SPY,2\n")
    with pytest.raises(PriceHistoryError, match=rf"{dup}: invalid price history:\n  - duplicate"):
        load_prices(dup)


def test_truncate_is_inclusive_and_does_not_look_ahead():
    px = normalize_prices(raw())
    assert truncate(px, dt.date(2024, 1, 2))["close"].tolist() == [400.25, 470.0]
    assert truncate(px, dt.date(2024, 1, 3))["close"].tolist() == [400.25, 470.0, 471.5]
    assert truncate(px, dt.date(2024, 1, 1)).empty


def test_real_data_loads_when_present():
    path = DATA / "daily" / "adj_close.parquet"
    if not path.exists():
        pytest.skip("../shared/data is not available")
    out = load_prices(path, symbols=["SPY", "BIL"])
    assert set(out["symbol"]) == {"SPY", "BIL"}
    assert out["close"].dtype == np.float64 and (out["close"] > 0).all()
    assert not out.duplicated(["symbol", "date"]).any()
    spy = out[out["symbol"] == "SPY"]
    assert spy["date"].is_monotonic_increasing
    assert spy["date"].min() == pd.Timestamp("1993-01-29")


def test_volume_on_close_basis_makes_close_times_volume_the_traded_dollars():
    # NVDA-like: 1,000 shares traded at 500 (volume source's close) = $500,000; the adjusted
    # close after a later 10:1 split is 50, so the volume on that basis is 10,000 shares.
    close = [50.0, 20.0, 30.0]
    volume = [1_000.0, 400.0, float("nan")]
    volume_close = [500.0, float("nan"), 30.0]  # row 2: no source close -> volume kept
    out = volume_on_close_basis(close, volume, volume_close)
    assert out[0] == 10_000.0 and close[0] * out[0] == 500.0 * 1_000.0
    assert out[1] == 400.0 and np.isnan(out[2])
