"""Per-session snapshots for the backtester: precomputed fast path plus a look-ahead guard.

A builder with ``precompute``/``build_from`` (see :mod:`us_equity_strategies.builders`) has
its features computed once per run with vectorised, causal code; each session then only
slices them. Builders without them are called on prices truncated to the session (slow,
correct by construction). The guard rebuilds the snapshot at sampled sessions from truncated
prices with the plain builder and requires an identical table, so a fast path that reads
data after the session is caught (:class:`LookAheadError`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import builders
from ..errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from ..snapshot import Snapshot

__all__ = ["LookAheadError", "SnapshotSource", "first_difference", "sample_indices"]


class LookAheadError(InputError):
    """A precomputed snapshot differs from the one built from data on or before its date."""


def sample_indices(n: int, k: int) -> list[int]:
    """``k`` evenly spaced positions in ``range(n)`` (deterministic; fewer if ``k > n``)."""
    if n <= 0 or k <= 0:
        return []
    return sorted({int(i) for i in np.linspace(0, n - 1, min(k, n)).round()})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return bool(a == b) and type(a) is type(b)


def first_difference(fast: pd.DataFrame, slow: pd.DataFrame) -> str | None:
    """None if the tables are identical (values, dtypes, order; NaN == NaN), else where."""
    if list(fast.columns) != list(slow.columns):
        return f"columns {list(fast.columns)} != {list(slow.columns)}"
    if len(fast) != len(slow):
        return f"{len(fast)} rows != {len(slow)} rows"
    keys = slow["symbol"].tolist() if "symbol" in slow.columns else list(range(len(slow)))
    for col in slow.columns:
        if fast[col].dtype != slow[col].dtype:
            return f"column {col!r}: dtype {fast[col].dtype} != {slow[col].dtype}"
        a, b = fast[col].tolist(), slow[col].tolist()
        for row, (x, y) in enumerate(zip(a, b, strict=True)):
            if not _same(x, y):
                return f"column {col!r}, row {keys[row]!r}: {x!r} != {y!r}"
    return None


class SnapshotSource:
    """Snapshots of one profile for one run (same prices, overrides and universe)."""

    def __init__(self, profile: str, prices: pd.DataFrame,
                 overrides: Mapping[str, Any] | None = None,
                 universe: pd.DataFrame | None = None) -> None:
        self.profile = profile
        self.prices = prices
        self.overrides = dict(overrides or {})
        self.universe = universe
        self.precomputed = builders.precompute(profile, prices, self.overrides, universe)

    @property
    def fast(self) -> bool:
        """True when the builder's precompute/build_from path is used."""
        return self.precomputed is not None

    def _build(self, as_of: dt.date, precomputed: builders.Precomputed | None) -> Snapshot:
        # runner.evaluate validates the snapshot (with freshness), so no self-validation here.
        return builders.build_snapshot(
            self.profile, self.prices, as_of, self.overrides, universe=self.universe,
            source="backtest", precomputed=precomputed, validate=False,
        )

    def snapshot(self, as_of: dt.date) -> Snapshot:
        """The snapshot at ``as_of`` (fast path when available)."""
        return self._build(as_of, self.precomputed)

    def check(self, as_of: dt.date) -> None:
        """Raise :class:`LookAheadError` unless the fast path equals a truncated rebuild.

        Errors count too: both paths must fail with the same message, or neither.
        """
        if self.precomputed is None:
            return
        outcomes = []
        for pre in (self.precomputed, None):
            try:
                outcomes.append(self._build(as_of, pre).frame)
            except InputError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
        fast, slow = outcomes
        if isinstance(fast, str) or isinstance(slow, str):
            same = isinstance(fast, str) and isinstance(slow, str) and fast == slow
            where = None if same else (f"precomputed gave {_what(fast)}, data <= {as_of} "
                                       f"gave {_what(slow)}")
        else:
            where = first_difference(fast, slow)
        if where is not None:
            raise LookAheadError(
                f"look-ahead check failed for profile {self.profile!r} at session {as_of}: "
                f"the precomputed snapshot differs from the one built from prices dated on or "
                f"before {as_of}: {where}"
            )


def _what(outcome: Any) -> str:
    return outcome if isinstance(outcome, str) else "a table"
