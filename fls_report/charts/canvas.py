"""The canvas every chart is drawn on: matplotlib's Agg, with its text work done once per process.

A build's reports draw the same words again and again: every run-chart panel's month ticks, every
funnel's axis labels, every legend, in every service's report, in the same warm kernel. Agg lays
out each string and renders each of its glyphs afresh every time it is drawn or measured, about
a seventh of a service report's time. :class:`TextCachingRenderer` keeps, for the life of the
process,

* each string's measurements and layout, by font, size, resolution and hinting; and
* each glyph's rendered bitmap, by font, size, resolution, angle, hinting and its position within
  a pixel (1/64 of a pixel, FreeType's unit): a glyph drawn a whole number of pixels further on
  is the same bitmap moved, so it is rendered once and placed.

The pixels are exactly Agg's own (a test draws text of every kind both ways and compares them).
The renderer reuses matplotlib 3.11's private text-drawing steps (``FT2Font._layout``,
``_set_transform`` and ``_render_glyph``); with a matplotlib without them, charts are drawn on
plain Agg, as before (:data:`CACHED_TEXT`).
"""

from __future__ import annotations

import math
import weakref

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text

try:
    from matplotlib.ft2font import RenderMode
except ImportError:  # matplotlib before 3.11: no RenderMode, no glyph-by-glyph text drawing
    RenderMode = None

#: Whether this matplotlib draws text glyph by glyph through the private steps the cache reuses.
CACHED_TEXT = RenderMode is not None and all(
    hasattr(FT2Font, name) for name in ("_layout", "_set_transform", "_render_glyph")
) and hasattr(RendererAgg, "_draw_text_glyphs_and_boxes")

#: Kept entries above which a cache is emptied and starts again (a build holds a few thousand).
MAX_ENTRIES = 100_000

#: Figures kept to be drawn on again, by :mod:`~fls_report.charts.backdrop`: after each drawing,
#: :meth:`Canvas.release` makes their texts forget the renderer.
KEPT_FIGURES: "weakref.WeakSet[Figure]" = weakref.WeakSet()

_METRICS: dict[tuple, tuple[float, float, float]] = {}
_LAYOUTS: dict[tuple, list] = {}
_GLYPHS: dict[tuple, tuple[np.ndarray, int, int]] = {}


def _remember(cache: dict, key: tuple, value):
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[key] = value
    return value


class TextCachingRenderer(RendererAgg):
    """Agg, with plain (not math or TeX) text measured, laid out and rendered once per process."""

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        font = self._prepare_font(prop)
        flags = get_hinting_flag()
        key = (font, prop.get_size_in_points(), self.dpi, s, flags)
        found = _METRICS.get(key)
        if found is None:
            found = _remember(_METRICS, key, super().get_text_width_height_descent(s, prop, ismath))
        return found

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        font = self._prepare_font(prop)
        flags = get_hinting_flag()
        size = prop.get_size_in_points()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        key = (font, size, self.dpi, s, flags, features, language)
        items = _LAYOUTS.get(key)
        if items is None:
            items = _remember(_LAYOUTS, key, font._layout(s, flags=flags, features=features, language=language))
        self._draw_glyphs(gc, x, y, angle, [(item.ft_object, size, item.glyph_index, item.x, item.y) for item in items])

    def _draw_glyphs(self, gc, x, y, angle, glyphs):
        """Agg's ``_draw_text_glyphs_and_boxes`` for upright, unslanted glyphs and no boxes, each
        glyph rendered once per font, size, angle and position within a pixel."""
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        flags = get_hinting_flag()
        antialiased = bool(gc.get_antialiased())
        matrix = None
        for font, size, glyph_index, dx, dy in glyphs:  # dy is upwards; y is downwards
            # The glyph's origin in FreeType's 1/64 pixels, y upwards: whole pixels and the rest.
            gx = round(0x40 * (x + dx * cos - dy * sin))
            gy = round(0x40 * (self.height - y + dx * sin + dy * cos))
            key = (font, size, self.dpi, glyph_index, angle, gx & 0x3F, gy & 0x3F, flags, antialiased)
            found = _GLYPHS.get(key)
            if found is None:
                if matrix is None:
                    matrix = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
                font.set_size(size, self.dpi)
                font._set_transform(matrix, [gx & 0x3F, gy & 0x3F])
                bitmap = font._render_glyph(glyph_index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
                buffer = np.array(bitmap.buffer, copy=True)
                if not antialiased:
                    buffer *= 0xFF
                found = _remember(_GLYPHS, key, (buffer, bitmap.left, bitmap.top))
            buffer, left, top = found
            # draw_text_image's y is downwards and names the bitmap's bottom side.
            self._renderer.draw_text_image(buffer, left + (gx >> 6), int(self.height) - (top + (gy >> 6)) + buffer.shape[0],
                                           0, gc)


class Canvas(FigureCanvasAgg):
    """An Agg canvas drawing with :class:`TextCachingRenderer` (plain Agg where
    :data:`CACHED_TEXT` is false)."""

    def get_renderer(self):
        if not CACHED_TEXT:
            return super().get_renderer()
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = TextCachingRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer

    def release(self) -> None:
        """Forget the renderer and its pixel buffers (five bytes a pixel: about 12 MB for a page of
        run charts), so that a figure kept to be drawn on again (:mod:`~fls_report.charts.backdrop`)
        does not hold them between drawings; the next drawing makes a new renderer, as it would
        on a new canvas.

        A text keeps the renderer that last drew or measured it (``Text._renderer``, for measuring
        itself later), so the texts of a kept figure (:data:`KEPT_FIGURES`) would hold it too:
        they are told to forget it, as matplotlib itself does when it pickles a text. (Other
        figures go, their texts and renderer with them, so their texts are not walked.)
        """
        if self.figure in KEPT_FIGURES:
            for text in self.figure.findobj(Text):
                text._renderer = None
        self.renderer, self._lastKey = None, None
