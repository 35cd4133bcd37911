"""Data-quality tables: accounting, completeness and issue counts (outputs.md §3)."""

from __future__ import annotations

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
