"""In-process latency of `runner.evaluate` per ETF profile (snapshot already in memory).

Target (issue 2): under 2 ms per evaluation. Includes parameter resolution, snapshot
validation, the profile itself, the contract checks and the small-account assessment.
Three figures per profile: ``warm`` evaluates the same Snapshot object again (its typed columns
are cached, as in dry-runs and sweeps over one snapshot); ``cold`` evaluates a fresh Snapshot
of numpy columns each time (schema coercion and digest run every call, as in a backtest);
``cold_frame`` a fresh Snapshot of a DataFrame (as after reading a file, parsing excluded).
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import ETF_PROFILES, VALUE_MODE, write_result

WARMUP = 50
RUNS = 1000
TARGET_MS = 2.0


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"median_ms": round(statistics.median(samples), 4),
            "p95_ms": round(samples[int(0.95 * len(samples))], 4)}


def main() -> None:
    from us_equity_strategies import builders, demo, runner
    from us_equity_strategies.contract import EvaluationContext, Portfolio
    from us_equity_strategies.snapshot import Snapshot

    prices = demo.demo_prices_cached()
    rows = {}
    for profile in ETF_PROFILES:
        snap = builders.build_snapshot(profile, prices, demo.DEMO_AS_OF)
        portfolio = Portfolio(total_equity=100_000.0, cash=100_000.0, buying_power=100_000.0)
        ctx = EvaluationContext(as_of=demo.DEMO_AS_OF,
                                portfolio=portfolio if profile in VALUE_MODE else None)
        for _ in range(WARMUP):
            runner.evaluate(snap, ctx)
        warm, cold, cold_frame = [], [], []
        meta = {"profile": snap.profile, "as_of": snap.as_of,
                "contract_version": snap.contract_version,
                "builder_parameters": snap.builder_parameters}
        raw = {c: snap.frame[c].to_numpy() for c in snap.frame.columns}
        fresh = [Snapshot(columns=raw, **meta) for _ in range(RUNS)]
        fresh_frames = [Snapshot(snap.frame, **meta) for _ in range(RUNS)]
        for i in range(RUNS):
            t0 = time.perf_counter()
            runner.evaluate(snap, ctx)
            warm.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            runner.evaluate(fresh[i], ctx)
            cold.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            runner.evaluate(fresh_frames[i], ctx)
            cold_frame.append((time.perf_counter() - t0) * 1000)
        rows[profile] = {"warm": _stats(warm), "cold": _stats(cold),
                         "cold_frame": _stats(cold_frame)}
        for kind in ("warm", "cold", "cold_frame"):
            rows[profile][f"meets_target_{kind}"] = rows[profile][kind]["median_ms"] < TARGET_MS
        print(f"{profile}: warm {rows[profile]['warm']} cold {rows[profile]['cold']} "
              f"cold_frame {rows[profile]['cold_frame']}", file=sys.stderr)
    write_result("evaluate_latency", {
        "benchmark": "in-process runner.evaluate latency (ms, median and p95 over runs)",
        "runs": RUNS,
        "target_ms": TARGET_MS,
        "profiles": rows,
    })


if __name__ == "__main__":
    main()
