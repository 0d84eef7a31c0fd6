"""Tests for us_equity_strategies.params: overrides, validation messages, config hashing."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import Field

from us_equity_strategies.errors import EXIT_INPUT, ManifestError, ParameterError
from us_equity_strategies.params import (
    ProfileParameters,
    check_manifest_defaults,
    config_sha256,
    parse_override,
    resolve_parameters,
)


class Params(ProfileParameters):
    top_n: int = Field(ge=0, le=5)
    safe_haven: str
    hold_bonus: float = Field(ge=0.0)
    free_float: float
    pool: list[str]


DEFAULTS = {"top_n": 2, "safe_haven": "BIL", "hold_bonus": 0.02, "free_float": 1.5,
            "pool": ["EWY", "GLD"]}


def resolve(overrides=None):
    return resolve_parameters(Params, DEFAULTS, overrides, "demo_profile")


def test_defaults_only():
    p = resolve()
    assert p.model_dump() == DEFAULTS


def test_unknown_key_names_key_closest_match_and_valid_keys():
    with pytest.raises(ParameterError) as exc:
        resolve({"top_nn": 3})
    msg = str(exc.value)
    assert "unknown parameter 'top_nn' (did you mean 'top_n'?)" in msg
    assert "profile 'demo_profile'" in msg
    assert "Valid keys: free_float, hold_bonus, pool, safe_haven, top_n" in msg
    assert exc.value.exit_code == EXIT_INPUT


def test_several_unknown_keys_all_named():
    with pytest.raises(ParameterError) as exc:
        resolve({"zzzz": 1, "safe_havn": "X"})
    msg = str(exc.value)
    assert "'safe_havn' (did you mean 'safe_haven'?)" in msg
    assert "'zzzz'" in msg and "did you mean 'zzzz'" not in msg


@pytest.mark.parametrize(
    ("override", "fragment"),
    [({"top_n": 9}, "top_n=9: Input should be less than or equal to 5"),
     ({"top_n": -1}, "top_n=-1: Input should be greater than or equal to 0"),
     ({"top_n": "x"}, "top_n='x': Input should be a valid integer"),
     ({"top_n": 2.5}, "top_n=2.5: Input should be a valid integer"),
     ({"hold_bonus": -0.1}, "hold_bonus=-0.1: Input should be greater than or equal to 0"),
     ({"pool": "EWY"}, "pool='EWY': Input should be a valid list")],
)
def test_type_and_range_errors_name_key_and_value(override, fragment):
    with pytest.raises(ParameterError) as exc:
        resolve(override)
    assert fragment in str(exc.value)
    assert "invalid parameter for profile 'demo_profile'" in str(exc.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_float_rejected_even_without_range(bad):
    # `key=NaN` parses as JSON NaN; an unconstrained float field must still refuse it
    with pytest.raises(ParameterError, match="free_float"):
        resolve({"free_float": bad})


def test_explicit_zero_is_honoured():
    p = resolve({"top_n": 0, "hold_bonus": 0})
    assert p.top_n == 0 and p.hold_bonus == 0.0


def test_override_does_not_mutate_defaults():
    before = json.dumps(DEFAULTS, sort_keys=True)
    resolve({"pool": ["SPY"], "top_n": 1})
    assert json.dumps(DEFAULTS, sort_keys=True) == before


def test_parameters_are_frozen():
    p = resolve()
    with pytest.raises(Exception, match="frozen"):
        p.top_n = 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [("top_n=3", ("top_n", 3)),
     ("safe_haven=BIL", ("safe_haven", "BIL")),
     ("x=[1,2]", ("x", [1, 2])),
     ('pool=["SPY", "QQQ"]', ("pool", ["SPY", "QQQ"])),
     ("flag=true", ("flag", True)),
     ("n=null", ("n", None)),
     ('s="3"', ("s", "3")),
     ("k=1e3", ("k", 1000.0)),
     ("a=b=c", ("a", "b=c")),
     (" top_n =3", ("top_n", 3)),
     ("empty=", ("empty", ""))],
)
def test_parse_override(text, expected):
    key, val = parse_override(text)
    assert (key, val) == expected
    assert type(val) is type(expected[1])


@pytest.mark.parametrize(("text", "fragment"), [("bad", "must look like key=value"),
                                                ("=3", "has an empty key")])
def test_parse_override_errors(text, fragment):
    with pytest.raises(ParameterError, match=fragment):
        parse_override(text)


def test_config_sha256_matches_canonical_formula():
    p = resolve()
    blob = ('{"parameters":{"free_float":1.5,"hold_bonus":0.02,"pool":["EWY","GLD"],'
            '"safe_haven":"BIL","top_n":2},"profile":"demo_profile","profile_version":"1.0.0"}')
    assert config_sha256("demo_profile", "1.0.0", p) == hashlib.sha256(blob.encode()).hexdigest()


def test_config_sha256_stable_and_sensitive():
    base = config_sha256("demo_profile", "1.0.0", resolve())
    assert config_sha256("demo_profile", "1.0.0", resolve()) == base
    # the same values given explicitly hash the same
    assert config_sha256("demo_profile", "1.0.0", resolve({"top_n": 2})) == base
    changed = {
        config_sha256("demo_profile", "1.0.0", resolve({"top_n": 3})),
        config_sha256("demo_profile", "1.0.0", resolve({"hold_bonus": 0.0})),
        config_sha256("demo_profile", "1.0.0", resolve({"pool": ["GLD", "EWY"]})),
        config_sha256("demo_profile", "1.0.1", resolve()),
        config_sha256("other_profile", "1.0.0", resolve()),
    }
    assert base not in changed and len(changed) == 5


def test_check_manifest_defaults_exact_match():
    check_manifest_defaults(Params, DEFAULTS, "demo_profile")
    missing = {k: v for k, v in DEFAULTS.items() if k != "pool"}
    with pytest.raises(ManifestError, match=r"missing defaults: \['pool'\]; unknown keys: none"):
        check_manifest_defaults(Params, missing, "demo_profile")
    with pytest.raises(ManifestError, match=r"missing defaults: none; unknown keys: \['extra'\]"):
        check_manifest_defaults(Params, {**DEFAULTS, "extra": 1}, "demo_profile")
    with pytest.raises(ManifestError, match=r"manifest defaults invalid .* top_n=7"):
        check_manifest_defaults(Params, {**DEFAULTS, "top_n": 7}, "demo_profile")
