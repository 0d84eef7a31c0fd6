"""Human-readable text for decisions, in English and Simplified Chinese (spec fix 8).

Profiles return machine codes (``diagnostics.signal`` / ``regime`` / ``extras``); this module
phrases them. English follows the reference wording (spec/profiles.md), e.g. SOXL
"SOXX above 140d gated entry, hold SOXL 70.0% + SOXX 20.0%" and global
"quarterly(n=2)\\n  Top: SMH(0.038)". Status text keeps reason codes and ``key=value``
fragments machine-stable in every language, because platforms localise them by substring
replacement. Signal codes this module does not know (third-party plugins) fall back to
``"signal: <code>"``; rendering never fails on a valid decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._render_text import _T  # message catalogue: language -> key -> template
from .contract import StrategyDecision, TargetMode, WarningCode

__all__ = ["SUPPORTED_LANGS", "signal_text", "small_account_note", "status_text", "summary"]

SUPPORTED_LANGS = ("en", "zh-CN")


def _check(lang: str) -> dict[str, str]:
    if lang not in _T:
        raise ValueError(f"unsupported language {lang!r}; supported: {', '.join(SUPPORTED_LANGS)}")
    return _T[lang]


def _usd(value: float) -> str:
    """``$1,000``: thousands separators, no decimals (the reference's money format)."""
    return f"${value:,.0f}"


def _num(value: Any, fmt: str = ".2f") -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and math.isfinite(value) \
        else "n/a"


def _targets(d: StrategyDecision) -> dict[str, float]:
    return d.targets()


def _share(value: float, base: Any) -> str:
    """``value`` as a percentage of ``base`` (dollars when the base is unknown or zero)."""
    if isinstance(base, (int, float)) and base > 0:
        return f"{value / base:.1%}"
    return _usd(value)


# --- signal phrases, keyed by (profile, signal) ------------------------------------------

def _tqqq_signal(d: StrategyDecision, t: dict[str, str]) -> str:
    x, v = d.diagnostics.extras, _targets(d)
    u_sym = str(x.get("unlevered_symbol") or "QQQ")
    base = x.get("strategy_equity")
    key = f"tqqq.{d.diagnostics.signal}"
    if d.diagnostics.signal in ("entry", "hold") and d.diagnostics.regime == "pullback_risk_on":
        key += ".pullback"
    return t[key].format(bench=d.diagnostics.benchmark_symbol or "QQQ", u_sym=u_sym,
                         t=_share(v.get("TQQQ", 0.0), base), u=_share(v.get(u_sym, 0.0), base),
                         b=_share(v.get("BOXX", 0.0), base))


def _soxl_signal(d: StrategyDecision, t: dict[str, str]) -> str:
    x = d.diagnostics.extras
    key = "soxl.risk_on" if d.diagnostics.signal == "blend_gate_risk_on" else "soxl.defensive"
    return t[key].format(trend=x.get("trend_symbol") or d.diagnostics.benchmark_symbol or "SOXX",
                         window=x.get("trend_ma_window", 140),
                         soxl=f"{float(x.get('soxl_ratio') or 0.0):.1%}",
                         soxx=f"{float(x.get('soxx_ratio') or 0.0):.1%}")


def _global_signal(d: StrategyDecision, t: dict[str, str]) -> str:
    x, sig = d.diagnostics.extras, d.diagnostics.signal
    safe = d.diagnostics.safe_haven_symbol or "BIL"
    if sig == "emergency":
        return t["global.emergency"].format(n_bad=x.get("n_bad_canaries", "?"), safe=safe)
    if sig == "no_candidate":
        return t["global.no_candidate"].format(safe=safe)
    if sig == "daily_check":
        return t["global.daily_check"].format(next=x.get("next_rebalance_session", "n/a"))
    top = ", ".join(f"{s['symbol']}({_num(s.get('score'), '.3f')})"
                    for s in x.get("selected", []) if isinstance(s, dict))
    return t["global.quarterly"].format(n=x.get("top_n", len(d.positions)), top=top or "-")


def _mega_signal(d: StrategyDecision, t: dict[str, str]) -> str:
    """Reference: "regime=R breadth=B% benchmark_trend=up|down target_stock=T%
    realized_stock=X% selected=N top=S(1.31), ..." (key=value, the same in every language)."""
    x, g = d.diagnostics.extras, d.diagnostics
    if g.signal == "waiting_execution_window":
        return t["mega.waiting"]
    top = ", ".join(f"{s['symbol']}({_num(s.get('score'))})"
                    for s in x.get("top", []) if isinstance(s, dict))
    text = (f"regime={g.regime} breadth={_num(x.get('breadth_ratio'), '.1%')} "
            f"benchmark_trend={'up' if x.get('benchmark_trend_positive') else 'down'} "
            f"target_stock={_num(x.get('target_stock_weight'), '.1%')} "
            f"realized_stock={_num(x.get('realized_stock_weight'), '.1%')} "
            f"selected={x.get('selected_count', 0)} top={top or '-'}")
    if g.signal == "safe_haven_only":
        text += " | " + t["mega.safe_haven_only"].format(safe=g.safe_haven_symbol or "BOXX")
    return text


_MEGA = ("mega_cap_leader_rotation_dynamic_top20", "mega_cap_leader_rotation_aggressive",
         "mega_cap_leader_rotation_top50_balanced")
_TECH = "tech_communication_pullback_enhancement"
_RUSSELL = "russell_1000_multi_factor_defensive"


def _russell_signal(d: StrategyDecision, t: dict[str, str]) -> str:
    """Reference: "regime=R breadth=B% benchmark_trend=up|down stock_exposure=E% selected=N
    top=S(1.23), ..."; the all-BOXX paths stop after benchmark_trend (step 10 adds
    " no_selection")."""
    x, g = d.diagnostics.extras, d.diagnostics
    text = (f"regime={g.regime} breadth={_num(x.get('breadth_ratio'), '.1%')} "
            f"benchmark_trend={'up' if x.get('benchmark_trend_positive') else 'down'}")
    if g.signal == "rebalance":
        top = ", ".join(f"{s['symbol']}({_num(s.get('score'))})"
                        for s in x.get("top", []) if isinstance(s, dict))
        text += (f" stock_exposure={_num(x.get('stock_exposure'), '.1%')} "
                 f"selected={x.get('selected_count', 0)} top={top or '-'}")
    elif g.signal == "no_selection":
        text += " no_selection"
    return text


_DYNAMIC = "dynamic_mega_leveraged_pullback"


def _dynamic_signal(d: StrategyDecision, t: dict[str, str]) -> str:
    """Reference: "regime=R qqq=C entry=E exit=X target_product=T% realized_product=P%
    selected=N top=NVDA->NVDL(0.81), ..." (key=value, the same in every language)."""
    x, g = d.diagnostics.extras, d.diagnostics
    top = ", ".join(f"{s.get('underlying')}->{s['symbol']}({_num(s.get('score'))})"
                    for s in x.get("top", []) if isinstance(s, dict))
    return (f"regime={g.regime} {(g.benchmark_symbol or 'QQQ').lower()}="
            f"{_num(x.get('benchmark_close'))} entry={_num(x.get('benchmark_entry_line'))} "
            f"exit={_num(x.get('benchmark_exit_line'))} "
            f"target_product={_num(x.get('target_product_exposure'), '.1%')} "
            f"realized_product={_num(x.get('realized_product_exposure'), '.1%')} "
            f"selected={x.get('selected_count', 0)} top={top or '-'}")


_SIGNALS: dict[tuple[str, str], Callable[[StrategyDecision, dict[str, str]], str]] = {
    **{("tqqq_growth_income", s): _tqqq_signal for s in ("entry", "hold", "exit", "idle")},
    **{("soxl_soxx_trend_income", s): _soxl_signal
       for s in ("blend_gate_risk_on", "blend_gate_defensive")},
    **{("global_etf_rotation", s): _global_signal
       for s in ("emergency", "daily_check", "quarterly_rebalance", "no_candidate")},
    **{(p, s): _mega_signal for p in _MEGA
       for s in ("rebalance", "safe_haven_only", "waiting_execution_window")},
    # tech: the reference's signal/status texts have the mega layout (profiles.md §2.3)
    **{(_TECH, s): _mega_signal
       for s in ("rebalance", "safe_haven_only", "no_selection", "waiting_execution_window")},
    **{(_RUSSELL, s): _russell_signal for s in ("rebalance", "safe_haven_only", "no_selection")},
    **{(_DYNAMIC, s): _dynamic_signal for s in ("rebalance", "safe_haven_only")},
}


def small_account_note(decision: StrategyDecision, lang: str = "en") -> str | None:
    """The reference's small-account note, or None when there is no warning."""
    t = _check(lang)
    small = decision.small_account
    if (small is None or not small.small_account_warning
            or small.portfolio_total_equity is None):
        return None
    code = small.small_account_warning_reason or ""
    reason = t.get(f"reason.{code}", code)
    return t["small_note"].format(equity=_usd(small.portfolio_total_equity),
                                  minimum=_usd(small.min_recommended_equity_usd), reason=reason)


def _signal_core(decision: StrategyDecision, t: dict[str, str]) -> str:
    sig = decision.diagnostics.signal
    phrase = _SIGNALS.get((decision.profile, sig))
    if phrase is not None:
        return phrase(decision, t).strip()
    if sig == "fail_closed":
        return t["fail_closed"].format(reason=decision.no_op_reason or "fail_closed")
    return t["unknown"].format(code=sig)


def signal_text(decision: StrategyDecision, lang: str = "en") -> str:
    """One-line (global: two-line) signal description with the small-account note appended."""
    text = _signal_core(decision, _check(lang))
    note = small_account_note(decision, lang)
    if note:  # spec §3 append_account_size_warning: "text | note" (just the note if empty)
        text = f"{text} | {note}" if text else note
    return text


# --- status: a localised headline + machine-stable key=value fragments -------------------

def _tqqq_status(d: StrategyDecision, t: dict[str, str]) -> list[str]:
    x, g = d.diagnostics.extras, d.diagnostics
    head = t.get(f"tqqq.{g.regime}")
    return [*([head] if head else []), f"{g.benchmark_symbol or 'QQQ'}={_num(g.benchmark_price)}",
            f"ma200={_num(x.get('ma200'))}", f"ma20={_num(x.get('ma20'))}",
            f"ma20_slope={_num(x.get('ma20_slope'), '+.2f')}",
            f"rebound={_num(x.get('pullback_rebound'), '.2%')}",
            f"rebound_threshold={_num(x.get('pullback_rebound_threshold'), '.2%')}"]


def _soxl_status(d: StrategyDecision, t: dict[str, str]) -> list[str]:
    x, g = d.diagnostics.extras, d.diagnostics
    defensive = g.signal == "blend_gate_defensive"
    asset = x.get("active_risk_asset") or ("SOXX" if defensive else "SOXX+SOXL")
    head = t["soxl.status.defensive" if defensive else "soxl.status.risk_on"].format(asset=asset)
    return [head, f"{x.get('trend_symbol') or g.benchmark_symbol}={_num(g.benchmark_price)}",
            f"entry={_num(x.get('trend_entry_line'))}", f"mid={_num(x.get('trend_mid_line'))}",
            f"exit={_num(x.get('trend_exit_line'))}",
            f"deploy={_num(x.get('deploy_ratio'), '.1%')}"]


def _global_status(d: StrategyDecision, t: dict[str, str]) -> list[str]:
    x = d.diagnostics.extras
    canaries = []
    for c in x.get("canary_status", []):
        if not isinstance(c, dict):
            continue
        shown = t["global.no_data"] if c.get("reason") == "no_data" \
            else ("nan" if c.get("momentum") is None else f"{c['momentum']:.3f}")
        canaries.append(f"{c.get('symbol')}:{'✅' if c.get('ok') else '❌'}({shown})")
    parts = [", ".join(canaries)] if canaries else []
    if "n_bad_canaries" in x:
        parts.append(f"canary_bad={x['n_bad_canaries']}/{x.get('canary_bad_threshold', '?')}")
    return parts


def _mega_status(d: StrategyDecision, t: dict[str, str]) -> list[str]:
    """Reference: "regime=R | breadth=B% | target_stock=T% | realized_stock=X%" (regime is
    appended by :func:`status_text`)."""
    x = d.diagnostics.extras
    if d.diagnostics.signal == "waiting_execution_window":
        return [f"window={','.join(x.get('execution_window', [])) or '-'}"]
    return [f"breadth={_num(x.get('breadth_ratio'), '.1%')}",
            f"target_stock={_num(x.get('target_stock_weight'), '.1%')}",
            f"realized_stock={_num(x.get('realized_stock_weight'), '.1%')}"]


def _russell_status(d: StrategyDecision, t: dict[str, str]) -> list[str]:
    """Reference: "breadth=B% | regime=R | benchmark=up|down" (regime is appended by
    :func:`status_text`, so it comes last here)."""
    x = d.diagnostics.extras
    return [f"breadth={_num(x.get('breadth_ratio'), '.1%')}",
            f"benchmark={'up' if x.get('benchmark_trend_positive') else 'down'}"]


def _dynamic_status(d: StrategyDecision, t: dict[str, str]) -> list[str]:
    """Reference: "regime=R | QQQ close=C | entry=E | exit=X | product=P%" (regime is
    appended by :func:`status_text`, so it comes last here)."""
    x = d.diagnostics.extras
    return [f"{d.diagnostics.benchmark_symbol or 'QQQ'} close={_num(x.get('benchmark_close'))}",
            f"entry={_num(x.get('benchmark_entry_line'))}",
            f"exit={_num(x.get('benchmark_exit_line'))}",
            f"product={_num(x.get('realized_product_exposure'), '.1%')}"]


_STATUS: dict[str, Callable[[StrategyDecision, dict[str, str]], list[str]]] = {
    "tqqq_growth_income": _tqqq_status,
    "soxl_soxx_trend_income": _soxl_status,
    "global_etf_rotation": _global_status,
    **dict.fromkeys(_MEGA, _mega_status),
    _TECH: _mega_status,
    _RUSSELL: _russell_status,
    _DYNAMIC: _dynamic_status,
}


def status_text(decision: StrategyDecision, lang: str = "en") -> str:
    """Status line: headline plus ``key=value`` fragments joined by `` | ``."""
    t = _check(lang)
    g = decision.diagnostics
    if g.signal == "fail_closed":
        parts = ["fail_closed", f"reason={decision.no_op_reason or 'fail_closed'}"]
    else:
        known = _STATUS.get(decision.profile) if (decision.profile, g.signal) in _SIGNALS \
            else None
        parts = known(decision, t) if known else [f"signal={g.signal}"]
        parts.append(f"regime={g.regime or 'n/a'}")
        if not decision.actionable:
            parts += ["no-op", f"reason={decision.no_op_reason}"]
    if g.snapshot_as_of is not None:
        parts.append(f"snapshot_as_of={g.snapshot_as_of.isoformat()}")
    return " | ".join(p for p in parts if p)


# --- summary ---------------------------------------------------------------------------

def _display_name(profile: str, lang: str) -> str:
    try:
        from . import registry

        return registry.get_manifest(profile).display(lang)
    except Exception:  # manifest unavailable (uninstalled plugin...): the id still identifies it
        return profile


def _warning_text(w: Any, t: dict[str, str]) -> str:
    key = f"w.{w.code.value}"
    data = dict(w.data)
    try:
        if w.code is WarningCode.BELOW_ONE_SHARE:
            return t[key].format(symbol=data["symbol"], target=_usd(data["target_value"]),
                                 price=data["price"])
        if w.code is WarningCode.INTEGER_SHARE_TRACKING_GAP:
            return t[key].format(gap=data["tracking_gap"],
                                 min_equity=_usd(data.get("min_equity_for_max_gap") or 0.0))
        if w.code is WarningCode.UNPRICED_POSITION:
            return t[key].format(symbol=data["symbol"])
    except (KeyError, TypeError, ValueError):
        pass  # incomplete data: the English message still says it
    return w.message


def summary(decision: StrategyDecision, lang: str = "en") -> str:
    """A short multi-line summary: name, dates, signal, status, regime, targets, notes."""
    t = _check(lang)
    g = decision.diagnostics
    dated = f"{t['l.as_of']}: {decision.as_of.isoformat()}"
    if g.snapshot_as_of is not None:
        dated += f" ({t['l.snapshot']} {g.snapshot_as_of.isoformat()})"
    lines = [f"{_display_name(decision.profile, lang)} ({decision.profile} "
             f"{decision.profile_version})", dated]
    core = _signal_core(decision, t)  # the small-account note gets its own line below
    if core == t["unknown"].format(code=g.signal):
        core = g.signal  # not "signal: signal: <code>"
    sig = core.split("\n")
    lines.append(f"{t['l.signal']}: {sig[0]}")
    lines += [f"  {s.strip()}" for s in sig[1:]]
    lines.append(f"{t['l.status']}: {status_text(decision, lang)}")
    if g.regime:
        lines.append(f"{t['l.regime']}: {g.regime}")
    if decision.risk_flags:
        lines.append(f"{t['l.flags']}: {', '.join(f.value for f in decision.risk_flags)}")
    if not decision.actionable:
        lines.append(f"{t['l.hold']}: {decision.no_op_reason}")
    else:
        weight = decision.target_mode is TargetMode.WEIGHT
        lines.append(f"{t['l.targets']} ({t['l.weight' if weight else 'l.value']}):")
        rows = [(p.symbol, t.get(f"r.{p.role.value}", p.role.value),
                 f"{p.target_weight:.1%}" if weight else _usd(p.target_value or 0.0))
                for p in decision.positions]
        total = sum(decision.targets().values())
        rows.append((t["l.total"], "", f"{total:.1%}" if weight else _usd(total)))
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        w2 = max(len(r[2]) for r in rows)
        lines += [f"  {a.ljust(w0)}  {b.ljust(w1)}  {c.rjust(w2)}" for a, b, c in rows]
    small = decision.small_account
    if small is not None and small.small_account_warning:
        note = small_account_note(decision, lang) or ""
        extra = small.note if lang == "en" else _manifest_note_zh(decision.profile) or small.note
        lines.append(f"{t['l.small']}: {note}" + (f" ({extra})" if extra else ""))
    warnings = [w for w in decision.warnings if w.code is not WarningCode.SMALL_ACCOUNT]
    if warnings:
        lines.append(f"{t['l.warnings']}:")
        lines += [f"  - {_warning_text(w, t)}" for w in warnings]
    return "\n".join(lines)


def _manifest_note_zh(profile: str) -> str:
    try:
        from . import registry

        return registry.get_manifest(profile).small_account.note_zh
    except Exception:
        return ""
