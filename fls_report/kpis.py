"""The eleven FLS-DB key performance indicators (kpis.md), at service, nation and national level.

Each KPI from KPI3 to KPI11 is one function of the validated records that returns two boolean
Series, *denominator* and *numerator* (the numerator always sits inside the denominator). KPI1
(data completeness) is computed from :func:`field_completeness` and KPI2 (identification) from the
services' expected caseload. Everything is counted on integers; percentages, Wilson intervals and
bands are derived at the end, on unrounded values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import pandas as pd

from fls_report import dictionary as dd
from fls_report.params import KpiParams, Params
from fls_report.stats import wilson_interval

NATIONAL, ENGLAND, WALES, NORTHERN_IRELAND = "NATIONAL", "ENGLAND", "WALES", "NORTHERN_IRELAND"
#: Each nation of the services file (webtool_export.md §5) and the code of its rows, in the order
#: the national level's name lists them and reports show them.
NATION_CODES: dict[str, str] = {"England": ENGLAND, "Wales": WALES, "Northern Ireland": NORTHERN_IRELAND}
NATION_NAMES: dict[str, str] = {code: name for name, code in NATION_CODES.items()}
#: Nations whose rows are always written (denominator 0 when no service belongs to them); any
#: other nation only when a service in the services file belongs to it (kpis.md "Levels and rows").
ALWAYS_WRITTEN_NATIONS: tuple[str, ...] = ("England", "Wales")
LEVEL_ORDER = ("national", "nation", "service")

def kpi_names(kpi: KpiParams) -> dict[str, str]:
    """The KPIs' names (kpis.md), with the windows of the run's parameters in them: at the
    defaults exactly kpis.md's names ("FLS assessment within 90 days"); with ``assessment_days:
    60``, "FLS assessment within 60 days". A window that is not whole weeks is named in days."""

    def weeks(days: int) -> str:
        return f"{days // 7} weeks" if days % 7 == 0 else f"{days} days"

    low, high = kpi.followup_16wk_window_days
    window = f"{low // 7}–{high // 7} weeks" if low % 7 == 0 and high % 7 == 0 else f"{low}–{high} days"
    return {
        "KPI1": "Data completeness",
        "KPI2": "Identification",
        "KPI3": "Spine fracture identification",
        "KPI4": f"FLS assessment within {kpi.assessment_days} days",
        "KPI5": f"DXA within {kpi.dxa_days} days",
        "KPI6": "Falls assessment",
        "KPI7": "Bone therapy recommended",
        "KPI8": f"Strength and balance by {weeks(kpi.due_16wk_days)}",
        "KPI9": f"Monitoring contact at {window}",
        "KPI10": f"Treatment started by {weeks(kpi.due_16wk_days)}",
        "KPI11": "On treatment at 52 weeks",
    }


#: The KPIs' names at the default parameters, as kpis.md writes them. A run's own names (its
#: windows) are in ``kpi_results``' ``kpi_name``: :attr:`fls_report.run.Run.kpi_names`.
KPI_NAMES: dict[str, str] = kpi_names(KpiParams())
KPI_IDS: tuple[str, ...] = tuple(KPI_NAMES)

#: RAG thresholds in percent: (green at or above, amber at or above); None means no amber band.
BANDS: dict[str, tuple[int, int | None]] = {"KPI3": (20, 10), "KPI7": (50, None)}
DEFAULT_BAND = (80, 50)

RESULT_COLUMNS = [
    "level", "code", "name", "nation", "kpi_id", "kpi_name", "numerator", "denominator",
    "pct", "ci_low", "ci_high", "rag", "low_numbers",
]
MONTHLY_COLUMNS = ["level", "code", "kpi_id", "month", "numerator", "denominator", "pct"]


@dataclass(frozen=True)
class Context:
    """What a KPI needs besides the records: the KPI parameters and the data cut-off."""

    kpi: KpiParams
    data_cutoff: pd.Timestamp

    @classmethod
    def of(cls, params: Params) -> "Context":
        return cls(kpi=params.kpi, data_cutoff=pd.Timestamp(params.data_cutoff))


# ---------------------------------------------------------------------------------------------
# Terms (kpis.md "Terms")


def days_after_fracture(records: pd.DataFrame, column: str) -> pd.Series:
    """``days(d)``: whole days from ``date_fracture`` to the date in ``column`` (NaN if blank)."""
    return (records[column] - records["date_fracture"]).dt.days


def due(records: pd.DataFrame, days: int, cutoff: pd.Timestamp) -> pd.Series:
    """Records whose fracture date plus ``days`` is on or before the data cut-off."""
    return records["date_fracture"] + pd.Timedelta(days=days) <= cutoff


def non_hip_site_known(records: pd.DataFrame) -> pd.Series:
    """``fracture_site`` is a valid site other than ``Hip`` and ``Not known``."""
    site = records["fracture_site"]
    return site.notna() & ~site.isin(["Hip", "Not known"])


def _days_within(records: pd.DataFrame, column: str, low: int, high: int) -> pd.Series:
    days = days_after_fracture(records, column)
    return (days >= low) & (days <= high)


def _all(records: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=records.index)


# ---------------------------------------------------------------------------------------------
# KPI3 to KPI11: (denominator, numerator)

Eligibility = tuple[pd.Series, pd.Series]


def kpi3_spine(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI3, spine fracture identification.

    "Percentage of patients with a spine fracture as their index fracture site."
    Numerator ``fracture_site = Spine``; denominator every in-scope record.
    """
    denominator = _all(records)
    return denominator, denominator & (records["fracture_site"] == "Spine")


def kpi4_assessment(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI4, FLS assessment within 90 days.

    "Assessed by the FLS within 90 days of their fracture." Numerator
    ``0 <= days(date_assessed) <= assessment_days``; denominator every in-scope record.
    """
    denominator = _all(records)
    return denominator, denominator & _days_within(records, "date_assessed", 0, ctx.kpi.assessment_days)


def kpi5_dxa(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI5, DXA within 90 days.

    "Had a DXA ordered or recommended and were scanned within 90 days of fracture." Denominator
    ``dxa`` is ``Ordered`` or ``Recommended``; numerator ``0 <= days(date_dxa) <= dxa_days``.
    """
    denominator = records["dxa"].isin(["Ordered", "Recommended"])
    return denominator, denominator & _days_within(records, "date_dxa", 0, ctx.kpi.dxa_days)


def kpi6_falls(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI6, falls assessment.

    "Received a falls assessment or were referred or recommended for a falls assessment."
    Numerator ``falls_assessment`` is ``Assessed`` or ``Referred``; denominator every in-scope
    record.
    """
    denominator = _all(records)
    return denominator, denominator & records["falls_assessment"].isin(["Assessed", "Referred"])


def kpi7_bone_therapy(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI7, bone therapy recommended.

    "Recommended anti-osteoporosis medication." Numerator ``bone_therapy_recommended`` includes
    a drug; denominator every in-scope record.
    """
    denominator = _all(records)
    return denominator, denominator & records["bone_therapy_recommended_drug"]


def kpi8_strength_balance(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI8, strength and balance exercise by 16 weeks.

    Denominator ``fracture_site`` known and not ``Hip``, and due at 16 weeks; numerator
    ``strength_balance_16wk = Yes``.
    """
    denominator = non_hip_site_known(records) & due(records, ctx.kpi.due_16wk_days, ctx.data_cutoff)
    return denominator, denominator & (records["strength_balance_16wk"] == "Yes")


def _followup_16wk_denominator(records: pd.DataFrame, ctx: Context) -> pd.Series:
    """KPI9 and KPI10: KPI7 numerator, due at 16 weeks, and ``followup_16wk != Died``."""
    return (
        records["bone_therapy_recommended_drug"]
        & due(records, ctx.kpi.due_16wk_days, ctx.data_cutoff)
        & (records["followup_16wk"] != "Died")
    )


def kpi9_monitoring_contact(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI9, monitoring contact at 12–16 weeks.

    Denominator: bone therapy recommended (KPI7 numerator), due at 16 weeks, and
    ``followup_16wk != Died``. Numerator ``followup_16wk = Yes`` and
    ``days(date_followup_16wk)`` within ``followup_16wk_window_days``.
    """
    denominator = _followup_16wk_denominator(records, ctx)
    low, high = ctx.kpi.followup_16wk_window_days
    contact = (records["followup_16wk"] == "Yes") & _days_within(records, "date_followup_16wk", low, high)
    return denominator, denominator & contact


def kpi10_treatment_16wk(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI10, treatment started by 16 weeks.

    Denominator as KPI9; numerator ``treatment_16wk`` includes a drug.
    """
    denominator = _followup_16wk_denominator(records, ctx)
    return denominator, denominator & records["treatment_16wk_drug"]


def kpi11_treatment_52wk(records: pd.DataFrame, ctx: Context) -> Eligibility:
    """KPI11, on treatment at 52 weeks.

    Denominator ``treatment_16wk`` includes a drug, due at 52 weeks, and
    ``followup_52wk != Died``; numerator ``treatment_52wk`` includes a drug.
    """
    denominator = (
        records["treatment_16wk_drug"]
        & due(records, ctx.kpi.due_52wk_days, ctx.data_cutoff)
        & (records["followup_52wk"] != "Died")
    )
    return denominator, denominator & records["treatment_52wk_drug"]


RECORD_KPIS: dict[str, Callable[[pd.DataFrame, Context], Eligibility]] = {
    "KPI3": kpi3_spine,
    "KPI4": kpi4_assessment,
    "KPI5": kpi5_dxa,
    "KPI6": kpi6_falls,
    "KPI7": kpi7_bone_therapy,
    "KPI8": kpi8_strength_balance,
    "KPI9": kpi9_monitoring_contact,
    "KPI10": kpi10_treatment_16wk,
    "KPI11": kpi11_treatment_52wk,
}


def record_flags(records: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Per record, ``<KPI>_den`` and ``<KPI>_num`` booleans for KPI3–KPI11 (and KPI2's count)."""
    flags = {"KPI2_num": _all(records)}
    for kpi_id, function in RECORD_KPIS.items():
        denominator, numerator = function(records, ctx)
        flags[f"{kpi_id}_den"] = denominator.fillna(False).astype(bool)
        flags[f"{kpi_id}_num"] = numerator.fillna(False).astype(bool)
    return pd.DataFrame(flags, index=records.index)


# ---------------------------------------------------------------------------------------------
# KPI1: data completeness of the 17 key fields


def _missing_value(records: pd.DataFrame, column: str) -> pd.Series:
    """Blank, invalid (already blank after validation) or ``Not known``."""
    values = records[column]
    if column in dd.CATEGORIES or column == "fracture_site":
        return values.isna() | (values == "Not known")
    return values.isna()


def _key_field(column: str, applies: Callable[[pd.DataFrame, Context], pd.Series] | None = None):
    def missing(records: pd.DataFrame) -> pd.Series:
        if column in dd.THERAPY_COLUMNS:
            return records[f"{column}_missing"]
        return _missing_value(records, column)

    return column, (applies or (lambda r, c: _all(r))), missing


#: The 17 key fields of KPI1: (field, records it applies to, missing).
KEY_FIELDS = (
    _key_field("sex"),
    _key_field("age_at_fracture"),
    _key_field("care_home"),
    _key_field("date_identified"),
    _key_field("date_assessed"),
    _key_field("admitted"),
    _key_field("fracture_site"),
    _key_field("dxa"),
    _key_field("date_dxa", lambda r, c: r["dxa"].isin(["Ordered", "Recommended"])),
    _key_field("bone_therapy_recommended"),
    _key_field("falls_assessment"),
    _key_field("followup_16wk", lambda r, c: due(r, c.kpi.due_16wk_days, c.data_cutoff)),
    _key_field("date_followup_16wk", lambda r, c: r["followup_16wk"] == "Yes"),
    _key_field("treatment_16wk", lambda r, c: r["followup_16wk"] == "Yes"),
    _key_field(
        "strength_balance_16wk",
        lambda r, c: non_hip_site_known(r) & due(r, c.kpi.due_16wk_days, c.data_cutoff),
    ),
    _key_field("followup_52wk", lambda r, c: due(r, c.kpi.due_52wk_days, c.data_cutoff)),
    _key_field("treatment_52wk", lambda r, c: r["followup_52wk"] == "Yes"),
)
KEY_FIELD_NAMES: tuple[str, ...] = tuple(name for name, _, _ in KEY_FIELDS)


def field_completeness(records: pd.DataFrame, service_codes: list[str], ctx: Context) -> pd.DataFrame:
    """Applicable and missing counts of each key field, for every service.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``field``, ``applicable``, ``missing``, ``pct_missing`` (0–100, NaN when nothing
        applies): 17 rows per service in ``service_codes``, in that order and key-field order.
    """
    parts = []
    for name, applies, missing in KEY_FIELDS:
        applicable = applies(records, ctx).fillna(False).astype(bool)
        counted = pd.DataFrame(
            {
                "code": records["service_code"],
                "applicable": applicable.astype(int),
                "missing": (applicable & missing(records).fillna(True).astype(bool)).astype(int),
            }
        )
        sums = counted.groupby("code").sum().reindex(service_codes, fill_value=0)
        parts.append(sums.assign(field=name).rename_axis("code").reset_index())
    table = pd.concat(parts, ignore_index=True)
    order = {c: i for i, c in enumerate(service_codes)}
    table["service_order"] = table["code"].map(order)
    table["field_order"] = table["field"].map({f: i for i, f in enumerate(KEY_FIELD_NAMES)})
    table = table.sort_values(["service_order", "field_order"]).reset_index(drop=True)
    table["pct_missing"] = np.where(table["applicable"] > 0, 100 * table["missing"] / table["applicable"].where(table["applicable"] > 0), np.nan)
    table["over"] = field_over(table["applicable"], table["missing"], ctx.kpi)
    return table[["code", "field", "applicable", "missing", "pct_missing", "over"]]


def field_over(applicable: pd.Series, missing: pd.Series, kpi: KpiParams) -> pd.Series:
    """Whether a key field is *over* (kpis.md, KPI1): it has an applicable record and
    ``100 × missing > completeness_threshold_pct × applicable``, decided on the counts."""
    return (applicable > 0) & (100 * missing > kpi.completeness_threshold_pct * applicable)


def completeness_by_service(completeness: pd.DataFrame, in_scope: pd.Series, kpi: KpiParams) -> pd.DataFrame:
    """KPI1 per service: fields applicable, fields over the threshold, and whether it meets.

    A field is *over* when it has an applicable record and ``100 × missing > threshold ×
    applicable``; a service meets KPI1 when fewer than ``completeness_max_fields`` are over. A
    service with no in-scope records neither meets nor fails (``meets`` is NA).
    """
    table = completeness.assign(
        counted=completeness["applicable"] > 0,
        over=field_over(completeness["applicable"], completeness["missing"], kpi),
    )
    per = table.groupby("code", sort=False).agg(fields=("counted", "sum"), over=("over", "sum"))
    per["in_scope"] = in_scope.reindex(per.index, fill_value=0)
    meets = per["over"] < kpi.completeness_max_fields
    per["meets"] = pd.Series(meets, dtype="boolean").where(per["in_scope"] > 0, pd.NA)
    return per


# ---------------------------------------------------------------------------------------------
# Turning counts into results


def kpi2_denominator(annual_caseload, months: int) -> int | None:
    """Expected caseload for a period of ``months``: ``floor(c × m / 12 + ½)``, computed exactly."""
    if annual_caseload is None:
        return None
    return math.floor(Fraction(annual_caseload) * months / 12 + Fraction(1, 2))


def band(kpi_id: str, numerator, denominator) -> str:
    """RAG band of an unrounded percentage, compared exactly on the counts; ``none`` for 0/blank."""
    if denominator is None or pd.isna(denominator) or denominator == 0:
        return "none"
    green, amber = BANDS.get(kpi_id, DEFAULT_BAND)
    if 100 * numerator >= green * denominator:
        return "green"
    if amber is not None and 100 * numerator >= amber * denominator:
        return "amber"
    return "red"


def _with_rates(frame: pd.DataFrame, kpi: KpiParams) -> pd.DataFrame:
    """Add ``pct``, Wilson ``ci_low``/``ci_high`` (KPI3–KPI11), ``rag`` and ``low_numbers``.

    Rows that arrive with ``rag`` set (KPI1) keep their ``rag`` and ``low_numbers``.
    """
    num = frame["numerator"].astype("Float64")
    den = frame["denominator"].astype("Float64")
    positive = (den > 0).fillna(False)
    frame["pct"] = (100 * num / den.where(positive)).astype(float)
    interval = frame["kpi_id"].isin(list(RECORD_KPIS)) & positive
    low, high = wilson_interval(
        frame.loc[interval, "numerator"].astype(float).to_numpy(),
        frame.loc[interval, "denominator"].astype(float).to_numpy(),
    )
    frame["ci_low"] = np.nan
    frame["ci_high"] = np.nan
    frame.loc[interval, "ci_low"] = 100 * np.asarray(low, dtype=float)
    frame.loc[interval, "ci_high"] = 100 * np.asarray(high, dtype=float)
    given = frame["rag"].notna()
    frame["rag"] = [
        r if has else band(k, n, d)
        for r, has, k, n, d in zip(frame["rag"], given, frame["kpi_id"], frame["numerator"], frame["denominator"])
    ]
    computed = (positive & (den < kpi.low_numbers_below)).fillna(False).astype(bool)
    frame["low_numbers"] = frame["low_numbers"].where(given, computed).astype(bool)
    return frame


def run_nations(service_nations) -> tuple[str, ...]:
    """The nations a run writes rows for: England and Wales always, and any other nation that a
    service belongs to, in the order of :data:`NATION_CODES`.

    Parameters
    ----------
    service_nations
        The services file's ``nation`` column (validated names, one per service).
    """
    present = set(service_nations)
    return tuple(n for n in NATION_CODES if n in ALWAYS_WRITTEN_NATIONS or n in present)


def national_name(nations) -> str:
    """The national level's name from its nations: "England and Wales", or "England, Wales and
    Northern Ireland" when the services file has a Northern Ireland service (webtool_export.md §5)."""
    nations = list(nations)
    return nations[0] if len(nations) == 1 else f"{', '.join(nations[:-1])} and {nations[-1]}"


#: The national level's name in a run without a Northern Ireland service: for drawing code given
#: no name. Reports read the run's own name from ``kpi_results`` (the NATIONAL row's ``name``).
DEFAULT_NATIONAL_NAME = national_name(ALWAYS_WRITTEN_NATIONS)


def in_nation_order(codes) -> list[str]:
    """Nation codes in the order of :data:`NATION_CODES` (England, Wales, Northern Ireland)."""
    order = {code: i for i, code in enumerate(NATION_CODES.values())}
    return sorted(codes, key=lambda code: (order.get(code, len(order)), code))


def _levels(services: pd.DataFrame) -> pd.DataFrame:
    """One row per reporting unit: national, each nation, each service (with name and nation)."""
    nations = run_nations(services["nation"])
    rows = [("national", NATIONAL, national_name(nations), "")]
    rows += [("nation", NATION_CODES[n], n, n) for n in nations]
    rows += [
        ("service", code, name, nation)
        for code, name, nation in zip(services["service_code"], services["service_name"], services["nation"])
    ]
    return pd.DataFrame(rows, columns=["level", "code", "name", "nation"])


def _unit_members(services: pd.DataFrame) -> dict[str, list[str]]:
    """Service codes making up each national and nation unit."""
    members = {NATIONAL: services["service_code"].tolist()}
    for nation in run_nations(services["nation"]):
        members[NATION_CODES[nation]] = services.loc[services["nation"] == nation, "service_code"].tolist()
    return members


def _record_counts(records: pd.DataFrame, flags: pd.DataFrame, services: pd.DataFrame, by_month: bool, months: list[str]) -> pd.DataFrame:
    """Sum the flags per service (and month), over every service and month, zeros included."""
    keys = ["service_code", "month"] if by_month else ["service_code"]
    summed = flags.astype(int).join(records[keys]).groupby(keys).sum()
    index = (
        pd.MultiIndex.from_product([services["service_code"], months], names=keys)
        if by_month
        else pd.Index(services["service_code"], name="service_code")
    )
    return summed.reindex(index, fill_value=0)


def _long(counts: pd.DataFrame, caseload: pd.Series) -> pd.DataFrame:
    """Counts per service (and month) in long form: KPI2–KPI11 numerator and denominator."""
    parts = []
    index_names = list(counts.index.names)
    for kpi_id in ("KPI2",) + tuple(RECORD_KPIS):
        part = counts.index.to_frame(index=False)
        part["kpi_id"] = kpi_id
        part["numerator"] = counts[f"{kpi_id}_num"].to_numpy()
        if kpi_id == "KPI2":
            part["denominator"] = pd.array(caseload.reindex(part["service_code"]).to_numpy(), dtype="Int64")
        else:
            part["denominator"] = pd.array(counts[f"{kpi_id}_den"].to_numpy(), dtype="Int64")
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["numerator"] = out["numerator"].astype("Int64")
    return out.rename(columns={"service_code": "code"})[["code"] + index_names[1:] + ["kpi_id", "numerator", "denominator"]]


def _aggregate(long: pd.DataFrame, members: dict[str, list[str]], months: list[str] | None) -> pd.DataFrame:
    """Nation and national rows: sums over member services (KPI2 only over those with a caseload).

    Every unit gets every KPI (and month), with zeros where it has no services.
    """
    keys = ["kpi_id"] if months is None else ["month", "kpi_id"]
    kpi_ids = list(long["kpi_id"].unique())
    full = (
        pd.Index(kpi_ids, name="kpi_id")
        if months is None
        else pd.MultiIndex.from_product([months, kpi_ids], names=keys)
    )
    parts = []
    for code, codes in members.items():
        part = long[long["code"].isin(codes)]
        part = part[(part["kpi_id"] != "KPI2") | part["denominator"].notna()]
        summed = part.groupby(keys)[["numerator", "denominator"]].sum().reindex(full, fill_value=0)
        summed = summed.astype("Int64").reset_index()
        summed.insert(0, "code", code)
        parts.append(summed)
    return pd.concat(parts, ignore_index=True)


def compute_kpis(validated, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All eleven KPIs at every level, and KPI2–KPI11 by month.

    Parameters
    ----------
    validated
        The :class:`fls_report.validate.Validated` outcome.
    params
        The run's parameters.

    Returns
    -------
    (kpi_results, monthly_kpis)
        Two DataFrames with the columns of outputs.md §3, sorted as it requires.
    """
    ctx = Context.of(params)
    records = validated.records
    services = validated.services.frame
    flags = record_flags(records, ctx)
    levels = _levels(services)
    members = _unit_members(services)
    months = params.months

    annual = services.set_index("service_code")["annual_caseload"]
    period_caseload = annual.map(lambda c: kpi2_denominator(c, params.months_in_period))
    month_caseload = annual.map(lambda c: kpi2_denominator(c, 1))

    service_long = _long(_record_counts(records, flags, services, False, months), period_caseload)
    totals = pd.concat(
        [service_long, _aggregate(service_long, members, None)], ignore_index=True
    )
    kpi1 = _kpi1_rows(records, services, members, ctx)
    results = pd.concat([kpi1, totals], ignore_index=True).merge(levels, on="code", how="left")
    results["kpi_name"] = results["kpi_id"].map(kpi_names(params.kpi))
    results = _with_rates(results, params.kpi)
    kpi2_blank = (results["kpi_id"] == "KPI2") & results["denominator"].isna()
    results.loc[kpi2_blank, "low_numbers"] = False
    results = in_table_order(results, ["level", "code", "kpi_id"])[RESULT_COLUMNS]

    monthly_service = _long(_record_counts(records, flags, services, True, months), month_caseload)
    monthly = pd.concat(
        [monthly_service, _aggregate(monthly_service, members, months)], ignore_index=True
    ).merge(levels[["code", "level"]], on="code", how="left")
    num = monthly["numerator"].astype("Float64")
    den = monthly["denominator"].astype("Float64")
    monthly["pct"] = (100 * num / den.where(den > 0)).astype(float)
    monthly = in_table_order(monthly, ["level", "code", "kpi_id", "month"])[MONTHLY_COLUMNS]
    return results, monthly


def _kpi1_rows(records: pd.DataFrame, services: pd.DataFrame, members: dict[str, list[str]], ctx: Context) -> pd.DataFrame:
    """KPI1 rows: per service the key fields not over; per nation/national the services meeting."""
    completeness = field_completeness(records, services["service_code"].tolist(), ctx)
    in_scope = records.groupby("service_code").size()
    per = completeness_by_service(completeness, in_scope, ctx.kpi)
    has_records = per["in_scope"] > 0
    rows = pd.DataFrame(
        {
            "code": per.index,
            "kpi_id": "KPI1",
            "numerator": np.where(has_records, per["fields"] - per["over"], 0),
            "denominator": np.where(has_records, per["fields"], 0),
            "rag": np.where(~has_records, "none", np.where(per["meets"].fillna(False), "green", "red")),
            "low_numbers": (has_records & (per["in_scope"] < ctx.kpi.low_numbers_below)).to_numpy(),
        }
    )
    for code, codes in members.items():
        unit = per.loc[per.index.isin(codes) & has_records]
        meeting, counted = int(unit["meets"].fillna(False).sum()), len(unit)
        rows.loc[len(rows)] = {
            "code": code,
            "kpi_id": "KPI1",
            "numerator": meeting,
            "denominator": counted,
            "rag": band("KPI1", meeting, counted),
            "low_numbers": False,
        }
    rows["numerator"] = rows["numerator"].astype("Int64")
    rows["denominator"] = rows["denominator"].astype("Int64")
    return rows


def in_table_order(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sort by level order, code, KPI number (and any further keys) for deterministic tables."""
    order = frame.assign(
        _level=frame["level"].map({lvl: i for i, lvl in enumerate(LEVEL_ORDER)}),
        _kpi=frame["kpi_id"].str[3:].astype(int),
    )
    sort_keys = ["_level", "code", "_kpi"] + [k for k in keys if k not in ("level", "code", "kpi_id")]
    return order.sort_values(sort_keys, kind="stable").drop(columns=["_level", "_kpi"]).reset_index(drop=True)


def with_ranks(results: pd.DataFrame) -> pd.DataFrame:
    """``kpi_results`` with ``rank`` and ``ranked`` (how many services were ranked) on the service
    rows of KPI3–KPI11 with a denominator above 0 (:func:`rank_services`), blank elsewhere."""
    ranks = rank_services(results).set_index(["code", "kpi_id"])
    keys = pd.MultiIndex.from_arrays([results["code"], results["kpi_id"]])
    service = (results["level"] == "service").to_numpy()
    out = results.copy()
    for column in ("rank", "ranked"):
        values = ranks[column].reindex(keys).to_numpy(dtype=float)
        out[column] = pd.array(np.where(service, values, np.nan), dtype="Int64")
    return out


def rank_services(results: pd.DataFrame) -> pd.DataFrame:
    """Rank services on KPI3–KPI11: 1 is the highest unrounded percentage; ties share the better rank.

    Only services with a denominator above 0 are ranked.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``kpi_id``, ``rank`` and ``ranked`` (how many services were ranked on that KPI).
    """
    ranked = results[
        (results["level"] == "service") & results["kpi_id"].isin(list(RECORD_KPIS)) & (results["denominator"] > 0)
    ][["code", "kpi_id", "pct"]].copy()
    ranked["rank"] = ranked.groupby("kpi_id")["pct"].rank(method="min", ascending=False).astype(int)
    ranked["ranked"] = ranked.groupby("kpi_id")["pct"].transform("size").astype(int)
    return ranked[["code", "kpi_id", "rank", "ranked"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# 80/50/80

#: The audit's 80/50/80 goals (kpis.md): identify 80% of the caseload (KPI2), recommend treatment
#: to at least 50% (KPI7), keep 80% of those who start on treatment at 12 months (KPI11).
EIGHTY_FIFTY_EIGHTY: dict[str, int] = {"KPI2": 80, "KPI7": 50, "KPI11": 80}


def eighty_fifty_eighty(results: pd.DataFrame) -> pd.DataFrame:
    """Each service against the 80/50/80 goals: KPI2 >= 80%, KPI7 >= 50%, KPI11 >= 80%.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``name``, ``nation``, ``kpi2_pct``, ``kpi7_pct``, ``kpi11_pct``, ``status``
        (``meets``, ``does not meet``, or ``not assessable`` when any of the three is blank), and
        ``kpi2_met``, ``kpi7_met``, ``kpi11_met``: each goal met or not (blank where that KPI has
        no denominator).
    """
    services = results[results["level"] == "service"]
    wide = services.pivot(index="code", columns="kpi_id", values=["numerator", "denominator", "pct"])
    out = services.drop_duplicates("code")[["code", "name", "nation"]].set_index("code")
    for kpi_id in ("KPI2", "KPI7", "KPI11"):
        out[f"{kpi_id.lower()}_pct"] = wide[("pct", kpi_id)]

    def status(code: str) -> str:
        checks = []
        for kpi_id, goal in EIGHTY_FIFTY_EIGHTY.items():
            numerator, denominator = wide.at[code, ("numerator", kpi_id)], wide.at[code, ("denominator", kpi_id)]
            if pd.isna(denominator) or denominator == 0:
                return "not assessable"
            checks.append(100 * numerator >= goal * denominator)
        return "meets" if all(checks) else "does not meet"

    out["status"] = [status(code) for code in out.index]
    for kpi_id, goal in EIGHTY_FIFTY_EIGHTY.items():
        numerator, denominator = wide[("numerator", kpi_id)], wide[("denominator", kpi_id)]
        met = pd.Series((100 * numerator >= goal * denominator).to_numpy(), index=wide.index, dtype="boolean")
        out[f"{kpi_id.lower()}_met"] = met.where(denominator.notna() & (denominator > 0), pd.NA).reindex(out.index)
    return out.reset_index()


def eighty_fifty_eighty_summary(per_service: pd.DataFrame) -> pd.DataFrame:
    """Services meeting, not meeting and not assessable for 80/50/80, nationally and per nation
    (England and Wales always, Northern Ireland when a service belongs to it), in that order.

    ``per_service`` is :func:`eighty_fifty_eighty`: every service of the services file."""
    rows = []
    nations = run_nations(per_service["nation"])
    units = [(NATIONAL, national_name(nations), per_service)] + [
        (NATION_CODES[n], n, per_service[per_service["nation"] == n]) for n in nations
    ]
    for code, name, part in units:
        counts = part["status"].value_counts()
        rows.append(
            {
                "code": code,
                "name": name,
                "meets": int(counts.get("meets", 0)),
                "does_not_meet": int(counts.get("does not meet", 0)),
                "not_assessable": int(counts.get("not assessable", 0)),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Time from fracture to assessment and to DXA (for the service reports)

TIME_TO_EVENT_COLUMNS = ["level", "code", "event", "days", "count", "records"]
TIME_TO_EVENT_SUMMARY_COLUMNS = ["level", "code", "event", "records", "with_event", "median_days", "q1_days", "q3_days"]
EVENTS = {"assessment": ("KPI4", "date_assessed"), "dxa": ("KPI5", "date_dxa")}


def time_to_event(validated, params: Params) -> pd.DataFrame:
    """Days from fracture to FLS assessment and to DXA, as counts per day, at every level.

    Counts only events on or after the fracture (``days >= 0``) among each KPI's denominator
    (KPI4: in-scope records; KPI5: DXA ordered or recommended). ``records`` is that denominator,
    so a cumulative curve is ``cumsum(count) / records``.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``code``, ``event`` (``assessment``, ``dxa``), ``days``, ``count`` (non-zero
        rows only) and ``records``.
    """
    ctx = Context.of(params)
    records = validated.records
    services = validated.services.frame
    members = _unit_members(services)
    levels = _levels(services).set_index("code")["level"]
    parts = []
    for event, (kpi_id, column) in EVENTS.items():
        denominator, _ = RECORD_KPIS[kpi_id](records, ctx)
        days = days_after_fracture(records, column)
        eligible = pd.DataFrame({"service_code": records["service_code"], "days": days})[denominator.fillna(False)]
        # Count once per service and day, then add services up per unit: filtering the record
        # frame once per unit cost a pass over every record for each of 150+ units.
        records_by_service = eligible.groupby("service_code").size()
        counted_by_service = (
            eligible[eligible["days"] >= 0].astype({"days": int}).groupby(["service_code", "days"]).size()
        )
        for code, codes in list(members.items()) + [(c, [c]) for c in services["service_code"]]:
            in_unit = counted_by_service.index.get_level_values("service_code").isin(codes)
            counted = counted_by_service[in_unit].groupby(level="days").sum().sort_index()
            parts.append(
                pd.DataFrame({"level": levels[code], "code": code, "event": event,
                              "days": counted.index.to_numpy(dtype=np.int64), "count": counted.to_numpy(dtype=np.int64),
                              "records": int(records_by_service.reindex(codes, fill_value=0).sum())})
            )
    out = pd.concat(parts, ignore_index=True)
    out["_level"] = out["level"].map({lvl: i for i, lvl in enumerate(LEVEL_ORDER)})
    out = out.sort_values(["_level", "code", "event", "days"], kind="stable")
    return out[TIME_TO_EVENT_COLUMNS].reset_index(drop=True)


def time_to_event_summary(tte: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Median and interquartile range of days from fracture to each event, at every level and
    for every event of ``tte`` (``time_to_event_summary.csv``).

    Among the records with the event on or after the fracture day (``with_event``); ``records`` is
    the level's denominator. Quantiles are Hyndman & Fan definition 7 on the days expanded one per
    record (:func:`fls_report.stats.weighted_quantiles`), so a median can fall on a half day; blank
    when no record had the event.

    ``tte`` is :func:`time_to_event`: every level and event with at least one eligible record has
    rows (``records`` repeated); a level and event without any has none, and is written here with
    0 records. ``units`` (``level``, ``code``) are every level of the run, in ``kpi_results``' order.
    """
    from fls_report.stats import weighted_quantiles

    rows = []
    units = units[["level", "code"]].drop_duplicates()
    for level, code in zip(units["level"], units["code"]):
        for event in EVENTS:
            part = tte[(tte["code"] == code) & (tte["event"] == event)]
            counted = part[(part["days"] >= 0) & (part["count"] > 0)]
            q1, median, q3 = weighted_quantiles(counted["days"].to_numpy(), counted["count"].to_numpy(), (0.25, 0.5, 0.75))
            rows.append({"level": level, "code": code, "event": event,
                         "records": int(part["records"].max()) if len(part) else 0,
                         "with_event": int(counted["count"].sum()), "median_days": median, "q1_days": q1, "q3_days": q3})
    return pd.DataFrame(rows, columns=TIME_TO_EVENT_SUMMARY_COLUMNS)
