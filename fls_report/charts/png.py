"""Figures as PNG bytes: drawn at :data:`~fls_report.charts.style.DPI` and encoded without any
date or software metadata, so the same pixels always give the same bytes."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fls_report.charts.canvas import Canvas
from fls_report.charts.style import DPI

#: zlib level for the PNGs: level 3 writes them in about half the time of the default (6), and
#: for these flat-coloured charts the files come out no larger.
PNG_COMPRESS_LEVEL = 3
#: Colours in a chart PNG's palette (see :func:`_png_bytes`).
PALETTE_COLOURS = 256
#: An opaque white pixel, as the four RGBA bytes read as one native-order 32-bit word.
_WHITE = np.frombuffer(bytes([255, 255, 255, 255]), dtype=np.uint32)[0]


def _png(figure: Figure) -> bytes:
    """The whole figure drawn at :data:`DPI`, as PNG bytes (see :func:`_png_bytes`)."""
    figure.set_dpi(DPI)
    canvas = Canvas(figure)
    try:
        canvas.draw()
        return _png_bytes(np.asarray(canvas.buffer_rgba()))
    finally:
        canvas.release()


def _png_bytes(rgba: np.ndarray) -> bytes:
    """RGBA pixels as PNG: a 256-colour palette when every pixel is opaque (the charts have a white
    background), no metadata beyond the resolution, so the same pixels always give the same bytes.

    Drawn at twice the size shown (sharp at 200% zoom), a page's charts would weigh over 2 MB as
    full-colour PNG; in a palette they weigh half (see :func:`_palette_image`).
    """
    from PIL import Image

    if rgba[..., 3].min() == 255:
        image = _palette_image(rgba)
    else:
        image = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=PNG_COMPRESS_LEVEL, dpi=(DPI, DPI))
    return buffer.getvalue()


def _palette_image(rgba: np.ndarray):
    """Opaque RGBA pixels as a palette image of at most :data:`PALETTE_COLOURS` colours.

    White, nine pixels in ten of a chart, keeps its own entry, exactly. The other pixels are
    reduced on their own: when they hold fewer than 256 colours each keeps its own entry (exact);
    otherwise Pillow's max-coverage cut of just those pixels chooses 255 entries and each colour
    takes its nearest. No channel moves by more than a few levels (no more than quantising the
    whole picture moves it), which no one can see, and it takes a third of the time, which a
    report pays for every figure.
    """
    from PIL import Image

    height, width = rgba.shape[:2]
    words = np.ascontiguousarray(rgba).view(np.uint32).reshape(-1)
    coloured = words != _WHITE
    codes, distinct = pd.factorize(words[coloured], sort=False)  # in order of first appearance
    colours = np.asarray(distinct, dtype=np.uint32).view(np.uint8).reshape(-1, 4)[:, :3]
    if len(colours) < PALETTE_COLOURS:
        palette, nearest = colours, np.arange(len(colours), dtype=np.uint8)
    else:
        counts = np.bincount(codes, minlength=len(colours))
        pixels = Image.fromarray(np.repeat(colours, counts, axis=0)[np.newaxis], "RGB")
        cut = pixels.quantize(colors=PALETTE_COLOURS - 1, method=Image.Quantize.MAXCOVERAGE,
                              dither=Image.Dither.NONE)
        palette = np.asarray(cut.getpalette(), dtype=np.uint8).reshape(-1, 3)[:PALETTE_COLOURS - 1]
        nearest = _nearest(colours, palette)
    index = np.full(height * width, len(palette), dtype=np.uint8)  # white: the entry after the rest
    index[coloured] = nearest[codes]
    image = Image.frombuffer("P", (width, height), index.tobytes(), "raw", "P", 0, 1)
    image.putpalette(np.vstack([palette, [[255, 255, 255]]]).reshape(-1).tolist())
    return image


def _nearest(colours: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """For each RGB colour, the index of the palette entry nearest it (squared distance; the first
    of equals), as ``uint8``.

    The squared distance |c − p|² is |c|² − 2 c·p + |p|², summed channel by channel in whole
    numbers (exact: every term is below 2²⁰), so only colours × palette arrays are made, not a
    colours × palette × 3 one. The dot product is not a matrix product on purpose: that would go
    to the BLAS library, whose threads would then spin beside the other report worker's kernel.
    """
    c, p = colours.astype(np.int32), palette.astype(np.int32)
    cross = c[:, 0, np.newaxis] * p[np.newaxis, :, 0]
    for channel in (1, 2):
        cross += c[:, channel, np.newaxis] * p[np.newaxis, :, channel]
    distances = (c * c).sum(axis=1)[:, np.newaxis] - 2 * cross + (p * p).sum(axis=1)[np.newaxis]
    return distances.argmin(axis=1).astype(np.uint8)
