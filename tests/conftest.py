"""Shared helpers: tiny hand-made extracts written to disk in the contract format."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fls_report import dictionary as dd
from fls_report.kpis import compute_kpis
from fls_report.params import load_params
from fls_report.validate import validate

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

#: A complete, valid, in-scope record of service S1: every KPI numerator is met.
BASE_ROW: dict[str, str] = {
    "record_id": "R1",
    "service_code": "S1",
    "nhs_number": "943 476 5919",
    "date_of_birth": "1946-01-01",
    "age_at_fracture": "70",
    "sex": "Female",
    "postcode": "ZZ99 3AB",
    "care_home": "No",
    "date_identified": "2016-03-02",
    "date_assessed": "2016-03-10",
    "admitted": "Yes",
    "date_fracture": "2016-03-01",
    "fracture_site": "Wrist",
    "dxa": "Ordered",
    "date_dxa": "2016-04-01",
    "bone_therapy_recommended": "Alendronate",
    "falls_assessment": "Assessed",
    "followup_16wk": "Yes",
    "date_followup_16wk": "2016-06-01",
    "treatment_16wk": "Alendronate",
    "strength_balance_16wk": "Yes",
    "followup_52wk": "Yes",
    "date_followup_52wk": "2017-03-01",
    "treatment_52wk": "Alendronate",
}

SERVICES = [
    {"service_code": "S1", "service_name": "Service One", "nation": "England", "region": "North",
     "expected_caseload": "120", "hip_fractures": ""},
    {"service_code": "S2", "service_name": "Service Two", "nation": "Wales", "region": "",
     "expected_caseload": "", "hip_fractures": "10"},
]

PARAMS = {
    "title": "Test run",
    "period_start": "2016-01-01",
    "period_end": "2016-12-31",
    "data_cutoff": "2017-06-30",
    "extract": "extract.csv",
    "services": "services.csv",
    "output": "out",
}


def row(n: int = 1, **changes: str) -> dict[str, str]:
    """``BASE_ROW`` with record id ``R<n>`` and the given columns changed."""
    out = dict(BASE_ROW, record_id=f"R{n}")
    out.update(changes)
    return out


def write_csv(path: Path, rows: list[dict], columns=None) -> Path:
    columns = list(columns or (rows[0].keys() if rows else dd.EXTRACT_COLUMNS))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_params(folder: Path, name: str = "params.yml", **changes) -> Path:
    values = dict(PARAMS, **changes)
    lines = []
    for key, value in values.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {v}" for k, v in value.items())
        else:
            lines.append(f"{key}: {value}")
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_run(folder: Path, rows: list[dict], services: list[dict] | None = None, **param_changes) -> Path:
    """Write an extract, a services file and a parameters file; return the parameters path."""
    write_csv(folder / "extract.csv", rows, dd.EXTRACT_COLUMNS)
    write_csv(folder / "services.csv", services or SERVICES, dd.SERVICE_COLUMNS)
    return write_params(folder, **param_changes)


def run_kpis(folder: Path, rows: list[dict], services=None, **param_changes):
    """Validate and compute; return (validated, kpi_results, monthly_kpis)."""
    params = load_params(make_run(folder, rows, services, **param_changes))
    validated = validate(params)
    results, monthly = compute_kpis(validated, params)
    return validated, results, monthly


def result(results, kpi_id: str, code: str = "S1") -> dict:
    """One row of kpi_results as a dict."""
    found = results[(results["code"] == code) & (results["kpi_id"] == kpi_id)]
    assert len(found) == 1, (code, kpi_id)
    return found.iloc[0].to_dict()


def counts(results, kpi_id: str, code: str = "S1") -> tuple[int, int]:
    found = result(results, kpi_id, code)
    return int(found["numerator"]), int(found["denominator"])


@pytest.fixture
def shared() -> Path:
    return SHARED


# --------------------------------------------------------------------------------------------
# A small built site, shared by the build, identifier, notebook and browser tests

ODD_NAME = "St Mary's <script>alert('x')</script> & Co"
EMPTY_CODE = "X/9 empty"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """A small synthetic run: 5 services from synth (one renamed with markup), plus one with no
    records whose code needs a safe file name. Returns the parameters file."""
    import pandas as pd

    from fls_report.synth import write_synthetic

    folder = tmp_path_factory.mktemp("small_run")
    extract, services = write_synthetic(folder, services=5, patients=900, year=2016, seed=11)
    table = pd.read_csv(services, dtype=str, keep_default_na=False)
    table.loc[0, "service_name"] = ODD_NAME
    extra = {c: "" for c in table.columns} | {"service_code": EMPTY_CODE, "service_name": "Empty Valley FLS",
                                               "nation": "Wales", "expected_caseload": "200"}
    table = pd.concat([table, pd.DataFrame([extra])], ignore_index=True)
    table.to_csv(services, index=False)
    return write_params(folder, extract=extract.name, services=services.name)


@pytest.fixture(scope="session")
def built_site(small_run) -> Path:
    """The small run built into a site; returns the run's output folder."""
    from fls_report.build import build

    result = build(small_run, workers=2, progress=False)
    assert not result.failures, result.failures
    return small_run.parent / "out"


# --------------------------------------------------------------------------------------------
# Slow tests: the ones that build a site (or the whole demo). `make test-fast` leaves them out;
# `make test` and CI run everything.

#: Fixtures that build a site, or compute the whole demo (both years): a test that uses one is slow.
SITE_FIXTURES = {"built_site", "webtool_site", "ni_site", "two_builds", "run_folder", "params_site", "demo", "years"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SITE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
