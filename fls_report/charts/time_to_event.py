"""Days from fracture to FLS assessment and to DXA scan, from ``time_to_event``: the median and
interquartile range of a level, and the pair of cumulative curves on a service page."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator

from fls_report.charts.backdrop import over_backdrop
from fls_report.charts.chart import Chart, ChartData, _empty, _has_rows
from fls_report.charts.layout import (_LINE_10_IN, _LINE_9_IN, _TICK_LABELS_IN, _grid_layout, _grid_title,
                                      _no_panel)
from fls_report.charts.style import GREY_DARK, GREY_LIGHT, LEVEL_COLOURS, NO_RECORDS, _styled
from fls_report.charts.words import _count, _name_of, _plain, _plural, _short_label, _wrap, format_days, format_pct
from fls_report.kpis import DEFAULT_NATIONAL_NAME, NATIONAL
from fls_report.params import KpiParams

EVENT_LABELS: dict[str, str] = {"assessment": "FLS assessment", "dxa": "DXA scan"}
EVENT_ARTICLES: dict[str, str] = {"assessment": "an", "dxa": "a"}
EVENT_DENOMINATORS: dict[str, str] = {
    "assessment": "in-scope records",
    "dxa": "records with a DXA ordered or recommended",
}
EVENT_LIMIT_DEFAULTS: dict[str, int] = {
    "assessment": KpiParams.assessment_days,
    "dxa": KpiParams.dxa_days,
}
#: The columns read from ``time_to_event`` (outputs.md §3).
TIME_TO_EVENT_COLUMNS = ("code", "event", "days", "count", "records")
#: The events of :func:`time_to_event_pair`, left to right.
TIME_TO_EVENT_PAIR = ("assessment", "dxa")


def _tte_rows(tte: pd.DataFrame, code: str, event: str) -> pd.DataFrame:
    """A level's rows for ``event`` with events on or after the fracture day (``days >= 0``)."""
    rows = tte[(tte["code"] == code) & (tte["event"] == event)]
    rows = rows.assign(days=pd.to_numeric(rows["days"], errors="coerce"),
                       count=pd.to_numeric(rows["count"], errors="coerce").fillna(0))
    return rows[(rows["days"] >= 0) & (rows["count"] > 0)]


#: The columns read from ``time_to_event_summary``.
SUMMARY_COLUMNS = ("code", "event", "records", "with_event", "median_days", "q1_days", "q3_days")


def _summary_of(summary: pd.DataFrame, code: str, event: str) -> dict:
    """A level's row of ``time_to_event_summary`` for ``event``: ``median``, ``q1``, ``q3`` (days,
    as the compute stage found them), ``with_event`` and ``records`` (0 for a level without rows)."""
    if not _has_rows(summary, SUMMARY_COLUMNS, "time_to_event_summary"):
        rows = summary.iloc[0:0]
    else:
        rows = summary[(summary["code"].astype(str) == str(code)) & (summary["event"] == event)]
    if rows.empty:
        return {"median": float("nan"), "q1": float("nan"), "q3": float("nan"), "with_event": 0, "records": 0}
    row = rows.iloc[0]
    return {"median": float(row["median_days"]), "q1": float(row["q1_days"]), "q3": float(row["q3_days"]),
            "with_event": int(row["with_event"]), "records": int(row["records"])}


def _cumulative_pct(rows: pd.DataFrame, records: int, last_day: int) -> np.ndarray:
    """% of ``records`` with the event by each day 0 … ``last_day``."""
    by_day = rows.groupby("days")["count"].sum()
    counts = by_day.reindex(np.arange(last_day + 1), fill_value=0).to_numpy(dtype=float)
    return 100 * np.cumsum(counts) / records


@_styled
@over_backdrop("code", "name")
def time_to_event_pair(tte: pd.DataFrame, code: str, limits: Mapping[str, int] | None = None,
                       name: str | None = None, max_days: int = 365, national_name: str | None = None,
                       *, summary: pd.DataFrame) -> Chart:
    """Days from fracture to FLS assessment and to DXA, side by side in one figure.

    Parameters
    ----------
    tte : pandas.DataFrame
        ``time_to_event``: ``level``, ``code``, ``event``, ``days``, ``count`` (non-zero rows
        only), ``records``.
    code : str
        The service code (or a nation code, or ``NATIONAL`` for the national curves alone).
    limits : mapping, optional
        ``{"assessment": days, "dxa": days}``: where to draw each KPI's limit (the run's
        ``assessment_days`` and ``dxa_days``); a missing entry uses the parameter's default (90).
    name : str, optional
        The service name, for the title and legends.
    max_days : int, default 365
        The last day drawn; events later than this still count in the medians.
    national_name : str, optional
        The run's national name (``kpi_results``); by default "England and Wales".
    summary : pandas.DataFrame
        ``time_to_event_summary``: each level's median and interquartile range of days, as the
        compute stage found them.

    Returns
    -------
    Chart
        Two panels, one per event: step curves of ``100 × (records with the event by day d) /
        records`` from day 0 for the service and the national level, a vertical line at the
        limit, and a legend under each panel with each curve's % by the limit, median and
        interquartile range (also in the alt text and caption). An event the service has no
        records with gets a panel that says so; with neither, a "No records to show" chart.
    """
    limits = dict(limits or {})
    label = _name_of(code, name)
    national_name = _name_of(NATIONAL, national_name)
    title = f"Days from fracture to FLS assessment and to DXA scan: {label}"
    days = {e: int(limits[e]) if limits.get(e) is not None else EVENT_LIMIT_DEFAULTS.get(e, 90)
            for e in TIME_TO_EVENT_PAIR}
    summaries = {e: _summary_of(summary, code, e) for e in TIME_TO_EVENT_PAIR}
    has = {e: summaries[e]["records"] > 0 and summaries[e]["with_event"] > 0 for e in TIME_TO_EVENT_PAIR}
    if not any(has.values()):
        return _empty(title, f"{label} has no records with an FLS assessment or a DXA scan on or after the "
                             "fracture date.")
    entries = 2 if code != NATIONAL else 1
    legend_in = entries * (3 * _LINE_9_IN + 0.1) + 0.1
    layout = _grid_layout(2, 2, 3.0, title_lines=_wrap(title, 95).count("\n") + 1, panel_title_lines=1,
                          status_lines=0, bottom_extra_in=legend_in, left_in=0.75, wgap_in=0.85, right_in=0.25)
    alts, later, missing = [], [], []
    changing = []  # what differs from service to service is drawn over a shared backdrop
    drawn: list[pd.DataFrame] = []
    for ax, event in zip(layout.axes, TIME_TO_EVENT_PAIR):
        event_words = EVENT_LABELS.get(event, event)
        an_event = f"{EVENT_ARTICLES.get(event, 'a')} {event_words}"
        ax.set_title(f"{event_words[:1].upper()}{event_words[1:]} (limit {days[event]} days)", loc="left",
                     fontsize=10, pad=6, y=1.0)
        if not has[event]:
            changing.append(_no_panel(ax, f"{NO_RECORDS}:\n{_wrap(label, 40)}\nhas no records with {an_event}\n"
                                          "on or after the fracture date"))
            missing.append(f"{label} has no records with {an_event} on or after the fracture date.")
            alts.append(f"{event_words}: {label} has no records with {an_event} on or after the fracture date.")
            continue
        handles, words, last_day, own, curves = _tte_panel(ax, tte, code, event, days[event], max_days, label,
                                                           summary, national_name=national_name)
        drawn.append(_tte_data(event_words, curves))
        changing.extend(own)
        changing.append(ax.legend(
            handles=handles, loc="upper left", frameon=False, borderaxespad=0, handlelength=1.8,
            bbox_to_anchor=(0, -(_TICK_LABELS_IN + _LINE_10_IN + 0.14) / layout.panel_height_in)))
        alts.append(f"{event_words}: " + _tte_alt(event, days[event], last_day, words))
        if _tte_later_words(words, last_day):
            later.append(_tte_later_words(words, last_day))
    changing.append(_grid_title(layout, title))
    alt = "Two step charts side by side. " + " ".join(f"{'Left' if i == 0 else 'Right'}, {text}"
                                                     for i, text in enumerate(alts))
    caption = (
        f"Cumulative % of {EVENT_DENOMINATORS['assessment']} with an FLS assessment (left) and of "
        f"{EVENT_DENOMINATORS['dxa']} with a DXA scan (right) by each day after the fracture, against "
        f"{national_name}; dotted lines: the KPI limits. The median and interquartile range (IQR) are of days ≥ 0 among "
        "those with the event. Records without one, or with a date before the fracture, stay in the denominator."
        + (f" {' '.join(later)}" if later else "")
        + (f" {' '.join(missing)}" if missing else "")
    )
    data = ChartData(caption=f"{title}: the cumulative % with the event by each day on which a curve steps up",
                     table=pd.concat(drawn, ignore_index=True))
    return Chart(figure=layout.figure, alt=alt, caption=caption, changing=tuple(changing), data=data)


def _tte_data(event_words: str, curves: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One panel's curves as rows: day 0, each day on which a curve steps up, and the last day drawn."""
    values = np.vstack(list(curves.values()))
    steps = np.flatnonzero(np.any(np.diff(values, axis=1) != 0, axis=0)) + 1
    days = sorted({0, *steps.tolist(), values.shape[1] - 1})
    return pd.DataFrame({"Event and day": [f"{event_words[:1].upper()}{event_words[1:]}, day {d}" for d in days],
                         **{f"% {label}": values[i, days] for i, label in enumerate(curves)}})


def _tte_panel(ax, tte: pd.DataFrame, code: str, event: str, limit: int, max_days: int, label: str,
               summary: pd.DataFrame, national_name: str = DEFAULT_NATIONAL_NAME
               ) -> tuple[list[Line2D], list[tuple], int, list[Line2D], dict[str, np.ndarray]]:
    """Draw one event's cumulative curves (the unit's, and the national level's, named
    ``national_name``) on ``ax``, a half-width panel.

    Returns the legend handles (each curve's % by the limit, median and IQR in its label), the
    words for the alt text and caption (label, summary, % by the limit, records beyond the axis),
    the last day drawn, the unit's own curve (drawn over the national one; none for
    ``NATIONAL``) and each curve's values by day (by its label).
    """
    an_event = f"{EVENT_ARTICLES.get(event, 'a')} {EVENT_LABELS.get(event, event)}"
    levels = [(code, label, LEVEL_COLOURS["service"], 2.0, "-")]
    if code != NATIONAL:
        levels.append((NATIONAL, national_name, LEVEL_COLOURS[NATIONAL], 1.4, "--"))
    summaries = {c: _summary_of(summary, c, event) for c, *_ in levels}
    levels = [lv for lv in levels if summaries[lv[0]]["with_event"] > 0]
    last_event = int(max(_tte_rows(tte, c, event)["days"].max() for c, *_ in levels))
    last_day = int(min(max_days, max(last_event, limit + 30)))
    last_day = int(min(max_days, 30 * math.ceil(last_day / 30)))

    handles, words, own, curves = [], [], [], {}
    for level_code, level_label, colour, width, style in levels:
        s = summaries[level_code]
        curve = _cumulative_pct(_tte_rows(tte, level_code, event), s["records"], last_day)
        curves[level_label] = curve
        mine = level_code == code and code != NATIONAL
        # The unit's curve is drawn last, over the national one, the spines and the limit's label, so
        # that it can be drawn alone over a backdrop of the rest.
        drawn = ax.step(np.arange(last_day + 1), curve, where="post", color=colour, lw=width, ls=style,
                        zorder=3.1 if mine else 2)
        if mine:
            own.extend(drawn)
        by_limit = curve[min(limit, last_day)]
        text = (f"{_short_label(level_label, 48)}\n{format_pct(by_limit)} by day {limit}; median "
                f"{format_days(s['median'])} days (IQR {format_days(s['q1'])}–{format_days(s['q3'])})\n"
                f"among {_count(s['with_event'])} with {an_event}")
        handles.append(Line2D([], [], color=colour, lw=width, ls=style, label=_plain(text)))
        later = int(_tte_rows(tte, level_code, event).query("days > @last_day")["count"].sum())
        words.append((level_label, s, by_limit, later))
    ax.axvline(limit, color=GREY_DARK, lw=1, ls=":")
    # At the foot of the line, where the curves have rarely reached by then.
    ax.text(limit + 2, 2, f"{limit} days", ha="left", va="bottom", fontsize=9, color=GREY_DARK)
    ax.set_xlim(0, last_day)
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_locator(FixedLocator(np.arange(0, last_day + 1, 30 if last_day <= 210 else 60)))
    ax.set_xlabel("Days from fracture")
    ax.set_ylabel(f"% with {an_event} by that day")
    ax.grid(color=GREY_LIGHT, lw=0.6)
    return handles, words, last_day, own, curves


def _tte_alt(event: str, limit: int, last_day: int, words: list[tuple]) -> str:
    """The alt text of one event's cumulative curves."""
    an_event = f"{EVENT_ARTICLES.get(event, 'a')} {EVENT_LABELS.get(event, event)}"
    denominator = EVENT_DENOMINATORS.get(event, "records")
    return (
        f"Step chart of the cumulative percentage of {denominator} with {an_event}, by days from "
        f"fracture (0 to {last_day}), with a line at {limit} days. "
        + " ".join(
            f"{lab}: {format_pct(by)} of {_count(s['records'])} by day {limit}; {_count(s['with_event'])} had "
            f"{an_event} on or after the fracture day, median {format_days(s['median'])} days "
            f"(interquartile range {format_days(s['q1'])} to {format_days(s['q3'])})."
            for lab, s, by, _ in words
        )
    )


def _tte_later_words(words: list[tuple], last_day: int) -> str:
    """Records counted in a median but with the event beyond the drawn axis, in words."""
    return " ".join(
        f"{_plural(later, 'record')} of {lab} with the event after day {last_day} {'is' if later == 1 else 'are'} "
        f"counted in the median but beyond the axis."
        for lab, _, _, later in words if later
    )
