"""A feature snapshot: a table plus the metadata that identifies it."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Snapshot", "csv_bytes", "default_config_sha256"]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The canonical CSV encoding (pandas defaults, no index), as the reference pipeline writes."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


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


@dataclass(frozen=True)
class Snapshot:
    """A cross-section for one profile at one ``as_of``.

    ``sha256`` is the digest of the file bytes it was read from (or, for an in-memory snapshot,
    of its canonical CSV encoding). ``builder_parameters`` records the parameters the builder
    baked into the features, so evaluation with different values is refused.
    """

    frame: pd.DataFrame
    profile: str
    as_of: dt.date
    contract_version: str
    sha256: str
    source: str = "memory"
    builder_parameters: Mapping[str, Any] = field(default_factory=dict)
    sidecar: Mapping[str, Any] | None = None
    # Typed-column cache filled by validation (depends only on frame + schema).
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

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
        return cls(
            frame=frame,
            profile=profile,
            as_of=as_of,
            contract_version=contract_version,
            sha256=hashlib.sha256(csv_bytes(frame)).hexdigest(),
            source=source,
            builder_parameters=dict(builder_parameters or {}),
        )

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
            "row_count": len(self.frame),
            "snapshot_as_of": self.as_of.isoformat(),
            "snapshot_path": snapshot_path,
            "snapshot_sha256": self.sha256,
            "source_project": "us-equity-strategies",
            "strategy_profile": self.profile,
        }
