"""Funnel plots (statistics.md §2) of the tables :func:`fls_report.benchmarks.funnels` and
:func:`~fls_report.benchmarks.funnel_curve` compute: one KPI's, and several KPIs' as small
multiples with a service ringed in each."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator, StrMethodFormatter

from fls_report.charts.backdrop import lend, reused
from fls_report.charts.chart import Chart, ChartData, _empty, _has_rows
from fls_report.charts.layout import (GRID_TITLE_WIDTH, _LEGEND_ROW_IN, _GridLayout, _annotate, _figure,
                                      _grid_layout, _grid_legend, _grid_title, _no_panel, _panel_label, _panel_title,
                                      _pct_top, _title)
from fls_report.charts.style import GREY_DARK, GREY_LIGHT, HIGHLIGHT_COLOUR, OKABE_ITO, _styled
from fls_report.charts.words import (_and_list, _count, _kpi_name, _kpi_span, _kpi_title, _name_of, _national_name, _plain,
                                     _plural, _short_label, _truncate, _wrap, format_pct)
from fls_report.vocabulary import fmt_count

#: How each HQIP funnel status is drawn: colour, marker (down for low, up for high), filled
#: (alarm) or hollow (alert), and the status in words. Colour is never the only signal:
#: direction is in the marker's shape and alert or alarm in its fill.
FUNNEL_STATUS_STYLE: dict[str, dict] = {
    "alarm low": {"colour": OKABE_ITO["vermillion"], "marker": "v", "filled": True, "size": 70,
                  "words": "Alarm (below the 99.8% limit)"},
    "alert low": {"colour": OKABE_ITO["orange"], "marker": "v", "filled": False, "size": 60,
                  "words": "Alert (below the 95% limit)"},
    "in control": {"colour": GREY_DARK, "marker": "o", "filled": True, "size": 24,
                   "words": "In control (within the 95% limits)"},
    "alert high": {"colour": OKABE_ITO["sky_blue"], "marker": "^", "filled": False, "size": 60,
                   "words": "Alert (above the 95% limit)"},
    "alarm high": {"colour": OKABE_ITO["bluish_green"], "marker": "^", "filled": True, "size": 70,
                   "words": "Alarm (above the 99.8% limit)"},
}
#: Drawing order: in control first, so outliers are on top.
FUNNEL_DRAW_ORDER = ("in control", "alert low", "alert high", "alarm low", "alarm high")
#: The columns read from a funnel table and its limit curves.
FUNNEL_COLUMNS = ("n", "p", "status")
CURVE_COLUMNS = ("n", "low95", "high95", "low998", "high998")
#: Extra places tried for the highlighted service's label (axes fraction), besides the corners:
#: funnels often have room between the limit curves at the right.
FUNNEL_LABEL_SPOTS = tuple((x, y, ha, "center") for y in (0.75, 0.5, 0.25)
                           for x, ha in ((0.98, "right"), (0.5, "center"), (0.02, "left")))
#: Marker sizes in a funnel panel, relative to :func:`funnel`'s.
GRID_MARKER_SCALE = 0.6
#: A funnel status in a panel's label (the legend and alt text say which limit).
FUNNEL_STATUS_SHORT: dict[str, str] = {
    "alarm low": "Alarm, low",
    "alert low": "Alert, low",
    "in control": "Within the limits",
    "alert high": "Alert, high",
    "alarm high": "Alarm, high",
}


def _status_keywords(status: str) -> dict:
    """``scatter`` keywords for a funnel status."""
    style = FUNNEL_STATUS_STYLE[status]
    filled = style["filled"]
    return {"marker": style["marker"], "s": style["size"], "linewidths": 0.7 if filled else 1.7,
            "facecolors": style["colour"] if filled else "white",
            "edgecolors": OKABE_ITO["black"] if filled else style["colour"]}


def _status_handle(status: str, count: int) -> Line2D:
    style = FUNNEL_STATUS_STYLE[status]
    filled = style["filled"]
    return Line2D([], [], ls="none", marker=style["marker"], markersize=math.sqrt(style["size"]),
                  markerfacecolor=style["colour"] if filled else "white",
                  markeredgecolor=OKABE_ITO["black"] if filled else style["colour"],
                  markeredgewidth=0.7 if filled else 1.7, label=f"{style['words']}: {_count(count)}")


def _statistic(value, digits: int = 1) -> str:
    """φ for the words, to ``digits`` decimals; "not estimated" when blank."""
    if value is None or pd.isna(value):
        return "not estimated"
    return f"{float(value):,.{digits}f}"


def _tau2_words(value) -> str:
    """τ² to two significant figures (0.052, 0.0012); 0 as "0"."""
    if value is None or pd.isna(value):
        return "not estimated"
    return "0" if float(value) == 0 else f"{float(value):.2g}"


def _limits_words(attrs: Mapping) -> str:
    """Which funnel limits were used, in words, with φ and τ² (statistics.md §2)."""
    od = f"φ = {_statistic(attrs.get('phi'))}, τ² = {_tau2_words(attrs.get('tau2'))}"
    if attrs.get("adjusted"):
        return f"limits widened for over-dispersion ({od}; τ² on the arcsine scale)"
    return f"exact binomial limits, not widened for over-dispersion ({od})"


def _status_phrase(status: str) -> str:
    """E.g. "alarm low (below the 99.8% limit)"."""
    words = FUNNEL_STATUS_STYLE[status]["words"]
    return status + words[words.index(" ("):] if " (" in words else status


def _log_ticks(low: float, high: float) -> list[float]:
    """1, 2, 5, 10, 20, 50, … between ``low`` and ``high``."""
    ticks = [m * 10 ** e for e in range(0, 7) for m in (1, 2, 5)]
    return [t for t in ticks if low <= t <= high]


def _sparse_log_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Log-axis ticks for a narrow panel: 1-2-5, else 1-3, else powers of ten."""
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10 ** e for e in range(0, 7) for m in mantissas if low <= m * 10 ** e <= high]
        if len(ticks) <= most:
            break
    return ticks


@_styled
def funnel(table: pd.DataFrame, curve: pd.DataFrame | None, kpi_id: str,
           names: Mapping[str, str] | None = None, highlight: str | None = None,
           kpi_names: Mapping[str, str] | None = None) -> Chart:
    """Funnel plot of one KPI: each service's percentage against its number of patients eligible.

    Draws what the compute stage wrote (``funnel_points``, ``funnel_limits``, ``funnel_summary``;
    :attr:`fls_report.run.Run.funnel_tables`); no statistic is worked out here.

    Parameters
    ----------
    table : pandas.DataFrame
        A funnel table (:func:`fls_report.stats.funnel_table`) indexed by service code: ``x``,
        ``n``, ``p`` (fraction), limits, ``status``; ``attrs`` ``target``, ``phi``, ``tau2`` and
        ``adjusted`` (limits widened for over-dispersion; statistics.md §2).
    curve : pandas.DataFrame
        ``n``, ``low95``, ``high95``, ``low998``, ``high998`` (fractions) over the plotted range.
    kpi_id : str
        ``KPI3`` … ``KPI11``, for the title.
    names : mapping, optional
        Code → name, for the highlighted service's label and the national level's name (the
        target's; by default "England and Wales").
    highlight : str, optional
        A service code to ring in the highlight colour and label with its name and status.
    kpi_names : mapping, optional
        KPI id → name, as the run's ``kpi_results`` has them; by default kpis.md's names.

    Returns
    -------
    Chart
        x = patients eligible (log axis), y = percentage; the target θ₀ as a solid
        line, the 95% (alert) limits dashed and the 99.8% (alarm) limits dotted; services
        marked by status with colour and shape (down triangles low, up triangles high; hollow
        alert, filled alarm). Services with n = 0 are left off and counted in the caption. The
        vertical axis is 0–100% unless every value and limit over the services' range of n fits
        a smaller range. Alt text and caption state the target, φ, τ², which limits were used
        and the count of services in each status.
    """
    title = f"{_kpi_title(kpi_id, kpi_names)}: funnel plot of services"
    if not _has_rows(table, FUNNEL_COLUMNS, "funnel"):
        return _empty(title, "The funnel table has no services.")
    panel = _funnel_panel(kpi_id, table, curve)
    rows, shown, attrs, lines = panel["rows"], panel["shown"], panel["attrs"], panel["lines"]
    target_pct, top, n_left_off = panel["target_pct"], panel["top"], panel["left_off"]
    left_off = (f"{_plural(n_left_off, 'service')} with no eligible records "
                f"{'is' if n_left_off == 1 else 'are'} not shown." if n_left_off else "")
    if shown.empty:
        return _empty(title, f"No service has eligible records for {kpi_id}. {left_off}".strip())

    limits_words = _limits_words(attrs)
    national_name = _national_name(names)
    x_top = float(shown["n"].max()) * 1.1  # where funnel_curve ends

    figure = _figure(6.2)
    ax = figure.add_subplot()
    # A log axis: denominators run from a handful to thousands, and on a linear axis the small
    # services (where the funnel is widest) are crushed against the left edge.
    x_low = max(0.7, float(shown["n"].min()) * 0.7)
    ax.set_xscale("log")
    ax.set_xlim(x_low, x_top)
    ax.xaxis.set_major_locator(FixedLocator([t for t in _log_ticks(x_low, x_top)]))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    ax.set_ylim(0, top)
    ax.grid(color=GREY_LIGHT, lw=0.5, zorder=0)
    handles = []
    if pd.notna(target_pct):
        ax.axhline(target_pct, color=OKABE_ITO["black"], lw=1.4, zorder=2)
        handles.append(Line2D([], [], color=OKABE_ITO["black"], lw=1.4,
                              label=f"{national_name}: {format_pct(target_pct)}"))
    if len(lines):
        for suffix, style, words in (("95", (0, (6, 3)), "95% limits (alert)"),
                                     ("998", (0, (1, 2)), "99.8% limits (alarm)")):
            for side in ("low", "high"):
                ax.plot(lines["n"], 100 * lines[f"{side}{suffix}"], color=GREY_DARK, lw=1.3, ls=style, zorder=2)
            handles.append(Line2D([], [], color=GREY_DARK, lw=1.3, ls=style, label=words))

    counts = shown["status"].value_counts()
    for z, status in enumerate(FUNNEL_DRAW_ORDER):
        points = shown[shown["status"] == status]
        if len(points):
            ax.scatter(points["n"], points["pct"], zorder=3 + z / 10, clip_on=False, **_status_keywords(status))
    unknown = shown[~shown["status"].isin(FUNNEL_DRAW_ORDER)]
    if len(unknown):
        ax.scatter(unknown["n"], unknown["pct"], s=24, marker="s", facecolors="white", edgecolors=GREY_DARK,
                   zorder=3, clip_on=False)
    handles += [_status_handle(status, int(counts[status])) for status in FUNNEL_STATUS_STYLE if status in counts]
    if len(unknown):
        handles.append(Line2D([], [], ls="none", marker="s", markerfacecolor="white", markeredgecolor=GREY_DARK,
                              label=f"No status given: {_count(len(unknown))}"))

    code = None if highlight is None else str(highlight)
    label = None if code is None else _name_of(code, names.get(code) if names is not None and code in names else None)
    highlight_words = ""
    is_highlighted = code is not None and code in shown.index
    if is_highlighted:
        point = shown.loc[[code]].iloc[0]
        status_words = (FUNNEL_STATUS_STYLE[point["status"]]["words"] if point["status"] in FUNNEL_STATUS_STYLE
                        else f"status {point['status']}")
        ax.scatter([point["n"]], [point["pct"]], s=300, marker="o", facecolors="none", edgecolors=HIGHLIGHT_COLOUR,
                   linewidths=2.2, zorder=6, clip_on=False)
        where = f"{format_pct(point['pct'])} of {_count(point['n'])} eligible"
        highlight_words = f"{label}: {where}; {status_words}"
        obstacles = np.column_stack([shown["n"], shown["pct"], shown["pct"]])
        along = np.vstack([np.column_stack([lines["n"], 100 * lines[column], 100 * lines[column]])
                           for column in ("low95", "high95", "low998", "high998")]) if len(lines) else None
        _annotate(ax, point["n"], point["pct"], f"{_wrap(label, 42)}\n{where}\n{status_words}", obstacles,
                  [target_pct], extra_candidates=FUNNEL_LABEL_SPOTS, soft_obstacles=along)
        handles.append(Line2D([], [], ls="none", marker="o", markersize=15, markerfacecolor="none",
                              markeredgecolor=HIGHLIGHT_COLOUR, markeredgewidth=2.2,
                              label=_plain(_truncate(label, 60))))
    elif code is not None:
        why = "it has no eligible records" if code in rows.index else "it is not in the funnel table"
        highlight_words = f"{label} is not shown: {why} for {kpi_id}."

    ax.set_xlabel("Patients eligible (denominator)")
    ax.set_ylabel("%")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    _title(figure, title)
    figure.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)

    status_counts = ", ".join(f"{_count(int(counts.get(status, 0)))} {_status_phrase(status)}"
                              for status in FUNNEL_STATUS_STYLE)
    target_words = (f"the {national_name} target of {format_pct(target_pct)}" if pd.notna(target_pct)
                    else "no target line (none given)")
    alt = (
        f"Funnel plot of {_kpi_title(kpi_id, kpi_names)} for {_plural(len(shown), 'service')}: each service's percentage "
        f"(vertical axis) against its number of patients eligible (horizontal axis, log scale, "
        f"{_count(shown['n'].min())} to {_count(shown['n'].max())}), with {target_words} and 95% (alert) "
        f"and 99.8% (alarm) limits; {limits_words}. Services by status: {status_counts}."
        + (f" Highlighted: {highlight_words}." if is_highlighted else "")
        + (f" {highlight_words}" if highlight_words and not is_highlighted else "")
        + (f" {left_off}" if left_off else "")
    )
    caption = (
        "Each point is a service, placed by its number of patients eligible (on a log scale); solid line: "
        f"the target, {national_name} "
        + (f"({format_pct(target_pct)})" if pd.notna(target_pct) else "(not given)")
        + f"; dashed: 95% limits (alert); dotted: 99.8% limits (alarm); {limits_words}. "
        f"Services: {status_counts}."
        + (f" The vertical axis stops at {top:g}%." if top < 100 else "")
        + ("" if len(lines) else " No limit curves were given, so none are drawn.")
        + (f" {left_off}" if left_off else "")
        + (f" {highlight_words}" if highlight_words and not is_highlighted else "")
    )
    return Chart(figure=figure, alt=alt, caption=caption, data=_funnel_data([panel], names, title))


def _funnel_data(panels: Sequence[dict], names: Mapping[str, str] | None, title: str) -> ChartData:
    """Every service point of the funnel ``panels`` (:func:`_funnel_panel`) with its limits at its
    number of patients eligible and its status: what :func:`funnel` and :func:`funnel_grid` draw."""
    first = "Service" if len(panels) == 1 else "KPI and service"
    parts = []
    for panel in panels:
        shown = panel["shown"]
        if shown.empty:
            continue
        services = [_name_of(code, (names or {}).get(code)) for code in shown.index]
        parts.append(pd.DataFrame({
            first: services if len(panels) == 1 else [f"{panel['kpi_id']}, {service}" for service in services],
            "Patients eligible": shown["n"].to_numpy(), "%": shown["pct"].to_numpy(),
            **{heading: 100 * pd.to_numeric(shown[column], errors="coerce").to_numpy()
               for heading, column in (("95% limit, lower", "low95"), ("95% limit, upper", "high95"),
                                       ("99.8% limit, lower", "low998"), ("99.8% limit, upper", "high998"))},
            "Status": [FUNNEL_STATUS_STYLE[s]["words"] if s in FUNNEL_STATUS_STYLE else s for s in shown["status"]],
        }))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return ChartData(caption=f"{title}: each service's point and the limits at its number of patients eligible",
                     table=table, formats={"Patients eligible": fmt_count})


def _funnel_panel(kpi_id: str, table: pd.DataFrame | None, curve: pd.DataFrame | None) -> dict:
    """What a funnel plot of ``kpi_id`` draws (:func:`funnel`, and each panel of :func:`funnel_grid`):
    the table's ``rows`` (codes as text, ``n`` and ``p`` numeric), the services ``shown`` (n > 0,
    with ``pct`` and ``status`` as text), its ``attrs``, the target and the limit ``lines`` in
    percent, the ``top`` of the vertical axis and how many services are ``left_off``."""
    if _has_rows(table, FUNNEL_COLUMNS, f"{kpi_id} funnel"):
        rows = table.copy()
        rows.index = rows.index.astype(str)
        rows["n"] = pd.to_numeric(rows["n"], errors="coerce")
        rows["p"] = pd.to_numeric(rows["p"], errors="coerce")
        attrs = dict(table.attrs)
    else:
        rows, attrs = pd.DataFrame(columns=list(FUNNEL_COLUMNS)), {}
    shown = rows[(rows["n"] > 0) & rows["p"].notna()].copy()
    shown["pct"] = 100 * shown["p"]
    shown["status"] = shown["status"].astype(str)
    target = attrs.get("target")
    target_pct = 100 * float(target) if target is not None and pd.notna(target) else np.nan
    lines = pd.DataFrame(columns=list(CURVE_COLUMNS), dtype=float)
    if curve is not None and len(curve) and all(c in curve.columns for c in CURVE_COLUMNS):
        lines = curve[list(CURVE_COLUMNS)].apply(pd.to_numeric, errors="coerce").sort_values("n", kind="stable")
    top = 100.0
    if len(shown):
        in_range = lines[(lines["n"] >= shown["n"].min()) & (lines["n"] <= float(shown["n"].max()) * 1.1)]
        top = _pct_top(max(float(shown["pct"].max()),
                           float(100 * in_range[["high95", "high998"]].max().max()) if len(in_range) else 0.0,
                           target_pct if pd.notna(target_pct) else 0.0))
    return {"kpi_id": kpi_id, "rows": rows, "shown": shown, "attrs": attrs, "target_pct": target_pct,
            "lines": lines, "top": top, "left_off": len(rows) - len(shown)}


@_styled
def funnel_grid(tables: Mapping[str, pd.DataFrame] | None, curves: Mapping[str, pd.DataFrame] | None,
                names: Mapping[str, str] | None = None, highlight: str | None = None,
                kpi_names: Mapping[str, str] | None = None) -> Chart:
    """Funnel plots of several KPIs as small multiples in one figure (3 panels to a row).

    Parameters
    ----------
    tables : mapping
        KPI id → funnel table, as :func:`funnel` takes (indexed by service code; ``x``, ``n``,
        ``p``, limits, ``status``; ``attrs`` ``target``, ``phi``, ``tau2``, ``adjusted``). One panel
        each, in the mapping's order (KPI3 … KPI11 on a service page: a 3 × 3 grid).
    curves : mapping
        KPI id → limit curves (``n``, ``low95``, ``high95``, ``low998``, ``high998``), as
        :func:`fls_report.benchmarks.funnel_curve` gives; a KPI without one has no limits drawn.
    names : mapping, optional
        Code → name, for the highlighted service and the national level's name (the target's;
        by default "England and Wales").
    highlight : str, optional
        A service code to ring in every panel; each panel then says its status in words
        ("Alert, low: 41.2% of 310").
    kpi_names : mapping, optional
        KPI id → name, as the run's ``kpi_results`` has them; by default kpis.md's names.

    Returns
    -------
    Chart
        Each panel as :func:`funnel` draws it (log-x, target, 95% and 99.8% limits, services by
        status in colour and shape, the vertical axis zoomed when everything fits below 100%),
        without the floating label; one legend for all panels. The alt text has a sentence per
        KPI (target, the service's value and status, φ, τ² and the limits used); the caption
        says which KPIs' limits were widened for over-dispersion and how many services each
        leaves off. A 3 × 3 grid is 9.5 × ~9.9 in.
    """
    tables = dict(tables or {})
    curves = dict(curves or {})
    kpi_ids = list(tables)
    national_name = _national_name(names)
    code = None if highlight is None else str(highlight)
    label = None if code is None else _name_of(code, names.get(code) if names is not None and code in names else None)
    title = f"Funnel plots of services, {_kpi_span(kpi_ids)}" if kpi_ids else "Funnel plots of services"
    if not kpi_ids:
        return _empty(title + (f": {label}" if label else ""), "No funnel table was given.")
    panels = [_funnel_panel(k, tables[k], curves.get(k)) for k in kpi_ids]
    ringed = code is not None and any(code in p["shown"].index for p in panels)
    title += f", with {label} ringed" if ringed else (f": {label} not shown" if label else "")
    left_off = [(p["kpi_id"], p["left_off"]) for p in panels if p["left_off"]]
    left_off_words = ("Left off, with no eligible records: " + ", ".join(
        f"{k} {_plural(n, 'service')}" for k, n in left_off) + ".") if left_off else ""
    if all(p["shown"].empty for p in panels):
        return _empty(title, f"No service has eligible records for {_kpi_span(kpi_ids)}. {left_off_words}".strip())

    n_cols = 3 if len(panels) >= 3 else len(panels)
    statuses = [s for s in FUNNEL_STATUS_STYLE if any((p["shown"]["status"] == s).any() for p in panels)]
    unknown_any = any((~p["shown"]["status"].isin(FUNNEL_DRAW_ORDER)).any() for p in panels)
    n_handles = 3 + len(statuses) + int(unknown_any) + int(ringed)
    skeleton = reused(
        _funnel_backdrop, panels=[{name: panel[name] for name in BACKDROP_PANEL_KEYS} for panel in panels],
        n_cols=n_cols, kpi_titles=[_kpi_title(k, kpi_names) for k in kpi_ids],
        title_lines=_wrap(title, 95).count("\n") + 1, legend_rows=math.ceil(n_handles / 3),
    )
    layout = skeleton.parts
    sentences, adjusted, exact, zoomed, not_shown, no_curves = [], [], [], [], {}, []
    changing = []  # what differs from service to service: drawn over a shared backdrop
    for ax, panel in zip(layout.axes, panels):
        kpi_id, shown, rows, attrs = panel["kpi_id"], panel["shown"], panel["rows"], panel["attrs"]
        target_pct, lines, top = panel["target_pct"], panel["lines"], panel["top"]
        if shown.empty:
            sentences.append(f"{kpi_id} {_kpi_name(kpi_id, kpi_names)}: no service has eligible records.")
            if code is not None:
                changing.append(_panel_label(ax, "Not shown: no eligible records", colour=HIGHLIGHT_COLOUR, bold=True))
                not_shown.setdefault("no eligible records" if code in panel["rows"].index
                                     else "not in the funnel table", []).append(kpi_id)
            continue
        if not len(lines):
            no_curves.append(kpi_id)
        if top < 100:
            zoomed.append(f"{kpi_id} ({top:g}%)")
        limits_words = _limits_words(attrs)
        phi_words = f"{kpi_id} (φ = {_statistic(attrs.get('phi'))}, τ² = {_tau2_words(attrs.get('tau2'))})"
        (adjusted if attrs.get("adjusted") else exact).append(phi_words)

        outside = int((shown["status"] != "in control").sum())
        target_words = (f"target ({national_name}) {format_pct(target_pct)}" if pd.notna(target_pct)
                        else "no target given")
        service_words = ""
        if code is not None and code in shown.index:
            point = shown.loc[[code]].iloc[0]
            status = point["status"]
            changing.append(ax.scatter([point["n"]], [point["pct"]], s=150, marker="o", facecolors="none",
                                       edgecolors=HIGHLIGHT_COLOUR, linewidths=2.0, zorder=6, clip_on=False))
            where = f"{format_pct(point['pct'])} of {_count(point['n'])}"
            # Bold only outside the limits, so the panels that need a look stand out.
            changing.append(_panel_label(ax, f"{FUNNEL_STATUS_SHORT.get(status, f'Status {status}')}: {where}",
                                         colour=HIGHLIGHT_COLOUR, bold=status != "in control"))
            status_words = _status_phrase(status) if status in FUNNEL_STATUS_STYLE else f"status {status}"
            service_words = f"; {label} {format_pct(point['pct'])} of {_count(point['n'])} eligible, {status_words}"
        elif code is not None:
            why = "no eligible records" if code in rows.index else "not in the funnel table"
            changing.append(_panel_label(ax, f"Not shown: {why}", colour=HIGHLIGHT_COLOUR, bold=True))
            service_words = f"; {label} is not shown ({why})"
            not_shown.setdefault(why, []).append(kpi_id)
        else:
            changing.append(_panel_label(ax, f"{_plural(len(shown), 'service')}; {_count(outside)} outside the 95% "
                                         "limits"))
        sentences.append(
            f"{kpi_id} {_kpi_name(kpi_id, kpi_names)}: {target_words}{service_words}; "
            f"{_count(outside)} of {_plural(len(shown), 'service')} outside the 95% limits; {limits_words}."
        )

    changing.append(_grid_title(layout, title))
    handles = [
        Line2D([], [], color=OKABE_ITO["black"], lw=1.3, label=f"{national_name} (the target)"),
        Line2D([], [], color=GREY_DARK, lw=1.1, ls=(0, (6, 3)), label="95% limits (alert)"),
        Line2D([], [], color=GREY_DARK, lw=1.1, ls=(0, (1, 2)), label="99.8% limits (alarm)"),
    ]
    for status in statuses:
        style = FUNNEL_STATUS_STYLE[status]
        handle = _status_handle(status, 0)
        handle.set_label(style["words"])
        handle.set_markersize(math.sqrt(style["size"] * GRID_MARKER_SCALE) * 1.15)
        handles.append(handle)
    if unknown_any:
        handles.append(Line2D([], [], ls="none", marker="s", markerfacecolor="white", markeredgecolor=GREY_DARK,
                              label="No status given"))
    if ringed:
        handles.append(Line2D([], [], ls="none", marker="o", markersize=11, markerfacecolor="none",
                              markeredgecolor=HIGHLIGHT_COLOUR, markeredgewidth=2.0,
                              label=_plain(_short_label(label, 44))))
    changing.append(_grid_legend(layout, handles, ncol=3))

    limit_parts = []
    if adjusted:
        limit_parts.append(f"Limits were widened for over-dispersion (additive τ² on the arcsine scale) for "
                           f"{_and_list(adjusted)}.")
    if exact:
        limit_parts.append(f"Exact binomial limits, not widened for over-dispersion, for {_and_list(exact)}.")
    alt = (
        f"Funnel plots of {_plural(len(panels), 'KPI')} in one figure, one panel each: each service's percentage "
        f"against its number of patients eligible (log scale), with the {national_name} target and 95% "
        f"(alert) and 99.8% (alarm) limits" + (f"; {label} is ringed" if ringed else "") + ". "
        + " ".join(sentences)
        + (f" {left_off_words}" if left_off_words else "")
    )
    caption = (
        "Each panel is one KPI's funnel plot: a point is a service, placed by its number of patients eligible "
        f"(log scale) and its percentage; solid line: {national_name}, the target; dashed: 95% limits (alert); "
        "dotted: 99.8% limits (alarm); down triangles are below the limits and up triangles above, hollow for "
        "alert and filled for alarm. " + " ".join(limit_parts)
        + (f" {label} is ringed; each panel's label gives its status." if ringed else "")
        + (f" {label} is not shown for " + "; ".join(f"{_and_list(kpis)} ({why})" for why, kpis in not_shown.items())
           + "." if not_shown else "")
        + (f" {left_off_words}" if left_off_words else "")
        + (f" Vertical axes stop below 100% for {', '.join(zoomed)}." if zoomed else "")
        + (f" No limit curves were given for {', '.join(no_curves)}, so none are drawn there." if no_curves else "")
    )
    data = _funnel_data([p for p in panels if not p["shown"].empty], names, "Funnel plots")
    return lend(skeleton, Chart(figure=layout.figure, alt=alt, caption=caption, changing=tuple(changing), data=data,
                                backdrop=skeleton.key))


#: What a funnel grid's backdrop draws of each panel (:func:`_funnel_panel`): its points by
#: status, its limit curves, its target and the top of its vertical axis.
BACKDROP_PANEL_KEYS = ("shown", "lines", "target_pct", "top")


def _funnel_backdrop(panels: Sequence[dict], n_cols: int, kpi_titles: Sequence[str], title_lines: int,
                     legend_rows: int) -> _GridLayout:
    """The part of :func:`funnel_grid` that is the same whichever service is ringed: its layout
    (with room for ``title_lines`` of title and ``legend_rows`` of legend) and each panel's
    title, axes, grid, target, limits and services by status (``panels``: the
    :data:`BACKDROP_PANEL_KEYS` of :func:`_funnel_panel`)."""
    layout = _grid_layout(
        len(panels), n_cols, 1.8, title_lines=title_lines,
        panel_title_lines=max(_wrap(t, GRID_TITLE_WIDTH).count("\n") + 1 for t in kpi_titles),
        status_lines=1, bottom_extra_in=legend_rows * _LEGEND_ROW_IN + 0.1,
    )
    for i, (ax, panel, kpi_title) in enumerate(zip(layout.axes, panels, kpi_titles)):
        shown, lines, target_pct, top = panel["shown"], panel["lines"], panel["target_pct"], panel["top"]
        _panel_title(ax, kpi_title, 1)
        if shown.empty:
            _no_panel(ax, "No records to show:\nno service has eligible records")
            continue
        x_low, x_top = max(0.7, float(shown["n"].min()) * 0.7), float(shown["n"].max()) * 1.1
        ax.set_xscale("log")
        ax.set_xlim(x_low, x_top)
        ax.xaxis.set_major_locator(FixedLocator(_sparse_log_ticks(x_low, x_top)))
        ax.xaxis.set_minor_locator(FixedLocator([]))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.grid(color=GREY_LIGHT, lw=0.5, zorder=0)
        if pd.notna(target_pct):
            ax.axhline(target_pct, color=OKABE_ITO["black"], lw=1.3, zorder=2)
        if len(lines):
            for suffix, style in (("95", (0, (6, 3))), ("998", (0, (1, 2)))):
                for side in ("low", "high"):
                    ax.plot(lines["n"], 100 * lines[f"{side}{suffix}"], color=GREY_DARK, lw=1.1, ls=style, zorder=2)
        for z, status in enumerate(FUNNEL_DRAW_ORDER):
            points = shown[shown["status"] == status]
            if len(points):
                keywords = _status_keywords(status)
                keywords["s"] = keywords["s"] * GRID_MARKER_SCALE
                ax.scatter(points["n"], points["pct"], zorder=3 + z / 10, clip_on=False, **keywords)
        unknown = shown[~shown["status"].isin(FUNNEL_DRAW_ORDER)]
        if len(unknown):
            ax.scatter(unknown["n"], unknown["pct"], s=24 * GRID_MARKER_SCALE, marker="s", facecolors="white",
                       edgecolors=GREY_DARK, zorder=3, clip_on=False)
        if i % n_cols == 0:
            ax.set_ylabel("%")
        if not layout.has_panel_below(i):
            ax.set_xlabel("Patients eligible (log scale)")
    return layout
