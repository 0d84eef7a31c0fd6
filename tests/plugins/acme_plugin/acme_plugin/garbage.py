"""Faulty variant: bypasses validation with positions that are not PositionTargets at all."""

from us_equity_strategies.contract import Diagnostics, StrategyDecision

from .momentum import Parameters  # noqa: F401


def evaluate(inputs):
    return StrategyDecision.model_construct(
        profile=inputs.profile,
        profile_version=inputs.profile_version,
        as_of=inputs.context.as_of,
        target_mode=inputs.target_mode,
        positions=("AAA",),
        risk_flags=(),
        actionable=True,
        no_op_reason=None,
        diagnostics=Diagnostics(signal="garbage"),
        warnings=(),
        small_account=None,
        provenance=None,
    )
