"""Case mix under disclosure control (statistics.md §5)."""

from __future__ import annotations

import pandas as pd

from conftest import row, run_kpis
from fls_report.casemix import AGE_BANDS, age_band, case_mix
from fls_report.params import DisclosureParams


def test_age_bands_edges():
    ages = pd.Series([50, 59, 60, 89, 90, 115, None], dtype="Int64")
    assert age_band(ages).tolist() == ["50–59", "50–59", "60–69", "80–89", "90+", "90+", "Not known"]


def test_case_mix_suppresses_below_national(tmp_path):
    rows = [row(i, sex="Male" if i <= 3 else "Female") for i in range(1, 13)]
    validated, _, _ = run_kpis(tmp_path, rows)
    table = case_mix(validated.records, validated.services.frame, DisclosureParams())
    sex = table[table["characteristic"] == "sex"].set_index(["code", "category"])
    assert sex.loc[("NATIONAL", "Male"), ["count", "shown"]].tolist() == [3, "3"]  # national: not suppressed
    assert sex.loc[("NATIONAL", "Male"), "pct_shown"] == 25.0
    assert sex.loc[("S1", "Male"), "shown"] == "*" and pd.isna(sex.loc[("S1", "Male"), "pct_shown"])
    assert sex.loc[("S1", "Female"), "shown"] == "10"  # 9 rounds to the nearest 5
    assert sex.loc[("S1", "Female"), "pct_shown"] == 75.0  # from the unrounded count
    assert sex.loc[("S1", "Not known"), "shown"] == "0"
    assert sex.loc[("ENGLAND", "Male"), "shown"] == "*"


def test_every_category_for_every_unit(tmp_path):
    validated, _, _ = run_kpis(tmp_path, [row(1)])
    table = case_mix(validated.records, validated.services.frame, DisclosureParams())
    assert len(table) == 5 * (len(AGE_BANDS) + 3 + 3 + 7)
    assert table.query("code == 'S2'")["shown"].eq("0").all()


def test_northern_ireland_rows_only_with_a_northern_ireland_service(tmp_path):
    from conftest import SERVICES

    ni = dict(SERVICES[0], service_code="N1", service_name="Service Antrim", nation="Northern Ireland")
    validated, _, _ = run_kpis(tmp_path, [row(1), row(2, service_code="N1")], [*SERVICES, ni])
    table = case_mix(validated.records, validated.services.frame, DisclosureParams())
    assert len(table) == 7 * (len(AGE_BANDS) + 3 + 3 + 7)
    ni_rows = table[table["code"] == "NORTHERN_IRELAND"]
    assert set(ni_rows["level"]) == {"nation"}
    assert ni_rows.query("characteristic == 'sex' and category == 'Female'")["count"].tolist() == [1]
    (tmp_path / "plain").mkdir()
    plain, _, _ = run_kpis(tmp_path / "plain", [row(1)])
    without = case_mix(plain.records, plain.services.frame, DisclosureParams())
    assert "NORTHERN_IRELAND" not in set(without["code"])
