"""bt_script: a test profile whose decisions are scripted by the test (installed as a plugin).

``SCRIPT`` maps the context ``as_of`` to ``{symbol: weight or value}``; dates not in it hold
(``no_execute``). ``SEEN`` records what the profile was given. ``PEEK`` makes the fast
builder path read prices after ``as_of`` (a deliberately look-ahead-biased builder).
The snapshot: one row per symbol with rows <= as_of (close = last close).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from us_equity_strategies.contract import (
    Diagnostics,
    PositionTarget,
    ProfileInputs,
    StrategyDecision,
)
from us_equity_strategies.params import ProfileParameters

SCRIPT: dict[dt.date, dict[str, float]] = {}
SEEN: list[dict[str, Any]] = []
PEEK = False


class Parameters(ProfileParameters):
    benchmark: str = Field(min_length=1)
    lookback: int = Field(ge=1, le=252)
    min_momentum: float = Field(ge=-1.0, le=1.0)


def build(prices: pd.DataFrame, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    rows = prices[prices["date"] <= pd.Timestamp(as_of)].sort_values(["symbol", "date"])
    last = rows.groupby("symbol", sort=True)["close"].agg(["last", "count"])
    n = len(last)
    return pd.DataFrame({
        "as_of": np.full(n, as_of.isoformat(), dtype=object),
        "symbol": np.array(last.index, dtype=object),
        "close": last["last"].to_numpy(dtype=np.float64),
        "momentum": np.zeros(n),
        "eligible": np.ones(n, dtype=bool),
        "history_days": last["count"].to_numpy(dtype=np.int64),
    })


def precompute(prices: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    return prices


def build_from(pre: pd.DataFrame, as_of: dt.date, params: Parameters) -> pd.DataFrame:
    if not PEEK:
        return build(pre, as_of, params)
    table = build(pre, dt.date(2100, 1, 1), params)  # every row, also after as_of
    table["as_of"] = as_of.isoformat()
    return table


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    ctx = inputs.context
    portfolio = ctx.portfolio
    SEEN.append({"as_of": ctx.as_of, "snapshot_as_of": inputs.snapshot_as_of,
                 "equity": portfolio.total_equity if portfolio else None,
                 "cash": portfolio.cash if portfolio else None,
                 "positions": {h.symbol: h.quantity for h in portfolio.positions}
                 if portfolio else {},
                 "closes": dict(zip(inputs.frame["symbol"], inputs.frame["close"],
                                    strict=True))})
    diagnostics = Diagnostics(signal="scripted", snapshot_as_of=inputs.snapshot_as_of)
    targets = SCRIPT.get(ctx.as_of)
    if targets is None:
        return inputs.hold("not_scripted", diagnostics)
    key = "target_weight" if inputs.target_mode.value == "weight" else "target_value"
    return inputs.decide([PositionTarget(symbol=s, **{key: v}) for s, v in targets.items()],
                         diagnostics)
