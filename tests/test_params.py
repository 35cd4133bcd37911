"""The strict parameters loader (outputs.md §1)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from conftest import PARAMS, REPO, write_params
from fls_report.errors import InputError
from fls_report.params import KpiParams, load_params


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
    assert params.extract == tmp_path.resolve() / "extract.csv"
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
    assert params.extract.name == "fls_extract_2016.csv"
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
