"""Tests for snapshot file I/O (CSV, Parquet, JSON, JSONL) and the sidecar manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import pandas as pd
import pytest

from us_equity_strategies import registry, runner
from us_equity_strategies.contract import EvaluationContext, Portfolio
from us_equity_strategies.errors import SnapshotError
from us_equity_strategies.snapshot import (
    Snapshot,
    csv_bytes,
    default_config_sha256,
    read_snapshot,
    sidecar_path,
    validate_snapshot,
    write_snapshot,
)
from us_equity_strategies.snapshot import _io as snapshot_io

AS_OF = dt.date(2024, 3, 28)
FORMATS = [".csv", ".parquet", ".json", ".jsonl"]
CONTRACT = "acme_momentum.feature_snapshot.v1"


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "as_of": ["2024-03-28"] * 4,
        "symbol": ["AAA", "BBB", "NA", "SPY"],  # "NA" is a ticker, not a missing value
        "close": [10.25, 1 / 3, 7.0, 512.5],
        "momentum": [0.1, -0.2, float("nan"), 0.05],
        "eligible": [True, False, True, False],
        "history_days": [300, 12, 0, 5000],
    })


def snapshot(f: pd.DataFrame | None = None, **kw) -> Snapshot:
    base = dict(profile="acme_momentum", as_of=AS_OF, contract_version=CONTRACT,
                builder_parameters={"lookback": 63})
    base.update(kw)
    return Snapshot.from_frame(frame() if f is None else f, **base)


def test_default_config_sha256_matches_spec_literal():
    # features.md §6.2: the dynamic_top20 default hash
    got = default_config_sha256("mega_cap_leader_rotation_dynamic_top20",
                                "mega_cap_leader_rotation_dynamic_top20.feature_snapshot.v1")
    assert got == "cda0a7765ca0bdf2a410bfe4d024c2b20e35b29caeffa434c8ee2cc31549c192"
    got = default_config_sha256("mega_cap_leader_rotation_aggressive",
                                "mega_cap_leader_rotation_aggressive.feature_snapshot.v1")
    assert got == "cdf112433796ea554a1dd731f23ebcb76f3148ef0796272e10ee8ef38d5ba129"


def test_from_frame_hashes_canonical_csv():
    f = frame()
    s = snapshot(f)
    text = ("as_of,symbol,close,momentum,eligible,history_days\n"
            "2024-03-28,AAA,10.25,0.1,True,300\n"
            "2024-03-28,BBB,0.3333333333333333,-0.2,False,12\n"
            "2024-03-28,NA,7.0,,True,0\n"
            "2024-03-28,SPY,512.5,0.05,False,5000\n")
    assert csv_bytes(f) == text.encode()
    assert s.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert s.source == "memory" and s.sidecar is None


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip(acme, tmp_path, suffix):
    s = snapshot()
    manifest = registry.get_manifest("acme_momentum")
    expected = validate_snapshot(s, manifest)
    path = tmp_path / f"acme{suffix}"
    written = write_snapshot(s, path)
    data = path.read_bytes()
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.source == str(path)
    back = read_snapshot(path)
    assert back.profile == "acme_momentum" and back.as_of == AS_OF
    assert back.contract_version == CONTRACT and back.sha256 == written.sha256
    assert back.builder_parameters == {"lookback": 63}
    assert back.sidecar == written.sidecar
    typed = validate_snapshot(back, manifest)
    pd.testing.assert_frame_equal(typed, expected)
    assert typed.loc[2, "symbol"] == "NA"


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_of_a_typed_frame(acme, tmp_path, suffix):
    # a validated frame has datetime64 dates; every format must still write and read back
    manifest = registry.get_manifest("acme_momentum")
    typed = validate_snapshot(snapshot(), manifest)
    path = tmp_path / f"typed{suffix}"
    write_snapshot(snapshot(typed), path)
    pd.testing.assert_frame_equal(validate_snapshot(read_snapshot(path), manifest), typed)


def test_sidecar_fields(acme, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1711670400")  # 2024-03-29T00:00:00Z
    path = tmp_path / "out" / "acme_momentum_feature_snapshot_latest.csv"
    written = write_snapshot(snapshot(), path)
    side = sidecar_path(path)
    assert side.name == "acme_momentum_feature_snapshot_latest.csv.manifest.json"
    raw = side.read_text(encoding="utf-8")
    meta = json.loads(raw)
    # features.md §6.2: 2-space indent, sort_keys, UTF-8, no trailing newline
    assert raw == json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False)
    assert not raw.endswith("\n")
    assert meta == {
        "builder_parameters": {"lookback": 63},
        "config_name": "acme_momentum",
        "config_path": "strategy_manifest_default",
        "config_sha256": default_config_sha256("acme_momentum", CONTRACT),
        "contract_version": CONTRACT,
        "generated_at": "2024-03-29T00:00:00+00:00",
        "manifest_type": "feature_snapshot",
        "row_count": 4,
        "snapshot_as_of": "2024-03-28",
        "snapshot_path": str(path),
        "snapshot_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "source_project": "us-equity-strategies",
        "strategy_profile": "acme_momentum",
    }
    assert written.sidecar == meta
    expected_cfg = hashlib.sha256(
        ('{"config_name":"acme_momentum","config_source":"strategy_manifest_default",'
         f'"contract_version":"{CONTRACT}","strategy_profile":"acme_momentum"}}').encode()
    ).hexdigest()
    assert meta["config_sha256"] == expected_cfg


def test_generated_at_defaults_to_utc_now(acme, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = dt.datetime.now(dt.UTC)
    write_snapshot(snapshot(), tmp_path / "a.csv")
    after = dt.datetime.now(dt.UTC)
    stamp = dt.datetime.fromisoformat(
        json.loads(sidecar_path(tmp_path / "a.csv").read_text())["generated_at"])
    assert stamp.utcoffset() == dt.timedelta(0) and before <= stamp <= after
    write_snapshot(snapshot(), tmp_path / "b.csv", generated_at="2020-01-01T00:00:00+00:00")
    assert json.loads(sidecar_path(tmp_path / "b.csv").read_text())["generated_at"] == (
        "2020-01-01T00:00:00+00:00")


@pytest.mark.parametrize("suffix", FORMATS)
def test_source_date_epoch_makes_writes_byte_identical(acme, tmp_path, monkeypatch, suffix):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    path = tmp_path / f"s{suffix}"
    write_snapshot(snapshot(), path)
    first = (path.read_bytes(), sidecar_path(path).read_bytes())
    write_snapshot(snapshot(), path)
    assert (path.read_bytes(), sidecar_path(path).read_bytes()) == first


def test_checksum_mismatch_names_file(acme, tmp_path):
    path = tmp_path / "s.csv"
    write_snapshot(snapshot(), path)
    path.write_text(path.read_text().replace("10.25", "10.26"))
    with pytest.raises(SnapshotError) as exc:
        read_snapshot(path)
    msg = str(exc.value)
    assert f"{path}: checksum mismatch" in msg
    assert hashlib.sha256(path.read_bytes()).hexdigest() in msg
    assert "s.csv.manifest.json" in msg


@pytest.mark.parametrize("field", ["contract_version", "strategy_profile", "config_name",
                                   "snapshot_as_of", "snapshot_sha256"])
def test_sidecar_missing_field(acme, tmp_path, field):
    path = tmp_path / "s.csv"
    write_snapshot(snapshot(), path)
    side = sidecar_path(path)
    meta = json.loads(side.read_text())
    del meta[field]
    side.write_text(json.dumps(meta))
    with pytest.raises(SnapshotError, match=f"{side}: sidecar manifest is missing fields: "
                                            f"{field}$"):
        read_snapshot(path)


def test_sidecar_empty_field_counts_as_missing(acme, tmp_path):
    path = tmp_path / "s.csv"
    write_snapshot(snapshot(), path)
    side = sidecar_path(path)
    meta = json.loads(side.read_text())
    side.write_text(json.dumps({**meta, "config_name": "", "strategy_profile": ""}))
    with pytest.raises(SnapshotError, match="missing fields: strategy_profile, config_name"):
        read_snapshot(path)


@pytest.mark.parametrize(("content", "fragment"), [("{not json", "cannot parse sidecar"),
                                                   ("[1, 2]", "must be a JSON object")])
def test_sidecar_unparsable(acme, tmp_path, content, fragment):
    path = tmp_path / "s.csv"
    write_snapshot(snapshot(), path)
    sidecar_path(path).write_text(content)
    with pytest.raises(SnapshotError, match=fragment):
        read_snapshot(path)


def test_sidecar_as_of_differs_from_data(acme, tmp_path):
    path = tmp_path / "s.csv"
    write_snapshot(snapshot(), path)
    side = sidecar_path(path)
    meta = json.loads(side.read_text())
    side.write_text(json.dumps({**meta, "snapshot_as_of": "2024-03-27"}))
    with pytest.raises(SnapshotError, match=r"sidecar snapshot_as_of 2024-03-27 differs from "
                                            r"the latest as_of in the data \(2024-03-28\)"):
        read_snapshot(path)
    side.write_text(json.dumps({**meta, "snapshot_as_of": "yesterday"}))
    with pytest.raises(SnapshotError, match="snapshot_as_of 'yesterday' is not a date"):
        read_snapshot(path)


def test_sidecar_profile_mismatch(acme, plugins, tmp_path):
    plugins.install({"acme_other": "momentum"}, dist="acme-other", package="acme_other")
    path = tmp_path / "s.csv"
    write_snapshot(snapshot(), path)
    with pytest.raises(SnapshotError, match="strategy_profile is 'acme_momentum' but the "
                                            "snapshot is used for 'acme_other'"):
        read_snapshot(path, profile="acme_other")
    assert read_snapshot(path, profile="ACME-Momentum").profile == "acme_momentum"


def test_without_sidecar(acme, tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes(frame()))
    with pytest.raises(SnapshotError, match="no sidecar manifest, so the profile is unknown"):
        read_snapshot(path)
    with pytest.raises(SnapshotError, match=r"sidecar manifest s\.csv\.manifest\.json is required"):
        read_snapshot(path, "acme_momentum", require_sidecar=True)
    s = read_snapshot(path, "acme_momentum")
    assert s.as_of == AS_OF and s.sidecar is None and s.builder_parameters == {}
    assert s.contract_version == CONTRACT  # from the profile's manifest
    assert s.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_as_of_is_latest_date_without_sidecar(acme, tmp_path):
    f = frame()
    f["as_of"] = ["2024-03-27", "2024-03-28", "2024-03-26", "garbage"]
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes(f))
    assert read_snapshot(path, "acme_momentum").as_of == AS_OF


@pytest.mark.parametrize("name", ["s.txt", "s.xlsx", "s"])
def test_unsupported_suffix(tmp_path, name):
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(SnapshotError, match="unsupported snapshot format"):
        read_snapshot(path, "global_etf_rotation")
    with pytest.raises(SnapshotError, match=r"expected one of \.csv, \.parquet, \.json, \.jsonl"):
        write_snapshot(snapshot(), path)


def test_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match=r"snapshot file not found: .*nope\.csv"):
        read_snapshot(tmp_path / "nope.csv", "global_etf_rotation")


@pytest.mark.parametrize(("name", "content"), [
    ("bad.parquet", b"not parquet at all"),
    ("bad.json", b'{"a": 1}'),
    ("bad.json", b"[1, 2"),
    ("bad.jsonl", b'{"a": 1}\n{oops\n'),
    ("bad.csv", b'"unterminated\n'),
])
def test_unparsable_file(acme, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SnapshotError, match=f"{path}: cannot parse snapshot"):
        read_snapshot(path, "acme_momentum")


def test_empty_file_and_missing_date_column(acme, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("as_of,symbol\n")
    with pytest.raises(SnapshotError, match="snapshot is empty"):
        read_snapshot(path, "acme_momentum")
    path.write_text("date,symbol\n2024-03-28,SPY\n")
    with pytest.raises(SnapshotError, match="missing date column 'as_of'"):
        read_snapshot(path, "acme_momentum")
    path.write_text("as_of,symbol\nsoon,SPY\n")
    with pytest.raises(SnapshotError, match="column 'as_of' has no parsable dates"):
        read_snapshot(path, "acme_momentum")


def test_reference_pipeline_file_loads_unchanged(acme, tmp_path):
    # As UsEquitySnapshotPipelines writes it: pandas CSV + a sidecar with 2-space indent,
    # sort_keys, no trailing newline and no builder_parameters key.
    csv = ("as_of,symbol,close,momentum,eligible,history_days\n"
           "2024-03-28,AAA,10.5,0.12,True,300\n"
           "2024-03-28,BBB,20.0,0.3,False,300\n"
           "2024-03-28,SPY,500.0,0.05,True,300\n")
    path = tmp_path / "acme_momentum_feature_snapshot_latest.csv"
    path.write_bytes(csv.encode())
    meta = {
        "config_name": "acme_momentum",
        "config_path": "strategy_manifest_default",
        "config_sha256": default_config_sha256("acme_momentum", CONTRACT),
        "contract_version": CONTRACT,
        "generated_at": "2024-03-29T00:46:03.123456+00:00",
        "manifest_type": "feature_snapshot",
        "row_count": 3,
        "snapshot_as_of": "2024-03-28",
        "snapshot_path": "data/output/acme_momentum/acme_momentum_feature_snapshot_latest.csv",
        "snapshot_sha256": hashlib.sha256(csv.encode()).hexdigest(),
        "source_project": "UsEquitySnapshotPipelines",
        "strategy_profile": "acme_momentum",
    }
    sidecar_path(path).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    s = read_snapshot(path)
    assert s.profile == "acme_momentum" and s.as_of == AS_OF
    assert s.sidecar == meta and s.builder_parameters == {}
    assert s.sha256 == meta["snapshot_sha256"] and s.contract_version == CONTRACT
    pd.testing.assert_frame_equal(s.frame, pd.read_csv(path, dtype={"symbol": str}))
    d = runner.evaluate(s, EvaluationContext(as_of=dt.date(2024, 4, 1),
                                             portfolio=Portfolio(total_equity=5000.0)))
    # eligible: AAA 0.12, SPY 0.05 -> AAA; one session later (03-29 is Good Friday)
    assert d.targets() == {"AAA": 1.0}
    assert d.provenance.snapshot_sha256 == meta["snapshot_sha256"]
    assert d.provenance.snapshot_source == str(path)


def test_encoding_failure_writes_nothing(acme, tmp_path):
    bad = frame().astype({"momentum": object})
    bad.at[0, "momentum"] = {1, 2}  # neither JSON nor Parquet can encode a set
    for suffix in (".json", ".jsonl", ".parquet"):
        path = tmp_path / f"bad{suffix}"
        with pytest.raises(SnapshotError, match=f"{path}: cannot encode the snapshot"):
            write_snapshot(snapshot(bad), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_failed_replace_keeps_previous_file_and_leaves_no_temp(acme, tmp_path, monkeypatch):
    path = tmp_path / "s.csv"
    write_snapshot(snapshot(), path)
    before = (path.read_bytes(), sidecar_path(path).read_bytes())

    def boom(src, dst):
        raise OSError("disk full")

    changed = frame().assign(close=[1.0, 2.0, 3.0, 4.0])
    with monkeypatch.context() as m, pytest.raises(OSError, match="disk full"):
        m.setattr(snapshot_io.os, "replace", boom)
        write_snapshot(snapshot(changed), path)
    assert (path.read_bytes(), sidecar_path(path).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.csv.manifest.json",
                                                          "site"]
    assert read_snapshot(path).frame["close"].tolist() == [10.25, 1 / 3, 7.0, 512.5]


def test_write_creates_parent_directories(acme, tmp_path):
    path = tmp_path / "a" / "b" / "s.jsonl"
    write_snapshot(snapshot(), path)
    lines = path.read_text().splitlines()
    assert len(lines) == 4
    assert json.loads(lines[2]) == {"as_of": "2024-03-28", "symbol": "NA", "close": 7.0,
                                    "momentum": None, "eligible": True, "history_days": 0}
    assert os.path.exists(sidecar_path(path))
