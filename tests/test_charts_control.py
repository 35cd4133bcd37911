"""Run charts and p-charts (``fls_report/charts/control.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from fls_report import charts
from fls_report.stats import p_chart as stats_p_chart
from test_charts import (AWKWARD_NAME, ESCAPED_SCRIPT, _months, figure_parts, figure_texts, p_frame,  # noqa: F401
                         p_frames, reference_monthly, run_inputs, run_points, says_no_records)


def _diamond_months(ax, months: list[str]) -> list[str]:
    """The months marked with the shift's diamonds on a run-chart panel."""
    return [months[round(float(x))] for c in ax.collections for x, _ in c.get_offsets()]


def test_run_charts_shift_is_explained_and_short_series_claim_no_signal(run_inputs, run_points):
    monthly, signals, explanations = run_inputs
    by_kpi = signals.set_index("kpi_id")
    assert by_kpi.at["KPI4", "shift"] and not by_kpi.at["KPI6", "signal"] and by_kpi.at["KPI11", "useful_points"] == 4
    chart = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6", "KPI11"], explanations, name="Alpha",
                              points=run_points)
    parts = figure_parts(chart)
    assert f"KPI4: {explanations['KPI4']}" in chart.caption
    assert "a run of 12 months below the median" in chart.caption
    assert explanations["KPI6"] not in chart.caption  # no signal: not in the caption's list
    assert "fewer than 10 useful months" in chart.caption and "claim no signal: KPI11 (4)" in chart.caption
    assert "KPI11 20 months" in chart.caption  # gaps are counted, not drawn as zeros
    titles = [" ".join(ax.get_title(loc="left").split()) for ax in chart.figure.axes]
    assert "Signal" in titles[0] and "Signal" not in titles[1] and "Too few useful months (4)" in titles[2]
    # The shift's diamonds sit on the months run_chart_points puts on the longest run, and only there.
    months = _months(24)
    on_run = run_points[(run_points["kpi_id"] == "KPI4") & run_points["on_longest_run"]]["month"].tolist()
    assert len(on_run) == by_kpi.at["KPI4", "longest_run"]
    assert sorted(_diamond_months(chart.figure.axes[0], months)) == sorted(on_run)
    assert _diamond_months(chart.figure.axes[1], months) == []  # KPI6 has no shift: nothing marked
    assert "Alpha (S1)" in parts["alt"]


def test_run_charts_mark_the_points_the_table_gives(run_inputs, run_points):
    """The diamonds come from ``run_chart_points``, as the compute stage found the longest run;
    the chart does not find the run again."""
    monthly, signals, explanations = run_inputs
    months = _months(24)
    given = run_points.copy()
    kpi4 = given["kpi_id"] == "KPI4"
    given.loc[kpi4, "on_longest_run"] = given.loc[kpi4, "month"].isin(months[-3:])
    chart = charts.run_charts(monthly, signals, "S1", ["KPI4"], explanations, points=given)
    assert sorted(_diamond_months(chart.figure.axes[0], months)) == months[-3:]
    # Without the points table there is nothing to mark; the words still explain the shift.
    plain = charts.run_charts(monthly, signals, "S1", ["KPI4"], explanations)
    assert _diamond_months(plain.figure.axes[0], months) == []
    assert f"KPI4: {explanations['KPI4']}" in plain.caption
    # Another unit's or KPI's points mark nothing here.
    elsewhere = run_points.assign(code="S9")
    assert _diamond_months(charts.run_charts(monthly, signals, "S1", ["KPI4"], explanations,
                                             points=elsewhere).figure.axes[0], months) == []


def test_run_charts_without_signals_and_with_awkward_names(run_inputs):
    monthly, signals, explanations = run_inputs
    chart = charts.run_charts(monthly, signals, "S1", ["KPI6"], explanations, name=AWKWARD_NAME)
    parts = figure_parts(chart)
    assert "No panel signals non-random variation" in chart.caption
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]
    assert explanations["KPI6"] in chart.alt
    short = charts.run_charts(monthly, signals, "S1", ["KPI11"], explanations)
    assert "too few useful months (4: months with data" in short.alt and "claim no signal: KPI11 (4)" in short.caption
    no_analysis = charts.run_charts(monthly, None, "S1", ["KPI4"], {})
    figure_parts(no_analysis)
    assert "No run analysis was given for KPI4." in no_analysis.caption


def test_run_charts_empty_inputs_say_no_records(run_inputs):
    monthly, signals, explanations = run_inputs
    cases = [
        charts.run_charts(pd.DataFrame(), pd.DataFrame(), "S1", ["KPI4"], {}),
        charts.run_charts(monthly, signals, "S1", [], {}),
        charts.run_charts(monthly, signals, "S9", ["KPI4"], {}),
        charts.run_charts(monthly[monthly["kpi_id"] == "KPI11"].assign(denominator=0, pct=np.nan), signals, "S1",
                          ["KPI11"], {}),
    ]
    for chart in cases:
        says_no_records(chart)
        figure_parts(chart)


# --------------------------------------------------------------------------------------------
# Run charts with a reference line


def test_run_charts_without_reference_is_byte_identical(run_inputs):
    monthly, signals, explanations = run_inputs
    args = (monthly, signals, "S1", ["KPI4", "KPI6", "KPI11"], explanations)
    plain = charts.run_charts(*args, name="Alpha")
    for chart in (charts.run_charts(*args, name="Alpha", reference=None),
                  charts.run_charts(*args, name="Alpha", reference=pd.DataFrame())):
        assert chart.to_png() == plain.to_png()
        assert (chart.alt, chart.caption) == (plain.alt, plain.caption)
    assert "England and Wales" not in plain.caption


def test_run_charts_reference_is_a_thin_grey_line_named_in_the_legend(run_inputs, reference_monthly):
    monthly, signals, explanations = run_inputs
    chart = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6", "KPI11"], explanations, name="Alpha",
                              reference=reference_monthly)
    figure_parts(chart)
    for ax, value in zip(chart.figure.axes, (55.0, 41.0, 95.0)):
        grey = [ln for ln in ax.lines if to_hex(ln.get_color()) == to_hex(charts.REFERENCE_COLOUR)]
        assert len(grey) == 1 and grey[0].get_linewidth() < 1.3
        assert np.allclose(grey[0].get_ydata(), value)
        assert ax.get_ylim()[1] >= value  # the axis holds the reference too
    legend_texts = [t.get_text() for ax in chart.figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    legend_texts += [t.get_text() for legend in chart.figure.legends for t in legend.get_texts()]
    assert "England and Wales" in legend_texts
    assert "England and Wales 55.0% to 55.0%" in chart.alt and "England and Wales 95.0% to 95.0%" in chart.alt
    assert "Thin grey line: the monthly percentage for England and Wales" in chart.caption
    # The run analysis is the unit's own; the KPI11 axis now reaches the reference's 95%.
    assert f"KPI4: {explanations['KPI4']}" in chart.caption and "claim no signal: KPI11 (4)" in chart.caption
    assert "Vertical axes stop below 100% for KPI4 (80%), KPI6 (50%)." in chart.caption


def test_run_charts_reference_name_is_escaped(run_inputs, reference_monthly):
    monthly, signals, explanations = run_inputs
    chart = charts.run_charts(monthly, signals, "S1", ["KPI4"], explanations,
                              reference=reference_monthly.assign(code="X1"), reference_name=AWKWARD_NAME)
    parts = figure_parts(chart)
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["caption"]


# --------------------------------------------------------------------------------------------
# p-charts


def test_p_chart_grid_panels_words_and_signal_frame(p_frames, p_frame):
    chart = charts.p_chart_grid(p_frames, name="Alpha")
    parts = figure_parts(chart)
    axes = chart.figure.axes
    assert len(axes) == 2 and len(chart.figure.legends) == 1
    centre = charts.format_pct(100 * p_frame["cl"].iloc[0])
    for words in (chart.alt, chart.caption):
        assert f"KPI4: centre line {centre}" in words or f"centre line of {centre}" in words
        assert "1 of 11 months falls outside the limits (above: May 2016)" in words
    assert "runs analysis: a signal of non-random variation" in chart.alt
    assert "KPI6: centre line 50.0%" in chart.caption and "runs signal: too few crossings" in chart.caption
    assert "No p-chart for KPI7: a p-chart needs at least 10 months" in chart.caption
    assert "KPI4 1 month" in chart.caption  # August is a gap
    texts = figure_texts(chart)
    assert f"Centre line {centre}; 1 month outside" in texts and "Runs: no signal" in texts
    assert any(t.startswith("Runs signal") for t in texts)
    assert to_hex(axes[1].spines["top"].get_edgecolor()) == to_hex(charts.SIGNAL_COLOUR)
    assert not axes[0].spines["top"].get_visible()
    line = [ln for ln in axes[0].lines if ln.get_marker() == "o"][0]
    assert np.isnan(line.get_ydata()[7])
    assert parts["alt"].startswith("p-charts of 2 KPIs for Alpha")


def test_p_chart_grid_escapes_names_and_handles_empty_input(p_frames):
    parts = figure_parts(charts.p_chart_grid(p_frames, name=AWKWARD_NAME))
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]
    for chart in (charts.p_chart_grid({}), charts.p_chart_grid(None), charts.p_chart_grid({"KPI4": None}),
                  charts.p_chart_grid({"KPI4": pd.DataFrame()})):
        says_no_records(chart)
        figure_parts(chart)
    assert "KPI4" in charts.p_chart_grid({"KPI4": None}).caption


def test_p_chart_grid_nine_kpis_fit_a_page(p_frame):
    chart = charts.p_chart_grid({f"KPI{i}": p_frame for i in range(3, 12)})
    assert len(chart.figure.axes) == 9
    _, height = chart.figure.get_size_inches()
    assert 8.5 <= height <= 10.5


def test_p_chart_grid_states_limits_and_runs_and_names_laney(p_frame):
    chart = charts.p_chart_grid({"KPI4": p_frame}, name="Alpha")
    centre = charts.format_pct(100 * p_frame["cl"].iloc[0])
    assert "3-sigma control limits" in chart.alt and f"centre line of {centre}" in chart.alt
    assert ("runs analysis: no signal" in chart.alt) == (not p_frame.attrs["runs"]["signal"])
    line = [ln for ln in chart.figure.axes[0].lines if ln.get_marker() == "o"][0]
    assert np.isnan(line.get_ydata()[7]), "a month without records is a gap, not a zero"
    shift = np.array([20] * 6 + [30] * 6, dtype=float)
    laney = stats_p_chart(shift, np.full(12, 50.0), laney=True)
    laney.insert(0, "month", _months(12))
    both = charts.p_chart_grid({"KPI4": p_frame, "KPI6": laney})
    assert "Laney p′ limits for KPI6." in both.caption
    only = charts.p_chart_grid({"KPI6": laney})
    assert "3-sigma control limits (Laney p′)" in only.alt
    assert "3-sigma control limits (Laney p′)" in [t.get_text() for t in only.figure.legends[0].get_texts()]


def test_a_units_monthly_series_per_kpi_take_the_first_filled_value_and_gaps_for_the_rest():
    """The run charts' monthly series: one unit's rows only, a month with no eligible patients a
    gap, a month given twice its first filled value, a KPI without rows all gaps, in ``months``'
    order whatever the table's."""
    from fls_report.charts.control import _monthly_pcts

    monthly = pd.DataFrame({
        "code": ["050", "050", "050", "050", "ABC", 50],
        "kpi_id": ["KPI3", "KPI3", "KPI3", "KPI4", "KPI3", "KPI4"],
        "month": ["2016-02", "2016-01", "2016-01", "2016-01", "2016-01", "2016-02"],
        "denominator": [10, 0, 4, 5, 7, 8],
        "pct": [50.0, 99.0, 25.0, 40.0, 70.0, 12.5],
    })
    series = _monthly_pcts(monthly, "050", ["KPI3", "KPI4", "KPI5"], ["2016-01", "2016-02", "2016-03"])
    assert list(series) == ["KPI3", "KPI4", "KPI5"]
    assert series["KPI3"].tolist()[:2] == [25.0, 50.0] and np.isnan(series["KPI3"].iloc[2])
    assert series["KPI4"].iloc[0] == 40.0 and np.isnan(series["KPI4"].iloc[1])  # 50 is not "050"
    assert series["KPI5"].isna().all() and len(series["KPI5"]) == 3
