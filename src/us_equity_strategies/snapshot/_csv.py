"""The canonical CSV encoding of a snapshot table, whose sha256 identifies in-memory snapshots.

The reference pipelines write ``DataFrame.to_csv(index=False)``; :func:`columns_csv_bytes`
produces the same bytes straight from numpy columns (the same per-dtype text conversion
pandas applies, then the same ``csv.writer`` dialect) at a fraction of the cost, and falls
back to pandas for any dtype it does not handle.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["columns_csv_bytes", "csv_bytes"]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The canonical CSV encoding (pandas defaults, no index), as the reference pipeline writes."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


class _Unsupported(Exception):
    pass


def _object_cell(v: Any) -> str:
    if type(v) is str:
        return v
    if v is None:
        return ""
    if isinstance(v, float):  # Python and numpy floats; pandas writes str(), NaN as ""
        return "" if math.isnan(v) else str(v)
    if isinstance(v, (bool, int, np.bool_, np.integer)):
        return str(v)
    raise _Unsupported


def _cells(values: np.ndarray) -> list[str]:
    """Text of each cell exactly as pandas' ``get_values_for_csv`` makes it (na_rep "")."""
    kind = values.dtype.kind
    if kind == "f":
        text = values.astype(str)
        text[np.isnan(values)] = ""
        return text.tolist()  # type: ignore[no-any-return]
    if kind in "iub":
        return values.astype(str).tolist()  # type: ignore[no-any-return]
    if kind == "U":
        return values.tolist()  # type: ignore[no-any-return]
    if kind == "O":
        return [_object_cell(v) for v in values.tolist()]
    raise _Unsupported


def columns_csv_bytes(columns: Mapping[str, np.ndarray]) -> bytes:
    """``csv_bytes(pandas.DataFrame(columns))``, computed without building the DataFrame."""
    try:
        cells = [_cells(np.asarray(v)) for v in columns.values()]
    except _Unsupported:
        import pandas as pd

        return csv_bytes(pd.DataFrame(dict(columns)))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", delimiter=",", quoting=csv.QUOTE_MINIMAL,
                        doublequote=True, escapechar=None, quotechar='"')
    writer.writerow(list(columns))
    writer.writerows(zip(*cells, strict=True))
    return buf.getvalue().encode("utf-8")
