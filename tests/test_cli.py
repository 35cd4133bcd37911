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
    assert names == ["data_quality_fields.csv", "data_quality_issues.csv", "record_accounting.csv"]


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
