"""The :class:`Chart` every chart function returns (a figure with its alt text and caption, as
PNG or HTML), and what every chart does with a table it cannot draw."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd
from matplotlib.figure import Figure

from fls_report.charts.backdrop import _png_over_backdrop
from fls_report.charts.layout import _figure, _title
from fls_report.charts.png import _png
from fls_report.charts.style import CSS_PX_PER_IN, GREY_DARK, NO_RECORDS, _house_style
from fls_report.charts.words import _plain, _wrap


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
    #: The artists that differ between charts of one kind, e.g. a highlighted service's rings
    #: and labels. With a ``backdrop`` key (given by
    #: :func:`~fls_report.charts.backdrop.over_backdrop`, from everything else), only these are
    #: drawn, over a cached drawing of the rest.
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


def _close(figure: Figure) -> None:
    """Close ``figure`` in pyplot if pyplot manages it (figures built here never are)."""
    if getattr(figure.canvas, "manager", None) is not None:
        from matplotlib import pyplot

        pyplot.close(figure)


def _has_rows(frame: pd.DataFrame | None, columns: Sequence[str], table: str) -> bool:
    """Whether ``frame`` has rows to draw; an empty frame is fine whatever its columns, but a
    frame with rows must have the contract's ``columns`` (named in the error if not)."""
    if frame is None or len(frame) == 0:
        return False
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} table is missing column(s) {', '.join(missing)}")
    return True


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
