"""Funnel plots: one KPI's and the grid of several (``fls_report/charts/funnels.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import pandas as pd
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex

from fls_report import benchmarks, charts
from test_charts import (FUNNEL_N, FUNNEL_NAMES, _funnel_inputs_for, _funnel_table, figure_parts,  # noqa: F401
                         figure_texts, funnel_inputs, grid_funnels, says_no_records)


def test_funnel_states_target_phi_tau2_limits_and_status_counts(funnel_inputs):
    table, curve = funnel_inputs
    parts = figure_parts(charts.funnel(table, curve, "KPI4", names=FUNNEL_NAMES, highlight="E"))
    target = charts.format_pct(100 * table.attrs["target"])
    phi, tau2 = f"{table.attrs['phi']:.1f}", f"{table.attrs['tau2']:.2g}"
    for words in (parts["alt"], parts["caption"]):
        assert f"England and Wales target of {target}" in words or f"England and Wales ({target})" in words
        assert f"φ = {phi}" in words and f"τ² = {tau2}" in words
        assert "limits widened for over-dispersion" in words
        counts = table.loc[table["n"] > 0, "status"].value_counts()
        for status in benchmarks.STATUSES:
            assert f"{int(counts.get(status, 0))} {status} (" in words
        assert "1 service with no eligible records is not shown." in words


def test_funnel_exact_limits_are_named(funnel_inputs):
    table = _funnel_table(adjust="none")
    chart = charts.funnel(table, benchmarks.funnel_curve(table), "KPI4")
    assert table.attrs["limits"] == "exact binomial"
    for words in (chart.alt, chart.caption):
        assert "exact binomial limits, not widened for over-dispersion" in words
        assert f"φ = {table.attrs['phi']:.1f}" in words


def test_funnel_limits_words_follow_the_tables_adjusted_flag():
    """Which limits were used is ``attrs["adjusted"]``, as the compute stage wrote it in
    ``funnel_summary`` (Run.funnel_tables); the words need no ``limits`` text to compare."""
    for adjust, adjusted, words in (("auto", True, "limits widened for over-dispersion"),
                                    ("none", False, "exact binomial limits, not widened for over-dispersion")):
        table = _funnel_table(adjust=adjust)
        assert table.attrs["adjusted"] is adjusted
        curve = benchmarks.funnel_curve(table)
        table.attrs = {key: table.attrs[key] for key in ("target", "phi", "tau2", "adjusted")}
        chart = charts.funnel(table, curve, "KPI4")
        assert words in chart.alt and words in chart.caption
        grid = charts.funnel_grid({"KPI4": table}, {"KPI4": curve})
        assert words in grid.alt
        assert ("Limits were widened for over-dispersion" in grid.caption) is adjusted
        assert ("Exact binomial limits, not widened for over-dispersion, for KPI4" in grid.caption) is not adjusted


def test_funnel_highlight_is_annotated_with_status_in_words_and_escaped(funnel_inputs):
    table, curve = funnel_inputs
    assert table.at["E", "status"] == "alarm low"
    chart = charts.funnel(table, curve, "KPI4", names=FUNNEL_NAMES, highlight="E")
    parts = figure_parts(chart)
    assert "Tricky <script>&'" not in parts["html"]
    assert "Tricky &lt;script&gt;&amp;&#x27; (E)" in parts["alt"]
    assert "Alarm (below the 99.8% limit)" in parts["alt"]
    annotation = [t for t in figure_texts(chart) if "Tricky" in t and "eligible" in t]
    assert annotation and "Alarm (below the 99.8% limit)" in annotation[0]
    assert "10.0% of 100 eligible" in annotation[0]


def test_funnel_leaves_off_services_without_records(funnel_inputs):
    table, curve = funnel_inputs
    chart = charts.funnel(table, curve, "KPI4", highlight="A")
    plotted = set()
    for collection in chart.figure.axes[0].collections:
        plotted |= {float(x) for x, _ in collection.get_offsets()}
    assert plotted == {float(n) for n in FUNNEL_N.values() if n > 0}
    assert "Service A is not shown: it has no eligible records for KPI4." in chart.caption
    assert "1 service with no eligible records is not shown." in chart.alt


def test_funnel_status_markers_differ_in_shape_as_well_as_colour():
    styles = charts.FUNNEL_STATUS_STYLE
    assert len({(s["marker"], s["filled"]) for s in styles.values()}) == len(styles)
    assert len({s["colour"] for s in styles.values()}) == len(styles)


def test_funnel_zooms_when_values_and_limits_are_low():
    table = _funnel_table(x={"A": 0, "B": 4, "C": 5, "D": 3, "E": 6}, n={"A": 0, "B": 100, "C": 120, "D": 90, "E": 110})
    chart = charts.funnel(table, benchmarks.funnel_curve(table), "KPI3")
    top = chart.figure.axes[0].get_ylim()[1]
    assert top < 100 and top >= 100 * table[["p", "high998"]].max().max()
    assert f"The vertical axis stops at {top:g}%." in chart.caption
    assert "exact binomial limits" in chart.caption


def test_funnel_empty_inputs_say_no_records(funnel_inputs):
    for chart in (charts.funnel(pd.DataFrame(), pd.DataFrame(), "KPI4"), charts.funnel(None, None, "KPI4")):
        says_no_records(chart)
        figure_parts(chart)
    nobody = _funnel_table(x={"A": 0, "B": 0}, n={"A": 0, "B": 0})
    chart = charts.funnel(nobody, benchmarks.funnel_curve(nobody), "KPI4")
    says_no_records(chart)
    assert "2 services with no eligible records are not shown." in chart.caption
    table, _ = funnel_inputs
    without_curve = charts.funnel(table, None, "KPI4")
    figure_parts(without_curve)
    assert "No limit curves were given" in without_curve.caption


# --------------------------------------------------------------------------------------------
# The funnel grid


def _ring_offsets(ax) -> list[tuple[float, float]]:
    rings = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_edgecolors())
             and to_hex(c.get_edgecolors()[0]) == to_hex(charts.HIGHLIGHT_COLOUR) and not len(c.get_facecolors())]
    return [tuple(o) for c in rings for o in c.get_offsets()]


def test_funnel_grid_has_a_panel_per_kpi_in_order_with_one_legend(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves, names=FUNNEL_NAMES, highlight="E")
    axes = chart.figure.axes
    assert len(axes) == 3
    titles = [" ".join(ax.get_title(loc="left").split()) for ax in axes]
    assert [t.split(":")[0] for t in titles] == ["KPI3", "KPI4", "KPI5"]
    assert all(ax.get_xscale() == "log" for ax in axes)
    assert len(chart.figure.legends) == 1 and all(ax.get_legend() is None for ax in axes)
    assert axes[0].get_ylim()[1] < 100 and axes[1].get_ylim() == (0.0, 100.0)
    assert _ring_offsets(axes[0]) == [] and _ring_offsets(axes[1]) == [(100.0, 10.0)]
    legend = [t.get_text() for t in chart.figure.legends[0].get_texts()]
    assert "Alarm (below the 99.8% limit)" in legend and "Tricky <script>&' (E)" in legend


def test_funnel_grid_nine_kpis_make_a_three_by_three_grid_of_page_size():
    table = _funnel_table()
    tables, curves = _funnel_inputs_for({f"KPI{i}": table for i in range(3, 12)})
    chart = charts.funnel_grid(tables, curves, highlight="I")
    assert len(chart.figure.axes) == 9
    xs = {round(ax.get_position().x0, 3) for ax in chart.figure.axes}
    ys = {round(ax.get_position().y0, 3) for ax in chart.figure.axes}
    assert len(xs) == 3 and len(ys) == 3
    width, height = chart.figure.get_size_inches()
    assert 9 <= width <= 10 and 9 <= height <= 10.5
    assert all(_ring_offsets(ax) == [(100.0, 80.0)] for ax in chart.figure.axes)
    assert figure_texts(chart).count("Alert, high: 80.0% of 100") == 9


def test_funnel_grid_words_give_target_status_phi_tau2_limits_and_left_off(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves, names=FUNNEL_NAMES, highlight="E")
    parts = figure_parts(chart)
    adjusted = tables["KPI4"].attrs
    phi, tau2 = f"{adjusted['phi']:.1f}", f"{adjusted['tau2']:.2g}"
    target = charts.format_pct(100 * adjusted["target"])
    sentences = chart.alt.split(". KPI")
    kpi4 = [s for s in sentences if s.startswith("4 ")][0]
    kpi5 = [s for s in sentences if s.startswith("5 ")][0]
    assert f"target (England and Wales) {target}" in kpi4
    assert "Tricky <script>&' (E) 10.0% of 100 eligible, alarm low (below the 99.8% limit)" in kpi4
    assert f"φ = {phi}, τ² = {tau2}" in kpi4 and "limits widened for over-dispersion" in kpi4
    assert "exact binomial limits, not widened for over-dispersion" in kpi5 and f"φ = {phi}" in kpi5
    assert "is not shown (no eligible records)" in chart.alt  # KPI3: E has n = 0
    assert "2 of 9 services outside the 95% limits" in kpi4
    # The caption: which KPIs were widened, with φ and τ², and what each leaves off.
    assert f"Limits were widened for over-dispersion (additive τ² on the arcsine scale) for KPI4 (φ = {phi}, " \
           f"τ² = {tau2})." in chart.caption
    assert "Exact binomial limits, not widened for over-dispersion, for KPI3 (" in chart.caption
    assert "and KPI5 (φ = " in chart.caption
    assert "Left off, with no eligible records: KPI3 2 services, KPI4 1 service, KPI5 1 service." in chart.caption
    assert "Tricky <script>&' (E) is not shown for KPI3 (no eligible records)." in chart.caption
    assert "Vertical axes stop below 100% for KPI3" in chart.caption
    # Statuses in words in the panels, and everything escaped in the HTML.
    texts = figure_texts(chart)
    assert "Alarm, low: 10.0% of 100" in texts and "Not shown: no eligible records" in texts
    assert "Tricky <script>" not in parts["html"] and "Tricky &lt;script&gt;&amp;&#x27; (E)" in parts["alt"]


def test_funnel_grid_without_highlight_counts_services_outside(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves)
    assert "9 services; 2 outside the 95% limits" in figure_texts(chart)
    assert "ringed" not in chart.alt and "ringed" not in chart.caption
    assert all(_ring_offsets(ax) == [] for ax in chart.figure.axes)


def test_funnel_grid_highlight_not_in_any_table_is_said(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves, highlight="Z9")
    assert "Service Z9 is not shown for KPI3, KPI4 and KPI5 (not in the funnel table)." in chart.caption
    assert "ringed" not in chart.caption
    assert figure_texts(chart).count("Not shown: not in the funnel table") == 3


def test_funnel_grid_empty_inputs_say_no_records(grid_funnels):
    tables, curves = grid_funnels
    for chart in (charts.funnel_grid({}, {}), charts.funnel_grid(None, None),
                  charts.funnel_grid({"KPI4": pd.DataFrame()}, {})):
        says_no_records(chart)
        figure_parts(chart)
    nobody = _funnel_table(x={"A": 0, "B": 0}, n={"A": 0, "B": 0})
    chart = charts.funnel_grid({"KPI4": nobody}, {"KPI4": benchmarks.funnel_curve(nobody)})
    says_no_records(chart)
    assert "KPI4 2 services" in chart.caption
    # One KPI without services still draws the others, and says so in its panel.
    mixed = charts.funnel_grid({"KPI3": nobody, "KPI4": tables["KPI4"]}, {"KPI4": curves["KPI4"]}, highlight="E")
    figure_parts(mixed)
    assert any(charts.NO_RECORDS in text for text in figure_texts(mixed))
    assert "KPI3 Spine fracture identification: no service has eligible records." in mixed.alt
    without_curves = charts.funnel_grid({"KPI4": tables["KPI4"]}, {})
    assert "No limit curves were given for KPI4" in without_curves.caption
