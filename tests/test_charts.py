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


# --------------------------------------------------------------------------------------------
# Funnel plots, run charts and p-charts (statistics.md §2–§4): drawn from benchmarks' tables

from fls_report import benchmarks  # noqa: E402
from fls_report.stats import funnel_table, p_chart as stats_p_chart  # noqa: E402

FUNNEL_X = {"A": 0, "B": 45, "C": 52, "D": 48, "E": 10, "F": 260, "G": 5, "H": 55, "I": 80, "J": 30}
FUNNEL_N = {"A": 0, "B": 100, "C": 100, "D": 100, "E": 100, "F": 500, "G": 10, "H": 100, "I": 100, "J": 100}
FUNNEL_NAMES = {code: f"Hospital {code}" for code in FUNNEL_X} | {"E": "Tricky <script>&'"}


def _funnel_table(adjust="auto", x=FUNNEL_X, n=FUNNEL_N) -> pd.DataFrame:
    return funnel_table(pd.Series(x, dtype=float), pd.Series(n, dtype=float), adjust=adjust)


@pytest.fixture(scope="module")
def funnel_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten services: A has no eligible records, E is an alarm low (awkward name), I an alarm
    high, J an alert low; φ > 1, so the limits are widened for over-dispersion."""
    table = _funnel_table()
    return table, benchmarks.funnel_curve(table)


def _months(count: int, start_year: int = 2016) -> list[str]:
    return [f"{start_year + i // 12}-{i % 12 + 1:02d}" for i in range(count)]


def _monthly_rows(code: str, kpi_id: str, pcts, denominator: int = 40) -> list[dict]:
    rows = []
    for month, pct in zip(_months(len(pcts)), pcts):
        d = 0 if pct is None or np.isnan(pct) else denominator
        rows.append({"level": "service", "code": code, "kpi_id": kpi_id, "month": month,
                     "numerator": 0 if d == 0 else round(pct * d / 100), "denominator": d,
                     "pct": np.nan if d == 0 else pct})
    return rows


@pytest.fixture(scope="module")
def run_inputs() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """24 months for S1: KPI4 has a shift (12 months below the median, then 12 above), KPI6
    is noise around its median, KPI11 has only 4 months with data (then gaps)."""
    shift = [50 + (3 if i % 2 else -3) for i in range(12)] + [60 + i % 3 for i in range(12)]
    noise = [40, 43, 38, 44, 39, 41, 36, 42, 40.5, 37, 45, 39, 41.5, 38, 43, 40, 44, 37, 42, 39.5, 41, 38.5, 43, 40.2]
    short = [70, 72, 75, 71] + [np.nan] * 20
    monthly = pd.DataFrame(_monthly_rows("S1", "KPI4", shift) + _monthly_rows("S1", "KPI6", noise)
                           + _monthly_rows("S1", "KPI11", short))
    signals = benchmarks.run_chart_signals(monthly)
    explanations = {row["kpi_id"]: benchmarks.signal_explanation(row) for _, row in signals.iterrows()}
    return monthly, signals, explanations


@pytest.fixture(scope="module")
def p_frame() -> pd.DataFrame:
    """12 months at 50 a month around 50%; May is far above the limits and August has no records."""
    x = [25, 24, 26, 25, 45, 23, 27, 0, 25, 24, 26, 25]
    n = [50, 50, 50, 50, 50, 50, 50, 0, 50, 50, 50, 50]
    frame = stats_p_chart(np.array(x, dtype=float), np.array(n, dtype=float))
    frame.insert(0, "month", _months(12))
    return frame


NEW_BUILDERS = {
    "funnel": lambda t: charts.funnel(t["funnel"][0], t["funnel"][1], "KPI4", names=FUNNEL_NAMES, highlight="E"),
    "run_charts": lambda t: charts.run_charts(t["runs"][0], t["runs"][1], "S1", ["KPI4", "KPI6", "KPI11"],
                                              t["runs"][2], name=AWKWARD_NAME),
    "p_chart": lambda t: charts.p_chart(t["p"], "KPI4", name="England and Wales"),
}


@pytest.fixture(scope="module")
def new_tables(funnel_inputs, run_inputs, p_frame) -> dict:
    return {"funnel": funnel_inputs, "runs": run_inputs, "p": p_frame}


@pytest.mark.parametrize("name", list(NEW_BUILDERS))
def test_new_charts_are_one_figure_deterministic_and_leave_no_state(name, new_tables):
    before = dict(matplotlib.rcParams)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first, second = NEW_BUILDERS[name](new_tables), NEW_BUILDERS[name](new_tables)
        parts = figure_parts(first)
    assert parts["alt"].strip() and parts["caption"].strip()
    assert first.to_png() == second.to_png(), "same input, different PNG bytes"
    assert dict(matplotlib.rcParams) == before
    from matplotlib import pyplot

    assert pyplot.get_fignums() == []
    width, _ = first.figure.get_size_inches()
    assert 8 <= width <= 9.5, "laptop-width figure"
    sizes = [t.get_fontsize() for t in first.figure.findobj(Text) if t.get_text().strip()]
    assert min(sizes) >= 9


def test_funnel_states_target_phi_tau2_limits_and_status_counts(funnel_inputs):
    table, curve = funnel_inputs
    parts = figure_parts(charts.funnel(table, curve, "KPI4", names=FUNNEL_NAMES, highlight="E"))
    target = charts.format_pct(100 * table.attrs["target"])
    phi, tau2 = f"{table.attrs['phi']:.1f}", f"{table.attrs['tau2']:.2g}"
    for words in (parts["alt"], parts["caption"]):
        assert f"England and Wales target of {target}" in words or f"England and Wales ({target})" in words
        assert f"φ = {phi}" in words and f"τ² = {tau2}" in words
        assert "limits widened for over-dispersion" in words
        counts = table.loc[table["n"] > 0, "status"].value_counts()
        for status in benchmarks.STATUSES:
            assert f"{int(counts.get(status, 0))} {status} (" in words
        assert "1 service with no eligible records is not shown." in words


def test_funnel_exact_limits_are_named(funnel_inputs):
    table = _funnel_table(adjust="none")
    chart = charts.funnel(table, benchmarks.funnel_curve(table), "KPI4")
    assert table.attrs["limits"] == "exact binomial"
    for words in (chart.alt, chart.caption):
        assert "exact binomial limits, not widened for over-dispersion" in words
        assert f"φ = {table.attrs['phi']:.1f}" in words


def test_funnel_highlight_is_annotated_with_status_in_words_and_escaped(funnel_inputs):
    table, curve = funnel_inputs
    assert table.at["E", "status"] == "alarm low"
    chart = charts.funnel(table, curve, "KPI4", names=FUNNEL_NAMES, highlight="E")
    parts = figure_parts(chart)
    assert "Tricky <script>&'" not in parts["html"]
    assert "Tricky &lt;script&gt;&amp;&#x27; (E)" in parts["alt"]
    assert "Alarm (below the 99.8% limit)" in parts["alt"]
    annotation = [t for t in figure_texts(chart) if "Tricky" in t and "eligible" in t]
    assert annotation and "Alarm (below the 99.8% limit)" in annotation[0]
    assert "10.0% of 100 eligible" in annotation[0]


def test_funnel_leaves_off_services_without_records(funnel_inputs):
    table, curve = funnel_inputs
    chart = charts.funnel(table, curve, "KPI4", highlight="A")
    plotted = set()
    for collection in chart.figure.axes[0].collections:
        plotted |= {float(x) for x, _ in collection.get_offsets()}
    assert plotted == {float(n) for n in FUNNEL_N.values() if n > 0}
    assert "Service A is not shown: it has no eligible records for KPI4." in chart.caption
    assert "1 service with no eligible records is not shown." in chart.alt


def test_funnel_status_markers_differ_in_shape_as_well_as_colour():
    styles = charts.FUNNEL_STATUS_STYLE
    assert len({(s["marker"], s["filled"]) for s in styles.values()}) == len(styles)
    assert len({s["colour"] for s in styles.values()}) == len(styles)


def test_funnel_zooms_when_values_and_limits_are_low():
    table = _funnel_table(x={"A": 0, "B": 4, "C": 5, "D": 3, "E": 6}, n={"A": 0, "B": 100, "C": 120, "D": 90, "E": 110})
    chart = charts.funnel(table, benchmarks.funnel_curve(table), "KPI3")
    top = chart.figure.axes[0].get_ylim()[1]
    assert top < 100 and top >= 100 * table[["p", "high998"]].max().max()
    assert f"The vertical axis stops at {top:g}%." in chart.caption
    assert "exact binomial limits" in chart.caption


def test_funnel_empty_inputs_say_no_records(funnel_inputs):
    for chart in (charts.funnel(pd.DataFrame(), pd.DataFrame(), "KPI4"), charts.funnel(None, None, "KPI4")):
        says_no_records(chart)
        figure_parts(chart)
    nobody = _funnel_table(x={"A": 0, "B": 0}, n={"A": 0, "B": 0})
    chart = charts.funnel(nobody, benchmarks.funnel_curve(nobody), "KPI4")
    says_no_records(chart)
    assert "2 services with no eligible records are not shown." in chart.caption
    table, _ = funnel_inputs
    without_curve = charts.funnel(table, None, "KPI4")
    figure_parts(without_curve)
    assert "No limit curves were given" in without_curve.caption


def test_run_charts_shift_is_explained_and_short_series_claim_no_signal(run_inputs):
    monthly, signals, explanations = run_inputs
    by_kpi = signals.set_index("kpi_id")
    assert by_kpi.at["KPI4", "shift"] and not by_kpi.at["KPI6", "signal"] and by_kpi.at["KPI11", "useful_points"] == 4
    chart = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6", "KPI11"], explanations, name="Alpha")
    parts = figure_parts(chart)
    assert f"KPI4: {explanations['KPI4']}" in chart.caption
    assert "a run of 12 months below the median" in chart.caption
    assert explanations["KPI6"] not in chart.caption  # no signal: not in the caption's list
    assert "fewer than 10 useful months" in chart.caption and "claim no signal: KPI11 (4)" in chart.caption
    assert "KPI11 20 months" in chart.caption  # gaps are counted, not drawn as zeros
    titles = [" ".join(ax.get_title(loc="left").split()) for ax in chart.figure.axes]
    assert "Signal" in titles[0] and "Signal" not in titles[1] and "Too few useful months (4)" in titles[2]
    diamonds = [c for c in chart.figure.axes[0].collections if len(c.get_offsets())]
    assert sum(len(c.get_offsets()) for c in diamonds) == by_kpi.at["KPI4", "longest_run"]
    assert "Alpha (S1)" in parts["alt"]


def test_run_charts_without_signals_and_with_awkward_names(run_inputs):
    monthly, signals, explanations = run_inputs
    chart = charts.run_charts(monthly, signals, "S1", ["KPI6"], explanations, name=AWKWARD_NAME)
    parts = figure_parts(chart)
    assert "No panel signals non-random variation" in chart.caption
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]
    assert explanations["KPI6"] in chart.alt
    short = charts.run_charts(monthly, signals, "S1", ["KPI11"], explanations)
    assert "too few useful months (4: months with data" in short.alt and "claim no signal: KPI11 (4)" in short.caption
    no_analysis = charts.run_charts(monthly, None, "S1", ["KPI4"], {})
    figure_parts(no_analysis)
    assert "No run analysis was given for KPI4." in no_analysis.caption


def test_run_charts_empty_inputs_say_no_records(run_inputs):
    monthly, signals, explanations = run_inputs
    cases = [
        charts.run_charts(pd.DataFrame(), pd.DataFrame(), "S1", ["KPI4"], {}),
        charts.run_charts(monthly, signals, "S1", [], {}),
        charts.run_charts(monthly, signals, "S9", ["KPI4"], {}),
        charts.run_charts(monthly[monthly["kpi_id"] == "KPI11"].assign(denominator=0, pct=np.nan), signals, "S1",
                          ["KPI11"], {}),
    ]
    for chart in cases:
        says_no_records(chart)
        figure_parts(chart)


def test_p_chart_counts_outside_points_and_states_limits(p_frame):
    chart = charts.p_chart(p_frame, "KPI4", name="Alpha")
    parts = figure_parts(chart)
    outside = int(p_frame["outside"].sum())
    with_data = int((p_frame["n"] > 0).sum())
    assert outside == 1
    for words in (parts["alt"], parts["caption"]):
        assert f"{outside} of {with_data} months falls outside the limits (above: May 2016)" in words
        assert "3-sigma control limits" in words
        assert charts.format_pct(100 * p_frame["cl"].iloc[0]) in words
    assert "1 month without eligible records is a gap" in chart.caption
    runs = p_frame.attrs["runs"]
    assert ("no signal" in chart.caption) == (not runs["signal"])
    line = [ln for ln in chart.figure.axes[0].lines if ln.get_marker() == "o"][0]
    assert np.isnan(line.get_ydata()[7]), "a month without records is a gap, not a zero"


def test_p_chart_runs_signal_is_said():
    x = np.array([20] * 6 + [30] * 6, dtype=float)
    frame = stats_p_chart(x, np.full(12, 50.0))
    frame.insert(0, "month", _months(12))
    assert frame.attrs["runs"]["signal"]
    chart = charts.p_chart(frame, "KPI6")
    assert "Runs analysis around the centre line: a signal of non-random variation" in chart.caption
    laney = stats_p_chart(x, np.full(12, 50.0), laney=True)
    laney.insert(0, "month", _months(12))
    assert "Laney p′" in charts.p_chart(laney, "KPI6").caption


def test_p_chart_empty_inputs_say_no_records(p_frame):
    for chart in (charts.p_chart(None, "KPI4"), charts.p_chart(p_frame.iloc[0:0], "KPI4"),
                  charts.p_chart(pd.DataFrame(), "KPI4")):
        says_no_records(chart)
        figure_parts(chart)
    assert "at least 10 months" in charts.p_chart(None, "KPI4").caption


# --------------------------------------------------------------------------------------------
# Combined figures for the service page: funnel grid, run charts with a reference line,
# p-chart grid and the time-to-event pair (one PNG each instead of one per KPI or event)

from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402


def _funnel_inputs_for(tables: dict) -> tuple[dict, dict]:
    return tables, {k: benchmarks.funnel_curve(t) for k, t in tables.items()}


@pytest.fixture(scope="module")
def grid_funnels() -> tuple[dict, dict]:
    """KPI4 widened for over-dispersion (A left off, E alarm low, I alert high), KPI5 the same
    services with exact limits, KPI3 low values (zoomed axis) where E has no eligible records."""
    low = _funnel_table(x={"A": 0, "B": 4, "C": 5, "D": 3, "E": 0}, n={"A": 0, "B": 100, "C": 120, "D": 90, "E": 0})
    return _funnel_inputs_for({"KPI3": low, "KPI4": _funnel_table(), "KPI5": _funnel_table(adjust="none")})


@pytest.fixture(scope="module")
def reference_monthly() -> pd.DataFrame:
    """England and Wales rows for the run_inputs KPIs: KPI11 runs higher than the service's axis."""
    return pd.DataFrame(_monthly_rows("NATIONAL", "KPI4", [55.0] * 24) + _monthly_rows("NATIONAL", "KPI6", [41.0] * 24)
                        + _monthly_rows("NATIONAL", "KPI11", [95.0] * 24, denominator=400)).assign(level="national")


@pytest.fixture(scope="module")
def p_frames(p_frame) -> dict:
    """KPI4: May outside the limits, no runs signal; KPI6: one crossing (runs signal); KPI7: no p-chart."""
    shifted = stats_p_chart(np.array([20] * 6 + [30] * 6, dtype=float), np.full(12, 50.0))
    shifted.insert(0, "month", _months(12))
    return {"KPI4": p_frame, "KPI6": shifted, "KPI7": None}


GRID_BUILDERS = {
    "funnel_grid": lambda t: charts.funnel_grid(t["funnels"][0], t["funnels"][1], names=FUNNEL_NAMES, highlight="E"),
    "run_charts_reference": lambda t: charts.run_charts(t["runs"][0], t["runs"][1], "S1", ["KPI4", "KPI6", "KPI11"],
                                                        t["runs"][2], name="Alpha", reference=t["reference"]),
    "p_chart_grid": lambda t: charts.p_chart_grid(t["p"], name=AWKWARD_NAME),
    "time_to_event_pair": lambda t: charts.time_to_event_pair(t["tte"], "S1", {"assessment": 90, "dxa": 90},
                                                              name="Alpha"),
}


@pytest.fixture(scope="module")
def grid_tables(grid_funnels, run_inputs, reference_monthly, p_frames, tte) -> dict:
    return {"funnels": grid_funnels, "runs": run_inputs, "reference": reference_monthly, "p": p_frames, "tte": tte}


@pytest.mark.parametrize("name", list(GRID_BUILDERS))
def test_combined_charts_are_one_deterministic_figure_and_leave_no_state(name, grid_tables):
    before = dict(matplotlib.rcParams)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first, second = GRID_BUILDERS[name](grid_tables), GRID_BUILDERS[name](grid_tables)
        parts = figure_parts(first)
    assert parts["alt"].strip() and parts["caption"].strip()
    assert first.to_png() == second.to_png(), "same input, different PNG bytes"
    assert first.alt == second.alt and first.caption == second.caption
    assert dict(matplotlib.rcParams) == before
    from matplotlib import pyplot

    assert pyplot.get_fignums() == []
    width, _ = first.figure.get_size_inches()
    assert 8 <= width <= 9.5, "laptop-width figure"
    sizes = [t.get_fontsize() for t in first.figure.findobj(Text) if t.get_text().strip()]
    assert min(sizes) >= 9


@pytest.mark.parametrize("name", ["funnel_grid", "p_chart_grid", "time_to_event_pair"])
def test_combined_grids_are_laid_out_by_hand(name, grid_tables):
    """No layout engine: constrained layout makes savefig draw twice and measure every panel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    chart = GRID_BUILDERS[name](grid_tables)
    assert chart.figure.get_layout_engine() is None
    renderer = FigureCanvasAgg(chart.figure).get_renderer()
    # Each panel with its title, labels and tick labels sits inside the figure, clear of the others.
    boxes = [ax.get_tightbbox(renderer) for ax in chart.figure.axes if ax.axison]
    figure_box = chart.figure.bbox
    for i, a in enumerate(boxes):
        assert a.x0 >= 0 and a.y0 >= 0 and a.x1 <= figure_box.x1 and a.y1 <= figure_box.y1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


# funnel_grid


def _ring_offsets(ax) -> list[tuple[float, float]]:
    rings = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_edgecolors())
             and to_hex(c.get_edgecolors()[0]) == to_hex(charts.HIGHLIGHT_COLOUR) and not len(c.get_facecolors())]
    return [tuple(o) for c in rings for o in c.get_offsets()]


def test_funnel_grid_has_a_panel_per_kpi_in_order_with_one_legend(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves, names=FUNNEL_NAMES, highlight="E")
    axes = chart.figure.axes
    assert len(axes) == 3
    titles = [" ".join(ax.get_title(loc="left").split()) for ax in axes]
    assert [t.split(":")[0] for t in titles] == ["KPI3", "KPI4", "KPI5"]
    assert all(ax.get_xscale() == "log" for ax in axes)
    assert len(chart.figure.legends) == 1 and all(ax.get_legend() is None for ax in axes)
    assert axes[0].get_ylim()[1] < 100 and axes[1].get_ylim() == (0.0, 100.0)
    assert _ring_offsets(axes[0]) == [] and _ring_offsets(axes[1]) == [(100.0, 10.0)]
    legend = [t.get_text() for t in chart.figure.legends[0].get_texts()]
    assert "Alarm (below the 99.8% limit)" in legend and "Tricky <script>&' (E)" in legend


def test_funnel_grid_nine_kpis_make_a_three_by_three_grid_of_page_size():
    table = _funnel_table()
    tables, curves = _funnel_inputs_for({f"KPI{i}": table for i in range(3, 12)})
    chart = charts.funnel_grid(tables, curves, highlight="I")
    assert len(chart.figure.axes) == 9
    xs = {round(ax.get_position().x0, 3) for ax in chart.figure.axes}
    ys = {round(ax.get_position().y0, 3) for ax in chart.figure.axes}
    assert len(xs) == 3 and len(ys) == 3
    width, height = chart.figure.get_size_inches()
    assert 9 <= width <= 10 and 9 <= height <= 10.5
    assert all(_ring_offsets(ax) == [(100.0, 80.0)] for ax in chart.figure.axes)
    assert figure_texts(chart).count("Alert, high: 80.0% of 100") == 9


def test_funnel_grid_words_give_target_status_phi_tau2_limits_and_left_off(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves, names=FUNNEL_NAMES, highlight="E")
    parts = figure_parts(chart)
    adjusted = tables["KPI4"].attrs
    phi, tau2 = f"{adjusted['phi']:.1f}", f"{adjusted['tau2']:.2g}"
    target = charts.format_pct(100 * adjusted["target"])
    sentences = chart.alt.split(". KPI")
    kpi4 = [s for s in sentences if s.startswith("4 ")][0]
    kpi5 = [s for s in sentences if s.startswith("5 ")][0]
    assert f"target (England and Wales) {target}" in kpi4
    assert "Tricky <script>&' (E) 10.0% of 100 eligible, alarm low (below the 99.8% limit)" in kpi4
    assert f"φ = {phi}, τ² = {tau2}" in kpi4 and "limits widened for over-dispersion" in kpi4
    assert "exact binomial limits, not widened for over-dispersion" in kpi5 and f"φ = {phi}" in kpi5
    assert "is not shown (no eligible records)" in chart.alt  # KPI3: E has n = 0
    assert "2 of 9 services outside the 95% limits" in kpi4
    # The caption: which KPIs were widened, with φ and τ², and what each leaves off.
    assert f"Limits were widened for over-dispersion (additive τ² on the arcsine scale) for KPI4 (φ = {phi}, " \
           f"τ² = {tau2})." in chart.caption
    assert "Exact binomial limits, not widened for over-dispersion, for KPI3 (" in chart.caption
    assert "and KPI5 (φ = " in chart.caption
    assert "Left off, with no eligible records: KPI3 2 services, KPI4 1 service, KPI5 1 service." in chart.caption
    assert "Tricky <script>&' (E) is not shown for KPI3 (no eligible records)." in chart.caption
    assert "Vertical axes stop below 100% for KPI3" in chart.caption
    # Statuses in words in the panels, and everything escaped in the HTML.
    texts = figure_texts(chart)
    assert "Alarm, low: 10.0% of 100" in texts and "Not shown: no eligible records" in texts
    assert "Tricky <script>" not in parts["html"] and "Tricky &lt;script&gt;&amp;&#x27; (E)" in parts["alt"]


def test_funnel_grid_without_highlight_counts_services_outside(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves)
    assert "9 services; 2 outside the 95% limits" in figure_texts(chart)
    assert "ringed" not in chart.alt and "ringed" not in chart.caption
    assert all(_ring_offsets(ax) == [] for ax in chart.figure.axes)


def test_funnel_grid_highlight_not_in_any_table_is_said(grid_funnels):
    tables, curves = grid_funnels
    chart = charts.funnel_grid(tables, curves, highlight="Z9")
    assert "Service Z9 is not shown for KPI3, KPI4 and KPI5 (not in the funnel table)." in chart.caption
    assert "ringed" not in chart.caption
    assert figure_texts(chart).count("Not shown: not in the funnel table") == 3


def test_funnel_grid_empty_inputs_say_no_records(grid_funnels):
    tables, curves = grid_funnels
    for chart in (charts.funnel_grid({}, {}), charts.funnel_grid(None, None),
                  charts.funnel_grid({"KPI4": pd.DataFrame()}, {})):
        says_no_records(chart)
        figure_parts(chart)
    nobody = _funnel_table(x={"A": 0, "B": 0}, n={"A": 0, "B": 0})
    chart = charts.funnel_grid({"KPI4": nobody}, {"KPI4": benchmarks.funnel_curve(nobody)})
    says_no_records(chart)
    assert "KPI4 2 services" in chart.caption
    # One KPI without services still draws the others, and says so in its panel.
    mixed = charts.funnel_grid({"KPI3": nobody, "KPI4": tables["KPI4"]}, {"KPI4": curves["KPI4"]}, highlight="E")
    figure_parts(mixed)
    assert any(charts.NO_RECORDS in text for text in figure_texts(mixed))
    assert "KPI3 Spine fracture identification: no service has eligible records." in mixed.alt
    without_curves = charts.funnel_grid({"KPI4": tables["KPI4"]}, {})
    assert "No limit curves were given for KPI4" in without_curves.caption


# run_charts with a reference line


def test_run_charts_without_reference_is_byte_identical(run_inputs):
    monthly, signals, explanations = run_inputs
    args = (monthly, signals, "S1", ["KPI4", "KPI6", "KPI11"], explanations)
    plain = charts.run_charts(*args, name="Alpha")
    for chart in (charts.run_charts(*args, name="Alpha", reference=None),
                  charts.run_charts(*args, name="Alpha", reference=pd.DataFrame())):
        assert chart.to_png() == plain.to_png()
        assert (chart.alt, chart.caption) == (plain.alt, plain.caption)
    assert "England and Wales" not in plain.caption


def test_run_charts_reference_is_a_thin_grey_line_named_in_the_legend(run_inputs, reference_monthly):
    monthly, signals, explanations = run_inputs
    chart = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6", "KPI11"], explanations, name="Alpha",
                              reference=reference_monthly)
    figure_parts(chart)
    for ax, value in zip(chart.figure.axes, (55.0, 41.0, 95.0)):
        grey = [ln for ln in ax.lines if to_hex(ln.get_color()) == to_hex(charts.REFERENCE_COLOUR)]
        assert len(grey) == 1 and grey[0].get_linewidth() < 1.3
        assert np.allclose(grey[0].get_ydata(), value)
        assert ax.get_ylim()[1] >= value  # the axis holds the reference too
    legend_texts = [t.get_text() for ax in chart.figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    legend_texts += [t.get_text() for legend in chart.figure.legends for t in legend.get_texts()]
    assert "England and Wales" in legend_texts
    assert "England and Wales 55.0% to 55.0%" in chart.alt and "England and Wales 95.0% to 95.0%" in chart.alt
    assert "Thin grey line: the monthly percentage for England and Wales" in chart.caption
    # The run analysis is the unit's own; the KPI11 axis now reaches the reference's 95%.
    assert f"KPI4: {explanations['KPI4']}" in chart.caption and "claim no signal: KPI11 (4)" in chart.caption
    assert "Vertical axes stop below 100% for KPI4 (80%), KPI6 (50%)." in chart.caption


def test_run_charts_reference_name_is_escaped(run_inputs, reference_monthly):
    monthly, signals, explanations = run_inputs
    chart = charts.run_charts(monthly, signals, "S1", ["KPI4"], explanations,
                              reference=reference_monthly.assign(code="X1"), reference_name=AWKWARD_NAME)
    parts = figure_parts(chart)
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["caption"]


# p_chart_grid


def test_p_chart_grid_panels_words_and_signal_frame(p_frames, p_frame):
    chart = charts.p_chart_grid(p_frames, name="Alpha")
    parts = figure_parts(chart)
    axes = chart.figure.axes
    assert len(axes) == 2 and len(chart.figure.legends) == 1
    centre = charts.format_pct(100 * p_frame["cl"].iloc[0])
    for words in (chart.alt, chart.caption):
        assert f"KPI4: centre line {centre}" in words or f"centre line of {centre}" in words
        assert "1 of 11 months falls outside the limits (above: May 2016)" in words
    assert "runs analysis: a signal of non-random variation" in chart.alt
    assert "KPI6: centre line 50.0%" in chart.caption and "runs signal: too few crossings" in chart.caption
    assert "No p-chart for KPI7: a p-chart needs at least 10 months" in chart.caption
    assert "KPI4 1 month" in chart.caption  # August is a gap
    texts = figure_texts(chart)
    assert f"Centre line {centre}; 1 month outside" in texts and "Runs: no signal" in texts
    assert any(t.startswith("Runs signal") for t in texts)
    assert to_hex(axes[1].spines["top"].get_edgecolor()) == to_hex(charts.SIGNAL_COLOUR)
    assert not axes[0].spines["top"].get_visible()
    line = [ln for ln in axes[0].lines if ln.get_marker() == "o"][0]
    assert np.isnan(line.get_ydata()[7])
    assert parts["alt"].startswith("p-charts of 2 KPIs for Alpha")


def test_p_chart_grid_escapes_names_and_handles_empty_input(p_frames):
    parts = figure_parts(charts.p_chart_grid(p_frames, name=AWKWARD_NAME))
    assert "<script>" not in parts["html"] and ESCAPED_SCRIPT in parts["alt"]
    for chart in (charts.p_chart_grid({}), charts.p_chart_grid(None), charts.p_chart_grid({"KPI4": None}),
                  charts.p_chart_grid({"KPI4": pd.DataFrame()})):
        says_no_records(chart)
        figure_parts(chart)
    assert "KPI4" in charts.p_chart_grid({"KPI4": None}).caption


def test_p_chart_grid_nine_kpis_fit_a_page(p_frame):
    chart = charts.p_chart_grid({f"KPI{i}": p_frame for i in range(3, 12)})
    assert len(chart.figure.axes) == 9
    _, height = chart.figure.get_size_inches()
    assert 8.5 <= height <= 10.5


# time_to_event_pair


def test_time_to_event_pair_matches_two_single_charts(tte):
    chart = charts.time_to_event_pair(tte, "S1", {"assessment": 90, "dxa": 90}, name="Alpha")
    parts = figure_parts(chart)
    single = charts.time_to_event(tte, "S1", "assessment", limit_days=90, name="Alpha")
    assert "68.0% of 25 by day 90" in chart.alt and "37.5% of 8 by day 90" in chart.alt
    assert "median 52.5 days" in chart.alt and single.alt in chart.alt
    left, right = chart.figure.axes
    assert any(np.allclose(line.get_xdata(), 90) for line in left.lines)
    legend = [t.get_text() for t in left.get_legend().get_texts()]
    assert len(legend) == 2 and all("median" in t and "IQR" in t for t in legend)
    assert "Alpha (S1)" in legend[0] and "England and Wales" in legend[1]
    # S1 has no DXA records: the right panel says so, and so do the words.
    assert right.get_legend() is None and not right.axison
    assert "Alpha (S1) has no records with a DXA scan on or after the fracture date." in chart.caption
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


# Drawing over a cached backdrop (funnel_grid)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image
    import io

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _full_draw(chart: charts.Chart) -> bytes:
    import io

    buffer = io.BytesIO()
    with charts._house_style():
        chart.figure.savefig(buffer, format="png", dpi=charts.DPI, metadata={"Software": None})
    return buffer.getvalue()


def test_funnel_grid_over_a_cached_backdrop_is_the_full_drawing(grid_funnels, monkeypatch):
    """Every highlighted service's grid, drawn over the first one's backdrop, has exactly the
    pixels of drawing its whole figure; the backdrop is shared, so the panels are drawn once."""
    tables, curves = grid_funnels
    monkeypatch.setattr(charts, "_BACKDROPS", type(charts._BACKDROPS)())
    grids = [charts.funnel_grid(tables, curves, highlight=code) for code in ("E", "I", "B", "Z9")]
    for grid in grids:
        assert np.array_equal(_pixels(grid.to_png()), _pixels(_full_draw(grid)))
    # Z9 is ringed nowhere, but its legend still takes the same rows: one layout, one backdrop.
    assert len(charts._BACKDROPS) == 1 and len({grid.backdrop for grid in grids}) == 1
    assert len({grid.to_png() for grid in grids}) == 4  # each says its own service


def test_funnel_grid_backdrop_changes_with_the_tables(grid_funnels):
    tables, curves = grid_funnels
    moved = {k: t.copy() for k, t in tables.items()}
    moved["KPI4"].attrs = dict(tables["KPI4"].attrs)
    moved["KPI4"].loc[moved["KPI4"].index[1], "p"] = 0.5
    before = charts.funnel_grid(tables, curves, highlight="E")
    after = charts.funnel_grid(moved, curves, highlight="E")
    assert before.backdrop != after.backdrop
    assert np.array_equal(_pixels(after.to_png()), _pixels(_full_draw(after)))
    assert before.to_png() != after.to_png()


# Minor ticks drawn as one line of markers


@pytest.mark.parametrize("months", [12, 15, 30])
def test_month_axis_minor_ticks_look_as_matplotlibs(months):
    """The month axis draws its minor ticks as one line of tick markers (cheaper than
    matplotlib's ticks): the pixels are those of matplotlib's own minor ticks."""
    from matplotlib.ticker import FixedLocator

    labels = [f"{2016 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    drawn = []
    for ours in (True, False):
        with charts._house_style():
            figure = charts._figure(2.5)
            ax = figure.add_subplot()
            ax.plot(np.arange(months), np.linspace(10, 90, months))
            charts._month_axis(ax, labels, narrow=True)
            if not ours:  # the same axis with matplotlib's minor ticks at every month instead
                for line in ax.lines[1:]:
                    line.remove()
                ax.xaxis.set_minor_locator(FixedLocator(np.arange(months)))
        drawn.append(_pixels(_full_draw(charts.Chart(figure, "", ""))))
    assert np.array_equal(drawn[0], drawn[1])


def assert_drawn_as_whole(drawn: list[charts.Chart]) -> None:
    """Each chart, drawn over a backdrop (cached by the first with its key), has exactly the
    pixels of drawing its whole figure."""
    for chart in drawn:
        assert chart.backdrop is not None
        assert np.array_equal(_pixels(chart.to_png()), _pixels(_full_draw(chart)))


@pytest.fixture()
def fresh_backdrops(monkeypatch):
    monkeypatch.setattr(charts, "_BACKDROPS", type(charts._BACKDROPS)())


def test_time_to_event_pair_over_a_cached_backdrop_is_the_full_drawing(tte, fresh_backdrops):
    more = tte.copy()
    for code, counts in (("S2", [(3, 2), (60, 4), (100, 1)]), ("S3", [(20, 1), (30, 1)])):
        more = pd.concat([more, pd.DataFrame(_tte_rows("service", code, "assessment", counts, 9)),
                          pd.DataFrame(_tte_rows("service", code, "dxa", [(50, 2)], 4))], ignore_index=True)
    pairs = [charts.time_to_event_pair(more, code, {"assessment": 90, "dxa": 90}, name=name)
             for code, name in (("S2", "Beta"), ("S3", "Gamma"), ("S1", "Alpha"), ("NATIONAL", None))]
    assert_drawn_as_whole(pairs)
    # S2 and S3 have both events and the same days drawn: one backdrop, each curve its own.
    assert pairs[0].backdrop == pairs[1].backdrop and pairs[0].to_png() != pairs[1].to_png()
    assert len({p.backdrop for p in pairs}) == 3  # S1 has no DXA panel; the national page has one curve


def test_completeness_bars_over_a_cached_backdrop_is_the_full_drawing(fields, fresh_backdrops):
    bars = [charts.completeness_bars(fields, code, name=name) for code, name in (("S1", "Alpha"), ("S4", "Delta"))]
    assert_drawn_as_whole(bars)
    assert bars[0].backdrop == bars[1].backdrop and len(charts._BACKDROPS) == 1
    assert bars[0].to_png() != bars[1].to_png()
    # A field's value at 100% keeps its label inside the figure (room is kept on the right).
    full = fields.assign(missing=np.where(fields["field"] == "sex", 10, fields["missing"]))
    full["pct_missing"] = 100 * full["missing"] / full["applicable"].where(full["applicable"] > 0)
    chart = charts.completeness_bars(full, "S1")
    chart.to_png()
    label = [t for t in chart.figure.axes[0].texts if t.get_text().startswith("100.0%")][0]
    renderer = chart.figure.canvas.get_renderer()
    assert label.get_window_extent(renderer).x1 <= chart.figure.bbox.x1


def test_identification_over_a_cached_backdrop_is_the_full_drawing(results, fresh_backdrops):
    shown = results[(results["level"] == "service") & (results["kpi_id"] == "KPI2")
                    & results["denominator"].notna()]["code"].tolist()
    drawn = [charts.identification(results, highlight=code) for code in shown] + [charts.identification(results)]
    assert_drawn_as_whole(drawn)
    assert len({chart.backdrop for chart in drawn}) == 1 and len(charts._BACKDROPS) == 1
    assert len({chart.to_png() for chart in drawn}) == len(drawn)  # each names its own service


# --------------------------------------------------------------------------------------------
# Northern Ireland (webtool_export.md §5): a nation's colour, and the run's national name


EWNI = "England, Wales and Northern Ireland"


def test_northern_ireland_has_an_okabe_ito_line_colour_of_its_own():
    colour = charts.LEVEL_COLOURS["NORTHERN_IRELAND"]
    assert colour in charts.OKABE_ITO.values()
    others = {v for k, v in charts.LEVEL_COLOURS.items() if k != "NORTHERN_IRELAND"}
    assert colour not in others
    # nor the colours with a meaning of their own: highlight, over the threshold, signals, medians
    assert colour not in {charts.HIGHLIGHT_COLOUR, charts.OVER_THRESHOLD_COLOUR, charts.SIGNAL_COLOUR,
                          charts.MEDIAN_COLOUR, *charts.RAG_COLOURS.values()}


def test_charts_name_the_national_level_from_the_table(results, case_mix_table, monthly, tte, funnel_inputs):
    """With the NATIONAL row named for a run with Northern Ireland, every chart says that name
    and none says "England and Wales"."""
    named = results.assign(name=results["name"].where(results["code"] != "NATIONAL", EWNI))
    names = {"NATIONAL": EWNI, "S1": "Alpha"}
    table, curve = funnel_inputs
    drawn = [
        charts.caterpillar(named, "KPI4"), charts.identification(named),
        charts.case_mix(case_mix_table, "age band", names=names),
        charts.monthly_lines(monthly, ["KPI4"], names=names),
        charts.time_to_event(tte, "S1", "assessment", name="Alpha", national_name=EWNI),
        charts.time_to_event_pair(tte, "S1", {"assessment": 90, "dxa": 90}, name="Alpha", national_name=EWNI),
        charts.funnel(table, curve, "KPI4", names=names),
        charts.funnel_grid({"KPI4": table}, {"KPI4": curve}, names=names),
        charts.run_charts(monthly, None, "S1", ["KPI4"], name="Alpha",
                          reference=monthly[monthly["code"] == "NATIONAL"], reference_name=EWNI),
    ]
    for chart in drawn:
        words = chart.alt + chart.caption + " ".join(figure_texts(chart))
        assert "England and Wales" not in words, chart.caption
        assert EWNI in words, chart.caption


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
