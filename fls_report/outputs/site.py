"""The site: executed notebooks rendered to self-contained HTML pages, the index, the
accessibility statement, the downloads.

Pages use our own nbconvert template (``templates/fls_page``): no code cells, figures embedded as
data URIs, our stylesheet inline, and nothing fetched from the network (the stock templates load
require.js and MathJax from a CDN). Every page carries the same navigation (a skip link to the
main content first) and provenance footer (a link to the accessibility statement first), and a
title no other page has.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import jinja2
import nbformat
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from nbconvert import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

from fls_report import __version__
from fls_report.breakdowns import PUBLISHED_COLUMNS as BREAKDOWN_PUBLISHED
from fls_report.io import safe_name, write_bytes_atomic, write_text_atomic
from fls_report.kpis import DEFAULT_NATIONAL_NAME, KPI_NAMES, in_nation_order
from fls_report.outputs.workbook import put_text, workbook_bytes, write_workbook
from fls_report.params import KpiParams
from fls_report.vocabulary import band_word, fmt_pct, low_numbers_note, period_words

if TYPE_CHECKING:
    from fls_report.execute import ReportJob

TEMPLATES = Path(__file__).parent / "templates"

#: The accessibility statement, at the site's root; every page's footer links to it.
ACCESSIBILITY_PAGE = "accessibility.html"
#: The id of every page's ``<main>``, which the skip link jumps to.
MAIN_ID = "main"

#: Published downloads: (table, columns to publish or None for all). case_mix publishes only the
#: disclosure-controlled columns (statistics.md §5).
DOWNLOADS: dict[str, list[str] | None] = {
    "kpi_results": None,
    "monthly_kpis": None,
    "eighty_fifty_eighty": None,
    "case_mix": ["level", "code", "characteristic", "category", "shown", "pct_shown"],
    "record_accounting": None,
    "data_quality_fields": None,
    "data_quality_issues": None,
    "data_quality_unrecognised": None,
    "extract_files": None,
    "kpi_breakdowns": BREAKDOWN_PUBLISHED,
    "kpi_breakdown_tests": None,
    "kpi_regions": None,
}


@dataclass(frozen=True)
class Site:
    """Paths of the published site under a run's output folder (outputs.md §3)."""

    root: Path

    @property
    def index(self) -> Path:
        return self.root / "index.html"

    @property
    def national(self) -> Path:
        return self.root / "national.html"

    @property
    def data_quality(self) -> Path:
        return self.root / "data-quality.html"

    @property
    def accessibility(self) -> Path:
        return self.root / ACCESSIBILITY_PAGE

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def slides(self) -> Path:
        return self.downloads / "slides"

    def service(self, code: str) -> Path:
        return self.root / "services" / f"{safe_name(code)}.html"

    @property
    def national_slides(self) -> Path:
        return self.slides / f"{NATIONAL_PACK_STEM}.pptx"

    def service_slides(self, code: str) -> Path:
        return self.slides / pack_file_name(code)


#: The national slide pack is ``national.pptx`` beside the service packs.
NATIONAL_PACK_STEM = "national"


def pack_file_name(code: str) -> str:
    """A service's slide pack: ``<safe code>.pptx`` (:func:`fls_report.io.safe_name`); a code that
    would take the national pack's name (``national``, in any case) gets the hashed form, so no
    service overwrites it."""
    name = safe_name(code)
    if name.lower() == NATIONAL_PACK_STEM:
        name = f"{name}-{hashlib.sha256(code.encode('utf-8')).hexdigest()[:8]}"
    return f"{name}.pptx"


@lru_cache(maxsize=1)
def site_css() -> str:
    return (TEMPLATES / "site.css").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def site_script() -> str:
    return "<script>\n" + (TEMPLATES / "site.js").read_text(encoding="utf-8") + "</script>"


def nav_html(depth: int) -> str:
    """Site navigation with links relative to a page ``depth`` folders below the site root.

    Its first link skips to the page's main content: the first thing the Tab key reaches. It is
    inside the navigation so that the PDF copies, which leave the navigation out, leave it out too.
    """
    up = "../" * depth
    links = [("index.html", "All reports"), ("national.html", "National report"),
             ("data-quality.html", "Data quality"), ("index.html#downloads", "Downloads")]
    return (f'<a class="skip-link" href="#{MAIN_ID}">Skip to main content</a>'
            + "".join(f'<a href="{up}{href}">{html.escape(text)}</a>' for href, text in links))


def footer_html(manifest: dict, depth: int = 0) -> str:
    """The provenance footer of a page ``depth`` folders below the site root: a link to the
    accessibility statement, then parameters, input checksums, package version, build time.

    The link is a navigation block of its own, which the PDF copies leave out as they leave out
    the site's navigation. Attributes are in alphabetical order, as nbconvert writes a page's
    (through BeautifulSoup), so that a page re-footed by :func:`replace_footer` is the page
    rendered afresh.
    """
    params = manifest["params"]
    inputs = manifest["inputs"]
    rows = manifest["rows"]
    checksums = "".join(
        f"<li>{html.escape(name)}: {html.escape(entry['path'])} <code>sha256 {entry['sha256']}</code></li>"
        for name, entry in sorted(inputs.items())
    )
    return (
        f'<nav aria-label="About this site" class="footer-links"><a href="{"../" * depth}{ACCESSIBILITY_PAGE}">'
        "Accessibility statement</a></nav>"
        f"<p><strong>{html.escape(params['title'])}</strong>. Audit period {params['period_start']} to "
        f"{params['period_end']}; data cut-off {params['data_cutoff']}. Rows read {rows['read']:,}: "
        f"{rows['included']:,} included, {rows['excluded']:,} excluded, {rows['rejected']:,} rejected.</p>"
        f"<p>Built {html.escape(manifest['built_at'])} by fls-report {html.escape(manifest['versions']['fls_report'])} "
        f"(Python {html.escape(manifest['versions']['python'])}, pandas {html.escape(manifest['versions']['pandas'])}). Inputs:</p>"
        f"<ul>{checksums}</ul>"
    )


def page_resources(manifest: dict, title: str, depth: int) -> dict:
    """What the page template needs besides the notebook."""
    return {
        "title": f"{title} – {manifest['params']['title']}",
        "css": site_css(),
        "nav_html": nav_html(depth),
        "main_id": MAIN_ID,
        "footer_html": footer_html(manifest, depth),
        "script_html": site_script(),
    }


def page_title(job: ReportJob) -> str:
    """The head of a report page's ``<title>`` (the run's title follows it): the report's title,
    and for a service its code and "service report", so that no two pages share a title (two
    services may share a name; their codes differ)."""
    return f"{job.title} ({job.code}): service report" if job.kind == "service" else job.title


class PageExporter(HTMLExporter):
    """nbconvert's HTML exporter without its last pass, validating the notebook once.

    That pass parses the whole rendered page with BeautifulSoup and writes it out again, only to
    give an ``alt`` to images without one and a ``tabindex`` to JupyterLab's cell wrappers. Our
    template has no such wrappers and every figure carries its own alt text (the site tests check
    both), so the pass changed nothing but took 0.35 s of a service page's 0.40 s.

    nbconvert validates the notebook against its schema after each of its eleven preprocessors,
    though ours runs none of them (``optimistic_validation`` validates once, after the last).
    """

    optimistic_validation = True

    def from_notebook_node(self, nb: nbformat.NotebookNode, resources: dict | None = None, **kw):
        language = nb.metadata.get("language_info", {})
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=language.get("pygments_lexer", language.get("name")),
                                             parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


@lru_cache(maxsize=1)
def _exporter() -> HTMLExporter:
    return PageExporter(
        template_name="fls_page",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
    )


def notebook_html(notebook: nbformat.NotebookNode, manifest: dict, title: str, depth: int) -> str:
    """An executed notebook as one self-contained page."""
    body, _ = _exporter().from_notebook_node(notebook, resources={"page": page_resources(manifest, title, depth)})
    return body


def write_page(path: Path, markup: str) -> Path:
    return write_text_atomic(path, markup)


_FOOTER = re.compile(r'(<footer class="provenance">).*?(</footer>)', re.DOTALL)


def replace_footer(markup: str, footer: str) -> str:
    """A page with its provenance footer replaced (a re-render without re-running the notebook)."""
    updated, count = _FOOTER.subn(lambda m: m.group(1) + footer + m.group(2), markup, count=1)
    if count != 1:
        raise ValueError("page has no provenance footer to replace")
    return updated


def downloads_present(site: Site) -> list[Path]:
    """The download files already in the site (empty when any expected one is missing)."""
    expected = [site.downloads / f"{name}.csv" for name in DOWNLOADS]
    expected += [site.downloads / "fls_report_tables.xlsx", site.downloads / "benchmark.xlsx"]
    return expected if all(p.exists() for p in expected) else []


# ---------------------------------------------------------------------------------------------
# Downloads and index


def write_downloads(tables: Path, site: Site, built_at: str, run=None) -> list[Path]:
    """Copy the published tables (CSV), an Excel workbook of them and, given the run, the
    benchmark workbook into ``site/downloads``. ``built_at`` (ISO 8601) dates the workbooks,
    so the same run gives the same bytes."""
    written = []
    frames = {}
    for name, columns in DOWNLOADS.items():
        frame = pd.read_csv(tables / f"{name}.csv", dtype=str, keep_default_na=False)
        if columns is not None:
            frame = frame[columns]
        frames[name] = frame
        written.append(write_text_atomic(site.downloads / f"{name}.csv", frame.to_csv(index=False, lineterminator="\n")))
    written.append(write_tables_workbook(frames, site.downloads / "fls_report_tables.xlsx", built_at))
    if run is not None:
        written.append(write_workbook(run, site.downloads / "benchmark.xlsx"))
    return written


def write_tables_workbook(frames: dict[str, pd.DataFrame], path: Path, built_at: str) -> Path:
    """The published tables as one workbook, a sheet each: numbers as numbers, codes as text, and
    text always text, never a formula (a service named ``=HYPERLINK(...)`` stays a name). Written
    row by row (openpyxl's write-only mode): no sheet is ever edited after its rows are written.
    """
    book = Workbook(write_only=True)
    for name, frame in frames.items():
        sheet = book.create_sheet(name[:31])
        sheet.append(list(frame.columns))
        cells = pd.DataFrame({c: _cell_values(frame[c], numeric=c != "code") for c in frame.columns})
        for values in cells.itertuples(index=False):
            sheet.append([_text_cell(sheet, v) if isinstance(v, str) else v for v in values])
    when = dt.datetime.fromisoformat(built_at.replace("Z", "+00:00")).replace(tzinfo=None)
    book.properties.created = book.properties.modified = when
    book.properties.creator = "fls-report"
    return write_bytes_atomic(path, workbook_bytes(book, when))


def _text_cell(sheet, text: str) -> WriteOnlyCell:
    """A write-only cell holding ``text`` as text, as the benchmark workbook writes it."""
    return put_text(WriteOnlyCell(sheet), text)


def _cell_values(texts: pd.Series, numeric: bool) -> list:
    """Workbook cell values of a text column: numbers where every filled cell is one, blanks None."""
    if numeric:
        filled = texts[texts != ""]
        numbers = pd.to_numeric(filled, errors="coerce")
        if len(filled) and numbers.notna().all():
            return [None if t == "" else (int(n) if float(n).is_integer() and "." not in t else float(n))
                    for t, n in zip(texts, pd.to_numeric(texts.replace("", None), errors="coerce"))]
    return [None if t == "" else t for t in texts]


def _period_words(params: dict) -> str:
    """The audit period and data cut-off of a manifest's parameters, in the pages' words."""
    return period_words(params["period_start"], params["period_end"], params["data_cutoff"])


@lru_cache(maxsize=1)
def _jinja() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def write_index(site: Site, manifest: dict, services: list[dict], pages: list[dict], failed: list[str],
                downloads: list[Path], national_name: str = DEFAULT_NATIONAL_NAME,
                low_numbers_below: int = KpiParams.low_numbers_below) -> Path:
    """The index page: every report with headline results and links, and the downloads.
    ``national_name`` is the run's national level's name (``kpi_results``' NATIONAL row);
    ``low_numbers_below`` the run's parameter, which the caution mark's words state."""
    caution = low_numbers_note(KpiParams(low_numbers_below=low_numbers_below))
    markup = _jinja().get_template("index.html.j2").render(
        page=page_resources(manifest, "Reports", 0),
        params=manifest["params"],
        period=_period_words(manifest["params"]),
        services=services,
        any_region=any(s.get("region") for s in services),
        pages=pages,
        failed=failed,
        downloads=[{"href": f"downloads/{p.name}", "name": p.name, "size_kb": max(1, p.stat().st_size // 1024)} for p in downloads],
        version=__version__,
        national_name=national_name,
        caution=caution,
        caution_title=caution[:1].upper() + caution[1:],
    )
    return write_text_atomic(site.index, markup)


def write_accessibility(site: Site, manifest: dict) -> Path:
    """The accessibility statement (``accessibility.html``): the standard the site aims at, how
    it is checked, what is known to fall short, and how to ask for another format. Its words
    are in ``templates/accessibility.html.j2``; the run's title, period and footer are the run's.
    Left untouched when it would not change, as the report pages are by a rebuild that changes
    nothing."""
    markup = _jinja().get_template("accessibility.html.j2").render(
        page=page_resources(manifest, "Accessibility statement", 0),
        params=manifest["params"],
        period=_period_words(manifest["params"]),
    )
    if site.accessibility.is_file() and site.accessibility.read_text(encoding="utf-8") == markup:
        return site.accessibility
    return write_text_atomic(site.accessibility, markup)


# ---------------------------------------------------------------------------------------------
# Index rows

#: The KPIs the index shows for every unit.
INDEX_KPIS = ("KPI1", "KPI2", "KPI4", "KPI5", "KPI7", "KPI11")


def _headline(results: pd.DataFrame, code: str) -> list[dict]:
    rows = results[results["code"] == code].set_index("kpi_id")
    headline = []
    for kpi_id in INDEX_KPIS:
        r = rows.loc[kpi_id]
        headline.append({
            "label": kpi_id, "title": KPI_NAMES[kpi_id], "value": fmt_pct(r["pct"]),
            "rag": r["rag"], "band": band_word(r["rag"]),
            "sort": "" if pd.isna(r["pct"]) else repr(float(r["pct"])), "low": bool(r["low_numbers"]),
        })
    return headline


def index_services(results: pd.DataFrame, jobs: list[ReportJob], site: Site, failed: set[str],
                   regions: Mapping[str, str] | None = None) -> list[dict]:
    """Rows of the index's service table: the national level and the nations of ``results``
    (England, Wales and Northern Ireland where present, in that order), then every service.
    ``regions`` maps a service code to its region (the services file's optional ``region``
    column), which the index shows beside the nation and its search box finds."""
    regions = regions or {}
    by_code = {job.code: job for job in jobs if job.kind == "service"}
    units = results[results["kpi_id"] == "KPI3"]
    nations = in_nation_order(units.loc[units["level"] == "nation", "code"])
    units = pd.concat([units[units["level"] == "national"], units.set_index("code").loc[nations].reset_index(),
                       units[units["level"] == "service"]], ignore_index=True)
    rows = []
    for s in units.itertuples():
        job = by_code.get(s.code)
        page = job.page if job else site.service(s.code)
        built = (job is not None and s.code not in failed) or (job is None and page.exists())
        href = str(page.relative_to(site.root)) if s.level == "service" and built else None
        region = regions.get(s.code) if s.level == "service" else None
        rows.append({"code": s.code, "name": s.name, "nation": s.nation if isinstance(s.nation, str) else "",
                     "region": region if isinstance(region, str) else "",
                     "level": s.level, "records": int(s.denominator), "href": href,
                     "slides_href": _download_href(job.slides if job else None, site, href),
                     "pdf_href": _download_href(job.pdf if job else None, site, href),
                     "headline": _headline(results, s.code)})
    return rows


def _download_href(path: Path | None, site: Site, page_href: str | None) -> str | None:
    """A link to a page's slide pack or PDF, when the page was built and the file is there."""
    return str(path.relative_to(site.root)) if path is not None and page_href and path.exists() else None


def index_pages(jobs: list[ReportJob], site: Site, failed: set[str],
                national_name: str = DEFAULT_NATIONAL_NAME) -> list[dict]:
    """The national and data-quality pages for the index; ``national_name`` is the run's
    (``kpi_results``' NATIONAL row)."""
    about = {
        "national": f"Every KPI for {national_name}, the nations and each service, benchmarked.",
        "data_quality": "What happened to every row of the extract, and how complete each service's data is.",
    }
    pages = []
    for job in jobs:
        if job.kind not in about:
            continue
        href = str(job.page.relative_to(site.root)) if job.code not in failed else None
        pages.append({"title": job.title, "about": about[job.kind], "href": href,
                      "slides_href": _download_href(job.slides, site, href),
                      "pdf_href": _download_href(job.pdf, site, href)})
    return pages
