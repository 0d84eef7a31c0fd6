"""A feature snapshot: a table plus the metadata that identifies it.

The table is held either as a pandas DataFrame (files, user code) or as columns (name ->
1-D numpy array, what the backtester's builders produce). Each form is derived from the
other on first use, so the fast path never pays for a DataFrame nobody reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._csv import columns_csv_bytes, csv_bytes

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Columns", "Snapshot", "csv_bytes", "default_config_sha256", "frame_columns"]

Columns = Mapping[str, "np.ndarray"]


def default_config_sha256(profile: str, contract_version: str) -> str:
    """The pipelines' deterministic config hash when no config file is used (features.md §6.2)."""
    import json

    payload = {
        "config_name": profile,
        "config_source": "strategy_manifest_default",
        "contract_version": contract_version,
        "strategy_profile": profile,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of ``frame`` as numpy arrays (missing strings come back as NaN)."""
    return {str(c): frame[c].to_numpy() for c in frame.columns}


class Snapshot:
    """A cross-section for one profile at one ``as_of``.

    ``sha256`` is the digest of the file bytes it was read from (or, for an in-memory snapshot,
    of its canonical CSV encoding, computed on first use). ``builder_parameters`` records the
    parameters the builder baked into the features, so evaluation with different values is
    refused. Instances are immutable; treat ``frame`` and ``columns`` as read-only.
    """

    __slots__ = ("_cache", "_columns", "_frame", "_sha256", "as_of", "builder_parameters",
                 "contract_version", "profile", "sidecar", "source")
    _frame: pd.DataFrame | None
    _columns: dict[str, np.ndarray] | None
    _sha256: str | None
    _cache: dict[Any, Any]
    profile: str
    as_of: dt.date
    contract_version: str
    source: str
    builder_parameters: dict[str, Any]
    sidecar: Mapping[str, Any] | None

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        *,
        profile: str,
        as_of: dt.date,
        contract_version: str,
        sha256: str | None = None,
        source: str = "memory",
        builder_parameters: Mapping[str, Any] | None = None,
        sidecar: Mapping[str, Any] | None = None,
        columns: Columns | None = None,
    ) -> None:
        if (frame is None) == (columns is None):
            raise TypeError("Snapshot needs exactly one of frame= or columns=")
        if columns is not None:
            columns = dict(columns)
            lengths = {len(v) for v in columns.values()}
            if len(lengths) > 1:
                raise ValueError(f"snapshot columns have different lengths: {sorted(lengths)}")
        put = object.__setattr__
        put(self, "_frame", frame)
        put(self, "_columns", columns)
        put(self, "_sha256", sha256)
        put(self, "profile", profile)
        put(self, "as_of", as_of)
        put(self, "contract_version", contract_version)
        put(self, "source", source)
        put(self, "builder_parameters", dict(builder_parameters or {}))
        put(self, "sidecar", sidecar)
        # Typed-column cache filled by validation (depends only on the table + schema).
        put(self, "_cache", {})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Snapshot is immutable (cannot set {name!r})")

    def __repr__(self) -> str:
        return (f"Snapshot(profile={self.profile!r}, as_of={self.as_of}, rows={len(self)}, "
                f"source={self.source!r})")

    def __len__(self) -> int:
        if self._columns is not None:
            return len(next(iter(self._columns.values()), ()))
        assert self._frame is not None
        return len(self._frame)

    @property
    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (built from the columns on first use)."""
        if self._frame is None:
            import pandas as pd

            object.__setattr__(self, "_frame", pd.DataFrame(dict(self._columns or {})))
        assert self._frame is not None
        return self._frame

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The table as columns (read from the frame on first use)."""
        if self._columns is None:
            assert self._frame is not None
            object.__setattr__(self, "_columns", frame_columns(self._frame))
        assert self._columns is not None
        return self._columns

    @property
    def sha256(self) -> str:
        """Digest of the source bytes, or of the canonical CSV encoding."""
        if self._sha256 is None:
            data = csv_bytes(self._frame) if self._frame is not None \
                else columns_csv_bytes(self._columns or {})
            object.__setattr__(self, "_sha256", hashlib.sha256(data).hexdigest())
        assert self._sha256 is not None
        return self._sha256

    def replace(self, **changes: Any) -> Snapshot:
        """A copy with ``changes`` applied (the table is shared, not copied).

        A new ``frame`` or ``columns`` without a new ``sha256`` drops the old digest.
        """
        table: dict[str, Any] = ({"frame": self._frame} if self._frame is not None
                                 else {"columns": self._columns})
        sha = self._sha256
        if "frame" in changes or "columns" in changes:
            table, sha = {}, None
        fields = {"profile": self.profile, "as_of": self.as_of,
                  "contract_version": self.contract_version, "sha256": sha,
                  "source": self.source, "builder_parameters": self.builder_parameters,
                  "sidecar": self.sidecar, **table, **changes}
        return Snapshot(**fields)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        profile: str,
        as_of: dt.date,
        contract_version: str,
        source: str = "memory",
        builder_parameters: Mapping[str, Any] | None = None,
    ) -> Snapshot:
        """An in-memory snapshot of ``frame`` (its sha256 is the canonical CSV digest)."""
        return cls(frame, profile=profile, as_of=as_of, contract_version=contract_version,
                   source=source, builder_parameters=builder_parameters)

    @classmethod
    def from_columns(
        cls,
        columns: Columns,
        *,
        profile: str,
        as_of: dt.date,
        contract_version: str,
        source: str = "memory",
        builder_parameters: Mapping[str, Any] | None = None,
    ) -> Snapshot:
        """An in-memory snapshot of ``columns`` (digest as ``from_frame(DataFrame(columns))``)."""
        return cls(columns=columns, profile=profile, as_of=as_of,
                   contract_version=contract_version, source=source,
                   builder_parameters=builder_parameters)

    def sidecar_dict(self, snapshot_path: str, generated_at: str) -> dict[str, Any]:
        """The ``.manifest.json`` fields the reference pipelines write (features.md §6.2)."""
        return {
            "builder_parameters": dict(sorted(self.builder_parameters.items())),
            "config_name": self.profile,
            "config_path": "strategy_manifest_default",
            "config_sha256": default_config_sha256(self.profile, self.contract_version),
            "contract_version": self.contract_version,
            "generated_at": generated_at,
            "manifest_type": "feature_snapshot",
            "row_count": len(self),
            "snapshot_as_of": self.as_of.isoformat(),
            "snapshot_path": snapshot_path,
            "snapshot_sha256": self.sha256,
            "source_project": "us-equity-strategies",
            "strategy_profile": self.profile,
        }
