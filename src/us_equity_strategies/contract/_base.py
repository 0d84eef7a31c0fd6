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


def clean_json(value: Any, path: str = "diagnostics") -> Any:
    """Return a JSON-safe copy with sorted keys; reject NaN/inf and non-JSON types.

    Sorting keys makes decision JSON byte-identical for the same inputs.
    """
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
            out[k] = clean_json(value[k], f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [clean_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    # numpy scalars and dates are common in profile code: convert, do not guess further.
    if hasattr(value, "item") and callable(value.item):
        return clean_json(value.item(), path)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise ValueError(f"{path} has a non-JSON value of type {type(value).__name__}")
