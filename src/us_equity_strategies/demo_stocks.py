"""Synthetic single stocks, 2x single-stock products and a point-in-time universe for demos.

Everything here is **synthetic, not market data**: tickers are recognisable so that demo
output reads naturally, but prices, volumes, market caps and index weights are made up.
Public entry points are the wrappers in :mod:`us_equity_strategies.demo`
(``demo_stock_prices``, ``demo_all_prices``, ``demo_universe``); this module holds the specs.

Prices
    The ETF generator's factor path (:func:`demo._market_factors` on ``default_rng(seed)``, the
    same draw the ETFs use, so stocks fall in the crash and recover with QQQ) plus
    per-stock alpha, idiosyncratic noise and a smooth trend drawn from a **separate** stream
    ``default_rng([seed, 1])``; the ETF values of :func:`demo.demo_prices` are unaffected.
    Volume is a per-name typical dollar volume divided by the close, with lognormal noise and
    more activity on big-move days, so ``adv20_usd`` is stable: most names trade well above
    $50M a day, IRDM trades $20-50M, and DLB, FLO and NFG stay under $20M (ineligible for
    the default liquidity floors). SIRI trades under $10 (fails ``min_close``).
    PLTR and UBER list mid-window (no rows before their listing day); TWTR and ATVI are
    taken over and have no rows after their last day.
Products
    NVDL, MSFU, AAPU, AMZU, FBL, TSLL and GGLL (the default product map of
    ``dynamic_mega_leveraged_pullback``) are daily-reset 2x their underlying's close-to-close
    simple return minus :data:`PRODUCT_FEE` / 252 per session (exact to float precision).
Universe
    :func:`universe_table`: ``symbol, sector, start_date, end_date, weight`` with inclusive
    dates. One row per calendar quarter per member (the last row open-ended), ``weight`` =
    the member's market cap in percent of all members' caps, measured at the last session
    before the row starts (known at the time: no look-ahead). Caps are ``cap0 x close /
    start price`` (constant share counts), so the top-N by weight changes as prices move.
    Membership changes: UBER, TSLA and PLTR join mid-window, TWTR and ATVI leave. Sector
    labels are GICS, except NFLX, DIS and TMUS which carry the iShares label
    ``Communication`` (both labels occur, as in merged real sources).
"""

from __future__ import annotations

import functools
from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import calendar
from .demo import (
    _FACTORS,
    _LOG_RETURN_CLIP,
    _TRADING_DAYS,
    _TREND_WINDOW,
    DEMO_AS_OF,
    DEMO_SEED,
    DEMO_START,
    _market_factors,
    _ohlc_from_close,
)

__all__ = ["JOINS", "LEAVES", "LISTED", "PRODUCTS", "PRODUCT_FEE", "PRODUCT_SYMBOLS", "SECTORS",
           "STOCK_SYMBOLS", "merge_sorted", "stock_prices", "universe_table"]

#: Annual expense ratio of the 2x products (the profile's default ``product_expense_ratio``).
PRODUCT_FEE: float = 0.01

IT, CS, COMM = "Information Technology", "Communication Services", "Communication"
CD, ST, HC, FIN = "Consumer Discretionary", "Consumer Staples", "Health Care", "Financials"
EN, IND, UT, RE, MAT = "Energy", "Industrials", "Utilities", "Real Estate", "Materials"


class _Stock(NamedTuple):
    sector: str
    price: float  # price on the session before the first row (or before listing)
    cap: float  # market cap at that price, $bn
    alpha: float  # per year, on top of the factor returns
    loadings: dict[str, float]
    idio: float  # daily idiosyncratic volatility
    trend: float  # volatility per year of the smooth per-symbol drift
    dollar_volume: float  # typical USD traded per day


_TECH = {"mkt": 1.1, "tech": 1.0}
_SEMI = {"mkt": 1.3, "tech": 1.2, "semi": 1.0}
_MEDIA = {"mkt": 1.0, "tech": 0.6}
_STOCKS: dict[str, _Stock] = {
    "AAPL": _Stock(IT, 43.0, 860, 0.05, _TECH, 0.012, 0.10, 1.0e10),
    "MSFT": _Stock(IT, 85.0, 660, 0.06, _TECH, 0.011, 0.10, 6.0e9),
    "NVDA": _Stock(IT, 50.0, 120, 0.28, _SEMI, 0.022, 0.20, 1.2e10),
    "AVGO": _Stock(IT, 25.0, 105, 0.18, _SEMI, 0.016, 0.15, 2.0e9),
    "AMD": _Stock(IT, 20.0, 12, 0.22, _SEMI, 0.026, 0.25, 4.0e9),
    "ORCL": _Stock(IT, 47.0, 195, 0.06, {"mkt": 0.9, "tech": 0.6}, 0.013, 0.12, 8.0e8),
    "CRM": _Stock(IT, 105.0, 75, 0.02, _TECH, 0.017, 0.15, 1.2e9),
    "ADBE": _Stock(IT, 180.0, 88, 0.00, _TECH, 0.016, 0.15, 1.0e9),
    "CSCO": _Stock(IT, 39.0, 190, -0.06, {"mkt": 0.9, "tech": 0.5}, 0.011, 0.10, 9.0e8),
    "INTC": _Stock(IT, 47.0, 220, -0.20, _SEMI, 0.017, 0.15, 1.5e9),
    "QCOM": _Stock(IT, 65.0, 95, 0.00, _SEMI, 0.018, 0.15, 9.0e8),
    "TXN": _Stock(IT, 105.0, 105, -0.04, {"mkt": 1.1, "semi": 0.6}, 0.012, 0.10, 6.0e8),
    "MU": _Stock(IT, 44.0, 50, 0.02, _SEMI, 0.024, 0.20, 1.5e9),
    "PLTR": _Stock(IT, 15.0, 20, 0.35, {"mkt": 1.4, "tech": 1.2}, 0.035, 0.25, 1.5e9),
    "DLB": _Stock(IT, 62.0, 6.5, 0.00, {"mkt": 0.9}, 0.013, 0.10, 1.2e7),
    "GOOGL": _Stock(CS, 53.0, 370, 0.05, _MEDIA, 0.013, 0.10, 2.5e9),
    "META": _Stock(CS, 181.0, 525, 0.06, _MEDIA, 0.020, 0.20, 4.0e9),
    "NFLX": _Stock(COMM, 200.0, 87, 0.10, _MEDIA, 0.022, 0.20, 2.5e9),
    "DIS": _Stock(COMM, 108.0, 165, -0.08, {"mkt": 1.0}, 0.013, 0.12, 1.1e9),
    "TMUS": _Stock(COMM, 64.0, 55, 0.08, {"mkt": 0.7}, 0.012, 0.10, 5.0e8),
    "CMCSA": _Stock(CS, 42.0, 195, -0.05, {"mkt": 0.9}, 0.012, 0.10, 8.0e8),
    "SIRI": _Stock(CS, 5.0, 28, -0.12, {"mkt": 0.9}, 0.015, 0.10, 1.2e8),
    "TWTR": _Stock(CS, 24.0, 18, 0.00, _MEDIA, 0.025, 0.20, 6.0e8),
    "ATVI": _Stock(CS, 63.0, 48, 0.00, _MEDIA, 0.017, 0.15, 4.0e8),
    "IRDM": _Stock(CS, 12.5, 2.4, 0.05, {"mkt": 0.9}, 0.018, 0.15, 3.0e7),
    "AMZN": _Stock(CD, 59.0, 580, 0.04, {"mkt": 1.1, "tech": 0.9}, 0.015, 0.12, 8.0e9),
    "TSLA": _Stock(CD, 21.0, 55, 0.12, {"mkt": 1.5, "tech": 1.0}, 0.032, 0.30, 1.5e10),
    "HD": _Stock(CD, 190.0, 220, 0.02, {"mkt": 1.0}, 0.011, 0.10, 9.0e8),
    "MCD": _Stock(CD, 172.0, 135, 0.02, {"mkt": 0.6}, 0.010, 0.08, 6.0e8),
    "COST": _Stock(ST, 187.0, 82, 0.10, {"mkt": 0.7}, 0.011, 0.10, 9.0e8),
    "PG": _Stock(ST, 92.0, 230, 0.01, {"mkt": 0.5}, 0.009, 0.08, 9.0e8),
    "KO": _Stock(ST, 46.0, 195, 0.00, {"mkt": 0.5}, 0.009, 0.08, 8.0e8),
    "WMT": _Stock(ST, 33.0, 290, 0.06, {"mkt": 0.5}, 0.010, 0.08, 1.0e9),
    "FLO": _Stock(ST, 19.0, 4.3, -0.02, {"mkt": 0.5}, 0.012, 0.08, 1.0e7),
    "LLY": _Stock(HC, 85.0, 90, 0.25, {"mkt": 0.6}, 0.014, 0.15, 1.2e9),
    "JNJ": _Stock(HC, 140.0, 375, -0.02, {"mkt": 0.6}, 0.009, 0.08, 1.1e9),
    "UNH": _Stock(HC, 225.0, 215, 0.04, {"mkt": 0.8}, 0.013, 0.12, 1.5e9),
    "ABBV": _Stock(HC, 97.0, 155, 0.03, {"mkt": 0.7}, 0.014, 0.12, 9.0e8),
    "JPM": _Stock(FIN, 107.0, 370, 0.04, {"mkt": 1.1}, 0.012, 0.10, 1.8e9),
    "BAC": _Stock(FIN, 30.0, 310, -0.02, {"mkt": 1.3}, 0.015, 0.12, 1.5e9),
    "V": _Stock(FIN, 115.0, 260, 0.04, {"mkt": 1.0, "tech": 0.3}, 0.010, 0.10, 1.4e9),
    "MA": _Stock(FIN, 152.0, 160, 0.05, {"mkt": 1.0, "tech": 0.3}, 0.011, 0.10, 1.0e9),
    "BRK-B": _Stock(FIN, 200.0, 490, 0.02, {"mkt": 0.8}, 0.008, 0.08, 1.0e9),
    "XOM": _Stock(EN, 84.0, 355, -0.02, {"mkt": 0.8, "comm": 1.2}, 0.013, 0.12, 1.5e9),
    "CVX": _Stock(EN, 126.0, 240, -0.02, {"mkt": 0.8, "comm": 1.2}, 0.013, 0.12, 1.1e9),
    "CAT": _Stock(IND, 158.0, 95, 0.05, {"mkt": 1.2, "comm": 0.3}, 0.014, 0.12, 6.0e8),
    "UBER": _Stock(IND, 42.0, 75, 0.06, {"mkt": 1.3, "tech": 0.8}, 0.025, 0.20, 1.0e9),
    "NEE": _Stock(UT, 39.0, 75, 0.02, {"mkt": 0.4, "bond": 0.7}, 0.011, 0.10, 6.0e8),
    "NFG": _Stock(UT, 55.0, 4.7, -0.02, {"mkt": 0.5, "comm": 0.3}, 0.012, 0.08, 8.0e6),
    "PLD": _Stock(RE, 64.0, 35, 0.04, {"mkt": 0.8, "bond": 0.8}, 0.013, 0.10, 4.0e8),
    "LIN": _Stock(MAT, 150.0, 75, 0.05, {"mkt": 0.9, "comm": 0.3}, 0.010, 0.08, 5.0e8),
}
#: GOOG tracks GOOGL (same issuer; the universe's issuer de-duplication keeps one of them).
_GOOG = ("GOOGL", 52.5, 0.002, 2.0e9)  # base, start price, daily tracking noise, USD volume

#: 2x products: symbol -> (underlying, start price, typical USD volume per day).
PRODUCTS: dict[str, tuple[str, float, float]] = {
    "NVDL": ("NVDA", 25.0, 3.0e8), "MSFU": ("MSFT", 30.0, 2.0e7),
    "AAPU": ("AAPL", 30.0, 3.0e7), "AMZU": ("AMZN", 30.0, 3.0e7),
    "FBL": ("META", 30.0, 4.0e7), "TSLL": ("TSLA", 20.0, 5.0e8),
    "GGLL": ("GOOGL", 30.0, 3.0e7),
}

#: Price history starts on these sessions (IPOs); the stock joins the universe later.
LISTED: dict[str, date] = {"UBER": date(2019, 5, 10), "PLTR": date(2020, 9, 30)}
#: Membership starts (inclusive); other members are members from the window start.
JOINS: dict[str, date] = {"UBER": date(2019, 7, 1), "TSLA": date(2020, 12, 21),
                          "PLTR": date(2021, 3, 22)}
#: Last membership day (inclusive) = last price row: acquisitions.
LEAVES: dict[str, date] = {"TWTR": date(2022, 10, 27), "ATVI": date(2023, 10, 12)}

SECTORS: dict[str, str] = {**{s: spec.sector for s, spec in _STOCKS.items()}, "GOOG": CS}
STOCK_SYMBOLS: tuple[str, ...] = tuple(sorted(SECTORS))
PRODUCT_SYMBOLS: tuple[str, ...] = tuple(sorted(PRODUCTS))
_ALL: tuple[str, ...] = tuple(sorted(STOCK_SYMBOLS + PRODUCT_SYMBOLS))  # column order
_COL: dict[str, int] = {s: j for j, s in enumerate(_ALL)}


@functools.lru_cache(maxsize=4)
def _closes(start: date, end: date, seed: int) -> tuple[tuple[date, ...], np.ndarray,
                                                         np.ndarray, np.ndarray]:
    """Sessions, closes (n, S) in ``_ALL`` (sorted) order, start prices (S,)
    and the regime volatility multipliers (n,); closes are NaN outside listing windows.

    Cached (prices and universe share it); the arrays are read-only."""
    days = calendar.sessions(start, end)
    n = len(days)
    if n == 0:
        raise ValueError(f"no NYSE sessions between {start} and {end}")
    factors, vol_mult = _market_factors(np.random.default_rng(seed), n)
    rng = np.random.default_rng([seed, 1])  # the stocks' own stream
    names = tuple(_STOCKS)
    k = len(names)
    z_idio = rng.standard_normal((n, k))
    z_trend = rng.standard_normal((n + _TREND_WINDOW, k))
    z_goog = rng.standard_normal(n)

    ords = np.array([d.toordinal() for d in days])
    live = np.ones((n, k), dtype=bool)
    for j, sym in enumerate(names):
        if sym in LISTED:
            live[:, j] &= ords >= LISTED[sym].toordinal()
        if sym in LEAVES:
            live[:, j] &= ords <= LEAVES[sym].toordinal()
        # Demeaned over the listed sessions (as the ETF factors are within regimes): each
        # stock's total return is its designed alpha + factor + trend return for any seed.
        if live[:, j].sum() > 1:
            z_idio[live[:, j], j] -= z_idio[live[:, j], j].mean()

    loadings = np.array([[_STOCKS[s].loadings.get(f, 0.0) for f in _FACTORS] for s in names])
    alpha = np.array([_STOCKS[s].alpha for s in names]) / _TRADING_DAYS
    idio = np.array([_STOCKS[s].idio for s in names])
    csum = np.cumsum(z_trend, axis=0)
    trend = (csum[_TREND_WINDOW:] - csum[:-_TREND_WINDOW]) / np.sqrt(_TREND_WINDOW)
    trend *= np.array([_STOCKS[s].trend for s in names]) / _TRADING_DAYS
    log_ret = alpha + factors @ loadings.T + idio * vol_mult[:, None] * z_idio + trend
    np.clip(log_ret, -_LOG_RETURN_CLIP, _LOG_RETURN_CLIP, out=log_ret)

    p0 = np.array([_STOCKS[s].price for s in names])
    # Returns before the listing count as 0, so a stock lists at its start price x e^r.
    stock = p0 * np.exp(np.cumsum(np.where(live, log_ret, 0.0), axis=0))
    stock[~live] = np.nan

    col = _COL
    close = np.empty((n, len(col)))
    start_px = np.empty(len(col))
    for j, sym in enumerate(names):
        close[:, col[sym]], start_px[col[sym]] = stock[:, j], p0[j]
    base, goog_px, noise, _ = _GOOG
    goog_lr = log_ret[:, names.index(base)] + noise * z_goog
    close[:, col["GOOG"]], start_px[col["GOOG"]] = goog_px * np.exp(np.cumsum(goog_lr)), goog_px
    for sym, (und, px, _) in PRODUCTS.items():
        b = close[:, col[und]]
        growth = 1.0 + 2.0 * (b / np.concatenate(([start_px[col[und]]], b[:-1])) - 1.0)
        close[:, col[sym]] = px * np.cumprod(growth - PRODUCT_FEE / _TRADING_DAYS)
        start_px[col[sym]] = px
    for arr in (close, start_px, vol_mult):
        arr.setflags(write=False)
    return days, close, start_px, vol_mult


def stock_prices(start: date = DEMO_START, end: date = DEMO_AS_OF,
                 seed: int = DEMO_SEED) -> pd.DataFrame:
    """Daily OHLCV bars of :data:`STOCK_SYMBOLS` and :data:`PRODUCT_SYMBOLS` (see the module
    docstring); same columns and order conventions as :func:`demo.demo_prices`, but listing
    windows leave some symbols with fewer rows."""
    days, close, start_px, vol_mult = _closes(start, end, seed)
    n, m = close.shape
    symbols, col = _ALL, _COL
    rng = np.random.default_rng([seed, 2])  # bars and volume: independent of the closes
    z_gap, z_high, z_low, z_vol = rng.standard_normal((4, n, m))

    prev = np.vstack([start_px, close[:-1]])
    listed = np.isnan(prev) & ~np.isnan(close)
    prev[listed] = np.broadcast_to(start_px, (n, m))[listed]  # IPO day opens near the start
    with np.errstate(invalid="ignore"):
        day_ret = np.log(close / prev)
    # NaN-skipping std without nanstd's warnings for a symbol not listed in a short window.
    seen = ~np.isnan(day_ret)
    count = np.maximum(seen.sum(axis=0), 1)
    dev = np.where(seen, day_ret - np.where(seen, day_ret, 0.0).sum(axis=0) / count, 0.0)
    sigma = np.sqrt((dev**2).sum(axis=0) / count) * vol_mult[:, None]
    open_, high, low = _ohlc_from_close(close, prev, sigma, z_gap, z_high, z_low)
    for sym, (und, _, _) in PRODUCTS.items():  # levered intraday path of the underlying
        c, cb = col[sym], col[und]
        for arr in (open_, high, low):
            arr[:, c] = prev[:, c] * np.maximum(1.0 + 2.0 * (arr[:, cb] / prev[:, cb] - 1.0),
                                                0.01)
        high[:, c] = np.maximum.reduce([high[:, c], low[:, c], open_[:, c], close[:, c]])
        low[:, c] = np.minimum.reduce([high[:, c], low[:, c], open_[:, c], close[:, c]])

    usd = np.array([_STOCKS[s].dollar_volume if s in _STOCKS else
                    (_GOOG[3] if s == "GOOG" else PRODUCTS[s][2]) for s in symbols])
    activity = np.exp(0.25 * z_vol + np.minimum(20.0 * np.abs(np.nan_to_num(day_ret)), 2.0))
    volume = np.maximum(np.round(usd * activity / close), 1.0)

    epoch = date(1970, 1, 1).toordinal()
    day_index = np.array([d.toordinal() - epoch for d in days], dtype="int64")
    keep = ~np.isnan(close.T.ravel())  # symbol-major, like the frame's rows
    return pd.DataFrame({
        "date": np.tile(day_index.astype("datetime64[D]").astype("datetime64[ns]"), m)[keep],
        "symbol": pd.array(np.repeat(np.array(symbols, dtype=object), n)[keep], dtype="str"),
        **{name: arr.T.ravel()[keep] for name, arr in (
            ("open", open_), ("high", high), ("low", low), ("close", close),
            ("volume", volume))},
    })


def merge_sorted(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate long tables that are each sorted by ``(symbol, date)`` and share no symbol
    into one sorted table (moves whole symbol blocks: no string sort of every row)."""
    both = pd.concat(frames, ignore_index=True)
    sym = both["symbol"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
    stops = np.r_[starts[1:], len(sym)]
    order = sorted(range(len(starts)), key=lambda b: sym[starts[b]])
    perm = np.concatenate([np.arange(starts[b], stops[b]) for b in order])
    return both.take(perm).reset_index(drop=True)


def _quarter_starts(start: date, end: date) -> list[date]:
    first = date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    out = []
    while first <= end:
        out.append(first)
        month = first.month + 3
        first = date(first.year + (month > 12), (month - 1) % 12 + 1, 1)
    return out


def universe_table(start: date = DEMO_START, end: date = DEMO_AS_OF,
                   seed: int = DEMO_SEED) -> pd.DataFrame:
    """The demo universe (see the module docstring): ``symbol, sector, start_date,
    end_date`` (datetime64[ns], inclusive; NaT = open) and ``weight`` (percent), sorted by
    ``(symbol, start_date)``."""
    days, close, start_px, _ = _closes(start, end, seed)
    names = STOCK_SYMBOLS
    caps0 = np.array([_STOCKS[s].cap if s in _STOCKS else _STOCKS[_GOOG[0]].cap
                      for s in names])
    idx = [_COL[s] for s in names]
    cap = caps0 * close[:, idx] / start_px[idx]
    ords = np.array([d.toordinal() for d in days])
    join = np.array([JOINS.get(s, date.min).toordinal() for s in names])
    leave = np.array([LEAVES.get(s, date.max).toordinal() for s in names])

    quarters = [q.toordinal() for q in _quarter_starts(start, end)]
    bounds = sorted({*quarters, *(o for o in join if quarters[0] < o <= end.toordinal())})
    rows = []
    for lo in bounds:
        # caps at the last session before the row starts (the start prices before any)
        i = int(np.searchsorted(ords, lo)) - 1
        now = caps0 if i < 0 else cap[i]
        active = (join <= lo) & (leave >= lo)
        total = np.nansum(now[active])
        nxt = [q for q in quarters if q > lo]
        hi = nxt[0] - 1 if nxt else None  # rows run to the end of their quarter
        for j in np.flatnonzero(active if lo in quarters else (join == lo)):
            stop = min(hi, leave[j]) if hi is not None else (
                leave[j] if leave[j] < date.max.toordinal() else None)
            rows.append((names[j], SECTORS[names[j]], date.fromordinal(lo),
                         None if stop is None else date.fromordinal(stop),
                         round(100.0 * float(now[j]) / total, 6)))
    table = pd.DataFrame(rows, columns=["symbol", "sector", "start_date", "end_date",
                                        "weight"])
    for c in ("start_date", "end_date"):
        table[c] = pd.to_datetime(table[c]).astype("datetime64[ns]")
    return table.sort_values(["symbol", "start_date"], kind="mergesort").reset_index(drop=True)
