"""The :class:`Chart` every chart function returns (a figure with its alt text and caption, as
PNG or HTML), and what every chart does with a table it cannot draw."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fls_report.charts.backdrop import _png_over_backdrop
from fls_report.charts.layout import _figure, _title
from fls_report.charts.png import _png
from fls_report.charts.style import CSS_PX_PER_IN, GREY_DARK, NO_RECORDS, _house_style
from fls_report.charts.words import _name_of, _plain, _wrap
from fls_report.vocabulary import BLANK, SUPPRESSED, fmt_count, one_decimal


@dataclass(frozen=True)
class ChartData:
    """The numbers a chart draws, as a table to publish beside it (collapsed, "Show the data").

    Attributes
    ----------
    caption : str
        What the table holds, e.g. "KPI3 Spine fracture identification, by service".
    table : pandas.DataFrame
        One row per point (or bar, or cell) drawn, with the column headings a reader sees. The
        first column names the row (a service, a month, a group) and is written as a row header.
        Whole numbers are written with thousands separators, other numbers to one decimal place
        (the charts draw percentages), ``True`` as "yes", blanks as an en dash.
    formats : mapping of str to callable, optional
        A formatter for a column whose numbers are not percentages (e.g. days).
    """

    caption: str
    table: pd.DataFrame
    formats: Mapping[str, Callable] = field(default_factory=dict)

    def cell(self, column: str, value) -> str:
        """``value`` of ``column`` as the table shows it."""
        if column in self.formats:
            return self.formats[column](value)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return BLANK
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if isinstance(value, (int, np.integer)):
            return fmt_count(value)
        if isinstance(value, (float, np.floating)):
            return one_decimal(value)
        return str(value)

    def to_html(self) -> str:
        """A ``<details class="chart-data">`` holding the table, closed until the reader opens it."""
        columns = list(self.table.columns)
        numeric = {c for c in columns[1:] if self.table[c].map(_is_number_cell).all()}
        align = {c: ' class="num"' if c in numeric else "" for c in columns}
        head = "".join(f'<th scope="col"{align[c]}>{html.escape(str(c))}</th>' for c in columns)
        rows = []
        for values in self.table.itertuples(index=False, name=None):
            cells = [f'<th scope="row">{html.escape(self.cell(columns[0], values[0]))}</th>']
            cells += [f"<td{align[c]}>{html.escape(self.cell(c, v))}</td>" for c, v in zip(columns[1:], values[1:])]
            rows.append(f"<tr>{''.join(cells)}</tr>")
        caption = html.escape(self.caption)
        return (
            f'<details class="chart-data"><summary>Show the data<span class="visually-hidden">: {caption}'
            f'</span></summary><table class="compact"><caption>The data behind the figure: {caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
        )


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
    #: The numbers drawn, published beside the figure (None for a chart with nothing drawn).
    data: ChartData | None = field(default=None, repr=False, compare=False)
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
        """A ``<figure>`` with the PNG embedded as base64, its alt text and its caption, then the
        numbers it draws (:class:`ChartData`) as a table the reader can open.

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
        ) + (self.data.to_html() if self.data is not None else "")

    def _repr_html_(self) -> str:
        return self.to_html()


def _is_number_cell(value) -> bool:
    """Whether a data-table cell is a number (or a blank or suppressed one), set right-aligned."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, str):
        return value in (SUPPRESSED, "")
    return isinstance(value, (int, float, np.integer, np.floating)) or bool(pd.isna(value))


def _row_names(frame: pd.DataFrame) -> list[str]:
    """Each row's service, nation or national level in words (``name (code)`` for a service)."""
    names = frame["name"] if "name" in frame.columns else [None] * len(frame)
    return [_name_of(code, name) for code, name in zip(frame["code"], names)]


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
