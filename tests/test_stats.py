"""Known-value tests for ``fls_report.stats`` against ``statistics_reference.json``.

Every case section of the reference file is either tested here or listed in ``NOT_COMPARABLE``
with the reason; ``test_every_reference_section_is_accounted_for`` fails if a section appears
that is neither. Tolerances come from ``meta.suggested_tolerances`` and are named at each use.
Hand-worked values (fractions of 1024 for Binomial(10, 0.5), round-number arcsine z-scores) cover
what the reference file does not: exact binomial funnel limits and over-dispersion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fls_report import stats
from fls_report.stats import (
    funnel_limits,
    funnel_status,
    funnel_table,
    overdispersion,
    p_chart,
    runs_analysis,
    suppress_count,
    suppress_counts,
    wilson_interval,
)

REF_PATH = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "statistics_reference.json"
)
REF = json.loads(REF_PATH.read_text(encoding="utf-8"))
TOL = REF["meta"]["suggested_tolerances"]
Z95 = REF["meta"]["conventions"]["z_95_two_sided"]

CI = REF["confidence_intervals"]
FUNNEL = REF["funnel_plots"]
RUNS = REF["run_charts"]
SPC = REF["spc"]
PTD = SPC["nhsr_plotthedots"]
DISCLOSURE = REF["disclosure_control"]

# PHE's significance labels in HQIP terms (0.001 = outside 99.8%, 0.025 = outside 95%).
PHE_STATUS = {
    "Low (0.001)": "alarm low",
    "Low (0.025)": "alert low",
    "Not significant": "in control",
    "High (0.025)": "alert high",
    "High (0.001)": "alarm high",
}

# Reference material that does not describe a method we implement, with the reason. Each entry
# is a path into the JSON; the test below checks it still exists, then skips it visibly.
NOT_COMPARABLE = {
    "confidence_intervals/clopper_pearson": (
        "Clopper-Pearson intervals: statistics.md §1 publishes Wilson intervals only"
    ),
    "disclosure_control/central_suppression_variant": (
        "codon-style variant shows 1..7 as '5'; statistics.md §5 uses the secondary-care rule ('*')"
    ),
    "spc/p_chart_montgomery_table_7_4/p/lcl.95": (
        "2-sigma lcl.95/ucl.95 of the p chart: our p_chart has 3-sigma limits only (§4)"
    ),
    "spc/p_chart_montgomery_table_7_4/pprime_laney/lcl.95": (
        "2-sigma lcl.95/ucl.95 of the p' chart: our p_chart has 3-sigma limits only (§4)"
    ),
    "spc/p_chart_36_months/p/lcl.95": (
        "2-sigma lcl.95/ucl.95 of the p chart: our p_chart has 3-sigma limits only (§4)"
    ),
    "spc/p_chart_36_months/pprime_laney/lcl.95": (
        "2-sigma lcl.95/ucl.95 of the p' chart: our p_chart has 3-sigma limits only (§4)"
    ),
    "spc/p_chart_36_months/summary_p/aLCL": (
        "qicharts2 summary limits at the average subgroup size: not a p_chart output"
    ),
    "spc/xmr_qicharts2_i_chart/i/sigma.signal": (
        "I-chart point flags: we have no XmR chart; its moving-range sigma and runs are tested"
    ),
    "spc/nhsr_plotthedots/series/dev_unscreened": (
        "unscreened moving ranges: Laney's sigma_z always screens (statistics.md §4)"
    ),
    "spc/nhsr_plotthedots/series/rnorm20_y15_10_unscreened": (
        "unscreened moving ranges: Laney's sigma_z always screens (statistics.md §4)"
    ),
    "spc/nhsr_plotthedots/checks_against_package_tests/y15_set_to_10_unscreened": (
        "unscreened moving ranges: Laney's sigma_z always screens (statistics.md §4)"
    ),
    "spc/nhsr_plotthedots/checks_against_package_tests/vignette_deviations_unscreened_2dp": (
        "unscreened moving ranges: Laney's sigma_z always screens (statistics.md §4)"
    ),
    "spc/nhsr_plotthedots/series/dev_screened/points/special_cause_type": (
        "NHSRplotthedots point flags and variation summaries (outside_limits, close_to_limits,"
        " special_cause_*, point_type) follow NHS 'Making Data Count' XmR rules, not in"
        " statistics.md; only each series' mean and limits are compared"
    ),
    "spc/nhsr_plotthedots/rule_helper_unit_cases": (
        "NHS 'Making Data Count' rule helpers (7-point trend, 2-in-3): not in statistics.md"
    ),
}

# The case sections of the reference and how each is used; a new section must be added to one.
TESTED_SECTIONS = {
    "confidence_intervals/wilson",
    "funnel_plots/phe_wilson_inverted_limits",
    "funnel_plots/phe_significance_dataset",
    "run_charts/anhoej_critical_values",
    "run_charts/cdi_counts",
    "run_charts/p36_monthly",
    "spc/p_chart_montgomery_table_7_4",
    "spc/p_chart_36_months",
    "spc/xmr_qicharts2_i_chart",
    "spc/nhsr_plotthedots",
    "disclosure_control/cases",
}
NOT_CASES = {"confidence_intervals/notes"} | {
    f"disclosure_control/{key}" for key in ("source", "rule")
}


def _lookup(path: str):
    node = REF
    for key in path.split("/"):
        node = node[key]
    return node


def test_every_reference_section_is_accounted_for():
    tops = ("confidence_intervals", "funnel_plots", "run_charts", "spc", "disclosure_control")
    sections = {f"{top}/{key}" for top in tops for key in REF[top]}
    skipped_whole = {path for path in NOT_COMPARABLE if path.count("/") == 1}
    assert sections - NOT_CASES == TESTED_SECTIONS | skipped_whole


@pytest.mark.parametrize("path", sorted(NOT_COMPARABLE))
def test_not_comparable_reference_case(path):
    assert _lookup(path) is not None  # the skip list must not go stale
    pytest.skip(NOT_COMPARABLE[path])


# -- §1 Wilson intervals -------------------------------------------------------------------------


def _wilson_tolerance(case):
    # R binom rows for n = 30 are stored to 7 dp; everything else is full precision.
    if case["source"] == "RBINOM" and case["n"] == 30:
        return TOL["r_binom_rows_n30_stored_to_7dp"]
    return TOL["package_test_data_full_precision"]


@pytest.mark.parametrize(
    "case",
    CI["wilson"],
    ids=[f"{c['source']}-x{c['x']}-n{c['n']}-{c['conf']}" for c in CI["wilson"]],
)
def test_wilson_interval_reference(case):
    low, high = wilson_interval(case["x"], case["n"], level=case["conf"])
    assert isinstance(low, float) and isinstance(high, float)
    tol = _wilson_tolerance(case)
    assert low == pytest.approx(case["lower"], abs=tol)
    assert high == pytest.approx(case["upper"], abs=tol)


@pytest.mark.parametrize(
    "container", [list, np.array, pd.Series], ids=["list", "ndarray", "series"]
)
def test_wilson_interval_vectorised_matches_reference(container):
    cases = [c for c in CI["wilson"] if c["conf"] == 0.95]
    x, n = container([c["x"] for c in cases]), container([c["n"] for c in cases])
    low, high = wilson_interval(x, n)
    assert isinstance(low, np.ndarray) and isinstance(high, np.ndarray)
    tol = TOL["r_binom_rows_n30_stored_to_7dp"]
    np.testing.assert_allclose(low, [c["lower"] for c in cases], rtol=0, atol=tol)
    np.testing.assert_allclose(high, [c["upper"] for c in cases], rtol=0, atol=tol)


def test_wilson_interval_edges():
    low, high = wilson_interval([0, 5, 0, 7], [0, 0, 7, 7])
    assert np.isnan(low[:2]).all() and np.isnan(high[:2]).all()  # n = 0
    assert low[2] == 0.0 and high[3] == 1.0  # exactly 0 and 1, not an ulp inside
    assert 0 < high[2] < 1 and 0 < low[3] < 1
    assert all(map(math.isnan, wilson_interval(0, 0)))


def test_wilson_interval_rejects_bad_level():
    with pytest.raises(ValueError, match="level"):
        wilson_interval(1, 10, level=95)


# -- §2 funnel limits ----------------------------------------------------------------------------

PHE_LIMITS = FUNNEL["phe_wilson_inverted_limits"]
PHE_SIG = FUNNEL["phe_significance_dataset"]
# PHE's limits CSV prints the baseline rounded to 6 dp (80.642448%); its limits were computed from
# the unrounded average of the input file, which the significance dataset gives in full. Using
# the rounded baseline leaves errors up to 6.5e-7 (in %), beyond the CSV's 6-dp tolerance.
PHE_TARGET = PHE_SIG["average"]


def test_phe_baseline_is_the_rounded_average():
    assert round(PHE_TARGET * 100, 6) == PHE_LIMITS["baseline_pct"]


@pytest.mark.parametrize(
    "level, low_key, high_key",
    [
        (0.95, "Lower2s0025limit", "Upper2s0025limit"),
        (0.998, "Lower3s0001limit", "Upper3s0001limit"),
    ],
    ids=["95", "99.8"],
)
@pytest.mark.parametrize(
    "row",
    range(len(PHE_LIMITS["rows"]["Population"])),
    ids=[f"N{n}" for n in PHE_LIMITS["rows"]["Population"]],
)
def test_funnel_limits_wilson_phe(row, level, low_key, high_key):
    rows = PHE_LIMITS["rows"]
    low, high = funnel_limits(PHE_TARGET, rows["Population"][row], level, method="wilson")
    tol = TOL["phe_funnel_csv_6dp"]  # the CSV is in percent, stored to 6 dp
    assert 100 * low == pytest.approx(rows[low_key][row], abs=tol)
    assert 100 * high == pytest.approx(rows[high_key][row], abs=tol)


PHE_X = np.array(PHE_SIG["numerator"])
PHE_N = np.array(PHE_SIG["denominator"])


@pytest.mark.parametrize("unit", range(len(PHE_N)))
def test_funnel_status_phe_significance(unit):
    """PHE's assign_funnel_significance: Wilson-inverted limits at each unit's n, strict '<'."""
    target = PHE_X.sum() / PHE_N.sum()
    n = PHE_N[unit]
    limits = [*funnel_limits(target, n, 0.95, "wilson"), *funnel_limits(target, n, 0.998, "wilson")]
    low95, high95, low998, high998 = limits
    status = funnel_status(PHE_X[unit] / n, low95, high95, low998, high998)
    assert status.tolist() == [PHE_STATUS[PHE_SIG["significance"][unit]]]


def test_funnel_table_exact_limits_reproduce_phe_significance():
    # Cross-method check: our default exact binomial limits against PHE's Wilson-inverted ones.
    # With n >= 16,386 the two limit families differ far less than the units' distances from
    # them, so all 303 classifications agree.
    table = funnel_table(PHE_SIG["numerator"], PHE_SIG["denominator"], adjust="none")
    assert table.attrs["target"] == pytest.approx(PHE_SIG["average"], abs=TOL["computed_library"])
    assert table.attrs["limits"] == "exact binomial"
    assert table["status"].tolist() == [PHE_STATUS[s] for s in PHE_SIG["significance"]]


def test_funnel_table_auto_adjusts_phe_for_overdispersion():
    table = funnel_table(PHE_SIG["numerator"], PHE_SIG["denominator"])
    assert table.attrs["phi"] > 1 and table.attrs["tau2"] > 0
    assert table.attrs["limits"] == "overdispersion-adjusted (additive tau2, arcsine)"
    unadjusted = funnel_table(PHE_SIG["numerator"], PHE_SIG["denominator"], adjust="none")
    assert (table["high998"] > unadjusted["high998"]).all()
    assert (table["status"] == "in control").sum() > (unadjusted["status"] == "in control").sum()


# Exact limits for Binomial(10, 0.5) worked by hand (CDF in 1024ths), Spiegelhalter App. A.1.1:
#   p = 0.025: r = 2 (F = 56/1024), alpha = (56 - 25.6)/45   -> (2 - alpha)/10 = 59.6/450
#   p = 0.975: r = 8 (F = 1013/1024), alpha = (1013 - 998.4)/45 -> (8 - alpha)/10 = 345.4/450
#   p = 0.001: r = 1 (F = 11/1024), alpha = (11 - 1.024)/10   -> 0.00024
#   p = 0.999: r = 9 (F = 1023/1024), alpha = (1023 - 1022.976)/10 -> 0.89976
# and Binomial(1, 0.5): 95% (0, 0.95), 99.8% (0, 0.998) - the lower ends clip at 0.
EXACT_CASES = [
    (10, 0.95, 59.6 / 450, 345.4 / 450),
    (10, 0.998, 0.00024, 0.89976),
    (1, 0.95, 0.0, 0.95),
    (1, 0.998, 0.0, 0.998),
]


@pytest.mark.parametrize(
    "n, level, low, high", EXACT_CASES, ids=["n10-95", "n10-99.8", "n1-95", "n1-99.8"]
)
def test_funnel_limits_exact_hand_worked(n, level, low, high):
    got_low, got_high = funnel_limits(0.5, n, level)
    tol = TOL["computed_library"]
    assert got_low == pytest.approx(low, abs=tol)
    assert got_high == pytest.approx(high, abs=tol)


def test_funnel_limits_normal():
    low, high = funnel_limits(0.5, [100, 0], 0.95, method="normal")
    half_width = Z95 * math.sqrt(0.25 / 100)
    assert low[0] == pytest.approx(0.5 - half_width, abs=TOL["computed_library"])
    assert high[0] == pytest.approx(0.5 + half_width, abs=TOL["computed_library"])
    assert np.isnan(low[1]) and np.isnan(high[1])


@pytest.mark.parametrize("method", ["exact", "normal", "wilson"])
@pytest.mark.parametrize("target", [0.0, 1.0])
def test_funnel_limits_degenerate_target(method, target):
    low, high = funnel_limits(target, [1, 10, 1000], 0.998, method=method)
    np.testing.assert_allclose(low, target, atol=TOL["computed_library"])
    np.testing.assert_allclose(high, target, atol=TOL["computed_library"])


@pytest.mark.parametrize("method", ["exact", "normal", "wilson"])
def test_funnel_limits_shapes_and_bounds(method):
    n = [0, 1, 2, 5, 50, 5000]
    low, high = funnel_limits(0.7, pd.Series(n), 0.95, method=method)
    assert isinstance(low, np.ndarray) and np.isnan(low[0]) and np.isnan(high[0])
    assert ((0 <= low[1:]) & (low[1:] <= 0.7) & (0.7 <= high[1:]) & (high[1:] <= 1)).all()
    assert high[-1] - low[-1] < high[-2] - low[-2] < high[2] - low[2]  # the funnel narrows
    assert isinstance(funnel_limits(0.7, 50, 0.95, method=method)[0], float)


@pytest.mark.parametrize("level", [0.9, 0.99, "0.95", 95])
def test_funnel_limits_rejects_other_levels(level):
    with pytest.raises(ValueError, match="level"):
        funnel_limits(0.5, 10, level)


def test_funnel_limits_rejects_unknown_method():
    with pytest.raises(ValueError, match="method"):
        funnel_limits(0.5, 10, 0.95, method="poisson")


# -- §2 over-dispersion --------------------------------------------------------------------------
# The reference file has no FunnelPlotR phi/tau2 cases, so these are worked by hand: units of
# n = 100 (s = 0.05, w = 400) placed at asin(sqrt(p)) = pi/4 + 0.05 z around a target of 0.5.


def _units_at_z(z_scores, n=100):
    p = np.sin(np.pi / 4 + np.asarray(z_scores, dtype=float) / (2 * math.sqrt(n))) ** 2
    return p * n, np.full(len(p), n)


OD_CASES = [
    # z = -2, 2: R type-7 quantiles -1.6, 1.6; phi = 2.56; tau2 = (5.12 - 1)/(800 - 400)
    ([-2, 2], 2.56, 4.12 / 400),
    # z = -2..2: winsorised to -1.6, -1, 0, 1, 1.6; phi = 7.12/5; tau2 = (7.12 - 4)/(2000 - 400)
    ([-2, -1, 0, 1, 2], 1.424, 3.12 / 1600),
    # z = -1, 0, 1: winsorised to -0.8, 0, 0.8; phi = 1.28/3 and I.phi < I - 1, so tau2 = 0
    ([-1, 0, 1], 1.28 / 3, 0.0),
]


@pytest.mark.parametrize(
    "z_scores, phi, tau2", OD_CASES, ids=["two-units", "five-units", "under-dispersed"]
)
@pytest.mark.parametrize("target", [None, 0.5], ids=["national", "given"])
def test_overdispersion_hand_worked(z_scores, phi, tau2, target):
    x, n = _units_at_z(z_scores)
    result = overdispersion(x, n, target=target)  # symmetric units: national target is 0.5 too
    tol = TOL["computed_library"]
    assert result["target"] == pytest.approx(0.5, abs=tol)
    assert result["phi"] == pytest.approx(phi, abs=tol)
    assert result["tau2"] == pytest.approx(tau2, abs=tol)


def test_overdispersion_leaves_out_units_with_n_zero():
    x, n = _units_at_z([-2, -1, 0, 1, 2])
    with_empty = overdispersion(np.append(x, 0), np.append(n, 0))
    assert with_empty == pytest.approx(overdispersion(x, n))
    assert with_empty["n_units"] == 5


def test_overdispersion_needs_two_units():
    result = overdispersion([3], [10])
    assert result["target"] == 0.3 and result["n_units"] == 1
    assert math.isnan(result["phi"]) and math.isnan(result["tau2"])


def test_adjusted_limits_use_tau2_on_the_arcsine_scale():
    x, n = _units_at_z([-2, 2])
    table = funnel_table(x, n, adjust="always")
    half_width = Z95 * math.sqrt(0.05**2 + 4.12 / 400)
    expected = [math.sin(math.pi / 4 - half_width) ** 2, math.sin(math.pi / 4 + half_width) ** 2]
    got = table.loc[0, ["low95", "high95"]].to_numpy(float)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL["computed_library"])
    assert table.attrs["limits"] == "overdispersion-adjusted (additive tau2, arcsine)"


def test_adjusted_limits_do_not_fold_back_below_zero():
    # A tiny unit near 0 puts asin(sqrt(theta)) - z.sqrt(s^2 + tau2) below 0; sin^2 of a negative
    # angle would fold back to a positive lower limit, so the angle is clipped at 0.
    table = funnel_table([1, 30, 0], [2, 1000, 1000], adjust="always")
    assert table.loc[0, "low998"] == 0.0


# -- §2 funnel table -----------------------------------------------------------------------------


def test_funnel_table_columns_order_and_attrs():
    x = pd.Series([30, 5, 0, 45], index=["C", "A", "D", "B"])
    n = pd.Series([100, 10, 0, 90], index=x.index)
    table = funnel_table(x, n, adjust="none")
    assert list(table.index) == ["C", "A", "D", "B"]
    assert {"p", "low95", "high95", "low998", "high998", "status"} <= set(table.columns)
    assert table.attrs["target"] == pytest.approx(80 / 200)
    assert {"target", "phi", "tau2", "limits"} <= set(table.attrs)
    np.testing.assert_allclose(table["p"], [0.3, 0.5, np.nan, 0.5])


def test_funnel_table_unit_with_n_zero():
    table = funnel_table([10, 12, 0], [50, 50, 0])
    assert table.loc[2, "status"] == "none"
    assert table.loc[2, ["p", "low95", "high95", "low998", "high998"]].isna().all()
    assert table.attrs["target"] == pytest.approx(22 / 100)  # left out of the target


@pytest.mark.parametrize(
    "p, status",
    [(0.3, "in control"), (0.7, "in control"), (0.2, "alert low"), (0.8, "alert high")],
    ids=["on-low95", "on-high95", "on-low998", "on-high998"],
)
def test_funnel_status_value_exactly_on_a_limit_is_inside(p, status):
    # On a 95% limit: in control; on a 99.8% limit: inside it, so an alert rather than an alarm.
    assert funnel_status(p, low95=0.3, high95=0.7, low998=0.2, high998=0.8).tolist() == [status]


def test_funnel_status_each_band():
    limits = dict(low95=0.3, high95=0.7, low998=0.2, high998=0.8)
    p = [0.1, 0.2, 0.25, 0.3, 0.5, 0.7, 0.75, 0.8, 0.9, np.nan]
    assert funnel_status(p, **limits).tolist() == [
        "alarm low", "alert low", "alert low", "in control", "in control",
        "in control", "alert high", "alert high", "alarm high", "none",
    ]


def test_funnel_table_value_exactly_on_exact_limit_is_in_control():
    # n = 8 makes p = x/8 and limit = (r - alpha)/8 the same floating-point number.
    _, high95 = funnel_limits(0.5, 8, 0.95)
    table = funnel_table([8 * high95, 4], [8, 8], target=0.5, adjust="none")
    assert table.loc[0, "p"] == table.loc[0, "high95"]
    assert table.loc[0, "status"] == "in control"
    nudged = funnel_table([8 * high95 + 1e-9, 4], [8, 8], target=0.5, adjust="none")
    assert nudged.loc[0, "status"] == "alert high"


def test_funnel_table_all_units_equal():
    table = funnel_table([20, 40, 80], [100, 200, 400])
    assert table.attrs["phi"] == 0 and table.attrs["tau2"] == 0
    assert table.attrs["limits"] == "exact binomial"
    assert (table["status"] == "in control").all()


def test_funnel_table_one_unit():
    table = funnel_table([7], [20])
    assert table["status"].tolist() == ["in control"]
    assert math.isnan(table.attrs["phi"]) and table.attrs["limits"] == "exact binomial"


def test_funnel_table_n_equal_one():
    table = funnel_table([0, 1, 1, 0], [1, 1, 1, 1], adjust="none")
    np.testing.assert_allclose(table["high95"], 0.95, atol=TOL["computed_library"])
    # Spiegelhalter's interpolated limit at n = 1, theta = 0.5 sits below 1/1 (see EXACT_CASES).
    assert table["status"].tolist() == ["in control", "alarm high", "alarm high", "in control"]


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_funnel_table_target_zero_and_one(p):
    table = funnel_table([p * 10, p * 40], [10, 40])
    assert table.attrs["target"] == p
    assert table[["low95", "high95", "low998", "high998"]].eq(p).all().all()
    assert (table["status"] == "in control").all()
    above = funnel_table([0, 1], [10, 10], target=0.0, adjust="none")
    assert above["status"].tolist() == ["in control", "alarm high"]


def test_funnel_table_rejects_unknown_adjust():
    with pytest.raises(ValueError, match="adjust"):
        funnel_table([1, 2], [10, 10], adjust="sometimes")


# -- §3 run charts -------------------------------------------------------------------------------

CRITICAL = RUNS["anhoej_critical_values"]["rows"]


@pytest.mark.parametrize("row", CRITICAL, ids=[f"n{r['n']}" for r in CRITICAL])
def test_runs_analysis_anhoej_critical_values(row):
    alternating = np.where(np.arange(row["n"]) % 2 == 0, -1.0, 1.0)
    result = runs_analysis(alternating, centre=0.0)
    assert result["n_useful"] == row["n"]
    assert result["longest_run_max"] == row["longest_run_max"]
    assert result["crossings_min"] == row["n_crossings_min"]


def _assert_runs_match(result, qic, i=None):
    def pick(key):
        value = qic[key]
        return value[i] if i is not None else value

    assert result["n_useful"] == pick("n.useful")
    assert result["longest_run"] == pick("longest.run")
    assert result["longest_run_max"] == pick("longest.run.max")
    assert result["crossings"] == pick("n.crossings")
    assert result["crossings_min"] == pick("n.crossings.min")
    assert result["signal"] == bool(pick("runs.signal"))


CDI = np.array(RUNS["cdi_counts"]["data"]["n"], dtype=float)


def test_runs_analysis_cdi_all():
    result = runs_analysis(CDI)
    assert result["centre"] == RUNS["cdi_counts"]["run_chart_all"]["CL"]
    _assert_runs_match(result, RUNS["cdi_counts"]["run_chart_all"])


def test_runs_analysis_cdi_freeze24():
    # qicharts2 freeze = 24: median of the first 24 points, runs over all 36.
    qic = RUNS["cdi_counts"]["run_chart_freeze24"]
    result = runs_analysis(CDI, centre=np.median(CDI[:24]))
    assert result["centre"] == qic["CL"]
    _assert_runs_match(result, qic)


@pytest.mark.parametrize("part", [0, 1], ids=["part1", "part2"])
def test_runs_analysis_cdi_part24(part):
    qic = RUNS["cdi_counts"]["run_chart_part24"]
    values = CDI[:24] if part == 0 else CDI[24:]
    result = runs_analysis(values)
    assert result["centre"] == qic["CL"][part]
    _assert_runs_match(result, qic, part)


P36_X = np.array(SPC["p_chart_36_months"]["numerators"], dtype=float)
P36_N = np.array(SPC["p_chart_36_months"]["denominators"], dtype=float)


def test_runs_analysis_p36_median():
    qic = RUNS["p36_monthly"]["run_chart"]
    result = runs_analysis(pd.Series(P36_X / P36_N))
    assert result["centre"] == pytest.approx(qic["CL"], abs=TOL["computed_library"])
    _assert_runs_match(result, qic)


def test_runs_analysis_qicharts2_i_chart_around_mean():
    # qicharts2 I chart: runs around the mean; no point lies on it, so all 18 are useful.
    qic = SPC["xmr_qicharts2_i_chart"]
    expected = {key: values[0] for key, values in qic["i"].items()} | {"n.useful": len(qic["y"])}
    _assert_runs_match(runs_analysis(qic["y"], centre=qic["i"]["cl"][0]), expected)


def test_runs_analysis_drops_nan_months():
    with_gaps = np.insert(CDI, [3, 10, 10], np.nan)
    assert runs_analysis(with_gaps) == runs_analysis(CDI)


def test_runs_analysis_fewer_than_ten_useful_points_never_signals():
    # 9 points on one side: run 9 > round(log2(9) + 3) = 6 and 0 crossings < qbinom(0.05, 8, 0.5)
    # = 2, but with fewer than 10 useful points the rules may not signal.
    result = runs_analysis([1.0] * 9 + [0.0] * 3, centre=0.0)
    assert result == {
        "centre": 0.0, "n_useful": 9, "longest_run": 9, "longest_run_max": 6,
        "crossings": 0, "crossings_min": 2, "signal": False, "longest_run_side": "above",
    }
    assert runs_analysis([1.0] * 10, centre=0.0)["signal"] is True


def test_runs_analysis_side_of_the_longest_run():
    assert runs_analysis([5, 1, 1, 1, 6, 7, 1, 9], centre=4)["longest_run_side"] == "below"
    assert runs_analysis([5, 6, 1, 7, 8, 9], centre=4)["longest_run_side"] == "above"


def test_runs_analysis_no_useful_points():
    result = runs_analysis([np.nan, 2.0, 2.0])
    assert result["n_useful"] == 0 and result["signal"] is False
    assert math.isnan(result["longest_run_max"]) and math.isnan(result["crossings_min"])


# -- §4 p-charts ---------------------------------------------------------------------------------

MONTGOMERY = SPC["p_chart_montgomery_table_7_4"]
MONTGOMERY_X, MONTGOMERY_N = MONTGOMERY["count"], MONTGOMERY["size"]
P36 = SPC["p_chart_36_months"]
P_CHART_CASES = {
    # name: (x, n, laney, expected, tolerance); the Montgomery p chart is qicharts2's own test
    # reference, the others were produced by running qicharts2.
    "montgomery-p": (
        MONTGOMERY_X, MONTGOMERY_N, False, MONTGOMERY["p"], TOL["package_test_data_full_precision"]
    ),
    "montgomery-pprime": (
        MONTGOMERY_X, MONTGOMERY_N, True, MONTGOMERY["pprime_laney"], TOL["computed_library"]
    ),
    "36-months-p": (P36_X, P36_N, False, P36["p"], TOL["computed_library"]),
    "36-months-pprime": (P36_X, P36_N, True, P36["pprime_laney"], TOL["computed_library"]),
}


@pytest.mark.parametrize("name", P_CHART_CASES)
def test_p_chart_reference(name):
    x, n, laney, expected, tol = P_CHART_CASES[name]
    chart = p_chart(x, n, laney=laney)
    for ours, theirs in (("p", "y"), ("cl", "cl"), ("lcl", "lcl"), ("ucl", "ucl")):
        np.testing.assert_allclose(chart[ours], expected[theirs], rtol=0, atol=tol, err_msg=ours)
    assert chart["outside"].tolist() == expected["sigma.signal"]


def _z_scores(x, n):
    x, n = np.asarray(x, float), np.asarray(n, float)
    cl = x.sum() / n.sum()
    return (x / n - cl) / np.sqrt(cl * (1 - cl) / n)


def test_p_chart_montgomery_laney_screens_one_moving_range():
    # The Montgomery data have one z moving range above 3.267 x the mean; the p' reference only
    # matches with it screened out, so this checks the screening is not a no-op.
    z = _z_scores(MONTGOMERY_X, MONTGOMERY_N)
    unscreened_sigma_z = np.mean(np.abs(np.diff(z))) / 1.128
    chart = p_chart(MONTGOMERY_X, MONTGOMERY_N, laney=True)
    assert chart.attrs["sigma_z"] < unscreened_sigma_z


def test_p_chart_montgomery_runs():
    runs = p_chart(MONTGOMERY_X, MONTGOMERY_N).attrs["runs"]
    tol = TOL["package_test_data_full_precision"]
    assert runs["centre"] == pytest.approx(MONTGOMERY["p"]["cl"][0], abs=tol)
    _assert_runs_match(runs, MONTGOMERY["p"], 0)


def test_p_chart_36_months_runs_around_pbar():
    summary = P36["summary_p"]
    runs = p_chart(P36_X, P36_N).attrs["runs"]
    assert runs["centre"] == pytest.approx(summary["CL"], abs=TOL["computed_library"])
    _assert_runs_match(runs, summary)


def test_p_chart_freeze_uses_baseline_pbar_and_runs_over_all_points():
    chart = p_chart(P36_X, P36_N, freeze=12)
    pbar = P36_X[:12].sum() / P36_N[:12].sum()
    assert chart["cl"].eq(pbar).all()
    np.testing.assert_allclose(chart["ucl"], pbar + 3 * np.sqrt(pbar * (1 - pbar) / P36_N))
    assert chart.attrs["runs"]["centre"] == pbar
    assert chart.attrs["runs"]["n_useful"] == 36
    assert chart.attrs["runs"] == runs_analysis(P36_X / P36_N, centre=pbar)


def test_p_chart_laney_freeze_takes_sigma_z_from_baseline():
    chart = p_chart(P36_X, P36_N, freeze=12, laney=True)
    z = (P36_X[:12] / P36_N[:12] - chart["cl"].iloc[0]) / np.sqrt(
        chart["cl"].iloc[0] * (1 - chart["cl"].iloc[0]) / P36_N[:12]
    )
    moving_ranges = np.abs(np.diff(z))  # none of these 11 is above 3.267 x their mean
    assert (moving_ranges < 3.267 * moving_ranges.mean()).all()
    expected = moving_ranges.mean() / 1.128
    assert chart.attrs["sigma_z"] == pytest.approx(expected, abs=TOL["computed_library"])


def test_p_chart_point_with_n_zero():
    x = np.insert(np.asarray(MONTGOMERY["count"], float), 5, 0)
    n = np.insert(np.asarray(MONTGOMERY["size"], float), 5, 0)
    chart = p_chart(pd.Series(x), pd.Series(n))
    assert chart.loc[5, ["p", "lcl", "ucl"]].isna().all()
    assert not chart.loc[5, "outside"]
    rest = chart.drop(index=5).reset_index(drop=True)
    tol = TOL["package_test_data_full_precision"]
    np.testing.assert_allclose(rest["ucl"], MONTGOMERY["p"]["ucl"], rtol=0, atol=tol)
    _assert_runs_match(chart.attrs["runs"], MONTGOMERY["p"], 0)


def test_p_chart_rejects_bad_freeze():
    with pytest.raises(ValueError, match="freeze"):
        p_chart([1, 2, 3], [10, 10, 10], freeze=4)


# The moving-range sigma behind Laney's sigma_z is the XmR sigma: checked against qicharts2's
# I chart (3 x AMR/1.128, same package: full precision) and NHSRplotthedots (2.66 x AMR:
# cross-package tolerance), screened series only.


def test_moving_range_sigma_qicharts2_i_chart():
    qic = SPC["xmr_qicharts2_i_chart"]
    y = np.asarray(qic["y"], float)
    sigma = stats._moving_range_sigma(y)
    tol = TOL["computed_library"]
    assert y.mean() == pytest.approx(qic["i"]["cl"][0], abs=tol)
    assert y.mean() - 3 * sigma == pytest.approx(qic["i"]["lcl"][0], abs=tol)
    assert y.mean() + 3 * sigma == pytest.approx(qic["i"]["ucl"][0], abs=tol)


XMR_TOL = TOL["cross_package_xmr_2.66_vs_3_over_1.128"]


def _ptd_y(series):
    return np.asarray(PTD["series"][series]["points"]["y"], dtype=float)


def _ptd_summary(series):
    summary = PTD["series"][series]["summary"]
    return summary["mean_col"][0], summary["lpl"][0], summary["upl"][0]


def _ptd_check(name):
    check = PTD["checks_against_package_tests"][name]
    return check["mean"], check["lpl"], check["upl"]


# id: (series of y values, (mean, lpl, upl) expected, tolerance)
PTD_SCREENED = {
    "series-dev_screened": ("dev_screened", _ptd_summary("dev_screened"), XMR_TOL),
    "series-rnorm20": ("rnorm20", _ptd_summary("rnorm20"), XMR_TOL),
    "series-rnorm20_y15_10_screened": (
        "rnorm20_y15_10_screened", _ptd_summary("rnorm20_y15_10_screened"), XMR_TOL
    ),
    "package-test-rnorm20_seed123": ("rnorm20", _ptd_check("rnorm20_seed123"), XMR_TOL),
    "package-test-y15_set_to_10_screened": (
        "rnorm20_y15_10_screened", _ptd_check("y15_set_to_10_screened"), XMR_TOL
    ),
    # the vignette prints its limits to 2 dp
    "vignette-deviations_screened_2dp": (
        "dev_screened", _ptd_check("vignette_deviations_screened_2dp"), XMR_TOL + TOL["printed_2dp"]
    ),
}


@pytest.mark.parametrize("name", PTD_SCREENED)
def test_moving_range_sigma_nhsrplotthedots(name):
    series, (mean, lpl, upl), tol = PTD_SCREENED[name]
    y = _ptd_y(series)
    sigma = stats._moving_range_sigma(y)
    assert y.mean() == pytest.approx(mean, abs=tol)
    assert y.mean() - 3 * sigma == pytest.approx(lpl, abs=tol)
    assert y.mean() + 3 * sigma == pytest.approx(upl, abs=tol)


# -- §5 disclosure control -----------------------------------------------------------------------


def _expected_display(case):
    return case["suppressed"] if "suppressed" in case else str(case["rounded"])


@pytest.mark.parametrize(
    "case", DISCLOSURE["cases"], ids=[str(c["value"]) for c in DISCLOSURE["cases"]]
)
def test_suppress_count_reference(case):
    assert suppress_count(case["value"]) == _expected_display(case)


def test_suppress_counts_vectorised():
    values = [c["value"] for c in DISCLOSURE["cases"]]
    expected = [_expected_display(c) for c in DISCLOSURE["cases"]]
    assert suppress_counts(values) == expected
    assert suppress_counts(np.array(values)) == expected
    series = pd.Series(values, index=[f"site{i}" for i in range(len(values))])
    result = suppress_counts(series)
    assert isinstance(result, pd.Series) and result.index.equals(series.index)
    assert result.tolist() == expected


@pytest.mark.parametrize(
    "value, threshold, base, shown",
    [
        (15, 8, 10, "20"),  # a half rounds up (banker's rounding would give 20 here too)
        (25, 8, 10, "30"),  # ... and here banker's rounding would give 20
        (22, 8, 5, "20"),
        (23, 8, 5, "25"),
        (8, 8, 5, "10"),
        (9, 10, 5, "*"),
        (1, 8, 5, "*"),
        (10**12 + 3, 8, 5, str(10**12 + 5)),  # integer arithmetic, no float rounding
        (8.0, 8, 5, "10"),  # an integral float from a pandas column
    ],
)
def test_suppress_count_rounding(value, threshold, base, shown):
    assert suppress_count(value, threshold=threshold, base=base) == shown


@pytest.mark.parametrize("value", [-1, 2.5, float("nan")])
def test_suppress_count_rejects_non_counts(value):
    with pytest.raises(ValueError, match="value"):
        suppress_count(value)
