"""Exception hierarchy; every error maps to one documented CLI exit code."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

__all__ = [
    "EXIT_EVALUATION",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_LOAD",
    "EXIT_OK",
    "EXIT_USAGE",
    "DuplicateProfileError",
    "InputError",
    "ManifestError",
    "ParameterError",
    "PriceHistoryError",
    "ProfileContractError",
    "ProfileEvaluationError",
    "ProfileImportError",
    "ProfileLoadError",
    "RetiredProfileError",
    "SnapshotError",
    "StrategyError",
    "UniverseError",
    "UnknownProfileError",
    "UsageError",
    "closest",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_LOAD = 4
EXIT_EVALUATION = 5


def closest(word: str, options: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` near matches of ``word`` among ``options`` (case-insensitive)."""
    opts = sorted(set(options))
    lowered = {o.lower(): o for o in opts}
    return [lowered[m] for m in get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)]


class StrategyError(Exception):
    """Base class of every error raised by this package."""

    exit_code = EXIT_INTERNAL


class UsageError(StrategyError):
    """The caller asked for something that does not exist or is malformed."""

    exit_code = EXIT_USAGE


class UnknownProfileError(UsageError):
    """No installed profile or alias has this name."""

    def __init__(self, name: str, installed: Iterable[str]) -> None:
        inst = sorted(set(installed))
        near = closest(name, inst)
        hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        super().__init__(
            f"unknown strategy profile {name!r}.{hint} "
            f"Installed profiles: {', '.join(inst) or '(none)'}."
        )
        self.name = name
        self.near_matches = near
        self.installed = inst


class RetiredProfileError(UsageError):
    """The name belonged to a profile that was retired."""


class InputError(StrategyError):
    """Input data (snapshot, price history, context, parameters) is invalid."""

    exit_code = EXIT_INPUT


class SnapshotError(InputError):
    """A feature snapshot failed validation; the message names file, column and rows."""


class PriceHistoryError(InputError):
    """A price-history table failed validation."""


class ParameterError(InputError):
    """A parameter override is unknown, mistyped or out of range."""


class UniverseError(InputError):
    """A universe, membership or sector table is invalid, or no universe can be selected.

    The message names the file, the column and the offending rows.
    """


class ProfileLoadError(StrategyError):
    """A profile could not be loaded (manifest, import, duplicates)."""

    exit_code = EXIT_LOAD


class ManifestError(ProfileLoadError):
    """A manifest file is missing or invalid."""


class ProfileImportError(ProfileLoadError):
    """Importing the profile module failed; ``__cause__`` holds the original error."""


class DuplicateProfileError(ProfileLoadError):
    """Two distributions register the same profile name or alias."""


class ProfileEvaluationError(StrategyError):
    """The profile raised while evaluating."""

    exit_code = EXIT_EVALUATION


class ProfileContractError(ProfileEvaluationError):
    """A profile (often a plugin) returned something that violates the decision contract."""
