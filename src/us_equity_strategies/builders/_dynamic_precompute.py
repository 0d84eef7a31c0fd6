"""Backtest fast path of the dynamic_mega_leveraged_pullback builder.

:func:`precompute` runs once per backtest over the whole history, with the same vectorised
code as :func:`~.dynamic_mega_leveraged_pullback.build`:

* the candidate feature panel (:func:`features.feature_panel`, ``FEATURES``) of **every**
  symbol of the universe table (any of them may be selected on some date);
* the last close so far of every product of the product map (the rows' ``close``);
* the benchmark series: close, SMA(``sma_period``), ATR(``atr_period``, missing high/low ->
  close), ATR / close and ``mom_126``;
* the normalised universe table.

:func:`build_from` reads each series at its last row ``<= as_of`` (binary searches) and
memoises the candidate rows per set of active universe rows (the selection changes only when
that set does; errors are never memoised, so their messages keep their date). Every value at
a row depends only on that row and earlier rows of the same symbol (rolling windows restart
per symbol), so the table equals ``build`` on prices truncated to ``as_of``: values, dtypes,
column order and errors (tests/test_builders_precompute_stock.py, and the backtester's
look-ahead guard).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import features
from .. import indicators as ind
from .. import universe as universe_mod
from ..errors import PriceHistoryError, UniverseError
from ..snapshot._validate import coerce_bool
from . import dynamic_mega_leveraged_pullback as base

if TYPE_CHECKING:
    from ..entrypoints.dynamic_mega_leveraged_pullback import Parameters

__all__ = ["Precomputed", "build_from", "precompute"]

#: Panel columns read per candidate (``close`` is the snapshot's ``underlying_close``).
_VALUES = ("close", *base.FEATURES)
_TEXT = ("symbol", "trade_symbol", "underlying_symbol", "sector")
_FLOATS = ("candidate_rank", "mega_rank", "product_leverage", "product_expense_ratio")
_FLAGS = ("product_available", "eligible")
_BENCH = ("close", "sma", "atr", "atr_pct", "mom_126")


@dataclass(frozen=True)
class _Stacked:
    """Several symbols' rows stacked by (symbol, date) plus one trailing all-NaN row.

    ``blocks[s] = (lo, hi)`` are ``s``'s rows in ``dates`` / ``values``.
    """

    blocks: dict[str, tuple[int, int]]
    dates: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, symbols: np.ndarray, dates: np.ndarray, values: np.ndarray) -> _Stacked:
        change = np.flatnonzero(symbols[1:] != symbols[:-1]) + 1
        lo = np.r_[0, change] if symbols.size else np.zeros(0, dtype=np.int64)
        hi = np.r_[change, symbols.size] if symbols.size else lo
        blocks = {str(symbols[a]): (int(a), int(b)) for a, b in zip(lo, hi, strict=True)}
        if len(blocks) != lo.size or any((np.diff(dates[a:b]) <= np.timedelta64(0)).any()
                                         for a, b in blocks.values()):
            raise PriceHistoryError("prices must be sorted by (symbol, date) with unique "
                                    "pairs; run normalize_prices first")
        nan = np.full((1, values.shape[1]), np.nan)
        return cls(blocks, dates, np.vstack([values, nan]))

    def rows_at(self, symbols: list[str | None], cutoff: np.datetime64
                ) -> tuple[np.ndarray, np.ndarray]:
        """(row of the last date <= cutoff, rows <= cutoff) per symbol; the NaN row and 0
        for a symbol without such a row."""
        row = np.full(len(symbols), self.dates.size, dtype=np.int64)
        count = np.zeros(len(symbols), dtype=np.int64)
        for i, sym in enumerate(symbols):
            block = self.blocks.get(sym) if sym is not None else None
            if block is not None:
                k = int(np.searchsorted(self.dates[block[0]:block[1]], cutoff, side="right"))
                if k:
                    row[i], count[i] = block[0] + k - 1, k
        return row, count


@dataclass(frozen=True)
class _Candidates:
    """Date-independent part of the table for one selection: candidate rows + benchmark row."""

    static: dict[str, np.ndarray]
    underlyings: list[str | None]
    products: list[str | None]


@dataclass(frozen=True)
class Precomputed:
    """:func:`precompute` output (see the module docstring); ``cache`` memoises selections."""

    key: tuple[Any, ...]
    universe: pd.DataFrame
    table: pd.DataFrame | None
    panel: _Stacked
    products: _Stacked
    bench_dates: np.ndarray
    bench: dict[str, np.ndarray]
    cache: dict[bytes, _Candidates] = field(default_factory=dict, repr=False)


def _key(params: Parameters) -> tuple[Any, ...]:
    return (params.benchmark_symbol, params.sma_period, params.atr_period,
            params.candidate_universe_size, params.universe_lag_sessions,
            tuple(sorted(params.product_map.items())))


def _stack(prices: pd.DataFrame, symbols: set[str], columns: list[str]) -> _Stacked:
    rows = prices[prices["symbol"].isin(symbols)]
    return _Stacked.of(rows["symbol"].to_numpy(dtype=object),
                       rows["date"].to_numpy(dtype="datetime64[ns]"),
                       np.column_stack([rows[c].to_numpy(dtype=np.float64) for c in columns])
                       if len(rows) else np.zeros((0, len(columns))))


def _benchmark(prices: pd.DataFrame, params: Parameters) -> tuple[np.ndarray, dict]:
    """The benchmark's series as in ``base._benchmark_row``, at every row."""
    rows = prices[prices["symbol"] == params.benchmark_symbol]
    idx = pd.DatetimeIndex(rows["date"])
    if not idx.is_monotonic_increasing or not idx.is_unique:
        raise PriceHistoryError("prices must be sorted by (symbol, date) with unique pairs; "
                                "run normalize_prices first")
    close = pd.Series(rows["close"].to_numpy(dtype=np.float64), index=idx)
    hl = {c: pd.Series(rows[c].to_numpy(dtype=np.float64), index=idx) if c in rows else None
          for c in ("high", "low")}
    c = close.to_numpy()
    atr = ind.average_true_range(close, params.atr_period, hl["high"], hl["low"]).to_numpy()
    mom = np.full(c.size, np.nan)
    mom[126:] = c[126:] / c[:-126] - 1
    series = {"close": c, "sma": ind.sma(close, params.sma_period).to_numpy(), "atr": atr,
              "atr_pct": atr / c, "mom_126": mom}
    return idx.to_numpy(dtype="datetime64[ns]"), series


def precompute(prices: pd.DataFrame, params: Parameters, *,
               universe: pd.DataFrame) -> Precomputed:
    """Every causal series of the builder over the whole history (module docstring).

    ``prices`` is the normalised long table; ``universe`` the table later passed to
    :func:`build_from`. An invalid universe table is reported by :func:`build_from`, as
    ``build`` reports it on every call.
    """
    try:
        table = universe_mod.normalize_universe(universe, "<universe>")
    except UniverseError:
        table = None
    names = set(table["symbol"]) if table is not None else set()
    found = prices[prices["symbol"].isin(names)]
    panel = features.feature_panel(found, base.FEATURES)
    panel = _stack(panel, names, list(_VALUES))
    products = {p.trade_symbol for p in params.product_map.values() if p.trade_symbol}
    rows = prices[prices["symbol"].isin(products)]
    # the builder reads groupby(symbol).last(): the last non-NaN close
    last = rows.assign(close=rows.groupby("symbol", sort=False)["close"].ffill())
    bench_dates, bench = _benchmark(prices, params)
    return Precomputed(_key(params), universe, table, panel, _stack(last, products, ["close"]),
                       bench_dates, bench)


def _candidates(pre: Precomputed, as_of: dt.date, params: Parameters,
                universe: pd.DataFrame) -> tuple[_Candidates, dt.date]:
    """The memoised selection at ``as_of`` and its membership date (errors as ``build``)."""
    table = pre.table
    if table is None:  # raises exactly as build does
        table = universe_mod.normalize_universe(universe, "<universe>")
    lag = params.universe_lag_sessions
    when = universe_mod.membership_date(as_of, lag)
    ts = np.datetime64(pd.Timestamp(when).normalize().to_datetime64(), "ns")
    active = np.ones(len(table), dtype=bool)  # universe.active_at's mask
    for col, later in (("start_date", False), ("end_date", True)):
        if col in table.columns:
            d = table[col].to_numpy(dtype="datetime64[ns]")
            active &= np.isnat(d) | ((d >= ts) if later else (d <= ts))
    hit = pre.cache.get(key := active.tobytes())
    if hit is not None:
        return hit, when
    chosen = universe_mod.select_top_n(table, params.candidate_universe_size, as_of=as_of,
                                       lag_sessions=lag)
    cands = base.candidate_rows(chosen, when, params)
    cols = base._normalize_candidates(cands, as_of, params.benchmark_symbol)
    bench = {"symbol": params.benchmark_symbol, "trade_symbol": None,
             "underlying_symbol": params.benchmark_symbol, "sector": base.BENCHMARK_SECTOR}
    static: dict[str, np.ndarray] = {}
    for c in _TEXT:
        static[c] = np.array([*cols[c], bench[c]], dtype=object)
    for c in _FLOATS:  # the builder's object -> float conversion
        values = pd.Series([*cols[c], np.nan], dtype=object)
        static[c] = pd.to_numeric(values, errors="coerce").astype(np.float64).to_numpy()
    for c in _FLAGS:
        static[c] = np.array([coerce_bool(v) for v in [*cols[c], False]], dtype=bool)
    hit = _Candidates(static, cols["underlying_symbol"], cols["symbol"])
    pre.cache[key] = hit
    return hit, when


def build_from(pre: Precomputed, as_of: dt.date, params: Parameters, *,
               universe: pd.DataFrame) -> pd.DataFrame:
    """The snapshot table at ``as_of`` from :func:`precompute` output.

    Equals ``build(truncate(prices, as_of), as_of, params, universe=universe)``, errors
    included (UniverseError, ParameterError, PriceHistoryError, in that order).

    Raises
    ------
    ValueError
        If ``pre`` was computed with other builder parameters or another universe table.
    """
    if pre.key != _key(params):
        raise ValueError("precomputed for other builder parameters of "
                         "dynamic_mega_leveraged_pullback; run precompute again")
    if universe is not pre.universe and not universe.equals(pre.universe):
        raise ValueError("precomputed for another universe table; run precompute again")
    day = pd.Timestamp(as_of).normalize()
    cand, when = _candidates(pre, day.date(), params, universe)
    cutoff = np.datetime64(day.to_datetime64(), "ns")
    k = int(np.searchsorted(pre.bench_dates, cutoff, side="right"))
    need = max(params.sma_period, params.atr_period + 1, 126)
    if k < need:
        raise PriceHistoryError(f"dynamic_mega_leveraged_pullback: benchmark "
                                f"{params.benchmark_symbol} has {k} price rows on or before "
                                f"{day.date()}; the QQQ gate needs max(sma_period, "
                                f"atr_period + 1, 126) = {need}")
    b = {c: pre.bench[c][k - 1] for c in _BENCH}
    n = len(cand.underlyings)
    rows, hist = pre.panel.rows_at(cand.underlyings, cutoff)
    values = pre.panel.values[rows]
    prod_rows, _ = pre.products.rows_at(cand.products, cutoff)
    nan = np.full(n, np.nan)
    text = day.date().isoformat()
    out: dict[str, Any] = {
        "as_of": np.full(n + 1, text, dtype=object),
        **cand.static,
        "universe_as_of": np.array([when.isoformat()] * n + [None], dtype=object),
        "close": np.append(pre.products.values[prod_rows, 0], b["close"]),
        "history_days": np.append(hist, k),
        "underlying_close": np.append(values[:, 0], np.nan),
    }
    for j, c in enumerate(base.FEATURES, start=1):
        out[c] = np.append(values[:, j], np.nan)
    for c, name in zip(base.BENCHMARK_VALUES, _BENCH, strict=True):
        out[c] = np.append(nan, b[name])
    # object columns stay object (a DataFrame of object arrays would infer pandas' str dtype)
    return pd.DataFrame({c: pd.Series(out[c], dtype=object) if out[c].dtype == object
                         else out[c] for c in base.COLUMNS})
