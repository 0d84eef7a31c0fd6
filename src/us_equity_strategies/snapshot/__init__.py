"""Feature snapshots: model, file I/O with sidecar manifests, and validation."""

from __future__ import annotations

from ._csv import columns_csv_bytes, csv_bytes
from ._io import read_snapshot, sidecar_path, write_snapshot
from ._model import Columns, Snapshot, default_config_sha256, frame_columns
from ._validate import TypedTable, check_snapshot, validate_snapshot

__all__ = [
    "Columns",
    "Snapshot",
    "TypedTable",
    "check_snapshot",
    "columns_csv_bytes",
    "csv_bytes",
    "default_config_sha256",
    "frame_columns",
    "read_snapshot",
    "sidecar_path",
    "validate_snapshot",
    "write_snapshot",
]
