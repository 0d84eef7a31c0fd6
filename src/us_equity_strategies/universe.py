"""Universe tables: loaders, point-in-time membership and dynamic top-N selection.

Conventions (spec/features.md §2.2 and §4.3)
--------------------------------------------
* A universe table has ``symbol`` (upper-cased, stripped; Yahoo dashes such as ``BRK-B`` are
  kept), ``sector`` (blank/missing -> ``"unknown"``), optional ``start_date`` / ``end_date``
  (**inclusive**, empty = open), optional ranking columns ``mega_rank``, ``source_weight``,
  ``weight``, ``source_market_value``, ``market_value``. Other columns pass through. Row order
  is kept because duplicate symbols resolve to the *last* row.
* The shared S&P 500 / Nasdaq-100 membership files use half-open intervals
  ``start <= d < end``; :func:`load_membership` converts them to inclusive ends (``end - 1``
  calendar day), which is exactly how the reference builds its own intervals (§2.2a).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from . import calendar
from .errors import UniverseError

__all__ = [
    "DATE_COLUMNS", "ISSUER_KEYS", "NUMERIC_COLUMNS", "RANKING_COLUMNS", "UNKNOWN_SECTOR",
    "active_at", "attach_sectors", "issuer_key", "load_membership", "load_sectors",
    "load_universe", "membership_date", "normalize_universe", "select_top_n",
]

UNKNOWN_SECTOR = "unknown"
DATE_COLUMNS: tuple[str, ...] = ("start_date", "end_date")
#: Weight-branch ranking columns, in the order of preference (features.md §4.3 step 3).
RANKING_COLUMNS: tuple[str, ...] = ("source_weight", "weight", "source_market_value",
                                    "market_value")
NUMERIC_COLUMNS: tuple[str, ...] = ("mega_rank", *RANKING_COLUMNS)
#: Share classes of one issuer collapse to one key (features.md §2.2); dashes count as dots.
ISSUER_KEYS: dict[str, str] = {
    "GOOG": "GOOGL", "GOOGL": "GOOGL", "BRK.A": "BRK.B", "BRK.B": "BRK.B", "BRKB": "BRK.B",
    "FOX": "FOXA", "NWS": "NWSA",
}
_SHOWN = 8


def _rows(mask: np.ndarray, values: pd.Series | None = None) -> str:
    idx = np.flatnonzero(mask)
    shown = idx[:_SHOWN]
    text = ", ".join(
        f"{i} ({values.iloc[i]!r})" if values is not None else str(i) for i in shown
    )
    return text + (f" and {len(idx) - _SHOWN} more" if len(idx) > _SHOWN else "")


def _blank(series: pd.Series) -> np.ndarray:
    """Missing values and empty/whitespace strings."""
    text = series.astype("string").str.strip()
    return (text.isna() | (text == "")).to_numpy(dtype=bool)


def _parse_dates(series: pd.Series, column: str, source: str) -> pd.Series:
    blank = _blank(series)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        parsed = pd.to_datetime(series)
    else:
        text = series.astype("string").str.strip().mask(pd.Series(blank, index=series.index))
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy() & ~blank
    if bad.any():
        raise UniverseError(f"{source}: column {column!r}: unparsable dates in rows "
                            f"{_rows(bad, series)} (0-based data rows; expected YYYY-MM-DD "
                            f"or empty)")
    return parsed.dt.normalize().astype("datetime64[ns]")


def _parse_numbers(series: pd.Series, column: str, source: str) -> pd.Series:
    blank = _blank(series)
    values = pd.to_numeric(series.where(~blank), errors="coerce").astype(np.float64)
    bad = (values.isna().to_numpy() & ~blank) | np.isinf(values.to_numpy())
    if bad.any():
        raise UniverseError(f"{source}: column {column!r}: not a finite number in rows "
                            f"{_rows(bad, series)} (0-based data rows)")
    return values


def normalize_universe(frame: pd.DataFrame, source: str = "<universe>") -> pd.DataFrame:
    """Validate and normalise a universe table (see the module docstring).

    Column names are stripped and lower-cased. Row order is kept.

    Raises
    ------
    UniverseError
        Missing ``symbol`` column, blank symbols, unparsable dates or numbers, or
        ``end_date < start_date``; the message names ``source``, the column and the rows.
    """
    names = [str(c).strip().lower() for c in frame.columns]
    if len(set(names)) != len(names):
        raise UniverseError(f"{source}: duplicate column names {names}")
    frame = frame.set_axis(names, axis=1).reset_index(drop=True)
    if "symbol" not in frame.columns:
        raise UniverseError(f"{source}: missing required column 'symbol' (columns: {names})")
    blank = _blank(frame["symbol"])
    if blank.any():
        raise UniverseError(f"{source}: column 'symbol': missing symbols in rows {_rows(blank)}")
    out = pd.DataFrame({"symbol": frame["symbol"].astype("string").str.strip().str.upper()
                        .astype(object)})
    if "sector" in frame.columns:
        sector = frame["sector"].astype("string").str.strip().astype(object)
        out["sector"] = sector.where(~_blank(frame["sector"]), UNKNOWN_SECTOR)
    else:
        out["sector"] = UNKNOWN_SECTOR
    for col in DATE_COLUMNS:
        if col in frame.columns:
            out[col] = _parse_dates(frame[col], col, source)
    if "start_date" in out and "end_date" in out:
        inverted = (out["end_date"] < out["start_date"]).to_numpy()
        if inverted.any():
            raise UniverseError(f"{source}: end_date < start_date in rows {_rows(inverted)}")
    for col in NUMERIC_COLUMNS:
        if col in frame.columns:
            out[col] = _parse_numbers(frame[col], col, source)
    for col in frame.columns:
        if col not in out.columns:
            out[col] = frame[col]
    return out


def _read_table(path: Path | str) -> tuple[pd.DataFrame, str]:
    p = Path(path)
    if not p.exists():
        raise UniverseError(f"universe file not found: {p}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            # all text: blank cells stay "", and tickers such as "NA" or "ON" stay strings
            return pd.read_csv(p, dtype=str, keep_default_na=False), str(p)
        if suffix == ".parquet":
            return pd.read_parquet(p), str(p)
    except Exception as exc:
        raise UniverseError(f"{p}: cannot read table: {exc}") from exc
    raise UniverseError(f"{p}: unsupported format {suffix!r}; use .csv or .parquet")


def load_universe(path: Path | str) -> pd.DataFrame:
    """Read a CSV/Parquet universe table and :func:`normalize_universe` it.

    Dates are inclusive (the reference ``r1000_universe_history.csv`` convention); use
    :func:`load_membership` for the half-open shared membership files.
    """
    frame, source = _read_table(path)
    return normalize_universe(frame, source)


def load_membership(path: Path | str, *, end_exclusive: bool = True) -> pd.DataFrame:
    """Read a point-in-time membership file (``symbol, start_date, end_date[, ...]``).

    Parameters
    ----------
    path : path-like
        E.g. ``universe/sp500_membership.csv`` or ``nasdaq100_membership.csv``.
    end_exclusive : bool, default True
        The shared files are half-open (a symbol is a member on ``d`` iff
        ``start <= d < end``); their ends become inclusive ``end - 1 calendar day``.

    Returns
    -------
    pandas.DataFrame
        A universe table (sector ``"unknown"`` unless the file has one; see
        :func:`attach_sectors`); extra columns such as ``dates_exact`` pass through.

    Raises
    ------
    UniverseError
        As :func:`normalize_universe`; also missing ``start_date`` and empty half-open
        intervals (``start_date == end_date``).
    """
    frame, source = _read_table(path)
    table = normalize_universe(frame, source)
    if "start_date" not in table.columns:
        raise UniverseError(f"{source}: missing required column 'start_date'")
    if "end_date" not in table.columns:
        table["end_date"] = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]")
    if end_exclusive:
        empty = (table["end_date"] == table["start_date"]).to_numpy()
        if empty.any():
            raise UniverseError(f"{source}: empty half-open interval (end_date == start_date) "
                                f"in rows {_rows(empty)}")
        table["end_date"] = table["end_date"] - pd.Timedelta(days=1)
    return table


def load_sectors(path: Path | str) -> pd.DataFrame:
    """Read a symbol -> sector table such as ``universe/sectors.csv``.

    The sector comes from ``gics_sector`` if present, else ``sector``; blanks become
    ``"unknown"``. Returns ``symbol, sector`` plus the other columns of the file.

    Raises
    ------
    UniverseError
        No sector column, blank symbols, or a symbol listed twice.
    """
    frame, source = _read_table(path)
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    column = next((c for c in ("gics_sector", "sector") if c in frame.columns), None)
    if column is None:
        raise UniverseError(f"{source}: needs a 'gics_sector' or 'sector' column "
                            f"(columns: {list(frame.columns)})")
    rest = frame.drop(columns=[c for c in ("gics_sector", "sector")
                               if c != column and c in frame.columns])
    table = normalize_universe(rest.rename(columns={column: "sector"}), source)
    dup = table["symbol"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise UniverseError(f"{source}: symbols listed more than once in rows "
                            f"{_rows(dup, table['symbol'])}")
    return table


def attach_sectors(universe: pd.DataFrame, sectors: pd.DataFrame, *,
                   overwrite: bool = False) -> pd.DataFrame:
    """Fill the universe's sectors from a sector table (returns a new frame).

    Symbols match with dots and dashes treated alike (``BRK.B`` == ``BRK-B``). By default only
    ``"unknown"`` sectors are filled; ``overwrite=True`` replaces every sector the table knows.
    Labels are not translated (iShares ``Communication`` vs GICS ``Communication Services``).
    """
    def key(s: pd.Series) -> pd.Series:
        return s.astype(str).str.replace(".", "-", regex=False)

    known = sectors[sectors["sector"] != UNKNOWN_SECTOR]
    mapping = pd.Series(known["sector"].to_numpy(), index=key(known["symbol"]).to_numpy())
    out = universe.copy()
    if "sector" not in out.columns:
        out["sector"] = UNKNOWN_SECTOR
    found = key(out["symbol"]).map(mapping)
    fill = found.notna() & (overwrite | (out["sector"] == UNKNOWN_SECTOR))
    out.loc[fill, "sector"] = found[fill]
    return out


def _timestamp(as_of: object) -> pd.Timestamp:
    if isinstance(as_of, str):
        raise TypeError("as_of must be a date/datetime/Timestamp, not a string")
    if isinstance(as_of, dt.datetime):
        as_of = as_of.replace(tzinfo=None)
    return pd.Timestamp(as_of).normalize()


def active_at(universe: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Rows active on ``as_of`` (features.md §2.2a), one per symbol.

    A row is active when ``(start_date is NaT or start_date <= as_of) and (end_date is NaT or
    end_date >= as_of)`` (both ends inclusive; a missing column counts as open). Among the
    active rows of a symbol the **last** one wins (with its sector). Order follows the input.
    """
    ts = _timestamp(as_of)
    mask = np.ones(len(universe), dtype=bool)
    if "start_date" in universe.columns:
        start = universe["start_date"]
        mask &= (start.isna() | (start <= ts)).to_numpy()
    if "end_date" in universe.columns:
        end = universe["end_date"]
        mask &= (end.isna() | (end >= ts)).to_numpy()
    active = universe[mask]
    return active.drop_duplicates("symbol", keep="last").reset_index(drop=True)


def issuer_key(symbol: str) -> str:
    """Share-class collapsing key: ``GOOG``/``GOOGL`` -> ``GOOGL``, ``BRK.A``/``BRK-B``/``BRKB``
    -> ``BRK.B``, ``FOX`` -> ``FOXA``, ``NWS`` -> ``NWSA``; any other symbol is its own key
    (upper-cased, dashes written as dots)."""
    text = str(symbol).strip().upper().replace("-", ".")
    return ISSUER_KEYS.get(text, text)


def membership_date(as_of: dt.date, lag_sessions: int = 0) -> dt.date:
    """Date whose membership/weights count as known on ``as_of``.

    ``lag_sessions = 0`` (the reference: no lag) gives ``as_of``; ``k > 0`` gives the k-th
    NYSE session strictly before ``as_of`` (for a session ``as_of``: ``k`` sessions earlier).
    """
    if isinstance(lag_sessions, bool) or not isinstance(lag_sessions, (int, np.integer)) \
            or lag_sessions < 0:
        raise ValueError(f"lag_sessions must be an int >= 0, got {lag_sessions!r}")
    day = _timestamp(as_of).date()
    return day if lag_sessions == 0 else calendar.session_offset(day, -int(lag_sessions))


def select_top_n(universe: pd.DataFrame, n: int, *, as_of: dt.date | None = None,
                 lag_sessions: int = 0) -> pd.DataFrame:
    """Dynamic top-N universe selection (features.md §4.3 "Dynamic universe selection").

    Parameters
    ----------
    universe : pandas.DataFrame
        Normalised universe table. Without ``as_of`` it is taken as the already-active rows.
    n : int
        Number of names, ``>= 1``.
    as_of : datetime.date, optional
        If given, the rows are first filtered with :func:`active_at` on
        :func:`membership_date` ``(as_of, lag_sessions)``.
    lag_sessions : int, default 0
        Availability lag: use the membership/weights known ``lag_sessions`` NYSE sessions
        before ``as_of`` (0 = the reference: no lag). Requires ``as_of`` when non-zero.

    Returns
    -------
    pandas.DataFrame
        The selected rows in selection order (fresh index):

        2. ``mega_rank`` column present: rows with a numeric rank sorted by (mega_rank, symbol)
           ascending, first ``n``; no issuer de-duplication (may be empty).
        3. Else the first present of ``source_weight, weight, source_market_value,
           market_value``: NaN rows dropped, sorted by (metric desc, symbol asc), first row
           per :func:`issuer_key`, first ``n``. If the column is NaN for every row, step 4.
        4. Else all rows if there are at most ``n``.

    Raises
    ------
    UniverseError
        No active rows, or more than ``n`` rows and nothing to rank by (step 4).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if as_of is None:
        if lag_sessions:
            raise ValueError("lag_sessions needs as_of")
        active, when = universe.reset_index(drop=True), "in the given rows"
    else:
        day = membership_date(as_of, lag_sessions)
        active, when = active_at(universe, day), f"on {day.isoformat()}"
    if active.empty:
        raise UniverseError(f"universe selection: no active rows {when}")
    if "mega_rank" in active.columns:
        ranked = active[pd.to_numeric(active["mega_rank"], errors="coerce").notna()]
        ranked = ranked.sort_values(["mega_rank", "symbol"], kind="mergesort")
        return ranked.head(int(n)).reset_index(drop=True)
    column = next((c for c in RANKING_COLUMNS if c in active.columns), None)
    if column is not None:
        metric = pd.to_numeric(active[column], errors="coerce")
        ranked = active[metric.notna()]
        if not ranked.empty:
            ranked = ranked.sort_values([column, "symbol"], ascending=[False, True],
                                        kind="mergesort")
            ranked = ranked[~ranked["symbol"].map(issuer_key).duplicated(keep="first")]
            return ranked.head(int(n)).reset_index(drop=True)
    if len(active) <= n:
        return active
    raise UniverseError(
        f"universe selection: {len(active)} active rows {when} exceed N={n} and there is no "
        f"ranking column with values (mega_rank or one of {', '.join(RANKING_COLUMNS)})"
    )
