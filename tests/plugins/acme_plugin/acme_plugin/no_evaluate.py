"""Faulty variant: no evaluate function."""

from .momentum import Parameters  # noqa: F401
