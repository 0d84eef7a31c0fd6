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

__all__ = ["TypedTable", "check_snapshot", "coerce_bool", "validate_snapshot"]

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


def _row_labels(keys: np.ndarray | None, mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    labels = [f"{i}" + (f" ({keys[i]})" if keys is not None else "")
              for i in idx[:_MAX_ROWS_SHOWN]]
    more = f" and {len(idx) - _MAX_ROWS_SHOWN} more" if len(idx) > _MAX_ROWS_SHOWN else ""
    return ", ".join(labels) + more


def _parse_dates(raw: np.ndarray) -> np.ndarray:
    """ISO ``YYYY-MM-DD`` text parses with numpy (fast); anything else goes through pandas."""
    import pandas as pd

    try:
        values = np.asarray(raw, dtype=object)
        if all(type(v) is str and len(v) == 10 for v in values):
            return values.astype("datetime64[D]").astype("datetime64[ns]")
    except ValueError:
        pass
    return pd.to_datetime(pd.Series(raw), errors="coerce").to_numpy(dtype="datetime64[ns]")


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


class TypedTable:
    """A snapshot table checked against a schema (context-independent, cached per snapshot).

    ``columns`` holds every column as a numpy array: schema columns coerced (``float64``;
    ``bool``; ``datetime64[ns]`` at midnight; text as ``object`` with ``None`` for missing),
    the others as they came. ``key_index`` maps each key (symbol) to its first row.
    ``frame`` is the same table as a DataFrame, built on first use. All read-only.
    """

    __slots__ = ("_frame", "columns", "key_index", "problems")

    def __init__(self, columns: dict[str, np.ndarray], problems: tuple[str, ...],
                 key_index: dict[str, int]) -> None:
        for values in columns.values():
            values.flags.writeable = False
        self.columns = columns
        self.problems = problems
        self.key_index = key_index
        self._frame: pd.DataFrame | None = None

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            import pandas as pd

            n = len(next(iter(self.columns.values())))
            self._frame = pd.DataFrame(self.columns, index=pd.RangeIndex(n))
        return self._frame


def _type_columns(snapshot: Snapshot, manifest: Manifest) -> TypedTable:
    """Coerce every schema column once; problems are collected, not raised."""
    import pandas as pd

    schema = manifest.snapshot
    raw_columns = snapshot.columns
    problems: list[str] = []
    key_raw = raw_columns.get(schema.key_column)

    def rows(mask: np.ndarray) -> str:
        return _row_labels(key_raw, mask)

    out: dict[str, np.ndarray] = {}
    for spec in schema.columns:
        raw = np.asarray(raw_columns[spec.name])
        kind = raw.dtype.kind
        null = np.isnan(raw) if kind == "f" else pd.isna(raw) if kind in "OUT" \
            else np.zeros(len(raw), dtype=bool)
        bad = np.zeros(len(raw), dtype=bool)  # unparsable cells, reported once (not as missing)
        if spec.dtype is DType.FLOAT or spec.dtype is DType.INT:
            if kind in "fiub":
                values = raw if raw.dtype == np.float64 else raw.astype(np.float64)
            else:
                values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(
                    dtype=np.float64)
                bad = np.isnan(values) & ~null
                if bad.any():
                    problems.append(f"column {spec.name!r}: not a number in rows {rows(bad)}")
            inf = np.isinf(values)
            if inf.any():
                problems.append(f"column {spec.name!r}: infinite values in rows {rows(inf)}")
            null = np.isnan(values) & ~bad
            if spec.dtype is DType.INT:
                frac = ~null & (values != np.round(values))
                if frac.any():
                    problems.append(f"column {spec.name!r}: non-integer values in rows "
                                    f"{rows(frac)}")
            out[spec.name] = values
        elif spec.dtype is DType.BOOL:
            out[spec.name] = raw if raw.dtype == bool else \
                np.array([coerce_bool(v) for v in raw], dtype=bool)
        elif spec.dtype is DType.DATE:
            parsed = _parse_dates(raw) if kind != "M" else raw.astype("datetime64[ns]")
            nat = np.isnat(parsed)
            bad = nat & ~null
            if bad.any():
                problems.append(f"column {spec.name!r}: unparsable dates in rows {rows(bad)}")
            out[spec.name] = parsed.astype("datetime64[D]").astype("datetime64[ns]")
            null = nat & ~bad
        else:
            values = np.array([None if n else str(v).strip() for v, n in zip(raw, null,
                                                                             strict=True)],
                              dtype=object)
            blank = values == ""
            values[blank] = None  # a blank cell is missing, never a key value
            null = null | blank
            out[spec.name] = values
        if not spec.nullable and null.any():
            problems.append(f"column {spec.name!r}: missing values (NaN/empty) not allowed, rows "
                            f"{rows(null)}")
    keys = out[schema.key_column]
    key_index: dict[str, int] = {}
    dupes: set[str] = set()
    for i, k in enumerate(keys):
        if k is None:
            continue
        if k in key_index:
            dupes.add(k)
        else:
            key_index[k] = i
    if dupes:
        mask = np.array([k in dupes for k in keys], dtype=bool)
        problems.append(f"duplicate {schema.key_column} values {', '.join(sorted(dupes))}: "
                        f"rows {rows(mask)}")
    dates = out[schema.date_column]
    if (~np.isnat(dates)).any():
        latest = dates[~np.isnat(dates)].max().astype("datetime64[D]").item()
        if latest != snapshot.as_of:
            # Freshness is judged on snapshot.as_of, so it must be the table's own date.
            problems.append(f"column {schema.date_column!r}: latest date {latest} differs "
                            f"from the snapshot as_of {snapshot.as_of}")
    for c, values in raw_columns.items():
        if c not in out:
            out[c] = np.array(values)  # a copy: the typed table is frozen, the source is not
    return TypedTable(out, tuple(problems), key_index)


def _typed(snapshot: Snapshot, manifest: Manifest) -> TypedTable:
    # The coercion depends only on the table and the schema, so it runs once per snapshot
    # object: evaluating the same snapshot again (dry-runs, sweeps) costs only the context checks.
    key = (manifest.profile, manifest.version, manifest.snapshot.contract_version)
    cache = snapshot._cache
    if key not in cache:
        cache[key] = _type_columns(snapshot, manifest)
    return cache[key]


def validate_snapshot(
    snapshot: Snapshot,
    manifest: Manifest,
    *,
    parameters: Mapping[str, Any] | None = None,
    context_as_of: dt.date | None = None,
    required_rows: Callable[[Any], Mapping[str, tuple[str, ...]]] | None = None,
    params_model: Any = None,
) -> pd.DataFrame:
    """Check ``snapshot`` and return a typed copy of its table (see :func:`check_snapshot`)."""
    return check_snapshot(snapshot, manifest, parameters=parameters, context_as_of=context_as_of,
                          required_rows=required_rows, params_model=params_model).frame


def check_snapshot(
    snapshot: Snapshot,
    manifest: Manifest,
    *,
    parameters: Mapping[str, Any] | None = None,
    context_as_of: dt.date | None = None,
    required_rows: Callable[[Any], Mapping[str, tuple[str, ...]]] | None = None,
    params_model: Any = None,
) -> TypedTable:
    """Check ``snapshot`` and return its :class:`TypedTable`.

    Every problem found is reported in one :class:`SnapshotError` naming the file, the column
    and the rows (row numbers are 0-based data rows, with the symbol in brackets). The typed
    table is shared between calls on the same snapshot: treat it as read-only.
    """
    from .. import calendar

    schema = manifest.snapshot
    where = snapshot.source
    problems: list[str] = []
    if snapshot.profile != manifest.profile:
        problems.append(f"snapshot is for profile {snapshot.profile!r}, not {manifest.profile!r}")
    if snapshot.contract_version != schema.contract_version:
        problems.append(f"contract_version is {snapshot.contract_version!r}, the profile reads "
                        f"{schema.contract_version!r}")
    raw = snapshot.columns
    if not raw or len(snapshot) == 0:
        raise SnapshotError(f"{where}: snapshot is empty")
    missing = [c.name for c in schema.columns if c.name not in raw]
    if missing:
        raise SnapshotError(f"{where}: missing required columns: {', '.join(missing)}")
    typed = _typed(snapshot, manifest)
    problems.extend(typed.problems)
    dates = typed.columns[schema.date_column]
    if context_as_of is not None:
        future = dates > np.datetime64(context_as_of, "ns")
        if future.any():
            problems.append(f"rows dated after the evaluation as_of {context_as_of}: rows "
                            f"{_row_labels(raw.get(schema.key_column), future)}")
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
        for symbol, columns in sorted(required_rows(params_model).items()):
            row = typed.key_index.get(symbol)
            if row is None:
                problems.append(f"required row {schema.key_column}={symbol!r} is missing")
                continue
            empty = [c for c in columns if _is_missing(typed, c, row)]
            if empty:
                problems.append(f"row {row} ({symbol}): required values missing in "
                                f"{', '.join(empty)}")
    if problems:
        raise SnapshotError(f"{where}: invalid snapshot for {manifest.profile}:\n  - "
                            + "\n  - ".join(problems))
    return typed


def _is_missing(typed: TypedTable, column: str, row: int) -> bool:
    import pandas as pd

    values = typed.columns.get(column)
    return values is None or bool(pd.isna(values[row]))
