"""PNG encoding (``fls_report/charts/png.py``): a palette that keeps a chart's colours, exact where
there are few, the same bytes for the same pixels, full colour where a pixel is see-through."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from fls_report.charts.png import PALETTE_COLOURS, _nearest, _png_bytes
from test_charts import (BUILDERS, case_mix_table, fields, funnel_inputs, grid_funnels, p_frame,  # noqa: F401
                         p_frames, reference_monthly, results, run_inputs, run_points, tables, tte, tte_summary)


def _decoded(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def _drawn(chart) -> np.ndarray:
    """The chart's pixels as drawn, before any encoding."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from fls_report.charts.style import DPI, _house_style

    with _house_style():
        chart.figure.set_dpi(DPI)
        canvas = FigureCanvasAgg(chart.figure)
        canvas.draw()
        return np.array(canvas.buffer_rgba())


def _colour_counts(rgb: np.ndarray) -> dict[tuple, int]:
    colours, counts = np.unique(rgb.reshape(-1, 3), axis=0, return_counts=True)
    return {tuple(int(v) for v in c): int(n) for c, n in zip(colours, counts)}


def test_few_colours_come_through_exactly():
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, size=(200, 3), dtype=np.uint8)
    rgb = colours[rng.integers(0, 200, size=(60, 80))]
    rgba = np.dstack([rgb, np.full((60, 80), 255, np.uint8)])
    image = _decoded(_png_bytes(rgba))
    assert image.mode == "P"
    assert np.array_equal(np.asarray(image.convert("RGBA")), rgba)


def test_each_colour_takes_the_nearest_palette_entry_the_first_of_equals():
    """The matrix-product distance picks exactly the entry the direct difference picks, ties
    included (two equal entries, and colours halfway between two)."""
    rng = np.random.default_rng(7)
    colours = rng.integers(0, 256, (2000, 3)).astype(np.uint8)
    palette = rng.integers(0, 256, (255, 3)).astype(np.uint8)
    palette[40] = palette[12]  # two equal entries: the first wins
    palette[100], palette[101] = (10, 10, 10), (12, 10, 10)
    colours[:3] = [(11, 10, 10), (0, 0, 0), (255, 255, 255)]  # halfway between 100 and 101
    direct = ((colours[:, None, :].astype(np.int64) - palette[None].astype(np.int64)) ** 2).sum(axis=2).argmin(axis=1)
    found = _nearest(colours, palette)
    assert found.dtype == np.uint8 and (found == direct).all()
    assert found[0] == 100 and 40 not in found


def test_a_chart_keeps_white_exactly_and_moves_other_colours_a_few_levels(tables):
    """A funnel grid drawn at twice the size shown has well over 256 colours (anti-aliased edges):
    white comes through exactly, and no channel of any pixel moves further than Pillow's own
    max-coverage cut of the whole picture moves it (the encoder's former way), nor by more than 8."""
    rgba = _drawn(BUILDERS["funnel_grid"](tables))
    rgb = rgba[..., :3]
    assert len(_colour_counts(rgb)) > PALETTE_COLOURS  # the palette has to choose
    image = _decoded(_png_bytes(rgba))
    assert image.mode == "P" and len(image.getcolors(PALETTE_COLOURS)) <= PALETTE_COLOURS
    moved = np.abs(np.asarray(image.convert("RGB")).astype(int) - rgb.astype(int)).max(axis=2)
    white = (rgb == 255).all(axis=2)
    assert white.mean() > 0.5 and moved[white].max() == 0
    whole = Image.fromarray(np.ascontiguousarray(rgb), "RGB").quantize(
        colors=PALETTE_COLOURS, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    whole_moved = np.abs(np.asarray(whole.convert("RGB")).astype(int) - rgb.astype(int)).max(axis=2)
    assert moved.max() <= min(whole_moved.max(), 8)
    assert moved.mean() <= whole_moved.mean()


def test_the_same_pixels_give_the_same_bytes_and_no_metadata(tables):
    rgba = _drawn(BUILDERS["run_charts"](tables))
    first, second = _png_bytes(rgba), _png_bytes(rgba.copy())
    assert first == second
    assert b"tEXt" not in first and b"tIME" not in first and b"iTXt" not in first


def test_see_through_pixels_keep_full_colour():
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = np.arange(12) * 20
    rgba[..., 3] = 128
    image = _decoded(_png_bytes(rgba))
    assert image.mode == "RGBA"
    assert np.array_equal(np.asarray(image), rgba)
