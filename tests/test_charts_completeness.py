"""Missing data in key fields: heatmap and one service's bars (``fls_report/charts/completeness.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import pandas as pd

from fls_report import charts
from test_charts import (AWKWARD_NAME, ESCAPED_SCRIPT, NAMES, fields, figure_parts, figure_texts,  # noqa: F401
                         says_no_records)


def test_heatmap_words_and_labels(fields):
    chart = charts.completeness_heatmap(fields, names=NAMES)
    assert "2 cells of 51 are over 20%" in chart.alt  # sex 50%, date_dxa 30%; care_home 20% is not over
    assert "1 service with no in-scope records" in chart.caption
    labels = [t.get_text() for t in chart.figure.axes[0].get_yticklabels()]
    assert labels[0] == "S1 — Alpha Hospital"
    assert len(labels[2]) <= 40 and labels[2].endswith("…")
    parts = figure_parts(chart)
    assert "<script>" not in parts["html"]


def test_heatmap_height_grows_with_services(fields):
    many = pd.concat([fields.assign(code=fields["code"] + f"-{i}") for i in range(20)], ignore_index=True)
    small = charts.completeness_heatmap(fields).figure.get_figheight()
    large = charts.completeness_heatmap(many).figure.get_figheight()
    assert large > small + 0.15 * 57


def test_completeness_bars_words(fields):
    chart = charts.completeness_bars(fields, "S1", name="Alpha Hospital")
    assert "2 fields are more than 20% missing: Sex 50.0%, Date DXA 30.0%" in chart.alt
    bars = charts.completeness_bars(fields, "S4", name=AWKWARD_NAME)
    assert "not applicable" in figure_texts(bars)
    assert "1 field with no records it applies to is marked not applicable" in bars.caption
    assert ESCAPED_SCRIPT in figure_parts(bars)["caption"] or "&lt;script&gt;" in figure_parts(bars)["alt"]


def test_completeness_empty_inputs(fields):
    says_no_records(charts.completeness_bars(fields, "S2", name="Beta Hospital"))
    says_no_records(charts.completeness_bars(fields, "nowhere"))
    says_no_records(charts.completeness_heatmap(fields.iloc[0:0]))
