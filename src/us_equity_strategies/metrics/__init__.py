"""Performance metrics of a periodic return series, with empyrical's definitions.

Inputs are **simple, non-cumulative** periodic returns (``r[t] = V[t] / V[t-1] - 1``) as a
:class:`pandas.Series` or a 1-d array. Prices or equity curves are never detected and converted
implicitly: call :func:`returns_from_equity` first. A tz-aware ``DatetimeIndex`` is converted to
naive New York dates once, in :func:`_as_returns`; the index must be strictly increasing.

Conventions (conventions.md §0 item 10 and §4; all numbers geometric, count-based)
---------------------------------------------------------------------------------
* ``periods_per_year`` (``ppy``) is a number or a key of :data:`ANNUALIZATION_FACTORS`.
* ``risk_free`` and ``required_return`` are **annual** rates, converted inside to a per-period
  rate ``(1 + rate) ** (1 / ppy) - 1`` (:func:`periodic_rate`); empyrical takes per-period rates.
* Missing values (NaN) follow empyrical: compounding metrics (:func:`total_return`,
  :func:`cagr`, drawdowns) treat a NaN as a flat period (return 0) that still counts in ``N``;
  moment metrics (volatility, Sharpe, Sortino, skew, ...) skip NaNs (``nanmean``/``nanstd``).
* Annualised and dispersion metrics are NaN with fewer than 2 non-NaN observations (empyrical
  also returns NaN there, except ``annual_return``/``downside_risk`` on one observation).
* Ratios are NaN, never ``±inf``, when the denominator is 0 (empyrical gives ``±inf`` for a
  constant non-zero series in Sharpe and for a series without losses in Sortino).
* :func:`summary` reports ``periods_per_year``, ``risk_free_annual`` and ``compounding`` beside
  every number. :func:`reference_summary` reproduces the producer's research backtests
  (calendar years, ddof 0) and exists only to compare with archived reference numbers.
"""

from __future__ import annotations

from ._base import (
    ANNUALIZATION_FACTORS,
    DrawdownInfo,
    periodic_rate,
    returns_from_equity,
)
from ._exposure import (
    benchmark_relative_return,
    exposure_by_role,
    information_ratio,
    market_exposure,
    time_in_market,
    tracking_error,
    turnover_per_year,
)
from ._returns import (
    annual_volatility,
    cagr,
    calmar_ratio,
    downside_risk,
    drawdown_details,
    excess_kurtosis,
    hit_rate,
    max_drawdown,
    sharpe_ratio,
    skew,
    sortino_ratio,
    total_return,
)
from ._summary import (
    reference_summary,
    summary,
    summary_frame,
)

__all__ = [
    "ANNUALIZATION_FACTORS",
    "DrawdownInfo",
    "annual_volatility",
    "benchmark_relative_return",
    "cagr",
    "calmar_ratio",
    "downside_risk",
    "drawdown_details",
    "excess_kurtosis",
    "exposure_by_role",
    "hit_rate",
    "information_ratio",
    "market_exposure",
    "max_drawdown",
    "periodic_rate",
    "reference_summary",
    "returns_from_equity",
    "sharpe_ratio",
    "skew",
    "sortino_ratio",
    "summary",
    "summary_frame",
    "time_in_market",
    "total_return",
    "tracking_error",
    "turnover_per_year",
]
