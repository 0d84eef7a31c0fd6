"""Every installed profile through the CLI on a fresh install, and the universe options.

* ``dry-run`` with no data arguments works for **every** profile ``us-equity list`` shows (the
  embedded demo data covers ETF and stock-selection profiles alike);
* ``snapshot build`` / ``dry-run`` with ``--universe`` (pipeline-style, inclusive ends) and with
  ``--membership`` + ``--sectors`` (the half-open shared-file format), run as real processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from us_equity_strategies import demo, registry
from us_equity_strategies.contract import StrategyDecision

CLI = [sys.executable, "-m", "us_equity_strategies.cli"]
DEMO_NOTE = "using embedded synthetic demo data (seed 20240101, as_of 2024-12-31) — not market data"
UNIVERSE_NOTE = "using the embedded synthetic demo universe"
RUSSELL = "russell_1000_multi_factor_defensive"
PROFILES = sorted(e.name for e in registry.entries())


def run(*args: object) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "STRATEGY_PROFILE"}
    environ["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=environ, timeout=300)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    return result


def failed(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_every_builtin_profile_is_covered():
    builtin = {"tqqq_growth_income", "soxl_soxx_trend_income", "global_etf_rotation", RUSSELL,
               "tech_communication_pullback_enhancement",
               "mega_cap_leader_rotation_dynamic_top20", "mega_cap_leader_rotation_aggressive",
               "mega_cap_leader_rotation_top50_balanced", "dynamic_mega_leveraged_pullback"}
    assert builtin <= set(PROFILES)
    listed = {r["name"] for r in json.loads(ok(run("list", "--format", "json")).stdout)}
    assert listed == set(PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
def test_dry_run_on_demo_data_works_for_every_profile(profile):
    result = ok(run("dry-run", "--profile", profile, "--format", "json"))
    decision = StrategyDecision.model_validate_json(result.stdout)  # the full contract
    assert decision.profile == profile
    assert DEMO_NOTE in result.stderr
    manifest = registry.get_manifest(profile)
    snapshot_day = decision.diagnostics.snapshot_as_of or demo.DEMO_AS_OF
    assert str(snapshot_day) == "2024-12-31"
    assert (UNIVERSE_NOTE in result.stderr) == manifest.snapshot.requires_universe
    window = manifest.parameters.get("runtime_execution_window_trading_days", 0)
    if window:
        # built on the demo's last session, evaluated on the next NYSE session (2025-01-01
        # is a holiday), the first day of the execution window
        assert str(decision.as_of) == "2025-01-02"
        assert ("snapshot built on 2024-12-31, evaluated on 2025-01-02" in result.stderr)
        assert decision.diagnostics.signal != "waiting_execution_window"
    else:
        assert str(decision.as_of) == "2024-12-31"
        assert "evaluated on" not in result.stderr
    if manifest.snapshot.requires_universe:
        # the demo universe yields an actual stock selection on 2024-12-31
        assert decision.actionable
        assert any(p.role.value == "risk" and (p.target_weight or 0) > 0
                   for p in decision.positions)


def test_evaluate_without_data_uses_demo_universe_and_window():
    result = ok(run("evaluate", "--profile", "mega_cap_leader_rotation_dynamic_top20"))
    decision = json.loads(result.stdout)
    assert (decision["as_of"], decision["diagnostics"]["snapshot_as_of"]) == \
        ("2025-01-02", "2024-12-31")
    assert DEMO_NOTE in result.stderr and UNIVERSE_NOTE in result.stderr
    # the same decision as dry-run (one code path)
    dry = ok(run("dry-run", "--profile", "mega_cap_leader_rotation_dynamic_top20",
                 "--format", "json"))
    assert dry.stdout == result.stdout


# --- universe files -----------------------------------------------------------------------

UNIVERSE_CSV = """symbol,sector,start_date,end_date
AAPL,Information Technology,2018-01-01,
MSFT,Information Technology,,2024-12-31
JPM,Financials,,
TWTR,Communication Services,2018-01-01,2022-10-27
DLB,Information Technology,,
SIRI,Communication Services,,
XOM,Energy,2024-12-31,2024-12-31
NFLX,Communication,2025-01-01,
"""
# The shared files' format (../shared/data/universe): half-open intervals, extra columns.
MEMBERSHIP_CSV = """symbol,start_date,end_date,dates_exact,source
AAPL,2010-01-04,,True,test
MSFT,2010-01-04,,True,test
JPM,2010-01-04,2024-12-31,True,test
XOM,2024-12-31,,True,test
TWTR,2013-11-07,2022-10-28,True,test
BRK.B,2010-02-16,,True,test
"""
SECTORS_CSV = """symbol,gics_sector,source
AAPL,Information Technology,test
MSFT,Information Technology,test
JPM,Financials,test
XOM,Energy,test
BRK-B,Financials,test
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Demo prices (last 300 sessions of a few names + SPY/BOXX) and three universe files."""
    root = tmp_path_factory.mktemp("universe")
    prices = demo.demo_all_prices_cached()
    prices = prices[prices["symbol"].isin(["AAPL", "MSFT", "JPM", "XOM", "DLB", "SIRI", "TWTR",
                                           "NFLX", "SPY", "BOXX"])]
    last = sorted(prices["date"].unique())[-300:]
    prices[prices["date"].isin(last)].to_csv(root / "prices.csv", index=False)
    (root / "universe.csv").write_text(UNIVERSE_CSV)
    (root / "membership.csv").write_text(MEMBERSHIP_CSV)
    (root / "sectors.csv").write_text(SECTORS_CSV)
    return root


def _build(files: Path, out: Path, *universe_args: object) -> tuple[dict, pd.DataFrame]:
    built = json.loads(ok(run("snapshot", "build", "--profile", RUSSELL, "--prices",
                              files / "prices.csv", "--as-of", "2024-12-31", "-o", out,
                              *universe_args)).stdout)
    frame = pd.read_csv(out, keep_default_na=False)
    return built, frame


def test_snapshot_build_with_inclusive_universe(files, tmp_path):
    out = tmp_path / "r.csv"
    built, frame = _build(files, out, "--universe", files / "universe.csv")
    assert built["universe"] == str(files / "universe.csv") and built["rows"] == 7
    # Active on 2024-12-31 with inclusive ends: MSFT (ends that day) and XOM (starts and ends
    # that day) are in; TWTR (ended 2022) and NFLX (starts 2025) are out; SPY is added.
    assert frame["symbol"].tolist() == ["AAPL", "DLB", "JPM", "MSFT", "SIRI", "SPY", "XOM"]
    assert frame["sector"].tolist() == ["Information Technology", "Information Technology",
                                        "Financials", "Information Technology",
                                        "Communication Services", "benchmark", "Energy"]
    # DLB trades < $20M a day and SIRI < $10 in the demo data: not eligible.
    eligible = dict(zip(frame["symbol"], frame["eligible"].astype(str), strict=True))
    assert eligible == {"AAPL": "True", "DLB": "False", "JPM": "True", "MSFT": "True",
                        "SIRI": "False", "SPY": "False", "XOM": "True"}

    decision = json.loads(ok(run("evaluate", "--snapshot", out)).stdout)
    weights = {p["symbol"]: p["target_weight"] for p in decision["positions"]}
    # risk_on (SPY above its SMA200, breadth 4/4): exposure 1.0 over 4 candidates, each capped
    # at single_name_cap 0.06; BOXX gets the rest: 1 - 4 x 0.06 = 0.76.
    assert decision["diagnostics"]["regime"] == "risk_on"
    assert weights == pytest.approx({"AAPL": 0.06, "JPM": 0.06, "MSFT": 0.06, "XOM": 0.06,
                                     "BOXX": 0.76}, abs=1e-12)


def test_snapshot_build_with_membership_and_sectors(files, tmp_path):
    out = tmp_path / "m.csv"
    built, frame = _build(files, out, "--membership", files / "membership.csv",
                          "--sectors", files / "sectors.csv")
    assert built["universe"] == str(files / "membership.csv")
    # Half-open: JPM's interval ends *before* 2024-12-31, XOM's starts on it. BRK.B gets the
    # sector of BRK-B (dots and dashes match) but has no prices: a row, never eligible.
    assert frame["symbol"].tolist() == ["AAPL", "BRK.B", "MSFT", "SPY", "XOM"]
    assert frame["sector"].tolist() == ["Information Technology", "Financials",
                                        "Information Technology", "benchmark", "Energy"]
    assert frame["history_days"].tolist() == [300, 0, 300, 300, 300]
    assert frame["eligible"].astype(str).tolist() == ["True", "False", "True", "False", "True"]
    valid = json.loads(ok(run("snapshot", "validate", out, "--as-of", "2024-12-31")).stdout)
    assert valid["valid"] is True and valid["profile"] == RUSSELL

    # Without --sectors the membership file has no sectors: every member is "unknown".
    _, bare = _build(files, tmp_path / "bare.csv", "--membership", files / "membership.csv")
    assert bare["sector"].tolist() == ["unknown", "unknown", "unknown", "benchmark", "unknown"]


def test_dry_run_with_prices_and_universe(files):
    result = ok(run("dry-run", "--profile", RUSSELL, "--prices", files / "prices.csv",
                    "--membership", files / "membership.csv", "--sectors",
                    files / "sectors.csv", "--format", "json"))
    decision = json.loads(result.stdout)
    assert decision["as_of"] == "2024-12-31"
    assert decision["diagnostics"]["extras"]["candidate_count"] == 3  # AAPL, MSFT, XOM
    assert "demo" not in result.stderr


def test_dry_run_demo_prices_with_a_universe_file(files):
    # No --prices: demo prices, but the given universe instead of the demo universe.
    result = ok(run("dry-run", "--profile", RUSSELL, "--universe", files / "universe.csv",
                    "--format", "json"))
    assert DEMO_NOTE in result.stderr and UNIVERSE_NOTE not in result.stderr
    extras = json.loads(result.stdout)["diagnostics"]["extras"]
    assert sorted(extras["selected_symbols"]) == ["AAPL", "JPM", "MSFT", "XOM"]


def test_universe_usage_errors_exit_2(files, tmp_path):
    prices = files / "prices.csv"
    out = tmp_path / "x.csv"
    failed(run("snapshot", "build", "--profile", RUSSELL, "--prices", prices, "-o", out), 2,
           f"profile {RUSSELL!r} builds from a universe table", "--universe FILE",
           "--membership FILE")
    failed(run("dry-run", "--profile", "mega_cap_leader_rotation_dynamic_top20", "--prices",
               prices), 2, "--universe FILE")
    failed(run("snapshot", "build", "--profile", RUSSELL, "--prices", prices, "-o", out,
               "--universe", files / "universe.csv", "--membership", files / "membership.csv"),
           2, "not allowed with argument")
    failed(run("dry-run", "--profile", RUSSELL, "--sectors", files / "sectors.csv"), 2,
           "--sectors needs --universe FILE or --membership FILE")
    failed(run("dry-run", "--profile", "tqqq_growth_income", "--universe",
               files / "universe.csv"), 2, "does not build from a universe table")
    assert not out.exists()


def test_bad_universe_files_exit_3(files, tmp_path):
    bad = tmp_path / "bad_universe.csv"
    bad.write_text("symbol,sector,start_date,end_date\nAAPL,Information Technology,2024-13-01,\n")
    failed(run("snapshot", "build", "--profile", RUSSELL, "--prices", files / "prices.csv",
               "-o", tmp_path / "x.csv", "--universe", bad), 3, "bad_universe.csv",
           "start_date", "unparsable dates")
    failed(run("dry-run", "--profile", RUSSELL, "--membership", tmp_path / "missing.csv"), 3,
           "universe file not found")
    empty = tmp_path / "empty_interval.csv"
    empty.write_text("symbol,start_date,end_date\nAAPL,2024-01-02,2024-01-02\n")
    failed(run("dry-run", "--profile", RUSSELL, "--membership", empty), 3,
           "empty half-open interval")
