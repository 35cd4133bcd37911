"""Row handling (data_dictionary.md §2): every rejection, exclusion and field-level rule."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SERVICES, make_run, row, run_kpis
from fls_report import dictionary as dd
from fls_report.errors import InputError
from fls_report.params import load_params
from fls_report.quality import record_accounting
from fls_report.validate import (
    nhs_check_digit_ok,
    nhs_number_checks,
    nhs_number_digits,
    parse_date,
    read_services,
    validate,
)


def states(validated) -> list[tuple[str, str]]:
    return list(zip(validated.row_states["state"], validated.row_states["reason"]))


def outcome(tmp_path, rows, services=None, **params):
    return run_kpis(tmp_path, rows, services, **params)[0]


# --------------------------------------------------------------------------------------------
# Rejections


def test_missing_record_id(tmp_path):
    validated = outcome(tmp_path, [row(1, record_id="  "), row(2)])
    assert states(validated) == [("rejected", "missing record_id"), ("included", "")]


def test_conflicting_record_id_rejects_every_row_with_that_id(tmp_path):
    rows = [row(1), row(1, sex="Male"), row(1), row(2)]
    validated = outcome(tmp_path, rows)
    assert states(validated) == [("rejected", "conflicting record_id")] * 3 + [("included", "")]


def test_duplicate_record_keeps_the_first_copy(tmp_path):
    rows = [row(1), row(2), row(1, sex=" Female "), row(1)]  # trimmed copies are copies
    validated = outcome(tmp_path, rows)
    assert states(validated) == [("included", ""), ("included", ""), ("rejected", "duplicate record"),
                                 ("rejected", "duplicate record")]


def test_first_copy_goes_on_to_the_next_checks(tmp_path):
    rows = [row(1, service_code="NOPE"), row(1, service_code="NOPE")]
    validated = outcome(tmp_path, rows)
    assert states(validated) == [("rejected", "unknown service"), ("rejected", "duplicate record")]


@pytest.mark.parametrize("code", ["", "s1", "S9", "029"])
def test_unknown_service(tmp_path, code):
    validated = outcome(tmp_path, [row(1, service_code=code)])
    assert states(validated) == [("rejected", "unknown service")]


@pytest.mark.parametrize("value", ["", "31/02/2016", "2016-13-01", "42430", "NA", "2016/03/01", "1-3-2016"])
def test_invalid_fracture_date(tmp_path, value):
    validated = outcome(tmp_path, [row(1, date_fracture=value)])
    assert states(validated) == [("rejected", "invalid fracture date")]


def test_fracture_after_cutoff(tmp_path):
    rows = [row(1, date_fracture="2017-07-01"), row(2, date_fracture="2017-06-30")]
    validated = outcome(tmp_path, rows)
    assert states(validated) == [("rejected", "fracture after data cut-off"), ("excluded", "outside audit period")]


def test_rejection_order_first_reason_applies(tmp_path):
    rows = [row(1, service_code="", date_fracture="")]
    validated = outcome(tmp_path, rows)
    assert states(validated) == [("rejected", "unknown service")]


def test_codes_are_text_with_leading_zeros(tmp_path):
    services = [dict(SERVICES[0], service_code="029"), SERVICES[1]]
    validated, results, _ = run_kpis(tmp_path, [row(1, service_code="029"), row(2, service_code="29")], services)
    assert states(validated) == [("included", ""), ("rejected", "unknown service")]
    assert "029" in set(results["code"])


# --------------------------------------------------------------------------------------------
# Exclusions


def test_outside_audit_period(tmp_path):
    rows = [row(1, date_fracture="2015-12-31"), row(2, date_fracture="2016-01-01"), row(3, date_fracture="2016-12-31")]
    validated = outcome(tmp_path, rows)
    assert [s for s, _ in states(validated)] == ["excluded", "included", "included"]


@pytest.mark.parametrize(
    "age, born, state",
    [
        ("49", "", "excluded"),
        ("50", "", "included"),
        ("", "1966-03-02", "excluded"),  # derived: 49 on 2016-03-01
        ("", "1966-03-01", "included"),  # 50th birthday on the fracture date
        ("", "", "included"),  # age unknown stays in
        ("72.0", "", "included"),
        ("abc", "1990-01-01", "excluded"),  # invalid given age: derived from date of birth
    ],
)
def test_aged_under_50(tmp_path, age, born, state):
    validated = outcome(tmp_path, [row(1, age_at_fracture=age, date_of_birth=born)])
    expected = ("excluded", "aged under 50") if state == "excluded" else ("included", "")
    assert states(validated) == [expected]


def test_period_exclusion_comes_before_age(tmp_path):
    validated = outcome(tmp_path, [row(1, date_fracture="2015-06-01", age_at_fracture="40")])
    assert states(validated) == [("excluded", "outside audit period")]


def test_unknown_age_counted_missing(tmp_path):
    validated = outcome(tmp_path, [row(1, age_at_fracture="", date_of_birth="")])
    assert validated.records["age_at_fracture"].isna().all()


# --------------------------------------------------------------------------------------------
# Field-level rules


def issues_of(validated) -> list[tuple[str, str]]:
    return list(zip(validated.issues["field"], validated.issues["rule"]))


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"sex": "Woman"}, [("sex", "invalid value")]),
        ({"sex": "NA"}, [("sex", "invalid value")]),
        ({"date_assessed": "2016-02-30"}, [("date_assessed", "invalid value")]),
        ({"date_assessed": "42430"}, [("date_assessed", "invalid value")]),
        ({"age_at_fracture": "72.5"}, [("age_at_fracture", "invalid value")]),
        ({"nhs_number": "12345"}, [("nhs_number", "invalid value")]),
        ({"nhs_number": "943476591X"}, [("nhs_number", "invalid value")]),
        ({"bone_therapy_recommended": "Alendronate;Aspirin"}, [("bone_therapy_recommended", "unknown therapy token")]),
        ({"treatment_16wk": "Alendronate, Denosumab"}, [("treatment_16wk", "unknown therapy token")]),
        ({"age_at_fracture": "130", "date_of_birth": ""}, [("age_at_fracture", "out of range")]),
        ({"age_at_fracture": "", "date_of_birth": "1890-01-01"}, [("age_at_fracture", "out of range")]),
        ({"nhs_number": "9434765918"}, [("nhs_number", "check digit")]),
        ({"date_identified": "2016-02-29"}, [("date_identified", "before fracture")]),
        ({"date_followup_52wk": "2016-02-01"}, [("date_followup_52wk", "before fracture")]),
        ({"date_dxa": "2017-07-01"}, [("date_dxa", "after cut-off")]),
        ({"date_of_birth": "2017-07-01", "age_at_fracture": "70"}, [("date_of_birth", "after cut-off")]),
        ({"date_followup_52wk": "01/07/2017"}, [("date_followup_52wk", "after cut-off")]),
    ],
)
def test_each_field_rule(tmp_path, changes, expected):
    validated = outcome(tmp_path, [row(1, **changes)])
    assert states(validated) == [("included", "")]
    assert issues_of(validated) == expected


def test_at_most_one_issue_per_field_first_rule_wins(tmp_path):
    # An age that is not a number and a date of birth that gives an age out of range: one issue.
    validated = outcome(tmp_path, [row(1, age_at_fracture="old", date_of_birth="1880-01-01")])
    assert issues_of(validated) == [("age_at_fracture", "invalid value")]


def test_field_issue_value_is_treated_as_blank(tmp_path):
    validated, results, _ = run_kpis(tmp_path, [row(1, date_assessed="2016-02-01", falls_assessment="yes please")])
    assert validated.records["date_assessed"].isna().all()
    assert validated.records["falls_assessment"].isna().all()
    assert results.query("code == 'S1' and kpi_id in ['KPI4', 'KPI6']")["numerator"].tolist() == [0, 0]


def test_unknown_token_keeps_the_valid_tokens(tmp_path):
    validated = outcome(tmp_path, [row(1, bone_therapy_recommended="Aspirin; denosumab ;;")])
    assert validated.records["bone_therapy_recommended"].tolist() == ["Denosumab"]
    assert validated.records["bone_therapy_recommended_drug"].tolist() == [True]


def test_issues_only_for_included_rows(tmp_path):
    validated = outcome(tmp_path, [row(1, sex="??", date_fracture="2015-01-01")])
    assert validated.issues.empty


def test_dates_day_first_iso_with_time_and_aliases(tmp_path):
    validated = outcome(
        tmp_path,
        [row(1, date_assessed="9/3/2016", date_identified="2016-03-02T10:15", date_dxa="2016-04-01 08:00:00",
             sex="f", care_home="n", admitted="Y", fracture_site="WRIST", followup_16wk="yes")],
    )
    assert validated.issues.empty
    rec = validated.records.iloc[0]
    assert rec["date_assessed"] == pd.Timestamp("2016-03-09")
    assert rec["date_identified"] == pd.Timestamp("2016-03-02")
    assert (rec["sex"], rec["care_home"], rec["admitted"], rec["fracture_site"]) == ("Female", "No", "Yes", "Wrist")


@pytest.mark.parametrize(
    "text, expected",
    [("2016-03-01", "2016-03-01"), ("1/3/2016", "2016-03-01"), ("01/03/2016", "2016-03-01"),
     ("2016-03-01 12:30", "2016-03-01"), ("29/2/2016", "2016-02-29"), ("29/2/2017", None),
     ("2016-3-1", None), ("3/1/16", None), ("", None), ("2016-03-01T25", None)],
)
def test_parse_date(text, expected):
    parsed = parse_date(text)
    assert (parsed.isoformat() if parsed else None) == expected


@pytest.mark.parametrize("number, ok", [("9434765919", True), ("9434765918", False), ("9990000018", True),
                                        ("9990000026", True), ("9990000019", False)])
def test_nhs_check_digit(number, ok):
    assert nhs_check_digit_ok(number) is ok


def test_vectorised_nhs_checks_agree_with_the_per_value_functions():
    texts = ["", " ", "943 476 5919", "9434765919", "9434765918", "943476591", "94347659190", "943476591x",
             "\u0669\u0664\u0663\u0664\u0667\u0666\u0665\u0669\u0661\u0669", "0000000000", "9990000026"]
    texts += [f"{n:010d}" for n in range(4010232130, 4010232230)]
    ten, passed = nhs_number_checks(pd.Series(texts, index=range(7, 7 + len(texts))))
    digits = [nhs_number_digits(t) for t in texts]
    assert ten.tolist() == [d is not None for d in digits]
    assert passed.tolist() == [d is not None and nhs_check_digit_ok(d) for d in digits]
    assert passed.any() and not passed.all()


# --------------------------------------------------------------------------------------------
# Accounting


def test_accounting_sums_to_rows_read_per_service_and_in_total(tmp_path):
    rows = [
        row(1), row(2, record_id=""), row(3), row(3, sex="Male"), row(4), row(4),
        row(5, service_code="XX"), row(6, date_fracture="soon"), row(7, date_fracture="2018-01-01"),
        row(8, date_fracture="2015-01-01"), row(9, age_at_fracture="30"), row(10, service_code="S2"),
        row(11, service_code=""),
    ]
    validated = outcome(tmp_path, rows)
    accounting = record_accounting(validated.row_states)
    assert accounting["rows"].sum() == len(rows) == validated.rows_read
    per_code = accounting.groupby("code")["rows"].sum().to_dict()
    assert per_code == {"S1": 10, "S2": 1, "XX": 1, dd.BLANK_CODE: 1}
    reasons = set(accounting["reason"]) - {""}
    assert reasons == set(dd.REJECT_REASONS) | set(dd.EXCLUDE_REASONS)
    counts = validated.counts()
    assert counts["rejected"] + counts["excluded"] + counts["included"] == counts["read"] == 13


def test_all_blank_rows_are_not_data_rows(tmp_path):
    params = make_run(tmp_path, [row(1), {c: "  " for c in dd.EXTRACT_COLUMNS}, row(2)])
    validated = validate(load_params(params))
    assert validated.rows_read == 2
    assert validated.rejected.empty


def test_all_rows_rejected_is_not_an_error(tmp_path):
    validated, results, _ = run_kpis(tmp_path, [row(1, service_code="XX")])
    assert validated.counts()["included"] == 0
    assert (results["rag"][results["kpi_id"] != "KPI2"] == "none").all()


def test_rejected_rows_keep_the_row_as_read_and_reason(tmp_path):
    validated = outcome(tmp_path, [row(1), row(2, service_code="XX")])
    rejected = validated.rejected
    assert rejected["record_id"].tolist() == ["R2"]
    assert rejected["reason"].tolist() == ["unknown service"]
    assert rejected["source_row"].tolist() == [3]
    assert list(rejected.columns[:24]) == list(dd.EXTRACT_COLUMNS)


# --------------------------------------------------------------------------------------------
# Services file


def _services_error(tmp_path, services) -> str:
    path = tmp_path / "services.csv"
    pd.DataFrame(services).to_csv(path, index=False)
    with pytest.raises(InputError) as raised:
        read_services(path)
    return str(raised.value)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"service_code": "S1"}, "duplicate service_code"),
        ({"service_code": ""}, "blank service_code"),
        ({"service_name": " "}, "blank service_name"),
        ({"nation": "Scotland"}, "nation not England, Wales or Northern Ireland"),
        ({"nation": ""}, "nation not England, Wales or Northern Ireland"),
        ({"expected_caseload": "-3"}, "expected_caseload not a positive number"),
        ({"expected_caseload": "lots"}, "expected_caseload not a positive number"),
        ({"hip_fractures": "2.5"}, "hip_fractures not a whole number"),
        ({"hip_fractures": "-1"}, "hip_fractures not a whole number"),
    ],
)
def test_services_file_errors_name_the_row(tmp_path, change, fragment):
    services = [dict(SERVICES[0]), dict(SERVICES[1], **change)]
    message = _services_error(tmp_path, services)
    assert fragment in message
    assert "row 3" in message and "services.csv" in message


def test_services_file_reports_every_problem_at_once(tmp_path):
    services = [dict(SERVICES[0], nation="Mars"), dict(SERVICES[1], expected_caseload="0", service_name="")]
    message = _services_error(tmp_path, services)
    assert "row 2: nation" in message
    assert "row 3: blank service_name" in message and "row 3: expected_caseload" in message


def test_services_caseload_and_nation_case(tmp_path):
    path = tmp_path / "services.csv"
    pd.DataFrame([dict(SERVICES[0], nation="ENGLAND"), SERVICES[1]]).to_csv(path, index=False)
    frame = read_services(path).frame.set_index("service_code")
    assert frame.loc["S1", "nation"] == "England"
    assert frame.loc["S2", "annual_caseload"] == 50
