"""Read and write snapshots (CSV, Parquet, JSON records, JSONL) with sidecar manifests."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SnapshotError
from ._csv import csv_bytes
from ._model import Snapshot

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMATS", "read_snapshot", "sidecar_path", "write_snapshot"]

FORMATS = (".csv", ".parquet", ".json", ".jsonl")
SIDECAR_REQUIRED = ("contract_version", "strategy_profile", "config_name", "snapshot_as_of",
                    "snapshot_sha256")


def sidecar_path(path: Path | str) -> Path:
    """``<snapshot path>.manifest.json``, the pipelines' convention."""
    return Path(f"{path}.manifest.json")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SnapshotError(
            f"{path}: unsupported snapshot format {suffix or '(none)'}; expected one of "
            f"{', '.join(FORMATS)}"
        )
    return suffix


def _parse(path: Path, data: bytes, suffix: str, key: str = "symbol") -> pd.DataFrame:
    import pandas as pd

    try:
        if suffix == ".csv":
            frame = pd.read_csv(io.BytesIO(data), dtype={key: str}, keep_default_na=True)
            if key in frame.columns:  # tickers such as "NA" or "NULL" are not missing values
                frame[key] = pd.read_csv(io.BytesIO(data), usecols=[key], dtype=str,
                                         keep_default_na=False, na_values=[""])[key]
            return frame
        if suffix == ".parquet":
            return pd.read_parquet(io.BytesIO(data))
        if suffix == ".json":
            records = json.loads(data)
            if not isinstance(records, list):
                raise ValueError("expected a JSON array of records")
        else:
            records = [json.loads(line) for line in data.splitlines() if line.strip()]
        return pd.DataFrame.from_records(records)
    except Exception as exc:
        raise SnapshotError(f"{path}: cannot parse snapshot: {type(exc).__name__}: {exc}") from exc


def _read_sidecar(path: Path, digest: str) -> dict[str, Any] | None:
    side = sidecar_path(path)
    if not side.exists():
        return None
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"{side}: cannot parse sidecar manifest: {exc}") from exc
    if not isinstance(meta, dict):
        raise SnapshotError(f"{side}: sidecar manifest must be a JSON object")
    missing = [k for k in SIDECAR_REQUIRED if not meta.get(k)]
    if missing:
        raise SnapshotError(f"{side}: sidecar manifest is missing fields: {', '.join(missing)}")
    if meta["snapshot_sha256"] != digest:
        raise SnapshotError(
            f"{path}: checksum mismatch: file sha256 is {digest} but {side.name} says "
            f"{meta['snapshot_sha256']} (the file changed after its manifest was written)"
        )
    return meta


def _max_date(frame: pd.DataFrame, column: str, path: Path) -> dt.date:
    import pandas as pd

    if column not in frame.columns:
        raise SnapshotError(f"{path}: missing date column {column!r}")
    parsed = pd.to_datetime(frame[column], errors="coerce")
    if parsed.isna().all():
        raise SnapshotError(f"{path}: column {column!r} has no parsable dates")
    return parsed.max().date()


def read_snapshot(
    path: Path | str, profile: str | None = None, *, require_sidecar: bool = False
) -> Snapshot:
    """Load a snapshot file and its sidecar manifest (if present, its checksum must match).

    The profile is ``profile`` (aliases allowed) or the sidecar's ``strategy_profile``.
    Without a sidecar, ``as_of`` is the latest date in the date column (platform semantics).
    """
    from .. import registry

    p = Path(path)
    suffix = _suffix(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"snapshot file not found: {p}") from None
    digest = hashlib.sha256(data).hexdigest()
    meta = _read_sidecar(p, digest)
    if meta is None and require_sidecar:
        raise SnapshotError(f"{p}: sidecar manifest {sidecar_path(p).name} is required")
    if profile is None:
        if meta is None:
            raise SnapshotError(
                f"{p}: no sidecar manifest, so the profile is unknown; pass the profile"
            )
        profile = meta["strategy_profile"]
    canonical = registry.resolve(profile)
    manifest = registry.get_manifest(canonical)
    if meta is not None:
        declared = registry.normalize_name(meta["strategy_profile"])
        if declared != canonical and registry.resolve(declared) != canonical:
            raise SnapshotError(
                f"{sidecar_path(p)}: strategy_profile is {meta['strategy_profile']!r} "
                f"but the snapshot is used for {canonical!r}"
            )
    frame = _parse(p, data, suffix, manifest.snapshot.key_column)
    if frame.empty:
        raise SnapshotError(f"{p}: snapshot is empty")
    max_date = _max_date(frame, manifest.snapshot.date_column, p)
    if meta is not None:
        try:
            declared_as_of = dt.date.fromisoformat(str(meta["snapshot_as_of"])[:10])
        except ValueError:
            raise SnapshotError(
                f"{sidecar_path(p)}: snapshot_as_of {meta['snapshot_as_of']!r} is not a date"
            ) from None
        if declared_as_of != max_date:
            raise SnapshotError(
                f"{p}: sidecar snapshot_as_of {declared_as_of} differs from the latest "
                f"{manifest.snapshot.date_column} in the data ({max_date})"
            )
    return Snapshot(
        frame=frame,
        profile=canonical,
        as_of=max_date,
        contract_version=(meta or {}).get("contract_version", manifest.snapshot.contract_version),
        sha256=digest,
        source=str(p),
        builder_parameters=dict((meta or {}).get("builder_parameters", {})),
        sidecar=meta,
    )


def _encode(frame: pd.DataFrame, suffix: str) -> bytes:
    if suffix == ".csv":
        return csv_bytes(frame)
    if suffix == ".parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()

    import pandas as pd

    def clean(v: Any) -> Any:
        if v is pd.NaT or v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
            return None
        if isinstance(v, pd.Timestamp):  # a typed date column: midnight -> "YYYY-MM-DD"
            return v.date().isoformat() if v == v.normalize() else v.isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        return v.item() if hasattr(v, "item") else v

    records = [{k: clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    if suffix == ".json":
        return json.dumps(records, indent=1).encode()
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_snapshot(
    snapshot: Snapshot, path: Path | str, *, generated_at: str | None = None
) -> Snapshot:
    """Write the table and its sidecar; returns the snapshot as it now exists on disk.

    ``generated_at`` defaults to ``$SOURCE_DATE_EPOCH`` (reproducible builds) or the UTC now.
    Nothing is written unless both files can be produced.
    """
    p = Path(path)
    suffix = _suffix(p)
    try:
        data = _encode(snapshot.frame, suffix)
    except Exception as exc:  # nothing has been written yet
        raise SnapshotError(
            f"{p}: cannot encode the snapshot as {suffix}: {type(exc).__name__}: {exc}"
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if generated_at is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = (dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch
                  else dt.datetime.now(dt.UTC))
        generated_at = moment.isoformat()
    written = snapshot.replace(sha256=digest, source=str(p), sidecar=None)
    meta = written.sidecar_dict(str(p), generated_at)
    side = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False).encode()
    p.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(p, data)
    _atomic_write(sidecar_path(p), side)
    return written.replace(sidecar=meta)
