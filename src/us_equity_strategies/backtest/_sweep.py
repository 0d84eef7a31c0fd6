"""Parameter sweeps: many backtests of one profile, one summary table.

The pieces are separable so a distributed executor can be dropped in without touching
profile code or this module:

* :func:`expand_grid` turns ``{key: [values]}`` into the ordered list of combinations;
* :func:`sweep_tasks` validates every combination in the calling process (bad keys and
  values fail before any work is dispatched) and returns :class:`SweepTask` objects: plain,
  picklable data (a config dict, the prices as a frame or a file path, the metric
  conventions);
* :func:`run_task` is a top-level function of one task returning one table row; it is what
  an executor maps, in any process or on any machine that has this package installed;
* an executor is any object with ``map(fn, items) -> list`` returning results in the order
  of ``items`` (:class:`SerialExecutor`, :class:`JoblibExecutor` for local cores).

A Ray or Dask executor is a few lines, e.g.::

    class RayExecutor:
        def map(self, fn, items):
            remote = ray.remote(fn)
            return ray.get([remote.remote(item) for item in items])

    class DaskExecutor:
        def __init__(self, client):
            self.client = client
        def map(self, fn, items):
            return self.client.gather(self.client.map(fn, items, pure=False))

    run_sweep(config, grid, "prices.parquet", executor=RayExecutor())

Pass the prices as a file path for remote workers (each worker reads it once and caches it)
rather than a frame, which is pickled into every task.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import pandas as pd
from pydantic import ValidationError

from ..errors import InputError, ParameterError
from ._config import BacktestConfig

__all__ = [
    "CONFIG_PREFIX",
    "Executor",
    "JoblibExecutor",
    "SerialExecutor",
    "SweepTask",
    "expand_grid",
    "load_grid",
    "run_sweep",
    "run_task",
    "sweep_tasks",
    "sweep_worker",
]

T = TypeVar("T")
R = TypeVar("R")
#: Grid keys with this prefix set a :class:`BacktestConfig` field; others are profile
#: parameters (merged into ``config.overrides``).
CONFIG_PREFIX = "config."
_NOT_SWEEPABLE = ("profile", "overrides")
PricesArg = pd.DataFrame | str | os.PathLike


# --------------------------------------------------------------------------------------------
# executors
# --------------------------------------------------------------------------------------------
@runtime_checkable
class Executor(Protocol):
    """Runs ``fn`` on every item and returns the results in the order of ``items``."""

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]: ...


class SerialExecutor:
    """Runs the tasks one after the other in this process."""

    n_workers = 1

    def imap(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Results one at a time, in order (lets the caller report progress)."""
        return (fn(item) for item in items)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return list(self.imap(fn, items))


class JoblibExecutor:
    """Local processes with joblib's ``loky`` backend.

    Parameters
    ----------
    n_jobs : int
        Worker processes; ``-1`` = all cores (joblib's convention: ``-2`` = all but one).
    backend : str
        joblib backend (``"loky"`` processes; ``"threading"`` for debugging).
    """

    def __init__(self, n_jobs: int = -1, backend: str = "loky") -> None:
        if n_jobs == 0:
            raise ValueError("n_jobs must be a non-zero integer (-1 = all cores)")
        self.n_jobs = n_jobs
        self.backend = backend

    @property
    def n_workers(self) -> int:
        import joblib

        return int(joblib.effective_n_jobs(self.n_jobs))

    def imap(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Results in the order of ``items`` as soon as each is ready."""
        import joblib

        parallel = joblib.Parallel(n_jobs=min(self.n_workers, max(len(items), 1)),
                                   backend=self.backend, return_as="generator")
        return iter(parallel(joblib.delayed(fn)(item) for item in items))

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return list(self.imap(fn, items))


# --------------------------------------------------------------------------------------------
# grids
# --------------------------------------------------------------------------------------------
def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False)


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of ``grid``, keys sorted, the last key varying fastest.

    ``{"b": [1, 2], "a": ["x", "y"]}`` -> ``[{"a": "x", "b": 1}, {"a": "x", "b": 2},
    {"a": "y", "b": 1}, {"a": "y", "b": 2}]``; values keep the order given. An empty grid is
    one combination (the base run). Every value list must be a non-empty list of distinct
    JSON values.
    """
    if not isinstance(grid, Mapping):
        raise ParameterError(f"a grid must be a mapping of key -> list of values, "
                             f"got {type(grid).__name__}")
    keys = sorted(grid)
    for key in keys:
        values = grid[key]
        if not isinstance(key, str) or not key.strip():
            raise ParameterError(f"grid key {key!r} must be a non-empty string")
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
            raise ParameterError(f"grid key {key!r}: expected a list of values, got "
                                 f"{type(values).__name__} {values!r}")
        if not values:
            raise ParameterError(f"grid key {key!r} has an empty list of values")
        try:
            seen = [_canonical(v) for v in values]
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"grid key {key!r}: values must be JSON values: {exc}") from None
        dupes = sorted({s for s in seen if seen.count(s) > 1})
        if dupes:
            raise ParameterError(f"grid key {key!r} repeats the value(s) {', '.join(dupes)}")
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(list(grid[k]) for k in keys))]


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):  # TOML dotted keys / [config] tables
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def load_grid(path: str | os.PathLike) -> dict[str, list[Any]]:
    """Read a grid file: JSON or TOML ``{key: [values, ...]}``.

    Nested tables are flattened with dots, so TOML ``config.cost_bps = [0, 5]`` and
    ``[config]\\ncost_bps = [0, 5]`` both give the key ``config.cost_bps``.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"grid file not found: {p}") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read grid file: {exc}") from None
    suffix = p.suffix.lower()
    try:
        if suffix == ".json":
            payload = json.loads(raw.decode("utf-8"))
        elif suffix == ".toml":
            import tomllib

            payload = tomllib.loads(raw.decode("utf-8"))
        else:
            raise InputError(f"{p}: grid files must be .json or .toml, got {suffix or 'none'!r}")
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, TOMLDecodeError
        raise InputError(f"{p}: invalid grid file: {exc}") from None
    if not isinstance(payload, Mapping):
        raise InputError(f"{p}: a grid must be an object of key -> list of values, got "
                         f"{type(payload).__name__}")
    grid = _flatten(payload)
    try:
        expand_grid(grid)
    except ParameterError as exc:
        raise InputError(f"{p}: {exc}") from None
    return {k: list(v) for k, v in sorted(grid.items())}


# --------------------------------------------------------------------------------------------
# tasks and the worker
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepTask:
    """Everything one run needs, as picklable data."""

    run: int
    point: dict[str, Any]
    config: dict[str, Any]
    prices: PricesArg
    universe: PricesArg | None = None
    risk_free: float = 0.0
    periods_per_year: float | str = 252


@functools.lru_cache(maxsize=4)
def _read_table(kind: str, path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """One read per process per file version (workers receive many tasks)."""
    if kind == "prices":
        from ..prices import load_prices

        return load_prices(path)
    from ..universe import load_universe

    return load_universe(path)


def _table(kind: str, value: PricesArg | None) -> pd.DataFrame | None:
    if value is None or isinstance(value, pd.DataFrame):
        return value
    path = Path(value).resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InputError(f"{kind} file not found: {path}") from None
    return _read_table(kind, str(path), stat.st_mtime_ns, stat.st_size)


def sweep_worker(config: Mapping[str, Any], prices: PricesArg, universe: PricesArg | None = None,
                 *, risk_free: float = 0.0, periods_per_year: float | str = 252
                 ) -> dict[str, Any]:
    """Run one backtest from a config dict; returns its ``summary.csv`` row (a dict)."""
    from ._engine import run_backtest
    from ._outputs import summary_row

    result = run_backtest(BacktestConfig.model_validate(dict(config)), _table("prices", prices),
                          _table("universe", universe))
    return summary_row(result, risk_free=risk_free, periods_per_year=periods_per_year)


def run_task(task: SweepTask) -> dict[str, Any]:
    """The function executors map: one task -> ``{"run", *grid keys, *summary row}``."""
    row = sweep_worker(task.config, task.prices, task.universe, risk_free=task.risk_free,
                       periods_per_year=task.periods_per_year)
    return {"run": task.run, **task.point, **row}


def _config_for(base: BacktestConfig, point: Mapping[str, Any]) -> BacktestConfig:
    from .. import registry
    from ..params import resolve_parameters

    fields, params = {}, {}
    for key, value in point.items():
        if key.startswith(CONFIG_PREFIX):
            name = key[len(CONFIG_PREFIX):]
            if name not in BacktestConfig.model_fields or name in _NOT_SWEEPABLE:
                allowed = sorted(set(BacktestConfig.model_fields) - set(_NOT_SWEEPABLE))
                raise ParameterError(f"grid key {key!r}: not a sweepable config field; "
                                     f"options: {', '.join(CONFIG_PREFIX + a for a in allowed)}")
            fields[name] = value
        else:
            params[key] = value
    payload = {**base.model_dump(), **fields, "overrides": {**base.overrides, **params}}
    try:
        config = BacktestConfig.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise ParameterError(f"grid point {_canonical(dict(point))}: {problems}") from None
    loaded = registry.load(config.profile)
    resolve_parameters(loaded.parameters_model, loaded.manifest.parameters, config.overrides,
                       loaded.manifest.profile)
    return config


def sweep_tasks(base_config: BacktestConfig, grid: Mapping[str, Sequence[Any]],
                prices: PricesArg, universe: PricesArg | None = None, *,
                risk_free: float = 0.0, periods_per_year: float | str = 252
                ) -> list[SweepTask]:
    """Validate every grid point and return one :class:`SweepTask` per point (in order)."""
    tasks, seen = [], {}
    for run, point in enumerate(expand_grid(grid), start=1):
        config = _config_for(base_config, point)
        key = config.canonical_json()
        if key in seen:
            raise ParameterError(f"grid points {seen[key]} and {run} describe the same run "
                                 f"({_canonical(point)})")
        seen[key] = run
        tasks.append(SweepTask(run, dict(point), config.model_dump(mode="json"), prices,
                               universe, risk_free, periods_per_year))
    return tasks


def run_sweep(base_config: BacktestConfig, grid: Mapping[str, Sequence[Any]],
              prices: PricesArg, universe: PricesArg | None = None,
              executor: Executor | None = None, *, risk_free: float = 0.0,
              periods_per_year: float | str = 252,
              progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Backtest every grid point; one row per point in :func:`expand_grid` order.

    Columns: ``run`` (1-based), the grid keys, then the ``summary.csv`` row of that run
    (run id, profile, benchmark, every metric with ``periods_per_year`` and
    ``risk_free_annual``). ``executor`` defaults to :class:`JoblibExecutor` (all cores).
    ``progress`` receives ``"sweep: N runs on W workers"`` and ``"run k/N done"`` lines.
    """
    tasks = sweep_tasks(base_config, grid, prices, universe, risk_free=risk_free,
                        periods_per_year=periods_per_year)
    executor = JoblibExecutor() if executor is None else executor
    n = len(tasks)
    say = progress or (lambda _line: None)
    workers = getattr(executor, "n_workers", None)
    say(f"sweep: {n} runs on {min(workers, n) if workers else '?'} workers "
        f"({type(executor).__name__})")
    imap = getattr(executor, "imap", None)
    if callable(imap):
        rows = []
        for k, row in enumerate(imap(run_task, tasks), start=1):
            rows.append(row)
            say(f"run {k}/{n} done")
    else:
        rows = list(executor.map(run_task, tasks))
        say(f"run {n}/{n} done")
    if len(rows) != n or [r.get("run") for r in rows] != [t.run for t in tasks]:
        raise RuntimeError(f"executor {type(executor).__name__} returned {len(rows)} results "
                           f"for {n} tasks, or not in task order")
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else None)
