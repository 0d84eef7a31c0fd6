"""pandas-market-calendars fallback for :mod:`us_equity_strategies.calendar`.

Used only for dates outside the generated table's ``TABLE_RANGE``. Importing this module is
cheap (standard library only); pmc itself is imported on the first schedule request.
"""

from bisect import bisect_left, bisect_right
from datetime import date

# pmc fallback is fetched in blocks of years: a pmc schedule call has a large fixed cost,
# so one call per decade beats one call per query.
_PMC_BLOCK_YEARS = 10

# Plain module globals rather than functools.cache: importing functools costs import time.
_pmc_calendar_cache: object | None = None
_pmc_block_cache: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}


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
