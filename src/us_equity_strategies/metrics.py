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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .contract import Role

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
