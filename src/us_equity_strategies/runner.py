"""The one evaluation path used by platforms, the CLI, dry-runs and the backtester.

resolve profile -> resolve parameters -> validate snapshot -> call the pure ``evaluate`` ->
check the contract -> attach small-account assessment and provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import ValidationError

from . import registry
from ._version import __version__
from .calendar import CALENDAR_VERSION
from .contract import (
    Diagnostics,
    EvaluationContext,
    ProfileInputs,
    Provenance,
    RiskFlag,
    StrategyDecision,
)
from .errors import InputError, ProfileContractError, ProfileEvaluationError, StrategyError
from .params import config_sha256, resolve_parameters
from .snapshot import Snapshot, check_snapshot

__all__ = ["evaluate", "fail_closed_decision", "snapshot_prices"]


def snapshot_prices(columns: Mapping[str, np.ndarray], context: EvaluationContext
                    ) -> dict[str, float]:
    """Prices for whole-share sizing: snapshot ``close`` first, then portfolio-implied prices.

    ``columns`` is a typed snapshot table (:attr:`TypedTable.columns`).
    """
    prices: dict[str, float] = {}
    if context.portfolio is not None:
        for h in context.portfolio.positions:
            if h.price is not None:
                prices[h.symbol] = h.price
    close = columns.get("close")
    if close is not None and close.dtype.kind == "f":
        ok = np.isfinite(close) & (close > 0)
        for sym, price in zip(columns["symbol"][ok].tolist(), close[ok].tolist(), strict=True):
            if isinstance(sym, str):
                prices[sym] = price
    return prices


def _contract_error(where: str, exc: ValidationError) -> ProfileContractError:
    fields = "; ".join(
        f"{'.'.join(str(x) for x in e['loc']) or '(decision)'}: {e['msg']}" for e in exc.errors()
    )
    return ProfileContractError(f"{where} returned a decision that violates the contract: {fields}")


def evaluate(
    snapshot: Snapshot,
    context: EvaluationContext,
    profile: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> StrategyDecision:
    """Evaluate ``profile`` (default: the snapshot's) on ``snapshot`` for ``context``.

    ``overrides`` are merged over ``context.parameters``. Raises a :class:`StrategyError`
    subclass on bad input or a misbehaving profile; never returns a partial decision.
    """
    from . import sizing

    loaded = registry.load(profile or snapshot.profile)
    manifest = loaded.manifest
    where = f"profile {manifest.profile!r} (module {loaded.module.__name__})"
    params = resolve_parameters(
        loaded.parameters_model, manifest.parameters,
        {**context.parameters, **(overrides or {})}, manifest.profile,
    )
    used = params.model_dump(mode="json")
    table = check_snapshot(
        snapshot, manifest, parameters=used, context_as_of=context.as_of,
        required_rows=loaded.required_rows, params_model=params,
    )
    inputs = ProfileInputs(
        table=table, snapshot_as_of=snapshot.as_of, context=context, params=params,
        profile=manifest.profile, profile_version=manifest.version,
        target_mode=manifest.target_mode,
    )
    try:
        decision = loaded.evaluate(inputs)
    except ValidationError as exc:
        raise _contract_error(where, exc) from exc
    except StrategyError:
        raise
    except Exception as exc:
        raise ProfileEvaluationError(f"{where} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(decision, StrategyDecision):
        raise ProfileContractError(
            f"{where} returned {type(decision).__name__}, expected StrategyDecision"
        )
    # Re-validate: model_construct / model_copy(update=...) bypass the invariants.
    try:
        decision = StrategyDecision.model_validate(decision.model_dump(warnings=False))
    except ValidationError as exc:
        raise _contract_error(where, exc) from exc
    except Exception as exc:  # too malformed even to dump
        raise ProfileContractError(
            f"{where} returned a malformed decision: {type(exc).__name__}: {exc}"
        ) from exc
    for field, expected in (("profile", manifest.profile), ("as_of", context.as_of),
                            ("target_mode", manifest.target_mode),
                            ("profile_version", manifest.version)):
        if getattr(decision, field) != expected:
            raise ProfileContractError(
                f"{where} returned {field}={getattr(decision, field)!r}, expected {expected!r}"
            )
    small, warnings = sizing.assess(
        manifest.small_account, decision, context.total_equity,
        snapshot_prices(table.columns, context),
    )
    provenance = Provenance(
        snapshot_sha256=snapshot.sha256,
        snapshot_source=snapshot.source,
        config_sha256=config_sha256(manifest.profile, manifest.version, params),
        package_version=__version__,
        calendar_version=CALENDAR_VERSION,
    )
    # The decision was re-validated above and the three attached values are validated models
    # that take part in no cross-field invariant, so a copy is safe (and halves the cost).
    return decision.model_copy(update={
        "small_account": small,
        "warnings": (*decision.warnings, *warnings),
        "provenance": provenance,
    })


def fail_closed_decision(
    profile: str, context: EvaluationContext, error: StrategyError
) -> StrategyDecision:
    """The platforms' fail-closed shape: no positions, ``no_execute``, the reason in diagnostics."""
    manifest = registry.get_manifest(profile)
    kind = "input" if isinstance(error, InputError) else "evaluation"
    reason = f"fail_closed:{kind}_error"
    return StrategyDecision(
        profile=manifest.profile,
        profile_version=manifest.version,
        as_of=context.as_of,
        target_mode=manifest.target_mode,
        risk_flags=(RiskFlag.NO_EXECUTE,),
        actionable=False,
        no_op_reason=reason,
        diagnostics=Diagnostics(
            signal="fail_closed",
            extras={"fail_reason": str(error), "snapshot_guard_decision": "fail_closed",
                    "error_type": type(error).__name__},
        ),
    )
