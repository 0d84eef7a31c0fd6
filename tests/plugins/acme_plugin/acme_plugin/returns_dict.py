"""Faulty variant: returns a plain dict instead of a StrategyDecision."""

from .momentum import Parameters  # noqa: F401


def evaluate(inputs):
    return {"positions": [{"symbol": "AAA", "target_weight": 1.0}]}
