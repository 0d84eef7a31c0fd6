"""Ordinal-level NYSE session lookup behind :mod:`us_equity_strategies.calendar`.

Dates are proleptic Gregorian ordinals (``date.toordinal()``). Inside the generated table's
range (``_nyse_table.py``) answers come from the table via :mod:`bisect`; outside it the
pandas-market-calendars fallback in ``_calendar_pmc.py`` is imported lazily, so importing this
module needs only the standard library.
"""

from bisect import bisect_left, bisect_right
from datetime import date

from us_equity_strategies._nyse_table import EARLY_CLOSES as _EARLY_CLOSES_ISO
from us_equity_strategies._nyse_table import HOLIDAYS as _HOLIDAYS_ISO
from us_equity_strategies._nyse_table import TABLE_END, TABLE_START

_T0 = date.fromisoformat(TABLE_START).toordinal()
_T1 = date.fromisoformat(TABLE_END).toordinal()
_HOLIDAYS_SET = frozenset(date.fromisoformat(s).toordinal() for s in _HOLIDAYS_ISO)
_EARLY = tuple(sorted(date.fromisoformat(s).toordinal() for s in _EARLY_CLOSES_ISO))
_EARLY_SET = frozenset(_EARLY)

_MIN_ORD = date.min.toordinal()
_MAX_ORD = date.max.toordinal()


def _is_weekday(o: int) -> bool:
    # Ordinal 1 (0001-01-01) is a Monday, so Saturday <=> o % 7 == 6, Sunday <=> o % 7 == 0.
    return o % 7 not in (0, 6)


# Caches are plain module globals rather than functools.cache: importing functools (and
# collections behind it) would roughly double the calendar's import time.
_table_sessions_cache: tuple[int, ...] | None = None


def _table_sessions() -> tuple[int, ...]:
    """Sorted ordinals of every session in the table range (built on first use, ~1-2 ms)."""
    global _table_sessions_cache
    if _table_sessions_cache is None:
        _table_sessions_cache = tuple(
            o for o in range(_T0, _T1 + 1) if o % 7 not in (0, 6) and o not in _HOLIDAYS_SET
        )
    return _table_sessions_cache


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
    if lo < _T0 or hi > _T1:
        from us_equity_strategies._calendar_pmc import _pmc_ords  # lazily: off-table only
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
