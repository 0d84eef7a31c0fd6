"""Base model and shared validators for the contract."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

JSONScalar = str | int | float | bool | None
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9.\-^/]{0,19}$"


class FrozenModel(BaseModel):
    """Frozen, keyword-only, ``extra="forbid"`` model used for every contract type.

    ``allow_inf_nan=False`` makes every float field reject NaN/inf (the JSON would carry null).
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=False, validate_default=True, allow_inf_nan=False
    )


def check_finite(value: float | None, name: str) -> float | None:
    """Reject NaN and infinities; the contract never carries non-finite numbers."""
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _fast_clean(value: Any) -> Any:
    # Exact-type dispatch for the common shapes; anything unusual goes to the slow path.
    t = type(value)
    if t is str or t is bool or value is None or t is int:
        return value
    if t is float:
        if value - value != 0.0:  # NaN or +-inf
            raise _NotFast
        return value
    if t is dict:
        keys = sorted(value)
        if any(type(k) is not str for k in keys):
            raise _NotFast
        return {k: _fast_clean(value[k]) for k in keys}
    if t is list or t is tuple:
        return [_fast_clean(v) for v in value]
    raise _NotFast


class _NotFast(Exception):
    pass


def clean_json(value: Any, path: str = "diagnostics") -> Any:
    """Return a JSON-safe copy with sorted keys; reject NaN/inf and non-JSON types.

    Sorting keys makes decision JSON byte-identical for the same inputs.
    """
    try:
        return _fast_clean(value)
    except (_NotFast, TypeError):
        return _slow_clean(value, path)


def _slow_clean(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} must be finite, got {value!r} (use null for missing)")
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for k in sorted(value, key=str):
            if not isinstance(k, str):
                raise ValueError(f"{path} keys must be strings, got {k!r}")
            out[k] = _slow_clean(value[k], f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_slow_clean(v, f"{path}[{i}]") for i, v in enumerate(value)]
    # numpy scalars and dates are common in profile code: convert, do not guess further.
    if hasattr(value, "item") and callable(value.item):
        return _slow_clean(value.item(), path)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise ValueError(f"{path} has a non-JSON value of type {type(value).__name__}")
