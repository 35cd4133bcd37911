"""A run read back (fls_report.run): every number the pages, slides and workbook show was computed
once by the compute stage; reading the tables gives exactly what the statistics gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fls_report import benchmarks, stats
from fls_report.cli import main
from fls_report.kpis import rank_services
from fls_report.run import load
from fls_report.synth import write_synthetic

from conftest import write_params


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    extract, services = write_synthetic(folder, services=6, patients=1500, year=2016, seed=5)
    params = write_params(folder, extract=extract.name, services=services.name)
    assert main(["compute", str(params)]) == 0
    return load(params)


def test_funnels_read_back_exactly(run):
    computed = benchmarks.funnels(run.results)
    assert set(run.funnel_tables) == set(computed) == set(benchmarks.FUNNEL_KPIS)
    for kpi_id, table in computed.items():
        read = run.funnel_tables[kpi_id]
        pd.testing.assert_frame_equal(read, table, check_names=False)
        for key in ("target", "phi", "tau2", "limits"):
            assert read.attrs[key] == table.attrs[key] or (np.isnan(read.attrs[key]) and np.isnan(table.attrs[key]))
        pd.testing.assert_frame_equal(run.funnel_curves[kpi_id], benchmarks.funnel_curve(table))


def test_p_charts_read_back_exactly(run):
    drawn = 0
    for code in run.services["code"]:
        for kpi_id in benchmarks.FUNNEL_KPIS:
            computed = benchmarks.p_chart(run.monthly, code, kpi_id)
            read = run.p_chart(code, kpi_id)
            assert (read is None) == (computed is None), (code, kpi_id)
            if computed is None:
                continue
            drawn += 1
            pd.testing.assert_frame_equal(read, computed[list(read.columns)], check_dtype=False)
            runs = computed.attrs["runs"]
            for key, value in read.attrs["runs"].items():
                assert value == runs[key] or (pd.isna(value) and pd.isna(runs[key])), (code, kpi_id, key)
    assert drawn >= 10


def test_run_chart_points_mark_the_longest_run(run):
    points, signals = run.run_chart_points, run.signals.set_index(["code", "kpi_id"])
    for (code, kpi_id), part in points.groupby(["code", "kpi_id"]):
        row = signals.loc[(code, kpi_id)]
        assert int(part["on_longest_run"].sum()) == (int(row["longest_run"]) if row["useful_points"] else 0)
        on_run = part[part["on_longest_run"]]
        side = np.sign(on_run["pct"] - row["median_pct"])
        assert (side == (1 if row["longest_run_side"] == "above" else -1)).all()


def test_ranks_and_the_completeness_flag_are_columns(run):
    expected = rank_services(run.results).sort_values(["code", "kpi_id"]).reset_index(drop=True)
    got = run.ranks.sort_values(["code", "kpi_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    fields = run.fields
    threshold = run.params.kpi.completeness_threshold_pct
    over = (fields["applicable"] > 0) & (100 * fields["missing"] > threshold * fields["applicable"])
    assert fields["over"].tolist() == over.tolist() and over.any()


def test_time_to_event_summary_is_the_weighted_quantiles(run):
    tte = run.time_to_event
    summary = run.time_to_event_summary.set_index(["code", "event"])
    for code in ("NATIONAL", run.services["code"].iloc[0]):
        rows = tte[(tte["code"] == code) & (tte["event"] == "assessment") & (tte["days"] >= 0)]
        days = np.repeat(rows["days"].to_numpy(), rows["count"].to_numpy())
        q1, median, q3 = np.percentile(days, [25, 50, 75])
        found = summary.loc[(code, "assessment")]
        assert (found["q1_days"], found["median_days"], found["q3_days"]) == (q1, median, q3)
        assert found["with_event"] == len(days)


def test_outliers_are_the_flagged_service_rows(run):
    flagged = run.outliers
    assert set(flagged["funnel_status"]) <= {"alarm low", "alert low", "alert high", "alarm high"}
    expected = run.results[run.results["funnel_status"].isin(["alarm low", "alert low", "alert high", "alarm high"])]
    assert len(flagged) == len(expected)


def test_weighted_quantiles_match_numpy():
    values, counts = np.array([3, 1, 10, 4]), np.array([2, 0, 1, 5])
    expanded = np.repeat(values, counts)
    assert stats.weighted_quantiles(values, counts, (0.25, 0.5, 0.9)) == list(np.percentile(expanded, [25, 50, 90]))
    assert all(np.isnan(v) for v in stats.weighted_quantiles([1], [0], (0.5,)))
