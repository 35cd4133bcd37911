"""Case-mix bars (``fls_report/charts/casemix.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import matplotlib
import pandas as pd

from fls_report import charts
from test_charts import AGE_BANDS, EWNI, case_mix_table, figure_texts, says_no_records  # noqa: F401 (fixture)


def test_case_mix_order_suppression_and_words(case_mix_table):
    chart = charts.case_mix(case_mix_table, "age band")
    labels = [t.get_text() for t in chart.figure.axes[0].get_yticklabels()]
    assert labels == AGE_BANDS
    assert "* fewer than 8 records: suppressed" in chart.caption
    assert "(5 cells)" in chart.caption  # England Not known 6; Wales 50–59 5, 80–89 5, 90+ 3, Not known 1
    assert "50–59: England and Wales 12.0%" in chart.alt  # 30 of 250
    assert "Wales suppressed" in chart.alt
    assert "*" in figure_texts(chart)


def test_case_mix_missing_characteristic_says_no_records(case_mix_table):
    says_no_records(charts.case_mix(case_mix_table, "sex"))
    says_no_records(charts.case_mix(case_mix_table.iloc[0:0], "age band"))


def test_case_mix_draws_northern_ireland_when_the_table_has_it(case_mix_table):
    ni = case_mix_table[case_mix_table["code"] == "WALES"].assign(code="NORTHERN_IRELAND")
    chart = charts.case_mix(pd.concat([case_mix_table, ni], ignore_index=True), "age band",
                            names={"NATIONAL": EWNI})
    legend = [t.get_text() for t in chart.figure.legends[0].get_texts()]
    assert legend == [EWNI, "England", "Wales", "Northern Ireland"]
    bars = chart.figure.axes[0].containers
    assert matplotlib.colors.to_hex(bars[3].patches[0].get_facecolor()).upper() == \
        charts.LEVEL_COLOURS["NORTHERN_IRELAND"].upper()
    # without Northern Ireland rows, the default is what it always was
    plain = charts.case_mix(case_mix_table, "age band")
    assert [t.get_text() for t in plain.figure.legends[0].get_texts()] == ["England and Wales", "England", "Wales"]
