"""Profile manifests: one TOML file per profile, readable without importing profile code.

A manifest is the single source of every default parameter, plus metadata, the snapshot schema
and the small-account minimum. Third-party distributions ship theirs as
``<top-level package>/manifests/<profile>.toml`` (see docs/adding-a-profile.md).
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..contract import TargetMode
from ..errors import ManifestError

__all__ = [
    "MANIFEST_DIR",
    "ColumnSpec",
    "DType",
    "Manifest",
    "SmallAccountSpec",
    "SnapshotSchema",
    "load_manifest",
    "packaged_manifest_path",
]

MANIFEST_DIR = Path(__file__).parent
_NAME = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DType(StrEnum):
    STR = "str"
    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    DATE = "date"


class ColumnSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    dtype: DType
    nullable: bool = False
    description: str = ""


class SnapshotSchema(_Strict):
    """What a valid snapshot for the profile looks like."""

    contract_version: str
    date_column: str = "as_of"
    key_column: str = "symbol"
    max_age_sessions: int | None = Field(default=None, ge=0)
    max_age_months: int | None = Field(default=None, ge=0)
    builder: str | None = Field(default=None, pattern=r"^[\w.]+:\w+$")
    builder_parameters: tuple[str, ...] = ()
    requires_universe: bool = False
    columns: tuple[ColumnSpec, ...]

    @model_validator(mode="after")
    def _columns(self) -> SnapshotSchema:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate snapshot columns: {', '.join(dupes)}")
        for needed in (self.date_column, self.key_column):
            if needed not in names:
                raise ValueError(f"snapshot columns must include {needed!r}")
        return self

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


class SmallAccountSpec(_Strict):
    min_recommended_equity_usd: float = Field(ge=0)
    note: str
    note_zh: str = ""


class Manifest(_Strict):
    """Validated contents of ``manifests/<profile>.toml``."""

    profile: str = Field(pattern=_NAME)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    display_name: dict[str, str]
    description: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    retired_names: dict[str, str] = Field(default_factory=dict)
    cadence: str = Field(min_length=1)
    evaluation_frequency: Literal["daily", "monthly"]
    benchmark: str
    role: str
    status: Literal["runtime_enabled", "research", "disabled"]
    compatible_platforms: tuple[str, ...] = ()
    target_mode: TargetMode
    requires_extra: tuple[str, ...] = ()
    safe_haven: str | None = None
    managed_symbols: tuple[str, ...] = ()
    snapshot: SnapshotSchema
    parameters: dict[str, Any]
    small_account: SmallAccountSpec

    @field_validator("display_name")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        missing = {"en", "zh-CN"} - set(v)
        if missing:
            raise ValueError(f"display_name needs languages {sorted(missing)}")
        return v

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in v if not re.match(_NAME, a)]
        if bad:
            raise ValueError(f"aliases must be lower-case snake case: {bad}")
        return v

    def display(self, lang: str = "en") -> str:
        return self.display_name.get(lang) or self.display_name["en"]


def load_manifest(path: Path | str, expected_profile: str | None = None) -> Manifest:
    """Read and validate one manifest file; errors name the file and the key."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"manifest file not found: {p}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{p}: invalid TOML: {exc}") from exc
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ManifestError(f"{p}: invalid manifest: {problems}") from None
    if expected_profile is not None and manifest.profile != expected_profile:
        raise ManifestError(
            f"{p}: manifest declares profile {manifest.profile!r} but is registered "
            f"as {expected_profile!r}"
        )
    return manifest


def packaged_manifest_path(profile: str) -> Path:
    """Path of one of this package's own manifests."""
    return MANIFEST_DIR / f"{profile}.toml"
