"""Backtests with the exact code platforms run: the profile's builder, entrypoint and runner.

>>> from us_equity_strategies.backtest import BacktestConfig, run_backtest
>>> result = run_backtest(BacktestConfig(profile="tqqq_growth_income", start=..., end=...),
...                       prices)  # doctest: +SKIP

See :mod:`._engine` for the timeline (evaluation sessions, fill timing), :mod:`._portfolio`
for the account rules (drift, costs, whole shares, explicit liquidation), :mod:`._prices` for
proxy and synthetic-leverage splicing, and docs/backtest.md for the differences from the
reference research backtests (features.md §7).
"""

from ._config import DEFAULT_PROXIES, DEFAULT_SYNTHETIC, BacktestConfig, data_sha256
from ._engine import (
    BacktestResult,
    DecisionRecord,
    evaluation_plan,
    run_backtest,
    synthetic_mapping,
)
from ._outputs import write_outputs
from ._portfolio import Account, Execution, Fill
from ._precompute import LookAheadError, SnapshotSource, first_difference
from ._prices import PriceMatrix, price_matrix, run_sessions, splice_proxies, splice_synthetic
from ._report import write_report
from ._sweep import (
    Executor,
    JoblibExecutor,
    SerialExecutor,
    expand_grid,
    load_grid,
    run_sweep,
)

__all__ = [
    "DEFAULT_PROXIES",
    "DEFAULT_SYNTHETIC",
    "Account",
    "BacktestConfig",
    "BacktestResult",
    "DecisionRecord",
    "Execution",
    "Executor",
    "Fill",
    "JoblibExecutor",
    "LookAheadError",
    "PriceMatrix",
    "SerialExecutor",
    "SnapshotSource",
    "data_sha256",
    "evaluation_plan",
    "expand_grid",
    "first_difference",
    "load_grid",
    "price_matrix",
    "run_backtest",
    "run_sessions",
    "run_sweep",
    "splice_proxies",
    "splice_synthetic",
    "synthetic_mapping",
    "write_outputs",
    "write_report",
]
