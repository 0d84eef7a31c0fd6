"""Synthetic, deterministic demo price history so ``dry-run`` works offline.

Nothing here is market data: prices come from a small factor model driven by
``numpy.random.default_rng(seed)`` (PCG64, whose stream is stable across numpy versions),
on the real NYSE session calendar (:func:`us_equity_strategies.calendar.sessions`).

Model, per session ``t`` and symbol ``i`` (log returns)::

    r[t, i] = alpha_i / 252 + loadings_i @ factors[t] + idio_i * vol_mult[t] * z[t, i]
              + trend[t, i] / 252

* ``factors`` are market, tech, semis, commodity, bonds, international and emerging-market
  shocks with regime-dependent drifts. The market regime path is laid out as fractions of the
  requested window: bull, crash, rebound, bear (commodities rally, bonds fall), recovery, so
  QQQ always shows a 25%+ drawdown (MA200 breaks) and a recovery for multi-year windows.
* ``trend`` is a smooth, per-symbol drift (moving average of shocks) so relative momentum
  persists, which gives the rotation universe something to rotate on.
* Derived series: QQQM is QQQ at a lower price level (identical returns), VOO tracks SPY,
  TQQQ / SOXL are daily-reset 3x QQQ / SOXX close-to-close returns minus a 0.95%/yr fee, and
  BOXX / BIL accrue ~4.5% / ~3.5% a year with tiny noise.

Prices are not rounded to cents so that identities such as the 3x daily reset hold to
floating-point precision. The path depends jointly on ``(start, end, seed)``: a sub-window is
*not* a slice of the default window.

Stock-selection profiles get synthetic single stocks, 2x single-stock products and a
point-in-time universe table with sectors, weights and membership changes
(:func:`demo_stock_prices`, :func:`demo_all_prices`, :func:`demo_universe`; specs and model
in :mod:`us_equity_strategies.demo_stocks`). They share the ETFs' factor path but draw their
own noise from ``default_rng([seed, 1])`` / ``[seed, 2]``, so :func:`demo_prices` is the same
with or without them. Like everything here: synthetic, **not market data**.
"""

import functools
from datetime import date

import numpy as np
import pandas as pd

from us_equity_strategies import calendar

__all__ = [
    "DEMO_AS_OF",
    "DEMO_SEED",
    "DEMO_START",
    "DEMO_SYMBOLS",
    "LEVERAGED_FEE",
    "demo_all_prices",
    "demo_all_prices_cached",
    "demo_prices",
    "demo_prices_cached",
    "demo_stock_prices",
    "demo_universe",
    "demo_universe_cached",
]

DEMO_SEED: int = 20240101
DEMO_START: date = date(2018, 1, 2)
DEMO_AS_OF: date = date(2024, 12, 31)

#: Annual expense ratio charged daily (``fee / 252``) on the 3x products.
LEVERAGED_FEE: float = 0.0095

_TRADING_DAYS = 252.0
_LOG_RETURN_CLIP = 0.25  # keeps 3x daily returns far from -100% whatever the seed

# Factor order used by the loadings below.
_FACTORS = ("mkt", "tech", "semi", "comm", "bond", "intl", "em")
_FACTOR_VOL = np.array([0.0100, 0.0060, 0.0100, 0.0090, 0.0030, 0.0050, 0.0070])
# Which factors get the regime volatility multiplier (commodities and bonds keep their own).
_FACTOR_REGIME_VOL = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])

# Regime path as (end fraction of the window, market drift/yr, vol multiplier,
# commodity drift/yr, bond drift/yr). Tech and semis drifts follow the market drift.
_REGIMES = (
    (0.27, 0.18, 0.90, 0.00, 0.02),  # bull
    (0.30, -1.50, 2.60, -0.30, 0.06),  # crash (~-27% market, ~-37% QQQ in ~2 months)
    (0.55, 0.35, 1.10, 0.10, 0.02),  # rebound
    (0.72, -0.22, 1.40, 0.30, -0.06),  # bear: commodities up, bonds down
    (1.00, 0.25, 0.85, -0.05, 0.03),  # recovery
)

_TREND_WINDOW = 126  # sessions; smoothing window of the per-symbol trend drift

# symbol: (start price, alpha/yr, {factor: loading}, idio daily vol, trend vol/yr, volume)
_FACTOR_SPECS: dict[str, tuple[float, float, dict[str, float], float, float, float]] = {
    "QQQ": (150.0, 0.00, {"mkt": 1.15, "tech": 1.0}, 0.002, 0.00, 4.0e7),
    "SPY": (265.0, 0.00, {"mkt": 1.0}, 0.001, 0.00, 7.0e7),
    "SOXX": (180.0, 0.00, {"mkt": 1.35, "tech": 1.3, "semi": 1.0}, 0.004, 0.05, 1.0e6),
    "SMH": (100.0, 0.01, {"mkt": 1.30, "tech": 1.3, "semi": 0.95}, 0.004, 0.10, 6.0e6),
    "XLK": (65.0, 0.02, {"mkt": 1.10, "tech": 0.9}, 0.003, 0.08, 9.0e6),
    "SPYI": (48.0, 0.03, {"mkt": 0.60}, 0.002, 0.00, 8.0e5),
    "QQQI": (50.0, 0.03, {"mkt": 0.60, "tech": 0.5}, 0.0025, 0.00, 5.0e5),
    "EFA": (70.0, 0.00, {"mkt": 0.75, "intl": 1.0}, 0.002, 0.05, 2.0e7),
    "EEM": (47.0, 0.00, {"mkt": 0.80, "intl": 0.7, "em": 1.0}, 0.003, 0.08, 4.0e7),
    "AGG": (108.0, 0.00, {"mkt": 0.02, "bond": 1.0}, 0.0008, 0.01, 6.0e6),
    "EWY": (75.0, 0.00, {"mkt": 0.90, "intl": 0.6, "em": 0.9, "tech": 0.4}, 0.008, 0.15, 4.0e6),
    "EWT": (36.0, 0.03, {"mkt": 0.90, "intl": 0.5, "em": 0.7, "semi": 0.5}, 0.007, 0.15, 5.0e6),
    "INDA": (36.0, 0.06, {"mkt": 0.70, "intl": 0.4, "em": 0.8}, 0.008, 0.15, 4.0e6),
    "FXI": (45.0, -0.06, {"mkt": 0.80, "intl": 0.5, "em": 1.2}, 0.011, 0.20, 3.0e7),
    "EWJ": (60.0, 0.00, {"mkt": 0.70, "intl": 0.9}, 0.005, 0.10, 6.0e6),
    "VGK": (57.0, 0.00, {"mkt": 0.80, "intl": 1.1}, 0.004, 0.10, 4.0e6),
    "GLD": (125.0, 0.05, {"mkt": -0.05, "comm": 0.5, "bond": 0.3}, 0.007, 0.10, 8.0e6),
    "SLV": (16.0, 0.02, {"mkt": 0.20, "comm": 0.9}, 0.014, 0.15, 2.0e7),
    "USO": (12.0, -0.02, {"mkt": 0.40, "comm": 1.6}, 0.015, 0.20, 2.0e7),
    "DBA": (18.0, 0.00, {"comm": 0.5}, 0.006, 0.10, 1.0e6),
    "XLE": (70.0, 0.00, {"mkt": 0.90, "comm": 1.0}, 0.008, 0.15, 2.0e7),
    "XLF": (27.0, -0.01, {"mkt": 1.10}, 0.006, 0.10, 5.0e7),
    "ITA": (190.0, 0.02, {"mkt": 1.00}, 0.006, 0.10, 5.0e5),
    "XLP": (55.0, 0.01, {"mkt": 0.55}, 0.004, 0.08, 1.0e7),
    "XLU": (52.0, 0.02, {"mkt": 0.45, "bond": 0.6}, 0.006, 0.08, 1.2e7),
    "XLV": (85.0, 0.02, {"mkt": 0.70}, 0.005, 0.08, 8.0e6),
    "IHI": (48.0, 0.02, {"mkt": 0.90}, 0.006, 0.10, 1.0e6),
    "VNQ": (82.0, -0.01, {"mkt": 0.85, "bond": 0.8}, 0.006, 0.10, 5.0e6),
    "KRE": (60.0, -0.03, {"mkt": 1.25}, 0.009, 0.15, 1.0e7),
}

# Derived series: symbol -> (kind, base symbol, start price, parameter, volume).
# "scale": same returns as base; "track": base log return + N(0, parameter) noise;
# "lev": daily reset, parameter = leverage; "cash": parameter = annual yield.
_DERIVED_SPECS: dict[str, tuple[str, str, float, float, float]] = {
    "QQQM": ("scale", "QQQ", 65.0, 0.0, 2.0e6),
    "VOO": ("track", "SPY", 245.0, 0.0002, 5.0e6),
    "TQQQ": ("lev", "QQQ", 40.0, 3.0, 6.0e7),
    "SOXL": ("lev", "SOXX", 30.0, 3.0, 5.0e7),
    "BOXX": ("cash", "", 100.0, 0.045, 1.5e6),
    "BIL": ("cash", "", 91.0, 0.035, 6.0e6),
}
_CASH_NOISE = {"BOXX": 0.00015, "BIL": 0.00005}

DEMO_SYMBOLS: tuple[str, ...] = tuple(sorted({*_FACTOR_SPECS, *_DERIVED_SPECS}))


def _regime_paths(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-session factor drifts (n, F), volatility multipliers (n,) and regime ids (n,)."""
    drift = np.zeros((n, len(_FACTORS)))
    vol_mult = np.ones(n)
    regime = np.zeros(n, dtype=np.int64)
    position = (np.arange(n) + 0.5) / n  # session midpoints as fractions of the window
    start = 0.0
    for i, (end, mkt, vmult, comm, bond) in enumerate(_REGIMES):
        sel = (position >= start) & (position < end)
        regime[sel] = i
        drift[sel] = (mkt, 0.3 * mkt, 0.1 * mkt, comm, bond, 0.0, 0.0)
        vol_mult[sel] = vmult
        start = end
    return drift / _TRADING_DAYS, vol_mult, regime


def _market_factors(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily factor log returns (n, F) and regime volatility multipliers (n,).

    Draws exactly one ``(n, F)`` standard-normal block from ``rng``. :mod:`demo_stocks` calls
    it on a fresh ``default_rng(seed)`` so single stocks share the ETFs' factor path.
    """
    z_factor = rng.standard_normal((n, len(_FACTORS)))
    drift, vol_mult, regime = _regime_paths(n)
    # Demean factor shocks within each regime so every regime delivers its designed factor
    # return for any seed (the drawdown and recovery are part of the demo's contract);
    # daily volatility is kept, and symbols still differ through idiosyncratic shocks.
    for i in np.unique(regime):
        sel = regime == i
        if sel.sum() > 1:
            z_factor[sel] -= z_factor[sel].mean(axis=0)
    regime_vol = np.where(_FACTOR_REGIME_VOL > 0, vol_mult[:, None], 1.0)
    return drift + _FACTOR_VOL * regime_vol * z_factor, vol_mult


def _ohlc_from_close(
    close: np.ndarray, prev_close: np.ndarray, sigma: np.ndarray, zg, zh, zl
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open with a gap from the previous close; high/low extend beyond open/close."""
    open_ = prev_close * np.exp(0.3 * sigma * zg)
    high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(zh))
    low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(zl))
    return open_, high, low


def demo_prices(
    start: date = DEMO_START, end: date = DEMO_AS_OF, seed: int = DEMO_SEED
) -> pd.DataFrame:
    """Generate synthetic daily OHLCV bars for :data:`DEMO_SYMBOLS`.

    Parameters
    ----------
    start, end : datetime.date
        Inclusive window; one row per NYSE session in it, per symbol.
    seed : int
        Seed for ``numpy.random.default_rng``; same inputs give identical output.

    Returns
    -------
    pandas.DataFrame
        Long table with columns ``date`` (datetime64[ns], naive midnight), ``symbol`` (str),
        ``open``, ``high``, ``low``, ``close``, ``volume`` (float64), sorted by
        ``(symbol, date)`` with a fresh ``RangeIndex``.

    Raises
    ------
    ValueError
        If the window contains no NYSE session.

    Notes
    -----
    Synthetic data for demos and tests only; it is not, and does not imitate, real prices
    beyond plausible levels and volatilities.
    """
    days = calendar.sessions(start, end)
    n = len(days)
    if n == 0:
        raise ValueError(f"no NYSE sessions between {start} and {end}")

    factor_syms = tuple(_FACTOR_SPECS)
    k = len(factor_syms)
    col = {s: j for j, s in enumerate(DEMO_SYMBOLS)}
    m = len(DEMO_SYMBOLS)

    # Draw every random number up front, in a fixed order and shape, so the output is a pure
    # function of (start, end, seed) and the specs above.
    rng = np.random.default_rng(seed)
    factors, vol_mult = _market_factors(rng, n)  # first draw: the factor shocks
    z_idio = rng.standard_normal((n, k))
    z_trend = rng.standard_normal((n + _TREND_WINDOW, k))
    z_gap, z_high, z_low, z_vol = rng.standard_normal((4, n, m))
    z_track = rng.standard_normal((n, m))

    # --- factor-model symbols -------------------------------------------------------------

    p0 = np.array([_FACTOR_SPECS[s][0] for s in factor_syms])
    alpha = np.array([_FACTOR_SPECS[s][1] for s in factor_syms]) / _TRADING_DAYS
    loadings = np.array([[_FACTOR_SPECS[s][2].get(f, 0.0) for f in _FACTORS] for s in factor_syms])
    idio = np.array([_FACTOR_SPECS[s][3] for s in factor_syms])
    trend_vol = np.array([_FACTOR_SPECS[s][4] for s in factor_syms])

    # Moving average of white noise over _TREND_WINDOW sessions has unit variance after
    # rescaling by sqrt(window): a smooth, persistent per-symbol drift.
    csum = np.cumsum(z_trend, axis=0)
    trend = (csum[_TREND_WINDOW:] - csum[:-_TREND_WINDOW]) / np.sqrt(_TREND_WINDOW)
    trend *= trend_vol / _TRADING_DAYS

    log_ret = alpha + factors @ loadings.T + idio * vol_mult[:, None] * z_idio + trend
    np.clip(log_ret, -_LOG_RETURN_CLIP, _LOG_RETURN_CLIP, out=log_ret)

    close = np.empty((n, m))
    prev_close = np.empty((n, m))
    base_close: dict[str, np.ndarray] = {}
    for j, sym in enumerate(factor_syms):
        path = p0[j] * np.exp(np.cumsum(log_ret[:, j]))
        base_close[sym] = path
        close[:, col[sym]] = path
        prev_close[0, col[sym]] = p0[j]

    # --- derived symbols --------------------------------------------------------------------
    lev_base: dict[str, tuple[str, float]] = {}
    for sym, (kind, base, start_px, param, _vol) in _DERIVED_SPECS.items():
        c = col[sym]
        prev_close[0, c] = start_px
        if kind == "scale":
            close[:, c] = base_close[base] * (start_px / _FACTOR_SPECS[base][0])
        elif kind == "track":
            lr = log_ret[:, factor_syms.index(base)] + param * z_track[:, c]
            close[:, c] = start_px * np.exp(np.cumsum(lr))
        elif kind == "cash":
            lr = np.log1p(param) / _TRADING_DAYS + _CASH_NOISE[sym] * z_track[:, c]
            close[:, c] = start_px * np.exp(np.cumsum(lr))
        else:  # "lev": simple returns of the base's closes, so the identity is exact
            b = base_close[base]
            base_ret = b / np.concatenate(([_FACTOR_SPECS[base][0]], b[:-1])) - 1.0
            growth = 1.0 + param * base_ret - LEVERAGED_FEE / _TRADING_DAYS
            close[:, c] = start_px * np.cumprod(growth)
            lev_base[sym] = (base, param)
    prev_close[1:] = close[:-1]

    # --- OHLC and volume ----------------------------------------------------------------------
    # Per-symbol typical daily volatility, scaled by the regime so crash days have wide bars.
    # (Returns against prev_close include the first session, so a 1-session window works.)
    day_log_ret = np.log(close / prev_close)
    sigma = np.std(day_log_ret, axis=0) * vol_mult[:, None]
    open_, high, low = _ohlc_from_close(close, prev_close, sigma, z_gap, z_high, z_low)
    for sym, (base, lev) in lev_base.items():
        # Leveraged bars follow the base's intraday path, levered from the previous close.
        c, cb = col[sym], col[base]
        rel = prev_close[:, c]
        for arr in (open_, high, low):
            arr[:, c] = rel * np.maximum(1.0 + lev * (arr[:, cb] / prev_close[:, cb] - 1.0), 0.01)
        high[:, c] = np.maximum.reduce([high[:, c], low[:, c], open_[:, c], close[:, c]])
        low[:, c] = np.minimum.reduce([high[:, c], low[:, c], open_[:, c], close[:, c]])
    for sym, (kind, base, start_px, _param, _vol) in _DERIVED_SPECS.items():
        if kind == "scale":  # same bars as the base, rescaled
            ratio = start_px / _FACTOR_SPECS[base][0]
            for arr in (open_, high, low):
                arr[:, col[sym]] = arr[:, col[base]] * ratio

    base_volume = np.array(
        [_FACTOR_SPECS[s][5] if s in _FACTOR_SPECS else _DERIVED_SPECS[s][4] for s in DEMO_SYMBOLS]
    )
    # Volume rises on big-move days (capped at e^2 x), with lognormal day-to-day noise.
    activity = np.exp(0.25 * z_vol + np.minimum(20.0 * np.abs(day_log_ret), 2.0))
    volume = np.maximum(np.round(base_volume * activity), 1.0)

    # --- long frame, sorted by (symbol, date) ---------------------------------------------
    epoch = date(1970, 1, 1).toordinal()
    day_index = np.array([d.toordinal() - epoch for d in days], dtype="int64")
    dates_ns = day_index.astype("datetime64[D]").astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "date": np.tile(dates_ns, m),
            "symbol": pd.array(np.repeat(np.array(DEMO_SYMBOLS, dtype=object), n), dtype="str"),
            # Transpose so each symbol's block of sessions is contiguous (symbol-major order).
            "open": open_.T.ravel(),
            "high": high.T.ravel(),
            "low": low.T.ravel(),
            "close": close.T.ravel(),
            "volume": volume.T.ravel(),
        }
    )


@functools.lru_cache(maxsize=1)
def _default_demo_prices() -> pd.DataFrame:
    return demo_prices()


def demo_prices_cached() -> pd.DataFrame:
    """Return ``demo_prices()`` for the default window and seed, generated once per process.

    Returns
    -------
    pandas.DataFrame
        A copy of the cached frame, so callers may mutate it freely without corrupting
        the cache (copying is much cheaper than regenerating).
    """
    return _default_demo_prices().copy()


def demo_stock_prices(
    start: date = DEMO_START, end: date = DEMO_AS_OF, seed: int = DEMO_SEED
) -> pd.DataFrame:
    """Synthetic OHLCV bars of the demo single stocks and 2x products (not market data).

    Same columns, dtypes and order as :func:`demo_prices`; symbols that list or delist inside
    the window (:data:`demo_stocks.LISTED`, :data:`demo_stocks.LEAVES`) have rows only while
    listed. Symbols: :data:`demo_stocks.STOCK_SYMBOLS` + :data:`demo_stocks.PRODUCT_SYMBOLS`.
    Raises ValueError if the window has no NYSE session.
    """
    from .demo_stocks import stock_prices

    return stock_prices(start, end, seed)


def demo_all_prices(
    start: date = DEMO_START, end: date = DEMO_AS_OF, seed: int = DEMO_SEED
) -> pd.DataFrame:
    """:func:`demo_prices` and :func:`demo_stock_prices` in one long table, sorted by
    ``(symbol, date)`` with a fresh ``RangeIndex`` (the ETF rows equal :func:`demo_prices`)."""
    from .demo_stocks import merge_sorted

    return merge_sorted(demo_prices(start, end, seed), demo_stock_prices(start, end, seed))


def demo_universe(
    start: date = DEMO_START, end: date = DEMO_AS_OF, seed: int = DEMO_SEED
) -> pd.DataFrame:
    """The synthetic point-in-time universe of the demo stocks (not market data).

    Returns
    -------
    pandas.DataFrame
        ``symbol, sector, start_date, end_date, weight``: inclusive dates (``NaT`` = open;
        the convention of :func:`universe.load_universe`), one row per member per calendar
        quarter, ``weight`` = market cap in percent of all members' caps at the last session
        before the row starts. UBER, TSLA and PLTR join mid-window, TWTR and ATVI leave;
        sectors are GICS labels plus the iShares ``Communication`` (NFLX, DIS, TMUS).
    """
    from .demo_stocks import universe_table

    return universe_table(start, end, seed)


@functools.lru_cache(maxsize=1)
def _default_all_prices() -> pd.DataFrame:
    return demo_all_prices()


@functools.lru_cache(maxsize=1)
def _default_universe() -> pd.DataFrame:
    return demo_universe()


def demo_all_prices_cached() -> pd.DataFrame:
    """``demo_all_prices()`` for the default window and seed, generated once (a copy)."""
    return _default_all_prices().copy()


def demo_universe_cached() -> pd.DataFrame:
    """``demo_universe()`` for the default window and seed, generated once (a copy)."""
    return _default_universe().copy()
