"""Caterpillar plot and identification scatter (``fls_report/charts/kpi_results.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np

from fls_report import charts
from test_charts import ESCAPED_SCRIPT, figure_parts, results, says_no_records  # noqa: F401 (fixture)


def test_caterpillar_words(results):
    chart = charts.caterpillar(results, "KPI4", highlight="S4")
    assert "62.4%" in chart.alt  # national 53/85
    assert "1 service with no eligible records is not shown" in chart.caption
    assert "3 services" in chart.alt
    assert "low numbers" in chart.alt and "hollow" in chart.caption


def test_caterpillar_highlight_rank_and_escaping(results):
    chart = charts.caterpillar(results, "KPI4", highlight="S4")
    assert "33.3%, rank 3 of 3" in chart.alt
    page = figure_parts(chart)["html"]
    assert "<script>" not in page
    assert ESCAPED_SCRIPT in page
    assert "&amp; Sons&#x27; &quot;Trust&quot;" in page


def test_caterpillar_highlight_left_off_is_said(results):
    chart = charts.caterpillar(results, "KPI4", highlight="S2")
    assert "Service S2 is not shown" in chart.caption


def test_caterpillar_draws_ci_and_national_line(results):
    chart = charts.caterpillar(results, "KPI4")
    ax = chart.figure.axes[0]
    national = [line for line in ax.lines if np.allclose(line.get_ydata(), 100 * 53 / 85)]
    assert national, "no national line"
    assert ax.get_ylim() == (0.0, 100.0)


def test_kpi_with_no_denominators_says_no_records(results):
    zero = results.assign(denominator=results["denominator"].where(results["level"] != "service", 0))
    chart = charts.caterpillar(zero, "KPI4")
    says_no_records(chart)
    assert "4 services with no eligible records are not shown" in chart.caption
    figure_parts(chart)


def test_identification_words(results):
    chart = charts.identification(results, highlight="S4")
    assert "1 service without a caseload estimate is not shown" in chart.caption
    assert "58.9%" in chart.alt  # national 106/180
    assert "1 service reached the 80% goal" in chart.alt  # S4 61 of 60
    parts = figure_parts(chart)
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]
