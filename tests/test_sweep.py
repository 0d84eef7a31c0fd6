"""Parameter sweeps: grid expansion, grid files, executors (serial, joblib, custom), the CLI."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from us_equity_strategies import demo
from us_equity_strategies.backtest import BacktestConfig, run_backtest
from us_equity_strategies.backtest._outputs import summary_row
from us_equity_strategies.backtest._sweep import (
    Executor,
    JoblibExecutor,
    SerialExecutor,
    SweepTask,
    expand_grid,
    load_grid,
    run_sweep,
    run_task,
    sweep_tasks,
)
from us_equity_strategies.errors import InputError, ParameterError

PROFILE = "global_etf_rotation"
START, END = dt.date(2023, 1, 1), dt.date(2023, 12, 31)
# top_n = 1 vs 2 differ from 2023-04 on, when the canary lets the rotation hold risk ETFs.
GRID = {"top_n": [1, 2]}


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return demo.demo_prices()


@pytest.fixture(scope="module")
def base() -> BacktestConfig:
    return BacktestConfig(profile=PROFILE, start=START, end=END)


@pytest.fixture(scope="module")
def serial_table(base, prices) -> pd.DataFrame:
    return run_sweep(base, GRID, prices, executor=SerialExecutor())


# ------------------------------------------------------------------------------------ grids
def test_expand_grid_sorts_keys_and_varies_the_last_fastest():
    got = expand_grid({"b": [1, 2], "config.cost_bps": [0.0], "a": ["y", "x"]})
    assert got == [
        {"a": "y", "b": 1, "config.cost_bps": 0.0}, {"a": "y", "b": 2, "config.cost_bps": 0.0},
        {"a": "x", "b": 1, "config.cost_bps": 0.0}, {"a": "x", "b": 2, "config.cost_bps": 0.0},
    ]
    assert [list(p) for p in got] == [["a", "b", "config.cost_bps"]] * 4
    assert expand_grid({}) == [{}]


def _nested(keys: list[str], grid: dict) -> list[dict]:
    """Obviously-correct reference: nested loops over the sorted keys."""
    if not keys:
        return [{}]
    return [{keys[0]: v, **rest} for v in grid[keys[0]] for rest in _nested(keys[1:], grid)]


@given(st.dictionaries(st.text("abcxyz.", min_size=1, max_size=4),
                       st.lists(st.integers(-5, 5), min_size=1, max_size=3, unique=True),
                       max_size=4))
def test_expand_grid_matches_nested_loops(grid):
    got = expand_grid(grid)
    assert got == _nested(sorted(grid), grid)
    assert len(got) == math.prod(len(v) for v in grid.values())
    assert len({json.dumps(p, sort_keys=True) for p in got}) == len(got)


@pytest.mark.parametrize(("grid", "message"), [
    ({"top_n": 2}, "expected a list of values"),
    ({"top_n": "12"}, "expected a list of values"),
    ({"top_n": []}, "empty list"),
    ({"top_n": [1, 1]}, "repeats the value"),
    ({"top_n": [float("nan")]}, "JSON values"),
])
def test_expand_grid_rejects_bad_grids(grid, message):
    with pytest.raises(ParameterError, match=message):
        expand_grid(grid)


def test_load_grid_json_and_toml(tmp_path):
    (tmp_path / "g.json").write_text('{"top_n": [1, 2], "config": {"cost_bps": [0, 5]}}',
                                     encoding="utf-8")
    (tmp_path / "g.toml").write_text('top_n = [1, 2]\nconfig.cost_bps = [0, 5]\n',
                                     encoding="utf-8")
    expected = {"config.cost_bps": [0, 5], "top_n": [1, 2]}
    assert load_grid(tmp_path / "g.json") == expected
    assert load_grid(tmp_path / "g.toml") == expected
    (tmp_path / "bad.toml").write_text("top_n = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.toml: grid key 'top_n': expected a list"):
        load_grid(tmp_path / "bad.toml")
    (tmp_path / "g.yaml").write_text("top_n: [1]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"must be \.json or \.toml"):
        load_grid(tmp_path / "g.yaml")
    with pytest.raises(InputError, match="grid file not found"):
        load_grid(tmp_path / "missing.json")


def test_sweep_tasks_validate_every_point_before_running(base, prices):
    with pytest.raises(ParameterError, match="did you mean 'top_n'"):
        sweep_tasks(base, {"topn": [1]}, prices)
    with pytest.raises(ParameterError, match="top_n"):
        sweep_tasks(base, {"top_n": [0]}, prices)  # outside the parameter's range
    with pytest.raises(ParameterError, match="not a sweepable config field"):
        sweep_tasks(base, {"config.profile": ["tqqq_growth_income"]}, prices)
    with pytest.raises(ParameterError, match="cost_bps"):
        sweep_tasks(base, {"config.cost_bps": [-1.0]}, prices)
    with pytest.raises(ParameterError, match="describe the same run"):
        sweep_tasks(base, {"config.cost_bps": [5, 5.0]}, prices)
    tasks = sweep_tasks(base, {"config.cost_bps": [0.0], "top_n": [1, 3]}, "prices.parquet")
    assert [t.run for t in tasks] == [1, 2]
    assert [t.config["overrides"] for t in tasks] == [{"top_n": 1}, {"top_n": 3}]
    assert [t.config["cost_bps"] for t in tasks] == [0.0, 0.0]
    assert tasks[0].prices == "prices.parquet"


# -------------------------------------------------------------------------------- executors
def test_rows_are_the_runs_summary_rows(serial_table, base, prices):
    assert list(serial_table["run"]) == [1, 2]
    assert list(serial_table["top_n"]) == [1, 2]
    assert list(serial_table.columns[:3]) == ["run", "top_n", "run_id"]
    assert serial_table.loc[0, "total_return"] != serial_table.loc[1, "total_return"]
    direct = run_backtest(base.model_copy(update={"overrides": {"top_n": 1}}), prices)
    row = summary_row(direct)
    assert serial_table.loc[0, "run_id"] == direct.run_id
    for key, value in row.items():
        got = serial_table.loc[0, key]
        assert got == value or (pd.isna(got) and pd.isna(value)), key


def test_joblib_and_serial_give_identical_tables(serial_table, base, prices):
    lines: list[str] = []
    table = run_sweep(base, GRID, prices, executor=JoblibExecutor(n_jobs=2),
                      progress=lines.append)
    pd.testing.assert_frame_equal(table, serial_table)
    assert lines == ["sweep: 2 runs on 2 workers (JoblibExecutor)", "run 1/2 done",
                     "run 2/2 done"]


class RecordingExecutor:
    """A custom executor with only ``map`` (the protocol), like a Ray or Dask adapter."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, list]] = []

    def map(self, fn, items):
        self.calls.append((fn, list(items)))
        return [fn(item) for item in reversed(items)][::-1]


def test_a_custom_executor_is_used(base, prices, serial_table):
    executor = RecordingExecutor()
    assert isinstance(executor, Executor)
    lines: list[str] = []
    table = run_sweep(base, {"top_n": [2]}, prices, executor=executor, progress=lines.append)
    assert len(executor.calls) == 1
    fn, items = executor.calls[0]
    assert fn is run_task
    assert [type(t) for t in items] == [SweepTask]
    assert items[0].config["overrides"] == {"top_n": 2}
    assert table.loc[0, "run_id"] == serial_table.loc[1, "run_id"]
    assert table.loc[0, "sharpe_ratio"] == serial_table.loc[1, "sharpe_ratio"]
    assert lines == ["sweep: 1 runs on ? workers (RecordingExecutor)", "run 1/1 done"]


def test_an_executor_that_loses_results_is_an_error(base, prices):
    class Lossy:
        def map(self, fn, items):
            return []

    with pytest.raises(RuntimeError, match="returned 0 results for 1 tasks"):
        run_sweep(base, {"top_n": [2]}, prices, executor=Lossy())


def test_worker_reads_prices_from_a_path(tmp_path, base, prices, serial_table):
    path = tmp_path / "prices.parquet"
    prices.to_parquet(path)
    row = run_task(sweep_tasks(base, {"top_n": [1]}, str(path))[0])
    # Same values, so the same metrics. The run id differs: load_prices normalises the
    # column order and symbol dtype, and the data hash covers dtypes and column names.
    assert row["run_id"] != serial_table.loc[0, "run_id"]
    for key in ("total_return", "sharpe_ratio", "max_drawdown", "turnover_per_year",
                "exposure_risk", "tracking_error"):
        assert row[key] == serial_table.loc[0, key], key


# -------------------------------------------------------------------------------------- CLI
def test_cli_sweep_writes_one_table(tmp_path, prices):
    prices_file = tmp_path / "prices.parquet"
    prices.to_parquet(prices_file)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"top_n": [2]}), encoding="utf-8")
    out = tmp_path / "sweep.csv"
    args = [sys.executable, "-m", "us_equity_strategies.cli", "sweep", "--profile", PROFILE,
            "--prices", str(prices_file), "--start", "2023-01-01", "--end", "2023-12-31",
            "--grid", str(grid), "--jobs", "1", "--cost-bps", "5", "-o", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "STRATEGY_PROFILE"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"runs": 1, "workers": 1, "profile": PROFILE,
                                       "grid": {"top_n": [2]}, "output": str(out)}
    assert "note: sweep: 1 runs on 1 workers (SerialExecutor)" in done.stderr
    assert "note: run 1/1 done" in done.stderr
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["run", "top_n", "run_id"]
    assert table.loc[0, "periods_per_year"] == 252 and table.loc[0, "risk_free_annual"] == 0
    # the same run through the library (the CLI reads only the symbols the builder needs,
    # so compare the metrics, not the run id, which hashes the table that was read)
    direct = summary_row(run_backtest(
        BacktestConfig(profile=PROFILE, start=START, end=END, overrides={"top_n": 2}), prices))
    assert table.loc[0, "total_return"] == pytest.approx(direct["total_return"], abs=1e-12)

    again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 2 and again.stdout == ""
    assert "exists; pass --overwrite" in again.stderr

    grid.write_text(json.dumps({"topn": [2]}), encoding="utf-8")
    bad = subprocess.run([*args[:-1], str(tmp_path / "other.csv")], capture_output=True,
                         text=True, env=env, timeout=600)
    assert bad.returncode == 3 and bad.stdout == ""
    assert "did you mean 'top_n'" in bad.stderr
    assert not (tmp_path / "other.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.json", "prices.parquet",
                                                         "sweep.csv"]
