"""In-process latency of `runner.evaluate` per ETF profile (snapshot already in memory).

Target (issue 2): under 2 ms per evaluation. Includes parameter resolution, snapshot
validation, the profile itself, the contract checks and the small-account assessment.
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import ETF_PROFILES, VALUE_MODE, write_result

WARMUP = 50
RUNS = 1000
TARGET_MS = 2.0


def main() -> None:
    from us_equity_strategies import builders, demo, runner
    from us_equity_strategies.contract import EvaluationContext, Portfolio

    prices = demo.demo_prices_cached()
    rows = {}
    for profile in ETF_PROFILES:
        snap = builders.build_snapshot(profile, prices, demo.DEMO_AS_OF)
        portfolio = Portfolio(total_equity=100_000.0, cash=100_000.0, buying_power=100_000.0)
        ctx = EvaluationContext(as_of=demo.DEMO_AS_OF,
                                portfolio=portfolio if profile in VALUE_MODE else None)
        for _ in range(WARMUP):
            runner.evaluate(snap, ctx)
        samples = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            runner.evaluate(snap, ctx)
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        rows[profile] = {
            "median_ms": round(statistics.median(samples), 4),
            "p95_ms": round(samples[int(0.95 * len(samples))], 4),
            "meets_target": statistics.median(samples) < TARGET_MS,
        }
        print(f"{profile}: median {rows[profile]['median_ms']} ms, p95 {rows[profile]['p95_ms']} ms",
              file=sys.stderr)
    write_result("evaluate_latency", {
        "benchmark": "in-process runner.evaluate latency (median over runs)",
        "runs": RUNS,
        "target_ms": TARGET_MS,
        "profiles": rows,
    })


if __name__ == "__main__":
    main()
