"""Return, risk, drawdown and distribution metrics (empyrical definitions)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._base import (
    DrawdownInfo,
    PeriodsPerYear,
    _as_returns,
    _n_obs,
    _ppy,
    _ratio,
    _std,
    periodic_rate,
)


def total_return(returns: Any) -> float:
    """Compounded return ``prod(1 + r) - 1``; NaN without any non-NaN observation.

    Notes
    -----
    empyrical ``cum_returns_final``: NaN periods are flat (return 0).
    """
    r, _ = _as_returns(returns)
    return float(np.nanprod(1.0 + r) - 1.0) if _n_obs(r) else math.nan


def cagr(returns: Any, *, periods_per_year: PeriodsPerYear = 252) -> float:
    """Count-based compound annual growth rate.

    ``CAGR = prod(1 + r) ** (ppy / N) - 1`` with ``N = len(returns)`` (NaN periods are flat and
    counted).

    Notes
    -----
    empyrical ``annual_return``: years = ``N / ppy``, not calendar days.
    """
    r, _ = _as_returns(returns)
    if _n_obs(r) < 2:
        return math.nan
    growth = float(np.nanprod(1.0 + r))
    return growth ** (_ppy(periods_per_year) / r.size) - 1.0


def annual_volatility(returns: Any, *, periods_per_year: PeriodsPerYear = 252) -> float:
    """Annualised volatility ``nanstd(r, ddof=1) * sqrt(ppy)``.

    Notes
    -----
    empyrical ``annual_volatility`` (``alpha = 2``).
    """
    r, _ = _as_returns(returns)
    return _std(r) * math.sqrt(_ppy(periods_per_year))


def sharpe_ratio(returns: Any, *, periods_per_year: PeriodsPerYear = 252,
                 risk_free: float = 0.0) -> float:
    """Sharpe ratio ``mean(r - rf_p) / std(r - rf_p, ddof=1) * sqrt(ppy)``.

    ``rf_p = periodic_rate(risk_free, ppy)``; NaN when the std is 0.

    Notes
    -----
    empyrical ``sharpe_ratio``, but ``risk_free`` is annual (empyrical: per period).
    """
    r, _ = _as_returns(returns)
    adj = r - periodic_rate(risk_free, periods_per_year)
    if _n_obs(adj) < 2:
        return math.nan
    return _ratio(float(np.nanmean(adj)), _std(adj)) * math.sqrt(_ppy(periods_per_year))


def downside_risk(returns: Any, *, periods_per_year: PeriodsPerYear = 252,
                  required_return: float = 0.0) -> float:
    """Downside deviation ``sqrt(nanmean(min(r - mar_p, 0) ** 2)) * sqrt(ppy)``.

    ``mar_p = periodic_rate(required_return, ppy)``.

    Notes
    -----
    empyrical ``downside_risk``: the mean runs over **all** non-NaN periods (periods above the
    target contribute 0), not the std of the losing periods.
    """
    r, _ = _as_returns(returns)
    diff = r - periodic_rate(required_return, periods_per_year)
    if _n_obs(diff) < 2:
        return math.nan
    below = np.clip(diff, -np.inf, 0.0)
    return float(np.sqrt(np.nanmean(below * below)) * math.sqrt(_ppy(periods_per_year)))


def sortino_ratio(returns: Any, *, periods_per_year: PeriodsPerYear = 252,
                  required_return: float = 0.0) -> float:
    """Sortino ratio ``nanmean(r - mar_p) * ppy / downside_risk(r, mar)``.

    NaN when the downside risk is 0 (empyrical: ``±inf``).

    Notes
    -----
    empyrical ``sortino_ratio``, but ``required_return`` is annual (empyrical: per period).
    """
    r, _ = _as_returns(returns)
    ppy = _ppy(periods_per_year)
    diff = r - periodic_rate(required_return, ppy)
    if _n_obs(diff) < 2:
        return math.nan
    dd = downside_risk(r, periods_per_year=ppy, required_return=required_return)
    return _ratio(float(np.nanmean(diff)) * ppy, dd)


# --------------------------------------------------------------------------------------------
# drawdowns
# --------------------------------------------------------------------------------------------
def _wealth(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equity with the starting value 1 prepended (NaN = flat) and its running maximum."""
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + np.nan_to_num(r, nan=0.0))))
    return wealth, np.maximum.accumulate(wealth)


def max_drawdown(returns: Any) -> float:
    """``min((W - cummax W) / cummax W)`` over the equity ``W`` with the starting value prepended.

    In ``[-1, 0]``; NaN without observations.

    Notes
    -----
    empyrical ``max_drawdown``: the prepended starting value makes a first-period loss count.
    """
    r, _ = _as_returns(returns)
    if not _n_obs(r):
        return math.nan
    wealth, peak = _wealth(r)
    return float(np.min((wealth - peak) / peak))


def drawdown_details(returns: Any) -> DrawdownInfo:
    """The maximum drawdown with its peak, trough and recovery dates.

    The trough is the first period with the minimum drawdown, the peak the last period before it
    at the running maximum, the recovery the first later period with ``W >= W[peak]``.
    """
    r, index = _as_returns(returns)
    if not _n_obs(r):
        return DrawdownInfo(math.nan, None, None, None, 0, None)
    wealth, peak = _wealth(r)
    dd = (wealth - peak) / peak
    trough = int(np.argmin(dd))  # position in wealth: 0 = starting value, k = after r[k - 1]
    if dd[trough] >= 0:
        return DrawdownInfo(0.0, None, None, None, 0, 0 if index is not None else None)
    top = int(np.flatnonzero(wealth[: trough + 1] == peak[trough])[-1])
    later = np.flatnonzero(wealth[trough + 1:] >= wealth[top])
    recovered = trough + 1 + int(later[0]) if later.size else None
    end = recovered if recovered is not None else r.size

    def date(pos: int | None) -> pd.Timestamp | None:
        return index[pos - 1] if index is not None and pos else None

    days = None
    if index is not None:
        days = int((index[end - 1] - index[max(top, 1) - 1]).days)
    return DrawdownInfo(float(dd[trough]), date(top), date(trough), date(recovered),
                        end - top, days)


def calmar_ratio(returns: Any, *, periods_per_year: PeriodsPerYear = 252) -> float:
    """Calmar ratio ``cagr / |max_drawdown|``; NaN without a drawdown or for an infinite result.

    Notes
    -----
    empyrical ``calmar_ratio`` (count-based CAGR).
    """
    mdd = max_drawdown(returns)
    if not mdd < 0:
        return math.nan
    return _ratio(cagr(returns, periods_per_year=periods_per_year), abs(mdd))


# --------------------------------------------------------------------------------------------
# distribution and activity
# --------------------------------------------------------------------------------------------
def _moments(returns: Any, minimum: int) -> tuple[int, float, float, float] | None:
    r, _ = _as_returns(returns)
    x = r[~np.isnan(r)]
    if x.size < minimum or x.max() == x.min():
        return None
    d = x - x.mean()
    d = d / np.max(np.abs(d))  # skew and kurtosis are scale-free; avoids m2 underflow
    return x.size, float(np.mean(d**2)), float(np.mean(d**3)), float(np.mean(d**4))


def skew(returns: Any) -> float:
    """Bias-corrected sample skewness ``G1 = sqrt(n(n-1)) / (n-2) * m3 / m2**1.5``.

    ``m_k`` are central moments with divisor ``n`` over the non-NaN values; NaN for ``n < 3``
    or a constant series.

    Notes
    -----
    Adjusted Fisher-Pearson coefficient, the convention of pandas ``Series.skew()``.
    """
    m = _moments(returns, 3)
    if m is None:
        return math.nan
    n, m2, m3, _ = m
    return math.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5


def excess_kurtosis(returns: Any) -> float:
    """Bias-corrected excess kurtosis ``G2 = ((n+1) g2 + 6) (n-1) / ((n-2)(n-3))``.

    ``g2 = m4 / m2**2 - 3`` (0 for a normal distribution); NaN for ``n < 4`` or a constant
    series.

    Notes
    -----
    The bias-corrected convention of pandas ``Series.kurt()``.
    """
    m = _moments(returns, 4)
    if m is None:
        return math.nan
    n, m2, _, m4 = m
    g2 = m4 / m2**2 - 3.0
    return ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))


def hit_rate(returns: Any, *, include_zeros: bool = False) -> float:
    """Share of periods with ``r > 0``.

    By default the denominator is the non-NaN periods with ``r != 0`` (flat periods, e.g. out
    of the market, are neither hits nor misses, as quantstats ``win_rate``); with
    ``include_zeros=True`` it is all non-NaN periods. NaN when the denominator is 0.

    Notes
    -----
    Not in empyrical; the default matches quantstats ``win_rate``.
    """
    r, _ = _as_returns(returns)
    x = r[~np.isnan(r)]
    denominator = x.size if include_zeros else int(np.count_nonzero(x))
    return np.count_nonzero(x > 0) / denominator if denominator else math.nan
