"""Every word and number format a reader sees comes from fls_report.vocabulary."""

import math

import pytest

from fls_report.charts import format_pct
from fls_report.params import KpiParams
from fls_report.vocabulary import (BAND_WORDS, FUNNEL_STATUSES, and_list, band_rule, completeness_rule, fmt_count,
                                   fmt_interval, fmt_pct, goals_words, limits_words, low_numbers_note, one_decimal,
                                   p_chart_left_out, pct_words, plural, status_meaning, status_words)


@pytest.mark.parametrize("value, shown", [(12.25, "12.3"), (12.35, "12.4"), (0.05, "0.1"), (99.95, "100.0"),
                                          (100, "100.0"), (0, "0.0"), (1 / 3 * 100, "33.3"), (None, "–"),
                                          (math.nan, "–")])
def test_halves_up_on_the_shortest_decimal(value, shown):
    assert one_decimal(value) == shown
    assert fmt_pct(value) == shown
    assert format_pct(value) == (shown if shown == "–" else shown + "%")  # the charts use the same rule


def test_counts_intervals_and_lists():
    assert fmt_count(12345) == "12,345" and fmt_count(None) == "–"
    assert fmt_interval(1.25, 7.0) == "1.3 to 7.0" and fmt_interval(math.nan, 3) == "–"
    assert pct_words(40) == "40.0%" and pct_words(None) == "no data"
    assert plural(1, "month") == "1 month" and plural(1200, "month") == "1,200 months"
    assert and_list([]) == "" and and_list(["a"]) == "a" and and_list(["a", "b", "c"]) == "a, b and c"


def test_parameters_are_stated_from_the_parameters():
    default, other = KpiParams(), KpiParams(completeness_threshold_pct=30, completeness_max_fields=3, low_numbers_below=5)
    assert completeness_rule(default) == "fewer than 5 of the 17 key fields have more than 20% of values missing"
    assert completeness_rule(other) == "fewer than 3 of the 17 key fields have more than 30% of values missing"
    assert completeness_rule(other) in band_rule("KPI1", other)
    assert low_numbers_note(other).startswith("fewer than 5 in the denominator")
    assert band_rule("KPI7", other) == "green ≥ 50%, red < 50%"
    assert band_rule("KPI3", other) == "green ≥ 20%, amber 10% to < 20%, red < 10%"


def test_one_wording_for_each_funnel_status_and_band():
    labels = [status_words(s) for s in FUNNEL_STATUSES]
    assert len(set(labels)) == len(labels) == 6
    assert status_words("in control") == "Within the limits" and status_words(None) == status_words("")
    assert status_words("none") == "Not on the funnel (no eligible patients)"
    assert status_meaning("alert low", "Wales") == "Lower than Wales by more than chance would usually explain."
    assert limits_words(True) == "widened for over-dispersion" and limits_words(False) == "exact binomial"
    assert BAND_WORDS["none"] == "no data"


def test_goals_and_p_chart_words():
    assert goals_words() == "KPI2 ≥ 80%, KPI7 ≥ 50% and KPI11 ≥ 80%"
    assert p_chart_left_out(["KPI3", "KPI8"]).startswith("No p-chart for KPI3, KPI8: fewer than 10 months")


def test_dates_and_the_period_in_words():
    from datetime import date

    from fls_report.vocabulary import date_words, period_words

    assert date_words(date(2016, 1, 1)) == date_words("2016-01-01") == "1 January 2016"
    assert period_words("2016-01-01", date(2016, 12, 31), "2017-06-30") == (
        "fractures from 1 January 2016 to 31 December 2016 · data cut-off 30 June 2017")
