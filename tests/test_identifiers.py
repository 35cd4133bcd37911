"""No patient identifier from the input reaches any output outside restricted/ (data_dictionary.md §4)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import write_params
from fls_report.cli import main
from fls_report.synth import write_synthetic

IDENTIFIERS = ("nhs_number", "date_of_birth", "postcode", "record_id")


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("identifiers")
    extract, services = write_synthetic(folder, services=12, patients=3000, year=2016, seed=7)
    params = write_params(folder, extract=extract.name, services=services.name)
    assert main(["compute", str(params)]) == 0
    return folder, pd.read_csv(extract, dtype=str, keep_default_na=False)


def identifier_values(extract: pd.DataFrame) -> set[str]:
    """Every identifier as written and without spaces; not the few faulty short tokens (NA, NULL)."""
    values = set()
    for column in IDENTIFIERS:
        for value in extract[column].str.strip():
            values.update({value, value.replace(" ", "")})
    return {v for v in values if len(v) >= 6}


def published_files(folder):
    out = folder / "out"
    return [p for p in out.rglob("*") if p.is_file() and "restricted" not in p.relative_to(out).parts]


def test_identifiers_absent_from_every_published_file(synthetic_run):
    folder, extract = synthetic_run
    values = identifier_values(extract)
    files = published_files(folder)
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        cells = set(text.replace("\n", ",").replace('"', "").split(","))
        assert not (cells & values), f"identifier cell in {path.name}: {sorted(cells & values)[:3]}"
        leaked = [v for v in values if v in text]
        assert not leaked, f"{path.name} holds {len(leaked)} identifier values"


def test_restricted_lists_do_hold_them(synthetic_run):
    # The check above must be able to fail: the restricted lists are where identifiers go.
    folder, extract = synthetic_run
    rejected = (folder / "out" / "restricted" / "rejected_records.csv").read_text()
    assert any(v in rejected for v in identifier_values(extract))
