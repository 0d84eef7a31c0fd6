"""Monthly stock profile backtest over the S&P 500 point-in-time universe, 2005-2024.

Target (issue 4): under 60 s. russell_1000_multi_factor_defensive with the S&P 500 membership
(../shared/data/universe/sp500_membership.csv, sectors.csv) as its universe; stock volume ends
2024-03-08 in the data bundle, so later month-ends have no eligible names (100% BOXX).
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import pandas as pd
from _common import write_result
from bench_features import DATA, sp500_members

TARGET_S = 60.0


def main() -> None:
    from us_equity_strategies.backtest import BacktestConfig, run_backtest
    from us_equity_strategies.prices import normalize_prices
    from us_equity_strategies.universe import attach_sectors, load_membership, load_sectors

    if not (DATA / "daily" / "adj_close.parquet").exists():
        write_result("backtest_monthly", {"skipped": f"no data under {DATA}"})
        return
    t0 = time.perf_counter()
    stocks = sp500_members()
    extra = pd.read_parquet(DATA / "daily" / "adj_close.parquet",
                            filters=[("symbol", "in", ["SPY", "BOXX", "BIL"])])
    prices = normalize_prices(pd.concat([stocks, extra]).reset_index(drop=True))
    universe = attach_sectors(load_membership(DATA / "universe" / "sp500_membership.csv"),
                              load_sectors(DATA / "universe" / "sectors.csv"))
    read = time.perf_counter() - t0
    config = BacktestConfig(profile="russell_1000_multi_factor_defensive",
                            start=dt.date(2005, 1, 3), end=dt.date(2024, 12, 31))
    t0 = time.perf_counter()
    result = run_backtest(config, prices, universe,
                          progress=lambda line: print(line, file=sys.stderr))
    total = time.perf_counter() - t0
    print(f"read {read:.1f} s, backtest {total:.1f} s", file=sys.stderr)
    write_result("backtest_monthly", {
        "benchmark": "russell_1000_multi_factor_defensive monthly backtest 2005-2024, "
                     "S&P 500 PIT universe (wall seconds)",
        "target_s": TARGET_S, "read_s": round(read, 3), "backtest_s": round(total, 3),
        "meets_target": total < TARGET_S, "sessions": len(result.sessions),
        "evaluations": len(result.decisions),
        "phase_seconds": {k: round(v, 3) for k, v in result.phase_seconds.items()},
        "cagr": result.summary.get("cagr"), "max_drawdown": result.summary.get("max_drawdown"),
    })


if __name__ == "__main__":
    main()
