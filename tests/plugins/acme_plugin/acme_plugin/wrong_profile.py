"""Faulty variant: returns a valid decision that names another profile."""

from .momentum import Parameters  # noqa: F401
from .momentum import evaluate as _evaluate


def evaluate(inputs):
    return _evaluate(inputs).model_copy(update={"profile": "someone_else"})
