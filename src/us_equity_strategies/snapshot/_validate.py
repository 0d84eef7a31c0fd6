"""Validation of a snapshot against its profile's manifest schema, before any profile runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import SnapshotError
from ..manifests import DType, Manifest

if TYPE_CHECKING:
    import pandas as pd

    from ._model import Snapshot

__all__ = ["coerce_bool", "validate_snapshot"]

_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}
_MAX_ROWS_SHOWN = 8


def coerce_bool(value: Any) -> bool:
    """Boolean coercion of spec/profiles.md "Shared helper semantics" (NaN -> False)."""
    if value is None:
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return False if value != value else bool(value)  # NaN != NaN
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return True


def _rows(frame: pd.DataFrame, mask: np.ndarray, key: str) -> str:
    idx = np.flatnonzero(mask)
    labels = []
    keys = frame[key].to_numpy() if key in frame.columns else None
    for i in idx[:_MAX_ROWS_SHOWN]:
        labels.append(f"{i}" + (f" ({keys[i]})" if keys is not None else ""))
    more = f" and {len(idx) - _MAX_ROWS_SHOWN} more" if len(idx) > _MAX_ROWS_SHOWN else ""
    return ", ".join(labels) + more


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def validate_snapshot(
    snapshot: Snapshot,
    manifest: Manifest,
    *,
    parameters: Mapping[str, Any] | None = None,
    context_as_of: dt.date | None = None,
    required_rows: Callable[[Any], Mapping[str, tuple[str, ...]]] | None = None,
    params_model: Any = None,
) -> pd.DataFrame:
    """Check ``snapshot`` and return a typed copy of its table.

    Every problem found is reported in one :class:`SnapshotError` naming the file, the column
    and the rows (row numbers are 0-based data rows, with the symbol in brackets).
    """
    import pandas as pd

    from .. import calendar

    schema = manifest.snapshot
    where = snapshot.source
    problems: list[str] = []
    frame = snapshot.frame
    if snapshot.profile != manifest.profile:
        problems.append(f"snapshot is for profile {snapshot.profile!r}, not {manifest.profile!r}")
    if snapshot.contract_version != schema.contract_version:
        problems.append(f"contract_version is {snapshot.contract_version!r}, the profile reads "
                        f"{schema.contract_version!r}")
    if frame.empty:
        raise SnapshotError(f"{where}: snapshot is empty")
    missing = [c.name for c in schema.columns if c.name not in frame.columns]
    if missing:
        raise SnapshotError(f"{where}: missing required columns: {', '.join(missing)}")
    out: dict[str, Any] = {}
    for spec in schema.columns:
        col = frame[spec.name]
        raw = col.to_numpy()
        null = pd.isna(raw) if raw.dtype == object else np.isnan(raw) if raw.dtype.kind == "f" \
            else np.zeros(len(raw), dtype=bool)
        bad = np.zeros(len(raw), dtype=bool)  # unparsable cells, reported once (not as missing)
        if spec.dtype is DType.FLOAT or spec.dtype is DType.INT:
            if raw.dtype.kind in "fiub":
                values = raw.astype(np.float64)
            else:
                values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
                bad = np.isnan(values) & ~null
                if bad.any():
                    problems.append(f"column {spec.name!r}: not a number in rows "
                                    f"{_rows(frame, bad, schema.key_column)}")
            inf = np.isinf(values)
            if inf.any():
                problems.append(f"column {spec.name!r}: infinite values in rows "
                                f"{_rows(frame, inf, schema.key_column)}")
            null = np.isnan(values) & ~bad
            if spec.dtype is DType.INT:
                frac = ~null & (values != np.round(values))
                if frac.any():
                    problems.append(f"column {spec.name!r}: non-integer values in rows "
                                    f"{_rows(frame, frac, schema.key_column)}")
            out[spec.name] = values
        elif spec.dtype is DType.BOOL:
            out[spec.name] = np.array([coerce_bool(v) for v in raw], dtype=bool) \
                if raw.dtype != bool else raw
        elif spec.dtype is DType.DATE:
            parsed = pd.to_datetime(col, errors="coerce")
            bad = parsed.isna().to_numpy() & ~null
            if bad.any():
                problems.append(f"column {spec.name!r}: unparsable dates in rows "
                                f"{_rows(frame, bad, schema.key_column)}")
            out[spec.name] = parsed.dt.normalize().to_numpy()
            null = parsed.isna().to_numpy() & ~bad
        else:
            values = np.array([None if n else str(v).strip() for v, n in zip(raw, null,
                                                                             strict=True)],
                              dtype=object)
            blank = np.array([v == "" for v in values], dtype=bool)
            null = null | blank
            out[spec.name] = values
        if not spec.nullable and null.any():
            problems.append(f"column {spec.name!r}: missing values (NaN/empty) not allowed, rows "
                            f"{_rows(frame, null, schema.key_column)}")
    typed = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    keys = typed[schema.key_column]
    dup = keys.duplicated(keep=False).to_numpy() & keys.notna().to_numpy()
    if dup.any():
        problems.append(f"duplicate {schema.key_column} values "
                        f"{', '.join(sorted(set(keys[dup])))}: rows "
                        f"{_rows(frame, dup, schema.key_column)}")
    dates = typed[schema.date_column]
    latest = dates.max()
    if not pd.isna(latest) and latest.date() != snapshot.as_of:
        # Freshness is judged on snapshot.as_of, so it must be the table's own date.
        problems.append(f"column {schema.date_column!r}: latest date {latest.date()} differs "
                        f"from the snapshot as_of {snapshot.as_of}")
    if context_as_of is not None:
        future = (dates > np.datetime64(context_as_of)).to_numpy()
        if future.any():
            problems.append(f"rows dated after the evaluation as_of {context_as_of}: rows "
                            f"{_rows(frame, future, schema.key_column)}")
        else:
            age_s = calendar.sessions_between(snapshot.as_of, context_as_of)
            if schema.max_age_sessions is not None and age_s > schema.max_age_sessions:
                problems.append(
                    f"snapshot as_of {snapshot.as_of} is {age_s} NYSE sessions older than "
                    f"{context_as_of}; the profile allows {schema.max_age_sessions}")
            age_m = _months_between(snapshot.as_of, context_as_of)
            if schema.max_age_months is not None and age_m > schema.max_age_months:
                problems.append(
                    f"snapshot as_of {snapshot.as_of} is {age_m} calendar months older than "
                    f"{context_as_of}; the profile allows {schema.max_age_months}")
    if parameters is not None:
        for name in schema.builder_parameters:
            built = snapshot.builder_parameters.get(name)
            wanted = parameters.get(name)
            if name in snapshot.builder_parameters and built != wanted:
                problems.append(
                    f"snapshot was built with {name}={built!r} but evaluation uses "
                    f"{name}={wanted!r}; rebuild the snapshot with the same parameters")
    if required_rows is not None and params_model is not None and not problems:
        index = {k: i for i, k in enumerate(typed[schema.key_column]) if k is not None}
        for symbol, columns in sorted(required_rows(params_model).items()):
            if symbol not in index:
                problems.append(f"required row {schema.key_column}={symbol!r} is missing")
                continue
            row = index[symbol]
            empty = [c for c in columns if pd.isna(typed.at[row, c])]
            if empty:
                problems.append(f"row {row} ({symbol}): required values missing in "
                                f"{', '.join(empty)}")
    if problems:
        raise SnapshotError(f"{where}: invalid snapshot for {manifest.profile}:\n  - "
                            + "\n  - ".join(problems))
    extra_cols = [c for c in frame.columns if c not in typed.columns]
    for c in extra_cols:
        typed[c] = frame[c].to_numpy()
    return typed
