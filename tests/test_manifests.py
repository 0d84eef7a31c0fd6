"""Tests for us_equity_strategies.manifests: packaged manifests and error messages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from us_equity_strategies import registry
from us_equity_strategies.contract import TargetMode
from us_equity_strategies.errors import ManifestError
from us_equity_strategies.manifests import MANIFEST_DIR, DType, load_manifest

TEMPLATE = Path(__file__).parent / "plugins" / "acme_plugin" / "acme_plugin" / "manifests" / (
    "acme_momentum.toml")
PACKAGED = sorted(MANIFEST_DIR.glob("*.toml"))


def test_packaged_manifests_exist():
    names = {p.stem for p in PACKAGED}
    assert {"global_etf_rotation", "tqqq_growth_income", "soxl_soxx_trend_income"} <= names


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.stem)
def test_packaged_manifest_loads(path):
    m = load_manifest(path, expected_profile=path.stem)
    assert m.profile == path.stem
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert m.parameters == raw["parameters"]  # defaults pass through unchanged
    assert m.snapshot.column(m.snapshot.date_column).dtype is DType.DATE
    assert m.snapshot.column(m.snapshot.key_column).dtype is DType.STR
    assert m.display("en") and m.display("zh-CN")
    assert m.snapshot.contract_version == f"{path.stem}.feature_snapshot.v1"
    assert set(m.snapshot.builder_parameters) <= set(m.parameters)


REGISTERED = sorted(e.name for e in registry.entries()
                    if e.distribution == "us-equity-strategies")


def test_every_registered_profile_ships_its_manifest():
    assert REGISTERED
    for entry in registry.entries():
        if entry.distribution == "us-equity-strategies":
            assert entry.manifest_path == MANIFEST_DIR / f"{entry.name}.toml"
            assert entry.status == "ok", entry.error


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_manifest_defaults_match_parameters_model(name):
    # registry.load runs check_manifest_defaults (missing default / extra key -> ManifestError)
    loaded = registry.load(name)
    assert set(loaded.parameters_model.model_fields) == set(loaded.manifest.parameters)
    loaded.parameters_model.model_validate(loaded.manifest.parameters)


def test_reference_minimums_from_spec():
    # spec/profiles.md §3: 500 / 1,000 / 3,000
    expected = {"tqqq_growth_income": 500.0, "soxl_soxx_trend_income": 1000.0,
                "global_etf_rotation": 3000.0}
    for name, minimum in expected.items():
        assert registry.get_manifest(name).small_account.min_recommended_equity_usd == minimum


def test_global_etf_rotation_manifest_values():
    m = load_manifest(MANIFEST_DIR / "global_etf_rotation.toml")
    assert m.target_mode is TargetMode.WEIGHT
    assert m.aliases == ("global_macro_etf_rotation",)
    assert m.safe_haven == "BIL"
    assert m.parameters["top_n"] == 2 and m.parameters["hold_bonus"] == 0.02


def test_display_falls_back_to_english():
    m = load_manifest(TEMPLATE)
    assert m.display("fr") == "ACME Momentum"
    assert m.display("zh-CN") == "ACME 动量"


def write(tmp_path: Path, text: str, name: str = "acme_momentum.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


T = TEMPLATE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ('version = "0.1.0"', 'version = 0.1.0"', ["invalid TOML", "line 3"]),
        ('cadence = "daily"\n', "", ["cadence: Field required"]),
        ('cadence = "daily"', 'cadence = "daily"\ncadense = "x"',
         ["cadense: Extra inputs are not permitted"]),
        ("max_age_sessions = 1", "max_age_sessions = 1\nmax_age_days = 3",
         ["snapshot.max_age_days: Extra inputs are not permitted"]),
        ('{ name = "close", dtype = "float" }', '{ name = "close", dtype = "decimal" }',
         ["snapshot.columns.2.dtype", "'str', 'float', 'int', 'bool' or 'date'"]),
        ('{ name = "momentum"', '{ name = "close"', ["duplicate snapshot columns: close"]),
        ('{ name = "as_of", dtype = "date" },', "", ["snapshot columns must include 'as_of'"]),
        ('{ name = "symbol", dtype = "str" },', "", ["snapshot columns must include 'symbol'"]),
        ('target_mode = "weight"', 'target_mode = "shares"', ["target_mode"]),
        ('version = "0.1.0"', 'version = "v1"', ["version: String should match pattern"]),
        ("zh-CN = \"ACME 动量\"\n", "", ["display_name", "zh-CN"]),
        ("aliases = []", 'aliases = ["Acme-Mom"]', ["aliases", "lower-case snake case"]),
        ("max_age_sessions = 1", "max_age_sessions = -1", ["snapshot.max_age_sessions"]),
        ('evaluation_frequency = "daily"', 'evaluation_frequency = "hourly"',
         ["evaluation_frequency"]),
        ("min_recommended_equity_usd = 1000", "min_recommended_equity_usd = -5",
         ["small_account.min_recommended_equity_usd"]),
    ],
)
def test_manifest_errors_name_file_and_key(tmp_path, old, new, fragments):
    assert old in T
    path = write(tmp_path, T.replace(old, new, 1))
    with pytest.raises(ManifestError) as exc:
        load_manifest(path)
    msg = str(exc.value)
    assert str(path) in msg
    for fragment in fragments:
        assert fragment in msg


def test_missing_manifest_file(tmp_path):
    with pytest.raises(ManifestError, match=r"manifest file not found: .*nope\.toml"):
        load_manifest(tmp_path / "nope.toml")


def test_manifest_registered_under_another_name(tmp_path):
    path = write(tmp_path, T)
    with pytest.raises(ManifestError, match="declares profile 'acme_momentum' but is registered "
                                            "as 'other_name'"):
        load_manifest(path, expected_profile="other_name")


def test_column_lookup():
    m = load_manifest(TEMPLATE)
    assert m.snapshot.column("momentum").nullable is True
    assert m.snapshot.column("close").nullable is False
    with pytest.raises(KeyError):
        m.snapshot.column("nope")


# ---------------------------------------------------------------------------------------------
# The registry checks that [parameters] matches the profile's Parameters model exactly
# ---------------------------------------------------------------------------------------------
def test_registry_rejects_missing_default(plugins):
    plugins.install(manifest_edits={"acme_momentum": {"min_momentum = 0.0\n": ""}})
    assert registry.get_manifest("acme_momentum").parameters == {"benchmark": "SPY",
                                                                 "lookback": 63}
    with pytest.raises(ManifestError) as exc:
        registry.load("acme_momentum")
    msg = str(exc.value)
    assert "manifest of 'acme_momentum'" in msg
    assert "missing defaults: ['min_momentum']; unknown keys: none" in msg


def test_registry_rejects_extra_default(plugins):
    plugins.install(manifest_edits={"acme_momentum": {"lookback = 63": "lookback = 63\ntop_n = 3"}})
    with pytest.raises(ManifestError, match=r"missing defaults: none; unknown keys: \['top_n'\]"):
        registry.load("acme_momentum")


def test_registry_rejects_invalid_default(plugins):
    plugins.install(manifest_edits={"acme_momentum": {"lookback = 63": "lookback = 0"}})
    with pytest.raises(ManifestError, match="manifest defaults invalid for profile "
                                            "'acme_momentum': lookback=0"):
        registry.load("acme_momentum")


def test_registry_reports_bad_manifest_in_listing(plugins):
    plugins.install(manifest_edits={"acme_momentum": {'cadence = "daily"\n': ""}})
    entry = next(e for e in registry.entries() if e.name == "acme_momentum")
    assert entry.status == "LOAD FAILED"
    assert "cadence: Field required" in entry.error and "acme-plugin" in entry.error
    assert str(entry.manifest_path) in entry.error
    with pytest.raises(ManifestError, match=r"profile 'acme_momentum': manifest: .*cadence"):
        registry.get_manifest("acme_momentum")
    # the packaged profiles are unaffected
    assert registry.get_manifest("global_etf_rotation").profile == "global_etf_rotation"
