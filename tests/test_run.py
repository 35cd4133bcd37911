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


def test_monthly_chart_tables_do_not_depend_on_the_row_order_of_monthly(run):
    """The run-chart and p-chart tables sort the monthly table once and read each series as a
    slice of it: shuffled rows give the same tables, and each p-chart in the table is its own
    unit's :func:`benchmarks.p_chart`."""
    codes = list(run.services["code"])
    shuffled = run.monthly.sample(frac=1, random_state=3)
    assert not shuffled.index.equals(run.monthly.index)
    signals = benchmarks.run_chart_signals(run.monthly)
    pd.testing.assert_frame_equal(benchmarks.run_chart_signals(shuffled), signals)
    pd.testing.assert_frame_equal(benchmarks.run_chart_points(shuffled, signals),
                                  benchmarks.run_chart_points(run.monthly, signals))
    points, runs = benchmarks.p_charts(run.monthly, codes)
    for got, expected in zip(benchmarks.p_charts(shuffled, codes), (points, runs)):
        pd.testing.assert_frame_equal(got, expected)
    assert list(runs[["code", "kpi_id"]].itertuples(index=False, name=None)) == list(
        dict.fromkeys(points[["code", "kpi_id"]].itertuples(index=False, name=None)))
    for (code, kpi_id), part in points.groupby(["code", "kpi_id"], sort=False):
        own = benchmarks.p_chart(shuffled, code, kpi_id)
        pd.testing.assert_frame_equal(part.drop(columns=["code", "kpi_id"]).reset_index(drop=True),
                                      own.reset_index(drop=True)[list(part.columns.drop(["code", "kpi_id"]))])


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


def test_tables_are_parsed_once_per_content_and_each_reader_gets_its_own_copy(tmp_path):
    """The warm kernel reads a run's tables for every report: a table is parsed once for its bytes,
    a caller's changes never reach the next caller, and a table rewritten with other bytes (same
    size, same modification time) is read afresh."""
    import os

    from fls_report import run as run_module
    from fls_report.run import read_table

    path = tmp_path / "kpi_results.csv"
    path.write_text("code,pct\n050,12.5\n083,0.1\n", encoding="utf-8")
    first = read_table(path)
    assert first["code"].tolist() == ["050", "083"] and first["pct"].tolist() == [12.5, 0.1]
    first.loc[0, "pct"] = 99.0
    cached = len(run_module._PARSED)
    again = read_table(path)
    assert again["pct"].tolist() == [12.5, 0.1] and len(run_module._PARSED) == cached  # no new parse
    stat = path.stat()
    path.write_text("code,pct\n050,12.5\n083,0.2\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert read_table(path)["pct"].tolist() == [12.5, 0.2]


def test_the_table_cache_keeps_only_the_most_recent(tmp_path, monkeypatch):
    from fls_report import run as run_module
    from fls_report.run import read_table

    monkeypatch.setattr(run_module, "_PARSED", {})
    monkeypatch.setattr(run_module, "_PARSED_KEPT", 3)
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"t{i}.csv")
        paths[-1].write_text(f"code,n\n{i:03d},{i}\n", encoding="utf-8")
        read_table(paths[-1])
    assert len(run_module._PARSED) == 3
    assert [frame["n"].iloc[0] for frame in run_module._PARSED.values()] == [2, 3, 4]
    assert read_table(paths[0])["code"].iloc[0] == "000"  # read afresh after it left
