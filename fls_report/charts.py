"""Figures for the report pages, drawn from the tidy tables of outputs.md §3.

Every function here takes a table that ``compute`` wrote (``kpi_results``, ``monthly_kpis``,
``case_mix``, ``time_to_event``, ``data_quality_fields``), never raw records, and returns a
:class:`Chart`: the matplotlib figure together with its alt text and caption, so that a page
cannot show a figure without saying in words what it shows and what it leaves off.

Conventions
-----------
* Figures are built with :class:`matplotlib.figure.Figure` directly: no pyplot, no global figure
  state, no interactive backend. Rendering is deterministic (no software or date metadata in the
  PNG), so the same table gives the same bytes.
* Colours are the Okabe–Ito palette, defined once below; band (RAG) colours are never the only
  signal (bands are also named in words, low numbers use a hollow marker, cells over a threshold
  carry a dot).
* Percentages are drawn on a 0–100 scale and written to one decimal place with halves rounded
  up (kpis.md, *Display*). Anything a chart leaves off is counted in its caption.
* An input with nothing to draw gives a chart that says "No records to show"; no function raises
  for empty or all-blank input.
"""

from __future__ import annotations

import base64
import calendar
import functools
import hashlib
import html
import io
import math
import textwrap
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import TICKDOWN
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, MaxNLocator, MultipleLocator, NullLocator, StrMethodFormatter

from fls_report.formatting import BLANK, one_decimal
from fls_report import benchmarks
from fls_report import dictionary as dd
from fls_report.kpis import (BANDS, DEFAULT_BAND, DEFAULT_NATIONAL_NAME, ENGLAND, KPI_NAMES, NATION_NAMES, NATIONAL,
                              NORTHERN_IRELAND, WALES, in_nation_order)
from fls_report.params import DisclosureParams, KpiParams
from fls_report.stats import LIMITS_ADJUSTED, LIMITS_EXACT, MIN_USEFUL_POINTS

# ---------------------------------------------------------------------------------------------
# Palette and layout constants

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision
#: deficiencies.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY_DARK = "#4D4D4D"
GREY_MID = "#999999"
GREY_LIGHT = "#D9D9D9"

#: Band colours (shading only; bands are always named in words as well).
RAG_COLOURS: dict[str, str] = {
    "green": OKABE_ITO["bluish_green"],
    "amber": OKABE_ITO["orange"],
    "red": OKABE_ITO["vermillion"],
    "none": GREY_MID,
}
SERVICE_COLOUR = GREY_DARK
HIGHLIGHT_COLOUR = OKABE_ITO["blue"]
#: Line colours for the reporting levels: the service, its nation and the national level.
LEVEL_COLOURS: dict[str, str] = {
    NATIONAL: OKABE_ITO["black"],
    ENGLAND: OKABE_ITO["orange"],
    WALES: OKABE_ITO["bluish_green"],
    NORTHERN_IRELAND: OKABE_ITO["reddish_purple"],
    "service": OKABE_ITO["blue"],
}
OVER_THRESHOLD_COLOUR = OKABE_ITO["vermillion"]
#: Sequential light-to-dark single-hue map for the share missing (readable in grey scale).
MISSING_CMAP = "Blues"

FIGURE_WIDTH_IN = 9.0
DPI = 144
CSS_PX_PER_IN = 96
STYLE: dict[str, object] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlelocation": "left",
    "svg.hashsalt": "fls-report",
    "savefig.bbox": "standard",
    "savefig.transparent": False,
    "savefig.facecolor": "white",
}

NO_RECORDS = "No records to show"
#: A completeness heatmap with more services than this repeats the field names underneath.
REPEAT_FIELD_LABELS_AFTER = 40

EVENT_LABELS: dict[str, str] = {"assessment": "FLS assessment", "dxa": "DXA scan"}
EVENT_ARTICLES: dict[str, str] = {"assessment": "an", "dxa": "a"}
EVENT_DENOMINATORS: dict[str, str] = {
    "assessment": "in-scope records",
    "dxa": "records with a DXA ordered or recommended",
}
EVENT_LIMIT_DEFAULTS: dict[str, int] = {
    "assessment": KpiParams.assessment_days,
    "dxa": KpiParams.dxa_days,
}


# ---------------------------------------------------------------------------------------------
# The Chart


@dataclass(frozen=True)
class Chart:
    """A figure with the words a page needs to publish it.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The drawing (built without pyplot).
    alt : str
        Alt text for a screen-reader user: what the figure shows, with its key numbers.
    caption : str
        One or two sentences for under the figure, including what is left off and why.
    """

    figure: Figure
    alt: str
    caption: str
    #: With ``backdrop`` (a key naming everything else in the figure), the artists that differ
    #: between charts of one kind, e.g. a highlighted service's rings and labels: only these are
    #: drawn, over a cached drawing of the rest (:func:`_png_over_backdrop`).
    changing: tuple = field(default=(), repr=False, compare=False)
    backdrop: str | None = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def to_png(self) -> bytes:
        """The figure as PNG bytes at :data:`DPI`, with no date or software metadata.

        Rendered once under the house style (so a notebook's own rcParams or seaborn theme
        cannot change the bytes) and cached: change the figure after this and the PNG is stale.
        """
        if "png" not in self._cache:
            with _house_style():
                if self.backdrop is None:
                    self._cache["png"] = _png(self.figure)
                else:
                    self._cache["png"] = _png_over_backdrop(self.figure, self.changing, self.backdrop)
            _close(self.figure)
        return self._cache["png"]

    def to_html(self) -> str:
        """A ``<figure>`` with the PNG embedded as base64, its alt text and its caption.

        Alt text and caption are HTML-escaped. The image scales down to its container
        (``max-width:100%``). The figure is rendered once; if pyplot manages it, it is closed.
        """
        png = self.to_png()
        width_in, height_in = self.figure.get_size_inches()
        width, height = round(width_in * CSS_PX_PER_IN), round(height_in * CSS_PX_PER_IN)
        data = base64.b64encode(png).decode("ascii")
        return (
            '<figure class="fls-chart" style="margin:1em 0">'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(self.alt, quote=True)}" '
            f'width="{width}" height="{height}" style="max-width:100%;height:auto">'
            f"<figcaption>{html.escape(self.caption, quote=True)}</figcaption>"
            "</figure>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def _house_style():
    """matplotlib's defaults plus :data:`STYLE`, whatever the caller's rcParams (restored after)."""
    return matplotlib.style.context(["default", STYLE])


#: zlib level for the PNGs: level 3 writes them in about half the time of the default (6), and
#: for these flat-coloured charts the files come out no larger.
PNG_COMPRESS_LEVEL = 3


def _png(figure: Figure) -> bytes:
    """The whole figure drawn at :data:`DPI`, as PNG bytes (see :func:`_png_bytes`)."""
    figure.set_dpi(DPI)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return _png_bytes(np.asarray(canvas.buffer_rgba()))


def _png_bytes(rgba: np.ndarray) -> bytes:
    """RGBA pixels as PNG: RGB when every pixel is opaque (the charts have a white background),
    no metadata beyond the resolution, so the same pixels always give the same bytes."""
    from PIL import Image

    image = Image.fromarray(rgba, "RGBA")
    if rgba[..., 3].min() == 255:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=PNG_COMPRESS_LEVEL, dpi=(DPI, DPI))
    return buffer.getvalue()


#: Drawings of the unchanging part of a figure (RGBA pixels at :data:`DPI`), by backdrop key,
#: most recently used last. A service page's funnel grid is the same for every service except
#: for the service's rings and labels, so a build draws the nine panels once per worker.
_BACKDROPS: "OrderedDict[str, np.ndarray]" = OrderedDict()
BACKDROPS_KEPT = 8


def backdrop_key(kind: str, *parts) -> str:
    """A key for everything a backdrop draws: tables by their content, anything else by repr."""
    digest = hashlib.sha256(f"{kind}|{DPI}".encode())
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(repr((list(part.columns), part.dtypes.astype(str).tolist())).encode())
            digest.update(pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"|")
    return digest.hexdigest()


def _png_over_backdrop(figure: Figure, changing: Sequence, key: str) -> bytes:
    """PNG bytes of ``figure``, drawing only the ``changing`` artists over a cached drawing of
    the rest (blitting); the first figure with ``key`` draws that backdrop, hiding them.

    The key must name everything in the figure outside ``changing`` (see :func:`backdrop_key`):
    two figures with one key must differ only in those artists. The PNG is as ``savefig`` at
    :data:`DPI` writes it, and the same whether or not the backdrop was already cached.
    """
    figure.set_dpi(DPI)
    canvas = FigureCanvasAgg(figure)
    pixels = _BACKDROPS.get(key)
    if pixels is None:
        visible = [artist.get_visible() for artist in changing]
        for artist in changing:
            artist.set_visible(False)
        try:
            canvas.draw()
        finally:
            for artist, was in zip(changing, visible):
                artist.set_visible(was)
        pixels = np.array(canvas.buffer_rgba(), copy=True)
        _BACKDROPS[key] = pixels
        while len(_BACKDROPS) > BACKDROPS_KEPT:
            _BACKDROPS.popitem(last=False)
    _BACKDROPS.move_to_end(key)
    renderer = canvas.get_renderer()
    np.asarray(renderer.buffer_rgba())[...] = pixels
    for artist in changing:
        if artist.get_visible():
            artist.draw(renderer)
    return _png_bytes(np.asarray(renderer.buffer_rgba()))


def _close(figure: Figure) -> None:
    """Close ``figure`` in pyplot if pyplot manages it (figures built here never are)."""
    if getattr(figure.canvas, "manager", None) is not None:
        from matplotlib import pyplot

        pyplot.close(figure)


# ---------------------------------------------------------------------------------------------
# Small helpers: numbers and words


def format_pct(value) -> str:
    """A percentage to one decimal place, halves rounded up, with ``%`` (``"–"`` if blank)."""
    text = one_decimal(value)
    return text if text == BLANK else f"{text}%"


def format_days(value) -> str:
    """A number of days: whole days without a decimal, half days with one."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _count(value: int) -> str:
    return f"{int(value):,}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_count(n)} {one if n == 1 else (many or one + 's')}"


def _plain(text) -> str:
    """Text for matplotlib drawn literally: escape ``$`` so it never starts mathtext."""
    return str(text).replace("$", r"\$")


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _short_label(label: str, width: int) -> str:
    """``label`` cut to ``width`` characters, keeping a trailing service code: ``Long na… (205)``."""
    if len(label) <= width:
        return label
    if label.endswith(")") and " (" in label:
        head, code = label.rsplit(" (", 1)
        if len(code) + 2 < width - 8:
            return _truncate(head, width - len(code) - 2) + f" ({code}"
    return _truncate(label, width)


def _wrap(text: str, width: int) -> str:
    """Wrap to at most ``width`` characters a line, in as few lines as possible, evened out
    (so "FLS assessment within 90 days" does not leave "days" alone on a line)."""
    def wrapped(at: int) -> list[str]:
        return textwrap.wrap(text, at, break_long_words=False, break_on_hyphens=False)

    lines = wrapped(width)
    if len(lines) <= 1:
        return text
    narrowest = width
    while narrowest > 1 and len(wrapped(narrowest - 1)) == len(lines):
        narrowest -= 1
    return "\n".join(wrapped(narrowest))


def _blank_name(name) -> bool:
    return name is None or (not isinstance(name, str) and pd.isna(name)) or str(name).strip() == ""


def _name_of(code: str, name=None) -> str:
    """``name (code)`` for a service; a nation's name for a nation code; for ``NATIONAL`` the
    name given (the run's, from ``kpi_results``), else :data:`DEFAULT_NATIONAL_NAME`."""
    if code == NATIONAL:
        return DEFAULT_NATIONAL_NAME if _blank_name(name) else str(name)
    if code in NATION_NAMES:
        return NATION_NAMES[code]
    if _blank_name(name):
        return f"Service {code}"
    return f"{name} ({code})"


def _national_name(names: Mapping[str, str] | None = None, row: pd.Series | None = None) -> str:
    """The national level's name: from a names mapping or a ``kpi_results`` row, when they give
    one, else :data:`DEFAULT_NATIONAL_NAME`."""
    if names is not None and NATIONAL in names:
        return _name_of(NATIONAL, names[NATIONAL])
    if row is not None and "name" in row.index:
        return _name_of(NATIONAL, row["name"])
    return DEFAULT_NATIONAL_NAME


def _as_bool(values: pd.Series) -> pd.Series:
    """``low_numbers`` as booleans, whether read as bool or as ``true``/``false`` text."""
    if values.dtype == bool:
        return values
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])


def _kpi_title(kpi_id: str) -> str:
    return f"{kpi_id}: {KPI_NAMES.get(kpi_id, kpi_id)}"


def _band_edges(kpi_id: str) -> tuple[int, int | None]:
    return BANDS.get(kpi_id, DEFAULT_BAND)


def _band_words(kpi_id: str) -> dict[str, str]:
    """Each band of ``kpi_id`` in words, e.g. ``{"green": "80% and above", ...}``."""
    green, amber = _band_edges(kpi_id)
    words = {"green": f"{green}% and above"}
    if amber is None:
        words["red"] = f"below {green}%"
    else:
        words["amber"] = f"{amber}% to below {green}%"
        words["red"] = f"below {amber}%"
    return words


def _field_label(name: str) -> str:
    """A key field's column name in plain English, e.g. ``date_followup_16wk``."""
    words = {
        "dxa": "DXA",
        "followup": "follow-up",
        "16wk": "(16 wk)",
        "52wk": "(52 wk)",
        "strength": "strength &",
    }
    parts = [words.get(part, part) for part in str(name).split("_")]
    text = " ".join(parts)
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# Figure helpers


def _figure(height_in: float, width_in: float = FIGURE_WIDTH_IN) -> Figure:
    return Figure(figsize=(width_in, height_in), layout="constrained")


def _styled(draw: Callable[..., Chart]) -> Callable[..., Chart]:
    """Draw under the house rc settings without changing the caller's rcParams."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> Chart:
        with _house_style():
            return draw(*args, **kwargs)

    return wrapper


def _empty(title: str, reason: str) -> Chart:
    """A chart that says there is nothing to show, and why."""
    with _house_style():
        figure = _figure(2.4)
        ax = figure.add_subplot()
        ax.set_axis_off()
        _title(figure, title)
        ax.text(0.5, 0.6, NO_RECORDS, ha="center", va="center", fontsize=14, color=GREY_DARK,
                transform=ax.transAxes)
        ax.text(0.5, 0.3, _plain(_wrap(reason, 90)), ha="center", va="center", fontsize=10,
                color=GREY_DARK, transform=ax.transAxes)
    words = f"{title}: {NO_RECORDS.lower()}. {reason}"
    return Chart(figure=figure, alt=words, caption=words)


def _annotate(ax, x: float, y: float, text: str, obstacles: np.ndarray, soft_levels: Sequence[float] = (),
              extra_candidates: Sequence[tuple[float, float, str, str]] = (),
              soft_obstacles: np.ndarray | None = None) -> None:
    """Label a highlighted point with a line to a box in the emptiest corner or edge of the axes.

    ``obstacles`` is an array of ``(x, y_low, y_high)`` in data coordinates (a point has
    ``y_low == y_high``); ``soft_levels`` are horizontal lines (e.g. the national line) that the
    box may cover if nothing emptier is available. Axis limits must already be set.
    ``extra_candidates`` adds box anchors ``(x, y, ha, va)`` in axes fraction to the corners and
    edges tried; ``soft_obstacles`` (same shape as ``obstacles``, e.g. points sampled along limit
    curves) count a tenth as much as an obstacle, to break ties between otherwise empty spots.
    """
    to_axes = ax.transData + ax.transAxes.inverted()
    px, py = to_axes.transform((x, y))
    lines = text.split("\n")
    width_in = FIGURE_WIDTH_IN * 0.8
    height_in = ax.figure.get_figheight() * 0.7
    box_w = max(len(line) for line in lines) * 0.078 / width_in + 0.03
    box_h = len(lines) * 0.18 / height_in + 0.04
    if len(obstacles):
        obstacles = np.asarray(obstacles, dtype=float)
        low = to_axes.transform(obstacles[:, [0, 1]])
        high = to_axes.transform(obstacles[:, [0, 2]])
        ox, oy_low, oy_high = low[:, 0], np.minimum(low[:, 1], high[:, 1]), np.maximum(low[:, 1], high[:, 1])
    else:
        ox = oy_low = oy_high = np.array([])
    soft = [to_axes.transform((0, level))[1] for level in soft_levels if pd.notna(level)]
    candidates = [
        (0.98, 0.97, "right", "top"), (0.02, 0.03, "left", "bottom"), (0.02, 0.97, "left", "top"),
        (0.98, 0.03, "right", "bottom"), (0.5, 0.97, "center", "top"), (0.5, 0.03, "center", "bottom"),
    ] + list(extra_candidates)
    if soft_obstacles is not None and len(soft_obstacles):
        soft_points = to_axes.transform(np.asarray(soft_obstacles, dtype=float)[:, [0, 1]])
    else:
        soft_points = np.empty((0, 2))
    best, best_score = None, None
    for cx, cy, ha, va in candidates:
        x0 = cx - box_w if ha == "right" else cx - box_w / 2 if ha == "center" else cx
        y0 = cy - box_h if va == "top" else cy - box_h / 2 if va == "center" else cy
        x1, y1 = x0 + box_w, y0 + box_h
        hits = np.sum((ox >= x0 - 0.01) & (ox <= x1 + 0.01) & (oy_high >= y0) & (oy_low <= y1))
        hits = hits + 0.1 * np.sum((soft_points[:, 0] >= x0 - 0.01) & (soft_points[:, 0] <= x1 + 0.01)
                                   & (soft_points[:, 1] >= y0 - 0.01) & (soft_points[:, 1] <= y1 + 0.01))
        covers_point = x0 - 0.02 <= px <= x1 + 0.02 and y0 - 0.03 <= py <= y1 + 0.03
        soft_hits = sum(0.5 for level in soft if y0 <= level <= y1)
        distance = math.hypot((x0 + x1) / 2 - px, (y0 + y1) / 2 - py)
        score = (int(covers_point), hits + soft_hits, distance)
        if best_score is None or score < best_score:
            best, best_score = (cx, cy, ha, va), score
    cx, cy, ha, va = best
    return ax.annotate(
        _plain(text), xy=(x, y), xytext=(cx, cy), textcoords="axes fraction", ha=ha, va=va,
        fontsize=9, color=HIGHLIGHT_COLOUR, fontweight="bold",
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": HIGHLIGHT_COLOUR, "alpha": 0.95},
        arrowprops={"arrowstyle": "-", "color": HIGHLIGHT_COLOUR, "lw": 1, "shrinkA": 0, "shrinkB": 4},
        zorder=6,
    )


def _title(figure: Figure, text: str, width: int = 95) -> None:
    """The figure's title, left-aligned across the whole figure."""
    figure.suptitle(_plain(_wrap(text, width)), x=0.01, ha="left", fontsize=12)


@functools.lru_cache(maxsize=64)
def _text_width_in(texts: tuple[str, ...], fontsize: float, bold: bool = False) -> float:
    """The width of the widest of ``texts`` in inches, in the house font at ``fontsize``."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    with _house_style():
        font = FontProperties(size=fontsize, weight="bold" if bold else "normal")
        renderer = RendererAgg(1, 1, 72)
        return max((renderer.get_text_width_height_descent(t, font, ismath=False)[0] for t in texts), default=0) / 72


def _rank_ticks(n: int) -> list[int]:
    """Tick positions on a rank axis: 1, then every 5, 10 or 25."""
    step = 5 if n <= 60 else 10 if n <= 150 else 25
    return [1] + list(range(step, n + 1, step))


def _pct_axis_top(*series: pd.Series) -> float:
    """The top of a 0–100 percentage axis, extended (to a multiple of 10) when values exceed 100."""
    values = pd.concat([pd.Series(s, dtype=float) for s in series], ignore_index=True).dropna()
    top = float(values.max()) if len(values) else 100.0
    return 100.0 if top <= 100 else 10 * math.ceil(top * 1.04 / 10)


def _ranks(pct: pd.Series) -> pd.Series:
    """Rank 1 = highest unrounded percentage; ties share the better rank (kpis.md)."""
    return pct.rank(ascending=False, method="min").astype(int)


# ---------------------------------------------------------------------------------------------
# 1. Caterpillar plot


def _has_rows(frame: pd.DataFrame | None, columns: Sequence[str], table: str) -> bool:
    """Whether ``frame`` has rows to draw; an empty frame is fine whatever its columns, but a
    frame with rows must have the contract's ``columns`` (named in the error if not)."""
    if frame is None or len(frame) == 0:
        return False
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} table is missing column(s) {', '.join(missing)}")
    return True


#: The columns each chart reads from its table (outputs.md §3).
RESULT_COLUMNS = ("level", "code", "kpi_id", "numerator", "denominator", "pct")
MONTHLY_COLUMNS = ("code", "kpi_id", "month", "denominator", "pct")
CASE_MIX_COLUMNS = ("code", "characteristic", "category", "shown", "pct_shown")
TIME_TO_EVENT_COLUMNS = ("code", "event", "days", "count", "records")
FIELDS_COLUMNS = ("code", "field", "pct_missing")


def _service_rows(results: pd.DataFrame, kpi_id: str) -> pd.DataFrame:
    rows = results[(results["level"] == "service") & (results["kpi_id"] == kpi_id)].copy()
    rows["denominator"] = pd.to_numeric(rows["denominator"], errors="coerce")
    return rows


def _national_row(results: pd.DataFrame, kpi_id: str) -> pd.Series | None:
    rows = results[(results["code"] == NATIONAL) & (results["kpi_id"] == kpi_id)]
    return rows.iloc[0] if len(rows) else None


def _left_off_words(n_zero: int, n_blank: int, kpi_id: str) -> str:
    """The services a KPI chart leaves off, in words ('' when none)."""
    parts = []
    if n_zero:
        parts.append(f"{_plural(n_zero, 'service')} with no eligible records")
    if n_blank:
        parts.append(f"{_plural(n_blank, 'service')} without a caseload estimate" if kpi_id == "KPI2"
                     else f"{_plural(n_blank, 'service')} with a blank denominator")
    if not parts:
        return ""
    verb = "is" if n_zero + n_blank == 1 else "are"
    return f"{' and '.join(parts)} {verb} not shown."


@_styled
def caterpillar(results: pd.DataFrame, kpi_id: str, highlight: str | None = None) -> Chart:
    """Services ranked by their percentage for one KPI, with 95% intervals.

    Parameters
    ----------
    results : pandas.DataFrame
        ``kpi_results`` (outputs.md §3): ``level``, ``code``, ``name``, ``kpi_id``,
        ``numerator``, ``denominator``, ``pct``, ``ci_low``, ``ci_high``, ``rag``,
        ``low_numbers``.
    kpi_id : str
        ``KPI1`` … ``KPI11``.
    highlight : str, optional
        A service code to draw in the highlight colour and label with its name, value and rank.

    Returns
    -------
    Chart
        Service rows with a denominator above 0, highest to lowest (x = position, ties in code
        order; the label gives the kpis.md rank, where ties share the better rank), each a point
        with its Wilson interval (KPI3–KPI11); the national percentage as a dashed line; the
        bands of kpis.md as faint shading named at the right (not for KPI1, whose service band
        counts the fields over the threshold rather than reading this percentage). Low-numbers
        services are hollow. Services with denominator 0 or blank are left off and counted in
        the caption. The vertical axis runs from 0 to 100%, further when a value exceeds 100%
        (KPI2), and to less than 100% only when every value and band edge is below 45% (KPI3).
    """
    kpi_name = KPI_NAMES.get(kpi_id, kpi_id)
    title = f"{_kpi_title(kpi_id)}, by service"
    if not _has_rows(results, RESULT_COLUMNS, "kpi_results"):
        return _empty(title, "The KPI results table is empty.")
    rows = _service_rows(results, kpi_id)
    n_blank = int(rows["denominator"].isna().sum())
    n_zero = int((rows["denominator"] <= 0).sum())
    shown = rows[rows["denominator"] > 0].copy()
    left_off = _left_off_words(n_zero, n_blank, kpi_id)
    if shown.empty:
        return _empty(title, f"No service has eligible records for {kpi_id} ({kpi_name}). {left_off}".strip())

    for column in ("pct", "ci_low", "ci_high"):
        shown[column] = pd.to_numeric(shown[column], errors="coerce") if column in shown else np.nan
    shown["low"] = _as_bool(shown["low_numbers"]) if "low_numbers" in shown else False
    shown["rank"] = _ranks(shown["pct"])
    shown = shown.sort_values(["pct", "code"], ascending=[False, True], kind="stable").reset_index(drop=True)
    shown["x"] = np.arange(1, len(shown) + 1)
    national = _national_row(results, kpi_id)
    national_pct = float(national["pct"]) if national is not None and pd.notna(national["pct"]) else np.nan
    national_name = _national_name(row=national)
    has_ci = bool(shown["ci_low"].notna().any())
    draw_bands = kpi_id != "KPI1"
    green, amber = _band_edges(kpi_id)

    extent = pd.concat([shown["pct"], shown["ci_high"], pd.Series([national_pct])]).dropna()
    highest = max(float(extent.max()) if len(extent) else 0.0, green if draw_bands else 0.0)
    top = _pct_axis_top(extent)
    zoomed = highest <= 45
    if zoomed:
        top = 10 * math.ceil(highest * 1.2 / 10)

    figure = _figure(5.4)
    ax = figure.add_subplot()
    ax.set_xlim(0.3, len(shown) + 0.7)
    ax.set_ylim(0, top)
    if draw_bands:
        spans = [(0, amber if amber is not None else green, "red")]
        if amber is not None:
            spans.append((amber, green, "amber"))
        spans.append((green, top, "green"))
        short = {"green": f"≥{green}%", "amber": f"{amber}–{green}%", "red": f"<{amber if amber is not None else green}%"}
        for low, high, rag in spans:
            high = min(high, top)
            if high <= low:
                continue
            ax.axhspan(low, high, color=RAG_COLOURS[rag], alpha=0.10, lw=0, zorder=0)
            ax.text(1.01, (low + high) / 2 / top, f"{rag}\n{short[rag]}", transform=ax.transAxes, ha="left",
                    va="center", fontsize=9, color=GREY_DARK)
        for edge in (green, amber):
            if edge is not None and edge < top:
                ax.axhline(edge, color=GREY_MID, lw=0.6, ls=":", zorder=1)
    else:
        ax.grid(axis="y", color=GREY_LIGHT, lw=0.5, zorder=0)

    if has_ci:
        ax.vlines(shown["x"], shown["ci_low"], shown["ci_high"], color=GREY_MID, lw=1.2, zorder=2, clip_on=False)
    size = 30 if len(shown) <= 60 else 16
    solid, hollow = shown[~shown["low"]], shown[shown["low"]]
    ax.scatter(solid["x"], solid["pct"], s=size, color=SERVICE_COLOUR, zorder=3, clip_on=False)
    ax.scatter(hollow["x"], hollow["pct"], s=size, facecolor="white", edgecolor=SERVICE_COLOUR, lw=1.2, zorder=3,
               clip_on=False)
    if pd.notna(national_pct):
        ax.axhline(national_pct, color=OKABE_ITO["black"], lw=1.3, ls="--", zorder=4)

    highlighted = shown[shown["code"] == highlight] if highlight is not None else shown.iloc[0:0]
    highlight_words = ""
    if len(highlighted):
        point = highlighted.iloc[0]
        if pd.notna(point["ci_low"]):
            ax.vlines(point["x"], point["ci_low"], point["ci_high"], color=HIGHLIGHT_COLOUR, lw=2.2, zorder=5)
        ax.scatter([point["x"]], [point["pct"]], s=size * 2.4, zorder=6, lw=1.6, edgecolor=HIGHLIGHT_COLOUR,
                   facecolor="white" if point["low"] else HIGHLIGHT_COLOUR, clip_on=False)
        label = _name_of(point["code"], point.get("name"))
        highlight_words = f"{label}: {format_pct(point['pct'])}, rank {point['rank']} of {len(shown)}"
        obstacles = np.column_stack([
            shown["x"], shown["ci_low"].fillna(shown["pct"]), shown["ci_high"].fillna(shown["pct"]),
        ])
        _annotate(ax, point["x"], point["pct"], _wrap(highlight_words, 42), obstacles, [national_pct])
    elif highlight is not None:
        highlight_words = f"Service {highlight} is not shown: it has no eligible records for {kpi_id}."

    ax.set_xlabel("Services ranked from highest to lowest percentage")
    ax.set_ylabel("%")
    ax.xaxis.set_major_locator(FixedLocator(_rank_ticks(len(shown))))
    _title(figure, title)

    handles = [Line2D([], [], marker="o", ls="-" if has_ci else "none", lw=1.2, color=GREY_MID,
                      markerfacecolor=SERVICE_COLOUR, markeredgecolor=SERVICE_COLOUR,
                      label="Service" + (" with 95% interval" if has_ci else ""))]
    if len(hollow):
        handles.append(Line2D([], [], marker="o", ls="none", markerfacecolor="white", markeredgecolor=SERVICE_COLOUR,
                              label="Low numbers (small denominator): interpret with caution"))
    if pd.notna(national_pct):
        handles.append(Line2D([], [], color=OKABE_ITO["black"], ls="--",
                              label=f"{national_name}: {format_pct(national_pct)}"))
    if len(highlighted):
        handles.append(Line2D([], [], marker="o", ls="none", color=HIGHLIGHT_COLOUR,
                              label=_plain(_truncate(_name_of(highlight, highlighted.iloc[0].get("name")), 60))))
    figure.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)

    counts = shown["rag"].value_counts() if "rag" in shown else pd.Series(dtype=int)
    band_words = ""
    if draw_bands:
        band_words = " Services by band: " + ", ".join(
            f"{_count(int(counts.get(rag, 0)))} {rag} ({words})" for rag, words in _band_words(kpi_id).items()
        ) + "."
    alt = (
        f"Caterpillar plot of {_kpi_title(kpi_id)} for {_plural(len(shown), 'service')}, ranked from highest "
        f"to lowest percentage" + (" with 95% confidence intervals" if has_ci else "")
        + f". Service percentages range from {format_pct(shown['pct'].min())} to {format_pct(shown['pct'].max())}"
        + (f"; the {national_name} figure is {format_pct(national_pct)}." if pd.notna(national_pct) else ".")
        + band_words
        + (f" {_plural(len(hollow), 'service has', 'services have')} low numbers (hollow markers)." if len(hollow) else "")
        + (f" Highlighted: {highlight_words}." if len(highlighted) else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
        + (f" {left_off}" if left_off else "")
    )
    caption = (
        f"{_kpi_title(kpi_id)}: services ranked from highest to lowest"
        + (", with 95% Wilson intervals" if has_ci else "")
        + (f"; dashed line: {national_name} ({format_pct(national_pct)})" if pd.notna(national_pct) else "")
        + ("; hollow markers: low numbers" if len(hollow) else "")
        + (f"; the vertical axis stops at {top:g}%" if zoomed else "")
        + ("; no band shading, as a service's KPI1 band counts its key fields over the threshold"
           if not draw_bands else "")
        + "."
        + (f" {left_off}" if left_off else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption)


# ---------------------------------------------------------------------------------------------
# 2. Identification against expected caseload


@_styled
def identification(results: pd.DataFrame, highlight: str | None = None) -> Chart:
    """Records submitted against expected caseload (KPI2), one point per service.

    Parameters
    ----------
    results : pandas.DataFrame
        ``kpi_results``; the KPI2 service rows are used: x = ``denominator`` (expected caseload
        for the period), y = ``numerator`` (in-scope records submitted).
    highlight : str, optional
        A service code to draw in the highlight colour and label.

    Returns
    -------
    Chart
        Points with reference lines y = x (100% of the expected caseload) and y = 0.8x (the
        80% goal of 80/50/80, KPI2's green band edge). Services without a caseload estimate
        (blank denominator) are left off and counted in the caption.
    """
    title = f"{_kpi_title('KPI2')}: records submitted against expected caseload, by service"
    if not _has_rows(results, RESULT_COLUMNS, "kpi_results"):
        return _empty(title, "The KPI results table is empty.")
    rows = _service_rows(results, "KPI2")
    n_blank = int(rows["denominator"].isna().sum())
    shown = rows[rows["denominator"].notna()].copy()
    left_off = _left_off_words(0, n_blank, "KPI2")
    if shown.empty:
        return _empty(title, f"No service has an expected caseload estimate. {left_off}".strip())

    shown["numerator"] = pd.to_numeric(shown["numerator"], errors="coerce").fillna(0)
    national = _national_row(results, "KPI2")
    green, _ = _band_edges("KPI2")
    goal = green / 100

    x_top = float(max(shown["denominator"].max(), 1)) * 1.06
    y_top = float(max(shown["numerator"].max(), goal * x_top * 0.5, 1)) * 1.10
    # Laid out by hand, so that everything but the highlighted service is the same on every
    # service's page: drawn once, as a backdrop, and the service's point, label and legend
    # entry over it (see Chart.changing).
    title_lines = _wrap(title, 95).count("\n") + 1
    height_in = 5.6
    left_in = _text_width_in((f"{y_top:,.0f}",), 9) + _LINE_10_IN + 0.3
    right_in = _text_width_in((f"{x_top:,.0f}",), 9) / 2 + 0.15
    top_in = 0.1 + title_lines * _LINE_12_IN + 0.15
    bottom_in = _TICK_LABELS_IN + _LINE_10_IN + 0.1 + 2 * _LEGEND_ROW_IN + 0.15
    layout = _single_axes_layout(height_in, left_in=left_in, right_in=right_in, top_in=top_in, bottom_in=bottom_in)
    figure, ax = layout.figure, layout.axes[0]
    line = np.array([0, x_top])
    ax.plot(line, line, color=OKABE_ITO["black"], lw=1.2, zorder=2)
    ax.plot(line, goal * line, color=OKABE_ITO["black"], lw=1.2, ls="--", zorder=2)
    for slope, text in ((1.0, "100%"), (goal, f"{green}%")):
        # Write the label where the line leaves the plot (top edge or right edge).
        x_end = min(x_top, y_top / slope)
        ax.text(x_end * 0.985, slope * x_end * 0.985, text, ha="right", va="bottom", fontsize=9,
                color=OKABE_ITO["black"])
    ax.scatter(shown["denominator"], shown["numerator"], s=30, color=SERVICE_COLOUR, zorder=3, clip_on=False)
    ax.set_xlim(0, x_top)
    ax.set_ylim(0, y_top)
    ax.set_xlabel("Expected caseload for the period (records)")
    ax.set_ylabel("Records submitted")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(color=GREY_LIGHT, lw=0.5, zorder=0)
    _grid_title(layout, title)

    highlighted = shown[shown["code"] == highlight] if highlight is not None else shown.iloc[0:0]
    highlight_words = ""
    changing = []
    if len(highlighted):
        point = highlighted.iloc[0]
        changing.append(ax.scatter([point["denominator"]], [point["numerator"]], s=75, color=HIGHLIGHT_COLOUR,
                                   zorder=5, edgecolor="white", lw=1, clip_on=False))
        highlight_words = (
            f"{_name_of(point['code'], point.get('name'))}: {_count(point['numerator'])} records against "
            f"{_count(point['denominator'])} expected ({format_pct(point['pct'])})"
        )
        obstacles = np.column_stack([shown["denominator"], shown["numerator"], shown["numerator"]])
        changing.append(_annotate(ax, point["denominator"], point["numerator"], _wrap(highlight_words, 42),
                                  obstacles))
    elif highlight is not None:
        highlight_words = f"Service {highlight} is not shown: it has no expected caseload estimate."

    handles = [
        Line2D([], [], marker="o", ls="none", color=SERVICE_COLOUR, label="Service"),
        Line2D([], [], color=OKABE_ITO["black"], label="Records = expected caseload (100%)"),
        Line2D([], [], color=OKABE_ITO["black"], ls="--", label=f"{green}% of expected caseload (goal)"),
    ]
    if len(highlighted):
        handles.append(Line2D([], [], marker="o", ls="none", color=HIGHLIGHT_COLOUR,
                              label=_plain(_truncate(_name_of(highlight, highlighted.iloc[0].get("name")), 60))))
    changing.append(figure.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.1 / height_in), ncol=2,
                                  frameon=False, borderaxespad=0))
    backdrop = backdrop_key("identification", left_in, right_in, title_lines, shown[["code", "denominator", "numerator"]],
                            green)

    positive = shown["denominator"] > 0
    pct = 100 * shown["numerator"] / shown["denominator"].where(positive)
    at_goal = int((positive & (100 * shown["numerator"] >= green * shown["denominator"])).sum())
    over = int((positive & (shown["numerator"] > shown["denominator"])).sum())
    national_words = (
        f"{_national_name(row=national)} submitted {_count(national['numerator'])} records against an expected "
        f"{_count(national['denominator'])} ({format_pct(national['pct'])})"
        if national is not None and pd.notna(national["denominator"]) else ""
    )
    alt = (
        f"Scatter plot of records submitted (vertical axis) against expected caseload for the period "
        f"(horizontal axis) for {_plural(len(shown), 'service')}, with lines at 100% and {green}% of the "
        f"expected caseload." + (f" {national_words}." if national_words else "")
        + f" {_plural(at_goal, 'service')} reached the {green}% goal, {_count(over)} of them submitting more "
        f"records than expected; identification ranges from {format_pct(pct.min())} to {format_pct(pct.max())}."
        + (f" Highlighted: {highlight_words}." if len(highlighted) else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
        + (f" {left_off}" if left_off else "")
    )
    caption = (
        f"Each point is a service; points on or above the dashed line reached the {green}% identification goal."
        + (f" {national_words}." if national_words else "")
        + (f" {left_off}" if left_off else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption, changing=tuple(changing), backdrop=backdrop)


# ---------------------------------------------------------------------------------------------
# 3. Case mix


def _category_order(characteristic: str, categories: Sequence[str]) -> list[str]:
    """Categories in the contract's order: the data dictionary's, or by the number they start
    with (age bands), with ``Not known`` last and anything unexpected after, as found."""
    column = characteristic.replace(" ", "_")
    known = list(dd.CATEGORIES.get(column, ()))
    present = list(dict.fromkeys(categories))

    def key(category: str):
        if category == "Not known":
            return (2, 0, "")
        if category in known:
            return (0, known.index(category), "")
        digits = "".join(ch for ch in category[:3] if ch.isdigit())
        return (0 if digits else 1, int(digits) if digits else 0, category)

    return sorted(present, key=key)


@_styled
def case_mix(case_mix: pd.DataFrame, characteristic: str,
             codes: Sequence[str] | None = None,
             suppressed_below: int = DisclosureParams.threshold,
             names: Mapping[str, str] | None = None) -> Chart:
    """Share of records in each category of one characteristic, nationally and by nation.

    Parameters
    ----------
    case_mix : pandas.DataFrame
        ``case_mix`` (outputs.md §3): ``level``, ``code``, ``characteristic``, ``category``,
        ``count``, ``shown``, ``pct_shown`` (blank where disclosure control suppressed the
        count). Only ``pct_shown`` and ``shown`` are drawn.
    characteristic : str
        ``age band``, ``sex``, ``care home`` or ``fracture site``.
    codes : sequence of str, optional
        The levels to compare, one bar each per category; by default ``NATIONAL`` and every
        nation in the table (``ENGLAND``, ``WALES``, ``NORTHERN_IRELAND`` where present).
    suppressed_below : int
        The disclosure threshold (statistics.md §5), for the caption's note.
    names : mapping, optional
        Code → name; the national level's name is taken from it (else "England and Wales").

    Returns
    -------
    Chart
        Grouped horizontal bars of ``pct_shown``, categories in the contract order; a suppressed
        cell is drawn as no bar with a ``*``.
    """
    title = f"Case mix: {characteristic}, % of records"
    if not _has_rows(case_mix, CASE_MIX_COLUMNS, "case_mix"):
        return _empty(title, "The case-mix table is empty.")
    if codes is None:
        present = set(case_mix["code"].astype(str))
        codes = [NATIONAL] + in_nation_order(c for c in NATION_NAMES if c in present)
    national_name = _national_name(names)

    def level_name(code: str) -> str:
        return national_name if code == NATIONAL else _name_of(code, (names or {}).get(code))

    rows = case_mix[(case_mix["characteristic"] == characteristic) & case_mix["code"].isin(list(codes))].copy()
    rows["pct_shown"] = pd.to_numeric(rows["pct_shown"], errors="coerce")
    rows["shown"] = rows["shown"].astype(str).str.strip()
    # A level with no records has every percentage blank and nothing suppressed: leave it off.
    has_records = rows.groupby("code")["pct_shown"].apply(lambda p: p.notna().any()) | rows.groupby("code")[
        "shown"].apply(lambda v: (v == "*").any())
    empty_levels = [c for c in codes if c in has_records.index and not has_records[c]]
    codes = [c for c in codes if c in has_records.index and has_records[c]]
    if rows.empty or not codes:
        return _empty(title, f"The case-mix table has no records for {characteristic} at these levels.")
    rows = rows[rows["code"].isin(codes)]
    categories = _category_order(characteristic, rows["category"].tolist())
    pct = rows.pivot_table(index="category", columns="code", values="pct_shown", aggfunc="first", dropna=False)
    pct = pct.reindex(index=categories, columns=codes)
    shown = rows.pivot_table(index="category", columns="code", values="shown", aggfunc="first")
    suppressed = (shown.reindex(index=categories, columns=codes) == "*") | pct.isna()

    n_groups, n_bars = len(categories), len(codes)
    bar = 0.8 / n_bars
    figure = _figure(1.3 + n_groups * (0.19 * n_bars + 0.16))
    ax = figure.add_subplot()
    highest = float(np.nanmax(pct.to_numpy(dtype=float))) if pct.notna().any().any() else 0.0
    ax.set_xlim(0, min(100.0, max(highest * 1.12 + 6, 10.0)))
    for j, code in enumerate(codes):
        y = np.arange(n_groups) + (j - (n_bars - 1) / 2) * bar
        values = pct[code].to_numpy(dtype=float)
        colour = LEVEL_COLOURS.get(code, OKABE_ITO["blue"])
        ax.barh(y, np.nan_to_num(values), height=bar * 0.9, color=colour, label=_plain(level_name(code)))
        for yi, value, hidden in zip(y, values, suppressed[code].to_numpy()):
            ax.text((0 if hidden else value) + 0.5, yi, "*" if hidden else format_pct(value), va="center",
                    ha="left", fontsize=9, color=OKABE_ITO["black"], fontweight="bold" if hidden else "normal")
    ax.set_yticks(np.arange(n_groups), [_plain(c) for c in categories])
    ax.invert_yaxis()
    ax.set_xlabel("% of records")
    ax.xaxis.grid(True, color=GREY_LIGHT, lw=0.5)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    _title(figure, title)
    figure.legend(loc="outside lower center", ncol=n_bars, frameon=False)

    n_suppressed = int(suppressed.to_numpy().sum())
    national_rows = rows[rows["code"] == NATIONAL]
    total = int(pd.to_numeric(national_rows["count"], errors="coerce").sum()) if len(national_rows) else None
    parts = []
    for category in categories:
        values = ", ".join(
            f"{level_name(code)} {'suppressed' if suppressed.at[category, code] else format_pct(pct.at[category, code])}"
            for code in codes
        )
        parts.append(f"{category}: {values}")
    left_off = (
        f" {', '.join(level_name(c) for c in empty_levels)} {'has' if len(empty_levels) == 1 else 'have'} "
        "no records and {} not shown.".format("is" if len(empty_levels) == 1 else "are")
        if empty_levels else ""
    )
    alt = (
        f"Bar chart of {characteristic} as a percentage of records"
        + (f" ({_count(total)} records in {national_name})" if total is not None else "")
        + ". " + "; ".join(parts) + "." + left_off
    )
    caption = (
        f"{characteristic[:1].upper() + characteristic[1:]}: percentage of each level's records in each category."
        + (f" * fewer than {suppressed_below} records: suppressed ({_plural(n_suppressed, 'cell')})."
           if n_suppressed else "")
        + left_off
    )
    return Chart(figure=figure, alt=alt, caption=caption)


# ---------------------------------------------------------------------------------------------
# 4. Monthly small multiples


def _month_labels(months: list[str]) -> tuple[list[str], str]:
    """Tick labels for ``YYYY-MM`` months and a words for the axis label."""
    if len(months) <= 12:
        labels = [calendar.month_abbr[int(m[5:7])] for m in months]
        years = sorted({m[:4] for m in months})
        span = years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}"
        return labels, f"Month of fracture ({span})"
    return list(months), "Month of fracture"


def _spare_slots(figure: Figure, axes, n_panels: int, n_rows: int, n_cols: int, title: str, xlabel: str) -> list:
    """Turn off the grid's unused panel slots and title the figure; returns the unused slots."""
    spare = [axes[j // n_cols][j % n_cols] for j in range(n_panels, n_rows * n_cols)]
    for ax in spare:
        ax.set_axis_off()
    _title(figure, f"{title}, by {xlabel[0].lower()}{xlabel[1:]}")
    return spare


def _place_legend(figure: Figure, spare: list, handles: list) -> None:
    """The legend in the first empty panel slot, next to the panels it explains, or below the grid."""
    if spare:
        spare[0].legend(handles=handles, loc="center left", frameon=False, borderaxespad=0)
    else:
        figure.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)


@_styled
def monthly_lines(monthly: pd.DataFrame, kpi_ids: Sequence[str], code: str | None = None,
                  nation_code: str | None = None, names: Mapping[str, str] | None = None) -> Chart:
    """Monthly percentages, one small panel per KPI, for the national level and optionally a
    service and its nation.

    Parameters
    ----------
    monthly : pandas.DataFrame
        ``monthly_kpis`` (outputs.md §3): ``level``, ``code``, ``kpi_id``, ``month``
        (``YYYY-MM``), ``numerator``, ``denominator``, ``pct``.
    kpi_ids : sequence of str
        The KPIs to draw, one panel each, three panels to a row.
    code : str, optional
        A service code to draw as well.
    nation_code : str, optional
        ``ENGLAND``, ``WALES`` or ``NORTHERN_IRELAND``, drawn as well.
    names : mapping, optional
        Code → name, for the legend (the run's ``names``: its services and its national level).

    Returns
    -------
    Chart
        Lines of ``pct`` by month (y 0–100, or higher for KPI2 over 100%). A month whose
        denominator is 0 or blank is a gap in the line, not a zero.
    """
    kpi_ids = list(kpi_ids)
    national_name = _national_name(names)
    title = "Monthly results" + (f": {_name_of(code, (names or {}).get(code))}" if code else f": {national_name}")
    if not _has_rows(monthly, MONTHLY_COLUMNS, "monthly_kpis") or not kpi_ids:
        return _empty(title, "The monthly table is empty or no KPI was asked for.")
    national = monthly[(monthly["code"] == NATIONAL) & monthly["kpi_id"].isin(kpi_ids)]
    if national.empty:
        return _empty(title, "The monthly table has no national rows for the KPIs asked for.")
    months = sorted(monthly.loc[monthly["kpi_id"].isin(kpi_ids), "month"].astype(str).unique())
    labels, xlabel = _month_labels(months)
    x = np.arange(len(months))
    lines = [(NATIONAL, national_name, LEVEL_COLOURS[NATIONAL], "-", None, 1.4)]
    if nation_code and nation_code not in (code, NATIONAL):
        lines.append((nation_code, NATION_NAMES.get(nation_code, nation_code),
                      LEVEL_COLOURS.get(nation_code, OKABE_ITO["orange"]), "--", None, 1.4))
    if code and code != NATIONAL:
        lines.append((code, _name_of(code, (names or {}).get(code)), LEVEL_COLOURS["service"], "-", "o", 2.0))

    def series(level_code: str, kpi_id: str) -> pd.Series:
        part = monthly[(monthly["code"] == level_code) & (monthly["kpi_id"] == kpi_id)].copy()
        part["month"] = part["month"].astype(str)
        denominator = pd.to_numeric(part["denominator"], errors="coerce")
        pct = pd.to_numeric(part["pct"], errors="coerce").where(denominator > 0)
        return pd.Series(pct.to_numpy(), index=part["month"]).groupby(level=0).first().reindex(months)

    values = {(c, k): series(c, k) for c, *_ in lines for k in kpi_ids}
    if code and code != NATIONAL and all(values[(code, k)].isna().all() for k in kpi_ids):
        return _empty(title, f"{_name_of(code, (names or {}).get(code))} has no eligible records in any month "
                             "for these KPIs.")
    n_cols = 3 if len(kpi_ids) >= 3 else len(kpi_ids)
    n_rows = math.ceil(len(kpi_ids) / n_cols)
    figure = _figure(1.1 + 2.45 * n_rows)
    axes = figure.subplots(n_rows, n_cols, squeeze=False, sharex=True)
    top = _pct_axis_top(*values.values())
    month_numbers = [int(m[5:7]) for m in months]
    labelled = {1, 4, 7, 10} if len(months) <= 24 else {1, 7} if len(months) <= 48 else {1}
    major = [i for i, number in enumerate(month_numbers) if number in labelled] if len(months) > 4 else list(x)
    major = major or list(x)
    for i, kpi_id in enumerate(kpi_ids):
        ax = axes[i // n_cols][i % n_cols]
        for level_code, _, colour, style, marker, width in lines:
            ax.plot(x, values[(level_code, kpi_id)].to_numpy(dtype=float), color=colour, ls=style,
                    marker=marker, markersize=4, lw=width, clip_on=False)
        ax.set_ylim(0, top)
        ax.set_xlim(-0.5, len(months) - 0.5)
        ax.set_title(_plain(_wrap(_kpi_title(kpi_id), 32)), fontsize=10, loc="left")
        ax.xaxis.set_major_locator(FixedLocator(major))
        ax.xaxis.set_minor_locator(FixedLocator(x))
        tilt = {} if len(months) <= 12 else {"rotation": 30, "ha": "right", "rotation_mode": "anchor"}
        ax.set_xticklabels([labels[j] for j in major], **tilt)
        ax.yaxis.set_major_locator(MultipleLocator(20))
        ax.grid(axis="y", color=GREY_LIGHT, lw=0.6)
        if i % n_cols == 0:
            ax.set_ylabel("%")
        ax.tick_params(axis="x", labelbottom=True)
    spare = _spare_slots(figure, axes, len(kpi_ids), n_rows, n_cols, title, xlabel)
    handles = [Line2D([], [], color=c, ls=s, marker=m, markersize=4, lw=w, label=_plain(_wrap(n, 34)))
               for _, n, c, s, m, w in lines]
    _place_legend(figure, spare, handles)

    summaries, gaps = [], {}
    for kpi_id in kpi_ids:
        words = []
        for level_code, name, *_ in lines:
            s = values[(level_code, kpi_id)]
            if s.isna().any():
                gaps.setdefault(level_code, []).append(f"{kpi_id} {_plural(int(s.isna().sum()), 'month')}")
            words.append(f"{name} " + (f"{format_pct(s.min())} to {format_pct(s.max())}" if s.notna().any()
                                       else "no eligible records"))
        summaries.append(f"{kpi_id} {KPI_NAMES.get(kpi_id, kpi_id)}: " + "; ".join(words))
    alt = (
        f"Line charts, one per KPI, of the monthly percentage over {_plural(len(months), 'month')} "
        f"({months[0]} to {months[-1]}), range of monthly values: " + ". ".join(summaries) + "."
    )
    gap_words = " ".join(
        f"{name}: {', '.join(gaps[level_code])} without eligible records." for level_code, name, *_ in lines
        if level_code in gaps
    )
    caption = (
        "Monthly percentage by month of fracture; a gap in a line is a month with no eligible records (not a zero)."
        + (f" {gap_words}" if gap_words else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption)


# ---------------------------------------------------------------------------------------------
# 5. Time from fracture to assessment and to DXA


def _weighted_quantiles(days: np.ndarray, counts: np.ndarray, probabilities: Sequence[float]) -> list[float]:
    """Quantiles of the values ``days`` repeated ``counts`` times, without expanding them.

    Uses Hyndman & Fan's definition 7 (linear interpolation between order statistics, the
    default of ``numpy.percentile``): with ``n`` values sorted as ``x[0] … x[n-1]`` and
    ``h = (n − 1) p``, the quantile is ``x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])``.
    """
    order = np.argsort(days, kind="stable")
    days, counts = np.asarray(days, dtype=float)[order], np.asarray(counts, dtype=np.int64)[order]
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1]) if len(cumulative) else 0
    if n == 0:
        return [float("nan")] * len(probabilities)

    def value(k: int) -> float:
        return float(days[np.searchsorted(cumulative, k, side="right")])

    out = []
    for p in probabilities:
        h = (n - 1) * p
        low = math.floor(h)
        high = min(low + 1, n - 1)
        out.append(value(low) + (h - low) * (value(high) - value(low)))
    return out


def _tte_rows(tte: pd.DataFrame, code: str, event: str) -> pd.DataFrame:
    """A level's rows for ``event`` with events on or after the fracture day (``days >= 0``)."""
    rows = tte[(tte["code"] == code) & (tte["event"] == event)]
    rows = rows.assign(days=pd.to_numeric(rows["days"], errors="coerce"),
                       count=pd.to_numeric(rows["count"], errors="coerce").fillna(0))
    return rows[(rows["days"] >= 0) & (rows["count"] > 0)]


def time_to_event_summary(tte: pd.DataFrame, code: str, event: str) -> dict:
    """Median and interquartile range of days from fracture to an event, for one level.

    Parameters
    ----------
    tte : pandas.DataFrame
        ``time_to_event``: ``level``, ``code``, ``event``, ``days``, ``count`` (non-zero rows
        only), ``records``.
    code : str
        A service code, ``NATIONAL`` or a nation code (``ENGLAND``, ``WALES``, ``NORTHERN_IRELAND``).
    event : str
        ``assessment`` or ``dxa``.

    Returns
    -------
    dict
        ``median``, ``q1``, ``q3`` (days, among records with the event on or after the fracture
        day; NaN when none had it), ``with_event`` (those records) and ``records`` (the level's
        denominator; 0 when the table has no rows for the level, which is also what a level whose
        records never had the event looks like, since only non-zero counts are stored).

    Notes
    -----
    Quantiles are Hyndman & Fan (1996) definition 7, as ``numpy.percentile`` computes by default
    on the days expanded one per record, so a median can fall on a half day.
    """
    if not _has_rows(tte, TIME_TO_EVENT_COLUMNS, "time_to_event"):
        return {"median": float("nan"), "q1": float("nan"), "q3": float("nan"), "with_event": 0, "records": 0}
    rows = _tte_rows(tte, code, event)
    all_rows = tte[(tte["code"] == code) & (tte["event"] == event)]
    records = int(pd.to_numeric(all_rows["records"], errors="coerce").max()) if len(all_rows) else 0
    q1, median, q3 = _weighted_quantiles(rows["days"].to_numpy(), rows["count"].to_numpy(), (0.25, 0.5, 0.75))
    return {"median": median, "q1": q1, "q3": q3, "with_event": int(rows["count"].sum()), "records": records}


def _cumulative_pct(rows: pd.DataFrame, records: int, last_day: int) -> np.ndarray:
    """% of ``records`` with the event by each day 0 … ``last_day``."""
    by_day = rows.groupby("days")["count"].sum()
    counts = by_day.reindex(np.arange(last_day + 1), fill_value=0).to_numpy(dtype=float)
    return 100 * np.cumsum(counts) / records


@_styled
def time_to_event(tte: pd.DataFrame, code: str, event: str, limit_days: int | None = None,
                  max_days: int = 365, name: str | None = None, national_name: str | None = None) -> Chart:
    """Cumulative % of records with an FLS assessment (or DXA) by each day after the fracture,
    for a service against the national level.

    Parameters
    ----------
    tte : pandas.DataFrame
        ``time_to_event`` (see :func:`time_to_event_summary`).
    code : str
        The service code (or a nation code, or ``NATIONAL`` for the national curve alone).
    event : str
        ``assessment`` or ``dxa``.
    limit_days : int, optional
        Where to draw the KPI's limit; by default the KPI parameter's default
        (``assessment_days`` or ``dxa_days``, 90). Pass the run's parameter value.
    max_days : int, default 365
        The last day drawn; events later than this still count in the medians.
    name : str, optional
        The service name, for the legend.
    national_name : str, optional
        The run's national name (``kpi_results``); by default "England and Wales".

    Returns
    -------
    Chart
        Step curves of ``100 × (records with the event by day d) / records`` from day 0, with a
        vertical line at ``limit_days``; the median and interquartile range of each curve are in
        the legend and the caption.
    """
    limit = EVENT_LIMIT_DEFAULTS.get(event, 90) if limit_days is None else int(limit_days)
    event_words = EVENT_LABELS.get(event, event)
    an_event = f"{EVENT_ARTICLES.get(event, 'a')} {event_words}"
    label = _name_of(code, name)
    national_name = _name_of(NATIONAL, national_name)
    title = f"Days from fracture to {event_words}: {label}"
    summary = time_to_event_summary(tte, code, event)
    if summary["records"] == 0 or summary["with_event"] == 0:
        return _empty(title, f"{label} has no records with {an_event} on or after the fracture date.")

    figure = _figure(5.0)
    ax = figure.add_subplot()
    handles, words, last_day, _ = _tte_panel(ax, tte, code, event, limit, max_days, label, summary,
                                             national_name=national_name)
    _title(figure, title)
    figure.legend(handles=handles, loc="outside lower left", frameon=False)
    alt = _tte_alt(event, limit, last_day, words)
    later_words = _tte_later_words(words, last_day)
    caption = (
        f"Cumulative % of {EVENT_DENOMINATORS.get(event, 'records')} with {an_event} by each day after the "
        f"fracture, against {national_name}; the median and interquartile range (IQR) are of days ≥ 0 among "
        f"those with one. Records without one, or with a date before the fracture, stay in the denominator."
        + (f" {later_words}" if later_words else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption)


def _tte_panel(ax, tte: pd.DataFrame, code: str, event: str, limit: int, max_days: int, label: str,
               summary: dict, narrow: bool = False, national_name: str = DEFAULT_NATIONAL_NAME
               ) -> tuple[list[Line2D], list[tuple], int, list[Line2D]]:
    """Draw one event's cumulative curves (the unit's, and the national level's, named
    ``national_name``) on ``ax``.

    Returns the legend handles (each curve's % by the limit, median and IQR in its label), the
    words for the alt text and caption (label, summary, % by the limit, records beyond the axis),
    the last day drawn and the unit's own curve (drawn over the national one; none for
    ``NATIONAL``). ``narrow`` wraps the legend labels for a half-width panel.
    """
    an_event = f"{EVENT_ARTICLES.get(event, 'a')} {EVENT_LABELS.get(event, event)}"
    levels = [(code, label, LEVEL_COLOURS["service"], 2.0, "-")]
    if code != NATIONAL:
        levels.append((NATIONAL, national_name, LEVEL_COLOURS[NATIONAL], 1.4, "--"))
    summaries = {c: (summary if c == code else time_to_event_summary(tte, c, event)) for c, *_ in levels}
    levels = [lv for lv in levels if summaries[lv[0]]["with_event"] > 0]
    last_event = int(max(_tte_rows(tte, c, event)["days"].max() for c, *_ in levels))
    last_day = int(min(max_days, max(last_event, limit + 30)))
    last_day = int(min(max_days, 30 * math.ceil(last_day / 30)))

    handles, words, own = [], [], []
    for level_code, level_label, colour, width, style in levels:
        s = summaries[level_code]
        curve = _cumulative_pct(_tte_rows(tte, level_code, event), s["records"], last_day)
        mine = level_code == code and code != NATIONAL
        # The unit's curve is drawn last, over the national one, the spines and the limit's label, so
        # that it can be drawn alone over a backdrop of the rest (time_to_event_pair).
        drawn = ax.step(np.arange(last_day + 1), curve, where="post", color=colour, lw=width, ls=style,
                        zorder=3.1 if mine else 2)
        if mine:
            own.extend(drawn)
        by_limit = curve[min(limit, last_day)]
        if narrow:
            text = (f"{_short_label(level_label, 48)}\n{format_pct(by_limit)} by day {limit}; median "
                    f"{format_days(s['median'])} days (IQR {format_days(s['q1'])}–{format_days(s['q3'])})\n"
                    f"among {_count(s['with_event'])} with {an_event}")
        else:
            text = (f"{_truncate(level_label, 90)}\n{format_pct(by_limit)} by day {limit}; median "
                    f"{format_days(s['median'])} days (IQR {format_days(s['q1'])}–{format_days(s['q3'])}) among "
                    f"{_count(s['with_event'])} with {an_event}")
        handles.append(Line2D([], [], color=colour, lw=width, ls=style, label=_plain(text)))
        later = int(_tte_rows(tte, level_code, event).query("days > @last_day")["count"].sum())
        words.append((level_label, s, by_limit, later))
    ax.axvline(limit, color=GREY_DARK, lw=1, ls=":")
    # At the foot of the line in a narrow panel, where the curves have rarely reached by then.
    ax.text(limit + 2, 2 if narrow else 98, f"{limit} days", ha="left", va="bottom" if narrow else "top",
            fontsize=9, color=GREY_DARK)
    ax.set_xlim(0, last_day)
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_locator(FixedLocator(np.arange(0, last_day + 1, 30 if last_day <= 210 else 60)))
    ax.set_xlabel("Days from fracture")
    ax.set_ylabel(f"% with {an_event} by that day")
    ax.grid(color=GREY_LIGHT, lw=0.6)
    return handles, words, last_day, own


def _tte_alt(event: str, limit: int, last_day: int, words: list[tuple]) -> str:
    """The alt text of one event's cumulative curves."""
    an_event = f"{EVENT_ARTICLES.get(event, 'a')} {EVENT_LABELS.get(event, event)}"
    denominator = EVENT_DENOMINATORS.get(event, "records")
    return (
        f"Step chart of the cumulative percentage of {denominator} with {an_event}, by days from "
        f"fracture (0 to {last_day}), with a line at {limit} days. "
        + " ".join(
            f"{lab}: {format_pct(by)} of {_count(s['records'])} by day {limit}; {_count(s['with_event'])} had "
            f"{an_event} on or after the fracture day, median {format_days(s['median'])} days "
            f"(interquartile range {format_days(s['q1'])} to {format_days(s['q3'])})."
            for lab, s, by, _ in words
        )
    )


def _tte_later_words(words: list[tuple], last_day: int) -> str:
    """Records counted in a median but with the event beyond the drawn axis, in words."""
    return " ".join(
        f"{_plural(later, 'record')} of {lab} with the event after day {last_day} {'is' if later == 1 else 'are'} "
        f"counted in the median but beyond the axis."
        for lab, _, _, later in words if later
    )


# ---------------------------------------------------------------------------------------------
# 6 and 7. Data completeness


def _fields_table(fields: pd.DataFrame, threshold_pct: float) -> pd.DataFrame:
    """``data_quality_fields`` with numeric ``pct_missing`` and ``over`` (more than the threshold).

    ``over`` is decided on the counts, as kpis.md defines it (``100 × missing > threshold ×
    applicable`` with at least one applicable record), not on the rounded or scaled percentage;
    without count columns it falls back to ``pct_missing > threshold``.
    """
    table = fields.copy()
    table["code"] = table["code"].astype(str)
    table["pct_missing"] = pd.to_numeric(table["pct_missing"], errors="coerce")
    if {"applicable", "missing"} <= set(table.columns):
        applicable = pd.to_numeric(table["applicable"], errors="coerce").fillna(0)
        missing = pd.to_numeric(table["missing"], errors="coerce").fillna(0)
        table["over"] = (applicable > 0) & (100 * missing > threshold_pct * applicable)
    else:
        table["over"] = table["pct_missing"].fillna(-1) > threshold_pct
    return table


@_styled
def completeness_heatmap(fields: pd.DataFrame, names: Mapping[str, str] | None = None,
                         threshold_pct: float = KpiParams.completeness_threshold_pct) -> Chart:
    """Share of records missing each key field, service by field.

    Parameters
    ----------
    fields : pandas.DataFrame
        ``data_quality_fields`` (outputs.md §3): ``code``, ``field``, ``applicable``,
        ``missing``, ``pct_missing`` (0–100, blank when nothing applies).
    names : mapping, optional
        Service code → name; rows are then labelled ``code — name`` (truncated to 40 characters).
    threshold_pct : float
        KPI1's threshold (param ``completeness_threshold_pct``); cells above it carry a dot.

    Returns
    -------
    Chart
        Services as rows (table order), key fields as columns (table order), coloured by
        ``pct_missing`` on a light-to-dark blue scale; not-applicable cells hatched grey. The
        figure's height grows with the number of services.
    """
    title = "Missing data in key fields, by service"
    if not _has_rows(fields, FIELDS_COLUMNS, "data_quality_fields"):
        return _empty(title, "The data-quality table has no rows.")
    table = _fields_table(fields, threshold_pct)
    codes = list(dict.fromkeys(table["code"]))
    field_names = list(dict.fromkeys(table["field"]))
    grid = table.pivot_table(index="code", columns="field", values="pct_missing", aggfunc="first", dropna=False)
    grid = grid.reindex(index=codes, columns=field_names)
    values = grid.to_numpy(dtype=float)
    over_grid = table.pivot_table(index="code", columns="field", values="over", aggfunc="first")
    is_over = over_grid.reindex(index=codes, columns=field_names).fillna(False).to_numpy(dtype=bool)
    n_rows, n_cols = values.shape

    def row_label(code: str) -> str:
        if names and code in names and pd.notna(names[code]):
            return _truncate(f"{code} — {names[code]}", 40)
        return code

    row_in = 0.2
    figure = _figure(2.6 + row_in * n_rows)
    ax = figure.add_subplot()
    cmap = matplotlib.colormaps[MISSING_CMAP].with_extremes(bad=GREY_LIGHT)
    mesh = ax.pcolormesh(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=100, edgecolors="white",
                         linewidth=0.6)
    not_applicable = np.argwhere(np.isnan(values))
    for r, c in not_applicable:
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor=GREY_LIGHT, edgecolor="white", hatch="////", lw=0.6))
    over = np.argwhere(is_over)
    if len(over):
        ax.scatter(over[:, 1] + 0.5, over[:, 0] + 0.5, s=16, facecolor="white", edgecolor=OKABE_ITO["black"],
                   lw=0.9, zorder=4)
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.set_yticks(np.arange(n_rows) + 0.5, [_plain(row_label(c)) for c in codes], fontsize=9)
    ax.set_xticks(np.arange(n_cols) + 0.5, [_field_label(f) for f in field_names], rotation=50, ha="left",
                  rotation_mode="anchor", fontsize=9)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    if n_rows > REPEAT_FIELD_LABELS_AFTER:
        # A tall heatmap repeats the field names underneath, so no row is far from a label.
        bottom = ax.secondary_xaxis("bottom")
        bottom.set_xticks(np.arange(n_cols) + 0.5, [_field_label(f) for f in field_names], rotation=50,
                          ha="right", rotation_mode="anchor", fontsize=9)
        bottom.tick_params(length=0)
        bottom.spines["bottom"].set_visible(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    _title(figure, title)
    colourbar = figure.colorbar(mesh, ax=ax, location="bottom", shrink=0.5, aspect=30, pad=0.01)
    colourbar.set_label("% missing (of records the field applies to)")
    figure.legend(
        handles=[
            Patch(facecolor=GREY_LIGHT, hatch="////", edgecolor="white", label="Not applicable (no records)"),
            Line2D([], [], marker="o", ls="none", markerfacecolor="white", markeredgecolor=OKABE_ITO["black"],
                   markersize=5, label=f"More than {threshold_pct:g}% missing"),
        ],
        loc="outside lower center", ncol=2, frameon=False,
    )

    with_records = ~np.all(np.isnan(values), axis=1)
    n_empty = int((~with_records).sum())
    over_per_service = is_over.sum(axis=1)
    per_field = is_over.sum(axis=0)
    worst = sorted(zip(per_field, field_names), key=lambda t: (-t[0], field_names.index(t[1])))[:3]
    alt = (
        f"Heatmap of the percentage of records missing each of {n_cols} key fields (columns) for "
        f"{_plural(n_rows, 'service')} (rows), darker meaning more missing; a dot marks more than "
        f"{threshold_pct:g}% missing. {_plural(int(len(over)), 'cell')} of {_count(n_rows * n_cols)} are over "
        f"{threshold_pct:g}%; {_plural(int((over_per_service > 0).sum()), 'service')} have at least one such field. "
        f"Fields most often over: " + ", ".join(f"{_field_label(f)} ({_plural(int(k), 'service')})" for k, f in worst)
        + "."
        + (f" {_plural(n_empty, 'service')} with no in-scope records {'has' if n_empty == 1 else 'have'} "
           "every field not applicable." if n_empty else "")
    )
    caption = (
        f"Percentage of records missing each key field; a dot marks more than {threshold_pct:g}% missing "
        f"(KPI1 threshold); hatched grey cells have no records the field applies to."
        + (f" {_plural(n_empty, 'service')} with no in-scope records {'is' if n_empty == 1 else 'are'} "
           "entirely hatched." if n_empty else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption)


@_styled
def completeness_bars(fields: pd.DataFrame, code: str, name: str | None = None,
                      threshold_pct: float = KpiParams.completeness_threshold_pct) -> Chart:
    """One service's share of records missing each key field.

    Parameters
    ----------
    fields : pandas.DataFrame
        ``data_quality_fields`` (see :func:`completeness_heatmap`).
    code : str
        The service code.
    name : str, optional
        The service name, for the title.
    threshold_pct : float
        KPI1's threshold (param ``completeness_threshold_pct``), drawn as a line.

    Returns
    -------
    Chart
        Horizontal bars of ``pct_missing`` in key-field order; bars over the threshold are
        hatched, darker and labelled "over"; fields with nothing applicable say
        "not applicable".
    """
    label = _name_of(code, name)
    title = f"Missing data in key fields: {label}"
    if not _has_rows(fields, FIELDS_COLUMNS, "data_quality_fields"):
        return _empty(title, "The data-quality table has no rows.")
    table = _fields_table(fields, threshold_pct)
    rows = table[table["code"] == str(code)]
    if rows.empty or rows["pct_missing"].isna().all():
        return _empty(title, f"{label} has no in-scope records, so no key field applies.")
    values = rows["pct_missing"].to_numpy(dtype=float)
    field_names = rows["field"].tolist()
    over = rows["over"].to_numpy(dtype=bool)

    # Laid out by hand, with room on the right for the longest value label at 100%, so that the
    # axes, field names and threshold are the same for every service: they are drawn once, as a
    # backdrop, and each service's bars, values and title over it (see Chart.changing).
    labels = [_field_label(f) for f in field_names]
    title_lines = _wrap(title, 95).count("\n") + 1
    left_in = _text_width_in(tuple(labels), 9) + 0.2
    right_in = _text_width_in((f"100.0% (over {threshold_pct:g}%)",), 9, bold=True) + 0.15
    top_in = 0.1 + title_lines * _LINE_12_IN + 0.1
    bottom_in = _TICK_LABELS_IN + _LINE_10_IN + 0.14
    height_in = round(top_in + 0.3 * (len(rows) + 0.7) + bottom_in, 2)
    layout = _single_axes_layout(height_in, left_in=left_in, right_in=right_in, top_in=top_in, bottom_in=bottom_in)
    figure, ax = layout.figure, layout.axes[0]
    y = np.arange(len(rows))
    plain = ax.barh(y[~over], values[~over], color=OKABE_ITO["sky_blue"], height=0.7)
    hatched = ax.barh(y[over], values[over], color=OVER_THRESHOLD_COLOUR, height=0.7, hatch="///", edgecolor="white",
                      lw=0)
    value_labels = []
    for yi, value, is_over in zip(y, values, over):
        if np.isnan(value):
            text, x = "not applicable", 0.8
        else:
            text, x = format_pct(value) + (f" (over {threshold_pct:g}%)" if is_over else ""), value + 0.8
        value_labels.append(ax.text(x, yi, text, va="center", ha="left", fontsize=9, clip_on=False,
                                    color=GREY_DARK if np.isnan(value) else OKABE_ITO["black"],
                                    fontstyle="italic" if np.isnan(value) else "normal",
                                    fontweight="bold" if is_over else "normal"))
    threshold = ax.axvline(threshold_pct, color=OKABE_ITO["black"], lw=1, ls="--")
    ax.text(threshold_pct + 0.8, -0.9, f"{threshold_pct:g}% threshold", fontsize=9, va="bottom", ha="left")
    ax.set_yticks(y, labels)
    ax.set_ylim(len(rows) - 0.5, -1.2)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of records missing (of the records the field applies to)")
    ax.tick_params(axis="y", length=0)
    suptitle = _grid_title(layout, title)
    # In the order a full drawing draws them: bars, the threshold over them, the spines, values.
    changing = (*plain.patches, *hatched.patches, threshold, *[s for s in ax.spines.values() if s.get_visible()],
                *value_labels, suptitle)
    backdrop = backdrop_key("completeness_bars", height_in, labels, threshold_pct)

    n_na = int(np.isnan(values).sum())
    over_words = ", ".join(f"{_field_label(f)} {format_pct(v)}" for f, v, o in zip(field_names, values, over) if o)
    alt = (
        f"Bar chart of the percentage of records missing each of {len(rows)} key fields for {label}. "
        f"{_plural(int(over.sum()), 'field')} {'is' if over.sum() == 1 else 'are'} more than {threshold_pct:g}% "
        f"missing" + (f": {over_words}" if over_words else "") + ". "
        + (f"{_plural(n_na, 'field')} not applicable. " if n_na else "")
        + f"The highest share missing is {format_pct(np.nanmax(values))}."
    )
    caption = (
        f"Percentage of records missing each key field; the dashed line is the {threshold_pct:g}% threshold and "
        f"hatched bars are over it."
        + (f" {_plural(n_na, 'field')} with no records {'it applies' if n_na == 1 else 'they apply'} to "
           f"{'is' if n_na == 1 else 'are'} marked not applicable." if n_na else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption, changing=changing, backdrop=backdrop)


# ---------------------------------------------------------------------------------------------
# 8. Funnel plots (statistics.md §2)

#: How each HQIP funnel status is drawn: colour, marker (down for low, up for high), filled
#: (alarm) or hollow (alert), and the status in words. Colour is never the only signal:
#: direction is in the marker's shape and alert or alarm in its fill.
FUNNEL_STATUS_STYLE: dict[str, dict] = {
    "alarm low": {"colour": OKABE_ITO["vermillion"], "marker": "v", "filled": True, "size": 70,
                  "words": "Alarm (below the 99.8% limit)"},
    "alert low": {"colour": OKABE_ITO["orange"], "marker": "v", "filled": False, "size": 60,
                  "words": "Alert (below the 95% limit)"},
    "in control": {"colour": GREY_DARK, "marker": "o", "filled": True, "size": 24,
                   "words": "In control (within the 95% limits)"},
    "alert high": {"colour": OKABE_ITO["sky_blue"], "marker": "^", "filled": False, "size": 60,
                   "words": "Alert (above the 95% limit)"},
    "alarm high": {"colour": OKABE_ITO["bluish_green"], "marker": "^", "filled": True, "size": 70,
                   "words": "Alarm (above the 99.8% limit)"},
}
#: Drawing order: in control first, so outliers are on top.
FUNNEL_DRAW_ORDER = ("in control", "alert low", "alert high", "alarm low", "alarm high")
FUNNEL_COLUMNS = ("n", "p", "status")
CURVE_COLUMNS = ("n", "low95", "high95", "low998", "high998")
#: Extra places tried for the highlighted service's label (axes fraction), besides the corners:
#: funnels often have room between the limit curves at the right.
FUNNEL_LABEL_SPOTS = tuple((x, y, ha, "center") for y in (0.75, 0.5, 0.25)
                           for x, ha in ((0.98, "right"), (0.5, "center"), (0.02, "left")))
#: Tops of a zoomed percentage axis: the smallest that holds every value and limit is used.
NICE_PCT_TOPS = (10, 20, 30, 40, 50, 60, 80)


def _status_keywords(status: str) -> dict:
    """``scatter`` keywords for a funnel status."""
    style = FUNNEL_STATUS_STYLE[status]
    filled = style["filled"]
    return {"marker": style["marker"], "s": style["size"], "linewidths": 0.7 if filled else 1.7,
            "facecolors": style["colour"] if filled else "white",
            "edgecolors": OKABE_ITO["black"] if filled else style["colour"]}


def _status_handle(status: str, count: int) -> Line2D:
    style = FUNNEL_STATUS_STYLE[status]
    filled = style["filled"]
    return Line2D([], [], ls="none", marker=style["marker"], markersize=math.sqrt(style["size"]),
                  markerfacecolor=style["colour"] if filled else "white",
                  markeredgecolor=OKABE_ITO["black"] if filled else style["colour"],
                  markeredgewidth=0.7 if filled else 1.7, label=f"{style['words']}: {_count(count)}")


def _statistic(value, digits: int = 1) -> str:
    """φ for the words, to ``digits`` decimals; "not estimated" when blank."""
    if value is None or pd.isna(value):
        return "not estimated"
    return f"{float(value):,.{digits}f}"


def _tau2_words(value) -> str:
    """τ² to two significant figures (0.052, 0.0012); 0 as "0"."""
    if value is None or pd.isna(value):
        return "not estimated"
    return "0" if float(value) == 0 else f"{float(value):.2g}"


def _limits_words(attrs: Mapping) -> str:
    """Which funnel limits were used, in words, with φ and τ² (statistics.md §2)."""
    od = f"φ = {_statistic(attrs.get('phi'))}, τ² = {_tau2_words(attrs.get('tau2'))}"
    limits = attrs.get("limits")
    if limits == LIMITS_ADJUSTED:
        return f"limits widened for over-dispersion ({od}; τ² on the arcsine scale)"
    if limits == LIMITS_EXACT:
        return f"exact binomial limits, not widened for over-dispersion ({od})"
    return f"{limits or 'limits of an unstated method'} ({od})"


def _pct_top(highest: float) -> float:
    """Top of a 0-based percentage axis: the smallest of :data:`NICE_PCT_TOPS` that holds
    ``highest`` with a little room; else 100 (or more, for values over 100)."""
    if pd.isna(highest):
        return 100.0
    for top in NICE_PCT_TOPS:
        if highest * 1.05 <= top:
            return float(top)
    return _pct_axis_top(pd.Series([highest]))


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5, 10, 20, 50, … between ``low`` and ``high``."""
    ticks = [m * 10 ** e for e in range(0, 7) for m in (1, 2, 5)]
    return [t for t in ticks if low <= t <= high]


def _status_phrase(status: str) -> str:
    """E.g. "alarm low (below the 99.8% limit)"."""
    words = FUNNEL_STATUS_STYLE[status]["words"]
    return status + words[words.index(" ("):] if " (" in words else status


@_styled
def funnel(table: pd.DataFrame, curve: pd.DataFrame | None, kpi_id: str,
           names: Mapping[str, str] | None = None, highlight: str | None = None) -> Chart:
    """Funnel plot of one KPI: each service's percentage against its number of patients eligible.

    Draws what :func:`fls_report.benchmarks.funnels` and
    :func:`~fls_report.benchmarks.funnel_curve` computed; no statistic is worked out here.

    Parameters
    ----------
    table : pandas.DataFrame
        A funnel table (:func:`fls_report.stats.funnel_table`) indexed by service code: ``x``,
        ``n``, ``p`` (fraction), limits, ``status``; ``attrs`` ``target``, ``phi``, ``tau2``,
        ``limits`` (statistics.md §2).
    curve : pandas.DataFrame
        ``n``, ``low95``, ``high95``, ``low998``, ``high998`` (fractions) over the plotted range.
    kpi_id : str
        ``KPI3`` … ``KPI11``, for the title.
    names : mapping, optional
        Code → name, for the highlighted service's label and the national level's name (the
        target's; by default "England and Wales").
    highlight : str, optional
        A service code to ring in the highlight colour and label with its name and status.

    Returns
    -------
    Chart
        x = patients eligible (log axis), y = percentage; the target θ₀ as a solid
        line, the 95% (alert) limits dashed and the 99.8% (alarm) limits dotted; services
        marked by status with colour and shape (down triangles low, up triangles high; hollow
        alert, filled alarm). Services with n = 0 are left off and counted in the caption. The
        vertical axis is 0–100% unless every value and limit over the services' range of n fits
        a smaller range. Alt text and caption state the target, φ, τ², which limits were used
        and the count of services in each status.
    """
    title = f"{_kpi_title(kpi_id)}: funnel plot of services"
    if not _has_rows(table, FUNNEL_COLUMNS, "funnel"):
        return _empty(title, "The funnel table has no services.")
    rows = table.copy()
    rows.index = rows.index.astype(str)
    rows["n"] = pd.to_numeric(rows["n"], errors="coerce")
    rows["p"] = pd.to_numeric(rows["p"], errors="coerce")
    shown = rows[(rows["n"] > 0) & rows["p"].notna()].copy()
    n_left_off = len(rows) - len(shown)
    left_off = (f"{_plural(n_left_off, 'service')} with no eligible records "
                f"{'is' if n_left_off == 1 else 'are'} not shown." if n_left_off else "")
    if shown.empty:
        return _empty(title, f"No service has eligible records for {kpi_id}. {left_off}".strip())

    attrs = dict(table.attrs)
    target = attrs.get("target")
    target_pct = 100 * float(target) if target is not None and pd.notna(target) else np.nan
    limits_words = _limits_words(attrs)
    national_name = _national_name(names)
    shown["pct"] = 100 * shown["p"]
    shown["status"] = shown["status"].astype(str)
    lines = pd.DataFrame(columns=list(CURVE_COLUMNS), dtype=float)
    if curve is not None and len(curve) and all(c in curve.columns for c in CURVE_COLUMNS):
        lines = curve[list(CURVE_COLUMNS)].apply(pd.to_numeric, errors="coerce").sort_values("n", kind="stable")

    x_top = float(shown["n"].max()) * 1.1  # where funnel_curve ends
    in_range = lines[(lines["n"] >= shown["n"].min()) & (lines["n"] <= x_top)]
    highest = max(float(shown["pct"].max()),
                  float(100 * in_range[["high95", "high998"]].max().max()) if len(in_range) else 0.0,
                  target_pct if pd.notna(target_pct) else 0.0)
    top = _pct_top(highest)

    figure = _figure(6.2)
    ax = figure.add_subplot()
    # A log axis: denominators run from a handful to thousands, and on a linear axis the small
    # services (where the funnel is widest) are crushed against the left edge.
    x_low = max(0.7, float(shown["n"].min()) * 0.7)
    ax.set_xscale("log")
    ax.set_xlim(x_low, x_top)
    ax.xaxis.set_major_locator(FixedLocator([t for t in _log_ticks(x_low, x_top)]))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    ax.set_ylim(0, top)
    ax.grid(color=GREY_LIGHT, lw=0.5, zorder=0)
    handles = []
    if pd.notna(target_pct):
        ax.axhline(target_pct, color=OKABE_ITO["black"], lw=1.4, zorder=2)
        handles.append(Line2D([], [], color=OKABE_ITO["black"], lw=1.4,
                              label=f"{national_name}: {format_pct(target_pct)}"))
    if len(lines):
        for suffix, style, words in (("95", (0, (6, 3)), "95% limits (alert)"),
                                     ("998", (0, (1, 2)), "99.8% limits (alarm)")):
            for side in ("low", "high"):
                ax.plot(lines["n"], 100 * lines[f"{side}{suffix}"], color=GREY_DARK, lw=1.3, ls=style, zorder=2)
            handles.append(Line2D([], [], color=GREY_DARK, lw=1.3, ls=style, label=words))

    counts = shown["status"].value_counts()
    for z, status in enumerate(FUNNEL_DRAW_ORDER):
        points = shown[shown["status"] == status]
        if len(points):
            ax.scatter(points["n"], points["pct"], zorder=3 + z / 10, clip_on=False, **_status_keywords(status))
    unknown = shown[~shown["status"].isin(FUNNEL_DRAW_ORDER)]
    if len(unknown):
        ax.scatter(unknown["n"], unknown["pct"], s=24, marker="s", facecolors="white", edgecolors=GREY_DARK,
                   zorder=3, clip_on=False)
    handles += [_status_handle(status, int(counts[status])) for status in FUNNEL_STATUS_STYLE if status in counts]
    if len(unknown):
        handles.append(Line2D([], [], ls="none", marker="s", markerfacecolor="white", markeredgecolor=GREY_DARK,
                              label=f"No status given: {_count(len(unknown))}"))

    code = None if highlight is None else str(highlight)
    label = None if code is None else _name_of(code, names.get(code) if names is not None and code in names else None)
    highlight_words = ""
    is_highlighted = code is not None and code in shown.index
    if is_highlighted:
        point = shown.loc[[code]].iloc[0]
        status_words = (FUNNEL_STATUS_STYLE[point["status"]]["words"] if point["status"] in FUNNEL_STATUS_STYLE
                        else f"status {point['status']}")
        ax.scatter([point["n"]], [point["pct"]], s=300, marker="o", facecolors="none", edgecolors=HIGHLIGHT_COLOUR,
                   linewidths=2.2, zorder=6, clip_on=False)
        where = f"{format_pct(point['pct'])} of {_count(point['n'])} eligible"
        highlight_words = f"{label}: {where}; {status_words}"
        obstacles = np.column_stack([shown["n"], shown["pct"], shown["pct"]])
        along = np.vstack([np.column_stack([lines["n"], 100 * lines[column], 100 * lines[column]])
                           for column in ("low95", "high95", "low998", "high998")]) if len(lines) else None
        _annotate(ax, point["n"], point["pct"], f"{_wrap(label, 42)}\n{where}\n{status_words}", obstacles,
                  [target_pct], extra_candidates=FUNNEL_LABEL_SPOTS, soft_obstacles=along)
        handles.append(Line2D([], [], ls="none", marker="o", markersize=15, markerfacecolor="none",
                              markeredgecolor=HIGHLIGHT_COLOUR, markeredgewidth=2.2,
                              label=_plain(_truncate(label, 60))))
    elif code is not None:
        why = "it has no eligible records" if code in rows.index else "it is not in the funnel table"
        highlight_words = f"{label} is not shown: {why} for {kpi_id}."

    ax.set_xlabel("Patients eligible (denominator)")
    ax.set_ylabel("%")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    _title(figure, title)
    figure.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)

    status_counts = ", ".join(f"{_count(int(counts.get(status, 0)))} {_status_phrase(status)}"
                              for status in FUNNEL_STATUS_STYLE)
    target_words = (f"the {national_name} target of {format_pct(target_pct)}" if pd.notna(target_pct)
                    else "no target line (none given)")
    alt = (
        f"Funnel plot of {_kpi_title(kpi_id)} for {_plural(len(shown), 'service')}: each service's percentage "
        f"(vertical axis) against its number of patients eligible (horizontal axis, log scale, "
        f"{_count(shown['n'].min())} to {_count(shown['n'].max())}), with {target_words} and 95% (alert) "
        f"and 99.8% (alarm) limits; {limits_words}. Services by status: {status_counts}."
        + (f" Highlighted: {highlight_words}." if is_highlighted else "")
        + (f" {highlight_words}" if highlight_words and not is_highlighted else "")
        + (f" {left_off}" if left_off else "")
    )
    caption = (
        "Each point is a service, placed by its number of patients eligible (on a log scale); solid line: "
        f"the target, {national_name} "
        + (f"({format_pct(target_pct)})" if pd.notna(target_pct) else "(not given)")
        + f"; dashed: 95% limits (alert); dotted: 99.8% limits (alarm); {limits_words}. "
        f"Services: {status_counts}."
        + (f" The vertical axis stops at {top:g}%." if top < 100 else "")
        + ("" if len(lines) else " No limit curves were given, so none are drawn.")
        + (f" {left_off}" if left_off else "")
        + (f" {highlight_words}" if highlight_words and not is_highlighted else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption)


# ---------------------------------------------------------------------------------------------
# 9. Run charts and p-charts (statistics.md §3 and §4)

SIGNAL_COLOUR = OKABE_ITO["vermillion"]
MEDIAN_COLOUR = OKABE_ITO["blue"]
SIGNAL_COLUMNS = ("code", "kpi_id", "median_pct", "useful_points", "signal")


def _month_axis(ax, months: Sequence[str], every: bool = False, narrow: bool = False) -> str:
    """Month ticks on a 0 … len(months) − 1 axis (every month when ``every`` and ≤ 12 months,
    else quarters, half years or years; fewer in a ``narrow`` panel); returns the axis words,
    e.g. "Month of fracture (2016)"."""
    labels, words = _month_labels(list(months))
    x = np.arange(len(months))
    numbers = [int(m[5:7]) for m in months]
    quarters = 12 if narrow else 24
    labelled = {1, 4, 7, 10} if len(months) <= quarters else {1, 7} if len(months) <= 2 * quarters else {1}
    if len(months) <= 4 or (every and len(months) <= 12):
        major = list(x)
    else:
        major = [i for i, number in enumerate(numbers) if number in labelled] or list(x)
    ax.xaxis.set_major_locator(FixedLocator(major))
    _minor_ticks(ax, [i for i in x if i not in set(major)])
    tilt = {} if len(months) <= 12 else {"rotation": 30, "ha": "right", "rotation_mode": "anchor"}
    ax.set_xticklabels([labels[j] for j in major], **tilt)
    ax.set_xlim(-0.5, len(months) - 0.5)
    return words


def _minor_ticks(ax, positions: Sequence[float]) -> None:
    """Minor tick marks under the x axis at ``positions``, as matplotlib's minor ticks look.

    Drawn as one line of tick-shaped markers: each matplotlib tick is a handful of artists, and a
    grid of nine monthly panels needed about a hundred of them (a tenth of a service page's
    drawing time)."""
    ax.xaxis.set_minor_locator(NullLocator())
    if len(positions):
        rc = matplotlib.rcParams
        ax.plot(positions, np.zeros(len(positions)), transform=ax.get_xaxis_transform(), ls="none",
                marker=TICKDOWN, markersize=rc["xtick.minor.size"], markeredgewidth=rc["xtick.minor.width"],
                color=rc["xtick.color"], clip_on=False, zorder=2.5)


def _month_words(month: str) -> str:
    """``2016-11`` as ``Nov 2016``."""
    try:
        return f"{calendar.month_abbr[int(month[5:7])]} {month[:4]}"
    except (ValueError, IndexError):
        return str(month)


def _monthly_pct(monthly: pd.DataFrame, code: str, kpi_id: str, months: Sequence[str]) -> pd.Series:
    """One unit's monthly ``pct`` over ``months``; NaN where the denominator is 0 or blank."""
    part = monthly[(monthly["code"].astype(str) == str(code)) & (monthly["kpi_id"] == kpi_id)]
    denominator = pd.to_numeric(part["denominator"], errors="coerce")
    pct = pd.to_numeric(part["pct"], errors="coerce").where(denominator > 0)
    return pd.Series(pct.to_numpy(), index=part["month"].astype(str)).groupby(level=0).first().reindex(months)


def _run_positions(values: np.ndarray, centre: float, length: int, side: str) -> list[int]:
    """Positions of the first run of ``length`` points on ``side`` ("above"/"below") of ``centre``.

    Walks the series as the run chart shows it: blank months and points on the centre line are
    skipped (they neither extend nor break a run). Used only to colour the points; the run
    itself comes from the signals table.
    """
    wanted = 1 if side == "above" else -1
    runs, current, current_side = [], [], 0
    for i, value in enumerate(values):
        if np.isnan(value) or math.isclose(value, centre, rel_tol=0, abs_tol=1e-9):
            continue
        value_side = 1 if value > centre else -1
        if value_side != current_side and current:
            runs.append((current_side, current))
            current = []
        current_side = value_side
        current.append(i)
    if current:
        runs.append((current_side, current))
    matching = [run for s, run in runs if s == wanted and len(run) == length]
    if matching:
        return matching[0]
    on_side = [run for s, run in runs if s == wanted]
    return max(on_side, key=len) if on_side else []


def _signal_row(signals: pd.DataFrame | None, code: str, kpi_id: str) -> pd.Series | None:
    if signals is None or len(signals) == 0 or not all(c in signals.columns for c in SIGNAL_COLUMNS):
        return None
    rows = signals[(signals["code"].astype(str) == str(code)) & (signals["kpi_id"] == kpi_id)]
    return rows.iloc[0] if len(rows) else None


def _truthy(value) -> bool:
    """A flag from a table, whether bool, blank or ``true``/``false`` text (as read from CSV)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return False if value is None or pd.isna(value) else bool(value)


@_styled
def run_charts(monthly: pd.DataFrame, signals: pd.DataFrame | None, code: str, kpi_ids: Sequence[str],
               explanations: Mapping[str, str] | None = None, name: str | None = None,
               reference: pd.DataFrame | None = None, reference_name: str | None = None) -> Chart:
    """Run charts for one unit, one small panel per KPI, with the Anhøj signals marked.

    Parameters
    ----------
    monthly : pandas.DataFrame
        ``monthly_kpis``: ``code``, ``kpi_id``, ``month`` (``YYYY-MM``), ``denominator``, ``pct``.
    signals : pandas.DataFrame
        :func:`fls_report.benchmarks.run_chart_signals`: ``code``, ``kpi_id``, ``median_pct``,
        ``useful_points``, ``longest_run``, ``longest_run_side``, ``shift``,
        ``too_few_crossings``, ``signal``.
    code : str
        A service code, ``NATIONAL`` or a nation code.
    kpi_ids : sequence of str
        One panel each, three to a row.
    explanations : mapping, optional
        KPI id → plain-words result (:func:`fls_report.benchmarks.signal_explanation`); those of
        the panels with a signal go in the caption.
    name : str, optional
        The unit's name, for the title (for ``NATIONAL``, the run's national name).
    reference : pandas.DataFrame, optional
        Monthly rows (the columns of ``monthly``) of a unit to compare with, usually the national
        level (``code == "NATIONAL"``), drawn in each panel as a thin grey line over the same
        months and named in the legend; it takes no part in the run analysis. If it holds several
        units, ``NATIONAL`` is used when present, else the first code. None (the default) draws
        exactly what this function drew before the argument existed.
    reference_name : str, optional
        The reference's name in the legend and words (for ``NATIONAL``, the run's national name);
        by default the level's name ("England and Wales" for ``NATIONAL``).

    Returns
    -------
    Chart
        Monthly ``pct`` as a line with points (a month with denominator 0 is a gap), the
        series' median from ``signals`` as a dashed line. A panel with a signal has a vermillion
        frame and says so in its title; when the signal is a shift, the points of the longest
        run are vermillion diamonds. Each panel's vertical axis is 0–100% unless all its values
        fit a smaller range (e.g. KPI3), which the caption names.
    """
    kpi_ids = list(kpi_ids)
    explanations = dict(explanations or {})
    label = _name_of(str(code), name)
    title = f"Run charts: {label}"
    if not _has_rows(monthly, MONTHLY_COLUMNS, "monthly_kpis") or not kpi_ids:
        return _empty(title, "The monthly table is empty or no KPI was asked for.")
    own = monthly[(monthly["code"].astype(str) == str(code)) & monthly["kpi_id"].isin(kpi_ids)]
    if own.empty:
        return _empty(title, f"The monthly table has no rows for {label} and these KPIs.")
    months = sorted(monthly.loc[monthly["kpi_id"].isin(kpi_ids), "month"].astype(str).unique())
    values = {k: _monthly_pct(monthly, code, k, months) for k in kpi_ids}
    if all(s.isna().all() for s in values.values()):
        return _empty(title, f"{label} has no eligible records in any month for these KPIs.")
    ref_label, ref_values = _reference_series(reference, reference_name, kpi_ids, months)

    n_cols = 3 if len(kpi_ids) >= 3 else len(kpi_ids)
    statuses = {k: _run_status(_signal_row(signals, code, k)) for k in kpi_ids}
    titles = {k: _plain(_wrap(_kpi_title(k), 27)) + "\n" + _wrap(statuses[k], 27) for k in kpi_ids}
    n_handles = 2 + int(bool(ref_values)) + 2  # at most: the signal frame and the shift's diamonds
    layout = _grid_layout(
        len(kpi_ids), n_cols, 1.75, title_lines=1,
        panel_title_lines=max(t.count("\n") + 1 for t in titles.values()), status_lines=0,
        bottom_extra_in=math.ceil(n_handles / 3) * _LEGEND_ROW_IN + 0.1, xlabel=False,
    )
    x = np.arange(len(months))
    xlabel = ""
    flagged, short, zoomed, no_analysis, described, shift_drawn = [], [], [], [], [], False
    for i, kpi_id in enumerate(kpi_ids):
        ax = layout.axes[i]
        series = values[kpi_id].to_numpy(dtype=float)
        row = _signal_row(signals, code, kpi_id)
        median = float(row["median_pct"]) if row is not None and pd.notna(row["median_pct"]) else np.nan
        useful = int(row["useful_points"]) if row is not None and pd.notna(row["useful_points"]) else 0
        signal = row is not None and _truthy(row["signal"])
        shift = signal and "shift" in row.index and _truthy(row["shift"])

        if ref_values:
            ref = ref_values[kpi_id].to_numpy(dtype=float)
            top = _pct_axis_top(values[kpi_id], pd.Series([median]), ref_values[kpi_id])
            everything = np.r_[series, median, ref]
            highest = np.nanmax(everything) if not np.isnan(everything).all() else np.nan
        else:
            top = _pct_axis_top(values[kpi_id], pd.Series([median]))
            highest = np.nanmax(np.r_[series, median]) if not np.isnan(np.r_[series, median]).all() else np.nan
        if pd.notna(highest) and top == 100 and _pct_top(highest) < 100:
            top = _pct_top(highest)
            zoomed.append(f"{kpi_id} ({top:g}%)")
        if ref_values:
            ax.plot(x, ref, color=REFERENCE_COLOUR, lw=REFERENCE_WIDTH, zorder=1.8, clip_on=False)
        ax.plot(x, series, color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4, zorder=3, clip_on=False)
        if pd.notna(median):
            ax.axhline(median, color=MEDIAN_COLOUR, lw=1.3, ls=(0, (5, 3)), zorder=2)
        if shift and "longest_run" in row.index and "longest_run_side" in row.index:
            positions = _run_positions(series, median, int(row["longest_run"]), str(row["longest_run_side"]))
            if positions:
                ax.scatter(x[positions], series[positions], s=34, marker="D", color=SIGNAL_COLOUR,
                           edgecolors=OKABE_ITO["black"], linewidths=0.5, zorder=4, clip_on=False)
                shift_drawn = True

        status = statuses[kpi_id]
        if signal:
            flagged.append(kpi_id)
            _frame(ax, SIGNAL_COLOUR)
        elif row is None:
            no_analysis.append(kpi_id)
        elif useful < MIN_USEFUL_POINTS:
            short.append(f"{kpi_id} ({useful})")
        described.append((kpi_id, median, signal, status))
        # The title's height is given (y=1), so matplotlib need not measure the axes to place it.
        ax.set_title(titles[kpi_id], fontsize=10, loc="left", color=SIGNAL_COLOUR if signal else OKABE_ITO["black"],
                     y=1.0, pad=5.5, fontweight="bold" if signal else "normal")
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
        xlabel = _month_axis(ax, months, narrow=True)
        ax.grid(axis="y", color=GREY_LIGHT, lw=0.6)
        if i % n_cols == 0:
            ax.set_ylabel("%")
    _grid_title(layout, f"{title}, by {xlabel[0].lower()}{xlabel[1:]}")
    handles = [Line2D([], [], color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4, label="Monthly %"),
               Line2D([], [], color=MEDIAN_COLOUR, lw=1.3, ls=(0, (5, 3)), label="Median")]
    if ref_values:
        handles.append(Line2D([], [], color=REFERENCE_COLOUR, lw=REFERENCE_WIDTH,
                              label=_plain(_wrap(_truncate(ref_label, 60), 30))))
    if flagged:
        handles.append(Patch(facecolor="white", edgecolor=SIGNAL_COLOUR, lw=2, label="Signal (framed panel)"))
    if shift_drawn:
        handles.append(Line2D([], [], ls="none", marker="D", markersize=6, color=SIGNAL_COLOUR,
                              markeredgecolor=OKABE_ITO["black"], markeredgewidth=0.5,
                              label="Longest run (a shift)"))
    _grid_legend(layout, handles, ncol=min(3, len(handles)))

    gaps = [f"{kpi_id} {_plural(int(values[kpi_id].isna().sum()), 'month')}" for kpi_id in kpi_ids
            if values[kpi_id].isna().any()]
    signal_words = "; ".join(f"{kpi_id}: {explanations.get(kpi_id, 'a signal of non-random variation')}"
                             for kpi_id in flagged)
    alt_parts = []
    for kpi_id, median, signal, status in described:
        s = values[kpi_id]
        text = (f"{kpi_id} {KPI_NAMES.get(kpi_id, kpi_id)}: "
                + (f"{format_pct(s.min())} to {format_pct(s.max())}" if s.notna().any() else "no eligible records")
                + (f", median {format_pct(median)}" if pd.notna(median) else "")
                + f"; {explanations[kpi_id] if kpi_id in explanations else status.lower()}"
                + (_reference_words(ref_label, ref_values[kpi_id]) if ref_values else ""))
        alt_parts.append(text)
    alt = (
        f"Run charts of the monthly percentage for {label} over {_plural(len(months), 'month')} ({months[0]} "
        f"to {months[-1]}), one per KPI, each with its median. "
        + (f"{_plural(len(flagged), 'series', 'series')} {'shows' if len(flagged) == 1 else 'show'} a signal "
           f"({', '.join(flagged)}). " if flagged else "No series shows a signal. ")
        + ". ".join(alt_parts) + "."
    )
    caption = (
        f"Monthly percentage by month of fracture, with each series' median (dashed). "
        + (f"A framed panel signals non-random variation (Anhøj rules): {signal_words}. " if flagged
           else "No panel signals non-random variation (Anhøj rules). ")
        + f"Series with fewer than {MIN_USEFUL_POINTS} useful months (months with data, not on the median) "
        f"claim no signal" + (f": {', '.join(short)}." if short else ".")
        + (f" No run analysis was given for {', '.join(no_analysis)}." if no_analysis else "")
        + (f" Vertical axes stop below 100% for {', '.join(zoomed)}." if zoomed else "")
        + (f" A gap is a month with no eligible records: {', '.join(gaps)}." if gaps else "")
        + (f" Thin grey line: the monthly percentage for {ref_label}, for comparison (not part of the run "
           "analysis)." if ref_values else "")
    )
    return Chart(figure=layout.figure, alt=alt, caption=caption)


def _run_status(row: pd.Series | None) -> str:
    """A run-chart panel's result in a few words, from its row of the run-chart signals."""
    if row is None:
        return "No run analysis"
    if _truthy(row["signal"]):
        kinds = [words for column, words in (("shift", "a shift"), ("too_few_crossings", "too few crossings"))
                 if column in row.index and _truthy(row[column])]
        return "Signal: " + (" and ".join(kinds) if kinds else "non-random variation")
    useful = int(row["useful_points"]) if pd.notna(row["useful_points"]) else 0
    return f"Too few useful months ({useful}) to judge" if useful < MIN_USEFUL_POINTS else "No signal"


#: The comparison unit's line in :func:`run_charts` (thin, grey, behind the unit's own line).
REFERENCE_COLOUR = GREY_MID
REFERENCE_WIDTH = 1.1


def _reference_series(reference: pd.DataFrame | None, reference_name: str | None, kpi_ids: Sequence[str],
                      months: Sequence[str]) -> tuple[str, dict[str, pd.Series]]:
    """The comparison unit's name and its monthly ``pct`` per KPI over ``months`` ({} if none)."""
    if reference is None or not _has_rows(reference, MONTHLY_COLUMNS, "reference monthly_kpis"):
        return "", {}
    rows = reference[reference["kpi_id"].isin(list(kpi_ids))]
    codes = list(dict.fromkeys(rows["code"].astype(str)))
    if not codes:
        return "", {}
    ref_code = NATIONAL if NATIONAL in codes else codes[0]
    label = reference_name or _name_of(ref_code)
    return label, {k: _monthly_pct(rows, ref_code, k, months) for k in kpi_ids}


def _reference_words(label: str, series: pd.Series) -> str:
    if series.notna().any():
        return f"; {label} {format_pct(series.min())} to {format_pct(series.max())}"
    return f"; {label} no eligible records"


P_CHART_COLUMNS = ("month", "n", "p", "cl", "lcl", "ucl", "outside")


def _runs_words(runs: Mapping | None, unit: str = "month") -> str:
    """The p-chart's runs analysis (around its centre line) in words."""
    if not runs:
        return "no runs analysis was given"
    n_useful = int(runs.get("n_useful", 0) or 0)
    if n_useful < MIN_USEFUL_POINTS:
        return f"too few {unit}s off the centre line ({n_useful}) to look for signals"
    parts = []
    longest, longest_max = runs.get("longest_run"), runs.get("longest_run_max")
    crossings, crossings_min = runs.get("crossings"), runs.get("crossings_min")
    if pd.notna(longest_max) and longest > longest_max:
        parts.append(f"a run of {longest} {unit}s {runs.get('longest_run_side', 'on one side of')} the centre line "
                     f"(more than {int(longest_max)} is unusual)")
    if pd.notna(crossings_min) and crossings < crossings_min:
        parts.append(f"the line crosses the centre line {_plural(int(crossings), 'time')} (fewer than "
                     f"{int(crossings_min)} is unusual)")
    if runs.get("signal") and parts:
        return "a signal of non-random variation: " + "; ".join(parts)
    if runs.get("signal"):
        return "a signal of non-random variation"
    return (f"no signal (longest run {longest}, more than {int(longest_max)} would be unusual; "
            f"{_plural(int(crossings), 'crossing')}, fewer than {int(crossings_min)} would be unusual)")


@_styled
def p_chart(chart: pd.DataFrame | None, kpi_id: str, name: str | None = None) -> Chart:
    """SPC p-chart of one unit's monthly KPI, from :func:`fls_report.benchmarks.p_chart`.

    Parameters
    ----------
    chart : pandas.DataFrame or None
        ``month``, ``x``, ``n``, ``p``, ``cl``, ``lcl``, ``ucl`` (fractions), ``outside``; the
        runs analysis in ``attrs["runs"]``. None (too few months or records for a p-chart) or
        an empty frame gives a "No records to show" chart.
    kpi_id : str
        For the title.
    name : str, optional
        The unit's name (e.g. the run's national name), for the title.

    Returns
    -------
    Chart
        Monthly ``p`` × 100 as a line with points, the centre line, and the 3-sigma limits as
        steps (they vary with each month's denominator); points outside the limits are
        vermillion diamonds. The vertical axis is zoomed to the points and limits (SPC charts
        are read against their limits), which the caption says.
    """
    title = f"{_kpi_title(kpi_id)}: p-chart" + (f", {name}" if name else "")
    if chart is None:
        return _empty(title, f"A p-chart needs at least {benchmarks.P_CHART_MIN_MONTHS} months with eligible "
                             f"records and on average at least {benchmarks.P_CHART_MIN_MEAN_DENOMINATOR} "
                             "eligible records a month.")
    if not _has_rows(chart, P_CHART_COLUMNS, "p_chart"):
        return _empty(title, "The p-chart table has no months.")
    v = _p_chart_values(chart)
    months, p, lcl, ucl, outside, centre = v["months"], v["p"], v["lcl"], v["ucl"], v["outside"], v["centre"]
    if np.isnan(p).all():
        return _empty(title, "No month has eligible records.")
    bottom, top = _p_chart_range(v)

    figure = _figure(4.9)
    ax = figure.add_subplot()
    _p_chart_draw(ax, v, bottom, top)
    xlabel = _month_axis(ax, months, every=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("%")
    ax.grid(axis="y", color=GREY_LIGHT, lw=0.6)
    _title(figure, title)
    limit_words = _p_limit_words(v["kind"])
    handles = [
        Line2D([], [], color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=5, label="Monthly %"),
        Line2D([], [], color=MEDIAN_COLOUR, lw=1.4,
               label=f"Centre line: {format_pct(centre)}"),
        Line2D([], [], color=GREY_DARK, lw=1.2, ls=(0, (5, 3)), label=limit_words[:1].upper() + limit_words[1:]),
    ]
    if outside.any():
        handles.append(Line2D([], [], ls="none", marker="D", markersize=7, color=SIGNAL_COLOUR,
                              markeredgecolor=OKABE_ITO["black"], markeredgewidth=0.6,
                              label=f"Outside the limits: {_count(int(outside.sum()))}"))
    figure.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)

    n_months = v["n_months"]
    freeze = chart.attrs.get("freeze")
    baseline = f"the first {_plural(int(freeze), 'month')}" if freeze else f"all {_plural(n_months, 'month')} with data"
    outside_words = _p_outside_words(v)
    limits_range = _p_limits_range(v)
    runs_words = _runs_words(chart.attrs.get("runs"))
    gaps = v["gaps"]
    alt = (
        f"p-chart of {_kpi_title(kpi_id)}" + (f" for {name}" if name else "")
        + f" over {_plural(len(months), 'month')} ({months[0]} to {months[-1]}): monthly percentages from "
        f"{format_pct(np.nanmin(p))} to {format_pct(np.nanmax(p))} around a centre line of {format_pct(centre)}, "
        f"with {limit_words} ({limits_range}). {outside_words[:1].upper()}{outside_words[1:]}. "
        f"Runs analysis around the centre line: {runs_words}."
    )
    caption = (
        f"Monthly percentage with its centre line ({format_pct(centre)}, the pooled percentage over {baseline}) "
        f"and {limit_words}, which vary with each month's denominator ({limits_range}). "
        f"{outside_words[:1].upper()}{outside_words[1:]}. Runs analysis around the centre line: {runs_words}."
        + (f" The vertical axis runs from {bottom:g}% to {top:g}%." if (bottom, top) != (0, 100) else "")
        + (f" {_plural(gaps, 'month')} without eligible records {'is a gap' if gaps == 1 else 'are gaps'}."
           if gaps else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption)


def _p_chart_values(chart: pd.DataFrame) -> dict:
    """A p-chart frame's months and its percentages (× 100) as arrays, with the centre line."""
    frame = chart.reset_index(drop=True)
    months = frame["month"].astype(str).tolist()
    p, cl, lcl, ucl = (100 * pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                       for c in ("p", "cl", "lcl", "ucl"))
    outside = frame["outside"].map(_truthy).to_numpy(dtype=bool) & ~np.isnan(p)
    centre = float(np.nanmean(cl)) if not np.isnan(cl).all() else np.nan
    with_data = ~np.isnan(p)
    return {"months": months, "x": np.arange(len(months)), "p": p, "cl": cl, "lcl": lcl, "ucl": ucl,
            "outside": outside, "centre": centre, "n_months": int(with_data.sum()), "gaps": int((~with_data).sum()),
            "kind": frame.attrs.get("chart", chart.attrs.get("chart", "p"))}


def _p_chart_range(v: Mapping) -> tuple[float, float]:
    """The vertical axis of a p-chart: zoomed to its points, limits and centre line."""
    extent = np.r_[v["p"], v["lcl"], v["ucl"], v["centre"]]
    extent = extent[~np.isnan(extent)]
    span = max(float(extent.max() - extent.min()), 2.0)
    bottom = max(0.0, math.floor((extent.min() - 0.12 * span) / 5) * 5)
    top = min(100.0, math.ceil((extent.max() + 0.12 * span) / 5) * 5) if extent.max() <= 100 else \
        _pct_axis_top(pd.Series(extent))
    if top - bottom > 60:
        bottom = 0.0
        top = max(top, 100.0)
    return bottom, top


def _p_chart_draw(ax, v: Mapping, bottom: float, top: float, small: bool = False) -> None:
    """The limits (steps), centre line, monthly line and the points outside, on ``ax``."""
    x, p, outside = v["x"], v["p"], v["outside"]
    edges = np.r_[x - 0.5, x[-1] + 0.5]
    for limit in (v["lcl"], v["ucl"]):
        ax.step(edges, np.r_[limit, limit[-1]], where="post", color=GREY_DARK, lw=1.2, ls=(0, (5, 3)), zorder=2)
    if pd.notna(v["centre"]):
        ax.axhline(v["centre"], color=MEDIAN_COLOUR, lw=1.4, zorder=2)
    ax.plot(x, p, color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4 if small else 5, zorder=3,
            clip_on=False)
    if outside.any():
        ax.scatter(x[outside], p[outside], s=40 if small else 60, marker="D", color=SIGNAL_COLOUR,
                   edgecolors=OKABE_ITO["black"], linewidths=0.6, zorder=4, clip_on=False)
    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4 if small else 6, steps=[1, 2, 5, 10]))


def _p_limit_words(kind) -> str:
    return "3-sigma control limits" + (" (Laney p′)" if kind == "p'" else "")


def _p_outside_words(v: Mapping) -> str:
    """E.g. "1 of 11 months falls outside the limits (above: May 2016)"."""
    months, p, outside, centre = v["months"], v["p"], v["outside"], v["centre"]
    above = [_month_words(m) for m, o, value in zip(months, outside, p) if o and value > centre]
    below = [_month_words(m) for m, o, value in zip(months, outside, p) if o and value < centre]
    return (
        f"{_count(int(outside.sum()))} of {_plural(v['n_months'], 'month')} "
        f"{'falls' if outside.sum() == 1 else 'fall'} outside the limits"
        + (" (" + "; ".join(part for part in (
            f"above: {', '.join(above)}" if above else "", f"below: {', '.join(below)}" if below else "") if part)
           + ")" if outside.any() else "")
    )


def _p_limits_range(v: Mapping) -> str:
    lcl, ucl = v["lcl"], v["ucl"]
    return (f"lower limit {format_pct(np.nanmin(lcl))} to {format_pct(np.nanmax(lcl))}, upper limit "
            f"{format_pct(np.nanmin(ucl))} to {format_pct(np.nanmax(ucl))}")


# ---------------------------------------------------------------------------------------------
# 10. Combined figures: small multiples in one PNG for the service page
#
# Saving a figure costs far more than drawing it, so a page draws its funnels, p-charts and
# time-to-event curves as one figure each rather than one per KPI or event. These figures are laid
# out by hand, in inches, instead of with constrained layout: the layout engine measures every
# tick label and title of every panel and makes ``savefig`` draw the figure twice, which for nine
# panels costs more than the drawing. The spaces below are sized for the house fonts (9–12 pt).

GRID_WIDTH_IN = 9.5
_LINE_12_IN = 12 * 1.2 / 72  # one line of 12-pt text
_LINE_10_IN = 10 * 1.2 / 72
_LINE_9_IN = 9 * 1.2 / 72
_TICK_LABELS_IN = 0.30  # a tick, its pad and a row of 9-pt tick labels
_LEGEND_ROW_IN = 0.22
#: Characters a line in a panel title (10 pt) and in a panel's bold 9-pt label, in a 3-column grid.
GRID_TITLE_WIDTH = 30
GRID_STATUS_WIDTH = 32
#: Marker sizes in a funnel panel, relative to :func:`funnel`'s.
GRID_MARKER_SCALE = 0.6
#: A funnel status in a panel's label (the legend and alt text say which limit).
FUNNEL_STATUS_SHORT: dict[str, str] = {
    "alarm low": "Alarm, low",
    "alert low": "Alert, low",
    "in control": "Within the limits",
    "alert high": "Alert, high",
    "alarm high": "Alarm, high",
}


@dataclass(frozen=True)
class _GridLayout:
    figure: Figure
    axes: list
    n_cols: int
    height_in: float
    panel_height_in: float
    status_lines: int

    def has_panel_below(self, i: int) -> bool:
        return i + self.n_cols < len(self.axes)


def _grid_layout(n_panels: int, n_cols: int, panel_height_in: float, *, title_lines: int,
                 panel_title_lines: int, status_lines: int, bottom_extra_in: float,
                 width_in: float = GRID_WIDTH_IN, left_in: float = 0.6, right_in: float = 0.2,
                 wgap_in: float = 0.5, xlabel: bool = True) -> _GridLayout:
    """A figure without a layout engine and ``n_panels`` axes on a grid, spaced in inches.

    Above each panel there is room for ``panel_title_lines`` of 10-pt title and ``status_lines``
    of 9-pt label; below each, a row of tick labels (and an axis label under the bottom row when
    ``xlabel``); under the grid, ``bottom_extra_in`` for the legend(s).
    """
    n_rows = math.ceil(n_panels / n_cols)
    head_in = panel_title_lines * _LINE_10_IN + status_lines * _LINE_9_IN + 0.12
    top_in = 0.1 + title_lines * _LINE_12_IN + 0.14 + head_in
    hgap_in = _TICK_LABELS_IN + 0.1 + head_in
    bottom_in = _TICK_LABELS_IN + (_LINE_10_IN + 0.04 if xlabel else 0.0) + 0.1 + bottom_extra_in
    height_in = round(top_in + n_rows * panel_height_in + (n_rows - 1) * hgap_in + bottom_in, 2)
    figure = Figure(figsize=(width_in, height_in), layout=None)
    axes_w = (width_in - left_in - right_in - (n_cols - 1) * wgap_in) / n_cols
    grid = figure.add_gridspec(n_rows, n_cols, left=left_in / width_in, right=1 - right_in / width_in,
                               top=1 - top_in / height_in, bottom=bottom_in / height_in,
                               hspace=hgap_in / panel_height_in, wspace=wgap_in / axes_w)
    axes = [figure.add_subplot(grid[i // n_cols, i % n_cols]) for i in range(n_panels)]
    return _GridLayout(figure, axes, n_cols, height_in, panel_height_in, status_lines)


def _single_axes_layout(height_in: float, *, left_in: float, right_in: float, top_in: float, bottom_in: float,
                        width_in: float = FIGURE_WIDTH_IN) -> _GridLayout:
    """A figure without a layout engine and one axes placed by its margins in inches: a
    one-panel :func:`_grid_layout`, whose title :func:`_grid_title` places."""
    figure = Figure(figsize=(width_in, height_in), layout=None)
    panel_height_in = height_in - top_in - bottom_in
    figure.add_axes((left_in / width_in, bottom_in / height_in,
                     1 - (left_in + right_in) / width_in, panel_height_in / height_in))
    return _GridLayout(figure, figure.axes, 1, height_in, panel_height_in, 0)


def _grid_title(layout: _GridLayout, text: str, width: int = 95):
    """The figure's title, top left (as :func:`_title`, placed for a hand-made layout)."""
    return layout.figure.suptitle(_plain(_wrap(text, width)), x=0.01, y=1 - 0.1 / layout.height_in, ha="left",
                           va="top", fontsize=12)


def _panel_title(ax, text: str, status_lines: int, colour: str = OKABE_ITO["black"],
                 bold: bool = False) -> None:
    """A panel's title, left, with room between it and the axes for ``status_lines`` of label.

    Its height is given (``y=1``), which stops matplotlib measuring every axis at draw time to
    see whether the title must move up (no panel here has tick labels on top); that check was
    a third of the time to save a grid.
    """
    ax.set_title(_plain(_wrap(text, GRID_TITLE_WIDTH)), loc="left", fontsize=10, color=colour, y=1.0,
                 fontweight="bold" if bold else "normal", pad=5.5 + status_lines * 9 * 1.2)


def _panel_label(ax, text: str, line: int = 0, colour: str = GREY_DARK, bold: bool = False):
    """A 9-pt label just above the axes (``line`` 0 nearest the axes), under the panel's title."""
    return ax.annotate(_plain(text), xy=(0, 1), xycoords="axes fraction", xytext=(0, 3 + line * 9 * 1.2),
                textcoords="offset points", ha="left", va="bottom", fontsize=9, color=colour,
                fontweight="bold" if bold else "normal", annotation_clip=False)


def _grid_legend(layout: _GridLayout, handles: list, ncol: int):
    return layout.figure.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.08 / layout.height_in),
                         ncol=ncol, frameon=False, borderaxespad=0, columnspacing=1.6, handletextpad=0.5)


def _frame(ax, colour: str) -> None:
    """Draw all four spines of a panel in ``colour`` (a panel with a signal)."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(colour)
        spine.set_linewidth(2.0)


def _no_panel(ax, text: str):
    """An empty panel that says why; returns the words' artist."""
    ax.set_axis_off()
    return ax.text(0.5, 0.5, _plain(text), ha="center", va="center", fontsize=9, color=GREY_DARK,
            transform=ax.transAxes)


def _sparse_log_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Log-axis ticks for a narrow panel: 1-2-5, else 1-3, else powers of ten."""
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10 ** e for e in range(0, 7) for m in mantissas if low <= m * 10 ** e <= high]
        if len(ticks) <= most:
            break
    return ticks


def _and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")


def _kpi_span(kpi_ids: Sequence[str]) -> str:
    if not kpi_ids:
        return ""
    return kpi_ids[0] if len(kpi_ids) == 1 else f"{kpi_ids[0]} to {kpi_ids[-1]}"


def _funnel_panel(kpi_id: str, table: pd.DataFrame | None, curve: pd.DataFrame | None) -> dict:
    """What one panel of :func:`funnel_grid` draws, worked out as :func:`funnel` does."""
    if _has_rows(table, FUNNEL_COLUMNS, f"{kpi_id} funnel"):
        rows = table.copy()
        rows.index = rows.index.astype(str)
        rows["n"] = pd.to_numeric(rows["n"], errors="coerce")
        rows["p"] = pd.to_numeric(rows["p"], errors="coerce")
        attrs = dict(table.attrs)
    else:
        rows, attrs = pd.DataFrame(columns=list(FUNNEL_COLUMNS)), {}
    shown = rows[(rows["n"] > 0) & rows["p"].notna()].copy()
    shown["pct"] = 100 * shown["p"]
    shown["status"] = shown["status"].astype(str)
    target = attrs.get("target")
    target_pct = 100 * float(target) if target is not None and pd.notna(target) else np.nan
    lines = pd.DataFrame(columns=list(CURVE_COLUMNS), dtype=float)
    if curve is not None and len(curve) and all(c in curve.columns for c in CURVE_COLUMNS):
        lines = curve[list(CURVE_COLUMNS)].apply(pd.to_numeric, errors="coerce").sort_values("n", kind="stable")
    top = 100.0
    if len(shown):
        in_range = lines[(lines["n"] >= shown["n"].min()) & (lines["n"] <= float(shown["n"].max()) * 1.1)]
        top = _pct_top(max(float(shown["pct"].max()),
                           float(100 * in_range[["high95", "high998"]].max().max()) if len(in_range) else 0.0,
                           target_pct if pd.notna(target_pct) else 0.0))
    return {"kpi_id": kpi_id, "rows": rows, "shown": shown, "attrs": attrs, "target_pct": target_pct,
            "lines": lines, "top": top, "left_off": len(rows) - len(shown)}


@_styled
def funnel_grid(tables: Mapping[str, pd.DataFrame] | None, curves: Mapping[str, pd.DataFrame] | None,
                names: Mapping[str, str] | None = None, highlight: str | None = None) -> Chart:
    """Funnel plots of several KPIs as small multiples in one figure (3 panels to a row).

    Parameters
    ----------
    tables : mapping
        KPI id → funnel table, as :func:`funnel` takes (indexed by service code; ``x``, ``n``,
        ``p``, limits, ``status``; ``attrs`` ``target``, ``phi``, ``tau2``, ``limits``). One panel
        each, in the mapping's order (KPI3 … KPI11 on a service page: a 3 × 3 grid).
    curves : mapping
        KPI id → limit curves (``n``, ``low95``, ``high95``, ``low998``, ``high998``), as
        :func:`fls_report.benchmarks.funnel_curve` gives; a KPI without one has no limits drawn.
    names : mapping, optional
        Code → name, for the highlighted service and the national level's name (the target's;
        by default "England and Wales").
    highlight : str, optional
        A service code to ring in every panel; each panel then says its status in words
        ("Alert, low: 41.2% of 310").

    Returns
    -------
    Chart
        Each panel as :func:`funnel` draws it (log-x, target, 95% and 99.8% limits, services by
        status in colour and shape, the vertical axis zoomed when everything fits below 100%),
        without the floating label; one legend for all panels. The alt text has a sentence per
        KPI (target, the service's value and status, φ, τ² and the limits used); the caption
        says which KPIs' limits were widened for over-dispersion and how many services each
        leaves off. A 3 × 3 grid is 9.5 × ~9.9 in.
    """
    tables = dict(tables or {})
    curves = dict(curves or {})
    kpi_ids = list(tables)
    national_name = _national_name(names)
    code = None if highlight is None else str(highlight)
    label = None if code is None else _name_of(code, names.get(code) if names is not None and code in names else None)
    title = f"Funnel plots of services, {_kpi_span(kpi_ids)}" if kpi_ids else "Funnel plots of services"
    if not kpi_ids:
        return _empty(title + (f": {label}" if label else ""), "No funnel table was given.")
    panels = [_funnel_panel(k, tables[k], curves.get(k)) for k in kpi_ids]
    ringed = code is not None and any(code in p["shown"].index for p in panels)
    title += f", with {label} ringed" if ringed else (f": {label} not shown" if label else "")
    left_off = [(p["kpi_id"], p["left_off"]) for p in panels if p["left_off"]]
    left_off_words = ("Left off, with no eligible records: " + ", ".join(
        f"{k} {_plural(n, 'service')}" for k, n in left_off) + ".") if left_off else ""
    if all(p["shown"].empty for p in panels):
        return _empty(title, f"No service has eligible records for {_kpi_span(kpi_ids)}. {left_off_words}".strip())

    n_cols = 3 if len(panels) >= 3 else len(panels)
    statuses = [s for s in FUNNEL_STATUS_STYLE if any((p["shown"]["status"] == s).any() for p in panels)]
    unknown_any = any((~p["shown"]["status"].isin(FUNNEL_DRAW_ORDER)).any() for p in panels)
    n_handles = 3 + len(statuses) + int(unknown_any) + int(ringed)
    legend_rows = math.ceil(n_handles / 3)
    layout = _grid_layout(
        len(panels), n_cols, 1.8, title_lines=_wrap(title, 95).count("\n") + 1,
        panel_title_lines=max(_wrap(_kpi_title(k), GRID_TITLE_WIDTH).count("\n") + 1 for k in kpi_ids),
        status_lines=1, bottom_extra_in=legend_rows * _LEGEND_ROW_IN + 0.1,
    )
    sentences, adjusted, exact, zoomed, not_shown, no_curves = [], [], [], [], {}, []
    changing = []  # what differs from service to service: drawn over a shared backdrop
    for i, (ax, panel) in enumerate(zip(layout.axes, panels)):
        kpi_id, shown, rows, attrs = panel["kpi_id"], panel["shown"], panel["rows"], panel["attrs"]
        target_pct, lines, top = panel["target_pct"], panel["lines"], panel["top"]
        _panel_title(ax, _kpi_title(kpi_id), 1)
        if shown.empty:
            _no_panel(ax, "No records to show:\nno service has eligible records")
            sentences.append(f"{kpi_id} {KPI_NAMES.get(kpi_id, kpi_id)}: no service has eligible records.")
            if code is not None:
                changing.append(_panel_label(ax, "Not shown: no eligible records", colour=HIGHLIGHT_COLOUR, bold=True))
                not_shown.setdefault("no eligible records" if code in panel["rows"].index
                                     else "not in the funnel table", []).append(kpi_id)
            continue
        x_low, x_top = max(0.7, float(shown["n"].min()) * 0.7), float(shown["n"].max()) * 1.1
        ax.set_xscale("log")
        ax.set_xlim(x_low, x_top)
        ax.xaxis.set_major_locator(FixedLocator(_sparse_log_ticks(x_low, x_top)))
        ax.xaxis.set_minor_locator(FixedLocator([]))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.grid(color=GREY_LIGHT, lw=0.5, zorder=0)
        if pd.notna(target_pct):
            ax.axhline(target_pct, color=OKABE_ITO["black"], lw=1.3, zorder=2)
        if len(lines):
            for suffix, style in (("95", (0, (6, 3))), ("998", (0, (1, 2)))):
                for side in ("low", "high"):
                    ax.plot(lines["n"], 100 * lines[f"{side}{suffix}"], color=GREY_DARK, lw=1.1, ls=style, zorder=2)
        else:
            no_curves.append(kpi_id)
        for z, status in enumerate(FUNNEL_DRAW_ORDER):
            points = shown[shown["status"] == status]
            if len(points):
                keywords = _status_keywords(status)
                keywords["s"] = keywords["s"] * GRID_MARKER_SCALE
                ax.scatter(points["n"], points["pct"], zorder=3 + z / 10, clip_on=False, **keywords)
        unknown = shown[~shown["status"].isin(FUNNEL_DRAW_ORDER)]
        if len(unknown):
            ax.scatter(unknown["n"], unknown["pct"], s=24 * GRID_MARKER_SCALE, marker="s", facecolors="white",
                       edgecolors=GREY_DARK, zorder=3, clip_on=False)
        if i % n_cols == 0:
            ax.set_ylabel("%")
        if not layout.has_panel_below(i):
            ax.set_xlabel("Patients eligible (log scale)")
        if top < 100:
            zoomed.append(f"{kpi_id} ({top:g}%)")
        limits_words = _limits_words(attrs)
        phi_words = f"{kpi_id} (φ = {_statistic(attrs.get('phi'))}, τ² = {_tau2_words(attrs.get('tau2'))})"
        (adjusted if attrs.get("limits") == LIMITS_ADJUSTED else exact).append(phi_words)

        outside = int((shown["status"] != "in control").sum())
        target_words = (f"target ({national_name}) {format_pct(target_pct)}" if pd.notna(target_pct)
                        else "no target given")
        service_words = ""
        if code is not None and code in shown.index:
            point = shown.loc[[code]].iloc[0]
            status = point["status"]
            changing.append(ax.scatter([point["n"]], [point["pct"]], s=150, marker="o", facecolors="none",
                                       edgecolors=HIGHLIGHT_COLOUR, linewidths=2.0, zorder=6, clip_on=False))
            where = f"{format_pct(point['pct'])} of {_count(point['n'])}"
            # Bold only outside the limits, so the panels that need a look stand out.
            changing.append(_panel_label(ax, f"{FUNNEL_STATUS_SHORT.get(status, f'Status {status}')}: {where}",
                                         colour=HIGHLIGHT_COLOUR, bold=status != "in control"))
            status_words = _status_phrase(status) if status in FUNNEL_STATUS_STYLE else f"status {status}"
            service_words = f"; {label} {format_pct(point['pct'])} of {_count(point['n'])} eligible, {status_words}"
        elif code is not None:
            why = "no eligible records" if code in rows.index else "not in the funnel table"
            changing.append(_panel_label(ax, f"Not shown: {why}", colour=HIGHLIGHT_COLOUR, bold=True))
            service_words = f"; {label} is not shown ({why})"
            not_shown.setdefault(why, []).append(kpi_id)
        else:
            changing.append(_panel_label(ax, f"{_plural(len(shown), 'service')}; {_count(outside)} outside the 95% "
                                         "limits"))
        sentences.append(
            f"{kpi_id} {KPI_NAMES.get(kpi_id, kpi_id)}: {target_words}{service_words}; "
            f"{_count(outside)} of {_plural(len(shown), 'service')} outside the 95% limits; {limits_words}."
        )

    changing.append(_grid_title(layout, title))
    handles = [
        Line2D([], [], color=OKABE_ITO["black"], lw=1.3, label=f"{national_name} (the target)"),
        Line2D([], [], color=GREY_DARK, lw=1.1, ls=(0, (6, 3)), label="95% limits (alert)"),
        Line2D([], [], color=GREY_DARK, lw=1.1, ls=(0, (1, 2)), label="99.8% limits (alarm)"),
    ]
    for status in statuses:
        style = FUNNEL_STATUS_STYLE[status]
        handle = _status_handle(status, 0)
        handle.set_label(style["words"])
        handle.set_markersize(math.sqrt(style["size"] * GRID_MARKER_SCALE) * 1.15)
        handles.append(handle)
    if unknown_any:
        handles.append(Line2D([], [], ls="none", marker="s", markerfacecolor="white", markeredgecolor=GREY_DARK,
                              label="No status given"))
    if ringed:
        handles.append(Line2D([], [], ls="none", marker="o", markersize=11, markerfacecolor="none",
                              markeredgecolor=HIGHLIGHT_COLOUR, markeredgewidth=2.0,
                              label=_plain(_short_label(label, 44))))
    changing.append(_grid_legend(layout, handles, ncol=3))

    limit_parts = []
    if adjusted:
        limit_parts.append(f"Limits were widened for over-dispersion (additive τ² on the arcsine scale) for "
                           f"{_and_list(adjusted)}.")
    if exact:
        limit_parts.append(f"Exact binomial limits, not widened for over-dispersion, for {_and_list(exact)}.")
    alt = (
        f"Funnel plots of {_plural(len(panels), 'KPI')} in one figure, one panel each: each service's percentage "
        f"against its number of patients eligible (log scale), with the {national_name} target and 95% "
        f"(alert) and 99.8% (alarm) limits" + (f"; {label} is ringed" if ringed else "") + ". "
        + " ".join(sentences)
        + (f" {left_off_words}" if left_off_words else "")
    )
    caption = (
        "Each panel is one KPI's funnel plot: a point is a service, placed by its number of patients eligible "
        f"(log scale) and its percentage; solid line: {national_name}, the target; dashed: 95% limits (alert); "
        "dotted: 99.8% limits (alarm); down triangles are below the limits and up triangles above, hollow for "
        "alert and filled for alarm. " + " ".join(limit_parts)
        + (f" {label} is ringed; each panel's label gives its status." if ringed else "")
        + (f" {label} is not shown for " + "; ".join(f"{_and_list(kpis)} ({why})" for why, kpis in not_shown.items())
           + "." if not_shown else "")
        + (f" {left_off_words}" if left_off_words else "")
        + (f" Vertical axes stop below 100% for {', '.join(zoomed)}." if zoomed else "")
        + (f" No limit curves were given for {', '.join(no_curves)}, so none are drawn there." if no_curves else "")
    )
    backdrop = backdrop_key(
        "funnel_grid", layout.figure.get_size_inches().tolist(), n_cols, _wrap(title, 95).count("\n"), legend_rows,
        *[(p["kpi_id"], p["top"], p["target_pct"], p["attrs"].get("limits")) for p in panels],
        *[p["shown"][["n", "pct", "status"]] for p in panels], *[p["lines"] for p in panels],
    )
    return Chart(figure=layout.figure, alt=alt, caption=caption, changing=tuple(changing), backdrop=backdrop)


def _runs_short(runs: Mapping | None) -> tuple[str, bool]:
    """A p-chart's runs analysis in a few words for a panel label, and whether it is a signal."""
    if not runs:
        return "Runs: no analysis given", False
    if int(runs.get("n_useful", 0) or 0) < MIN_USEFUL_POINTS:
        return "Runs: too few months to judge", False
    if not runs.get("signal"):
        return "Runs: no signal", False
    kinds = []
    longest_max, crossings_min = runs.get("longest_run_max"), runs.get("crossings_min")
    if pd.notna(longest_max) and runs.get("longest_run", 0) > longest_max:
        kinds.append("a shift")
    if pd.notna(crossings_min) and runs.get("crossings", 0) < crossings_min:
        kinds.append("too few crossings")
    return "Runs signal" + (f": {' and '.join(kinds)}" if kinds else ""), True


@_styled
def p_chart_grid(charts: Mapping[str, pd.DataFrame | None] | None, name: str | None = None) -> Chart:
    """p-charts of several KPIs for one unit as small multiples in one figure (3 panels to a row).

    Parameters
    ----------
    charts : mapping
        KPI id → p-chart frame, as :func:`p_chart` takes (``month``, ``x``, ``n``, ``p``, ``cl``,
        ``lcl``, ``ucl``, ``outside``; the runs analysis in ``attrs["runs"]``). One panel each, in
        the mapping's order. A KPI whose frame is None (too few months or records for a p-chart)
        or has no month with records gets no panel; the caption names it.
    name : str, optional
        The unit's name, for the title.

    Returns
    -------
    Chart
        Each panel as :func:`p_chart` draws it (monthly points and line, centre line, 3-sigma
        limits as steps, points outside as vermillion diamonds, the vertical axis zoomed to the
        points and limits), labelled with its centre line, the months outside and the runs
        result; a panel whose runs analysis signals has a vermillion frame. One legend. The alt
        text and caption give, per KPI, the centre line, the points outside and the runs result.
        An empty mapping gives a "No records to show" chart.
    """
    items = dict(charts or {})
    title = "p-charts" + (f": {name}" if name else "")
    needs = (f"A p-chart needs at least {benchmarks.P_CHART_MIN_MONTHS} months with eligible records and on "
             f"average at least {benchmarks.P_CHART_MIN_MEAN_DENOMINATOR} eligible records a month")
    if not items:
        return _empty(title, "No p-chart was given.")
    panels, left_out = [], []
    for kpi_id, frame in items.items():
        if frame is None or not _has_rows(frame, P_CHART_COLUMNS, f"{kpi_id} p_chart"):
            left_out.append(kpi_id)
            continue
        v = _p_chart_values(frame)
        if np.isnan(v["p"]).all():
            left_out.append(kpi_id)
            continue
        panels.append((kpi_id, frame, v))
    left_words = (f"No p-chart for {', '.join(left_out)}: {needs[:1].lower()}{needs[1:]}." if left_out else "")
    if not panels:
        return _empty(title, f"{needs}; no KPI here has one ({', '.join(left_out)}).")

    n_cols = 3 if len(panels) >= 3 else len(panels)
    kinds = {v["kind"] for _, _, v in panels}
    any_outside = any(v["outside"].any() for _, _, v in panels)
    runs_labels = {kpi_id: _runs_short(frame.attrs.get("runs")) for kpi_id, frame, _ in panels}
    signals = [kpi_id for kpi_id, (_, signal) in runs_labels.items() if signal]
    runs_lines = max(_wrap(text, GRID_STATUS_WIDTH).count("\n") + 1 for text, _ in runs_labels.values())
    n_handles = 3 + int(any_outside) + int(bool(signals))
    layout = _grid_layout(
        len(panels), n_cols, 1.75, title_lines=1,
        panel_title_lines=max(_wrap(_kpi_title(k), GRID_TITLE_WIDTH).count("\n") + 1 for k, _, _ in panels),
        status_lines=1 + runs_lines, bottom_extra_in=math.ceil(n_handles / 3) * _LEGEND_ROW_IN + 0.1,
        xlabel=False,
    )
    xlabel, sentences, summaries, gaps, zoom = "", [], [], [], False
    for i, (ax, (kpi_id, frame, v)) in enumerate(zip(layout.axes, panels)):
        bottom, top = _p_chart_range(v)
        zoom = zoom or (bottom, top) != (0, 100)
        _p_chart_draw(ax, v, bottom, top, small=True)
        xlabel = _month_axis(ax, v["months"], narrow=True)
        ax.grid(axis="y", color=GREY_LIGHT, lw=0.6)
        if i % n_cols == 0:
            ax.set_ylabel("%")
        runs = frame.attrs.get("runs")
        runs_label, signal = runs_labels[kpi_id]
        wrapped = _wrap(runs_label, GRID_STATUS_WIDTH)
        outside = int(v["outside"].sum())
        _panel_title(ax, _kpi_title(kpi_id), 2 + wrapped.count("\n"))
        _panel_label(ax, f"Centre line {format_pct(v['centre'])}; {_plural(outside, 'month')} outside",
                     line=wrapped.count("\n") + 1, colour=OKABE_ITO["black"])
        _panel_label(ax, wrapped, colour=SIGNAL_COLOUR if signal else OKABE_ITO["black"], bold=signal)
        if signal:
            _frame(ax, SIGNAL_COLOUR)
        outside_words = _p_outside_words(v)
        months = v["months"]
        sentences.append(
            f"{_kpi_title(kpi_id)}: monthly percentages {format_pct(np.nanmin(v['p']))} to "
            f"{format_pct(np.nanmax(v['p']))} over {months[0]} to {months[-1]} around a centre line of "
            f"{format_pct(v['centre'])}, {_p_limit_words(v['kind'])} ({_p_limits_range(v)}); {outside_words}; "
            f"runs analysis: {_runs_words(runs)}."
        )
        summaries.append(f"{kpi_id}: centre line {format_pct(v['centre'])}; {outside_words}; "
                         f"{runs_label[:1].lower()}{runs_label[1:]}")
        if v["gaps"]:
            gaps.append(f"{kpi_id} {_plural(v['gaps'], 'month')}")
    _grid_title(layout, f"{title}, by {xlabel[0].lower()}{xlabel[1:]}")
    limit_label = "3-sigma control limits" + (" (Laney p′)" if kinds == {"p'"} else "")
    handles = [
        Line2D([], [], color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4, label="Monthly %"),
        Line2D([], [], color=MEDIAN_COLOUR, lw=1.4, label="Centre line"),
        Line2D([], [], color=GREY_DARK, lw=1.2, ls=(0, (5, 3)), label=limit_label),
    ]
    if any_outside:
        handles.append(Line2D([], [], ls="none", marker="D", markersize=6, color=SIGNAL_COLOUR,
                              markeredgecolor=OKABE_ITO["black"], markeredgewidth=0.6, label="Outside the limits"))
    if signals:
        handles.append(Patch(facecolor="white", edgecolor=SIGNAL_COLOUR, lw=2, label="Runs signal (framed panel)"))
    _grid_legend(layout, handles, ncol=min(3, len(handles)) if len(handles) > 3 else len(handles))

    laney = [k for k, _, v in panels if v["kind"] == "p'"]
    alt = (
        f"p-charts of {_plural(len(panels), 'KPI')}" + (f" for {name}" if name else "")
        + ", one panel each: the monthly percentage against its centre line and 3-sigma control limits. "
        + " ".join(sentences)
        + (f" {left_words}" if left_words else "")
    )
    caption = (
        "Monthly percentage (points) with its centre line (solid: the pooled percentage) and 3-sigma control "
        "limits (dashed), which vary with each month's denominator; diamonds fall outside the limits"
        + ("; a framed panel has a runs signal (Anhøj rules around the centre line)" if signals else "")
        + ". " + ". ".join(summaries) + "."
        + (f" Laney p′ limits for {', '.join(laney)}." if laney and kinds != {"p'"} else "")
        + (" Vertical axes are zoomed to each panel's points and limits." if zoom else "")
        + (f" Months without eligible records are gaps: {', '.join(gaps)}." if gaps else "")
        + (f" {left_words}" if left_words else "")
    )
    return Chart(figure=layout.figure, alt=alt, caption=caption)


TIME_TO_EVENT_PAIR = ("assessment", "dxa")


@_styled
def time_to_event_pair(tte: pd.DataFrame, code: str, limits: Mapping[str, int] | None = None,
                       name: str | None = None, max_days: int = 365, national_name: str | None = None) -> Chart:
    """Days from fracture to FLS assessment and to DXA, side by side in one figure.

    Parameters
    ----------
    tte : pandas.DataFrame
        ``time_to_event`` (see :func:`time_to_event_summary`).
    code : str
        The service code (or a nation code, or ``NATIONAL`` for the national curves alone).
    limits : mapping, optional
        ``{"assessment": days, "dxa": days}``: where to draw each KPI's limit (the run's
        ``assessment_days`` and ``dxa_days``); a missing entry uses the parameter's default (90).
    name : str, optional
        The service name, for the title and legends.
    max_days : int, default 365
        The last day drawn; events later than this still count in the medians.
    national_name : str, optional
        The run's national name (``kpi_results``); by default "England and Wales".

    Returns
    -------
    Chart
        Two panels with what two :func:`time_to_event` charts show: the cumulative % with the
        event by each day, for the service and the national level, a line at the limit, and a
        legend under each panel with each curve's % by the limit, median and IQR. An event the
        service has no records with gets a panel that says so; with neither, a "No records to
        show" chart.
    """
    limits = dict(limits or {})
    label = _name_of(code, name)
    national_name = _name_of(NATIONAL, national_name)
    title = f"Days from fracture to FLS assessment and to DXA scan: {label}"
    days = {e: int(limits[e]) if limits.get(e) is not None else EVENT_LIMIT_DEFAULTS.get(e, 90)
            for e in TIME_TO_EVENT_PAIR}
    summaries = {e: time_to_event_summary(tte, code, e) for e in TIME_TO_EVENT_PAIR}
    has = {e: summaries[e]["records"] > 0 and summaries[e]["with_event"] > 0 for e in TIME_TO_EVENT_PAIR}
    if not any(has.values()):
        return _empty(title, f"{label} has no records with an FLS assessment or a DXA scan on or after the "
                             "fracture date.")
    entries = 2 if code != NATIONAL else 1
    legend_in = entries * (3 * _LINE_9_IN + 0.1) + 0.1
    layout = _grid_layout(2, 2, 3.0, title_lines=_wrap(title, 95).count("\n") + 1, panel_title_lines=1,
                          status_lines=0, bottom_extra_in=legend_in, left_in=0.75, wgap_in=0.85, right_in=0.25)
    alts, later, missing = [], [], []
    changing, fixed = [], []  # what differs from service to service is drawn over a shared backdrop
    for ax, event in zip(layout.axes, TIME_TO_EVENT_PAIR):
        event_words = EVENT_LABELS.get(event, event)
        an_event = f"{EVENT_ARTICLES.get(event, 'a')} {event_words}"
        ax.set_title(f"{event_words[:1].upper()}{event_words[1:]} (limit {days[event]} days)", loc="left",
                     fontsize=10, pad=6, y=1.0)
        if not has[event]:
            changing.append(_no_panel(ax, f"{NO_RECORDS}:\n{_wrap(label, 40)}\nhas no records with {an_event}\n"
                                          "on or after the fracture date"))
            fixed.append((event, None))
            missing.append(f"{label} has no records with {an_event} on or after the fracture date.")
            alts.append(f"{event_words}: {label} has no records with {an_event} on or after the fracture date.")
            continue
        handles, words, last_day, own = _tte_panel(ax, tte, code, event, days[event], max_days, label,
                                                   summaries[event], narrow=True, national_name=national_name)
        changing.extend(own)
        fixed.append((event, days[event], last_day, code == NATIONAL))
        changing.append(ax.legend(
            handles=handles, loc="upper left", frameon=False, borderaxespad=0, handlelength=1.8,
            bbox_to_anchor=(0, -(_TICK_LABELS_IN + _LINE_10_IN + 0.14) / layout.panel_height_in)))
        alts.append(f"{event_words}: " + _tte_alt(event, days[event], last_day, words))
        if _tte_later_words(words, last_day):
            later.append(_tte_later_words(words, last_day))
    changing.append(_grid_title(layout, title))
    alt = "Two step charts side by side. " + " ".join(f"{'Left' if i == 0 else 'Right'}, {text}"
                                                     for i, text in enumerate(alts))
    caption = (
        f"Cumulative % of {EVENT_DENOMINATORS['assessment']} with an FLS assessment (left) and of "
        f"{EVENT_DENOMINATORS['dxa']} with a DXA scan (right) by each day after the fracture, against "
        f"{national_name}; dotted lines: the KPI limits. The median and interquartile range (IQR) are of days ≥ 0 among "
        "those with the event. Records without one, or with a date before the fracture, stay in the denominator."
        + (f" {' '.join(later)}" if later else "")
        + (f" {' '.join(missing)}" if missing else "")
    )
    backdrop = backdrop_key("time_to_event_pair", layout.figure.get_size_inches().tolist(), entries, fixed,
                            national_name, tte[tte["code"].astype(str) == NATIONAL])
    return Chart(figure=layout.figure, alt=alt, caption=caption, changing=tuple(changing), backdrop=backdrop)


__all__ = [
    "Chart",
    "caterpillar",
    "identification",
    "case_mix",
    "monthly_lines",
    "time_to_event",
    "time_to_event_summary",
    "completeness_heatmap",
    "completeness_bars",
    "funnel",
    "run_charts",
    "p_chart",
    "funnel_grid",
    "p_chart_grid",
    "time_to_event_pair",
    "format_pct",
    "OKABE_ITO",
    "RAG_COLOURS",
]
