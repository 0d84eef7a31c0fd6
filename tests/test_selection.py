"""Shared cross-sectional helpers: hand-worked values and properties against slow versions."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from us_equity_strategies import selection
from us_equity_strategies.selection import (
    HARD_DEFENSE,
    RISK_ON,
    SOFT_DEFENSE,
    breadth_ratio,
    classify_regime,
    grouped_zscore,
    rank_order,
    sector_slot_cap,
    select_sector_capped,
    select_with_hysteresis,
    zscore,
    zscore_columns,
)

NAN = math.nan
SQRT_1_5 = math.sqrt(1.5)  # z of 3 in [1, 2, 3]: (3 - 2) / sqrt(2/3)


# ------------------------------------------------------------------------------------------
# zscore / grouped_zscore
# ------------------------------------------------------------------------------------------
def test_zscore_population_std():
    # mean 2, pstdev sqrt(((1)^2 + 0 + 1^2) / 3) = sqrt(2/3) -> z = -/+ 1 / sqrt(2/3) = sqrt(1.5)
    np.testing.assert_allclose(zscore([1.0, 2.0, 3.0]), [-SQRT_1_5, 0.0, SQRT_1_5], rtol=1e-15)


def test_zscore_nan_is_left_out_and_scores_zero():
    # finite values 1 and 3: mean 2, pstdev 1 -> -1, 1; the NaN row gets 0
    np.testing.assert_array_equal(zscore([1.0, NAN, 3.0]), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("values", [[5.0, 5.0, 5.0], [0.1, 0.1, 0.1], [0.07] * 7, [4.2],
                                    [NAN, NAN], [NAN, 0.3, 0.3], [NAN]])
def test_zscore_zero_dispersion_or_no_data_gives_zero(values):
    assert zscore(values).tolist() == [0.0] * len(values)


def test_equal_values_are_flat_even_when_float_std_is_not_zero():
    # the reason for the exact max == min test: the floating std of equal values can be > 0
    assert np.std([0.1, 0.1, 0.1]) > 0
    assert zscore([0.1, 0.1, 0.1]).tolist() == [0.0, 0.0, 0.0]


def test_zscore_empty():
    assert zscore([]).shape == (0,)


def test_grouped_zscore_per_group():
    values = [1.0, 10.0, 3.0, 2.0, 2.0, 7.0, NAN]
    groups = ["a", "b", "a", "c", "c", None, None]
    # a: [1, 3] -> -1, 1; b: single -> 0; c: equal -> 0; None group: [7, NaN] -> single -> 0
    np.testing.assert_array_equal(grouped_zscore(values, groups),
                                  [-1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])


def test_grouped_zscore_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        grouped_zscore([1.0, 2.0], ["a"])
    with pytest.raises(ValueError, match="1- or 2-dimensional"):
        grouped_zscore([[[1.0]]], ["a"])


def test_grouped_zscore_columns_are_independent():
    # column 0: a = [1, 3] -> -1, 1; column 1: a = [5, 5] flat -> 0, 0; b single -> 0
    got = grouped_zscore([[1.0, 5.0], [9.0, 1.0], [3.0, 5.0]], ["a", "b", "a"])
    np.testing.assert_array_equal(got, [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    assert grouped_zscore(np.zeros((0, 5)), []).shape == (0, 5)


def _slow_grouped_z(values, groups):
    out = []
    for v, g in zip(values, groups, strict=True):
        members = [x for x, h in zip(values, groups, strict=True)
                   if h == g and math.isfinite(x)]
        if not math.isfinite(v) or len(members) < 2 or max(members) == min(members):
            out.append(0.0)
        else:
            # z is scale-invariant; scaling by the largest |x| keeps subnormal inputs such as
            # [0, 5e-324] from underflowing pstdev to 0.
            size = max(abs(x) for x in members)
            scaled = [x / size for x in members]
            out.append((v / size - statistics.fmean(scaled)) / statistics.pstdev(scaled))
    return out


def test_grouped_zscore_of_subnormal_and_huge_values():
    # [0, 5e-324] is [0, 1] scaled: z = -1, 1 (found by hypothesis; the mean used to round)
    np.testing.assert_array_equal(grouped_zscore([0.0, 5e-324], ["a", "a"]), [-1.0, 1.0])
    # [1, -1, 1] scaled (x 1e308, whose plain sum overflows): mean 1/3, pstdev sqrt(8)/3
    np.testing.assert_allclose(grouped_zscore([1e308, -1e308, 1e308], ["a"] * 3),
                               [2 ** -0.5, -(2 ** 0.5), 2 ** -0.5], rtol=1e-15)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.floats(-1e6, 1e6), st.just(NAN)),
                          st.sampled_from(["a", "b", "c", "d"])), max_size=30))
def test_grouped_zscore_matches_slow_version(rows):
    values = [v for v, _ in rows]
    groups = [g for _, g in rows]
    got = grouped_zscore(values, groups)
    want = _slow_grouped_z(values, groups)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    for g in set(groups):  # each group with dispersion has mean 0 and pstdev 1
        z = [got[i] for i, h in enumerate(groups) if h == g and math.isfinite(values[i])]
        if len(z) > 1 and any(abs(x) > 0 for x in z):
            assert abs(statistics.fmean(z)) < 1e-9
            assert statistics.pstdev(z) == pytest.approx(1.0, rel=1e-9)


# ------------------------------------------------------------------------------------------
# breadth and regime
# ------------------------------------------------------------------------------------------
def test_breadth_ratio():
    # only 0.1 and 2.0 are > 0 (0.0 and NaN are not): 2 / 5
    assert breadth_ratio([0.1, -0.1, 0.0, NAN, 2.0]) == 0.4
    assert breadth_ratio([]) == 0.0


@pytest.mark.parametrize(("trend", "breadth", "expected"), [
    (True, 0.55, RISK_ON),          # breadth == soft threshold: not < 0.55
    (True, 0.5499999, SOFT_DEFENSE),
    (True, 0.0, SOFT_DEFENSE),      # hard needs the trend down as well
    (False, 1.0, SOFT_DEFENSE),     # trend down alone -> soft
    (False, 0.35, SOFT_DEFENSE),    # breadth == hard threshold: not < 0.35
    (False, 0.3499999, HARD_DEFENSE),
    (False, 0.0, HARD_DEFENSE),
])
def test_classify_regime(trend, breadth, expected):
    assert classify_regime(trend, breadth, 0.55, 0.35) == expected


def test_regime_with_zero_thresholds_never_hard():
    # mega defaults 0.0/0.0: breadth < 0 never holds
    assert classify_regime(False, 0.0, 0.0, 0.0) == SOFT_DEFENSE
    assert classify_regime(True, 0.0, 0.0, 0.0) == RISK_ON


# ------------------------------------------------------------------------------------------
# ranking
# ------------------------------------------------------------------------------------------
def test_rank_order_tie_breaks():
    symbols = ["E", "D", "C", "B", "A", "F"]
    score = [1.0, 1.0, 1.0, 1.0, 2.0, 0.0]
    k2 = [0.5, 0.7, 0.7, 0.7, 0.0, 9.0]
    k3 = [0.0, 0.1, 0.2, 0.2, 0.0, 9.0]
    # A (score 2) first; among score 1: D, C, B share k2 0.7 > E's 0.5; k3: C, B (0.2) > D
    # (0.1); C/B tie -> symbol: B, C; then D, E; F last
    order = rank_order(symbols, score, k2, k3)
    assert [symbols[i] for i in order] == ["A", "B", "C", "D", "E", "F"]


def test_rank_order_nan_last_and_signed_zero_ties():
    symbols = ["B", "A", "C"]
    order = rank_order(symbols, [NAN, 0.0, -0.0])
    assert [symbols[i] for i in order] == ["A", "C", "B"]  # 0.0 == -0.0 -> symbol


def test_rank_order_empty_and_shape_check():
    assert rank_order([], []).tolist() == []
    with pytest.raises(ValueError, match="does not match"):
        rank_order(["A", "B"], [1.0])


# ------------------------------------------------------------------------------------------
# sector slot cap and greedy selection
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sector_cap", "target", "expected"), [
    (0.20, 1.0 / 24, 4),   # 4.800000000000001 -> 4 (russell risk-on)
    (0.20, 0.5 / 24, 9),   # 9.600000000000001 -> 9 (soft)
    (0.20, 0.1 / 24, 48),  # 0.2 / 0.004166... == 48.0 exactly (hard)
    (0.25, 1.0 / 4, 1),    # exact boundary 1.0 -> 1
    (0.40, 0.8 / 8, 4),    # tech risk-on: 4.000000000000001 -> 4
    (0.60, 0.4, 1),        # 1.4999999999999998 -> 1
    (0.05, 0.25, 1),       # floor 0.2 = 0 -> max(1, 0) = 1
    (0.30, 0.10, 2),       # reference float quirk: 0.3 / 0.1 = 2.9999999999999996 -> 2
])
def test_sector_slot_cap(sector_cap, target, expected):
    assert sector_slot_cap(sector_cap, target, 24) == expected


def test_sector_slot_cap_without_target_is_holdings_count():
    assert sector_slot_cap(0.2, 0.0, 24) == 24


def test_select_sector_capped():
    sectors = ["T", "T", "T", "H", "T", "F", "H"]
    # cap 2: T, T, (skip T), H, (skip T), F -> 4 reached
    assert select_sector_capped(sectors, 4, 2) == [0, 1, 3, 5]
    assert select_sector_capped(sectors, 2, 5) == [0, 1]
    assert select_sector_capped(sectors, 10, 1) == [0, 3, 5]
    assert select_sector_capped([], 3, 1) == []


# ------------------------------------------------------------------------------------------
# hysteresis
# ------------------------------------------------------------------------------------------
RANKED = ["A", "B", "C", "D", "E", "F", "G", "H"]


def test_hysteresis_keeps_holdings_within_buffer():
    # count 3, buffer 4 -> max hold rank 7: C (3) and G (7) kept, H (8) not; fill with A
    assert select_with_hysteresis(RANKED, {"G", "C", "H"}, 3, 4) == ["C", "G", "A"]


def test_hysteresis_truncates_to_best_ranked_holdings():
    assert select_with_hysteresis(RANKED, {"D", "B", "C", "A"}, 2, 2) == ["A", "B"]


def test_hysteresis_negative_buffer_counts_as_zero():
    # count 2 + max(-3, 0) = 2: E (rank 5) is outside, so the top 2 are taken
    assert select_with_hysteresis(RANKED, {"E"}, 2, -3) == ["A", "B"]
    assert select_with_hysteresis(RANKED, {"B"}, 2, -3) == ["B", "A"]


def test_hysteresis_edge_counts():
    assert select_with_hysteresis(RANKED, {"A"}, 0, 2) == []
    assert select_with_hysteresis(["A", "B"], set(), 5, 2) == ["A", "B"]


@settings(max_examples=200, deadline=None)
@given(st.permutations(RANKED), st.sets(st.sampled_from([*RANKED, "Z"])),
       st.integers(1, 9), st.integers(-2, 9))
def test_hysteresis_properties(ranked, held, count, buffer):
    got = select_with_hysteresis(ranked, held, count, buffer)
    assert len(got) == min(count, len(ranked)) and len(set(got)) == len(got)
    rank = {s: i + 1 for i, s in enumerate(ranked)}
    limit = count + max(buffer, 0)
    keepable = sorted((s for s in held if s in rank and rank[s] <= limit), key=rank.get)
    assert got[: min(count, len(keepable))] == keepable[:count]
    # the fill is the best-ranked rest, in rank order
    rest = [s for s in ranked if s not in keepable]
    assert got[len(keepable[:count]):] == rest[: count - len(keepable[:count])]


# ------------------------------------------------------------------------------------------
# zscore_columns (column-wise zscore, added for the mega-cap engine)
# ------------------------------------------------------------------------------------------
def test_zscore_columns_hand_values():
    # column 0 = [1, 2, 3] -> -/+ sqrt(1.5); column 1 constant -> 0; column 2 [1, NaN, 3] ->
    # mean 2, pstdev 1 -> [-1, 0, 1]; column 3 all NaN -> 0
    m = np.array([[1.0, 5.0, 1.0, NAN], [2.0, 5.0, NAN, NAN], [3.0, 5.0, 3.0, NAN]])
    np.testing.assert_allclose(zscore_columns(m), [[-SQRT_1_5, 0.0, -1.0, 0.0],
                                                   [0.0, 0.0, 0.0, 0.0],
                                                   [SQRT_1_5, 0.0, 1.0, 0.0]], rtol=1e-15)
    assert zscore_columns([[0.1], [0.1], [0.1]]).tolist() == [[0.0], [0.0], [0.0]]


def test_zscore_columns_shapes():
    assert zscore_columns(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match="two-dimensional"):
        zscore_columns([1.0, 2.0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(NAN)), min_size=3,
                         max_size=3), min_size=1, max_size=12))
def test_zscore_columns_matches_zscore(rows):
    m = np.array(rows, dtype=np.float64)
    got = zscore_columns(m)
    for j in range(m.shape[1]):
        np.testing.assert_allclose(got[:, j], zscore(m[:, j]), rtol=1e-9, atol=1e-9)


def test_module_exports():
    assert set(selection.REGIMES) == {RISK_ON, SOFT_DEFENSE, HARD_DEFENSE}


# ------------------------------------------------------------------------------------------
# zscore_columns with groups and grouped_median (added for the tech profile)
# ------------------------------------------------------------------------------------------
def test_zscore_columns_within_groups_hand_values():
    # group a: [1, 2, 3] -> -/+ sqrt(1.5); group b: [10, 30] -> -1, +1; group c: one member
    # -> 0. Second column constant within each group -> 0.
    m = np.array([[1.0, 7.0], [10.0, 4.0], [2.0, 7.0], [30.0, 4.0], [3.0, 7.0], [5.0, 1.0]])
    z = zscore_columns(m, ["a", "b", "a", "b", "a", "c"])
    np.testing.assert_allclose(z[:, 0], [-SQRT_1_5, -1.0, 0.0, 1.0, SQRT_1_5, 0.0],
                               atol=1e-15)
    assert z[:, 1].tolist() == [0.0] * 6
    with pytest.raises(ValueError, match="differ in length"):
        zscore_columns(m, ["a"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["x", "y", "z"]),
                          st.one_of(st.floats(-1e6, 1e6), st.just(NAN)),
                          st.one_of(st.floats(-1e6, 1e6), st.just(NAN))),
                min_size=1, max_size=12))
def test_zscore_columns_with_groups_matches_grouped_zscore(rows):
    groups = [r[0] for r in rows]
    m = np.array([r[1:] for r in rows], dtype=np.float64)
    got = zscore_columns(m, groups)
    for j in range(2):
        np.testing.assert_allclose(got[:, j], grouped_zscore(m[:, j], groups), rtol=1e-9,
                                   atol=1e-9)


def test_grouped_median_hand_values():
    got = selection.grouped_median([1.0, 2.0, NAN, 4.0, 5.0, 6.0, NAN],
                                   ["a", "a", "a", "b", "b", "b", "c"])
    # a: median(1, 2) = 1.5 (NaN left out); b: 5; c: no finite value -> NaN
    np.testing.assert_array_equal(got, [1.5, 1.5, 1.5, 5.0, 5.0, 5.0, NAN])
    np.testing.assert_array_equal(selection.grouped_median([3.0, 1.0, 2.0, NAN]), [2.0] * 4)
    assert selection.grouped_median([], []).size == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["x", "y"]),
                          st.one_of(st.floats(-1e6, 1e6), st.just(NAN))), max_size=12))
def test_grouped_median_matches_statistics_median(rows):
    groups = [g for g, _ in rows]
    values = [v for _, v in rows]
    got = selection.grouped_median(values, groups)
    for i, g in enumerate(groups):
        finite = [v for h, v in rows if h == g and not math.isnan(v)]
        expected = statistics.median(finite) if finite else NAN
        np.testing.assert_array_equal(got[i], expected)
