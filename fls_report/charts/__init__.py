"""Figures for the report pages, drawn from the tidy tables of outputs.md §3.

Every chart function takes a table that ``compute`` wrote (``kpi_results``, ``monthly_kpis``,
``case_mix``, ``time_to_event``, ``data_quality_fields``) or one that
:mod:`fls_report.benchmarks` computed from them, never raw records, and returns a :class:`Chart`:
the matplotlib figure together with its alt text and caption, so that a page cannot show a
figure without saying in words what it shows and what it leaves off.

Conventions
-----------
* Figures are built with :class:`matplotlib.figure.Figure` directly: no pyplot, no global figure
  state, no interactive backend. Rendering is deterministic (no software or date metadata in the
  PNG), so the same table gives the same bytes.
* Colours are the Okabe–Ito palette, defined once in :mod:`~fls_report.charts.style`; band (RAG)
  colours are never the only signal (bands are also named in words, low numbers use a hollow
  marker, cells over a threshold carry a dot).
* Percentages are drawn on a 0–100 scale and written to one decimal place with halves rounded
  up (kpis.md, *Display*). Anything a chart leaves off is counted in its caption.
* An input with nothing to draw gives a chart that says "No records to show"; no function raises
  for empty or all-blank input.

Modules
-------
==================  ==========================================================================
``style``           palette, colours with a meaning, sizes, resolution, matplotlib rc settings
``png``             a figure as PNG bytes, without metadata
``backdrop``        drawing over a cached backdrop, keyed by everything but the highlight
``chart``           :class:`Chart`, and the chart of a table with nothing to draw
``words``           numbers and names in words, for labels, alt text and captions
``layout``          titles, labels, percentage and month axes, hand-made grid layouts, panels
``kpi_results``     :func:`caterpillar`, :func:`identification`
``casemix``         :func:`case_mix`
``breakdowns``      :func:`breakdown_grid`, :func:`region_grid`
``time_to_event``   :func:`time_to_event_pair`
``completeness``    :func:`completeness_heatmap`, :func:`completeness_bars`
``funnels``         :func:`funnel`, :func:`funnel_grid`
``control``         :func:`run_charts`, :func:`p_chart_grid`
==================  ==========================================================================
"""

from fls_report.charts.breakdowns import breakdown_grid, region_grid
from fls_report.charts.casemix import case_mix
from fls_report.charts.chart import Chart, ChartData
from fls_report.charts.completeness import completeness_bars, completeness_heatmap
from fls_report.charts.control import p_chart_grid, run_charts
from fls_report.charts.funnels import FUNNEL_STATUS_STYLE, funnel, funnel_grid
from fls_report.charts.kpi_results import caterpillar, identification
from fls_report.charts.png import PNG_COMPRESS_LEVEL
from fls_report.charts.style import (CSS_PX_PER_IN, DPI, FIGURE_WIDTH_IN, GREY_DARK, GREY_LIGHT, GREY_MID,
                                     HIGHLIGHT_COLOUR, LEVEL_COLOURS, MEDIAN_COLOUR, MISSING_CMAP, NO_RECORDS,
                                     OKABE_ITO, OVER_THRESHOLD_COLOUR, RAG_COLOURS, REFERENCE_COLOUR, SERVICE_COLOUR,
                                     SIGNAL_COLOUR, STYLE)
from fls_report.charts.time_to_event import time_to_event_pair
from fls_report.charts.words import format_days, format_pct

__all__ = [
    "breakdown_grid",
    "region_grid",
    "Chart",
    "ChartData",
    "caterpillar",
    "identification",
    "case_mix",
    "time_to_event_pair",
    "completeness_heatmap",
    "completeness_bars",
    "funnel",
    "funnel_grid",
    "run_charts",
    "p_chart_grid",
    "format_pct",
    "format_days",
    "OKABE_ITO",
    "GREY_DARK",
    "GREY_MID",
    "GREY_LIGHT",
    "RAG_COLOURS",
    "SERVICE_COLOUR",
    "HIGHLIGHT_COLOUR",
    "LEVEL_COLOURS",
    "OVER_THRESHOLD_COLOUR",
    "SIGNAL_COLOUR",
    "MEDIAN_COLOUR",
    "REFERENCE_COLOUR",
    "MISSING_CMAP",
    "FUNNEL_STATUS_STYLE",
    "FIGURE_WIDTH_IN",
    "DPI",
    "CSS_PX_PER_IN",
    "STYLE",
    "NO_RECORDS",
    "PNG_COMPRESS_LEVEL",
]
