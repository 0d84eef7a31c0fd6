"""Monthly execution window of the tech and mega-cap profiles (profiles.md "Shared helper
semantics").

A monthly snapshot may be executed only on the first ``n`` NYSE sessions strictly after its
``as_of`` (default ``n = 3``, ``runtime_execution_window_trading_days``). Sessions always come
from the NYSE calendar (:mod:`us_equity_strategies.calendar`); the reference's business-day
fallback is removed (profiles.md intentional fix 6), so ``calendar_source`` is always
``"nyse_calendar"``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .calendar import next_sessions

__all__ = ["CALENDAR_SOURCE", "WindowCheck", "check_execution_window", "execution_window"]

#: Value of the reference's ``execution_calendar_source`` metadata key.
CALENDAR_SOURCE = "nyse_calendar"


def _as_date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.datetime):  # also pandas.Timestamp; wall-clock date as given
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"{name} must be a datetime.date, datetime or pandas.Timestamp, "
                    f"not {type(value).__name__}")


@dataclass(frozen=True)
class WindowCheck:
    """Outcome of :func:`check_execution_window`.

    Attributes
    ----------
    in_window : bool
        True if the run may execute.
    window : tuple of datetime.date
        The allowed sessions (empty if there is no window or no check was made).
    no_op_reason : str or None
        Machine reason when ``in_window`` is False, else None.
    calendar_source : str
        Always ``"nyse_calendar"``.
    """

    in_window: bool
    window: tuple[dt.date, ...]
    no_op_reason: str | None
    calendar_source: str = CALENDAR_SOURCE

    def diagnostics(self) -> dict[str, object]:
        """The reference's metadata keys, for a decision's ``diagnostics.extras``."""
        out: dict[str, object] = {
            "execution_window": [d.isoformat() for d in self.window],
            "execution_calendar_source": self.calendar_source,
        }
        if not self.in_window:
            out["no_op_reason"] = self.no_op_reason
        return out


def execution_window(snapshot_as_of: dt.date, n: int) -> tuple[dt.date, ...]:
    """The next ``n`` NYSE sessions strictly after ``snapshot_as_of`` (empty if ``n <= 0``).

    Examples
    --------
    >>> execution_window(dt.date(2026, 3, 31), 3)  # 2026-04-03 is Good Friday
    (datetime.date(2026, 4, 1), datetime.date(2026, 4, 2), datetime.date(2026, 4, 6))
    """
    return next_sessions(_as_date(snapshot_as_of, "snapshot_as_of"), int(n))


def check_execution_window(
    snapshot_as_of: dt.date | None, run_as_of: dt.date | None, n: int
) -> WindowCheck:
    """Decide whether a run on ``run_as_of`` may execute the snapshot of ``snapshot_as_of``.

    Rules, in order:

    1. ``snapshot_as_of`` or ``run_as_of`` is None (no ``as_of`` column / no run date):
       execute, with an empty window.
    2. ``n <= 0``: no window, no-op ``"no_execution_window_after_snapshot:YYYY-MM-DD"``.
    3. ``run_as_of`` (reduced to its date) not in the window: no-op
       ``"outside_monthly_execution_window snapshot=YYYY-MM-DD allowed=d1,d2,d3"``.
    4. Otherwise execute.
    """
    if snapshot_as_of is None or run_as_of is None:
        return WindowCheck(True, (), None)
    snap = _as_date(snapshot_as_of, "snapshot_as_of")
    run = _as_date(run_as_of, "run_as_of")
    window = execution_window(snap, n)
    if not window:
        return WindowCheck(False, (), f"no_execution_window_after_snapshot:{snap.isoformat()}")
    if run not in window:
        allowed = ",".join(d.isoformat() for d in window)
        return WindowCheck(False, window, f"outside_monthly_execution_window "
                                          f"snapshot={snap.isoformat()} allowed={allowed}")
    return WindowCheck(True, window, None)
