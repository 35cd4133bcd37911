"""Table writing: formats of outputs.md §3 and the contracts checked before writing."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from conftest import row, run_kpis
from fls_report.benchmarks import SIGNAL_COLUMNS, SUMMARY_COLUMNS
from fls_report.kpis import MONTHLY_COLUMNS, RESULT_COLUMNS
from fls_report.params import load_params
from fls_report.pipeline import compute_tables
from fls_report.tables import FUNNEL_SUMMARY, KPI_RESULTS, MONTHLY_KPIS, RUN_CHART_SIGNALS, SCHEMAS, to_csv_text, write_table


def test_schemas_have_the_contract_columns():
    # Later work adds columns, never renames: the year-on-year pair only with compare_with.
    assert list(KPI_RESULTS.columns) == RESULT_COLUMNS + ["funnel_status", "rank", "ranked", "previous_pct",
                                                          "change_pct_points"]
    assert [c for c, col in KPI_RESULTS.columns.items() if not col.required] == ["previous_pct", "change_pct_points"]
    assert list(MONTHLY_KPIS.columns) == MONTHLY_COLUMNS
    assert list(FUNNEL_SUMMARY.columns) == SUMMARY_COLUMNS
    assert list(RUN_CHART_SIGNALS.columns) == SIGNAL_COLUMNS


def computed(tmp_path, rows):
    validated, _, _ = run_kpis(tmp_path, rows)
    return compute_tables(validated, load_params(tmp_path / "params.yml"))


def test_csv_text_booleans_blanks_and_full_precision():
    frame = pd.DataFrame({"a": [True, False], "b": [1 / 3, float("nan")], "c": pd.array([1, None], dtype="Int64")})
    assert to_csv_text(frame) == "a,b,c\ntrue,0.3333333333333333,1\nfalse,,\n"


def test_real_results_pass_their_schemas(tmp_path):
    tables = computed(tmp_path, [row(1), row(2, service_code="S2")])
    for name, schema in SCHEMAS.items():
        schema.validate(tables[name], lazy=True)


def test_schema_stops_a_numerator_above_its_denominator(tmp_path):
    broken = computed(tmp_path, [row(1)])["kpi_results"].copy()
    broken.loc[broken["kpi_id"] == "KPI4", "numerator"] = 99
    with pytest.raises(pa.errors.SchemaErrors, match="numerator within denominator"):
        write_table(broken, tmp_path / "k.csv", KPI_RESULTS)
    assert not (tmp_path / "k.csv").exists()
