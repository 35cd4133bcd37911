"""Missing data in key fields: heatmap and one service's bars (``fls_report/charts/completeness.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fls_report import charts
from test_charts import (AWKWARD_NAME, ESCAPED_SCRIPT, NAMES, THRESHOLD_PCT, fields, figure_parts,  # noqa: F401
                         figure_texts, says_no_records, with_over)


def test_heatmap_words_and_labels(fields):
    chart = charts.completeness_heatmap(fields, names=NAMES, threshold_pct=THRESHOLD_PCT)
    assert "2 cells of 51 are over 20%" in chart.alt  # sex 50%, date_dxa 30%; care_home 20% is not over
    assert "1 service with no in-scope records" in chart.caption
    labels = [t.get_text() for t in chart.figure.axes[0].get_yticklabels()]
    assert labels[0] == "S1 — Alpha Hospital"
    assert len(labels[2]) <= 40 and labels[2].endswith("…")
    parts = figure_parts(chart)
    assert "<script>" not in parts["html"]


def test_heatmap_height_grows_with_services(fields):
    many = pd.concat([fields.assign(code=fields["code"] + f"-{i}") for i in range(20)], ignore_index=True)
    small = charts.completeness_heatmap(fields, threshold_pct=THRESHOLD_PCT).figure.get_figheight()
    large = charts.completeness_heatmap(many, threshold_pct=THRESHOLD_PCT).figure.get_figheight()
    assert large > small + 0.15 * 57


def test_completeness_bars_words(fields):
    chart = charts.completeness_bars(fields, "S1", name="Alpha Hospital", threshold_pct=THRESHOLD_PCT)
    assert "2 fields are more than 20% missing: Sex 50.0%, Date DXA 30.0%" in chart.alt
    bars = charts.completeness_bars(fields, "S4", name=AWKWARD_NAME, threshold_pct=THRESHOLD_PCT)
    assert "not applicable" in figure_texts(bars)
    assert "1 field with no records it applies to is marked not applicable" in bars.caption
    assert ESCAPED_SCRIPT in figure_parts(bars)["caption"] or "&lt;script&gt;" in figure_parts(bars)["alt"]


def test_completeness_empty_inputs(fields):
    says_no_records(charts.completeness_bars(fields, "S2", name="Beta Hospital", threshold_pct=THRESHOLD_PCT))
    says_no_records(charts.completeness_bars(fields, "nowhere", threshold_pct=THRESHOLD_PCT))
    says_no_records(charts.completeness_heatmap(fields.iloc[0:0], threshold_pct=THRESHOLD_PCT))


def test_completeness_threshold_is_the_one_given_and_over_is_the_tables(fields):
    """The threshold drawn and stated is the caller's (there is no silent default), and which
    fields are over it is the table's ``over`` column, as the compute stage decided it on the
    counts: the charts do not decide it again from ``pct_missing``."""
    with pytest.raises(TypeError, match="threshold_pct"):
        charts.completeness_bars(fields, "S1")
    with pytest.raises(TypeError, match="threshold_pct"):
        charts.completeness_heatmap(fields)
    at_30 = with_over(fields, 30.0)  # sex 50% is over 30%; date_dxa (30%) is not
    bars = charts.completeness_bars(at_30, "S1", name="Alpha Hospital", threshold_pct=30.0)
    assert "1 field is more than 30% missing: Sex 50.0%" in bars.alt
    assert "30% threshold" in figure_texts(bars) and "30.0% (over 30%)" not in figure_texts(bars)
    assert any(np.allclose(line.get_xdata(), 30.0) for line in bars.figure.axes[0].lines)
    heatmap = charts.completeness_heatmap(at_30, names=NAMES, threshold_pct=30.0)
    assert "1 cell of 51 are over 30%" in heatmap.alt
    # A table whose compute stage marked care_home (20%) over: the charts show what it says.
    marked = fields.assign(over=fields["over"] | ((fields["code"] == "S1") & (fields["field"] == "care_home")))
    bars = charts.completeness_bars(marked, "S1", name="Alpha Hospital", threshold_pct=THRESHOLD_PCT)
    assert "3 fields are more than 20% missing: Sex 50.0%, Care home 20.0%, Date DXA 30.0%" in bars.alt
    assert "20.0% (over 20%)" in figure_texts(bars)
    heatmap = charts.completeness_heatmap(marked, names=NAMES, threshold_pct=THRESHOLD_PCT)
    assert "3 cells of 51 are over 20%" in heatmap.alt
    # ``over`` as a CSV gives it back (text) is read as the boolean it was written as.
    as_text = fields.assign(over=fields["over"].map({True: "True", False: "False"}))
    assert (charts.completeness_bars(as_text, "S1", threshold_pct=THRESHOLD_PCT).alt
            == charts.completeness_bars(fields, "S1", threshold_pct=THRESHOLD_PCT).alt)
