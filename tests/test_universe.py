"""Tests for us_equity_strategies.universe (features.md §2.2, §4.3, §5.3)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from us_equity_strategies import universe as U
from us_equity_strategies.errors import InputError, UniverseError

NAN = math.nan
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "universe"


def _u(rows: list[dict]) -> pd.DataFrame:
    return U.normalize_universe(pd.DataFrame(rows))


def _symbols(frame: pd.DataFrame) -> list[str]:
    return list(frame["symbol"])


# --------------------------------------------------------------------------------------------
# membership
# --------------------------------------------------------------------------------------------
def test_membership_is_inclusive_at_both_ends():
    universe = _u([{"symbol": "A", "start_date": "2024-01-10", "end_date": "2024-01-20"},
                   {"symbol": "B", "start_date": "2024-01-15", "end_date": ""},
                   {"symbol": "C", "start_date": "", "end_date": "2024-01-12"}])
    assert _symbols(U.active_at(universe, dt.date(2024, 1, 9))) == ["C"]
    assert _symbols(U.active_at(universe, dt.date(2024, 1, 10))) == ["A", "C"]
    assert _symbols(U.active_at(universe, dt.date(2024, 1, 12))) == ["A", "C"]
    assert _symbols(U.active_at(universe, dt.date(2024, 1, 13))) == ["A"]
    assert _symbols(U.active_at(universe, dt.date(2024, 1, 20))) == ["A", "B"]
    assert _symbols(U.active_at(universe, dt.date(2024, 1, 21))) == ["B"]
    # datetime inputs are reduced to their date
    assert _symbols(U.active_at(universe, dt.datetime(2024, 1, 20, 16, 0))) == ["A", "B"]


def test_duplicate_symbols_last_active_row_wins():
    universe = _u([
        {"symbol": "A", "sector": "Old", "start_date": "2024-01-01", "end_date": ""},
        {"symbol": "B", "sector": "X", "start_date": "2024-01-01", "end_date": ""},
        {"symbol": "a ", "sector": "New", "start_date": "2024-01-05", "end_date": ""},
        {"symbol": "A", "sector": "Gone", "start_date": "2023-01-01", "end_date": "2023-12-31"},
    ])
    early = U.active_at(universe, dt.date(2024, 1, 2))
    assert list(zip(early["symbol"], early["sector"], strict=True)) == [("A", "Old"), ("B", "X")]
    late = U.active_at(universe, dt.date(2024, 2, 1))
    # the inactive 2023 row does not override the active ones; the last active row wins
    assert list(zip(late["symbol"], late["sector"], strict=True)) == [("B", "X"), ("A", "New")]


def test_no_date_columns_means_always_active():
    universe = _u([{"symbol": "A"}, {"symbol": "B", "sector": "  "}])
    active = U.active_at(universe, dt.date(1990, 1, 1))
    assert _symbols(active) == ["A", "B"] and list(active["sector"]) == ["unknown"] * 2


# --------------------------------------------------------------------------------------------
# issuer keys and top-N selection
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("symbol", "key"), [
    ("GOOG", "GOOGL"), ("GOOGL", "GOOGL"), ("BRK.A", "BRK.B"), ("BRK-B", "BRK.B"),
    ("BRKB", "BRK.B"), ("BRK.B", "BRK.B"), ("brk-a", "BRK.B"), ("FOX", "FOXA"),
    ("FOXA", "FOXA"), ("NWS", "NWSA"), ("NWSA", "NWSA"), ("BF-B", "BF.B"), ("NVDA", "NVDA"),
])
def test_issuer_key(symbol, key):
    assert U.issuer_key(symbol) == key


def holdings_5_3() -> pd.DataFrame:
    # features.md §5.3
    return _u([
        {"symbol": "NVDA", "weight": 6.5}, {"symbol": "MSFT", "weight": 6.1},
        {"symbol": "AAPL", "weight": 6.1}, {"symbol": "GOOGL", "weight": 2.0},
        {"symbol": "GOOG", "weight": 1.7}, {"symbol": "BRKB", "weight": 1.7},
        {"symbol": "XYZ", "weight": NAN, "market_value": 9},
    ])


def test_worked_example_5_3():
    holdings = holdings_5_3()
    # AAPL before MSFT: equal weights, symbols ascending
    assert _symbols(U.select_top_n(holdings, 4)) == ["NVDA", "AAPL", "MSFT", "GOOGL"]
    # GOOG is GOOGL's issuer; XYZ has no weight (its market_value is ignored)
    assert _symbols(U.select_top_n(holdings, 5)) == ["NVDA", "AAPL", "MSFT", "GOOGL", "BRKB"]
    assert _symbols(U.select_top_n(holdings, 10)) == ["NVDA", "AAPL", "MSFT", "GOOGL", "BRKB"]


def test_issuer_dedup_keeps_the_heavier_class():
    universe = _u([{"symbol": "GOOGL", "weight": 1.0}, {"symbol": "GOOG", "weight": 3.0},
                   {"symbol": "FOX", "weight": 0.5}, {"symbol": "FOXA", "weight": 0.4},
                   {"symbol": "BRK-B", "weight": 2.0}, {"symbol": "BRK.A", "weight": 2.5}])
    assert _symbols(U.select_top_n(universe, 6)) == ["GOOG", "BRK.A", "FOX"]


def test_mega_rank_branch_without_dedup():
    universe = _u([
        {"symbol": "GOOG", "mega_rank": 2, "weight": 9.0},
        {"symbol": "GOOGL", "mega_rank": 2, "weight": 1.0},
        {"symbol": "AAPL", "mega_rank": 1, "weight": 0.1},
        {"symbol": "NORANK", "mega_rank": "", "weight": 50.0},
        {"symbol": "MSFT", "mega_rank": 3},
    ])
    # sorted by (mega_rank, symbol); share classes both kept; unranked rows dropped
    assert _symbols(U.select_top_n(universe, 3)) == ["AAPL", "GOOG", "GOOGL"]
    assert _symbols(U.select_top_n(universe, 10)) == ["AAPL", "GOOG", "GOOGL", "MSFT"]
    # a mega_rank column without any rank selects nothing (no fall-through in this branch)
    assert U.select_top_n(_u([{"symbol": "A", "mega_rank": "", "weight": 1}]), 3).empty


def test_weight_branch_column_chosen_by_presence_order():
    universe = _u([
        {"symbol": "A", "source_weight": 1.0, "weight": 9.0, "market_value": 1.0},
        {"symbol": "B", "source_weight": 2.0, "weight": 1.0, "market_value": 9.0},
        {"symbol": "C", "source_weight": NAN, "weight": 50.0, "market_value": 50.0},
    ])
    assert _symbols(U.select_top_n(universe, 3)) == ["B", "A"]  # source_weight; C dropped
    no_sw = universe.drop(columns="source_weight")
    assert _symbols(U.select_top_n(no_sw, 3)) == ["C", "A", "B"]  # weight
    only_mv = universe.drop(columns=["source_weight", "weight"])
    assert _symbols(U.select_top_n(only_mv, 2)) == ["C", "B"]  # market_value
    smv = _u([{"symbol": "A", "source_market_value": 1.0, "market_value": 5.0},
              {"symbol": "B", "source_market_value": 2.0, "market_value": 1.0}])
    assert _symbols(U.select_top_n(smv, 2)) == ["B", "A"]  # source_market_value before mv


def test_all_nan_weight_falls_through_to_all_rows_or_error():
    universe = _u([{"symbol": "B", "weight": "", "market_value": 5.0},
                   {"symbol": "A", "weight": "", "market_value": 9.0}])
    # `weight` is present (so market_value is never consulted) but NaN everywhere -> step 4
    assert _symbols(U.select_top_n(universe, 2)) == ["B", "A"]
    with pytest.raises(UniverseError, match=r"2 active rows .* exceed N=1"):
        U.select_top_n(universe, 1)


def test_more_than_n_without_ranking_is_an_error():
    universe = _u([{"symbol": s} for s in "ABC"])
    assert _symbols(U.select_top_n(universe, 3)) == ["A", "B", "C"]
    with pytest.raises(UniverseError, match=r"3 active rows .* exceed N=2"):
        U.select_top_n(universe, 2)


def test_select_with_as_of_and_availability_lag():
    # history: A weighs most from 2024-03-04 (a Monday) on; before that B did
    universe = _u([
        {"symbol": "A", "weight": 1.0, "start_date": "2024-02-01", "end_date": "2024-03-03"},
        {"symbol": "B", "weight": 2.0, "start_date": "2024-02-01", "end_date": "2024-03-03"},
        {"symbol": "A", "weight": 3.0, "start_date": "2024-03-04", "end_date": ""},
        {"symbol": "B", "weight": 2.0, "start_date": "2024-03-04", "end_date": ""},
    ])
    monday = dt.date(2024, 3, 4)
    assert _symbols(U.select_top_n(universe, 1, as_of=monday)) == ["A"]
    # lag 1 session: membership of Friday 2024-03-01
    assert U.membership_date(monday, 1) == dt.date(2024, 3, 1)
    assert _symbols(U.select_top_n(universe, 1, as_of=monday, lag_sessions=1)) == ["B"]
    # lag 2 from Wednesday 2024-03-06 -> Monday 2024-03-04
    assert _symbols(U.select_top_n(universe, 1, as_of=dt.date(2024, 3, 6),
                                   lag_sessions=2)) == ["A"]
    # lag across a holiday: Tuesday 2024-01-16, 1 session back skips MLK day -> 2024-01-12
    assert U.membership_date(dt.date(2024, 1, 16), 1) == dt.date(2024, 1, 12)
    with pytest.raises(UniverseError, match="no active rows on 2024-01-31"):
        U.select_top_n(universe, 1, as_of=dt.date(2024, 1, 31))
    with pytest.raises(ValueError, match="lag_sessions"):
        U.select_top_n(universe, 1, lag_sessions=1)
    with pytest.raises(ValueError, match="lag_sessions"):
        U.membership_date(monday, -1)
    with pytest.raises(ValueError, match="n must be"):
        U.select_top_n(universe, 0, as_of=monday)


@given(st.lists(st.tuples(st.sampled_from(["GOOG", "GOOGL", "BRKB", "BRK-B", "FOX", "AAA",
                                           "BBB", "CCC", "NWS", "NWSA"]),
                          st.one_of(st.none(), st.floats(0, 10, allow_nan=False))),
                min_size=1, max_size=12),
       st.integers(1, 8))
def test_weight_selection_properties(rows, n):
    universe = U.active_at(_u([{"symbol": s, "weight": NAN if w is None else w}
                               for s, w in rows]), dt.date(2024, 1, 2))
    last = dict(rows)  # active_at: the last row of a symbol wins
    assert sorted(universe["symbol"]) == sorted(last)
    try:
        chosen = U.select_top_n(universe, n)
    except UniverseError:
        assert all(w is None for w in last.values()) and len(last) > n
        return
    if all(w is None for w in last.values()):
        assert len(last) <= n and sorted(chosen["symbol"]) == sorted(last)
        return
    keys = [U.issuer_key(s) for s in chosen["symbol"]]
    assert len(keys) == len(set(keys)) and len(chosen) <= n
    weights = list(chosen["weight"])
    assert weights == sorted(weights, reverse=True) and not np.isnan(weights).any()
    # the selection is the n heaviest issuers (each at its heaviest class)
    best: dict[str, float] = {}
    for s, w in last.items():
        if w is not None:
            best[U.issuer_key(s)] = max(best.get(U.issuer_key(s), -1.0), w)
    assert sorted(best.values(), reverse=True)[:n] == weights


# --------------------------------------------------------------------------------------------
# loaders and bad input
# --------------------------------------------------------------------------------------------
def test_load_universe_csv_and_parquet(tmp_path):
    csv = tmp_path / "u.csv"
    csv.write_text("Symbol,Sector,start_date,end_date,weight,name\n"
                   " brk-b ,Financials,2024-01-02,,1.5,Berkshire\n"
                   "NA,,2024-01-02,2024-02-01,,Nasdaq?\n"
                   "ON,Information Technology,,,0.25,ON Semi\n")
    table = U.load_universe(csv)
    assert list(table.columns) == ["symbol", "sector", "start_date", "end_date", "weight",
                                   "name"]
    assert _symbols(table) == ["BRK-B", "NA", "ON"]  # dashes kept, "NA"/"ON" stay strings
    assert list(table["sector"]) == ["Financials", "unknown", "Information Technology"]
    assert table["start_date"].iloc[0] == pd.Timestamp("2024-01-02")
    assert pd.isna(table["end_date"].iloc[0]) and pd.isna(table["start_date"].iloc[2])
    np.testing.assert_array_equal(table["weight"].to_numpy(), [1.5, NAN, 0.25])
    pq = tmp_path / "u.parquet"
    table.to_parquet(pq)
    again = U.load_universe(pq)
    pd.testing.assert_frame_equal(again[["symbol", "start_date", "end_date", "weight"]],
                                  table[["symbol", "start_date", "end_date", "weight"]])


@pytest.mark.parametrize(("text", "pattern"), [
    ("ticker,sector\nA,X\n", r"u\.csv: missing required column 'symbol'"),
    ("symbol,sector\nA,X\n ,Y\n", r"column 'symbol': missing symbols in rows 1"),
    ("symbol,start_date\nA,2024-01-02\nB,2024-13-40\n",
     r"u\.csv: column 'start_date': unparsable dates in rows 1 \('2024-13-40'\)"),
    ("symbol,start_date,end_date\nA,2024-01-02,2024-01-01\nB,2024-01-02,2024-01-02\n",
     r"end_date < start_date in rows 0$"),
    ("symbol,weight\nA,1.0\nB,heavy\nC,inf\n",
     r"column 'weight': not a finite number in rows 1 \('heavy'\), 2 \('inf'\)"),
    ("symbol,Symbol\nA,B\n", "duplicate column names"),
])
def test_bad_universe_files(tmp_path, text, pattern):
    path = tmp_path / "u.csv"
    path.write_text(text)
    with pytest.raises(UniverseError, match=pattern) as info:
        U.load_universe(path)
    assert isinstance(info.value, InputError)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(UniverseError, match="not found"):
        U.load_universe(tmp_path / "nope.csv")
    (tmp_path / "u.json").write_text("{}")
    with pytest.raises(UniverseError, match=r"unsupported format '\.json'"):
        U.load_universe(tmp_path / "u.json")


def test_load_membership_half_open_to_inclusive(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("symbol,start_date,end_date,dates_exact\n"
                    "AAL,2015-03-23,2024-09-23,True\nAAPL,1996-01-02,,True\n")
    table = U.load_membership(path)
    assert table["end_date"].iloc[0] == pd.Timestamp("2024-09-22")
    assert list(table["dates_exact"]) == ["True", "True"]
    assert "AAL" in _symbols(U.active_at(table, dt.date(2024, 9, 20)))
    assert "AAL" not in _symbols(U.active_at(table, dt.date(2024, 9, 23)))  # replacement in
    inclusive = U.load_membership(path, end_exclusive=False)
    assert "AAL" in _symbols(U.active_at(inclusive, dt.date(2024, 9, 23)))
    path.write_text("symbol,start_date,end_date\nX,2024-01-02,2024-01-02\n")
    with pytest.raises(UniverseError, match=r"empty half-open interval .* rows 0"):
        U.load_membership(path)
    path.write_text("symbol,end_date\nX,2024-01-02\n")
    with pytest.raises(UniverseError, match="missing required column 'start_date'"):
        U.load_membership(path)


def test_load_and_attach_sectors(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("symbol,gics_sector,source\nBRK-B,Financials,x\nMSFT,Information "
                    "Technology,x\nZZZ,,x\n")
    sectors = U.load_sectors(path)
    assert list(sectors.columns) == ["symbol", "sector", "source"]
    assert list(sectors["sector"]) == ["Financials", "Information Technology", "unknown"]
    universe = _u([{"symbol": "BRK.B"}, {"symbol": "MSFT", "sector": "Tech (iShares)"},
                   {"symbol": "ZZZ"}, {"symbol": "NEW"}])
    filled = U.attach_sectors(universe, sectors)
    assert list(filled["sector"]) == ["Financials", "Tech (iShares)", "unknown", "unknown"]
    assert universe["sector"].iloc[0] == "unknown"  # input untouched
    over = U.attach_sectors(universe, sectors, overwrite=True)
    assert list(over["sector"]) == ["Financials", "Information Technology", "unknown",
                                    "unknown"]
    path.write_text("symbol,gics_sector\nA,X\nA,Y\n")
    with pytest.raises(UniverseError, match="more than once in rows 0 \\('A'\\), 1 \\('A'\\)"):
        U.load_sectors(path)
    path.write_text("symbol,industry\nA,X\n")
    with pytest.raises(UniverseError, match="'gics_sector' or 'sector'"):
        U.load_sectors(path)


# --------------------------------------------------------------------------------------------
# real data (../shared/data/universe)
# --------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_real_universe_files():
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    sp = U.load_membership(DATA / "sp500_membership.csv")
    # README: the final member set matches the 2026-08-08 constituents (503 names)
    assert len(U.active_at(sp, dt.date(2026, 8, 8))) == 503
    # AAL left on 2024-09-23 (half-open end), so it is a member on 2024-09-20 only
    assert "AAL" in _symbols(U.active_at(sp, dt.date(2024, 9, 20)))
    assert "AAL" not in _symbols(U.active_at(sp, dt.date(2024, 9, 23)))
    ndx = U.load_membership(DATA / "nasdaq100_membership.csv")
    assert len(U.active_at(ndx, dt.date(2026, 6, 22))) == 101  # README: 101 now
    assert "FB" in _symbols(U.active_at(ndx, dt.date(2022, 6, 8)))
    assert "META" in _symbols(U.active_at(ndx, dt.date(2022, 6, 9)))
    sectors = U.load_sectors(DATA / "sectors.csv")
    assert len(sectors) == 1290 and "unknown" not in set(sectors["sector"])
    members = U.attach_sectors(U.active_at(sp, dt.date(2026, 8, 8)), sectors)
    assert (members["sector"] != "unknown").all()
    iwb = U.load_universe(DATA / "russell1000_iwb_2026-07-17.csv")
    assert len(iwb) == 1024 and "BRK-B" in set(iwb["symbol"])
    top = _symbols(U.select_top_n(iwb, 12))
    # file weights: AAPL 7.00, NVDA 6.86, MSFT 4.25, AMZN 3.48, GOOGL 2.93, AVGO 2.50,
    # GOOG 2.39 (GOOGL's issuer -> dropped), META 2.06, TSLA 1.61, MU 1.39, LLY 1.37,
    # BRK-B 1.33, JPM 1.32, AMD 1.17
    assert top == ["AAPL", "NVDA", "MSFT", "AMZN", "GOOGL", "AVGO", "META", "TSLA", "MU",
                   "LLY", "BRK-B", "JPM"]
