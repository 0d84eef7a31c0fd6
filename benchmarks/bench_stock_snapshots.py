"""Snapshot build time of the stock-selection builders (issue 3 targets).

Targets: one Russell-1000-sized snapshot (1,000 symbols x 300 sessions) in under 1 s through
``builders.build_snapshot`` (features, eligibility, validation); every month-end snapshot of
2005-2024 for the S&P 500 point-in-time universe in under 30 s (features computed once with
``builder.panel`` and sliced per month-end with ``build_from_panel``, as a backtest does).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

import pandas as pd
from _common import write_result
from bench_features import DATA, sp500_members, synthetic, time_it

TARGET_SINGLE_S = 1.0
TARGET_MONTH_ENDS_S = 30.0


def single_snapshot() -> dict:
    from us_equity_strategies import builders

    prices = synthetic(1000, 300)
    as_of = prices["date"].max().date()
    symbols = sorted(set(prices["symbol"]) - {"SPY"})
    universe = pd.DataFrame({"symbol": symbols,
                             "sector": [f"Sector{i % 11}" for i in range(len(symbols))]})
    spy = prices[prices["symbol"] == symbols[0]].assign(symbol="SPY")
    prices = pd.concat([prices, spy]).sort_values(["symbol", "date"]).reset_index(drop=True)
    timing = time_it(lambda: builders.build_snapshot(
        "russell_1000_multi_factor_defensive", prices, as_of, universe=universe), 5)
    print(f"  russell build_snapshot 1,000 x 300: {timing}", file=sys.stderr)
    return {"seconds": timing, "target_s": TARGET_SINGLE_S,
            "meets_target": timing["min"] < TARGET_SINGLE_S}


def month_ends() -> dict:
    from us_equity_strategies import calendar
    from us_equity_strategies.builders import russell_1000_multi_factor_defensive as builder
    from us_equity_strategies.entrypoints.russell_1000_multi_factor_defensive import Parameters
    from us_equity_strategies.manifests import load_manifest, packaged_manifest_path
    from us_equity_strategies.universe import attach_sectors, load_membership, load_sectors

    prices = sp500_members()
    if prices is None:
        return {"skipped": f"no data under {DATA}"}
    spy = pd.read_parquet(DATA / "daily" / "adj_close.parquet", filters=[("symbol", "==", "SPY")])
    from us_equity_strategies.prices import normalize_prices

    prices = normalize_prices(pd.concat([prices, spy]).reset_index(drop=True))
    members = attach_sectors(load_membership(DATA / "universe" / "sp500_membership.csv"),
                             load_sectors(DATA / "universe" / "sectors.csv"))
    manifest = load_manifest(packaged_manifest_path("russell_1000_multi_factor_defensive"))
    params = Parameters.model_validate(manifest.parameters)
    days = [calendar.last_session_of_month(y, m) for y in range(2005, 2025) for m in range(1, 13)]
    t0, c0 = time.perf_counter(), time.process_time()
    panel = builder.panel(prices)
    t1 = time.perf_counter()
    rows = 0
    for day in days:
        rows += len(builder.build_from_panel(panel, day, params, members))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"  {len(days)} month-ends: {wall:.2f} s wall ({cpu:.2f} s cpu), panel "
          f"{t1 - t0:.2f} s", file=sys.stderr)
    return {"month_ends": len(days), "rows": rows, "panel_seconds": round(t1 - t0, 3),
            "total_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
            "target_s": TARGET_MONTH_ENDS_S, "meets_target": wall < TARGET_MONTH_ENDS_S}


def main() -> None:
    payload = {"benchmark": "stock-selection snapshot builds",
               "load_average_1m_at_start": round(os.getloadavg()[0], 2),
               "date": dt.date.today().isoformat()}
    payload["russell_single_1000x300"] = single_snapshot()
    payload["russell_sp500_month_ends_2005_2024"] = month_ends()
    payload["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    write_result("stock_snapshots", payload)


if __name__ == "__main__":
    main()
