"""Tests for us_equity_strategies.features.

Expected values come from the spec's worked examples (features.md §5.1, §5.2) or from the slow
per-row implementations below, which restate the formulas of features.md §3 / profiles.md §2.9
literally (one symbol, one row at a time, plain numpy on the symbol's own rows).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from us_equity_strategies import features as F
from us_equity_strategies import indicators as ind
from us_equity_strategies.errors import PriceHistoryError
from us_equity_strategies.prices import normalize_prices

NAN = math.nan
DATES = pd.bdate_range("2024-01-02", periods=300)  # features.md §5.1; last date 2025-02-24


# --------------------------------------------------------------------------------------------
# fixtures: the §5.1 toy series and random histories with gaps
# --------------------------------------------------------------------------------------------
def _long(series: dict[str, tuple[np.ndarray, np.ndarray | float]], dates=DATES) -> pd.DataFrame:
    frames = []
    for symbol, (close, volume) in series.items():
        n = len(close)
        frames.append(pd.DataFrame({"date": dates[:n], "symbol": symbol, "close": close,
                                    "volume": np.broadcast_to(volume, n)}))
    return normalize_prices(pd.concat(frames, ignore_index=True))


def toy_prices() -> pd.DataFrame:
    t = np.arange(300)
    return _long({
        "AAA": (100 * (1 + 0.001 * t) * (1 + 0.05 * np.sin(2 * np.pi * t / 50)),
                1e6 + 1e4 * (t % 7)),
        "GEO": (100 * 1.001 ** t, 1e6),
        "QQQ": (100 * (1 + 0.0008 * t), 5e7),
        "SPY": (100 * (1 + 0.0005 * t), 5e7),
        "BOXX": (100 * (1 + 0.0002 * t), 1e6),
    })


def random_prices(seed: int, n_symbols: int = 6, max_rows: int = 420) -> pd.DataFrame:
    """Random walks on random subsets of business days (gaps), with some NaN volumes."""
    rng = np.random.default_rng(seed)
    calendar = pd.bdate_range("2020-01-01", periods=max_rows + 200)
    frames = []
    for k in range(n_symbols):
        n = int(rng.integers(0, max_rows)) if k else max_rows  # one long symbol always
        if n == 0:
            continue
        dates = np.sort(rng.choice(calendar, size=n, replace=False))
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        volume = rng.uniform(1e5, 1e7, n)
        volume[rng.random(n) < 0.05] = np.nan
        frames.append(pd.DataFrame({"date": dates, "symbol": f"S{k:02d}", "close": close,
                                    "volume": volume}))
    return normalize_prices(pd.concat(frames, ignore_index=True))


# --------------------------------------------------------------------------------------------
# slow references: value at row L of one symbol (C, V are that symbol's arrays)
# --------------------------------------------------------------------------------------------
def _win_max(C, L, w):
    return max(C[L - w + 1 : L + 1])


def _mean(C, L, w):
    return float(np.mean(C[L - w + 1 : L + 1]))


def slow_feature(name, C, V, L, adv="strict", maxdd="window"):
    rows = L + 1

    def need(k):
        return rows >= k

    if name == "adv20_usd":
        if not need(20):
            return NAN
        prod = C[L - 19 : L + 1] * V[L - 19 : L + 1]
        if adv == "strict":
            return NAN if np.isnan(prod).any() else float(np.mean(prod))
        return NAN if np.isnan(prod).all() else float(np.nanmean(prod))
    if name == "mom_6_1":
        return C[L - 21] / C[L - 147] - 1 if need(148) else NAN
    if name == "mom_12_1":
        return C[L - 21] / C[L - 273] - 1 if need(274) else NAN
    for key, k in (("mom_3m", 63), ("mom_6m", 126), ("rebound_20", 20), ("mom_20", 20),
                   ("mom_63", 63), ("mom_126", 126), ("mom_252", 252)):
        if name == key:
            return C[L] / C[L - k] - 1 if need(k + 1) else NAN
    for key, w in (("sma20_gap", 20), ("sma50_gap", 50), ("sma200_gap", 200),
                   ("sma_50_gap", 50), ("sma_200_gap", 200)):
        if name == key:
            return C[L] / _mean(C, L, w) - 1 if need(w) else NAN
    if name == "ma50_over_ma200":
        return _mean(C, L, 50) / _mean(C, L, 200) - 1 if need(200) else NAN
    if name == "vol_63":
        if not need(64):
            return NAN
        r = C[L - 62 : L + 1] / C[L - 63 : L] - 1
        return float(np.std(r, ddof=0)) * math.sqrt(252)
    for key, w in (("breakout_252", 252), ("high_252_gap", 252), ("dist_63_high", 63),
                   ("dist_126_high", 126), ("high_63_gap", 63)):
        if name == key:
            return C[L] / _win_max(C, L, w) - 1 if need(w) else NAN
    if name == "low_20_gap":
        return C[L] / min(C[L - 19 : L + 1]) - 1 if need(20) else NAN
    if name == "maxdd_126" and maxdd == "window":
        if not need(126):
            return NAN
        W = C[L - 125 : L + 1]
        return min(W[j] / max(W[: j + 1]) - 1 for j in range(126))
    if name == "maxdd_126":
        if not need(251):
            return NAN
        return min(C[i] / _win_max(C, i, 126) - 1 for i in range(L - 125, L + 1))
    raise AssertionError(name)


def slow_panel(prices, names, adv="strict", maxdd="window") -> pd.DataFrame:
    out = {n: np.full(len(prices), NAN) for n in names}
    for _, rows in prices.groupby("symbol", sort=False).indices.items():
        C = prices["close"].to_numpy()[rows]
        V = prices["volume"].to_numpy()[rows]
        for L, r in enumerate(rows):
            for n in names:
                out[n][r] = slow_feature(n, C, V, L, adv, maxdd)
    return pd.DataFrame(out, index=prices.index)


# --------------------------------------------------------------------------------------------
# features.md §5 worked examples
# --------------------------------------------------------------------------------------------
# Columns AAA, GEO, QQQ, SPY, BOXX of the §5.1 table (values copied from the spec).
SPEC_51 = {
    "close": (129.0859606, 134.8308171, 123.92, 114.95, 105.98),
    "adv20_usd": (127_768_701, 133_558_841.5, 6.158e9, 5.72375e9, 105_790_000),
    "mom_6_1": (0.07558128184, 1.001**126 - 1, 0.08987161198, 0.05855018587, 0.02445652174),
    "mom_12_1": (0.2303974643, 1.001**252 - 1, 0.197492163, 0.1243830207, 0.05013927577),
    "mom_3m": (0.09832849897, 0.06499331376, 0.04239569314, 0.02817531306, 0.01203208556),
    "mom_6m": (0.08696125923, 0.1342107584, 0.08854532677, 0.05798435343, 0.02435723951),
    "sma20_gap": (0.03913049829, 0.009523709455, 0.006170834687, 0.004149377593,
                  0.001796010965),
    "sma50_gap": (0.0131519782, 0.02468345382, 0.0160708429, 0.01077159815, 0.004644990046),
    "sma200_gap": (0.07652136466, 0.1027266411, 0.06864436012, 0.04523755399, 0.01913645543),
    "ma50_over_ma200": (0.06254677267, 0.07616321601, 0.05174197999, 0.03409865879,
                        0.01442446389),
    "vol_63": (0.06867336773, 0.0, 1.254762624e-4, 5.617639855e-5, 1.040591386e-5),
    "maxdd_126": (-0.07790143207, 0, 0, 0, 0),
    "breakout_252": (-0.0265601872, 0, 0, 0, 0),
    "high_252_gap": (-0.0265601872, 0, 0, 0, 0),
    "dist_63_high": (-0.0265601872, 0, 0, 0, 0),
    "dist_126_high": (-0.0265601872, 0, 0, 0, 0),
    "rebound_20": (0.03418365042, 0.02019114486, 0.01308044474, 0.00877577885,
                   0.003788596325),
}
SPEC_SYMBOLS = ("AAA", "GEO", "QQQ", "SPY", "BOXX")


@pytest.mark.parametrize("adv", ["strict", "skipna"])
def test_worked_example_5_1(adv):
    panel = F.feature_panel(toy_prices(), [c for c in SPEC_51 if c != "close"], adv_variant=adv)
    at = F.features_at(panel, DATES[-1]).set_index("symbol")
    assert (at["history_days"] == 300).all()
    for column, expected in SPEC_51.items():
        for symbol, value in zip(SPEC_SYMBOLS, expected, strict=True):
            # the spec rounds to ~10 significant digits (adv20 to the unit); GEO vol_63 is
            # float noise (~2e-15), hence the absolute floor
            assert at.loc[symbol, column] == pytest.approx(value, rel=1e-9, abs=1e-11), (
                column, symbol)


def test_worked_example_5_1_relative_momentum():
    at = F.features_at(F.feature_panel(toy_prices(), ["mom_6m"]), DATES[-1])
    rel = F.relative_to(at, "mom_6m", "QQQ").set_axis(at["symbol"])
    broad = F.relative_to(at, "mom_6m", "SPY").set_axis(at["symbol"])
    expected = {"AAA": (-0.001584067547, 0.0289769058), "GEO": (0.04566543158, 0.07622640493),
                "QQQ": (0, 0.03056097335), "SPY": (-0.03056097335, 0),
                "BOXX": (-0.06418808726, -0.03362711392)}
    for symbol, (vs_qqq, vs_spy) in expected.items():
        assert rel[symbol] == pytest.approx(vs_qqq, abs=1e-11)
        assert broad[symbol] == pytest.approx(vs_spy, abs=1e-11)
    assert rel.name == "rel_mom_6m_vs_QQQ"


def test_mom_6_1_offset_is_147_21_rows():
    # features.md §5.1: for GEO, C[278]/C[152] - 1 = 1.001**126 - 1 (not 126/21 rows back)
    at = F.features_at(F.feature_panel(toy_prices(), ["mom_6_1"]), DATES[-1]).set_index("symbol")
    assert at.loc["GEO", "mom_6_1"] == pytest.approx(1.001**126 - 1, rel=1e-12)


def vee_prices() -> pd.DataFrame:
    t = np.arange(300, dtype=float)
    close = np.where(t <= 160, 100 * (1 + 0.002 * t), 0.0)
    fall = (t > 160) & (t <= 200)
    close[fall] = 132 + (92.4 - 132) * (t[fall] - 160) / 40
    rise = t > 200
    close[rise] = 92.4 + (125.4 - 92.4) * (t[rise] - 200) / 99
    return _long({"VEE": (close, 1e6)})


def test_worked_example_5_2_window_vs_rolling_maxdd():
    prices = vee_prices()
    assert prices["close"].iloc[160] == pytest.approx(132)
    assert prices["close"].iloc[299] == pytest.approx(125.4)
    window = F.features_at(F.feature_panel(prices, ["maxdd_126"]), DATES[-1])
    rolling = F.features_at(F.feature_panel(prices, ["maxdd_126"], maxdd_variant="rolling"),
                            DATES[-1])
    # window t = 174..299: the peak inside the window is C[174], trough C[200] = 92.4
    assert window["maxdd_126"].iloc[0] == pytest.approx(-0.2178770950, abs=1e-9)
    # rolling: at t = 200 the trailing 126-row high is the t = 160 peak of 132
    assert rolling["maxdd_126"].iloc[0] == pytest.approx(92.4 / 132 - 1, abs=1e-12)


# --------------------------------------------------------------------------------------------
# every feature against the slow per-row loops, on random data with gaps
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("adv", "maxdd"), [("strict", "window"), ("skipna", "rolling")])
def test_matches_slow_reference(seed, adv, maxdd):
    prices = random_prices(seed)
    names = list(F.SUPPORTED_FEATURES)
    fast = F.feature_panel(prices, names, adv_variant=adv, maxdd_variant=maxdd)
    slow = slow_panel(prices, names, adv, maxdd)
    assert list(fast.columns) == [*F.BASE_COLUMNS, *names]
    assert fast.index.equals(prices.index)
    expected_hist = prices.groupby("symbol").cumcount().to_numpy() + 1
    np.testing.assert_array_equal(fast["history_days"].to_numpy(), expected_hist)
    for name in names:
        np.testing.assert_allclose(fast[name].to_numpy(), slow[name].to_numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=name)


# Rows needed, copied from the features.md §3 table / profiles.md §2.9 (0-based first valid
# row = rows needed - 1).
SPEC_ROWS_NEEDED = {
    "adv20_usd": 20, "mom_6_1": 148, "mom_12_1": 274, "mom_3m": 64, "mom_6m": 127,
    "sma20_gap": 20, "sma50_gap": 50, "sma200_gap": 200, "ma50_over_ma200": 200, "vol_63": 64,
    "breakout_252": 252, "high_252_gap": 252, "dist_63_high": 63, "dist_126_high": 126,
    "rebound_20": 21, "mom_20": 21, "mom_63": 64, "mom_126": 127, "mom_252": 253,
    "sma_50_gap": 50, "sma_200_gap": 200, "high_63_gap": 63, "low_20_gap": 20,
}


@pytest.mark.parametrize(("adv", "maxdd", "maxdd_rows"),
                         [("strict", "window", 126), ("skipna", "rolling", 251)])
def test_rows_needed_boundaries(adv, maxdd, maxdd_rows):
    prices = random_prices(5, n_symbols=1).assign(volume=1e6)  # no NaN volume here
    panel = F.feature_panel(prices, F.SUPPORTED_FEATURES, adv_variant=adv,
                            maxdd_variant=maxdd)
    for name, needed in {**SPEC_ROWS_NEEDED, "maxdd_126": maxdd_rows}.items():
        values = panel[name].to_numpy()
        assert np.isnan(values[: needed - 1]).all(), name
        assert not np.isnan(values[needed - 1]), name


def test_adv_skipna_vs_strict():
    t = np.arange(30)
    volume = np.full(30, 2.0)
    volume[25] = np.nan  # one NaN product among the last 20 rows
    close = 10.0 + t
    prices = _long({"X": (close, volume), "Y": (close, np.full(30, np.nan))})
    strict = F.feature_panel(prices, ["adv20_usd"])
    skip = F.feature_panel(prices, ["adv20_usd"], adv_variant="skipna")
    x_strict = strict.loc[prices["symbol"] == "X", "adv20_usd"].to_numpy()
    x_skip = skip.loc[prices["symbol"] == "X", "adv20_usd"].to_numpy()
    # rows 0..18: fewer than 20 rows -> NaN in both variants
    assert np.isnan(x_strict[:19]).all() and np.isnan(x_skip[:19]).all()
    # row 19..24: all 20 products valid: mean of 2*(10+t) for t = L-19..L = 2*(10 + L - 9.5)
    assert x_strict[24] == pytest.approx(2 * (10 + 24 - 9.5))
    assert x_skip[24] == pytest.approx(2 * (10 + 24 - 9.5))
    # row 29 (window 10..29 holds the NaN at 25): strict NaN, skipna = mean of 19 products
    assert np.isnan(x_strict[29])
    expected = 2 * (sum(10 + i for i in range(10, 30)) - (10 + 25)) / 19
    assert x_skip[29] == pytest.approx(expected, rel=1e-15)
    # Y: all products NaN -> NaN in both variants
    assert strict.loc[prices["symbol"] == "Y", "adv20_usd"].isna().all()
    assert skip.loc[prices["symbol"] == "Y", "adv20_usd"].isna().all()


def test_missing_volume_column_gives_nan_adv():
    prices = toy_prices().drop(columns="volume")
    panel = F.feature_panel(prices, ["adv20_usd", "mom_3m"])
    assert panel["volume"].isna().all() and panel["adv20_usd"].isna().all()
    assert panel["mom_3m"].notna().sum() == 5 * (300 - 63)


def test_output_keeps_the_input_index():
    prices = toy_prices()
    odd = prices.set_axis(np.repeat(np.arange(len(prices) // 2), 2), axis=0)  # duplicates
    panel = F.feature_panel(odd, ["mom_3m"])
    assert panel.index.equals(odd.index)
    np.testing.assert_array_equal(panel["close"].to_numpy(), prices["close"].to_numpy())
    assert list(panel["symbol"]) == list(prices["symbol"])
    assert panel["symbol"].dtype == prices["symbol"].dtype


def test_per_symbol_values_equal_the_single_symbol_indicators():
    # block-clipped rolling windows reproduce a per-symbol pandas rolling bit for bit
    prices = random_prices(7)
    panel = F.feature_panel(prices, ["sma50_gap", "vol_63", "maxdd_126"])
    for _, rows in prices.groupby("symbol").indices.items():
        close = prices["close"].iloc[rows].reset_index(drop=True)
        np.testing.assert_array_equal(panel["sma50_gap"].to_numpy()[rows],
                                      (close / ind.sma(close, 50) - 1).to_numpy())
        np.testing.assert_array_equal(
            panel["vol_63"].to_numpy()[rows],
            ind.realized_volatility(close, 63, ddof=0, annualize=True).to_numpy())
        np.testing.assert_array_equal(panel["maxdd_126"].to_numpy()[rows],
                                      ind.drawdown_max(close, 126).to_numpy())


# --------------------------------------------------------------------------------------------
# truncation invariance and symbol independence
# --------------------------------------------------------------------------------------------
ALL = list(F.SUPPORTED_FEATURES)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 3), offset=st.integers(-5, 900),
       variants=st.sampled_from([("strict", "window"), ("skipna", "rolling")]))
def test_truncation_invariance(seed, offset, variants):
    adv, maxdd = variants
    prices = random_prices(seed)
    t = pd.Timestamp("2020-01-01") + pd.Timedelta(days=offset)  # may be a weekend / gap day
    full = F.features_at(F.feature_panel(prices, ALL, adv_variant=adv, maxdd_variant=maxdd), t)
    cut = prices[prices["date"] <= t]
    part = F.features_at(F.feature_panel(cut, ALL, adv_variant=adv, maxdd_variant=maxdd), t)
    pd.testing.assert_frame_equal(part, full, check_exact=True)


def test_symbol_values_do_not_depend_on_other_symbols():
    prices = random_prices(3)
    panel = F.feature_panel(prices, ALL, maxdd_variant="rolling")
    for symbol in prices["symbol"].unique():
        alone = prices[prices["symbol"] == symbol]
        pd.testing.assert_frame_equal(F.feature_panel(alone, ALL, maxdd_variant="rolling"),
                                      panel[prices["symbol"] == symbol], check_exact=True)


# --------------------------------------------------------------------------------------------
# features_at / relative_to
# --------------------------------------------------------------------------------------------
def test_features_at_last_row_without_staleness_check():
    prices = toy_prices()
    stale = prices[(prices["symbol"] != "GEO") | (prices["date"] <= DATES[200])]
    panel = F.feature_panel(stale, ["mom_3m"])
    at = F.features_at(panel, DATES[-1])
    assert list(at["symbol"]) == sorted(SPEC_SYMBOLS)
    geo = at.set_index("symbol").loc["GEO"]
    assert geo["date"] == DATES[200] and geo["history_days"] == 201
    assert geo["mom_3m"] == pytest.approx(1.001**63 - 1, rel=1e-12)
    # before any row of any symbol: empty
    assert F.features_at(panel, DATES[0] - pd.Timedelta(days=1)).empty


def test_features_at_with_symbols_fills_missing_names():
    panel = F.feature_panel(toy_prices(), ["mom_3m"])
    at = F.features_at(panel, DATES[10], symbols=["ZZZ", "QQQ", "AAA"])
    assert list(at["symbol"]) == ["AAA", "QQQ", "ZZZ"]
    assert list(at.columns) == list(panel.columns)
    assert list(at["history_days"]) == [11, 11, 0]
    assert pd.isna(at.loc[2, "close"]) and pd.isna(at.loc[2, "date"])


def test_features_at_rejects_a_panel_without_first_rows():
    panel = F.feature_panel(toy_prices(), ["mom_3m"])
    with pytest.raises(ValueError, match="from its first one"):
        F.features_at(panel.iloc[5:], DATES[-1])
    with pytest.raises(TypeError):
        F.features_at(panel, "2025-02-24")


def test_relative_to_missing_benchmark_is_all_nan():
    at = F.features_at(F.feature_panel(toy_prices(), ["mom_6m"]), DATES[-1])
    assert F.relative_to(at, "mom_6m", "IWM").isna().all()
    doubled = pd.concat([at, at[at["symbol"] == "QQQ"]], ignore_index=True)
    with pytest.raises(ValueError, match="appears in 2 rows"):
        F.relative_to(doubled, "mom_6m", "QQQ")


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_unknown_feature_lists_supported_names():
    with pytest.raises(ValueError, match=r"unknown feature\(s\) \['mom_7m'\].*mom_6_1"):
        F.feature_panel(toy_prices(), ["mom_6m", "mom_7m"])
    with pytest.raises(TypeError):
        F.feature_panel(toy_prices(), "mom_6m")


def test_bad_variants_and_unsorted_prices():
    prices = toy_prices()
    with pytest.raises(ValueError, match="adv_variant"):
        F.feature_panel(prices, ["adv20_usd"], adv_variant="mean")
    with pytest.raises(ValueError, match="maxdd_variant"):
        F.feature_panel(prices, ["maxdd_126"], maxdd_variant="peak")
    with pytest.raises(PriceHistoryError, match="sorted"):
        F.feature_panel(prices.iloc[::-1], ["mom_3m"])
    shuffled_symbols = pd.concat([prices[prices["symbol"] == "SPY"],
                                  prices[prices["symbol"] == "AAA"]])
    with pytest.raises(PriceHistoryError, match="sorted"):
        F.feature_panel(shuffled_symbols, ["mom_3m"])
    with pytest.raises(PriceHistoryError, match="sorted"):  # duplicated (symbol, date)
        F.feature_panel(pd.concat([prices.iloc[:3], prices.iloc[2:5]]), ["mom_3m"])
    with pytest.raises(PriceHistoryError, match="rows \\[1\\]"):
        F.feature_panel(prices.assign(close=[1.0, -1.0, *prices["close"].iloc[2:]]), ["mom_3m"])
    with pytest.raises(PriceHistoryError, match="missing required columns"):
        F.feature_panel(prices.drop(columns="close"), ["mom_3m"])


def test_empty_prices():
    empty = toy_prices().iloc[:0]
    panel = F.feature_panel(empty, ["mom_3m", "maxdd_126"])
    assert panel.empty and list(panel.columns) == [*F.BASE_COLUMNS, "mom_3m", "maxdd_126"]
