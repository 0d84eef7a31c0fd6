"""Vectorised stock features for many symbols over all dates (spec/features.md §3).

A backtester computes :func:`feature_panel` once per run and reads it per rebalance date with
:func:`features_at`; snapshot builders call the same two functions, so both paths produce the
same numbers.

Conventions (features.md §1)
----------------------------
* Input is the normalised long price table of :func:`us_equity_strategies.prices.normalize_prices`:
  ``date, symbol, close[, volume]``, sorted by (symbol, date), unique, closes finite and > 0.
* Offsets count **each symbol's own rows**, not exchange days (§1.1). ``C[L-k]`` is the close
  ``k`` rows before row ``L`` of the same symbol; ``history_days`` is the 1-based row number.
* "Rows needed" (§3) is the minimum ``history_days`` for a value; below it the feature is NaN.
* Every value at a row uses only that row and earlier rows of the same symbol. Rolling windows
  restart at every symbol (a block-clipped window indexer), so a symbol's values are bitwise
  identical to a per-symbol pandas ``Series.rolling`` and never depend on other symbols or on
  later rows (truncation invariance).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from .errors import PriceHistoryError
from .indicators import TRADING_DAYS_PER_YEAR, drawdown_max

__all__ = ["BASE_COLUMNS", "ROWS_NEEDED", "SUPPORTED_FEATURES", "feature_panel", "features_at",
           "relative_to"]

#: Columns every panel carries before the requested features.
BASE_COLUMNS: tuple[str, ...] = ("date", "symbol", "close", "volume", "history_days")

#: Minimum ``history_days`` for a non-NaN value (features.md §3, profiles.md §2.9).
#: ``maxdd_126`` needs 126 rows in the window variant and 251 in the rolling variant.
ROWS_NEEDED: dict[str, int] = {
    "adv20_usd": 20, "mom_6_1": 148, "mom_12_1": 274, "mom_3m": 64, "mom_6m": 127,
    "sma20_gap": 20, "sma50_gap": 50, "sma200_gap": 200, "ma50_over_ma200": 200, "vol_63": 64,
    "maxdd_126": 126, "breakout_252": 252, "high_252_gap": 252, "dist_63_high": 63,
    "dist_126_high": 126, "rebound_20": 21,
    # dynamic_mega_leveraged_pullback underlying features (profiles.md §2.9)
    "mom_20": 21, "mom_63": 64, "mom_126": 127, "mom_252": 253, "sma_50_gap": 50,
    "sma_200_gap": 200, "high_63_gap": 63, "low_20_gap": 20,
}
SUPPORTED_FEATURES: tuple[str, ...] = tuple(ROWS_NEEDED)

_MAXDD_ROLLING_ROWS = 251
_SQRT_252 = math.sqrt(TRADING_DAYS_PER_YEAR)


def _rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b - 1`` with one allocation (fresh large arrays are costly page-fault wise)."""
    out = np.divide(a, b)
    out -= 1.0
    return out


class _BlockWindow(BaseIndexer):
    """Trailing window of ``window_size`` rows clipped at the first row of the row's symbol.

    At a symbol's first row the window does not overlap the previous one, which makes pandas
    reset its running sums there: results equal a per-symbol ``rolling(window_size)``.
    """

    def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None,
                          step=None):
        end = self.end  # = row + 1, shared by all windows of one panel
        if end.size != num_values:
            raise ValueError(f"window built for {end.size} rows, got {num_values}")
        if getattr(self, "_start", None) is None:  # reused by every op with this window
            self._start = np.maximum(end - self.window_size, self.block_start)
        return self._start, end


class _Calc:
    """Per-row intermediate results for one panel, cached by name."""

    def __init__(self, close: np.ndarray, volume: np.ndarray, pos: np.ndarray) -> None:
        self.close = close
        self.volume = volume
        self.pos = pos  # 0-based row number inside the symbol
        self.end = np.arange(1, close.size + 1, dtype=np.int64)
        self.block_start = self.end - 1 - pos
        self._cache: dict[tuple, np.ndarray] = {}
        self._indexers: dict[int, _BlockWindow] = {}

    def _cached(self, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def lag(self, k: int) -> np.ndarray:
        """``C[i-k]`` of the same symbol, NaN when the symbol has fewer than ``k+1`` rows."""
        def make() -> np.ndarray:
            out = np.full(self.close.size, np.nan)
            out[k:] = self.close[:-k]
            out[self.pos < k] = np.nan
            return out
        return self._cached(("lag", k), make)

    def ret(self, k: int) -> np.ndarray:
        """``C[i] / C[i-k] - 1``."""
        return self._cached(("ret", k), lambda: _rel(self.close, self.lag(k)))

    def rolling(self, values_key: str, window: int, how: str, min_periods: int | None = None,
                ) -> np.ndarray:
        """Per-symbol trailing ``how`` (mean/max/min/std0) over ``window`` rows."""
        mp = window if min_periods is None else min_periods

        def make() -> np.ndarray:
            series = pd.Series(self.source(values_key), copy=False)
            if window not in self._indexers:
                self._indexers[window] = _BlockWindow(
                    window_size=window, block_start=self.block_start, end=self.end)
            indexer = self._indexers[window]
            roll = series.rolling(indexer, min_periods=mp)
            result = roll.std(ddof=0) if how == "std0" else getattr(roll, how)()
            return result.to_numpy(dtype=np.float64)
        return self._cached(("roll", values_key, window, how, mp), make)

    def source(self, key: str) -> np.ndarray:
        if key == "close":
            return self.close
        if key == "dollar":
            return self._cached(("dollar",), lambda: self.close * self.volume)
        if key == "r1":
            return self.ret(1)
        if key == "dd_from_high_126":
            return self._cached(("dd126",),
                                lambda: _rel(self.close, self.rolling("close", 126, "max")))
        raise KeyError(key)

    def gap_to(self, how: str, window: int) -> np.ndarray:
        """``C[i] / rolling_how(C, window)[i] - 1``."""
        return _rel(self.close, self.rolling("close", window, how))


def _adv20(calc: _Calc, adv_variant: str) -> np.ndarray:
    if adv_variant == "strict":  # T/M: NaN if any of the 20 products is NaN
        return calc.rolling("dollar", 20, "mean")
    # R: NaN-skipping mean, NaN only below 20 rows or when all 20 products are NaN
    out = calc.rolling("dollar", 20, "mean", min_periods=1).copy()
    out[calc.pos < 19] = np.nan
    return out


def _maxdd_window(calc: _Calc) -> np.ndarray:
    # drawdown_max looks only inside each 126-row window, so running it over the concatenated
    # symbols is exact wherever the window lies inside one symbol (pos >= 125).
    out = drawdown_max(pd.Series(calc.close, copy=False), 126).to_numpy(dtype=np.float64).copy()
    out[calc.pos < 125] = np.nan
    return out


def _maxdd_rolling(calc: _Calc) -> np.ndarray:
    return calc.rolling("dd_from_high_126", 126, "min")


_FORMULAS: dict[str, Callable[[_Calc], np.ndarray]] = {
    "mom_6_1": lambda c: _rel(c.lag(21), c.lag(147)),
    "mom_12_1": lambda c: _rel(c.lag(21), c.lag(273)),
    "mom_3m": lambda c: c.ret(63),
    "mom_6m": lambda c: c.ret(126),
    "sma20_gap": lambda c: c.gap_to("mean", 20),
    "sma50_gap": lambda c: c.gap_to("mean", 50),
    "sma200_gap": lambda c: c.gap_to("mean", 200),
    "ma50_over_ma200": lambda c: _rel(c.rolling("close", 50, "mean"),
                                      c.rolling("close", 200, "mean")),
    "vol_63": lambda c: c.rolling("r1", 63, "std0") * _SQRT_252,
    "breakout_252": lambda c: c.gap_to("max", 252),
    "high_252_gap": lambda c: c.gap_to("max", 252),
    "dist_63_high": lambda c: c.gap_to("max", 63),
    "dist_126_high": lambda c: c.gap_to("max", 126),
    "rebound_20": lambda c: c.ret(20),
    "mom_20": lambda c: c.ret(20),
    "mom_63": lambda c: c.ret(63),
    "mom_126": lambda c: c.ret(126),
    "mom_252": lambda c: c.ret(252),
    "sma_50_gap": lambda c: c.gap_to("mean", 50),
    "sma_200_gap": lambda c: c.gap_to("mean", 200),
    "high_63_gap": lambda c: c.gap_to("max", 63),
    "low_20_gap": lambda c: c.gap_to("min", 20),
}


def _check_features(features: Sequence[str]) -> list[str]:
    if isinstance(features, str):
        raise TypeError("features must be a sequence of feature names, not a single string")
    names = list(dict.fromkeys(features))
    unknown = [f for f in names if f not in ROWS_NEEDED]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; supported features: "
                         f"{', '.join(SUPPORTED_FEATURES)}")
    return names


def _block_positions(prices: pd.DataFrame) -> np.ndarray:
    """0-based row number within each symbol; validates the (symbol, date) sort order."""
    codes, uniques = pd.factorize(prices["symbol"], sort=False)
    if (codes < 0).any():
        raise PriceHistoryError("prices: missing symbols; run normalize_prices first")
    uniq = np.asarray(uniques, dtype=object)
    dates = prices["date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    same = codes[1:] == codes[:-1]
    if (np.diff(codes) < 0).any() or (uniq[1:] <= uniq[:-1]).any() or \
            (np.diff(dates)[same] <= 0).any():
        raise PriceHistoryError("prices must be sorted by (symbol, date) with unique pairs; "
                                "run normalize_prices first")
    first = np.ones(codes.size, dtype=bool)
    first[1:] = ~same
    starts = np.flatnonzero(first)
    return np.arange(codes.size, dtype=np.int64) - np.repeat(starts, np.diff(np.r_[starts,
                                                                                   codes.size]))


def feature_panel(
    prices: pd.DataFrame,
    features: Sequence[str],
    *,
    adv_variant: Literal["skipna", "strict"] = "strict",
    maxdd_variant: Literal["window", "rolling"] = "window",
) -> pd.DataFrame:
    """Compute stock features at every row of a long price table.

    Parameters
    ----------
    prices : pandas.DataFrame
        Normalised long table ``date, symbol, close[, volume]`` sorted by (symbol, date)
        (see :func:`~us_equity_strategies.prices.normalize_prices`); other columns are ignored.
        A missing ``volume`` column counts as all-NaN volume.
    features : sequence of str
        Names from :data:`SUPPORTED_FEATURES` (features.md §3 and profiles.md §2.9).
    adv_variant : {"strict", "skipna"}
        ``adv20_usd`` = mean of ``C·V`` over the last 20 rows. ``"strict"`` (tech, mega): NaN if
        any product is NaN. ``"skipna"`` (Russell): NaN-skipping mean, NaN only below 20 rows or
        when all 20 products are NaN.
    maxdd_variant : {"window", "rolling"}
        ``maxdd_126``: ``"window"`` (Russell, mega) = worst drawdown inside the last 126 closes
        with the peak restricted to the window (126 rows needed); ``"rolling"`` (tech) =
        ``min(D[L-125..L])`` with ``D[i] = C[i] / max(C[i-125..i]) - 1`` (251 rows needed).

    Returns
    -------
    pandas.DataFrame
        Same index and row order as ``prices``; columns :data:`BASE_COLUMNS` then the features
        in the order requested. ``history_days`` is the 1-based row number of the symbol.

    Raises
    ------
    ValueError
        Unknown feature name (the message lists the supported names) or variant.
    PriceHistoryError
        Missing columns, unsorted or duplicated rows, or closes that are not finite and > 0.
    """
    names = _check_features(features)
    if adv_variant not in ("skipna", "strict"):
        raise ValueError(f"adv_variant must be 'skipna' or 'strict', got {adv_variant!r}")
    if maxdd_variant not in ("window", "rolling"):
        raise ValueError(f"maxdd_variant must be 'window' or 'rolling', got {maxdd_variant!r}")
    missing = [c for c in ("date", "symbol", "close") if c not in prices.columns]
    if missing:
        raise PriceHistoryError(f"prices: missing required columns {missing}")
    close = prices["close"].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    if not (close > 0).all() or not np.isfinite(close).all():
        bad = np.flatnonzero(~((close > 0) & np.isfinite(close)))[:8].tolist()
        raise PriceHistoryError(f"prices: closes must be finite and > 0 (rows {bad})")
    if "volume" in prices.columns:
        volume = prices["volume"].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        volume = np.full(close.size, np.nan)
    pos = _block_positions(prices) if len(prices) else np.zeros(0, dtype=np.int64)
    calc = _Calc(close, volume, pos)

    # explicit dtypes: pandas would otherwise re-infer the symbol dtype (object vs str)
    columns: dict[str, object] = {
        "date": pd.Series(prices["date"].to_numpy(), dtype=prices["date"].dtype),
        "symbol": pd.Series(prices["symbol"].to_numpy(), dtype=prices["symbol"].dtype),
        "close": close, "volume": volume, "history_days": pos + 1,
    }
    for name in names:
        if name == "adv20_usd":
            columns[name] = _adv20(calc, adv_variant)
        elif name == "maxdd_126":
            columns[name] = (_maxdd_window if maxdd_variant == "window" else _maxdd_rolling)(calc)
        else:
            columns[name] = _FORMULAS[name](calc)
    # copy=False: the arrays are fresh (close/volume copied above), and skipping the 2-D
    # consolidation saves a full copy of the panel
    return pd.DataFrame(columns, copy=False).set_axis(prices.index, axis=0)


def _timestamp(as_of: object) -> np.datetime64:
    if isinstance(as_of, str):
        raise TypeError("as_of must be a date/datetime/Timestamp, not a string")
    if isinstance(as_of, dt.datetime) and as_of.tzinfo is not None:
        as_of = as_of.replace(tzinfo=None)
    return np.datetime64(pd.Timestamp(as_of).normalize().to_datetime64(), "ns")


def features_at(
    panel: pd.DataFrame, as_of: dt.date, symbols: Sequence[str] | None = None
) -> pd.DataFrame:
    """Each symbol's panel row at its last date on or before ``as_of`` (features.md §1.3).

    There is no staleness check: a weeks-old last row is returned as it is.

    Parameters
    ----------
    panel : pandas.DataFrame
        Output of :func:`feature_panel` (sorted by (symbol, date), with ``history_days``).
    as_of : datetime.date
        Cut-off date (inclusive); ``datetime``/``Timestamp`` are reduced to their date.
    symbols : sequence of str, optional
        If given, exactly these symbols are returned: symbols without a row ``<= as_of`` get
        ``history_days = 0`` and NaN/NaT everywhere else (§1.6); panel symbols not listed
        are left out.

    Returns
    -------
    pandas.DataFrame
        One row per symbol, sorted by symbol, with a fresh ``RangeIndex``.
    """
    hist = panel["history_days"].to_numpy()
    starts = np.flatnonzero(hist == 1)
    if len(hist) and (starts.size == 0 or starts[0] != 0):
        raise ValueError("panel must hold every symbol's rows from its first one "
                         "(a feature_panel output, possibly cut at a date)")
    dates = panel["date"].to_numpy()
    cutoff = _timestamp(as_of).astype(dates.dtype)
    lo = starts.copy()
    hi = np.append(starts[1:], len(hist)) if starts.size else starts.copy()
    # vectorised binary search in every symbol block at once (dates ascend inside a block):
    # afterwards lo = first row of the block dated after as_of
    while (open_ := lo < hi).any():
        mid = np.minimum((lo + hi) // 2, max(len(hist) - 1, 0))
        later = dates[mid] > cutoff
        lo = np.where(open_ & ~later, mid + 1, lo)
        hi = np.where(open_ & later, mid, hi)
    rows = (lo - 1)[lo > starts]
    out = panel.iloc[rows].reset_index(drop=True)
    if symbols is None:
        return out
    wanted = sorted(dict.fromkeys(str(s) for s in symbols))
    out = out.set_index("symbol").reindex(wanted)
    out["history_days"] = out["history_days"].fillna(0).astype(np.int64)
    out = out.rename_axis("symbol").reset_index()
    return out[list(panel.columns)]


def relative_to(frame_at: pd.DataFrame, column: str, benchmark_symbol: str) -> pd.Series:
    """``frame_at[column]`` minus the benchmark row's value (e.g. ``rel_mom_6m_vs_benchmark``).

    Parameters
    ----------
    frame_at : pandas.DataFrame
        One row per symbol, e.g. from :func:`features_at`.
    column : str
        Feature column, e.g. ``"mom_6m"``.
    benchmark_symbol : str
        Benchmark row's symbol, e.g. ``"QQQ"``.

    Returns
    -------
    pandas.Series
        Float series aligned with ``frame_at`` (the benchmark's own value is 0 unless NaN),
        named ``rel_<column>_vs_<benchmark>``; NaN everywhere if the benchmark row is missing.

    Raises
    ------
    ValueError
        If the benchmark symbol appears in more than one row.
    """
    rows = frame_at.index[frame_at["symbol"] == benchmark_symbol]
    if len(rows) > 1:
        raise ValueError(f"benchmark {benchmark_symbol!r} appears in {len(rows)} rows")
    values = pd.to_numeric(frame_at[column], errors="coerce").astype(np.float64)
    base = float(values.loc[rows[0]]) if len(rows) else math.nan
    return (values - base).rename(f"rel_{column}_vs_{benchmark_symbol}")
