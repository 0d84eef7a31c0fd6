"""Tests of the ``us-equity`` command line, run as a real process.

Every command and every documented exit code goes through
``python -m us_equity_strategies.cli`` (and the installed ``us-equity`` script) in a
subprocess: stdout must be complete machine output on success and empty on failure, stderr
carries notes and ``error: ...``. Plugins are real distributions (``*.dist-info`` with
entry points) put on ``PYTHONPATH`` by the ``plugins`` fixture of conftest.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from us_equity_strategies import __version__, demo
from us_equity_strategies.builders import build_snapshot
from us_equity_strategies.contract import EvaluationContext, Portfolio
from us_equity_strategies.registry import get_manifest
from us_equity_strategies.runner import evaluate
from us_equity_strategies.snapshot import read_snapshot, write_snapshot

CLI = [sys.executable, "-m", "us_equity_strategies.cli"]
PROFILES = ("tqqq_growth_income", "soxl_soxx_trend_income", "global_etf_rotation")
AS_OF = "2024-12-31"
DEMO_NOTE = "using embedded synthetic demo data (seed 20240101, as_of 2024-12-31) — not market data"


def run(*args: object, env: dict[str, str] | None = None, pythonpath: Path | None = None,
        cwd: Path | None = None, exe: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run the CLI; STRATEGY_PROFILE is removed unless ``env`` sets it."""
    environ = {k: v for k, v in os.environ.items() if k != "STRATEGY_PROFILE"}
    environ["PYTHONIOENCODING"] = "utf-8"
    if pythonpath is not None:
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(pythonpath), environ.get("PYTHONPATH", "")) if p)
    environ.update(env or {})
    return subprocess.run([*(exe or CLI), *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=environ, cwd=cwd, timeout=300)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    return result


def failed(result: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """Assert exit ``code``, empty stdout (no partial output) and ``fragments`` on stderr."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "error: " in result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    return result.stderr


# --- data fixtures ----------------------------------------------------------------------

def _symbols() -> set[str]:
    g = get_manifest("global_etf_rotation").parameters
    return {*g["ranking_pool"], *g["canary_assets"], g["safe_haven"],
            *get_manifest("tqqq_growth_income").managed_symbols,
            *get_manifest("soxl_soxx_trend_income").managed_symbols}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """prices.csv (last 300 demo sessions of the symbols the three profiles use) and one
    written snapshot per profile (built in-process, so CLI tests can start from files)."""
    root = tmp_path_factory.mktemp("cli")
    prices = demo.demo_prices()
    prices = prices[prices["symbol"].isin(_symbols())]
    last = sorted(prices["date"].unique())[-300:]
    prices = prices[prices["date"].isin(last)].reset_index(drop=True)
    prices.to_csv(root / "prices.csv", index=False)
    for profile in PROFILES:
        snap = build_snapshot(profile, prices, demo.DEMO_AS_OF)
        write_snapshot(snap, root / f"{profile}.csv")
    return root


def snap(data_dir: Path, profile: str, tmp_path: Path, sidecar: bool = True) -> Path:
    """A private copy of a written snapshot (optionally without its sidecar)."""
    dst = tmp_path / f"{profile}.csv"
    shutil.copy(data_dir / f"{profile}.csv", dst)
    if sidecar:
        shutil.copy(data_dir / f"{profile}.csv.manifest.json",
                    tmp_path / f"{dst.name}.manifest.json")
    return dst


def equity_args(profile: str) -> list[str]:
    return ["--equity", "100000"] if profile != "global_etf_rotation" else []


# --- round trip: build -> validate -> evaluate, per profile ---------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_build_validate_evaluate_round_trip(profile, data_dir, tmp_path):
    out = tmp_path / "snap" / f"{profile}.csv"
    built = json.loads(ok(run("snapshot", "build", "--profile", profile, "--prices",
                              data_dir / "prices.csv", "--as-of", AS_OF, "-o", out)).stdout)
    side = Path(f"{out}.manifest.json")
    assert built["snapshot"] == str(out) and built["manifest"] == str(side)
    assert built["snapshot_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert built["manifest_sha256"] == hashlib.sha256(side.read_bytes()).hexdigest()
    assert json.loads(side.read_text())["snapshot_sha256"] == built["snapshot_sha256"]
    assert (built["profile"], built["as_of"]) == (profile, AS_OF)

    valid = json.loads(ok(run("snapshot", "validate", "--profile", profile, out,
                              "--as-of", AS_OF)).stdout)
    assert valid["valid"] is True and valid["rows"] == built["rows"]
    assert valid["sha256"] == built["snapshot_sha256"]

    result = ok(run("evaluate", "--profile", profile, "--snapshot", out, "--format", "json",
                    *equity_args(profile)))
    decision = json.loads(result.stdout)
    assert decision["profile"] == profile and decision["as_of"] == AS_OF
    # The CLI returns exactly what the library returns for the same file and context.
    portfolio = Portfolio(total_equity=100_000, cash=100_000, buying_power=100_000) \
        if equity_args(profile) else None
    expected = evaluate(read_snapshot(out, profile),
                        EvaluationContext(as_of=demo.DEMO_AS_OF, portfolio=portfolio))
    assert result.stdout == expected.to_json() + "\n"
    targets = [p["target_value"] if p["target_value"] is not None else p["target_weight"]
               for p in decision["positions"]]
    # Hand-derived totals: tqqq (income layer off below $1e9) invests S - 2% reserve in both
    # regimes: 45+45+8 = 98 or 98 -> 98,000. soxl (E < income start 150,000) targets the whole
    # core C = E = 100,000 (reserve not deducted). global: weights of top-2 + BIL sum to 1.
    assert sum(targets) == pytest.approx(
        {"tqqq_growth_income": 98_000.0, "soxl_soxx_trend_income": 100_000.0,
         "global_etf_rotation": 1.0}[profile], abs=1e-9)


@pytest.mark.slow
def test_snapshot_other_formats_and_failed_build_writes_nothing(data_dir, tmp_path):
    for suffix in (".jsonl", ".parquet", ".json"):
        out = tmp_path / f"g{suffix}"
        ok(run("snapshot", "build", "--profile", "global_etf_rotation", "--prices",
               data_dir / "prices.csv", "-o", out))  # --as-of defaults to the last date
        assert json.loads(ok(run("snapshot", "validate", out)).stdout)["as_of"] == AS_OF
    bad = tmp_path / "bad_prices.csv"
    bad.write_text("date,symbol,close\n2024-12-31,SPY,-1\n")
    target = tmp_path / "never.csv"
    failed(run("snapshot", "build", "--profile", "global_etf_rotation", "--prices", bad,
               "--as-of", AS_OF, "-o", target), 3, "bad_prices.csv", "non-positive")
    assert not target.exists() and not Path(f"{target}.manifest.json").exists()
    failed(run("snapshot", "build", "--profile", "global_etf_rotation", "--prices",
               data_dir / "prices.csv", "-o", tmp_path / "x.txt"), 3, "unsupported snapshot format")


# --- evaluate: formats, profile selection, context ----------------------------------------

@pytest.mark.slow
def test_evaluate_formats_and_languages(data_dir, tmp_path):
    path = snap(data_dir, "global_etf_rotation", tmp_path)
    decision = json.loads(ok(run("evaluate", "--snapshot", path)).stdout)  # sidecar names it
    assert decision["profile"] == "global_etf_rotation"
    platform = json.loads(ok(run("evaluate", "--snapshot", path, "--format", "platform",
                                 "--lang", "zh-CN")).stdout)
    assert set(platform) == {"positions", "budgets", "risk_flags", "diagnostics"}
    assert platform["diagnostics"]["signal_description"].startswith("季度调仓(n=2)\n  入选: ")
    table = ok(run("evaluate", "--snapshot", path, "--format", "table")).stdout
    assert table.splitlines()[0] == "Global ETF Rotation (global_etf_rotation 1.0.0)"
    assert "signal: quarterly(n=2)" in table
    zh = ok(run("evaluate", "--snapshot", path, "--format", "table", "--lang", "zh-CN")).stdout
    assert zh.startswith("全球 ETF 轮动 (global_etf_rotation 1.0.0)\n日期: 2024-12-31")


@pytest.mark.slow
def test_strategy_profile_env_var(data_dir, tmp_path):
    path = snap(data_dir, "tqqq_growth_income", tmp_path, sidecar=False)
    env = {"STRATEGY_PROFILE": "tqqq_growth_income"}
    decision = json.loads(ok(run("evaluate", "--snapshot", path, "--equity", "5000",
                                 env=env)).stdout)
    assert decision["profile"] == "tqqq_growth_income"
    assert ok(run("snapshot", "validate", path, env=env)).stdout.count('"valid": true') == 1
    # An alias in the env var, no data arguments: demo data for the aliased profile.
    result = ok(run("evaluate", env={"STRATEGY_PROFILE": "global_macro_etf_rotation"}))
    assert json.loads(result.stdout)["profile"] == "global_etf_rotation"
    assert DEMO_NOTE in result.stderr


@pytest.mark.slow
def test_context_file_holdings_and_equity_override(data_dir, tmp_path):
    path = snap(data_dir, "tqqq_growth_income", tmp_path)
    idle = json.loads(ok(run("evaluate", "--snapshot", path, "--equity", "10000")).stdout)
    # On this date QQQ 581.00 > MA200 539.29 but the MA20 slope is -0.55: no entry for an
    # empty account ...
    assert idle["diagnostics"]["signal"] == "idle"
    assert idle["diagnostics"]["extras"]["above_ma200"] is True
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps({"portfolio": {"total_equity": 20000, "cash": 0, "positions": [
        {"symbol": "TQQQ", "quantity": 100, "market_value": 20000}]}}))
    held = json.loads(ok(run("evaluate", "--snapshot", path, "--context", ctx)).stdout)
    # ... but a held position above MA200 stays on: reserve 2% = 400, TQQQ = QQQ = 45% of
    # 20,000 = 9,000, BOXX = 20,000 - 400 - 18,000 = 1,600.
    assert held["diagnostics"]["signal"] == "hold"
    values = {p["symbol"]: p["target_value"] for p in held["positions"]}
    assert (values["TQQQ"], values["QQQ"], values["BOXX"]) == (9_000.0, 9_000.0, 1_600.0)
    result = ok(run("evaluate", "--snapshot", path, "--context", ctx, "--equity", "50000"))
    values = {p["symbol"]: p["target_value"] for p in json.loads(result.stdout)["positions"]}
    # Same holdings at 50,000: 22,500 / 22,500 / 50,000 - 1,000 - 45,000 = 4,000.
    assert (values["TQQQ"], values["QQQ"], values["BOXX"]) == (22_500.0, 22_500.0, 4_000.0)
    assert "overrides the context portfolio's total_equity" in result.stderr


# --- demo data and dry-run ----------------------------------------------------------------

def test_evaluate_and_dry_run_without_data_use_the_demo():
    result = ok(run("evaluate", "--profile", "tqqq_growth_income"))
    assert DEMO_NOTE in result.stderr
    assert "assuming a cash-only portfolio of $100,000" in result.stderr
    values = [p["target_value"] for p in json.loads(result.stdout)["positions"]]
    assert sum(values) == pytest.approx(98_000.0)
    result = ok(run("dry-run", "--profile", "soxl_soxx_trend_income", "--format", "json",
                    "--equity", "1000"))
    assert DEMO_NOTE in result.stderr and "assuming" not in result.stderr
    assert json.loads(result.stdout)["small_account"]["small_account_warning"] is False


def test_dry_run_text_is_summary_then_json(data_dir):
    # 2024-12-30 is not the last session of December: a daily check that holds.
    result = ok(run("dry-run", "--profile", "global_etf_rotation", "--prices",
                    data_dir / "prices.csv", "--as-of", "2024-12-30"))
    summary, _, payload = result.stdout.partition("\n\n")
    assert summary.splitlines()[:2] == ["Global ETF Rotation (global_etf_rotation 1.0.0)",
                                        "as of: 2024-12-30 (snapshot 2024-12-30)"]
    assert summary.splitlines()[-1] == \
        "no trades (hold current positions), reason: not_rebalance_day"
    decision = json.loads(payload)
    assert (decision["actionable"], decision["no_op_reason"]) == (False, "not_rebalance_day")
    assert "demo" not in result.stderr


# --- catalog commands -------------------------------------------------------------------

def test_list_show_schema_version_help():
    rows = json.loads(ok(run("list", "--format", "json")).stdout)
    by_name = {r["name"]: r for r in rows}
    assert set(PROFILES) <= set(by_name)
    g = by_name["global_etf_rotation"]
    assert (g["aliases"], g["cadence"], g["target_mode"], g["status"], g["min_equity_usd"],
            g["load_status"]) == (["global_macro_etf_rotation"], "quarterly + daily canary",
                                  "weight", "runtime_enabled", 3000.0, "ok")
    table = ok(run("list")).stdout.splitlines()
    assert table[0].split() == ["PROFILE", "ALIASES", "CADENCE", "MODE", "STATUS", "MIN",
                                "EQUITY", "DISTRIBUTION", "LOAD"]
    assert any(line.startswith("soxl_soxx_trend_income ") and "$1,000" in line
               for line in table)

    shown = json.loads(ok(run("show", "global_macro_etf_rotation")).stdout)
    assert shown["profile"] == "global_etf_rotation"
    assert shown["manifest"]["parameters"]["top_n"] == 2
    assert shown["manifest"]["snapshot"]["columns"][0] == {
        "name": "as_of", "dtype": "date", "nullable": False, "description": ""}
    text = ok(run("show", "soxl_soxx_trend_income", "--format", "table", "--lang",
                  "zh-CN")).stdout
    assert text.startswith("SOXL/SOXX 半导体趋势收益 (soxl_soxx_trend_income 1.0.0)")
    assert "  trend_ma_window" in text and "min equity:       $1,000" in text

    assert json.loads(ok(run("schema")).stdout)["title"] == "StrategyDecision"
    assert "portfolio" in json.loads(ok(run("schema", "--kind", "context")).stdout)["properties"]
    assert json.loads(ok(run("schema", "--kind", "manifest")).stdout)["title"] == "Manifest"

    assert ok(run("--version")).stdout == f"us-equity {__version__}\n"
    help_text = ok(run("--help")).stdout
    for line in ("2  usage error", "3  invalid input", "4  profile load failure",
                 "5  profile evaluation failure"):
        assert line in help_text


def test_installed_console_script():
    script = Path(sys.executable).parent / "us-equity"
    if not script.exists():
        pytest.skip("us-equity console script is not installed next to this interpreter")
    rows = json.loads(ok(run("list", "--format", "json", exe=[str(script)])).stdout)
    assert {"tqqq_growth_income", "soxl_soxx_trend_income"} <= {r["name"] for r in rows}
    failed(run("show", "tqqq", exe=[str(script)]), 2, "unknown strategy profile 'tqqq'")


# --- exit code 2: usage ------------------------------------------------------------------

def test_usage_errors_exit_2(data_dir, tmp_path):
    path = snap(data_dir, "tqqq_growth_income", tmp_path, sidecar=False)
    failed(run("evaluate", "--profile", "tqq_growth_income", "--snapshot", path), 2,
           "unknown strategy profile 'tqq_growth_income'",
           "Did you mean 'tqqq_growth_income'?")
    failed(run("show", "semiconductor_rotation_income"), 2, "was retired",
           "soxl_soxx_trend_income")
    failed(run("evaluate", "--snapshot", path), 2, "no strategy profile given",
           "STRATEGY_PROFILE")
    failed(run("dry-run"), 2, "no strategy profile given")
    for args, fragment in ((["evaluate", "--bogus"], "unrecognized arguments: --bogus"),
                           (["evaluate", "--format", "xml"], "invalid choice: 'xml'"),
                           (["evaluate", "--as-of", "31/12/2024"], "expected YYYY-MM-DD"),
                           (["evaluate", "--equity", "-5"], "expected a finite number >= 0"),
                           (["evaluate", "--lang", "fr"], "invalid choice: 'fr'"),
                           ([], "required: COMMAND")):
        result = run(*args)
        assert (result.returncode, result.stdout) == (2, ""), args
        assert fragment in result.stderr, (fragment, result.stderr)


# --- exit code 3: invalid input ------------------------------------------------------------

@pytest.mark.slow
def test_input_errors_exit_3(data_dir, tmp_path):
    path = snap(data_dir, "tqqq_growth_income", tmp_path)
    base = ("evaluate", "--snapshot", path, "--equity", "10000")
    failed(run(*base, "--set", "dual_drive_qqq_wieght=0.5"), 3,
           "unknown parameter 'dual_drive_qqq_wieght' (did you mean 'dual_drive_qqq_weight'?)")
    failed(run(*base, "--set", "cash_reserve_ratio"), 3, "must look like key=value")
    failed(run(*base, "--set", "cash_reserve_ratio=2"), 3, "cash_reserve_ratio=2")
    failed(run(*base, "--as-of", "2025-01-02"), 3, "1 NYSE sessions older than 2025-01-02")
    failed(run("evaluate", "--snapshot", path), 3, "needs the account's total equity")

    bad_json = tmp_path / "ctx.json"
    bad_json.write_text('{"portfolio": ')
    failed(run(*base, "--context", bad_json), 3, "ctx.json: invalid JSON at line 1")
    bad_field = tmp_path / "ctx2.json"
    bad_field.write_text(json.dumps({"portfolio": {"cash": 5}, "holdngs": []}))
    failed(run(*base, "--context", bad_field), 3, "ctx2.json: invalid evaluation context",
           "portfolio.total_equity: Field required", "holdngs: Extra inputs are not permitted")
    failed(run(*base, "--context", tmp_path / "missing.json"), 3, "context file not found")

    path.write_text(path.read_text() + "junk\n")  # the sidecar still has the old digest
    failed(run(*base), 3, "checksum mismatch")
    corrupt = tmp_path / "corrupt.csv"
    corrupt.write_text("as_of,symbol\n2024-12-31,QQQ\n")
    failed(run("evaluate", "--profile", "tqqq_growth_income", "--snapshot", corrupt), 3,
           "corrupt.csv: missing required columns: role, close")
    failed(run("snapshot", "validate", "--profile", "tqqq_growth_income", corrupt), 3,
           "missing required columns")


# --- exit codes 4 and 5: plugins -----------------------------------------------------------

ACME_SNAPSHOT = ("as_of,symbol,close,momentum,eligible,history_days\n"
                 "2024-12-31,AAA,10.0,0.20,true,300\n"
                 "2024-12-31,SPY,500.0,0.10,true,300\n")


@pytest.mark.slow
def test_plugin_profiles_exit_codes(plugins, tmp_path):
    pkg = plugins.install({"acme_momentum": "momentum", "acme_broken": "broken",
                           "acme_dict": "returns_dict", "acme_ghost": "momentum"})
    (pkg / "manifests" / "acme_ghost.toml").unlink()  # registered, but no manifest
    site = plugins.root
    data = tmp_path / "acme.csv"
    data.write_text(ACME_SNAPSHOT)

    good = ok(run("evaluate", "--profile", "acme_momentum", "--snapshot", data, "--format",
                  "table", pythonpath=site)).stdout.splitlines()
    # Unknown signal codes of third-party profiles render generically.
    assert good[:3] == ["ACME Momentum (acme_momentum 0.1.0)",
                        "as of: 2024-12-31 (snapshot 2024-12-31)", "signal: hold_leader"]
    failed(run("evaluate", "--profile", "acme_broken", "--snapshot", data, pythonpath=site),
           4, "acme_broken", "failed to import", "acme_missing_dependency")
    failed(run("evaluate", "--profile", "acme_dict", "--snapshot", data, pythonpath=site),
           5, "returned dict, expected StrategyDecision")

    listing = {r["name"]: r["load_status"] for r in json.loads(ok(run(
        "list", "--format", "json", "--check", pythonpath=site)).stdout)}
    assert listing["acme_momentum"] == "ok"
    assert listing["acme_broken"].startswith("LOAD FAILED: profile 'acme_broken'")
    assert listing["tqqq_growth_income"] == "ok"
    assert listing["acme_ghost"].startswith("LOAD FAILED: manifest: manifest file not found")
    plain = {r["name"]: r["load_status"] for r in json.loads(ok(run(
        "list", "--format", "json", pythonpath=site)).stdout)}
    assert plain["acme_broken"] == "ok"  # without --check no profile code is imported
    assert plain["acme_ghost"].startswith("LOAD FAILED: manifest:")
    table = ok(run("list", pythonpath=site)).stdout.splitlines()
    ghost = next(line for line in table if line.startswith("acme_ghost "))
    assert ghost.split()[1:6] == ["-", "-", "-", "-", "-"]  # nothing known without a manifest
    failed(run("show", "acme_ghost", pythonpath=site), 4, "manifest file not found")


def test_duplicate_registration_exit_4(plugins, data_dir, tmp_path):
    plugins.install({"tqqq_growth_income": "momentum"}, dist="evil-dist")
    table = ok(run("list", pythonpath=plugins.root)).stdout
    dupes = [line for line in table.splitlines() if line.startswith("tqqq_growth_income ")]
    assert len(dupes) == 2
    assert all("DUPLICATE NAME (evil-dist, us-equity-strategies)" in line for line in dupes)
    path = snap(data_dir, "tqqq_growth_income", tmp_path)
    failed(run("evaluate", "--snapshot", path, "--equity", "1000", pythonpath=plugins.root), 4,
           "registered by more than one distribution", "evil-dist")


# --- exit code 1, --debug, imports ----------------------------------------------------------

def test_internal_error_exit_1_and_debug_traceback(monkeypatch, capsys):
    from us_equity_strategies import cli
    from us_equity_strategies.cli import _catalog

    def boom(args):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(_catalog, "cmd_schema", boom)
    assert cli.main(["schema"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "error: internal error: RuntimeError: kaboom (rerun with --debug" in err
    assert "Traceback" not in err
    assert cli.main(["schema", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err

    result = run("show", "nope", "--debug")
    assert result.returncode == 2 and "Traceback" in result.stderr
    assert "error: unknown strategy profile 'nope'" in result.stderr


def test_evaluate_imports_no_heavy_optional_modules(data_dir, tmp_path):
    path = snap(data_dir, "global_etf_rotation", tmp_path)
    probe = ("import json, sys\n"
             "from us_equity_strategies.cli import main\n"
             "rc = main(['evaluate', '--profile', 'global_etf_rotation', '--snapshot', "
             f"{str(path)!r}])\n"
             "top = sorted({m.split('.')[0] for m in sys.modules})\n"
             "sys.stderr.write('MODULES=' + json.dumps([rc, top]))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=300)
    rc, modules = json.loads(result.stderr.split("MODULES=")[1])
    assert rc == 0
    assert not {"torch", "sklearn", "pandas_market_calendars"} & set(modules)
    # pandas >= 3 imports pyarrow itself when it is installed; we add no import of our own.
    baseline = subprocess.run([sys.executable, "-c", "import sys, pandas; "
                               "print('pyarrow' in sys.modules)"], capture_output=True,
                              text=True, timeout=300).stdout.strip() == "True"
    assert ("pyarrow" in modules) == baseline
    # --help answers without pandas or pydantic.
    probe = ("import sys\nfrom us_equity_strategies.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write(str(sorted({'pandas', 'pydantic', 'numpy'} & set(sys.modules))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=300)
    assert result.stderr == "[]"
