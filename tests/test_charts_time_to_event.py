"""Days from fracture to assessment and to DXA (``fls_report/charts/time_to_event.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fls_report import charts
from test_charts import AWKWARD_NAME, ESCAPED_SCRIPT, _tte_rows, figure_parts, says_no_records, tte  # noqa: F401


@pytest.mark.parametrize("seed", range(6))
def test_time_to_event_summary_matches_numpy_on_expanded_days(seed):
    rng = np.random.default_rng(seed)
    days = np.sort(rng.choice(np.arange(0, 200), size=rng.integers(1, 25), replace=False))
    counts = rng.integers(1, 6, size=len(days))
    table = pd.DataFrame(_tte_rows("service", "X", "dxa", zip(days, counts), int(counts.sum()) + 4))
    summary = charts.time_to_event_summary(table.sample(frac=1, random_state=seed), "X", "dxa")
    expanded = np.repeat(days, counts)
    q1, median, q3 = np.percentile(expanded, [25, 50, 75])
    assert summary["q1"] == pytest.approx(q1, abs=1e-9)
    assert summary["median"] == pytest.approx(median, abs=1e-9)
    assert summary["q3"] == pytest.approx(q3, abs=1e-9)
    assert summary["with_event"] == len(expanded)
    assert summary["records"] == int(counts.sum()) + 4


def test_time_to_event_summary_small_cases(tte):
    one = pd.DataFrame(_tte_rows("service", "X", "assessment", [(7, 1)], 3))
    assert charts.time_to_event_summary(one, "X", "assessment") == {
        "median": 7.0, "q1": 7.0, "q3": 7.0, "with_event": 1, "records": 3}
    two = pd.DataFrame(_tte_rows("service", "X", "assessment", [(4, 1), (9, 1)], 2))
    assert charts.time_to_event_summary(two, "X", "assessment")["median"] == 6.5
    none = charts.time_to_event_summary(tte, "nobody", "assessment")
    assert none["with_event"] == 0 and none["records"] == 0 and np.isnan(none["median"])


# --------------------------------------------------------------------------------------------
# The pair of cumulative curves


def test_time_to_event_pair_words_curves_and_legends(tte):
    chart = charts.time_to_event_pair(tte, "S1", {"assessment": 90, "dxa": 90}, name="Alpha")
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


def test_time_to_event_pair_uses_the_limits_given(tte):
    chart = charts.time_to_event_pair(tte, "NATIONAL", {"assessment": 60, "dxa": 30})
    left, right = chart.figure.axes
    assert any(np.allclose(line.get_xdata(), 60) for line in left.lines)
    assert any(np.allclose(line.get_xdata(), 30) for line in right.lines)
    assert "by day 60" in chart.alt and "by day 30" in chart.alt
    assert len(left.get_legend().get_texts()) == 1  # England and Wales alone
    default = charts.time_to_event_pair(tte, "NATIONAL", {})
    assert "by day 90" in default.alt


def test_time_to_event_pair_escapes_and_handles_empty_input(tte):
    parts = figure_parts(charts.time_to_event_pair(tte, "S1", {"assessment": 90}, name=AWKWARD_NAME))
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]
    for chart in (charts.time_to_event_pair(tte, "nobody", {"assessment": 90, "dxa": 90}),
                  charts.time_to_event_pair(tte.iloc[0:0], "S1", {"assessment": 90, "dxa": 90}),
                  charts.time_to_event_pair(pd.DataFrame(), "S1", None)):
        says_no_records(chart)
        figure_parts(chart)
