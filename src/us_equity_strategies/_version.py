"""Package version (single source: pyproject.toml via installed metadata)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("us-equity-strategies")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"
