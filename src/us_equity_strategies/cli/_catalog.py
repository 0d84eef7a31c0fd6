"""``list``, ``show`` and ``schema``: read manifests and models, never profile code
(except ``list --check``, which imports every profile to prove it loads)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import LANGS, format_table

__all__ = ["add_parsers"]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the catalog commands on the ``sub`` subparsers object."""
    p = sub.add_parser(
        "list", parents=[common], help="list installed profiles with their load status",
        description="List every registered profile (built in and plugins) with aliases, "
                    "cadence, target mode, status, minimum equity, distribution and load "
                    "status. Reads manifests only, unless --check is given.")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--check", action="store_true",
                   help="also import every profile (reports import failures as LOAD FAILED)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "show", parents=[common], help="show a profile's manifest, defaults and snapshot schema",
        description="Show one profile's manifest: metadata, default parameters and the "
                    "snapshot schema. Aliases and STRATEGY_PROFILE are accepted.")
    p.add_argument("profile", nargs="?", help="profile name or alias (default: $STRATEGY_PROFILE)")
    p.add_argument("--format", choices=("json", "table"), default="json")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of the display name")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "schema", parents=[common], help="print a JSON schema (decision, context or manifest)",
        description="Print the JSON schema (draft 2020-12) of the decision a profile returns, "
                    "of the evaluation context file, or of a profile manifest.")
    p.add_argument("--kind", choices=("decision", "context", "manifest"), default="decision")
    p.set_defaults(func=cmd_schema)


def _load_status(entry: Any, dupes: dict[str, list[str]], check: bool) -> str:
    from .. import registry
    from ..errors import StrategyError

    if entry.name in dupes:
        return f"DUPLICATE NAME ({', '.join(dupes[entry.name])})"
    clashing = [a for a in (entry.manifest.aliases if entry.manifest else ()) if a in dupes]
    if clashing:
        return f"DUPLICATE NAME (alias {', '.join(clashing)})"
    if entry.error is not None:
        return f"LOAD FAILED: {entry.error}"
    if check:
        try:
            registry.load(entry.name)
        except StrategyError as exc:
            return f"LOAD FAILED: {exc}"
    return "ok"


def _rows(check: bool) -> list[dict[str, Any]]:
    from .. import registry

    dupes = registry.duplicates()
    out = []
    for e in registry.entries():
        m = e.manifest
        out.append({
            "name": e.name,
            "display_name": m.display("en") if m else None,
            "aliases": list(m.aliases) if m else [],
            "cadence": m.cadence if m else None,
            "target_mode": m.target_mode.value if m else None,
            "status": m.status if m else None,
            "min_equity_usd": m.small_account.min_recommended_equity_usd if m else None,
            "version": m.version if m else None,
            "module": e.module,
            "distribution": e.distribution,
            "distribution_version": e.distribution_version,
            "load_status": _load_status(e, dupes, check),
        })
    return out


def cmd_list(args: argparse.Namespace) -> str:
    rows = _rows(args.check)
    if args.format == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if not rows:
        return "(no profiles installed)"
    table = [
        (r["name"], ",".join(r["aliases"]) or "-", r["cadence"] or "-", r["target_mode"] or "-",
         r["status"] or "-",
         f"${r['min_equity_usd']:,.0f}" if r["min_equity_usd"] is not None else "-",
         f"{r['distribution']} {r['distribution_version']}".strip(), r["load_status"])
        for r in rows
    ]
    return format_table(("PROFILE", "ALIASES", "CADENCE", "MODE", "STATUS", "MIN EQUITY",
                         "DISTRIBUTION", "LOAD"), table)


def _show_payload(name: str | None, lang: str) -> dict[str, Any]:
    from .. import registry

    canonical = registry.resolve(name)
    manifest = registry.get_manifest(canonical)
    entry = next(e for e in registry.entries() if e.name == canonical)
    payload = manifest.model_dump(mode="json")
    return {
        "profile": canonical,
        "display": manifest.display(lang),
        "module": entry.module,
        "distribution": entry.distribution,
        "distribution_version": entry.distribution_version,
        "manifest_path": str(entry.manifest_path) if entry.manifest_path else None,
        "manifest": payload,
    }


def _show_table(info: dict[str, Any]) -> str:
    m = info["manifest"]
    small = m["small_account"]
    lines = [
        f"{info['display']} ({info['profile']} {m['version']})",
        f"  {m['description']}",
        "",
        f"aliases:          {', '.join(m['aliases']) or '-'}",
        f"retired names:    {', '.join(m['retired_names']) or '-'}",
        f"cadence:          {m['cadence']} (evaluated {m['evaluation_frequency']})",
        f"target mode:      {m['target_mode']}",
        f"status:           {m['status']}",
        f"benchmark:        {m['benchmark']}",
        f"safe haven:       {m['safe_haven'] or '-'}",
        f"managed symbols:  {', '.join(m['managed_symbols']) or '-'}",
        f"min equity:       ${small['min_recommended_equity_usd']:,.0f} ({small['note']})",
        f"requires extra:   {', '.join(m['requires_extra']) or '-'}",
        f"distribution:     {info['distribution']} {info['distribution_version']}",
        f"module:           {info['module']}",
        "",
        "parameters (defaults):",
    ]
    params = [(k, json.dumps(v, ensure_ascii=False)) for k, v in m["parameters"].items()]
    lines.append(_indent(format_table(("NAME", "DEFAULT"), params)) if params else "  (none)")
    snap = m["snapshot"]
    lines += [
        "",
        f"snapshot schema ({snap['contract_version']}; key {snap['key_column']}, "
        f"date {snap['date_column']}; max age "
        f"{snap['max_age_sessions'] if snap['max_age_sessions'] is not None else '-'} sessions; "
        f"builder {snap['builder'] or '-'}):",
    ]
    cols = [(c["name"], c["dtype"], "yes" if c["nullable"] else "no", c["description"])
            for c in snap["columns"]]
    lines.append(_indent(format_table(("COLUMN", "DTYPE", "NULLABLE", "DESCRIPTION"), cols)))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def cmd_show(args: argparse.Namespace) -> str:
    info = _show_payload(args.profile, args.lang)
    if args.format == "json":
        return json.dumps(info, indent=2, ensure_ascii=False)
    return _show_table(info)


def cmd_schema(args: argparse.Namespace) -> str:
    if args.kind == "decision":
        from ..contract import StrategyDecision

        schema = StrategyDecision.json_schema()
    elif args.kind == "context":
        from ..contract import EvaluationContext

        schema = EvaluationContext.model_json_schema()
    else:
        from ..manifests import Manifest

        schema = Manifest.model_json_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False)
