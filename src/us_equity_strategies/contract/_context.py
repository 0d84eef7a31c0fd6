"""What a profile receives besides its snapshot: the evaluation context."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, field_validator, model_validator

from ._base import SYMBOL_PATTERN, FrozenModel, check_finite, clean_json

__all__ = ["EvaluationContext", "Holding", "Portfolio"]


class Holding(FrozenModel):
    """One current position of the account."""

    symbol: str = Field(pattern=SYMBOL_PATTERN)
    quantity: float = Field(ge=0)
    market_value: float = Field(ge=0)

    @field_validator("quantity", "market_value")
    @classmethod
    def _finite(cls, v: float, info: Any) -> float:
        check_finite(v, info.field_name)
        return v

    @property
    def price(self) -> float | None:
        """Implied price, or None when the quantity is zero."""
        return self.market_value / self.quantity if self.quantity > 0 else None


class Portfolio(FrozenModel):
    """The account as the platform sees it (USD)."""

    total_equity: float = Field(ge=0)
    cash: float | None = None
    buying_power: float | None = None
    positions: tuple[Holding, ...] = ()

    @field_validator("total_equity", "cash", "buying_power")
    @classmethod
    def _finite(cls, v: float | None, info: Any) -> float | None:
        return check_finite(v, info.field_name)

    @field_validator("positions")
    @classmethod
    def _unique_sorted(cls, v: tuple[Holding, ...]) -> tuple[Holding, ...]:
        seen = [h.symbol for h in v]
        dupes = sorted({s for s in seen if seen.count(s) > 1})
        if dupes:
            raise ValueError(f"duplicate portfolio positions: {', '.join(dupes)}")
        return tuple(sorted(v, key=lambda h: h.symbol))

    def position(self, symbol: str) -> Holding | None:
        """The holding for ``symbol`` or None."""
        for h in self.positions:
            if h.symbol == symbol:
                return h
        return None

    def quantity(self, symbol: str) -> float:
        h = self.position(symbol)
        return h.quantity if h else 0.0

    def market_value(self, symbol: str) -> float:
        h = self.position(symbol)
        return h.market_value if h else 0.0


class EvaluationContext(FrozenModel):
    """Everything a profile may know besides the snapshot.

    ``as_of`` is the NYSE session the decision is for. ``holdings`` are the symbols currently
    held; when omitted they are taken from the portfolio positions with a positive quantity.
    ``parameters`` override the manifest defaults (validated by the profile's parameter model).
    """

    as_of: dt.date
    portfolio: Portfolio | None = None
    holdings: tuple[str, ...] = ()
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_only(cls, v: Any) -> Any:
        # A datetime is a date subclass: keep only the session day, never the clock time.
        if isinstance(v, dt.datetime):
            return v.date()
        return v

    @field_validator("holdings")
    @classmethod
    def _holdings(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({s.strip().upper() for s in v if s.strip()}))

    @field_validator("parameters")
    @classmethod
    def _params(cls, v: dict[str, Any]) -> dict[str, Any]:
        return clean_json(v, "parameters")

    @model_validator(mode="after")
    def _derive_holdings(self) -> EvaluationContext:
        if not self.holdings and self.portfolio is not None:
            held = tuple(h.symbol for h in self.portfolio.positions if h.quantity > 0)
            object.__setattr__(self, "holdings", held)
        return self

    @property
    def total_equity(self) -> float | None:
        return self.portfolio.total_equity if self.portfolio is not None else None
