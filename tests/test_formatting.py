"""Display rounding (kpis.md "Display"): one decimal place, halves rounded up."""

import math

import pytest

from fls_report.charts import format_pct
from fls_report.formatting import one_decimal
from fls_report.report import fmt_pct


@pytest.mark.parametrize("value, shown", [(12.25, "12.3"), (12.35, "12.4"), (0.05, "0.1"), (99.95, "100.0"),
                                          (100, "100.0"), (0, "0.0"), (1 / 3 * 100, "33.3"), (None, "–"),
                                          (math.nan, "–")])
def test_halves_up_on_the_shortest_decimal(value, shown):
    assert one_decimal(value) == shown
    assert fmt_pct(value) == shown
    assert format_pct(value) == (shown if shown == "–" else shown + "%")
