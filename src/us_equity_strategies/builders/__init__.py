"""Snapshot builders: price history -> feature snapshot, one module per profile family.

Every builder receives only rows dated on or before ``as_of`` (truncated here, so look-ahead
is impossible by construction) and the profile's resolved parameters.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ProfileLoadError, UsageError
from ..prices import truncate

if TYPE_CHECKING:
    import pandas as pd

    from ..snapshot import Snapshot

__all__ = ["build_snapshot"]


def build_snapshot(
    profile: str,
    prices: pd.DataFrame,
    as_of: dt.date,
    overrides: Mapping[str, Any] | None = None,
    *,
    universe: pd.DataFrame | None = None,
    source: str = "memory",
) -> Snapshot:
    """Build and self-validate the snapshot of ``profile`` at ``as_of``.

    ``prices`` must be a normalised long price table (see :func:`prices.normalize_prices`).
    ``universe`` (see :mod:`us_equity_strategies.universe`) is required by stock-selection
    profiles whose manifest sets ``snapshot.requires_universe``; their builders are called as
    ``builder(prices, as_of, params, universe=universe)``.
    """
    from .. import registry
    from ..params import resolve_parameters
    from ..snapshot import Snapshot, validate_snapshot

    loaded = registry.load(profile)
    manifest = loaded.manifest
    spec = manifest.snapshot.builder
    if spec is None:
        raise ProfileLoadError(f"profile {manifest.profile!r} declares no snapshot builder")
    module_name, func_name = spec.split(":")
    try:
        builder = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise ProfileLoadError(
            f"profile {manifest.profile!r}: cannot load builder {spec!r}: {exc}"
        ) from exc
    params = resolve_parameters(
        loaded.parameters_model, manifest.parameters, overrides, manifest.profile
    )
    if manifest.snapshot.requires_universe:
        if universe is None:
            raise UsageError(
                f"profile {manifest.profile!r} builds from a universe table: pass --universe FILE"
            )
        table = builder(truncate(prices, as_of), as_of, params, universe=universe)
    else:
        table = builder(truncate(prices, as_of), as_of, params)
    used = params.model_dump(mode="json")
    snapshot = Snapshot.from_frame(
        table,
        profile=manifest.profile,
        as_of=as_of,
        contract_version=manifest.snapshot.contract_version,
        source=source,
        builder_parameters={k: used[k] for k in manifest.snapshot.builder_parameters},
    )
    validate_snapshot(
        snapshot, manifest, parameters=used, required_rows=loaded.required_rows,
        params_model=params,
    )
    return snapshot
