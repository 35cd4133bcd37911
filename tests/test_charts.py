"""Charts on tiny hand-made tidy tables: HTML shape, words, escaping, determinism, empty input."""

from __future__ import annotations

import base64
import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from fls_report import charts
from fls_report.kpis import KEY_FIELD_NAMES, band
from fls_report.stats import wilson_interval

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AWKWARD_NAME = "Tricky <script>alert('x')</script> & Sons' \"Trust\""
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"


# --------------------------------------------------------------------------------------------
# Hand-made tables in the shapes of outputs.md §3


def _result(level, code, name, kpi_id, numerator, denominator, low_numbers=False):
    pct = 100 * numerator / denominator if denominator and denominator > 0 else np.nan
    ci_low = ci_high = np.nan
    if kpi_id not in ("KPI1", "KPI2") and denominator and denominator > 0:
        low, high = wilson_interval(float(numerator), float(denominator))
        ci_low, ci_high = 100 * low, 100 * high
    return {"level": level, "code": code, "name": name, "nation": "" if code == "NATIONAL" else "England",
            "kpi_id": kpi_id, "kpi_name": "", "numerator": numerator, "denominator": denominator, "pct": pct,
            "ci_low": ci_low, "ci_high": ci_high, "rag": "none", "low_numbers": low_numbers}


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    """KPI4 and KPI2 for four services: S2 has no eligible records (and no caseload estimate),
    S3 has low numbers, S4 has an awkward name."""
    rows = [
        _result("national", "NATIONAL", "England and Wales", "KPI4", 53, 85),
        _result("service", "S1", "Alpha Hospital", "KPI4", 40, 50),
        _result("service", "S2", "Beta Hospital", "KPI4", 0, 0),
        _result("service", "S3", "Gamma Hospital", "KPI4", 3, 5, low_numbers=True),
        _result("service", "S4", AWKWARD_NAME, "KPI4", 10, 30),
        _result("national", "NATIONAL", "England and Wales", "KPI2", 106, 180),
        _result("service", "S1", "Alpha Hospital", "KPI2", 40, 100),
        _result("service", "S2", "Beta Hospital", "KPI2", 0, np.nan),
        _result("service", "S3", "Gamma Hospital", "KPI2", 5, 20),
        _result("service", "S4", AWKWARD_NAME, "KPI2", 61, 60),
    ]
    frame = pd.DataFrame(rows)
    frame["rag"] = [band(k, n, d) for k, n, d in zip(frame["kpi_id"], frame["numerator"], frame["denominator"])]
    return frame


AGE_BANDS = ["50–59", "60–69", "70–79", "80–89", "90+", "Not known"]


@pytest.fixture(scope="module")
def case_mix_table() -> pd.DataFrame:
    """Age bands for NATIONAL, ENGLAND and WALES; Wales' 90+ cell (count 3) is suppressed.
    Rows are shuffled so the chart must restore the contract order itself."""
    counts = {"NATIONAL": [30, 60, 80, 50, 23, 7], "ENGLAND": [25, 50, 70, 45, 20, 6], "WALES": [5, 10, 10, 5, 3, 1]}
    rows = []
    for code, values in counts.items():
        total = sum(values)
        for category, count in zip(AGE_BANDS, values):
            if code == "NATIONAL":
                shown, pct = str(count), 100 * count / total
            elif 0 < count < 8:
                shown, pct = "*", np.nan
            else:
                shown, pct = str(5 * round(count / 5)), 100 * count / total
            rows.append({"level": "national" if code == "NATIONAL" else "nation", "code": code,
                         "characteristic": "age band", "category": category, "count": count,
                         "shown": shown, "pct_shown": pct})
    return pd.DataFrame(rows).sample(frac=1, random_state=3).reset_index(drop=True)


MONTHS = [f"2016-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    """KPI4 and KPI5 by month; service S1 has no eligible KPI4 records in March (a gap)."""
    rows = []
    for level, code in (("national", "NATIONAL"), ("nation", "ENGLAND"), ("service", "S1"), ("service", "S2")):
        for kpi_id in ("KPI4", "KPI5"):
            for i, month in enumerate(MONTHS):
                denominator = 0 if (code == "S1" and kpi_id == "KPI4" and month == "2016-03") or code == "S2" else 20
                numerator = min(denominator, 10 + i % 5)
                rows.append({"level": level, "code": code, "kpi_id": kpi_id, "month": month,
                             "numerator": numerator, "denominator": denominator,
                             "pct": 100 * numerator / denominator if denominator else np.nan})
    return pd.DataFrame(rows)


def _tte_rows(level, code, event, days_counts, records):
    return [{"level": level, "code": code, "event": event, "days": d, "count": c, "records": records}
            for d, c in days_counts]


@pytest.fixture(scope="module")
def tte() -> pd.DataFrame:
    rows = _tte_rows("national", "NATIONAL", "assessment", [(0, 2), (10, 5), (30, 6), (80, 4), (120, 3)], 25)
    rows += _tte_rows("service", "S1", "assessment", [(5, 1), (10, 2), (95, 3)], 8)
    rows += _tte_rows("national", "NATIONAL", "dxa", [(40, 3)], 6)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fields() -> pd.DataFrame:
    """Three services × 17 key fields: S1 has two fields over 20% (and one at exactly 20%, not
    over), S2 has no in-scope records (all not applicable), S4 has one field not applicable."""
    rows = []
    for code in ("S1", "S2", "S4"):
        for i, field in enumerate(KEY_FIELD_NAMES):
            applicable, missing = 10, 0
            if code == "S2" or (code == "S4" and field == "treatment_52wk"):
                applicable = 0
            elif code == "S1" and field == "sex":
                missing = 5
            elif code == "S1" and field == "date_dxa":
                missing = 3
            elif code == "S1" and field == "care_home":
                missing = 2
            rows.append({"code": code, "field": field, "applicable": applicable, "missing": missing,
                         "pct_missing": 100 * missing / applicable if applicable else np.nan})
    return pd.DataFrame(rows)


NAMES = {"S1": "Alpha Hospital", "S2": "Beta Hospital", "S4": AWKWARD_NAME}


# --------------------------------------------------------------------------------------------
# Helpers


def figure_parts(chart: charts.Chart) -> dict:
    """Check the HTML is one <figure> with a decodable PNG; return its alt, caption and PNG."""
    page = chart.to_html()
    assert page.count("<figure") == 1 and page.count("</figure>") == 1
    assert page.startswith("<figure") and page.endswith("</figure>")
    assert page.count("<img ") == 1 and page.count("<figcaption>") == 1
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert match, "no base64 PNG"
    png = base64.b64decode(match.group(1), validate=True)
    assert png.startswith(PNG_SIGNATURE)
    alt = re.search(r'alt="([^"]*)"', page).group(1)
    caption = re.search(r"<figcaption>(.*)</figcaption>", page, re.S).group(1)
    assert "max-width:100%" in page
    return {"html": page, "alt": alt, "caption": caption, "png": png}


def figure_texts(chart: charts.Chart) -> list[str]:
    return [t.get_text() for t in chart.figure.findobj(Text)]


def says_no_records(chart: charts.Chart) -> None:
    assert any(charts.NO_RECORDS in text for text in figure_texts(chart))
    assert "no records to show" in chart.alt.lower()
    assert "no records to show" in chart.caption.lower()


# --------------------------------------------------------------------------------------------
# Every chart: HTML shape, determinism, no pyplot figures


BUILDERS = {
    "caterpillar": lambda t: charts.caterpillar(t["results"], "KPI4", highlight="S4"),
    "identification": lambda t: charts.identification(t["results"], highlight="S4"),
    "case_mix": lambda t: charts.case_mix(t["case_mix"], "age band"),
    "monthly_lines": lambda t: charts.monthly_lines(t["monthly"], ["KPI4", "KPI5"], code="S1", nation_code="ENGLAND",
                                                    names=NAMES),
    "time_to_event": lambda t: charts.time_to_event(t["tte"], "S1", "assessment", limit_days=90, name="Alpha"),
    "completeness_heatmap": lambda t: charts.completeness_heatmap(t["fields"], names=NAMES),
    "completeness_bars": lambda t: charts.completeness_bars(t["fields"], "S1", name="Alpha Hospital"),
}


@pytest.fixture(scope="module")
def tables(results, case_mix_table, monthly, tte, fields) -> dict:
    return {"results": results, "case_mix": case_mix_table, "monthly": monthly, "tte": tte, "fields": fields}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_chart_is_one_figure_with_png_alt_and_caption_and_is_deterministic(name, tables):
    before = dict(matplotlib.rcParams)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "More than 20 figures have been opened"
        first, second = BUILDERS[name](tables), BUILDERS[name](tables)
        parts = figure_parts(first)
    assert parts["alt"].strip() and parts["caption"].strip()
    assert first.to_png() == second.to_png(), "same input, different PNG bytes"
    assert first._repr_html_() == first.to_html()
    assert dict(matplotlib.rcParams) == before, "drawing changed the caller's rcParams"
    from matplotlib import pyplot

    assert pyplot.get_fignums() == [], "charts must not register figures with pyplot"


def test_png_has_no_software_or_date_metadata(tables):
    png = BUILDERS["case_mix"](tables).to_png()
    assert b"Software" not in png and b"matplotlib" not in png.lower()


# --------------------------------------------------------------------------------------------
# Caterpillar and identification


def test_caterpillar_words(results):
    chart = charts.caterpillar(results, "KPI4", highlight="S4")
    assert "62.4%" in chart.alt  # national 53/85
    assert "1 service with no eligible records is not shown" in chart.caption
    assert "3 services" in chart.alt
    assert "low numbers" in chart.alt and "hollow" in chart.caption


def test_caterpillar_highlight_rank_and_escaping(results):
    chart = charts.caterpillar(results, "KPI4", highlight="S4")
    assert "33.3%, rank 3 of 3" in chart.alt
    page = figure_parts(chart)["html"]
    assert "<script>" not in page
    assert ESCAPED_SCRIPT in page
    assert "&amp; Sons&#x27; &quot;Trust&quot;" in page


def test_caterpillar_highlight_left_off_is_said(results):
    chart = charts.caterpillar(results, "KPI4", highlight="S2")
    assert "Service S2 is not shown" in chart.caption


def test_caterpillar_draws_ci_and_national_line(results):
    chart = charts.caterpillar(results, "KPI4")
    ax = chart.figure.axes[0]
    national = [line for line in ax.lines if np.allclose(line.get_ydata(), 100 * 53 / 85)]
    assert national, "no national line"
    assert ax.get_ylim() == (0.0, 100.0)


def test_identification_words(results):
    chart = charts.identification(results, highlight="S4")
    assert "1 service without a caseload estimate is not shown" in chart.caption
    assert "58.9%" in chart.alt  # national 106/180
    assert "1 service reached the 80% goal" in chart.alt  # S4 61 of 60
    parts = figure_parts(chart)
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]


def test_kpi_with_no_denominators_says_no_records(results):
    zero = results.assign(denominator=results["denominator"].where(results["level"] != "service", 0))
    chart = charts.caterpillar(zero, "KPI4")
    says_no_records(chart)
    assert "4 services with no eligible records are not shown" in chart.caption
    figure_parts(chart)


# --------------------------------------------------------------------------------------------
# Case mix


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


# --------------------------------------------------------------------------------------------
# Monthly


def test_monthly_gaps_are_nan_not_zero(monthly):
    chart = charts.monthly_lines(monthly, ["KPI4", "KPI5"], code="S1", nation_code="ENGLAND", names=NAMES)
    service_line = chart.figure.axes[0].lines[-1]
    y = np.asarray(service_line.get_ydata(), dtype=float)
    assert np.isnan(y[2]) and not np.isnan(y).all()
    assert (y[~np.isnan(y)] > 0).all()
    assert "a gap in a line is a month with no eligible records" in chart.caption
    assert "KPI4 1 month" in chart.caption
    titles = [ax.get_title(loc="left") for ax in chart.figure.axes]
    assert any("FLS assessment" in t for t in titles) and any("DXA within" in t for t in titles)
    assert [t.get_text() for t in chart.figure.axes[0].get_xticklabels()] == ["Jan", "Apr", "Jul", "Oct"]


def test_monthly_service_without_records_and_empty_input(monthly):
    says_no_records(charts.monthly_lines(monthly, ["KPI4"], code="S2"))
    says_no_records(charts.monthly_lines(monthly.iloc[0:0], ["KPI4"]))
    says_no_records(charts.monthly_lines(monthly, []))


def test_monthly_labels_long_periods_by_year_month(monthly):
    longer = pd.concat([monthly, monthly.assign(month=monthly["month"].str.replace("2016", "2017"))])
    chart = charts.monthly_lines(longer, ["KPI4"])
    labels = [t.get_text() for t in chart.figure.axes[0].get_xticklabels()]
    assert labels[:2] == ["2016-01", "2016-04"] and labels[-1] == "2017-10"


# --------------------------------------------------------------------------------------------
# Time to event


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


def test_time_to_event_words(tte):
    chart = charts.time_to_event(tte, "S1", "assessment", limit_days=90, name="Alpha")
    # National: 17 of 25 by day 90 = 68.0%; service: 3 of 8 = 37.5%, median (10 + 95) / 2 = 52.5.
    assert "68.0% of 25 by day 90" in chart.alt
    assert "37.5% of 8 by day 90" in chart.alt
    assert "median 52.5 days" in chart.alt
    assert "an FLS assessment" in chart.alt
    x = [line.get_xdata() for line in chart.figure.axes[0].lines]
    assert any(np.allclose(v, 90) for v in x), "no line at the limit"


def test_time_to_event_service_without_records_says_so(tte):
    chart = charts.time_to_event(tte, "S1", "dxa", name="Alpha")
    says_no_records(chart)
    assert "Alpha (S1) has no records with a DXA scan" in chart.alt
    says_no_records(charts.time_to_event(tte.iloc[0:0], "S1", "assessment"))


# --------------------------------------------------------------------------------------------
# Completeness


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


# --------------------------------------------------------------------------------------------
# Small helpers


@pytest.mark.parametrize("value, text", [(12.25, "12.3%"), (12.24999, "12.2%"), (0.05, "0.1%"), (100, "100.0%"),
                                         (np.nan, "–")])
def test_format_pct_rounds_halves_up(value, text):
    assert charts.format_pct(value) == text


def test_dollar_signs_in_names_are_drawn_literally(results):
    named = results.assign(name=results["name"].where(results["code"] != "S1", "Cost $5 and $6 Trust"))
    chart = charts.caterpillar(named, "KPI4", highlight="S1")
    figure_parts(chart)  # mathtext would fail or mangle an unescaped pair of $
    assert any(r"\$5" in text for text in figure_texts(chart))


def test_caller_rcparams_do_not_change_the_png(case_mix_table):
    plain = charts.case_mix(case_mix_table, "age band").to_png()
    caller_style = {"font.size": 20, "axes.facecolor": "red", "savefig.bbox": "tight", "lines.linewidth": 5}
    with matplotlib.rc_context(caller_style):
        styled = charts.case_mix(case_mix_table, "age band").to_png()
    assert styled == plain


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_chart_accepts_an_empty_table_without_columns(name):
    empty = {key: pd.DataFrame() for key in ("results", "case_mix", "monthly", "tte", "fields")}
    chart = BUILDERS[name](empty)
    says_no_records(chart)
    figure_parts(chart)


def test_a_table_missing_contract_columns_is_named(results):
    with pytest.raises(ValueError, match=r"missing column\(s\) pct"):
        charts.caterpillar(results.drop(columns=["pct"]), "KPI4")
