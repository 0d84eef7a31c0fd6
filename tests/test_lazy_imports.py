"""Importing the package is cheap; heavy dependencies load only when needed (fresh interpreters)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "sklearn")


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_alone_is_light():
    got = run("""
        import sys
        import us_equity_strategies
        assert us_equity_strategies.__version__
        print(sorted(m for m in ("pandas", "numpy", "pyarrow", "pydantic", "torch", "sklearn",
                                 "pandas_market_calendars") if m in sys.modules))
    """)
    assert got == "[]"


def test_lazy_attributes_resolve():
    got = run("""
        import sys
        import us_equity_strategies as ues
        assert ues.StrategyDecision.__name__ == "StrategyDecision"
        assert "pandas" not in sys.modules  # the contract needs pydantic only
        assert callable(ues.evaluate) and callable(ues.read_snapshot)
        assert ues.resolve_profile("global-macro-etf-rotation") == "global_etf_rotation"
        try:
            ues.not_a_thing
        except AttributeError as exc:
            print(exc)
    """)
    assert got == "module 'us_equity_strategies' has no attribute 'not_a_thing'"


def test_manifest_and_etf_evaluation_do_not_import_ml_stacks():
    pytest.importorskip("us_equity_strategies.entrypoints.global_etf_rotation")
    got = run("""
        import sys
        import us_equity_strategies as ues
        from us_equity_strategies import registry
        m = registry.get_manifest("global_etf_rotation")
        assert "pandas" not in sys.modules, "reading a manifest imported pandas"
        from us_equity_strategies.demo import DEMO_AS_OF, demo_prices
        from us_equity_strategies.contract import Portfolio
        snap = ues.build_snapshot("global_etf_rotation", demo_prices(), DEMO_AS_OF)
        d = ues.evaluate(snap, ues.EvaluationContext(as_of=DEMO_AS_OF,
                                                     portfolio=Portfolio(total_equity=1e5)))
        assert d.profile == m.profile
        d.to_platform_dict()
        print(sorted(k for k in sys.modules if k.split(".")[0] in ("torch", "sklearn")))
    """)
    assert got == "[]"


def test_ml_stacks_installed_so_the_check_above_means_something():
    # if neither is installed the lazy-import test cannot fail; say so instead of passing blindly
    found = [m for m in HEAVY if _importable(m)]
    if not found:
        pytest.skip("neither torch nor scikit-learn is installed")
    assert found


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
