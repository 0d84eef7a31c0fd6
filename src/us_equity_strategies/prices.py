"""Price-history input: long table of (date, symbol, close[, open, high, low, volume])."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import PriceHistoryError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "load_prices", "normalize_prices", "truncate",
           "volume_on_close_basis"]

REQUIRED_COLUMNS = ("date", "symbol", "close")
OPTIONAL_COLUMNS = ("open", "high", "low", "volume")
_SHOWN = 8


def _rows(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    more = f" and {len(idx) - _SHOWN} more" if len(idx) > _SHOWN else ""
    return ", ".join(str(i) for i in idx[:_SHOWN]) + more


def normalize_prices(frame: pd.DataFrame, source: str = "<prices>") -> pd.DataFrame:
    """Validate and normalise a long price table; returns a new frame sorted by (symbol, date).

    Dates become naive midnight ``datetime64[ns]`` (a tz-aware column is converted to New York
    time first), symbols are upper-cased and stripped, prices float64. Duplicated
    (symbol, date) pairs, unparsable dates, and missing or non-positive closes are errors that
    name the rows (0-based, as in the input); nothing is dropped silently.
    """
    import pandas as pd

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise PriceHistoryError(
            f"{source}: missing required columns {missing}; a price history needs "
            f"{list(REQUIRED_COLUMNS)} and optionally {list(OPTIONAL_COLUMNS)}"
        )
    problems = []
    dates = frame["date"]
    try:
        parsed = pd.to_datetime(dates, errors="coerce")
    except ValueError:  # text dates with several UTC offsets: parse each as an instant
        parsed = pd.to_datetime(dates, errors="coerce", utc=True)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # also tz-aware text such as "...+00:00"
        parsed = parsed.dt.tz_convert("America/New_York").dt.tz_localize(None)
    bad_date = parsed.isna().to_numpy()
    if bad_date.any():
        problems.append(f"unparsable or missing dates in rows {_rows(bad_date)}")
    symbols = frame["symbol"].astype("string").str.strip().str.upper()
    bad_sym = (symbols.isna() | (symbols == "")).to_numpy()
    if bad_sym.any():
        problems.append(f"missing symbols in rows {_rows(bad_sym)}")
    out = pd.DataFrame({"date": parsed.dt.normalize().astype("datetime64[ns]"),
                        "symbol": symbols.astype(object)})
    for col in ("close", *OPTIONAL_COLUMNS):
        if col not in frame.columns:
            continue
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        unparsable = np.isnan(values) & frame[col].notna().to_numpy()
        if unparsable.any():
            problems.append(f"column {col!r}: not a number in rows {_rows(unparsable)}")
        if np.isinf(values).any():
            problems.append(f"column {col!r}: infinite values in rows {_rows(np.isinf(values))}")
        out[col] = values
    close = out["close"].to_numpy()
    bad_close = ~(close > 0)
    if bad_close.any():
        problems.append(f"column 'close': missing or non-positive values in rows "
                        f"{_rows(bad_close)}")
    dup = out.duplicated(["symbol", "date"], keep=False).to_numpy() & ~bad_date
    if dup.any():
        problems.append(f"duplicate (symbol, date) rows {_rows(dup)}")
    if problems:
        raise PriceHistoryError(f"{source}: invalid price history:\n  - " + "\n  - ".join(problems))
    return out.sort_values(["symbol", "date"], kind="mergesort").reset_index(drop=True)


def load_prices(path: Path | str, symbols: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet price history and :func:`normalize_prices` it."""
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise PriceHistoryError(f"price history file not found: {p}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet":
            filters = [("symbol", "in", symbols)] if symbols else None
            frame = pd.read_parquet(p, filters=filters)
        elif suffix == ".csv":
            frame = pd.read_csv(p, dtype={"symbol": str})
            if "symbol" in frame.columns:  # tickers such as "NA" are not missing values
                frame["symbol"] = pd.read_csv(p, usecols=["symbol"], dtype=str,
                                              keep_default_na=False, na_values=[""])["symbol"]
            if symbols:
                wanted = {s.strip().upper() for s in symbols}
                frame = frame[frame["symbol"].str.strip().str.upper().isin(wanted)]
        else:
            raise PriceHistoryError(
                f"{p}: unsupported price format {suffix!r}; use .csv or .parquet"
            )
    except PriceHistoryError:
        raise
    except Exception as exc:
        raise PriceHistoryError(f"{p}: cannot read price history: {exc}") from exc
    return normalize_prices(frame.reset_index(drop=True), source=str(p))


def truncate(prices: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Rows dated on or before ``as_of`` only (the builders' look-ahead guard)."""
    return prices[prices["date"] <= np.datetime64(as_of)]


def volume_on_close_basis(close: Any, volume: Any, volume_close: Any) -> np.ndarray:
    """``volume`` rescaled so that ``close x volume`` is the traded dollar volume.

    Builders compute dollar volume as ``close x volume``. When the closes are adjusted on one
    basis (e.g. splits and dividends as of 2026) and the volume comes from another source whose
    own close pairs with it (``volume_close x volume`` = dollars traded, e.g. shares
    split-adjusted as of 2024), the volume must be put on the closes' basis:
    ``volume x volume_close / close``. Rows without a ``volume_close`` keep their volume.

    Parameters
    ----------
    close, volume, volume_close : array-like of float
        Aligned rows; NaN where unknown.

    Returns
    -------
    numpy.ndarray
        float64 volumes.
    """
    c = np.asarray(close, dtype=np.float64)
    v = np.asarray(volume, dtype=np.float64)
    vc = np.asarray(volume_close, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isnan(vc), 1.0, vc / c)
    return v * ratio
