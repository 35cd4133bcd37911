"""Every word and number format a reader sees: one place for pages, charts, slides, workbook and PDF.

Numbers are computed once, by the compute stage, and only formatted here: percentages to one
decimal place with halves rounded up (kpis.md "Display"), counts with thousands separators, a
blank as an en dash. The words for bands, funnel statuses, run-chart results and blanks are
defined once, and a sentence that states a parameter is made from the run's parameters (never
typed), so a run with ``completeness_threshold_pct: 30`` says 30% everywhere.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

import pandas as pd

from fls_report.benchmarks import P_CHART_MIN_MEAN_DENOMINATOR, P_CHART_MIN_MONTHS
from fls_report import dictionary as dd
from fls_report.kpis import (ALWAYS_WRITTEN_NATIONS, BANDS, DEFAULT_BAND, DEFAULT_NATIONAL_NAME, EIGHTY_FIFTY_EIGHTY,
                             KEY_FIELD_NAMES, RECORD_KPIS)
from fls_report.params import KpiParams, Params
from fls_report.stats import MIN_USEFUL_POINTS

__all__ = [
    "BLANK", "SUPPRESSED", "MIN_USEFUL_POINTS", "P_CHART_MIN_MONTHS", "P_CHART_MIN_MEAN_DENOMINATOR",
    "one_decimal", "fmt_pct", "fmt_count", "fmt_interval", "pct_words", "plural", "times", "and_list",
    "kpi_definition", "BAND_WORDS", "band_word", "band_rule", "low_numbers_note", "completeness_rule",
    "FUNNEL_STATUSES", "status_words", "status_meaning", "limits_words",
    "signal_explanation", "p_chart_left_out", "EIGHTY_FIFTY_EIGHTY_WORDS", "goals_words",
    "p_value_words", "chi2_words", "suppressed_note",
]

#: What a blank number shows as.
BLANK = "–"

#: What a count or percentage hidden by disclosure control shows as (statistics.md §5).
SUPPRESSED = "*"


# ---------------------------------------------------------------------------------------------
# Dates


def date_words(value) -> str:
    """A date as every page, slide and PDF says it: "1 January 2016" (from a date or its ISO text)."""
    return f"{pd.Timestamp(value):%-d %B %Y}"


def audit_period_words(period_start, period_end) -> str:
    """The audit period: "fractures from 1 January 2016 to 31 December 2016"."""
    return f"fractures from {date_words(period_start)} to {date_words(period_end)}"


def period_words(period_start, period_end, data_cutoff) -> str:
    """The audit period and the data cut-off, as each page and slide states them under its title."""
    return f"{audit_period_words(period_start, period_end)} · data cut-off {date_words(data_cutoff)}"


# ---------------------------------------------------------------------------------------------
# Numbers


def one_decimal(value) -> str:
    """A percentage (or any number) to one decimal place, halves rounded up (kpis.md "Display").

    Rounds the shortest decimal form of the float, so 12.25 shows as 12.3; blank is an en dash.
    """
    if value is None or pd.isna(value):
        return BLANK
    return str(Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def fmt_pct(value, suffix: str = "") -> str:
    """A percentage to one decimal place, halves rounded up, then ``suffix``; an en dash when blank."""
    text = one_decimal(value)
    return text if text == BLANK else f"{text}{suffix}"


def fmt_count(value) -> str:
    """A count with thousands separators; an en dash when blank."""
    if value is None or pd.isna(value):
        return BLANK
    return f"{int(value):,}"


def fmt_interval(low, high) -> str:
    """A 95% interval, ``low to high``; an en dash when either end is blank."""
    if pd.isna(low) or pd.isna(high):
        return BLANK
    return f"{fmt_pct(low)} to {fmt_pct(high)}"


def pct_words(pct) -> str:
    """A percentage in running text: ``40.0%``, or ``no data``."""
    return "no data" if pct is None or pd.isna(pct) else fmt_pct(pct, "%")


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 month``, ``2 months`` (thousands separated)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def times(count: int) -> str:
    """``once``, ``2 times``."""
    return "once" if count == 1 else f"{count} times"


def and_list(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


# ---------------------------------------------------------------------------------------------
# KPIs, bands, low numbers


def kpi_definition(params: Params, kpi_id: str, unit_names: Iterable[str] | None = None) -> str:
    """What a KPI counts, in words: numerator and denominator.

    KPI3–KPI11 come from their functions' docstrings (:data:`fls_report.kpis.RECORD_KPIS`), so the
    words cannot drift from the code; KPI1 and KPI2 are computed from tables and are described
    here with the run's parameters. ``unit_names`` are the names of the run's nation and national
    rows, which KPI1's words name (:attr:`fls_report.run.Run.level_names`); by default those of a
    run without a Northern Ireland service.
    """
    unit_names = (*ALWAYS_WRITTEN_NATIONS, DEFAULT_NATIONAL_NAME) if unit_names is None else tuple(unit_names)
    if kpi_id == "KPI1":
        nations, national = unit_names[:-1], unit_names[-1]
        return (f"Services in which {completeness_rule(params.kpi)} (blank, invalid or Not known), each field "
                "counted over the records it applies to. A service's row: key fields not over the limit / key "
                f"fields that apply. The rows of {and_list(nations)}, and of {national} as a whole: services "
                "meeting the rule / services with records.")
    if kpi_id == "KPI2":
        return ("Records submitted as a percentage of the local expected caseload for the period (the services "
                f"file's expected caseload, or {dd.HIP_FRACTURE_MULTIPLIER} × local hip fractures). May exceed 100%.")
    doc = (RECORD_KPIS[kpi_id].__doc__ or "").strip().split("\n\n", 1)
    text = " ".join(doc[1].replace("``", "").split()) if len(doc) > 1 else ""
    return _with_parameter_values(text, params.kpi)


def _with_parameter_values(text: str, kpi: KpiParams) -> str:
    """``text`` with each KPI parameter's name followed by the run's value, so a definition read
    from a docstring states the numbers the run used: ``<= assessment_days`` becomes ``<= 60 days
    (assessment_days)``; a window, ``within 84–112 days (followup_16wk_window_days)``."""
    for name, value in dataclasses.asdict(kpi).items():
        if name.endswith("_days"):
            shown = f"{value[0]}–{value[1]} days" if isinstance(value, (tuple, list)) else f"{value} days"
            text = re.sub(rf"\b{name}\b", f"{shown} ({name})", text)
    return text



#: Each band as written beside its colour.
BAND_WORDS: dict[str, str] = {"green": "green", "amber": "amber", "red": "red", "none": "no data"}


def band_word(rag: str) -> str:
    return BAND_WORDS.get(str(rag), str(rag))


def completeness_rule(kpi: KpiParams) -> str:
    """KPI1's rule for a service, from the run's parameters."""
    return (f"fewer than {kpi.completeness_max_fields} of the {len(KEY_FIELD_NAMES)} key fields have more than "
            f"{kpi.completeness_threshold_pct:g}% of values missing")


def band_rule(kpi_id: str, kpi: KpiParams) -> str:
    """The band thresholds of a KPI in words."""
    if kpi_id == "KPI1":
        return (f"service: green when {completeness_rule(kpi)}, else red; nations and the national level: "
                "the default bands")
    green, amber = BANDS.get(kpi_id, DEFAULT_BAND)
    if amber is None:
        return f"green ≥ {green}%, red < {green}%"
    return f"green ≥ {green}%, amber {amber}% to < {green}%, red < {amber}%"


def low_numbers_note(kpi: KpiParams) -> str:
    """What the caution mark † means, from the run's ``low_numbers_below``."""
    return f"fewer than {kpi.low_numbers_below} in the denominator: interpret with care"


# ---------------------------------------------------------------------------------------------
# Funnels (statistics.md §2)

#: Each HQIP funnel status, lowest first: its label, and what it means as a template of the run's
#: national name (``{national}``). A service with no eligible patients has the status ``""``.
FUNNEL_STATUSES: dict[str, tuple[str, str]] = {
    "alarm low": ("Alarm, low: below the 99.8% limit", "Much lower than {national}: very unlikely to be chance alone."),
    "alert low": ("Alert, low: below the 95% limit", "Lower than {national} by more than chance would usually explain."),
    "in control": ("Within the limits", "No different from {national} beyond what chance would explain."),
    "alert high": ("Alert, high: above the 95% limit", "Higher than {national} by more than chance would usually explain."),
    "alarm high": ("Alarm, high: above the 99.8% limit", "Much higher than {national}: very unlikely to be chance alone."),
    "": ("Not on the funnel (no eligible patients)", "Not on the funnel: no patients were eligible."),
}


def _status_key(status) -> str:
    return "" if status is None or (not isinstance(status, str) and pd.isna(status)) or status == "none" else str(status)


def status_words(status) -> str:
    """An HQIP funnel status as a label, e.g. "Alert, low: below the 95% limit"."""
    key = _status_key(status)
    return FUNNEL_STATUSES[key][0] if key in FUNNEL_STATUSES else key


def status_meaning(status, national: str) -> str:
    """What a funnel status means against the national level named ``national``."""
    return FUNNEL_STATUSES[_status_key(status)][1].format(national=national)


def limits_words(adjusted: bool) -> str:
    """Which funnel limits were used."""
    return "widened for over-dispersion" if adjusted else "exact binomial"


# ---------------------------------------------------------------------------------------------
# Run charts and p-charts (statistics.md §3–§4)


def signal_explanation(row, unit: str = "month") -> str:
    """A run-chart result (a row of ``run_chart_signals``) in plain words, e.g. "a run of 9 months
    above the median (more than 7 is unusual): a sustained shift"."""
    if row["useful_points"] < MIN_USEFUL_POINTS:
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
            f"the line crosses the median only {times(int(row['crossings']))} (fewer than "
            f"{int(row['crossings_limit'])} is unusual): the process has changed"
        )
    return "; ".join(parts) if parts else "no signal: only random variation around the median"


def p_chart_left_out(kpi_ids: Iterable[str]) -> str:
    """Why some KPIs have no p-chart."""
    return (f"No p-chart for {', '.join(kpi_ids)}: fewer than {P_CHART_MIN_MONTHS} months with eligible patients, "
            f"or under {P_CHART_MIN_MEAN_DENOMINATOR} a month on average.")


# ---------------------------------------------------------------------------------------------
# 80/50/80 (kpis.md)

EIGHTY_FIFTY_EIGHTY_WORDS: dict[str, str] = {
    "meets": "meets all three goals",
    "does not meet": "does not meet all three goals",
    "not assessable": "not assessable (one of the three has no patients eligible or no caseload estimate)",
}


def goals_words() -> str:
    """The three goals, e.g. "KPI2 ≥ 80%, KPI7 ≥ 50% and KPI11 ≥ 80%"."""
    return and_list(f"{kpi_id} ≥ {goal}%" for kpi_id, goal in EIGHTY_FIFTY_EIGHTY.items())


# ---------------------------------------------------------------------------------------------
# Who gets care (kpis.md, *Breakdowns*)

#: The significance level the test words use: a p-value below it is "more than chance would explain".
TEST_LEVEL = 0.05


def p_value_words(p) -> str:
    """``p < 0.001``, ``p = 0.04``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def chi2_words(row, characteristic: str) -> str:
    """A chi-squared test of equal proportions (a row of ``kpi_breakdown_tests``) in words, as
    description, not verdict: e.g. "differs by age band by more than chance would explain (χ² =
    65.5, 4 df, p < 0.001)"."""
    if pd.isna(row["chi2"]):
        return f"not tested ({row['note']})"
    stats = f"χ² = {row['chi2']:.1f}, {int(row['df'])} df, {p_value_words(row['p_value'])}"
    if row["p_value"] < TEST_LEVEL:
        return f"differs by {characteristic} by more than chance would explain ({stats})"
    return f"no difference by {characteristic} beyond what chance would explain ({stats})"


def suppressed_note(threshold: int) -> str:
    """Why a cell shows ``*``, from the run's disclosure threshold."""
    return (f"* numbers too small to publish: fewer than {threshold} patients, or hidden so that a small "
            "number cannot be worked out from the others")
