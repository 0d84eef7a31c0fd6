"""Shared fixtures: a real third-party plugin distribution installed into ``tmp_path``.

Hypothesis runs derandomized by default (the same examples on every run, so CI is
reproducible); ``HYPOTHESIS_PROFILE=explore`` draws new examples each run.

``plugins.install(...)`` copies ``tests/plugins/acme_plugin/acme_plugin`` into a temporary
site directory and writes a ``*.dist-info`` (METADATA + entry_points.txt) beside it, so
``importlib.metadata`` discovers the profiles exactly as it would for an installed wheel.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from us_equity_strategies import registry

settings.register_profile("deterministic", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

PLUGIN_SRC = Path(__file__).parent / "plugins" / "acme_plugin" / "acme_plugin"
TEMPLATE = PLUGIN_SRC / "manifests" / "acme_momentum.toml"


class PluginSite:
    """A temporary site-packages directory on ``sys.path`` holding fake installed plugins."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages: set[str] = set()

    def install(
        self,
        profiles: dict[str, str] | None = None,
        *,
        dist: str = "acme-plugin",
        version: str = "0.1.0",
        package: str = "acme_plugin",
        aliases: dict[str, list[str]] | None = None,
        manifest_edits: dict[str, dict[str, str]] | None = None,
    ) -> Path:
        """Install distribution ``dist`` registering ``{profile: module in package}``.

        Every profile gets a manifest copied from ``acme_momentum.toml`` with its own name
        (plus optional ``aliases`` and textual ``manifest_edits`` {old: new}).
        """
        profiles = profiles or {"acme_momentum": "momentum"}
        pkg = self.root / package
        if not pkg.exists():
            shutil.copytree(PLUGIN_SRC, pkg, ignore=shutil.ignore_patterns("__pycache__"))
            (pkg / "manifests" / "acme_momentum.toml").unlink()
        self.packages.add(package)
        template = TEMPLATE.read_text(encoding="utf-8")
        for name in profiles:
            text = template.replace('profile = "acme_momentum"', f'profile = "{name}"')
            text = text.replace("acme_momentum.feature_snapshot.v1", f"{name}.feature_snapshot.v1")
            quoted = ", ".join(f'"{a}"' for a in (aliases or {}).get(name, []))
            text = text.replace("aliases = []", f"aliases = [{quoted}]")
            for old, new in (manifest_edits or {}).get(name, {}).items():
                assert old in text, old
                text = text.replace(old, new)
            (pkg / "manifests" / f"{name}.toml").write_text(text, encoding="utf-8")
        info = self.root / f"{re.sub(r'[-.]+', '_', dist)}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = "".join(f"{name} = {package}.{module}\n" for name, module in profiles.items())
        (info / "entry_points.txt").write_text(
            f"[us_equity_strategies.profiles]\n{lines}", encoding="utf-8"
        )
        importlib.invalidate_caches()
        registry.clear_cache()
        return pkg


def _forget_modules(packages: set[str]) -> None:
    for mod in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[mod]


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A :class:`PluginSite` on ``sys.path``; everything is forgotten again afterwards."""
    site = PluginSite(tmp_path / "site")
    site.root.mkdir()
    monkeypatch.syspath_prepend(str(site.root))
    registry.clear_cache()
    yield site
    _forget_modules(site.packages)
    registry.clear_cache()
    importlib.invalidate_caches()


@pytest.fixture
def acme(plugins):
    """The well-behaved ``acme_momentum`` plugin, installed."""
    plugins.install()
    return plugins
