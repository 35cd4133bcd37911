"""PDF copies of the report pages: our HTML → pandoc → Typst → PDF, all from Python wheels.

The site's pages are the single source: this module reads a rendered page, prepares it for
pandoc with a small HTML pre-pass, lets pandoc's ``typst`` writer turn it into Typst source with
our own Typst template, and compiles that with the ``typst`` wheel. Nothing needs LaTeX, a
browser or any system package (docs/pdf.md explains the choice and what is lost).

The pre-pass (:func:`prepare_html`):

* drops the navigation bar, scripts, styles and the ``<head>`` (the page title is passed to
  pandoc as metadata instead, for the PDF's document title), and the data table folded under
  each chart (``<details class="chart-data">``: the HTML page's only; the PDF keeps the chart and
  its alt text);
* keeps every table a real table: a banded cell keeps its value and its band in words (on its
  own line, in small capitals as on the site) and gets the band's background colour through
  pandoc's ``typst:fill`` cell attribute; numeric cells are right-aligned; sort buttons in
  column headings become plain text; ``compact`` tables (the wide benchmark table) are set in
  a smaller font;
* writes every figure's data-URI image (or inline SVG) to a file in a temporary directory
  (Typst reads images from files under its root), sized by :func:`figure_width`, and keeps the image's alt text (added to Typst's
  ``image(alt: ...)`` after pandoc, which drops it for figures);
* turns the headline "cards" into a list, a notice into a shaded box, relative links (other
  pages of the site, sort anchors) into plain text, and moves the provenance footer to the end
  under a "Provenance" heading, in small print.

The PDF is compiled to PDF/UA-1 (:data:`PDF_STANDARD`): tagged, with the page's title as
document title, language ``en-GB``, every image a ``Figure`` with its alt text and every table a
``Table`` whose column headings are header cells. Typst checks the standard's machine-checkable
rules and refuses a page that breaks them.

Output is deterministic: the same HTML gives the same PDF bytes. Typst embeds no creation date
unless asked to; when ``SOURCE_DATE_EPOCH`` is set it is used as the document date. Only the
fonts built into the ``typst`` wheel are used (system fonts are ignored), so the PDF does not
depend on the fonts installed on the machine that builds it.
"""

from __future__ import annotations

import base64
import binascii
import html as _html
import os
import re
import struct
import tempfile
import time
import urllib.parse
from pathlib import Path

from fls_report.io import write_bytes_atomic

#: Band colours, as in the site's stylesheet (templates/site.css, ``--green`` and so on).
BAND_FILLS = {
    "rag-green": "#cdebdc",
    "rag-amber": "#fbe3b3",
    "rag-red": "#f6c9b5",
    "rag-none": "#eeeeee",
}
MUTED = "#5b6470"
TINT = "#f4f6f8"
RULE = "#d5d9de"

#: Page geometry (A4 portrait) and the tallest a figure's image may be drawn.
PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
MARGIN_X_MM, MARGIN_Y_MM = 15, 18
TEXT_WIDTH_MM = PAGE_WIDTH_MM - 2 * MARGIN_X_MM
MAX_FIGURE_HEIGHT_MM = 195
#: A wide figure (wider than tall) is drawn no taller than this, so that two fit on a page.
MAX_WIDE_FIGURE_HEIGHT_MM = 112
#: A table with more rows than this may break across pages; a shorter one is kept whole.
LONG_TABLE_ROWS = 25
#: Pixels per inch assumed for an image's natural size (CSS pixels); small images are not enlarged.
CSS_PX_PER_MM = 96 / 25.4

#: The standard the PDFs are written to: PDF/UA-1 (ISO 14289-1, universal accessibility). Typst
#: then checks what it can (a title, alt text on every image, heading levels) and refuses to
#: write a PDF that fails, and the XMP metadata declares ``pdfuaid:part`` 1.
PDF_STANDARD = "ua-1"

IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/gif": "gif",
               "image/svg+xml": "svg", "image/webp": "webp"}

TEMPLATE = r"""// fls-report PDF template (pandoc typst writer; see fls_report/outputs/pdf.py).
#set document(title: [$title$], date: $document-date$)
#set page(
  paper: "a4",
  margin: (x: $margin-x$mm, y: $margin-y$mm),
  header: context {
    if counter(page).get().first() > 1 [
      #set text(size: 7.5pt, fill: rgb("$muted$"))
      $if(running-title)$$running-title$$endif$ #h(1fr) $if(running-right)$$running-right$$endif$
    ]
  },
  footer: context [
    #set text(size: 7.5pt, fill: rgb("$muted$"))
    #h(1fr) Page #counter(page).display() of #counter(page).final().first()
  ],
)
#set text(font: "Libertinus Serif", size: 10pt, lang: "en", region: "GB")
#set par(justify: false, leading: 0.55em, spacing: 0.9em)
#set smartquote(enabled: false)
#show heading: set block(above: 1.3em, below: 0.6em)
#show heading.where(level: 1): set text(size: 20pt)
#show heading.where(level: 2): it => block(
  width: 100%, above: 1.6em, below: 0.7em, sticky: true,
  stroke: (bottom: 1pt + rgb("$rule$")), inset: (bottom: 3pt),
  text(size: 14pt, it.body),
)
#show heading.where(level: 3): set text(size: 11.5pt)
#show raw: set text(font: "DejaVu Sans Mono", size: 0.85em)
#show link: set text(fill: rgb("#0b5394"))

#let horizontalrule = line(length: 100%, stroke: 0.5pt + rgb("$rule$"))
#show terms.item: it => block(breakable: false, above: 0.7em)[
  #text(weight: "bold")[#it.term]
  #block(inset: (left: 1em), above: 0.35em)[#it.description]
]

// Tables: rules between rows, captions above and left-aligned. A short table is kept whole on a
// page; a long one (labelled by the pre-pass) breaks across pages and repeats its header row.
#set table(
  inset: (x: 4pt, y: 3pt),
  stroke: (x, y) => (bottom: 0.5pt + rgb("$rule$")),
)
#show table: set text(size: 8.5pt)
#show table: set par(justify: false, leading: 0.4em)
#show table: set align(left)
#set figure(numbering: none, gap: 0.6em)
#show figure: set block(breakable: false)
#show <fls-long-table>: set block(breakable: true)
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.where(kind: table): set align(left)
#show figure.where(kind: image): set figure.caption(position: bottom)
#show figure.caption: it => align(left, text(size: 8.5pt, fill: rgb("$muted$"), it.body))
#show figure.where(kind: table): set block(above: 1em, below: 1.4em)
#show figure.where(kind: image): set block(above: 1em, below: 1.4em)

$body$
"""


class PdfError(RuntimeError):
    """A page could not be turned into a PDF (pandoc or Typst failed); the message names the page.

    From :func:`write_pdfs`, ``failures`` maps each failed page to its error and ``written`` lists
    the PDFs that were written.
    """

    def __init__(self, message: str, failures: dict | None = None, written: list | None = None):
        super().__init__(message)
        self.failures = failures or {}
        self.written = written or []


# ---------------------------------------------------------------------------------------------
# The HTML pre-pass


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def _svg_size(data: bytes) -> tuple[float, float] | None:
    head = data[:4000].decode("utf-8", "replace")
    tag = re.search(r"<svg\b[^>]*>", head, re.I | re.S)
    if not tag:
        return None
    attrs = dict(re.findall(r'([\w:-]+)\s*=\s*["\']([^"\']*)["\']', tag.group(0)))
    width, height = _number(attrs.get("width")), _number(attrs.get("height"))
    if width and height:
        return width, height
    box = [_number(v) for v in re.split(r"[\s,]+", attrs.get("viewBox", "").strip()) if v]
    if len(box) == 4 and box[2] and box[3]:
        return box[2], box[3]
    return None


_INLINE_SVG = re.compile(r"<svg\b.*?</svg\s*>", re.I | re.S)


def inline_svg_to_img(html: str) -> str:
    """Inline ``<svg>`` (a figure nbconvert wrote as SVG) to an ``<img>`` with an SVG data URI.

    Done on the raw text, before parsing: the HTML parser would lower-case ``viewBox`` and the
    like, which SVG needs as written.
    """
    def to_img(match: re.Match) -> str:
        svg = match.group(0)
        if "xmlns=" not in svg[:svg.find(">")]:
            svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
        title = re.search(r"<title>(.*?)</title>", svg, re.S)
        alt = _html.unescape(re.sub(r"<[^>]+>", "", title.group(1))).strip() if title else ""
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'<img src="data:image/svg+xml;base64,{data}" alt="{_html.escape(alt, quote=True)}">'

    return _INLINE_SVG.sub(to_img, html)


def _number(value) -> float | None:
    try:
        return float(str(value).strip().removesuffix("px"))
    except (TypeError, ValueError):
        return None


def figure_width(pixels: tuple[int, int] | None, css_width: float | None = None,
                 css_height: float | None = None) -> str:
    """The width to draw an image at, as a percentage of the text width.

    As wide as the text, but no taller than :data:`MAX_FIGURE_HEIGHT_MM` (a wide figure: no taller
    than :data:`MAX_WIDE_FIGURE_HEIGHT_MM`) and no wider than its natural size (its ``width``
    attribute in CSS pixels, else its pixel width, at 96 per inch).
    """
    if css_width and css_height:
        width, height = css_width, css_height
    elif pixels:
        width, height = float(pixels[0]), float(pixels[1])
        if css_width:
            width, height = css_width, css_width * pixels[1] / pixels[0]
    else:
        return "100%"
    if width <= 0 or height <= 0:
        return "100%"
    natural = width / CSS_PX_PER_MM
    by_height = (MAX_WIDE_FIGURE_HEIGHT_MM if width > height else MAX_FIGURE_HEIGHT_MM) * width / height
    share = min(TEXT_WIDTH_MM, natural, by_height) / TEXT_WIDTH_MM
    return f"{max(share, 0.05) * 100:.1f}%"


def _typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def prepare_html(html: str, media: Path) -> tuple[str, dict]:
    """Rewrite a page's HTML for pandoc; write its images into ``media``.

    Returns the HTML (a bare ``<body>``) and what the template and the post-pass need:
    ``title`` (the page's ``<title>``), ``heading`` (its ``<h1>``), ``subtitle`` (the period line),
    ``alts`` (image file name → alt text) and ``without_alt`` (each embedded image that has no alt
    text, named by its figure's caption or its place on the page).
    """
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(inline_svg_to_img(html), "html.parser")
    info: dict = {"alts": {}, "without_alt": []}
    title = soup.find("title")
    info["title"] = title.get_text(" ", strip=True) if title else ""
    h1 = soup.find("h1")
    info["heading"] = h1.get_text(" ", strip=True) if h1 else info["title"]
    meta = soup.find(class_="page-meta")
    info["subtitle"] = meta.get_text(" ", strip=True) if meta else ""

    for tag in soup.find_all(["head", "nav", "script", "style", "noscript", "template", "link", "meta",
                              "button", "input", "select"]):
        if tag.name == "button":
            tag.unwrap()  # sort buttons in column headings: keep the heading's text
        elif tag.parent is not None or tag.name == "head":
            tag.decompose()

    # The numbers behind each chart (a <details class="chart-data"> after its figure) are for the
    # HTML page only: they can run to hundreds of rows, and the PDF keeps the chart's alt text.
    for details in soup.find_all("details", class_="chart-data"):
        details.decompose()

    body = soup.body or soup
    main = body.find("main") or body
    footer = body.find("footer")

    # Relative links go to other pages of the site or to sort anchors: keep their text only.
    for a in body.find_all("a"):
        href = a.get("href", "")
        if not re.match(r"^(https?:|mailto:)", href, re.I):
            a.unwrap()

    # Headline cards: a list of "figure – label" items.
    for cards in body.find_all("div", class_="cards"):
        ul = soup.new_tag("ul")
        for card in cards.find_all("div", class_="card"):
            li = soup.new_tag("li")
            number = card.find(class_="figure")
            label = card.find(class_="label")
            if number is not None:
                strong = soup.new_tag("strong")
                strong.string = number.get_text(" ", strip=True)
                li.append(strong)
                li.append(NavigableString(" "))
            if label is not None:
                li.append(NavigableString(label.get_text(" ", strip=True)))
            elif number is None:
                li.append(NavigableString(card.get_text(" ", strip=True)))
            ul.append(li)
        cards.replace_with(ul)

    # Notices: a shaded box with a coloured rule on the left.
    for notice in body.find_all("div", class_="notice"):
        edge = "#b35900" if "warning" in (notice.get("class") or []) else "#0b5394"
        notice.attrs = {"typst:inset": "8pt", "typst:width": "100%", "typst:fill": f'rgb("{TINT}")',
                        "typst:stroke": f'(left: 3pt + rgb("{edge}"))'}

    meta_line = body.find(class_="page-meta")
    if meta_line is not None:
        meta_line.attrs = {}
        span = soup.new_tag("span", attrs={"typst:text:fill": f'rgb("{MUTED}")'})
        for child in list(meta_line.children):
            span.append(child.extract())
        meta_line.append(span)

    # Tables.
    for table in body.find_all("table"):
        classes = table.get("class") or []
        for col in table.find_all(["colgroup", "col"]):
            col.decompose()
        long_table = len(table.find_all("tr")) > LONG_TABLE_ROWS
        if "compact" in classes:
            table["typst:text:size"] = "7pt"
            table["typst:inset"] = "(x: 2.5pt, y: 2pt)"
        for tbody in table.find_all("tbody", class_="pinned"):
            for cell in tbody.find_all(["th", "td"]):
                cell["typst:text:weight"] = '"bold"'
        for row in table.find_all("tr", class_="highlight"):
            for cell in row.find_all(["th", "td"]):
                cell["typst:text:weight"] = '"bold"'
        for cell in table.find_all(["th", "td"]):
            cell_classes = cell.get("class") or []
            for span in cell.find_all("span", class_="band"):
                words = span.get_text(" ", strip=True).upper()
                span.attrs = {"typst:text:size": "0.72em", "typst:text:fill": 'rgb("#333333")'}
                span.string = words
                span.insert_before(soup.new_tag("br"))
            for span in cell.find_all("span", class_="caution"):
                span.attrs = {"typst:text:fill": 'rgb("#8a4b00")', "typst:text:weight": '"bold"'}
            fill = next((BAND_FILLS[c] for c in cell_classes if c in BAND_FILLS), None)
            for attr in ("class", "data-sort", "title", "style", "scope", "aria-sort", "align"):
                cell.attrs.pop(attr, None)
            if cell.name == "th":  # headings: bold on a tint, as on the site
                cell["typst:text:weight"] = '"bold"'
                fill = fill or TINT
            if fill:
                cell["typst:fill"] = f'rgb("{fill}")'
            if "num" in cell_classes:
                cell["align"] = "right"
        table.attrs = {k: v for k, v in table.attrs.items() if k.startswith("typst:")}
        if long_table:
            table["id"] = "fls-long-table"  # the template lets these break across pages

    # Figures: images to files.
    for number, img in enumerate(body.find_all("img"), start=1):
        src = img.get("src", "")
        alt = img.get("alt", "")
        match = re.match(r"^data:([\w.+/-]+)(;[^,]*)?,(.*)$", src, re.S)
        kind = IMAGE_TYPES.get(match.group(1).lower()) if match else None
        if kind is None:
            # Not embedded (or a format Typst cannot read): keep its description in words.
            em = soup.new_tag("em")
            em.string = f"[Image: {alt}]" if alt else "[Image not embedded]"
            img.replace_with(em)
            continue
        payload = match.group(3)
        try:
            if (match.group(2) or "").endswith("base64"):
                data = base64.b64decode(payload)
            else:
                data = urllib.parse.unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            em = soup.new_tag("em")
            em.string = f"[Image: {alt}]" if alt else "[Image could not be read]"
            img.replace_with(em)
            continue
        name = f"fig-{number:03d}.{kind}"
        (media / name).write_bytes(data)
        pixels = (_png_size(data) if kind == "png" else _jpeg_size(data) if kind == "jpg"
                  else _svg_size(data) if kind == "svg" else None)
        width = figure_width(pixels, _number(img.get("width")), _number(img.get("height")))
        img.attrs = {"src": name, "width": width}
        if alt:
            info["alts"][name] = alt
        else:
            figure = img.find_parent("figure")
            caption = figure.find("figcaption") if figure is not None else None
            info["without_alt"].append(f'"{caption.get_text(" ", strip=True)}"' if caption is not None
                                       else f"image {number}")

    # Provenance footer last, in small print.
    if footer is not None:
        footer.extract()
        if main is not body:
            main.unwrap()
        heading = soup.new_tag("h2")
        heading.string = "Provenance"
        box = soup.new_tag("div", attrs={"typst:text:size": "8pt", "typst:text:fill": f'rgb("{MUTED}")'})
        for child in list(footer.children):
            box.append(child.extract())
        body.append(heading)
        body.append(box)
    elif main is not body:
        main.unwrap()

    return f"<html><body>{body.decode_contents() if body is not soup else str(soup)}</body></html>", info


def add_alt_text(typst_source: str, alts: dict[str, str]) -> str:
    """Give each image back its alt text (pandoc's typst writer drops it inside figures)."""
    for name, alt in alts.items():
        typst_source = typst_source.replace(f'image("{name}"', f'image("{name}", alt: {_typst_string(alt)}', 1)
    return typst_source


_CENTRED_TABLE = re.compile(r"^(\s*)align\(center\)\[(?=(?:#set [^\n;]*; )*#table\()", re.M)


def left_tables(typst_source: str) -> str:
    """Tables start at the left margin, under their captions (pandoc centres them)."""
    return _CENTRED_TABLE.sub(lambda m: f"{m.group(1)}align(left)[", typst_source)


_FIXED_COLUMNS = re.compile(r"^(\s*columns: )\(((?:[\d.]+%,\s*)*[\d.]+%)\),$", re.M)


def auto_columns(typst_source: str) -> str:
    """Let Typst size table columns to their content.

    Our pages give no column widths; pandoc invents equal percentage widths for any table with a
    line break in a cell (the band line, for one), which squeezes the name columns. ``columns: N``
    is Typst's auto sizing.
    """
    return _FIXED_COLUMNS.sub(lambda m: f"{m.group(1)}{m.group(2).count('%')},", typst_source)


# ---------------------------------------------------------------------------------------------
# Conversion


def _source_date() -> int | None:
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def html_to_typst(html: str, media: Path, page: str = "page") -> str:
    """Our page's HTML to Typst source (images written into ``media``).

    Raises :class:`PdfError` naming the page and the figures if an embedded image has no alt text
    (Typst would refuse it under PDF/UA-1 without saying which image).
    """
    import pypandoc

    prepared, info = prepare_html(html, media)
    if info["without_alt"]:
        raise PdfError(f"{page}: no alt text on {len(info['without_alt'])} image(s) "
                       f"({', '.join(info['without_alt'])}); a PDF/UA-1 document describes every image, "
                       "so give each <img> an alt attribute")
    template = media / "fls-template.typ"
    stamp = _source_date()
    fills = {
        "document-date": "auto" if stamp is not None else "none",
        "margin-x": str(MARGIN_X_MM), "margin-y": str(MARGIN_Y_MM),
        "muted": MUTED, "rule": RULE, "tint": TINT,
    }
    text = TEMPLATE
    for key, value in fills.items():
        text = text.replace(f"${key}$", value)
    template.write_text(text, encoding="utf-8")
    args = ["--standalone", f"--template={template}", "--wrap=preserve"]
    for key, value in (("title", info["title"] or info["heading"]), ("running-title", info["heading"]),
                       ("running-right", info["subtitle"].split(" · ")[0])):
        if value:
            args += ["--metadata", f"{key}={value}"]
    try:
        source = pypandoc.convert_text(prepared, "typst", format="html", extra_args=args)
    except (RuntimeError, OSError) as exc:
        raise PdfError(f"{page}: pandoc could not convert the page to Typst: {exc}") from exc
    return left_tables(auto_columns(add_alt_text(source, info["alts"])))


def html_to_pdf_bytes(html_path: str | Path) -> bytes:
    """The PDF of one page, as bytes."""
    import typst

    html_path = Path(html_path)
    try:
        html = html_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PdfError(f"{html_path}: cannot read the page: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="fls-pdf-") as tmp:
        work = Path(tmp)
        source = html_to_typst(html, work, page=str(html_path))
        main = work / "page.typ"
        main.write_text(source, encoding="utf-8")
        stamp = _source_date()
        try:
            return typst.compile(str(main), root=str(work), ignore_system_fonts=True, pdf_standards=PDF_STANDARD,
                                 **({"timestamp": stamp} if stamp is not None else {}))
        except Exception as exc:  # typst.TypstError and anything the compiler raises
            raise PdfError(f"{html_path}: Typst could not compile the page: {exc}") from exc


def html_to_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Write the PDF of one report page (atomically); returns ``pdf_path``.

    Raises
    ------
    RuntimeError
        (:class:`PdfError`) the page cannot be read, or pandoc or Typst failed; the message names
        the page.
    """
    return write_bytes_atomic(pdf_path, html_to_pdf_bytes(html_path))


def _page_path(site_root: Path, page: str | Path) -> Path:
    page = Path(page)
    if page.is_absolute():
        return page
    in_site = site_root / page
    return in_site if in_site.exists() or not page.exists() else page


def pdf_path_for(site_root: str | Path, page: str | Path) -> Path:
    """Where a page's PDF goes: ``downloads/pdf/`` plus the page's path in the site, as ``.pdf``.

    ``page`` is absolute or relative to ``site_root`` (or, failing that, to the working folder);
    a page outside the site keeps only its file name.
    """
    site_root = Path(site_root)
    page = _page_path(site_root, page)
    try:
        relative = page.resolve().relative_to(site_root.resolve())
    except ValueError:
        relative = Path(page.name)
    return site_root / "downloads" / "pdf" / relative.with_suffix(".pdf")


def default_workers() -> int:
    """Pages converted at once: pandoc runs as a subprocess and Typst compiles without the GIL."""
    return max(1, min(4, os.cpu_count() or 1))


def write_pdfs(site_root: str | Path, pages, workers: int | None = None, progress=None) -> list[Path]:
    """Write the PDF of each page into ``site_root/downloads/pdf/`` (same path, ``.pdf``).

    ``national.html`` → ``downloads/pdf/national.pdf``; ``services/440.html`` →
    ``downloads/pdf/services/440.pdf``.

    Parameters
    ----------
    site_root
        The published site's folder.
    pages
        The HTML pages: paths absolute or relative to ``site_root``.
    workers
        Pages converted at once, in threads (default :func:`default_workers`; 1 for one at a time).
    progress
        If given, called as ``progress(page, pdf_path, seconds)`` after each page that succeeds.

    Returns
    -------
    list[Path]
        The PDFs written, in the order of ``pages``.

    Raises
    ------
    PdfError
        (a ``RuntimeError``) after every page has been tried, if any failed: the message names each
        failed page and why; ``failures`` maps each failed page to its error and ``written`` lists
        the PDFs that were written.
    """
    from concurrent.futures import ThreadPoolExecutor

    site_root = Path(site_root)
    jobs = [(_page_path(site_root, page), pdf_path_for(site_root, page)) for page in pages]

    def one(job):
        source, target = job
        started = time.perf_counter()
        try:
            html_to_pdf(source, target)
        except PdfError as exc:
            return exc
        except Exception as exc:  # anything unexpected still names the page
            return PdfError(f"{source}: PDF conversion failed: {type(exc).__name__}: {exc}")
        if progress is not None:
            progress(source, target, time.perf_counter() - started)
        return None

    workers = default_workers() if workers is None else max(1, int(workers))
    if workers == 1 or len(jobs) <= 1:
        errors = [one(job) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            errors = list(pool.map(one, jobs))
    failures = {source: error for (source, _), error in zip(jobs, errors) if error is not None}
    written = [target for (_, target), error in zip(jobs, errors) if error is None]
    if failures:
        message = "; ".join(str(error) for error in failures.values())
        if len(jobs) > 1:
            message = f"{len(failures)} of {len(jobs)} PDFs failed: {message}"
        raise PdfError(message, failures=failures, written=written)
    return written
