"""Charts on tiny hand-made tidy tables: what every chart shares (one figure with a PNG, alt text
and caption; deterministic; no state left behind; empty input; the run's national name).

The tables and helpers here are shared: the tests of each chart module
(``test_charts_<module>.py``, e.g. ``test_charts_funnels.py`` for ``fls_report/charts/funnels.py``)
import them.
"""

from __future__ import annotations

import base64
import io
import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from fls_report import benchmarks, charts, kpis
from fls_report.charts import backdrop
from fls_report.charts.style import _house_style
from fls_report.kpis import KEY_FIELD_NAMES, KPI_NAMES, band
from fls_report.params import KpiParams
from fls_report.stats import LIMITS_ADJUSTED, funnel_table, p_chart as stats_p_chart, wilson_interval
from fls_report.vocabulary import signal_explanation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AWKWARD_NAME = "Tricky <script>alert('x')</script> & Sons' \"Trust\""
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
EWNI = "England, Wales and Northern Ireland"


# --------------------------------------------------------------------------------------------
# Hand-made tables in the shapes of outputs.md §3


def _result(level, code, name, kpi_id, numerator, denominator, low_numbers=False):
    pct = 100 * numerator / denominator if denominator and denominator > 0 else np.nan
    ci_low = ci_high = np.nan
    if kpi_id not in ("KPI1", "KPI2") and denominator and denominator > 0:
        low, high = wilson_interval(float(numerator), float(denominator))
        ci_low, ci_high = 100 * low, 100 * high
    return {"level": level, "code": code, "name": name, "nation": "" if code == "NATIONAL" else "England",
            "kpi_id": kpi_id, "kpi_name": KPI_NAMES[kpi_id], "numerator": numerator, "denominator": denominator,
            "pct": pct, "ci_low": ci_low, "ci_high": ci_high, "rag": "none", "low_numbers": low_numbers}


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    """KPI4 and KPI2 for four services: S2 has no eligible records (and no caseload estimate),
    S3 has low numbers, S4 has an awkward name."""
    rows = [
        _result("national", "NATIONAL", "England and Wales", "KPI4", 53, 85),
        _result("service", "S1", "Alpha Hospital", "KPI4", 40, 50),
        _result("service", "S2", "Beta Hospital", "KPI4", 0, 0),
        _result("service", "S3", "Gamma Hospital", "KPI4", 3, 5, low_numbers=True),
        _result("service", "S4", AWKWARD_NAME, "KPI4", 10, 30),
        _result("national", "NATIONAL", "England and Wales", "KPI2", 106, 180),
        _result("service", "S1", "Alpha Hospital", "KPI2", 40, 100),
        _result("service", "S2", "Beta Hospital", "KPI2", 0, np.nan),
        _result("service", "S3", "Gamma Hospital", "KPI2", 5, 20),
        _result("service", "S4", AWKWARD_NAME, "KPI2", 61, 60),
    ]
    frame = pd.DataFrame(rows)
    frame["rag"] = [band(k, n, d) for k, n, d in zip(frame["kpi_id"], frame["numerator"], frame["denominator"])]
    return frame


AGE_BANDS = ["50–59", "60–69", "70–79", "80–89", "90+", "Not known"]


@pytest.fixture(scope="module")
def case_mix_table() -> pd.DataFrame:
    """Age bands for NATIONAL, ENGLAND and WALES; Wales' 90+ cell (count 3) is suppressed.
    Rows are shuffled so the chart must restore the contract order itself."""
    counts = {"NATIONAL": [30, 60, 80, 50, 23, 7], "ENGLAND": [25, 50, 70, 45, 20, 6], "WALES": [5, 10, 10, 5, 3, 1]}
    rows = []
    for code, values in counts.items():
        total = sum(values)
        for category, count in zip(AGE_BANDS, values):
            if code == "NATIONAL":
                shown, pct = str(count), 100 * count / total
            elif 0 < count < 8:
                shown, pct = "*", np.nan
            else:
                shown, pct = str(5 * round(count / 5)), 100 * count / total
            rows.append({"level": "national" if code == "NATIONAL" else "nation", "code": code,
                         "characteristic": "age band", "category": category, "count": count,
                         "shown": shown, "pct_shown": pct})
    return pd.DataFrame(rows).sample(frac=1, random_state=3).reset_index(drop=True)


MONTHS = [f"2016-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    """KPI4 and KPI5 by month; service S1 has no eligible KPI4 records in March (a gap)."""
    rows = []
    for level, code in (("national", "NATIONAL"), ("nation", "ENGLAND"), ("service", "S1"), ("service", "S2")):
        for kpi_id in ("KPI4", "KPI5"):
            for i, month in enumerate(MONTHS):
                denominator = 0 if (code == "S1" and kpi_id == "KPI4" and month == "2016-03") or code == "S2" else 20
                numerator = min(denominator, 10 + i % 5)
                rows.append({"level": level, "code": code, "kpi_id": kpi_id, "month": month,
                             "numerator": numerator, "denominator": denominator,
                             "pct": 100 * numerator / denominator if denominator else np.nan})
    return pd.DataFrame(rows)


def _tte_rows(level, code, event, days_counts, records):
    return [{"level": level, "code": code, "event": event, "days": d, "count": c, "records": records}
            for d, c in days_counts]


@pytest.fixture(scope="module")
def tte() -> pd.DataFrame:
    rows = _tte_rows("national", "NATIONAL", "assessment", [(0, 2), (10, 5), (30, 6), (80, 4), (120, 3)], 25)
    rows += _tte_rows("service", "S1", "assessment", [(5, 1), (10, 2), (95, 3)], 8)
    rows += _tte_rows("national", "NATIONAL", "dxa", [(40, 3)], 6)
    return pd.DataFrame(rows)


def tte_summary_of(tte: pd.DataFrame) -> pd.DataFrame:
    """``time_to_event_summary`` of ``tte`` as the compute stage writes it
    (:func:`fls_report.kpis.time_to_event_summary`), for every level ``tte`` has rows for."""
    units = tte[["level", "code"]].drop_duplicates() if len(tte) else pd.DataFrame(columns=["level", "code"])
    return kpis.time_to_event_summary(tte, units)


@pytest.fixture(scope="module")
def tte_summary(tte) -> pd.DataFrame:
    return tte_summary_of(tte)


@pytest.fixture(scope="module")
def fields() -> pd.DataFrame:
    """Three services × 17 key fields: S1 has two fields over 20% (and one at exactly 20%, not
    over), S2 has no in-scope records (all not applicable), S4 has one field not applicable."""
    rows = []
    for code in ("S1", "S2", "S4"):
        for i, field in enumerate(KEY_FIELD_NAMES):
            applicable, missing = 10, 0
            if code == "S2" or (code == "S4" and field == "treatment_52wk"):
                applicable = 0
            elif code == "S1" and field == "sex":
                missing = 5
            elif code == "S1" and field == "date_dxa":
                missing = 3
            elif code == "S1" and field == "care_home":
                missing = 2
            rows.append({"code": code, "field": field, "applicable": applicable, "missing": missing,
                         "pct_missing": 100 * missing / applicable if applicable else np.nan})
    return with_over(pd.DataFrame(rows), THRESHOLD_PCT)


#: KPI1's threshold the ``fields`` fixture's ``over`` flags are decided at (kpis.md's default).
THRESHOLD_PCT = KpiParams.completeness_threshold_pct


def with_over(fields: pd.DataFrame, threshold_pct: float) -> pd.DataFrame:
    """``fields`` with ``over`` as the compute stage decides it on the counts for
    ``threshold_pct`` (:func:`fls_report.kpis.field_over`)."""
    over = kpis.field_over(fields["applicable"], fields["missing"], KpiParams(completeness_threshold_pct=threshold_pct))
    return fields.assign(over=over)


NAMES = {"S1": "Alpha Hospital", "S2": "Beta Hospital", "S4": AWKWARD_NAME}


# --------------------------------------------------------------------------------------------
# Funnel tables, monthly series and p-charts, as fls_report.benchmarks computes them


FUNNEL_X = {"A": 0, "B": 45, "C": 52, "D": 48, "E": 10, "F": 260, "G": 5, "H": 55, "I": 80, "J": 30}


FUNNEL_N = {"A": 0, "B": 100, "C": 100, "D": 100, "E": 100, "F": 500, "G": 10, "H": 100, "I": 100, "J": 100}


FUNNEL_NAMES = {code: f"Hospital {code}" for code in FUNNEL_X} | {"E": "Tricky <script>&'"}


def _funnel_table(adjust="auto", x=FUNNEL_X, n=FUNNEL_N) -> pd.DataFrame:
    """A funnel table with ``attrs["adjusted"]`` as :attr:`fls_report.run.Run.funnel_tables` has it."""
    table = funnel_table(pd.Series(x, dtype=float), pd.Series(n, dtype=float), adjust=adjust)
    table.attrs["adjusted"] = table.attrs["limits"] == LIMITS_ADJUSTED
    return table


def _funnel_inputs_for(tables: dict) -> tuple[dict, dict]:
    return tables, {k: benchmarks.funnel_curve(t) for k, t in tables.items()}


@pytest.fixture(scope="module")
def funnel_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten services: A has no eligible records, E is an alarm low (awkward name), I an alarm
    high, J an alert low; φ > 1, so the limits are widened for over-dispersion."""
    table = _funnel_table()
    return table, benchmarks.funnel_curve(table)


@pytest.fixture(scope="module")
def grid_funnels() -> tuple[dict, dict]:
    """KPI4 widened for over-dispersion (A left off, E alarm low, I alert high), KPI5 the same
    services with exact limits, KPI3 low values (zoomed axis) where E has no eligible records."""
    low = _funnel_table(x={"A": 0, "B": 4, "C": 5, "D": 3, "E": 0}, n={"A": 0, "B": 100, "C": 120, "D": 90, "E": 0})
    return _funnel_inputs_for({"KPI3": low, "KPI4": _funnel_table(), "KPI5": _funnel_table(adjust="none")})


def _months(count: int, start_year: int = 2016) -> list[str]:
    return [f"{start_year + i // 12}-{i % 12 + 1:02d}" for i in range(count)]


def _monthly_rows(code: str, kpi_id: str, pcts, denominator: int = 40) -> list[dict]:
    rows = []
    for month, pct in zip(_months(len(pcts)), pcts):
        d = 0 if pct is None or np.isnan(pct) else denominator
        rows.append({"level": "service", "code": code, "kpi_id": kpi_id, "month": month,
                     "numerator": 0 if d == 0 else round(pct * d / 100), "denominator": d,
                     "pct": np.nan if d == 0 else pct})
    return rows


@pytest.fixture(scope="module")
def run_inputs() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """24 months for S1: KPI4 has a shift (12 months below the median, then 12 above), KPI6
    is noise around its median, KPI11 has only 4 months with data (then gaps)."""
    shift = [50 + (3 if i % 2 else -3) for i in range(12)] + [60 + i % 3 for i in range(12)]
    noise = [40, 43, 38, 44, 39, 41, 36, 42, 40.5, 37, 45, 39, 41.5, 38, 43, 40, 44, 37, 42, 39.5, 41, 38.5, 43, 40.2]
    short = [70, 72, 75, 71] + [np.nan] * 20
    monthly = pd.DataFrame(_monthly_rows("S1", "KPI4", shift) + _monthly_rows("S1", "KPI6", noise)
                           + _monthly_rows("S1", "KPI11", short))
    signals = benchmarks.run_chart_signals(monthly)
    explanations = {row["kpi_id"]: signal_explanation(row) for _, row in signals.iterrows()}
    return monthly, signals, explanations


@pytest.fixture(scope="module")
def run_points(run_inputs) -> pd.DataFrame:
    """``run_chart_points`` of ``run_inputs``, as the compute stage writes it."""
    monthly, signals, _ = run_inputs
    return benchmarks.run_chart_points(monthly, signals)


@pytest.fixture(scope="module")
def reference_monthly() -> pd.DataFrame:
    """England and Wales rows for the run_inputs KPIs: KPI11 runs higher than the service's axis."""
    return pd.DataFrame(_monthly_rows("NATIONAL", "KPI4", [55.0] * 24) + _monthly_rows("NATIONAL", "KPI6", [41.0] * 24)
                        + _monthly_rows("NATIONAL", "KPI11", [95.0] * 24, denominator=400)).assign(level="national")


@pytest.fixture(scope="module")
def p_frame() -> pd.DataFrame:
    """12 months at 50 a month around 50%; May is far above the limits and August has no records."""
    x = [25, 24, 26, 25, 45, 23, 27, 0, 25, 24, 26, 25]
    n = [50, 50, 50, 50, 50, 50, 50, 0, 50, 50, 50, 50]
    frame = stats_p_chart(np.array(x, dtype=float), np.array(n, dtype=float))
    frame.insert(0, "month", _months(12))
    return frame


@pytest.fixture(scope="module")
def p_frames(p_frame) -> dict:
    """KPI4: May outside the limits, no runs signal; KPI6: one crossing (runs signal); KPI7: no p-chart."""
    shifted = stats_p_chart(np.array([20] * 6 + [30] * 6, dtype=float), np.full(12, 50.0))
    shifted.insert(0, "month", _months(12))
    return {"KPI4": p_frame, "KPI6": shifted, "KPI7": None}


# --------------------------------------------------------------------------------------------
# Helpers


def figure_parts(chart: charts.Chart) -> dict:
    """Check the HTML is one <figure> with a decodable PNG; return its alt, caption and PNG."""
    whole = chart.to_html()
    page, _, data = whole.partition("</figure>")
    page += "</figure>"
    # After the figure, only the data it draws (a closed "Show the data"), when it draws any.
    assert data == (chart.data.to_html() if chart.data is not None else "")
    assert page.count("<figure") == 1 and page.count("</figure>") == 1
    assert page.startswith("<figure") and page.endswith("</figure>")
    assert page.count("<img ") == 1 and page.count("<figcaption>") == 1
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert match, "no base64 PNG"
    png = base64.b64decode(match.group(1), validate=True)
    assert png.startswith(PNG_SIGNATURE)
    alt = re.search(r'alt="([^"]*)"', page).group(1)
    caption = re.search(r"<figcaption>(.*)</figcaption>", page, re.S).group(1)
    assert "max-width:100%" in page
    # Sharp at 200% zoom: the PNG has twice the pixels of the width and height it is shown at.
    shown = [int(re.search(rf'{side}="(\d+)"', page).group(1)) for side in ("width", "height")]
    pixels = [int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")]
    assert all(abs(p - 2 * s) <= 1 for p, s in zip(pixels, shown)), (pixels, shown)
    return {"html": whole, "alt": alt, "caption": caption, "png": png}


def figure_texts(chart: charts.Chart) -> list[str]:
    return [t.get_text() for t in chart.figure.findobj(Text)]


def says_no_records(chart: charts.Chart) -> None:
    assert any(charts.NO_RECORDS in text for text in figure_texts(chart))
    assert "no records to show" in chart.alt.lower()
    assert "no records to show" in chart.caption.lower()


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _full_draw(chart: charts.Chart) -> bytes:
    """The chart's whole figure as ``savefig`` draws it, with no backdrop, through the same PNG
    encoder (a 256-colour palette) as every chart."""
    from fls_report.charts.png import _png_bytes

    buffer = io.BytesIO()
    with _house_style():
        chart.figure.savefig(buffer, format="png", dpi=charts.DPI, metadata={"Software": None})
    return _png_bytes(_pixels(buffer.getvalue()))


def assert_drawn_as_whole(drawn: list[charts.Chart]) -> None:
    """Each chart, drawn over a backdrop (cached by the first with its key), has exactly the
    pixels of drawing its whole figure."""
    for chart in drawn:
        assert chart.backdrop is not None
        assert np.array_equal(_pixels(chart.to_png()), _pixels(_full_draw(chart)))


@pytest.fixture()
def fresh_backdrops(monkeypatch):
    """Empty backdrop caches (pixels, reused figures and kept grids) for the test (the module's own are left as
    they were)."""
    monkeypatch.setattr(backdrop, "_BACKDROPS", type(backdrop._BACKDROPS)())
    monkeypatch.setattr(backdrop, "_SKELETONS", type(backdrop._SKELETONS)())
    monkeypatch.setattr(backdrop, "_GRIDS", type(backdrop._GRIDS)())
    return backdrop


# --------------------------------------------------------------------------------------------
# Every chart: HTML shape, determinism, no pyplot figures, no rcParams changed


BUILDERS = {
    "caterpillar": lambda t: charts.caterpillar(t["results"], "KPI4", highlight="S4"),
    "identification": lambda t: charts.identification(t["results"], highlight="S4"),
    "case_mix": lambda t: charts.case_mix(t["case_mix"], "age band"),
    "time_to_event_pair": lambda t: charts.time_to_event_pair(t["tte"], "S1", {"assessment": 90, "dxa": 90},
                                                              name="Alpha", summary=t["tte_summary"]),
    "completeness_heatmap": lambda t: charts.completeness_heatmap(t["fields"], names=NAMES,
                                                                  threshold_pct=THRESHOLD_PCT),
    "completeness_bars": lambda t: charts.completeness_bars(t["fields"], "S1", name="Alpha Hospital",
                                                            threshold_pct=THRESHOLD_PCT),
    "funnel": lambda t: charts.funnel(t["funnel"][0], t["funnel"][1], "KPI4", names=FUNNEL_NAMES, highlight="E"),
    "funnel_grid": lambda t: charts.funnel_grid(t["funnels"][0], t["funnels"][1], names=FUNNEL_NAMES, highlight="E"),
    "run_charts": lambda t: charts.run_charts(t["runs"][0], t["runs"][1], "S1", ["KPI4", "KPI6", "KPI11"],
                                              t["runs"][2], name=AWKWARD_NAME, points=t["points"]),
    "run_charts_reference": lambda t: charts.run_charts(t["runs"][0], t["runs"][1], "S1", ["KPI4", "KPI6", "KPI11"],
                                                        t["runs"][2], name="Alpha", reference=t["reference"],
                                                        points=t["points"]),
    "p_chart_grid": lambda t: charts.p_chart_grid(t["p"], name=AWKWARD_NAME),
}
#: The charts drawn from the tables ``compute`` writes, which must accept an empty one.
FROM_TABLES = ("caterpillar", "identification", "case_mix", "time_to_event_pair", "completeness_heatmap",
               "completeness_bars")


@pytest.fixture(scope="module")
def tables(results, case_mix_table, tte, tte_summary, fields, funnel_inputs, grid_funnels, run_inputs, run_points,
           reference_monthly, p_frames) -> dict:
    return {"results": results, "case_mix": case_mix_table, "tte": tte, "tte_summary": tte_summary, "fields": fields,
            "funnel": funnel_inputs, "funnels": grid_funnels, "runs": run_inputs, "points": run_points,
            "reference": reference_monthly, "p": p_frames}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_chart_is_one_figure_with_png_alt_and_caption_and_is_deterministic(name, tables):
    before = dict(matplotlib.rcParams)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "More than 20 figures have been opened"
        first, second = BUILDERS[name](tables), BUILDERS[name](tables)
        parts = figure_parts(first)
    assert parts["alt"].strip() and parts["caption"].strip()
    assert first.to_png() == second.to_png(), "same input, different PNG bytes"
    assert first.alt == second.alt and first.caption == second.caption
    assert first._repr_html_() == first.to_html()
    assert dict(matplotlib.rcParams) == before, "drawing changed the caller's rcParams"
    from matplotlib import pyplot

    assert pyplot.get_fignums() == [], "charts must not register figures with pyplot"
    width, _ = first.figure.get_size_inches()
    assert 8 <= width <= 9.5, "laptop-width figure"
    sizes = [t.get_fontsize() for t in first.figure.findobj(Text) if t.get_text().strip()]
    assert min(sizes) >= 9


def test_png_has_no_software_or_date_metadata(tables):
    png = BUILDERS["case_mix"](tables).to_png()
    assert b"Software" not in png and b"matplotlib" not in png.lower()


def test_caller_rcparams_do_not_change_the_png(case_mix_table):
    plain = charts.case_mix(case_mix_table, "age band").to_png()
    caller_style = {"font.size": 20, "axes.facecolor": "red", "savefig.bbox": "tight", "lines.linewidth": 5}
    with matplotlib.rc_context(caller_style):
        styled = charts.case_mix(case_mix_table, "age band").to_png()
    assert styled == plain


@pytest.mark.parametrize("name", FROM_TABLES)
def test_every_chart_accepts_an_empty_table_without_columns(name):
    empty = {key: pd.DataFrame() for key in ("results", "case_mix", "tte", "tte_summary", "fields")}
    chart = BUILDERS[name](empty)
    says_no_records(chart)
    figure_parts(chart)


def test_a_table_missing_contract_columns_is_named(results):
    with pytest.raises(ValueError, match=r"missing column\(s\) pct"):
        charts.caterpillar(results.drop(columns=["pct"]), "KPI4")


# --------------------------------------------------------------------------------------------
# Northern Ireland (webtool_export.md §5): a nation's colour, and the run's national name


def test_northern_ireland_has_an_okabe_ito_line_colour_of_its_own():
    colour = charts.LEVEL_COLOURS["NORTHERN_IRELAND"]
    assert colour in charts.OKABE_ITO.values()
    others = {v for k, v in charts.LEVEL_COLOURS.items() if k != "NORTHERN_IRELAND"}
    assert colour not in others
    # nor the colours with a meaning of their own: highlight, over the threshold, signals, medians
    assert colour not in {charts.HIGHLIGHT_COLOUR, charts.OVER_THRESHOLD_COLOUR, charts.SIGNAL_COLOUR,
                          charts.MEDIAN_COLOUR, *charts.RAG_COLOURS.values()}


def test_charts_name_the_national_level_from_the_table(results, case_mix_table, monthly, tte, tte_summary,
                                                       funnel_inputs):
    """With the NATIONAL row named for a run with Northern Ireland, every chart says that name
    and none says "England and Wales"."""
    named = results.assign(name=results["name"].where(results["code"] != "NATIONAL", EWNI))
    names = {"NATIONAL": EWNI, "S1": "Alpha"}
    table, curve = funnel_inputs
    drawn = [
        charts.caterpillar(named, "KPI4"), charts.identification(named),
        charts.case_mix(case_mix_table, "age band", names=names),
        charts.time_to_event_pair(tte, "S1", {"assessment": 90, "dxa": 90}, name="Alpha", national_name=EWNI,
                                  summary=tte_summary),
        charts.funnel(table, curve, "KPI4", names=names),
        charts.funnel_grid({"KPI4": table}, {"KPI4": curve}, names=names),
        charts.run_charts(monthly, None, "S1", ["KPI4"], name="Alpha",
                          reference=monthly[monthly["code"] == "NATIONAL"], reference_name=EWNI),
    ]
    for chart in drawn:
        words = chart.alt + chart.caption + " ".join(figure_texts(chart))
        assert "England and Wales" not in words, chart.caption
        assert EWNI in words, chart.caption


# --------------------------------------------------------------------------------------------
# The run's KPI names (which state its windows), given or read from kpi_results


RUN_KPI_NAMES = dict(KPI_NAMES, KPI4="FLS assessment within 60 days", KPI5="DXA within 120 days")


def _words(chart: charts.Chart) -> str:
    """The chart's alt text, caption and figure texts, with line breaks as spaces."""
    return " ".join(" ".join(text.split()) for text in [chart.alt, chart.caption, *figure_texts(chart)])


def _panel_titles(chart: charts.Chart) -> list[str]:
    return [" ".join(ax.get_title(loc="left").split()) for ax in chart.figure.axes]


def test_charts_name_kpis_as_the_run_names_them(grid_funnels, funnel_inputs, run_inputs, run_points, p_frames,
                                                results):
    """Given the run's KPI names (assessment within 60 days), the titles and words say them;
    without, kpis.md's names at the default windows."""
    tables, curves = grid_funnels
    monthly, signals, explanations = run_inputs
    table, curve = funnel_inputs
    new, default = "KPI4: FLS assessment within 60 days", "KPI4: FLS assessment within 90 days"
    for kpi_names, said, unsaid in ((RUN_KPI_NAMES, new, default), (None, default, new)):
        grid = charts.funnel_grid(tables, curves, names=FUNNEL_NAMES, highlight="E", kpi_names=kpi_names)
        assert said in _panel_titles(grid)
        assert said.replace(":", "") in grid.alt  # "KPI4 FLS assessment within … days: target …"
        runs = charts.run_charts(monthly, signals, "S1", ["KPI4", "KPI6"], explanations, points=run_points,
                                 kpi_names=kpi_names)
        assert any(title.startswith(said) for title in _panel_titles(runs))
        assert said.replace(":", "") in runs.alt
        p_grid = charts.p_chart_grid(p_frames, name="Alpha", kpi_names=kpi_names)
        assert said in _panel_titles(p_grid) and said in p_grid.alt
        single = charts.funnel(table, curve, "KPI4", kpi_names=kpi_names)
        assert single.figure.texts and said in _words(single) and said in single.alt
        for chart in (grid, runs, p_grid, single):
            assert unsaid not in _words(chart)
    # The caterpillar and identification charts read the names from kpi_results' kpi_name.
    renamed = results.assign(kpi_name=results["kpi_id"].map({"KPI4": "FLS assessment within 60 days",
                                                             "KPI2": "Identification (12 months)"}))
    caterpillar = charts.caterpillar(renamed, "KPI4")
    assert new in _words(caterpillar) and new in caterpillar.alt and default not in _words(caterpillar)
    assert default in charts.caterpillar(results, "KPI4").alt
    identification = charts.identification(renamed)
    assert "KPI2: Identification (12 months)" in _words(identification)
