"""Input validation and scalar helpers shared by the indicator modules.

Private: the public API is :mod:`us_equity_strategies.indicators`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _as_float_series(close: pd.Series) -> pd.Series:
    """Return a new float64 Series with the same index and name (input untouched)."""
    if not isinstance(close, pd.Series):
        raise TypeError(f"close must be a pandas Series, got {type(close).__name__}")
    values = close.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    return pd.Series(values, index=close.index, name=close.name, copy=False)


def _check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _last_float(series: pd.Series) -> float:
    return float(series.iloc[-1]) if len(series) else math.nan
