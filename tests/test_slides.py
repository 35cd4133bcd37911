"""Slide packs: a tiny computed run written as .pptx and read back with python-pptx."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image
from pptx import Presentation
from pptx.util import Emu

from conftest import ODD_NAME, SERVICES, make_run, row
from fls_report import charts, report
from fls_report.outputs import slides
from fls_report.outputs.site import Site
from fls_report.io import safe_name
from fls_report.kpis import KPI_NAMES
from fls_report.params import load_params
from fls_report.pipeline import run_compute
from fls_report.vocabulary import EIGHTY_FIFTY_EIGHTY_WORDS, fmt_pct, status_meaning, status_words

EMPTY = "W/4 none"  # no records, and a code that needs a safe file name
SERVICE_TITLES = [
    None,  # the title slide: the service name
    "Key performance indicators against England and Wales",
    "FLS assessment within 90 days (KPI4): position among services",
    "DXA within 90 days (KPI5): position among services",
    "Bone therapy recommended (KPI7): position among services",
    "Month by month: run charts (1 of 2)",
    "Month by month: run charts (2 of 2)",
    "Data completeness (KPI1)",
    "Summary: the 80/50/80 goals and where to start",
]
NATIONAL_TITLES = [
    "England and Wales: national results",
    "Key performance indicators: England and Wales",
    "FLS assessment within 90 days (KPI4): services compared",
    "Bone therapy recommended (KPI7): services compared",
    "Identification (KPI2): records against expected caseload",
    "Who gets care: the KPIs by age band",
    "Who gets care: the KPIs by sex",
    "Who gets care: the KPIs by care home",
    "Who gets care: the KPIs by fracture site",
    "Services against the 80/50/80 goals",
    "Summary and next steps",
]
DATE_COLUMNS = ("date_identified", "date_assessed", "date_fracture", "date_dxa", "date_followup_16wk",
                "date_followup_52wk")


def record(n: int, code: str, month: int, **changes: str) -> dict[str, str]:
    """``row(n)`` for service ``code`` with every date moved to fractures in ``month`` of 2016."""
    out = row(n, service_code=code)
    for column in DATE_COLUMNS:
        moved = pd.Timestamp(out[column]) + pd.DateOffset(months=month - 3)
        out[column] = f"{moved:%Y-%m-%d}"
    out.update(changes)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> report.Run:
    """S1 (England): a name with markup, 24 records, bands of every colour and a KPI with low
    numbers; S2 (Wales): 5 records; S3 (England): no falls assessments; W/4 none (Wales): no
    records."""
    folder = tmp_path_factory.mktemp("slides_run")
    services = [dict(SERVICES[0], service_name=ODD_NAME), dict(SERVICES[1]),
                dict(SERVICES[0], service_code="S3", service_name="Service Three", expected_caseload="60"),
                dict(SERVICES[1], service_code=EMPTY, service_name="Empty Valley FLS", expected_caseload="30",
                     hip_fractures="")]
    rows, n = [], 0
    for i in range(24):
        n += 1
        changes = {}
        if i % 4 == 0:
            changes["date_assessed"] = ""  # KPI4 75%: amber
        if i % 2 == 0:
            changes["falls_assessment"] = "Not assessed"  # KPI6 50%: amber
        if i % 3 == 0:
            changes["bone_therapy_recommended"] = "Not appropriate"  # KPI7 66.7%: green
        if i % 3 == 1:
            changes["treatment_16wk"] = "Not started"  # KPI11: few started and due at 52 weeks
        rows.append(record(n, "S1", i // 2 + 1, **changes))
    for i in range(5):
        n += 1
        rows.append(record(n, "S2", i + 1))
    for i in range(12):
        n += 1
        rows.append(record(n, "S3", i + 1, falls_assessment="Not assessed",
                           bone_therapy_recommended="Not appropriate" if i % 2 else "Alendronate"))
    params = make_run(folder, rows, services)
    run_compute(load_params(params))
    return report.load(params)


#: The packs written (S2's and S3's are left out to keep the tests quick).
PACK_CODES = ["S1", EMPTY]


@pytest.fixture(scope="module")
def packs(run, tmp_path_factory) -> dict[str, Path]:
    site = Site(tmp_path_factory.mktemp("packs"))
    site.slides.mkdir(parents=True)
    written = [slides.write_pack(slides.service_pack(run, code), site.service_slides(code)) for code in PACK_CODES]
    written.append(slides.write_pack(slides.national_pack(run), site.national_slides))
    return {path.stem: path for path in written}


def _open(path: Path):
    return Presentation(str(path))


def _titles(presentation) -> list[str]:
    return [slide.shapes.title.text for slide in presentation.slides]


def _text(slide) -> str:
    return "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def _table(slide):
    tables = [shape.table for shape in slide.shapes if shape.has_table]
    assert len(tables) == 1
    return tables[0]


def test_packs_are_named_by_safe_code_and_written_whole(packs):
    assert list(packs) == ["S1", safe_name(EMPTY), "national"]
    assert safe_name(EMPTY) != EMPTY
    folder = packs["S1"].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{stem}.pptx" for stem in packs)  # no temporary files


def test_service_pack_slides_and_titles(packs):
    presentation = _open(packs["S1"])
    assert (presentation.slide_width, presentation.slide_height) == (slides.SLIDE_WIDTH, slides.SLIDE_HEIGHT)
    assert presentation.slide_width * 9 == presentation.slide_height * 16
    assert _titles(presentation) == [ODD_NAME] + SERVICE_TITLES[1:]


def test_national_pack_slides_and_titles(packs):
    assert _titles(_open(packs["national"])) == NATIONAL_TITLES


def test_title_slide_says_who_when_and_what(run, packs):
    text = _text(_open(packs["S1"]).slides[0])
    for words in (ODD_NAME, "England · service code S1", "Test run", "1 January 2016", "31 December 2016",
                  "Data cut-off: 30 June 2017", "24 patients"):
        assert words in text


def test_kpi_table_is_native_and_matches_results(run, packs):
    code = "S1"
    table = _table(_open(packs[code]).slides[1])
    assert len(table.rows) == 12 and len(table.columns) == 6
    assert [c.text for c in table.rows[0].cells] == ["KPI", "Numerator / denominator", "Service %", "Band",
                                                      "England and Wales %", "Rank"]
    own = run.results[run.results["code"] == code].set_index("kpi_id")
    national = run.results[run.results["code"] == "NATIONAL"].set_index("kpi_id")
    ranks = run.ranks.set_index(["code", "kpi_id"])
    bands = set()
    for i, kpi_id in enumerate(KPI_NAMES, start=1):
        cells = [c.text for c in table.rows[i].cells]
        r = own.loc[kpi_id]
        assert cells[0] == f"{kpi_id} {KPI_NAMES[kpi_id]}"
        assert cells[1] == f"{int(r['numerator']):,} / {int(r['denominator']):,}"
        assert cells[2] == fmt_pct(r["pct"]) + (" †" if r["low_numbers"] else "")
        assert cells[3] == {"none": "no data"}.get(r["rag"], r["rag"])
        assert cells[4] == fmt_pct(national.loc[kpi_id, "pct"])
        rank = ranks.loc[(code, kpi_id)] if (code, kpi_id) in ranks.index else None
        assert cells[5] == ("–" if rank is None else f"{rank['rank']} of {rank['ranked']}")
        for cell in (table.cell(i, 2), table.cell(i, 3)):
            assert cell.fill.fore_color.rgb == slides.BAND_FILLS[r["rag"]]
        bands.add(r["rag"])
    assert {"green", "amber", "red"} <= bands  # the fills above were checked for every colour
    assert table.cell(4, 2).text == "75.0"  # KPI4: 18 of 24, by hand
    assert table.cell(11, 2).text.endswith(" †")  # KPI11: under 10 due and started
    assert "† fewer than 10 in the denominator" in _text(_open(packs[code]).slides[1])


def test_one_decimal_halves_up_in_table(tmp_path):
    """fmt_pct rounds 0.05 up, not to even, and the table uses it (checked on a 2.25% cell)."""
    cells = slides._band_cells(2.25, "red", low_numbers=True)
    assert cells[0]["text"] == "2.3 †" and cells[1]["text"] == "red"
    assert slides._band_cells(float("nan"), "none")[1]["text"] == "no data"


def test_national_table_matches_results(run, packs):
    table = _table(_open(packs["national"]).slides[1])
    units = [run.results[run.results["code"] == c].set_index("kpi_id") for c in ("NATIONAL", "ENGLAND", "WALES")]
    for i, kpi_id in enumerate(KPI_NAMES, start=1):
        for j, unit in enumerate(units):
            pct_cell, band_cell = table.cell(i, 1 + 2 * j), table.cell(i, 2 + 2 * j)
            assert pct_cell.text == fmt_pct(unit.loc[kpi_id, "pct"])
            assert band_cell.text == {"none": "no data"}.get(unit.loc[kpi_id, "rag"], unit.loc[kpi_id, "rag"])
            assert band_cell.fill.fore_color.rgb == slides.BAND_FILLS[unit.loc[kpi_id, "rag"]]


def test_every_slide_has_a_title_and_every_picture_alt_text_and_sharp_pixels(packs):
    pictures = 0
    for path in packs.values():
        for slide in _open(path).slides:
            assert slide.shapes.title is not None and slide.shapes.title.text.strip()
            for shape in slide.shapes:
                if shape.shape_type == 13:  # picture
                    pictures += 1
                    assert len(shape._element.nvPicPr.cNvPr.get("descr", "")) > 40
                    width_px = int.from_bytes(shape.image.blob[16:20], "big")
                    assert width_px / Emu(shape.width).inches >= 200
                    assert slide.has_notes_slide and slide.notes_slide.notes_text_frame.text.strip()
    assert pictures == 6 + 3 + 4  # the service pack with records, and the national pack (4 who-gets-care slides)


def test_fonts_are_large_enough_to_project(packs):
    for path in (packs["S1"], packs["national"]):
        for slide in _open(path).slides:
            for shape in slide.shapes:
                frames = [shape.text_frame] if shape.has_text_frame else (
                    [c.text_frame for r in shape.table.rows for c in r.cells] if shape.has_table else [])
                for frame in frames:
                    for paragraph in frame.paragraphs:
                        for run_ in paragraph.runs:
                            assert run_.font.size is not None and run_.font.size.pt >= 14, run_.text
                            if shape == slide.shapes.title:
                                assert run_.font.size.pt >= 28


def test_funnel_slide_states_status_in_words(run, packs):
    presentation = _open(packs["S1"])
    status = run.results.set_index(["code", "kpi_id"]).loc[("S1", "KPI7"), "funnel_status"]
    text = _text(presentation.slides[4])
    assert status_words(status) in text
    picture = [s for s in presentation.slides[4].shapes if s.shape_type == 13][0]
    assert picture._element.nvPicPr.cNvPr.get("descr").startswith("Funnel plot")


def test_closing_slide_names_goals_and_weakest_kpis(run, packs):
    for code in ("S1",):
        text = _text(_open(packs[code]).slides[-1])
        status = run.eighty_fifty_eighty.set_index("code").loc[code, "status"]
        assert f"80/50/80: {EIGHTY_FIFTY_EIGHTY_WORDS[status]}" in text
        for kpi_id in ("KPI2", "KPI7", "KPI11"):
            assert f"({kpi_id}):" in text
        own = run.results[run.results["code"] == code].set_index("kpi_id")["pct"]
        national = run.results[run.results["code"] == "NATIONAL"].set_index("kpi_id")["pct"]
        gaps = (national - own)[[f"KPI{i}" for i in range(3, 12)]].dropna()
        expected = list(gaps[gaps > 0].sort_values(ascending=False, kind="stable").index[:3])
        assert list(slides.weakest_kpis(run, code)["kpi_id"]) == expected
        for kpi_id in expected:
            assert (f"{kpi_id} {KPI_NAMES[kpi_id]}: {fmt_pct(own[kpi_id], '%')} against "
                    f"{fmt_pct(national[kpi_id], '%')} for England and Wales") in text
    # S3 assessed nobody for falls: its largest shortfall
    assert slides.weakest_kpis(run, "S3")["kpi_id"].iloc[0] == "KPI6"
    assert slides.weakest_kpis(run, EMPTY).empty


def test_service_with_no_records_gets_a_short_pack(run, packs):
    presentation = _open(packs[safe_name(EMPTY)])
    assert _titles(presentation) == ["Empty Valley FLS", "No records for this service in this period",
                                     SERVICE_TITLES[-1]]
    assert "0 patients" in _text(presentation.slides[0])
    assert "no records" in _text(presentation.slides[1])
    closing = _text(presentation.slides[2])
    assert "80/50/80: not assessable" in closing and "No records were submitted" in closing
    assert not any(shape.shape_type == 13 for slide in presentation.slides for shape in slide.shapes)


def test_markup_in_a_name_is_plain_text(packs):
    presentation = _open(packs["S1"])
    assert presentation.slides[0].shapes.title.text == ODD_NAME
    assert all(ODD_NAME in _text(slide) for slide in presentation.slides)  # the source line names it
    with zipfile.ZipFile(packs["S1"]) as archive:
        xml = archive.read("ppt/slides/slide1.xml").decode("utf-8")
    assert "<script>" not in xml and "&lt;script&gt;" in xml


def test_packs_are_deterministic(run, packs, tmp_path):
    """Rebuilt from scratch (pictures and all) and written again, a pack has the same bytes."""
    again = slides.write_pack(slides.national_pack(run), tmp_path / "national.pptx")
    assert again.read_bytes() == packs["national"].read_bytes()
    presentation = slides.service_pack(run, EMPTY)
    first = slides.write_pack(presentation, tmp_path / "a.pptx")
    second = slides.write_pack(presentation, tmp_path / "b.pptx")
    assert first.read_bytes() == second.read_bytes() == packs[safe_name(EMPTY)].read_bytes()
    with zipfile.ZipFile(again) as archive:
        built = dt.datetime.fromisoformat(run.manifest["built_at"].replace("Z", ""))
        stamp = (built.year, built.month, built.day, built.hour, built.minute, built.second // 2 * 2)
        assert {info.date_time for info in archive.infolist()} == {stamp}  # zip counts seconds in twos
        assert archive.namelist()[0] == "[Content_Types].xml"
    props = _open(first).core_properties
    assert props.author == props.last_modified_by == "fls-report"
    assert props.created == props.modified == dt.datetime.fromisoformat(run.manifest["built_at"].replace("Z", ""))


def test_slides_draw_what_the_tables_hold(run):
    """Slides read the funnels and run-chart signals the compute stage wrote; nothing is
    recomputed for a pack (fls_report.outputs.slides imports nothing from stats or benchmarks)."""
    assert slides._funnel_chart(run, "KPI4", "S2").alt.startswith("Funnel plot")
    source = Path(slides.__file__).read_text(encoding="utf-8")
    assert "benchmarks" not in source and "stats" not in source.replace("statuses", "")


def test_a_code_named_national_does_not_overwrite_the_national_pack(tmp_path):
    site = Site(tmp_path)
    assert site.national_slides == tmp_path / "downloads" / "slides" / "national.pptx"
    assert site.service_slides("S1").name == "S1.pptx"
    assert site.service_slides("national") != site.national_slides
    assert site.service_slides("NATIONAL").name.startswith("NATIONAL-")


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _white_border(pixels: np.ndarray) -> bool:
    """Whether the outermost rows and columns are white: nothing drawn runs off the picture."""
    edges = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return bool((edges == 255).all())


def test_no_picture_is_cut_off(packs):
    """Every chart picture keeps white space on all four sides: no text runs off its edge."""
    for stem in ("S1", "national"):
        for slide in _open(packs[stem]).slides:
            for shape in slide.shapes:
                if shape.shape_type == 13:
                    assert _white_border(_pixels(shape.image.blob)), (stem, slide.shapes.title.text)


def _chart(figure: Figure) -> charts.Chart:
    return charts.Chart(figure=figure, alt="A test chart", caption="A test chart.")


def _wide_legend_chart() -> charts.Chart:
    """A constrained-layout figure whose figure legend is wider than the figure laid out at 1/1.2."""
    figure = Figure(figsize=(6, 3), layout="constrained")
    figure.add_subplot().plot([0, 1], [0, 1])
    handles = [Line2D([], [], label=f"A long legend entry number {i}") for i in range(3)]
    figure.legend(handles=handles, loc="outside lower center", ncol=3)
    return _chart(figure)


def _text_outside_chart() -> charts.Chart:
    """A figure laid out by hand with a label that starts left of the figure."""
    figure = Figure(figsize=(6, 3), layout=None)
    figure.add_axes((0.1, 0.15, 0.85, 0.75)).plot([0, 1], [0, 1])
    figure.text(-0.03, 0.5, "Sticks out", ha="left")
    return _chart(figure)


@pytest.mark.parametrize("make", [_wide_legend_chart, _text_outside_chart])
def test_png_keeps_what_goes_beyond_the_smaller_canvas(make):
    chart = make()
    size, dpi, engine = chart.figure.get_size_inches().copy(), chart.figure.dpi, chart.figure.get_layout_engine()
    png = slides._png(chart, dpi=100, scale=1 / 1.2)
    pixels = _pixels(png)
    assert _white_border(pixels)
    assert pixels.shape[1] > 6 / 1.2 * 120  # wider than the canvas: the legend or label is whole
    assert (pixels < 128).any()  # something dark was drawn
    # the figure is left as it was, so the page's PNG is unchanged
    assert (chart.figure.get_size_inches() == size).all() and chart.figure.dpi == dpi
    assert chart.figure.get_layout_engine() is engine
    assert chart.to_png() == make().to_png()


def test_png_of_a_chart_that_fits_is_its_tight_box():
    chart = _chart(Figure(figsize=(6, 3), layout="constrained"))
    chart.figure.add_subplot().plot([0, 1], [0, 1])
    width, height = slides._png_size(slides._png(chart, dpi=100, scale=1 / 1.2))
    assert width <= 6 * 100 and height <= 3 * 100  # within the canvas: 6 x 3 in at 120 dpi, less white space
    assert width > 6 * 100 - 2 * 0.2 * 120


def test_png_is_the_same_for_the_same_chart(run):
    first = slides._png(charts.identification(run.results), scale=1 / 1.2)
    assert slides._png(charts.identification(run.results), scale=1 / 1.2) == first


def test_pictures_are_stored_and_xml_deflated(packs):
    with zipfile.ZipFile(packs["S1"]) as archive:
        types = {info.filename: info.compress_type for info in archive.infolist()}
    assert {t for name, t in types.items() if name.endswith(".png")} == {zipfile.ZIP_STORED}
    assert {t for name, t in types.items() if name.endswith(".xml")} == {zipfile.ZIP_DEFLATED}


# --------------------------------------------------------------------------------------------
# The national level's name (webtool_export.md §5)


def test_status_words_name_the_national_level():
    old = {  # the sentences before the national level could be named otherwise
        "alarm low": "Much lower than England and Wales: very unlikely to be chance alone.",
        "alert low": "Lower than England and Wales by more than chance would usually explain.",
        "in control": "No different from England and Wales beyond what chance would explain.",
        "alert high": "Higher than England and Wales by more than chance would usually explain.",
        "alarm high": "Much higher than England and Wales: very unlikely to be chance alone.",
    }
    assert {s: status_meaning(s, "England and Wales") for s in old} == old
    assert status_meaning("alarm low", "England, Wales and Northern Ireland") == \
        "Much lower than England, Wales and Northern Ireland: very unlikely to be chance alone."


def test_national_table_fits_the_slide_with_each_number_of_units():
    width = Emu(slides.SLIDE_WIDTH - 2 * slides.MARGIN).inches
    for units, widths in slides.NATIONAL_TABLE_WIDTHS.items():
        assert len(widths) == 1 + 2 * units and sum(widths) == pytest.approx(width, abs=0.01)
    for header, row_height in slides.KPI_TABLE_HEIGHTS.values():  # the KPI table ends above its notes
        assert Emu(slides.CONTENT_TOP).inches + header + 11 * row_height < 6.38
