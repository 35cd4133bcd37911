"""Charts of ``kpi_results``, services side by side: the caterpillar plot of one KPI and the
identification scatter (KPI2, records submitted against expected caseload)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, StrMethodFormatter

from fls_report.charts.backdrop import over_backdrop
from fls_report.charts.chart import Chart, ChartData, _empty, _has_rows, _row_names
from fls_report.charts.layout import (_LEGEND_ROW_IN, _LINE_10_IN, _LINE_12_IN, _TICK_LABELS_IN, _annotate,
                                      _figure, _grid_title, _pct_axis_top, _single_axes_layout, _text_width_in,
                                      _title)
from fls_report.charts.style import (GREY_DARK, GREY_LIGHT, GREY_MID, HIGHLIGHT_COLOUR, OKABE_ITO, RAG_COLOURS,
                                     SERVICE_COLOUR, _styled)
from fls_report.charts.words import (_count, _kpi_name, _kpi_title, _name_of, _national_name, _plain, _plural, _truncate,
                                     _wrap, format_pct)
from fls_report.kpis import BANDS, DEFAULT_BAND, NATIONAL
from fls_report.vocabulary import fmt_count

#: The columns the charts read from ``kpi_results`` (outputs.md §3).
RESULT_COLUMNS = ("level", "code", "kpi_id", "numerator", "denominator", "pct")


def _as_bool(values: pd.Series) -> pd.Series:
    """``low_numbers`` as booleans, whether read as bool or as ``true``/``false`` text."""
    if values.dtype == bool:
        return values
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])


def _band_edges(kpi_id: str) -> tuple[int, int | None]:
    return BANDS.get(kpi_id, DEFAULT_BAND)


def _band_words(kpi_id: str) -> dict[str, str]:
    """Each band of ``kpi_id`` in words, e.g. ``{"green": "80% and above", ...}``."""
    green, amber = _band_edges(kpi_id)
    words = {"green": f"{green}% and above"}
    if amber is None:
        words["red"] = f"below {green}%"
    else:
        words["amber"] = f"{amber}% to below {green}%"
        words["red"] = f"below {amber}%"
    return words


def _ranks(pct: pd.Series) -> pd.Series:
    """Rank 1 = highest unrounded percentage; ties share the better rank (kpis.md)."""
    return pct.rank(ascending=False, method="min").astype(int)


def _rank_ticks(n: int) -> list[int]:
    """Tick positions on a rank axis: 1, then every 5, 10 or 25."""
    step = 5 if n <= 60 else 10 if n <= 150 else 25
    return [1] + list(range(step, n + 1, step))


def _service_rows(results: pd.DataFrame, kpi_id: str) -> pd.DataFrame:
    rows = results[(results["level"] == "service") & (results["kpi_id"] == kpi_id)].copy()
    rows["denominator"] = pd.to_numeric(rows["denominator"], errors="coerce")
    return rows


def _national_row(results: pd.DataFrame, kpi_id: str) -> pd.Series | None:
    rows = results[(results["code"] == NATIONAL) & (results["kpi_id"] == kpi_id)]
    return rows.iloc[0] if len(rows) else None


def _left_off_words(n_zero: int, n_blank: int, kpi_id: str) -> str:
    """The services a KPI chart leaves off, in words ('' when none)."""
    parts = []
    if n_zero:
        parts.append(f"{_plural(n_zero, 'service')} with no eligible records")
    if n_blank:
        parts.append(f"{_plural(n_blank, 'service')} without a caseload estimate" if kpi_id == "KPI2"
                     else f"{_plural(n_blank, 'service')} with a blank denominator")
    if not parts:
        return ""
    verb = "is" if n_zero + n_blank == 1 else "are"
    return f"{' and '.join(parts)} {verb} not shown."


def _names_of_kpis(results: pd.DataFrame) -> dict[str, str] | None:
    """The run's KPI names, from ``kpi_results``' ``kpi_name`` (None without the column)."""
    if "kpi_name" not in results.columns:
        return None
    rows = results.drop_duplicates("kpi_id")
    return dict(zip(rows["kpi_id"], rows["kpi_name"]))


@_styled
def caterpillar(results: pd.DataFrame, kpi_id: str, highlight: str | None = None) -> Chart:
    """Services ranked by their percentage for one KPI, with 95% intervals.

    Parameters
    ----------
    results : pandas.DataFrame
        ``kpi_results`` (outputs.md §3): ``level``, ``code``, ``name``, ``kpi_id``,
        ``numerator``, ``denominator``, ``pct``, ``ci_low``, ``ci_high``, ``rag``,
        ``low_numbers``.
    kpi_id : str
        ``KPI1`` … ``KPI11``.
    highlight : str, optional
        A service code to draw in the highlight colour and label with its name, value and rank.

    Returns
    -------
    Chart
        Service rows with a denominator above 0, highest to lowest (x = position, ties in code
        order; the label gives the kpis.md rank, where ties share the better rank), each a point
        with its Wilson interval (KPI3–KPI11); the national percentage as a dashed line; the
        bands of kpis.md as faint shading named at the right (not for KPI1, whose service band
        counts the fields over the threshold rather than reading this percentage). Low-numbers
        services are hollow. Services with denominator 0 or blank are left off and counted in
        the caption. The vertical axis runs from 0 to 100%, further when a value exceeds 100%
        (KPI2), and to less than 100% only when every value and band edge is below 45% (KPI3).
    """
    kpi_names = _names_of_kpis(results)
    kpi_name = _kpi_name(kpi_id, kpi_names)
    title = f"{_kpi_title(kpi_id, kpi_names)}, by service"
    if not _has_rows(results, RESULT_COLUMNS, "kpi_results"):
        return _empty(title, "The KPI results table is empty.")
    rows = _service_rows(results, kpi_id)
    n_blank = int(rows["denominator"].isna().sum())
    n_zero = int((rows["denominator"] <= 0).sum())
    shown = rows[rows["denominator"] > 0].copy()
    left_off = _left_off_words(n_zero, n_blank, kpi_id)
    if shown.empty:
        return _empty(title, f"No service has eligible records for {kpi_id} ({kpi_name}). {left_off}".strip())

    for column in ("pct", "ci_low", "ci_high"):
        shown[column] = pd.to_numeric(shown[column], errors="coerce") if column in shown else np.nan
    shown["low"] = _as_bool(shown["low_numbers"]) if "low_numbers" in shown else False
    shown["rank"] = _ranks(shown["pct"])
    shown = shown.sort_values(["pct", "code"], ascending=[False, True], kind="stable").reset_index(drop=True)
    shown["x"] = np.arange(1, len(shown) + 1)
    national = _national_row(results, kpi_id)
    national_pct = float(national["pct"]) if national is not None and pd.notna(national["pct"]) else np.nan
    national_name = _national_name(row=national)
    has_ci = bool(shown["ci_low"].notna().any())
    draw_bands = kpi_id != "KPI1"
    green, amber = _band_edges(kpi_id)

    extent = pd.concat([shown["pct"], shown["ci_high"], pd.Series([national_pct])]).dropna()
    highest = max(float(extent.max()) if len(extent) else 0.0, green if draw_bands else 0.0)
    top = _pct_axis_top(extent)
    zoomed = highest <= 45
    if zoomed:
        top = 10 * math.ceil(highest * 1.2 / 10)

    figure = _figure(5.4)
    ax = figure.add_subplot()
    ax.set_xlim(0.3, len(shown) + 0.7)
    ax.set_ylim(0, top)
    if draw_bands:
        spans = [(0, amber if amber is not None else green, "red")]
        if amber is not None:
            spans.append((amber, green, "amber"))
        spans.append((green, top, "green"))
        short = {"green": f"≥{green}%", "amber": f"{amber}–{green}%", "red": f"<{amber if amber is not None else green}%"}
        for low, high, rag in spans:
            high = min(high, top)
            if high <= low:
                continue
            ax.axhspan(low, high, color=RAG_COLOURS[rag], alpha=0.10, lw=0, zorder=0)
            ax.text(1.01, (low + high) / 2 / top, f"{rag}\n{short[rag]}", transform=ax.transAxes, ha="left",
                    va="center", fontsize=9, color=GREY_DARK)
        for edge in (green, amber):
            if edge is not None and edge < top:
                ax.axhline(edge, color=GREY_MID, lw=0.6, ls=":", zorder=1)
    else:
        ax.grid(axis="y", color=GREY_LIGHT, lw=0.5, zorder=0)

    if has_ci:
        ax.vlines(shown["x"], shown["ci_low"], shown["ci_high"], color=GREY_MID, lw=1.2, zorder=2, clip_on=False)
    size = 30 if len(shown) <= 60 else 16
    solid, hollow = shown[~shown["low"]], shown[shown["low"]]
    ax.scatter(solid["x"], solid["pct"], s=size, color=SERVICE_COLOUR, zorder=3, clip_on=False)
    ax.scatter(hollow["x"], hollow["pct"], s=size, facecolor="white", edgecolor=SERVICE_COLOUR, lw=1.2, zorder=3,
               clip_on=False)
    if pd.notna(national_pct):
        ax.axhline(national_pct, color=OKABE_ITO["black"], lw=1.3, ls="--", zorder=4)

    highlighted = shown[shown["code"] == highlight] if highlight is not None else shown.iloc[0:0]
    highlight_words = ""
    if len(highlighted):
        point = highlighted.iloc[0]
        if pd.notna(point["ci_low"]):
            ax.vlines(point["x"], point["ci_low"], point["ci_high"], color=HIGHLIGHT_COLOUR, lw=2.2, zorder=5)
        ax.scatter([point["x"]], [point["pct"]], s=size * 2.4, zorder=6, lw=1.6, edgecolor=HIGHLIGHT_COLOUR,
                   facecolor="white" if point["low"] else HIGHLIGHT_COLOUR, clip_on=False)
        label = _name_of(point["code"], point.get("name"))
        highlight_words = f"{label}: {format_pct(point['pct'])}, rank {point['rank']} of {len(shown)}"
        obstacles = np.column_stack([
            shown["x"], shown["ci_low"].fillna(shown["pct"]), shown["ci_high"].fillna(shown["pct"]),
        ])
        _annotate(ax, point["x"], point["pct"], _wrap(highlight_words, 42), obstacles, [national_pct])
    elif highlight is not None:
        highlight_words = f"Service {highlight} is not shown: it has no eligible records for {kpi_id}."

    ax.set_xlabel("Services ranked from highest to lowest percentage")
    ax.set_ylabel("%")
    ax.xaxis.set_major_locator(FixedLocator(_rank_ticks(len(shown))))
    _title(figure, title)

    handles = [Line2D([], [], marker="o", ls="-" if has_ci else "none", lw=1.2, color=GREY_MID,
                      markerfacecolor=SERVICE_COLOUR, markeredgecolor=SERVICE_COLOUR,
                      label="Service" + (" with 95% interval" if has_ci else ""))]
    if len(hollow):
        handles.append(Line2D([], [], marker="o", ls="none", markerfacecolor="white", markeredgecolor=SERVICE_COLOUR,
                              label="Low numbers (small denominator): interpret with caution"))
    if pd.notna(national_pct):
        handles.append(Line2D([], [], color=OKABE_ITO["black"], ls="--",
                              label=f"{national_name}: {format_pct(national_pct)}"))
    if len(highlighted):
        handles.append(Line2D([], [], marker="o", ls="none", color=HIGHLIGHT_COLOUR,
                              label=_plain(_truncate(_name_of(highlight, highlighted.iloc[0].get("name")), 60))))
    figure.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)

    counts = shown["rag"].value_counts() if "rag" in shown else pd.Series(dtype=int)
    band_words = ""
    if draw_bands:
        band_words = " Services by band: " + ", ".join(
            f"{_count(int(counts.get(rag, 0)))} {rag} ({words})" for rag, words in _band_words(kpi_id).items()
        ) + "."
    alt = (
        f"Caterpillar plot of {_kpi_title(kpi_id, kpi_names)} for {_plural(len(shown), 'service')}, ranked from highest "
        f"to lowest percentage" + (" with 95% confidence intervals" if has_ci else "")
        + f". Service percentages range from {format_pct(shown['pct'].min())} to {format_pct(shown['pct'].max())}"
        + (f"; the {national_name} figure is {format_pct(national_pct)}." if pd.notna(national_pct) else ".")
        + band_words
        + (f" {_plural(len(hollow), 'service has', 'services have')} low numbers (hollow markers)." if len(hollow) else "")
        + (f" Highlighted: {highlight_words}." if len(highlighted) else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
        + (f" {left_off}" if left_off else "")
    )
    caption = (
        f"{_kpi_title(kpi_id, kpi_names)}: services ranked from highest to lowest"
        + (", with 95% Wilson intervals" if has_ci else "")
        + (f"; dashed line: {national_name} ({format_pct(national_pct)})" if pd.notna(national_pct) else "")
        + ("; hollow markers: low numbers" if len(hollow) else "")
        + (f"; the vertical axis stops at {top:g}%" if zoomed else "")
        + ("; no band shading, as a service's KPI1 band counts its key fields over the threshold"
           if not draw_bands else "")
        + "."
        + (f" {left_off}" if left_off else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
    )
    national_row = pd.DataFrame([{"code": NATIONAL, "name": national_name, "rank": None,
                                  "numerator": national["numerator"], "denominator": national["denominator"],
                                  "pct": national_pct, "ci_low": national.get("ci_low"),
                                  "ci_high": national.get("ci_high"), "low": None}]) if national is not None else None
    drawn = pd.concat([national_row, shown], ignore_index=True) if national_row is not None else shown
    data = ChartData(
        caption=f"{_kpi_title(kpi_id, kpi_names)}, by service, highest first, after {national_name}",
        table=pd.DataFrame({
            "Service": _row_names(drawn), "Rank": drawn["rank"], "Numerator": drawn["numerator"],
            "Denominator": drawn["denominator"], "%": drawn["pct"].astype(float),
            "95% interval from": pd.to_numeric(drawn["ci_low"], errors="coerce"),
            "95% interval to": pd.to_numeric(drawn["ci_high"], errors="coerce"),
            "Low numbers": ["yes" if isinstance(low, (bool, np.bool_)) and low else "" for low in drawn["low"]],
        }),
        formats={"Rank": fmt_count, "Numerator": fmt_count, "Denominator": fmt_count},
    )
    return Chart(figure=figure, alt=alt, caption=caption, data=data)


@_styled
@over_backdrop("highlight")
def identification(results: pd.DataFrame, highlight: str | None = None) -> Chart:
    """Records submitted against expected caseload (KPI2), one point per service.

    Parameters
    ----------
    results : pandas.DataFrame
        ``kpi_results``; the KPI2 service rows are used: x = ``denominator`` (expected caseload
        for the period), y = ``numerator`` (in-scope records submitted).
    highlight : str, optional
        A service code to draw in the highlight colour and label.

    Returns
    -------
    Chart
        Points with reference lines y = x (100% of the expected caseload) and y = 0.8x (the
        80% goal of 80/50/80, KPI2's green band edge). Services without a caseload estimate
        (blank denominator) are left off and counted in the caption.
    """
    title = f"{_kpi_title('KPI2', _names_of_kpis(results))}: records submitted against expected caseload, by service"
    if not _has_rows(results, RESULT_COLUMNS, "kpi_results"):
        return _empty(title, "The KPI results table is empty.")
    rows = _service_rows(results, "KPI2")
    n_blank = int(rows["denominator"].isna().sum())
    shown = rows[rows["denominator"].notna()].copy()
    left_off = _left_off_words(0, n_blank, "KPI2")
    if shown.empty:
        return _empty(title, f"No service has an expected caseload estimate. {left_off}".strip())

    shown["numerator"] = pd.to_numeric(shown["numerator"], errors="coerce").fillna(0)
    national = _national_row(results, "KPI2")
    green, _ = _band_edges("KPI2")
    goal = green / 100

    x_top = float(max(shown["denominator"].max(), 1)) * 1.06
    y_top = float(max(shown["numerator"].max(), goal * x_top * 0.5, 1)) * 1.10
    # Laid out by hand, so that everything but the highlighted service is the same on every
    # service's page: drawn once, as a backdrop, and the service's point, label and legend
    # entry over it (see Chart.changing).
    title_lines = _wrap(title, 95).count("\n") + 1
    height_in = 5.6
    left_in = _text_width_in((f"{y_top:,.0f}",), 9) + _LINE_10_IN + 0.3
    right_in = _text_width_in((f"{x_top:,.0f}",), 9) / 2 + 0.15
    top_in = 0.1 + title_lines * _LINE_12_IN + 0.15
    bottom_in = _TICK_LABELS_IN + _LINE_10_IN + 0.1 + 2 * _LEGEND_ROW_IN + 0.15
    layout = _single_axes_layout(height_in, left_in=left_in, right_in=right_in, top_in=top_in, bottom_in=bottom_in)
    figure, ax = layout.figure, layout.axes[0]
    line = np.array([0, x_top])
    ax.plot(line, line, color=OKABE_ITO["black"], lw=1.2, zorder=2)
    ax.plot(line, goal * line, color=OKABE_ITO["black"], lw=1.2, ls="--", zorder=2)
    for slope, text in ((1.0, "100%"), (goal, f"{green}%")):
        # Write the label where the line leaves the plot (top edge or right edge).
        x_end = min(x_top, y_top / slope)
        ax.text(x_end * 0.985, slope * x_end * 0.985, text, ha="right", va="bottom", fontsize=9,
                color=OKABE_ITO["black"])
    ax.scatter(shown["denominator"], shown["numerator"], s=30, color=SERVICE_COLOUR, zorder=3, clip_on=False)
    ax.set_xlim(0, x_top)
    ax.set_ylim(0, y_top)
    ax.set_xlabel("Expected caseload for the period (records)")
    ax.set_ylabel("Records submitted")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(color=GREY_LIGHT, lw=0.5, zorder=0)
    _grid_title(layout, title)

    highlighted = shown[shown["code"] == highlight] if highlight is not None else shown.iloc[0:0]
    highlight_words = ""
    changing = []
    if len(highlighted):
        point = highlighted.iloc[0]
        changing.append(ax.scatter([point["denominator"]], [point["numerator"]], s=75, color=HIGHLIGHT_COLOUR,
                                   zorder=5, edgecolor="white", lw=1, clip_on=False))
        highlight_words = (
            f"{_name_of(point['code'], point.get('name'))}: {_count(point['numerator'])} records against "
            f"{_count(point['denominator'])} expected ({format_pct(point['pct'])})"
        )
        obstacles = np.column_stack([shown["denominator"], shown["numerator"], shown["numerator"]])
        changing.append(_annotate(ax, point["denominator"], point["numerator"], _wrap(highlight_words, 42),
                                  obstacles))
    elif highlight is not None:
        highlight_words = f"Service {highlight} is not shown: it has no expected caseload estimate."

    handles = [
        Line2D([], [], marker="o", ls="none", color=SERVICE_COLOUR, label="Service"),
        Line2D([], [], color=OKABE_ITO["black"], label="Records = expected caseload (100%)"),
        Line2D([], [], color=OKABE_ITO["black"], ls="--", label=f"{green}% of expected caseload (goal)"),
    ]
    if len(highlighted):
        handles.append(Line2D([], [], marker="o", ls="none", color=HIGHLIGHT_COLOUR,
                              label=_plain(_truncate(_name_of(highlight, highlighted.iloc[0].get("name")), 60))))
    changing.append(figure.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.1 / height_in), ncol=2,
                                  frameon=False, borderaxespad=0))

    positive = shown["denominator"] > 0
    pct = 100 * shown["numerator"] / shown["denominator"].where(positive)
    at_goal = int((positive & (100 * shown["numerator"] >= green * shown["denominator"])).sum())
    over = int((positive & (shown["numerator"] > shown["denominator"])).sum())
    national_words = (
        f"{_national_name(row=national)} submitted {_count(national['numerator'])} records against an expected "
        f"{_count(national['denominator'])} ({format_pct(national['pct'])})"
        if national is not None and pd.notna(national["denominator"]) else ""
    )
    alt = (
        f"Scatter plot of records submitted (vertical axis) against expected caseload for the period "
        f"(horizontal axis) for {_plural(len(shown), 'service')}, with lines at 100% and {green}% of the "
        f"expected caseload." + (f" {national_words}." if national_words else "")
        + f" {_plural(at_goal, 'service')} reached the {green}% goal, {_count(over)} of them submitting more "
        f"records than expected; identification ranges from {format_pct(pct.min())} to {format_pct(pct.max())}."
        + (f" Highlighted: {highlight_words}." if len(highlighted) else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
        + (f" {left_off}" if left_off else "")
    )
    caption = (
        f"Each point is a service; points on or above the dashed line reached the {green}% identification goal."
        + (f" {national_words}." if national_words else "")
        + (f" {left_off}" if left_off else "")
        + (f" {highlight_words}" if highlight_words and not len(highlighted) else "")
    )
    data = ChartData(
        caption=f"{title}: every point drawn",
        table=pd.DataFrame({"Service": _row_names(shown), "Expected caseload": shown["denominator"],
                            "Records submitted": shown["numerator"], "% of expected": pct}),
        formats={"Expected caseload": fmt_count, "Records submitted": fmt_count},
    )
    return Chart(figure=figure, alt=alt, caption=caption, changing=tuple(changing), data=data)
