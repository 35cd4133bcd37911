"""The charts' canvas (``fls_report/charts/canvas.py``): text measured, laid out and rendered once
per process, with exactly the pixels of matplotlib's own Agg canvas."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fls_report.charts import canvas
from fls_report.charts.style import DPI, _house_style
from test_charts import (BUILDERS, case_mix_table, fields, funnel_inputs, grid_funnels, p_frame,  # noqa: F401
                         p_frames, reference_monthly, results, run_inputs, run_points, tables, tte, tte_summary)


@pytest.fixture()
def empty_caches(monkeypatch):
    """The text caches empty for the test (the module's own are left as they were)."""
    for name in ("_METRICS", "_LAYOUTS", "_GLYPHS"):
        monkeypatch.setattr(canvas, name, {})


def _pixels(figure: Figure, canvas_class) -> np.ndarray:
    with _house_style():
        figure.set_dpi(DPI)
        drawing = canvas_class(figure)
        drawing.draw()
        return np.array(drawing.buffer_rgba(), copy=True)


def _text_of_every_kind(shift: float = 0.0) -> Figure:
    """Words as the charts write them, and more: sizes, weights, styles, angles, anchors, colours,
    several lines, symbols and accents, mathtext, text without antialiasing; placed at
    positions that fall at every fraction of a pixel (``shift`` moves them all)."""
    figure = Figure(figsize=(6, 4))
    ax = figure.add_axes((0.12, 0.15, 0.8, 0.7))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.set_title("Run charts: Ysbyty Gwynedd – Betsi Cadwaladr (W41), by month")
    ax.set_xlabel("Month of fracture (2016)")
    ax.set_ylabel("% of patients")
    for i in range(12):
        ax.text(0.37 * i + shift, 0.5 + 0.61 * i, f"KPI{i} {i * 7.3:.1f}% ≥ 80%", fontsize=7 + i % 5,
                rotation=(0, 30, 45, 90, -15)[i % 5], rotation_mode=("default", "anchor")[i % 2],
                fontweight=("normal", "bold")[i % 3 == 0], fontstyle=("normal", "italic")[i % 4 == 1],
                color=("black", "#D55E00", "#0072B2")[i % 3])
    ax.text(5 + shift, 8, "Two lines of words\nand a second, longer one: Müller, Ōtā", ha="center", va="top")
    ax.text(7 + shift, 2, r"$p = 0.05,\ \chi^2$ and plain text", fontsize=9)
    ax.text(1 + shift, 9, "Not antialiased", antialiased=False, fontsize=11)
    ax.annotate("Alarm low: Hospital E", xy=(3, 3), xytext=(4.13 + shift, 5.07), arrowprops={"arrowstyle": "->"})
    ax.legend(handles=ax.plot([1, 2], [1, 2], label="Monthly %"), loc="lower right")
    return figure


def test_text_of_every_kind_has_exactly_aggs_pixels(empty_caches):
    plain = _pixels(_text_of_every_kind(), FigureCanvasAgg)
    first = _pixels(_text_of_every_kind(), canvas.Canvas)  # the caches fill
    again = _pixels(_text_of_every_kind(), canvas.Canvas)  # every string and glyph from the caches
    assert np.array_equal(first, plain)
    assert np.array_equal(again, plain)


@pytest.mark.parametrize("shift", [0.001, 0.013, 0.5, 1.0, 2.37])
def test_glyphs_moved_by_any_distance_have_exactly_aggs_pixels(shift):
    """Glyphs cached at one place are drawn at another: whole pixels, fractions and both."""
    _pixels(_text_of_every_kind(), canvas.Canvas)
    assert np.array_equal(_pixels(_text_of_every_kind(shift), canvas.Canvas),
                          _pixels(_text_of_every_kind(shift), FigureCanvasAgg))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_chart_has_exactly_aggs_pixels(name, tables):
    assert np.array_equal(_pixels(BUILDERS[name](tables).figure, canvas.Canvas),
                          _pixels(BUILDERS[name](tables).figure, FigureCanvasAgg))


@pytest.mark.skipif(not canvas.CACHED_TEXT, reason="this matplotlib has no glyph-by-glyph text drawing to cache")
def test_a_second_drawing_takes_its_text_from_the_caches(empty_caches, monkeypatch):
    """Drawn again, the same figure measures, lays out and renders no glyph afresh."""
    _pixels(_text_of_every_kind(), canvas.Canvas)
    assert canvas._METRICS and canvas._LAYOUTS and canvas._GLYPHS
    sizes = (len(canvas._METRICS), len(canvas._LAYOUTS), len(canvas._GLYPHS))
    rendered = []
    monkeypatch.setattr(canvas, "_remember", lambda cache, key, value: rendered.append(key) or value)
    _pixels(_text_of_every_kind(), canvas.Canvas)
    assert rendered == []
    assert (len(canvas._METRICS), len(canvas._LAYOUTS), len(canvas._GLYPHS)) == sizes


def test_a_full_cache_starts_again(monkeypatch):
    monkeypatch.setattr(canvas, "MAX_ENTRIES", 3)
    cache = {}
    for i in range(3):
        canvas._remember(cache, i, i)
    assert cache == {0: 0, 1: 1, 2: 2}
    canvas._remember(cache, 3, 3)
    assert cache == {3: 3}


def test_the_pngs_are_drawn_on_the_caching_canvas(tables, monkeypatch):
    """``Chart.to_png`` (whole and over a backdrop) draws through :class:`canvas.Canvas`."""
    drawn = []
    original = canvas.Canvas.get_renderer
    monkeypatch.setattr(canvas.Canvas, "get_renderer", lambda self: drawn.append(self) or original(self))
    BUILDERS["case_mix"](tables).to_png()
    BUILDERS["funnel_grid"](tables).to_png()
    assert len({id(c.figure) for c in drawn}) == 2
