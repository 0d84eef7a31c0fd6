"""Tests of the tech profile's runtime JSON parameter file (spec/profiles.md §2.3 loader)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from us_equity_strategies import registry, runner
from us_equity_strategies.contract import EvaluationContext
from us_equity_strategies.errors import InputError
from us_equity_strategies.runtime_config import (
    BUNDLED_CONFIG,
    FIELD_MAP,
    PROFILE,
    RuntimeConfigError,
    load_runtime_parameters,
)
from us_equity_strategies.snapshot import Snapshot

BASE = json.loads(BUNDLED_CONFIG.read_text(encoding="utf-8"))


def write(tmp_path: Path, payload: dict, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def edited(**changes) -> dict:
    payload = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def test_no_path_gives_module_defaults():
    rp = load_runtime_parameters()
    assert rp.overrides == {} and rp.source == "module_defaults"
    assert rp.path is None and rp.name == PROFILE and rp.sha256 is None


def test_bundled_config_holds_exactly_the_manifest_defaults():
    rp = load_runtime_parameters(BUNDLED_CONFIG)
    defaults = registry.get_manifest(PROFILE).parameters
    assert set(rp.overrides) == set(FIELD_MAP.values())
    assert rp.overrides == {k: defaults[k] for k in rp.overrides}
    assert rp.ignored == {"execution_cash_reserve_ratio": 0.0}
    assert rp.source == "external_config" and rp.path == BUNDLED_CONFIG
    assert rp.sha256 == hashlib.sha256(BUNDLED_CONFIG.read_bytes()).hexdigest()
    # informational fields of the spec
    assert BASE["status"] == "research_only" and BASE["legacy_names"] == ["qqq_tech_enhancement"]
    assert BASE["strategy"] == "growth_pullback_systematic_v1"
    assert BASE["cost_assumption_bps_one_way"] == 5.0


def test_valid_file_maps_nested_fields_to_parameters(tmp_path):
    payload = edited(name="qqq_tech_enhancement", benchmark_symbol=" spy ", holdings_count=5,
                     exposures={"risk_on": 0.7, "hard_defense": 0.1},
                     breadth_thresholds={"soft": 0.6}, sector_whitelist=["Information Technology"],
                     normalization="sector", execution_cash_reserve_ratio=0.05)
    for key in ("single_name_cap", "residual_proxy", "min_adv20_usd"):
        payload.pop(key)
    rp = load_runtime_parameters(write(tmp_path, payload))
    assert rp.name == PROFILE  # the legacy name is accepted, the canonical one reported
    assert rp.overrides["benchmark_symbol"] == "SPY"
    assert rp.overrides["holdings_count"] == 5
    assert rp.overrides["risk_on_exposure"] == 0.7
    assert rp.overrides["hard_defense_exposure"] == 0.1
    assert rp.overrides["soft_breadth_threshold"] == 0.6
    assert rp.overrides["sector_whitelist"] == ["Information Technology"]
    assert rp.overrides["normalization"] == "sector"
    for absent in ("soft_defense_exposure", "hard_breadth_threshold", "single_name_cap",
                   "residual_proxy", "min_adv20_usd"):
        assert absent not in rp.overrides  # the manifest default applies
    assert rp.ignored == {"execution_cash_reserve_ratio": 0.05}


def test_overrides_drive_an_evaluation(tmp_path):
    # holdings_count 2 from the file: two of three identical candidates (symbol order).
    rp = load_runtime_parameters(write(tmp_path, edited(holdings_count=2, sector_cap=0.8)))
    factors = ("mom_6_1", "mom_12_1", "sma20_gap", "sma50_gap", "sma200_gap",
               "ma50_over_ma200", "vol_63", "maxdd_126", "breakout_252", "dist_63_high",
               "dist_126_high", "rebound_20")
    rows = [{"symbol": s, "sector": "Information Technology", "close": 100.0, "volume": 1e6,
             "adv20_usd": 1e8, "history_days": 300, **dict.fromkeys(factors, 0.1),
             "base_eligible": s not in ("QQQ", "BOXX")} for s in ("AAA", "BBB", "CCC", "QQQ",
                                                                   "BOXX")]
    frame = pd.DataFrame(rows)
    frame.insert(0, "as_of", "2026-03-31")
    snap = Snapshot.from_frame(frame, profile=PROFILE, as_of=dt.date(2026, 3, 31),
                               contract_version=f"{PROFILE}.feature_snapshot.v1")
    d = runner.evaluate(snap, EvaluationContext(as_of=dt.date(2026, 4, 1)),
                        overrides=rp.overrides)
    # risk_on 0.8 / 2 names: slot floor(.8/.4) = 2, each min(.10, .4) = .10, BOXX .80
    assert d.targets() == pytest.approx({"AAA": 0.1, "BBB": 0.1, "BOXX": 0.8})


@pytest.mark.parametrize(("key", "value", "message"), [
    ("name", "mega_cap_leader_rotation_dynamic_top20", "key 'name': expected"),
    ("name", None, "key 'name': expected .* got missing"),
    ("family", "growth", "key 'family': expected 'tech_heavy_pullback', got 'growth'"),
    ("branch_role", "main branch", "key 'branch_role': expected 'cash-buffered parallel"),
    ("holding_count", 5, "key 'holding_count': unknown key; did you mean 'holdings_count'"),
    ("safe_haven", "SGOV", "key 'safe_haven': is not configurable"),
    ("exposures", {"risk_on": 0.8, "neutral": 0.5}, "key 'exposures.neutral': unknown key"),
    ("exposures", [0.8], "key 'exposures': must be a JSON object"),
    ("normalization", "industry", "key 'normalization': Input should be"),
    ("score_template", "momentum", "key 'score_template'"),
    ("holdings_count", 0, "key 'holdings_count': Input should be greater than or equal to 1"),
    ("benchmark_symbol", 5, "key 'benchmark_symbol': must be a string"),
    ("sector_whitelist", "Information Technology", "key 'sector_whitelist': must be a list"),
    ("sector_whitelist", ["Tech"], "key 'sector_whitelist': .*unknown sector label 'Tech'"),
    ("execution_cash_reserve_ratio", "x", "key 'execution_cash_reserve_ratio': must be a"),
])
def test_invalid_files_name_the_file_and_key(tmp_path, key, value, message):
    path = write(tmp_path, edited(**{key: value}))
    with pytest.raises(RuntimeConfigError, match=message) as info:
        load_runtime_parameters(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, InputError)


def test_nested_value_errors_name_the_json_key(tmp_path):
    path = write(tmp_path, edited(exposures={"risk_on": 1.5}))
    with pytest.raises(RuntimeConfigError, match=r"key 'exposures.risk_on': Input should be "
                                                 r"less than or equal to 1"):
        load_runtime_parameters(path)


def test_missing_file_and_bad_json(tmp_path):
    with pytest.raises(RuntimeConfigError, match=r"runtime config file not found: .*nope\.json"):
        load_runtime_parameters(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuntimeConfigError, match=r"bad\.json: invalid JSON"):
        load_runtime_parameters(bad)
    arr = write(tmp_path, [1, 2], "arr.json")  # type: ignore[arg-type]
    with pytest.raises(RuntimeConfigError, match="expected a JSON object, got list"):
        load_runtime_parameters(arr)
