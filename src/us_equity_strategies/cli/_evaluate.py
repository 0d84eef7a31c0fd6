"""``evaluate`` and ``dry-run``: the runner behind a command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import (
    LANGS,
    date_arg,
    equity_arg,
    load_context,
    note,
    parse_overrides,
    profile_for_file,
    with_equity,
)
from ._snapshot import add_universe_options, check_universe_options, load_universe_args

if TYPE_CHECKING:
    import datetime as dt

    from ..contract import EvaluationContext, StrategyDecision

__all__ = ["add_parsers"]


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", help="profile name or alias (default: $STRATEGY_PROFILE)")
    p.add_argument("--context", type=Path, metavar="FILE",
                   help="EvaluationContext JSON (as_of, portfolio, holdings, parameters); "
                        "see `us-equity schema --kind context`")
    p.add_argument("--as-of", type=date_arg, metavar="YYYY-MM-DD",
                   help="session to evaluate for")
    p.add_argument("--equity", type=equity_arg, metavar="USD",
                   help="total equity: builds a cash-only portfolio (or overrides the "
                        "context portfolio's total_equity)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a profile parameter (repeatable; values parsed as JSON)")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of rendered text")


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``evaluate`` and ``dry-run`` on ``sub``."""
    p = sub.add_parser(
        "evaluate", parents=[common], help="evaluate a profile on a snapshot file",
        description="Evaluate a profile on a feature snapshot and print the decision. "
                    "--profile may be omitted when STRATEGY_PROFILE is set or the snapshot's "
                    "sidecar manifest names the profile. --as-of defaults to the context's "
                    "as_of, else the snapshot's. Without --snapshot, the embedded synthetic "
                    "demo data is used (and stderr says so), as by dry-run: demo prices, the "
                    "demo universe for stock-selection profiles, evaluation on the first "
                    "session after the snapshot for profiles with an execution window; "
                    "value-mode profiles then assume a $100,000 cash-only portfolio unless "
                    "--equity or --context is given.")
    p.add_argument("--snapshot", type=Path, metavar="FILE",
                   help="snapshot file (.csv, .parquet, .json, .jsonl); default: demo data")
    _add_run_options(p)
    p.add_argument("--format", choices=("json", "table", "platform"), default="json",
                   help="json: the decision; platform: the platform-contract projection; "
                        "table: a readable summary")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "dry-run", parents=[common], help="build from prices, evaluate, print summary + JSON",
        description="Build the profile's snapshot from a price history (or the embedded "
                    "synthetic demo data when --prices is absent), evaluate it with the "
                    "production runner and print a readable summary followed by the "
                    "decision JSON. Nothing is written or traded. Stock-selection profiles "
                    "need --universe or --membership with --prices; on demo data they use "
                    "the demo universe unless one is given. On demo data, profiles with a "
                    "monthly execution window build the snapshot on --as-of (default: the "
                    "demo's last session) and are evaluated on the next NYSE session.")
    p.add_argument("--prices", type=Path, metavar="FILE",
                   help="long price history (.csv or .parquet); default: demo data")
    add_universe_options(p)
    _add_run_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: summary then decision JSON; json: decision JSON only")
    p.set_defaults(func=cmd_dry_run)


def _render(decision: StrategyDecision, fmt: str, lang: str) -> str:
    if fmt == "json":
        return decision.to_json()
    if fmt == "platform":
        import json

        return json.dumps(decision.to_platform_dict(lang), indent=2, ensure_ascii=False)
    from .. import render

    summary = render.summary(decision, lang)
    if fmt == "text":
        return f"{summary}\n\n{decision.to_json()}"
    return summary


def _context(args: argparse.Namespace, fallback: dt.date | None) -> EvaluationContext | None:
    """Context from --context/--as-of/--equity; None when none of them says anything."""
    from ..contract import EvaluationContext

    if args.context is not None:
        context = load_context(args.context, args.as_of, fallback)
    elif args.equity is not None:
        as_of = args.as_of or fallback
        assert as_of is not None
        context = EvaluationContext(as_of=as_of)
    else:
        return None
    return with_equity(context, args.equity)


def _dry_run(args: argparse.Namespace, prices: Any, fallback: dt.date,
             universe: Any = None) -> StrategyDecision:
    from ..dryrun import dry_run

    result = dry_run(args.profile, prices, args.as_of, _context(args, fallback),
                     parse_overrides(args.set), universe=universe)
    for text in result.notes:
        note(text)
    return result.decision


def cmd_evaluate(args: argparse.Namespace) -> str:
    from .. import registry

    overrides = parse_overrides(args.set)
    if args.snapshot is None:
        from .. import demo

        registry.resolve(args.profile)  # usage errors before any data work
        return _render(_dry_run(args, None, demo.DEMO_AS_OF), args.format, args.lang)

    from ..contract import EvaluationContext
    from ..runner import evaluate
    from ..snapshot import read_snapshot

    profile = profile_for_file(args.profile, args.snapshot)
    snapshot = read_snapshot(args.snapshot, profile)
    context = _context(args, snapshot.as_of)
    if context is None:
        context = EvaluationContext(as_of=args.as_of or snapshot.as_of)
    decision = evaluate(snapshot, context, snapshot.profile, overrides=overrides)
    return _render(decision, args.format, args.lang)


def cmd_dry_run(args: argparse.Namespace) -> str:
    from .. import registry

    profile = registry.resolve(args.profile)
    parse_overrides(args.set)  # reject malformed --set before loading data
    check_universe_options(args, profile, demo_fallback=args.prices is None)
    if args.prices is None:
        from .. import demo

        return _render(_dry_run(args, None, demo.DEMO_AS_OF, load_universe_args(args)),
                       args.format, args.lang)
    from ..prices import load_prices

    prices = load_prices(args.prices)
    universe = load_universe_args(args)
    last = prices["date"].max().date()
    if args.as_of is None and args.context is None:
        note(f"--as-of not given: using the last date in {args.prices}: {last}")
    return _render(_dry_run(args, prices, last, universe), args.format, args.lang)
