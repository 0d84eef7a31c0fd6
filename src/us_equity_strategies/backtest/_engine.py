"""The backtest loop: the profile's own builder and entrypoint, a simulated account, closes.

Timeline (sessions ``t_0 .. t_n`` = NYSE sessions in [start, end] with a benchmark close)
-----------------------------------------------------------------------------------------
At each session ``t_i``, in this order:

1. decisions due for execution at ``t_i`` are filled at the close of ``t_i``;
2. if ``t_i`` is an evaluation session, the snapshot is built from data dated ``<= t_i``
   (the builder's precomputed slice, see :mod:`._precompute`), the context carries the
   account marked at the close of ``t_i`` (after step 1), and
   ``runner.evaluate(snapshot, context, overrides=config.overrides)`` decides;
3. with ``same_close`` that decision is filled at the close of ``t_i`` too.

Evaluation sessions (manifest ``evaluation_frequency``):

* ``daily``: every session; context ``as_of = t_i``. ``next_close`` fills at ``t_{i+1}``
  (the account holds its old positions over ``t_i -> t_{i+1}``); ``same_close`` fills at
  ``t_i`` (the reference research convention: trade at the signal close). With
  ``next_close`` the last session is not evaluated (nothing could be filled).
* ``weekly`` (``BacktestConfig.cadence="weekly"``, daily profiles only): as ``daily`` but only
  on the run's last session of each week (Monday-Sunday; the W-FRI weeks of the reference
  research), so holdings drift between evaluations.
* ``monthly``: the last NYSE session ``t_i`` of each month (``calendar``), except the final
  session of the run. The snapshot is built at ``t_i`` but the context ``as_of`` is
  ``t_{i+1}``, the first session of the live execution window (a monthly profile holds with
  ``waiting_execution_window`` when evaluated on its snapshot date). ``next_close`` fills at
  the close of ``t_{i+1}`` (the live "trade within 3 sessions after the snapshot", on the
  first of them); ``same_close`` fills at the close of ``t_i`` (the reference backtests'
  signal-close convention; still look-ahead free: the data stop at ``t_i``).

Accounting: see :mod:`._portfolio`. Returns ``r_i = E_i / E_{i-1} - 1`` with
``E_{-1} = initial_equity`` (so the first return is 0 unless ``same_close`` pays costs on
the first session). Input errors inside a session (a builder that cannot build, an invalid
snapshot) give the platforms' fail-closed decision (``no_execute``), counted in
``warnings["fail_closed"]``; :class:`LookAheadError` and profile bugs abort the run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import calendar, metrics, registry, runner
from ..contract import EvaluationContext, StrategyDecision
from ..errors import InputError, UsageError
from ..params import resolve_parameters
from ._config import BacktestConfig, data_sha256
from ._portfolio import Account, Execution
from ._precompute import LookAheadError, SnapshotSource, sample_indices
from ._prices import PriceMatrix, price_matrix, run_sessions, splice_proxies, splice_synthetic

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BacktestResult", "DecisionRecord", "evaluation_plan", "run_backtest",
           "synthetic_mapping"]

CASH = "CASH"
_TRADE_COLUMNS = ("date", "signal_date", "symbol", "shares", "price", "value", "cost")


@dataclass(frozen=True)
class DecisionRecord:
    """One evaluation: snapshot date ``session``, context ``as_of``, fill session."""

    session: dt.date
    as_of: dt.date
    execute_on: dt.date | None
    decision: StrategyDecision

    def to_dict(self) -> dict[str, Any]:
        return {"session": self.session.isoformat(), "as_of": self.as_of.isoformat(),
                "execute_on": self.execute_on.isoformat() if self.execute_on else None,
                "decision": self.decision.model_dump(mode="json")}


@dataclass(frozen=True)
class BacktestResult:
    """Everything a run produced; Series/DataFrames are indexed by session (``date``)."""

    config: BacktestConfig
    run_id: str
    profile: str
    benchmark: str
    sessions: tuple[dt.date, ...]
    portfolio_returns: pd.Series
    equity: pd.Series
    benchmark_returns: pd.Series
    weights_history: pd.DataFrame
    turnover: pd.Series
    decisions: tuple[DecisionRecord, ...]
    trades: pd.DataFrame
    summary: dict[str, Any]
    phase_seconds: dict[str, float]
    warnings: dict[str, int]
    diagnostics: dict[str, Any] = field(default_factory=dict)


def evaluation_plan(sessions: tuple[dt.date, ...], frequency: str, execution: str
                    ) -> list[tuple[int, dt.date, int]]:
    """``(snapshot session index, context as_of, fill session index)`` per evaluation."""
    n = len(sessions)
    plan = []
    for i, day in enumerate(sessions):
        if frequency == "daily":
            as_of = day
        elif frequency == "weekly":  # the run's last session of each ISO (W-FRI) week
            if i + 1 < n and sessions[i + 1].isocalendar()[:2] == day.isocalendar()[:2]:
                continue
            as_of = day
        elif i + 1 < n and calendar.is_last_session_of_month(day):
            as_of = sessions[i + 1]
        else:
            continue
        fill = i + 1 if execution == "next_close" else i
        if fill < n:
            plan.append((i, as_of, fill))
    return plan


class _Run:
    """Mutable state of one run (kept off the public API)."""

    def __init__(self, config: BacktestConfig, matrix: PriceMatrix) -> None:
        self.config = config
        self.matrix = matrix
        self.account = Account(matrix.symbols, config.initial_equity, config.integer_shares)
        n, k = matrix.close.shape
        self.shares = np.zeros((n, k))
        self.cash = np.zeros(n)
        self.turnover = np.zeros(n)
        self.trades: list[tuple[Any, ...]] = []
        self.warnings: dict[str, int] = defaultdict(int)
        self.examples: dict[str, str] = {}
        self.roles: dict[str, str] = {}

    def warn(self, code: str, count: int = 1, example: str | None = None) -> None:
        self.warnings[code] += count
        if example and code not in self.examples:
            self.examples[code] = example

    def unlisted(self, targets: dict[str, float], i: int) -> dict[str, float]:
        """``targets`` plus a 0 for each holding they do not list (unless ``keep_unlisted``)."""
        held = [self.matrix.symbols[j] for j in np.flatnonzero(self.account.shares != 0)]
        missing = [s for s in held if s not in targets]
        if not missing:
            return targets
        day = self.matrix.sessions[i]
        if self.config.keep_unlisted:
            self.warn("unlisted_holding_kept", len(missing),
                      f"{day}: {', '.join(missing)} held but not in the decision; kept")
            return targets
        self.warn("unlisted_holding_sold", len(missing),
                  f"{day}: {', '.join(missing)} held but not in the decision; sold")
        return {**targets, **dict.fromkeys(missing, 0.0)}

    def execute(self, record: DecisionRecord, i: int) -> None:
        decision = record.decision
        if not decision.actionable:
            return
        for pos in decision.positions:
            self.roles[pos.symbol] = pos.role.value
        threshold = decision.diagnostics.trade_threshold_value if self.config.trade_threshold \
            else None
        targets = self.unlisted(decision.targets(), i)
        report: Execution = self.account.apply_targets(
            targets, decision.target_mode.value, self.matrix.close[i],
            self.matrix.marks[i], cost_bps=self.config.cost_bps, threshold=threshold)
        day = self.matrix.sessions[i]
        if report.unpriced:
            self.warn("unpriced_target", len(report.unpriced),
                      f"{day}: no close for {', '.join(report.unpriced)}; holding kept")
        if report.scale < 1.0:
            self.warn("targets_scaled", 1, f"{day}: targets x {report.scale:.6f} so cash "
                                           "covers the trades and costs")
        self.warnings["below_trade_threshold"] += len(report.below_threshold)
        self.turnover[i] += report.turnover
        for f in report.fills:
            self.trades.append((day, record.session, f.symbol, f.shares, f.price, f.value,
                                f.cost))


def synthetic_mapping(config: BacktestConfig
                      ) -> tuple[dict[str, tuple[str, float]], dict[str, float]]:
    """Products to synthesise: the profile builder's (with their own fees), then
    ``config.synthetic`` (which wins for a product in both, at ``config.synthetic_fee``)."""
    from .. import builders

    own = builders.synthetic_products(config.profile, config.overrides)
    mapping = {p: (u, k) for p, (u, k, _) in own.items()}
    mapping.update(config.synthetic)
    fees = {p: f for p, (_, _, f) in own.items() if p not in config.synthetic}
    return dict(sorted(mapping.items())), fees


def _now() -> float:
    return time.perf_counter()


def _evaluate(source: SnapshotSource, profile: str, config: BacktestConfig, session: dt.date,
              context: EvaluationContext, run: _Run) -> StrategyDecision:
    try:
        snapshot = source.snapshot(session)
        return runner.evaluate(snapshot, context, profile, overrides=config.overrides)
    except LookAheadError:
        raise
    except InputError as exc:
        run.warn("fail_closed", 1, f"{session}: {type(exc).__name__}: {exc}")
        return runner.fail_closed_decision(profile, context, exc)


def run_backtest(config: BacktestConfig, prices: pd.DataFrame,
                 universe: pd.DataFrame | None = None,
                 progress: Callable[[str], None] | None = None) -> BacktestResult:
    """Backtest ``config.profile`` on ``prices`` (a normalised long table, see
    :func:`us_equity_strategies.prices.load_prices`) and return a :class:`BacktestResult`.

    ``universe`` is required by profiles whose builder reads one. ``progress`` receives one
    line per finished phase (the CLI prints them on stderr).
    """
    phases: dict[str, float] = {}
    t0 = _now()
    profile = registry.resolve(config.profile)
    loaded = registry.load(profile)
    manifest = loaded.manifest
    resolve_parameters(loaded.parameters_model, manifest.parameters, config.overrides, profile)
    frequency = manifest.evaluation_frequency
    if config.cadence == "weekly":
        if frequency != "daily":
            raise UsageError(f"cadence 'weekly' needs a daily profile; {profile!r} is evaluated "
                             f"{frequency}")
        frequency = "weekly"
    benchmark = config.benchmark or manifest.benchmark
    run_id = config.run_id(data_sha256(prices), data_sha256(universe))
    px, proxied = splice_proxies(prices, config.proxies)
    synthesized: dict[str, int] = {}
    if config.synthetic_leverage:
        mapping, fees = synthetic_mapping(config)
        px, synthesized = splice_synthetic(px, mapping, config.synthetic_fee, fees)
    sessions = run_sessions(px, benchmark, config.start, config.end)
    matrix = price_matrix(px, sessions)
    phases["load"] = _now() - t0

    def done(name: str, detail: str) -> None:
        if progress is not None:
            progress(f"{name}: {phases[name]:.3f} s ({detail})")

    done("load", f"{len(sessions)} sessions, {len(matrix.symbols)} symbols")
    t0 = _now()
    source = SnapshotSource(profile, px, config.overrides, universe)
    phases["features"] = _now() - t0
    done("features", "precomputed" if source.fast else "no precompute: per-session builds")

    t0 = _now()
    plan = evaluation_plan(sessions, frequency, config.execution)
    checks = {plan[k][0] for k in sample_indices(len(plan), config.check_lookahead)}
    by_session = {i: (as_of, fill) for i, as_of, fill in plan}
    run = _Run(config, matrix)
    pending: dict[int, list[DecisionRecord]] = defaultdict(list)
    records: list[DecisionRecord] = []
    for i, day in enumerate(sessions):
        for record in pending.pop(i, ()):
            run.execute(record, i)
        if i in by_session:
            as_of, fill = by_session[i]
            if i in checks:
                source.check(day)
            context = EvaluationContext(as_of=as_of,
                                        portfolio=run.account.portfolio(matrix.marks[i]))
            decision = _evaluate(source, profile, config, day, context, run)
            record = DecisionRecord(day, as_of, sessions[fill], decision)
            records.append(record)
            if fill == i:
                run.execute(record, i)
            else:
                pending[fill].append(record)
        run.shares[i] = run.account.shares
        run.cash[i] = run.account.cash
    phases["loop"] = _now() - t0
    done("loop", f"{len(records)} evaluations, {len(run.trades)} fills")

    t0 = _now()
    index = pd.DatetimeIndex(np.array(sessions, dtype="datetime64[D]"), name="date")
    out = _series(run, matrix, index, benchmark, config.initial_equity)
    phases["metrics"] = _now() - t0
    done("metrics", "returns, weights, summary")

    t0 = _now()
    trades = pd.DataFrame(run.trades, columns=list(_TRADE_COLUMNS))
    for col in ("date", "signal_date"):
        trades[col] = pd.to_datetime(trades[col]).astype("datetime64[ns]")
    stale = int(((run.shares != 0) & np.isnan(matrix.close)).sum())
    if stale:
        run.warn("stale_price", stale, "held symbol-sessions valued at their last close")
    result = BacktestResult(
        config=config, run_id=run_id, profile=profile, benchmark=benchmark, sessions=sessions,
        portfolio_returns=out["returns"], equity=out["equity"],
        benchmark_returns=out["benchmark"], weights_history=out["weights"],
        turnover=out["turnover"], decisions=tuple(records), trades=trades,
        summary=out["summary"], phase_seconds=phases, warnings=dict(sorted(run.warnings.items())),
        diagnostics={
            "evaluation_frequency": frequency,
            "precomputed_features": source.fast,
            "lookahead_checked_sessions": [sessions[i].isoformat() for i in sorted(checks)],
            "proxy_rows": proxied, "synthetic_rows": synthesized,
            "warning_examples": dict(sorted(run.examples.items())),
        },
    )
    phases["report"] = _now() - t0
    done("report", "result tables")
    return result


def _series(run: _Run, matrix: PriceMatrix, index: pd.DatetimeIndex, benchmark: str,
            initial: float) -> dict[str, Any]:
    """Equity, returns, weights, turnover, benchmark returns and the summary (vectorised)."""
    held = run.shares != 0
    values = np.where(held, run.shares * np.where(held, matrix.marks, 0.0), 0.0)
    equity = run.cash + values.sum(axis=1)
    previous = np.concatenate(([initial], equity[:-1]))
    returns = pd.Series(equity / previous - 1.0, index=index, name="portfolio_return")
    ever = np.flatnonzero(held.any(axis=0))
    names = [matrix.symbols[j] for j in ever]
    weights = pd.DataFrame(values[:, ever] / equity[:, None], index=index, columns=names)
    weights[CASH] = run.cash / equity
    turnover = pd.Series(run.turnover, index=index, name="turnover")
    bench = matrix.close[:, matrix.symbols.index(benchmark)]
    bench_returns = pd.Series(np.concatenate(([0.0], bench[1:] / bench[:-1] - 1.0)),
                              index=index, name="benchmark_return")
    roles = {s: run.roles.get(s, "risk") for s in names}
    summary = metrics.summary(returns, benchmark=bench_returns, turnover=turnover,
                              weights=weights[names], roles=roles)
    return {"equity": pd.Series(equity, index=index, name="equity"), "returns": returns,
            "weights": weights, "turnover": turnover, "benchmark": bench_returns,
            "summary": summary}
