"""Slide packs (PowerPoint) for trust boards and commissioners: one per service and one national.

The audit used to hand services a generic slide template to fill in by hand ("Dissemination of
local results"); these packs are that template filled from the run's tables. Every number comes
from the aggregated tables ``compute`` wrote (``kpi_results``, ``monthly_kpis``,
``data_quality_fields``, ``eighty_fifty_eighty``); nothing here reads a record.

Conventions
-----------
* 16:9 slides, dark text on white with the site's accent colour; titles 28 pt or more, body
  text 14 pt or more, so a pack can be projected as it is.
* Every slide has a title placeholder with a real title; every picture carries the chart's alt
  text (``descr``) and its caption in the speaker notes; KPI tables are native PowerPoint tables,
  coloured by band with the band also written as text.
* Numbers and words come from :mod:`fls_report.vocabulary`: percentages to one decimal place,
  halves rounded up; the words for bands and funnel statuses the pages use.
* Writing is deterministic: core properties come from the run's ``built_at`` and the zip
  entries get fixed timestamps, so the same run gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence

import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.transforms import Bbox
from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.oxml.xmlchemy import OxmlElement
from pptx.util import Emu, Inches, Pt

from fls_report import charts
from fls_report.charts.canvas import Canvas
from fls_report.breakdowns import GROUPS as BREAKDOWN_GROUPS
from fls_report.io import write_bytes_atomic
from fls_report.kpis import EIGHTY_FIFTY_EIGHTY, NATIONAL, RECORD_KPIS
from fls_report.report import KPI_NUMBERS, TREND_KPIS
from fls_report.run import Run
from fls_report.vocabulary import (TEST_LEVEL, chi2_words, BAND_WORDS, EIGHTY_FIFTY_EIGHTY_WORDS, FUNNEL_STATUSES, MIN_USEFUL_POINTS,
                                   completeness_rule, fmt_count, fmt_pct, limits_words, low_numbers_note, pct_words,
                                   signal_explanation, status_meaning, status_words, audit_period_words,
                                   date_words, period_words)

# ---------------------------------------------------------------------------------------------
# Style

SLIDE_WIDTH = Emu(12192000)  # 13.333 in: 16:9
SLIDE_HEIGHT = Emu(6858000)  # 7.5 in
MARGIN = Inches(0.5)
CONTENT_TOP = Inches(1.45)
CONTENT_HEIGHT = Inches(5.45)
#: Funnel pictures get more of the width: their three-column legend sets how small their text is.
FUNNEL_WIDTH = Inches(8.7)
SOURCE_TOP = Inches(6.98)

ACCENT = RGBColor(0x0B, 0x53, 0x94)  # the site's accent colour
TEXT = RGBColor(0x1F, 0x1F, 0x1F)
MUTED = RGBColor(0x59, 0x59, 0x59)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
RULE = RGBColor(0xBF, 0xBF, 0xBF)

TITLE_PT = 30
COVER_TITLE_PT = 40
BODY_PT = 18
TABLE_PT = 15
SMALL_PT = 14  # the smallest text on any slide

#: Light fills for table cells by band; the band is always written as text too.
BAND_FILLS: dict[str, RGBColor] = {
    "green": RGBColor(0xD9, 0xEA, 0xD3),
    "amber": RGBColor(0xFC, 0xE5, 0xCD),
    "red": RGBColor(0xF4, 0xCC, 0xCC),
    "none": RGBColor(0xE7, 0xE7, 0xE7),
}

#: Charts are rendered at this resolution so they stay sharp when projected.
PNG_DPI = 200
#: White space kept around a chart's drawing (inches of the laid-out figure).
PNG_PAD_IN = 0.08
#: Charts are laid out on a canvas this much smaller than their own size and stretched back, so
#: their text (drawn for a page) is this much larger on a slide.
CHART_TEXT_SCALE = 1.2
#: The funnels each service pack shows (one slide each).
FUNNEL_KPIS: tuple[str, ...] = ("KPI4", "KPI5", "KPI7")
#: The national pack's funnels.
NATIONAL_FUNNEL_KPIS: tuple[str, ...] = ("KPI4", "KPI7")
#: Run charts are split over slides in these groups, so each panel stays legible.
RUN_CHART_GROUPS: tuple[tuple[str, ...], ...] = (tuple(TREND_KPIS[:6]), tuple(TREND_KPIS[6:]))
#: The completeness slide names at most this many fields over the threshold (the chart shows all).
MAX_FIELDS_NAMED = 6
#: Service names are shortened to this many characters where space is tight (source line, status box).
SHORT_NAME_CHARS = 60
#: How many of KPI3–KPI11 the closing slide names as starting points.
WEAKEST = 3


# ---------------------------------------------------------------------------------------------
# Small helpers


def _period(run: Run) -> str:
    p = run.params
    return audit_period_words(p.period_start, p.period_end)


def _built_at(run: Run) -> dt.datetime:
    """The run's build time (manifest ``built_at``, UTC) as a naive datetime for core properties."""
    text = str(run.manifest.get("built_at", "1980-01-01T00:00:00Z")).replace("Z", "+00:00")
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _unit_rows(run: Run, code: str) -> pd.DataFrame:
    return run.results[run.results["code"] == code].set_index("kpi_id")


def _kpi_label(run: Run, kpi_id: str) -> str:
    return f"{kpi_id} {run.kpi_names[kpi_id]}"


def _third_nation(run: Run) -> bool:
    """Whether the run has a nation besides England and Wales (Northern Ireland), which lengthens
    its national name."""
    return len(run.nation_codes) > 2


def _short(name: str, limit: int = SHORT_NAME_CHARS) -> str:
    """A name cut to ``limit`` characters with an ellipsis, for places with little room."""
    name = str(name)
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def _blank(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _png(chart: charts.Chart, dpi: int = PNG_DPI, scale: float = 1.0) -> bytes:
    """The chart's figure as PNG at ``dpi``, under the charts' house style, without metadata.

    ``scale`` below 1 lays the figure out on a smaller canvas (its text keeps its point size), so
    that, stretched to the same place on a slide, its text is larger. The PNG is the drawing's
    tight bounding box with :data:`PNG_PAD_IN` of white around it. The figure is laid out and
    measured once; when the box fits on the canvas, the figure is drawn on that canvas (reusing
    the text measured) and cropped. Text that no longer fits the smaller canvas (a legend wider
    than it, tick labels in a margin laid out by hand) is kept by drawing the box instead, as
    ``savefig(bbox_inches="tight")`` does.
    """
    figure = chart.figure
    size, figure_dpi, engine = figure.get_size_inches().copy(), figure.dpi, figure.get_layout_engine()
    drawn_dpi = dpi / scale
    canvas = None
    try:
        figure.set_size_inches(size * scale)
        figure.set_dpi(drawn_dpi)
        with matplotlib.style.context(["default", charts.STYLE]):
            canvas = Canvas(figure)
            if engine is not None:
                _fit_legends(figure, canvas.get_renderer())
                engine.execute(figure)  # what a draw would do first, on the renderer it will use
                figure.set_layout_engine("none")  # keep that layout for the drawing
            renderer = canvas.get_renderer()
            tight = figure.get_tightbbox(renderer)
            box = tight.padded(PNG_PAD_IN)
            width_in, height_in = figure.get_size_inches()
            if tight.x0 >= 0 and tight.y0 >= 0 and tight.x1 <= width_in and tight.y1 <= height_in:
                canvas.draw()
                return _png_bytes(_crop(np.asarray(canvas.buffer_rgba()), box, drawn_dpi), drawn_dpi)
            raw = io.BytesIO()  # draw the box itself, keeping the layout
            figure.savefig(raw, format="rgba", dpi=drawn_dpi, bbox_inches=box)
            return _png_bytes(_rgba(raw.getvalue(), box.width * drawn_dpi, box.height * drawn_dpi), drawn_dpi)
    finally:
        if canvas is not None:
            canvas.release()
        figure.set_size_inches(size)
        figure.set_dpi(figure_dpi)
        if figure.get_layout_engine() is not engine:
            figure.set_layout_engine(engine)


def _fit_legends(figure, renderer) -> None:
    """Widen a figure that its layout engine will lay out to hold its widest figure legend
    (a layout engine makes room for one above or below the plots, not beside them)."""
    widest = max((legend.get_window_extent(renderer).width / figure.dpi for legend in figure.legends), default=0)
    width_in, height_in = figure.get_size_inches()
    if widest + 2 * PNG_PAD_IN > width_in:
        figure.set_size_inches(widest + 2 * PNG_PAD_IN, height_in)


def _rgba(raw: bytes, width_px: float, height_px: float) -> np.ndarray:
    """matplotlib's raw RGBA output as rows of pixels (its renderer cuts the size to whole
    pixels)."""
    for width in dict.fromkeys((int(width_px + 1e-6), int(width_px))):
        for height in dict.fromkeys((int(height_px + 1e-6), int(height_px))):
            if len(raw) == 4 * width * height:
                return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 4)
    raise ValueError(f"{len(raw)} bytes of RGBA are not {width_px:g} by {height_px:g} pixels")


def _crop(rgba: np.ndarray, box: Bbox, dpi: float) -> np.ndarray:
    """The pixels of a drawing inside ``box`` (inches from the bottom left), whole pixels
    outwards, within the drawing."""
    height, width = rgba.shape[:2]
    left, right = max(0, math.floor(box.x0 * dpi)), min(width, math.ceil(box.x1 * dpi))
    top, bottom = max(0, height - math.ceil(box.y1 * dpi)), min(height, height - math.floor(box.y0 * dpi))
    return rgba[top:bottom, left:right]


def _png_bytes(rgba: np.ndarray, dpi: float) -> bytes:
    """RGBA pixels as PNG, RGB when all are opaque, at the charts' zlib level, with only the
    resolution as metadata (the same pixels always give the same bytes)."""
    image = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    if rgba[..., 3].min() == 255:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=charts.PNG_COMPRESS_LEVEL, dpi=(dpi, dpi))
    return buffer.getvalue()


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# ---------------------------------------------------------------------------------------------
# Building blocks: slides, text, pictures, tables


def _new_presentation(run: Run, title: str, subject: str) -> Presentation:
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    props = prs.core_properties
    moment = _built_at(run)
    props.author = "fls-report"
    props.last_modified_by = "fls-report"
    props.created = moment
    props.modified = moment
    props.revision = 1
    props.title = title[:250]
    props.subject = subject[:250]
    props.keywords = "FLS-DB; fracture liaison service; clinical audit"
    props.comments = ""
    return prs


def _style_runs(paragraph, size: int, colour: RGBColor = TEXT, bold: bool = False) -> None:
    for run in paragraph.runs:
        run.font.size = Pt(size)
        run.font.color.rgb = colour
        run.font.bold = bold


def _element(tag: str, **attributes: str):
    """A DrawingML element, e.g. ``_element("a:buChar", char="•")``."""
    element = OxmlElement(tag)
    for key, value in attributes.items():
        element.set(key, value)
    return element


def _bullet(paragraph, level: int = 0) -> None:
    """Give a paragraph a hanging bullet (real bullet formatting, so it stays editable)."""
    pPr = paragraph._p.get_or_add_pPr()
    indent = 285750  # 0.3125 in
    pPr.set("marL", str(indent * (level + 1)))
    pPr.set("indent", str(-indent))
    for tag in ("a:buNone", "a:buChar", "a:buFont"):
        for old in pPr.findall(qn(tag)):
            pPr.remove(old)
    pPr.append(_element("a:buFont", typeface="Arial"))
    pPr.append(_element("a:buChar", char="•"))


#: A paragraph: plain text, or a dict with ``text`` and any of ``bold``, ``size``, ``colour``,
#: ``bullet``, ``space_before`` (points).
Para = str | dict


def _fill_text(frame, paragraphs: Sequence[Para], size: int = BODY_PT) -> None:
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    for i, item in enumerate(paragraphs):
        spec = {"text": item} if isinstance(item, str) else dict(item)
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = spec["text"]
        run.font.size = Pt(spec.get("size", size))
        run.font.bold = bool(spec.get("bold", False))
        run.font.color.rgb = spec.get("colour", TEXT)
        if spec.get("bullet"):
            _bullet(paragraph)
        if i and "space_before" not in spec:
            paragraph.space_before = Pt(6)
        elif "space_before" in spec:
            paragraph.space_before = Pt(spec["space_before"])


def _text_box(slide, left, top, width, height, paragraphs: Sequence[Para], size: int = BODY_PT,
              anchor=MSO_ANCHOR.TOP, name: str | None = None):
    box = slide.shapes.add_textbox(left, top, width, height)
    if name:
        box.name = name
    frame = box.text_frame
    frame.vertical_anchor = anchor
    frame.margin_left = frame.margin_right = Inches(0.05)
    _fill_text(frame, paragraphs, size)
    return box


def _content_slide(prs: Presentation, title: str, source: str | None = None):
    """A slide from the Title Only layout: the title placeholder restyled, a rule under it and
    a source line at the foot."""
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    placeholder = slide.shapes.title
    placeholder.left, placeholder.top = MARGIN, Inches(0.3)
    placeholder.width, placeholder.height = SLIDE_WIDTH - 2 * MARGIN, Inches(0.95)
    frame = placeholder.text_frame
    frame.text = title
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.margin_left = frame.margin_right = Inches(0.05)
    for paragraph in frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        _style_runs(paragraph, TITLE_PT, ACCENT, bold=True)
    rule = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, MARGIN, Inches(1.27), SLIDE_WIDTH - 2 * MARGIN, Inches(0.04))
    rule.name = "Title rule"
    rule.fill.solid()
    rule.fill.fore_color.rgb = ACCENT
    rule.line.fill.background()
    rule.shadow.inherit = False
    if source:
        _text_box(slide, MARGIN, SOURCE_TOP, SLIDE_WIDTH - 2 * MARGIN, Inches(0.4),
                  [{"text": source, "colour": MUTED, "size": SMALL_PT}], name="Source")
    return slide


def _cover_slide(prs: Presentation, kicker: str, title: str, lines: Sequence[str]):
    """The title slide: a band with the audit's title, the big title and the details under it."""
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    band = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, SLIDE_WIDTH, Inches(1.5))
    band.name = "Audit band"
    band.fill.solid()
    band.fill.fore_color.rgb = ACCENT
    band.line.fill.background()
    band.shadow.inherit = False
    frame = band.text_frame
    frame.margin_left = frame.margin_right = Inches(0.8)
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame.text = kicker
    for paragraph in frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        _style_runs(paragraph, 24, WHITE, bold=True)
    # Keep the band behind the placeholders in reading order: move it to the start of the tree.
    tree = slide.shapes._spTree
    tree.remove(band._element)
    tree.insert(2, band._element)

    heading = slide.shapes.title
    heading.left, heading.top, heading.width, heading.height = Inches(0.8), Inches(1.9), Inches(11.7), Inches(2.1)
    heading.text_frame.text = title
    heading.text_frame.word_wrap = True
    heading.text_frame.vertical_anchor = MSO_ANCHOR.BOTTOM
    heading.text_frame.auto_size = MSO_AUTO_SIZE.NONE
    for paragraph in heading.text_frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        _style_runs(paragraph, COVER_TITLE_PT, ACCENT, bold=True)
    subtitle = slide.placeholders[1]
    subtitle.left, subtitle.top, subtitle.width, subtitle.height = Inches(0.8), Inches(4.25), Inches(11.7), Inches(2.6)
    frame = subtitle.text_frame
    frame.clear()
    _fill_text(frame, [{"text": line, "size": 20} for line in lines], 20)
    for paragraph in frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
    return slide


def _picture(slide, chart: charts.Chart, left, top, max_width, max_height, text_scale: float = CHART_TEXT_SCALE):
    """Add a chart as a picture fitted into the box, with its alt text and its caption as notes.

    The figure is laid out at ``1 / text_scale`` of its size, so its text is ``text_scale`` times
    larger relative to the drawing (a 10 pt chart label projects like a 12 pt one at 1.2).
    """
    png = _png(chart, scale=1 / text_scale)
    width_px, height_px = _png_size(png)
    fit = min(max_width / width_px, max_height / height_px)
    width, height = Emu(int(width_px * fit)), Emu(int(height_px * fit))
    picture = slide.shapes.add_picture(io.BytesIO(png), left, top, width=width, height=height)
    picture._element.nvPicPr.cNvPr.set("descr", chart.alt)
    picture.name = "Chart"
    notes = slide.notes_slide.notes_text_frame
    notes.text = (notes.text + "\n" if notes.text else "") + chart.caption
    return picture


def _cell(cell, text: str, size: int = TABLE_PT, bold: bool = False, fill: RGBColor = WHITE,
          colour: RGBColor = TEXT, align=PP_ALIGN.LEFT) -> None:
    cell.text = text
    cell.margin_left = cell.margin_right = Inches(0.08)
    cell.margin_top = cell.margin_bottom = Inches(0.03)
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    for paragraph in cell.text_frame.paragraphs:
        paragraph.alignment = align
        _style_runs(paragraph, size, colour, bold)
    cell.fill.solid()
    cell.fill.fore_color.rgb = fill
    tcPr = cell._tc.get_or_add_tcPr()
    for side in ("a:lnB", "a:lnT", "a:lnR", "a:lnL"):  # inserted in front: lnL, lnR, lnT, lnB, fill
        line, solid = _element(side, w="9525"), _element("a:solidFill")
        solid.append(_element("a:srgbClr", val=str(RULE)))
        line.append(solid)
        tcPr.insert(0, line)


def _table(slide, header: Sequence[str], rows: Sequence[Sequence[dict]], widths: Sequence[float],
           top=CONTENT_TOP, row_height: float = 0.38, header_height: float = 0.62, name: str = "Table"):
    """A native table: ``rows`` of cells given as dicts of :func:`_cell` keywords (``text`` required)."""
    shape = slide.shapes.add_table(len(rows) + 1, len(header), MARGIN, top, Inches(sum(widths)),
                                   Inches(header_height + row_height * len(rows)))
    shape.name = name
    table = shape.table
    table.first_row, table.horz_banding, table.first_col = True, False, False
    for i, width in enumerate(widths):
        table.columns[i].width = Inches(width)
    table.rows[0].height = Inches(header_height)
    for i, text in enumerate(header):
        _cell(table.cell(0, i), text, bold=True, fill=ACCENT, colour=WHITE,
              align=PP_ALIGN.LEFT if i == 0 else PP_ALIGN.RIGHT)
    for r, row in enumerate(rows, start=1):
        table.rows[r].height = Inches(row_height)
        for c, spec in enumerate(row):
            _cell(table.cell(r, c), **({"align": PP_ALIGN.LEFT if c == 0 else PP_ALIGN.RIGHT} | spec))
    return shape


def _band_cells(pct, rag: str, low_numbers: bool = False) -> list[dict]:
    """A percentage cell and a band cell, both filled by band."""
    fill = BAND_FILLS.get(rag, BAND_FILLS["none"])
    text = fmt_pct(pct) + (" †" if low_numbers else "")
    return [{"text": text, "fill": fill}, {"text": BAND_WORDS.get(rag, rag), "fill": fill, "align": PP_ALIGN.CENTER}]


# ---------------------------------------------------------------------------------------------
# Service pack


def _rank_words(ranks: pd.DataFrame, code: str, kpi_id: str) -> str:
    found = ranks[(ranks["code"] == code) & (ranks["kpi_id"] == kpi_id)]
    if found.empty:
        return "–"
    return f"{int(found['rank'].iloc[0])} of {int(found['ranked'].iloc[0])}"


def _service_kpi_slide(prs, run: Run, code: str, source: str, ranks: pd.DataFrame) -> None:
    own, national = _unit_rows(run, code), _unit_rows(run, NATIONAL)
    rows = []
    for kpi_id in KPI_NUMBERS:
        r = own.loc[kpi_id]
        counts = f"{fmt_count(r['numerator'])} / {fmt_count(r['denominator'])}"
        rows.append(
            [{"text": _kpi_label(run, kpi_id)}, {"text": counts}]
            + _band_cells(r["pct"], r["rag"], bool(r["low_numbers"]))
            + [{"text": fmt_pct(national.loc[kpi_id, "pct"])}, {"text": _rank_words(ranks, code, kpi_id)}]
        )
    national_name = run.national_name
    title = f"Key performance indicators against {national_name}"
    if len(title) > TITLE_ONE_LINE_CHARS:  # with Northern Ireland
        title = f"KPIs against {national_name}"
    header_height, row_height = KPI_TABLE_HEIGHTS[_third_nation(run)]
    slide = _content_slide(prs, title, source)
    _table(slide, ["KPI", "Numerator / denominator", "Service %", "Band", f"{national_name} %", "Rank"], rows,
           widths=[4.75, 2.2, 1.35, 1.2, 1.65, 1.18], header_height=header_height, row_height=row_height,
           name="KPI table")
    kpi = run.params.kpi
    _text_box(slide, MARGIN, Inches(6.38), SLIDE_WIDTH - 2 * MARGIN, Inches(0.6), [
        {"text": f"† {low_numbers_note(kpi)}. KPI1: key fields complete / key fields that apply (green when "
                 f"{completeness_rule(kpi)}); for {national_name}, % of services meeting that rule. Rank 1 is the "
                 "highest among services with patients eligible.",
         "size": SMALL_PT, "colour": MUTED}], name="Table notes")


def _funnel_chart(run: Run, kpi_id: str, highlight: str | None) -> charts.Chart:
    return charts.funnel(run.funnel_tables[kpi_id], run.funnel_curves[kpi_id], kpi_id, names=run.names,
                         highlight=highlight, kpi_names=run.kpi_names)


def _service_funnel_slide(prs, run: Run, code: str, kpi_id: str, source: str) -> None:
    service = run.service(code)
    r = _unit_rows(run, code).loc[kpi_id]
    national = _unit_rows(run, NATIONAL).loc[kpi_id]
    slide = _content_slide(prs, f"{run.kpi_names[kpi_id]} ({kpi_id}): position among services", source)
    chart = _funnel_chart(run, kpi_id, code)
    picture = _picture(slide, chart, MARGIN, CONTENT_TOP, FUNNEL_WIDTH, CONTENT_HEIGHT)
    status = "" if _blank(r.get("funnel_status")) else str(r["funnel_status"])
    left = picture.left + picture.width + Inches(0.3)
    if status:
        heading, meaning = status_words(status), status_meaning(status, run.national_name)
        where = (f"{_short(service['name'])}: {fmt_pct(r['pct'], '%')} of {fmt_count(r['denominator'])} "
                 "patients eligible"
                 + (f" (rank {_rank_words(run.ranks, code, kpi_id)})" if kpi_id in RECORD_KPIS else ""))
        paragraphs = [{"text": heading, "bold": True, "size": 20, "colour": ACCENT}, meaning, where]
    else:
        paragraphs = [{"text": status_words(status), "bold": True, "size": 20, "colour": ACCENT},
                      f"{_short(service['name'])} has no patients eligible for {kpi_id}."]
    paragraphs += [
        f"{run.national_name}: {pct_words(national['pct'])}.",
        {"text": "Each point is a service. The funnel's dashed lines are the 95% limits (alert) and its dotted "
                 "lines the 99.8% limits (alarm), HQIP's outlier rules; they narrow as the number of patients "
                 "grows.", "size": 15, "colour": MUTED, "space_before": 12},
    ]
    _text_box(slide, left, CONTENT_TOP, SLIDE_WIDTH - MARGIN - left, CONTENT_HEIGHT, paragraphs, name="Status")


def _signal_paragraphs(run: Run, code: str, kpi_ids: Iterable[str]) -> list[Para]:
    rows = run.signals[run.signals["code"] == code].set_index("kpi_id")
    flagged, quiet, short = [], [], []
    for kpi_id in kpi_ids:
        if kpi_id not in rows.index:
            short.append(f"{kpi_id} (0)")
            continue
        row = rows.loc[kpi_id]
        if bool(row["signal"]):
            flagged.append({"text": f"{_kpi_label(run, kpi_id)}: {signal_explanation(row)}.",
                            "bullet": True, "size": 16})
        elif int(row["useful_points"]) < MIN_USEFUL_POINTS:
            short.append(f"{kpi_id} ({int(row['useful_points'])})")
        else:
            quiet.append(kpi_id)
    out: list[Para] = [{"text": "Signals (Anhøj rules)", "bold": True, "size": 20, "colour": ACCENT}]
    if flagged:
        out += flagged
    else:
        out.append({"text": "No KPI here shows a signal.", "size": 18})
    if quiet:
        out.append({"text": f"Only random variation: {', '.join(quiet)}.", "size": 18})
    if short:
        out.append({"text": f"Too few months with data to judge (under {MIN_USEFUL_POINTS}): {', '.join(short)}.",
                    "size": 18})
    out.append({"text": "Dashed line: the median month. A signal is a pattern unlikely by chance: a long run on "
                        "one side of the median (a shift) or too few crossings of it.",
                "size": SMALL_PT, "colour": MUTED, "space_before": 12})
    return out


def _run_chart(run: Run, code: str, kpi_ids: Sequence[str], name: str | None) -> charts.Chart:
    own = run.signals[run.signals["code"] == code].set_index("kpi_id")
    explanations = {k: signal_explanation(own.loc[k]) for k in kpi_ids if k in own.index}
    return charts.run_charts(run.monthly, run.signals, code, list(kpi_ids), explanations, name=name,
                             points=run.run_chart_points, kpi_names=run.kpi_names)


def _service_run_chart_slides(prs, run: Run, code: str, source: str) -> None:
    name = run.service(code)["name"]
    for i, group in enumerate(RUN_CHART_GROUPS, start=1):
        slide = _content_slide(prs, f"Month by month: run charts ({i} of {len(RUN_CHART_GROUPS)})", source)
        picture = _picture(slide, _run_chart(run, code, group, name), MARGIN, CONTENT_TOP,
                           Inches(8.0), CONTENT_HEIGHT)
        left = picture.left + picture.width + Inches(0.3)
        _text_box(slide, left, CONTENT_TOP, SLIDE_WIDTH - MARGIN - left, CONTENT_HEIGHT,
                  _signal_paragraphs(run, code, group), name="Signals")


def _service_completeness_slide(prs, run: Run, code: str, source: str) -> None:
    service = run.service(code)
    kpi = run.params.kpi
    r = _unit_rows(run, code).loc["KPI1"]
    national = _unit_rows(run, NATIONAL).loc["KPI1"]
    slide = _content_slide(prs, "Data completeness (KPI1)", source)
    chart = charts.completeness_bars(run.fields, code, service["name"], threshold_pct=kpi.completeness_threshold_pct)
    picture = _picture(slide, chart, MARGIN, CONTENT_TOP, Inches(7.9), CONTENT_HEIGHT)
    applicable, complete = int(r["denominator"]), int(r["numerator"])
    over = applicable - complete
    fields = run.fields[(run.fields["code"] == code) & run.fields["over"]]
    over_names = [_field_words(f) for f in fields["field"]]
    meets = r["rag"] == "green"
    paragraphs: list[Para] = [
        {"text": "Meets the audit's completeness rule" if meets else "Does not meet the audit's completeness rule",
         "bold": True, "size": 20, "colour": ACCENT},
        f"{over} of the {applicable} key fields that apply have more than {kpi.completeness_threshold_pct:g}% of "
        f"values missing; the rule: {completeness_rule(kpi)}.",
    ]
    if over_names:
        shown = over_names[:MAX_FIELDS_NAMED]
        extra = len(over_names) - len(shown)
        more = f", and {extra} more (hatched in the chart)" if extra else ""
        paragraphs.append(f"Over {kpi.completeness_threshold_pct:g}% missing: {', '.join(shown)}{more}.")
    paragraphs.append(f"{run.national_name}: {fmt_count(national['numerator'])} of {fmt_count(national['denominator'])} "
                      f"services ({pct_words(national['pct'])}) meet the rule.")
    left = picture.left + picture.width + Inches(0.3)
    _text_box(slide, left, CONTENT_TOP, SLIDE_WIDTH - MARGIN - left, CONTENT_HEIGHT, paragraphs, name="KPI1 in words")


def _field_words(field: str) -> str:
    """A key field's column name in words, as the completeness chart labels it, e.g.
    ``date_followup_16wk`` → "date follow-up (16 wk)"."""
    words = {"dxa": "DXA", "followup": "follow-up", "16wk": "(16 wk)", "52wk": "(52 wk)", "strength": "strength &"}
    return " ".join(words.get(part, part) for part in str(field).split("_"))


def _goal_paragraphs(run: Run, code: str) -> list[Para]:
    found = run.eighty_fifty_eighty[run.eighty_fifty_eighty["code"] == code]
    status = str(found["status"].iloc[0]) if len(found) else "not assessable"
    own = _unit_rows(run, code)
    out: list[Para] = [{"text": f"80/50/80: {EIGHTY_FIFTY_EIGHTY_WORDS.get(status, status)}", "bold": True,
                        "size": 22, "colour": ACCENT}]
    for kpi_id, goal in EIGHTY_FIFTY_EIGHTY.items():
        r = own.loc[kpi_id]
        met = found[f"{kpi_id.lower()}_met"].iloc[0] if len(found) else None
        if _blank(met):
            no_caseload = kpi_id == "KPI2" and _blank(r["denominator"])
            verdict = "no caseload estimate" if no_caseload else "no patients eligible"
        else:
            verdict = "goal met" if bool(met) else "goal not met"
        caution = " †" if bool(r["low_numbers"]) else ""
        out.append({"text": f"{run.kpi_names[kpi_id]} ({kpi_id}): {pct_words(r['pct'])}{caution}, goal {goal}% "
                            f"— {verdict}", "bullet": True})
    return out


def weakest_kpis(run: Run, code: str, n: int = WEAKEST) -> pd.DataFrame:
    """The ``n`` KPIs among KPI3–KPI11 where the service is furthest below the national level.

    Returns
    -------
    pandas.DataFrame
        ``kpi_id``, ``service_pct``, ``national_pct``, ``shortfall_pct_points`` (national
        minus service, above 0, unrounded), ``denominator`` and ``low_numbers`` (the service's),
        largest shortfall first (ties in KPI order); KPIs where either percentage is blank are
        left out.
    """
    own, national = _unit_rows(run, code), _unit_rows(run, NATIONAL)
    rows = []
    columns = ["kpi_id", "service_pct", "national_pct", "shortfall_pct_points", "denominator", "low_numbers", "_order"]
    for order, kpi_id in enumerate(RECORD_KPIS):
        service_pct, national_pct = own.loc[kpi_id, "pct"], national.loc[kpi_id, "pct"]
        if pd.notna(service_pct) and pd.notna(national_pct) and service_pct < national_pct:
            rows.append({"kpi_id": kpi_id, "service_pct": float(service_pct), "national_pct": float(national_pct),
                         "shortfall_pct_points": float(national_pct - service_pct),
                         "denominator": int(own.loc[kpi_id, "denominator"]),
                         "low_numbers": bool(own.loc[kpi_id, "low_numbers"]), "_order": order})
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(["shortfall_pct_points", "_order"], ascending=[False, True], kind="stable")
    return table.drop(columns="_order").head(n).reset_index(drop=True)


def _closing_slide(prs, run: Run, code: str, source: str) -> None:
    service = run.service(code)
    national_name = run.national_name
    slide = _content_slide(prs, "Summary: the 80/50/80 goals and where to start", source)
    paragraphs = _goal_paragraphs(run, code)
    paragraphs.append({"text": "Starting points for the improvement plan", "bold": True, "size": 22,
                       "colour": ACCENT, "space_before": 18})
    caution = any("†" in p["text"] for p in paragraphs if isinstance(p, dict))
    if service["records"] == 0:
        paragraphs.append(f"No records were submitted for this period, so no KPI can be compared with "
                          f"{national_name}. The first step is to enter this service's patients in the audit.")
    else:
        weakest = weakest_kpis(run, code)
        if weakest.empty:
            paragraphs.append(f"The service is at or above {national_name} on every KPI from KPI3 to KPI11 "
                              "with patients eligible.")
        else:
            paragraphs.append(f"The KPIs where {_short(service['name'])} is furthest below {national_name}:")
            for w in weakest.itertuples():
                # the gap between the figures as shown, so that it adds up on the slide
                gap = Decimal(fmt_pct(w.national_pct)) - Decimal(fmt_pct(w.service_pct))
                mark = f" † (only {fmt_count(w.denominator)} eligible)" if w.low_numbers else ""
                caution = caution or w.low_numbers
                paragraphs.append({
                    "text": f"{_kpi_label(run, w.kpi_id)}: {fmt_pct(w.service_pct, '%')}{mark} against "
                            f"{fmt_pct(w.national_pct, '%')} for {national_name} ({gap} points lower)",
                    "bullet": True})
    _text_box(slide, MARGIN, CONTENT_TOP + Inches(0.05), SLIDE_WIDTH - 2 * MARGIN, Inches(4.9), paragraphs,
              size=20, name="Summary")
    if caution:
        _text_box(slide, MARGIN, Inches(6.45), SLIDE_WIDTH - 2 * MARGIN, Inches(0.45), [
            {"text": f"† {low_numbers_note(run.params.kpi)}.",
             "size": SMALL_PT, "colour": MUTED}], name="Notes")


def service_pack(run: Run, code: str) -> Presentation:
    """One service's slide pack, for its trust board and commissioners.

    Slides: title; KPIs against the national level (native table, coloured by band with the band
    in words); the funnels of :data:`FUNNEL_KPIS` with the service highlighted and its status in
    words; run charts with their signals in words; data completeness with KPI1 in words; a
    closing slide with the 80/50/80 goals and the KPIs furthest below the national level. A
    service with no records gets the title, a notice and the closing slide.

    Parameters
    ----------
    run : Run
        A computed run (:func:`fls_report.report.load`).
    code : str
        A service code from the services file (``KeyError`` otherwise).
    """
    service = run.service(code)
    p = run.params
    name = str(service["name"])
    prs = _new_presentation(run, f"{name}: {p.title}", f"FLS-DB audit results for {name} ({code})")
    source = f"{_short(name)} ({code}) · {period_words(p.period_start, p.period_end, p.data_cutoff)}"
    records = int(service["records"])
    _cover_slide(prs, p.title, name, [
        f"{service['nation']} · service code {code}",
        f"Audit period: {_period(run)}",
        f"Data cut-off: {date_words(p.data_cutoff)}",
        f"{fmt_count(records)} patients in this report",
    ])
    if records == 0:
        slide = _content_slide(prs, "No records for this service in this period", source)
        _text_box(slide, MARGIN, CONTENT_TOP + Inches(0.05), SLIDE_WIDTH - 2 * MARGIN, Inches(5.4), [
            {"text": f"{name} is in the audit's list of services, but the extract holds no records for it in "
                     f"this period (fracture from {date_words(p.period_start)} to {date_words(p.period_end)}, aged 50 or "
                     "over).", "size": 22},
            {"text": "Its results are blank, so this pack has no tables or charts. The audit's data quality report "
                     "shows any rows from this service that were rejected or out of scope.", "size": 22},
        ], name="Notice")
    else:
        _service_kpi_slide(prs, run, code, source, run.ranks)
        for kpi_id in FUNNEL_KPIS:
            _service_funnel_slide(prs, run, code, kpi_id, source)
        _service_run_chart_slides(prs, run, code, source)
        _service_completeness_slide(prs, run, code, source)
    _closing_slide(prs, run, code, source)
    return prs


# ---------------------------------------------------------------------------------------------
# National pack


#: Column widths (inches) of the national pack's KPI table, by the number of units it shows (the
#: national level and each nation: 4 with Northern Ireland): the KPI, then a % and a band column
#: for each unit. Each row fills the width between the margins.
NATIONAL_TABLE_WIDTHS: dict[int, list[float]] = {
    3: [4.63, 1.75, 1.1, 1.4, 1.1, 1.25, 1.1],
    4: [4.28, 1.5, 0.85, 1.1, 0.85, 0.95, 0.85, 1.1, 0.85],
}
#: (header, row) heights in inches of a KPI table whose header names the national level: with a
#: third nation, "England, Wales and Northern Ireland %" takes three lines, and the rows give
#: back the room, so the table still ends above its notes.
KPI_TABLE_HEIGHTS: dict[bool, tuple[float, float]] = {False: (0.62, 0.38), True: (0.86, 0.36)}
#: A slide title longer than this takes two lines at :data:`TITLE_PT` and would reach the rule
#: under it.
TITLE_ONE_LINE_CHARS = 64


def _national_kpi_slide(prs, run: Run, source: str) -> None:
    levels = run.levels
    units = [_unit_rows(run, c) for c in levels["code"]]
    rows = []
    for kpi_id in KPI_NUMBERS:
        cells = [{"text": _kpi_label(run, kpi_id)}]
        for unit in units:
            cells += _band_cells(unit.loc[kpi_id, "pct"], unit.loc[kpi_id, "rag"])
        rows.append(cells)
    header = ["KPI"] + [text for name in levels["name"] for text in (f"{name} %", "Band")]
    header_height, row_height = KPI_TABLE_HEIGHTS[_third_nation(run)]
    slide = _content_slide(prs, f"Key performance indicators: {run.national_name}", source)
    _table(slide, header, rows, widths=NATIONAL_TABLE_WIDTHS[len(units)], header_height=header_height,
           row_height=row_height, name="KPI table")
    _text_box(slide, MARGIN, Inches(6.38), SLIDE_WIDTH - 2 * MARGIN, Inches(0.6), [
        {"text": "KPI1: % of services meeting the completeness rule. KPI2: records submitted as a % of the expected "
                 "caseload (services with an estimate). Bands are set on unrounded percentages.",
         "size": SMALL_PT, "colour": MUTED}], name="Table notes")


def _national_funnel_slide(prs, run: Run, kpi_id: str, source: str) -> None:
    summary = run.funnel_summary.set_index("kpi_id").loc[kpi_id]
    national = _unit_rows(run, NATIONAL).loc[kpi_id]
    slide = _content_slide(prs, f"{run.kpi_names[kpi_id]} ({kpi_id}): services compared", source)
    picture = _picture(slide, _funnel_chart(run, kpi_id, None), MARGIN, CONTENT_TOP,
                       FUNNEL_WIDTH, CONTENT_HEIGHT)
    paragraphs: list[Para] = [
        {"text": f"{run.national_name}: {pct_words(national['pct'])}", "bold": True, "size": 20, "colour": ACCENT},
        f"{fmt_count(national['numerator'])} of {fmt_count(national['denominator'])} patients.",
    ]
    for status in FUNNEL_STATUSES:
        if status:
            count = int(summary[status.replace(" ", "_")])
            paragraphs.append({"text": f"{status_words(status)}: {count}", "bullet": True, "size": 16})
    if int(summary["services_left_off"]):
        paragraphs.append({"text": f"No patients eligible (not shown): {int(summary['services_left_off'])}",
                           "bullet": True, "size": 16})
    paragraphs.append({"text": f"Limits are HQIP's: 95% (alert) and 99.8% (alarm), {limits_words(summary['adjusted'])}.",
                       "size": 15, "colour": MUTED, "space_before": 12})
    left = picture.left + picture.width + Inches(0.3)
    _text_box(slide, left, CONTENT_TOP, SLIDE_WIDTH - MARGIN - left, CONTENT_HEIGHT, paragraphs, name="Statuses")


def _national_identification_slide(prs, run: Run, source: str) -> None:
    slide = _content_slide(prs, "Identification (KPI2): records against expected caseload", source)
    picture = _picture(slide, charts.identification(run.results), MARGIN, CONTENT_TOP, Inches(8.0), CONTENT_HEIGHT)
    national = _unit_rows(run, NATIONAL).loc["KPI2"]
    kpi2 = run.results[(run.results["level"] == "service") & (run.results["kpi_id"] == "KPI2")]
    estimated = kpi2[kpi2["denominator"].notna()]
    paragraphs: list[Para] = [
        {"text": f"{run.national_name}: {pct_words(national['pct'])}", "bold": True, "size": 20, "colour": ACCENT},
        f"{fmt_count(national['numerator'])} records against an expected caseload of "
        f"{fmt_count(national['denominator'])}.",
        f"{int((estimated['rag'] == 'green').sum())} of {len(estimated)} services with a caseload estimate "
        "identified 80% or more of it.",
    ]
    if len(kpi2) > len(estimated):
        paragraphs.append(f"{len(kpi2) - len(estimated)} services have no caseload estimate.")
    left = picture.left + picture.width + Inches(0.3)
    _text_box(slide, left, CONTENT_TOP, SLIDE_WIDTH - MARGIN - left, CONTENT_HEIGHT, paragraphs, name="KPI2 in words")


def _national_breakdown_slide(prs, run: Run, characteristic: str, source: str) -> None:
    """Who gets care: the KPIs by one characteristic's groups (the national level and each nation),
    with the national tests of equal proportions in words."""
    slide = _content_slide(prs, f"Who gets care: the KPIs by {characteristic}", source)
    chart = charts.breakdown_grid(run.breakdowns, characteristic, run.level_codes, BREAKDOWN_GROUPS[characteristic],
                                  names=run.names, kpi_names=run.kpi_names)
    picture = _picture(slide, chart, MARGIN, CONTENT_TOP, Inches(7.2), CONTENT_HEIGHT)
    tests = run.breakdown_tests
    national = tests[(tests["code"] == NATIONAL) & (tests["characteristic"] == characteristic)].set_index("kpi_id")
    differ = [k for k in national.index if national.at[k, "p_value"] < TEST_LEVEL]
    paragraphs: list[Para] = [
        {"text": f"{run.national_name}, across the groups of {characteristic}:", "bold": True, "size": 18,
         "colour": ACCENT},
        f"Differ by more than chance would explain: {', '.join(differ) if differ else 'no KPI'}.",
    ]
    paragraphs += [{"text": f"{_kpi_label(run, k)}: {chi2_words(national.loc[k], characteristic)}.", "bullet": True,
                    "size": SMALL_PT} for k in differ[:4]]
    paragraphs.append({"text": "Many tests are made; a difference between groups says where to look, not why, and "
                               "is no verdict on a service.", "size": SMALL_PT, "colour": MUTED, "space_before": 12})
    left = picture.left + picture.width + Inches(0.3)
    _text_box(slide, left, CONTENT_TOP, SLIDE_WIDTH - MARGIN - left, CONTENT_HEIGHT, paragraphs, name="Tests in words")


def _national_goals_slide(prs, run: Run, source: str) -> None:
    summary = run.eighty_fifty_eighty_summary.set_index("code")
    rows = []
    for code in run.level_codes:
        s = summary.loc[code]
        rows.append([{"text": str(s["name"])}, {"text": fmt_count(s["meets"])},
                     {"text": fmt_count(s["does_not_meet"])}, {"text": fmt_count(s["not_assessable"])}])
    slide = _content_slide(prs, "Services against the 80/50/80 goals", source)
    _table(slide, ["Level", "Meet all three", "Do not meet", "Not assessable"], rows,
           widths=[4.4, 2.6, 2.6, 2.6], row_height=0.5, header_height=0.55, name="80/50/80 table")
    _text_box(slide, MARGIN, CONTENT_TOP + Inches(2.4), SLIDE_WIDTH - 2 * MARGIN, Inches(2.9), [
        {"text": "The goals", "bold": True, "size": 20, "colour": ACCENT},
        {"text": "Identify 80% of the expected caseload (KPI2 ≥ 80%)", "bullet": True},
        {"text": "Recommend bone therapy to at least 50% (KPI7 ≥ 50%)", "bullet": True},
        {"text": "Keep 80% of those who start treatment on it at 52 weeks (KPI11 ≥ 80%)", "bullet": True},
        {"text": "Not assessable: a service with no caseload estimate or no patients due for one of the three.",
         "size": 16, "colour": MUTED, "space_before": 12},
    ], name="Goals")


def _national_closing_slide(prs, run: Run, source: str) -> None:
    summary = run.eighty_fifty_eighty_summary.set_index("code").loc[NATIONAL]
    national = _unit_rows(run, NATIONAL)
    services = run.services
    total = int(summary["meets"] + summary["does_not_meet"] + summary["not_assessable"])
    red = [k for k in KPI_NUMBERS if national.loc[k, "rag"] == "red"]
    paragraphs: list[Para] = [
        {"text": f"Where {run.national_name} stands", "bold": True, "size": 22, "colour": ACCENT},
        {"text": f"{fmt_count(summary['meets'])} of {total} services meet all three 80/50/80 goals; "
                 f"{fmt_count(summary['not_assessable'])} cannot be assessed.", "bullet": True},
        {"text": f"{int((services['records'] > 0).sum())} of {len(services)} services submitted records; "
                 f"{fmt_count(int(services['records'].sum()))} patients in this report.", "bullet": True},
    ]
    if red:
        paragraphs.append({"text": f"In the red band for {run.national_name}: "
                                   + "; ".join(f"{_kpi_label(run, k)} ({fmt_pct(national.loc[k, 'pct'], '%')})" for k in red)
                                   + ".", "bullet": True})
    paragraphs += [
        {"text": "Next steps", "bold": True, "size": 22, "colour": ACCENT, "space_before": 18},
        {"text": f"Each service has its own slide pack with its results against {run.national_name}, to take to "
                 "its trust board and commissioners.", "bullet": True},
        {"text": "The full report, with every service's results and the methods, is on the audit's site.",
         "bullet": True},
    ]
    slide = _content_slide(prs, "Summary and next steps", source)
    _text_box(slide, MARGIN, CONTENT_TOP + Inches(0.05), SLIDE_WIDTH - 2 * MARGIN, Inches(5.4), paragraphs,
              size=20, name="Summary")


def national_pack(run: Run) -> Presentation:
    """The national slide pack: title, headline KPI table (the national level and a column per
    nation of the run: England, Wales and Northern Ireland where present), funnels of
    :data:`NATIONAL_FUNNEL_KPIS`, identification, who gets care (a slide per characteristic), 80/50/80 and
    a closing slide."""
    p = run.params
    national_name = run.national_name
    prs = _new_presentation(run, p.title, f"FLS-DB audit results for {national_name}")
    source = f"{national_name} · {period_words(p.period_start, p.period_end, p.data_cutoff)}"
    services = run.services
    _cover_slide(prs, p.title, f"{national_name}: national results", [
        f"Audit period: {_period(run)}",
        f"Data cut-off: {date_words(p.data_cutoff)}",
        f"{fmt_count(int(services['records'].sum()))} patients from {int((services['records'] > 0).sum())} of "
        f"{len(services)} fracture liaison services",
    ])
    _national_kpi_slide(prs, run, source)
    for kpi_id in NATIONAL_FUNNEL_KPIS:
        _national_funnel_slide(prs, run, kpi_id, source)
    _national_identification_slide(prs, run, source)
    for characteristic in BREAKDOWN_GROUPS:
        _national_breakdown_slide(prs, run, characteristic, source)
    _national_goals_slide(prs, run, source)
    _national_closing_slide(prs, run, source)
    return prs


# ---------------------------------------------------------------------------------------------
# Writing


#: Package parts written without compression: their own format is compressed already.
STORED_SUFFIXES = (".png", ".jpeg", ".jpg")


def _zip_time(presentation: Presentation) -> tuple[int, int, int, int, int, int]:
    """The core properties' ``modified`` as a zip entry time (which counts seconds in twos)."""
    moment = presentation.core_properties.modified
    if moment is None or moment.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second // 2 * 2)


def pack_bytes(presentation: Presentation) -> bytes:
    """The presentation as .pptx bytes, the same for the same content: python-pptx stamps zip
    entries with the current time, so the archive is re-packed with every entry dated from the
    core properties' ``modified`` (the run's build time), in the original order. Pictures, which
    are compressed already, are stored as they are; the XML parts are deflated."""
    raw = io.BytesIO()
    presentation.save(raw)
    date_time = _zip_time(presentation)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = (zipfile.ZIP_STORED if info.filename.lower().endswith(STORED_SUFFIXES)
                                   else zipfile.ZIP_DEFLATED)
            entry.external_attr = 0o644 << 16
            entry.create_system = 0
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def write_pack(presentation: Presentation, path: str | Path) -> Path:
    """Write a pack to ``path`` atomically (:func:`fls_report.io.write_bytes_atomic`: a temporary
    file beside it, then ``os.replace``), byte-identical for the same content."""
    return write_bytes_atomic(path, pack_bytes(presentation))
