"""Figures as PNG bytes: drawn at :data:`~fls_report.charts.style.DPI` and encoded without any
date or software metadata, so the same pixels always give the same bytes."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fls_report.charts.style import DPI

#: zlib level for the PNGs: level 3 writes them in about half the time of the default (6), and
#: for these flat-coloured charts the files come out no larger.
PNG_COMPRESS_LEVEL = 3
#: Colours in a chart PNG's palette (see :func:`_png_bytes`).
PALETTE_COLOURS = 256


def _png(figure: Figure) -> bytes:
    """The whole figure drawn at :data:`DPI`, as PNG bytes (see :func:`_png_bytes`)."""
    figure.set_dpi(DPI)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return _png_bytes(np.asarray(canvas.buffer_rgba()))


def _png_bytes(rgba: np.ndarray) -> bytes:
    """RGBA pixels as PNG: a 256-colour palette when every pixel is opaque (the charts have a white
    background), no metadata beyond the resolution, so the same pixels always give the same bytes."""
    from PIL import Image

    image = Image.fromarray(rgba, "RGBA")
    if rgba[..., 3].min() == 255:
        # Drawn at twice the size shown (sharp at 200% zoom), a page's charts would weigh over
        # 2 MB as full-colour PNG. Flat-coloured charts lose nothing visible in a 256-colour
        # palette (no channel moves by more than a few levels), which halves the bytes.
        image = image.convert("RGB").quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MAXCOVERAGE,
                                               dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=PNG_COMPRESS_LEVEL, dpi=(DPI, DPI))
    return buffer.getvalue()
