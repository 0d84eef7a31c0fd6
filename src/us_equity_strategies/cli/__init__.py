"""The ``us-equity`` command line (see docs/cli.md).

stdout carries machine output only (JSON or the requested table/summary), built completely
before anything is printed; notes and errors go to stderr. Exit codes:

====  =====================================================================================
0     success
1     internal error (a bug; rerun with --debug for the traceback)
2     usage error: bad arguments, unknown or retired profile, no profile given
3     invalid input: snapshot, price history, context file, parameter overrides
4     a profile failed to load (manifest, import, duplicate registration)
5     a profile failed while evaluating or returned something that breaks the contract
====  =====================================================================================

Heavy modules (pandas, pydantic models, profile code) are imported inside the commands, so
``--help``, ``--version`` and argument errors answer instantly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__

__all__ = ["EXIT_CODES_HELP", "build_parser", "main"]

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  internal error (rerun with --debug for a traceback)
  2  usage error: bad arguments, unknown or retired profile, no profile given
  3  invalid input: snapshot, price history, context file or parameter overrides
  4  profile load failure: bad manifest, import error, duplicate registration
  5  profile evaluation failure or decision-contract violation

stdout carries machine output only (JSON, or the requested table); notes, warnings and
errors ("error: <message>") go to stderr. Nothing is printed or written on failure.
The profile defaults to $STRATEGY_PROFILE when --profile is omitted.
"""


def build_parser() -> argparse.ArgumentParser:
    """The complete argument parser (cheap: imports only argparse and the command modules)."""
    from . import _backtest, _catalog, _evaluate, _snapshot

    # --debug is accepted before or after the sub-command; SUPPRESS keeps a value given
    # before the sub-command from being reset by the sub-parser's default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")
    parser = argparse.ArgumentParser(
        prog="us-equity",
        description="Evaluate US-equity strategy profiles: list and inspect profiles, build "
                    "and validate feature snapshots, evaluate and dry-run decisions.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"us-equity {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _catalog.add_parsers(sub, common)
    _snapshot.add_parsers(sub, common)
    _evaluate.add_parsers(sub, common)
    _backtest.add_parsers(sub, common)
    from . import _sweep
    _sweep.add_parsers(sub, common)
    for choice in sub.choices.values():
        choice.formatter_class = argparse.RawDescriptionHelpFormatter
        choice.epilog = EXIT_CODES_HELP
    return parser


def _run(args: argparse.Namespace) -> int:
    output = args.func(args)
    # Output is complete before the first byte is written (no partial JSON on failure).
    from ._common import emit

    emit(output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on errors, 0 after --help/--version
        return exc.code if isinstance(exc.code, int) else 2
    debug = bool(getattr(args, "debug", False))
    from ..errors import EXIT_INTERNAL, StrategyError

    try:
        return _run(args)
    except StrategyError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `us-equity list | head -1`
        return 0
    except Exception as exc:
        import traceback

        if debug:
            traceback.print_exc()
        print(f"error: internal error: {type(exc).__name__}: {exc}"
              + ("" if debug else " (rerun with --debug for the traceback)"), file=sys.stderr)
        return EXIT_INTERNAL
