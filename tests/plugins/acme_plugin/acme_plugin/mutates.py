"""Faulty variant: writes into its input frame (profiles must not), then behaves."""

from .momentum import Parameters  # noqa: F401
from .momentum import evaluate as _evaluate


def evaluate(inputs):
    try:
        inputs.frame.loc[0, "momentum"] = 123.0
        inputs.frame.loc[0, "eligible"] = False
        inputs.frame.loc[0, "symbol"] = "HACKED"
    except ValueError:  # a read-only view is an acceptable way to refuse
        pass
    return _evaluate(inputs)
