"""Projection of a decision onto the platform contract (spec/platform_contract.md §1).

Platforms read ``positions`` / ``risk_flags`` / ``diagnostics`` with conventional keys
(``signal_description``, ``status_description``, ``actionable``, ``no_op_reason``,
``execution_annotations``, the small-account keys). Profile extras are flattened into
``diagnostics``; fields with no platform slot travel under ``diagnostics["decision_meta"]``,
so :func:`from_platform_dict` rebuilds the identical decision.
"""

from __future__ import annotations

from typing import Any

from ._decision import StrategyDecision, TargetMode

__all__ = ["META_KEY", "RESERVED_DIAGNOSTIC_KEYS", "from_platform_dict", "to_platform_dict"]

META_KEY = "decision_meta"
_TYPED = ("regime", "benchmark_symbol", "benchmark_price", "safe_haven_symbol",
          "snapshot_as_of", "trade_threshold_value", "reserved_cash")
_SMALL = ("min_recommended_equity_usd", "portfolio_total_equity", "small_account_warning",
          "small_account_warning_reason")
RESERVED_DIAGNOSTIC_KEYS = frozenset(
    {"signal", "signal_description", "status_description", "actionable", "no_op_reason",
     "execution_annotations", META_KEY, *_TYPED, *_SMALL}
)


def to_platform_dict(decision: StrategyDecision, lang: str = "en") -> dict[str, Any]:
    """Return ``{"positions", "budgets", "risk_flags", "diagnostics"}`` for a platform adapter."""
    from ..render import signal_text, status_text

    d = decision.model_dump(mode="json")
    diag: dict[str, Any] = {}
    clash = sorted(set(d["diagnostics"]["extras"]) & RESERVED_DIAGNOSTIC_KEYS)
    if clash:
        raise ValueError(f"diagnostics extras use reserved platform keys: {', '.join(clash)}")
    diag.update(d["diagnostics"]["extras"])
    diag["signal"] = decision.diagnostics.signal
    for key in _TYPED:
        if d["diagnostics"][key] is not None:
            diag[key] = d["diagnostics"][key]
    diag["signal_description"] = signal_text(decision, lang=lang)
    diag["status_description"] = status_text(decision, lang=lang)
    diag["actionable"] = decision.actionable
    if decision.no_op_reason:
        diag["no_op_reason"] = decision.no_op_reason
    small = d["small_account"]
    if small is not None:
        for key in _SMALL:
            if small[key] is not None:
                diag[key] = small[key]
    if decision.target_mode is TargetMode.VALUE:
        ann = {k: d["diagnostics"][k] for k in ("trade_threshold_value", "reserved_cash")
               if d["diagnostics"][k] is not None}
        if decision.diagnostics.benchmark_symbol:
            ann["benchmark_symbol"] = decision.diagnostics.benchmark_symbol
        if decision.diagnostics.benchmark_price is not None:
            ann["benchmark_price"] = decision.diagnostics.benchmark_price
        ann["signal_display"] = diag["signal_description"]
        ann["status_display"] = diag["status_description"]
        diag["execution_annotations"] = ann
    diag[META_KEY] = {
        "contract_version": d["contract_version"],
        "profile": d["profile"],
        "profile_version": d["profile_version"],
        "as_of": d["as_of"],
        "target_mode": d["target_mode"],
        "extras_keys": sorted(d["diagnostics"]["extras"]),
        "warnings": d["warnings"],
        "small_account": small,
        "provenance": d["provenance"],
    }
    positions = []
    for p in d["positions"]:
        entry = {"symbol": p["symbol"], "role": p["role"]}
        key = "target_weight" if decision.target_mode is TargetMode.WEIGHT else "target_value"
        entry[key] = p[key]
        positions.append(entry)
    return {
        "positions": positions,
        "budgets": [],
        "risk_flags": list(d["risk_flags"]),
        "diagnostics": diag,
    }


def from_platform_dict(payload: dict[str, Any]) -> StrategyDecision:
    """Rebuild the decision from :func:`to_platform_dict` output."""
    diag = payload["diagnostics"]
    meta = diag[META_KEY]
    diagnostics = {"signal": diag["signal"], **{k: diag.get(k) for k in _TYPED},
                   "extras": {k: diag[k] for k in meta["extras_keys"]}}
    return StrategyDecision.model_validate(
        {
            "contract_version": meta["contract_version"],
            "profile": meta["profile"],
            "profile_version": meta["profile_version"],
            "as_of": meta["as_of"],
            "target_mode": meta["target_mode"],
            "positions": payload["positions"],
            "risk_flags": payload["risk_flags"],
            "actionable": diag["actionable"],
            "no_op_reason": diag.get("no_op_reason"),
            "diagnostics": diagnostics,
            "warnings": meta["warnings"],
            "small_account": meta["small_account"],
            "provenance": meta["provenance"],
        }
    )
