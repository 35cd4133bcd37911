"""The strict parameters loader (outputs.md §1)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conftest import PARAMS, REPO, write_params
from fls_report.errors import InputError
from fls_report.params import ExtractFile, KpiParams, load_params


def load_text(tmp_path, text: str):
    path = tmp_path / "run.yml"
    path.write_text(text, encoding="utf-8")
    return load_params(path)


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(InputError) as raised:
        load_text(tmp_path, text)
    message = str(raised.value)
    assert "run.yml" in message
    return message


BASE = "\n".join(f"{k}: {v}" for k, v in PARAMS.items()) + "\n"


def test_loads_with_defaults_and_resolves_paths(tmp_path):
    params = load_text(tmp_path, BASE)
    assert params.title == "Test run"
    assert params.period_start == dt.date(2016, 1, 1) and params.data_cutoff == dt.date(2017, 6, 30)
    assert [f.path for f in params.extract] == [tmp_path.resolve() / "extract.csv"]
    assert params.extract[0].service is None and params.encoding == "utf-8" and params.mapping is None
    assert params.kpi == KpiParams() and params.kpi.followup_16wk_window_days == (84, 112)
    assert params.disclosure.threshold == 8 and params.compare_with is None
    assert params.months_in_period == 12 and params.months[0] == "2016-01" and params.months[-1] == "2016-12"


def test_frozen(tmp_path):
    params = load_text(tmp_path, BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.title = "other"


def test_nested_values_and_quoted_dates(tmp_path):
    text = BASE.replace("data_cutoff: 2017-06-30", 'data_cutoff: "2017-06-30"')
    text += "kpi:\n  assessment_days: 60\n  followup_16wk_window_days: [80, 120]\ndisclosure:\n  threshold: 10\n"
    params = load_text(tmp_path, text)
    assert params.kpi.assessment_days == 60 and params.kpi.followup_16wk_window_days == (80, 120)
    assert params.kpi.dxa_days == 90 and params.disclosure.threshold == 10 and params.disclosure.base == 5


@pytest.mark.parametrize(
    "text, fragment",
    [
        (BASE + "titel: typo\n", "unknown key 'titel'"),
        (BASE + "kpi:\n  assesment_days: 60\n", "unknown key 'kpi.assesment_days'"),
        (BASE + "disclosure:\n  treshold: 5\n", "unknown key 'disclosure.treshold'"),
        (BASE + "title: again\n", "duplicate key 'title'"),
        (BASE + "kpi:\n  dxa_days: 60\n  dxa_days: 70\n", "duplicate key 'dxa_days'"),
        (BASE.replace("title: Test run\n", ""), "missing required key 'title'"),
        (BASE.replace("period_start: 2016-01-01", "period_start: 2016-02-30"), "'period_start'"),
        (BASE.replace("period_start: 2016-01-01", "period_start: 01/01/2016"), "'period_start'"),
        (BASE.replace("period_start: 2016-01-01", "period_start: 2016-01-02"), "first day of a month"),
        (BASE.replace("period_end: 2016-12-31", "period_end: 2016-12-30"), "last day of a month"),
        (BASE.replace("period_end: 2016-12-31", "period_end: 2015-12-31"), "before 'period_start'"),
        (BASE.replace("data_cutoff: 2017-06-30", "data_cutoff: 2016-11-30"), "'data_cutoff'"),
        (BASE.replace("title: Test run", "title: 2016"), "'title' must be non-empty text"),
        (BASE + "kpi:\n  assessment_days: ninety\n", "'kpi.assessment_days' must be a whole number"),
        (BASE + "kpi:\n  assessment_days: 90.5\n", "'kpi.assessment_days' must be a whole number"),
        (BASE + "kpi:\n  followup_16wk_window_days: [112, 84]\n", "two ascending whole numbers"),
        (BASE + "kpi:\n  followup_16wk_window_days: [84]\n", "two ascending whole numbers"),
        (BASE + "kpi:\n  followup_16wk_window_days: [-1, 84]\n", "two ascending whole numbers"),
        (BASE + "kpi: 5\n", "'kpi' must be a mapping"),
        ("- a\n- b\n", "mapping"),
        ("title: [unclosed\n", "not valid YAML"),
    ],
)
def test_errors_name_file_and_key(tmp_path, text, fragment):
    assert fragment in error_of(tmp_path, text)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_params(tmp_path / "nope.yml")


def test_demo_parameters_load():
    params = load_params(REPO / "params" / "demo.yml")
    assert params.period_start == dt.date(2016, 1, 1) and params.period_end == dt.date(2016, 12, 31)
    assert [f.path.name for f in params.extract] == ["fls_extract_2016.csv"]
    assert params.output == (REPO / "output" / "demo").resolve()


def test_manifest_form_is_relative_and_plain(tmp_path):
    params = load_params(write_params(tmp_path))
    plain = params.as_dict()
    assert plain["extract"] == "extract.csv" and plain["period_start"] == "2016-01-01"
    assert plain["kpi"]["followup_16wk_window_days"] == [84, 112]


def test_second_demo_year_compares_with_the_first():
    params = load_params(REPO / "params" / "demo-2017.yml")
    first = load_params(REPO / "params" / "demo.yml")
    assert params.compare_with == first.output / "tables" / "kpi_results.csv"
    assert params.services != first.services  # the 2017 services file is written beside its own extract


# ---------------------------------------------------------------------------------------------
# The extract as a list of per-service files, encodings and the mapping (webtool_export.md §1)

LISTED = BASE.replace("extract: extract.csv\n", "") + (
    "extract:\n"
    "  - service: \"029\"\n"
    "    path: exports/a b.xlsx\n"
    "  - {service: NEV, path: exports/c.csv, encoding: cp1252}\n"
    "encoding: utf-8\n"
)


def listed_folder(tmp_path):
    (tmp_path / "exports").mkdir(exist_ok=True)
    for name in ("a b.xlsx", "c.csv"):
        (tmp_path / "exports" / name).write_bytes(b"x")
    return tmp_path


def test_extract_list_with_services_and_encodings(tmp_path):
    params = load_text(listed_folder(tmp_path), LISTED + "mapping: my mapping.yml\n")
    folder = tmp_path.resolve()
    assert params.extract == (
        ExtractFile(folder / "exports" / "a b.xlsx", "exports/a b.xlsx", "029", "utf-8"),
        ExtractFile(folder / "exports" / "c.csv", "exports/c.csv", "NEV", "cp1252"),
    )
    assert params.extract_listed and params.mapping == folder / "my mapping.yml"
    plain = params.as_dict()
    assert plain["extract"] == [{"service": "029", "path": "exports/a b.xlsx"},
                                {"service": "NEV", "path": "exports/c.csv", "encoding": "cp1252"}]
    assert plain["encoding"] == "utf-8" and plain["mapping"] == "my mapping.yml"


def test_top_level_encoding_applies_to_every_file_without_its_own(tmp_path):
    params = load_text(listed_folder(tmp_path), LISTED.replace("encoding: utf-8\n", "encoding: CP1252\n"))
    assert [f.encoding for f in params.extract] == ["cp1252", "cp1252"] and params.encoding == "cp1252"


@pytest.mark.parametrize(
    "change, fragment",
    [
        (("path: exports/c.csv", "path: exports/missing.csv"), "extract entry 2: exports/missing.csv: file not found"),
        (("path: exports/c.csv", "path: exports/../exports/a b.xlsx"), "already listed as extract entry 1"),
        (("encoding: cp1252}", "encoding: cp1252, sheet: 2}"), "extract entry 2: unknown key(s) 'sheet'"),
        (("{service: NEV, path", "{path"), "extract entry 2 has no 'service'"),
        (("{service: NEV, path: exports/c.csv, encoding: cp1252}", "{service: NEV}"), "extract entry 2 has no 'path'"),
        (("encoding: cp1252}", "encoding: latin-1}"), "'extract entry 2: encoding' must be one of utf-8, cp1252"),
        (("encoding: utf-8\n", "encoding: utf-16\n"), "'encoding' must be one of utf-8, cp1252"),
        (("service: \"029\"", "service: 291"), "write the code in quotes"),
        (("  - {service: NEV, path: exports/c.csv, encoding: cp1252}\n", "  - exports/c.csv\n"),
         "extract entry 2 must be a mapping"),
    ],
)
def test_extract_list_errors_name_the_entry(tmp_path, change, fragment):
    listed_folder(tmp_path)
    text = LISTED.replace(*change)
    assert text != LISTED
    assert fragment in error_of(tmp_path, text)


def test_an_empty_extract_list_is_an_error(tmp_path):
    assert "key 'extract' must be a file's path or a list" in error_of(tmp_path, BASE.replace("extract: extract.csv", "extract: []"))
