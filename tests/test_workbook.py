"""The Excel benchmark workbook: sheets, values, bands, safety and determinism."""

from __future__ import annotations

import hashlib
import time
import types
import zipfile
from decimal import ROUND_HALF_UP, Decimal

import pytest
from openpyxl import load_workbook

from conftest import SERVICES, make_run, row
from fls_report import report
from fls_report.outputs import workbook
from fls_report.kpis import KPI_IDS, rank_services
from fls_report.params import load_params
from fls_report.pipeline import run_compute
from fls_report.vocabulary import band_rule

FORMULA_NAME = '=HYPERLINK("x")'
AT_NAME = "@St Mary's & <Co>"
FUNNEL_KPIS = [f"KPI{i}" for i in range(3, 12)]


@pytest.fixture(scope="module")
def params_path(tmp_path_factory):
    """S1: 80 records, 1 spine fracture (KPI3 = 1.25%, shown 1.3) and 50 assessed (KPI4 amber);
    S2 (named like a formula): 3 records (low numbers); S3: no records (band none)."""
    folder = tmp_path_factory.mktemp("workbook_run")
    rows = [row(i, fracture_site="Spine" if i == 1 else "Wrist", date_assessed="2016-03-10" if i <= 50 else "")
            for i in range(1, 81)]
    rows += [row(100 + i, service_code="S2") for i in range(3)]
    services = [SERVICES[0], dict(SERVICES[1], service_name=FORMULA_NAME),
                dict(SERVICES[0], service_code="S3", service_name=AT_NAME)]
    path = make_run(folder, rows, services)
    run_compute(load_params(path))
    return path


@pytest.fixture(scope="module")
def written(params_path, tmp_path_factory):
    """The workbook written once for the run, and the run it came from."""
    run = report.load(params_path)
    path = workbook.write_workbook(run, tmp_path_factory.mktemp("site") / "benchmark.xlsx")
    return run, path


def half_up(value) -> float:
    return float(Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def rows_of(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]


def test_sheets_present_and_ordered(written):
    run, path = written
    wb = load_workbook(path)
    assert wb.sheetnames == ["Benchmark", *[f"KPI{i}" for i in range(1, 12)], "Who gets care", "Definitions",
                             "Provenance"]
    assert list(workbook.SHEETS) == wb.sheetnames


def test_benchmark_rows_and_displayed_values(written):
    run, path = written
    ws = load_workbook(path)["Benchmark"]
    table = rows_of(ws)
    assert [r["Code"] for r in table] == ["NATIONAL", "ENGLAND", "WALES", "S1", "S2", "S3"]
    assert [r["Records"] for r in table] == [83, 80, 3, 80, 3, 0]
    results = run.results.set_index(["code", "kpi_id"])
    for r in table:
        for kpi_id in KPI_IDS:
            expected = results.loc[(r["Code"], kpi_id)]
            shown = r[f"{kpi_id} %"]
            if expected["pct"] != expected["pct"]:  # NaN: blank cell
                assert shown is None
            else:
                assert shown == half_up(expected["pct"])
            assert r[f"{kpi_id} band"].split()[0] == expected["rag"]
            assert r[f"{kpi_id} band"].endswith("†") == bool(expected["low_numbers"])
    s1 = next(r for r in table if r["Code"] == "S1")
    assert s1["KPI3 %"] == 1.3  # 1.25 rounds half up (Python's round gives 1.2)
    assert (s1["KPI4 %"], s1["KPI4 band"]) == (62.5, "amber")
    s2 = next(r for r in table if r["Code"] == "S2")
    assert s2["KPI4 band"] == "green †"
    s3 = next(r for r in table if r["Code"] == "S3")
    assert s3["KPI4 %"] is None and s3["KPI4 band"] == "none"
    assert ws["E2"].number_format == "0.0"


def test_fills_match_bands(written):
    run, path = written
    ws = load_workbook(path)["Benchmark"]
    header = [c.value for c in ws[1]]
    results = run.results.set_index(["code", "kpi_id"])
    seen = set()
    for cells in ws.iter_rows(min_row=2):
        code = cells[1].value
        for kpi_id in KPI_IDS:
            rag = results.loc[(code, kpi_id), "rag"]
            cell = cells[header.index(f"{kpi_id} %")]
            assert cell.fill.fill_type == "solid"
            assert cell.fill.fgColor.rgb == workbook.FILLS[rag], (code, kpi_id)
            seen.add(rag)
    assert seen == {"green", "amber", "red", "none"}
    assert workbook.FILLS == {"green": "FFCDEBDC", "amber": "FFFBE3B3", "red": "FFF6C9B5", "none": "FFEEEEEE"}


def test_frozen_header_autofilter_and_header_style(written):
    _, path = written
    wb = load_workbook(path)
    for name in ["Benchmark", *KPI_IDS]:
        ws = wb[name]
        assert ws.freeze_panes == "B2", name
        assert ws.auto_filter.ref == ws.dimensions, name
        assert ws["A1"].font.b and ws["A1"].alignment.wrap_text
        assert ws.column_dimensions["A"].width >= 16
    assert wb["Definitions"].freeze_panes == "A2" and wb["Provenance"].freeze_panes == "A2"


def test_kpi_sheets_hold_exact_values(written):
    run, path = written
    wb = load_workbook(path)
    ranks = rank_services(run.results).set_index(["code", "kpi_id"])
    for kpi_id in KPI_IDS:
        ws = wb[kpi_id]
        header = [c.value for c in ws[1]]
        expected_header = ["Service", "Code", "Level", "Nation", "Numerator", "Denominator", "%"]
        if kpi_id in FUNNEL_KPIS:
            expected_header += ["95% interval low %", "95% interval high %"]
        expected_header += ["Band", "Low numbers"]
        if kpi_id in FUNNEL_KPIS:
            expected_header += ["Funnel status (services)", "Funnel status in words", "Rank among services",
                                "Services ranked"]
        assert header == expected_header
        results = run.results[run.results["kpi_id"] == kpi_id].set_index("code")
        for r in rows_of(ws):
            e = results.loc[r["Code"]]
            assert r["Service"] == e["name"] and r["Numerator"] == e["numerator"]
            assert r["Denominator"] == (None if e["denominator"] != e["denominator"] else e["denominator"])
            if e["pct"] == e["pct"]:
                assert r["%"] == pytest.approx(e["pct"], rel=1e-14)  # exact (Excel keeps ~16 digits)
            else:
                assert r["%"] is None
            assert r["Band"] == e["rag"]
            assert r["Low numbers"] == ("yes †" if e["low_numbers"] else "no")
            if kpi_id in FUNNEL_KPIS:
                if e["ci_low"] == e["ci_low"]:
                    assert r["95% interval low %"] == pytest.approx(e["ci_low"], rel=1e-14)
                    assert r["95% interval high %"] == pytest.approx(e["ci_high"], rel=1e-14)
                status = e["funnel_status"] if e["level"] == "service" and e["funnel_status"] == e["funnel_status"] else None
                assert r["Funnel status (services)"] == status
                if (r["Code"], kpi_id) in ranks.index:
                    assert r["Rank among services"] == ranks.loc[(r["Code"], kpi_id), "rank"]
                    assert r["Services ranked"] == ranks.loc[(r["Code"], kpi_id), "ranked"]
                else:
                    assert r["Rank among services"] is None
    kpi3 = {r["Code"]: r for r in rows_of(wb["KPI3"])}
    assert kpi3["S1"]["%"] == 1.25 and wb["KPI3"]["G2"].number_format == "0.0"
    assert kpi3["S1"]["Funnel status (services)"] is not None and kpi3["NATIONAL"]["Funnel status (services)"] is None


def test_names_are_text_never_formulas(written):
    _, path = written
    wb = load_workbook(path)
    for ws in (wb["Benchmark"], wb["KPI4"]):
        names = {c.value: c for c in ws["A"]}
        for name in (FORMULA_NAME, AT_NAME):
            cell = names[name]
            assert cell.data_type == "s" and cell.quotePrefix, name
        assert not names["Service One"].quotePrefix
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)


def test_definitions_sheet(written):
    run, path = written
    ws = load_workbook(path)["Definitions"]
    table = rows_of(ws)[: len(KPI_IDS)]
    assert [r["KPI"] for r in table] == list(KPI_IDS)
    assert all(r["Numerator and denominator"] and r["Bands"] == band_rule(r["KPI"], run.params.kpi) for r in table)
    assert "fracture_site = Spine" in table[2]["Numerator and denominator"]
    text = " ".join(str(c) for r in ws.iter_rows(values_only=True) for c in r if c)
    for phrase in ("halves rounded up", "95% limits", "99.8% limits", "†", "exact, unrounded"):
        assert phrase in text


def test_provenance_holds_the_extract_checksum(written, params_path):
    run, path = written
    values = {r["Item"]: r["Value"] for r in rows_of(load_workbook(path)["Provenance"])}
    sha = hashlib.sha256((params_path.parent / "extract.csv").read_bytes()).hexdigest()
    assert values["Input extract: SHA-256"] == run.manifest["inputs"]["extract"]["sha256"] == sha
    assert values["Input extract: file"] == "extract.csv"
    assert values["Built at (UTC)"] == run.manifest["built_at"]
    assert values["Title"] == run.params.title and values["Rows included"] == 83
    assert values["Version: fls_report"] == run.manifest["versions"]["fls_report"]


def test_properties_come_from_the_manifest(written):
    run, path = written
    props = load_workbook(path).properties
    assert props.creator == "fls-report"
    assert props.created.isoformat() + "Z" == run.manifest["built_at"]
    assert props.modified == props.created


def test_two_writes_give_identical_bytes(written, tmp_path, monkeypatch):
    run, _ = written
    clock = types.SimpleNamespace(time=lambda: 1_000_000_000.0, localtime=time.localtime)
    monkeypatch.setattr(zipfile, "time", clock)  # zip entries would be dated 2001 ...
    first = workbook.write_workbook(run, tmp_path / "a" / "benchmark.xlsx").read_bytes()
    clock.time = lambda: 1_700_000_000.0  # ... and then 2023
    second = workbook.write_workbook(report.load(run.params.source), tmp_path / "b" / "benchmark.xlsx").read_bytes()
    assert first == second
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["benchmark.xlsx"]  # no temporary left


def test_year_on_year_columns_only_when_present(params_path, written, tmp_path):
    _, path = written
    assert "Earlier year %" not in [c.value for c in load_workbook(path)["KPI4"][1]]
    run = report.load(params_path)
    results = run.results  # cached: add the columns compare_with would add
    results["previous_pct"] = results["pct"] - 2.5
    results["change_pct_points"] = 2.5
    wb = load_workbook(workbook.write_workbook(run, tmp_path / "benchmark.xlsx"))
    for kpi_id in KPI_IDS:
        header = [c.value for c in wb[kpi_id][1]]
        assert header[-2:] == ["Earlier year %", "Change (percentage points)"]
    s1 = {r["Code"]: r for r in rows_of(wb["KPI4"])}["S1"]
    assert s1["Earlier year %"] == pytest.approx(60.0) and s1["Change (percentage points)"] == 2.5


def test_northern_ireland_is_a_pinned_unit_when_a_service_belongs_to_it(tmp_path):
    services = [*SERVICES, dict(SERVICES[0], service_code="N1", service_name="Service Antrim", nation="Northern Ireland")]
    path = make_run(tmp_path, [row(1), row(2, service_code="N1"), row(3, service_code="N1")], services)
    run_compute(load_params(path))
    run = report.load(path)
    units = workbook._units(run)
    assert units[["code", "name", "nation", "level", "records"]].values.tolist()[:5] == [
        ["NATIONAL", "England, Wales and Northern Ireland", "", "national", 3],
        ["ENGLAND", "England", "England", "nation", 1], ["WALES", "Wales", "Wales", "nation", 0],
        ["NORTHERN_IRELAND", "Northern Ireland", "Northern Ireland", "nation", 2],
        ["N1", "Service Antrim", "Northern Ireland", "service", 2]]
    wb = load_workbook(workbook.write_workbook(run, tmp_path / "benchmark.xlsx"))
    assert wb["Benchmark"].column_dimensions["C"].width == 18  # "Northern Ireland" fits its column
    definitions = " ".join(str(c.value) for r in wb["Definitions"].iter_rows() for c in r if c.value)
    assert "against England, Wales and Northern Ireland" in definitions
    assert ("The rows of England, Wales and Northern Ireland, and of England, Wales and Northern Ireland as a whole: "
            "services meeting") in definitions


def test_who_gets_care_sheet_holds_only_the_published_columns(written):
    run, path = written
    ws = load_workbook(path)["Who gets care"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert header[:8] == ["Level", "Code", "Name", "Characteristic", "Group", "KPI", "Numerator", "Denominator"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(run.breakdowns)
    shown = run.breakdowns.reset_index(drop=True)
    for cells, (_, b) in zip(rows, shown.iterrows()):
        assert (cells[6], cells[7]) == (b["numerator_shown"], b["denominator_shown"])  # never the raw counts

