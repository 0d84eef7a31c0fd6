"""``snapshot build`` and ``snapshot validate``."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import date_arg, note, parse_overrides, profile_for_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_parsers", "add_universe_options", "check_universe_options", "load_universe_args"]


def add_universe_options(p: argparse.ArgumentParser) -> None:
    """``--universe`` | ``--membership`` (mutually exclusive) and ``--sectors``."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--universe", type=Path, metavar="FILE",
                       help="universe table (.csv or .parquet): symbol[, sector, start_date, "
                            "end_date, weight/mega_rank, ...] with INCLUSIVE dates (pipeline "
                            "style, e.g. r1000_universe_history.csv); needed by stock-selection "
                            "profiles")
    group.add_argument("--membership", type=Path, metavar="FILE",
                       help="point-in-time membership file with HALF-OPEN intervals "
                            "(start_date <= d < end_date), such as "
                            "shared/data/universe/sp500_membership.csv; converted to "
                            "inclusive ends")
    p.add_argument("--sectors", type=Path, metavar="FILE",
                   help="symbol -> sector table (gics_sector or sector column, e.g. "
                        "universe/sectors.csv) filling the universe's missing sectors")


def check_universe_options(args: argparse.Namespace, profile: str, *,
                           demo_fallback: bool = False) -> None:
    """Usage errors about the universe options of ``profile`` (before any data is read).

    ``demo_fallback``: a missing universe is fine (the demo universe will be used).
    """
    from .. import registry
    from ..errors import UsageError

    given = args.universe is not None or args.membership is not None
    if args.sectors is not None and not given:
        raise UsageError("--sectors needs --universe FILE or --membership FILE")
    needs = registry.get_manifest(profile).snapshot.requires_universe
    if given and not needs:
        raise UsageError(f"profile {profile!r} does not build from a universe table; "
                         f"drop --universe/--membership/--sectors")
    if needs and not given and not demo_fallback:
        raise UsageError(f"profile {profile!r} builds from a universe table: pass "
                         f"--universe FILE (inclusive dates) or --membership FILE (half-open "
                         f"shared membership files), optionally with --sectors FILE")


def load_universe_args(args: argparse.Namespace) -> pd.DataFrame | None:
    """The universe table the options describe (None when neither file is given)."""
    from .. import universe

    if args.universe is not None:
        table = universe.load_universe(args.universe)
    elif args.membership is not None:
        table = universe.load_membership(args.membership)
    else:
        return None
    if args.sectors is not None:
        table = universe.attach_sectors(table, universe.load_sectors(args.sectors))
    return table


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``snapshot build`` / ``snapshot validate`` on ``sub``."""
    snap = sub.add_parser(
        "snapshot", parents=[common], help="build or validate feature snapshots",
        description="Build a profile's feature snapshot from a price history, or validate "
                    "an existing snapshot file against the profile's schema.")
    ssub = snap.add_subparsers(dest="snapshot_command", metavar="{build,validate}")
    ssub.required = True

    p = ssub.add_parser(
        "build", parents=[common], help="price history -> feature snapshot (+ sidecar manifest)",
        description="Build the snapshot of PROFILE at AS_OF from a long price history "
                    "(CSV or Parquet with columns date, symbol, close) and write it to OUT "
                    "(.csv, .parquet, .json or .jsonl, chosen by the suffix) together with "
                    "OUT.manifest.json. Prints the written paths and sha256 digests as JSON. "
                    "Stock-selection profiles also need a universe: --universe FILE "
                    "(inclusive dates) or --membership FILE (half-open), optionally with "
                    "--sectors FILE.")
    p.add_argument("--profile", help="profile name or alias (default: $STRATEGY_PROFILE)")
    p.add_argument("--prices", required=True, type=Path, help="price history (.csv or .parquet)")
    p.add_argument("--as-of", type=date_arg, help="snapshot date YYYY-MM-DD "
                   "(default: the last date in the price history)")
    p.add_argument("-o", "--output", required=True, type=Path, help="snapshot file to write")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a profile parameter (repeatable; JSON values)")
    add_universe_options(p)
    p.set_defaults(func=cmd_build)

    p = ssub.add_parser(
        "validate", parents=[common], help="check a snapshot file against the profile schema",
        description="Read FILE (and its sidecar manifest, whose checksum must match) and "
                    "validate it against the profile's snapshot schema and required rows. "
                    "With --as-of, also check freshness for an evaluation on that date.")
    p.add_argument("file", type=Path, help="snapshot file (.csv, .parquet, .json, .jsonl)")
    p.add_argument("--profile", help="profile name or alias (default: $STRATEGY_PROFILE, "
                   "then the sidecar manifest)")
    p.add_argument("--as-of", type=date_arg, help="evaluation date for the freshness check")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter override used for the builder-parameter consistency check")
    p.set_defaults(func=cmd_validate)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cmd_build(args: argparse.Namespace) -> str:
    from .. import registry
    from ..builders import build_snapshot
    from ..errors import SnapshotError
    from ..prices import load_prices
    from ..snapshot import sidecar_path, write_snapshot
    from ..snapshot._io import FORMATS

    profile = registry.resolve(args.profile)
    suffix = args.output.suffix.lower()
    if suffix not in FORMATS:  # checked before any work is done
        raise SnapshotError(f"{args.output}: unsupported snapshot format {suffix or '(none)'}; "
                            f"expected one of {', '.join(FORMATS)}")
    overrides = parse_overrides(args.set)
    check_universe_options(args, profile)
    prices = load_prices(args.prices)
    universe = load_universe_args(args)
    as_of = args.as_of
    if as_of is None:
        as_of = prices["date"].max().date()
        note(f"--as-of not given: using the last date in {args.prices}: {as_of}")
    snapshot = build_snapshot(profile, prices, as_of, overrides, universe=universe,
                              source=str(args.prices))
    written = write_snapshot(snapshot, args.output)
    side = sidecar_path(args.output)
    return json.dumps({
        "profile": profile,
        "as_of": as_of.isoformat(),
        "rows": len(written.frame),
        "snapshot": str(args.output),
        "snapshot_sha256": written.sha256,
        "manifest": str(side),
        "manifest_sha256": _sha256(side),
        "builder_parameters": dict(written.builder_parameters),
        "universe": str(args.universe or args.membership or "") or None,
    }, indent=2)


def cmd_validate(args: argparse.Namespace) -> str:
    from .. import registry
    from ..params import resolve_parameters
    from ..snapshot import read_snapshot, validate_snapshot

    profile = profile_for_file(args.profile, args.file)
    snapshot = read_snapshot(args.file, profile)
    loaded = registry.load(snapshot.profile)
    manifest = loaded.manifest
    params = resolve_parameters(loaded.parameters_model, manifest.parameters,
                                parse_overrides(args.set), manifest.profile)
    frame = validate_snapshot(
        snapshot, manifest, parameters=params.model_dump(mode="json"),
        context_as_of=args.as_of, required_rows=loaded.required_rows, params_model=params,
    )
    return json.dumps({
        "valid": True,
        "profile": snapshot.profile,
        "file": str(args.file),
        "as_of": snapshot.as_of.isoformat(),
        "checked_for_as_of": args.as_of.isoformat() if args.as_of else None,
        "rows": len(frame),
        "contract_version": snapshot.contract_version,
        "sha256": snapshot.sha256,
        "sidecar": snapshot.sidecar is not None,
        "builder_parameters": dict(snapshot.builder_parameters),
    }, indent=2)
