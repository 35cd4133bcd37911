"""Table writing: formats of outputs.md §3 and the contracts checked before writing."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from conftest import row, run_kpis
from fls_report.kpis import MONTHLY_COLUMNS, RESULT_COLUMNS
from fls_report.tables import KPI_RESULTS, MONTHLY_KPIS, to_csv_text, write_table


def test_schemas_have_the_contract_columns():
    assert list(KPI_RESULTS.columns) == RESULT_COLUMNS
    assert list(MONTHLY_KPIS.columns) == MONTHLY_COLUMNS


def test_csv_text_booleans_blanks_and_full_precision():
    frame = pd.DataFrame({"a": [True, False], "b": [1 / 3, float("nan")], "c": pd.array([1, None], dtype="Int64")})
    assert to_csv_text(frame) == "a,b,c\ntrue,0.3333333333333333,1\nfalse,,\n"


def test_real_results_pass_their_schemas(tmp_path):
    _, results, monthly = run_kpis(tmp_path, [row(1), row(2, service_code="S2")])
    KPI_RESULTS.validate(results, lazy=True)
    MONTHLY_KPIS.validate(monthly, lazy=True)


def test_schema_stops_a_numerator_above_its_denominator(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1)])
    broken = results.copy()
    broken.loc[broken["kpi_id"] == "KPI4", "numerator"] = 99
    with pytest.raises(pa.errors.SchemaErrors, match="numerator within denominator"):
        write_table(broken, tmp_path / "k.csv", KPI_RESULTS)
    assert not (tmp_path / "k.csv").exists()
