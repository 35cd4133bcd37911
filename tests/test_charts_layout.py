"""Layout: hand-made grids and month axes (``fls_report/charts/layout.py``)."""

# ruff: noqa: F811 (the tables are fixtures imported from test_charts, named again as arguments)

from __future__ import annotations

import numpy as np
import pytest

from fls_report import charts
from fls_report.charts.layout import _figure, _month_axis
from fls_report.charts.style import _house_style
from test_charts import (BUILDERS, _full_draw, _pixels, case_mix_table, fields, funnel_inputs,  # noqa: F401
                         grid_funnels, p_frame, p_frames, reference_monthly, results, run_inputs, run_points, tables,
                         tte, tte_summary)


@pytest.mark.parametrize("name", ["funnel_grid", "p_chart_grid", "time_to_event_pair", "run_charts",
                                  "identification", "completeness_bars"])
def test_charts_with_panels_or_backdrops_are_laid_out_by_hand(name, tables):
    """No layout engine: constrained layout makes savefig draw twice and measure every panel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    chart = BUILDERS[name](tables)
    assert chart.figure.get_layout_engine() is None
    renderer = FigureCanvasAgg(chart.figure).get_renderer()
    # Each panel with its title, labels and tick labels sits inside the figure, clear of the others.
    boxes = [ax.get_tightbbox(renderer) for ax in chart.figure.axes if ax.axison]
    figure_box = chart.figure.bbox
    for i, a in enumerate(boxes):
        assert a.x0 >= 0 and a.y0 >= 0 and a.x1 <= figure_box.x1 and a.y1 <= figure_box.y1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


@pytest.mark.parametrize("months", [12, 15, 30])
def test_month_axis_minor_ticks_look_as_matplotlibs(months):
    """The month axis draws its minor ticks as one line of tick markers (cheaper than
    matplotlib's ticks): the pixels are those of matplotlib's own minor ticks."""
    from matplotlib.ticker import FixedLocator

    labels = [f"{2016 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    drawn = []
    for ours in (True, False):
        with _house_style():
            figure = _figure(2.5)
            ax = figure.add_subplot()
            ax.plot(np.arange(months), np.linspace(10, 90, months))
            _month_axis(ax, labels)
            if not ours:  # the same axis with matplotlib's minor ticks at every month instead
                for line in ax.lines[1:]:
                    line.remove()
                ax.xaxis.set_minor_locator(FixedLocator(np.arange(months)))
        drawn.append(_pixels(_full_draw(charts.Chart(figure, "", ""))))
    assert np.array_equal(drawn[0], drawn[1])
