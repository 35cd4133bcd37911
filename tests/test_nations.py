"""Northern Ireland as a nation (webtool_export.md §5; kpis.md "Levels and rows").

Nation rows are ENGLAND and WALES always and NORTHERN_IRELAND only when the services file has a
Northern Ireland service; the national level is then "England, Wales and Northern Ireland". The
tables come first, then one small built site with a Northern Ireland service (pages, index,
slide pack, workbook), built once for the module.
"""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook
from pptx import Presentation

from conftest import SERVICES, counts, result, row, run_kpis, write_params
from fls_report.casemix import case_mix
from fls_report.io import safe_name
from fls_report.kpis import (KPI_IDS, LEVEL_ORDER, NATION_CODES, eighty_fifty_eighty, eighty_fifty_eighty_summary,
                             time_to_event)
from fls_report.params import DisclosureParams, load_params

EWNI = "England, Wales and Northern Ireland"
NI_SERVICE = {"service_code": "N1", "service_name": "Service Antrim", "nation": "Northern Ireland",
              "region": "", "expected_caseload": "60", "hip_fractures": ""}
WITH_NI = [*SERVICES, NI_SERVICE]
NATION_ROWS = {"ENGLAND", "WALES", "NORTHERN_IRELAND"}


def ni_rows() -> list[dict]:
    """S1 (England): 2 records, one assessed; S2 (Wales): 1; N1 (Northern Ireland): 3, two assessed."""
    return [row(1), row(2, date_assessed=""), row(3, service_code="S2"), row(4, service_code="N1"),
            row(5, service_code="N1", date_assessed=""), row(6, service_code="N1")]


# --------------------------------------------------------------------------------------------
# kpi_results


def test_nation_codes_name_northern_ireland():
    assert NATION_CODES == {"England": "ENGLAND", "Wales": "WALES", "Northern Ireland": "NORTHERN_IRELAND"}


def test_kpi_results_with_a_northern_ireland_service(tmp_path):
    _, results, _ = run_kpis(tmp_path, ni_rows(), WITH_NI)
    ni = results[results["code"] == "NORTHERN_IRELAND"]
    assert ni["kpi_id"].tolist() == list(KPI_IDS)
    assert set(ni["level"]) == {"nation"} and set(ni["name"]) == {"Northern Ireland"}
    assert set(ni["nation"]) == {"Northern Ireland"}
    assert set(results.loc[results["code"] == "NATIONAL", "name"]) == {EWNI}
    assert set(results.loc[results["level"] == "nation", "code"]) == NATION_ROWS  # England and Wales still written
    # Sums over the nation's services (KPI1: its services meeting the rule).
    for kpi_id in KPI_IDS[1:]:
        assert counts(results, kpi_id, "NORTHERN_IRELAND") == counts(results, kpi_id, "N1"), kpi_id
    assert counts(results, "KPI4", "NORTHERN_IRELAND") == (2, 3)
    assert counts(results, "KPI2", "NORTHERN_IRELAND") == (3, 60)
    assert counts(results, "KPI4", "NATIONAL") == (4, 6)
    assert counts(results, "KPI4", "ENGLAND") == (1, 2) and counts(results, "KPI4", "WALES") == (1, 1)
    assert result(results, "KPI1", "NORTHERN_IRELAND")["denominator"] == 1
    assert counts(results, "KPI1", "NATIONAL")[1] == 3


def test_kpi_results_rows_sorted_by_level_code_and_kpi(tmp_path):
    _, results, _ = run_kpis(tmp_path, ni_rows(), WITH_NI)
    key = list(zip(results["level"].map(LEVEL_ORDER.index), results["code"], results["kpi_id"].str[3:].astype(int)))
    assert key == sorted(key)
    assert list(dict.fromkeys(results["code"])) == ["NATIONAL", "ENGLAND", "NORTHERN_IRELAND", "WALES", "N1", "S1", "S2"]


def test_kpi_results_without_a_northern_ireland_service(tmp_path):
    _, results, monthly = run_kpis(tmp_path, [row(1), row(2, service_code="S2")])
    assert "NORTHERN_IRELAND" not in set(results["code"]) | set(monthly["code"])
    assert set(results.loc[results["code"] == "NATIONAL", "name"]) == {"England and Wales"}
    assert set(results.loc[results["level"] == "nation", "code"]) == {"ENGLAND", "WALES"}


def test_england_and_wales_written_even_when_every_service_is_in_northern_ireland(tmp_path):
    _, results, _ = run_kpis(tmp_path, [row(1, service_code="N1")], [NI_SERVICE])
    assert list(dict.fromkeys(results.loc[results["level"] == "nation", "code"])) == ["ENGLAND", "NORTHERN_IRELAND", "WALES"]
    assert counts(results, "KPI4", "ENGLAND") == (0, 0) and counts(results, "KPI4", "NORTHERN_IRELAND") == (1, 1)
    assert set(results.loc[results["code"] == "NATIONAL", "name"]) == {EWNI}


# --------------------------------------------------------------------------------------------
# The other tables with nation rows: NI rows exactly when a Northern Ireland service exists


@pytest.fixture(params=[True, False], ids=["with NI", "without NI"])
def computed(request, tmp_path):
    with_ni = request.param
    rows = ni_rows() if with_ni else [r for r in ni_rows() if r["service_code"] != "N1"]
    validated, results, monthly = run_kpis(tmp_path, rows, WITH_NI if with_ni else SERVICES)
    return with_ni, validated, results, monthly, load_params(tmp_path / "params.yml")


def test_monthly_has_northern_ireland_exactly_when_present(computed):
    with_ni, _, _, monthly, _ = computed
    ni = monthly[monthly["code"] == "NORTHERN_IRELAND"]
    assert (len(ni) > 0) == with_ni
    if with_ni:
        assert set(ni["level"]) == {"nation"} and len(ni) == 10 * 12
        march = ni[(ni["kpi_id"] == "KPI4") & (ni["month"] == "2016-03")]
        assert march[["numerator", "denominator"]].iloc[0].tolist() == [2, 3]


def test_eighty_fifty_eighty_summary_has_northern_ireland_exactly_when_present(computed):
    with_ni, _, results, _, _ = computed
    summary = eighty_fifty_eighty_summary(eighty_fifty_eighty(results))
    expected = ["NATIONAL", "ENGLAND", "WALES"] + (["NORTHERN_IRELAND"] if with_ni else [])
    assert summary["code"].tolist() == expected
    names = summary.set_index("code")["name"]
    assert names["NATIONAL"] == (EWNI if with_ni else "England and Wales")
    if with_ni:
        assert names["NORTHERN_IRELAND"] == "Northern Ireland"
        assert summary.set_index("code").loc["NORTHERN_IRELAND", ["meets", "does_not_meet", "not_assessable"]].sum() == 1


def test_case_mix_has_northern_ireland_exactly_when_present(computed):
    with_ni, validated, _, _, _ = computed
    table = case_mix(validated.records, validated.services.frame, DisclosureParams())
    nations = list(dict.fromkeys(table.loc[table["level"] == "nation", "code"]))
    assert nations == (["ENGLAND", "NORTHERN_IRELAND", "WALES"] if with_ni else ["ENGLAND", "WALES"])
    if with_ni:
        sex = table[(table["code"] == "NORTHERN_IRELAND") & (table["characteristic"] == "sex")].set_index("category")
        assert sex.loc["Female", ["count", "shown"]].tolist() == [3, "*"]  # below the national level: suppressed


def test_time_to_event_has_northern_ireland_exactly_when_present(computed):
    with_ni, validated, _, _, params = computed
    table = time_to_event(validated, params)
    ni = table[table["code"] == "NORTHERN_IRELAND"]
    assert (len(ni) > 0) == with_ni
    if with_ni:
        assessment = ni[ni["event"] == "assessment"]
        assert set(assessment["level"]) == {"nation"} and assessment["records"].unique().tolist() == [3]
        assert int(assessment["count"].sum()) == 2


def test_run_chart_signals_have_northern_ireland_exactly_when_present(computed):
    from fls_report.benchmarks import run_chart_signals

    with_ni, _, _, monthly, _ = computed
    signals = run_chart_signals(monthly)
    assert ("NORTHERN_IRELAND" in set(signals["code"])) == with_ni


# --------------------------------------------------------------------------------------------
# A built site with a Northern Ireland service


@pytest.fixture(scope="module")
def ni_site(small_run, tmp_path_factory):
    """The small run with its second service moved to Northern Ireland, built once."""
    from fls_report.build import build

    folder = tmp_path_factory.mktemp("ni_site")
    for name in ("services.csv", "fls_extract_2016.csv"):
        shutil.copy(small_run.parent / name, folder / name)
    services = pd.read_csv(folder / "services.csv", dtype=str, keep_default_na=False)
    services.loc[1, "nation"] = "Northern Ireland"
    services.to_csv(folder / "services.csv", index=False)
    params = write_params(folder, extract="fls_extract_2016.csv", services="services.csv")
    built = build(params, workers=2, progress=False)
    assert not built.failures, built.failures
    return folder / "out", services.loc[1, "service_code"]


def _text(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


def test_national_page_names_the_three_nations(ni_site):
    out, _ = ni_site
    page = (out / "site" / "national.html").read_text(encoding="utf-8")
    assert f"<h1>National report: {EWNI}</h1>" in page
    headline = re.search(r'<table class="headline">.*?</table>', page, re.S).group(0)
    assert f"{EWNI} %" in headline
    assert [h for h in re.findall(r'<th class="num" scope="col">([^<]*) %</th>', headline)] == \
        [EWNI, "England", "Wales", "Northern Ireland"]
    assert "England and Wales" not in page
    assert "against England, Wales and Northern Ireland." in _text(page)  # the notebook's prose follows the run
    pinned = re.search(r'<tbody class="pinned">(.*?)</tbody>', page, re.S).group(1)
    assert [_text(n).strip() for n in re.findall(r'<th[^>]*scope="row"[^>]*>(.*?)</th>', pinned)] == \
        [EWNI, "England", "Wales", "Northern Ireland"]


def test_index_lists_northern_ireland(ni_site):
    out, _ = ni_site
    index = (out / "site" / "index.html").read_text(encoding="utf-8")
    pinned = re.search(r'<tbody class="pinned">(.*?)</tbody>', index, re.S).group(1)
    assert [_text(n).strip() for n in re.findall(r'<th[^>]*scope="row"[^>]*>(.*?)</th>', pinned)] == \
        [EWNI, "England", "Wales", "Northern Ireland"]
    assert f"against {EWNI}" in _text(index) and "England and Wales" not in index


def test_northern_ireland_service_page_compares_with_northern_ireland(ni_site):
    out, code = ni_site
    page = (out / "site" / "services" / f"{safe_name(code)}.html").read_text(encoding="utf-8")
    assert "Northern Ireland · service code" in page
    assert "against its nation (Northern Ireland) and England, Wales and Northern Ireland" in page
    assert '<th class="num">Northern Ireland %</th>' in page and f'<th class="num">{EWNI} %</th>' in page
    assert "England and Wales" not in page


def test_national_slide_pack_has_a_northern_ireland_column(ni_site):
    out, _ = ni_site
    presentation = Presentation(out / "site" / "downloads" / "slides" / "national.pptx")
    table = next(s.table for s in presentation.slides[1].shapes if s.has_table)
    header = [c.text for c in table.rows[0].cells]
    assert header == ["KPI", f"{EWNI} %", "Band", "England %", "Band", "Wales %", "Band", "Northern Ireland %", "Band"]
    assert sum(c.width for c in table.columns) <= presentation.slide_width - 2 * 457200  # within the margins
    assert presentation.slides[1].shapes.title.text == f"Key performance indicators: {EWNI}"
    goals_slide = next(s for s in presentation.slides if s.shapes.title.text == "Services against the 80/50/80 goals")
    goals = next(s.table for s in goals_slide.shapes if s.has_table)
    assert [r.cells[0].text for r in goals.rows][1:] == [EWNI, "England", "Wales", "Northern Ireland"]


def test_workbook_has_northern_ireland(ni_site):
    out, code = ni_site
    book = load_workbook(out / "site" / "downloads" / "benchmark.xlsx")
    rows = list(book["Benchmark"].iter_rows(min_row=2, max_col=3, values_only=True))
    assert rows[:4] == [(EWNI, "NATIONAL", None), ("England", "ENGLAND", "England"), ("Wales", "WALES", "Wales"),
                        ("Northern Ireland", "NORTHERN_IRELAND", "Northern Ireland")]
    assert code in [r[1] for r in rows[4:]]
    assert [r[2] for r in rows if r[1] == code] == ["Northern Ireland"]


def test_no_page_or_download_of_a_northern_ireland_run_says_england_and_wales(ni_site):
    out, _ = ni_site
    for path in list((out / "site").rglob("*.html")) + list((out / "site" / "downloads").glob("*.csv")):
        assert "England and Wales" not in path.read_text(encoding="utf-8"), path


def test_a_run_without_northern_ireland_never_mentions_it(built_site):
    for path in list((built_site / "site").rglob("*.html")) + list((built_site / "tables").glob("*.csv")):
        text = path.read_text(encoding="utf-8")
        assert "Northern Ireland" not in text and "NORTHERN_IRELAND" not in text, path
