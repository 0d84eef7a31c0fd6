"""NYSE trading-calendar helpers that are cheap to import and to call.

pandas-market-calendars (pmc) is the source of truth for the NYSE calendar, but importing it
and building a schedule costs ~0.4 s, which blows the CLI cold-start budget. Inside
``TABLE_RANGE`` (1990-01-01..2040-12-31) this module therefore answers from a table generated
from pmc by ``scripts/generate_nyse_table.py`` (see ``_nyse_table.py``) and imports only the
standard library. Outside that range every function lazily imports pmc and gives the same
answers pmc would; there is never a plain business-day fallback.

All functions accept :class:`datetime.date`, and also :class:`datetime.datetime` /
``pandas.Timestamp`` (reduced with ``.date()``, i.e. the wall-clock date of the value as
given, without any timezone conversion). Strings are rejected with :class:`TypeError`;
convert them explicitly with :func:`parse_date`. Results are always plain
:class:`datetime.date` objects.

Internally dates are handled as proleptic Gregorian ordinals (``date.toordinal()``) and
looked up with :mod:`bisect`, so calls inside the table range take microseconds.
"""

from bisect import bisect_left, bisect_right
from datetime import date, datetime

from us_equity_strategies._nyse_table import EARLY_CLOSES as _EARLY_CLOSES_ISO
from us_equity_strategies._nyse_table import HOLIDAYS as _HOLIDAYS_ISO
from us_equity_strategies._nyse_table import (
    PMC_VERSION,
    TABLE_END,
    TABLE_START,
)

__all__ = [
    "CALENDAR_VERSION",
    "PMC_VERSION",
    "TABLE_RANGE",
    "early_closes",
    "is_early_close",
    "is_last_session_of_month",
    "is_session",
    "last_session_of_month",
    "last_session_of_quarter",
    "next_session",
    "next_sessions",
    "parse_date",
    "previous_session",
    "session_offset",
    "sessions",
    "sessions_between",
]

#: Identifies the calendar data used; record it next to anything derived from sessions.
CALENDAR_VERSION: str = (
    f"NYSE/pandas_market_calendars=={PMC_VERSION}/table={TABLE_START}..{TABLE_END}"
)

#: Inclusive date range answered from the generated table (no pmc import needed).
TABLE_RANGE: tuple[date, date] = (date.fromisoformat(TABLE_START), date.fromisoformat(TABLE_END))

_T0 = TABLE_RANGE[0].toordinal()
_T1 = TABLE_RANGE[1].toordinal()
_HOLIDAYS_SET = frozenset(date.fromisoformat(s).toordinal() for s in _HOLIDAYS_ISO)
_EARLY = tuple(sorted(date.fromisoformat(s).toordinal() for s in _EARLY_CLOSES_ISO))
_EARLY_SET = frozenset(_EARLY)

_MIN_ORD = date.min.toordinal()
_MAX_ORD = date.max.toordinal()

# pmc fallback is fetched in blocks of years: a pmc schedule call has a large fixed cost,
# so one call per decade beats one call per query.
_PMC_BLOCK_YEARS = 10


# --------------------------------------------------------------------------- input helpers


def _as_date(value: object, name: str = "d") -> date:
    """Coerce a date-like value to :class:`datetime.date` without importing pandas.

    ``pandas.Timestamp`` subclasses :class:`datetime.datetime`, so it is covered by the
    ``datetime`` branch. The ``datetime`` check must come first because ``datetime`` is
    itself a subclass of ``date``.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(
        f"{name} must be a datetime.date, datetime.datetime or pandas.Timestamp, "
        f"not {type(value).__name__}; use parse_date() to convert strings"
    )


def parse_date(text: str) -> date:
    """Parse an ISO ``YYYY-MM-DD`` string.

    Parameters
    ----------
    text : str
        ISO 8601 calendar date.

    Returns
    -------
    datetime.date

    Raises
    ------
    TypeError
        If `text` is not a string.
    ValueError
        If `text` is not a valid ISO date.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_date expects str, not {type(text).__name__}")
    return date.fromisoformat(text)


# --------------------------------------------------------------------------- data sources


def _is_weekday(o: int) -> bool:
    # Ordinal 1 (0001-01-01) is a Monday, so Saturday <=> o % 7 == 6, Sunday <=> o % 7 == 0.
    return o % 7 not in (0, 6)


# Caches are plain module globals rather than functools.cache: importing functools (and
# collections behind it) would roughly double this module's import time.
_table_sessions_cache: tuple[int, ...] | None = None
_pmc_calendar_cache: object | None = None
_pmc_block_cache: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}


def _table_sessions() -> tuple[int, ...]:
    """Sorted ordinals of every session in the table range (built on first use, ~1-2 ms)."""
    global _table_sessions_cache
    if _table_sessions_cache is None:
        _table_sessions_cache = tuple(
            o for o in range(_T0, _T1 + 1) if o % 7 not in (0, 6) and o not in _HOLIDAYS_SET
        )
    return _table_sessions_cache


def _pmc_calendar():  # -> pandas_market_calendars.MarketCalendar (not imported at module level)
    global _pmc_calendar_cache
    if _pmc_calendar_cache is None:
        import pandas_market_calendars as mcal

        _pmc_calendar_cache = mcal.get_calendar("NYSE")
    return _pmc_calendar_cache


def _pmc_block(block: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Session and early-close ordinals from pmc for one block of years (cached).

    Only used outside the table range. Note that pmc's data includes Saturday sessions
    before 1952, which is why the fallback never assumes a Monday-Friday week.
    """
    cached = _pmc_block_cache.get(block)
    if cached is not None:
        return cached
    first_year = max(block * _PMC_BLOCK_YEARS, date.min.year)
    last_year = min(block * _PMC_BLOCK_YEARS + _PMC_BLOCK_YEARS - 1, date.max.year)
    cal = _pmc_calendar()
    import warnings  # lazily: only this pmc fallback path needs it

    with warnings.catch_warnings():
        # pmc 5.5 trips pandas 3's "Series.dt.weekday is deprecated" internally; not ours to fix.
        warnings.filterwarnings("ignore", message=r"Series\.dt\.weekday is deprecated")
        schedule = cal.schedule(
            start_date=f"{first_year:04d}-01-01", end_date=f"{last_year:04d}-12-31"
        )
        early_index = cal.early_closes(schedule).index
    session_ords = tuple(ts.toordinal() for ts in schedule.index)
    early_ords = tuple(sorted(ts.toordinal() for ts in early_index))
    result = _pmc_block_cache[block] = (session_ords, early_ords)
    return result


def _pmc_ords(lo: int, hi: int, which: int) -> list[int]:
    """Ordinals in ``[lo, hi]`` from pmc; ``which`` 0 = sessions, 1 = early closes."""
    out: list[int] = []
    first_block = date.fromordinal(lo).year // _PMC_BLOCK_YEARS
    last_block = date.fromordinal(hi).year // _PMC_BLOCK_YEARS
    for block in range(first_block, last_block + 1):
        data = _pmc_block(block)[which]
        out.extend(data[bisect_left(data, lo) : bisect_right(data, hi)])
    return out


def _ords(lo: int, hi: int, which: int = 0) -> list[int]:
    """Sorted session (``which=0``) or early-close (``which=1``) ordinals in ``[lo, hi]``.

    Splits the request into the part before the table, the table part and the part after
    the table, so pmc is only imported when a query actually leaves the table range.
    """
    lo = max(lo, _MIN_ORD)
    hi = min(hi, _MAX_ORD)
    if lo > hi:
        return []
    out: list[int] = []
    if lo < _T0:
        out.extend(_pmc_ords(lo, min(hi, _T0 - 1), which))
    a, b = max(lo, _T0), min(hi, _T1)
    if a <= b:
        data = _table_sessions() if which == 0 else _EARLY
        out.extend(data[bisect_left(data, a) : bisect_right(data, b)])
    if hi > _T1:
        out.extend(_pmc_ords(max(lo, _T1 + 1), hi, which))
    return out


def _ords_after(o: int, n: int) -> list[int]:
    """The ``n`` (>= 1) session ordinals strictly after ordinal ``o``, ascending."""
    if o >= _T0 - 1:
        # Fast path: from o onwards the table is complete up to _T1.
        table = _table_sessions()
        i = bisect_right(table, o)
        if i + n <= len(table):
            return list(table[i : i + n])
    out: list[int] = []
    span = max(32, 2 * n)  # ~1.45 calendar days per session, so 2n days nearly always suffice
    lo = o + 1
    while len(out) < n:
        if lo > _MAX_ORD:
            raise OverflowError("no further sessions before date.max")
        hi = lo + span - 1
        out.extend(_ords(lo, hi))
        lo = hi + 1
    return out[:n]


def _ords_before(o: int, n: int) -> list[int]:
    """The ``n`` (>= 1) session ordinals strictly before ordinal ``o``, ascending."""
    if o <= _T1 + 1:
        # Fast path: below o the table is complete down to _T0.
        table = _table_sessions()
        j = bisect_left(table, o)
        if j >= n:
            return list(table[j - n : j])
    out: list[int] = []
    span = max(32, 2 * n)
    hi = o - 1
    while len(out) < n:
        if hi < _MIN_ORD:
            raise OverflowError("no earlier sessions after date.min")
        lo = hi - span + 1
        out[:0] = _ords(lo, hi)
        hi = lo - 1
    return out[-n:]


# --------------------------------------------------------------------------- public API


def is_session(d: date) -> bool:
    """Return whether the NYSE holds a regular session on `d`.

    Parameters
    ----------
    d : datetime.date
        Date to test (``datetime`` / ``pandas.Timestamp`` are reduced with ``.date()``).

    Returns
    -------
    bool
        ``True`` for full and early-close sessions, ``False`` for weekends, holidays and
        special closures.
    """
    o = _as_date(d).toordinal()
    if _T0 <= o <= _T1:
        return _is_weekday(o) and o not in _HOLIDAYS_SET
    return bool(_ords(o, o))


def sessions(start: date, end: date) -> tuple[date, ...]:
    """Return all sessions ``s`` with ``start <= s <= end``, ascending.

    Parameters
    ----------
    start, end : datetime.date
        Inclusive bounds; an empty tuple is returned if ``end < start``.

    Returns
    -------
    tuple of datetime.date
    """
    lo = _as_date(start, "start").toordinal()
    hi = _as_date(end, "end").toordinal()
    fromordinal = date.fromordinal
    return tuple(fromordinal(o) for o in _ords(lo, hi))


def next_session(d: date) -> date:
    """Return the first session strictly after `d`.

    Parameters
    ----------
    d : datetime.date
        Reference date; need not be a session.

    Returns
    -------
    datetime.date
    """
    return date.fromordinal(_ords_after(_as_date(d).toordinal(), 1)[0])


def previous_session(d: date) -> date:
    """Return the last session strictly before `d`.

    Parameters
    ----------
    d : datetime.date
        Reference date; need not be a session.

    Returns
    -------
    datetime.date
    """
    return date.fromordinal(_ords_before(_as_date(d).toordinal(), 1)[0])


def next_sessions(after: date, n: int) -> tuple[date, ...]:
    """Return the `n` sessions strictly after `after`, ascending.

    Parameters
    ----------
    after : datetime.date
        Reference date (excluded even if it is a session).
    n : int
        Number of sessions; ``n <= 0`` gives an empty tuple.

    Returns
    -------
    tuple of datetime.date

    Examples
    --------
    >>> next_sessions(date(2026, 3, 31), 3)  # Good Friday 2026-04-03 is skipped
    (datetime.date(2026, 4, 1), datetime.date(2026, 4, 2), datetime.date(2026, 4, 6))
    """
    o = _as_date(after, "after").toordinal()
    if n <= 0:
        return ()
    fromordinal = date.fromordinal
    return tuple(fromordinal(x) for x in _ords_after(o, n))


def session_offset(d: date, n: int) -> date:
    """Return the session `n` sessions away from `d`.

    Parameters
    ----------
    d : datetime.date
        Reference date; need not be a session when ``n != 0``.
    n : int
        ``n > 0``: the n-th session strictly after `d` (``1`` is :func:`next_session`).
        ``n < 0``: the ``|n|``-th session strictly before `d`.
        ``n == 0``: `d` itself, which must be a session.

    Returns
    -------
    datetime.date

    Raises
    ------
    ValueError
        If ``n == 0`` and `d` is not a session.
    """
    day = _as_date(d)
    o = day.toordinal()
    if n > 0:
        return date.fromordinal(_ords_after(o, n)[-1])
    if n < 0:
        return date.fromordinal(_ords_before(o, -n)[0])
    if not is_session(day):
        raise ValueError(f"{day.isoformat()} is not an NYSE session")
    return day


def sessions_between(start: date, end: date) -> int:
    """Count sessions ``s`` with ``start < s <= end``.

    This is the number of session steps from `start` to `end`, e.g. the holding period
    in sessions of a position opened at the close of `start` and valued at `end`.

    Parameters
    ----------
    start : datetime.date
        Exclusive lower bound.
    end : datetime.date
        Inclusive upper bound.

    Returns
    -------
    int
        ``0`` if ``end <= start``.
    """
    a = _as_date(start, "start").toordinal()
    b = _as_date(end, "end").toordinal()
    if b <= a:
        return 0
    if _T0 - 1 <= a and b <= _T1:
        table = _table_sessions()
        return bisect_right(table, b) - bisect_right(table, a)
    return len(_ords(a + 1, b))


def last_session_of_month(year: int, month: int) -> date:
    """Return the last session of a calendar month.

    Parameters
    ----------
    year : int
    month : int
        1..12.

    Returns
    -------
    datetime.date

    Raises
    ------
    ValueError
        If `month` is out of range.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be in 1..12, got {month}")
    first_of_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return previous_session(first_of_next)


def is_last_session_of_month(d: date) -> bool:
    """Return whether `d` is a session and the last session of its month.

    Parameters
    ----------
    d : datetime.date

    Returns
    -------
    bool
    """
    day = _as_date(d)
    return is_session(day) and next_session(day).month != day.month


def last_session_of_quarter(year: int, quarter: int) -> date:
    """Return the last session of a calendar quarter.

    Parameters
    ----------
    year : int
    quarter : int
        1..4.

    Returns
    -------
    datetime.date

    Raises
    ------
    ValueError
        If `quarter` is out of range.
    """
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be in 1..4, got {quarter}")
    return last_session_of_month(year, 3 * quarter)


def is_early_close(d: date) -> bool:
    """Return whether `d` is a session that closes before the regular close.

    Follows pmc's ``early_closes``: mostly the 13:00 ET half days around Independence Day,
    Thanksgiving and Christmas, but also a few one-off short sessions (e.g. 1997-10-27).

    Parameters
    ----------
    d : datetime.date

    Returns
    -------
    bool
    """
    o = _as_date(d).toordinal()
    if _T0 <= o <= _T1:
        return o in _EARLY_SET
    return bool(_ords(o, o, which=1))


def early_closes(start: date, end: date) -> tuple[date, ...]:
    """Return early-close sessions ``s`` with ``start <= s <= end``, ascending.

    Parameters
    ----------
    start, end : datetime.date
        Inclusive bounds.

    Returns
    -------
    tuple of datetime.date
    """
    lo = _as_date(start, "start").toordinal()
    hi = _as_date(end, "end").toordinal()
    return tuple(date.fromordinal(o) for o in _ords(lo, hi, which=1))
