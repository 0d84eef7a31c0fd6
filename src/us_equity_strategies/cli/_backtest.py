"""``backtest``: simulate a profile over a price history (``us_equity_strategies.backtest``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ._common import date_arg, equity_arg, note, parse_overrides

__all__ = ["add_parsers"]

FILES = ("summary.csv", "portfolio_returns.csv", "weights_history.csv", "turnover_history.csv",
         "trades.csv", "decisions.jsonl", "run.json", "report.html", "*.png", "timings.json")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``backtest`` and ``sweep``: data, window, account and fills."""
    from ._snapshot import add_universe_options

    p.add_argument("--profile", help="profile name or alias (default: $STRATEGY_PROFILE)")
    p.add_argument("--prices", required=True, type=Path, metavar="FILE",
                   help="long price history (.csv or .parquet: date, symbol, close)")
    add_universe_options(p)
    p.add_argument("--start", required=True, type=date_arg, metavar="YYYY-MM-DD")
    p.add_argument("--end", required=True, type=date_arg, metavar="YYYY-MM-DD")
    p.add_argument("--initial-equity", type=equity_arg, default=100_000.0, metavar="USD",
                   help="starting cash (default 100000)")
    p.add_argument("--cost-bps", type=float, default=5.0, metavar="BPS",
                   help="cost per trade in basis points of traded value (default 5)")
    p.add_argument("--execution", choices=("next_close", "same_close"), default="next_close",
                   help="fill at the next session's close (default) or the signal close")
    p.add_argument("--integer-shares", action="store_true",
                   help="whole shares only (rounded down; the residual stays cash)")
    p.add_argument("--synthetic-leverage", action="store_true",
                   help="synthesise leveraged products as daily-reset multiples of their "
                        "underlying: TQQQ/SOXL before inception (3x QQQ/SOXX minus a 0.95%% "
                        "annual fee), plus the products the profile's builder declares (the "
                        "2x product map, at each product's expense ratio)")
    p.add_argument("--synthetic", action="append", default=[],
                   metavar="PRODUCT=UNDERLYING:K",
                   help="also synthesise PRODUCT as K x UNDERLYING (repeatable; implies "
                        "--synthetic-leverage; pays --synthetic-fee)")
    p.add_argument("--synthetic-fee", type=float, default=0.0095, metavar="RATE",
                   help="annual fee of TQQQ/SOXL and --synthetic products (default 0.0095)")
    p.add_argument("--benchmark", metavar="SYMBOL",
                   help="benchmark symbol (default: the profile's manifest benchmark)")
    p.add_argument("--no-trade-threshold", action="store_true",
                   help="also fill trades below the decision's trade_threshold_value")
    p.add_argument("--cadence", choices=("profile", "weekly"), default="profile",
                   help="evaluate at the profile's own cadence (default) or, for a daily "
                        "profile, only on the last session of each week")
    p.add_argument("--keep-unlisted", action="store_true",
                   help="keep holdings a decision does not list, as a platform keeps holdings "
                        "outside the profile's managed symbols (default: sell them)")


def parse_synthetic(items: list[str]) -> dict[str, tuple[str, float]]:
    """``PRODUCT=UNDERLYING:K`` items -> {product: (underlying, k)} (usage error if malformed)."""
    from ..errors import UsageError

    out: dict[str, tuple[str, float]] = {}
    for item in items:
        product, _, rest = item.partition("=")
        underlying, _, k = rest.partition(":")
        try:
            leverage = float(k)
        except ValueError:
            leverage = float("nan")
        if not (product.strip() and underlying.strip()) or not leverage == leverage:
            raise UsageError(f"--synthetic {item!r}: expected PRODUCT=UNDERLYING:K, e.g. "
                             "NVDL=NVDA:2")
        out[product.strip().upper()] = (underlying.strip().upper(), leverage)
    return out


def config_from_args(args: argparse.Namespace, *, check_lookahead: int = 0) -> Any:
    """The :class:`BacktestConfig` the shared options describe (usage error if invalid)."""
    from pydantic import ValidationError

    from .. import registry
    from ..backtest import BacktestConfig
    from ..backtest._config import DEFAULT_SYNTHETIC
    from ..errors import UsageError
    from ._snapshot import check_universe_options

    profile = registry.resolve(args.profile)
    check_universe_options(args, profile)
    extra = parse_synthetic(args.synthetic)
    try:
        return BacktestConfig(
            profile=profile, start=args.start, end=args.end,
            initial_equity=args.initial_equity, cost_bps=args.cost_bps,
            execution=args.execution, integer_shares=args.integer_shares,
            synthetic_leverage=args.synthetic_leverage or bool(extra),
            synthetic={**DEFAULT_SYNTHETIC, **extra}, synthetic_fee=args.synthetic_fee,
            overrides=parse_overrides(args.set),
            benchmark=args.benchmark.strip().upper() if args.benchmark else None,
            trade_threshold=not args.no_trade_threshold, keep_unlisted=args.keep_unlisted,
            cadence=args.cadence,
            check_lookahead=check_lookahead)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'config'}: {e['msg']}"
                             for e in exc.errors())
        raise UsageError(f"invalid backtest options: {problems}") from None


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``backtest`` on ``sub``."""
    p = sub.add_parser(
        "backtest", parents=[common], help="simulate a profile over a price history",
        description="Backtest PROFILE from START to END with the profile's own snapshot "
                    "builder and entrypoint at every session its cadence requires, a "
                    "simulated account (shares, cash, costs) and fills at the close. Writes "
                    f"{', '.join(FILES)} to OUTDIR and prints the run id, the files and the "
                    "headline metrics as JSON; per-phase timings go to stderr and "
                    "timings.json (the only file that differs between identical runs). See "
                    "docs/backtest.md for the timing and accounting conventions.")
    add_run_options(p)
    p.add_argument("--check-lookahead", type=int, default=0, metavar="N",
                   help="rebuild the snapshot from truncated prices at N sessions and require "
                        "it to equal the precomputed one (default 0: off)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a profile parameter (repeatable; values parsed as JSON)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing OUTDIR that holds only backtest output files")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR",
                   help="directory for the output files (created if missing)")
    p.set_defaults(func=cmd_backtest)


def _symbols(config: Any) -> list[str] | None:
    """Symbols to read: the builder's, the benchmark and the splice inputs (None: all)."""
    from .. import builders, registry

    read = builders.builder_symbols(config.profile, config.overrides)
    if read is None:
        return None
    wanted = {*read, config.benchmark or registry.get_manifest(config.profile).benchmark}
    wanted |= {*config.proxies, *config.proxies.values()}
    if config.synthetic_leverage:
        from ..backtest import synthetic_mapping

        mapping, _ = synthetic_mapping(config)
        wanted |= {*mapping, *(u for u, _ in mapping.values())}
    return sorted(wanted)


def cmd_backtest(args: argparse.Namespace) -> str:
    from ..backtest import run_backtest, write_outputs
    from ..backtest._config import data_sha256
    from ..prices import load_prices
    from ._snapshot import load_universe_args

    t0 = time.perf_counter()
    config = config_from_args(args, check_lookahead=args.check_lookahead)
    prices = load_prices(args.prices, symbols=_symbols(config))
    universe = load_universe_args(args)
    read = time.perf_counter() - t0
    note(f"read: {read:.3f} s ({len(prices)} price rows from {args.prices})")
    result = run_backtest(config, prices, universe,
                          progress=lambda line: print(f"note: {line}", file=sys.stderr))
    t0 = time.perf_counter()
    files = list(write_outputs(
        result, args.output, overwrite=args.overwrite,
        data_sha256={"prices": data_sha256(prices), "universe": data_sha256(universe)},
        extra={"prices_file": str(args.prices)},
        timings={"read_seconds": read},
    ).values())
    note(f"write: {time.perf_counter() - t0:.3f} s ({len(files)} files in {args.output})")
    for code, count in result.warnings.items():
        if code != "below_trade_threshold":
            note(f"{code}: {count} ({result.diagnostics['warning_examples'].get(code, '')})")
    keys = ("total_return", "cagr", "annual_volatility", "sharpe_ratio", "max_drawdown",
            "turnover_per_year", "benchmark_total_return")
    return json.dumps({"run_id": result.run_id, "profile": result.profile,
                       "start": result.sessions[0].isoformat(),
                       "end": result.sessions[-1].isoformat(), "sessions": len(result.sessions),
                       "files": [str(f) for f in files],
                       "summary": {k: _finite(result.summary.get(k)) for k in keys},
                       "warnings": result.warnings}, indent=2)


def _finite(value: Any) -> Any:
    import math

    return None if isinstance(value, float) and not math.isfinite(value) else value
