"""External JSON parameter file of ``tech_communication_pullback_enhancement``.

The reference reads a research config JSON (spec/profiles.md §2.3 "Runtime parameter
loader", features.md §2.3) inside the strategy. Reading a file is I/O, so here it happens
outside the profile: :func:`load_runtime_parameters` turns the file into parameter
``overrides`` that callers pass to :func:`us_equity_strategies.runner.evaluate` (or put in
``EvaluationContext.parameters``); the profile only ever sees parameters.

File format (a JSON object):

* identity, all required: ``name`` in {``tech_communication_pullback_enhancement``,
  ``qqq_tech_enhancement``}, ``family`` = ``"tech_heavy_pullback"``, ``branch_role`` =
  ``"cash-buffered parallel branch"``;
* parameters (each optional; absent keys keep the manifest default), JSON key -> parameter:
  see :data:`FIELD_MAP` (``exposures.{risk_on,soft_defense,hard_defense}``,
  ``breadth_thresholds.{soft,hard}``, ``benchmark_symbol`` upper-cased, ...);
* ``execution_cash_reserve_ratio``: accepted and reported in ``ignored`` (the reference pops
  it and never uses it; it is not a parameter of ours);
* informational fields (:data:`INFORMATIONAL`), accepted and not used.

Any other key is an error (with the closest known key), and so are ``safe_haven`` and the
execution-window length, which the reference does not take from the file either. Every error
is a :class:`RuntimeConfigError` naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import InputError, closest

__all__ = ["ACCEPTED_NAMES", "BRANCH_ROLE", "BUNDLED_CONFIG", "FAMILY", "FIELD_MAP",
           "INFORMATIONAL", "PROFILE", "RuntimeConfigError", "RuntimeParameters",
           "load_runtime_parameters"]

PROFILE = "tech_communication_pullback_enhancement"
ACCEPTED_NAMES = (PROFILE, "qqq_tech_enhancement")
FAMILY = "tech_heavy_pullback"
BRANCH_ROLE = "cash-buffered parallel branch"
#: The packaged copy of the default file (values = the manifest defaults).
BUNDLED_CONFIG = Path(__file__).parent / "configs" / f"{PROFILE}.json"
#: JSON key (dotted for nested objects) -> profile parameter.
FIELD_MAP: dict[str, str] = {
    "benchmark_symbol": "benchmark_symbol",
    "holdings_count": "holdings_count",
    "single_name_cap": "single_name_cap",
    "sector_cap": "sector_cap",
    "min_position_value_usd": "min_position_value_usd",
    "max_dynamic_single_name_cap": "max_dynamic_single_name_cap",
    "max_dynamic_sector_cap": "max_dynamic_sector_cap",
    "hold_bonus": "hold_bonus",
    "exposures.risk_on": "risk_on_exposure",
    "exposures.soft_defense": "soft_defense_exposure",
    "exposures.hard_defense": "hard_defense_exposure",
    "breadth_thresholds.soft": "soft_breadth_threshold",
    "breadth_thresholds.hard": "hard_breadth_threshold",
    "min_adv20_usd": "min_adv20_usd",
    "sector_whitelist": "sector_whitelist",
    "normalization": "normalization",
    "score_template": "score_template",
    "residual_proxy": "residual_proxy",
}
IGNORED = ("execution_cash_reserve_ratio",)
INFORMATIONAL = ("role", "status", "strategy", "previous_candidate_name", "universe",
                 "symbol_whitelist", "regime", "breadth_mode", "breadth_symbols",
                 "cost_assumption_bps_one_way", "canonicalized_from", "legacy_names", "notes")
_IDENTITY = {"name": ACCEPTED_NAMES, "family": (FAMILY,), "branch_role": (BRANCH_ROLE,)}
_NOT_CONFIGURABLE = ("safe_haven", "runtime_execution_window_trading_days")
_NESTED = {"exposures", "breadth_thresholds"}


class RuntimeConfigError(InputError):
    """The runtime config file is missing or invalid; the message names the file and key."""


@dataclass(frozen=True)
class RuntimeParameters:
    """Result of :func:`load_runtime_parameters`.

    Attributes
    ----------
    overrides : dict
        Parameter overrides (JSON values) for the profile; empty for the module defaults.
    name : str
        Always the canonical profile name (also for a file naming the legacy alias).
    path : pathlib.Path or None
        The file, or None for the module defaults.
    source : str
        ``"external_config"`` or ``"module_defaults"``.
    sha256 : str or None
        SHA-256 of the file bytes (provenance; the pipelines' ``config_sha256``).
    ignored : dict
        Accepted reference keys without effect (``execution_cash_reserve_ratio``).
    """

    overrides: dict[str, Any]
    name: str = PROFILE
    path: Path | None = None
    source: str = "module_defaults"
    sha256: str | None = None
    ignored: dict[str, Any] = field(default_factory=dict)


def _fail(path: Path, key: str, problem: str) -> RuntimeConfigError:
    return RuntimeConfigError(f"runtime config {path}: key {key!r}: {problem}")


def _flatten(path: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys plus ``parent.child`` for the nested objects; unknown keys fail."""
    known_top = {*_IDENTITY, *IGNORED, *INFORMATIONAL, *_NESTED,
                 *(k for k in FIELD_MAP if "." not in k)}
    flat: dict[str, Any] = {}
    for key, value in payload.items():
        if key in _NOT_CONFIGURABLE:
            raise _fail(path, key, "is not configurable from the runtime config (the profile "
                                   "manifest / parameter overrides set it)")
        if key not in known_top:
            near = closest(key, sorted(known_top), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise _fail(path, key, f"unknown key{hint}")
        if key in _NESTED:
            if not isinstance(value, dict):
                raise _fail(path, key, f"must be a JSON object, got {type(value).__name__}")
            children = sorted(k.split(".", 1)[1] for k in FIELD_MAP if k.startswith(key + "."))
            for child, inner in value.items():
                if child not in children:
                    raise _fail(path, f"{key}.{child}", f"unknown key; expected {children}")
                flat[f"{key}.{child}"] = inner
        else:
            flat[key] = value
    return flat


def _check_identity(path: Path, flat: dict[str, Any]) -> None:
    for key, allowed in _IDENTITY.items():
        value = flat.get(key)
        if value not in allowed:
            want = allowed[0] if len(allowed) == 1 else list(allowed)
            got = "missing" if key not in flat else repr(value)
            raise _fail(path, key, f"expected {want!r}, got {got}")


def _validate(path: Path, overrides: dict[str, Any]) -> None:
    """Validate the overrides with the profile's parameter model (errors name the JSON key)."""
    from . import registry

    loaded = registry.load(PROFILE)
    try:
        loaded.parameters_model.model_validate({**loaded.manifest.parameters, **overrides})
    except ValidationError as exc:
        to_key = {param: key for key, param in FIELD_MAP.items()}
        first = exc.errors()[0]
        param = str(first["loc"][0]) if first["loc"] else "?"
        raise _fail(path, to_key.get(param, param),
                    f"{first['msg']} (value {first.get('input')!r})") from None


def load_runtime_parameters(config_path: str | Path | None = None) -> RuntimeParameters:
    """Read the runtime parameter file of the tech profile.

    Parameters
    ----------
    config_path : str or path-like, optional
        The JSON file. None: the module defaults (no overrides; the manifest defaults apply),
        source ``"module_defaults"``.

    Returns
    -------
    RuntimeParameters
        ``overrides`` keyed by profile parameter names, source ``"external_config"``.

    Raises
    ------
    RuntimeConfigError
        Missing file, invalid JSON, wrong ``name`` / ``family`` / ``branch_role``, unknown or
        non-configurable keys, or values the profile's parameter model rejects.
    """
    if config_path is None:
        return RuntimeParameters(overrides={})
    path = Path(config_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RuntimeConfigError(f"runtime config file not found: {path}") from None
    except OSError as exc:
        raise RuntimeConfigError(f"runtime config {path}: cannot read: {exc}") from exc
    try:
        payload = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RuntimeConfigError(f"runtime config {path}: invalid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise RuntimeConfigError(f"runtime config {path}: expected a JSON object, got "
                                 f"{type(payload).__name__}")
    flat = _flatten(path, payload)
    _check_identity(path, flat)
    overrides: dict[str, Any] = {}
    for key, param in FIELD_MAP.items():
        if key not in flat:
            continue
        value = flat[key]
        if key == "benchmark_symbol":
            if not isinstance(value, str):
                raise _fail(path, key, f"must be a string, got {value!r}")
            value = value.strip().upper()
        if key == "sector_whitelist" and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise _fail(path, key, f"must be a list of strings, got {value!r}")
        overrides[param] = value
    ignored = {k: flat[k] for k in IGNORED if k in flat}
    for key, value in ignored.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise _fail(path, key, f"must be a finite number, got {value!r}")
    _validate(path, overrides)
    return RuntimeParameters(overrides=overrides, name=PROFILE, path=path,
                             source="external_config", sha256=hashlib.sha256(data).hexdigest(),
                             ignored=ignored)
