"""Faulty variant: no Parameters model."""

from .momentum import evaluate  # noqa: F401
