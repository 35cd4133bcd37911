"""One source of truth across the outputs (fls_report.outputs): a build with parameters away from
their defaults says the same numbers and words on the HTML page, in the slide pack, the workbook
and the PDF, and they are the ones those parameters give (issue 13)."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook
from pptx import Presentation
from pypdf import PdfReader

from conftest import write_params
from fls_report.build import build
from fls_report.io import safe_name
from fls_report.run import load
from fls_report.synth import write_synthetic
from fls_report.vocabulary import completeness_rule, fmt_pct, low_numbers_note

NON_DEFAULT = {"completeness_threshold_pct": 30, "completeness_max_fields": 3, "low_numbers_below": 5,
               "assessment_days": 60}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def params_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parameters")
    extract, services = write_synthetic(folder, services=4, patients=800, year=2016, seed=3)
    params = write_params(folder, extract=extract.name, services=services.name, kpi=NON_DEFAULT)
    result = build(params, workers=2, progress=False)
    assert not result.failures, result.failures
    return load(params)


def flat(text: str) -> str:
    """Words with the white space folded (PDF text breaks lines; HTML has tags)."""
    return " ".join(text.replace("\u00ad", "").split())


def html_text(path) -> str:
    import html

    return flat(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))))


def pdf_text(path) -> str:
    return flat(" ".join(page.extract_text() or "" for page in PdfReader(path).pages))


def pptx_text(path) -> str:
    parts = []
    for slide in Presentation(path).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False) and shape.has_table:
                parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return flat(" ".join(parts))


def xlsx_text(path) -> str:
    book = load_workbook(path, read_only=True)
    return flat(" ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None))


def test_the_words_that_state_parameters_agree_across_the_outputs(params_site):
    run = params_site
    site = run.params.output / "site"
    code = run.services.loc[run.services["records"] > 0, "code"].iloc[0]
    page = site / "services" / f"{safe_name(code)}.html"
    texts = {
        "national page": html_text(site / "national.html"),
        "service page": html_text(page),
        "national PDF": pdf_text(site / "downloads" / "pdf" / "national.pdf"),
        "service PDF": pdf_text(site / "downloads" / "pdf" / "services" / f"{safe_name(code)}.pdf"),
        "service slides": pptx_text(site / "downloads" / "slides" / f"{safe_name(code)}.pptx"),
        "workbook": xlsx_text(site / "downloads" / "benchmark.xlsx"),
    }
    kpi = run.params.kpi
    rule = completeness_rule(kpi)
    assert rule == "fewer than 3 of the 17 key fields have more than 30% of values missing"
    note = low_numbers_note(kpi)
    assert note.startswith("fewer than 5 in the denominator")
    kpi4 = run.kpi_names["KPI4"]
    assert kpi4 == "FLS assessment within 60 days"
    expected = {
        rule: ("national page", "national PDF", "service slides", "workbook"),
        "fewer than 5 in the denominator": tuple(texts),
        kpi4: tuple(texts),
    }
    for words, where in expected.items():
        for name in where:
            assert words in texts[name], (words, name)
    for name, text in texts.items():  # the defaults are stated nowhere
        assert "fewer than 10 in the denominator" not in text, name
        assert "FLS assessment within 90 days" not in text, name
        assert "more than 20% of values missing" not in text, name


def test_the_same_numbers_on_the_page_slides_workbook_and_pdf(params_site):
    run = params_site
    site = run.params.output / "site"
    code = run.services.loc[run.services["records"] > 0, "code"].iloc[0]
    own = run.results[(run.results["code"] == code)].set_index("kpi_id")
    page = html_text(site / "services" / f"{safe_name(code)}.html")
    pdf = pdf_text(site / "downloads" / "pdf" / "services" / f"{safe_name(code)}.pdf")
    slides = pptx_text(site / "downloads" / "slides" / f"{safe_name(code)}.pptx")
    book = load_workbook(site / "downloads" / "benchmark.xlsx", read_only=True)
    benchmark = {row[1]: row for row in book["Benchmark"].iter_rows(values_only=True)}
    header = next(book["Benchmark"].iter_rows(values_only=True))
    for kpi_id in ("KPI4", "KPI5", "KPI7"):
        shown = fmt_pct(own.at[kpi_id, "pct"])
        counts = f"{int(own.at[kpi_id, 'numerator']):,} / {int(own.at[kpi_id, 'denominator']):,}"
        for name, text in (("page", page), ("pdf", pdf), ("slides", slides)):
            assert f"{counts} {shown}" in text, (kpi_id, name, counts, shown)
        column = next(i for i, h in enumerate(header) if h and str(h).startswith(f"{kpi_id} %"))
        assert f"{benchmark[code][column]:.1f}" == shown, kpi_id
    over = run.fields[(run.fields["code"] == code) & run.fields["over"]]
    kpi1 = own.loc["KPI1"]
    assert int(kpi1["denominator"]) - int(kpi1["numerator"]) == len(over)  # KPI1 and the chart's flags agree
    assert f"{len(over)} of the {int(kpi1['denominator'])} key fields that apply have more than 30%" in slides


def test_the_index_states_the_low_numbers_parameter(params_site):
    index = html_text(params_site.params.output / "site" / "index.html")
    assert "† fewer than 5 in the denominator: interpret with care" in index and "fewer than 10" not in index
