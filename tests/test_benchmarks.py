"""Funnel statuses, the funnel summary and run-chart signals over KPI results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fls_report import benchmarks
from fls_report import stats
from fls_report.vocabulary import signal_explanation


def results_frame(units: dict[str, tuple[int, int]], kpi_id: str = "KPI4") -> pd.DataFrame:
    """Service rows (and a national row) of one KPI, from {code: (numerator, denominator)}."""
    rows = [{"level": "national", "code": "NATIONAL", "name": "England and Wales", "kpi_id": kpi_id,
             "numerator": sum(x for x, _ in units.values()), "denominator": sum(n for _, n in units.values())}]
    rows += [{"level": "service", "code": c, "name": f"Service {c}", "kpi_id": kpi_id, "numerator": x,
              "denominator": n} for c, (x, n) in units.items()]
    frame = pd.DataFrame(rows)
    frame["pct"] = 100 * frame["numerator"] / frame["denominator"].where(frame["denominator"] > 0)
    return frame


def all_kpis(units):
    return pd.concat([results_frame(units, k) for k in benchmarks.FUNNEL_KPIS], ignore_index=True)


UNITS = {"A": (50, 100), "B": (45, 100), "C": (55, 100), "D": (10, 100), "E": (0, 0), "F": (52, 100)}


def test_statuses_match_the_funnel_table_and_skip_empty_units():
    results = all_kpis(UNITS)
    tables = benchmarks.funnels(results)
    status = benchmarks.funnel_status(results, tables)
    kpi4 = results.assign(status=status).query("kpi_id == 'KPI4'").set_index("code")["status"]
    direct = stats.funnel_table([50, 45, 55, 10, 52], [100, 100, 100, 100, 100])
    assert kpi4[["A", "B", "C", "D", "F"]].tolist() == direct["status"].tolist()
    assert kpi4["D"].startswith("alarm low") or kpi4["D"] == "alert low"
    assert kpi4["E"] == "" and kpi4["NATIONAL"] == ""


def test_summary_counts_and_states_the_method():
    tables = benchmarks.funnels(all_kpis(UNITS))
    summary = benchmarks.funnel_summary(tables).set_index("kpi_id").loc["KPI4"]
    assert summary["services_plotted"] == 5 and summary["services_left_off"] == 1
    assert summary[["alarm_low", "alert_low", "in_control", "alert_high", "alarm_high"]].sum() == 5
    assert summary["target_pct"] == pytest.approx(100 * 212 / 500)
    assert summary["limits"] in (stats.LIMITS_EXACT, stats.LIMITS_ADJUSTED)
    assert summary["phi"] == pytest.approx(stats.overdispersion([50, 45, 55, 10, 52], [100] * 5)["phi"])


@pytest.mark.parametrize("units", [UNITS, {"A": (50, 100), "B": (49, 100), "C": (51, 100), "D": (50, 100)}],
                         ids=["over-dispersed", "in control"])
def test_curve_goes_through_the_units_limits(units):
    table = benchmarks.funnels(all_kpis(units))["KPI4"]
    curve = benchmarks.funnel_curve(table).set_index("n")
    for column in ("low95", "high95", "low998", "high998"):
        assert curve.loc[100.0, column] == pytest.approx(table.loc["A", column])


def test_no_units_no_curve():
    table = benchmarks.funnels(all_kpis({"A": (0, 0)}))["KPI4"]
    assert benchmarks.funnel_curve(table).empty


def monthly_series(values, code="S1", kpi_id="KPI4", denominator=20):
    months = [f"2016-{m:02d}" for m in range(1, len(values) + 1)]
    return pd.DataFrame({"level": "service", "code": code, "kpi_id": kpi_id, "month": months,
                         "numerator": [np.nan if v is None else round(v * denominator / 100) for v in values],
                         "denominator": [0 if v is None else denominator for v in values],
                         "pct": [np.nan if v is None else v for v in values]})


def test_a_sustained_shift_is_signalled_and_explained():
    values = [40, 42, 38, 41, 39, 43, 70, 72, 71, 75, 74, 73, 76, 72, 71, 70]
    signals = benchmarks.run_chart_signals(monthly_series(values))
    row = signals.iloc[0]
    assert bool(row["signal"]) and row["useful_points"] == 16
    text = signal_explanation(row)
    assert "months" in text and ("sustained shift" in text or "process has changed" in text)


def test_fewer_than_ten_useful_points_never_signal():
    # Nine months with data, one on the median: 8 useful points, all of one run each side.
    values = [10, 11, 12, 13, 50, 90, 91, 92, 93] + [None] * 3
    row = benchmarks.run_chart_signals(monthly_series(values)).iloc[0]
    assert row["useful_points"] == 8 and row["crossings"] == 1
    assert not row["signal"] and not row["shift"] and not row["too_few_crossings"]
    assert "too few useful months (8:" in signal_explanation(row)


def test_random_variation_has_no_signal():
    values = [50, 55, 48, 52, 47, 53, 49, 56, 51, 46, 54, 50]
    row = benchmarks.run_chart_signals(monthly_series(values)).iloc[0]
    assert not row["signal"]
    assert signal_explanation(row).startswith("no signal")


def test_p_chart_only_where_denominators_allow():
    assert benchmarks.p_chart(monthly_series([50] * 12, denominator=20), "S1", "KPI4") is not None
    assert benchmarks.p_chart(monthly_series([50] * 12, denominator=5), "S1", "KPI4") is None
    assert benchmarks.p_chart(monthly_series([50] * 9 + [None] * 3), "S1", "KPI4") is None
    chart = benchmarks.p_chart(monthly_series([50] * 12), "S1", "KPI4")
    assert chart["month"].tolist()[0] == "2016-01" and len(chart) == 12
    assert chart["cl"].iloc[0] == pytest.approx(0.5)
