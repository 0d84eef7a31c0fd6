"""What the runner hands to a profile's ``evaluate``: one object, so the signature never changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._context import EvaluationContext
from ._decision import Diagnostics, PositionTarget, RiskFlag, StrategyDecision, TargetMode

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ProfileInputs"]


@dataclass(frozen=True)
class ProfileInputs:
    """Validated inputs of one evaluation.

    ``frame`` is a typed copy of the snapshot table (dates as ``datetime64``, booleans coerced,
    numbers ``float64``); profiles must treat it as read-only.
    """

    frame: pd.DataFrame
    snapshot_as_of: dt.date
    context: EvaluationContext
    params: Any
    profile: str
    profile_version: str
    target_mode: TargetMode

    def rows(self) -> dict[str, dict[str, Any]]:
        """Snapshot rows keyed by symbol (plain Python values; cheap for small snapshots)."""
        records = self.frame.to_dict(orient="records")
        return {r["symbol"]: r for r in records}

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
