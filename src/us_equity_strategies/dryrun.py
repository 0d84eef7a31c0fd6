"""Dry run: price history -> snapshot -> decision, through the production code path.

``dry_run`` uses exactly the builders (:func:`builders.build_snapshot`) and the runner
(:func:`runner.evaluate`) platforms use; nothing is traded and nothing is written. Without a
price history it uses the package's embedded synthetic demo data (:mod:`demo`), which is
deterministic but **not market data**; :attr:`DryRunResult.notes` says so.

Demo data covers every built-in profile: the ETF table for the ETF profiles, and for
stock-selection profiles (manifest ``snapshot.requires_universe``) the ETFs plus synthetic
stocks and 2x products with the demo universe table (unless a universe is given). On demo data
a profile with a monthly execution window (parameter ``runtime_execution_window_trading_days``
> 0) builds its snapshot on ``as_of`` and is evaluated on the first NYSE session after it, the
first day it may execute (evaluating on the snapshot date itself could only say "outside the
execution window"); the notes say so.
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

__all__ = ["DEMO_EQUITY", "WINDOW_PARAMETER", "DryRunResult", "demo_notice", "dry_run"]

#: Equity assumed for value-mode profiles on demo data when no portfolio is given (USD).
DEMO_EQUITY = 100_000.0
#: Parameter of the monthly execution window (tech and mega-cap profiles).
WINDOW_PARAMETER = "runtime_execution_window_trading_days"


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
        Human notes about assumptions made (demo data, demo universe, default equity,
        evaluation on the first session of the execution window).
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
    universe: pd.DataFrame | None = None,
) -> DryRunResult:
    """Build the snapshot of ``profile`` from ``prices`` and evaluate it.

    Parameters
    ----------
    profile : str or None
        Profile name or alias; None reads ``$STRATEGY_PROFILE``.
    prices : pandas.DataFrame, optional
        A long price table (normalised with :func:`prices.normalize_prices` here). None uses
        the embedded synthetic demo prices (with the demo stocks for universe profiles).
    as_of : datetime.date, optional
        Session to build and evaluate for. Defaults to ``context.as_of``, else the last date in
        ``prices`` (for the demo: ``demo.DEMO_AS_OF``). When both ``as_of`` and ``context`` are
        given, ``as_of`` replaces the context's date. On demo data, profiles with an
        execution window are evaluated on the first NYSE session after ``as_of``.
    context : EvaluationContext, optional
        Portfolio and parameters; default: no portfolio.
    overrides : mapping, optional
        Parameter overrides, used for both the build and the evaluation.
    demo_equity : float or None
        With demo data, a value-mode profile and no portfolio in ``context``, evaluate with a
        cash-only portfolio of this size (None: do not assume any equity).
    universe : pandas.DataFrame, optional
        Universe table for profiles whose manifest sets ``snapshot.requires_universe`` (see
        :mod:`universe`). None with demo prices uses :func:`demo.demo_universe`.

    Returns
    -------
    DryRunResult

    Raises
    ------
    UsageError
        A universe profile on real prices without ``universe``, or a universe given to a
        profile that does not use one.
    StrategyError
        Any other subclass, exactly as the builders and the runner raise them.
    """
    from . import registry
    from .builders import build_snapshot
    from .contract import EvaluationContext, Portfolio, TargetMode
    from .errors import UsageError
    from .prices import normalize_prices
    from .runner import evaluate

    canonical = registry.resolve(profile)
    manifest = registry.get_manifest(canonical)
    needs_universe = manifest.snapshot.requires_universe
    if universe is not None and not needs_universe:
        raise UsageError(f"profile {canonical!r} does not build from a universe table; "
                         f"drop the universe (--universe/--membership/--sectors)")
    notes: list[str] = []
    used_demo = prices is None
    if used_demo:
        from . import demo

        table = demo.demo_all_prices_cached() if needs_universe else demo.demo_prices_cached()
        notes.append(demo_notice())
        last = demo.DEMO_AS_OF
        if needs_universe and universe is None:
            universe = demo.demo_universe_cached()
            notes.append(f"using the embedded synthetic demo universe "
                         f"({universe['symbol'].nunique()} stocks with sectors, weights and "
                         f"membership changes) — not market data")
    else:
        if needs_universe and universe is None:
            raise UsageError(f"profile {canonical!r} builds from a universe table: pass "
                             f"--universe FILE (inclusive dates) or --membership FILE "
                             f"(half-open shared files)")
        table = normalize_prices(prices)
        last = table["date"].max().date()
    if as_of is None:
        as_of = context.as_of if context is not None else last
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    # The builder must see the same parameters the runner will use (builder-parameter check).
    merged = {**(context.parameters if context is not None else {}), **(overrides or {})}
    run_as_of = as_of
    window = merged.get(WINDOW_PARAMETER, manifest.parameters.get(WINDOW_PARAMETER))
    if used_demo and isinstance(window, int) and not isinstance(window, bool) and window > 0:
        from .calendar import next_session

        run_as_of = next_session(as_of)
        notes.append(f"{canonical} executes only in the first {window} NYSE sessions after "
                     f"its snapshot: snapshot built on {as_of}, evaluated on {run_as_of}")
    if context is None:
        context = EvaluationContext(as_of=run_as_of)
    elif context.as_of != run_as_of:
        context = EvaluationContext.model_validate({**context.model_dump(), "as_of": run_as_of})
    if (used_demo and demo_equity is not None and context.portfolio is None
            and manifest.target_mode is TargetMode.VALUE):
        portfolio = Portfolio(total_equity=demo_equity, cash=demo_equity,
                              buying_power=demo_equity)
        context = EvaluationContext.model_validate(
            {**context.model_dump(), "portfolio": portfolio.model_dump()})
        notes.append(f"value-mode profile on demo data: assuming a cash-only portfolio of "
                     f"${demo_equity:,.0f} (pass --equity or a context to change it)")
    snapshot = build_snapshot(canonical, table, as_of, merged, universe=universe,
                              source="demo" if used_demo else "memory")
    decision = evaluate(snapshot, context, canonical, overrides=overrides)
    return DryRunResult(snapshot=snapshot, decision=decision, used_demo=used_demo,
                        notes=tuple(notes))
