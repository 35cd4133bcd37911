"""Control charts of a unit's monthly KPIs (statistics.md §3 and §4): run charts with the Anhøj
signals of ``run_chart_signals`` marked, and p-charts with their limits, as small multiples."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from fls_report.charts.backdrop import kept_grid, lend_grid
from fls_report.charts.chart import Chart, ChartData, _empty, _has_rows
from fls_report.charts.layout import (GRID_STATUS_WIDTH, GRID_TITLE_WIDTH, _LEGEND_ROW_IN, _frame, _grid_layout,
                                      _grid_legend, _grid_title, _month_axis, _panel_label, _panel_title,
                                      _pct_axis_top, _pct_top)
from fls_report.charts.style import (GREY_DARK, GREY_LIGHT, MEDIAN_COLOUR, OKABE_ITO, REFERENCE_COLOUR,
                                     SIGNAL_COLOUR, _styled)
from fls_report.charts.words import (_count, _kpi_name, _kpi_title, _month_words, _name_of, _plain, _plural, _truncate, _wrap,
                                     format_pct)
from fls_report.kpis import NATIONAL
from fls_report.vocabulary import fmt_count, MIN_USEFUL_POINTS, P_CHART_MIN_MEAN_DENOMINATOR, P_CHART_MIN_MONTHS

#: The columns read from ``monthly_kpis``, the run-chart signals and a p-chart frame.
MONTHLY_COLUMNS = ("code", "kpi_id", "month", "denominator", "pct")
SIGNAL_COLUMNS = ("code", "kpi_id", "median_pct", "useful_points", "signal")
P_CHART_COLUMNS = ("month", "n", "p", "cl", "lcl", "ucl", "outside")
#: The width of the comparison unit's line (:data:`~fls_report.charts.style.REFERENCE_COLOUR`).
REFERENCE_WIDTH = 1.1


def _truthy(value) -> bool:
    """A flag from a table, whether bool, blank or ``true``/``false`` text (as read from CSV)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return False if value is None or pd.isna(value) else bool(value)


def _monthly_pcts(monthly: pd.DataFrame, code: str, kpi_ids: Sequence[str], months: Sequence[str]) -> dict[str, pd.Series]:
    """One unit's monthly ``pct`` of each KPI over ``months`` (the first filled value of a month
    given twice); NaN where the denominator is 0 or blank."""
    part = monthly[(monthly["code"].astype(str) == str(code)) & monthly["kpi_id"].isin(list(kpi_ids))]
    denominator = pd.to_numeric(part["denominator"], errors="coerce")
    pct = pd.to_numeric(part["pct"], errors="coerce").where(denominator > 0)
    by_kpi = pd.Series(pct.to_numpy(), index=pd.MultiIndex.from_arrays(
        [part["kpi_id"].to_numpy(), part["month"].astype(str).to_numpy()], names=["kpi_id", "month"]))
    first = by_kpi.groupby(level=["kpi_id", "month"]).first()
    found = set(first.index.get_level_values("kpi_id"))
    return {k: (first.xs(k, level="kpi_id") if k in found else pd.Series(dtype=float)).reindex(months)
            for k in kpi_ids}


@_styled
def run_charts(monthly: pd.DataFrame, signals: pd.DataFrame | None, code: str, kpi_ids: Sequence[str],
               explanations: Mapping[str, str] | None = None, name: str | None = None,
               reference: pd.DataFrame | None = None, reference_name: str | None = None,
               points: pd.DataFrame | None = None, kpi_names: Mapping[str, str] | None = None) -> Chart:
    """Run charts for one unit, one small panel per KPI, with the Anhøj signals marked.

    Parameters
    ----------
    monthly : pandas.DataFrame
        ``monthly_kpis``: ``code``, ``kpi_id``, ``month`` (``YYYY-MM``), ``denominator``, ``pct``.
    signals : pandas.DataFrame
        :func:`fls_report.benchmarks.run_chart_signals`: ``code``, ``kpi_id``, ``median_pct``,
        ``useful_points``, ``longest_run``, ``longest_run_side``, ``shift``,
        ``too_few_crossings``, ``signal``.
    code : str
        A service code, ``NATIONAL`` or a nation code.
    kpi_ids : sequence of str
        One panel each, three to a row.
    explanations : mapping, optional
        KPI id → plain-words result (:func:`fls_report.vocabulary.signal_explanation`); those of
        the panels with a signal go in the caption.
    name : str, optional
        The unit's name, for the title (for ``NATIONAL``, the run's national name).
    reference : pandas.DataFrame, optional
        Monthly rows (the columns of ``monthly``) of a unit to compare with, usually the national
        level (``code == "NATIONAL"``), drawn in each panel as a thin grey line over the same
        months and named in the legend; it takes no part in the run analysis. If it holds several
        units, ``NATIONAL`` is used when present, else the first code. None (the default) draws
        exactly what this function drew before the argument existed.
    reference_name : str, optional
        The reference's name in the legend and words (for ``NATIONAL``, the run's national name);
        by default the level's name ("England and Wales" for ``NATIONAL``).
    points : pandas.DataFrame, optional
        ``run_chart_points`` (``code``, ``kpi_id``, ``month``, ``on_longest_run``): the points of
        the longest run as the compute stage found them, marked when that run is a shift.
    kpi_names : mapping, optional
        KPI id → name, as the run's ``kpi_results`` has them (its windows in them); by default
        kpis.md's names.

    Returns
    -------
    Chart
        Monthly ``pct`` as a line with points (a month with denominator 0 is a gap), the
        series' median from ``signals`` as a dashed line. A panel with a signal has a vermillion
        frame and says so in its title; when the signal is a shift, the points of the longest
        run are vermillion diamonds. Each panel's vertical axis is 0–100% unless all its values
        fit a smaller range (e.g. KPI3), which the caption names.
    """
    kpi_ids = list(kpi_ids)
    explanations = dict(explanations or {})
    label = _name_of(str(code), name)
    title = f"Run charts: {label}"
    if not _has_rows(monthly, MONTHLY_COLUMNS, "monthly_kpis") or not kpi_ids:
        return _empty(title, "The monthly table is empty or no KPI was asked for.")
    own = monthly[(monthly["code"].astype(str) == str(code)) & monthly["kpi_id"].isin(kpi_ids)]
    if own.empty:
        return _empty(title, f"The monthly table has no rows for {label} and these KPIs.")
    months = sorted(monthly.loc[monthly["kpi_id"].isin(kpi_ids), "month"].astype(str).unique())
    values = _monthly_pcts(own, code, kpi_ids, months)
    if all(s.isna().all() for s in values.values()):
        return _empty(title, f"{label} has no eligible records in any month for these KPIs.")
    ref_label, ref_values = _reference_series(reference, reference_name, kpi_ids, months)

    n_cols = 3 if len(kpi_ids) >= 3 else len(kpi_ids)
    statuses = {k: _run_status(_signal_row(signals, code, k)) for k in kpi_ids}
    titles = {k: _plain(_wrap(_kpi_title(k, kpi_names), 27)) + "\n" + _wrap(statuses[k], 27) for k in kpi_ids}
    n_handles = 2 + int(bool(ref_values)) + 2  # at most: the signal frame and the shift's diamonds
    layout = kept_grid(
        _grid_layout, n_panels=len(kpi_ids), n_cols=n_cols, panel_height_in=1.75, title_lines=1,
        panel_title_lines=max(t.count("\n") + 1 for t in titles.values()), status_lines=0,
        bottom_extra_in=math.ceil(n_handles / 3) * _LEGEND_ROW_IN + 0.1, xlabel=False,
    )
    x = np.arange(len(months))
    xlabel = ""
    flagged, short, zoomed, no_analysis, described, shift_drawn = [], [], [], [], [], False
    drawn: list[dict] = []
    for i, kpi_id in enumerate(kpi_ids):
        ax = layout.axes[i]
        series = values[kpi_id].to_numpy(dtype=float)
        row = _signal_row(signals, code, kpi_id)
        median = float(row["median_pct"]) if row is not None and pd.notna(row["median_pct"]) else np.nan
        useful = int(row["useful_points"]) if row is not None and pd.notna(row["useful_points"]) else 0
        signal = row is not None and _truthy(row["signal"])
        shift = signal and "shift" in row.index and _truthy(row["shift"])

        if ref_values:
            ref = ref_values[kpi_id].to_numpy(dtype=float)
            top = _pct_axis_top(values[kpi_id], pd.Series([median]), ref_values[kpi_id])
            everything = np.r_[series, median, ref]
            highest = np.nanmax(everything) if not np.isnan(everything).all() else np.nan
        else:
            top = _pct_axis_top(values[kpi_id], pd.Series([median]))
            highest = np.nanmax(np.r_[series, median]) if not np.isnan(np.r_[series, median]).all() else np.nan
        if pd.notna(highest) and top == 100 and _pct_top(highest) < 100:
            top = _pct_top(highest)
            zoomed.append(f"{kpi_id} ({top:g}%)")
        if ref_values:
            ax.plot(x, ref, color=REFERENCE_COLOUR, lw=REFERENCE_WIDTH, zorder=1.8, clip_on=False)
        ax.plot(x, series, color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4, zorder=3, clip_on=False)
        if pd.notna(median):
            ax.axhline(median, color=MEDIAN_COLOUR, lw=1.3, ls=(0, (5, 3)), zorder=2)
        positions = []
        if shift and points is not None:
            marked = points[(points["code"].astype(str) == str(code)) & (points["kpi_id"] == kpi_id)
                            & points["on_longest_run"].astype(bool)]
            positions = [months.index(m) for m in marked["month"].astype(str) if m in months]
            if positions:
                ax.scatter(x[positions], series[positions], s=34, marker="D", color=SIGNAL_COLOUR,
                           edgecolors=OKABE_ITO["black"], linewidths=0.5, zorder=4, clip_on=False)
                shift_drawn = True
        for j, month in enumerate(months):
            drawn.append({"KPI and month": f"{kpi_id}, {_month_words(month)}", "%": series[j], "Median": median,
                          **({ref_label: ref[j]} if ref_values else {}),
                          "On the longest run (a shift)": "yes" if j in positions else ""})

        status = statuses[kpi_id]
        if signal:
            flagged.append(kpi_id)
            _frame(ax, SIGNAL_COLOUR)
        elif row is None:
            no_analysis.append(kpi_id)
        elif useful < MIN_USEFUL_POINTS:
            short.append(f"{kpi_id} ({useful})")
        described.append((kpi_id, median, signal, status))
        # The title's height is given (y=1), so matplotlib need not measure the axes to place it.
        ax.set_title(titles[kpi_id], fontsize=10, loc="left", color=SIGNAL_COLOUR if signal else OKABE_ITO["black"],
                     y=1.0, pad=5.5, fontweight="bold" if signal else "normal")
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
        xlabel = _month_axis(ax, months)
        ax.grid(axis="y", color=GREY_LIGHT, lw=0.6)
        if i % n_cols == 0:
            ax.set_ylabel("%")
    _grid_title(layout, f"{title}, by {xlabel[0].lower()}{xlabel[1:]}")
    handles = [Line2D([], [], color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4, label="Monthly %"),
               Line2D([], [], color=MEDIAN_COLOUR, lw=1.3, ls=(0, (5, 3)), label="Median")]
    if ref_values:
        handles.append(Line2D([], [], color=REFERENCE_COLOUR, lw=REFERENCE_WIDTH,
                              label=_plain(_wrap(_truncate(ref_label, 60), 30))))
    if flagged:
        handles.append(Patch(facecolor="white", edgecolor=SIGNAL_COLOUR, lw=2, label="Signal (framed panel)"))
    if shift_drawn:
        handles.append(Line2D([], [], ls="none", marker="D", markersize=6, color=SIGNAL_COLOUR,
                              markeredgecolor=OKABE_ITO["black"], markeredgewidth=0.5,
                              label="Longest run (a shift)"))
    _grid_legend(layout, handles, ncol=min(3, len(handles)))

    gaps = [f"{kpi_id} {_plural(int(values[kpi_id].isna().sum()), 'month')}" for kpi_id in kpi_ids
            if values[kpi_id].isna().any()]
    signal_words = "; ".join(f"{kpi_id}: {explanations.get(kpi_id, 'a signal of non-random variation')}"
                             for kpi_id in flagged)
    alt_parts = []
    for kpi_id, median, signal, status in described:
        s = values[kpi_id]
        text = (f"{kpi_id} {_kpi_name(kpi_id, kpi_names)}: "
                + (f"{format_pct(s.min())} to {format_pct(s.max())}" if s.notna().any() else "no eligible records")
                + (f", median {format_pct(median)}" if pd.notna(median) else "")
                + f"; {explanations[kpi_id] if kpi_id in explanations else status.lower()}"
                + (_reference_words(ref_label, ref_values[kpi_id]) if ref_values else ""))
        alt_parts.append(text)
    alt = (
        f"Run charts of the monthly percentage for {label} over {_plural(len(months), 'month')} ({months[0]} "
        f"to {months[-1]}), one per KPI, each with its median. "
        + (f"{_plural(len(flagged), 'series', 'series')} {'shows' if len(flagged) == 1 else 'show'} a signal "
           f"({', '.join(flagged)}). " if flagged else "No series shows a signal. ")
        + ". ".join(alt_parts) + "."
    )
    caption = (
        "Monthly percentage by month of fracture, with each series' median (dashed). "
        + (f"A framed panel signals non-random variation (Anhøj rules): {signal_words}. " if flagged
           else "No panel signals non-random variation (Anhøj rules). ")
        + f"Series with fewer than {MIN_USEFUL_POINTS} useful months (months with data, not on the median) "
        f"claim no signal" + (f": {', '.join(short)}." if short else ".")
        + (f" No run analysis was given for {', '.join(no_analysis)}." if no_analysis else "")
        + (f" Vertical axes stop below 100% for {', '.join(zoomed)}." if zoomed else "")
        + (f" A gap is a month with no eligible records: {', '.join(gaps)}." if gaps else "")
        + (f" Thin grey line: the monthly percentage for {ref_label}, for comparison (not part of the run "
           "analysis)." if ref_values else "")
    )
    table = pd.DataFrame(drawn)
    if not shift_drawn:
        table = table.drop(columns="On the longest run (a shift)")
    data = ChartData(caption=f"{title}: the monthly percentage and the median of each KPI", table=table)
    return lend_grid(Chart(figure=layout.figure, alt=alt, caption=caption, data=data))


def _run_status(row: pd.Series | None) -> str:
    """A run-chart panel's result in a few words, from its row of the run-chart signals."""
    if row is None:
        return "No run analysis"
    if _truthy(row["signal"]):
        kinds = [words for column, words in (("shift", "a shift"), ("too_few_crossings", "too few crossings"))
                 if column in row.index and _truthy(row[column])]
        return "Signal: " + (" and ".join(kinds) if kinds else "non-random variation")
    useful = int(row["useful_points"]) if pd.notna(row["useful_points"]) else 0
    return f"Too few useful months ({useful}) to judge" if useful < MIN_USEFUL_POINTS else "No signal"


def _signal_row(signals: pd.DataFrame | None, code: str, kpi_id: str) -> pd.Series | None:
    if signals is None or len(signals) == 0 or not all(c in signals.columns for c in SIGNAL_COLUMNS):
        return None
    rows = signals[(signals["code"].astype(str) == str(code)) & (signals["kpi_id"] == kpi_id)]
    return rows.iloc[0] if len(rows) else None


def _reference_series(reference: pd.DataFrame | None, reference_name: str | None, kpi_ids: Sequence[str],
                      months: Sequence[str]) -> tuple[str, dict[str, pd.Series]]:
    """The comparison unit's name and its monthly ``pct`` per KPI over ``months`` ({} if none)."""
    if reference is None or not _has_rows(reference, MONTHLY_COLUMNS, "reference monthly_kpis"):
        return "", {}
    rows = reference[reference["kpi_id"].isin(list(kpi_ids))]
    codes = list(dict.fromkeys(rows["code"].astype(str)))
    if not codes:
        return "", {}
    ref_code = NATIONAL if NATIONAL in codes else codes[0]
    label = reference_name or _name_of(ref_code)
    rows = rows[rows["code"].astype(str) == ref_code]
    return label, _monthly_pcts(rows, ref_code, kpi_ids, months)


def _reference_words(label: str, series: pd.Series) -> str:
    if series.notna().any():
        return f"; {label} {format_pct(series.min())} to {format_pct(series.max())}"
    return f"; {label} no eligible records"


@_styled
def p_chart_grid(charts: Mapping[str, pd.DataFrame | None] | None, name: str | None = None,
                 kpi_names: Mapping[str, str] | None = None) -> Chart:
    """p-charts of several KPIs for one unit as small multiples in one figure (3 panels to a row).

    Parameters
    ----------
    charts : mapping
        KPI id → p-chart frame, as :meth:`fls_report.run.Run.p_chart` gives (``month``, ``x``,
        ``n``, ``p``, ``cl``, ``lcl``, ``ucl`` as fractions, ``outside``; the runs analysis in
        ``attrs["runs"]``, Laney's p′ in ``attrs["chart"]``). One panel each, in
        the mapping's order. A KPI whose frame is None (too few months or records for a p-chart)
        or has no month with records gets no panel; the caption names it.
    name : str, optional
        The unit's name, for the title.
    kpi_names : mapping, optional
        KPI id → name, as the run's ``kpi_results`` has them; by default kpis.md's names.

    Returns
    -------
    Chart
        Each panel has the monthly percentage as a line with points, the centre line, the
        3-sigma limits as steps (they vary with each month's denominator), points outside them
        as vermillion diamonds and a gap for a month without records; its vertical axis is
        zoomed to the points and limits (SPC charts are read against their limits). Each is
        labelled with its centre line, the months outside and the runs
        result; a panel whose runs analysis signals has a vermillion frame. One legend. The alt
        text and caption give, per KPI, the centre line, the points outside and the runs result.
        An empty mapping gives a "No records to show" chart.
    """
    items = dict(charts or {})
    title = "p-charts" + (f": {name}" if name else "")
    needs = (f"A p-chart needs at least {P_CHART_MIN_MONTHS} months with eligible records and on "
             f"average at least {P_CHART_MIN_MEAN_DENOMINATOR} eligible records a month")
    if not items:
        return _empty(title, "No p-chart was given.")
    panels, left_out = [], []
    for kpi_id, frame in items.items():
        if frame is None or not _has_rows(frame, P_CHART_COLUMNS, f"{kpi_id} p_chart"):
            left_out.append(kpi_id)
            continue
        v = _p_chart_values(frame)
        if np.isnan(v["p"]).all():
            left_out.append(kpi_id)
            continue
        panels.append((kpi_id, frame, v))
    left_words = (f"No p-chart for {', '.join(left_out)}: {needs[:1].lower()}{needs[1:]}." if left_out else "")
    if not panels:
        return _empty(title, f"{needs}; no KPI here has one ({', '.join(left_out)}).")

    n_cols = 3 if len(panels) >= 3 else len(panels)
    kinds = {v["kind"] for _, _, v in panels}
    any_outside = any(v["outside"].any() for _, _, v in panels)
    runs_labels = {kpi_id: _runs_short(frame.attrs.get("runs")) for kpi_id, frame, _ in panels}
    signals = [kpi_id for kpi_id, (_, signal) in runs_labels.items() if signal]
    runs_lines = max(_wrap(text, GRID_STATUS_WIDTH).count("\n") + 1 for text, _ in runs_labels.values())
    n_handles = 3 + int(any_outside) + int(bool(signals))
    layout = kept_grid(
        _grid_layout, n_panels=len(panels), n_cols=n_cols, panel_height_in=1.75, title_lines=1,
        panel_title_lines=max(_wrap(_kpi_title(k, kpi_names), GRID_TITLE_WIDTH).count("\n") + 1 for k, _, _ in panels),
        status_lines=1 + runs_lines, bottom_extra_in=math.ceil(n_handles / 3) * _LEGEND_ROW_IN + 0.1,
        xlabel=False,
    )
    xlabel, sentences, summaries, gaps, zoom = "", [], [], [], False
    drawn = [{"KPI and month": f"{kpi_id}, {_month_words(month)}", "Eligible patients": n, "%": p,
              "Centre line": cl, "Lower limit": lcl, "Upper limit": ucl, "Outside the limits": "yes" if out else ""}
             for kpi_id, frame, v in panels
             for month, n, p, cl, lcl, ucl, out in zip(v["months"], pd.to_numeric(frame["n"], errors="coerce"),
                                                        v["p"], v["cl"], v["lcl"], v["ucl"], v["outside"])]
    for i, (ax, (kpi_id, frame, v)) in enumerate(zip(layout.axes, panels)):
        bottom, top = _p_chart_range(v)
        zoom = zoom or (bottom, top) != (0, 100)
        _p_chart_draw(ax, v, bottom, top, small=True)
        xlabel = _month_axis(ax, v["months"])
        ax.grid(axis="y", color=GREY_LIGHT, lw=0.6)
        if i % n_cols == 0:
            ax.set_ylabel("%")
        runs = frame.attrs.get("runs")
        runs_label, signal = runs_labels[kpi_id]
        wrapped = _wrap(runs_label, GRID_STATUS_WIDTH)
        outside = int(v["outside"].sum())
        _panel_title(ax, _kpi_title(kpi_id, kpi_names), 2 + wrapped.count("\n"))
        _panel_label(ax, f"Centre line {format_pct(v['centre'])}; {_plural(outside, 'month')} outside",
                     line=wrapped.count("\n") + 1, colour=OKABE_ITO["black"])
        _panel_label(ax, wrapped, colour=SIGNAL_COLOUR if signal else OKABE_ITO["black"], bold=signal)
        if signal:
            _frame(ax, SIGNAL_COLOUR)
        outside_words = _p_outside_words(v)
        months = v["months"]
        sentences.append(
            f"{_kpi_title(kpi_id, kpi_names)}: monthly percentages {format_pct(np.nanmin(v['p']))} to "
            f"{format_pct(np.nanmax(v['p']))} over {months[0]} to {months[-1]} around a centre line of "
            f"{format_pct(v['centre'])}, {_p_limit_words(v['kind'])} ({_p_limits_range(v)}); {outside_words}; "
            f"runs analysis: {_runs_words(runs)}."
        )
        summaries.append(f"{kpi_id}: centre line {format_pct(v['centre'])}; {outside_words}; "
                         f"{runs_label[:1].lower()}{runs_label[1:]}")
        if v["gaps"]:
            gaps.append(f"{kpi_id} {_plural(v['gaps'], 'month')}")
    _grid_title(layout, f"{title}, by {xlabel[0].lower()}{xlabel[1:]}")
    limit_label = "3-sigma control limits" + (" (Laney p′)" if kinds == {"p'"} else "")
    handles = [
        Line2D([], [], color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4, label="Monthly %"),
        Line2D([], [], color=MEDIAN_COLOUR, lw=1.4, label="Centre line"),
        Line2D([], [], color=GREY_DARK, lw=1.2, ls=(0, (5, 3)), label=limit_label),
    ]
    if any_outside:
        handles.append(Line2D([], [], ls="none", marker="D", markersize=6, color=SIGNAL_COLOUR,
                              markeredgecolor=OKABE_ITO["black"], markeredgewidth=0.6, label="Outside the limits"))
    if signals:
        handles.append(Patch(facecolor="white", edgecolor=SIGNAL_COLOUR, lw=2, label="Runs signal (framed panel)"))
    _grid_legend(layout, handles, ncol=min(3, len(handles)) if len(handles) > 3 else len(handles))

    laney = [k for k, _, v in panels if v["kind"] == "p'"]
    alt = (
        f"p-charts of {_plural(len(panels), 'KPI')}" + (f" for {name}" if name else "")
        + ", one panel each: the monthly percentage against its centre line and 3-sigma control limits. "
        + " ".join(sentences)
        + (f" {left_words}" if left_words else "")
    )
    caption = (
        "Monthly percentage (points) with its centre line (solid: the pooled percentage) and 3-sigma control "
        "limits (dashed), which vary with each month's denominator; diamonds fall outside the limits"
        + ("; a framed panel has a runs signal (Anhøj rules around the centre line)" if signals else "")
        + ". " + ". ".join(summaries) + "."
        + (f" Laney p′ limits for {', '.join(laney)}." if laney and kinds != {"p'"} else "")
        + (" Vertical axes are zoomed to each panel's points and limits." if zoom else "")
        + (f" Months without eligible records are gaps: {', '.join(gaps)}." if gaps else "")
        + (f" {left_words}" if left_words else "")
    )
    data = ChartData(caption=f"{title}: each month's percentage, centre line and 3-sigma limits",
                     table=pd.DataFrame(drawn), formats={"Eligible patients": fmt_count})
    return lend_grid(Chart(figure=layout.figure, alt=alt, caption=caption, data=data))


def _p_chart_values(chart: pd.DataFrame) -> dict:
    """A p-chart frame's months and its percentages (× 100) as arrays, with the centre line."""
    frame = chart.reset_index(drop=True)
    months = frame["month"].astype(str).tolist()
    p, cl, lcl, ucl = (100 * pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                       for c in ("p", "cl", "lcl", "ucl"))
    outside = frame["outside"].map(_truthy).to_numpy(dtype=bool) & ~np.isnan(p)
    centre = float(np.nanmean(cl)) if not np.isnan(cl).all() else np.nan
    with_data = ~np.isnan(p)
    return {"months": months, "x": np.arange(len(months)), "p": p, "cl": cl, "lcl": lcl, "ucl": ucl,
            "outside": outside, "centre": centre, "n_months": int(with_data.sum()), "gaps": int((~with_data).sum()),
            "kind": frame.attrs.get("chart", chart.attrs.get("chart", "p"))}


def _p_chart_range(v: Mapping) -> tuple[float, float]:
    """The vertical axis of a p-chart: zoomed to its points, limits and centre line."""
    extent = np.r_[v["p"], v["lcl"], v["ucl"], v["centre"]]
    extent = extent[~np.isnan(extent)]
    span = max(float(extent.max() - extent.min()), 2.0)
    bottom = max(0.0, math.floor((extent.min() - 0.12 * span) / 5) * 5)
    top = min(100.0, math.ceil((extent.max() + 0.12 * span) / 5) * 5) if extent.max() <= 100 else \
        _pct_axis_top(pd.Series(extent))
    if top - bottom > 60:
        bottom = 0.0
        top = max(top, 100.0)
    return bottom, top


def _p_chart_draw(ax, v: Mapping, bottom: float, top: float, small: bool = False) -> None:
    """The limits (steps), centre line, monthly line and the points outside, on ``ax``."""
    x, p, outside = v["x"], v["p"], v["outside"]
    edges = np.r_[x - 0.5, x[-1] + 0.5]
    for limit in (v["lcl"], v["ucl"]):
        ax.step(edges, np.r_[limit, limit[-1]], where="post", color=GREY_DARK, lw=1.2, ls=(0, (5, 3)), zorder=2)
    if pd.notna(v["centre"]):
        ax.axhline(v["centre"], color=MEDIAN_COLOUR, lw=1.4, zorder=2)
    ax.plot(x, p, color=OKABE_ITO["black"], lw=1.3, marker="o", markersize=4 if small else 5, zorder=3,
            clip_on=False)
    if outside.any():
        ax.scatter(x[outside], p[outside], s=40 if small else 60, marker="D", color=SIGNAL_COLOUR,
                   edgecolors=OKABE_ITO["black"], linewidths=0.6, zorder=4, clip_on=False)
    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4 if small else 6, steps=[1, 2, 5, 10]))


def _p_limit_words(kind) -> str:
    return "3-sigma control limits" + (" (Laney p′)" if kind == "p'" else "")


def _p_outside_words(v: Mapping) -> str:
    """E.g. "1 of 11 months falls outside the limits (above: May 2016)"."""
    months, p, outside, centre = v["months"], v["p"], v["outside"], v["centre"]
    above = [_month_words(m) for m, o, value in zip(months, outside, p) if o and value > centre]
    below = [_month_words(m) for m, o, value in zip(months, outside, p) if o and value < centre]
    return (
        f"{_count(int(outside.sum()))} of {_plural(v['n_months'], 'month')} "
        f"{'falls' if outside.sum() == 1 else 'fall'} outside the limits"
        + (" (" + "; ".join(part for part in (
            f"above: {', '.join(above)}" if above else "", f"below: {', '.join(below)}" if below else "") if part)
           + ")" if outside.any() else "")
    )


def _p_limits_range(v: Mapping) -> str:
    lcl, ucl = v["lcl"], v["ucl"]
    return (f"lower limit {format_pct(np.nanmin(lcl))} to {format_pct(np.nanmax(lcl))}, upper limit "
            f"{format_pct(np.nanmin(ucl))} to {format_pct(np.nanmax(ucl))}")


def _runs_words(runs: Mapping | None, unit: str = "month") -> str:
    """The p-chart's runs analysis (around its centre line) in words."""
    if not runs:
        return "no runs analysis was given"
    n_useful = int(runs.get("n_useful", 0) or 0)
    if n_useful < MIN_USEFUL_POINTS:
        return f"too few {unit}s off the centre line ({n_useful}) to look for signals"
    parts = []
    longest, longest_max = runs.get("longest_run"), runs.get("longest_run_max")
    crossings, crossings_min = runs.get("crossings"), runs.get("crossings_min")
    if pd.notna(longest_max) and longest > longest_max:
        parts.append(f"a run of {longest} {unit}s {runs.get('longest_run_side', 'on one side of')} the centre line "
                     f"(more than {int(longest_max)} is unusual)")
    if pd.notna(crossings_min) and crossings < crossings_min:
        parts.append(f"the line crosses the centre line {_plural(int(crossings), 'time')} (fewer than "
                     f"{int(crossings_min)} is unusual)")
    if runs.get("signal") and parts:
        return "a signal of non-random variation: " + "; ".join(parts)
    if runs.get("signal"):
        return "a signal of non-random variation"
    return (f"no signal (longest run {longest}, more than {int(longest_max)} would be unusual; "
            f"{_plural(int(crossings), 'crossing')}, fewer than {int(crossings_min)} would be unusual)")


def _runs_short(runs: Mapping | None) -> tuple[str, bool]:
    """A p-chart's runs analysis in a few words for a panel label, and whether it is a signal."""
    if not runs:
        return "Runs: no analysis given", False
    if int(runs.get("n_useful", 0) or 0) < MIN_USEFUL_POINTS:
        return "Runs: too few months to judge", False
    if not runs.get("signal"):
        return "Runs: no signal", False
    kinds = []
    longest_max, crossings_min = runs.get("longest_run_max"), runs.get("crossings_min")
    if pd.notna(longest_max) and runs.get("longest_run", 0) > longest_max:
        kinds.append("a shift")
    if pd.notna(crossings_min) and runs.get("crossings", 0) < crossings_min:
        kinds.append("too few crossings")
    return "Runs signal" + (f": {' and '.join(kinds)}" if kinds else ""), True
