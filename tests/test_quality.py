"""Data-quality tables: accounting, completeness and issue counts (outputs.md §3)."""

from __future__ import annotations
import pandas as pd


from conftest import row, run_kpis
from fls_report.kpis import KEY_FIELD_NAMES
from fls_report.params import load_params
from fls_report.quality import data_quality_fields, data_quality_issues, record_accounting, record_issues


def test_completeness_has_17_rows_for_every_service(tmp_path):
    validated, _, _ = run_kpis(tmp_path, [row(1, sex=""), row(2)])
    params = load_params(tmp_path / "params.yml")
    table = data_quality_fields(validated.records, validated.services.codes, params)
    assert len(table) == 2 * 17 and table["field"].tolist()[:17] == list(KEY_FIELD_NAMES)
    sex = table[(table["code"] == "S1") & (table["field"] == "sex")].iloc[0]
    assert (sex["applicable"], sex["missing"], sex["pct_missing"]) == (2, 1, 50.0)
    assert table[table["code"] == "S2"]["pct_missing"].isna().all()


def test_issue_counts_non_zero_only_and_restricted_list(tmp_path):
    rows = [row(1, sex="x"), row(2, sex="y"), row(3, nhs_number="1")]
    validated, _, _ = run_kpis(tmp_path, rows)
    counts = data_quality_issues(validated.issues)
    assert counts.values.tolist() == [["S1", "nhs_number", "invalid value", 1], ["S1", "sex", "invalid value", 2]]
    restricted = record_issues(validated.issues)
    assert list(restricted.columns) == ["record_id", "code", "field", "rule", "value"]
    assert restricted["record_id"].tolist() == ["R1", "R2", "R3"]


def test_accounting_uses_codes_as_given_and_blank_marker(tmp_path):
    validated, _, _ = run_kpis(tmp_path, [row(1, service_code=""), row(2, service_code="zz"), row(3)])
    table = record_accounting(validated.row_states)
    assert table.values.tolist() == [
        ["(blank)", "rejected", "unknown service", 1],
        ["S1", "included", "", 1],
        ["zz", "rejected", "unknown service", 1],
    ]


def test_unrecognised_values_counted_without_their_text():
    from fls_report.quality import data_quality_unrecognised, unrecognised_values

    found = pd.DataFrame({
        "service_code": ["S2", "S1", "S1", "S1"], "file": ["b.xlsx", "a.xlsx", "a.xlsx", "a.xlsx"],
        "column": ["Gender", "1.03 Gender", "1.03 Gender", "4.01 BoneTherapy"],
        "field": ["sex", "sex", "sex", "bone_therapy_recommended"],
        "value": ["X", "Femal", "FEMAL", "Calcium"], "rows": [1, 3, 2, 4]})
    published = data_quality_unrecognised(found)
    assert published.values.tolist() == [["S1", "sex", 1, 5], ["S1", "bone_therapy_recommended", 1, 4],
                                         ["S2", "sex", 1, 1]]
    assert "value" not in published.columns
    restricted = unrecognised_values(found)
    assert restricted[["service_code", "value", "rows"]].values.tolist() == [
        ["S1", "Femal", 3], ["S1", "FEMAL", 2], ["S1", "Calcium", 4], ["S2", "X", 1]]
    assert data_quality_unrecognised(found.iloc[0:0]).empty


def test_extract_files_counts_headers_by_outcome(tmp_path):
    from fls_report.extract import read_file
    from fls_report.mapping import load_mapping
    from fls_report.params import ExtractFile
    from fls_report.quality import extract_files

    path = tmp_path / "w.csv"
    path.write_text("1.03 Gender,,1.09 Date Index Frac Diagnosed,1.11 SiteFirstFrac,Age,2.01 Height,Ward\n"
                    "F,,1/3/2016,Hip,70,160,7\n", encoding="utf-8")
    _, reading = read_file(ExtractFile(path, "exports/w.csv", "S1"), load_mapping())
    table = extract_files([reading])
    assert table.to_dict("records") == [{
        "file": "exports/w.csv", "service_code": "S1", "format": "webtool export", "rows": 1, "headers": 7,
        "headers_mapped": 4, "headers_not_used": 1, "headers_blank": 1, "headers_not_recognised": 1,
        "optional_absent": len(reading.absent)}]
    assert "Ward" not in table.to_csv()
