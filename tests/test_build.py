"""Building the site: every page and download, escaping, failures that do not stop the build."""

from __future__ import annotations

import html
import json
import re
import shutil

import nbformat
import pandas as pd
import pytest

from conftest import EMPTY_CODE, ODD_NAME  # noqa: F401  (ODD_NAME is used inside a pandas query string)
from fls_report import build as build_module
from fls_report.build import report_jobs
from fls_report.vocabulary import period_words
from fls_report.cli import main
from fls_report.errors import InputError
from fls_report.io import safe_name
from fls_report.params import load_params
from fls_report.validate import read_services

DOWNLOADS = ["kpi_results.csv", "monthly_kpis.csv", "eighty_fifty_eighty.csv", "case_mix.csv",
             "record_accounting.csv", "data_quality_fields.csv", "data_quality_issues.csv", "fls_report_tables.xlsx",
             "benchmark.xlsx"]


def service_codes(out) -> list[str]:
    results = pd.read_csv(out / "tables" / "kpi_results.csv", dtype={"code": str})
    return results.loc[results["level"] == "service", "code"].unique().tolist()


def test_every_page_and_download(built_site):
    site = built_site / "site"
    for page in ("index.html", "national.html", "data-quality.html"):
        assert (site / page).is_file(), page
    for code in service_codes(built_site):
        assert (site / "services" / f"{safe_name(code)}.html").is_file(), code
        assert (site / "downloads" / "pdf" / "services" / f"{safe_name(code)}.pdf").is_file(), code
        assert (site / "downloads" / "slides" / f"{safe_name(code)}.pptx").is_file(), code
    assert (site / "downloads" / "pdf" / "national.pdf").is_file()
    assert (site / "downloads" / "slides" / "national.pptx").is_file()
    for name in DOWNLOADS:
        assert (site / "downloads" / name).is_file(), name
    for name in ("national.ipynb", "data_quality.ipynb"):
        assert (built_site / "notebooks" / name).is_file()
    assert len(list((built_site / "notebooks" / "services").glob("*.ipynb"))) == len(service_codes(built_site))
    assert (built_site / "tables" / "case_mix.csv").is_file()


def test_safe_file_names():
    assert safe_name("029") == "029" and safe_name("W-1_a") == "W-1_a"
    odd = safe_name("../etc/passwd")
    assert "/" not in odd and odd.startswith("___etc_passwd-") and len(odd.rsplit("-", 1)[1]) == 8
    assert safe_name("a/b") != safe_name("a_b") and safe_name("a/b") != safe_name("a?b")


def test_empty_service_page_says_so(built_site):
    page = (built_site / "site" / "services" / f"{safe_name(EMPTY_CODE)}.html").read_text()
    assert "No records for this service in this period" in page
    assert "Empty Valley FLS" in page


def test_service_names_are_escaped_everywhere(built_site):
    site = built_site / "site"
    pages = list(site.rglob("*.html"))
    for path in pages:
        text = path.read_text()
        assert "<script>alert(" not in text, path.name
    odd_code = pd.read_csv(built_site / "tables" / "kpi_results.csv", dtype={"code": str}).query("name == @ODD_NAME")["code"].iloc[0]
    service_page = (site / "services" / f"{safe_name(odd_code)}.html").read_text()
    assert "&lt;script&gt;alert(" in service_page and "&lt;/script&gt; &amp; Co" in service_page
    index = (site / "index.html").read_text()
    assert "&lt;script&gt;" in index
    assert f'href="downloads/pdf/services/{safe_name(odd_code)}.pdf"' in index
    assert f'href="downloads/slides/{safe_name(odd_code)}.pptx"' in index
    assert "&lt;script&gt;" in (site / "national.html").read_text()


def test_pages_are_self_contained_and_show_no_code(built_site):
    for path in (built_site / "site").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path.name
        assert "report.load(" not in text and "import " not in text.split("<script>")[0], path.name
        assert "<footer" in text and "sha256" in text, path.name
        assert "data cut-off" in text.lower(), path.name


def test_executed_notebooks_have_no_timing_metadata(built_site):
    notebook = nbformat.read(built_site / "notebooks" / "national.ipynb", as_version=4)
    assert "start_time" not in notebook.metadata.get("papermill", {})
    assert all("execution" not in cell.metadata for cell in notebook.cells)


def test_published_case_mix_has_only_disclosure_controlled_columns(built_site):
    table = pd.read_csv(built_site / "site" / "downloads" / "case_mix.csv")
    assert "count" not in table.columns and {"shown", "pct_shown"} <= set(table.columns)


def test_no_raw_breakdown_count_below_the_national_level_is_published(built_site):
    """kpi_breakdowns' published copy keeps only the disclosure-controlled columns; below the
    national level every count shown is 0, * or a multiple of 5 (statistics.md §5)."""
    from fls_report.breakdowns import PUBLISHED_COLUMNS

    published = pd.read_csv(built_site / "site" / "downloads" / "kpi_breakdowns.csv", dtype=str,
                            keep_default_na=False)
    assert list(published.columns) == PUBLISHED_COLUMNS
    below = published[published["level"] != "national"]
    for column in ("numerator_shown", "denominator_shown"):
        values = below[column]
        assert values.map(lambda v: v == "*" or (v.isdigit() and int(v) % 5 == 0)).all(), column
    full = pd.read_csv(built_site / "tables" / "kpi_breakdowns.csv", dtype=str, keep_default_na=False)
    small = full[(full["level"] != "national") & full["denominator"].astype(int).between(1, 7)]
    assert len(small) and (small["denominator_shown"] == "*").all()


def test_manifest_lists_every_report(built_site):
    manifest = json.loads((built_site / "manifest.json").read_text())
    outputs = {r["output"] for r in manifest["reports"]}
    assert "site/national.html" in outputs and "site/data-quality.html" in outputs
    assert len(manifest["reports"]) == 2 + len(service_codes(built_site))
    assert all(len(r["inputs_hash"]) == 64 for r in manifest["reports"])


def test_report_jobs_are_data(small_run):
    params = load_params(small_run)
    services = read_services(params.services).frame
    jobs = report_jobs(params, services)
    assert [j.kind for j in jobs[:2]] == ["national", "data_quality"]
    assert [j.code for j in jobs[2:]] == services["service_code"].tolist()
    assert all(j.page.is_relative_to(params.output / "site") for j in jobs)
    with pytest.raises(InputError, match="unknown service code"):
        report_jobs(params, services, ["NOPE"])


@pytest.mark.slow
def test_a_failing_report_does_not_stop_the_others(small_run, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    shutil.copytree(small_run.parent, run, ignore=shutil.ignore_patterns("out"))
    notebooks = tmp_path / "notebooks"
    shutil.copytree(build_module.NOTEBOOKS, notebooks)
    services = pd.read_csv(run / "services.csv", dtype=str)
    victim = services["service_code"].iloc[1]
    source = nbformat.read(notebooks / "service.ipynb", as_version=4)
    source.cells.insert(2, nbformat.v4.new_code_cell(f'assert service_code != "{victim}", "deliberate failure"'))
    nbformat.write(source, notebooks / "service.ipynb")
    monkeypatch.setattr(build_module, "NOTEBOOKS", notebooks)
    codes = [victim, services["service_code"].iloc[2]]
    status = main(["build", str(run / "params.yml"), "--workers", "2"] + [a for c in codes for a in ("--service", c)])
    err = capsys.readouterr().err
    assert status == 1
    assert f"failed: {victim}: AssertionError: deliberate failure" in err
    site = run / "out" / "site"
    assert not (site / "services" / f"{safe_name(victim)}.html").exists()
    assert (site / "services" / f"{safe_name(codes[1])}.html").is_file()
    assert (site / "national.html").is_file() and (site / "index.html").is_file()
    assert "could not be built" in (site / "index.html").read_text()


def test_unknown_service_option_exits_2(small_run, capsys):
    status = main(["build", str(small_run), "--service", "NOPE"])
    assert status == 2 and "unknown service code(s) for --service: NOPE" in capsys.readouterr().err


def test_every_page_states_the_period_in_the_same_words(built_site):
    """The audit period and cut-off under each page's title, in one wording from the run's parameters."""
    params = json.loads((built_site / "manifest.json").read_text())["params"]
    period = period_words(params["period_start"], params["period_end"], params["data_cutoff"])
    assert period.startswith("fractures from ") and "-" not in period.replace("cut-off", "")
    site = built_site / "site"
    code = service_codes(built_site)[0]
    for page in ("index.html", "accessibility.html", "national.html", "data-quality.html",
                 f"services/{safe_name(code)}.html"):
        meta = re.search(r'<p class="page-meta">(.*?)</p>', (site / page).read_text()).group(1)
        assert meta.lower().endswith(html.escape(period).lower()), (page, meta)
