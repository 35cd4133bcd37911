"""Write the reproducible tables: deterministic CSV with a pandera contract for each one.

Numbers are stored unrounded, a missing value is an empty field and booleans are ``true`` /
``false`` (outputs.md §3). Each table is checked against its schema before it is written, so a
bug shows as a named failing column rather than as a wrong number in a published report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from fls_report.breakdowns import GROUPS as BREAKDOWN_GROUPS
from fls_report.io import write_text_atomic
from fls_report.benchmarks import FUNNEL_KPIS, STATUSES, SUMMARY_COUNT_COLUMNS
from fls_report.kpis import KPI_IDS

_RAG = ["green", "amber", "red", "none"]
_LEVELS = ["national", "nation", "service"]
_PERCENT = pa.Check.in_range(0, 100)

KPI_RESULTS = pa.DataFrameSchema(
    {
        "level": pa.Column(str, pa.Check.isin(_LEVELS)),
        "code": pa.Column(str),
        "name": pa.Column(str),
        "nation": pa.Column(str),
        "kpi_id": pa.Column(str, pa.Check.isin(list(KPI_IDS))),
        "kpi_name": pa.Column(str),
        "numerator": pa.Column("Int64", pa.Check.ge(0)),
        "denominator": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "pct": pa.Column(float, pa.Check.ge(0), nullable=True),
        "ci_low": pa.Column(float, _PERCENT, nullable=True),
        "ci_high": pa.Column(float, _PERCENT, nullable=True),
        "rag": pa.Column(str, pa.Check.isin(_RAG)),
        "low_numbers": pa.Column(bool),
        "funnel_status": pa.Column(str, pa.Check.isin(["", *STATUSES])),
        "rank": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "ranked": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "previous_pct": pa.Column(float, pa.Check.ge(0), nullable=True, required=False),
        "change_pct_points": pa.Column(float, nullable=True, required=False),
    },
    checks=[
        pa.Check(
            lambda df: (df["kpi_id"] == "KPI2") | df["denominator"].isna() | (df["numerator"] <= df["denominator"]),
            name="numerator within denominator",
        ),
        pa.Check(lambda df: ~df.duplicated(["level", "code", "kpi_id"]), name="one row per level, code, KPI"),
        pa.Check(
            lambda df: (df["funnel_status"] == "") | ((df["level"] == "service") & df["kpi_id"].isin(FUNNEL_KPIS)),
            name="funnel status only on service rows of KPI3-KPI11",
        ),
        pa.Check(lambda df: df["rank"].isna() | (df["rank"] <= df["ranked"]), name="rank within the services ranked"),
    ],
    strict=True,
    ordered=True,
)

#: The key of a unit's month of a monthly KPI (KPI2–KPI11), shared by the monthly tables.
_UNIT_MONTH = {
    "level": pa.Column(str, pa.Check.isin(_LEVELS)),
    "code": pa.Column(str),
    "kpi_id": pa.Column(str, pa.Check.isin(list(KPI_IDS[1:]))),
    "month": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}$")),
}

MONTHLY_KPIS = pa.DataFrameSchema(
    {
        **_UNIT_MONTH,
        "numerator": pa.Column("Int64", pa.Check.ge(0)),
        "denominator": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "pct": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    strict=True,
    ordered=True,
)


FUNNEL_SUMMARY = pa.DataFrameSchema(
    {
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        "kpi_name": pa.Column(str),
        "target_pct": pa.Column(float, _PERCENT, nullable=True),
        "phi": pa.Column(float, pa.Check.ge(0), nullable=True),
        "tau2": pa.Column(float, pa.Check.ge(0), nullable=True),
        "limits": pa.Column(str),
        **{c: pa.Column(int, pa.Check.ge(0)) for c in SUMMARY_COUNT_COLUMNS},
        "target": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
        "adjusted": pa.Column(bool),
    },
    strict=True,
    ordered=True,
)

#: An Anhøj runs analysis (statistics.md §3): the counts and limits of the run-chart signals
#: and of the p-charts' runs.
_RUNS = {
    "useful_points": pa.Column(int, pa.Check.ge(0)),
    "longest_run": pa.Column(int, pa.Check.ge(0)),
    "longest_run_limit": pa.Column("Int64", nullable=True),
    "longest_run_side": pa.Column(str, pa.Check.isin(["", "above", "below"])),
    "crossings": pa.Column(int, pa.Check.ge(0)),
    "crossings_limit": pa.Column("Int64", nullable=True),
}

RUN_CHART_SIGNALS = pa.DataFrameSchema(
    {
        "level": pa.Column(str, pa.Check.isin(_LEVELS)),
        "code": pa.Column(str),
        "kpi_id": pa.Column(str, pa.Check.isin(list(KPI_IDS[1:]))),
        "median_pct": pa.Column(float, pa.Check.ge(0), nullable=True),
        **_RUNS,
        "shift": pa.Column(bool),
        "too_few_crossings": pa.Column(bool),
        "signal": pa.Column(bool),
    },
    checks=[pa.Check(lambda df: ~df["signal"] | (df["useful_points"] >= 10), name="no signal under 10 useful points")],
    strict=True,
    ordered=True,
)

_PROPORTION = pa.Check.in_range(0, 1)

FUNNEL_POINTS = pa.DataFrameSchema(
    {
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        "code": pa.Column(str),
        "x": pa.Column(float, pa.Check.ge(0)),
        "n": pa.Column(float, pa.Check.ge(0)),
        "p": pa.Column(float, _PROPORTION, nullable=True),
        **{c: pa.Column(float, _PROPORTION, nullable=True) for c in ("low95", "high95", "low998", "high998")},
        "status": pa.Column(str, pa.Check.isin([*STATUSES, "none"])),
    },
    checks=[pa.Check(lambda df: (df["n"] > 0) | (df["status"] == "none"), name="no eligible patients: off the funnel")],
    strict=True,
    ordered=True,
)

FUNNEL_LIMITS = pa.DataFrameSchema(
    {
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        "n": pa.Column(float, pa.Check.ge(1)),
        **{c: pa.Column(float, _PROPORTION, nullable=True) for c in ("low95", "high95", "low998", "high998")},
    },
    checks=[pa.Check(lambda df: (df["low998"] <= df["low95"] + 1e-12) | df["low95"].isna(), name="99.8% outside 95%")],
    strict=True,
    ordered=True,
)

RUN_CHART_POINTS = pa.DataFrameSchema(
    {
        **_UNIT_MONTH,
        "pct": pa.Column(float, pa.Check.ge(0), nullable=True),
        "median_pct": pa.Column(float, pa.Check.ge(0), nullable=True),
        "on_longest_run": pa.Column(bool),
    },
    checks=[pa.Check(lambda df: ~df["on_longest_run"] | df["pct"].notna(), name="a run is made of points")],
    strict=True,
    ordered=True,
)

P_CHARTS = pa.DataFrameSchema(
    {
        "code": pa.Column(str),
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        "month": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}$")),
        "x": pa.Column(float, pa.Check.ge(0)),
        "n": pa.Column(float, pa.Check.ge(0)),
        "p": pa.Column(float, _PROPORTION, nullable=True),
        "cl": pa.Column(float, _PROPORTION),
        "lcl": pa.Column(float, _PROPORTION, nullable=True),
        "ucl": pa.Column(float, _PROPORTION, nullable=True),
        "outside": pa.Column(bool),
    },
    strict=True,
    ordered=True,
)

P_CHART_RUNS = pa.DataFrameSchema(
    {
        "code": pa.Column(str),
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        **_RUNS,
        "signal": pa.Column(bool),
    },
    strict=True,
    ordered=True,
)

TIME_TO_EVENT_SUMMARY = pa.DataFrameSchema(
    {
        "level": pa.Column(str, pa.Check.isin(_LEVELS)),
        "code": pa.Column(str),
        "event": pa.Column(str, pa.Check.isin(["assessment", "dxa"])),
        "records": pa.Column(int, pa.Check.ge(0)),
        "with_event": pa.Column(int, pa.Check.ge(0)),
        "median_days": pa.Column(float, pa.Check.ge(0), nullable=True),
        "q1_days": pa.Column(float, pa.Check.ge(0), nullable=True),
        "q3_days": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    checks=[
        pa.Check(lambda df: df["with_event"] <= df["records"], name="with the event within the records"),
        pa.Check(lambda df: df["median_days"].isna() | ((df["q1_days"] <= df["median_days"])
                                                       & (df["median_days"] <= df["q3_days"])), name="q1 <= median <= q3"),
    ],
    strict=True,
    ordered=True,
)

_BREAKDOWN_LEVELS = ["national", "nation", "region", "service"]

KPI_BREAKDOWNS = pa.DataFrameSchema(
    {
        "level": pa.Column(str, pa.Check.isin(_BREAKDOWN_LEVELS)),
        "code": pa.Column(str),
        "characteristic": pa.Column(str, pa.Check.isin(list(BREAKDOWN_GROUPS))),
        "group": pa.Column(str, pa.Check.isin(sorted({g for gs in BREAKDOWN_GROUPS.values() for g in gs}))),
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        "numerator": pa.Column(int, pa.Check.ge(0)),
        "denominator": pa.Column(int, pa.Check.ge(0)),
        **{c: pa.Column(float, _PERCENT, nullable=True) for c in ("pct", "ci_low", "ci_high")},
        "numerator_shown": pa.Column(str, pa.Check.str_matches(r"^(\d+|\*)$")),
        "denominator_shown": pa.Column(str, pa.Check.str_matches(r"^(\d+|\*)$")),
        **{c: pa.Column(float, _PERCENT, nullable=True) for c in ("pct_shown", "ci_low_shown", "ci_high_shown")},
        "low_numbers": pa.Column(bool),
    },
    checks=[
        pa.Check(lambda df: df["numerator"] <= df["denominator"], name="numerator within denominator"),
        pa.Check(lambda df: (df["level"] != "national") | (df["denominator_shown"] == df["denominator"].astype(str)),
                 name="national counts are published as they are"),
        pa.Check(lambda df: (df["denominator_shown"] != "*") | df["pct_shown"].isna(),
                 name="no percentage for a suppressed group"),
    ],
    strict=True,
    ordered=True,
)

KPI_BREAKDOWN_TESTS = pa.DataFrameSchema(
    {
        "level": pa.Column(str, pa.Check.isin(["national", "nation", "region"])),
        "code": pa.Column(str),
        "characteristic": pa.Column(str, pa.Check.isin(list(BREAKDOWN_GROUPS))),
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        "groups": pa.Column(int, pa.Check.ge(0)),
        "chi2": pa.Column(float, pa.Check.ge(0), nullable=True),
        "df": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "p_value": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
        "note": pa.Column(str),
    },
    checks=[pa.Check(lambda df: df["chi2"].notna() | (df["note"] != ""), name="a blank test says why")],
    strict=True,
    ordered=True,
)

KPI_REGIONS = pa.DataFrameSchema(
    {
        "code": pa.Column(str),
        "kpi_id": pa.Column(str, pa.Check.isin(list(FUNNEL_KPIS))),
        "numerator": pa.Column(int, pa.Check.ge(0)),
        "denominator": pa.Column(int, pa.Check.ge(0)),
        **{c: pa.Column(float, _PERCENT, nullable=True) for c in ("pct", "ci_low", "ci_high")},
        "low_numbers": pa.Column(bool),
    },
    checks=[pa.Check(lambda df: df["numerator"] <= df["denominator"], name="numerator within denominator")],
    strict=True,
    ordered=True,
)

#: The contract each table is checked against before it is written.
SCHEMAS = {
    "kpi_results": KPI_RESULTS,
    "monthly_kpis": MONTHLY_KPIS,
    "funnel_summary": FUNNEL_SUMMARY,
    "funnel_points": FUNNEL_POINTS,
    "funnel_limits": FUNNEL_LIMITS,
    "run_chart_signals": RUN_CHART_SIGNALS,
    "run_chart_points": RUN_CHART_POINTS,
    "p_charts": P_CHARTS,
    "p_chart_runs": P_CHART_RUNS,
    "time_to_event_summary": TIME_TO_EVENT_SUMMARY,
    "kpi_breakdowns": KPI_BREAKDOWNS,
    "kpi_breakdown_tests": KPI_BREAKDOWN_TESTS,
    "kpi_regions": KPI_REGIONS,
}


def to_csv_text(frame: pd.DataFrame) -> str:
    """CSV text of a table: booleans as ``true``/``false``, missing as empty, floats unrounded."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool or str(out[column].dtype) == "boolean":
            out[column] = out[column].map({True: "true", False: "false"}).fillna("")
    return out.to_csv(index=False, lineterminator="\n")


def write_table(frame: pd.DataFrame, path: str | Path, schema: pa.DataFrameSchema | None = None) -> Path:
    """Check ``frame`` against ``schema`` (if given) and write it as CSV, atomically."""
    if schema is not None:
        schema.validate(frame, lazy=True)
    return write_text_atomic(path, to_csv_text(frame))
