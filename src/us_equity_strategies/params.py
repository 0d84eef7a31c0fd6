"""Parameter resolution: manifest defaults + overrides, validated by the profile's model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ManifestError, ParameterError, closest

__all__ = ["ProfileParameters", "config_sha256", "parse_override", "resolve_parameters"]


class ProfileParameters(BaseModel):
    """Base class of every profile's parameter model.

    Fields carry types and ranges only; defaults live in the manifest (single source).
    NaN and infinities are rejected for every float field (``key=NaN`` parses as JSON).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a CLI ``key=value``; the value is JSON when it parses, else a plain string."""
    if "=" not in text:
        raise ParameterError(f"parameter override {text!r} must look like key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ParameterError(f"parameter override {text!r} has an empty key")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def _format_errors(exc: ValidationError, profile: str, source: str) -> str:
    parts = []
    for e in exc.errors():
        key = ".".join(str(x) for x in e["loc"])
        parts.append(f"{key}={e.get('input')!r}: {e['msg']}")
    return f"{source} for profile {profile!r}: " + "; ".join(parts)


def check_manifest_defaults(
    model: type[ProfileParameters], defaults: Mapping[str, Any], profile: str
) -> None:
    """A manifest must give a default for every field of the model and nothing else."""
    fields = set(model.model_fields)
    missing = sorted(fields - set(defaults))
    extra = sorted(set(defaults) - fields)
    if missing or extra:
        raise ManifestError(
            f"manifest of {profile!r}: [parameters] must match the profile's parameter model; "
            f"missing defaults: {missing or 'none'}; unknown keys: {extra or 'none'}"
        )
    try:
        model.model_validate(dict(defaults))
    except ValidationError as exc:
        raise ManifestError(_format_errors(exc, profile, "manifest defaults invalid")) from None


def resolve_parameters(
    model: type[ProfileParameters],
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    profile: str,
) -> ProfileParameters:
    """Overlay ``overrides`` on the manifest ``defaults`` and validate.

    Unknown keys are rejected with the list of valid keys and the closest match; an explicit
    ``0`` is honoured (spec fix 3).
    """
    overrides = dict(overrides or {})
    valid = sorted(model.model_fields)
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        hints = []
        for key in unknown:
            near = closest(key, valid, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise ParameterError(
            f"unknown parameter {', '.join(hints)} for profile {profile!r}. "
            f"Valid keys: {', '.join(valid)}"
        )
    merged = {**defaults, **overrides}
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise ParameterError(_format_errors(exc, profile, "invalid parameter")) from None


def config_sha256(profile: str, version: str, params: BaseModel) -> str:
    """sha256 of the canonical JSON of the resolved configuration."""
    payload = {"profile": profile, "profile_version": version,
               "parameters": params.model_dump(mode="json")}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()
