"""Cold `us-equity evaluate` of each ETF profile versus `python -c "import pandas"`.

Target (issue 2): the CLI takes at most 1.5x the time of importing pandas. Each command runs
in a fresh interpreter; we report medians over repeated runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ETF_PROFILES, VALUE_MODE, write_result

RUNS = 9
TARGET_RATIO = 1.5


def _time(cmd: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    from us_equity_strategies import builders, demo, snapshot

    cli = str(Path(sys.executable).with_name("us-equity"))
    baseline = _time([sys.executable, "-c", "import pandas"])
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        prices = demo.demo_prices_cached()
        for profile in ETF_PROFILES:
            snap = builders.build_snapshot(profile, prices, demo.DEMO_AS_OF)
            path = Path(tmp) / f"{profile}.csv"
            snapshot.write_snapshot(snap, path, generated_at="2025-01-01T00:00:00+00:00")
            cmd = [cli, "evaluate", "--profile", profile, "--snapshot", str(path)]
            if profile in VALUE_MODE:
                cmd += ["--equity", "100000"]
            seconds = _time(cmd)
            rows[profile] = {"seconds": round(seconds, 4), "ratio": round(seconds / baseline, 3),
                             "meets_target": seconds / baseline <= TARGET_RATIO}
            print(f"{profile}: {seconds:.3f}s ({seconds / baseline:.2f}x import pandas)",
                  file=sys.stderr)
    write_result("cli_cold_start", {
        "benchmark": "cold `us-equity evaluate` vs `python -c 'import pandas'` (median)",
        "runs": RUNS,
        "target_ratio": TARGET_RATIO,
        "import_pandas_seconds": round(baseline, 4),
        "profiles": rows,
    })


if __name__ == "__main__":
    main()
