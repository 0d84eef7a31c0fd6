"""Tests for the Snapshot model (frame or columns) and the canonical CSV digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from us_equity_strategies import builders, demo, runner
from us_equity_strategies.contract import EvaluationContext, Portfolio
from us_equity_strategies.snapshot import Snapshot, columns_csv_bytes, csv_bytes

AS_OF = dt.date(2024, 3, 28)
ETF = ("tqqq_growth_income", "soxl_soxx_trend_income", "global_etf_rotation")


def columns() -> dict[str, np.ndarray]:
    return {
        "as_of": np.full(3, "2024-03-28", dtype=object),
        "symbol": np.array(["AAA", None, "C,\"D\""], dtype=object),
        "close": np.array([10.25, math.nan, 1e-7]),
        "eligible": np.array([True, False, True]),
        "history_days": np.array([300, 0, 5], dtype=np.int64),
    }


def test_columns_csv_equals_pandas_on_a_hand_written_table():
    expected = (b'as_of,symbol,close,eligible,history_days\n'
                b'2024-03-28,AAA,10.25,True,300\n'
                b'2024-03-28,,,False,0\n'
                b'2024-03-28,"C,""D""",1e-07,True,5\n')
    assert columns_csv_bytes(columns()) == expected
    assert csv_bytes(pd.DataFrame(columns())) == expected


_text = st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
                  st.sampled_from(["", " ", ",", '"', "\n", "\r\n", "NA", "nan", "None"]))
_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 1e16, 1e-5, 123456789012345.6, 0.1 + 0.2]))
_object_cell = st.one_of(_text, st.floats(allow_nan=True), st.booleans(),
                         st.integers(-10**6, 10**6))


@st.composite
def tables(draw):
    n = draw(st.integers(0, 6))
    kinds = draw(st.lists(st.sampled_from(["f8", "f4", "i8", "b", "text", "U", "mixed"]),
                          min_size=1, max_size=5))
    out: dict[str, np.ndarray] = {}
    for j, kind in enumerate(kinds):
        name = draw(st.sampled_from(["a", "b,c", 'q"', "x y", ""])) + str(j)
        if kind == "f8":
            out[name] = np.array(draw(st.lists(_float, min_size=n, max_size=n)), dtype="f8")
        elif kind == "f4":
            values = draw(st.lists(st.floats(width=32, allow_nan=True), min_size=n, max_size=n))
            out[name] = np.array(values, dtype="f4")
        elif kind == "i8":
            out[name] = np.array(draw(st.lists(st.integers(-2**62, 2**62), min_size=n,
                                               max_size=n)), dtype="i8")
        elif kind == "b":
            out[name] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                                 dtype=bool)
        elif kind == "text":
            out[name] = np.array([*draw(st.lists(_text, min_size=n, max_size=n)), 0],
                                 dtype=object)[:n]
        elif kind == "U":
            values = draw(st.lists(st.text(alphabet="ab, \"\n", max_size=4), min_size=n,
                                   max_size=n))
            out[name] = np.array(values, dtype="U8") if n else np.array([], dtype="U1")
        else:
            out[name] = np.array([*draw(st.lists(_object_cell, min_size=n, max_size=n)), 0],
                                 dtype=object)[:n]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables())
def test_columns_csv_equals_pandas_to_csv(table):
    # The oracle is the definition: pandas' to_csv of the DataFrame built from the columns.
    assert columns_csv_bytes(table) == csv_bytes(pd.DataFrame(table))


def test_unsupported_dtypes_fall_back_to_pandas():
    table = {"d": np.array(["2024-01-02", "NaT"], dtype="datetime64[ns]"),
             "o": np.array([dt.date(2024, 1, 2), None], dtype=object)}
    assert columns_csv_bytes(table) == b"d,o\n2024-01-02,2024-01-02\n,\n"


def test_from_columns_digest_and_frame_equal_the_frame_path():
    snap = Snapshot.from_columns(columns(), profile="p", as_of=AS_OF, contract_version="v")
    ref = Snapshot.from_frame(pd.DataFrame(columns()), profile="p", as_of=AS_OF,
                              contract_version="v")
    assert snap.sha256 == ref.sha256 == hashlib.sha256(csv_bytes(ref.frame)).hexdigest()
    pd.testing.assert_frame_equal(snap.frame, ref.frame)
    assert len(snap) == 3 and snap.frame is snap.frame  # built once
    assert list(ref.columns) == list(columns())


def test_snapshot_is_immutable_and_replace_drops_a_stale_digest():
    snap = Snapshot.from_columns(columns(), profile="p", as_of=AS_OF, contract_version="v")
    with pytest.raises(AttributeError, match="immutable"):
        snap.profile = "q"  # type: ignore[misc]
    moved = snap.replace(source="x.csv", sha256="ab" * 32)
    assert (moved.source, moved.sha256) == ("x.csv", "ab" * 32)
    assert all(moved.columns[c] is v for c, v in snap.columns.items())  # shared, not copied
    other = moved.replace(frame=pd.DataFrame({"symbol": ["Z"]}))
    assert other.sha256 == hashlib.sha256(b"symbol\nZ\n").hexdigest()
    with pytest.raises(TypeError, match="exactly one of frame= or columns="):
        Snapshot(profile="p", as_of=AS_OF, contract_version="v")
    with pytest.raises(ValueError, match=r"different lengths: \[1, 2\]"):
        Snapshot(columns={"a": np.zeros(1), "b": np.zeros(2)}, profile="p", as_of=AS_OF,
                 contract_version="v")


@pytest.mark.parametrize("profile", ETF)
def test_fast_columnar_snapshots_equal_plain_builds(profile):
    # The backtester's numpy-column snapshots must be indistinguishable from a plain build:
    # same digest (it is in every decision's provenance), same table, same decision.
    prices = demo.demo_prices_cached()
    pre = builders.precompute(profile, prices)
    portfolio = Portfolio(total_equity=50_000.0, cash=50_000.0)
    for day in (dt.date(2023, 6, 30), demo.DEMO_AS_OF):
        fast = builders.build_snapshot(profile, prices, day, precomputed=pre, validate=False)
        plain = builders.build_snapshot(profile, prices, day)
        assert fast._frame is None  # columns only until someone asks for the frame
        assert fast.sha256 == plain.sha256
        ctx = EvaluationContext(as_of=day, portfolio=portfolio)
        assert runner.evaluate(fast, ctx).model_dump_json() == \
            runner.evaluate(plain, ctx).model_dump_json()
        assert fast._frame is None  # evaluation did not need it either
        pd.testing.assert_frame_equal(fast.frame, plain.frame)
