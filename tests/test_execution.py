"""Tests for us_equity_strategies.execution (profiles.md "Shared helper semantics")."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from us_equity_strategies import calendar
from us_equity_strategies.execution import (
    CALENDAR_SOURCE,
    WindowCheck,
    check_execution_window,
    execution_window,
)

SNAP = dt.date(2026, 3, 31)
# NYSE: 2026-04-03 is Good Friday, so the 3 sessions after 03-31 are 04-01, 04-02, 04-06
WINDOW = (dt.date(2026, 4, 1), dt.date(2026, 4, 2), dt.date(2026, 4, 6))


def test_spec_example_window_skips_good_friday():
    assert execution_window(SNAP, 3) == WINDOW


def test_spec_example_run_outside_window_is_a_no_op():
    check = check_execution_window(SNAP, dt.date(2026, 4, 10), 3)
    assert check == WindowCheck(
        in_window=False, window=WINDOW,
        no_op_reason="outside_monthly_execution_window snapshot=2026-03-31 "
                     "allowed=2026-04-01,2026-04-02,2026-04-06",
    )
    assert check.calendar_source == CALENDAR_SOURCE == "nyse_calendar"


@pytest.mark.parametrize("run", [*WINDOW, pd.Timestamp("2026-04-06 15:30"),
                                 dt.datetime(2026, 4, 1, 9, 31)])
def test_spec_example_runs_inside_window_execute(run):
    assert check_execution_window(SNAP, run, 3) == WindowCheck(True, WINDOW, None)


@pytest.mark.parametrize("run", [SNAP, dt.date(2026, 4, 3), dt.date(2026, 4, 7),
                                 dt.date(2026, 3, 30)])
def test_snapshot_day_good_friday_and_later_days_are_outside(run):
    check = check_execution_window(SNAP, run, 3)
    assert not check.in_window and check.no_op_reason.startswith(
        "outside_monthly_execution_window snapshot=2026-03-31 allowed=")


@pytest.mark.parametrize("n", [0, -2])
def test_no_window_reason(n):
    assert execution_window(SNAP, n) == ()
    assert check_execution_window(SNAP, dt.date(2026, 4, 1), n) == WindowCheck(
        False, (), "no_execution_window_after_snapshot:2026-03-31")


def test_missing_dates_execute():
    assert check_execution_window(None, dt.date(2026, 4, 10), 3) == WindowCheck(True, (), None)
    assert check_execution_window(SNAP, None, 0) == WindowCheck(True, (), None)


def test_window_of_one_and_weekend_snapshot():
    assert check_execution_window(SNAP, dt.date(2026, 4, 2), 1).no_op_reason == (
        "outside_monthly_execution_window snapshot=2026-03-31 allowed=2026-04-01")
    # a Saturday snapshot date: the window starts on Monday
    assert execution_window(dt.date(2026, 5, 30), 2) == (dt.date(2026, 6, 1),
                                                          dt.date(2026, 6, 2))


def test_strings_are_rejected():
    with pytest.raises(TypeError, match="run_as_of"):
        check_execution_window(SNAP, "2026-04-01", 3)


@given(st.dates(dt.date(1995, 1, 1), dt.date(2035, 12, 31)), st.integers(1, 6))
def test_window_is_next_n_nyse_sessions(snapshot, n):
    window = execution_window(snapshot, n)
    assert len(window) == n
    assert all(calendar.is_session(d) for d in window)
    assert window[0] > snapshot and list(window) == sorted(set(window))
    # no session is skipped between the snapshot and the end of the window
    assert calendar.sessions(snapshot + dt.timedelta(days=1), window[-1]) == window
