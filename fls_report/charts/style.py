"""The charts' house style: the Okabe–Ito palette and the colours with a meaning, figure sizes,
the resolution, and the matplotlib rc settings every chart is drawn under.

Colour is never the only signal (bands are named in words, low numbers are hollow, statuses
differ in marker shape as well), so every colour here has a word or a shape beside it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import matplotlib.style

from fls_report.kpis import ENGLAND, NATIONAL, NORTHERN_IRELAND, WALES

if TYPE_CHECKING:
    from fls_report.charts.chart import Chart

# ---------------------------------------------------------------------------------------------
# Palette

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
#: A run chart's signal (framed panel, the shift's points) and a p-chart's points outside its limits.
SIGNAL_COLOUR = OKABE_ITO["vermillion"]
#: A run chart's median and a p-chart's centre line.
MEDIAN_COLOUR = OKABE_ITO["blue"]
#: The comparison unit's line in :func:`~fls_report.charts.run_charts` (thin, grey, behind the
#: unit's own line).
REFERENCE_COLOUR = GREY_MID
#: Sequential light-to-dark single-hue map for the share missing (readable in grey scale).
MISSING_CMAP = "Blues"

# ---------------------------------------------------------------------------------------------
# Sizes and the house rc settings

FIGURE_WIDTH_IN = 9.0
#: A figure is shown at 96 CSS pixels an inch and drawn at twice that, so that it stays sharp at
#: 200% zoom (WCAG 1.4.4) and on high-density screens.
CSS_PX_PER_IN = 96
DPI = 2 * CSS_PX_PER_IN
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


def _house_style():
    """matplotlib's defaults plus :data:`STYLE`, whatever the caller's rcParams (restored after)."""
    return matplotlib.style.context(["default", STYLE])


def _styled(draw: Callable[..., Chart]) -> Callable[..., Chart]:
    """Draw under the house rc settings without changing the caller's rcParams."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> Chart:
        with _house_style():
            return draw(*args, **kwargs)

    return wrapper
