"""What the runner hands to a profile's ``evaluate``: one object, so the signature never changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._context import EvaluationContext
from ._decision import Diagnostics, PositionTarget, RiskFlag, StrategyDecision, TargetMode

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["ProfileInputs"]


def _plain(values: Any) -> list[Any]:
    # datetime64[ns].tolist() gives integers; at microsecond unit it gives datetime objects.
    if values.dtype.kind == "M":
        values = values.astype("datetime64[us]")
    return values.tolist()


class ProfileInputs:
    """Validated inputs of one evaluation.

    The snapshot table comes typed (dates as ``datetime64[ns]``, booleans coerced, numbers
    ``float64``, text as ``object`` with ``None`` for missing) in two read-only views:
    ``columns`` (name -> numpy array; cheap, what the daily profiles read) and ``frame``
    (a DataFrame, built on first use). ``index(symbol)`` gives a row number.

    Construct with ``frame=`` (tests, tools) or ``table=`` (the runner: a
    :class:`~us_equity_strategies.snapshot.TypedTable`, whose frame is shared between
    evaluations of one snapshot).
    """

    __slots__ = ("_columns", "_frame", "_key_index", "_table", "context", "params", "profile",
                 "profile_version", "snapshot_as_of", "target_mode")
    _frame: pd.DataFrame | None
    _table: Any
    _columns: Mapping[str, np.ndarray] | None
    _key_index: dict[str, int] | None
    snapshot_as_of: dt.date
    context: EvaluationContext
    params: Any
    profile: str
    profile_version: str
    target_mode: TargetMode

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        *,
        table: Any = None,
        snapshot_as_of: dt.date,
        context: EvaluationContext,
        params: Any,
        profile: str,
        profile_version: str,
        target_mode: TargetMode,
    ) -> None:
        if (frame is None) == (table is None):
            raise TypeError("ProfileInputs needs exactly one of frame= or table=")
        put = object.__setattr__
        put(self, "_frame", frame)
        put(self, "_table", table)
        put(self, "_columns", table.columns if table is not None else None)
        put(self, "_key_index", table.key_index if table is not None else None)
        put(self, "snapshot_as_of", snapshot_as_of)
        put(self, "context", context)
        put(self, "params", params)
        put(self, "profile", profile)
        put(self, "profile_version", profile_version)
        put(self, "target_mode", target_mode)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ProfileInputs is immutable (cannot set {name!r})")

    @property
    def frame(self) -> pd.DataFrame:
        """The typed table as a DataFrame (read-only)."""
        if self._frame is None:
            object.__setattr__(self, "_frame", self._table.frame)
        assert self._frame is not None
        return self._frame

    @property
    def columns(self) -> Mapping[str, np.ndarray]:
        """The typed table as numpy columns (read-only)."""
        if self._columns is None:
            frame = self.frame
            object.__setattr__(self, "_columns",
                               {str(c): frame[c].to_numpy() for c in frame.columns})
        assert self._columns is not None
        return self._columns

    def index(self, symbol: str) -> int | None:
        """Row number of ``symbol`` (its first row), or None."""
        if self._key_index is None:
            keys: dict[str, int] = {}
            for i, k in enumerate(self.columns["symbol"].tolist()):
                keys.setdefault(k, i)
            object.__setattr__(self, "_key_index", keys)
        assert self._key_index is not None
        return self._key_index.get(symbol)

    def row(self, symbol: str, columns: Iterable[str] | None = None) -> dict[str, Any] | None:
        """One row as plain Python values (``columns`` only, if given), or None if absent."""
        at = self.index(symbol)
        if at is None:
            return None
        cols = self.columns
        names = cols if columns is None else columns
        return {c: _plain(cols[c][at:at + 1])[0] for c in names}

    def rows(self) -> dict[str, dict[str, Any]]:
        """Snapshot rows keyed by symbol (plain Python values; cheap for small snapshots)."""
        # Column-wise tolist() is ~10x faster than to_dict("records") and yields plain Python
        # values (float, bool, str), which keeps decisions free of numpy scalars.
        columns = {c: _plain(v) for c, v in self.columns.items()}
        names = list(columns)
        return {
            row[names.index("symbol")]: dict(zip(names, row, strict=True))
            for row in zip(*columns.values(), strict=True)
        }

    def decide(
        self,
        positions: Iterable[PositionTarget],
        diagnostics: Diagnostics | Mapping[str, Any],
        risk_flags: Iterable[RiskFlag | str] = (),
    ) -> StrategyDecision:
        """An actionable decision for this profile and session."""
        return StrategyDecision(
            profile=self.profile,
            profile_version=self.profile_version,
            as_of=self.context.as_of,
            target_mode=self.target_mode,
            positions=tuple(positions),
            risk_flags=tuple(RiskFlag(f) for f in risk_flags),
            diagnostics=diagnostics,  # type: ignore[arg-type]
        )

    def hold(
        self,
        reason: str,
        diagnostics: Diagnostics | Mapping[str, Any],
        risk_flags: Iterable[RiskFlag | str] = (),
    ) -> StrategyDecision:
        """A no-execute decision: keep holdings unchanged, with the reason."""
        flags = {RiskFlag.NO_EXECUTE, *(RiskFlag(f) for f in risk_flags)}
        return StrategyDecision(
            profile=self.profile,
            profile_version=self.profile_version,
            as_of=self.context.as_of,
            target_mode=self.target_mode,
            positions=(),
            risk_flags=tuple(flags),
            actionable=False,
            no_op_reason=reason,
            diagnostics=diagnostics,  # type: ignore[arg-type]
        )
