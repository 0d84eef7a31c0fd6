"""Typed contract: decisions, targets, warnings and the evaluation context."""

from __future__ import annotations

from ._context import EvaluationContext, Holding, Portfolio
from ._decision import (
    DECISION_CONTRACT_VERSION,
    WEIGHT_SUM_TOLERANCE,
    DecisionWarning,
    Diagnostics,
    PositionTarget,
    Provenance,
    RiskFlag,
    Role,
    ShareFeasibility,
    ShareLine,
    SmallAccount,
    StrategyDecision,
    TargetMode,
    WarningCode,
)
from ._inputs import ProfileInputs

__all__ = [
    "DECISION_CONTRACT_VERSION",
    "WEIGHT_SUM_TOLERANCE",
    "DecisionWarning",
    "Diagnostics",
    "EvaluationContext",
    "Holding",
    "Portfolio",
    "PositionTarget",
    "ProfileInputs",
    "Provenance",
    "RiskFlag",
    "Role",
    "ShareFeasibility",
    "ShareLine",
    "SmallAccount",
    "StrategyDecision",
    "TargetMode",
    "WarningCode",
]
