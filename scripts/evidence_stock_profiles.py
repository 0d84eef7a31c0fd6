"""Evidence runs of the two monthly stock-selection profiles on the real data bundle.

Runs ``russell_1000_multi_factor_defensive`` and ``tech_communication_pullback_enhancement``
with the evidence conventions (spec/evidence.md): 5 bps per trade, next-session execution,
default parameters, over

* ``full``: the reference window 2018-01-02 -> 2026-04-02 (stock volume in the bundle ends
  2024-03-08, so ``adv20_usd`` is NaN afterwards and no stock is eligible: 100% BOXX tail);
* ``volume``: 2018-01-02 -> 2024-02-29, the data-complete window;
* ``carry_adv`` (tech only): the full window with the builder's documented research option
  ``panel(..., carry_forward_adv=True)`` (each symbol's last known ADV20 carried forward).
  The backtester has no switch for it, so this script swaps the builder's ``precompute`` for
  one that passes the flag; the profile rules and every other feature are unchanged.

Universe: S&P 500 point-in-time membership (``universe/sp500_membership.csv``) with
``universe/sectors.csv`` -- the documented stand-in for the Russell 1000 history, which is not
in the bundle. ``FB`` membership rows are mapped to ``META`` (prices are keyed by the 2026
ticker). Each run's output directory is written under ``-o``; a JSON digest of the summaries
and calendar-year returns is printed to stdout.

Usage::

    python scripts/evidence_stock_profiles.py -o out/evidence [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
import time
from pathlib import Path

import pandas as pd

RUSSELL = "russell_1000_multi_factor_defensive"
TECH = "tech_communication_pullback_enhancement"
FULL = (dt.date(2018, 1, 2), dt.date(2026, 4, 2))
VOLUME = (dt.date(2018, 1, 2), dt.date(2024, 2, 29))
PRICE_START = pd.Timestamp("2015-01-01")  # >= 3 years of history before the first decision
EXTRA = ["SPY", "QQQ", "BOXX", "BIL"]
RENAMES = {"FB": "META"}  # membership ticker -> price ticker


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(data: Path, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prices with stock volume, S&P 500 PIT universe with sectors and renames applied)."""
    from us_equity_strategies.prices import normalize_prices, volume_on_close_basis
    from us_equity_strategies.universe import attach_sectors, load_membership, load_sectors

    members = load_membership(data / "universe" / "sp500_membership.csv")
    members["symbol"] = members["symbol"].replace(RENAMES)
    stop = pd.Timestamp(end)
    overlap = (members["start_date"] <= stop) & (members["end_date"].isna()
                                                 | (members["end_date"] >= PRICE_START))
    symbols = sorted(set(members.loc[overlap, "symbol"]))
    dates = [("date", ">=", PRICE_START), ("date", "<=", stop)]
    stocks = pd.read_parquet(data / "daily" / "adj_close.parquet",
                             filters=[("symbol", "in", symbols), *dates])
    volume = pd.read_parquet(data / "daily" / "ohlcv.parquet",
                             columns=["date", "symbol", "close", "volume"],
                             filters=[("symbol", "in", symbols), *dates])
    stocks = stocks.merge(volume.rename(columns={"close": "raw_close"}), on=["date", "symbol"],
                          how="left")
    # Builders compute dollar volume as close x volume. ohlcv's volume is split-adjusted as of
    # 2024-03 and its close*volume is the traded dollar volume (data/README.md), while
    # adj_close.parquet's closes are adjusted as of 2026-08 (NVDA's 2024 10:1 split, ...): put
    # the volume on the closes' basis so that close x volume is the traded dollar volume.
    stocks["volume"] = volume_on_close_basis(stocks["close"], stocks["volume"],
                                             stocks["raw_close"])
    stocks = stocks.drop(columns="raw_close")
    extra = pd.read_parquet(data / "daily" / "adj_close.parquet",
                            filters=[("symbol", "in", [s for s in EXTRA if s not in symbols]),
                                     *dates])
    prices = normalize_prices(pd.concat([stocks, extra]).reset_index(drop=True))
    universe = attach_sectors(members, load_sectors(data / "universe" / "sectors.csv"))
    have = set(prices["symbol"])
    missing = sorted(set(symbols) - have)
    log(f"universe: {len(symbols)} S&P 500 members overlap the window, {len(missing)} have "
        f"no price rows (delisted/acquired, survivorship)")
    return prices, universe


@contextlib.contextmanager
def carry_adv_precompute():
    """Swap the tech builder's ``precompute`` for one with ``carry_forward_adv=True``.

    Only the backtest fast path changes; the rules and every other feature are unchanged.
    """
    from us_equity_strategies.builders import tech_communication_pullback_enhancement as mod

    original = mod.precompute

    def precompute(prices, params, *, universe):  # same signature as the builder's
        return mod.panel(prices, carry_forward_adv=True)

    mod.precompute = precompute
    try:
        yield
    finally:
        mod.precompute = original


def calendar_years(result) -> dict[str, float]:
    r = result.portfolio_returns.dropna()
    years = (1 + r).groupby(r.index.year).prod() - 1
    return {str(y): round(float(v), 4) for y, v in years.items()}


def boxx_share(result) -> float:
    """Fraction of sessions whose end-of-day weights are >= 99% BOXX."""
    w = result.weights_history
    if "BOXX" not in w.columns:
        return 0.0
    return round(float((w["BOXX"] >= 0.99).mean()), 4)


def run(name: str, profile: str, window: tuple[dt.date, dt.date], prices, universe,
        out: Path, carry: bool = False) -> dict:
    from us_equity_strategies.backtest import BacktestConfig, run_backtest, write_outputs

    config = BacktestConfig(profile=profile, start=window[0], end=window[1], cost_bps=5.0,
                            execution="next_close")
    log(f"[{name}] {profile} {window[0]} -> {window[1]}"
        f"{' (carry-forward ADV)' if carry else ''}")
    t0 = time.perf_counter()
    if carry:
        with carry_adv_precompute():
            result = run_backtest(config, prices, universe, progress=log)
    else:
        result = run_backtest(config, prices, universe, progress=log)
    seconds = time.perf_counter() - t0
    write_outputs(result, out / name, overwrite=True,
                  extra={"evidence_run": name, "carry_forward_adv": carry,
                         "universe": "sp500_membership.csv + sectors.csv, FB->META"})
    s = result.summary
    log(f"[{name}] {seconds:.1f} s: CAGR {s['cagr']:.4f} MaxDD {s['max_drawdown']:.4f}")
    keys = ("start", "end", "n_periods", "total_return", "cagr", "annual_volatility",
            "sharpe_ratio", "max_drawdown", "max_drawdown_peak", "max_drawdown_trough",
            "max_drawdown_recovery", "turnover_per_year", "time_in_market")
    bench = result.benchmark_returns.dropna()
    return {"profile": profile, "benchmark": result.benchmark, "seconds": round(seconds, 1),
            "summary": {k: s.get(k) for k in keys},
            "benchmark_cagr": round(float((1 + bench).prod() ** (252 / len(bench)) - 1), 4),
            "sessions_all_boxx": boxx_share(result),
            "calendar_years": calendar_years(result), "warnings": result.warnings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--outdir", required=True, type=Path,
                        help="directory receiving one backtest output dir per run")
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data",
                        help="data bundle root (default ../shared/data)")
    parser.add_argument("--only", choices=["russell", "tech"], help="run one profile")
    args = parser.parse_args(argv)
    if not (args.data / "daily" / "adj_close.parquet").exists():
        parser.error(f"no data bundle under {args.data}")
    t0 = time.perf_counter()
    prices, universe = load(args.data, FULL[1])
    log(f"loaded {len(prices):,} price rows in {time.perf_counter() - t0:.1f} s")
    runs = []
    if args.only in (None, "russell"):
        runs += [("russell_full", RUSSELL, FULL, False),
                 ("russell_volume", RUSSELL, VOLUME, False)]
    if args.only in (None, "tech"):
        runs += [("tech_full", TECH, FULL, False), ("tech_volume", TECH, VOLUME, False),
                 ("tech_carry_adv", TECH, FULL, True)]
    args.outdir.mkdir(parents=True, exist_ok=True)
    digest = {name: run(name, profile, window, prices, universe, args.outdir, carry)
              for name, profile, window, carry in runs}
    text = json.dumps(digest, indent=1, sort_keys=True, default=str)
    (args.outdir / "evidence_digest.json").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
