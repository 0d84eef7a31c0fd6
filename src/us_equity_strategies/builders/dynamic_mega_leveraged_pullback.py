"""Snapshot builder of dynamic_mega_leveraged_pullback (features.md §4.4 + profiles.md §2.9).

**Candidates** (:func:`candidate_rows`, the reference candidate snapshot): the top
``candidate_universe_size`` names of the universe table at ``as_of`` (:func:`universe.select_top_n`:
``mega_rank`` branch, or the weight branch with issuer de-duplication), one row each in
selection order. ``candidate_rank`` = 1-based position, assigned before product mapping, and
``mega_rank`` is a copy of it. The product map (parameter ``product_map``) gives ``trade_symbol``
= ``symbol``; an unmapped name keeps its slot with an empty symbol, leverage 2.0 and expense
ratio 0.01. ``product_available`` = ``eligible`` = mapped ∧ flagged available ∧ trade symbol
non-empty.

**Daily features** (:func:`enrich_candidates`, spec fix 1: what the reference runtime pulled
through its ``market_history`` loader), from closes on or before ``as_of``:

* candidate rows, on the **underlying**'s own rows: ``history_days``, ``underlying_close``,
  ``mom_20/63/126/252``, ``sma_50_gap``, ``sma_200_gap``, ``high_63_gap``, ``high_252_gap``,
  ``low_20_gap``, ``vol_63`` (ddof 0 x sqrt 252), via :func:`features.feature_panel`; NaN
  below each feature's rows-needed, ``history_days`` 0 without prices;
* one benchmark row (``symbol`` = ``underlying_symbol`` = ``benchmark_symbol``, sector
  ``benchmark``, not eligible): ``benchmark_close``, ``benchmark_sma`` (mean of the last
  ``sma_period`` closes), ``benchmark_atr`` (simple mean of the true range over ``atr_period``
  rows; missing high/low -> close), ``benchmark_atr_pct`` = ATR / close, ``benchmark_mom_126``
  (NaN below 127 rows). Fewer than ``max(sma_period, atr_period + 1, 126)`` benchmark rows ->
  :class:`~us_equity_strategies.errors.PriceHistoryError`;
* ``close`` = the row symbol's own last close (the product; NaN without prices), used only
  for whole-share sizing.

Rows stay in candidate order (reference); the benchmark row comes last. A reference-produced
candidate file is completed with :func:`enrich_candidates` (or :func:`enrich_snapshot`).

Backtests call :func:`precompute` once and :func:`build_from` per session (module
``_dynamic_precompute``): same table as :func:`build` on truncated prices, without
recomputing any rolling window.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import features
from .. import indicators as ind
from .. import universe as universe_mod
from ..errors import ParameterError, PriceHistoryError, SnapshotError
from ..snapshot._validate import coerce_bool

if TYPE_CHECKING:
    from ..entrypoints.dynamic_mega_leveraged_pullback import Parameters
    from ..snapshot import Snapshot

__all__ = ["BENCHMARK_SECTOR", "CANDIDATE_COLUMNS", "COLUMNS", "FEATURES", "MAP_ALIASES",
           "build", "build_from", "candidate_rows", "enrich_candidates", "enrich_snapshot",
           "load_product_map", "precompute", "synthetic_products"]

#: The reference candidate snapshot's columns, in its order (features.md §4.4).
CANDIDATE_COLUMNS = ("as_of", "symbol", "trade_symbol", "underlying_symbol", "sector",
                     "candidate_rank", "mega_rank", "product_leverage", "product_expense_ratio",
                     "product_available", "eligible")
FEATURES = ("mom_20", "mom_63", "mom_126", "mom_252", "sma_50_gap", "sma_200_gap",
            "high_63_gap", "high_252_gap", "low_20_gap", "vol_63")
BENCHMARK_VALUES = ("benchmark_close", "benchmark_sma", "benchmark_atr", "benchmark_atr_pct",
                    "benchmark_mom_126")
COLUMNS = (*CANDIDATE_COLUMNS, "universe_as_of", "close", "history_days", "underlying_close",
           *FEATURES, *BENCHMARK_VALUES)
BENCHMARK_SECTOR = "benchmark"
#: Product-map CSV columns: canonical name -> accepted names, first present wins.
MAP_ALIASES: dict[str, tuple[str, ...]] = {
    "underlying_symbol": ("underlying_symbol", "underlying", "source_symbol", "stock_symbol",
                          "stock", "symbol"),
    "trade_symbol": ("trade_symbol", "product_symbol", "leveraged_symbol", "etf_symbol",
                     "target_symbol"),
    "product_leverage": ("product_leverage", "leverage", "leverage_multiple"),
    "product_expense_ratio": ("product_expense_ratio", "expense_ratio", "expense_rate"),
    "product_available": ("product_available", "available", "enabled", "tradable"),
}
_DEFAULTS = {"product_leverage": 2.0, "product_expense_ratio": 0.01, "product_available": True}
_TRUE, _FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}


# --------------------------------------------------------------------------------------------
# product map
# --------------------------------------------------------------------------------------------
def synthetic_products(params: Parameters) -> dict[str, tuple[str, float, float]]:
    """Available products of the map: product -> (underlying, leverage, expense ratio).

    The backtester's ``--synthetic-leverage`` builds these from their underlyings when the
    data lacks them (2x single-stock products mostly listed in 2022 or later).
    """
    return {prod.trade_symbol: (und, prod.product_leverage, prod.product_expense_ratio)
            for und, prod in sorted(params.product_map.items())
            if prod.product_available and prod.trade_symbol}


def load_product_map(path: Path | str) -> dict[str, dict[str, Any]]:
    """Read a product-map CSV into a ``product_map`` parameter value (features.md §4.4).

    Column names are case-insensitive; aliases per :data:`MAP_ALIASES`. Blank leverage,
    expense ratio or availability take the defaults 2.0, 0.01 and True. Duplicate underlyings
    keep the first row. Available rows need a trade symbol and ``|leverage - 2| <= 0.05``.

    Raises
    ------
    ParameterError
        Unreadable file, missing underlying/trade column, unparsable values or a failed check;
        the message names the file, the column and the 0-based data row.
    """
    p = Path(path)
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ParameterError(f"product map {p}: cannot read CSV: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    cols = {key: next((n for n in names if n in raw.columns), None)
            for key, names in MAP_ALIASES.items()}
    for key in ("underlying_symbol", "trade_symbol"):
        if cols[key] is None:
            raise ParameterError(f"product map {p}: no {key} column (accepted names: "
                                 f"{', '.join(MAP_ALIASES[key])}; found {list(raw.columns)})")
    out: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(raw.to_dict("records")):
        def cell(key: str, row: dict = row) -> str:
            return str(row[cols[key]]).strip() if cols[key] else ""

        und = cell("underlying_symbol").upper()
        if not und:
            raise ParameterError(f"product map {p}: row {i}: empty underlying symbol")
        if und in out:
            continue  # duplicates keep the first row (reference)
        entry: dict[str, Any] = {"trade_symbol": cell("trade_symbol").upper() or None}
        for key in ("product_leverage", "product_expense_ratio"):
            text = cell(key)
            try:
                entry[key] = float(text) if text else _DEFAULTS[key]
            except ValueError:
                raise ParameterError(f"product map {p}: row {i} ({und}): column "
                                     f"{cols[key]!r}: {text!r} is not a number") from None
        text = cell("product_available").lower()
        if text and text not in _TRUE | _FALSE:
            raise ParameterError(f"product map {p}: row {i} ({und}): column "
                                 f"{cols['product_available']!r}: {text!r} is not one of "
                                 "1/true/yes/y/0/false/no/n")
        entry["product_available"] = text in _TRUE if text else True
        if entry["product_available"]:
            if not entry["trade_symbol"]:
                raise ParameterError(f"product map {p}: row {i} ({und}): available product "
                                     "without a trade symbol")
            if abs(entry["product_leverage"] - 2.0) > 0.05:
                raise ParameterError(f"product map {p}: row {i} ({und}): leverage "
                                     f"{entry['product_leverage']} is not 2 +- 0.05")
        out[und] = entry
    return out


def candidate_rows(selected: pd.DataFrame, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    """The reference candidate snapshot (:data:`CANDIDATE_COLUMNS`) for selected names.

    ``selected`` has ``symbol`` (the underlying) and ``sector``, in selection order.

    Raises
    ------
    ParameterError
        If two selected underlyings map to the same product (it would key two rows).
    """
    rows = []
    for rank, (und, sector) in enumerate(zip(selected["symbol"], selected["sector"],
                                             strict=True), start=1):
        prod = params.product_map.get(und)
        trade = prod.trade_symbol if prod is not None else None  # None: written empty
        available = bool(prod is not None and prod.product_available and trade)
        rows.append({
            "as_of": as_of.isoformat(), "symbol": trade, "trade_symbol": trade,
            "underlying_symbol": und, "sector": sector,
            "candidate_rank": float(rank), "mega_rank": float(rank),
            "product_leverage": prod.product_leverage if prod is not None else 2.0,
            "product_expense_ratio": prod.product_expense_ratio if prod is not None else 0.01,
            "product_available": available, "eligible": available,
        })
    table = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    mapped = table[table["symbol"].notna()]
    dup = mapped["symbol"].duplicated(keep=False)
    if dup.any():
        pairs = mapped[dup].groupby("symbol")["underlying_symbol"].agg(", ".join)
        raise ParameterError("product_map maps several selected underlyings to one product: "
                             + "; ".join(f"{s} <- {u}" for s, u in pairs.items()))
    return table


# --------------------------------------------------------------------------------------------
# daily features
# --------------------------------------------------------------------------------------------
def _text(values: Any) -> list[str | None]:
    """Stripped upper-case strings; missing or blank -> None (lists: ~15 rows)."""
    out = []
    for v in values:
        t = "" if v is None or (isinstance(v, float) and v != v) else str(v).strip().upper()
        out.append(t or None)
    return out


def _normalize_candidates(candidates: pd.DataFrame, as_of: dt.date,
                          benchmark: str) -> dict[str, list[Any]]:
    """Candidate columns as lists, with the reference defaults (profiles.md §2.9 inputs) for
    missing columns; an existing benchmark row is dropped; look-ahead is refused."""
    frame = candidates.rename(columns=lambda c: str(c).strip().lower())
    cols = {c: frame[c].tolist() for c in frame.columns}
    if not cols.keys() & {"symbol", "trade_symbol", "underlying_symbol"}:
        raise SnapshotError("candidate table needs underlying_symbol, symbol or trade_symbol "
                            f"(columns: {list(frame.columns)})")
    n = len(frame)
    sym = cols.get("symbol", cols.get("trade_symbol"))
    cols["symbol"] = _text(sym)
    cols["trade_symbol"] = _text(cols.get("trade_symbol", sym))
    cols["underlying_symbol"] = _text(cols.get("underlying_symbol", sym))
    if "candidate_rank" not in cols:
        cols["candidate_rank"] = cols.get("mega_rank", [np.nan] * n)
    cols.setdefault("mega_rank", cols["candidate_rank"])
    for col, default in (("product_leverage", 2.0), ("product_expense_ratio", np.nan),
                         ("product_available", True), ("eligible", True),
                         ("sector", universe_mod.UNKNOWN_SECTOR)):
        cols.setdefault(col, [default] * n)
    dates = pd.to_datetime(pd.Series(cols.get("as_of", [None] * n), dtype=object),
                           errors="coerce")
    late = (dates > pd.Timestamp(as_of)).to_numpy()
    if late.any():
        raise SnapshotError(f"candidate rows dated after {as_of} (look-ahead): rows "
                            f"{np.flatnonzero(late)[:8].tolist()}")
    if "universe_as_of" not in cols:
        cols["universe_as_of"] = [None if pd.isna(d) else d.date().isoformat() for d in dates]
    keep = [i for i in range(n) if cols["symbol"][i] != benchmark]  # re-enrichment
    return {c: [v[i] for i in keep] for c, v in cols.items()}


def _benchmark_row(prices: pd.DataFrame, as_of: dt.date, params: Parameters) -> dict[str, Any]:
    sym = params.benchmark_symbol
    rows = prices[(prices["symbol"] == sym) & (prices["date"] <= pd.Timestamp(as_of))]
    need = max(params.sma_period, params.atr_period + 1, 126)
    if len(rows) < need:
        raise PriceHistoryError(f"dynamic_mega_leveraged_pullback: benchmark {sym} has "
                                f"{len(rows)} price rows on or before {as_of}; the QQQ gate "
                                f"needs max(sma_period, atr_period + 1, 126) = {need}")
    idx = pd.DatetimeIndex(rows["date"])
    close = pd.Series(rows["close"].to_numpy(dtype=np.float64), index=idx)
    hl = {c: pd.Series(rows[c].to_numpy(dtype=np.float64), index=idx) if c in rows else None
          for c in ("high", "low")}
    last = float(close.iloc[-1])
    atr = ind.average_true_range_last(close, params.atr_period, hl["high"], hl["low"])
    return {
        "symbol": sym, "trade_symbol": None, "underlying_symbol": sym, "sector": BENCHMARK_SECTOR,
        "universe_as_of": None,
        "candidate_rank": np.nan, "mega_rank": np.nan, "product_leverage": np.nan,
        "product_expense_ratio": np.nan, "product_available": False, "eligible": False,
        "close": last, "history_days": len(close),
        "benchmark_close": last, "benchmark_sma": ind.sma_last(close, params.sma_period),
        "benchmark_atr": atr, "benchmark_atr_pct": atr / last,
        "benchmark_mom_126": last / float(close.iloc[-127]) - 1 if len(close) >= 127 else math.nan,
    }


def enrich_candidates(candidates: pd.DataFrame, prices: pd.DataFrame, as_of: dt.date,
                      params: Parameters) -> pd.DataFrame:
    """Add the daily features at ``as_of`` to a candidate table (ours or the reference's).

    Parameters
    ----------
    candidates : pandas.DataFrame
        Candidate rows with the reference columns (:data:`CANDIDATE_COLUMNS`; missing ones get
        the reference defaults). Feature columns and an existing benchmark row are rebuilt.
    prices : pandas.DataFrame
        Normalised long price table; only rows dated ``<= as_of`` are used.
    as_of : datetime.date
        Date of the features (the snapshot's ``as_of``); not before the candidates' ``as_of``.
    params : Parameters
        Uses ``benchmark_symbol``, ``sma_period`` and ``atr_period``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; candidate rows in input order, the benchmark row last.

    Raises
    ------
    SnapshotError
        No symbol column, or candidates dated after ``as_of``.
    PriceHistoryError
        Too little benchmark history (see the module docstring).
    """
    day = pd.Timestamp(as_of).normalize()
    cols = _normalize_candidates(candidates, day.date(), params.benchmark_symbol)
    unders = sorted({u for u in cols["underlying_symbol"] if u})
    needed = {*unders, *cols["symbol"], params.benchmark_symbol} - {None}
    usable = prices[prices["symbol"].isin(needed)]  # symbols first: the full table is large
    usable = usable[usable["date"] <= day]
    panel = features.feature_panel(usable[usable["symbol"].isin(unders)], FEATURES)
    at = features.features_at(panel, day, symbols=unders).set_index("symbol")
    feats = at.reindex(cols["underlying_symbol"])
    last = usable.groupby("symbol", sort=False)["close"].last().to_dict()
    bench = _benchmark_row(usable, day.date(), params)
    n = len(cols["symbol"])

    def with_bench(values: Any, name: str) -> list[Any]:
        return [*values, bench.get(name, np.nan)]

    out: dict[str, Any] = {"as_of": [day.date().isoformat()] * (n + 1)}
    for c in CANDIDATE_COLUMNS[1:]:
        out[c] = with_bench(cols[c], c)
    out["universe_as_of"] = with_bench(cols["universe_as_of"], "universe_as_of")
    out["close"] = with_bench([last.get(s, np.nan) for s in cols["symbol"]], "close")
    out["history_days"] = with_bench(feats["history_days"].fillna(0).to_numpy(), "history_days")
    out["underlying_close"] = with_bench(feats["close"].to_numpy(), "underlying_close")
    for c in FEATURES:
        out[c] = with_bench(feats[c].to_numpy(), c)
    for c in BENCHMARK_VALUES:
        out[c] = with_bench([np.nan] * n, c)
    table = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in out.items()})
    table["history_days"] = table["history_days"].astype(np.int64)
    for c in ("product_available", "eligible"):  # the snapshot's coercion: NaN -> False
        table[c] = np.array([coerce_bool(v) for v in table[c]], dtype=bool)
    for c in ("candidate_rank", "mega_rank", "product_leverage", "product_expense_ratio",
              "close", "underlying_close", *FEATURES, *BENCHMARK_VALUES):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype(np.float64)
    return table.loc[:, list(COLUMNS)]


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters, *,
          universe: pd.DataFrame) -> pd.DataFrame:
    """The snapshot table at ``as_of``: :func:`candidate_rows` + :func:`enrich_candidates`.

    Raises
    ------
    UniverseError
        No active universe rows, or nothing to rank more than N rows by.
    ParameterError
        Two selected underlyings map to the same product.
    PriceHistoryError
        Too little benchmark history.
    """
    table = universe_mod.normalize_universe(universe, "<universe>")
    chosen = universe_mod.select_top_n(table, params.candidate_universe_size, as_of=as_of,
                                       lag_sessions=params.universe_lag_sessions)
    when = universe_mod.membership_date(as_of, params.universe_lag_sessions)
    candidates = candidate_rows(chosen, when, params)
    return enrich_candidates(candidates, prices, as_of, params)


def precompute(prices: pd.DataFrame, params: Parameters, *, universe: pd.DataFrame) -> Any:
    """Backtest fast path: every causal series of :func:`build`, computed once over
    ``prices`` (see ``builders._dynamic_precompute``)."""
    from ._dynamic_precompute import precompute as run

    return run(prices, params, universe=universe)


def build_from(pre: Any, as_of: dt.date, params: Parameters, *,
               universe: pd.DataFrame) -> pd.DataFrame:
    """:func:`build` on prices truncated to ``as_of``, read from :func:`precompute` output."""
    from ._dynamic_precompute import build_from as run

    return run(pre, as_of, params, universe=universe)


def enrich_snapshot(snapshot: Snapshot, prices: pd.DataFrame, as_of: dt.date | None = None,
                    overrides: dict[str, Any] | None = None) -> Snapshot:
    """A validated snapshot at ``as_of`` (default: the candidates' date) from a candidate file.

    ``snapshot`` is e.g. :func:`~us_equity_strategies.snapshot.read_snapshot` of a reference
    candidate CSV. The result records ``benchmark_symbol``, ``atr_period`` and
    ``sma_period`` as builder parameters.
    """
    from .. import registry
    from ..params import resolve_parameters
    from ..prices import truncate
    from ..snapshot import Snapshot, validate_snapshot

    loaded = registry.load(snapshot.profile)
    manifest = loaded.manifest
    params = resolve_parameters(loaded.parameters_model, manifest.parameters, overrides,
                                manifest.profile)
    day = as_of or snapshot.as_of
    table = enrich_candidates(snapshot.frame, truncate(prices, day), day, params)
    used = params.model_dump(mode="json")
    out = Snapshot.from_frame(
        table, profile=manifest.profile, as_of=day,
        contract_version=manifest.snapshot.contract_version, source=f"{snapshot.source}+prices",
        builder_parameters={k: used[k] for k in ("atr_period", "benchmark_symbol",
                                                 "sma_period")})
    validate_snapshot(out, manifest, parameters=used, required_rows=loaded.required_rows,
                      params_model=params)
    return out
