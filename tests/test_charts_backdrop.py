"""Drawing over a cached backdrop, and its key (``fls_report/charts/backdrop.py``).

A chart drawn over a backdrop must have exactly the pixels of its whole figure, whichever chart
cached the backdrop: the key changes with every input but the highlight, and with whatever the
highlight moves in the figure; it stays the same when only the highlight changes.
"""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import gc
import hashlib
import inspect
import weakref
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.ticker import AutoMinorLocator, FixedLocator

from fls_report import charts
from fls_report.charts import backdrop
from fls_report.kpis import KPI_NAMES
from fls_report.stats import p_chart as stats_p_chart
from test_charts import (EWNI, FUNNEL_NAMES, THRESHOLD_PCT, _full_draw, _months, _pixels, _tte_rows,  # noqa: F401
                         assert_drawn_as_whole, fields, fresh_backdrops, grid_funnels, p_frame, p_frames,
                         reference_monthly, results, run_inputs, run_points, tte, tte_summary_of, with_over)


@pytest.fixture(scope="module")
def more_tte(tte) -> pd.DataFrame:
    """``tte`` with S2 and S3, which have both events and the same days drawn."""
    more = tte.copy()
    for code, counts in (("S2", [(3, 2), (60, 4), (100, 1)]), ("S3", [(20, 1), (30, 1)])):
        more = pd.concat([more, pd.DataFrame(_tte_rows("service", code, "assessment", counts, 9)),
                          pd.DataFrame(_tte_rows("service", code, "dxa", [(50, 2)], 4))], ignore_index=True)
    return more


@pytest.fixture(scope="module")
def more_summary(more_tte) -> pd.DataFrame:
    """``time_to_event_summary`` of ``more_tte``, as the compute stage writes it."""
    return tte_summary_of(more_tte)


# --------------------------------------------------------------------------------------------
# Every backdrop chart over a shared backdrop is its whole drawing


def test_funnel_grid_over_a_cached_backdrop_is_the_full_drawing(grid_funnels, fresh_backdrops):
    """Every highlighted service's grid, drawn over the first one's backdrop, has exactly the
    pixels of drawing its whole figure; the backdrop is shared, so the panels are drawn once."""
    tables, curves = grid_funnels
    grids = [charts.funnel_grid(tables, curves, highlight=code) for code in ("E", "I", "B", "Z9")]
    assert_drawn_as_whole(grids)
    # Z9 is ringed nowhere, but its legend still takes the same rows: one layout, one backdrop.
    assert len(backdrop._BACKDROPS) == 1 and len({grid.backdrop for grid in grids}) == 1
    assert len({grid.to_png() for grid in grids}) == 4  # each says its own service


def test_time_to_event_pair_over_a_cached_backdrop_is_the_full_drawing(more_tte, more_summary, fresh_backdrops):
    pairs = [charts.time_to_event_pair(more_tte, code, {"assessment": 90, "dxa": 90}, name=name, summary=more_summary)
             for code, name in (("S2", "Beta"), ("S3", "Gamma"), ("S1", "Alpha"), ("NATIONAL", None))]
    assert_drawn_as_whole(pairs)
    # S2 and S3 have both events and the same days drawn: one backdrop, each curve its own.
    assert pairs[0].backdrop == pairs[1].backdrop and pairs[0].to_png() != pairs[1].to_png()
    assert len({p.backdrop for p in pairs}) == 3  # S1 has no DXA panel; the national page has one curve


def test_completeness_bars_over_a_cached_backdrop_is_the_full_drawing(fields, fresh_backdrops):
    bars = [charts.completeness_bars(fields, code, name=name, threshold_pct=THRESHOLD_PCT)
            for code, name in (("S1", "Alpha"), ("S4", "Delta"))]
    assert_drawn_as_whole(bars)
    assert bars[0].backdrop == bars[1].backdrop and len(backdrop._BACKDROPS) == 1
    assert bars[0].to_png() != bars[1].to_png()
    # A field's value at 100% keeps its label inside the figure (room is kept on the right).
    full = fields.assign(missing=np.where(fields["field"] == "sex", 10, fields["missing"]))
    full["pct_missing"] = 100 * full["missing"] / full["applicable"].where(full["applicable"] > 0)
    chart = charts.completeness_bars(with_over(full, THRESHOLD_PCT), "S1", threshold_pct=THRESHOLD_PCT)
    chart.to_png()
    label = [t for t in chart.figure.axes[0].texts if t.get_text().startswith("100.0%")][0]
    renderer = chart.figure.canvas.get_renderer()
    assert label.get_window_extent(renderer).x1 <= chart.figure.bbox.x1


def test_identification_over_a_cached_backdrop_is_the_full_drawing(results, fresh_backdrops):
    shown = results[(results["level"] == "service") & (results["kpi_id"] == "KPI2")
                    & results["denominator"].notna()]["code"].tolist()
    drawn = [charts.identification(results, highlight=code) for code in shown] + [charts.identification(results)]
    assert_drawn_as_whole(drawn)
    assert len({chart.backdrop for chart in drawn}) == 1 and len(backdrop._BACKDROPS) == 1
    assert len({chart.to_png() for chart in drawn}) == len(drawn)  # each names its own service


def test_charts_without_a_highlight_to_draw_have_no_backdrop(results, fields):
    assert charts.caterpillar(results, "KPI4", highlight="S1").backdrop is None
    assert charts.completeness_bars(fields, "S2", threshold_pct=THRESHOLD_PCT).backdrop is None  # "No records to show"
    assert charts.completeness_bars(fields, "S2", threshold_pct=THRESHOLD_PCT).changing == ()


# --------------------------------------------------------------------------------------------
# The key: every input but the highlight, and what the highlight moves


#: The charts drawn over a backdrop, and the parameters that name their highlighted service.
DRAW = {
    "identification": charts.identification,
    "completeness_bars": charts.completeness_bars,
    "time_to_event_pair": charts.time_to_event_pair,
    "funnel_grid": charts.funnel_grid,
}
HIGHLIGHT = {
    "identification": ("highlight",),
    "completeness_bars": ("code", "name"),
    "time_to_event_pair": ("code", "name"),
    "funnel_grid": ("highlight",),
}


@pytest.fixture(scope="module")
def inputs(results, fields, more_tte, more_summary, grid_funnels) -> dict:
    """Each backdrop chart's arguments, every one given."""
    tables, curves = grid_funnels
    return {
        "identification": {"results": results, "highlight": "S4"},
        "completeness_bars": {"fields": fields, "code": "S1", "name": "Alpha", "threshold_pct": THRESHOLD_PCT},
        "time_to_event_pair": {"tte": more_tte, "code": "S2", "limits": {"assessment": 90, "dxa": 90},
                               "name": "Beta", "max_days": 365, "national_name": None, "summary": more_summary},
        "funnel_grid": {"tables": tables, "curves": curves, "names": FUNNEL_NAMES, "highlight": "E",
                        "kpi_names": dict(KPI_NAMES)},
    }


def as_computed(chart: str, given: dict, changed: str) -> dict:
    """``given`` with what the compute stage derives from the inputs that changed derived again,
    so that a case changes one input and the tables stay consistent: ``fields``' ``over`` flags
    follow its counts and the threshold; ``summary`` follows ``tte``, unless the case changes
    ``summary`` itself."""
    if chart == "completeness_bars":
        return dict(given, fields=with_over(given["fields"], given["threshold_pct"]))
    if chart == "time_to_event_pair" and changed != "summary":
        return dict(given, summary=tte_summary_of(given["tte"]))
    return given


def _summary_set(summary: pd.DataFrame, code: str, **values) -> pd.DataFrame:
    """A copy of ``summary`` with the assessment row of ``code`` given ``values``."""
    changed = summary.copy()
    where = (changed["code"] == code) & (changed["event"] == "assessment")
    for column, value in values.items():
        changed.loc[where, column] = value
    return changed


def _set(frame: pd.DataFrame, where, column: str, value) -> pd.DataFrame:
    """A copy of ``frame`` (``attrs`` too) with ``column`` set to ``value`` where ``where(frame)``."""
    changed = frame.copy()
    changed.attrs = dict(frame.attrs)
    changed.loc[where(frame), column] = value
    return changed


def _in_kpi(tables: dict, kpi_id: str, change) -> dict:
    return {k: (change(t) if k == kpi_id else t) for k, t in tables.items()}


def _with_attrs(frame: pd.DataFrame, **attrs) -> pd.DataFrame:
    changed = frame.copy()
    changed.attrs = dict(frame.attrs, **attrs)
    return changed


#: (chart, the argument changed, what changes, the new value from the old, whether the pixels stay
#: the same: a table row the chart does not draw changes its key, not its picture).
CHANGES = [
    ("identification", "results", "a service's KPI2 records",
     lambda r: _set(r, lambda f: (f["code"] == "S1") & (f["kpi_id"] == "KPI2"), "numerator", 70), False),
    ("identification", "results", "the national KPI2 caseload, in the words only",
     lambda r: _set(r, lambda f: (f["code"] == "NATIONAL") & (f["kpi_id"] == "KPI2"), "denominator", 300), True),
    ("identification", "results", "a KPI4 row, not drawn",
     lambda r: _set(r, lambda f: (f["code"] == "S1") & (f["kpi_id"] == "KPI4"), "numerator", 41), True),
    ("completeness_bars", "fields", "the service's own share missing",
     lambda t: _set(t, lambda f: (f["code"] == "S1") & (f["field"] == "sex"), "missing", 6)
     .assign(pct_missing=lambda f: 100 * f["missing"] / f["applicable"].where(f["applicable"] > 0)), False),
    ("completeness_bars", "fields", "a field's name, drawn in the backdrop",
     lambda t: t.replace({"field": {"sex": "sex_at_birth"}}), False),
    ("completeness_bars", "fields", "another service's share missing, not drawn",
     lambda t: _set(t, lambda f: (f["code"] == "S4") & (f["field"] == "sex"), "missing", 9), True),
    # The threshold line moves, and the over flags follow it (as_computed): date_dxa (30%) is no longer over.
    ("completeness_bars", "threshold_pct", "the threshold", lambda _: 30.0, False),
    ("time_to_event_pair", "tte", "the national curve",
     lambda t: _set(t, lambda f: (f["code"] == "NATIONAL") & (f["event"] == "assessment") & (f["days"] == 30),
                    "count", 9), False),
    ("time_to_event_pair", "tte", "another service's curve, not drawn",
     lambda t: _set(t, lambda f: (f["code"] == "S3") & (f["event"] == "assessment") & (f["days"] == 30),
                    "count", 2), True),
    ("time_to_event_pair", "limits", "a limit", lambda limits: dict(limits, assessment=60), False),
    ("time_to_event_pair", "max_days", "the last day drawn", lambda _: 60, False),
    ("time_to_event_pair", "national_name", "the national name", lambda _: EWNI, False),
    ("time_to_event_pair", "summary", "the service's median, in its legend",
     lambda s: _summary_set(s, "S2", median_days=45.0), False),
    ("time_to_event_pair", "summary", "the national IQR, in its legend",
     lambda s: _summary_set(s, "NATIONAL", q3_days=99.0), False),
    ("time_to_event_pair", "summary", "another service's median, not drawn",
     lambda s: _summary_set(s, "S3", median_days=21.0), True),
    ("funnel_grid", "tables", "a service's percentage",
     lambda tables: _in_kpi(tables, "KPI4", lambda t: _set(t, lambda f: f.index == "B", "p", 0.5)), False),
    ("funnel_grid", "tables", "a target (a table's attrs)",
     lambda tables: _in_kpi(tables, "KPI4", lambda t: _with_attrs(t, target=0.2)), False),
    ("funnel_grid", "tables", "the order of the panels", lambda tables: dict(reversed(list(tables.items()))), False),
    ("funnel_grid", "curves", "a limit curve",
     lambda curves: _in_kpi(curves, "KPI4", lambda c: c.assign(high95=c["high95"] * 0.9)), False),
    ("funnel_grid", "names", "the national name", lambda names: dict(names, NATIONAL=EWNI), False),
    ("funnel_grid", "names", "another service's name, not drawn", lambda names: dict(names, C="Renamed"), True),
    ("funnel_grid", "kpi_names", "a KPI's name, in its panel's title",
     lambda kpi_names: dict(kpi_names, KPI4="FLS assessment within 60 days"), False),
    ("funnel_grid", "kpi_names", "a KPI's name without a panel, not drawn",
     lambda kpi_names: dict(kpi_names, KPI11="On treatment at 12 months"), True),
]


#: Changes the funnel grid's backdrop does not draw: its key comes from what its backdrop function
#: draws (:func:`fls_report.charts.backdrop.reused`), so it may stay; the picture must still be right.
NOT_IN_THE_BACKDROP = {("funnel_grid", "the national name"), ("funnel_grid", "another service's name, not drawn"),
                       ("funnel_grid", "a KPI's name without a panel, not drawn")}


@pytest.mark.parametrize("chart, param, what, change, same_pixels", CHANGES,
                         ids=[f"{c}: {what}" for c, _, what, _, _ in CHANGES])
def test_a_backdrop_is_redrawn_when_any_input_but_the_highlight_changes(chart, param, what, change, same_pixels,
                                                                        inputs, fresh_backdrops):
    """The first chart caches its backdrop; the changed one gets a key of its own, so it is drawn
    whole and right, never over the stale backdrop."""
    given = inputs[chart]
    first = DRAW[chart](**given)
    first.to_png()
    changed = DRAW[chart](**as_computed(chart, dict(given, **{param: change(given[param])}), param))
    assert changed.backdrop is not None
    assert (changed.backdrop == first.backdrop) == ((chart, what) in NOT_IN_THE_BACKDROP)
    assert np.array_equal(_pixels(changed.to_png()), _pixels(_full_draw(changed)))
    assert (changed.to_png() == first.to_png()) == same_pixels, what


@pytest.mark.parametrize("chart", list(DRAW))
def test_every_input_but_the_highlight_is_changed_above(chart):
    """A parameter added to a backdrop chart is in its key without anyone listing it; this test
    asks for a case above that shows it."""
    parameters = set(inspect.signature(DRAW[chart]).parameters)
    assert set(HIGHLIGHT[chart]) <= parameters
    assert {param for c, param, *_ in CHANGES if c == chart} == parameters - set(HIGHLIGHT[chart])


#: Other highlights that draw the same backdrop as :func:`inputs`' one.
SAME_LAYOUT = {
    "identification": [{"highlight": "S1"}, {"highlight": "S3"}, {"highlight": None}],
    "completeness_bars": [{"code": "S4", "name": "Delta"}],
    "time_to_event_pair": [{"code": "S3", "name": "Gamma"}],
    "funnel_grid": [{"highlight": "I"}, {"highlight": "B"}, {"highlight": "Z9"}, {"highlight": None}],
}


@pytest.mark.parametrize("chart", list(DRAW))
def test_changing_only_the_highlight_reuses_the_backdrop(chart, inputs, fresh_backdrops):
    drawn = [DRAW[chart](**dict(inputs[chart], **highlight)) for highlight in [{}] + SAME_LAYOUT[chart]]
    assert len({c.backdrop for c in drawn}) == 1
    assert_drawn_as_whole(drawn)
    assert len(backdrop._BACKDROPS) == 1
    assert len({c.to_png() for c in drawn}) == len(drawn)  # each shows its own service


LONG_NAME = "The Royal Infirmary of a Very Long Name and its Associated Community Hospitals Trust"


def test_a_highlight_that_moves_the_layout_gets_a_backdrop_of_its_own(inputs, fresh_backdrops):
    """A name long enough to wrap the title moves every panel down; a service without DXA
    records has an empty panel; the national page has one curve. None of these is an input
    but the highlight, and each is in the key."""
    bars, pair, grid = inputs["completeness_bars"], inputs["time_to_event_pair"], inputs["funnel_grid"]
    names = dict(grid["names"], I=LONG_NAME)
    drawn = [
        charts.completeness_bars(**bars), charts.completeness_bars(**dict(bars, name=LONG_NAME)),
        charts.time_to_event_pair(**pair), charts.time_to_event_pair(**dict(pair, code="S1", name="Alpha")),
        charts.time_to_event_pair(**dict(pair, code="NATIONAL", name=None)),
        charts.funnel_grid(**dict(grid, names=names)), charts.funnel_grid(**dict(grid, names=names, highlight="I")),
    ]
    assert drawn[1].figure.get_size_inches()[1] > drawn[0].figure.get_size_inches()[1]
    assert len({c.backdrop for c in drawn}) == len(drawn)
    assert_drawn_as_whole(drawn)


# --------------------------------------------------------------------------------------------
# A backdrop figure built once and lent again (the funnel grid)


def _artists(figure) -> int:
    return len(figure.texts) + len(figure.legends) + sum(len(ax.texts) + len(ax.collections) + len(ax.lines)
                                                         for ax in figure.axes)


def test_a_funnel_grid_reuses_its_figure_once_the_last_chart_is_gone(inputs, fresh_backdrops):
    """The warm kernel's case: a report's chart is gone (its namespace reset) before the next
    report draws its own. The next chart gets the same figure, without the last one's ring,
    labels, title or legend, and its pixels are those of its whole drawing."""
    given = inputs["funnel_grid"]
    first = charts.funnel_grid(**given)
    figure, count, png = first.figure, _artists(first.figure) - len(first.changing), first.to_png()
    del first
    gc.collect()
    for code in ("I", "B", "E"):
        chart = charts.funnel_grid(**dict(given, highlight=code))
        assert chart.figure is figure and _artists(chart.figure) - len(chart.changing) == count
        assert_drawn_as_whole([chart])
        del chart
    again = charts.funnel_grid(**given)
    fresh = charts.funnel_grid(**given)  # ``again`` is alive: this one is built afresh
    assert again.figure is figure and fresh.figure is not figure
    assert repr(again) == repr(fresh)  # an executed notebook keeps the repr: the figure's size in pixels too
    assert again.to_png() == fresh.to_png() == png
    assert len(backdrop._SKELETONS) == 1


def test_a_figure_is_not_lent_while_its_chart_is_alive(inputs, fresh_backdrops):
    given = inputs["funnel_grid"]
    first = charts.funnel_grid(**given)
    png = first.to_png()
    second = charts.funnel_grid(**dict(given, highlight="I"))
    assert second.figure is not first.figure and second.backdrop == first.backdrop
    assert_drawn_as_whole([first, second])
    assert first.to_png() == png and second.to_png() != png


def _small_backdrop(top: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    ax = figure.add_subplot()
    ax.set_ylim(0, top)
    ax.plot([0, 1], [0, top])
    return SimpleNamespace(figure=figure, ax=ax)


def test_a_highlight_that_changes_a_lent_figure_outside_its_changing_artists_is_refused(fresh_backdrops):
    skeleton = backdrop.reused(_small_backdrop, top=10.0)
    key = skeleton.key
    ring = skeleton.parts.ax.scatter([0.5], [5])
    assert backdrop.lend(skeleton, charts.Chart(figure=skeleton.figure, alt="", caption="", changing=(ring,),
                                                backdrop=key)).backdrop == key
    skeleton = backdrop.reused(_small_backdrop, top=10.0)  # the chart above is gone: lent again
    key = skeleton.key
    skeleton.parts.ax.set_ylim(0, 20)  # the highlight moved the axis: every later chart would show it
    with pytest.raises(RuntimeError, match="outside its changing artists"):
        backdrop.lend(skeleton, charts.Chart(figure=skeleton.figure, alt="", caption="", backdrop=key))
    skeleton = backdrop.reused(_small_backdrop, top=20.0)
    key = skeleton.key
    skeleton.parts.ax.plot([0, 1], [1, 1])  # drawn, but not among the changing artists
    with pytest.raises(RuntimeError, match="outside its changing artists"):
        backdrop.lend(skeleton, charts.Chart(figure=skeleton.figure, alt="", caption="", backdrop=key))


def test_a_backdrop_function_must_be_module_level():
    top = 10.0

    def local():
        return _small_backdrop(top)

    with pytest.raises(TypeError, match="module-level function"):
        backdrop.reused(local)


# --------------------------------------------------------------------------------------------
# A figure of empty panels kept and lent again (run charts and p-charts)


def _p_frames(months: int, high: int) -> dict:
    """Two p-charts over ``months`` months: the first noise with month ``high`` far above its
    limits (no runs signal), the second a shift (a runs signal: a framed panel)."""
    x = np.array([23.0, 27.0] * (months // 2))
    x[high] = 45.0
    first = stats_p_chart(x, np.full(months, 50.0))
    second = stats_p_chart(np.array([20.0] * (months // 2) + [30.0] * (months - months // 2)), np.full(months, 50.0))
    for frame in (first, second):
        frame.insert(0, "month", _months(months))
    return {"KPI4": first, "KPI6": second}


def _grid_charts(run_inputs, run_points, reference_monthly) -> list:
    """Calls drawing run charts and p-charts that differ in what a kept panel could carry over:
    signal frames and titles, zoomed axes, diamonds, a reference line, 24 months (tilted labels)
    and 12 (level), another name."""
    monthly, signals, explanations = run_inputs
    kpis = ["KPI4", "KPI6", "KPI11"]
    return [
        lambda: charts.run_charts(monthly, signals, "S1", kpis, explanations, name="Alpha", points=run_points),
        lambda: charts.run_charts(monthly, None, "S1", kpis, {}, name="Beta"),
        lambda: charts.run_charts(monthly, signals, "S1", kpis, explanations, reference=reference_monthly),
        lambda: charts.run_charts(monthly.assign(pct=monthly["pct"] / 4), signals, "S1", kpis, explanations),
        lambda: charts.run_charts(monthly, signals.assign(signal=False, shift=False), "S1", kpis, explanations),
        lambda: charts.run_charts(monthly[monthly["month"] < "2017"], signals, "S1", kpis, explanations),
        lambda: charts.run_charts(monthly, signals, "S1", kpis, explanations, name="Alpha", points=run_points),
        lambda: charts.p_chart_grid(_p_frames(24, 4), name="Alpha"),
        lambda: charts.p_chart_grid(_p_frames(12, 7), name="Beta"),
        lambda: charts.p_chart_grid({"KPI4": _p_frames(12, 2)["KPI6"], "KPI6": _p_frames(12, 9)["KPI4"]}),
        lambda: charts.p_chart_grid(_p_frames(24, 4), name="Alpha"),
    ]


def _drawn(chart) -> tuple:
    return chart.to_png(), repr(chart.figure), chart.alt, chart.caption


def test_run_charts_and_p_charts_on_a_kept_grid_are_their_fresh_drawings(run_inputs, run_points, reference_monthly,
                                                                         fresh_backdrops):
    """Each chart, drawn on the panels the chart before it left (restored), has exactly the
    pixels, size and words of the same chart on a figure built for it."""
    calls = _grid_charts(run_inputs, run_points, reference_monthly)
    kept, figures = [], []
    for call in calls:
        chart = call()
        figures.append(id(chart.figure))
        kept.append(_drawn(chart))
        del chart
    # A chart whose layout differs (a legend row more for the reference, a runs label a line
    # longer) has a figure of its own; the others draw on the figure the one before them left.
    assert [figures.index(f) for f in figures] == [0, 1, 0, 0, 0, 0, 0, 7, 8, 8, 7], [figures.index(f) for f in figures]
    for call, drawn in zip(calls, kept):
        backdrop._GRIDS.clear()  # nothing kept: a figure built for this chart
        assert _drawn(call()) == drawn


GRID = dict(n_panels=2, n_cols=2, panel_height_in=1.2, title_lines=1, panel_title_lines=1, status_lines=0,
            bottom_extra_in=0.3)


def _plain_use(parts) -> tuple:
    """What a chart that sets little would draw on a grid: titles, a line in the cycle's colours
    and minor ticks on one axis, and the figure's repr before drawing (an executed notebook keeps it)."""
    from fls_report.charts.style import _house_style

    with _house_style():
        for ax in parts.axes:
            ax.set_title("Panel")
            ax.plot([0, 1], [0.2, 0.8])
            ax.yaxis.set_minor_locator(AutoMinorLocator())
        parts.figure.suptitle("Figure")
        shown = repr(parts.figure)
        return shown, charts.Chart(figure=parts.figure, alt="", caption="").to_png()


def test_restoring_a_kept_grid_undoes_whatever_a_chart_changed(fresh_backdrops):
    """Everything :class:`_PanelAsBuilt` puts back, changed by one chart, is gone for the next:
    a chart that sets only its titles and lines draws what it draws on a figure built for it."""
    from fls_report.charts.layout import _grid_layout
    from fls_report.charts.style import _house_style

    with _house_style():
        parts = backdrop.kept_grid(_grid_layout, **GRID)
    figure = parts.figure
    for ax in parts.axes:
        ax.plot([0, 1], [5, 6])
        ax.scatter([0.5], [5.5])
        ax.annotate("label", (0.5, 5.5))
        ax.set_title("Was here", color="red", fontsize=16, fontweight="bold", fontstyle="italic", pad=20, y=1.1,
                     x=0.3, loc="left")
        ax.set_title("Centre", loc="center")
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_edgecolor("red")
            spine.set_linewidth(3)
        ax.grid(True, which="both")
        ax.set_xlim(-3, 9)
        ax.set_ylim(2, 8)
        ax.set_xticks([0, 4], ["a", "b"])
        ax.xaxis.set_minor_locator(FixedLocator([0.25, 0.75]))
        ax.xaxis.set_minor_formatter("{x:.2f}")
        ax.set_xlabel("x")
        ax.set_ylabel("%")
        ax.set_prop_cycle(color=["red"])
        ax.legend(["one"])
    parts.axes[1].set_axis_off()
    parts.axes[0].set_visible(False)
    figure.suptitle("Title")
    figure.legend(["a line"])
    figure.text(0.5, 0.5, "words")
    figure.set_dpi(300)
    chart = backdrop.lend_grid(charts.Chart(figure=figure, alt="", caption=""))
    del chart
    with _house_style():
        again = backdrop.kept_grid(_grid_layout, **GRID)
    assert again.figure is figure
    reused = _plain_use(again)
    backdrop._GRIDS.clear()
    with _house_style():
        fresh = backdrop.kept_grid(_grid_layout, **GRID)
    assert fresh.figure is not figure and _plain_use(fresh) == reused


def test_a_kept_grid_is_not_lent_while_its_chart_is_alive(run_inputs, fresh_backdrops):
    monthly, signals, explanations = run_inputs
    first = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6"], explanations)
    png = first.to_png()
    second = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6"], explanations, name="Beta")
    assert second.figure is not first.figure and first.to_png() == png and second.to_png() != png
    figure = first.figure
    del first
    third = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6"], explanations)
    assert third.figure is figure and third.to_png() == png
    other = charts.run_charts(monthly, signals, "S1", ["KPI4"], explanations)  # another layout: its own figure
    assert other.figure is not figure and len(backdrop._GRIDS) == 2


def test_a_kept_grid_that_a_chart_left_changed_beyond_restoring_is_built_again(run_inputs, fresh_backdrops):
    """What restoring cannot undo (here a panel moved) shows in the figure's layout digest: the
    figure is dropped and a new one built, rather than lent with the change."""
    monthly, signals, explanations = run_inputs
    first = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6"], explanations)
    png, figure = first.to_png(), first.figure
    first.figure.axes[0].set_position([0.1, 0.1, 0.3, 0.3])
    del first
    again = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6"], explanations)
    assert again.figure is not figure and again.to_png() == png
    assert [kept.figure for kept in backdrop._GRIDS.values()] == [again.figure]


def test_a_kept_figure_holds_no_renderer_once_drawn(run_inputs, grid_funnels, fresh_backdrops, monkeypatch):
    """A kept figure outlives its chart; the renderer that drew it (five bytes a pixel) must not:
    neither its canvas nor its texts (which remember the renderer that measured them) keep it."""
    from fls_report.charts import canvas

    made = []
    get_renderer = canvas.Canvas.get_renderer

    def recorded(self):
        renderer = get_renderer(self)
        made.append(weakref.ref(renderer))
        return renderer

    monkeypatch.setattr(canvas.Canvas, "get_renderer", recorded)
    monthly, signals, explanations = run_inputs
    tables, curves = grid_funnels
    drawn = [charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6"], explanations),
             charts.p_chart_grid(_p_frames(12, 4), name="Alpha"),
             charts.funnel_grid(tables, curves, highlight="E")]
    kept = [chart.figure for chart in drawn]
    assert all(figure in canvas.KEPT_FIGURES for figure in kept)
    for chart in drawn:
        chart.to_png()
    gc.collect()
    assert made and all(renderer() is None for renderer in made)
    assert [type(figure.canvas).__name__ for figure in kept] == ["Canvas"] * 3  # drawn, kept, without a renderer


def test_a_grid_whose_chart_failed_is_not_lent_again(fresh_backdrops):
    """A call that fails between taking the grid and lending it keeps it: whatever it drew stays."""
    parts = backdrop.kept_grid(_small_backdrop, top=10.0)
    parts.ax.plot([0, 1], [1, 0])  # then the chart fails: never lent to a chart
    assert backdrop.kept_grid(_small_backdrop, top=10.0).figure is not parts.figure


def test_a_kept_grid_function_must_be_module_level():
    def local():
        return _small_backdrop(1.0)

    with pytest.raises(TypeError, match="module-level function"):
        backdrop.kept_grid(local)


# --------------------------------------------------------------------------------------------
# What goes into a key


def _key(value) -> str:
    return backdrop._digest(hashlib.sha256(), value).hexdigest()


def test_tables_are_keyed_by_values_index_columns_dtypes_and_attrs():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=["p", "q"])
    changed = [
        frame.assign(b=["x", "z"]), frame.rename(columns={"a": "c"}), frame[["b", "a"]],
        frame.astype({"a": float}), frame.set_axis(["p", "r"]), frame.rename_axis("code"),
        _with_attrs(frame, target=0.5), frame["a"], frame.iloc[:1],
    ]
    assert len({_key(frame)} | {_key(c) for c in changed}) == len(changed) + 1
    assert _key(frame.copy()) == _key(frame)
    assert _key(_with_attrs(frame, runs={"signal": True})) != _key(_with_attrs(frame, runs={"signal": False}))


def test_values_are_keyed_by_type_content_and_order():
    values = [None, 1, 1.0, "1", True, np.float64(1.0), [1], (1,), ("a", "b"), ("ab",), {"a": 1, "b": 2},
              {"b": 2, "a": 1}, np.array([1, 2]), np.array([1.0, 2.0]), float("nan")]
    assert len({_key(v) for v in values}) == len(values)
    assert _key({"KPI4": pd.DataFrame({"n": [1]})}) == _key({"KPI4": pd.DataFrame({"n": [1]})})


def test_an_input_that_cannot_be_keyed_is_refused():
    with pytest.raises(TypeError, match="cannot be keyed on a object"):
        _key([object()])
    with pytest.raises(TypeError, match="has no parameter service"):
        backdrop.over_backdrop("service")(lambda table, code: None)
