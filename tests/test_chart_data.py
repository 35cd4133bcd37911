"""The data behind every chart (issue 14): each figure carries the numbers it draws as a table
(fls_report.charts.ChartData), published beside it, closed, as "Show the data"; the numbers are
the run's tables, formatted once."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from conftest import write_params
from fls_report import report
from fls_report.charts import ChartData
from fls_report.cli import main
from fls_report.kpis import NATIONAL
from fls_report.synth import write_synthetic
from fls_report.vocabulary import BLANK, one_decimal


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chart_data")
    extract, services = write_synthetic(folder, services=6, patients=1500, year=2016, seed=5)
    params = write_params(folder, extract=extract.name, services=services.name)
    assert main(["compute", str(params)]) == 0
    return report.load(params)


def table_of(markup: str) -> list[dict[str, str]]:
    """The first data table in ``markup`` as rows of {heading: text}."""
    table = BeautifulSoup(markup, "html.parser").select_one("details.chart-data table")
    headings = [th.get_text() for th in table.select("thead th")]
    return [dict(zip(headings, [cell.get_text() for cell in tr.find_all(["th", "td"])]))
            for tr in table.select("tbody tr")]


def services_of(run):
    return run.services.loc[run.services["records"] > 0, "code"].tolist()


# ---------------------------------------------------------------------------------------------
# The table itself


def test_data_table_is_closed_escaped_and_formatted_once():
    data = ChartData(caption="Odd <b> & 'quoted'", table=pd.DataFrame({
        "Service": ["A <1> & B", "C"], "Patients": [1234, 5], "%": [12.25, np.nan], "Shown": ["*", 3.0],
        "Status": ["Within the limits", "Alert, low"]}))
    markup = data.to_html()
    soup = BeautifulSoup(markup, "html.parser")
    details = soup.select_one("details.chart-data")
    assert details is not None and not details.has_attr("open")  # closed until the reader opens it
    assert details.summary.get_text() == "Show the data: Odd <b> & 'quoted'"
    assert "<b>" not in markup and "A &lt;1&gt; &amp; B" in markup
    assert soup.caption.get_text() == "The data behind the figure: Odd <b> & 'quoted'"
    assert [th["scope"] for th in soup.select("thead th")] == ["col"] * 5
    assert [th.get_text() for th in soup.select("tbody th[scope=row]")] == ["A <1> & B", "C"]
    rows = table_of(markup)
    assert rows[0] == {"Service": "A <1> & B", "Patients": "1,234", "%": "12.3", "Shown": "*",
                       "Status": "Within the limits"}
    assert rows[1]["%"] == BLANK and rows[1]["Shown"] == "3.0"
    numeric = [th.get_text() for th in soup.select("thead th.num")]
    assert numeric == ["Patients", "%", "Shown"]  # numbers right-aligned; words are not


def test_a_column_formatter_wins():
    data = ChartData(caption="c", table=pd.DataFrame({"Day": ["x"], "Days": [12.0]}),
                     formats={"Days": lambda d: f"{d:.0f} days"})
    assert table_of(data.to_html())[0]["Days"] == "12 days"


# ---------------------------------------------------------------------------------------------
# Every chart kind, against the run's tables


def test_caterpillar_data_is_the_kpi_results(run):
    chart = report.caterpillar(run, "KPI5")
    rows = table_of(chart.to_html())
    results = run.results[run.results["kpi_id"] == "KPI5"].set_index("code")
    national = results.loc[NATIONAL]
    assert rows[0]["Service"] == run.national_name and rows[0]["%"] == one_decimal(national["pct"])
    services = results[(results["level"] == "service") & (results["denominator"] > 0)]
    assert len(rows) == 1 + len(services)
    by_name = {r["Service"]: r for r in rows[1:]}
    for code, result in services.iterrows():
        row = by_name[f"{result['name']} ({code})"]
        assert row["%"] == one_decimal(result["pct"])
        assert row["95% interval from"] == one_decimal(result["ci_low"])
        assert row["Denominator"] == f"{int(result['denominator']):,}"
        assert row["Rank"] == str(int(result["rank"]))
    pcts = [float(r["%"]) for r in rows[1:]]
    assert pcts == sorted(pcts, reverse=True)  # as drawn: highest first


def test_identification_data_is_kpi2(run):
    rows = table_of(report.identification(run).to_html())
    kpi2 = run.results[(run.results["kpi_id"] == "KPI2") & (run.results["level"] == "service")
                       & run.results["denominator"].notna()]
    assert len(rows) == len(kpi2)
    for row, (_, result) in zip(rows, kpi2.iterrows()):
        assert row["Records submitted"] == f"{int(result['numerator']):,}"
        assert row["Expected caseload"] == f"{int(result['denominator']):,}"


def test_funnel_data_is_the_funnel_points(run):
    code = services_of(run)[0]
    rows = table_of(report.service_funnels(run, code).to_html())
    points = run.funnel_points[run.funnel_points["n"] > 0]
    assert len(rows) == len(points)
    keyed = {r["KPI and service"]: r for r in rows}
    for _, point in points.iterrows():
        row = keyed[f"{point['kpi_id']}, {run.names[point['code']]} ({point['code']})"]
        assert row["%"] == one_decimal(100 * point["p"])
        assert row["95% limit, upper"] == one_decimal(100 * point["high95"])
        assert row["Patients eligible"] == f"{int(point['n']):,}"


def test_run_chart_data_is_the_monthly_table_and_its_medians(run):
    rows = {r["KPI and month"]: r for r in table_of(report.run_charts(run).to_html())}
    monthly = run.monthly[run.monthly["code"] == NATIONAL]
    signals = run.signals[run.signals["code"] == NATIONAL].set_index("kpi_id")
    assert len(rows) == len(monthly) == 10 * 12  # KPI2–KPI11, every month
    for _, month in monthly.iterrows():
        row = rows[f"{month['kpi_id']}, {pd.Timestamp(month['month']).strftime('%b %Y')}"]
        assert row["%"] == one_decimal(month["pct"])
        assert row["Median"] == one_decimal(signals.loc[month["kpi_id"], "median_pct"])


def test_p_chart_data_is_the_p_chart_table(run):
    code = services_of(run)[0]
    markup = str(report.service_p_charts(run, code))
    rows = table_of(markup)
    charted = run.p_chart_points[run.p_chart_points["code"] == code]
    assert len(rows) == len(charted)
    for row, (_, point) in zip(rows, charted.iterrows()):
        assert row["KPI and month"].startswith(point["kpi_id"])
        assert row["Centre line"] == one_decimal(100 * point["cl"])
        assert row["Upper limit"] == one_decimal(100 * point["ucl"])
        assert row["Eligible patients"] == f"{int(point['n']):,}"


def test_time_to_event_data_is_the_cumulative_share_of_the_counts(run):
    code = services_of(run)[0]
    rows = table_of(report.service_time_to_event(run, code).to_html())
    label = f"% {run.names[code]} ({code})"
    tte = run.time_to_event[(run.time_to_event["code"] == code) & (run.time_to_event["event"] == "assessment")]
    records = int(tte["records"].iloc[0])
    assessment = [r for r in rows if r["Event and day"].startswith("FLS assessment")]
    assert assessment[0]["Event and day"].endswith("day 0")
    for row in assessment:
        day = int(row["Event and day"].rsplit(" ", 1)[1])
        expected = 100 * tte.loc[tte["days"] <= day, "count"].sum() / records
        assert row[label] == one_decimal(expected), day


def test_completeness_data_is_the_fields_table(run):
    code = services_of(run)[0]
    rows = table_of(report.service_completeness(run, code).to_html())
    fields = run.fields[run.fields["code"] == code]
    assert len(rows) == len(fields) == 17
    for row, (_, field) in zip(rows, fields.iterrows()):
        assert row["% missing"] == one_decimal(field["pct_missing"])
        assert row["Missing"] == f"{int(field['missing']):,}"
    heatmap = table_of(report.completeness_heatmap(run).to_html())
    assert len(heatmap) == len(run.fields)


def test_case_mix_data_is_the_published_percentages(run):
    rows = table_of(report.case_mix_chart(run, "sex").to_html())
    shown = run.case_mix[(run.case_mix["characteristic"] == "sex") & (run.case_mix["code"] == NATIONAL)]
    for row, (_, category) in zip(rows, shown.iterrows()):
        assert row["Sex"] == category["category"]
        assert row[run.national_name] == one_decimal(category["pct_shown"])


def test_breakdown_data_is_the_published_breakdowns(run):
    markup = str(report.who_gets_care(run))
    soup = BeautifulSoup(markup, "html.parser")
    assert len(soup.select("figure.fls-chart")) == len(soup.select("details.chart-data")) == 4
    rows = {r["KPI and group"]: r for r in table_of(markup)}  # age band comes first
    shown = run.breakdowns[(run.breakdowns["characteristic"] == "age band") & (run.breakdowns["code"] == NATIONAL)]
    for _, group in shown.iterrows():
        row = rows[f"{group['kpi_id']}, {group['group']}"]
        assert row[f"{run.national_name} %"] == one_decimal(group["pct_shown"])


def test_region_data_is_the_region_table(run):
    rows = {r["KPI and region"]: r for r in table_of(str(report.by_region(run)))}
    for _, region in run.regions.iterrows():
        assert rows[f"{region['kpi_id']}, {region['code']}"]["%"] == one_decimal(region["pct"])


def test_a_chart_with_nothing_drawn_has_no_data_table(run):
    code = run.services.loc[run.services["records"] == 0, "code"]
    if len(code) == 0:
        pytest.skip("the run has no service without records")
    chart = report.service_time_to_event(run, code.iloc[0])
    assert chart.data is None and "chart-data" not in chart.to_html()


# ---------------------------------------------------------------------------------------------
# On the built pages: every figure has its data, and a sample matches tables/


def test_every_figure_on_every_page_has_its_data(built_site):
    for page in sorted((built_site / "site").rglob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        figures = soup.select("figure.fls-chart")
        no_records = [f for f in figures if "no records to show" in f.img["alt"].lower()]
        data = soup.select("details.chart-data")
        assert len(data) == len(figures) - len(no_records), page.name
        for details in data:
            assert details.find_previous_sibling("figure") is not None  # beside its figure


def test_a_sample_of_published_data_tables_matches_the_tables(built_site):
    tables = built_site / "tables"
    results = pd.read_csv(tables / "kpi_results.csv", dtype={"code": str})
    soup = BeautifulSoup((built_site / "site" / "national.html").read_text(encoding="utf-8"), "html.parser")
    for kpi_id in ("KPI3", "KPI7", "KPI11"):
        details = next(d for d in soup.select("details.chart-data")
                       if d.summary.get_text().startswith(f"Show the data: {kpi_id}:") and "by service" in
                       d.summary.get_text())
        rows = table_of(str(details))
        services = results[(results["kpi_id"] == kpi_id) & (results["level"] == "service")
                           & (results["denominator"] > 0)]
        assert sorted(r["%"] for r in rows[1:]) == sorted(one_decimal(p) for p in services["pct"])
    points = pd.read_csv(tables / "funnel_points.csv", dtype={"code": str})
    code = points["code"].iloc[0]
    from fls_report.io import safe_name

    page = BeautifulSoup((built_site / "site" / "services" / f"{safe_name(code)}.html").read_text(encoding="utf-8"),
                         "html.parser")
    funnel = next(d for d in page.select("details.chart-data") if "Funnel plots" in d.summary.get_text())
    rows = table_of(str(funnel))
    drawn = points[points["n"] > 0]
    assert len(rows) == len(drawn)
    assert sorted(r["%"] for r in rows) == sorted(one_decimal(100 * p) for p in drawn["p"])
    assert not any(math.isnan(float(r["%"])) for r in rows)


def test_pages_stay_light_with_figures_at_twice_their_size(built_site):
    """Figures are drawn at 2x (sharp at 200% zoom) in a 256-colour palette; a service page stays
    under 2 MB (issue 14; the demo's heaviest is about 1.35 MB)."""
    for page in (built_site / "site" / "services").glob("*.html"):
        assert page.stat().st_size < 2_000_000, (page.name, page.stat().st_size)
