"""Faulty variant: bypasses validation to return weights summing to 1.5."""

from us_equity_strategies.contract import Diagnostics, PositionTarget, StrategyDecision

from .momentum import Parameters  # noqa: F401


def evaluate(inputs):
    return StrategyDecision.model_construct(
        profile=inputs.profile,
        profile_version=inputs.profile_version,
        as_of=inputs.context.as_of,
        target_mode=inputs.target_mode,
        positions=(PositionTarget(symbol="AAA", target_weight=0.75),
                   PositionTarget(symbol="BBB", target_weight=0.75)),
        risk_flags=(),
        actionable=True,
        no_op_reason=None,
        diagnostics=Diagnostics(signal="overweight"),
        warnings=(),
        small_account=None,
        provenance=None,
    )
