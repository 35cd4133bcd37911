"""Words drawn and said by the charts (``fls_report/charts/words.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np
import pytest

from fls_report import charts
from test_charts import figure_parts, figure_texts, results  # noqa: F401 (fixture)


@pytest.mark.parametrize("value, text", [(12.25, "12.3%"), (12.24999, "12.2%"), (0.05, "0.1%"), (100, "100.0%"),
                                         (np.nan, "–")])
def test_format_pct_rounds_halves_up(value, text):
    assert charts.format_pct(value) == text


def test_dollar_signs_in_names_are_drawn_literally(results):
    named = results.assign(name=results["name"].where(results["code"] != "S1", "Cost $5 and $6 Trust"))
    chart = charts.caterpillar(named, "KPI4", highlight="S1")
    figure_parts(chart)  # mathtext would fail or mangle an unescaped pair of $
    assert any(r"\$5" in text for text in figure_texts(chart))
