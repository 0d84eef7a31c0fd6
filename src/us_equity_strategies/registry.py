"""Profile discovery through entry points (group ``us_equity_strategies.profiles``).

Listing reads manifests only; a profile module is imported the first time it is loaded.
Every failure is a distinct error that names the culprit: unknown name (with near matches),
retired name, duplicate registration (with both distributions), bad manifest (file and key),
import failure (with the cause) and a module that lacks the contract attributes.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from importlib_metadata import entry_points

from .errors import (
    DuplicateProfileError,
    ManifestError,
    ProfileImportError,
    ProfileLoadError,
    RetiredProfileError,
    UnknownProfileError,
    UsageError,
)
from .manifests import Manifest, load_manifest
from .params import ProfileParameters, check_manifest_defaults

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "LoadedProfile",
    "ProfileEntry",
    "clear_cache",
    "entries",
    "get_manifest",
    "load",
    "normalize_name",
    "resolve",
]

ENTRY_POINT_GROUP = "us_equity_strategies.profiles"
ENV_VAR = "STRATEGY_PROFILE"


def normalize_name(name: str) -> str:
    """Case-insensitive, tolerant of dashes and surrounding blanks."""
    return name.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class ProfileEntry:
    """One registration found through entry points."""

    name: str
    module: str
    distribution: str
    distribution_version: str
    manifest_path: Path | None
    manifest: Manifest | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.error is None else "LOAD FAILED"


@dataclass(frozen=True)
class LoadedProfile:
    """A profile ready to evaluate."""

    manifest: Manifest
    module: ModuleType
    parameters_model: type[ProfileParameters]
    evaluate: Callable[..., Any]
    required_rows: Callable[[Any], Mapping[str, tuple[str, ...]]] | None = None
    distribution: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


def _manifest_path(module: str, name: str) -> Path | None:
    # find_spec on the top-level package does not execute it, so listing stays import-free.
    top = module.split(":")[0].split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        candidate = Path(loc) / "manifests" / f"{name}.toml"
        if candidate.exists():
            return candidate
    return Path(next(iter(spec.submodule_search_locations))) / "manifests" / f"{name}.toml"


@dataclass(frozen=True)
class _Catalog:
    by_name: dict[str, tuple[ProfileEntry, ...]]
    aliases: dict[str, tuple[str, ...]]
    retired: dict[str, str]


@lru_cache(maxsize=1)
def _catalog() -> _Catalog:
    seen: set[tuple[str, str, str]] = set()
    by_name: dict[str, list[ProfileEntry]] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        dist = ep.dist.name if ep.dist is not None else "<unknown>"
        version = ep.dist.version if ep.dist is not None else ""
        key = (ep.name, ep.value, dist)
        if key in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(key)
        name = normalize_name(ep.name)
        path = _manifest_path(ep.value, name)
        manifest = error = None
        try:
            if path is None:
                raise ManifestError(f"cannot locate the package of module {ep.value!r}")
            manifest = load_manifest(path, expected_profile=name)
        except ManifestError as exc:
            error = f"manifest: {exc} (distribution {dist})"
        by_name.setdefault(name, []).append(
            ProfileEntry(name, ep.value, dist, version, path, manifest, error)
        )
    aliases: dict[str, list[str]] = {}
    retired: dict[str, str] = {}
    for name, regs in by_name.items():
        for reg in regs:
            if reg.manifest is None:
                continue
            for alias in reg.manifest.aliases:
                if name not in aliases.setdefault(alias, []):
                    aliases[alias].append(name)
            retired.update(reg.manifest.retired_names)
    return _Catalog(
        {k: tuple(v) for k, v in sorted(by_name.items())},
        {k: tuple(v) for k, v in sorted(aliases.items())},
        dict(sorted(retired.items())),
    )


def clear_cache() -> None:
    """Forget discovered entry points and loaded profiles (tests, plugin installs)."""
    _catalog.cache_clear()
    load.cache_clear()


def entries() -> list[ProfileEntry]:
    """Every registration, including failed and duplicate ones, sorted by name."""
    return [e for regs in _catalog().by_name.values() for e in regs]


def duplicates() -> dict[str, list[str]]:
    """Names registered by more than one distribution, with those distributions."""
    out = {n: [e.distribution for e in regs] for n, regs in _catalog().by_name.items()
           if len(regs) > 1}
    cat = _catalog()
    for alias, targets in cat.aliases.items():
        if len(targets) > 1 or alias in cat.by_name:
            out[alias] = sorted({*targets, *([alias] if alias in cat.by_name else [])})
    return out


def _dists(cat: _Catalog, name: str) -> str:
    """'distribution <d>' for a registered name (several when duplicated)."""
    return "distribution " + ", ".join(sorted({e.distribution for e in cat.by_name[name]}))


def resolve(name: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Canonical profile name for ``name`` (or ``$STRATEGY_PROFILE`` when ``name`` is None)."""
    if name is None or not name.strip():
        source = os.environ if env is None else env
        name = source.get(ENV_VAR, "")
        if not name.strip():
            raise UsageError(
                f"no strategy profile given: pass --profile or set {ENV_VAR}. "
                f"Installed profiles: {', '.join(_catalog().by_name) or '(none)'}"
            )
    key = normalize_name(name)
    cat = _catalog()
    if key in cat.by_name:
        if key in cat.aliases:
            raise DuplicateProfileError(
                f"{key!r} is both a profile ({_dists(cat, key)}) and an alias of "
                f"{', '.join(f'{t} ({_dists(cat, t)})' for t in cat.aliases[key])}"
            )
        return key
    if key in cat.aliases:
        targets = cat.aliases[key]
        if len(targets) > 1:
            raise DuplicateProfileError(
                f"alias {key!r} points at several profiles: "
                f"{', '.join(f'{t} ({_dists(cat, t)})' for t in targets)}"
            )
        return targets[0]
    if key in cat.retired:
        raise RetiredProfileError(f"profile {key!r} was retired: {cat.retired[key]}")
    raise UnknownProfileError(name, [*cat.by_name, *cat.aliases])


def _single_entry(name: str) -> ProfileEntry:
    regs = _catalog().by_name[name]
    if len(regs) > 1:
        listing = "; ".join(f"{r.distribution} {r.distribution_version} ({r.module})" for r in regs)
        raise DuplicateProfileError(
            f"profile {name!r} is registered by more than one distribution: {listing}. "
            "Uninstall one of them."
        )
    entry = regs[0]
    if entry.manifest is None:
        raise ManifestError(f"profile {name!r}: {entry.error}")
    return entry


def get_manifest(name: str | None = None) -> Manifest:
    """The manifest of a profile, without importing its code."""
    entry = _single_entry(resolve(name))
    assert entry.manifest is not None
    return entry.manifest


@cache
def _load_canonical(name: str) -> LoadedProfile:
    entry = _single_entry(name)
    manifest = entry.manifest
    assert manifest is not None
    module_name = entry.module.split(":")[0]
    where = f"profile {name!r} (module {module_name}, distribution {entry.distribution})"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ProfileImportError(
            f"{where} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    model = getattr(module, "Parameters", None)
    if not (isinstance(model, type) and issubclass(model, ProfileParameters)):
        raise ProfileLoadError(
            f"{where}: module must define 'Parameters', a subclass of "
            "us_equity_strategies.params.ProfileParameters"
        )
    evaluate = getattr(module, "evaluate", None)
    if not callable(evaluate):
        raise ProfileLoadError(f"{where}: module must define a callable 'evaluate'")
    check_manifest_defaults(model, manifest.parameters, name)
    required_rows = getattr(module, "required_rows", None)
    return LoadedProfile(manifest, module, model, evaluate, required_rows, entry.distribution)


def load(name: str | None = None) -> LoadedProfile:
    """Import (once) and return the profile named ``name`` (alias, env var accepted)."""
    return _load_canonical(resolve(name))


load.cache_clear = _load_canonical.cache_clear  # type: ignore[attr-defined]
