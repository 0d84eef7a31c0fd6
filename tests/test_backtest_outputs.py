"""Backtest output files and report: layout, determinism, atomicity, values vs metrics.

The results come from the real ``run_backtest`` on the demo prices (tqqq_growth_income, 2023,
whole shares from $2,000 so the small-account note is exercised).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from us_equity_strategies import demo, metrics, registry
from us_equity_strategies.backtest import (
    BacktestConfig,
    _outputs,
    _report,
    data_sha256,
    run_backtest,
)
from us_equity_strategies.backtest._outputs import (
    DATA_FILES,
    exposure_history,
    roles_from_decisions,
    summary_row,
    write_outputs,
)
from us_equity_strategies.backtest._report import (
    METRIC_ROWS,
    PNG_FILES,
    REPORT_FILES,
    monthly_returns,
    write_report,
)
from us_equity_strategies.errors import UsageError

ALL_FILES = sorted([*DATA_FILES, *REPORT_FILES, "timings.json"])
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return demo.demo_prices()


@pytest.fixture(scope="module")
def result(prices):
    config = BacktestConfig(profile="tqqq_growth_income", start=dt.date(2023, 1, 1),
                            end=dt.date(2023, 12, 31), initial_equity=2000.0,
                            integer_shares=True)
    return run_backtest(config, prices)


@pytest.fixture(scope="module")
def hashes(prices) -> dict[str, str | None]:
    return {"prices": data_sha256(prices), "universe": None}


@pytest.fixture(scope="module")
def written(result, hashes, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outputs") / "run"
    write_outputs(result, out, data_sha256=hashes, extra={"prices_file": "demo"})
    return out


# ----------------------------------------------------------------------------------- layout
def test_every_file_is_written_with_its_columns(written, result):
    assert sorted(p.name for p in written.iterdir()) == ALL_FILES
    returns = pd.read_csv(written / "portfolio_returns.csv")
    assert list(returns.columns) == ["date", "portfolio_return", "equity", "benchmark_return"]
    assert len(returns) == len(result.sessions)
    assert returns["date"].iloc[0] == result.sessions[0].isoformat()
    weights = pd.read_csv(written / "weights_history.csv")
    assert list(weights.columns) == ["date", *map(str, result.weights_history.columns)]
    assert weights.columns[-1] == "CASH"
    assert list(pd.read_csv(written / "turnover_history.csv").columns) == ["date", "turnover"]
    assert list(pd.read_csv(written / "trades.csv").columns) == [
        "date", "signal_date", "symbol", "shares", "price", "value", "cost"]
    summary = pd.read_csv(written / "summary.csv")
    assert len(summary) == 1
    for column in ("run_id", "profile", "benchmark", "periods_per_year", "risk_free_annual",
                   "compounding", "turnover_per_year", "exposure_risk", "exposure_income",
                   "exposure_safe_haven", "exposure_cash", "relative_return",
                   "tracking_error", "total_return", "sharpe_ratio", "max_drawdown"):
        assert column in summary.columns, column
    assert summary.loc[0, "run_id"] == result.run_id


def test_tables_round_trip_exactly(written, result):
    returns = pd.read_csv(written / "portfolio_returns.csv", index_col="date",
                          parse_dates=["date"])
    np.testing.assert_array_equal(returns["portfolio_return"].to_numpy(),
                                  result.portfolio_returns.to_numpy())
    np.testing.assert_array_equal(returns["equity"].to_numpy(), result.equity.to_numpy())
    weights = pd.read_csv(written / "weights_history.csv", index_col="date")
    np.testing.assert_array_equal(weights.to_numpy(), result.weights_history.to_numpy())


def test_decisions_jsonl_has_every_decision_with_sorted_keys(written, result):
    lines = (written / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(result.decisions) > 0
    for line, record in zip(lines, result.decisions, strict=True):
        payload = json.loads(line)
        assert line == json.dumps(payload, sort_keys=True)
        assert payload["session"] == record.session.isoformat()
        assert payload["as_of"] == record.as_of.isoformat()
        assert payload["decision"] == record.decision.model_dump(mode="json")


def test_run_json_describes_the_run(written, result, hashes):
    run = json.loads((written / "run.json").read_text(encoding="utf-8"))
    manifest = registry.get_manifest("tqqq_growth_income")
    assert run["run_id"] == result.run_id
    assert run["profile"] == "tqqq_growth_income"
    assert run["profile_version"] == manifest.version
    assert run["parameters"] == manifest.parameters  # no overrides: the manifest defaults
    assert run["config"] == json.loads(result.config.canonical_json())
    assert run["data_range"] == {"start": "2023-01-03", "end": "2023-12-29",
                                 "sessions": len(result.sessions)}
    assert run["data_sha256"] == hashes
    assert run["calendar_version"].startswith("NYSE/")
    assert run["package_version"]
    assert run["metric_conventions"] == {"periods_per_year": 252.0, "risk_free_annual": 0.0,
                                         "compounding": "geometric"}
    assert run["prices_file"] == "demo"
    assert run["files"] == ALL_FILES
    assert "phase_seconds" not in json.dumps(run)  # timings live in timings.json only
    timings = json.loads((written / "timings.json").read_text(encoding="utf-8"))
    assert set(timings["phase_seconds"]) == set(result.phase_seconds)


def test_run_json_rejects_hashes_of_other_data(result, tmp_path):
    with pytest.raises(ValueError, match="does not reproduce the result's run id"):
        write_outputs(result, tmp_path / "x", data_sha256={"prices": "0" * 64})
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------------------ the values
def test_summary_row_equals_metrics_called_directly(written, result):
    # Roles worked out from the decisions independently: every position's role, last wins.
    roles = {}
    for record in result.decisions:
        for pos in record.decision.positions:
            roles[pos.symbol] = pos.role.value
    held = [c for c in result.weights_history.columns if c != "CASH"]
    for rf in (0.0, 0.03):
        expected = metrics.summary(result.portfolio_returns, benchmark=result.benchmark_returns,
                                   turnover=result.turnover,
                                   weights=result.weights_history[held],
                                   roles={s: roles[s] for s in held}, risk_free=rf)
        row = summary_row(result, risk_free=rf)
        assert row["risk_free_annual"] == rf and row["periods_per_year"] == 252.0
        for key, value in expected.items():
            assert row[key] == value or (value != value and row[key] != row[key]), key
    csv = pd.read_csv(written / "summary.csv")
    expected = metrics.summary(result.portfolio_returns, benchmark=result.benchmark_returns,
                               turnover=result.turnover, weights=result.weights_history[held],
                               roles={s: roles[s] for s in held})
    for key, value in expected.items():
        got = csv.loc[0, key]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            assert pd.isna(got), key
        else:
            assert got == value, key
    # tqqq decisions list TQQQ/QQQ as risk, BOXX as safe haven, QQQI/SPYI as income
    assert roles_from_decisions(result.decisions)["BOXX"] == "safe_haven"
    assert roles_from_decisions(result.decisions)["TQQQ"] == "risk"


def test_exposure_history_adds_up_to_one(result):
    exposure = exposure_history(result)
    assert list(exposure.columns) == ["risk", "income", "safe_haven", "cash"]
    np.testing.assert_array_equal(exposure["cash"], result.weights_history["CASH"])
    np.testing.assert_allclose(exposure.sum(axis=1), 1.0, atol=1e-12)
    # the first session holds nothing: all cash before the first fill (next_close)
    assert exposure.iloc[0].to_dict() == {"risk": 0.0, "income": 0.0, "safe_haven": 0.0,
                                          "cash": 1.0}


def test_monthly_returns_compound_by_calendar_month():
    idx = pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-01", "2025-03-03"])
    table = monthly_returns(pd.Series([0.1, -0.1, 0.05, np.nan], index=idx))
    # Jan 2024: 1.1 * 0.9 - 1 = -0.01; Feb: 0.05; 2024: 0.99 * 1.05 - 1 = 0.0395
    # Mar 2025: a NaN return is a flat period -> 0.0; 2025: 0.0
    assert list(table.index) == [2024, 2025]
    assert list(table.columns) == [*range(1, 13), "year"]
    assert table.loc[2024, 1] == pytest.approx(-0.01, abs=1e-15)
    assert table.loc[2024, 2] == pytest.approx(0.05, abs=1e-15)
    assert table.loc[2024, "year"] == pytest.approx(0.0395, abs=1e-15)
    assert table.loc[2025, 3] == 0.0 and table.loc[2025, "year"] == 0.0
    assert table.loc[2024, 3:12].isna().all() and table.loc[2025, [1, 2, 4]].isna().all()


# --------------------------------------------------------------------------- the report
def test_report_is_self_contained_with_four_embedded_charts(written):
    page = (written / "report.html").read_text(encoding="utf-8")
    pattern = r"<img src='data:image/png;base64,([A-Za-z0-9+/=]+)'"
    images = re.findall(pattern, page)
    text = re.sub(pattern, "", page).lower()  # base64 may spell anything, e.g. "hTTp"
    assert "http" not in text and "//" not in text
    assert "<script" not in text and "<link" not in text and "src=" not in text
    assert len(images) == 4
    assert [base64.b64decode(i) for i in images] == [(written / f).read_bytes()
                                                      for f in PNG_FILES]
    for name in PNG_FILES:
        data = (written / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert b"Software" not in data and b"matplotlib" not in data.lower()


def test_report_prints_conventions_beside_every_metric(written, result, hashes):
    page = (written / "report.html").read_text(encoding="utf-8")
    assert page.count("<td>252</td><td>0.00 %</td>") == len(METRIC_ROWS)
    assert "periods_per_year = 252" in page
    assert "TQQQ Growth Income: 2023-01-03 to 2023-12-29" in page
    assert result.run_id in page and hashes["prices"] in page
    assert "Small account:" in page and "$2,000" in page and "$500" in page


def test_report_with_a_risk_free_rate_and_without_whole_shares(result, tmp_path):
    plain = dataclasses.replace(
        result, config=result.config.model_copy(update={"integer_shares": False}))
    row = summary_row(plain, risk_free=0.04)
    paths = write_report(plain, tmp_path, row)
    assert sorted(p.name for p in paths) == sorted(REPORT_FILES)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<td>252</td><td>4.00 %</td>") == len(METRIC_ROWS)
    assert "Small account:" not in page


# ------------------------------------------------------------------ determinism, atomicity
def test_same_result_gives_identical_bytes_except_timings(written, result, hashes, tmp_path):
    again = tmp_path / "again"
    files = write_outputs(result, again, data_sha256=hashes, extra={"prices_file": "demo"})
    assert sorted(files) == ALL_FILES
    for name in ALL_FILES:
        same = (again / name).read_bytes() == (written / name).read_bytes()
        assert same is (name != "timings.json"), name


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_a_failing_writer_leaves_no_output(result, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_outputs, "_write_decisions", boom)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(result, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_failing_report_keeps_the_previous_output(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_outputs(result, out, report=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "report.html" not in before

    def boom(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(_report, "_html", boom)  # after the PNGs were written
    with pytest.raises(RuntimeError, match="render failed"):
        write_outputs(result, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_existing_directories_are_refused_unless_overwrite(result, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_outputs(result, out, report=False)  # an existing empty directory is fine
    with pytest.raises(UsageError, match="not empty"):
        write_outputs(result, out, report=False)
    files = write_outputs(result, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(files) == ALL_FILES
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match=r"not backtest outputs: \['notes.txt'\]"):
        write_outputs(result, out, overwrite=True)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="not a directory"):
        write_outputs(result, tmp_path / "file")
    assert _leftovers(tmp_path) == []
