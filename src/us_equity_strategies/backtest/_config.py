"""The frozen, hashable description of one backtest run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..contract._base import SYMBOL_PATTERN

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_PROXIES", "DEFAULT_SYNTHETIC", "BacktestConfig", "data_sha256"]

#: Safe havens without early history -> the symbol whose returns stand in (BOXX listed
#: 2022-12-28; BIL is the T-bill ETF the reference pipelines also use as cash).
DEFAULT_PROXIES: dict[str, str] = {"BOXX": "BIL"}
#: Leveraged products -> (underlying, daily leverage) for ``synthetic_leverage``.
DEFAULT_SYNTHETIC: dict[str, tuple[str, float]] = {"TQQQ": ("QQQ", 3.0), "SOXL": ("SOXX", 3.0)}


class BacktestConfig(BaseModel):
    """Everything that defines a run besides the data (see docs/backtest.md).

    Parameters
    ----------
    profile : str
        Profile name or alias.
    start, end : datetime.date
        Inclusive range; the run's sessions are the NYSE sessions in it on which the
        benchmark has a close.
    initial_equity : float
        Starting cash (USD).
    cost_bps : float
        Cost per trade in basis points of the traded value.
    execution : {"next_close", "same_close"}
        When a decision is filled (see the engine's module docstring).
    integer_shares : bool
        Whole shares only (rounded down, residual stays cash).
    synthetic_leverage : bool
        Extend the ``synthetic`` products before inception (daily-reset k x underlying).
    overrides : dict
        Profile parameter overrides (``--set key=value``).
    proxies : dict
        symbol -> proxy whose returns extend the symbol backwards before its first price.
    synthetic : dict
        product -> (underlying, leverage) used when ``synthetic_leverage`` is on.
    synthetic_fee : float
        Annual fee of the synthetic products, charged daily as ``fee / 252``.
    benchmark : str or None
        Benchmark symbol; None -> the manifest's ``benchmark``.
    cadence : {"profile", "weekly"}
        ``"profile"``: evaluate at the manifest's ``evaluation_frequency``. ``"weekly"``: a daily
        profile is evaluated only on the last session of each week (research comparisons with
        weekly-rebalanced reference runs); anything else is a usage error.
    keep_unlisted : bool
        Keep a holding that an actionable decision does not list (what a platform does with
        holdings outside the profile's managed symbols). Default False: the simulated account
        belongs to the profile, so such a holding (a stock that left the universe) is sold at
        the fill, as in the reference research backtests, and counted in
        ``warnings["unlisted_holding_sold"]``.
    trade_threshold : bool
        Skip a symbol's trade when its absolute value is below the decision's
        ``diagnostics.trade_threshold_value`` (what value-target platforms do).
    check_lookahead : int
        Number of evaluation sessions (evenly spaced) at which the precomputed snapshot is
        compared with one built from truncated prices; a difference raises ``LookAheadError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    profile: str = Field(min_length=1)
    start: dt.date
    end: dt.date
    initial_equity: float = Field(default=100_000.0, gt=0)
    cost_bps: float = Field(default=5.0, ge=0, lt=10_000)
    execution: Literal["next_close", "same_close"] = "next_close"
    integer_shares: bool = False
    synthetic_leverage: bool = False
    overrides: dict[str, Any] = Field(default_factory=dict)
    proxies: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PROXIES))
    synthetic: dict[str, tuple[str, float]] = Field(
        default_factory=lambda: dict(DEFAULT_SYNTHETIC))
    synthetic_fee: float = Field(default=0.0095, ge=0, lt=1)
    benchmark: str | None = Field(default=None, pattern=SYMBOL_PATTERN)
    trade_threshold: bool = True
    keep_unlisted: bool = False
    cadence: Literal["profile", "weekly"] = "profile"
    check_lookahead: int = Field(default=0, ge=0)

    @field_validator("proxies", "synthetic")
    @classmethod
    def _symbols(cls, v: dict[str, Any]) -> dict[str, Any]:
        import re

        for key, value in v.items():
            other = value if isinstance(value, str) else value[0]
            for sym in (key, other):
                if not re.match(SYMBOL_PATTERN, sym):
                    raise ValueError(f"{sym!r} is not a valid ticker")
            if key == other:
                raise ValueError(f"{key} cannot stand in for itself")
        return dict(sorted(v.items()))

    @field_validator("overrides")
    @classmethod
    def _json(cls, v: dict[str, Any]) -> dict[str, Any]:
        try:
            json.dumps(v, allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"overrides must be JSON values: {exc}") from None
        return v

    @model_validator(mode="after")
    def _range(self) -> BacktestConfig:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def canonical_json(self) -> str:
        """Sorted, compact JSON of every field (the profile name resolved to canonical)."""
        from .. import registry

        payload = self.model_dump(mode="json")
        payload["profile"] = registry.resolve(self.profile)
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def run_id(self, prices_sha256: str, universe_sha256: str | None = None) -> str:
        """sha256 of config + data hashes + package version: equal ids, equal outputs."""
        from .._version import __version__

        blob = json.dumps({"config": json.loads(self.canonical_json()),
                           "prices_sha256": prices_sha256,
                           "universe_sha256": universe_sha256,
                           "package_version": __version__},
                          sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def data_sha256(frame: pd.DataFrame | None) -> str | None:
    """Content hash of a table (column names, dtypes and values; row order matters)."""
    if frame is None:
        return None
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
