"""Faulty variant: depends on a package that is not installed."""

import acme_missing_dependency  # noqa: F401

from .momentum import Parameters, evaluate  # noqa: F401
