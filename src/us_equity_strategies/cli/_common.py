"""Helpers shared by the CLI commands: argument types, output, context files.

Only the standard library is imported at module level so ``us-equity --help`` and ``list``
start fast; pandas and pydantic models load inside the functions that need them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..contract import EvaluationContext

__all__ = [
    "LANGS",
    "date_arg",
    "emit",
    "equity_arg",
    "format_table",
    "load_context",
    "note",
    "parse_overrides",
    "profile_for_file",
    "with_equity",
]

LANGS = ("en", "zh-CN")


def date_arg(text: str) -> dt.date:
    """argparse type: an ISO date ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: expected YYYY-MM-DD") from None


def equity_arg(text: str) -> float:
    """argparse type: a finite, non-negative USD amount (``100000``, ``1e5``, ``100_000``)."""
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid equity {text!r}: expected a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"invalid equity {text!r}: expected a finite number >= 0"
        )
    return value


def note(message: str) -> None:
    """A human note on stderr (never stdout, which carries machine output only)."""
    print(f"note: {message}", file=sys.stderr)


def emit(text: str) -> None:
    """Write the complete command output to stdout in one go (no partial output)."""
    if not text.endswith("\n"):
        text += "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


def parse_overrides(items: Iterable[str] | None) -> dict[str, Any]:
    """``--set key=value`` options -> dict (JSON values when they parse, else strings)."""
    from ..errors import ParameterError
    from ..params import parse_override

    out: dict[str, Any] = {}
    for item in items or ():
        key, value = parse_override(item)
        if key in out:
            raise ParameterError(f"parameter {key!r} is set more than once with --set")
        out[key] = value
    return out


def load_context(
    path: Path, as_of: dt.date | None, fallback_as_of: dt.date | None
) -> EvaluationContext:
    """Read an :class:`EvaluationContext` JSON file.

    ``as_of`` (from ``--as-of``) replaces the file's value; a file without ``as_of`` gets
    ``fallback_as_of`` (the snapshot's). Errors name the file and the offending field.
    """
    from pydantic import ValidationError

    from ..contract import EvaluationContext
    from ..errors import InputError

    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"context file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read context file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(payload, dict):
        raise InputError(
            f"{path}: an evaluation context must be a JSON object, got {type(payload).__name__}"
        )
    if as_of is not None:
        payload["as_of"] = as_of.isoformat()
    elif "as_of" not in payload and fallback_as_of is not None:
        payload["as_of"] = fallback_as_of.isoformat()
    try:
        return EvaluationContext.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '(context)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise InputError(f"{path}: invalid evaluation context: {problems}") from None


def with_equity(context: EvaluationContext, equity: float | None) -> EvaluationContext:
    """Apply ``--equity``: build a cash-only portfolio, or override an existing total_equity."""
    from ..contract import EvaluationContext, Portfolio

    if equity is None:
        return context
    payload = context.model_dump()
    if context.portfolio is None:
        payload["portfolio"] = Portfolio(total_equity=equity, cash=equity, buying_power=equity)
    else:
        note(f"--equity {equity:,.2f} overrides the context portfolio's total_equity "
             f"{context.portfolio.total_equity:,.2f} (positions, cash and buying power kept)")
        payload["portfolio"] = {**context.portfolio.model_dump(), "total_equity": equity}
    return EvaluationContext.model_validate(payload)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain left-aligned text table (no trailing blanks)."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def profile_for_file(name: str | None, file: Path) -> str | None:
    """``--profile``, else ``$STRATEGY_PROFILE``, else None (read_snapshot uses the sidecar)."""
    from .. import registry
    from ..errors import UsageError
    from ..snapshot import sidecar_path

    if name:
        return registry.resolve(name)
    if os.environ.get(registry.ENV_VAR, "").strip():
        return registry.resolve(None)
    if not sidecar_path(file).exists():
        raise UsageError(
            f"no strategy profile given: pass --profile, set {registry.ENV_VAR}, or keep the "
            f"sidecar manifest {sidecar_path(file).name} next to {file}"
        )
    return None
