"""Faulty variant: a plain bug in the profile."""

from .momentum import Parameters  # noqa: F401


def evaluate(inputs):
    return 1 / 0
