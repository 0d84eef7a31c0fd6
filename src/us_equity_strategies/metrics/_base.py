"""Constants, input handling and shared helpers of the metrics package."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Periods per year by data frequency (empyrical ``periods.py``; daily = 252 sessions).
ANNUALIZATION_FACTORS: dict[str, int] = {
    "daily": 252, "weekly": 52, "monthly": 12, "quarterly": 4, "yearly": 1,
}
NEW_YORK = "America/New_York"
PeriodsPerYear = float | str


@dataclass(frozen=True)
class DrawdownInfo:
    """The maximum drawdown and where it happened (see :func:`drawdown_details`)."""

    max_drawdown: float
    #: Last equity high before the trough; ``None`` when that high is the starting value (the
    #: capital before the first return), when there is no drawdown, or the input has no dates.
    peak_date: pd.Timestamp | None
    trough_date: pd.Timestamp | None
    #: First date at or after the trough whose equity is back at the peak level, else ``None``.
    recovery_date: pd.Timestamp | None
    #: Periods from the peak (the starting value counts as position -1) to the recovery, or to
    #: the last observation when the drawdown has not recovered.
    duration_periods: int
    #: Calendar days over the same span (from the first date when the peak is the starting
    #: value); ``None`` without dates.
    duration_days: int | None


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _naive_dates(index: pd.DatetimeIndex, name: str) -> pd.DatetimeIndex:
    if index.tz is not None:  # the one place time zones are handled: New York calendar dates
        index = index.tz_convert(NEW_YORK).tz_localize(None).normalize()
        if index.has_duplicates:
            raise ValueError(f"{name}: several tz-aware timestamps fall on the same New York "
                             "date; pass naive timestamps for intraday data")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError(f"{name}: the DatetimeIndex must be strictly increasing "
                         "(sort it and remove duplicate dates first)")
    return index


def _as_values(data: Any, name: str) -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    """Float64 copy of a Series / 1-d array, plus its naive dates (``None`` without dates)."""
    if isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a Series or 1-d array, not a DataFrame; pass one column")
    index = None
    try:
        if isinstance(data, pd.Series):
            values = data.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
            if isinstance(data.index, pd.DatetimeIndex):
                index = _naive_dates(data.index, name)
        else:
            values = np.array(data, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers: {exc}") from exc
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {values.shape}")
    if np.isinf(values).any():
        raise ValueError(f"{name} contains ±inf at {_where(np.isinf(values), index)}")
    return values, index


def _where(mask: np.ndarray, index: pd.DatetimeIndex | None) -> str:
    pos = np.flatnonzero(mask)[:5]
    labels = [str(index[p].date()) for p in pos] if index is not None else [str(p) for p in pos]
    return ("dates " if index is not None else "positions ") + ", ".join(labels)


def _as_returns(returns: Any, name: str = "returns") -> tuple[np.ndarray, pd.DatetimeIndex | None]:
    """Validate simple returns: finite or NaN, and not below -100 %."""
    values, index = _as_values(returns, name)
    with np.errstate(invalid="ignore"):
        low = values < -1.0
    if low.any():
        raise ValueError(f"{name}: simple returns below -1 (-100 %) at {_where(low, index)}; "
                         "is this a price or equity series? use returns_from_equity()")
    return values, index


def _ppy(periods_per_year: PeriodsPerYear) -> float:
    if isinstance(periods_per_year, str):
        if periods_per_year not in ANNUALIZATION_FACTORS:
            raise ValueError(f"unknown period {periods_per_year!r}; "
                             f"options are: {sorted(ANNUALIZATION_FACTORS)}")
        return float(ANNUALIZATION_FACTORS[periods_per_year])
    ppy = float(periods_per_year)
    if isinstance(periods_per_year, bool) or not (math.isfinite(ppy) and ppy > 0):
        raise ValueError(f"periods_per_year must be a positive number, got {periods_per_year!r}")
    return ppy


def periodic_rate(annual_rate: float, periods_per_year: PeriodsPerYear = 252) -> float:
    """Per-period rate equivalent to an annual rate: ``(1 + annual) ** (1 / ppy) - 1``."""
    rate = float(annual_rate)
    if not (math.isfinite(rate) and rate > -1.0):
        raise ValueError(f"an annual rate must be finite and > -1, got {annual_rate!r}")
    return (1.0 + rate) ** (1.0 / _ppy(periods_per_year)) - 1.0


def _n_obs(values: np.ndarray) -> int:
    return int(np.count_nonzero(~np.isnan(values)))


def _std(values: np.ndarray) -> float:
    """``nanstd(ddof=1)``, exactly 0 for constant input (no 1e-18 residue; as empyrical)."""
    present = values[~np.isnan(values)]
    if present.size < 2:
        return math.nan
    if present.max() == present.min():
        return 0.0
    return float(np.std(present, ddof=1))


def _ratio(numerator: float, denominator: float) -> float:
    if not (denominator > 0) or not math.isfinite(numerator):
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = numerator / denominator
    return float(out) if math.isfinite(out) else math.nan


def returns_from_equity(equity: Any) -> pd.Series | np.ndarray:
    """Simple returns of an equity (or price) curve: ``r[t] = V[t] / V[t-1] - 1``.

    ``N`` values give ``N - 1`` returns (a Series keeps ``index[1:]``), so ``V[0]`` becomes the
    starting value that :func:`max_drawdown` prepends. Values must be finite and > 0.
    """
    values, _ = _as_values(equity, "equity")
    bad = ~(values > 0)
    if bad.any():
        raise ValueError(f"equity must be finite and > 0; bad values at positions "
                         f"{np.flatnonzero(bad)[:5].tolist()}")
    out = values[1:] / values[:-1] - 1.0
    if isinstance(equity, pd.Series):
        return pd.Series(out, index=equity.index[1:], name=equity.name)
    return out


# --------------------------------------------------------------------------------------------
# return, risk and risk-adjusted metrics
# --------------------------------------------------------------------------------------------
