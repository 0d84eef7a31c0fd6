"""The files of one backtest run, written atomically and byte-for-byte reproducibly.

:func:`write_outputs` is the single writer of a run's output directory (the ``backtest`` CLI
and any library user call it). Every file except ``timings.json`` is a function of the
:class:`~._engine.BacktestResult` (hence of its run id) and the metric conventions: no
wall-clock time, host name or absolute path is written, JSON keys are sorted, floats are
written with pandas' / Python's shortest round-trip ``repr`` and line endings are ``\\n``.

=========================  ===============================================================
``summary.csv``            one row: run id, profile, benchmark and :func:`metrics.summary`
                           (``periods_per_year``, ``risk_free_annual``, ``compounding``
                           beside every metric; roles taken from the decisions' positions)
``portfolio_returns.csv``  date, portfolio_return, equity, benchmark_return
``weights_history.csv``    date, one column per symbol ever held, ``CASH``
``turnover_history.csv``   date, turnover
``trades.csv``             date, signal_date, symbol, shares, price, value, cost
``decisions.jsonl``        one line per evaluation: session, as_of, execute_on, decision
``run.json``               profile, version, resolved parameters, config, data range, data
                           hashes, package and calendar versions, run id, summary, warnings
``report.html`` + PNGs     see :mod:`._report`
``timings.json``           per-phase wall-clock seconds: **the only non-deterministic file**
=========================  ===============================================================
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import metrics, registry
from ..contract import Role
from ..errors import UsageError

if TYPE_CHECKING:
    from ._engine import BacktestResult, DecisionRecord

__all__ = [
    "DATA_FILES",
    "NONDETERMINISTIC_FILES",
    "exposure_history",
    "roles_from_decisions",
    "run_info",
    "summary_row",
    "write_outputs",
]

CASH = "CASH"
#: Files written from the result's tables (the report adds report.html and the PNGs).
DATA_FILES = ("summary.csv", "portfolio_returns.csv", "weights_history.csv",
              "turnover_history.csv", "trades.csv", "decisions.jsonl", "run.json")
#: Files whose bytes differ between two writes of the same run.
NONDETERMINISTIC_FILES = ("timings.json",)
_CSV = {"date_format": "%Y-%m-%d", "lineterminator": "\n"}


# --------------------------------------------------------------------------------------------
# derived tables
# --------------------------------------------------------------------------------------------
def roles_from_decisions(decisions: Iterable[DecisionRecord]) -> dict[str, str]:
    """symbol -> role value over every position of every decision (sorted by symbol).

    A symbol listed with different roles in different decisions keeps the latest one (the
    role it had when last traded).
    """
    roles: dict[str, str] = {}
    for record in decisions:
        for pos in record.decision.positions:
            roles[pos.symbol] = pos.role.value
    return dict(sorted(roles.items()))


def _held_roles(result: BacktestResult) -> tuple[list[str], dict[str, str]]:
    roles = roles_from_decisions(result.decisions)
    names = [str(c) for c in result.weights_history.columns if c != CASH]
    missing = [s for s in names if s not in roles]
    if missing:  # holdings only come from decisions, so this is a malformed result
        raise ValueError(f"weights_history holds {missing} but no decision lists them: "
                         "cannot attribute a role")
    return names, {s: roles[s] for s in names}


def exposure_history(result: BacktestResult) -> pd.DataFrame:
    """Per-session summed weight per role: columns risk, income, safe_haven, cash."""
    names, roles = _held_roles(result)
    weights = result.weights_history
    out = {}
    for role in (Role.RISK, Role.INCOME, Role.SAFE_HAVEN):
        cols = [s for s in names if roles[s] == role.value]
        block = weights[cols].to_numpy(dtype=np.float64, na_value=np.nan)
        out[role.value] = np.nansum(block, axis=1) if cols else np.zeros(len(weights))
    out["cash"] = weights[CASH].to_numpy(dtype=np.float64) if CASH in weights \
        else 1.0 - sum(out.values())
    return pd.DataFrame(out, index=weights.index)


def summary_row(result: BacktestResult, *, risk_free: float = 0.0,
                periods_per_year: float | str = 252) -> dict[str, Any]:
    """The ``summary.csv`` row: run id, profile, benchmark + :func:`metrics.summary_frame`."""
    names, roles = _held_roles(result)
    frame = metrics.summary_frame(
        result.portfolio_returns, benchmark=result.benchmark_returns, turnover=result.turnover,
        weights=result.weights_history[names], roles=roles,
        periods_per_year=periods_per_year, risk_free=risk_free)
    return {"run_id": result.run_id, "profile": result.profile, "benchmark": result.benchmark,
            **{str(k): _plain(v) for k, v in frame.iloc[0].items()}}


def _plain(value: Any) -> Any:
    """numpy / pandas scalars -> Python; NaN stays NaN (see :func:`_jsonable` for JSON)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def _jsonable(value: Any) -> Any:
    """Recursively: non-finite floats -> None, numpy scalars -> Python, tuples -> lists."""
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _dumps(payload: Any) -> str:
    return json.dumps(_jsonable(payload), indent=2, sort_keys=True, allow_nan=False) + "\n"


def run_info(result: BacktestResult, summary: Mapping[str, Any],
             data_sha256: Mapping[str, str | None] | None = None,
             extra: Mapping[str, Any] | None = None, *, report: bool = True
             ) -> dict[str, Any]:
    """The ``run.json`` payload (no timings: those go to ``timings.json``).

    ``data_sha256`` = ``{"prices": ..., "universe": ...}`` as hashed by
    :func:`~._config.data_sha256` on the tables given to ``run_backtest``; when given it must
    reproduce ``result.run_id`` (so run.json can never carry hashes of other data). Without it,
    ``result.diagnostics["data_sha256"]`` is used if the engine recorded it, else null.
    """
    from .. import calendar
    from .._version import __version__
    from ..params import resolve_parameters

    hashes = dict(data_sha256 or result.diagnostics.get("data_sha256") or {})
    if hashes:
        unknown = sorted(set(hashes) - {"prices", "universe"})
        if unknown:
            raise ValueError(f"data_sha256 keys must be 'prices' and 'universe', got {unknown}")
        expected = result.config.run_id(hashes.get("prices") or "", hashes.get("universe"))
        if expected != result.run_id:
            raise ValueError("data_sha256 does not reproduce the result's run id: these are "
                             "not the hashes of the tables this run was computed from")
    loaded = registry.load(result.profile)
    manifest = loaded.manifest
    params = resolve_parameters(loaded.parameters_model, manifest.parameters,
                                result.config.overrides, result.profile)
    conventions = ("periods_per_year", "risk_free_annual", "compounding")
    payload = {
        "run_id": result.run_id,
        "profile": result.profile,
        "profile_version": manifest.version,
        "display_name": manifest.display_name.get("en", result.profile),
        "benchmark": result.benchmark,
        "parameters": params.model_dump(mode="json"),
        "config": json.loads(result.config.canonical_json()),
        "data_range": {"start": result.sessions[0].isoformat() if result.sessions else None,
                       "end": result.sessions[-1].isoformat() if result.sessions else None,
                       "sessions": len(result.sessions)},
        "data_sha256": {"prices": hashes.get("prices"), "universe": hashes.get("universe")}
        if hashes else None,
        "package_version": __version__,
        "calendar_version": calendar.CALENDAR_VERSION,
        "metric_conventions": {k: summary.get(k) for k in conventions},
        "evaluations": len(result.decisions),
        "fills": len(result.trades),
        "summary": dict(summary),
        "warnings": dict(result.warnings),
        "diagnostics": dict(result.diagnostics),
        "small_account": {"integer_shares": result.config.integer_shares,
                          "initial_equity": result.config.initial_equity,
                          **manifest.small_account.model_dump(mode="json")},
        "files": sorted([*DATA_FILES, *(_report_files() if report else ()),
                          *NONDETERMINISTIC_FILES]),
    }
    clash = sorted(set(extra or {}) & set(payload))
    if clash:
        raise ValueError(f"extra run.json keys {clash} would replace computed fields")
    payload.update(extra or {})
    return payload


def _report_files() -> tuple[str, ...]:
    from ._report import REPORT_FILES

    return REPORT_FILES


# --------------------------------------------------------------------------------------------
# writers (module-level so a test can make one fail)
# --------------------------------------------------------------------------------------------
def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def _write_summary(result: BacktestResult, path: Path, row: Mapping[str, Any]) -> None:
    _write_text(path, pd.DataFrame([dict(row)]).to_csv(index=False, **_CSV))


def _write_tables(result: BacktestResult, outdir: Path) -> None:
    returns = pd.DataFrame({"portfolio_return": result.portfolio_returns,
                            "equity": result.equity,
                            "benchmark_return": result.benchmark_returns})
    _write_text(outdir / "portfolio_returns.csv", returns.to_csv(**_CSV))
    _write_text(outdir / "weights_history.csv", result.weights_history.to_csv(**_CSV))
    _write_text(outdir / "turnover_history.csv", result.turnover.to_frame().to_csv(**_CSV))
    _write_text(outdir / "trades.csv", result.trades.to_csv(index=False, **_CSV))


def _write_decisions(result: BacktestResult, path: Path) -> None:
    lines = [json.dumps(_jsonable(r.to_dict()), sort_keys=True, allow_nan=False)
             for r in result.decisions]
    _write_text(path, "".join(line + "\n" for line in lines))


def _write_all(result: BacktestResult, outdir: Path, row: Mapping[str, Any],
               run: Mapping[str, Any], timings: Mapping[str, Any], report: bool) -> list[str]:
    _write_summary(result, outdir / "summary.csv", row)
    _write_tables(result, outdir)
    _write_decisions(result, outdir / "decisions.jsonl")
    _write_text(outdir / "run.json", _dumps(run))
    written = list(DATA_FILES)
    seconds = {}
    if report:
        from ._report import write_report

        t0 = time.perf_counter()
        written += [p.name for p in write_report(result, outdir, row, run=run)]
        seconds["report"] = time.perf_counter() - t0
    _write_text(outdir / "timings.json", _dumps({
        "note": "wall-clock seconds; the only output file that differs between two writes "
                "of the same run id",
        "run_id": result.run_id, "phase_seconds": dict(result.phase_seconds),
        "output_seconds": seconds, **dict(timings)}))
    return sorted([*written, "timings.json"])


# --------------------------------------------------------------------------------------------
# atomic directory swap
# --------------------------------------------------------------------------------------------
def _check_target(outdir: Path, overwrite: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"output path {outdir} exists and is not a directory")
    if not outdir.is_dir():
        return
    present = sorted(p.name for p in outdir.iterdir())
    if not present:
        return
    if not overwrite:
        raise UsageError(f"output directory {outdir} is not empty ({len(present)} entries); "
                         "choose a new directory or pass overwrite=True (--overwrite)")
    ours = {*DATA_FILES, *_report_files(), *NONDETERMINISTIC_FILES}
    foreign = [name for name in present if name not in ours]
    if foreign:  # overwrite replaces the directory: never delete files we did not write
        raise UsageError(f"refusing to overwrite {outdir}: it holds files that are not "
                         f"backtest outputs: {foreign[:10]}")


def _sibling(outdir: Path, tag: str) -> Path:
    return outdir.parent / f".{outdir.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def _swap(tmp: Path, outdir: Path) -> None:
    """Move the finished ``tmp`` to ``outdir`` (replacing an empty or old output dir)."""
    if not outdir.exists() or not any(outdir.iterdir()):
        os.replace(tmp, outdir)  # rename(2) replaces an empty directory atomically
        return
    backup = _sibling(outdir, "old")
    os.replace(outdir, backup)
    try:
        os.replace(tmp, outdir)
    except BaseException:
        os.replace(backup, outdir)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def write_outputs(result: BacktestResult, outdir: str | os.PathLike[str], *,
                  risk_free: float = 0.0, periods_per_year: float | str = 252,
                  overwrite: bool = False,
                  data_sha256: Mapping[str, str | None] | None = None,
                  extra: Mapping[str, Any] | None = None,
                  timings: Mapping[str, Any] | None = None,
                  report: bool = True) -> dict[str, Path]:
    """Write every output file of ``result`` into ``outdir``; returns ``{file name: path}``.

    Parameters
    ----------
    result : BacktestResult
    outdir : path
        Created if missing. An existing non-empty directory is refused unless ``overwrite``
        (and even then only if it holds nothing but backtest output files).
    risk_free : float
        Annual risk-free rate of the metrics (also Sortino's required return).
    periods_per_year : float or str
        Annualisation of the metrics (252 = daily sessions).
    data_sha256 : mapping, optional
        ``{"prices": ..., "universe": ...}`` hashes of the input tables for run.json; checked
        against the run id (see :func:`run_info`).
    extra : mapping, optional
        Additional deterministic run.json keys (e.g. ``prices_file``).
    timings : mapping, optional
        Additional timings for ``timings.json`` (e.g. ``read_seconds``).
    report : bool
        Also write ``report.html`` and the PNG charts.

    Notes
    -----
    Everything is written into a fresh hidden directory beside ``outdir`` which is then
    renamed into place, so a failure leaves neither partial output nor temporary files.
    """
    outdir = Path(outdir)
    _check_target(outdir, overwrite)
    row = summary_row(result, risk_free=risk_free, periods_per_year=periods_per_year)
    run = run_info(result, row, data_sha256, extra, report=report)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(outdir, "tmp")
    tmp.mkdir()
    try:
        names = _write_all(result, tmp, row, run, timings or {}, report)
        _swap(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {name: outdir / name for name in names}
