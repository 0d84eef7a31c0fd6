"""``sweep``: many backtests of one profile over a parameter grid, one summary table."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ._backtest import add_run_options, config_from_args
from ._common import note

__all__ = ["add_parsers"]

_GRID_HELP = """\
grid file (JSON or TOML): {key: [values, ...]}; keys are profile parameters, or
BacktestConfig fields prefixed "config." (e.g. "config.cost_bps"). Every combination is run
once (keys sorted, the last varying fastest). Example (TOML):
  top_n = [1, 2, 3]
  config.execution = ["next_close", "same_close"]
"""


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --jobs {text!r}: expected an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("--jobs must be non-zero (-1 = all cores)")
    return value


def _rate(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid rate {text!r}: expected a number") from None
    if not (math.isfinite(value) and value > -1.0):
        raise argparse.ArgumentTypeError(f"invalid rate {text!r}: expected a finite number > -1")
    return value


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``sweep`` on ``sub``."""
    p = sub.add_parser(
        "sweep", parents=[common], help="backtest a profile over a parameter grid",
        description="Backtest PROFILE from START to END once per combination of the grid "
                    "file's values, in parallel on local cores (joblib), and write one "
                    "summary table (CSV: run, the grid keys, run id and every metric with "
                    "its periods_per_year and risk-free rate). Prints the run count, worker "
                    "count and output path as JSON; progress goes to stderr.\n\n" + _GRID_HELP)
    add_run_options(p)
    p.add_argument("--grid", required=True, type=Path, metavar="FILE",
                   help="grid file (.json or .toml), see below")
    p.add_argument("--jobs", type=_jobs, default=-1, metavar="N",
                   help="worker processes (default -1: all cores; 1: no subprocesses)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="fixed profile parameter override for every run (repeatable)")
    p.add_argument("--risk-free", type=_rate, default=0.0, metavar="RATE",
                   help="annual risk-free rate of the metrics, e.g. 0.04 (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT.csv")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.csv",
                   help="summary table to write (CSV)")
    p.set_defaults(func=cmd_sweep)


def _read_symbols(tasks: list[Any]) -> list[str] | None:
    """Union of the symbols every run reads (None: some builder reads the whole table)."""
    from ..backtest import BacktestConfig
    from ._backtest import _symbols

    wanted: set[str] = set()
    for task in tasks:
        symbols = _symbols(BacktestConfig.model_validate(task.config))
        if symbols is None:
            return None
        wanted |= set(symbols)
    return sorted(wanted)


def _write_csv(frame: Any, path: Path, overwrite: bool) -> None:
    """Write the table to a temporary sibling and rename it into place (no partial file)."""
    from ..errors import UsageError

    if path.exists() and not overwrite:
        raise UsageError(f"{path} exists; pass --overwrite to replace it")
    if path.exists() and path.is_dir():
        raise UsageError(f"{path} is a directory; -o takes a CSV file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(frame.to_csv(index=False, lineterminator="\n"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cmd_sweep(args: argparse.Namespace) -> str:
    from ..backtest import _sweep as sweep
    from ..prices import load_prices
    from ._snapshot import load_universe_args

    t0 = time.perf_counter()
    base = config_from_args(args)
    grid = sweep.load_grid(args.grid)
    # Validate every grid point before reading prices or starting workers.
    tasks = sweep.sweep_tasks(base, grid, prices=str(args.prices))
    prices = load_prices(args.prices, symbols=_read_symbols(tasks))
    universe = load_universe_args(args)
    note(f"read: {time.perf_counter() - t0:.3f} s ({len(prices)} price rows from "
         f"{args.prices}, {len(tasks)} grid points from {args.grid})")
    executor = sweep.SerialExecutor() if args.jobs == 1 else sweep.JoblibExecutor(args.jobs)
    t0 = time.perf_counter()
    table = sweep.run_sweep(base, grid, prices, universe, executor, risk_free=args.risk_free,
                      progress=lambda line: print(f"note: {line}", file=sys.stderr))
    note(f"runs: {time.perf_counter() - t0:.3f} s")
    _write_csv(table, args.output, args.overwrite)
    note(f"write: {len(table)} rows to {args.output}")
    return json.dumps({"runs": len(table), "workers": min(executor.n_workers, len(table)),
                       "profile": base.profile, "grid": {k: v for k, v in grid.items()},
                       "output": str(args.output)}, indent=2)
