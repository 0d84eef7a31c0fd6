"""A self-contained HTML report and PNG charts of one backtest (matplotlib, Agg, lazy import).

Charts: equity vs benchmark (log scale), drawdown, monthly returns heatmap (year x month with
the values written in the cells) and exposure by role (stacked: risk, income, safe_haven,
cash). ``report.html`` embeds the same PNGs as base64 ``data:`` URIs with inline CSS: no
script, no external reference, so it opens offline and can be mailed as one file.

Determinism: the charts are drawn with matplotlib's default style (a user ``matplotlibrc``
is ignored), the bundled DejaVu Sans font, fixed sizes and dpi, and PNG metadata without the
``Software`` entry, so the same run gives the same bytes with the same matplotlib and
FreeType versions.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._engine import BacktestResult

__all__ = ["PNG_FILES", "REPORT_FILES", "monthly_returns", "write_report"]

PNG_FILES = ("equity.png", "drawdown.png", "monthly_returns.png", "exposure.png")
REPORT_FILES = ("report.html", *PNG_FILES)
DPI = 100
_RC = {"svg.hashsalt": "us-equity-strategies", "font.family": "DejaVu Sans", "font.size": 9,
       "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
       "axes.spines.right": False, "figure.dpi": DPI, "savefig.dpi": DPI}
_ROLE_COLORS = {"risk": "#c0392b", "income": "#e08e0b", "safe_haven": "#2e86c1",
                "cash": "#a6acaf"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: (summary key, label, format) of the metrics table, in display order.
METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Total return", "pct"), ("cagr", "CAGR", "pct"),
    ("annual_volatility", "Annual volatility", "pct"), ("sharpe_ratio", "Sharpe ratio", "num"),
    ("sortino_ratio", "Sortino ratio", "num"), ("downside_risk", "Downside risk", "pct"),
    ("max_drawdown", "Max drawdown", "pct"), ("max_drawdown_peak", "Max drawdown peak", "text"),
    ("max_drawdown_trough", "Max drawdown trough", "text"),
    ("max_drawdown_recovery", "Max drawdown recovery", "text"),
    ("max_drawdown_duration_periods", "Max drawdown duration (sessions)", "int"),
    ("calmar_ratio", "Calmar ratio", "num"), ("skew", "Skew", "num"),
    ("excess_kurtosis", "Excess kurtosis", "num"), ("hit_rate", "Hit rate", "pct"),
    ("turnover_per_year", "Turnover per year (x equity)", "num"),
    ("time_in_market", "Time in market", "pct"), ("exposure_risk", "Mean exposure: risk", "pct"),
    ("exposure_income", "Mean exposure: income", "pct"),
    ("exposure_safe_haven", "Mean exposure: safe haven", "pct"),
    ("exposure_cash", "Mean exposure: cash", "pct"),
    ("benchmark_total_return", "Benchmark total return", "pct"),
    ("benchmark_cagr", "Benchmark CAGR", "pct"),
    ("relative_return", "CAGR minus benchmark CAGR", "pct"),
    ("tracking_error", "Tracking error", "pct"),
    ("information_ratio", "Information ratio", "num"), ("n_periods", "Sessions", "int"),
)

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f4f6f7}td.l,th.l{text-align:left}
.meta,.note{color:#555;font-size:.9em}.neg{color:#b03a2e}
.warn{background:#fef5e7;border:1px solid #f0b27a;padding:.6em;font-size:.9em}
img{max-width:100%;height:auto}code{font-size:.85em;word-break:break-all}
"""


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded returns per calendar month: one row per year, columns 1..12 and ``year``.

    Months without sessions are NaN; a partial first or last month covers its sessions only.
    NaN returns count as flat (as :func:`metrics.total_return`).
    """
    index = pd.DatetimeIndex(returns.index)
    growth = 1.0 + pd.Series(returns.to_numpy(dtype=np.float64), index=index).fillna(0.0)
    by_month = growth.groupby([index.year, index.month]).prod() - 1.0
    table = by_month.unstack().reindex(columns=range(1, 13))
    table["year"] = growth.groupby(index.year).prod() - 1.0
    table.index.name = "year"
    table.columns.name = None
    return table


def _wealth(returns: np.ndarray, initial: float) -> np.ndarray:
    return initial * np.cumprod(1.0 + np.nan_to_num(returns, nan=0.0))


def _drawdown(equity: np.ndarray, initial: float) -> np.ndarray:
    """Drawdown from the running peak, the starting capital counting as the first peak."""
    peak = np.maximum.accumulate(np.concatenate(([initial], equity)))[1:]
    return equity / peak - 1.0


# --------------------------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------------------------
def _equity_chart(fig: Figure, result: BacktestResult, name: str) -> None:
    dates = result.equity.index.to_numpy()
    initial = result.config.initial_equity
    ax = fig.add_subplot()
    ax.plot(dates, result.equity.to_numpy(dtype=np.float64), color="#1f4e79", lw=1.4,
            label=name)
    bench = _wealth(result.benchmark_returns.to_numpy(dtype=np.float64), initial)
    ax.plot(dates, bench, color="#7f8c8d", lw=1.1, label=f"{result.benchmark} (benchmark)")
    ax.set_yscale("log")
    _plain_log_labels(ax, np.concatenate((result.equity.to_numpy(dtype=np.float64), bench)))
    ax.set_xlim(dates[0], dates[-1])
    ax.set_title("Equity vs benchmark (log scale, USD)")
    ax.legend(loc="upper left", frameon=False)


def _plain_log_labels(ax: Any, values: np.ndarray) -> None:
    """Dollar tick labels on a log axis; minor ticks labelled only within ~1.5 decades."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    ax.yaxis.set_major_formatter(plain)
    finite = values[np.isfinite(values) & (values > 0)]
    narrow = finite.size and math.log10(finite.max() / finite.min()) < 1.5
    ax.yaxis.set_minor_formatter(plain if narrow else NullFormatter())


def _drawdown_chart(fig: Figure, result: BacktestResult, name: str) -> None:
    dates = result.equity.index.to_numpy()
    initial = result.config.initial_equity
    ax = fig.add_subplot()
    dd = _drawdown(result.equity.to_numpy(dtype=np.float64), initial)
    bench = _drawdown(_wealth(result.benchmark_returns.to_numpy(dtype=np.float64), initial),
                      initial)
    ax.fill_between(dates, dd * 100.0, 0.0, color="#c0392b", alpha=0.35, lw=0, label=name)
    ax.plot(dates, bench * 100.0, color="#7f8c8d", lw=1.0, label=f"{result.benchmark}")
    ax.set_xlim(dates[0], dates[-1])
    ax.set_ylabel("% below running peak")
    ax.set_title("Drawdown")
    ax.legend(loc="lower left", frameon=False)


def _monthly_chart(fig: Figure, table: pd.DataFrame) -> None:
    values = table[list(range(1, 13))].to_numpy(dtype=np.float64) * 100.0
    ax = fig.add_subplot()
    ax.grid(False)
    finite = values[np.isfinite(values)]
    limit = max(float(np.abs(finite).max()) if finite.size else 0.0, 1.0)
    ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=-limit, vmax=limit,
              aspect="auto", interpolation="nearest")
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(12), _MONTHS)
    ax.set_yticks(range(len(table)), [str(y) for y in table.index])
    ax.set_title("Monthly returns (%)")


def _exposure_chart(fig: Figure, exposure: pd.DataFrame) -> None:
    dates = exposure.index.to_numpy()
    ax = fig.add_subplot()
    roles = list(_ROLE_COLORS)
    ax.stackplot(dates, *[exposure[r].to_numpy(dtype=np.float64) * 100.0 for r in roles],
                 labels=[r.replace("_", " ") for r in roles],
                 colors=[_ROLE_COLORS[r] for r in roles], lw=0)
    ax.set_ylim(0, 100)
    ax.set_xlim(dates[0], dates[-1])
    ax.set_ylabel("% of equity (end of session)")
    ax.set_title("Exposure by role")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def _charts(result: BacktestResult, name: str, table: pd.DataFrame,
            exposure: pd.DataFrame, outdir: Path) -> list[Path]:
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure

    height = 1.4 + 0.32 * max(len(table), 1)
    specs = (("equity.png", (9.0, 4.0), lambda f: _equity_chart(f, result, name)),
             ("drawdown.png", (9.0, 3.0), lambda f: _drawdown_chart(f, result, name)),
             ("monthly_returns.png", (9.0, height), lambda f: _monthly_chart(f, table)),
             ("exposure.png", (9.0, 3.2), lambda f: _exposure_chart(f, exposure)))
    paths = []
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        for filename, size, draw in specs:
            fig = Figure(figsize=size, layout="constrained")
            draw(fig)
            path = outdir / filename
            fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
            paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == "pct":
        return f"{float(value) * 100:.2f} %"
    if kind == "num":
        return f"{float(value):.3f}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def _metrics_table(summary: Mapping[str, Any]) -> str:
    ppy = float(summary["periods_per_year"])
    rf = float(summary["risk_free_annual"])
    basis = (f"<td>{ppy:g}</td><td>{rf * 100:.2f} %</td>"
             f"<td class='l'>{_esc(summary.get('compounding', ''))}</td>")
    rows = []
    for key, label, kind in METRIC_ROWS:
        value = summary.get(key)
        neg = " class='neg'" if kind in ("pct", "num") and isinstance(value, float) \
            and value < 0 else ""
        rows.append(f"<tr><td class='l'>{_esc(label)}</td><td{neg}>{_esc(_fmt(value, kind))}"
                    f"</td>{basis}</tr>")
    return ("<table><tr><th class='l'>Metric</th><th>Value</th><th>Periods per year</th>"
            "<th>Risk-free (annual)</th><th class='l'>Compounding</th></tr>"
            + "".join(rows) + "</table>")


def _monthly_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{m}</th>" for m in _MONTHS) + "<th>Year</th>"
    rows = []
    for year, row in table.iterrows():
        cells = []
        for col in [*range(1, 13), "year"]:
            v = float(row[col])
            neg = " class='neg'" if math.isfinite(v) and v < 0 else ""
            cells.append(f"<td{neg}>{f'{v * 100:.1f}' if math.isfinite(v) else ''}</td>")
        rows.append(f"<tr><th>{_esc(year)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>%</th>{head}</tr>{''.join(rows)}</table>"


def _kv_table(items: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><td class='l'>{_esc(k)}</td><td class='l'><code>{_esc(_json(v))}"
                   f"</code></td></tr>" for k, v in items.items())
    return f"<table>{rows}</table>"


def _json(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _small_account(result: BacktestResult, run: Mapping[str, Any]) -> str:
    if not result.config.integer_shares:
        return ""
    block = run.get("small_account") or {}
    minimum = float(block.get("min_recommended_equity_usd", 0.0))
    equity = result.config.initial_equity
    relation = "below" if equity < minimum else "at or above"
    note = block.get("note", "")
    return (f"<p class='warn'><b>Small account:</b> this run traded whole shares only (rounded "
            f"down, the residual stays cash), starting from ${equity:,.0f}, {relation} the "
            f"profile's recommended minimum of ${minimum:,.0f}. Whole-share rounding may keep "
            f"the account from holding the target weights"
            + (f" ({_esc(note)})" if note else "") + ".</p>")


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<img src='data:image/png;base64,{data}' alt='{_esc(alt)}'>"


def _html(result: BacktestResult, summary: Mapping[str, Any], run: Mapping[str, Any],
          table: pd.DataFrame, images: dict[str, Path]) -> str:
    name = run.get("display_name") or result.profile
    rng = run.get("data_range") or {}
    title = f"{name}: {rng.get('start')} to {rng.get('end')}"
    ppy = float(summary["periods_per_year"])
    rf = float(summary["risk_free_annual"])
    hashes = run.get("data_sha256") or {"prices": None, "universe": None}
    details = {"run id": result.run_id, "profile": result.profile,
               "profile version": run.get("profile_version"), "benchmark": result.benchmark,
               "sessions": rng.get("sessions"), "evaluations": run.get("evaluations"),
               "fills": run.get("fills"), "prices sha256": hashes.get("prices"),
               "universe sha256": hashes.get("universe"),
               "package version": run.get("package_version"),
               "calendar version": run.get("calendar_version"),
               "warnings": run.get("warnings", {})}
    parts = [
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f"<p class='meta'>profile <code>{_esc(result.profile)}</code> "
        f"v{_esc(run.get('profile_version'))}, benchmark {_esc(result.benchmark)}, run id "
        f"<code>{_esc(result.run_id)}</code></p>",
        _small_account(result, run),
        "<h2>Metrics</h2>",
        f"<p class='note'>Every number below is computed with periods_per_year = {ppy:g} "
        f"(count-based years: sessions / {ppy:g}) and an annual risk-free rate of "
        f"{rf * 100:.2f} % (also the Sortino target), geometric compounding; the right-hand "
        "columns repeat this beside each value. Definitions: docs/backtest.md.</p>",
        _metrics_table(summary),
        "<h2>Equity vs benchmark</h2>", _image(images["equity.png"], "equity curve"),
        "<h2>Drawdown</h2>", _image(images["drawdown.png"], "drawdown"),
        "<h2>Monthly returns</h2>", _image(images["monthly_returns.png"], "monthly returns"),
        _monthly_table(table),
        "<h2>Exposure by role</h2>", _image(images["exposure.png"], "exposure by role"),
        "<h2>Run</h2>", _kv_table(details),
        "<h2>Configuration</h2>", _kv_table(run.get("config", {})),
        "<h2>Parameters</h2>", _kv_table(run.get("parameters", {})),
        "</body></html>\n",
    ]
    return "\n".join(p for p in parts if p)


def write_report(result: BacktestResult, outdir: str | Path, summary: Mapping[str, Any], *,
                 run: Mapping[str, Any] | None = None) -> list[Path]:
    """Write the four PNG charts and ``report.html`` into ``outdir``; returns their paths.

    Parameters
    ----------
    result : BacktestResult
    outdir : path
        An existing directory.
    summary : mapping
        The metrics row (:func:`._outputs.summary_row`); must hold ``periods_per_year`` and
        ``risk_free_annual``.
    run : mapping, optional
        The run.json payload (:func:`._outputs.run_info`); built from ``result`` if omitted.
    """
    from ._outputs import exposure_history, run_info

    outdir = Path(outdir)
    if run is None:
        run = run_info(result, summary)
    table = monthly_returns(result.portfolio_returns)
    name = run.get("display_name") or result.profile
    pngs = _charts(result, str(name), table, exposure_history(result), outdir)
    page = _html(result, summary, run, table, {p.name: p for p in pngs})
    report = outdir / "report.html"
    with report.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)
    return [report, *pngs]
