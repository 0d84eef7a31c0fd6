"""One-row summaries: every number beside its conventions."""

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
    _ppy,
    _ratio,
    _where,
    periodic_rate,
)
from ._exposure import (
    _aligned,
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
    sharpe_ratio,
    skew,
    sortino_ratio,
    total_return,
)


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.strftime("%Y-%m-%d")


def summary(returns: Any, *, benchmark: Any = None, turnover: Any = None,
            weights: pd.DataFrame | None = None, roles: Mapping[str, str | Role] | None = None,
            periods_per_year: PeriodsPerYear = 252, risk_free: float = 0.0) -> dict[str, Any]:
    """Every metric of this module in one JSON-serialisable dict, beside its conventions.

    Keys: ``start``, ``end`` (ISO dates or ``None``), ``n_periods``, ``periods_per_year``,
    ``risk_free_annual`` (also Sortino's required return), ``compounding`` (``"geometric"``),
    the metrics, ``max_drawdown_{peak,trough,recovery,duration_periods,duration_days}``, NaN for
    metrics whose inputs were not given: ``turnover_per_year`` (``turnover``, same length as
    ``returns``), ``time_in_market`` and ``exposure_*`` (``weights`` with ``roles``; time in
    market uses :func:`market_exposure`), ``benchmark_*``/``relative_return``/``tracking_error``
    /``information_ratio`` (``benchmark``; ``benchmark_periods`` = common periods).
    """
    r, index = _as_returns(returns)
    ppy = _ppy(periods_per_year)
    rf = float(risk_free)
    periodic_rate(rf, ppy)  # validates the rate before any work
    dd = drawdown_details(returns)
    out: dict[str, Any] = {
        "start": _iso(index[0]) if index is not None and r.size else None,
        "end": _iso(index[-1]) if index is not None and r.size else None,
        "n_periods": int(r.size), "periods_per_year": ppy, "risk_free_annual": rf,
        "compounding": "geometric",
        "total_return": total_return(r), "cagr": cagr(r, periods_per_year=ppy),
        "annual_volatility": annual_volatility(r, periods_per_year=ppy),
        "sharpe_ratio": sharpe_ratio(r, periods_per_year=ppy, risk_free=rf),
        "sortino_ratio": sortino_ratio(r, periods_per_year=ppy, required_return=rf),
        "downside_risk": downside_risk(r, periods_per_year=ppy, required_return=rf),
        "max_drawdown": dd.max_drawdown, "max_drawdown_peak": _iso(dd.peak_date),
        "max_drawdown_trough": _iso(dd.trough_date),
        "max_drawdown_recovery": _iso(dd.recovery_date),
        "max_drawdown_duration_periods": dd.duration_periods,
        "max_drawdown_duration_days": dd.duration_days,
        "calmar_ratio": calmar_ratio(r, periods_per_year=ppy),
        "skew": skew(r), "excess_kurtosis": excess_kurtosis(r), "hit_rate": hit_rate(r),
        "turnover_per_year": math.nan, "time_in_market": math.nan,
    }
    if turnover is not None:
        if len(turnover) != r.size:
            raise ValueError(f"turnover has {len(turnover)} periods, returns {r.size}")
        out["turnover_per_year"] = turnover_per_year(turnover, periods_per_year=ppy)
    if (weights is None) != (roles is None):
        raise ValueError("weights and roles must be given together")
    exposures = dict.fromkeys([*(role.value for role in Role), "cash"], math.nan)
    if weights is not None and roles is not None:
        exposures = exposure_by_role(weights, roles)
        out["time_in_market"] = time_in_market(market_exposure(weights, roles))
    out.update({f"exposure_{k}": v for k, v in exposures.items()})
    bench = dict.fromkeys(["benchmark_total_return", "benchmark_cagr", "relative_return",
                           "tracking_error", "information_ratio"], math.nan)
    bench["benchmark_periods"] = 0
    if benchmark is not None:
        ra, ba = _aligned(returns, benchmark)
        bench.update(benchmark_total_return=total_return(ba),
                     benchmark_cagr=cagr(ba, periods_per_year=ppy),
                     relative_return=benchmark_relative_return(ra, ba, periods_per_year=ppy),
                     tracking_error=tracking_error(ra, ba, periods_per_year=ppy),
                     information_ratio=information_ratio(ra, ba, periods_per_year=ppy),
                     benchmark_periods=int(ra.size))
    out.update(bench)
    return out


def summary_frame(returns: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`summary` as a one-row DataFrame (the layout of ``summary.csv``)."""
    return pd.DataFrame([summary(returns, **kwargs)])


def reference_summary(returns: pd.Series, *, turnover: Any = None) -> dict[str, Any]:
    """The producer's research-backtest metrics, **for comparing with archived reference
    numbers only** (features.md §7.1); use :func:`summary` for anything else.

    ``equity = cumprod(1 + r)`` (no starting value prepended; the reference series starts with
    a 0 return), ``years = (last - first).days / 365.25``, ``CAGR = equity[-1] ** (1/years) - 1``,
    ``MaxDD = min(equity / cummax - 1)``, ``vol = std(r, ddof=0) * sqrt(252)``,
    ``Sharpe = mean(r) / std(r, ddof=0) * sqrt(252)`` (no risk-free rate),
    ``Calmar = CAGR / |MaxDD|``, ``turnover_per_year = sum(turnover) / years``. Ratios with a
    zero denominator are NaN (the reference had no guard). NaN returns are rejected (the
    reference fills them with 0 before this point).

    Notes
    -----
    Reference convention (``backtest_mega_cap_leader_rotation.py``): calendar years, ddof 0.
    """
    r, index = _as_returns(returns)
    if index is None:
        raise TypeError("reference_summary needs a Series with a DatetimeIndex (calendar years)")
    if np.isnan(r).any():
        raise ValueError(f"returns contain NaN at {_where(np.isnan(r), index)}; the reference "
                         "pipeline fills missing returns with 0 first")
    if r.size < 2:
        raise ValueError("reference_summary needs at least 2 returns")
    equity = np.cumprod(1.0 + r)
    years = (index[-1] - index[0]).days / 365.25
    mdd = float(np.min(equity / np.maximum.accumulate(equity) - 1.0))
    growth = float(equity[-1]) ** (1.0 / years) - 1.0 if years > 0 else math.nan
    std0 = 0.0 if r.max() == r.min() else float(np.std(r, ddof=0))
    out: dict[str, Any] = {
        "start": _iso(index[0]), "end": _iso(index[-1]), "n_periods": int(r.size),
        "years": years, "year_basis": "calendar_days/365.25", "periods_per_year": 252.0,
        "risk_free_annual": 0.0, "ddof": 0, "compounding": "geometric",
        "total_return": float(equity[-1] - 1.0), "cagr": growth, "max_drawdown": mdd,
        "annual_volatility": std0 * math.sqrt(252.0),
        "sharpe_ratio": _ratio(float(np.mean(r)), std0) * math.sqrt(252.0),
        "calmar_ratio": _ratio(growth, abs(mdd)) if mdd < 0 else math.nan,
        "turnover_per_year": math.nan,
    }
    if turnover is not None:
        t, _ = _as_values(turnover, "turnover")
        if np.isnan(t).any() or (t < 0).any():
            raise ValueError("turnover must be >= 0 and contain no NaN")
        out["turnover_per_year"] = _ratio(float(t.sum()), years)
    return out
