"""The site (fls_report.outputs.site): pages from executed notebooks, the footer, the index rows,
the downloads."""

from __future__ import annotations

import json

import nbformat
import pandas as pd

from fls_report.outputs import site as website
from conftest import write_params
from fls_report.build import report_jobs
from fls_report.outputs.site import DOWNLOADS, Site
from fls_report.params import load_params


MANIFEST = {
    "params": {"title": "A <run> & more", "period_start": "2016-01-01", "period_end": "2016-12-31",
               "data_cutoff": "2017-06-30"},
    "inputs": {"extract": {"path": "x.csv", "sha256": "ab" * 32}, "services": {"path": "s.csv", "sha256": "cd" * 32}},
    "rows": {"read": 1234, "included": 1000, "excluded": 200, "rejected": 34},
    "built_at": "2023-11-14T22:13:20Z",
    "versions": {"fls_report": "0.1.0", "python": "3.11.7", "pandas": "2.3.3"},
}


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("secret = 1\nreport.headline_table(run)")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>42.0</td></tr></table>",
                                                                 "text/plain": "Html()"})]
    nb.cells = [nbformat.v4.new_markdown_cell("## A heading\n\nSome prose."), code]
    return nb


def test_pages_show_outputs_not_code_and_load_nothing_from_the_network():
    markup = website.notebook_html(notebook(), MANIFEST, "National report", 0)
    assert "<td>42.0</td>" in markup and "A heading" in markup and "Some prose." in markup
    assert "secret = 1" not in markup and "report.headline_table" not in markup
    assert "<title>National report – A &lt;run&gt; &amp; more</title>" in markup
    assert "http://" not in markup.replace("http://www.w3.org", "") and "https://" not in markup
    assert markup.count("<footer") == 1


def test_footer_states_provenance_and_escapes():
    footer = website.footer_html(MANIFEST)
    assert "A &lt;run&gt; &amp; more" in footer and "Rows read 1,234: 1,000 included, 200 excluded, 34 rejected" in footer
    assert f"sha256 {'ab' * 32}" in footer and "2023-11-14T22:13:20Z" in footer and "fls-report 0.1.0" in footer


def test_replacing_the_footer_changes_only_the_footer():
    markup = website.notebook_html(notebook(), MANIFEST, "National report", 0)
    changed = dict(MANIFEST, built_at="2024-01-01T00:00:00Z")
    again = website.replace_footer(markup, website.footer_html(changed))
    assert again != markup and "2024-01-01T00:00:00Z" in again
    assert again.split("<footer")[0] == markup.split("<footer")[0]
    assert website.replace_footer(again, website.footer_html(MANIFEST)) == markup


def test_navigation_links_climb_to_the_site_root():
    assert 'href="../national.html"' in website.nav_html(1) and 'href="national.html"' in website.nav_html(0)


def test_site_paths_and_safe_service_pages(tmp_path):
    site = Site(tmp_path)
    assert site.service("029").name == "029.html"
    odd = site.service("X/9 empty")
    assert odd.parent == site.root / "services" and "/" not in odd.name and odd.name.startswith("X_9_empty-")


def test_downloads_publish_only_the_published_columns(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame({"level": ["service"], "code": ["S1"], "characteristic": ["sex"], "category": ["Male"],
                  "count": [3], "shown": ["*"], "pct_shown": [""]}).to_csv(tables / "case_mix.csv", index=False)
    breakdown = {c: ["1"] for c in DOWNLOADS["kpi_breakdowns"]}
    pd.DataFrame({**breakdown, "numerator": [3], "denominator": [4]}).to_csv(tables / "kpi_breakdowns.csv",
                                                                              index=False)
    for name in DOWNLOADS:
        if name not in ("case_mix", "kpi_breakdowns"):
            pd.DataFrame({"code": ["S1"], "value": [1]}).to_csv(tables / f"{name}.csv", index=False)
    site = Site(tmp_path / "site")
    written = website.write_downloads(tables, site, "2023-11-14T22:13:20Z")
    names = {p.name for p in written}
    assert {f"{n}.csv" for n in DOWNLOADS} <= names
    published = pd.read_csv(site.downloads / "case_mix.csv", dtype=str, keep_default_na=False)
    assert list(published.columns) == DOWNLOADS["case_mix"] and "count" not in published.columns
    published = pd.read_csv(site.downloads / "kpi_breakdowns.csv", dtype=str, keep_default_na=False)
    assert list(published.columns) == DOWNLOADS["kpi_breakdowns"]
    assert not {"numerator", "denominator"} & set(published.columns)


def test_index_is_written_with_every_row(tmp_path):
    site = Site(tmp_path / "site")
    services = [{"code": "S1", "name": "St <Mary>'s", "nation": "England", "level": "service", "records": 12,
                 "href": "services/S1.html", "slides_href": None, "pdf_href": None,
                 "headline": [{"label": "KPI1", "title": "Data completeness", "value": "50.0", "rag": "amber",
                               "band": "amber", "sort": "50.0", "low": True}]}]
    pages = [{"title": "National report", "about": "Every KPI.", "href": "national.html", "slides_href": None,
              "pdf_href": None}]
    path = website.write_index(site, MANIFEST, services=services, pages=pages, failed=[], downloads=[],
                               national_name="England and Wales")
    markup = path.read_text(encoding="utf-8")
    assert "St &lt;Mary&gt;&#39;s" in markup or "St &lt;Mary&gt;&#x27;s" in markup
    assert 'href="services/S1.html"' in markup and "National report" in markup
    assert json.dumps(MANIFEST["built_at"])[1:-1] in markup


def test_index_rows_put_the_nations_in_order_and_pages_name_the_national_level(tmp_path):
    """Nation rows come from the table (Northern Ireland only when there), in the order
    England, Wales, Northern Ireland, whatever the table's (code) order."""
    from fls_report.outputs.site import index_pages, index_services

    units = [("national", "NATIONAL", "England, Wales and Northern Ireland", ""),
             ("nation", "ENGLAND", "England", "England"), ("nation", "NORTHERN_IRELAND", "Northern Ireland",
                                                          "Northern Ireland"),
             ("nation", "WALES", "Wales", "Wales"), ("service", "N1", "Service Antrim", "Northern Ireland")]
    results = pd.DataFrame([{"level": lvl, "code": code, "name": name, "nation": nation, "kpi_id": f"KPI{i}",
                             "numerator": 1, "denominator": 2, "pct": 50.0, "rag": "amber", "low_numbers": False}
                            for lvl, code, name, nation in units for i in range(1, 12)])
    rows = index_services(results, [], Site(tmp_path / "site"), set())
    assert [r["code"] for r in rows] == ["NATIONAL", "ENGLAND", "WALES", "NORTHERN_IRELAND", "N1"]
    assert [r["nation"] for r in rows][3:] == ["Northern Ireland", "Northern Ireland"]
    plain = index_services(results[~results["code"].isin(["NORTHERN_IRELAND", "N1"])], [], Site(tmp_path / "site"), set())
    assert [r["code"] for r in plain] == ["NATIONAL", "ENGLAND", "WALES"]
    params = load_params(write_params(tmp_path))
    jobs = report_jobs(params, pd.DataFrame({"service_code": [], "service_name": []}))
    site = Site(params.output / "site")
    about = {p["title"]: p["about"] for p in index_pages(jobs, site, set(), "England, Wales and Northern Ireland")}
    assert about["National report"] == "Every KPI for England, Wales and Northern Ireland, the nations and each service, benchmarked."
    assert index_pages(jobs, site, set())[0]["about"].startswith("Every KPI for England and Wales,")
