"""Small accounts on real data: the ETF profiles at $1,000, $10,000 and $100,000 in whole shares.

Usage::

    python scripts/evidence_small_accounts.py [PRICES] [--jobs 2] [--json OUT.json]

PRICES defaults to ``../shared/data/daily/adj_close.parquet``. Each profile runs over its
evidence window (5 bps, next-session close) once with fractional shares at $100,000 (the
reference) and once per account size with ``integer_shares=True``. Printed per run: CAGR,
MaxDD, the annualised return gap to the fractional run, the mean cash weight, the share of
sessions holding cash above 5 %, and the warnings the account raised (targets scaled to the cash
available, trades under the profile's threshold, unpriced targets). This is what
docs/evidence/small_accounts.md reports; it does not change any rule.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from us_equity_strategies import builders, metrics
from us_equity_strategies.backtest import BacktestConfig, run_backtest
from us_equity_strategies.prices import load_prices

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PRICES = ROOT.parent / "shared" / "data" / "daily" / "adj_close.parquet"
WINDOWS = {
    "tqqq_growth_income": (dt.date(2011, 1, 3), dt.date(2026, 6, 2)),
    "soxl_soxx_trend_income": (dt.date(2011, 1, 3), dt.date(2026, 6, 2)),
    "global_etf_rotation": (dt.date(2015, 1, 2), dt.date(2026, 6, 1)),
}
#: (label, initial equity, whole shares)
ACCOUNTS = (("fractional $100,000", 100_000.0, False), ("$100,000", 100_000.0, True),
            ("$10,000", 10_000.0, True), ("$1,000", 1_000.0, True))


def _run(job: tuple[str, str, float, bool, str]) -> dict:
    profile, label, equity, whole, path = job
    symbols = sorted({*builders.builder_symbols(profile), "BIL", "SPY", "QQQ"})
    prices = load_prices(path, symbols=symbols)
    start, end = WINDOWS[profile]
    config = BacktestConfig(profile=profile, start=start, end=end, initial_equity=equity,
                            integer_shares=whole, cost_bps=5.0, execution="next_close")
    r = run_backtest(config, prices)
    cash = r.weights_history["CASH"]
    return {"profile": profile, "account": label, "initial_equity": equity,
            "integer_shares": whole, "run_id": r.run_id,
            "cagr": metrics.cagr(r.portfolio_returns),
            "max_drawdown": metrics.max_drawdown(r.portfolio_returns),
            "final_equity": float(r.equity.iloc[-1]),
            "mean_cash_weight": float(cash.mean()),
            "sessions_cash_over_5pct": float((cash > 0.05).mean()),
            "warnings": dict(r.warnings)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("prices", nargs="?", type=Path, default=DEFAULT_PRICES)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args(argv)
    if not args.prices.exists():
        print(f"error: {args.prices} not found (needs ../shared/data)", file=sys.stderr)
        return 3
    jobs = [(p, label, eq, whole, str(args.prices))
            for p in WINDOWS for label, eq, whole in ACCOUNTS]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(_run, jobs))
    reference = {r["profile"]: r["cagr"] for r in rows if not r["integer_shares"]}
    print("| profile | account | CAGR | gap vs fractional | MaxDD | mean cash | sessions with "
          "cash > 5% | targets scaled | trades under threshold |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        gap = r["cagr"] - reference[r["profile"]]
        w = r["warnings"]
        print(f"| {r['profile']} | {r['account']} | {r['cagr']:.2%} | {gap:+.2%} | "
              f"{r['max_drawdown']:.2%} | {r['mean_cash_weight']:.2%} | "
              f"{r['sessions_cash_over_5pct']:.1%} | {w.get('targets_scaled', 0)} | "
              f"{w.get('below_trade_threshold', 0)} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
