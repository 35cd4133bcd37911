"""Who gets care (kpis.md, *Breakdowns*): each KPI by patient group, for the national level and
each nation (or each region), as small multiples with 95% intervals."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from fls_report.charts.chart import Chart, ChartData, _empty, _has_rows
from fls_report.charts.layout import GRID_TITLE_WIDTH, _grid_layout, _grid_legend, _grid_title, _panel_title
from fls_report.charts.style import GREY_LIGHT, LEVEL_COLOURS, OKABE_ITO, _styled
from fls_report.charts.words import _kpi_name, _kpi_title, _name_of, _plain, _truncate, _wrap, format_pct
from fls_report.vocabulary import BLANK, SUPPRESSED, fmt_interval

#: The columns read from ``kpi_breakdowns``: the published (``_shown``) values only.
BREAKDOWN_COLUMNS = ("code", "characteristic", "group", "kpi_id", "pct_shown", "ci_low_shown", "ci_high_shown",
                     "denominator_shown")
#: Markers for units beyond the level colours (regions), in turn.
UNIT_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">")
_EXTRA_COLOURS = (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["sky_blue"], OKABE_ITO["yellow"],
                  OKABE_ITO["reddish_purple"], OKABE_ITO["bluish_green"], OKABE_ITO["orange"], OKABE_ITO["black"])


def _unit_styles(codes: Sequence[str]) -> dict[str, tuple[str, str]]:
    """A colour and a marker per unit: the level colours for the national level and nations,
    then the Okabe–Ito colours in turn (regions), each with its own marker too."""
    styles, extra = {}, 0
    for i, code in enumerate(codes):
        if code in LEVEL_COLOURS:
            styles[code] = (LEVEL_COLOURS[code], UNIT_MARKERS[i % len(UNIT_MARKERS)])
        else:
            styles[code] = (_EXTRA_COLOURS[extra % len(_EXTRA_COLOURS)], UNIT_MARKERS[i % len(UNIT_MARKERS)])
            extra += 1
    return styles


def _dot_grid(title: str, points: pd.DataFrame, kpi_ids: Sequence[str], rows: Sequence[str],
              series: Sequence[str], series_labels: Mapping[str, str], kpi_names: Mapping[str, str] | None
              ) -> tuple:
    """Small multiples, one panel per KPI: in each, a row per ``rows`` and, within a row, a point
    per ``series`` (colour and shape) with its 95% interval. ``points`` has ``kpi_id``, ``row``,
    ``series``, ``pct``, ``low``, ``high``; a missing or blank point is a gap. Returns the layout and
    the words per KPI for the alt text."""
    styles = _unit_styles(series)
    layout = _grid_layout(len(kpi_ids), 3, 0.3 * len(rows) + 0.45, title_lines=1,
                          panel_title_lines=max(_wrap(_kpi_title(k, kpi_names), GRID_TITLE_WIDTH).count("\n") + 1
                                                for k in kpi_ids),
                          status_lines=0, bottom_extra_in=0.3 * ((len(series) + 2) // 3) + 0.1, left_in=1.45,
                          wgap_in=1.35)
    offsets = np.linspace(-0.25, 0.25, len(series)) if len(series) > 1 else np.zeros(1)
    keyed = points.set_index(["kpi_id", "row", "series"])
    words = []
    for i, (ax, kpi_id) in enumerate(zip(layout.axes, kpi_ids)):
        said = []
        for offset, unit in zip(offsets, series):
            colour, marker = styles[unit]
            for y, row in enumerate(rows):
                if (kpi_id, row, unit) not in keyed.index:
                    continue
                r = keyed.loc[(kpi_id, row, unit)]
                if pd.isna(r["pct"]):
                    continue
                if pd.notna(r["low"]) and pd.notna(r["high"]):
                    ax.plot([r["low"], r["high"]], [y + offset] * 2, color=colour, lw=1.2, solid_capstyle="butt",
                            zorder=2)
                ax.plot([r["pct"]], [y + offset], marker=marker, color=colour, markersize=4.5, ls="none", zorder=3)
                said.append(f"{series_labels[unit] + ' ' if len(series) > 1 else ''}{row} {format_pct(r['pct'])}")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([_plain(_truncate(r, 18)) for r in rows] if i % layout.n_cols == 0 else [], fontsize=9)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.grid(axis="x", color=GREY_LIGHT, lw=0.6)
        if not layout.has_panel_below(i):
            ax.set_xlabel("% of eligible patients")
        _panel_title(ax, _kpi_title(kpi_id, kpi_names), 0)
        words.append(f"{kpi_id} {_kpi_name(kpi_id, kpi_names)}: " + ("; ".join(said) if said else "nothing to show"))
    _grid_title(layout, title)
    handles = [Line2D([], [], color=styles[u][0], marker=styles[u][1], lw=1.2, markersize=4.5,
                      label=_plain(_wrap(series_labels[u], 30))) for u in series]
    _grid_legend(layout, handles, ncol=min(3, len(handles)))
    return layout, words


def _dot_data(points: pd.DataFrame, kpi_ids: Sequence[str], rows: Sequence[str], series: Sequence[str],
              series_labels: Mapping[str, str], row_heading: str) -> pd.DataFrame:
    """What :func:`_dot_grid` draws, a row per KPI and row of the grid: each series' percentage
    (``*`` where ``points`` marks it ``suppressed``) and 95% interval."""
    keyed = points.set_index(["kpi_id", "row", "series"])
    records = []
    for kpi_id in kpi_ids:
        for row in rows:
            record = {f"KPI and {row_heading}": f"{kpi_id}, {row}"}
            for unit in series:
                r = keyed.loc[(kpi_id, row, unit)] if (kpi_id, row, unit) in keyed.index else None
                prefix = f"{series_labels[unit]} " if len(series) > 1 else ""
                hidden = r is not None and bool(r.get("suppressed", False))
                record[f"{prefix}%"] = SUPPRESSED if hidden else (r["pct"] if r is not None else np.nan)
                record[f"{prefix}95% interval"] = (BLANK if r is None or hidden else fmt_interval(r["low"], r["high"]))
            records.append(record)
    return pd.DataFrame(records)


@_styled
def breakdown_grid(breakdowns: pd.DataFrame, characteristic: str, codes: Sequence[str],
                   groups: Sequence[str], names: Mapping[str, str] | None = None,
                   kpi_names: Mapping[str, str] | None = None) -> Chart:
    """KPI3–KPI11 by the groups of one characteristic, one small panel per KPI (3 to a row).

    Parameters
    ----------
    breakdowns : pandas.DataFrame
        ``kpi_breakdowns``; only the published columns are read (:data:`BREAKDOWN_COLUMNS`), so
        a suppressed group is drawn as a gap, never from its hidden count.
    characteristic : str
        ``age band``, ``sex``, ``care home`` or ``fracture site``.
    codes : sequence of str
        The units to draw in each group, in order: e.g. the national level and each nation.
    groups : sequence of str
        The characteristic's groups, top to bottom.
    names : mapping, optional
        Code → name, for the legend and the words.
    kpi_names : mapping, optional
        KPI id → the run's name for it.

    Returns
    -------
    Chart
        In each panel, for each group (rows) and unit (a point in the unit's colour and shape,
        nudged within the row), the percentage with its 95% interval as a line. The alt text
        gives every percentage; the caption says how to read it.
    """
    title = f"Who gets care: the KPIs by {characteristic}"
    if not _has_rows(breakdowns, BREAKDOWN_COLUMNS, "kpi_breakdowns"):
        return _empty(title, "The breakdowns table is empty.")
    rows = breakdowns[(breakdowns["characteristic"] == characteristic) & breakdowns["code"].isin(list(codes))]
    if rows.empty:
        return _empty(title, f"The breakdowns table has no rows for {characteristic}.")
    kpi_ids = list(dict.fromkeys(rows["kpi_id"]))
    labels = {c: _name_of(c, (names or {}).get(c)) for c in codes}
    points = pd.DataFrame({"kpi_id": rows["kpi_id"], "row": rows["group"], "series": rows["code"],
                           "pct": rows["pct_shown"], "low": rows["ci_low_shown"], "high": rows["ci_high_shown"],
                           "suppressed": rows["denominator_shown"].astype(str) == SUPPRESSED})
    layout, words = _dot_grid(title, points, kpi_ids, list(groups), list(codes), labels, kpi_names)
    data = ChartData(caption=f"{title}: each percentage and 95% interval drawn (* too small to publish)",
                     table=_dot_data(points, kpi_ids, list(groups), list(codes), labels, "group"))
    unit_words = ", ".join(labels[c] for c in codes)
    alt = (f"Small multiples of the percentage meeting each of {kpi_ids[0]} to {kpi_ids[-1]}, by {characteristic} "
           f"({', '.join(groups)}), for {unit_words}, each with its 95% interval. " + ". ".join(words) + ".")
    caption = (f"Each panel is one KPI; each row one group by {characteristic}; each point the percentage for "
               f"{unit_words} (colour and shape), with its 95% interval as a line. A group without a point had "
               "no eligible patients, or its numbers are too small to publish.")
    return Chart(figure=layout.figure, alt=alt, caption=caption, data=data)


@_styled
def region_grid(regions: pd.DataFrame, kpi_names: Mapping[str, str] | None = None) -> Chart:
    """KPI3–KPI11 for each region named in the services file, one small panel per KPI.

    ``regions`` is ``kpi_regions`` (``code``, ``kpi_id``, ``pct``, ``ci_low``, ``ci_high``): a point
    per region with its 95% interval.
    """
    title = "The KPIs by region"
    if not _has_rows(regions, ("code", "kpi_id", "pct", "ci_low", "ci_high"), "kpi_regions"):
        return _empty(title, "The services file names no regions.")
    names = list(dict.fromkeys(regions["code"]))
    kpi_ids = list(dict.fromkeys(regions["kpi_id"]))
    points = pd.DataFrame({"kpi_id": regions["kpi_id"], "row": regions["code"], "series": "region",
                           "pct": regions["pct"], "low": regions["ci_low"], "high": regions["ci_high"]})
    layout, words = _dot_grid(title, points, kpi_ids, names, ["region"], {"region": "Region"}, kpi_names)
    data = ChartData(caption=f"{title}: each percentage and 95% interval drawn",
                     table=_dot_data(points, kpi_ids, names, ["region"], {"region": "Region"}, "region"))
    alt = (f"Small multiples of the percentage meeting each of {kpi_ids[0]} to {kpi_ids[-1]} in each of "
           f"{len(names)} regions ({', '.join(names)}), each with its 95% interval. " + ". ".join(words) + ".")
    caption = ("Each panel is one KPI; each row a region of the services file (its services together), with "
               "the region's percentage and its 95% interval.")
    return Chart(figure=layout.figure, alt=alt, caption=caption, data=data)
