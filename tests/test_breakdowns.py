"""Who gets care: KPIs by patient group (kpis.md, *Breakdowns*; fls_report.breakdowns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from conftest import SERVICES, row, run_kpis
from fls_report.breakdowns import GROUPS, PUBLISHED_COLUMNS, groups_of, kpi_breakdown_tests, kpi_breakdowns
from fls_report.params import load_params
from fls_report.stats import chi2_equal_proportions


def breakdowns_of(tmp_path, rows, services=None, **params):
    validated, results, _ = run_kpis(tmp_path, rows, services, **params)
    return kpi_breakdowns(validated, load_params(tmp_path / "params.yml")), results


def cell(table, code, characteristic, group, kpi_id):
    found = table[(table["code"] == code) & (table["characteristic"] == characteristic) & (table["group"] == group)
                  & (table["kpi_id"] == kpi_id)]
    assert len(found) == 1
    return found.iloc[0]


# ---------------------------------------------------------------------------------------------
# Groups


def test_every_record_falls_in_one_group_of_each_characteristic():
    records = pd.DataFrame({
        "age_at_fracture": pd.array([50, 59, 60, 89, 90, 115, None], dtype="Int64"),
        "sex": ["Female", "Male", "Not known", None, "Female", "Male", None],
        "care_home": ["Yes", "No", "Not known", None, "Yes", "No", "Yes"],
        "fracture_site": ["Hip", "Spine", "Wrist", "Humerus", "Pelvis", "Other", None],
    })
    groups = groups_of(records)
    assert groups["age band"].tolist() == ["50–59", "50–59", "60–69", "80–89", "90+", "90+", "Not known"]
    assert groups["sex"].tolist() == ["Female", "Male", "Not known", "Not known", "Female", "Male", "Not known"]
    assert groups["care home"].tolist()[3] == "Not known"
    assert groups["fracture site"].tolist() == ["Hip", "Spine"] + ["Non-hip non-spine"] * 4 + ["Not known"]
    for characteristic, labels in GROUPS.items():
        assert set(groups[characteristic]) <= set(labels)


# ---------------------------------------------------------------------------------------------
# Counts, by hand


@pytest.fixture
def hand(tmp_path):
    """Five in-scope records of S1 (and none of S2): KPI4 met by the three who were assessed."""
    rows = [
        row(1, age_at_fracture="55", sex="Female", care_home="No", fracture_site="Wrist"),
        row(2, age_at_fracture="72", sex="Male", care_home="No", fracture_site="Spine", date_assessed=""),
        row(3, age_at_fracture="93", sex="Female", care_home="Yes", fracture_site="Hip"),
        row(4, age_at_fracture="", date_of_birth="", sex="", care_home="", fracture_site="Not known", date_assessed=""),
        row(5, age_at_fracture="88", sex="F", care_home="Y", fracture_site="Pelvis"),
    ]
    return breakdowns_of(tmp_path, rows)


@pytest.mark.parametrize("characteristic, expected", [
    ("age band", {"50–59": (1, 1), "60–69": (0, 0), "70–79": (0, 1), "80–89": (1, 1), "90+": (1, 1), "Not known": (0, 1)}),
    ("sex", {"Female": (3, 3), "Male": (0, 1), "Not known": (0, 1)}),
    ("care home", {"Yes": (2, 2), "No": (1, 2), "Not known": (0, 1)}),
    ("fracture site", {"Hip": (1, 1), "Spine": (0, 1), "Non-hip non-spine": (2, 2), "Not known": (0, 1)}),
])
def test_a_hand_computed_case_per_characteristic(hand, characteristic, expected):
    table, _ = hand
    for group, (numerator, denominator) in expected.items():
        found = cell(table, "S1", characteristic, group, "KPI4")
        assert (found["numerator"], found["denominator"]) == (numerator, denominator), group
        national = cell(table, "NATIONAL", characteristic, group, "KPI4")
        assert (national["numerator"], national["denominator"]) == (numerator, denominator)
        empty = cell(table, "S2", characteristic, group, "KPI4")
        assert empty["denominator"] == 0 and np.isnan(empty["pct"])


def test_groups_sum_to_the_kpis_own_counts_at_every_level(hand):
    table, results = hand
    own = results.set_index(["code", "kpi_id"])
    summed = table.groupby(["code", "characteristic", "kpi_id"])[["numerator", "denominator"]].sum()
    for (code, characteristic, kpi_id), counts in summed.iterrows():
        if code not in own.index.get_level_values(0):
            continue  # a region: tested below
        assert counts["numerator"] == own.at[(code, kpi_id), "numerator"], (code, characteristic, kpi_id)
        assert counts["denominator"] == own.at[(code, kpi_id), "denominator"], (code, characteristic, kpi_id)


def test_every_row_is_written_and_rates_are_on_unsuppressed_counts(hand):
    table, _ = hand
    levels = table[["level", "code"]].drop_duplicates()
    assert levels["level"].tolist() == ["national", "nation", "nation", "region", "service", "service"]
    assert levels["code"].tolist() == ["NATIONAL", "ENGLAND", "WALES", "North", "S1", "S2"]
    assert len(table) == len(levels) * sum(len(g) for g in GROUPS.values()) * 9
    row_ = cell(table, "S1", "sex", "Female", "KPI4")
    assert row_["pct"] == 100.0 and row_["ci_low"] == pytest.approx(43.8494, abs=1e-3)  # Wilson, 3/3
    assert bool(row_["low_numbers"])


def test_a_region_sums_its_services_across_nations(tmp_path):
    services = [dict(SERVICES[0], region="West"), dict(SERVICES[1], region="West"),
                dict(SERVICES[0], service_code="S3", service_name="Three", region="")]
    rows = [row(1), row(2, service_code="S2"), row(3, service_code="S3")]
    table, _ = breakdowns_of(tmp_path, rows, services)
    assert sorted(table.loc[table["level"] == "region", "code"].unique()) == ["West"]
    west = cell(table, "West", "sex", "Female", "KPI4")
    assert (west["numerator"], west["denominator"]) == (2, 2)  # S1 (England) and S2 (Wales); not S3


# ---------------------------------------------------------------------------------------------
# Disclosure


def test_disclosure_below_the_national_level(tmp_path):
    rows = [row(i, sex="Female" if i <= 20 else "Male", age_at_fracture="70") for i in range(1, 24)]
    table, _ = breakdowns_of(tmp_path, rows)
    female, male = cell(table, "S1", "sex", "Female", "KPI4"), cell(table, "S1", "sex", "Male", "KPI4")
    unknown = cell(table, "S1", "sex", "Not known", "KPI4")
    assert (female["denominator"], male["denominator"], unknown["denominator"]) == (20, 3, 0)
    assert male["denominator_shown"] == "*" and np.isnan(male["pct_shown"])
    # One group suppressed: the next smallest denominator (Not known, 0) goes too, so 3 cannot be
    # recovered as 23 - 20 - 0.
    assert unknown["denominator_shown"] == "*" and female["denominator_shown"] == "20"
    assert female["pct_shown"] == 100.0
    national = cell(table, "NATIONAL", "sex", "Male", "KPI4")
    assert national["denominator_shown"] == "3" and national["pct_shown"] == 100.0


def test_counts_are_rounded_to_five_and_percentages_to_one_decimal(tmp_path):
    rows = [row(i, date_assessed="" if i % 3 == 0 else "2016-03-10") for i in range(1, 23)]
    table, _ = breakdowns_of(tmp_path, rows)
    female = cell(table, "S1", "sex", "Female", "KPI4")
    assert (female["numerator"], female["denominator"]) == (15, 22)
    assert (female["numerator_shown"], female["denominator_shown"]) == ("15", "20")
    assert female["pct_shown"] == 68.2 and female["pct"] == pytest.approx(100 * 15 / 22)


def test_the_published_columns_hold_no_raw_count():
    assert "numerator" not in PUBLISHED_COLUMNS and "denominator" not in PUBLISHED_COLUMNS
    assert {"numerator_shown", "denominator_shown", "pct_shown"} <= set(PUBLISHED_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Tests of equal proportions


def test_chi_squared_matches_scipy():
    x, n = np.array([30, 45, 12]), np.array([100, 110, 60])
    found = chi2_equal_proportions(x, n)
    expected = chi2_contingency(np.vstack([x, n - x]), correction=False)
    assert found["chi2"] == pytest.approx(expected.statistic, rel=1e-12)
    assert found["p_value"] == pytest.approx(expected.pvalue, rel=1e-12) and found["df"] == 2
    assert found["note"] == ""


@pytest.mark.parametrize("x, n, note", [
    ([3], [10], "fewer than two groups"),
    ([1, 4], [10, 12], "expected count is below 5"),
    ([10, 12], [10, 12], "same outcome"),
])
def test_chi_squared_is_blank_with_its_reason(x, n, note):
    found = chi2_equal_proportions(x, n)
    assert np.isnan(found["chi2"]) and found["df"] is None and np.isnan(found["p_value"]) and note in found["note"]


def test_tests_cover_the_known_groups_of_national_nation_and_region_levels(hand):
    table, _ = hand
    tests = kpi_breakdown_tests(table)
    assert set(tests["level"]) == {"national", "nation", "region"}
    national = tests[(tests["code"] == "NATIONAL") & (tests["characteristic"] == "sex") & (tests["kpi_id"] == "KPI4")]
    assert national.iloc[0]["groups"] == 2 and "expected count" in national.iloc[0]["note"]
    wales = tests[(tests["code"] == "WALES") & (tests["kpi_id"] == "KPI4") & (tests["characteristic"] == "sex")]
    assert wales.iloc[0]["groups"] == 0 and "fewer than two" in wales.iloc[0]["note"]
