"""Incremental builds: only what changed is rebuilt; an interrupted build resumes."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from fls_report.build import build
from fls_report.errors import InputError
from fls_report.io import safe_name, write_text_atomic


def actions(result) -> dict[str, str]:
    return {o.code: o.action for o in result.outcomes}


@pytest.fixture(scope="module")
def run_folder(small_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("incremental")
    for name in ("params.yml", "services.csv", "fls_extract_2016.csv"):
        shutil.copy(small_run.parent / name, folder / name)
    first = build(folder / "params.yml", workers=2, progress=False)
    assert set(actions(first).values()) == {"execute"} and not first.failures
    return folder


def test_no_change_rebuild_touches_nothing(run_folder):
    pages = {p: p.stat().st_mtime_ns for p in (run_folder / "out" / "site").rglob("*.html") if p.name != "index.html"}
    again = build(run_folder / "params.yml", workers=2, progress=False)
    assert set(actions(again).values()) == {"up to date"}
    assert {p: p.stat().st_mtime_ns for p in pages} == pages
    manifest = json.loads((run_folder / "out" / "manifest.json").read_text())
    assert {r["action"] for r in manifest["reports"]} == {"up to date"}


def test_a_data_correction_in_one_service_reruns_only_what_depends_on_it(run_folder):
    extract = pd.read_csv(run_folder / "fls_extract_2016.csv", dtype=str, keep_default_na=False)
    # Correct one faulty NHS number of a service: a data-quality count changes, no KPI does.
    issues = pd.read_csv(run_folder / "out" / "tables" / "data_quality_issues.csv", dtype=str)
    code = issues.loc[(issues["field"] == "nhs_number") & (issues["rule"] == "invalid value"), "code"].iloc[0]
    rows = extract.index[(extract["service_code"] == code) & ~extract["nhs_number"].str.replace(" ", "").str.fullmatch(r"\d{10}")]
    extract.loc[rows[:1], "nhs_number"] = "943 476 5919"
    extract.to_csv(run_folder / "fls_extract_2016.csv", index=False)
    result = build(run_folder / "params.yml", workers=2, progress=False)
    done = actions(result)
    assert done[code] == "execute" and done["DATA_QUALITY"] == "execute"
    others = {c: a for c, a in done.items() if c not in (code, "DATA_QUALITY")}
    assert set(others.values()) == {"re-render footer"}  # the extract's checksum is in every footer
    national = (run_folder / "out" / "site" / "national.html").read_text()
    new_checksum = json.loads((run_folder / "out" / "manifest.json").read_text())["inputs"]["extract"]["sha256"]
    assert new_checksum in national


def test_an_interrupted_build_leaves_no_partial_page_and_resumes(run_folder, monkeypatch):
    services = pd.read_csv(run_folder / "services.csv", dtype=str, keep_default_na=False)
    code = services["service_code"].iloc[0]
    page = run_folder / "out" / "site" / "services" / f"{safe_name(code)}.html"
    before = page.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("fls_report.io.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(page, "<html>half a page")
    monkeypatch.undo()
    assert page.read_bytes() == before  # the old page is intact, and no temporary file is left
    assert not [p for p in page.parent.iterdir() if p.name.startswith(".")]
    page.unlink()  # a build killed before this page was written
    result = build(run_folder / "params.yml", workers=2, progress=False)
    assert actions(result)[code] == "execute"
    assert {a for c, a in actions(result).items() if c != code} == {"up to date"}
    assert page.read_bytes() == before


def test_html_only_build_removes_pdfs_and_slides_and_a_full_build_brings_them_back(run_folder):
    site = run_folder / "out" / "site"
    extras = lambda: sorted(site.rglob("*.pdf")) + sorted(site.rglob("*.pptx"))  # noqa: E731
    assert extras(), "the full build wrote PDFs and slide packs"
    quick = build(run_folder / "params.yml", workers=2, progress=False, formats=("html",))
    assert set(actions(quick).values()) == {"up to date"}  # the pages themselves did not change
    assert extras() == []  # nothing older than its page is left to download
    index = (site / "index.html").read_text()
    assert ".pdf" not in index and ".pptx" not in index
    full = build(run_folder / "params.yml", workers=2, progress=False)
    with_extras = {job.code for job in full.jobs if job.pdf or job.slides}  # all but the data-quality page
    assert {c for c, a in actions(full).items() if a == "execute"} == with_extras and not full.failures
    assert len([p for p in extras() if p.suffix == ".pdf"]) == len([job for job in full.jobs if job.pdf])
    assert ".pdf" in (site / "index.html").read_text()


def test_unknown_format_is_an_input_error(run_folder):
    with pytest.raises(InputError, match="--formats: unknown format.s. docx; choose from html, pdf, slides"):
        build(run_folder / "params.yml", workers=2, progress=False, formats=("html", "docx"))


def test_force_rebuilds_everything(run_folder):
    result = build(run_folder / "params.yml", workers=2, progress=False, force=True)
    assert set(actions(result).values()) == {"execute"}


def test_a_northern_ireland_service_page_depends_on_its_nation_rows(tmp_path):
    """A service's slice of the tables holds its nation's rows: NORTHERN_IRELAND for a Northern
    Ireland service, as ENGLAND and WALES are for theirs; another nation's rows are not in it."""
    from fls_report.incremental import SLICES, TableCache, content_hash

    notebook = tmp_path / "service.ipynb"
    notebook.write_text("{}")
    units = [("national", "NATIONAL"), ("nation", "ENGLAND"), ("nation", "NORTHERN_IRELAND"), ("nation", "WALES"),
             ("service", "N1"), ("service", "S1")]

    def write_tables(changed: str | None = None) -> TableCache:
        folder = tmp_path / f"tables_{changed}"
        folder.mkdir()
        frame = pd.DataFrame([{"level": lvl, "code": code, "kpi_id": "KPI4", "numerator": 5 if code == changed else 1,
                               "denominator": 10, "funnel_status": ""} for lvl, code in units])
        for name, rule in SLICES["service"].items():  # a table read whole ("all") stays as it was
            if rule == "formats":  # extract_files: how the files were read, the same every time
                pd.DataFrame({"file": ["a.xlsx"], "format": ["webtool export"]}).to_csv(folder / f"{name}.csv", index=False)
                continue
            (frame if rule != "all" else frame.assign(numerator=1)).to_csv(folder / f"{name}.csv", index=False)
        return TableCache(folder)

    def hash_of(tables: TableCache) -> str:
        return content_hash("service", "N1", "NORTHERN_IRELAND", notebook, {"service_code": "N1"}, {}, tables)

    before = hash_of(write_tables())
    assert hash_of(write_tables("NORTHERN_IRELAND")) != before
    assert hash_of(write_tables("NATIONAL")) != before
    assert hash_of(write_tables("WALES")) == before and hash_of(write_tables("ENGLAND")) == before


def test_reports_depend_on_the_formats_read_not_on_each_files_rows(tmp_path):
    """The methods section says how webtool exports are read when any file was one: the national
    and service pages depend on the formats read (extract_files' "formats" slice), not on the
    row counts of each file, which the data-quality page alone shows."""
    from fls_report.incremental import _rows

    files = pd.DataFrame({"file": ["a.xlsx", "b.csv"], "format": ["webtool export", "webtool export"], "rows": [5, 7]})
    same_formats = files.assign(rows=[6, 7])
    other_formats = files.assign(format=["webtool export", "contract"])
    assert _rows(files, "formats").equals(_rows(same_formats, "formats"))
    assert not _rows(files, "formats").equals(_rows(other_formats, "formats"))


def test_a_service_hash_follows_every_cell_of_its_own_rows_and_is_the_same_in_another_process(tmp_path):
    """A service's own rows enter its hash one 64-bit row hash each: a change to any of its cells,
    or to a column's name, changes the hash; another service's own rows do not; and a second
    process (another string-hash seed) gets the same hash, as an incremental build needs."""
    import subprocess
    import sys

    from fls_report.incremental import TableCache

    def tables(name: str, frame: pd.DataFrame) -> TableCache:
        folder = tmp_path / name
        folder.mkdir()
        frame.to_csv(folder / "monthly_kpis.csv", index=False)
        return TableCache(folder)

    rows = pd.DataFrame({"level": ["national", "service", "service"], "code": ["NATIONAL", "S1", "S2"],
                         "month": ["2016-01"] * 3, "pct": ["50.0", "40.0", "60.0"]})
    before = tables("before", rows).slice_bytes("monthly_kpis", "own", {"S1", "NATIONAL"})
    for column in ("month", "pct"):
        changed = rows.copy()
        changed.loc[1, column] = "2016-02" if column == "month" else "40.1"
        assert tables(f"own_{column}", changed).slice_bytes("monthly_kpis", "own", {"S1", "NATIONAL"}) != before
    other = rows.copy()
    other.loc[2, "pct"] = "61.0"
    assert tables("other", other).slice_bytes("monthly_kpis", "own", {"S1", "NATIONAL"}) == before
    renamed = tables("renamed", rows.rename(columns={"pct": "percent"}))
    assert renamed.slice_bytes("monthly_kpis", "own", {"S1", "NATIONAL"}) != before

    script = ("import sys; from pathlib import Path; from fls_report.incremental import TableCache; "
              "sys.stdout.write(TableCache(Path(sys.argv[1])).slice_bytes('monthly_kpis', 'own', {'S1', 'NATIONAL'}).hex())")
    for seed in ("1", "2"):
        again = subprocess.run([sys.executable, "-c", script, str(tmp_path / "before")], check=True,
                               capture_output=True, text=True, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        assert bytes.fromhex(again) == before
