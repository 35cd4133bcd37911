"""Benchmarking over the KPI results: HQIP funnel statuses and run-chart signals (statistics.md).

Funnels cover KPI3–KPI11 for services with a denominator above 0 (KPI1 is pass/fail and KPI2
can exceed 100%). The target is θ₀ = Σx/Σn over the services plotted; limits are exact binomial
with Spiegelhalter's interpolation, or over-dispersion-adjusted when φ > 1. Run charts apply
the Anhøj rules to each monthly series around its median. Everything is computed on fractions;
percentages appear only in the written tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fls_report import stats
from fls_report.kpis import KPI_NAMES, LEVEL_ORDER, RECORD_KPIS

FUNNEL_KPIS: tuple[str, ...] = tuple(RECORD_KPIS)
STATUSES: tuple[str, ...] = ("alarm low", "alert low", "in control", "alert high", "alarm high")
SUMMARY_COLUMNS = [
    "kpi_id", "kpi_name", "target_pct", "phi", "tau2", "limits", "services_plotted", "services_left_off",
    "alarm_low", "alert_low", "in_control", "alert_high", "alarm_high",
]
SIGNAL_COLUMNS = [
    "level", "code", "kpi_id", "median_pct", "useful_points", "longest_run", "longest_run_limit",
    "longest_run_side", "crossings", "crossings_limit", "shift", "too_few_crossings", "signal",
]
#: A p-chart is drawn for a service's KPI when at least this many months have a denominator and
#: the average monthly denominator is at least this large (smaller counts give limits too wide to use).
P_CHART_MIN_MONTHS = 10
P_CHART_MIN_MEAN_DENOMINATOR = 10


def funnels(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A funnel table per KPI3–KPI11 over the service rows, indexed by service code.

    Each table is :func:`fls_report.stats.funnel_table` (``adjust="auto"``) over every service;
    a service with denominator 0 has status ``none`` and is left out of θ₀, φ and the plot.
    """
    services = results[results["level"] == "service"]
    out = {}
    for kpi_id in FUNNEL_KPIS:
        rows = services[services["kpi_id"] == kpi_id].set_index("code")
        out[kpi_id] = stats.funnel_table(rows["numerator"].astype(float), rows["denominator"].astype(float))
    return out


def funnel_status(results: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.Series:
    """The ``funnel_status`` column of kpi_results: the HQIP status for service rows of
    KPI3–KPI11 with a denominator above 0, empty elsewhere."""
    status = pd.Series("", index=results.index, dtype=object)
    for kpi_id, table in tables.items():
        rows = (results["level"] == "service") & (results["kpi_id"] == kpi_id)
        found = table["status"].reindex(results.loc[rows, "code"]).to_numpy()
        status[rows] = np.where(found == "none", "", found)
    return status


def funnel_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per KPI: target, φ, τ², which limits were used and how many services fall in each status."""
    rows = []
    for kpi_id, table in tables.items():
        counts = table["status"].value_counts()
        row = {
            "kpi_id": kpi_id,
            "kpi_name": KPI_NAMES[kpi_id],
            "target_pct": 100 * table.attrs["target"],
            "phi": table.attrs["phi"],
            "tau2": table.attrs["tau2"],
            "limits": table.attrs["limits"],
            "services_plotted": int((table["n"] > 0).sum()),
            "services_left_off": int((table["n"] == 0).sum()),
        }
        row.update({status.replace(" ", "_"): int(counts.get(status, 0)) for status in STATUSES})
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def funnel_curve(table: pd.DataFrame, points: int = 200) -> pd.DataFrame:
    """The 95% and 99.8% limits of a funnel as smooth curves over the plotted range of n.

    Uses the same limits as the table: exact binomial, or adjusted with the table's τ² when the
    table used the over-dispersion-adjusted limits.

    Returns
    -------
    pandas.DataFrame
        ``n``, ``low95``, ``high95``, ``low998``, ``high998`` (fractions).
    """
    plotted = table.loc[table["n"] > 0, "n"]
    if plotted.empty or np.isnan(table.attrs["target"]):
        return pd.DataFrame(columns=["n", "low95", "high95", "low998", "high998"], dtype=float)
    top = max(float(plotted.max()) * 1.1, 10.0)
    n = np.unique(np.round(np.geomspace(1, top, points)))
    target = table.attrs["target"]
    adjusted = table.attrs["limits"] == stats.LIMITS_ADJUSTED
    curve = pd.DataFrame({"n": n})
    for level, suffix in ((0.95, "95"), (0.998, "998")):
        if adjusted:
            low, high = stats.adjusted_funnel_limits(target, n, level, table.attrs["tau2"])
        else:
            low, high = stats.funnel_limits(target, n, level, method="exact")
        curve[f"low{suffix}"], curve[f"high{suffix}"] = low, high
    return curve


def outliers(results: pd.DataFrame) -> pd.DataFrame:
    """Services flagged alert or alarm on any funnel: ``kpi_id``, ``code``, ``name``, ``status``, ``pct``."""
    flagged = results[results["funnel_status"].isin([s for s in STATUSES if s != "in control"])]
    order = {s: i for i, s in enumerate(STATUSES)}
    flagged = flagged.assign(_kpi=flagged["kpi_id"].str[3:].astype(int), _status=flagged["funnel_status"].map(order))
    flagged = flagged.sort_values(["_kpi", "_status", "pct"], kind="stable")
    return flagged[["kpi_id", "code", "name", "funnel_status", "pct", "numerator", "denominator"]].reset_index(drop=True)


def run_chart_signals(monthly: pd.DataFrame) -> pd.DataFrame:
    """Anhøj run-chart analysis of every monthly series (level, code, KPI2–KPI11).

    The centre is the median of the months with a denominator; a series with fewer than 10
    useful points never signals (its counts are still given).
    """
    rows = []
    for (level, code, kpi_id), series in monthly.groupby(["level", "code", "kpi_id"], sort=False):
        fractions = (series.sort_values("month")["pct"] / 100).to_numpy(dtype=float)
        runs = stats.runs_analysis(fractions)
        enough = runs["n_useful"] >= stats.MIN_USEFUL_POINTS
        rows.append({
            "level": level, "code": code, "kpi_id": kpi_id,
            "median_pct": 100 * runs["centre"] if runs["n_useful"] else np.nan,
            "useful_points": runs["n_useful"],
            "longest_run": runs["longest_run"], "longest_run_limit": runs["longest_run_max"],
            "longest_run_side": runs["longest_run_side"],
            "crossings": runs["crossings"], "crossings_limit": runs["crossings_min"],
            "shift": bool(enough and runs["longest_run"] > runs["longest_run_max"]),
            "too_few_crossings": bool(enough and runs["crossings"] < runs["crossings_min"]),
            "signal": runs["signal"],
        })
    out = pd.DataFrame(rows, columns=SIGNAL_COLUMNS)
    for column in ("longest_run_limit", "crossings_limit"):
        out[column] = out[column].astype("Int64")
    out["_level"] = out["level"].map({lvl: i for i, lvl in enumerate(LEVEL_ORDER)})
    out["_kpi"] = out["kpi_id"].str[3:].astype(int)
    return out.sort_values(["_level", "code", "_kpi"], kind="stable").drop(columns=["_level", "_kpi"]).reset_index(drop=True)


def signal_explanation(row: pd.Series, unit: str = "month") -> str:
    """A run-chart result in plain words, e.g. "a run of 9 months above the median: a sustained shift"."""
    if row["useful_points"] < stats.MIN_USEFUL_POINTS:
        return (f"too few useful {unit}s ({int(row['useful_points'])}: {unit}s with data, not on the median) "
                "to look for signals")
    parts = []
    if row["shift"]:
        parts.append(
            f"a run of {int(row['longest_run'])} {unit}s {row['longest_run_side']} the median "
            f"(more than {int(row['longest_run_limit'])} is unusual): a sustained shift"
        )
    if row["too_few_crossings"]:
        parts.append(
            f"the line crosses the median only {_times(int(row['crossings']))} (fewer than "
            f"{int(row['crossings_limit'])} is unusual): the process has changed"
        )
    return "; ".join(parts) if parts else "no signal: only random variation around the median"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def p_chart(monthly: pd.DataFrame, code: str, kpi_id: str) -> pd.DataFrame | None:
    """A p-chart of one unit's monthly KPI, when the monthly denominators allow, else None.

    Returns :func:`fls_report.stats.p_chart` with a ``month`` column, or None when fewer than
    ``P_CHART_MIN_MONTHS`` months have a denominator or the mean denominator is below
    ``P_CHART_MIN_MEAN_DENOMINATOR``.
    """
    series = monthly[(monthly["code"] == code) & (monthly["kpi_id"] == kpi_id)].sort_values("month")
    denominators = series["denominator"].fillna(0).astype(float)
    with_data = denominators > 0
    if with_data.sum() < P_CHART_MIN_MONTHS or denominators[with_data].mean() < P_CHART_MIN_MEAN_DENOMINATOR:
        return None
    chart = stats.p_chart(series["numerator"].astype(float).to_numpy(), denominators.to_numpy())
    chart.insert(0, "month", series["month"].to_numpy())
    return chart
