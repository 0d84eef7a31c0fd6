"""Tests for us_equity_strategies.calendar against pandas-market-calendars (the source of truth)."""

import os
import subprocess
import sys
from bisect import bisect_left, bisect_right
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pandas_market_calendars as mcal
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import us_equity_strategies._nyse_table as nyse_table
from us_equity_strategies import calendar as cal

# pmc 5.5 calls the pandas-3-deprecated Series.dt.weekday internally; that noise is not ours.
pytestmark = pytest.mark.filterwarnings(r"ignore:Series\.dt\.weekday is deprecated")

REPO_ROOT = Path(__file__).resolve().parents[1]
GENERATOR = REPO_ROOT / "scripts" / "generate_nyse_table.py"
SRC_DIR = Path(cal.__file__).resolve().parents[1]

T0, T1 = cal.TABLE_RANGE


@pytest.fixture(scope="module")
def pmc_nyse():
    return mcal.get_calendar("NYSE")


@pytest.fixture(scope="module")
def pmc_schedule(pmc_nyse):
    return pmc_nyse.schedule(start_date=T0.isoformat(), end_date=T1.isoformat())


@pytest.fixture(scope="module")
def pmc_sessions(pmc_schedule) -> list[date]:
    return [ts.date() for ts in pmc_schedule.index]


@pytest.fixture(scope="module")
def pmc_early(pmc_nyse, pmc_schedule) -> list[date]:
    return sorted(ts.date() for ts in pmc_nyse.early_closes(pmc_schedule).index)


def _days(start: date, end: date):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


# --------------------------------------------------------------------------- full comparisons


def test_table_metadata_matches_installed_pmc():
    assert nyse_table.TABLE_START == "1990-01-01"
    assert nyse_table.TABLE_END == "2040-12-31"
    assert cal.TABLE_RANGE == (date(1990, 1, 1), date(2040, 12, 31))
    assert nyse_table.PMC_VERSION == mcal.__version__
    assert cal.CALENDAR_VERSION == (
        f"NYSE/pandas_market_calendars=={mcal.__version__}/table=1990-01-01..2040-12-31"
    )


def test_sessions_equal_pmc_over_whole_table(pmc_nyse, pmc_sessions):
    ours = cal.sessions(T0, T1)
    assert ours == tuple(pmc_sessions)
    valid_days = pmc_nyse.valid_days(start_date=T0.isoformat(), end_date=T1.isoformat())
    assert ours == tuple(ts.date() for ts in valid_days)


def test_early_closes_equal_pmc_over_whole_table(pmc_early):
    assert cal.early_closes(T0, T1) == tuple(pmc_early)


def test_every_day_in_table_matches_pmc(pmc_sessions, pmc_early):
    """is_session / is_early_close / next / previous for every calendar day of the table."""
    session_set = set(pmc_sessions)
    early_set = set(pmc_early)
    for d in _days(T0 + timedelta(days=7), T1 - timedelta(days=7)):
        assert cal.is_session(d) is (d in session_set), d
        assert cal.is_early_close(d) is (d in early_set), d
        assert cal.next_session(d) == pmc_sessions[bisect_right(pmc_sessions, d)], d
        assert cal.previous_session(d) == pmc_sessions[bisect_left(pmc_sessions, d) - 1], d


def test_last_session_of_every_month_matches_pmc(pmc_sessions):
    last: dict[tuple[int, int], date] = {}
    for s in pmc_sessions:
        last[(s.year, s.month)] = s
    for (year, month), expected in last.items():
        assert cal.last_session_of_month(year, month) == expected
        assert cal.is_last_session_of_month(expected)
    month_ends = set(last.values())
    assert all(cal.is_last_session_of_month(s) is (s in month_ends) for s in pmc_sessions)


# --------------------------------------------------------------------------- named cases


def test_good_friday_2026():
    assert not cal.is_session(date(2026, 4, 3))
    assert cal.next_sessions(date(2026, 3, 31), 3) == (
        date(2026, 4, 1),
        date(2026, 4, 2),
        date(2026, 4, 6),
    )


@pytest.mark.parametrize(
    "closed",
    [
        date(2018, 12, 5),  # national day of mourning, George H. W. Bush
        date(2012, 10, 29),  # Hurricane Sandy
        date(2012, 10, 30),
        date(2001, 9, 11),  # September 11
        date(2001, 9, 12),
        date(2001, 9, 13),
        date(2001, 9, 14),
        date(2022, 6, 20),  # Juneteenth (observed), first year observed by the NYSE
        date(2025, 1, 9),  # national day of mourning, Jimmy Carter
    ],
)
def test_special_closures(closed):
    assert closed.weekday() < 5
    assert not cal.is_session(closed)


def test_juneteenth_2021_was_open_and_911_reopening():
    assert cal.is_session(date(2021, 6, 18))
    assert cal.next_session(date(2001, 9, 10)) == date(2001, 9, 17)
    assert cal.sessions(date(2001, 9, 10), date(2001, 9, 17)) == (
        date(2001, 9, 10),
        date(2001, 9, 17),
    )


@pytest.mark.parametrize("d", [date(2023, 7, 3), date(2024, 11, 29), date(2024, 12, 24)])
def test_early_close_cases(d):
    assert cal.is_session(d)
    assert cal.is_early_close(d)
    assert d in cal.early_closes(date(d.year, 1, 1), date(d.year, 12, 31))


def test_not_early_close():
    assert not cal.is_early_close(date(2024, 12, 23))
    assert not cal.is_early_close(date(2024, 12, 25))  # holiday, not a session at all
    assert cal.early_closes(date(2024, 1, 1), date(2024, 12, 31)) == (
        date(2024, 7, 3),
        date(2024, 11, 29),
        date(2024, 12, 24),
    )


def test_month_and_quarter_ends():
    assert cal.last_session_of_month(2024, 3) == date(2024, 3, 28)  # Good Friday 2024-03-29
    assert cal.last_session_of_month(2026, 6) == date(2026, 6, 30)
    assert cal.last_session_of_month(2023, 12) == date(2023, 12, 29)
    assert cal.last_session_of_quarter(2024, 1) == date(2024, 3, 28)
    assert cal.last_session_of_quarter(2026, 2) == date(2026, 6, 30)
    assert cal.last_session_of_quarter(2025, 4) == date(2025, 12, 31)
    assert cal.is_last_session_of_month(date(2024, 3, 28))
    assert not cal.is_last_session_of_month(date(2024, 3, 29))  # not a session
    assert not cal.is_last_session_of_month(date(2024, 3, 27))
    with pytest.raises(ValueError):
        cal.last_session_of_month(2024, 13)
    with pytest.raises(ValueError):
        cal.last_session_of_quarter(2024, 0)


def test_offsets_and_counts():
    friday, monday = date(2024, 3, 28), date(2024, 4, 1)  # across Good Friday + weekend
    assert cal.session_offset(friday, 1) == monday
    assert cal.session_offset(monday, -1) == friday
    assert cal.session_offset(monday, 0) == monday
    assert cal.session_offset(date(2024, 3, 30), 1) == monday  # from a non-session
    assert cal.session_offset(date(2024, 3, 30), -1) == friday
    with pytest.raises(ValueError):
        cal.session_offset(date(2024, 3, 29), 0)
    assert cal.sessions_between(friday, monday) == 1
    assert cal.sessions_between(monday, friday) == 0
    assert cal.sessions_between(friday, friday) == 0
    assert cal.sessions_between(date(2023, 12, 29), date(2024, 12, 31)) == 252
    assert cal.next_sessions(friday, 0) == ()
    assert cal.next_sessions(friday, -5) == ()
    assert cal.sessions(monday, friday) == ()


def test_input_types():
    d = date(2024, 3, 28)
    assert cal.is_session(datetime(2024, 3, 28, 15, 30))
    assert cal.next_session(pd.Timestamp("2024-03-28 10:00")) == date(2024, 4, 1)
    assert cal.next_session(pd.Timestamp("2024-03-28", tz="America/New_York")) == date(2024, 4, 1)
    result = cal.session_offset(datetime(2024, 3, 28), 0)
    assert type(result) is date and result == d
    assert all(type(x) is date for x in cal.sessions(pd.Timestamp("2024-01-01"), d))
    for bad in ("2024-03-28", 20240328, None):
        with pytest.raises(TypeError):
            cal.is_session(bad)
    with pytest.raises(TypeError):
        cal.sessions("2024-01-01", d)
    assert cal.parse_date("2024-03-28") == d
    with pytest.raises(TypeError):
        cal.parse_date(d)
    with pytest.raises(ValueError):
        cal.parse_date("2024-02-30")


# --------------------------------------------------------------------------- pmc fallback


def test_fallback_outside_table_matches_pmc(pmc_nyse):
    sched = pmc_nyse.schedule(start_date="2045-01-01", end_date="2045-12-31")
    expected = tuple(ts.date() for ts in sched.index)
    assert cal.sessions(date(2045, 1, 1), date(2045, 12, 31)) == expected
    assert not cal.is_session(date(2045, 12, 25))
    assert cal.is_session(date(2045, 12, 26))
    assert cal.early_closes(date(2045, 1, 1), date(2045, 12, 31)) == tuple(
        ts.date() for ts in pmc_nyse.early_closes(sched).index
    )
    assert cal.is_early_close(date(2045, 11, 24))
    assert cal.last_session_of_month(2045, 3) == date(2045, 3, 31)
    assert cal.sessions_between(date(2044, 12, 31), date(2045, 12, 31)) == len(expected)


def test_fallback_straddles_table_edges(pmc_nyse):
    for start, end in [("1989-11-15", "1990-02-15"), ("2040-11-15", "2041-02-15")]:
        sched = pmc_nyse.schedule(start_date=start, end_date=end)
        expected = tuple(ts.date() for ts in sched.index)
        a, b = date.fromisoformat(start), date.fromisoformat(end)
        assert cal.sessions(a, b) == expected
        assert cal.sessions_between(a, b) == len(expected) - (a in expected)
        after = tuple(s for s in expected if s > a)
        assert cal.next_sessions(a, len(after)) == after
        before = tuple(s for s in expected if s < b)
        assert cal.session_offset(b, -len(before)) == before[0]
    assert cal.next_session(date(2040, 12, 31)) == date(2041, 1, 2)
    assert cal.previous_session(date(1990, 1, 2)) == date(1989, 12, 29)
    assert cal.previous_session(date(2041, 1, 2)) == date(2040, 12, 31)
    assert cal.session_offset(date(1989, 12, 29), 1) == date(1990, 1, 2)
    assert cal.last_session_of_month(1989, 12) == date(1989, 12, 29)


def test_fallback_never_assumes_business_days():
    # pmc records Saturday sessions before 1952; a business-day fallback would miss them.
    assert cal.is_session(date(1940, 1, 6))
    assert cal.next_session(date(1940, 1, 5)) == date(1940, 1, 6)


# --------------------------------------------------------------------------- import cost


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC_DIR), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def test_import_does_not_pull_pandas():
    code = (
        "import sys\n"
        "from datetime import date\n"
        "import us_equity_strategies.calendar as c\n"
        "c.sessions(date(2018, 1, 2), date(2024, 12, 31))\n"
        "c.next_sessions(date(2026, 3, 31), 3)\n"
        "c.session_offset(date(2020, 1, 1), -300)\n"
        "c.sessions_between(date(2000, 1, 1), date(2030, 1, 1))\n"
        "c.last_session_of_quarter(2024, 1); c.early_closes(date(2020, 1, 1), date(2025, 1, 1))\n"
        "print(sorted(m for m in ('pandas', 'pandas_market_calendars', 'numpy')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_subprocess_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_import_time_budget(tmp_path):
    """Import of the calendar module (with bytecode cached, as in a real install) < 5 ms."""
    code = (
        "import time\n"
        "import us_equity_strategies\n"  # the package __init__ is not this module's budget
        "t = time.perf_counter()\n"
        "import us_equity_strategies.calendar\n"
        "print(time.perf_counter() - t)\n"
    )
    env = _subprocess_env(PYTHONPYCACHEPREFIX=str(tmp_path))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    timings = []
    for _ in range(6):  # first run writes the bytecode cache
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        timings.append(float(out.stdout))
    assert min(timings[1:]) < 0.005, timings


# --------------------------------------------------------------------------- generator


@pytest.mark.skipif(not GENERATOR.exists(), reason="generator script not available")
def test_generator_reproduces_committed_table(tmp_path):
    target = tmp_path / "table.py"
    out = subprocess.run(
        [sys.executable, str(GENERATOR), "--output", str(target)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == Path(nyse_table.__file__).read_bytes()


def test_table_is_well_formed():
    for name in ("HOLIDAYS", "EARLY_CLOSES"):
        values = getattr(nyse_table, name)
        parsed = [date.fromisoformat(v) for v in values]
        assert parsed == sorted(set(parsed)), name
        assert all(T0 <= d <= T1 and d.weekday() < 5 for d in parsed), name
    assert not set(nyse_table.HOLIDAYS) & set(nyse_table.EARLY_CLOSES)


# --------------------------------------------------------------------------- properties

# Slightly wider than the table so the properties also cover the pmc fallback at both edges.
any_day = st.dates(min_value=date(1987, 1, 1), max_value=date(2043, 12, 31))


@settings(max_examples=300, deadline=None)
@given(any_day)
def test_next_previous_roundtrip(d):
    nxt, prv = cal.next_session(d), cal.previous_session(d)
    assert prv < d < nxt
    assert cal.is_session(nxt) and cal.is_session(prv)
    assert cal.sessions(prv, nxt)[1:-1] == ((d,) if cal.is_session(d) else ())
    assert cal.previous_session(nxt) == (d if cal.is_session(d) else prv)
    # for a session s: next_session(previous_session(s)) == s
    assert cal.next_session(cal.previous_session(nxt)) == nxt
    assert cal.previous_session(cal.next_session(prv)) == prv


@settings(max_examples=300, deadline=None)
@given(any_day, any_day)
def test_sessions_between_consistent_with_sessions(a, b):
    span = cal.sessions(a, b)
    assert list(span) == sorted(set(span))
    assert cal.sessions_between(a, b) == len([s for s in span if s > a])
    if b > a:
        assert cal.sessions_between(a, b) == len(cal.sessions(a + timedelta(days=1), b))
    else:
        assert cal.sessions_between(a, b) == 0


@settings(max_examples=300, deadline=None)
@given(any_day, st.integers(min_value=-400, max_value=400).filter(bool))
def test_session_offset_roundtrip(d, n):
    target = cal.session_offset(d, n)
    assert cal.is_session(target)
    if cal.is_session(d):
        assert cal.session_offset(target, -n) == d
    else:  # stepping back lands on the session on the far side of d
        far = cal.previous_session(d) if n > 0 else cal.next_session(d)
        assert cal.session_offset(target, -n) == far
    if n > 0:
        assert cal.sessions_between(d, target) == n
        assert cal.next_sessions(d, n)[-1] == target
        assert len(cal.next_sessions(d, n)) == n
    else:
        assert cal.sessions_between(target, d) == -n - (not cal.is_session(d))


@settings(max_examples=200, deadline=None)
@given(any_day)
def test_month_end_properties(d):
    last = cal.last_session_of_month(d.year, d.month)
    assert (last.year, last.month) == (d.year, d.month)
    assert cal.is_last_session_of_month(last)
    assert cal.next_session(last).month != d.month
    assert cal.is_last_session_of_month(d) is (d == last)
