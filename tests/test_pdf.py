"""PDF copies of the pages: HTML → pandoc → Typst → PDF (fls_report/outputs/pdf.py, docs/pdf.md)."""

from __future__ import annotations

import base64
import html
import io
import re

import pytest
from pypdf import PdfReader

from fls_report.outputs import pdf

#: A service name that needs escaping in HTML and in Typst.
ODD_SERVICE = "St Mary's & <Partners> FLS"
JS_TOKEN = "jsLeakToken"
CSS_TOKEN = "cssLeakToken"
KPIS = [f"KPI{i}" for i in range(1, 12)]
BANDS = {"rag-green": "green", "rag-amber": "amber", "rag-red": "red", "rag-none": "no data"}
#: Text only in the data table behind the chart (HTML only, never in the PDF).
CHART_DATA_TOKEN = "chartDataRowToken"
PAGE_TITLE = f"{ODD_SERVICE} – Test audit 2016"
FIGURE_ALT = "Line chart of widgets by month"
#: The XMP namespace of the PDF/UA identification schema (ISO 14289).
PDFUA_NAMESPACE = "http://www.aiim.org/pdfua/ns/id/"
RDF_NAMESPACE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def png_data_uri() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.plot([1, 2, 3], [3, 1, 2])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def band_cell(value: float, band: str) -> str:
    return (f'<td class="num {band}" data-sort="{value}">{value:.1f}'
            f'<span class="band">{BANDS[band]}</span></td>')


def chart_data(rows: int = 40) -> str:
    """The block the pages put after a chart: its numbers in a table, folded away."""
    body = "".join(f'<tr><th scope="row">{CHART_DATA_TOKEN} month {r}</th><td class="num">{r}.5</td></tr>'
                   for r in range(rows))
    return ('<details class="chart-data"><summary>Show the data</summary><table><caption>Widgets by month, '
            'the numbers.</caption><thead><tr><th scope="col">Month</th><th class="num" scope="col">Widgets</th>'
            f"</tr></thead><tbody>{body}</tbody></table></details>")


def make_page(image: str | None = None, name: str = ODD_SERVICE, rows: int = 30) -> str:
    """A page in the shape of ours: nav, h1, period line, prose, a headline table with bands, a
    compact 14-column benchmark table, a figure and the data table behind it, the provenance
    footer, styles and a script."""
    image = image or png_data_uri()
    bands = list(BANDS)
    headline = "".join(
        f'<tr><th scope="row">{kpi} Measure {i}<br><small>{i} / 50</small></th>'
        f"{band_cell(10.0 + 7.3 * i, bands[i % 3])}<td>{i}.0 to {i + 5}.0</td></tr>"
        for i, kpi in enumerate(KPIS[:4], start=1)
    )
    heads = "".join(f'<th class="num" scope="col"><button type="button" title="x">{k}</button></th>' for k in KPIS)
    body = "".join(
        f'<tr><th scope="row" data-sort="s{r}"><a href="services/{r:03d}.html">Benchmark Service {r} '
        f"University Hospitals NHS Trust</a></th><td>England</td><td class=\"num\">{1000 + r:,}</td>"
        + "".join(band_cell((r * 13 + k * 7) % 100 + 0.4, bands[(r + k) % 4]) for k in range(11))
        + "</tr>"
        for r in range(rows)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)} – Test audit 2016</title>
<style>.rag-green {{ background: #cdebdc; }} /* {CSS_TOKEN} */</style></head>
<body><nav class="site-nav" aria-label="Site"><a href="../index.html">All reports</a><a href="../national.html">Navigation national</a></nav>
<main>
<h1>{html.escape(name)}</h1>
<p class="page-meta">Test audit 2016 · fractures from 1 January 2016 to 31 December 2016 · data cut-off 30 June 2017</p>
<div class="cards"><div class="card"><div class="figure">1,234</div><div class="label">patients counted</div></div></div>
<section class="prose"><h2>Key performance indicators</h2><p>Opening paragraph about {html.escape(name)}.</p></section>
<table class="headline"><caption>Headline table caption.</caption><thead><tr><th scope="col">KPI</th>
<th class="num" scope="col">Service %</th><th scope="col">95% interval</th></tr></thead><tbody>{headline}</tbody></table>
<section class="prose"><h2>Benchmark: every service</h2></section>
<table class="compact sortable-table"><caption>Benchmark caption.</caption><thead><tr><th scope="col"><button type="button">Service</button></th>
<th scope="col"><button type="button">Nation</button></th><th class="num" scope="col"><button type="button">Records</button></th>{heads}</tr></thead>
<tbody>{body}</tbody></table>
<figure class="fls-chart" style="margin:1em 0"><img alt="{FIGURE_ALT}" height="120" src="{image}" style="max-width:100%;height:auto" width="180"><figcaption>Widgets by month, a figure caption.</figcaption></figure>
{chart_data()}
</main>
<footer class="provenance"><p><strong>Test audit 2016</strong>. Audit period 2016-01-01 to 2016-12-31.</p><p>Built by fls-report. Inputs:</p><ul><li>extract: x.csv <code>sha256 0123abcd</code></li></ul></footer>
<script>var {JS_TOKEN} = document.querySelectorAll("table.sortable-table");</script>
</body></html>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "page.html"
    path.write_text(make_page(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def converted(page):
    """The page's PDF bytes and its text, page by page."""
    data = pdf.html_to_pdf_bytes(page)
    reader = PdfReader(io.BytesIO(data))
    return data, reader, [p.extract_text() for p in reader.pages]


def flat(texts: list[str]) -> str:
    return re.sub(r"\s+", " ", " ".join(texts))


def test_pdf_opens_with_the_page_content(converted):
    _, reader, texts = converted
    assert len(reader.pages) >= 1
    text = flat(texts)
    assert texts[0].lstrip().startswith(ODD_SERVICE)  # the title block comes first
    for expected in ("Key performance indicators", "Opening paragraph", "Headline table caption.",
                     "Benchmark caption.", "Widgets by month, a figure caption.", "1,234 patients counted",
                     "fractures from 1 January 2016 to 31 December 2016", "data cut-off 30 June 2017",
                     "KPI1 Measure 1", "17.3", "24.6", "1 / 50", "Benchmark Service 29 University Hospitals",
                     "1,029", "Provenance", "sha256 0123abcd"):
        assert expected in text, expected
    for band in ("GREEN", "AMBER", "RED", "NO DATA"):
        assert band in text, band
    assert all(kpi in text for kpi in KPIS)


def test_title_block_and_provenance_at_the_ends(converted):
    _, reader, texts = converted
    assert texts[-1].index("Provenance") < texts[-1].index("sha256 0123abcd")
    assert reader.metadata.title == PAGE_TITLE


def test_no_navigation_script_or_style_text(converted):
    text = flat(converted[2])
    for leaked in (JS_TOKEN, CSS_TOKEN, "querySelectorAll", "background:", "All reports", "Navigation national"):
        assert leaked not in text, leaked


def test_service_name_with_markup_characters_survives_as_text(converted):
    text = flat(converted[2])
    assert ODD_SERVICE in text
    assert f"Opening paragraph about {ODD_SERVICE}." in text


def test_figure_is_an_embedded_image(converted):
    _, reader, _ = converted
    assert sum(len(p.images) for p in reader.pages) == 1


def test_wide_table_stays_on_the_page(converted):
    """Every run of text, the 14-column table's last column included, starts inside the margins.

    (A table Typst could not fit would run off the right edge: its last columns would start past
    the margin. pypdf gives where text starts, not where it ends, hence the allowance.)"""
    _, reader, _ = converted
    for number, page in enumerate(reader.pages, start=1):
        width = float(page.mediabox.width)
        xs: list[float] = []

        def visit(text, cm, tm, font, size):
            if text.strip():
                xs.append(cm[0] * tm[4] + cm[2] * tm[5] + cm[4])

        page.extract_text(visitor_text=visit)
        assert xs, number
        margin = pdf.MARGIN_X_MM * 72 / 25.4
        assert min(xs) >= margin - 1 and max(xs) < width - margin - 10, (number, min(xs), max(xs), width)


def test_long_table_breaks_across_pages_and_repeats_its_header(converted):
    _, _, texts = converted
    with_rows = [t for t in texts if "Benchmark Service" in t]
    assert len(with_rows) >= 2
    assert all("KPI11" in t and "Records" in t for t in with_rows)


def test_tables_stay_tables_with_band_fills(page, tmp_path):
    source = pdf.html_to_typst(page.read_text(encoding="utf-8"), tmp_path)
    assert source.count("#table(") == 2
    assert 'fill: rgb("#fbe3b3")' in source and 'fill: rgb("#cdebdc")' in source  # amber, green
    assert f'alt: "{FIGURE_ALT}"' in source
    assert "columns: 14," in source  # sized by Typst, not equal shares
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig-001.png", "fls-template.typ"]


# ---------------------------------------------------------------------------------------------
# Accessibility: a tagged PDF/UA-1 document


def structure_elements(reader: PdfReader, within: dict | None = None) -> list[tuple[str, dict]]:
    """The elements of the PDF's structure tree (or of one element, ``within``), in reading order,
    as (standard type, element).

    A type the document defines itself is followed through the tree's ``/RoleMap`` to the
    standard type it stands for.
    """
    tree = reader.trailer["/Root"]["/StructTreeRoot"].get_object()
    role_map = {str(k).lstrip("/"): str(v).lstrip("/") for k, v in tree.get("/RoleMap", {}).items()}
    found = []
    pending = [(tree if within is None else within).get("/K")]
    while pending:
        kid = pending.pop()
        kid = kid.get_object() if hasattr(kid, "get_object") else kid
        if isinstance(kid, list):
            pending.extend(reversed(kid))
        elif isinstance(kid, dict) and "/S" in kid:  # not a marked-content or object reference
            kind = str(kid["/S"]).lstrip("/")  # a PDF name: "/Figure"
            for _ in range(len(role_map)):
                kind = role_map.get(kind, kind)
            found.append((kind, kid))
            pending.append(kid.get("/K"))
    return found


def of_type(elements: list[tuple[str, dict]], kind: str) -> list[dict]:
    return [element for found, element in elements if found == kind]


def xmp_values(reader: PdfReader, namespace: str, name: str) -> list[str]:
    """A property's values in the PDF's XMP metadata, written as attribute or as element."""
    values = []
    for description in reader.xmp_metadata.rdf_root.getElementsByTagNameNS(RDF_NAMESPACE, "Description"):
        if description.hasAttributeNS(namespace, name):
            values.append(description.getAttributeNS(namespace, name))
        for node in description.getElementsByTagNameNS(namespace, name):
            values.append("".join(child.data for child in node.childNodes if child.nodeType == child.TEXT_NODE))
    return values


def test_pdf_is_tagged_in_english_with_the_page_title(converted):
    _, reader, _ = converted
    catalog = reader.trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"].value is True
    assert str(catalog["/Lang"]) in ("en", "en-GB")
    assert structure_elements(reader)  # a structure tree with elements in it
    assert reader.metadata.title == PAGE_TITLE
    assert reader.xmp_metadata.dc_title == {"x-default": PAGE_TITLE}
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"].value is True  # readers show the title


def test_pdf_declares_pdf_ua_1(converted):
    _, reader, _ = converted
    assert xmp_values(reader, PDFUA_NAMESPACE, "part") == ["1"]


def test_every_figure_has_alt_text(converted):
    _, reader, _ = converted
    figures = of_type(structure_elements(reader), "Figure")
    alts = [str(figure.get("/Alt", "")).strip() for figure in figures]
    assert alts and all(alts), alts
    assert FIGURE_ALT in alts


def test_tables_are_tagged_as_tables_with_header_cells(converted):
    """The headline table (3 columns) and the benchmark table (14): each a Table with its
    column headings as header cells, once (the heading row repeated on later pages is an artifact)."""
    _, reader, _ = converted
    elements = structure_elements(reader)
    tables = of_type(elements, "Table")
    assert len(tables) == 2  # the chart's data table is not in the PDF
    header_cells = []
    for table in tables:
        inside = structure_elements(reader, within=table)
        assert of_type(inside, "TD")
        header_cells.append(len(of_type(inside, "TH")))
    assert header_cells == [3, 14]


def test_image_without_alt_text_fails_naming_its_figure(tmp_path):
    without_alt = make_page(rows=1).replace(f'alt="{FIGURE_ALT}" ', "")
    assert "<img height" in without_alt
    with pytest.raises(pdf.PdfError, match=r'no-alt\.html: no alt text on 1 image\(s\) '
                                           r'\("Widgets by month, a figure caption\."\)'):
        pdf.html_to_typst(without_alt, tmp_path, page="no-alt.html")


def test_chart_data_is_on_the_html_page_only(converted, page):
    assert CHART_DATA_TOKEN in page.read_text(encoding="utf-8")
    text = flat(converted[2])
    assert CHART_DATA_TOKEN not in text and "Show the data" not in text and "the numbers." not in text
    assert "Widgets by month, a figure caption." in text  # the chart itself stays


def test_prepare_html_drops_chart_data_blocks_only(tmp_path):
    page_html = ('<html><head><title>Small</title></head><body><main><h1>Small</h1>'
                 f'<figure class="fls-chart"><img alt="{FIGURE_ALT}" src="{png_data_uri()}">'
                 f"<figcaption>A caption.</figcaption></figure>{chart_data(rows=3)}"
                 "<details><summary>Other details</summary><p>Kept in the PDF.</p></details></main></body></html>")
    prepared, info = pdf.prepare_html(page_html, tmp_path)
    assert CHART_DATA_TOKEN not in prepared and "Show the data" not in prepared and "<table" not in prepared
    assert "Kept in the PDF." in prepared and "A caption." in prepared
    assert info["alts"] == {"fig-001.png": FIGURE_ALT}


def test_same_page_gives_identical_bytes_and_no_creation_date(converted, page, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    data = converted[0]
    assert pdf.html_to_pdf_bytes(page) == data
    assert b"/CreationDate" not in data


def test_source_date_epoch_sets_the_document_date(page, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1500000000")
    first = pdf.html_to_pdf_bytes(page)
    assert b"/CreationDate (D:20170714024000Z)" in first or b"/CreationDate(D:20170714024000Z)" in first
    assert pdf.html_to_pdf_bytes(page) == first


def test_html_to_pdf_writes_atomically(page, tmp_path):
    target = tmp_path / "out" / "page.pdf"
    assert pdf.html_to_pdf(page, target) == target
    assert target.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in target.parent.iterdir()] == ["page.pdf"]


def test_write_pdfs_mirrors_the_site_paths(tmp_path):
    site = tmp_path / "site"
    (site / "services").mkdir(parents=True)
    small = make_page(rows=3)
    (site / "national.html").write_text(small, encoding="utf-8")
    (site / "services" / "440.html").write_text(small, encoding="utf-8")
    seen = []
    written = pdf.write_pdfs(site, ["national.html", site / "services" / "440.html"], workers=2,
                             progress=lambda page, out, seconds: seen.append(out))
    assert written == [site / "downloads" / "pdf" / "national.pdf", site / "downloads" / "pdf" / "services" / "440.pdf"]
    assert all(p.read_bytes().startswith(b"%PDF-") for p in written)
    assert sorted(seen) == sorted(written)


def test_failures_name_the_page_and_do_not_stop_the_others(tmp_path):
    site = tmp_path / "site"
    (site / "services").mkdir(parents=True)
    good = site / "services" / "good.html"
    good.write_text(make_page(rows=2), encoding="utf-8")
    broken = site / "services" / "broken.html"  # a data URI that is not a PNG: Typst cannot decode it
    broken.write_text(make_page(image="data:image/png;base64," + base64.b64encode(b"not a png").decode(), rows=2),
                      encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"broken\.html: Typst could not compile") as caught:
        pdf.write_pdfs(site, [good, broken, site / "services" / "missing.html"], workers=1)
    assert "missing.html: cannot read the page" in str(caught.value)
    assert "good.html" not in str(caught.value)
    assert set(caught.value.failures) == {broken, site / "services" / "missing.html"}
    assert caught.value.written == [site / "downloads" / "pdf" / "services" / "good.pdf"]
    assert sorted(p.name for p in (site / "downloads" / "pdf" / "services").iterdir()) == ["good.pdf"]


def test_pandoc_failure_names_the_page(page, monkeypatch):
    import pypandoc

    def fail(*args, **kwargs):
        raise RuntimeError("Pandoc died with exitcode 1")

    monkeypatch.setattr(pypandoc, "convert_text", fail)
    with pytest.raises(RuntimeError, match=r"page\.html: pandoc could not convert the page"):
        pdf.html_to_pdf_bytes(page)


def test_figure_width_keeps_figures_on_the_page():
    assert pdf.figure_width((1296, 777), 864, 518) == "100.0%"  # a wide chart: the text width
    tall = float(pdf.figure_width((1296, 1728), 864, 1152).rstrip("%"))
    assert tall * pdf.TEXT_WIDTH_MM / 100 * 1728 / 1296 <= pdf.MAX_FIGURE_HEIGHT_MM + 0.5
    assert pdf.figure_width((100, 50)) == f"{100 / pdf.CSS_PX_PER_MM / pdf.TEXT_WIDTH_MM * 100:.1f}%"  # not enlarged
    assert pdf.figure_width(None) == "100%"


def test_inline_svg_becomes_a_figure(tmp_path):
    svg = ('<svg width="200" height="100" viewBox="0 0 200 100"><title>Bars &amp; more</title>'
           '<rect x="1" y="1" width="50" height="50" fill="red"/></svg>')
    html_text = make_page(rows=1).replace(
        "<figure class", f"<figure>{svg}<figcaption>Vector chart.</figcaption></figure><figure class")
    media = tmp_path / "media"
    media.mkdir()
    source = pdf.html_to_typst(html_text, media)
    assert 'image("fig-001.svg", alt: "Bars & more"' in source
    assert 'viewBox="0 0 200 100"' in (media / "fig-001.svg").read_text(encoding="utf-8")
    page = tmp_path / "svg.html"
    page.write_text(html_text, encoding="utf-8")
    text = flat([p.extract_text() for p in PdfReader(io.BytesIO(pdf.html_to_pdf_bytes(page))).pages])
    assert "Vector chart." in text


def _site_built_by_other_tests(request) -> bool:
    return any("built_site" in getattr(item, "fixturenames", ()) and item.module is not request.module
               for item in request.session.items)


@pytest.mark.slow
def test_real_pages_from_a_built_site(request, tmp_path):
    """The national page and a service page (name with markup) of the small built site.

    The built site is shared with test_build.py; built for this test alone it would cost a minute,
    so the test runs only when other collected tests build the site anyway.
    """
    if not _site_built_by_other_tests(request):
        pytest.skip("runs with the full suite (the built site is shared with test_build.py)")
    from conftest import ODD_NAME

    site = request.getfixturevalue("built_site") / "site"
    odd = next(p for p in sorted((site / "services").glob("*.html"))  # the name, escaped (quotes or not)
               if any(html.escape(ODD_NAME, quote=q) in p.read_text(encoding="utf-8") for q in (False, True)))
    written = pdf.write_pdfs(site, [site / "national.html", odd])
    national = flat([p.extract_text() for p in PdfReader(written[0]).pages])
    assert "Key performance indicators" in national and "Provenance" in national
    assert sum(len(p.images) for p in PdfReader(written[0]).pages) >= 1
    assert ODD_NAME in flat([p.extract_text() for p in PdfReader(written[1]).pages])
