"""Tests for snapshot validation against a profile manifest (the plugin's and a packaged one)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from us_equity_strategies import registry
from us_equity_strategies.errors import SnapshotError
from us_equity_strategies.snapshot import Snapshot, validate_snapshot
from us_equity_strategies.snapshot._validate import coerce_bool

AS_OF = dt.date(2024, 3, 28)  # a Thursday; 2024-03-29 is Good Friday
NAN = float("nan")


def table(**cols) -> pd.DataFrame:
    base = {
        "as_of": ["2024-03-28"] * 3,
        "symbol": ["AAA", "BBB", "SPY"],
        "close": [10.0, 20.0, 500.0],
        "momentum": [0.1, NAN, 0.05],
        "eligible": [True, False, True],
        "history_days": [300, 12, 5000],
    }
    base.update(cols)
    return pd.DataFrame(base)


def snap(f: pd.DataFrame | None = None, *, as_of=AS_OF, profile="acme_momentum",
         contract=None, builder_parameters=None) -> Snapshot:
    return Snapshot.from_frame(
        table() if f is None else f, profile=profile, as_of=as_of,
        contract_version=contract or f"{profile}.feature_snapshot.v1",
        source="data/acme_snapshot.csv",
        builder_parameters={"lookback": 63} if builder_parameters is None else builder_parameters,
    )


@pytest.fixture
def manifest(acme):
    return registry.get_manifest("acme_momentum")


def problems(s: Snapshot, manifest, **kw) -> str:
    with pytest.raises(SnapshotError) as exc:
        validate_snapshot(s, manifest, **kw)
    msg = str(exc.value)
    assert msg.startswith("data/acme_snapshot.csv: ")  # every error names the file
    return msg


def test_valid_snapshot_is_typed(manifest):
    f = table(eligible=["yes", "0", "maybe"], symbol=[" AAA", "BBB ", "SPY"],
              close=["10", "20.5", "500"], extra=[1, 2, 3])
    before = f.copy(deep=True)
    typed = validate_snapshot(snap(f), manifest)
    pd.testing.assert_frame_equal(f, before)  # input untouched
    assert list(typed.columns) == ["as_of", "symbol", "close", "momentum", "eligible",
                                   "history_days", "extra"]
    assert typed["as_of"].dtype.kind == "M"
    assert (typed["as_of"] == pd.Timestamp("2024-03-28")).all()
    assert typed["symbol"].tolist() == ["AAA", "BBB", "SPY"]
    assert typed["close"].dtype == np.float64 and typed["close"].tolist() == [10.0, 20.5, 500.0]
    assert typed["history_days"].dtype == np.float64
    assert typed["eligible"].dtype == bool and typed["eligible"].tolist() == [True, False, True]
    assert math.isnan(typed.loc[1, "momentum"])  # nullable column keeps NaN
    assert typed["extra"].tolist() == [1, 2, 3]  # extra columns pass through


def test_typed_output_does_not_share_memory_with_input(manifest):
    f = table()
    typed = validate_snapshot(snap(f), manifest)
    typed.loc[0, "close"] = -1.0
    typed.loc[0, "eligible"] = False
    assert f.loc[0, "close"] == 10.0 and bool(f.loc[0, "eligible"]) is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (np.bool_(True), True), (1, True), (0, False), (2.5, True),
     (0.0, False), (NAN, False), (None, False), ("1", True), ("TRUE", True), (" yes ", True),
     ("Y", True), ("0", False), ("False", False), ("no", False), ("N", False), ("", False),
     ("maybe", True), ("nan", True)],
)
def test_coerce_bool(value, expected):
    # spec/profiles.md "Shared helper semantics": any other non-empty string -> True
    assert coerce_bool(value) is expected


def test_nullable_bool_nan_becomes_false(plugins):
    plugins.install(manifest_edits={"acme_momentum": {
        '{ name = "eligible", dtype = "bool" }': '{ name = "eligible", dtype = "bool", '
                                                 'nullable = true }'}})
    m = registry.get_manifest("acme_momentum")
    typed = validate_snapshot(snap(table(eligible=[True, NAN, "no"])), m)
    assert typed["eligible"].tolist() == [True, False, False]


def test_missing_columns(manifest):
    msg = problems(snap(table().drop(columns=["momentum", "close"])), manifest)
    assert "missing required columns: close, momentum" in msg


def test_empty_snapshot(manifest):
    assert "snapshot is empty" in problems(snap(table().iloc[0:0]), manifest)


def test_text_in_float_column(manifest):
    msg = problems(snap(table(close=["10", "ten", "500"])), manifest)
    assert "column 'close': not a number in rows 1 (BBB)" in msg
    assert "missing values" not in msg  # reported once, as unparsable


def test_nan_where_not_nullable(manifest):
    msg = problems(snap(table(close=[10.0, NAN, None])), manifest)
    assert "column 'close': missing values (NaN/empty) not allowed, rows 1 (BBB), 2 (SPY)" in msg


def test_blank_string_is_missing(manifest):
    msg = problems(snap(table(symbol=["AAA", "  ", "SPY"])), manifest)
    assert "column 'symbol': missing values (NaN/empty) not allowed, rows 1" in msg


def test_infinite_values(manifest):
    msg = problems(snap(table(momentum=[np.inf, 0.1, -np.inf])), manifest)
    assert "column 'momentum': infinite values in rows 0 (AAA), 2 (SPY)" in msg


def test_non_integer_in_int_column(manifest):
    msg = problems(snap(table(history_days=[300, 12.5, 5000])), manifest)
    assert "column 'history_days': non-integer values in rows 1 (BBB)" in msg


def test_duplicate_symbols(manifest):
    msg = problems(snap(table(symbol=["AAA", "SPY", "AAA"])), manifest)
    assert "duplicate symbol values AAA: rows 0 (AAA), 2 (AAA)" in msg


def test_unparsable_dates(manifest):
    msg = problems(snap(table(as_of=["2024-03-28", "someday", "2024-03-28"])), manifest)
    assert "column 'as_of': unparsable dates in rows 1 (BBB)" in msg


def test_rows_dated_after_context(manifest):
    f = table(as_of=["2024-03-28", "2024-04-02", "2024-03-28"])
    msg = problems(snap(f, as_of=dt.date(2024, 4, 2)), manifest,
                   context_as_of=dt.date(2024, 4, 1))
    assert "rows dated after the evaluation as_of 2024-04-01: rows 1 (BBB)" in msg


def test_latest_date_must_be_snapshot_as_of(manifest):
    msg = problems(snap(table(), as_of=dt.date(2024, 3, 29)), manifest)
    assert "column 'as_of': latest date 2024-03-28 differs from the snapshot as_of 2024-03-29" \
        in msg


def test_profile_and_contract_version_must_match(manifest):
    msg = problems(snap(profile="other_profile"), manifest)
    assert "snapshot is for profile 'other_profile', not 'acme_momentum'" in msg
    assert "contract_version is 'other_profile.feature_snapshot.v1'" in msg
    msg = problems(snap(contract="acme_momentum.feature_snapshot.v2"), manifest)
    assert "contract_version is 'acme_momentum.feature_snapshot.v2', the profile reads " \
           "'acme_momentum.feature_snapshot.v1'" in msg


def test_staleness_counts_nyse_sessions(manifest):
    # 2024-03-28 -> 2024-04-01 is one session (03-29 Good Friday, 03-30/31 weekend)
    validate_snapshot(snap(), manifest, context_as_of=dt.date(2024, 4, 1))
    validate_snapshot(snap(), manifest, context_as_of=AS_OF)
    msg = problems(snap(), manifest, context_as_of=dt.date(2024, 4, 2))
    assert ("snapshot as_of 2024-03-28 is 2 NYSE sessions older than 2024-04-02; the profile "
            "allows 1") in msg


def test_staleness_with_packaged_manifest():
    # global_etf_rotation allows 0 sessions: the snapshot must be for the session itself
    from us_equity_strategies.builders import build_snapshot
    from us_equity_strategies.demo import demo_prices_cached

    m = registry.get_manifest("global_etf_rotation")
    assert m.snapshot.max_age_sessions == 0
    s = build_snapshot("global_etf_rotation", demo_prices_cached(), AS_OF)
    validate_snapshot(s, m, context_as_of=AS_OF)
    with pytest.raises(SnapshotError, match="snapshot as_of 2024-03-28 is 1 NYSE sessions older "
                                            "than 2024-04-01; the profile allows 0"):
        validate_snapshot(s, m, context_as_of=dt.date(2024, 4, 1))
    broken = Snapshot.from_frame(s.frame.drop(columns=["sma_pass"]), profile=s.profile,
                                 as_of=AS_OF, contract_version=s.contract_version)
    with pytest.raises(SnapshotError, match="memory: missing required columns: sma_pass"):
        validate_snapshot(broken, m)


def test_staleness_in_calendar_months(plugins):
    plugins.install(manifest_edits={"acme_momentum": {"max_age_sessions = 1":
                                                      "max_age_months = 1"}})
    m = registry.get_manifest("acme_momentum")
    s = snap(table(as_of=["2026-03-31"] * 3), as_of=dt.date(2026, 3, 31))
    # platform_contract.md §3.3: 2026-03-31 is still accepted on 2026-04-30
    validate_snapshot(s, m, context_as_of=dt.date(2026, 4, 30))
    with pytest.raises(SnapshotError, match="is 2 calendar months older than 2026-05-01; the "
                                            "profile allows 1"):
        validate_snapshot(s, m, context_as_of=dt.date(2026, 5, 1))


def test_builder_parameter_mismatch(manifest):
    used = {"benchmark": "SPY", "lookback": 126, "min_momentum": 0.0}
    msg = problems(snap(), manifest, parameters=used)
    assert ("snapshot was built with lookback=63 but evaluation uses lookback=126; rebuild the "
            "snapshot with the same parameters") in msg
    # equal values pass; unrecorded builder parameters (reference files) are not checked
    validate_snapshot(snap(), manifest, parameters={**used, "lookback": 63})
    validate_snapshot(snap(builder_parameters={}), manifest, parameters=used)
    # parameters the builder did not use are never compared
    validate_snapshot(snap(), manifest, parameters={**used, "lookback": 63, "min_momentum": 0.5})


def _required(params):
    from acme_plugin.momentum import required_rows

    return required_rows(params)


def test_required_rows(manifest):
    from acme_plugin.momentum import Parameters

    spy = Parameters(benchmark="SPY", lookback=63, min_momentum=0.0)
    qqq = Parameters(benchmark="QQQ", lookback=63, min_momentum=0.0)
    validate_snapshot(snap(), manifest, required_rows=_required, params_model=spy)
    msg = problems(snap(), manifest, required_rows=_required, params_model=qqq)
    assert "required row symbol='QQQ' is missing" in msg
    msg = problems(snap(table(momentum=[0.1, 0.2, NAN])), manifest, required_rows=_required,
                   params_model=spy)
    assert "row 2 (SPY): required values missing in momentum" in msg


def test_several_problems_reported_together(manifest):
    f = table(close=[10.0, "x", np.inf], history_days=[1, 2.5, 3],
              symbol=["AAA", "AAA", "SPY"], momentum=[0.1, 0.2, np.inf])
    msg = problems(snap(f), manifest, context_as_of=dt.date(2024, 4, 5),
                   parameters={"lookback": 10})
    lines = [ln for ln in msg.splitlines() if ln.startswith("  - ")]
    # sessions after 03-28 up to 04-05: 04-01 .. 04-05 = 5 (03-29 Good Friday)
    assert lines == [
        "  - column 'close': not a number in rows 1 (AAA)",
        "  - column 'close': infinite values in rows 2 (SPY)",
        "  - column 'momentum': infinite values in rows 2 (SPY)",
        "  - column 'history_days': non-integer values in rows 1 (AAA)",
        "  - duplicate symbol values AAA: rows 0 (AAA), 1 (AAA)",
        "  - snapshot as_of 2024-03-28 is 5 NYSE sessions older than 2024-04-05; "
        "the profile allows 1",
        "  - snapshot was built with lookback=63 but evaluation uses lookback=10; "
        "rebuild the snapshot with the same parameters",
    ]
    assert msg.startswith("data/acme_snapshot.csv: invalid snapshot for acme_momentum:")


def test_long_row_lists_are_truncated(manifest):
    n = 12
    f = pd.DataFrame({"as_of": ["2024-03-28"] * n, "symbol": [f"S{i:02d}" for i in range(n)],
                      "close": [NAN] * n, "momentum": [0.0] * n, "eligible": [True] * n,
                      "history_days": [1] * n})
    msg = problems(snap(f), manifest)
    assert ("rows 0 (S00), 1 (S01), 2 (S02), 3 (S03), 4 (S04), 5 (S05), 6 (S06), 7 (S07) "
            "and 4 more") in msg
