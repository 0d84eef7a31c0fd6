"""The simulated account: shares per symbol and cash, marked to market, trading at closes.

Rules of :meth:`Account.apply_targets` (documented in docs/backtest.md):

* Targets are end states. Weight mode: ``target value = weight x equity`` at the execution
  session's marks (pre-trade). Value mode: the profile's dollars as given.
* Symbols absent from the targets are left untouched; a profile liquidates by listing a symbol
  with 0 (explicit liquidation, as platforms do).
* A target needs a real close on the execution session; without one the holding is kept and
  the symbol is reported as ``unpriced`` (no silent forward fill of tradable prices).
* With a trade threshold (value-mode platforms: ``diagnostics.trade_threshold_value``), a
  symbol whose ``|target - current|`` is below it is not traded.
* Costs: ``|traded value| x cost_bps / 1e4``, paid from cash. Cash never goes negative (no
  margin): if the traded targets plus costs need more cash than the account has, every traded
  target is scaled by the largest factor ``s`` in [0, 1] that keeps cash >= 0 (``scale`` in the
  report; the cash after trading is decreasing in ``s``, found by bisection).
* Whole shares (``integer_shares``): ``sizing.whole_shares`` (rounded down) of the (scaled)
  target; the residual stays cash. Rounding down never makes cash negative.
* Cash earns 0; cash-like ETFs (BIL, BOXX) earn their own price returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..contract import Holding, Portfolio
from ..sizing import whole_shares

__all__ = ["Account", "Execution", "Fill"]

_BISECTION_STEPS = 64
#: Trades worth less than this (USD) are float residue (a value target equal to the holding,
#: ~1e-12 shares) and are skipped rather than written to trades.csv.
MIN_TRADE_VALUE = 1e-6


@dataclass(frozen=True)
class Fill:
    """One trade: ``shares`` > 0 buys, < 0 sells; ``value = shares x price``."""

    symbol: str
    shares: float
    price: float
    value: float
    cost: float


@dataclass
class Execution:
    """What one :meth:`Account.apply_targets` call did."""

    fills: list[Fill] = field(default_factory=list)
    scale: float = 1.0
    unpriced: list[str] = field(default_factory=list)
    below_threshold: list[str] = field(default_factory=list)
    turnover: float = 0.0
    equity_before: float = 0.0
    equity_after: float = 0.0


class Account:
    """Shares (float, or whole numbers with ``integer_shares``) per symbol and cash.

    Parameters
    ----------
    symbols : sequence of str
        Column order of every price row passed in.
    cash : float
        Starting cash.
    integer_shares : bool
        Round every target down to whole shares.
    """

    def __init__(self, symbols: Sequence[str], cash: float, integer_shares: bool = False) -> None:
        self.symbols = tuple(symbols)
        self.column = {s: j for j, s in enumerate(self.symbols)}
        self.shares = np.zeros(len(self.symbols))
        self.cash = float(cash)
        self.integer_shares = integer_shares

    def values(self, marks: np.ndarray) -> np.ndarray:
        """Market value per symbol (0 where nothing is held, even without a mark)."""
        held = self.shares != 0
        out = np.zeros(len(self.symbols))
        out[held] = self.shares[held] * marks[held]
        return out

    def equity(self, marks: np.ndarray) -> float:
        return self.cash + float(self.values(marks).sum())

    def portfolio(self, marks: np.ndarray) -> Portfolio:
        """The account as a platform would report it (``buying_power`` = cash)."""
        values = self.values(marks)
        held = np.flatnonzero(self.shares > 0)
        positions = tuple(
            Holding.model_construct(symbol=self.symbols[j], quantity=float(self.shares[j]),
                                    market_value=float(values[j]))
            for j in held
        )
        return Portfolio(total_equity=max(0.0, self.cash + float(values.sum())), cash=self.cash,
                         buying_power=self.cash, positions=positions)

    def _cash_after(self, scale: float, cols: np.ndarray, targets: np.ndarray,
                    prices: np.ndarray, bps: float) -> float:
        current = self.shares[cols] * prices
        new = scale * targets
        if self.integer_shares:
            new = np.array([whole_shares(v, p) * p for v, p in zip(new, prices, strict=True)])
        return self.cash + float((current - new).sum()) - bps * float(np.abs(new - current).sum())

    def apply_targets(
        self,
        targets: Mapping[str, float],
        mode: str,
        prices: np.ndarray,
        marks: np.ndarray,
        *,
        cost_bps: float,
        threshold: float | None = None,
    ) -> Execution:
        """Trade towards ``targets`` at ``prices`` (this session's closes, NaN = no price).

        ``mode`` is ``"weight"`` or ``"value"``; ``marks`` values the account before trading.
        """
        report = Execution()
        before = self.values(marks)
        cash_before = self.cash
        equity = cash_before + float(before.sum())
        report.equity_before = equity
        bps = cost_bps / 1e4
        cols, values, px = [], [], []
        for symbol, target in targets.items():
            j = self.column.get(symbol)
            target_value = target * equity if mode == "weight" else target
            price = prices[j] if j is not None else math.nan
            current = before[j] if j is not None else 0.0
            if not (price > 0):  # NaN or missing: keep the holding
                if target_value != current:
                    report.unpriced.append(symbol)
                continue
            if threshold is not None and abs(target_value - current) < threshold:
                report.below_threshold.append(symbol)
                continue
            cols.append(j)
            values.append(target_value)
            px.append(price)
        if cols:
            c, v, p = np.array(cols), np.array(values), np.array(px)
            if self._cash_after(1.0, c, v, p, bps) < 0:
                lo, hi = 0.0, 1.0
                for _ in range(_BISECTION_STEPS):
                    mid = 0.5 * (lo + hi)
                    lo, hi = (mid, hi) if self._cash_after(mid, c, v, p, bps) >= 0 else (lo, mid)
                report.scale = lo
            self._trade(c, report.scale * v, p, bps, report)
        after = self.values(marks)
        report.equity_after = self.cash + float(after.sum())
        w_before = np.append(before, cash_before) / (equity if equity > 0 else 1.0)
        w_after = np.append(after, self.cash) / (report.equity_after or 1.0)
        report.turnover = 0.5 * float(np.abs(w_after - w_before).sum())
        return report

    def _trade(self, cols: np.ndarray, target_values: np.ndarray, prices: np.ndarray,
               bps: float, report: Execution) -> None:
        for j, value, price in zip(cols, target_values, prices, strict=True):
            if self.integer_shares:
                new = float(whole_shares(value, price))
            else:
                new = value / price if value > 0 else 0.0
            delta = new - self.shares[j]
            if abs(delta) * price < MIN_TRADE_VALUE:  # 0, or float residue of target == holding
                continue
            traded = delta * price
            cost = abs(traded) * bps
            self.shares[j] = new
            self.cash -= traded + cost
            report.fills.append(Fill(self.symbols[j], float(delta), float(price),
                                     float(traded), float(cost)))
