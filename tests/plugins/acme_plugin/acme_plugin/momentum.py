"""acme_momentum: 100% in the eligible symbol with the highest momentum (ties: first symbol)."""

from __future__ import annotations

import math

from pydantic import Field

from us_equity_strategies.contract import (
    Diagnostics,
    PositionTarget,
    ProfileInputs,
    StrategyDecision,
)
from us_equity_strategies.params import ProfileParameters


class Parameters(ProfileParameters):
    benchmark: str = Field(min_length=1)
    lookback: int = Field(ge=1, le=252)
    min_momentum: float = Field(ge=-1.0, le=1.0)


def required_rows(params: Parameters) -> dict[str, tuple[str, ...]]:
    """The benchmark row must exist with a close and a momentum."""
    return {params.benchmark: ("close", "momentum")}


def evaluate(inputs: ProfileInputs) -> StrategyDecision:
    rows = inputs.rows()
    scored = sorted(
        (-r["momentum"], sym)
        for sym, r in rows.items()
        if r["eligible"] and not math.isnan(r["momentum"])
    )
    bench = inputs.params.benchmark
    common = {"benchmark_symbol": bench, "benchmark_price": rows[bench]["close"],
              "snapshot_as_of": inputs.snapshot_as_of}
    if not scored or -scored[0][0] <= inputs.params.min_momentum:
        return inputs.hold("no_positive_momentum", Diagnostics(signal="stand_aside", **common))
    best_neg, leader = scored[0]
    return inputs.decide(
        [PositionTarget(symbol=leader, target_weight=1.0)],
        Diagnostics(signal="hold_leader", extras={"leader": leader, "momentum": -best_neg},
                    **common),
    )
