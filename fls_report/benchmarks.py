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
from fls_report.kpis import KPI_NAMES, RECORD_KPIS, in_table_order

FUNNEL_KPIS: tuple[str, ...] = tuple(RECORD_KPIS)
STATUSES: tuple[str, ...] = ("alarm low", "alert low", "in control", "alert high", "alarm high")
SUMMARY_COLUMNS = [
    "kpi_id", "kpi_name", "target_pct", "phi", "tau2", "limits", "services_plotted", "services_left_off",
    "alarm_low", "alert_low", "in_control", "alert_high", "alarm_high", "target", "adjusted",
]
#: Count columns of funnel_summary: services plotted, left off, and in each status.
SUMMARY_COUNT_COLUMNS = SUMMARY_COLUMNS[6:13]
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


def funnel_summary(tables: dict[str, pd.DataFrame], names: dict[str, str] = KPI_NAMES) -> pd.DataFrame:
    """Per KPI: target (as a percentage, and as the proportion the funnel is drawn around), φ, τ²,
    which limits were used (``limits``, and ``adjusted`` when widened for over-dispersion) and how
    many services fall in each status. ``names`` are the run's KPI names (:func:`fls_report.kpis.kpi_names`)."""
    rows = []
    for kpi_id, table in tables.items():
        counts = table["status"].value_counts()
        row = {
            "kpi_id": kpi_id,
            "kpi_name": names[kpi_id],
            "target_pct": 100 * table.attrs["target"],
            "phi": table.attrs["phi"],
            "tau2": table.attrs["tau2"],
            "limits": table.attrs["limits"],
            "services_plotted": int((table["n"] > 0).sum()),
            "services_left_off": int((table["n"] == 0).sum()),
        }
        row.update({status.replace(" ", "_"): int(counts.get(status, 0)) for status in STATUSES})
        row["target"] = table.attrs["target"]  # the proportion the funnel is drawn around
        row["adjusted"] = table.attrs["limits"] == stats.LIMITS_ADJUSTED
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


FUNNEL_POINT_COLUMNS = ["kpi_id", "code", "x", "n", "p", "low95", "high95", "low998", "high998", "status"]
FUNNEL_LIMIT_COLUMNS = ["kpi_id", "n", "low95", "high95", "low998", "high998"]


def funnel_points(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every service's point on every funnel, in one table (``funnel_points.csv``).

    ``x`` and ``n`` are the numerator and denominator, ``p`` the proportion, the four limits at
    its ``n`` and its HQIP ``status`` (``none`` for a service with no eligible patients, left off
    the plot). Proportions, not percentages: the funnel is drawn from them. The target, φ, τ² and
    the limits used are in ``funnel_summary.csv``.
    """
    parts = [table.rename_axis("code").reset_index().assign(kpi_id=kpi_id) for kpi_id, table in tables.items()]
    return pd.concat(parts, ignore_index=True)[FUNNEL_POINT_COLUMNS]


def funnel_limits(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The 95% and 99.8% limits of every funnel as smooth curves (:func:`funnel_curve`), in one
    table (``funnel_limits.csv``): ``kpi_id``, ``n`` and the four limits (proportions)."""
    parts = [funnel_curve(table).assign(kpi_id=kpi_id) for kpi_id, table in tables.items()]
    return pd.concat(parts, ignore_index=True)[FUNNEL_LIMIT_COLUMNS].astype({"n": float})


def _monthly_series(monthly: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, str, str], slice]]:
    """``monthly`` sorted as the run-chart tables are (level, code, KPI number, month), with the
    rows of each series (level, code, KPI) as a slice of it, in that order."""
    if monthly.empty:
        return monthly.reset_index(drop=True), {}
    ordered = in_table_order(monthly, ["month"])
    keys = list(zip(ordered["level"], ordered["code"], ordered["kpi_id"]))
    starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
    ends = starts[1:] + [len(keys)]
    return ordered, {keys[start]: slice(start, end) for start, end in zip(starts, ends)}


def run_chart_signals(monthly: pd.DataFrame) -> pd.DataFrame:
    """Anhøj run-chart analysis of every monthly series (level, code, KPI2–KPI11).

    The centre is the median of the months with a denominator; a series with fewer than 10
    useful points never signals (its counts are still given).
    """
    ordered, series = _monthly_series(monthly)
    fractions = (ordered["pct"] / 100).to_numpy(dtype=float)
    rows = []
    for (level, code, kpi_id), rows_of in series.items():
        runs = stats.runs_analysis(fractions[rows_of])
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
    return out


RUN_CHART_POINT_COLUMNS = ["level", "code", "kpi_id", "month", "pct", "median_pct", "on_longest_run"]


def run_chart_points(monthly: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """Every point of every run chart (``run_chart_points.csv``): the month's percentage (blank
    where the month has no eligible patients), the series' median and whether the point belongs
    to the longest run the signals table reports, which a chart marks when that run is a shift.

    ``monthly`` is ``monthly_kpis``, ``signals`` :func:`run_chart_signals` of it.
    """
    if monthly.empty:
        return _empty(RUN_CHART_POINT_COLUMNS, {"pct": float, "median_pct": float, "on_longest_run": bool}, object)
    ordered, series = _monthly_series(monthly)
    denominator = pd.to_numeric(ordered["denominator"], errors="coerce")
    pct = pd.to_numeric(ordered["pct"], errors="coerce").where(denominator > 0).to_numpy(dtype=float)
    longest = {(code, kpi_id): (median, run, side) for code, kpi_id, median, run, side in zip(
        signals["code"], signals["kpi_id"], signals["median_pct"], signals["longest_run"], signals["longest_run_side"])}
    median_pct = np.full(len(ordered), np.nan)
    on_run = np.zeros(len(ordered), dtype=bool)
    for (_, code, kpi_id), rows_of in series.items():
        median, run, side = longest[(code, kpi_id)]
        median_pct[rows_of] = median
        if not np.isnan(median) and run > 0:
            positions = stats.run_positions(pct[rows_of], median, int(run), str(side))
            on_run[np.asarray(positions, dtype=int) + rows_of.start] = True
    return pd.DataFrame({"level": ordered["level"], "code": ordered["code"], "kpi_id": ordered["kpi_id"],
                         "month": ordered["month"], "pct": pct, "median_pct": median_pct,
                         "on_longest_run": on_run})[RUN_CHART_POINT_COLUMNS]


P_CHART_COLUMNS = ["code", "kpi_id", "month", "x", "n", "p", "cl", "lcl", "ucl", "outside"]
P_CHART_RUN_COLUMNS = ["code", "kpi_id", "useful_points", "longest_run", "longest_run_limit", "longest_run_side",
                       "crossings", "crossings_limit", "signal"]
#: KPIs a service's p-charts cover: KPI3–KPI11 (KPI2's denominator is an estimate, not patients).
P_CHART_KPIS: tuple[str, ...] = FUNNEL_KPIS


def p_charts(monthly: pd.DataFrame, codes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The p-chart of each service's monthly KPI3–KPI11 where the monthly numbers allow one
    (:func:`p_chart`), as two tables: its points (``p_charts.csv``: proportions, as the chart draws
    them) and the runs analysis around its centre line (``p_chart_runs.csv``). A (code, KPI)
    without rows has no p-chart: fewer than ``P_CHART_MIN_MONTHS`` months had eligible patients,
    or they averaged under ``P_CHART_MIN_MEAN_DENOMINATOR`` a month."""
    ordered, series = _monthly_series(monthly)
    by_unit = {(code, kpi_id): rows_of for (_, code, kpi_id), rows_of in series.items()}
    months, numerators, denominators = _p_chart_inputs(ordered)
    charts, units, runs = [], [], []
    for code in codes:
        for kpi_id in P_CHART_KPIS:
            rows_of = by_unit.get((code, kpi_id))
            chart = None if rows_of is None else _p_chart(months[rows_of], numerators[rows_of], denominators[rows_of])
            if chart is None:
                continue
            charts.append(chart)
            units.append((code, kpi_id))
            found = chart.attrs["runs"]
            runs.append({"code": code, "kpi_id": kpi_id, "useful_points": found["n_useful"],
                         "longest_run": found["longest_run"], "longest_run_limit": found["longest_run_max"],
                         "longest_run_side": found["longest_run_side"], "crossings": found["crossings"],
                         "crossings_limit": found["crossings_min"], "signal": found["signal"]})
    if charts:
        points = pd.concat(charts, ignore_index=True)
        sizes = [len(chart) for chart in charts]
        for position, column in enumerate(("code", "kpi_id")):
            points[column] = np.repeat(np.array([unit[position] for unit in units], dtype=object), sizes)
        points = points[P_CHART_COLUMNS]
    else:
        points = _empty(P_CHART_COLUMNS, {"code": object, "kpi_id": object, "month": object, "outside": bool}, float)
    runs = pd.DataFrame(runs, columns=P_CHART_RUN_COLUMNS) if runs else _empty(
        P_CHART_RUN_COLUMNS, {"code": object, "kpi_id": object, "longest_run_side": object, "signal": bool}, int)
    for column in ("longest_run_limit", "crossings_limit"):
        runs[column] = runs[column].astype("Int64")
    return points, runs


def _empty(columns: list[str], dtypes: dict, default) -> pd.DataFrame:
    """A table with no rows whose columns have the types its rows would have."""
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, default)) for c in columns})


def p_chart(monthly: pd.DataFrame, code: str, kpi_id: str) -> pd.DataFrame | None:
    """A p-chart of one unit's monthly KPI, when the monthly denominators allow, else None.

    Returns :func:`fls_report.stats.p_chart` with a ``month`` column, or None when fewer than
    ``P_CHART_MIN_MONTHS`` months have a denominator or the mean denominator is below
    ``P_CHART_MIN_MEAN_DENOMINATOR``.
    """
    series = monthly[(monthly["code"] == code) & (monthly["kpi_id"] == kpi_id)].sort_values("month")
    return _p_chart(*_p_chart_inputs(series))


def _p_chart_inputs(monthly: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The months, numerators and denominators (0 where blank) of monthly rows, as arrays."""
    return (monthly["month"].to_numpy(), monthly["numerator"].astype(float).to_numpy(),
            monthly["denominator"].fillna(0).astype(float).to_numpy())


def _p_chart(months: np.ndarray, numerators: np.ndarray, denominators: np.ndarray) -> pd.DataFrame | None:
    """:func:`p_chart` of one series' months in order, or None when its denominators do not allow one."""
    with_data = denominators > 0
    if with_data.sum() < P_CHART_MIN_MONTHS or denominators[with_data].mean() < P_CHART_MIN_MEAN_DENOMINATOR:
        return None
    chart = stats.p_chart(numerators, denominators)
    chart.insert(0, "month", months)
    return chart
