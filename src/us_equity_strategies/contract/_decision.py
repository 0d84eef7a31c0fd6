"""The typed decision every profile returns."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ._base import SYMBOL_PATTERN, FrozenModel, check_finite, clean_json

__all__ = [
    "DECISION_CONTRACT_VERSION",
    "WEIGHT_SUM_TOLERANCE",
    "DecisionWarning",
    "Diagnostics",
    "PositionTarget",
    "Provenance",
    "RiskFlag",
    "Role",
    "ShareFeasibility",
    "ShareLine",
    "SmallAccount",
    "StrategyDecision",
    "TargetMode",
    "WarningCode",
]

DECISION_CONTRACT_VERSION = "us_equity_strategies.decision.v1"
WEIGHT_SUM_TOLERANCE = 1e-9


class TargetMode(StrEnum):
    WEIGHT = "weight"
    VALUE = "value"


class Role(StrEnum):
    RISK = "risk"
    SAFE_HAVEN = "safe_haven"
    INCOME = "income"


class RiskFlag(StrEnum):
    """Flags platforms interpret (spec/platform_contract.md §1.5)."""

    NO_EXECUTE = "no_execute"
    EMERGENCY = "emergency"
    HARD_DEFENSE = "hard_defense"
    SOFT_DEFENSE = "soft_defense"


class WarningCode(StrEnum):
    SMALL_ACCOUNT = "small_account"
    INTEGER_SHARE_TRACKING_GAP = "integer_share_tracking_gap"
    BELOW_ONE_SHARE = "below_one_share"
    UNPRICED_POSITION = "unpriced_position"
    PROFILE = "profile"


class PositionTarget(FrozenModel):
    """One end-state target; exactly one of ``target_weight`` / ``target_value`` is set."""

    symbol: str = Field(pattern=SYMBOL_PATTERN)
    target_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    target_value: float | None = Field(default=None, ge=0.0)
    role: Role = Role.RISK

    @field_validator("target_weight", "target_value")
    @classmethod
    def _finite(cls, v: float | None, info: Any) -> float | None:
        return check_finite(v, info.field_name)

    @model_validator(mode="after")
    def _one_mode(self) -> PositionTarget:
        if (self.target_weight is None) == (self.target_value is None):
            raise ValueError(
                f"position {self.symbol}: set exactly one of target_weight or target_value"
            )
        return self

    @property
    def mode(self) -> TargetMode:
        return TargetMode.WEIGHT if self.target_weight is not None else TargetMode.VALUE


class DecisionWarning(FrozenModel):
    """A typed, machine-readable warning; ``message`` is English, renderers may translate."""

    code: WarningCode
    message: str
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _json(cls, v: dict[str, Any]) -> dict[str, Any]:
        return clean_json(v, "warning.data")


class ShareLine(FrozenModel):
    """Whole-share sizing of one target."""

    symbol: str
    price: float | None
    target_value: float
    shares: int | None
    achievable_value: float | None
    target_weight: float
    achievable_weight: float | None


class ShareFeasibility(FrozenModel):
    """How far a whole-share portfolio lands from the targets (see docs/small-accounts.md)."""

    equity: float
    lines: tuple[ShareLine, ...]
    residual_cash: float
    tracking_gap: float
    max_tracking_gap: float
    min_equity_for_max_gap: float | None
    unpriced_symbols: tuple[str, ...] = ()


class SmallAccount(FrozenModel):
    """Small-account block: the reference's advisory keys plus whole-share feasibility."""

    min_recommended_equity_usd: float
    portfolio_total_equity: float | None = None
    small_account_warning: bool = False
    small_account_warning_reason: str | None = None
    note: str = ""
    feasibility: ShareFeasibility | None = None


class Diagnostics(FrozenModel):
    """Common typed fields plus profile-specific ``extras`` (JSON, sorted keys)."""

    signal: str = Field(min_length=1)
    regime: str | None = None
    benchmark_symbol: str | None = None
    benchmark_price: float | None = None
    safe_haven_symbol: str | None = None
    snapshot_as_of: dt.date | None = None
    trade_threshold_value: float | None = None
    reserved_cash: float | None = None
    extras: dict[str, Any] = Field(default_factory=dict)

    @field_validator("benchmark_price", "trade_threshold_value", "reserved_cash")
    @classmethod
    def _finite(cls, v: float | None, info: Any) -> float | None:
        return check_finite(v, info.field_name)

    @field_validator("extras")
    @classmethod
    def _json(cls, v: dict[str, Any]) -> dict[str, Any]:
        return clean_json(v, "diagnostics.extras")


class Provenance(FrozenModel):
    """Where a decision came from; attached by the runner, not by profiles."""

    snapshot_sha256: str | None = None
    snapshot_source: str | None = None
    config_sha256: str
    package_version: str
    calendar_version: str


class StrategyDecision(FrozenModel):
    """What a profile returns: end-state targets plus why.

    Invariants checked on construction: finite numbers; one target mode for every position;
    weights in [0, 1] summing to at most 1 (+1e-9); no duplicate symbols; positions sorted by
    symbol; ``no_execute`` exactly when the decision is not actionable, in which case there are
    no positions and ``no_op_reason`` says why; an actionable decision that names a safe haven
    lists it as an explicit ``safe_haven`` position.
    """

    contract_version: Literal["us_equity_strategies.decision.v1"] = DECISION_CONTRACT_VERSION
    profile: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    profile_version: str = Field(min_length=1)
    as_of: dt.date
    target_mode: TargetMode
    positions: tuple[PositionTarget, ...] = ()
    risk_flags: tuple[RiskFlag, ...] = ()
    actionable: bool = True
    no_op_reason: str | None = None
    diagnostics: Diagnostics
    warnings: tuple[DecisionWarning, ...] = ()
    small_account: SmallAccount | None = None
    provenance: Provenance | None = None

    @field_validator("positions")
    @classmethod
    def _sorted_unique(cls, v: tuple[PositionTarget, ...]) -> tuple[PositionTarget, ...]:
        symbols = [p.symbol for p in v]
        dupes = sorted({s for s in symbols if symbols.count(s) > 1})
        if dupes:
            raise ValueError(f"duplicate position symbols: {', '.join(dupes)}")
        return tuple(sorted(v, key=lambda p: p.symbol))

    @field_validator("risk_flags")
    @classmethod
    def _flags(cls, v: tuple[RiskFlag, ...]) -> tuple[RiskFlag, ...]:
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _invariants(self) -> StrategyDecision:
        wrong = [p.symbol for p in self.positions if p.mode != self.target_mode]
        if wrong:
            raise ValueError(
                f"positions {', '.join(wrong)} are not in the decision's target_mode "
                f"{self.target_mode.value!r}"
            )
        if self.target_mode is TargetMode.WEIGHT:
            total = sum(p.target_weight or 0.0 for p in self.positions)
            if total > 1.0 + WEIGHT_SUM_TOLERANCE:
                raise ValueError(f"target weights sum to {total!r} > 1")
        no_exec = RiskFlag.NO_EXECUTE in self.risk_flags
        if no_exec == self.actionable:
            raise ValueError("risk flag no_execute must be set exactly when actionable is False")
        if not self.actionable:
            if self.positions:
                raise ValueError("a non-actionable (no_execute) decision must have no positions")
            if not self.no_op_reason:
                raise ValueError("a non-actionable decision needs a no_op_reason")
        elif self.no_op_reason:
            raise ValueError("no_op_reason is only allowed on non-actionable decisions")
        if self.actionable and not self.positions:
            raise ValueError(
                "an actionable decision needs at least one position "
                "(use no_execute with a no_op_reason to hold)"
            )
        safe = self.diagnostics.safe_haven_symbol
        if self.actionable and safe is not None:
            match = [p for p in self.positions if p.symbol == safe]
            if not match or match[0].role is not Role.SAFE_HAVEN:
                raise ValueError(
                    f"safe haven {safe} must be an explicit position with role 'safe_haven'"
                )
        return self

    def targets(self) -> dict[str, float]:
        """Symbol -> target weight or value, in symbol order."""
        return {
            p.symbol: (p.target_weight if p.target_weight is not None else p.target_value or 0.0)
            for p in self.positions
        }

    def to_json(self) -> str:
        """Canonical JSON (stable field order, sorted extras): byte-identical for equal inputs."""
        return self.model_dump_json(indent=2)

    def to_platform_dict(self, lang: str = "en") -> dict[str, Any]:
        """Project onto the platform contract field names (see ``contract._platform``)."""
        from ._platform import to_platform_dict

        return to_platform_dict(self, lang=lang)

    @classmethod
    def from_platform_dict(cls, payload: dict[str, Any]) -> StrategyDecision:
        """Inverse of :meth:`to_platform_dict` (proves the projection loses nothing)."""
        from ._platform import from_platform_dict

        return from_platform_dict(payload)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the decision (draft 2020-12)."""
        return cls.model_json_schema(mode="serialization")
