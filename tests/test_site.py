"""The site (fls_report.outputs.site): pages from executed notebooks, the footer, the index rows,
the downloads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
from bs4 import BeautifulSoup

from fls_report.outputs import site as website
from conftest import write_params
from fls_report.build import report_jobs
from fls_report.execute import ReportJob
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
    services = [{"code": "S1", "name": "St <Mary>'s", "nation": "England", "region": "North", "level": "service",
                 "records": 12, "href": "services/S1.html", "slides_href": None, "pdf_href": None,
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
    # The search finds a row by its name, code, nation and region; the region is shown under the nation.
    assert 'data-search="St &lt;Mary&gt;&#39;s S1 England North"' in markup
    assert '<span class="region">North</span>' in markup and ">Nation and region</button>" in markup
    # Without JavaScript there is no search box to see: site.js shows it.
    assert re.search(r'<div class="table-search"[^>]*\shidden>', markup)


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
    rows = index_services(results, [], Site(tmp_path / "site"), set(), regions={"N1": "Antrim", "ENGLAND": "x"})
    assert [r["code"] for r in rows] == ["NATIONAL", "ENGLAND", "WALES", "NORTHERN_IRELAND", "N1"]
    assert [r["region"] for r in rows] == ["", "", "", "", "Antrim"]  # only services have a region
    assert [r["nation"] for r in rows][3:] == ["Northern Ireland", "Northern Ireland"]
    plain = index_services(results[~results["code"].isin(["NORTHERN_IRELAND", "N1"])], [], Site(tmp_path / "site"), set())
    assert [r["code"] for r in plain] == ["NATIONAL", "ENGLAND", "WALES"]
    params = load_params(write_params(tmp_path))
    jobs = report_jobs(params, pd.DataFrame({"service_code": [], "service_name": []}))
    site = Site(params.output / "site")
    about = {p["title"]: p["about"] for p in index_pages(jobs, site, set(), "England, Wales and Northern Ireland")}
    assert about["National report"] == "Every KPI for England, Wales and Northern Ireland, the nations and each service, benchmarked."
    assert index_pages(jobs, site, set())[0]["about"].startswith("Every KPI for England and Wales,")


# ---------------------------------------------------------------------------------------------
# Accessibility: skip link, footer link, the statement, titles, contrast (issue 14)


def test_navigation_starts_with_a_skip_link_to_the_main_content():
    nav = website.nav_html(1)
    assert nav.startswith(f'<a class="skip-link" href="#{website.MAIN_ID}">Skip to main content</a>')
    markup = website.notebook_html(notebook(), MANIFEST, "National report", 1)
    assert f'<main id="{website.MAIN_ID}" tabindex="-1">' in markup


def test_footer_links_the_accessibility_statement_from_any_depth():
    assert 'href="accessibility.html">Accessibility statement</a>' in website.footer_html(MANIFEST)
    assert 'href="../accessibility.html">Accessibility statement</a>' in website.footer_html(MANIFEST, 1)
    service_page = website.notebook_html(notebook(), MANIFEST, "A service", 1)
    assert service_page.count('href="../accessibility.html"') == 1


def test_pdf_copies_leave_out_the_skip_link_and_the_footer_link(tmp_path):
    """The PDF pre-pass drops the navigation; both links are in navigation blocks, so a PDF says
    neither, and keeps the provenance."""
    from fls_report.outputs import pdf

    markup = website.notebook_html(notebook(), MANIFEST, "A service", 1)
    prepared, _ = pdf.prepare_html(markup, tmp_path)
    assert "Rows read 1,234" in prepared
    assert "Skip to main content" not in prepared and "Accessibility statement" not in prepared


def test_accessibility_statement_says_what_it_must(tmp_path):
    site = Site(tmp_path / "site")
    path = website.write_accessibility(site, MANIFEST)
    assert path == site.root / "accessibility.html"
    markup = path.read_text(encoding="utf-8")
    soup = BeautifulSoup(markup, "html.parser")
    assert soup.title.get_text() == "Accessibility statement – A <run> & more"
    assert [h.get_text() for h in soup.find_all("h1")] == ["Accessibility statement"]
    assert [h.get_text() for h in soup.find_all("h2")] == ["The standard we aim at", "How we check it",
                                                           "Known limitations", "Asking for another format"]
    text = " ".join(soup.main.get_text(" ").split())
    for words in ("WCAG) version 2.2 at level AA", "axe-core", "keyboard alone", "200% zoom",
                  "Charts are pictures", "PDF copies and slide packs", "another format",
                  "contact the audit team that published this report"):
        assert words in text, words
    assert "@" not in text  # no invented address
    assert soup.find("footer", class_="provenance").find("a", href="accessibility.html")
    assert "sha256 " + "ab" * 32 in markup and "data cut-off 30 June 2017" in text
    written = path.stat().st_mtime_ns
    website.write_accessibility(site, MANIFEST)  # the same page again: left as it was
    assert path.stat().st_mtime_ns == written
    website.write_accessibility(site, dict(MANIFEST, built_at="2024-01-01T00:00:00Z"))
    assert "2024-01-01T00:00:00Z" in path.read_text(encoding="utf-8")


def test_page_titles_differ_for_services_of_the_same_name(tmp_path):
    def job(kind, code, title):
        return ReportJob(kind, code, title, Path("n.ipynb"), Path("e.ipynb"), tmp_path / f"{code}.html", 1)

    one, two = job("service", "S1", "Valley FLS"), job("service", "S2", "Valley FLS")
    assert website.page_title(one) == "Valley FLS (S1): service report"
    assert website.page_title(one) != website.page_title(two)
    assert website.page_title(job("national", "NATIONAL", "National report")) == "National report"


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_built_pages_have_titles_of_their_own(built_site):
    pages = _pages(built_site / "site")
    titles = [BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser").title.get_text() for p in pages]
    assert len(pages) >= 9 and (built_site / "site" / "accessibility.html") in pages
    assert len(set(titles)) == len(titles), [t for t in titles if titles.count(t) > 1]


def test_built_pages_have_one_h1_headings_in_order_landmarks_and_the_two_links(built_site):
    """Every page: the skip link is the first link and its target is the one <main>; one h1,
    and no heading more than one level below the one before it; the site navigation and a
    footer outside <main>; the footer links the accessibility statement, which exists."""
    site = built_site / "site"
    for path in _pages(site):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        first = soup.body.find("a")
        assert first["href"] == f"#{website.MAIN_ID}" and "skip-link" in first["class"], path.name
        mains = soup.find_all("main")
        assert len(mains) == 1 and mains[0].get("id") == website.MAIN_ID, path.name
        levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
        assert levels[0] == 1 and levels.count(1) == 1, (path.name, levels)
        skips = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
        assert not skips, (path.name, skips)
        assert soup.body.find("nav", attrs={"aria-label": "Site"}).find_parent("main") is None, path.name
        footer = soup.body.find("footer", class_="provenance")
        assert footer.parent is soup.body, path.name
        link = footer.find("a", string="Accessibility statement")
        assert (path.parent / link["href"]).resolve() == (site / "accessibility.html").resolve(), path.name


# Colour contrast of the text on the band colours, from the stylesheet itself (WCAG 1.4.3: at
# least 4.5:1 for text; the band words and caution marks are small).

def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb or #rgb colour."""
    assert re.fullmatch(r"#([0-9a-fA-F]{3}){1,2}", colour), colour
    if len(colour) == 4:
        colour = "#" + "".join(c * 2 for c in colour[1:])
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _declarations(css: str, selector: str) -> dict[str, str]:
    """The declarations of the rule whose selector is exactly ``selector``."""
    match = re.search(rf"(?m)^{re.escape(selector)}\s*\{{([^}}]*)\}}", css)
    assert match, selector
    return {k.strip(): v.strip() for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", match.group(1))}


def test_contrast_helper_knows_the_extremes():
    assert round(contrast("#000000", "#fff"), 1) == 21.0 and contrast("#777777", "#777") == 1.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the lightest grey that passes on white


def test_text_on_every_band_colour_has_contrast_of_at_least_4_5():
    css = website.site_css()
    variables = {name.removeprefix("--"): value for name, value in _declarations(css, ":root").items()}

    def colour(value: str) -> str:
        found = re.fullmatch(r"var\(--([\w-]+)\)", value)
        return variables[found.group(1)] if found else value

    body = colour(_declarations(css, "body")["color"])
    words = colour(_declarations(css, ".band")["color"])
    caution = colour(_declarations(css, ".caution")["color"])
    checked = {}
    for band in ("green", "amber", "red", "none"):
        rule = _declarations(css, f".rag-{band}")
        background = colour(rule["background"])
        assert background == variables[band]
        for what, text in (("value", colour(rule.get("color", body))), ("band word", words), ("caution mark", caution)):
            checked[band, what] = contrast(text, background)
    low = {k: round(v, 2) for k, v in checked.items() if v < 4.5}
    assert len(checked) == 12 and not low, low


def test_pages_skip_only_nbconverts_reserialising_pass():
    """Our exporter leaves out nbconvert's last pass (BeautifulSoup adding alt text to images
    without one and tabindex to JupyterLab's cell wrappers): the page, parsed and written out
    again as that pass would, is exactly nbconvert's page, so the pass would have changed nothing."""
    from nbconvert import HTMLExporter

    nb = notebook()
    figure = nbformat.v4.new_code_cell("report.funnels(run)")
    figure.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": '<figure><img alt="A funnel plot" src="data:image/png;base64,iVBORw0KGgo="><br>'
                     "<figcaption>It's a caption &amp; more</figcaption></figure>", "text/plain": "Chart()"})]
    nb.cells.append(figure)
    ours = website.notebook_html(nb, MANIFEST, "National report", 1)
    exporter = website._exporter()
    stock, _ = HTMLExporter.from_notebook_node(exporter, nb, resources={
        "page": website.page_resources(MANIFEST, "National report", 1)})
    assert str(BeautifulSoup(ours, features="html.parser")) == stock
    assert ours != stock  # the pass does rewrite the text (quotes, void tags), so the check has teeth
    assert 'alt="A funnel plot"' in ours and "No description has been provided" not in ours


def test_pages_validate_the_notebook_once_and_still_refuse_an_invalid_one(monkeypatch):
    """nbconvert validates after each of its preprocessors; ours validates once, after the last,
    which gives the same page and still stops at a notebook that breaks the schema."""
    import pytest

    exporter = website._exporter()
    validations = []
    real = exporter._validate_preprocessor
    monkeypatch.setattr(exporter, "_validate_preprocessor", lambda *a: validations.append(1) or real(*a))
    page = website.notebook_html(notebook(), MANIFEST, "National report", 0)
    assert len(validations) == 1
    validations.clear()
    monkeypatch.setattr(exporter, "optimistic_validation", False)
    assert website.notebook_html(notebook(), MANIFEST, "National report", 0) == page
    assert len(validations) == len(exporter._preprocessors) > 1
    monkeypatch.setattr(exporter, "optimistic_validation", True)
    broken = notebook()
    broken.cells[1].outputs[0]["output_type"] = "not an output"
    with pytest.raises(nbformat.ValidationError):
        website.notebook_html(broken, MANIFEST, "National report", 0)


def test_the_tables_workbook_keeps_text_text_and_numbers_numbers(tmp_path):
    """A service named like a formula stays a name in the tables workbook (never a formula Excel
    would run), codes stay text, and numbers are numbers."""
    from openpyxl import load_workbook

    from fls_report.outputs.site import write_tables_workbook

    frames = {"kpi_results": pd.DataFrame({"code": ["050", "S2", "S3"],
                                           "name": ['=HYPERLINK("http://x")', "@SUM(A1)", "St Mary's"],
                                           "pct": ["12.5", "", "3"]})}
    path = write_tables_workbook(frames, tmp_path / "tables.xlsx", "2023-11-14T22:13:20Z")
    sheet = load_workbook(path)["kpi_results"]
    rows = list(sheet.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == ["050", "S2", "S3"] and all(r[0].data_type == "s" for r in rows)
    assert [r[1].value for r in rows] == ['=HYPERLINK("http://x")', "@SUM(A1)", "St Mary's"]
    assert all(r[1].data_type == "s" for r in rows)
    assert rows[0][1].quotePrefix and rows[1][1].quotePrefix and not rows[2][1].quotePrefix
    assert [r[2].value for r in rows] == [12.5, None, 3]
    again = write_tables_workbook(frames, tmp_path / "again.xlsx", "2023-11-14T22:13:20Z")
    assert again.read_bytes() == path.read_bytes()
