"""Helpers shared by the benchmark scripts: environment facts and result files."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ETF_PROFILES = ("tqqq_growth_income", "soxl_soxx_trend_income", "global_etf_rotation")
VALUE_MODE = {"tqqq_growth_income", "soxl_soxx_trend_income"}


def environment() -> dict[str, Any]:
    from us_equity_strategies import __version__

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "package_version": __version__,
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**payload, "environment": environment()}, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return path
