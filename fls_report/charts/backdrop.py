"""Drawing a chart over a cached backdrop, and the backdrop's key.

A service page's funnel grid is the same for every service except for that service's rings and
labels; so are the axes of its completeness bars, the national curves of its time-to-event pair
and the scatter of its identification chart. Such a chart puts the artists that show the
highlighted service in ``Chart.changing``; the rest of the figure, the backdrop, is drawn once
and kept as pixels, and only the changing artists are drawn over it (blitting).

The cache lives as long as the kernel, across reports, so a backdrop's key must change whenever
anything the backdrop draws changes, or a page shows stale pixels. No chart lists what goes in
its key: :func:`over_backdrop` derives it from

* every argument of the call except the highlight (the highlighted service's code or name):
  tables by their content (values, index, columns, dtypes and ``attrs``), mappings and
  sequences item by item, scalars by value; and
* the figure as built, outside the changing artists (:func:`_layout`): its size, each panel's
  place, visibility, axis ranges, scales and fixed ticks, its texts, and the data and style of
  its lines and markers. This is what a highlight can alter without drawing it: a long service
  name wraps the title onto a second line and moves every panel down; a service without DXA
  records gets an empty panel; a service's last event sets the days drawn.

Whatever else a highlight draws must be among the changing artists. The tests draw each such
chart for several highlights over one cached backdrop and compare it with the whole drawing.

A chart can go further and not even build its backdrop again (:func:`reused`): the funnel grid
draws its nine panels in a function of its own, whose arguments are everything the panels show
(the highlight reaches it only through the layout it asks for: the title's lines, the legend's
rows). That figure is built once per key and handed to the next chart of that key once no live
chart holds it (in the warm kernel: once the last report's namespace is reset); the new chart
removes the old one's changing artists and adds its own. :func:`lend` then checks that the
figure, outside the changing artists, is exactly as built, so a highlight that changed the
backdrop is an error, not a stale picture.

The run charts and p-charts share nothing from service to service but their layout: they keep
only their figure of empty panels (:func:`kept_grid`), which saves building the panels and their
ticks again (a quarter of their time). The next chart of the same layout gets it back as built
(:class:`_PanelAsBuilt`): what was drawn removed, limits, tickers, grid, spines, titles and labels
set back, then checked against the figure as built. Tick parameters (``tick_params``, a grid's
colour) are not put back: a chart on a kept grid sets them every time or never. The tests draw each
such chart on grids that other charts left and compare it with its drawing on a new figure.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import functools
import hashlib
import inspect
import weakref
from collections import OrderedDict
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from fls_report.charts.canvas import KEPT_FIGURES, Canvas
from fls_report.charts.png import _png_bytes
from fls_report.charts.style import DPI

#: Drawings of the unchanging part of a figure (RGBA pixels at :data:`DPI`), by backdrop key,
#: most recently used last. A service page's funnel grid is the same for every service except
#: for the service's rings and labels, so a build draws the nine panels once per worker.
_BACKDROPS: "OrderedDict[str, np.ndarray]" = OrderedDict()
BACKDROPS_KEPT = 8

#: Figures built by :func:`reused`, by key, most recently used last, each lent to at most one live chart.
_SKELETONS: "OrderedDict[str, _Skeleton]" = OrderedDict()

#: Figures of empty panels kept by :func:`kept_grid`, by key, most recently used last.
_GRIDS: "OrderedDict[str, _KeptGrid]" = OrderedDict()

#: Values keyed by their repr: immutable, and their repr says all of their content.
_BY_REPR = (type(None), bool, int, float, complex, str, bytes, np.generic, datetime.date, datetime.time,
            datetime.timedelta, decimal.Decimal, enum.Enum, pd.Timestamp, pd.Timedelta, pd.Period)


def over_backdrop(*highlight: str) -> Callable:
    """Give the charts a drawing function returns (those with ``changing`` artists) a backdrop key
    made of the call's arguments other than the parameters named in ``highlight``, and of the
    figure outside the changing artists (see the module's notes).

    A chart without changing artists (e.g. "No records to show") is drawn whole, with no key.
    """

    def decorate(draw: Callable) -> Callable:
        signature = inspect.signature(draw)
        unknown = [name for name in highlight if name not in signature.parameters]
        if unknown:
            raise TypeError(f"{draw.__qualname__} has no parameter {', '.join(unknown)}")

        @functools.wraps(draw)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            inputs = {name: value for name, value in bound.arguments.items() if name not in highlight}
            given = _digest(_seeded(draw), inputs)  # before drawing can touch them
            chart = draw(*args, **kwargs)
            if not chart.changing:
                return chart
            key = _digest(given, _layout(chart.figure, chart.changing)).hexdigest()
            return dataclasses.replace(chart, backdrop=key)

        return wrapper

    return decorate


def _seeded(function: Callable):
    """A digest begun with what a backdrop key of ``function``'s charts always holds: its name and
    the resolution drawn at."""
    return hashlib.sha256(f"{function.__module__}.{function.__qualname__}|{DPI}|".encode())


class _Skeleton:
    """A figure a backdrop function built (``parts`` is what it returned) with its backdrop key,
    what :func:`_layout` saw in it then, and the chart it is lent to with that chart's changing
    artists."""

    def __init__(self, key: str, parts) -> None:
        self.key = key
        self.parts = parts
        self.figure = parts.figure
        KEPT_FIGURES.add(self.figure)
        self.dpi = self.figure.dpi  # drawing sets it to DPI; a figure lent again must look as built
        self.layout = _layout_digest(self.figure, ())
        self.lessee = None
        self.changing: tuple = ()

    def held(self) -> bool:
        """Whether a chart still alive was lent this figure."""
        return self.lessee is not None and self.lessee() is not None

    def clear(self) -> None:
        """Remove the last lessee's changing artists and give the figure back its resolution,
        leaving it as it was built (even its repr, which an executed notebook keeps)."""
        if getattr(self.figure, "_suptitle", None) in self.changing:
            self.figure._suptitle = None  # so the next suptitle() makes a title rather than renaming the removed one
        for artist in self.changing:
            artist.remove()
        self.figure.set_dpi(self.dpi)
        self.lessee, self.changing = None, ()


def reused(build: Callable, **arguments) -> _Skeleton:
    """``build(**arguments)`` (a backdrop: whatever a chart draws that does not change with its
    highlight; it returns an object with a ``figure``, kept as ``parts``) with its backdrop
    ``key``, made of ``build``'s name and ``arguments`` (see :func:`_digest`).

    The figure is built once per key and lent again (:func:`lend`) once the chart it was lent to
    is gone, cleared of that chart's changing artists; while that chart is alive, a figure is
    built afresh for the caller. ``build`` must be a module-level function, so that what it
    draws can come from its arguments only.
    """
    key = _figure_key(build, arguments)
    skeleton = _SKELETONS.get(key)
    if skeleton is not None and not skeleton.held():
        skeleton.clear()
        _SKELETONS.move_to_end(key)
        return skeleton
    fresh = _Skeleton(key, build(**arguments))
    if skeleton is None:
        _keep(_SKELETONS, key, fresh)
    return fresh


def _figure_key(build: Callable, arguments: dict) -> str:
    """The key of the figure ``build(**arguments)`` makes: ``build``'s name and ``arguments``.
    ``build`` must be a module-level function, so that what it draws can come from them only."""
    if build.__closure__ is not None or "<locals>" in build.__qualname__:
        raise TypeError(f"{build.__qualname__}: a kept figure is built by a module-level function")
    return _digest(_seeded(build), arguments).hexdigest()


def _keep(kept: OrderedDict, key: str, item) -> None:
    """Keep ``item`` under ``key`` as the most recently used, forgetting the least recently used
    beyond :data:`BACKDROPS_KEPT`."""
    kept[key] = item
    while len(kept) > BACKDROPS_KEPT:
        kept.popitem(last=False)


class _KeptGrid:
    """A figure of empty panels a grid function built (``parts``: what it returned), what each
    panel was like then (:class:`_PanelAsBuilt`), and the chart it is lent to."""

    def __init__(self, parts) -> None:
        self.parts = parts
        self.figure = parts.figure
        KEPT_FIGURES.add(self.figure)
        self.dpi = self.figure.dpi
        self.panels = [_PanelAsBuilt(ax) for ax in self.figure.axes]
        self.layout = _layout_digest(self.figure, ())
        self.lessee = None
        self.lent = False

    def held(self) -> bool:
        """Whether the figure is lent: to a chart still alive, or to a call that has not finished
        (one that failed before :func:`lend_grid` keeps it for good)."""
        return self.lent and (self.lessee is None or self.lessee() is not None)

    def restore(self) -> bool:
        """Put the figure back as it was built; False if it still differs (then it is not used)."""
        figure = self.figure
        for legend in list(figure.legends):
            legend.remove()
        for artist in [*figure.texts, *figure.lines, *figure.patches, *figure.images]:
            artist.remove()  # the title (``suptitle``) among the texts: removing it forgets it
        for panel in self.panels:
            panel.restore()
        figure.set_dpi(self.dpi)
        return _layout_digest(figure, ()) == self.layout


class _PanelAsBuilt:
    """What a chart drawing on a kept panel may change, as the panel was built: restored by
    removing everything drawn on it and setting the rest back."""

    def __init__(self, ax) -> None:
        self.ax = ax
        self.visible, self.axison = ax.get_visible(), ax.axison
        self.limits = ax.get_xlim(), ax.get_ylim(), ax.get_autoscalex_on(), ax.get_autoscaley_on()
        self.tickers = [(axis.get_major_locator(), axis.get_major_formatter(), axis.get_minor_locator(),
                         axis.get_minor_formatter()) for axis in (ax.xaxis, ax.yaxis)]
        self.grid = [(axis._major_tick_kw.get("gridOn", False), axis._minor_tick_kw.get("gridOn", False))
                     for axis in (ax.xaxis, ax.yaxis)]
        self.spines = {name: (s.get_visible(), s.get_edgecolor(), s.get_linewidth()) for name, s in ax.spines.items()}
        # set_title() sets a title's alignment, height and pad each time; not its colour, font or x.
        self.titles = [(t, t.get_color(), t.get_fontproperties().copy(), t.get_position())
                       for t in (ax.title, ax._left_title, ax._right_title)]
        self.labels = ax.get_xlabel(), ax.get_ylabel()

    def restore(self) -> None:
        ax = self.ax
        for artist in list(ax._children):  # what was drawn: lines, collections, patches, texts
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.relim()  # the data limits as if nothing had been drawn (autoscaling reads them)
        ax.set_visible(self.visible)
        ax.set_axis_on() if self.axison else ax.set_axis_off()
        xlim, ylim, autox, autoy = self.limits
        ax.set_xlim(xlim, auto=autox)
        ax.set_ylim(ylim, auto=autoy)
        for axis, (major, major_format, minor, minor_format), (major_grid, minor_grid) in zip(
                (ax.xaxis, ax.yaxis), self.tickers, self.grid):
            axis.set_major_locator(major)
            axis.set_major_formatter(major_format)
            axis.set_minor_locator(minor)
            axis.set_minor_formatter(minor_format)
            axis.grid(major_grid, which="major")
            axis.grid(minor_grid, which="minor")
        for name, (visible, colour, width) in self.spines.items():
            spine = ax.spines[name]
            spine.set_visible(visible)
            spine.set_edgecolor(colour)
            spine.set_linewidth(width)
        for title, colour, font, position in self.titles:
            title.set_text("")
            title.set_color(colour)
            title.set_fontproperties(font.copy())
            title.set_position(position)
        ax.set_xlabel(self.labels[0])
        ax.set_ylabel(self.labels[1])
        ax.set_prop_cycle(None)


def kept_grid(build: Callable, **arguments):
    """``build(**arguments)``: a figure of empty panels (e.g. :func:`~fls_report.charts.layout._grid_layout`)
    for a chart that draws everything on it, lent to that chart (:func:`lend_grid`). What ``build``
    returned is kept by key (``build``'s name and ``arguments``) and, once the chart it was lent to is
    gone, put back as built (:meth:`_KeptGrid.restore`) and returned again, so that a page's run
    charts and p-charts do not make their panels and ticks anew for every service (a tenth of a
    service report). If the restored figure differs from the figure as built in anything
    :func:`_layout` sees, or the kept one is still lent, a new one is built.
    """
    key = _figure_key(build, arguments)
    kept = _GRIDS.get(key)
    if kept is not None and not kept.held():
        _GRIDS.move_to_end(key)
        if kept.restore():
            kept.lent, kept.lessee = True, None
            return kept.parts
        del _GRIDS[key]
        kept = None
    fresh = _KeptGrid(build(**arguments))
    if kept is None:
        fresh.lent = True
        _keep(_GRIDS, key, fresh)
    return fresh.parts


def lend_grid(chart):
    """``chart``, whose figure may be a kept grid's (:func:`kept_grid`): lent to it until it is gone."""
    for kept in _GRIDS.values():
        if kept.figure is chart.figure:
            kept.lessee = weakref.ref(chart)
    return chart


def lend(skeleton: _Skeleton, chart):
    """``chart``, drawn on ``skeleton``'s figure (:func:`reused`) with its highlight among its
    ``changing`` artists; the figure is lent to it until it is gone.

    Raises ``RuntimeError`` if the figure outside the changing artists is not as it was built:
    the highlight changed the backdrop, which every later chart of the key would show.
    """
    if chart.figure is not skeleton.figure or _layout_digest(chart.figure, chart.changing) != skeleton.layout:
        raise RuntimeError("a chart changed its backdrop's figure outside its changing artists; "
                           "draw that in the backdrop function, or add the artist to the chart's changing ones")
    skeleton.lessee, skeleton.changing = weakref.ref(chart), tuple(chart.changing)
    return chart


def _layout_digest(figure: Figure, changing: Sequence) -> str:
    return _digest(hashlib.sha256(), _layout(figure, changing)).hexdigest()


def _digest(digest, value):
    """``digest`` updated with ``value``'s content, framed by type and length so that no two
    different values feed it the same bytes; returns ``digest``."""
    def put(tag: str, data: bytes = b"") -> None:
        digest.update(f"{tag}:{len(data)}:".encode())
        digest.update(data)

    if isinstance(value, _BY_REPR):
        put(type(value).__qualname__, repr(value).encode())
    elif isinstance(value, (pd.DataFrame, pd.Series)):
        put(type(value).__name__)
        _digest(digest, list(value.columns) if isinstance(value, pd.DataFrame) else value.name)
        _digest(digest, [str(d) for d in (value.dtypes if isinstance(value, pd.DataFrame) else [value.dtype])])
        _digest(digest, [str(value.index.dtype), value.index.names])
        put("rows", pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        _digest(digest, dict(value.attrs))
    elif isinstance(value, np.ndarray):
        put("ndarray", f"{value.dtype.str}{value.shape}".encode())
        put("data", np.ascontiguousarray(value).tobytes() if value.dtype != object else repr(value.tolist()).encode())
    elif isinstance(value, Mapping):
        put("mapping", str(len(value)).encode())
        for key, item in value.items():
            _digest(digest, key)
            _digest(digest, item)
    elif isinstance(value, (list, tuple)):
        put(type(value).__name__, str(len(value)).encode())
        for item in value:
            _digest(digest, item)
    elif isinstance(value, (set, frozenset)):
        put("set", repr(sorted(repr(item) for item in value)).encode())
    else:
        raise TypeError(f"a backdrop cannot be keyed on a {type(value).__qualname__}: "
                        "add its content to fls_report.charts.backdrop._digest")
    return digest


def _layout(figure: Figure, changing: Sequence) -> list:
    """What the highlight may have changed in ``figure`` outside the ``changing`` artists: the
    figure's size; each panel's place, visibility, axis ranges, scales, fixed ticks and tick
    labels and titles; the texts, legends, lines and markers drawn on the figure and its panels
    (their words, positions, data and style)."""
    skip = {id(artist) for artist in changing}

    def texts(items) -> list:
        return [(t.get_text(), tuple(np.asarray(t.get_position(), dtype=float)), t.get_visible())
                for t in items if id(t) not in skip]

    def legends(items) -> list:
        return [[t.get_text() for t in legend.get_texts()] for legend in items
                if legend is not None and id(legend) not in skip]

    def ticks(axis) -> list:
        """Fixed ticks with their labels as drawn; other ticks follow from the axis range."""
        out = []
        for locator, formatter in ((axis.get_major_locator(), axis.get_major_formatter()),
                                   (axis.get_minor_locator(), axis.get_minor_formatter())):
            if isinstance(locator, FixedLocator):
                locs = np.asarray(locator.locs, dtype=float)
                out.append((locs, list(formatter.format_ticks(locs))))
            else:
                out.append((type(locator).__qualname__, type(formatter).__qualname__))
        return out

    def lines(items) -> list:
        return [(line.get_xydata(), str(line.get_color()), str(line.get_linestyle()), line.get_linewidth(),
                 str(line.get_marker()), line.get_zorder(), line.get_visible())
                for line in items if id(line) not in skip]

    def collections(items) -> list:
        return [(type(c).__qualname__, np.asarray(c.get_offsets(), dtype=float),
                 [np.asarray(s, dtype=float) for s in c.get_segments()] if hasattr(c, "get_segments")
                 else [p.vertices for p in c.get_paths()],
                 np.asarray(c.get_sizes()), np.asarray(c.get_facecolor()), np.asarray(c.get_edgecolor()),
                 np.asarray(c.get_linewidth()), c.get_zorder(), c.get_visible())
                for c in items if id(c) not in skip]

    parts = [list(figure.get_size_inches()), texts(figure.texts), legends(figure.legends), lines(figure.lines)]
    for ax in figure.axes:
        parts.append([
            list(ax.get_position(original=True).bounds), ax.get_visible(), ax.axison,
            list(ax.get_xlim()), list(ax.get_ylim()), ax.get_xscale(), ax.get_yscale(),
            ticks(ax.xaxis), ticks(ax.yaxis),
            [ax.get_title(loc) for loc in ("left", "center", "right")], ax.get_xlabel(), ax.get_ylabel(),
            texts(ax.texts), legends([ax.get_legend()]), lines(ax.lines), collections(ax.collections),
        ])
    return parts


def _png_over_backdrop(figure: Figure, changing: Sequence, key: str) -> bytes:
    """PNG bytes of ``figure``, drawing only the ``changing`` artists over a cached drawing of
    the rest (blitting); the first figure with ``key`` draws that backdrop, hiding them.

    Two figures with one key must differ only in their changing artists (:func:`over_backdrop`
    derives the key so that they do). The PNG is as ``savefig`` at :data:`DPI` writes it, and
    the same whether or not the backdrop was already cached.
    """
    figure.set_dpi(DPI)
    canvas = Canvas(figure)
    try:
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
            _keep(_BACKDROPS, key, pixels)
        else:
            _BACKDROPS.move_to_end(key)
        renderer = canvas.get_renderer()
        np.asarray(renderer.buffer_rgba())[...] = pixels
        for artist in changing:
            if artist.get_visible():
                artist.draw(renderer)
        return _png_bytes(np.asarray(renderer.buffer_rgba()))
    finally:
        canvas.release()
