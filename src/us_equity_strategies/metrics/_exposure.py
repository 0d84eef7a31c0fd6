"""Turnover, exposure and benchmark-relative metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..contract import Role
from ._base import (
    PeriodsPerYear,
    _as_returns,
    _as_values,
    _n_obs,
    _ppy,
    _ratio,
    _std,
)
from ._returns import (
    cagr,
)


def turnover_per_year(turnover: Any, *, periods_per_year: PeriodsPerYear = 252) -> float:
    """``sum(turnover) / (N / ppy)`` for per-period turnover ``1/2 * sum_i |w_i[t] - w_i[t-1]|``.

    ``N = len(turnover)``; NaN periods count as 0 turnover.

    Notes
    -----
    Turnover as in features.md §7.1, but with count-based years like :func:`cagr`; the
    reference pipeline divides by calendar years (:func:`reference_summary`).
    """
    t, _ = _as_values(turnover, "turnover")
    with np.errstate(invalid="ignore"):
        negative = t < 0
    if negative.any():
        raise ValueError(f"turnover must be >= 0; negative at positions "
                         f"{np.flatnonzero(negative)[:5].tolist()}")
    if _n_obs(t) < 2:
        return math.nan
    return float(np.nansum(t)) * _ppy(periods_per_year) / t.size


def time_in_market(exposure: Any, *, threshold: float = 0.0) -> float:
    """Share of non-NaN periods with gross exposure ``|e[t]| > threshold`` (NaN if none).

    ``exposure`` is the per-period market exposure, e.g. :func:`market_exposure`.
    """
    e, _ = _as_values(exposure, "exposure")
    e = e[~np.isnan(e)]
    return float(np.mean(np.abs(e) > threshold)) if e.size else math.nan


def _role_columns(weights: pd.DataFrame, roles: Mapping[str, str | Role]) -> dict[Role, list]:
    if not isinstance(weights, pd.DataFrame):
        raise TypeError(f"weights must be a DataFrame (periods x symbols), "
                        f"got {type(weights).__name__}")
    missing = [c for c in weights.columns if c not in roles]
    if missing:
        raise ValueError(f"weights columns without a role in roles: {missing[:10]}")
    by_role: dict[Role, list] = {role: [] for role in Role}
    for column in weights.columns:
        try:
            by_role[Role(roles[column])].append(column)
        except ValueError as exc:
            raise ValueError(f"roles[{column!r}] = {roles[column]!r} is not one of "
                             f"{[r.value for r in Role]}") from exc
    return by_role


def _role_sum(weights: pd.DataFrame, columns: list) -> np.ndarray:
    block = weights[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nansum(block, axis=1) if columns else np.zeros(len(weights))


def market_exposure(weights: pd.DataFrame, roles: Mapping[str, str | Role]) -> pd.Series:
    """Per-period sum of the weights of every role except ``safe_haven`` (NaN weights = 0)."""
    by_role = _role_columns(weights, roles)
    cols = [c for role, cs in by_role.items() if role is not Role.SAFE_HAVEN for c in cs]
    return pd.Series(_role_sum(weights, cols), index=weights.index, name="market_exposure")


def exposure_by_role(weights: pd.DataFrame, roles: Mapping[str, str | Role]) -> dict[str, float]:
    """Mean over periods of the summed weight per role, plus ``cash = mean(1 - sum(w))``.

    ``weights`` holds one row per period and one column per symbol; ``roles`` maps every column
    to a :class:`~us_equity_strategies.contract.Role` (value). NaN weights count as 0. Keys:
    ``risk``, ``safe_haven``, ``income``, ``cash``; all NaN for an empty history.
    """
    by_role = _role_columns(weights, roles)
    out = {role.value: _role_sum(weights, cols) for role, cols in by_role.items()}
    out["cash"] = 1.0 - sum(out.values())
    return {k: float(v.mean()) if len(weights) else math.nan for k, v in out.items()}


# --------------------------------------------------------------------------------------------
# benchmark-relative
# --------------------------------------------------------------------------------------------
def _aligned(returns: Any, benchmark: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both series on their common dates (inner join), or by position when either has none."""
    r, r_idx = _as_returns(returns)
    b, b_idx = _as_returns(benchmark, "benchmark")
    if r_idx is not None and b_idx is not None:
        common = r_idx.intersection(b_idx)
        return r[r_idx.get_indexer(common)], b[b_idx.get_indexer(common)]
    if r.size != b.size:
        raise ValueError(f"returns ({r.size}) and benchmark ({b.size}) have no dates to align "
                         "on and different lengths")
    return r, b


def benchmark_relative_return(returns: Any, benchmark: Any, *,
                              periods_per_year: PeriodsPerYear = 252) -> float:
    """``cagr(r) - cagr(b)`` on the common dates (annualised geometric out-performance).

    Notes
    -----
    empyrical ``annual_return`` of each series; dated Series align on the intersection of
    their dates, undated inputs by position (equal lengths required).
    """
    r, b = _aligned(returns, benchmark)
    return cagr(r, periods_per_year=periods_per_year) - cagr(b, periods_per_year=periods_per_year)


def tracking_error(returns: Any, benchmark: Any, *,
                   periods_per_year: PeriodsPerYear = 252) -> float:
    """``std(r - b, ddof=1) * sqrt(ppy)`` on the common dates (NaN differences skipped).

    Notes
    -----
    empyrical ``annual_volatility`` of the active return ``r - b``.
    """
    r, b = _aligned(returns, benchmark)
    return _std(r - b) * math.sqrt(_ppy(periods_per_year))


def information_ratio(returns: Any, benchmark: Any, *,
                      periods_per_year: PeriodsPerYear = 252) -> float:
    """``mean(r - b) / std(r - b, ddof=1) * sqrt(ppy)``: the Sharpe ratio of the active return.

    NaN when the tracking error is 0.

    Notes
    -----
    empyrical ``excess_sharpe``, annualised with ``sqrt(ppy)``.
    """
    r, b = _aligned(returns, benchmark)
    active = r - b
    if _n_obs(active) < 2:
        return math.nan
    return _ratio(float(np.nanmean(active)), _std(active)) * math.sqrt(_ppy(periods_per_year))


# --------------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------------
