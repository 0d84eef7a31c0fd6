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
looked up with :mod:`bisect`, so calls inside the table range take microseconds. The ordinal
lookup is in ``_calendar_lookup.py`` and the pmc fallback in ``_calendar_pmc.py``.
"""

from bisect import bisect_right
from datetime import date, datetime

# Ordinal lookup (table + lazy pmc fallback) lives in _calendar_lookup / _calendar_pmc; this
# module is the public API.
from us_equity_strategies._calendar_lookup import (
    _EARLY_SET,
    _HOLIDAYS_SET,
    _T0,
    _T1,
    _is_weekday,
    _ords,
    _ords_after,
    _ords_before,
    _table_sessions,
)
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
