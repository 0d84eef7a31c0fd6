"""Price inputs of a backtest: proxy and synthetic splicing, the run's sessions, the matrix.

Splicing happens on the long table **before** anything else, so the builders (features) and
the simulation (returns) see the same extended series; every spliced row is counted in the
run's diagnostics.

Proxy splice (``proxies``, default ``{"BOXX": "BIL"}``)
    For a symbol ``S`` whose first price is on ``d0`` and a proxy ``P``: every date
    ``t < d0`` on which ``P`` has a price gets ``S[t] = S[d0] * P[t] / P[a]``, where ``a`` is
    the last proxy date ``<= d0``. So ``S`` earns ``P``'s returns before ``d0`` and joins its
    real series at ``d0`` (returns are exact; levels are rescaled). A symbol that has no price
    at all, or a proxy without a price on or before ``d0``, is left alone.

Synthetic leverage (``synthetic``, only with ``synthetic_leverage=True``)
    For a product ``L`` with underlying ``U`` and leverage ``k`` (TQQQ: QQQ x 3): on the
    underlying's dates ``u_0 < ... < u_m = d0`` (``d0`` = first date of ``L``, which ``U`` must
    also have), the daily-reset return is ``s_j = max(k * (U[u_j] / U[u_j-1] - 1) - fee/252,
    -1)`` and ``L[u_j-1] = L[u_j] / (1 + s_j)``, anchored at the real ``L[d0]``. A -100 % day
    makes every earlier level undefined: the synthetic series then starts on that day.
    A product with **no** price at all (a 2x single-stock product missing from the data) is
    synthesised over all of ``U``'s dates, forward from ``L[u_0] = 100``:
    ``L[u_j] = L[u_j-1] * (1 + s_j)``, and stays at 0 after a -100 % day. Its level is
    arbitrary (returns are what matter; whole-share sizing sees a price of that scale).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import calendar
from ..errors import InputError

__all__ = ["PriceMatrix", "price_matrix", "run_sessions", "splice_proxies", "splice_synthetic"]

TRADING_DAYS = 252


def _series(prices: pd.DataFrame, symbol: str) -> tuple[np.ndarray, np.ndarray]:
    """(dates ns ascending, closes) of one symbol."""
    rows = prices[prices["symbol"].to_numpy() == symbol]
    dates = rows["date"].to_numpy(dtype="datetime64[ns]")
    order = np.argsort(dates, kind="stable")
    return dates[order], rows["close"].to_numpy(dtype=np.float64)[order]


def _with_rows(prices: pd.DataFrame, parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return prices
    out = pd.concat([prices, *parts], ignore_index=True)
    return out.sort_values(["symbol", "date"], kind="mergesort").reset_index(drop=True)


def _rows(like: pd.DataFrame, symbol: str, dates: np.ndarray, close: np.ndarray
          ) -> pd.DataFrame:
    """Rows to append to ``like`` (same symbol dtype; optional columns left NaN)."""
    return pd.DataFrame({"date": dates.astype("datetime64[ns]"),
                         "symbol": pd.array([symbol] * dates.size, dtype=like["symbol"].dtype),
                         "close": close.astype(np.float64)})


def splice_proxies(prices: pd.DataFrame, proxies: Mapping[str, str]
                   ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Extend each symbol backwards with its proxy's returns; returns (prices, rows added)."""
    added: dict[str, int] = {}
    parts = []
    for symbol, proxy in sorted(proxies.items()):
        s_dates, s_close = _series(prices, symbol)
        p_dates, p_close = _series(prices, proxy)
        if s_dates.size == 0 or p_dates.size == 0:
            added[symbol] = 0
            continue
        d0 = s_dates[0]
        anchor = int(np.searchsorted(p_dates, d0, side="right")) - 1
        before = p_dates < d0
        if anchor < 0 or not before.any():
            added[symbol] = 0
            continue
        scaled = s_close[0] * p_close[before] / p_close[anchor]
        parts.append(_rows(prices, symbol, p_dates[before], scaled))
        added[symbol] = int(before.sum())
    return _with_rows(prices, parts), added


SYNTHETIC_BASE = 100.0


def splice_synthetic(prices: pd.DataFrame, synthetic: Mapping[str, tuple[str, float]],
                     annual_fee: float, fees: Mapping[str, float] | None = None
                     ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Extend (or create) each product as a daily-reset leveraged underlying (module doc).

    ``fees`` gives per-product annual fees; the others pay ``annual_fee``.
    """
    added: dict[str, int] = {}
    parts = []
    for product, (underlying, leverage) in sorted(synthetic.items()):
        daily_fee = (fees or {}).get(product, annual_fee) / TRADING_DAYS
        l_dates, l_close = _series(prices, product)
        u_dates, u_close = _series(prices, underlying)
        if u_dates.size == 0:
            added[product] = 0
            continue
        if l_dates.size == 0:  # no real price at all: the whole series, forward from 100
            step = np.maximum(leverage * (u_close[1:] / u_close[:-1] - 1.0) - daily_fee, -1.0)
            levels = SYNTHETIC_BASE * np.cumprod(np.concatenate(([1.0], 1.0 + step)))
            parts.append(_rows(prices, product, u_dates, levels))
            added[product] = int(u_dates.size)
            continue
        d0 = l_dates[0]
        m = int(np.searchsorted(u_dates, d0, side="left"))
        if m == 0 or m >= u_dates.size or u_dates[m] != d0:
            added[product] = 0  # nothing before d0, or no underlying price to anchor at d0
            continue
        # s[j-1] is the return from u_{j-1} to u_j, j = 1..m.
        step = np.maximum(leverage * (u_close[1:m + 1] / u_close[:m] - 1.0) - daily_fee, -1.0)
        wiped = np.flatnonzero(step <= -1.0)
        first = int(wiped[-1]) + 1 if wiped.size else 0  # levels before a -100 % day: undefined
        # L[u_i] = L[d0] / prod_{j=i+1..m} (1 + s_j), i = first..m-1 (a reverse cumprod).
        growth = np.cumprod((1.0 + step[first:])[::-1])[::-1]
        parts.append(_rows(prices, product, u_dates[first:m], l_close[0] / growth))
        added[product] = m - first
    return _with_rows(prices, parts), added


def run_sessions(prices: pd.DataFrame, benchmark: str, start: dt.date, end: dt.date
                 ) -> tuple[dt.date, ...]:
    """NYSE sessions in ``[start, end]`` on which ``benchmark`` has a close."""
    have = set(pd.DatetimeIndex(_series(prices, benchmark)[0]).date)
    out = tuple(d for d in calendar.sessions(start, end) if d in have)
    if not out:
        raise InputError(
            f"benchmark {benchmark!r} has no close on any NYSE session from {start} to {end}; "
            "the run's sessions are the sessions with a benchmark close"
        )
    return out


@dataclass(frozen=True)
class PriceMatrix:
    """Closes on the run's sessions: ``close[i, j]`` is NaN when symbol ``j`` has no price on
    session ``i``; ``marks`` carries the last known close forward (valuation only: trades
    need a real close)."""

    sessions: tuple[dt.date, ...]
    symbols: tuple[str, ...]
    close: np.ndarray
    marks: np.ndarray

    def column(self) -> dict[str, int]:
        return {s: j for j, s in enumerate(self.symbols)}


def price_matrix(prices: pd.DataFrame, sessions: Sequence[dt.date]) -> PriceMatrix:
    """Pivot the long table onto ``sessions`` (symbols with a price on some session).

    ``marks`` starts from each symbol's last close on or before the first session, so a
    symbol without a price on the first session is still valued.
    """
    days = np.array(sessions, dtype="datetime64[D]").astype("datetime64[ns]")
    dates = prices["date"].to_numpy(dtype="datetime64[ns]")
    pos = np.searchsorted(days, dates)
    on_session = (pos < days.size) & (days[np.minimum(pos, days.size - 1)] == dates)
    symbols = tuple(sorted(set(prices["symbol"].to_numpy()[on_session])))
    codes = pd.Index(symbols, dtype=object).get_indexer(prices["symbol"].to_numpy(dtype=object))
    closes = prices["close"].to_numpy(dtype=np.float64)
    close = np.full((days.size, len(symbols)), np.nan)
    keep = on_session & (codes >= 0)
    close[pos[keep], codes[keep]] = closes[keep]
    # Seed row: the last close strictly before the first session, per symbol.
    seed = np.full(len(symbols), np.nan)
    early = (dates < days[0]) & (codes >= 0)
    if early.any():
        frame = pd.DataFrame({"code": codes[early], "date": dates[early], "close": closes[early]})
        last = frame.sort_values(["code", "date"], kind="mergesort").groupby("code").last()
        seed[last.index.to_numpy()] = last["close"].to_numpy()
    stacked = np.vstack([seed, close])
    idx = np.where(np.isnan(stacked), 0, np.arange(stacked.shape[0])[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    marks = stacked[idx, np.arange(stacked.shape[1])][1:]
    return PriceMatrix(tuple(sessions), symbols, close, marks)
