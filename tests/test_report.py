"""The report sections the notebooks show (fls_report.report): each reads the run's tables and
formats them; words that state a parameter come from the run's parameters."""

from __future__ import annotations

import html
import re

import pytest

from conftest import write_params
from fls_report import report
from fls_report.cli import main
from fls_report.io import safe_name
from fls_report.synth import write_synthetic
from fls_report.vocabulary import fmt_pct, limits_words, status_words

#: Parameters away from their defaults, so that a typed default would show.
NON_DEFAULT = {"completeness_threshold_pct": 30, "completeness_max_fields": 3, "low_numbers_below": 5,
               "assessment_days": 60}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    extract, services = write_synthetic(folder, services=6, patients=1500, year=2016, seed=5)
    params = write_params(folder, extract=extract.name, services=services.name, kpi=NON_DEFAULT)
    assert main(["compute", str(params)]) == 0
    return report.load(params)


def text_of(block) -> str:
    """The words of an HTML block, tags dropped and spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", str(block))).split())


def test_html_blocks_show_as_html_and_keep_no_memory_address(run):
    block = report.headline_table(run)
    assert block._repr_html_().startswith("<table") and repr(block) == "Html()"


def test_headline_table_has_the_national_level_and_each_nation(run):
    text = text_of(report.headline_table(run))
    for name in run.level_names:
        assert name in text
    national = run.results[(run.results["code"] == "NATIONAL") & (run.results["kpi_id"] == "KPI4")].iloc[0]
    assert fmt_pct(national["pct"]) in text


def test_benchmark_table_links_every_service_and_states_low_numbers_from_the_parameters(run):
    html = str(report.benchmark_table(run))
    for code in run.services["code"]:
        assert f'href="services/{safe_name(code)}.html"' in html
    assert "† fewer than 5 in the denominator: interpret with care" in html and "fewer than 10" not in html
    if run.results["low_numbers"].any():
        assert 'title="Fewer than 5 in the denominator: interpret with care"' in html


def test_methods_state_the_runs_parameters(run):
    text = text_of(report.methods(run))
    assert "0–60 days" in text and "0–90 days" in text  # the assessment window and the (default) DXA window
    assert "fewer than 3 of the 17 key fields have more than 30% of values missing" in text
    assert "KPI4 FLS assessment within 60 days" in text
    assert "denominator under 5" in text
    assert "more than 20% of values missing" not in text and "fewer than 5 of the 17" not in text
    assert "<= 60 days (assessment_days)" in text and "within 84–112 days (followup_16wk_window_days)" in text


def test_kpi_names_follow_the_parameters_everywhere_on_a_service_page(run):
    code = run.services["code"].iloc[0]
    for block in (report.service_kpi_table(run, code), report.signal_table(run, code),
                  report.service_funnel_statuses(run, code)):
        text = text_of(block)
        assert "within 60 days" in text and "within 90 days" not in text.replace("DXA within 90 days", "")


def test_service_kpi_table_ranks_come_from_the_table(run):
    code = run.services["code"].iloc[1]
    text = text_of(report.service_kpi_table(run, code))
    for r in run.ranks[run.ranks["code"] == code].itertuples():
        assert f"{r.rank} of {r.ranked}" in text


def test_funnel_summary_and_outliers_read_the_tables(run):
    text = text_of(report.funnel_summary_table(run))
    for r in run.funnel_summary.itertuples():
        assert f"{r.kpi_id} {r.kpi_name}" in text and limits_words(r.adjusted) in text
    outliers = text_of(report.outlier_table(run))
    if run.outliers.empty:
        assert "No service is outside" in outliers
    for r in run.outliers.itertuples():
        assert r.name in outliers and status_words(r.funnel_status) in outliers


def test_service_p_charts_say_which_kpis_have_none_and_why(run):
    found = False
    for code in run.services["code"]:
        html = str(report.service_p_charts(run, code))
        missing = [k for k in report.FUNNEL_KPIS if run.p_chart(code, k) is None]
        if missing:
            found = True
            assert f"No p-chart for {', '.join(missing)}: fewer than 10 months" in html
        if len(missing) < len(report.FUNNEL_KPIS):
            assert "<img" in html
    assert found


def test_time_summary_reads_the_summary_table(run):
    code = run.services["code"].iloc[0]
    text = text_of(report.service_time_summary(run, code))
    row = run.time_to_event_summary.set_index(["code", "event"]).loc[(code, "assessment")]
    assert f"{row['median_days']:g} {row['q1_days']:g}–{row['q3_days']:g}" in text


def test_files_read_and_values_not_recognised(run):
    files = text_of(report.files_read(run))
    assert "The extract was read from 1 file (1 contract)" in files and "1,500 data rows" in files
    unrecognised = text_of(report.unrecognised_counts(run))
    assert "Values the reader did not recognise" in unrecognised or "was recognised" in unrecognised


def test_prose_names_the_national_level(run):
    assert str(report.prose(run, "Against {national}.")) == f"Against {run.national_name}."


def test_presentation_imports_no_statistics():
    """Pages, slides, workbook, PDFs and charts read the compute stage's tables: none of them
    imports fls_report.stats or fls_report.benchmarks (issue 13, "compute once")."""
    import ast
    from pathlib import Path

    package = Path(report.__file__).parent
    modules = [package / "report.py", package / "run.py", *(package / "outputs").glob("*.py"),
               *((package / "charts").glob("*.py") if (package / "charts").is_dir() else [package / "charts.py"])]
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert name not in ("fls_report.stats", "fls_report.benchmarks"), (path.name, name)


# ---------------------------------------------------------------------------------------------
# Who gets care (issue 15)


def test_who_gets_care_has_a_figure_table_and_tests_per_characteristic(run):
    block = str(report.who_gets_care(run))
    assert block.count("<img") == 4 and block.count("<h3>By ") == 4
    for characteristic in ("age band", "sex", "care home", "fracture site"):
        assert f"KPI3–KPI11 by {characteristic}" in block
    assert "none is a verdict on a service" in block
    assert "differs by" in block or "no difference by" in block or "not tested" in block
    assert "KPI3 counts spine fractures: it differs by fracture site by definition" in html.unescape(block)


def test_by_region_lists_every_region(run):
    regions = run.regions
    block = text_of(report.by_region(run))
    assert not regions.empty
    for name in regions["code"].unique():
        assert name in block


def test_service_breakdowns_show_small_numbers_as_stars_and_say_why(run):
    code = run.services.loc[run.services["records"] > 0, "code"].iloc[-1]
    block = text_of(report.service_breakdowns(run, code))
    own = run.breakdowns[(run.breakdowns["code"] == code)]
    if (own["denominator_shown"] == "*").any():
        assert "*" in block
    assert "numbers too small to publish: fewer than 8 patients" in block
    empty = run.services.loc[run.services["records"] == 0, "code"]
    if len(empty):
        assert "No records" in text_of(report.service_breakdowns(run, empty.iloc[0]))

