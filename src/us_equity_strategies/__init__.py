"""us_equity_strategies: the strategy layer for US-equity trading platforms.

Importing the package is cheap; heavy pieces load on first use. A platform evaluates a profile
with::

    from us_equity_strategies import evaluate, read_snapshot, EvaluationContext

    snapshot = read_snapshot("tqqq_growth_income_feature_snapshot_latest.csv")
    decision = evaluate(snapshot, EvaluationContext(as_of=snapshot.as_of, portfolio=...))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "EvaluationContext",
    "Holding",
    "Portfolio",
    "PositionTarget",
    "Snapshot",
    "StrategyDecision",
    "__version__",
    "build_snapshot",
    "evaluate",
    "get_manifest",
    "load_profile",
    "read_snapshot",
    "resolve_profile",
    "write_snapshot",
]

_LAZY = {
    "EvaluationContext": ("contract", "EvaluationContext"),
    "Portfolio": ("contract", "Portfolio"),
    "Holding": ("contract", "Holding"),
    "PositionTarget": ("contract", "PositionTarget"),
    "StrategyDecision": ("contract", "StrategyDecision"),
    "Snapshot": ("snapshot", "Snapshot"),
    "read_snapshot": ("snapshot", "read_snapshot"),
    "write_snapshot": ("snapshot", "write_snapshot"),
    "build_snapshot": ("builders", "build_snapshot"),
    "evaluate": ("runner", "evaluate"),
    "get_manifest": ("registry", "get_manifest"),
    "load_profile": ("registry", "load"),
    "resolve_profile": ("registry", "resolve"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .builders import build_snapshot
    from .contract import EvaluationContext, Holding, Portfolio, PositionTarget, StrategyDecision
    from .registry import get_manifest
    from .registry import load as load_profile
    from .registry import resolve as resolve_profile
    from .runner import evaluate
    from .snapshot import Snapshot, read_snapshot, write_snapshot
