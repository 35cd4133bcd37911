"""Where things go on a figure: figures and titles, the label of a highlighted point, percentage
and month axes, the hand-made grid layouts of the combined figures, panel titles, labels,
frames and legends."""

from __future__ import annotations

import calendar
import functools
import math
from dataclasses import dataclass
from typing import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.markers import TICKDOWN
from matplotlib.ticker import FixedLocator, NullLocator

from fls_report.charts.style import FIGURE_WIDTH_IN, GREY_DARK, HIGHLIGHT_COLOUR, OKABE_ITO, _house_style
from fls_report.charts.words import _plain, _wrap

# ---------------------------------------------------------------------------------------------
# Figures, titles and labels


def _figure(height_in: float, width_in: float = FIGURE_WIDTH_IN) -> Figure:
    return Figure(figsize=(width_in, height_in), layout="constrained")


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


# ---------------------------------------------------------------------------------------------
# Percentage and month axes


def _pct_axis_top(*series: pd.Series) -> float:
    """The top of a 0–100 percentage axis, extended (to a multiple of 10) when values exceed 100."""
    values = pd.concat([pd.Series(s, dtype=float) for s in series], ignore_index=True).dropna()
    top = float(values.max()) if len(values) else 100.0
    return 100.0 if top <= 100 else 10 * math.ceil(top * 1.04 / 10)


#: Tops of a zoomed percentage axis: the smallest that holds every value and limit is used.
NICE_PCT_TOPS = (10, 20, 30, 40, 50, 60, 80)


def _pct_top(highest: float) -> float:
    """Top of a 0-based percentage axis: the smallest of :data:`NICE_PCT_TOPS` that holds
    ``highest`` with a little room; else 100 (or more, for values over 100)."""
    if pd.isna(highest):
        return 100.0
    for top in NICE_PCT_TOPS:
        if highest * 1.05 <= top:
            return float(top)
    return _pct_axis_top(pd.Series([highest]))


def _month_labels(months: list[str]) -> tuple[list[str], str]:
    """Tick labels for ``YYYY-MM`` months and a words for the axis label."""
    if len(months) <= 12:
        labels = [calendar.month_abbr[int(m[5:7])] for m in months]
        years = sorted({m[:4] for m in months})
        span = years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}"
        return labels, f"Month of fracture ({span})"
    return list(months), "Month of fracture"


def _month_axis(ax, months: Sequence[str]) -> str:
    """Month ticks on a 0 … len(months) − 1 axis of a panel a third of a page wide (quarters up
    to 12 months, half years up to 24, else years); returns the axis words, e.g. "Month of
    fracture (2016)"."""
    labels, words = _month_labels(list(months))
    x = np.arange(len(months))
    numbers = [int(m[5:7]) for m in months]
    labelled = {1, 4, 7, 10} if len(months) <= 12 else {1, 7} if len(months) <= 24 else {1}
    if len(months) <= 4:
        major = list(x)
    else:
        major = [i for i, number in enumerate(numbers) if number in labelled] or list(x)
    ax.xaxis.set_major_locator(FixedLocator(major))
    _minor_ticks(ax, [i for i in x if i not in set(major)])
    # Both ways given in full: a kept panel (charts.backdrop.kept_grid) has the last chart's tick labels.
    tilt = ({"rotation": 0, "ha": "center", "rotation_mode": "default"} if len(months) <= 12
            else {"rotation": 30, "ha": "right", "rotation_mode": "anchor"})
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


# ---------------------------------------------------------------------------------------------
# Figures laid out by hand
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


# ---------------------------------------------------------------------------------------------
# Panels


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
