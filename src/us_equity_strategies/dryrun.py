"""Dry run: price history -> snapshot -> decision, through the production code path.

``dry_run`` uses exactly the builders (:func:`builders.build_snapshot`) and the runner
(:func:`runner.evaluate`) platforms use; nothing is traded and nothing is written. Without a
price history it uses the package's embedded synthetic demo data (:mod:`demo`), which is
deterministic but **not market data**; :attr:`DryRunResult.notes` says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .contract import EvaluationContext, StrategyDecision
    from .snapshot import Snapshot

__all__ = ["DEMO_EQUITY", "DryRunResult", "demo_notice", "dry_run"]

#: Equity assumed for value-mode profiles on demo data when no portfolio is given (USD).
DEMO_EQUITY = 100_000.0


@dataclass(frozen=True)
class DryRunResult:
    """What a dry run produced.

    Attributes
    ----------
    snapshot : Snapshot
        The snapshot built from the prices (in memory; not written).
    decision : StrategyDecision
        The decision the runner returned for it.
    used_demo : bool
        True when the embedded synthetic demo prices were used.
    notes : tuple of str
        Human notes about assumptions made (demo data, default equity, derived as_of).
    """

    snapshot: Snapshot
    decision: StrategyDecision
    used_demo: bool
    notes: tuple[str, ...] = ()


def demo_notice() -> str:
    """The sentence that flags demo output (seed and as_of included)."""
    from . import demo

    seed = getattr(demo, "DEMO_SEED", None)
    seed_text = f"seed {seed}, " if seed is not None else ""
    return (f"using embedded synthetic demo data ({seed_text}as_of {demo.DEMO_AS_OF}) "
            "— not market data")


def dry_run(
    profile: str | None,
    prices: pd.DataFrame | None = None,
    as_of: dt.date | None = None,
    context: EvaluationContext | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    demo_equity: float | None = DEMO_EQUITY,
) -> DryRunResult:
    """Build the snapshot of ``profile`` from ``prices`` and evaluate it.

    Parameters
    ----------
    profile : str or None
        Profile name or alias; None reads ``$STRATEGY_PROFILE``.
    prices : pandas.DataFrame, optional
        A long price table (normalised with :func:`prices.normalize_prices` here). None uses
        the embedded synthetic demo prices.
    as_of : datetime.date, optional
        Session to build and evaluate for. Defaults to ``context.as_of``, else the last date in
        ``prices`` (for the demo: ``demo.DEMO_AS_OF``). When both ``as_of`` and ``context`` are
        given, ``as_of`` replaces the context's date.
    context : EvaluationContext, optional
        Portfolio and parameters; default: no portfolio.
    overrides : mapping, optional
        Parameter overrides, used for both the build and the evaluation.
    demo_equity : float or None
        With demo data, a value-mode profile and no portfolio in ``context``, evaluate with a
        cash-only portfolio of this size (None: do not assume any equity).

    Returns
    -------
    DryRunResult

    Raises
    ------
    StrategyError
        Any subclass, exactly as the runner raises them.
    """
    from . import registry
    from .builders import build_snapshot
    from .contract import EvaluationContext, Portfolio, TargetMode
    from .prices import normalize_prices
    from .runner import evaluate

    canonical = registry.resolve(profile)
    manifest = registry.get_manifest(canonical)
    notes: list[str] = []
    used_demo = prices is None
    if used_demo:
        from . import demo

        table = demo.demo_prices_cached()
        notes.append(demo_notice())
        last = demo.DEMO_AS_OF
    else:
        table = normalize_prices(prices)
        last = table["date"].max().date()
    if as_of is None:
        as_of = context.as_of if context is not None else last
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if context is None:
        context = EvaluationContext(as_of=as_of)
    elif context.as_of != as_of:
        context = EvaluationContext.model_validate({**context.model_dump(), "as_of": as_of})
    if (used_demo and demo_equity is not None and context.portfolio is None
            and manifest.target_mode is TargetMode.VALUE):
        portfolio = Portfolio(total_equity=demo_equity, cash=demo_equity,
                              buying_power=demo_equity)
        context = EvaluationContext.model_validate(
            {**context.model_dump(), "portfolio": portfolio.model_dump()})
        notes.append(f"value-mode profile on demo data: assuming a cash-only portfolio of "
                     f"${demo_equity:,.0f} (pass --equity or a context to change it)")
    # The builder must see the same parameters the runner will use (builder-parameter check).
    merged = {**context.parameters, **(overrides or {})}
    snapshot = build_snapshot(canonical, table, as_of, merged,
                              source="demo" if used_demo else "memory")
    decision = evaluate(snapshot, context, canonical, overrides=overrides)
    return DryRunResult(snapshot=snapshot, decision=decision, used_demo=used_demo,
                        notes=tuple(notes))
