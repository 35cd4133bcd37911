"""The command line: exit codes and plain messages (outputs.md §2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, make_run, row, write_params
from fls_report import dictionary as dd
from fls_report.cli import main


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_clear_error(status: int, err: str, *fragments: str) -> None:
    assert status == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("fls-report: error:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_compute_writes_tables(tmp_path, capsys):
    params = make_run(tmp_path, [row(1), row(2, service_code="XX")])
    status, out, err = run_main(capsys, "compute", params)
    assert status == 0, err
    tables = tmp_path / "out" / "tables"
    assert out.strip() == str(tables)
    assert "rows read 2: included 1, excluded 0, rejected 1" in err
    for name in ("kpi_results", "monthly_kpis", "record_accounting", "data_quality_fields", "data_quality_issues"):
        assert (tables / f"{name}.csv").is_file(), name
    assert (tmp_path / "out" / "restricted" / "rejected_records.csv").is_file()
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_validate_writes_only_data_quality_tables(tmp_path, capsys):
    params = make_run(tmp_path, [row(1)])
    status, _, _ = run_main(capsys, "validate", params)
    assert status == 0
    names = sorted(p.name for p in (tmp_path / "out" / "tables").iterdir())
    assert names == ["data_quality_fields.csv", "data_quality_issues.csv", "data_quality_unrecognised.csv",
                     "extract_files.csv", "record_accounting.csv"]


def _bad_extract(tmp_path, name: str, content: bytes):
    make_run(tmp_path, [row(1)])
    (tmp_path / name).write_bytes(content)
    return write_params(tmp_path, extract=name)


HEADER = ",".join(dd.EXTRACT_COLUMNS).encode()


@pytest.mark.parametrize(
    "name, content, fragments",
    [
        ("e.csv", b"record_id,service_code,date_fracture\nR1,S1,2016-01-01\n",
         ["e.csv", "missing core column(s): age_at_fracture, fracture_site"]),
        ("e.json", b"{}", ["e.json", "unknown file extension '.json'"]),
        ("e.csv", b"", ["e.csv", "is empty"]),
        ("e.csv", HEADER + b"\n", ["e.csv", "header but no data rows"]),
        ("e.csv", HEADER + b"\nR1,S1,,,70,F,,,,,,2016-01-01,Hip,,,,,,,,,,,Caf\xe9\n", ["e.csv", "not UTF-8"]),
    ],
    ids=["missing core column", "unknown extension", "empty file", "only a header", "not UTF-8"],
)
def test_bad_extract_exits_2_with_one_message(tmp_path, capsys, name, content, fragments):
    params = _bad_extract(tmp_path, name, content)
    status, _, err = run_main(capsys, "compute", params)
    assert_one_clear_error(status, err, *fragments)
    assert not (tmp_path / "out").exists(), "no tables are written on an input error"


def test_params_typo_exits_2(tmp_path, capsys):
    make_run(tmp_path, [row(1)])
    params = tmp_path / "typo.yml"
    params.write_text((tmp_path / "params.yml").read_text().replace("data_cutoff", "data_cutof"))
    status, _, err = run_main(capsys, "compute", params)
    assert_one_clear_error(status, err, "typo.yml", "unknown key 'data_cutof'")


def test_missing_services_file_exits_2(tmp_path, capsys):
    params = make_run(tmp_path, [row(1)], services=None)
    (tmp_path / "services.csv").unlink()
    status, _, err = run_main(capsys, "validate", params)
    assert_one_clear_error(status, err, "services.csv", "not found")


def test_identifiers_never_in_messages(tmp_path, capsys):
    params = make_run(tmp_path, [row(1, nhs_number="9434765918", record_id="SECRET-ID")])
    status, out, err = run_main(capsys, "compute", params)
    assert status == 0
    for value in ("SECRET-ID", "9434765918", "943 476 5919", "ZZ99 3AB", "1946-01-01"):
        assert value not in out + err


def test_module_entry_point_in_a_fresh_process(tmp_path):
    params = make_run(tmp_path, [row(1)])
    (tmp_path / "extract.csv").write_bytes(b"")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "fls_report", "compute", str(params)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("fls-report: error:")
    assert "Traceback" not in done.stderr and "the extract is empty" in done.stderr


def test_synth_rejects_nonsense_sizes(tmp_path, capsys):
    status, _, err = run_main(capsys, "synth", "--out", tmp_path, "--services", "0")
    assert_one_clear_error(status, err, "--services")


def test_kpi_results_round_trip_as_text(tmp_path, capsys):
    params = make_run(tmp_path, [row(1)])
    run_main(capsys, "compute", params)
    table = pd.read_csv(tmp_path / "out" / "tables" / "kpi_results.csv", dtype=str, keep_default_na=False)
    s2 = table[(table["code"] == "S2") & (table["kpi_id"] == "KPI4")].iloc[0]
    assert (s2["denominator"], s2["pct"], s2["rag"], s2["low_numbers"]) == ("0", "", "none", "false")


# ---------------------------------------------------------------------------------------------
# Webtool exports: every bad input ends with exit 2, one line naming the thing at fault, nothing
# written (webtool_export.md §1–§2, issue "Bad input")

from test_extract import WEB_ROW, listed_run, web, write_web_csv, write_xlsx  # noqa: E402


def _listed(tmp_path, entries=None, **top):
    write_xlsx(tmp_path / "a.xlsx", [WEB_ROW])
    return listed_run(tmp_path, entries or [("S1", "a.xlsx")], **top)


def _params_text(params, old, new):
    text = params.read_text()
    assert old in text
    params.write_text(text.replace(old, new))
    return params


def _bad_webtool_inputs(tmp_path, case):
    if case == "missing file":
        return _listed(tmp_path, [("S1", "a.xlsx"), ("S2", "gone.xlsx")]), ["gone.xlsx", "file not found"]
    if case == "same path twice":
        return _listed(tmp_path, [("S1", "a.xlsx"), ("S2", "./a.xlsx")]), ["already listed as extract entry 1"]
    if case == "unknown entry key":
        return _params_text(_listed(tmp_path), '    path: "a.xlsx"', '    path: "a.xlsx"\n    sheet: 1'), \
            ["extract entry 1: unknown key(s) 'sheet'"]
    if case == "entry without service":
        return _params_text(_listed(tmp_path), '  - service: "S1"\n    path', "  - path"), ["extract entry 1 has no 'service'"]
    if case == "service not in services file":
        return _listed(tmp_path, [("S9", "a.xlsx")]), ["service 'S9' is not in the services file"]
    if case == "CSV not UTF-8":
        write_web_csv(tmp_path / "w.csv", [web(**{"1.05 CareRes": "Don\u2019t know"})], encoding="cp1252")
        return _listed(tmp_path, [("S1", "w.csv")]), ["w.csv", "not UTF-8 text: byte 0x92 at line 2", "encoding: cp1252"]
    if case == "unknown encoding":
        return _listed(tmp_path, [("S1", "a.xlsx", "latin-1")]), ["'extract entry 1: encoding' must be one of utf-8, cp1252"]
    if case == "two headers on one column":
        write_xlsx(tmp_path / "b.xlsx", [web(**{"Age at fracture": 70})])
        return _listed(tmp_path, [("S1", "b.xlsx")]), ["b.xlsx", "both map to the column age_at_fracture"]
    if case == "service column disagrees":
        write_xlsx(tmp_path / "b.xlsx", [web(**{"Unit code": "S2"})])
        return _listed(tmp_path, [("S1", "b.xlsx")]), ["b.xlsx: row 2", "'S2' is not the file's service 'S1'"]
    if case == "mapping with an unknown key":
        (tmp_path / "m.yml").write_text("questions: {}\nheader_aliases: {}\nvalue_aliases: {}\ncolumns: {}\n")
        return _listed(tmp_path, mapping="m.yml"), ["m.yml", "unknown key(s) 'columns'"]
    if case == "mapping alias onto no value":
        (tmp_path / "m.yml").write_text("questions: {}\nheader_aliases: {}\nvalue_aliases: {Deceased: [Dead]}\n")
        return _listed(tmp_path, mapping="m.yml"), ["m.yml", "'Deceased' is not a value of the data dictionary"]
    if case == "nation outside the three":
        params = _listed(tmp_path)
        services = (tmp_path / "services.csv").read_text().replace(",Wales,", ",Scotland,")
        (tmp_path / "services.csv").write_text(services)
        return params, ["services.csv", "nation not England, Wales or Northern Ireland"]
    raise AssertionError(case)


BAD_WEBTOOL_INPUTS = ["missing file", "same path twice", "unknown entry key", "entry without service",
                      "service not in services file", "CSV not UTF-8", "unknown encoding", "two headers on one column",
                      "service column disagrees", "mapping with an unknown key", "mapping alias onto no value",
                      "nation outside the three"]


@pytest.mark.parametrize("case", BAD_WEBTOOL_INPUTS)
@pytest.mark.parametrize("command", ["compute", "inspect"])
def test_bad_webtool_input_exits_2_with_one_message(tmp_path, capsys, case, command):
    params, fragments = _bad_webtool_inputs(tmp_path, case)
    status, out, err = run_main(capsys, command, params)
    assert_one_clear_error(status, err, *fragments) if command == "compute" else None
    if command == "inspect":  # inspect prints what it could read, then the same error, exit 2
        assert status == 2 and "Traceback" not in err
        assert all(f in out + err for f in fragments), (out, err)
    assert not (tmp_path / "out").exists(), "nothing is written on an input error"


def test_inspect_prints_every_file_and_writes_nothing(tmp_path, capsys):
    write_xlsx(tmp_path / "a.xlsx", [web(**{"1.03 Gender": "Femal", "Comments": "x"}), web(**{"1.03 Gender": "Femal"})])
    write_web_csv(tmp_path / "b.csv", [web(**{"4.01 BoneTherapy": "Calcium"})], encoding="cp1252")
    params = listed_run(tmp_path, [("S1", "a.xlsx"), ("S2", "b.csv", "cp1252")])
    before = sorted(p.name for p in tmp_path.iterdir())
    status, out, err = run_main(capsys, "inspect", params)
    assert status == 0 and err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "[1/2] a.xlsx (service S1)" in out and "[2/2] b.csv (service S2, cp1252)" in out
    assert "format: webtool export, 2 data rows" in out and "format: webtool export, 1 data row\n" in out
    assert "1.03 Gender (sex): 'Femal' 2" in out and "4.01 BoneTherapy (bone_therapy_recommended): 'Calcium' 1" in out
    assert "-> not recognised" in out and "2 of 2 file(s) read (2 webtool exports): 3 data rows" in out
    assert "services without a file (reported as having no records): none" in out
    for identifier in ("943 476 5919", "ZZ99 3AB", "1946", "2016-03-01"):
        assert identifier not in out


def test_inspect_reads_every_file_before_failing(tmp_path, capsys):
    write_xlsx(tmp_path / "a.xlsx", [WEB_ROW])
    (tmp_path / "bad.xlsx").write_bytes(b"not a workbook")
    params = listed_run(tmp_path, [("S1", "bad.xlsx"), ("S2", "a.xlsx")])
    status, out, err = run_main(capsys, "inspect", params)
    assert status == 2
    assert "[1/2] bad.xlsx" in out and "error:" in out and "cannot read the extract as an Excel workbook" in out
    assert "[2/2] a.xlsx (service S2)" in out and "format: webtool export" in out
    assert "1 of 2 extract file(s) cannot be read" in err


def test_compute_writes_unrecognised_values_restricted_and_counts_published(tmp_path, capsys):
    write_xlsx(tmp_path / "a.xlsx", [web(**{"1.03 Gender": "Femal"}), web(**{"1.03 Gender": "femal", "1.08 AdmitHosp": "Day case"})])
    params = listed_run(tmp_path, [("S1", "a.xlsx")])
    status, _, _ = run_main(capsys, "compute", params)
    assert status == 0
    restricted = pd.read_csv(tmp_path / "out" / "restricted" / "unrecognised_values.csv", dtype=str)
    assert restricted.values.tolist() == [["S1", "a.xlsx", "1.03 Gender", "Femal", "1"],
                                          ["S1", "a.xlsx", "1.03 Gender", "femal", "1"],
                                          ["S1", "a.xlsx", "1.08 AdmitHosp", "Day case", "1"]]
    published = (tmp_path / "out" / "tables" / "data_quality_unrecognised.csv").read_text()
    assert published == "code,field,distinct_values,rows\nS1,sex,1,2\nS1,admitted,1,1\n"
    rejected = pd.read_csv(tmp_path / "out" / "restricted" / "rejected_records.csv", dtype=str)
    assert list(rejected.columns[-3:]) == ["source_file", "source_row", "reason"]


def test_inspect_masks_headers_that_could_be_a_patient(tmp_path, capsys):
    # A contract-form CSV saved without its header row: its "headers" are the first patient.
    make_run(tmp_path, [row(1)])
    (tmp_path / "extract.csv").write_text("R1,S1,943 476 5919,1946-01-01,70\nR2,S1,,,71\n", encoding="utf-8")
    status, out, err = run_main(capsys, "inspect", tmp_path / "params.yml")
    assert status == 2 and "missing core column(s)" in out + err
    for identifier in ("943 476 5919", "1946-01-01"):
        assert identifier not in out + err
