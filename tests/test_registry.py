"""Tests for us_equity_strategies.registry: names, aliases, env var, errors, third-party plugins."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from us_equity_strategies import registry, runner
from us_equity_strategies.contract import EvaluationContext, Portfolio
from us_equity_strategies.errors import (
    EXIT_LOAD,
    EXIT_USAGE,
    DuplicateProfileError,
    ManifestError,
    ProfileImportError,
    ProfileLoadError,
    RetiredProfileError,
    UnknownProfileError,
    UsageError,
)
from us_equity_strategies.params import ProfileParameters
from us_equity_strategies.snapshot import Snapshot

SRC = Path(registry.__file__).resolve().parents[1]
BUILTIN = {"global_etf_rotation", "soxl_soxx_trend_income", "tqqq_growth_income"}


def acme_snapshot(profile: str = "acme_momentum") -> Snapshot:
    import pandas as pd

    frame = pd.DataFrame({
        "as_of": ["2024-03-28"] * 3, "symbol": ["AAA", "BBB", "SPY"],
        "close": [10.0, 20.0, 500.0], "momentum": [0.1, 0.2, 0.05],
        "eligible": [True, True, False], "history_days": [300, 300, 300],
    })
    return Snapshot.from_frame(frame, profile=profile, as_of=dt.date(2024, 3, 28),
                               contract_version=f"{profile}.feature_snapshot.v1",
                               builder_parameters={"lookback": 63})


CTX = EvaluationContext(as_of=dt.date(2024, 3, 28), portfolio=Portfolio(total_equity=10_000.0))


# ---------------------------------------------------------------------------------------------
# Names, aliases, environment
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["global_etf_rotation", "GLOBAL_ETF_ROTATION",
                                  "Global-ETF-Rotation", "  global-etf-rotation\n"])
def test_names_are_case_and_dash_insensitive(name):
    assert registry.resolve(name) == "global_etf_rotation"


def test_normalize_name():
    assert registry.normalize_name(" Tqqq-Growth-Income ") == "tqqq_growth_income"


@pytest.mark.parametrize("alias", ["global_macro_etf_rotation", "Global-Macro-ETF-Rotation"])
def test_alias_resolves_to_canonical(alias):
    assert registry.resolve(alias) == "global_etf_rotation"
    assert registry.get_manifest(alias).profile == "global_etf_rotation"
    assert registry.load(alias).manifest.profile == "global_etf_rotation"


def test_builtin_profiles_listed():
    names = {e.name for e in registry.entries()}
    assert BUILTIN <= names
    for e in registry.entries():
        if e.name in BUILTIN:
            assert e.distribution == "us-equity-strategies" and e.status == "ok"
            assert e.module == f"us_equity_strategies.entrypoints.{e.name}"


def test_env_argument():
    env = {"STRATEGY_PROFILE": "Global-Macro-ETF-Rotation"}
    assert registry.resolve(None, env=env) == "global_etf_rotation"
    assert registry.resolve("", env=env) == "global_etf_rotation"
    # an explicit name wins over the environment
    assert registry.resolve("tqqq_growth_income", env=env) == "tqqq_growth_income"


def test_env_from_os_environ(monkeypatch):
    monkeypatch.setenv("STRATEGY_PROFILE", "soxl-soxx-trend-income")
    assert registry.resolve() == "soxl_soxx_trend_income"
    assert registry.get_manifest().profile == "soxl_soxx_trend_income"
    assert registry.load().manifest.profile == "soxl_soxx_trend_income"


def test_env_argument_ignores_os_environ(monkeypatch):
    monkeypatch.setenv("STRATEGY_PROFILE", "soxl_soxx_trend_income")
    with pytest.raises(UsageError):
        registry.resolve(None, env={})


@pytest.mark.parametrize("env", [{}, {"STRATEGY_PROFILE": ""}, {"STRATEGY_PROFILE": "  "}])
def test_no_name_and_no_env(env):
    with pytest.raises(UsageError) as exc:
        registry.resolve(None, env=env)
    msg = str(exc.value)
    assert "no strategy profile given: pass --profile or set STRATEGY_PROFILE" in msg
    for name in BUILTIN:
        assert name in msg
    assert exc.value.exit_code == EXIT_USAGE


def test_no_name_with_os_environ_unset(monkeypatch):
    monkeypatch.delenv("STRATEGY_PROFILE", raising=False)
    with pytest.raises(UsageError, match=r"Installed profiles: .*global_etf_rotation"):
        registry.resolve()


def test_unknown_profile_near_matches_and_installed():
    with pytest.raises(UnknownProfileError) as exc:
        registry.resolve("globl_etf_rotation")
    err = exc.value
    assert err.near_matches[0] == "global_etf_rotation"
    assert "global_macro_etf_rotation" in err.near_matches
    assert BUILTIN <= set(err.installed)
    msg = str(err)
    assert "unknown strategy profile 'globl_etf_rotation'" in msg
    assert "Did you mean 'global_etf_rotation'" in msg
    assert "Installed profiles: " in msg and "tqqq_growth_income" in msg
    assert isinstance(err, UsageError) and err.exit_code == EXIT_USAGE


def test_unknown_profile_without_near_match():
    with pytest.raises(UnknownProfileError) as exc:
        registry.resolve("zzzzzz")
    assert exc.value.near_matches == [] and "Did you mean" not in str(exc.value)


def test_retired_name():
    with pytest.raises(RetiredProfileError, match="profile 'hybrid_growth_income' was retired: "
                                                  "renamed; use tqqq_growth_income"):
        registry.resolve("Hybrid-Growth-Income")


def test_manifest_read_without_importing_profile_module():
    code = textwrap.dedent("""
        import sys
        from us_equity_strategies import registry
        m = registry.get_manifest("global_macro_etf_rotation")
        assert m.profile == "global_etf_rotation", m.profile
        names = [e.name for e in registry.entries()]
        assert "tqqq_growth_income" in names, names
        loaded = [k for k in sys.modules if k.startswith("us_equity_strategies.entrypoints.")
                  or k.startswith("us_equity_strategies.builders")]
        print("LOADED", loaded, "pandas" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert out.stdout.strip() == "LOADED [] False", out.stdout + out.stderr


def test_load_is_cached_and_clear_cache_resets():
    a = registry.load("global_etf_rotation")
    assert registry.load("global-etf-rotation") is a
    registry.clear_cache()
    b = registry.load("global_etf_rotation")
    assert b is not a and b.module is a.module  # the module itself stays imported


# ---------------------------------------------------------------------------------------------
# Third-party plugin, discovered through a real *.dist-info on sys.path
# ---------------------------------------------------------------------------------------------
def test_plugin_is_listed_and_evaluates(acme):
    entries = {e.name: e for e in registry.entries()}
    assert BUILTIN <= set(entries)
    e = entries["acme_momentum"]
    assert (e.distribution, e.distribution_version, e.module) == (
        "acme-plugin", "0.1.0", "acme_plugin.momentum")
    assert e.manifest_path == acme.root / "acme_plugin" / "manifests" / "acme_momentum.toml"
    assert e.status == "ok" and e.manifest.target_mode.value == "weight"
    assert registry.resolve("ACME-Momentum") == "acme_momentum"
    loaded = registry.load("acme_momentum")
    assert loaded.distribution == "acme-plugin"
    assert issubclass(loaded.parameters_model, ProfileParameters)
    d = runner.evaluate(acme_snapshot(), CTX)
    # BBB has the highest eligible momentum (0.2 > 0.1; SPY is not eligible)
    assert d.profile == "acme_momentum" and d.targets() == {"BBB": 1.0}
    assert d.provenance.package_version and d.small_account.min_recommended_equity_usd == 1000.0


def test_plugin_manifest_read_without_import(acme):
    assert registry.get_manifest("acme_momentum").version == "0.1.0"
    assert "acme_plugin.momentum" not in sys.modules
    assert "acme_plugin" not in sys.modules


def test_broken_plugin_import_error(plugins):
    plugins.install({"acme_momentum": "momentum", "acme_broken": "broken"})
    status = {e.name: e.status for e in registry.entries()}
    assert status["acme_broken"] == "ok"  # listing reads manifests only
    with pytest.raises(ProfileImportError) as exc:
        registry.load("acme_broken")
    msg = str(exc.value)
    for fragment in ("profile 'acme_broken'", "module acme_plugin.broken",
                     "distribution acme-plugin", "No module named 'acme_missing_dependency'",
                     "ModuleNotFoundError"):
        assert fragment in msg, fragment
    assert isinstance(exc.value.__cause__, ModuleNotFoundError)
    assert exc.value.exit_code == EXIT_LOAD
    # the others still load and list
    assert registry.load("acme_momentum").manifest.profile == "acme_momentum"
    assert registry.load("global_etf_rotation").manifest.profile == "global_etf_rotation"
    assert BUILTIN | {"acme_broken", "acme_momentum"} <= {e.name for e in registry.entries()}


@pytest.mark.parametrize(("module", "fragment"), [
    ("no_evaluate", "module must define a callable 'evaluate'"),
    ("no_parameters", "module must define 'Parameters', a subclass of "
                      "us_equity_strategies.params.ProfileParameters"),
])
def test_plugin_missing_contract_attribute(plugins, module, fragment):
    plugins.install({"acme_partial": module})
    with pytest.raises(ProfileLoadError) as exc:
        registry.load("acme_partial")
    msg = str(exc.value)
    assert fragment in msg
    assert f"profile 'acme_partial' (module acme_plugin.{module}, distribution acme-plugin)" in msg
    assert type(exc.value) is ProfileLoadError


def test_same_profile_from_two_distributions(plugins):
    plugins.install()
    plugins.install(dist="acme-fork", version="2.0.0", package="acme_fork")
    regs = [e for e in registry.entries() if e.name == "acme_momentum"]
    assert sorted(e.distribution for e in regs) == ["acme-fork", "acme-plugin"]
    assert registry.duplicates()["acme_momentum"] == ["acme-fork", "acme-plugin"]
    with pytest.raises(DuplicateProfileError) as exc:
        registry.load("acme_momentum")
    msg = str(exc.value)
    assert "profile 'acme_momentum' is registered by more than one distribution" in msg
    assert "acme-fork 2.0.0 (acme_fork.momentum)" in msg
    assert "acme-plugin 0.1.0 (acme_plugin.momentum)" in msg
    with pytest.raises(DuplicateProfileError):
        registry.get_manifest("acme_momentum")
    # unrelated profiles are unaffected
    assert registry.load("global_etf_rotation").manifest.profile == "global_etf_rotation"


def test_alias_collision_between_distributions(plugins):
    plugins.install({"acme_momentum": "momentum"}, aliases={"acme_momentum": ["acme_alias"]})
    plugins.install({"acme_other": "momentum"}, dist="acme-fork", package="acme_fork",
                    aliases={"acme_other": ["acme_alias"]})
    with pytest.raises(DuplicateProfileError) as exc:
        registry.resolve("acme_alias")
    msg = str(exc.value)
    assert "alias 'acme_alias' points at several profiles" in msg
    assert "acme_momentum (distribution acme-plugin)" in msg
    assert "acme_other (distribution acme-fork)" in msg
    assert registry.duplicates()["acme_alias"] == ["acme_momentum", "acme_other"]
    # the canonical names still work
    assert registry.resolve("acme_other") == "acme_other"


def test_plugin_alias_shadowing_builtin_alias(plugins):
    plugins.install(aliases={"acme_momentum": ["global_macro_etf_rotation"]})
    with pytest.raises(DuplicateProfileError, match="global_etf_rotation \\(distribution "
                                                    "us-equity-strategies\\)"):
        registry.resolve("global_macro_etf_rotation")
    assert registry.resolve("global_etf_rotation") == "global_etf_rotation"


def test_plugin_alias_equal_to_profile_name(plugins):
    plugins.install(aliases={"acme_momentum": ["tqqq_growth_income"]})
    with pytest.raises(DuplicateProfileError, match="'tqqq_growth_income' is both a profile"):
        registry.resolve("tqqq_growth_income")


def test_plugin_alias_resolves(plugins):
    plugins.install(aliases={"acme_momentum": ["acme_mom"]})
    assert registry.resolve("ACME-MOM") == "acme_momentum"


def test_manifest_of_wrong_profile_marks_entry_failed(plugins):
    plugins.install({"acme_momentum": "momentum"})
    # register a second name whose manifest file is missing
    info = next(plugins.root.glob("acme_plugin-*.dist-info"))
    (info / "entry_points.txt").write_text(
        "[us_equity_strategies.profiles]\nacme_momentum = acme_plugin.momentum\n"
        "acme_ghost = acme_plugin.momentum\n", encoding="utf-8")
    registry.clear_cache()
    entries = {e.name: e for e in registry.entries()}
    assert entries["acme_ghost"].status == "LOAD FAILED"
    assert "manifest file not found" in entries["acme_ghost"].error
    assert "acme_ghost.toml" in entries["acme_ghost"].error
    with pytest.raises(ManifestError, match="profile 'acme_ghost'"):
        registry.load("acme_ghost")
    assert entries["acme_momentum"].status == "ok"


def _cli_module() -> list[str] | None:
    if (SRC / "us_equity_strategies" / "cli" / "__main__.py").exists():
        return [sys.executable, "-m", "us_equity_strategies.cli"]
    exe = shutil.which("us-equity", path=str(Path(sys.executable).parent))
    return [exe] if exe else None


def test_cli_lists_plugin(acme):
    cmd = _cli_module()
    if cmd is None:
        pytest.skip("the CLI (us_equity_strategies.cli) is not written yet")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(acme.root), str(SRC)])}
    out = subprocess.run([*cmd, "list"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "acme_momentum" in out.stdout
    assert "acme-plugin" in out.stdout
    assert "global_etf_rotation" in out.stdout
