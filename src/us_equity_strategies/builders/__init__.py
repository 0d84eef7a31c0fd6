"""Snapshot builders: price history -> feature snapshot, one module per profile family.

Every builder receives only rows dated on or before ``as_of`` (truncated here, so look-ahead
is impossible by construction) and the profile's resolved parameters.

Optional fast path for backtests: a builder module may also define
``precompute(prices, params[, universe=]) -> object`` (causal features over the whole history,
computed once) and ``build_from(pre, as_of, params[, universe=]) -> DataFrame``, which must
return exactly what ``build(truncate(prices, as_of), as_of, params)`` returns, and
``symbols(params)`` (the symbols it reads). :func:`precompute` and
``build_snapshot(..., precomputed=...)`` use them; the backtester checks the equality at
sampled sessions (``BacktestConfig.check_lookahead``). A builder may instead (or also) define
``build_columns(pre, as_of, params[, universe=]) -> dict[str, numpy.ndarray]`` with
``DataFrame(build_columns(...)) == build_from(...)``: the snapshot then keeps numpy columns
and no DataFrame is built unless someone reads ``snapshot.frame`` (the daily ETF profiles'
backtests spend most of their time there otherwise).

A builder whose profile trades leveraged products may define ``synthetic_products(params) ->
{product: (underlying, leverage, annual_fee)}``: with ``--synthetic-leverage`` the backtester
synthesises those products (before inception, or entirely when the data has none).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import ProfileLoadError, UsageError
from ..prices import truncate

if TYPE_CHECKING:
    import pandas as pd

    from ..snapshot import Snapshot

__all__ = ["Precomputed", "build_snapshot", "builder_symbols", "precompute",
           "synthetic_products"]


@dataclass(frozen=True)
class Precomputed:
    """A builder's :func:`precompute` output with the profile and parameters it was made for."""

    profile: str
    parameters: Mapping[str, Any]
    data: Any


def _builder(profile: str, overrides: Mapping[str, Any] | None) -> tuple[Any, ModuleType, Any]:
    """(loaded profile, builder module, resolved parameters) of ``profile``."""
    from .. import registry
    from ..params import resolve_parameters

    loaded = registry.load(profile)
    manifest = loaded.manifest
    spec = manifest.snapshot.builder
    if spec is None:
        raise ProfileLoadError(f"profile {manifest.profile!r} declares no snapshot builder")
    module_name, func_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
        getattr(module, func_name)
    except (ImportError, AttributeError) as exc:
        raise ProfileLoadError(
            f"profile {manifest.profile!r}: cannot load builder {spec!r}: {exc}"
        ) from exc
    params = resolve_parameters(
        loaded.parameters_model, manifest.parameters, overrides, manifest.profile
    )
    return loaded, module, params


def _slice(module: ModuleType) -> Any:
    """The builder's per-session fast path: ``build_columns`` if it has one, else
    ``build_from`` (None without either)."""
    return getattr(module, "build_columns", None) or getattr(module, "build_from", None)


def _universe_kwargs(manifest: Any, universe: pd.DataFrame | None) -> dict[str, Any]:
    if not manifest.snapshot.requires_universe:
        return {}
    if universe is None:
        raise UsageError(
            f"profile {manifest.profile!r} builds from a universe table: pass --universe FILE"
        )
    return {"universe": universe}


def builder_symbols(profile: str, overrides: Mapping[str, Any] | None = None
                    ) -> tuple[str, ...] | None:
    """The symbols ``profile``'s builder reads (its ``symbols(params)``), or None if unknown."""
    _, module, params = _builder(profile, overrides)
    func = getattr(module, "symbols", None)
    return tuple(func(params)) if callable(func) else None


def synthetic_products(profile: str, overrides: Mapping[str, Any] | None = None
                       ) -> dict[str, tuple[str, float, float]]:
    """The leveraged products ``profile`` trades that a backtest may synthesise (none if the
    builder has no ``synthetic_products`` hook): product -> (underlying, leverage, annual fee).
    """
    _, module, params = _builder(profile, overrides)
    func = getattr(module, "synthetic_products", None)
    return dict(sorted(func(params).items())) if callable(func) else {}


def precompute(
    profile: str,
    prices: pd.DataFrame,
    overrides: Mapping[str, Any] | None = None,
    universe: pd.DataFrame | None = None,
) -> Precomputed | None:
    """Run the builder's ``precompute`` once over ``prices``; None if it has no fast path."""
    loaded, module, params = _builder(profile, overrides)
    pre = getattr(module, "precompute", None)
    if not (callable(pre) and callable(_slice(module))):
        return None
    data = pre(prices, params, **_universe_kwargs(loaded.manifest, universe))
    return Precomputed(loaded.manifest.profile, params.model_dump(mode="json"), data)


def build_snapshot(
    profile: str,
    prices: pd.DataFrame,
    as_of: dt.date,
    overrides: Mapping[str, Any] | None = None,
    *,
    universe: pd.DataFrame | None = None,
    source: str = "memory",
    precomputed: Precomputed | None = None,
    validate: bool = True,
) -> Snapshot:
    """Build and self-validate the snapshot of ``profile`` at ``as_of``.

    ``prices`` must be a normalised long price table (see :func:`prices.normalize_prices`).
    ``universe`` (see :mod:`us_equity_strategies.universe`) is required by stock-selection
    profiles whose manifest sets ``snapshot.requires_universe``; their builders are called as
    ``builder(prices, as_of, params, universe=universe)``.

    With ``precomputed`` (from :func:`precompute`, same profile and parameters) the table
    comes from the builder's ``build_from`` and ``prices`` is not read. ``validate=False``
    skips the self-validation for callers that validate anyway (``runner.evaluate`` does).
    """
    from ..snapshot import Snapshot, validate_snapshot

    loaded, module, params = _builder(profile, overrides)
    manifest = loaded.manifest
    used = params.model_dump(mode="json")
    kwargs = _universe_kwargs(manifest, universe)
    if precomputed is not None:
        if precomputed.profile != manifest.profile or dict(precomputed.parameters) != used:
            raise UsageError(
                f"precomputed features are for profile {precomputed.profile!r} with other "
                f"parameters; rebuild them for {manifest.profile!r} with these overrides"
            )
        table = _slice(module)(precomputed.data, as_of, params, **kwargs)
    else:
        builder = getattr(module, manifest.snapshot.builder.split(":")[1])
        table = builder(truncate(prices, as_of), as_of, params, **kwargs)
    meta = {"profile": manifest.profile, "as_of": as_of,
            "contract_version": manifest.snapshot.contract_version, "source": source,
            "builder_parameters": {k: used[k] for k in manifest.snapshot.builder_parameters}}
    import pandas as pd

    snapshot = (Snapshot.from_frame(table, **meta) if isinstance(table, pd.DataFrame)
                else Snapshot.from_columns(table, **meta))
    if validate:
        validate_snapshot(
            snapshot, manifest, parameters=used, required_rows=loaded.required_rows,
            params_model=params,
        )
    return snapshot
