"""Each KPI on tiny hand-made extracts, at every boundary of kpis.md."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from conftest import SERVICES, counts, result, row, run_kpis
from fls_report import kpis
from fls_report.kpis import band, eighty_fifty_eighty, eighty_fifty_eighty_summary, kpi2_denominator


def iso(day: dt.date) -> str:
    return day.isoformat()


FRACTURE = dt.date(2016, 3, 1)


def after(days: int) -> str:
    return iso(FRACTURE + dt.timedelta(days=days))


# --------------------------------------------------------------------------------------------
# KPI3 to KPI7


def test_full_record_meets_every_record_kpi(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1)])
    for kpi_id in ("KPI4", "KPI5", "KPI6", "KPI7", "KPI8", "KPI9", "KPI10", "KPI11"):
        assert counts(results, kpi_id) == (1, 1), kpi_id
    assert counts(results, "KPI3") == (0, 1)


def test_kpi3_spine_counts_spine_only(tmp_path):
    rows = [row(1, fracture_site="Spine"), row(2, fracture_site="spine"), row(3, fracture_site="Hip"),
            row(4, fracture_site="")]
    _, results, _ = run_kpis(tmp_path, rows)
    assert counts(results, "KPI3") == (2, 4)


@pytest.mark.parametrize(
    "days, met",
    [(0, True), (90, True), (91, False), (-1, False)],
    ids=["day 0", "day 90", "day 91", "day -1 (before fracture)"],
)
def test_kpi4_assessment_window(tmp_path, days, met):
    _, results, _ = run_kpis(tmp_path, [row(1, date_assessed=after(days))])
    assert counts(results, "KPI4") == (int(met), 1)


def test_kpi4_blank_assessment_date_not_met(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1, date_assessed="")])
    assert counts(results, "KPI4") == (0, 1)


@pytest.mark.parametrize(
    "dxa, days, expected",
    [
        ("Ordered", 90, (1, 1)),
        ("Recommended", 90, (1, 1)),
        ("Ordered", 91, (0, 1)),
        ("Ordered", -10, (0, 1)),  # an earlier scan: valid value, does not meet the 90 days
        ("Not ordered", 10, (0, 0)),
        ("Not known", 10, (0, 0)),
        ("", 10, (0, 0)),
    ],
)
def test_kpi5_dxa_denominator_and_window(tmp_path, dxa, days, expected):
    validated, results, _ = run_kpis(tmp_path, [row(1, dxa=dxa, date_dxa=after(days))])
    assert counts(results, "KPI5") == expected
    assert not (validated.issues["field"] == "date_dxa").any(), "a DXA before the fracture is not an issue"


@pytest.mark.parametrize(
    "value, met",
    [("Assessed", True), ("Referred", True), ("referred", True), ("Not assessed", False),
     ("Not appropriate", False), ("Not known", False), ("", False), ("NA", False)],
)
def test_kpi6_falls(tmp_path, value, met):
    _, results, _ = run_kpis(tmp_path, [row(1, falls_assessment=value)])
    assert counts(results, "KPI6") == (int(met), 1)


@pytest.mark.parametrize(
    "value, met",
    [("Alendronate", True), ("Not appropriate;Denosumab", True), ("Informed decline", False),
     ("Not known", False), ("", False), ("Aspirin", False), ("HRT; Aspirin", True), ("other drug", True)],
)
def test_kpi7_bone_therapy_includes_a_drug(tmp_path, value, met):
    _, results, _ = run_kpis(tmp_path, [row(1, bone_therapy_recommended=value)])
    assert counts(results, "KPI7") == (int(met), 1)


# --------------------------------------------------------------------------------------------
# Due dates, KPI8 to KPI11

CUTOFF = dt.date(2017, 1, 31)


@pytest.mark.parametrize("offset, due", [(0, True), (1, False)], ids=["due on cut-off", "one day late"])
def test_due_at_16_weeks(tmp_path, offset, due):
    fracture = CUTOFF - dt.timedelta(days=112) + dt.timedelta(days=offset)
    record = row(
        1, date_fracture=iso(fracture), date_identified=iso(fracture), date_assessed=iso(fracture),
        date_dxa=iso(fracture), date_followup_16wk=iso(fracture + dt.timedelta(days=100)),
        date_followup_52wk="", followup_52wk="",
    )
    if not due:
        record["date_followup_16wk"] = ""
    _, results, _ = run_kpis(tmp_path, [record], data_cutoff=iso(CUTOFF))
    assert counts(results, "KPI8")[1] == int(due)
    assert counts(results, "KPI9")[1] == int(due)
    assert counts(results, "KPI10")[1] == int(due)


@pytest.mark.parametrize("offset, due", [(0, True), (1, False)], ids=["due on cut-off", "one day late"])
def test_due_at_52_weeks(tmp_path, offset, due):
    cutoff = dt.date(2017, 6, 30)
    fracture = cutoff - dt.timedelta(days=392) + dt.timedelta(days=offset)
    record = row(
        1, date_fracture=iso(fracture), date_identified=iso(fracture), date_assessed=iso(fracture),
        date_dxa=iso(fracture), date_followup_16wk=iso(fracture + dt.timedelta(days=100)),
        date_followup_52wk=iso(fracture + dt.timedelta(days=360)),
    )
    _, results, _ = run_kpis(tmp_path, [record], data_cutoff=iso(cutoff))
    assert counts(results, "KPI11") == (int(due), int(due))


@pytest.mark.parametrize(
    "site, in_denominator",
    [("Wrist", True), ("Spine", True), ("Other", True), ("Hip", False), ("Not known", False),
     ("", False), ("Knee", False)],
)
def test_kpi8_non_hip_with_known_site(tmp_path, site, in_denominator):
    _, results, _ = run_kpis(tmp_path, [row(1, fracture_site=site)])
    assert counts(results, "KPI8") == (int(in_denominator), int(in_denominator))


def test_kpi8_numerator_needs_yes(tmp_path):
    rows = [row(1), row(2, strength_balance_16wk="No"), row(3, strength_balance_16wk="Not appropriate"),
            row(4, strength_balance_16wk="y")]
    _, results, _ = run_kpis(tmp_path, rows)
    assert counts(results, "KPI8") == (2, 4)


@pytest.mark.parametrize(
    "days, met",
    [(83, False), (84, True), (112, True), (113, False)],
    ids=["day 83", "day 84", "day 112", "day 113"],
)
def test_kpi9_contact_window_edges(tmp_path, days, met):
    _, results, _ = run_kpis(tmp_path, [row(1, date_followup_16wk=after(days))])
    assert counts(results, "KPI9") == (int(met), 1)


def test_kpi9_window_is_a_parameter(tmp_path):
    _, results, _ = run_kpis(
        tmp_path, [row(1, date_followup_16wk=after(83))], kpi={"followup_16wk_window_days": "[80, 90]"}
    )
    assert counts(results, "KPI9") == (1, 1)


def test_kpi9_needs_followup_yes(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1, followup_16wk="No", date_followup_16wk=after(100))])
    assert counts(results, "KPI9") == (0, 1)


def test_kpi9_kpi10_denominator_needs_a_drug_recommended(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1, bone_therapy_recommended="Not appropriate")])
    assert counts(results, "KPI9") == (0, 0)
    assert counts(results, "KPI10") == (0, 0)


def test_died_at_16_weeks_leaves_kpi9_and_kpi10(tmp_path):
    rows = [row(1, followup_16wk="Died", date_followup_16wk=""), row(2)]
    _, results, _ = run_kpis(tmp_path, rows)
    assert counts(results, "KPI9") == (1, 1)
    assert counts(results, "KPI10") == (1, 1)


def test_died_at_52_weeks_leaves_kpi11(tmp_path):
    rows = [row(1, followup_52wk="Died", treatment_52wk=""), row(2), row(3, treatment_52wk="Not on treatment")]
    _, results, _ = run_kpis(tmp_path, rows)
    assert counts(results, "KPI11") == (1, 2)


def test_kpi10_and_kpi11_use_drug_lists(tmp_path):
    rows = [row(1), row(2, treatment_16wk="Not started", treatment_52wk="Not known"),
            row(3, treatment_16wk="Zoledronate;zoledronate", treatment_52wk="Not on treatment")]
    _, results, _ = run_kpis(tmp_path, rows)
    assert counts(results, "KPI10") == (2, 3)
    assert counts(results, "KPI11") == (1, 2)


# --------------------------------------------------------------------------------------------
# Denominator 0, percentages, intervals, bands, low numbers


def test_denominator_zero_gives_blank_pct_and_band_none(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1)])
    empty = result(results, "KPI4", "S2")
    assert empty["denominator"] == 0 and math.isnan(empty["pct"]) and empty["rag"] == "none"
    assert math.isnan(empty["ci_low"]) and not empty["low_numbers"]
    nation = result(results, "KPI4", "WALES")
    assert nation["denominator"] == 0 and nation["rag"] == "none"


def test_pct_interval_band_and_low_numbers(tmp_path):
    rows = [row(i, date_assessed="" if i > 7 else after(1)) for i in range(1, 11)]
    _, results, _ = run_kpis(tmp_path, rows)
    kpi4 = result(results, "KPI4")
    assert (kpi4["numerator"], kpi4["denominator"]) == (7, 10)
    assert kpi4["pct"] == pytest.approx(70.0)
    low, high = proportion_confint(7, 10, alpha=0.05, method="wilson")  # independent implementation
    assert kpi4["ci_low"] == pytest.approx(100 * low, abs=1e-9)
    assert kpi4["ci_high"] == pytest.approx(100 * high, abs=1e-9)
    assert kpi4["rag"] == "amber"
    assert not kpi4["low_numbers"]
    nine = run_kpis(tmp_path, rows[:9])[1]
    assert result(nine, "KPI4")["low_numbers"] == True  # noqa: E712


@pytest.mark.parametrize(
    "kpi_id, numerator, denominator, expected",
    [
        ("KPI4", 80, 100, "green"), ("KPI4", 79, 100, "amber"), ("KPI4", 50, 100, "amber"),
        ("KPI4", 49, 100, "red"), ("KPI3", 20, 100, "green"), ("KPI3", 10, 100, "amber"),
        ("KPI3", 9, 100, "red"), ("KPI7", 50, 100, "green"), ("KPI7", 49, 100, "red"),
        ("KPI2", 150, 100, "green"), ("KPI4", 0, 0, "none"), ("KPI2", 5, None, "none"),
        ("KPI4", 4, 5, "green"), ("KPI4", 2, 3, "amber"),
    ],
)
def test_band_edges(kpi_id, numerator, denominator, expected):
    assert band(kpi_id, numerator, denominator) == expected


# --------------------------------------------------------------------------------------------
# KPI1


def _completeness_rows(missing_sex: int, total: int = 5) -> list[dict]:
    return [row(i, sex="" if i <= missing_sex else "Male") for i in range(1, total + 1)]


@pytest.mark.parametrize("missing, over", [(1, False), (2, True)], ids=["exactly 20%", "40%"])
def test_kpi1_field_over_only_above_20_percent(tmp_path, missing, over):
    validated, results, _ = run_kpis(tmp_path, _completeness_rows(missing))
    kpi1 = result(results, "KPI1")
    assert kpi1["denominator"] == 17
    assert kpi1["numerator"] == 17 - int(over)


def _blank(fields: list[str]) -> dict:
    return {f: "" for f in fields}


@pytest.mark.parametrize("over, meets", [(4, True), (5, False)], ids=["4 fields over", "exactly 5 fields over"])
def test_kpi1_meets_with_fewer_than_five_fields_over(tmp_path, over, meets):
    fields = ["sex", "care_home", "admitted", "falls_assessment", "date_identified"][:over]
    _, results, _ = run_kpis(tmp_path, [row(1, **_blank(fields))])
    kpi1 = result(results, "KPI1")
    assert (kpi1["numerator"], kpi1["denominator"]) == (17 - over, 17)
    assert kpi1["rag"] == ("green" if meets else "red")
    national = result(results, "KPI1", "NATIONAL")
    assert (national["numerator"], national["denominator"]) == (int(meets), 1)


def test_kpi1_counts_fields_only_over_applicable_records(tmp_path):
    # No DXA ordered: date_dxa applies to nothing; followup 'No': date/treatment at 16 weeks
    # apply to nothing; not due at 52 weeks (cut-off early): followup_52wk applies to nothing.
    record = row(1, dxa="Not ordered", date_dxa="", followup_16wk="No", date_followup_16wk="",
                 treatment_16wk="", followup_52wk="", date_followup_52wk="", treatment_52wk="")
    _, results, _ = run_kpis(tmp_path, [record], data_cutoff="2017-01-31")
    assert counts(results, "KPI1") == (12, 12)


def test_kpi1_not_known_counts_as_missing(tmp_path):
    # 'U' is an alias for sex only: for care_home it is an invalid value, so blank, so missing.
    validated, results, _ = run_kpis(tmp_path, [row(1, sex="Not known", care_home="U", admitted="not KNOWN")])
    assert counts(results, "KPI1") == (14, 17)
    assert validated.issues[["field", "rule"]].values.tolist() == [["care_home", "invalid value"]]


def test_kpi1_service_without_records_is_none_and_left_out(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1)])
    empty = result(results, "KPI1", "S2")
    assert (empty["numerator"], empty["denominator"], empty["rag"]) == (0, 0, "none")
    wales = result(results, "KPI1", "WALES")
    assert (wales["numerator"], wales["denominator"], wales["rag"]) == (0, 0, "none")
    assert counts(results, "KPI1", "NATIONAL") == (1, 1)


def test_kpi1_low_numbers_uses_in_scope_records(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(i) for i in range(1, 4)])
    assert result(results, "KPI1")["low_numbers"] == True  # noqa: E712
    assert result(results, "KPI1", "NATIONAL")["low_numbers"] == False  # noqa: E712


# --------------------------------------------------------------------------------------------
# KPI2


def test_kpi2_from_expected_caseload_and_from_hip_fractures(tmp_path):
    rows = [row(1), row(2, service_code="S2"), row(3, service_code="S2")]
    _, results, _ = run_kpis(tmp_path, rows)
    assert counts(results, "KPI2", "S1") == (1, 120)
    assert counts(results, "KPI2", "S2") == (2, 50)  # 5 × 10 hip fractures
    assert counts(results, "KPI2", "NATIONAL") == (3, 170)
    assert result(results, "KPI2", "S1")["rag"] == "red"


def test_kpi2_without_caseload_is_blank_and_left_out_of_totals(tmp_path):
    services = [dict(SERVICES[0]), dict(SERVICES[1], hip_fractures="")]
    rows = [row(1), row(2, service_code="S2")]
    _, results, _ = run_kpis(tmp_path, rows, services)
    s2 = result(results, "KPI2", "S2")
    assert s2["numerator"] == 1 and pd.isna(s2["denominator"]) and math.isnan(s2["pct"])
    assert s2["rag"] == "none" and s2["low_numbers"] == False  # noqa: E712
    assert counts(results, "KPI2", "NATIONAL") == (1, 120)
    assert counts(results, "KPI2", "WALES") == (0, 0)


@pytest.mark.parametrize(
    "caseload, months, expected",
    [(Decimal(120), 12, 120), (Decimal(25), 6, 13), (Decimal(30), 1, 3), (Decimal(18), 1, 2),
     (Decimal("12.5"), 12, 13), (Decimal("0.1"), 3, 0), (None, 12, None)],
)
def test_kpi2_denominator_rounds_halves_up_exactly(caseload, months, expected):
    assert kpi2_denominator(caseload, months) == expected


def test_kpi2_period_of_six_months(tmp_path):
    _, results, monthly = run_kpis(tmp_path, [row(1)], period_end="2016-06-30")
    assert counts(results, "KPI2", "S1") == (1, 60)
    march = monthly[(monthly["code"] == "S1") & (monthly["kpi_id"] == "KPI2") & (monthly["month"] == "2016-03")]
    assert march[["numerator", "denominator"]].iloc[0].tolist() == [1, 10]
    assert sorted(monthly["month"].unique()) == [f"2016-{m:02d}" for m in range(1, 7)]


# --------------------------------------------------------------------------------------------
# Levels, monthly series, 80/50/80


def test_every_level_and_service_has_all_eleven_kpis(tmp_path):
    _, results, monthly = run_kpis(tmp_path, [row(1)])
    assert results.groupby("code").size().to_dict() == {"NATIONAL": 11, "ENGLAND": 11, "WALES": 11, "S1": 11, "S2": 11}
    assert results["level"].tolist()[:11] == ["national"] * 11
    assert results["kpi_id"].tolist()[:11] == [f"KPI{i}" for i in range(1, 12)]
    assert len(monthly) == 5 * 10 * 12
    assert set(monthly["kpi_id"]) == {f"KPI{i}" for i in range(2, 12)}


def test_nation_and_national_are_sums_over_services(tmp_path):
    rows = [row(1), row(2, date_assessed=""), row(3, service_code="S2"), row(4, service_code="S2", date_assessed="")]
    _, results, _ = run_kpis(tmp_path, rows)
    assert counts(results, "KPI4", "ENGLAND") == (1, 2)
    assert counts(results, "KPI4", "WALES") == (1, 2)
    assert counts(results, "KPI4", "NATIONAL") == (2, 4)


def test_monthly_series_by_month_of_fracture(tmp_path):
    rows = [row(1), row(2, date_fracture="2016-07-15", date_identified="2016-07-15", date_assessed="2016-07-16",
                         date_dxa="2016-08-01", date_followup_16wk="2016-10-20", date_followup_52wk="2017-06-01")]
    _, _, monthly = run_kpis(tmp_path, rows)
    s1 = monthly[(monthly["code"] == "S1") & (monthly["kpi_id"] == "KPI4")].set_index("month")
    assert s1.loc["2016-03", "numerator"] == 1 and s1.loc["2016-07", "numerator"] == 1
    assert s1.loc["2016-05", "denominator"] == 0 and math.isnan(s1.loc["2016-05", "pct"])


def test_eighty_fifty_eighty(tmp_path):
    services = [dict(SERVICES[0], expected_caseload="1"), dict(SERVICES[1], hip_fractures="")]
    rows = [row(1), row(2, service_code="S2")]
    _, results, _ = run_kpis(tmp_path, rows, services)
    per_service = eighty_fifty_eighty(results).set_index("code")
    assert per_service.loc["S1", "status"] == "meets"
    assert per_service.loc["S2", "status"] == "not assessable"
    summary = eighty_fifty_eighty_summary(per_service.reset_index()).set_index("code")
    assert summary.loc["NATIONAL", ["meets", "does_not_meet", "not_assessable"]].tolist() == [1, 0, 1]
    assert summary.loc["WALES", ["meets", "does_not_meet", "not_assessable"]].tolist() == [0, 0, 1]


# --------------------------------------------------------------------------------------------
# Time to assessment and DXA


def test_time_to_event_counts_days_at_or_after_fracture(tmp_path):
    from fls_report.kpis import time_to_event
    from fls_report.params import load_params

    rows = [row(1, date_assessed=after(3)), row(2, date_assessed=after(3)), row(3, date_assessed=""),
            row(4, date_assessed=after(120), dxa="Not ordered"), row(5, service_code="S2", date_assessed=after(0))]
    validated, _, _ = run_kpis(tmp_path, rows)
    table = time_to_event(validated, load_params(tmp_path / "params.yml"))
    s1 = table.query("code == 'S1' and event == 'assessment'")
    assert s1[["days", "count", "records"]].values.tolist() == [[3, 2, 4], [120, 1, 4]]
    national = table.query("code == 'NATIONAL' and event == 'assessment'")
    assert national[["days", "count", "records"]].values.tolist() == [[0, 1, 5], [3, 2, 5], [120, 1, 5]]
    dxa = table.query("code == 'S1' and event == 'dxa'")
    assert dxa["records"].unique().tolist() == [3]


# --------------------------------------------------------------------------------------------
# Nations (webtool_export.md §5): which nations a run has, and the national level's name


@pytest.mark.parametrize("services, nations, name", [
    (["England", "Wales"], ("England", "Wales"), "England and Wales"),
    (["England", "England"], ("England", "Wales"), "England and Wales"),
    ([], ("England", "Wales"), "England and Wales"),
    (["Northern Ireland", "England"], ("England", "Wales", "Northern Ireland"), "England, Wales and Northern Ireland"),
])
def test_run_nations_and_national_name(services, nations, name):
    from fls_report.kpis import national_name, run_nations

    assert run_nations(pd.Series(services, dtype=object)) == nations
    assert national_name(nations) == name


def test_nation_codes_in_report_order():
    from fls_report.kpis import DEFAULT_NATIONAL_NAME, NATION_NAMES, in_nation_order

    assert in_nation_order(["WALES", "NORTHERN_IRELAND", "ENGLAND"]) == ["ENGLAND", "WALES", "NORTHERN_IRELAND"]
    assert NATION_NAMES["NORTHERN_IRELAND"] == "Northern Ireland"
    assert DEFAULT_NATIONAL_NAME == "England and Wales"


def test_northern_ireland_service_adds_its_nation_and_renames_the_national_level(tmp_path):
    services = [*SERVICES, dict(SERVICES[0], service_code="N1", service_name="Service Antrim", nation="Northern Ireland")]
    _, results, monthly = run_kpis(tmp_path, [row(1), row(2, service_code="N1", date_assessed="")], services)
    assert results.groupby("code").size().to_dict() == {"NATIONAL": 11, "ENGLAND": 11, "WALES": 11,
                                                        "NORTHERN_IRELAND": 11, "S1": 11, "S2": 11, "N1": 11}
    assert result(results, "KPI4", "NATIONAL")["name"] == "England, Wales and Northern Ireland"
    assert counts(results, "KPI4", "NORTHERN_IRELAND") == (0, 1) and counts(results, "KPI4", "NATIONAL") == (1, 2)
    assert len(monthly) == 7 * 10 * 12


def test_kpi_names_state_the_runs_windows(tmp_path):
    from fls_report.kpis import KPI_NAMES, kpi_names
    from fls_report.params import KpiParams

    assert KPI_NAMES["KPI4"] == "FLS assessment within 90 days" and KPI_NAMES["KPI9"] == "Monitoring contact at 12–16 weeks"
    assert KPI_NAMES["KPI8"] == "Strength and balance by 16 weeks" and KPI_NAMES["KPI11"] == "On treatment at 52 weeks"
    names = kpi_names(KpiParams(assessment_days=60, dxa_days=45, due_16wk_days=100, followup_16wk_window_days=(70, 98)))
    assert names["KPI4"] == "FLS assessment within 60 days" and names["KPI5"] == "DXA within 45 days"
    assert names["KPI8"] == "Strength and balance by 100 days" and names["KPI9"] == "Monitoring contact at 10–14 weeks"
    _, results, _ = run_kpis(tmp_path, [row(1)], kpi={"assessment_days": 60})
    assert set(results.loc[results["kpi_id"] == "KPI4", "kpi_name"]) == {"FLS assessment within 60 days"}


# ---------------------------------------------------------------------------------------------
# Time-to-event summaries (the medians and IQRs the charts and pages show)

from test_charts import _tte_rows, tte  # noqa: E402,F401  (the time_to_event fixture and row helper)


def _summary_row(summary: pd.DataFrame, code: str, event: str) -> pd.Series:
    rows = summary[(summary["code"] == code) & (summary["event"] == event)]
    assert len(rows) == 1
    return rows.iloc[0]


UNIT_X = pd.DataFrame({"level": ["service"], "code": ["X"]})


@pytest.mark.parametrize("seed", range(6))
def test_time_to_event_summary_matches_numpy_on_expanded_days(seed):
    rng = np.random.default_rng(seed)
    days = np.sort(rng.choice(np.arange(0, 200), size=rng.integers(1, 25), replace=False))
    counts = rng.integers(1, 6, size=len(days))
    table = pd.DataFrame(_tte_rows("service", "X", "dxa", zip(days, counts), int(counts.sum()) + 4))
    summary = _summary_row(kpis.time_to_event_summary(table.sample(frac=1, random_state=seed), UNIT_X), "X", "dxa")
    expanded = np.repeat(days, counts)
    q1, median, q3 = np.percentile(expanded, [25, 50, 75])
    assert summary["q1_days"] == pytest.approx(q1, abs=1e-9)
    assert summary["median_days"] == pytest.approx(median, abs=1e-9)
    assert summary["q3_days"] == pytest.approx(q3, abs=1e-9)
    assert summary["with_event"] == len(expanded)
    assert summary["records"] == int(counts.sum()) + 4


def test_time_to_event_summary_small_cases(tte):  # noqa: F811  (the fixture)
    one = pd.DataFrame(_tte_rows("service", "X", "assessment", [(7, 1)], 3))
    row = _summary_row(kpis.time_to_event_summary(one, UNIT_X), "X", "assessment")
    assert (row["median_days"], row["q1_days"], row["q3_days"], row["with_event"], row["records"]) == (7, 7, 7, 1, 3)
    two = pd.DataFrame(_tte_rows("service", "X", "assessment", [(4, 1), (9, 1)], 2))
    assert _summary_row(kpis.time_to_event_summary(two, UNIT_X), "X", "assessment")["median_days"] == 6.5
    nobody = pd.DataFrame({"level": ["service"], "code": ["nobody"]})
    none = _summary_row(kpis.time_to_event_summary(tte, nobody), "nobody", "assessment")
    assert none["with_event"] == 0 and none["records"] == 0 and np.isnan(none["median_days"])
