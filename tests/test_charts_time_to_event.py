"""Days from fracture to assessment and to DXA (``fls_report/charts/time_to_event.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np
import pandas as pd

from fls_report import charts
from test_charts import (AWKWARD_NAME, ESCAPED_SCRIPT, _tte_rows, figure_parts, figure_texts,  # noqa: F401
                         says_no_records, tte, tte_summary, tte_summary_of)

# --------------------------------------------------------------------------------------------
# The pair of cumulative curves


def test_time_to_event_pair_words_curves_and_legends(tte, tte_summary):
    chart = charts.time_to_event_pair(tte, "S1", {"assessment": 90, "dxa": 90}, name="Alpha", summary=tte_summary)
    parts = figure_parts(chart)
    # National: 17 of 25 by day 90 = 68.0%; service: 3 of 8 = 37.5%, median (10 + 95) / 2 = 52.5.
    assert "68.0% of 25 by day 90" in chart.alt and "37.5% of 8 by day 90" in chart.alt
    assert "median 52.5 days" in chart.alt and "an FLS assessment" in chart.alt
    assert "Left, FLS assessment: Step chart of the cumulative percentage of in-scope records" in chart.alt
    left, right = chart.figure.axes
    assert any(np.allclose(line.get_xdata(), 90) for line in left.lines), "no line at the limit"
    legend = [t.get_text() for t in left.get_legend().get_texts()]
    assert len(legend) == 2 and all("median" in t and "IQR" in t for t in legend)
    assert "Alpha (S1)" in legend[0] and "England and Wales" in legend[1]
    # S1 has no DXA records: the right panel says so, and so do the words.
    assert right.get_legend() is None and not right.axison
    assert "Alpha (S1) has no records with a DXA scan on or after the fracture date." in chart.caption
    assert "Alpha (S1) has no records with a DXA scan" in chart.alt
    assert parts["alt"].startswith("Two step charts side by side.")


def test_time_to_event_pair_shows_the_summary_it_is_given(tte, tte_summary):
    """The medians, IQRs and counts in the legends and words are the summary table's (the compute
    stage's), never worked out again from ``tte``; the curves are drawn from ``tte``."""
    given = tte_summary.copy()
    s1 = (given["code"] == "S1") & (given["event"] == "assessment")
    national = (given["code"] == "NATIONAL") & (given["event"] == "assessment")
    given.loc[s1, ["median_days", "q1_days", "q3_days"]] = [41.0, 12.5, 77.0]
    given.loc[national, ["median_days", "q1_days", "q3_days", "with_event"]] = [33.0, 9.0, 81.0, 19]
    chart = charts.time_to_event_pair(tte, "S1", {"assessment": 90, "dxa": 90}, name="Alpha", summary=given)
    assert "median 41 days (interquartile range 12.5 to 77)" in chart.alt
    assert "19 had an FLS assessment on or after the fracture day, median 33 days (interquartile range 9 to 81)" \
        in chart.alt
    assert "median 52.5 days" not in chart.alt
    legend = [" ".join(t.get_text().split()) for t in chart.figure.axes[0].get_legend().get_texts()]
    assert "median 41 days (IQR 12.5–77)" in legend[0] and "median 33 days (IQR 9–81) among 19" in legend[1]
    plain = charts.time_to_event_pair(tte, "S1", {"assessment": 90, "dxa": 90}, name="Alpha", summary=tte_summary)
    assert [np.asarray(line.get_ydata(), dtype=float).tolist() for line in chart.figure.axes[0].lines] == \
        [np.asarray(line.get_ydata(), dtype=float).tolist() for line in plain.figure.axes[0].lines]
    # A level the summary has no row for, or no record with the event, has no curve or panel.
    without_s1 = given[~s1]
    says_no_records(charts.time_to_event_pair(tte, "S1", {"assessment": 90}, name="Alpha", summary=without_s1))


def test_time_to_event_pair_uses_the_limits_given(tte, tte_summary):
    chart = charts.time_to_event_pair(tte, "NATIONAL", {"assessment": 60, "dxa": 30}, summary=tte_summary)
    left, right = chart.figure.axes
    assert any(np.allclose(line.get_xdata(), 60) for line in left.lines)
    assert any(np.allclose(line.get_xdata(), 30) for line in right.lines)
    assert "by day 60" in chart.alt and "by day 30" in chart.alt
    assert len(left.get_legend().get_texts()) == 1  # England and Wales alone
    default = charts.time_to_event_pair(tte, "NATIONAL", {}, summary=tte_summary)
    assert "by day 90" in default.alt


def test_time_to_event_pair_escapes_and_handles_empty_input(tte, tte_summary):
    parts = figure_parts(charts.time_to_event_pair(tte, "S1", {"assessment": 90}, name=AWKWARD_NAME,
                                                   summary=tte_summary))
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]
    for chart in (charts.time_to_event_pair(tte, "nobody", {"assessment": 90, "dxa": 90}, summary=tte_summary),
                  charts.time_to_event_pair(tte.iloc[0:0], "S1", {"assessment": 90, "dxa": 90},
                                            summary=tte_summary_of(tte.iloc[0:0])),
                  charts.time_to_event_pair(pd.DataFrame(), "S1", None, summary=pd.DataFrame())):
        says_no_records(chart)
        figure_parts(chart)
