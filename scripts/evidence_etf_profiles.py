"""Reproduce the numbers in docs/evidence/tqqq_growth_income.md and soxl_soxx_trend_income.md.

Usage::

    python scripts/evidence_etf_profiles.py [PRICES] [--jobs 2]

PRICES defaults to ``../shared/data/daily/adj_close.parquet`` (relative to the repo root).
Prints, for each run, CAGR / MaxDD (with dates) / Sharpe from ``us_equity_strategies.metrics``:

1. buy-and-hold sanity checks of QQQ, TQQQ, SOXX, SOXL on the published windows;
2. the default profiles on the published windows;
3. attribution variants (documented parameters / engine options only; these are
   experiments to explain the gap, **not** recommendations; no rule is changed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from us_equity_strategies import metrics
from us_equity_strategies.backtest import BacktestConfig, run_backtest
from us_equity_strategies.prices import load_prices

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PRICES = ROOT.parent / "shared" / "data" / "daily" / "adj_close.parquet"
SYMBOLS = ["QQQ", "TQQQ", "BOXX", "BIL", "SPYI", "QQQI", "QQQM", "SOXX", "SOXL", "SPY"]

LONG = (dt.date(2011, 1, 3), dt.date(2026, 6, 2))
VIDEO = (dt.date(2017, 1, 3), dt.date(2026, 4, 10))

T = "tqqq_growth_income"
# a guess at the "57" of `live_soxl_soxx_trend_57_proxy` (SOXX weights left at the defaults)
SOXL57 = {"blend_gate_soxl_weight": 0.57, "blend_gate_mid_soxl_weight": 0.57}
S = "soxl_soxx_trend_income"
# name -> (profile, window, overrides, config options)
RUNS: dict[str, tuple[str, tuple[dt.date, dt.date], dict, dict]] = {
    "tqqq default long": (T, LONG, {}, {}),
    "tqqq default 2017-2026": (T, VIDEO, {}, {}),
    "tqqq no pullback long": (T, LONG, {"dual_drive_allow_pullback": False}, {}),
    "tqqq no pullback 2017-2026": (T, VIDEO, {"dual_drive_allow_pullback": False}, {}),
    "tqqq fixed rebound 0 long": (
        T, LONG, {"dual_drive_pullback_rebound_threshold_mode": "fixed"}, {}),
    "tqqq fixed rebound 0 2017-2026": (
        T, VIDEO, {"dual_drive_pullback_rebound_threshold_mode": "fixed"}, {}),
    "tqqq no trade threshold long": (T, LONG, {}, {"trade_threshold": False}),
    "tqqq same_close long": (T, LONG, {}, {"execution": "same_close"}),
    "tqqq same_close 2017-2026": (T, VIDEO, {}, {"execution": "same_close"}),
    "tqqq same_close no pullback long": (
        T, LONG, {"dual_drive_allow_pullback": False}, {"execution": "same_close"}),
    "soxl default long": (S, LONG, {}, {}),
    "soxl SOXL 57% both tiers long": (S, LONG, SOXL57, {}),
    "soxl SOXL 57% same_close long": (S, LONG, SOXL57, {"execution": "same_close"}),
    "soxl same_close long": (S, LONG, {}, {"execution": "same_close"}),
    "soxl no trade threshold long": (S, LONG, {}, {"trade_threshold": False}),
}


def fmt(returns: pd.Series) -> dict:
    """CAGR, MaxDD with peak/trough, Sharpe (rf 0, 252) and the 2022 return."""
    dd = metrics.drawdown_details(returns)
    y2022 = returns[(returns.index >= "2022-01-01") & (returns.index <= "2022-12-31")]
    return {
        "cagr": metrics.cagr(returns),
        "maxdd": metrics.max_drawdown(returns),
        "peak": str(dd.peak_date)[:10] if dd.peak_date is not None else None,
        "trough": str(dd.trough_date)[:10] if dd.trough_date is not None else None,
        "sharpe": metrics.sharpe_ratio(returns),
        "y2022": float((1 + y2022).prod() - 1) if len(y2022) else float("nan"),
    }


def buy_and_hold(prices: pd.DataFrame, symbol: str, window: tuple[dt.date, dt.date]) -> dict:
    """Close-to-close returns of one symbol over the window (first session's return dropped)."""
    s = prices[prices["symbol"] == symbol].set_index("date")["close"].sort_index()
    s = s[(s.index >= pd.Timestamp(window[0])) & (s.index <= pd.Timestamp(window[1]))]
    return fmt(s.pct_change().dropna())


def one(args: tuple[str, str]) -> tuple[str, dict]:
    name, path = args
    profile, (start, end), overrides, options = RUNS[name]
    prices = load_prices(path, symbols=SYMBOLS)
    config = BacktestConfig(profile=profile, start=start, end=end, cost_bps=5.0,
                            overrides=overrides, **options)
    result = run_backtest(config, prices)
    out = fmt(result.portfolio_returns)
    out["turnover"] = result.summary.get("turnover_per_year")
    return name, out


def show(name: str, m: dict) -> None:
    print(f"{name:36s} CAGR {m['cagr']:7.2%}  MaxDD {m['maxdd']:8.2%} "
          f"({m['peak']} -> {m['trough']})  Sharpe {m['sharpe']:.2f}  2022 {m['y2022']:7.2%}",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prices", nargs="?", default=str(DEFAULT_PRICES))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="substring filter on run names")
    args = parser.parse_args(argv)
    prices = load_prices(args.prices, symbols=SYMBOLS)
    print("== buy and hold (close-to-close, from the same data)")
    for sym, window in [("QQQ", VIDEO), ("TQQQ", VIDEO), ("QQQ", LONG), ("TQQQ", LONG),
                        ("SOXX", LONG), ("SOXL", LONG), ("SPY", LONG)]:
        show(f"{sym} B&H {window[0]}..{window[1]}", buy_and_hold(prices, sym, window))
    print("== profile runs (5 bps, next_close unless named)")
    names = [n for n in RUNS if args.only in n]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for name, m in pool.map(one, [(n, args.prices) for n in names]):
            show(name, m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
