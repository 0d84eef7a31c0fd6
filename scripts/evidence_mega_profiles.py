"""Evidence runs of the mega-cap family and dynamic_mega_leveraged_pullback on the data bundle.

Usage::

    python scripts/evidence_mega_profiles.py -o out/evidence_mega [--data ../shared/data]

Writes one backtest output directory per profile under ``-o`` plus ``summary.csv``; progress
goes to stderr. Conventions (docs/evidence/README.md): 2017-10-02 -> 2026-04-16, 5 bps,
next-session execution, default parameters except the published universe lag.

Universe approximation (the historical iShares Russell 1000 weights are not in the bundle):
point-in-time Nasdaq-100 members (``universe/nasdaq100_membership.csv``, FB renamed META),
ranked at every month-end session ``t`` by the trailing 63-session mean dollar volume
(``close x volume`` of ``daily/ohlcv.parquet``, raw close) computed from data ``<= t``, as a
market-cap proxy. The ``weight`` column of the interval ``[t, next month-end - 1 day]`` is that
mean, so the builder at a session ``d`` ranks with data ``<= d``. ohlcv ends 2024-03-08: each
symbol's last 63-session mean is carried forward after its last ohlcv row, and the price table's
``volume`` after that row is that dollar mean divided by the adjusted close (so the builder's
``adv20_usd`` stays the carried dollar volume). Symbols without any ohlcv row never rank.

2x products (NVDL, MSFU, ...) have no prices in the bundle: the engine synthesises them
(``BacktestConfig(synthetic_leverage=True)``, the builder's ``synthetic_products`` = every
available product of the profile's product map): ``P_t = P_{t-1} x (1 + max(2 r_underlying -
fee/252, -1))`` from 100 at the underlying's first close, fee = the map's
``product_expense_ratio`` (0.01; features.md §7.3). ``synthetic={}`` keeps the engine's
default TQQQ/SOXL pairs out of this run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

from us_equity_strategies import calendar
from us_equity_strategies.backtest import BacktestConfig, run_backtest
from us_equity_strategies.backtest._outputs import write_outputs
from us_equity_strategies.builders import synthetic_products
from us_equity_strategies.prices import normalize_prices

START, END = dt.date(2017, 10, 2), dt.date(2026, 4, 16)
PRICE_START = pd.Timestamp("2015-01-01")
UNIVERSE_START = dt.date(2016, 12, 1)
TOP_K = 60  # rows per monthly interval; covers top 50 after issuer de-duplication
ETFS = ("QQQ", "SPY", "BOXX", "BIL")
PULLBACK = "dynamic_mega_leveraged_pullback"
#: The daily pullback run gets only the top-``PULLBACK_ROWS`` rows of each interval (15 issuers
#: after GOOG/GOOGL de-duplication need at most 16) and the prices it reads: those names, the
#: ETFs and the products' underlyings (same selection as the full table, smaller inputs).
PULLBACK_ROWS = 20
#: profile -> overrides; the 21-session lag is the published Top50 validation's universe lag.
RUNS: dict[str, dict] = {
    "mega_cap_leader_rotation_dynamic_top20": {},
    "mega_cap_leader_rotation_aggressive": {"universe_lag_sessions": 21},
    "mega_cap_leader_rotation_top50_balanced": {"universe_lag_sessions": 21},
    "dynamic_mega_leveraged_pullback": {},
}


def log(msg: str) -> None:
    print(f"[evidence] {msg}", file=sys.stderr, flush=True)


def load_membership(data: Path) -> pd.DataFrame:
    m = pd.read_csv(data / "universe" / "nasdaq100_membership.csv", dtype=str,
                    keep_default_na=False)
    m["symbol"] = m["symbol"].str.strip().str.upper().replace({"FB": "META"})
    m["start"] = pd.to_datetime(m["start_date"])
    # half-open file -> inclusive end; open end = far future
    m["end"] = pd.to_datetime(m["end_date"].replace("", "2100-01-01")) - pd.Timedelta(days=1)
    return m[["symbol", "start", "end"]]


def load_tables(data: Path, symbols: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Adjusted closes (long) and the dollar-volume matrix (date x symbol, raw close x volume)."""
    adj = pd.read_parquet(data / "daily" / "adj_close.parquet")
    adj = adj[adj["symbol"].isin(symbols) & (adj["date"] >= PRICE_START)]
    ohlcv = pd.read_parquet(data / "daily" / "ohlcv.parquet",
                            columns=["date", "symbol", "close", "volume"])
    ohlcv = ohlcv[ohlcv["symbol"].isin(symbols) & (ohlcv["date"] >= PRICE_START)]
    dv = (ohlcv.assign(dv=ohlcv["close"].astype("float64") * ohlcv["volume"].astype("float64"))
          .pivot(index="date", columns="symbol", values="dv").sort_index())
    return adj, dv


def dollar_volume_63(adj: pd.DataFrame, dv: pd.DataFrame) -> pd.DataFrame:
    """Trailing 63-row mean dollar volume on the adjusted-close dates, last value carried."""
    dates = pd.DatetimeIndex(sorted(adj["date"].unique()))
    mean63 = dv.rolling(63, min_periods=63).mean()
    return mean63.reindex(mean63.index.union(dates)).ffill().reindex(dates)


def universe_table(members: pd.DataFrame, adv: pd.DataFrame) -> pd.DataFrame:
    """Monthly point-in-time top-``TOP_K`` table with ``weight`` = 63-session dollar volume."""
    ends = [d for d in calendar.sessions(UNIVERSE_START, END)
            if calendar.is_last_session_of_month(d)]
    rows = []
    for i, t in enumerate(ends):
        ts = pd.Timestamp(t)
        active = members[(members["start"] <= ts) & (members["end"] >= ts)]["symbol"].unique()
        row = adv.loc[:ts].iloc[-1] if len(adv.loc[:ts]) else pd.Series(dtype=float)
        w = row.reindex(active).dropna().sort_values(ascending=False).head(TOP_K)
        stop = (pd.Timestamp(ends[i + 1]) - pd.Timedelta(days=1) if i + 1 < len(ends)
                else pd.Timestamp("2100-01-01"))
        rows += [{"symbol": s, "sector": "unknown", "start_date": ts.date().isoformat(),
                  "end_date": stop.date().isoformat(), "weight": float(v)} for s, v in w.items()]
    return pd.DataFrame(rows)


def price_table(adj: pd.DataFrame, dv: pd.DataFrame, adv: pd.DataFrame) -> pd.DataFrame:
    """Long table with ``volume`` = dollar volume / adjusted close (carried mean after ohlcv)."""
    close = adj.pivot(index="date", columns="symbol", values="close").sort_index()
    dollar = dv.reindex(close.index).astype("float64")
    last = dv.apply(lambda s: s.last_valid_index())
    for sym in dollar.columns:
        if last[sym] is not None:
            after = dollar.index > last[sym]
            dollar.loc[after, sym] = adv.loc[after, sym]
    volume = (dollar / close.reindex(columns=dollar.columns)).reindex(columns=close.columns)
    long = close.stack().dropna().rename("close").to_frame()
    long["volume"] = volume.stack().reindex(long.index)
    long = long.reset_index()
    long.columns = ["date", "symbol", "close", "volume"]
    return long


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--outdir", type=Path, required=True)
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap.add_argument("--profiles", nargs="*", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--pullback-cadence", choices=("profile", "weekly"), default="profile",
                    help="cadence of the 2x pullback run: daily (its own) or weekly (the "
                         "published research cadence); weekly writes <profile>_weekly")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    members = load_membership(args.data)
    stocks = sorted(members["symbol"].unique())
    adj, dv = load_tables(args.data, stocks + list(ETFS))
    adv = dollar_volume_63(adj, dv)
    universe = universe_table(members, adv)
    prices = price_table(adj, dv, adv)
    prices = normalize_prices(prices)
    log(f"inputs: {prices['symbol'].nunique()} symbols, {len(universe)} universe rows "
        f"({time.perf_counter() - t0:.1f}s)")
    args.outdir.mkdir(parents=True, exist_ok=True)
    universe.to_csv(args.outdir / "universe_ndx_dollar_volume.csv", index=False)
    rows = []
    for profile in args.profiles:
        t1 = time.perf_counter()
        pullback = profile == PULLBACK
        synthetic = {"synthetic_leverage": True, "synthetic": {},
                     "cadence": args.pullback_cadence} if pullback else {}
        config = BacktestConfig(profile=profile, start=START, end=END, cost_bps=5.0,
                                execution="next_close", overrides=RUNS[profile], **synthetic)
        name = f"{profile}_weekly" if pullback and args.pullback_cadence == "weekly" else profile
        uni, px = universe, prices
        if pullback:
            uni = universe.groupby("start_date", sort=False).head(PULLBACK_ROWS)
            underlyings = {u for u, _, _ in synthetic_products(profile, RUNS[profile]).values()}
            keep = set(uni["symbol"]) | set(ETFS) | underlyings
            px = prices[prices["symbol"].isin(keep)].reset_index(drop=True)
        result = run_backtest(config, px, universe=uni, progress=log)
        write_outputs(result, args.outdir / name, overwrite=args.overwrite)
        s = result.summary
        rows.append({"profile": name, **RUNS[profile], **s})
        log(f"{name}: {time.perf_counter() - t1:.1f}s")
    pd.DataFrame(rows).to_csv(args.outdir / "summary.csv", index=False)
    log(f"done in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
