"""Feature snapshots: model, file I/O with sidecar manifests, and validation."""

from __future__ import annotations

from ._io import read_snapshot, sidecar_path, write_snapshot
from ._model import Snapshot, csv_bytes, default_config_sha256
from ._validate import validate_snapshot

__all__ = [
    "Snapshot",
    "csv_bytes",
    "default_config_sha256",
    "read_snapshot",
    "sidecar_path",
    "validate_snapshot",
    "write_snapshot",
]
