"""Faulty variant: builds an invalid target, so pydantic raises inside evaluate."""

from us_equity_strategies.contract import PositionTarget

from .momentum import Parameters  # noqa: F401


def evaluate(inputs):
    PositionTarget(symbol="AAA", target_weight=1.5)
    raise AssertionError("unreachable")
