"""The webtool mapping is data, loaded strictly (webtool_export.md §1–§3)."""

from __future__ import annotations

import pytest

from fls_report import dictionary as dd
from fls_report.errors import InputError
from fls_report.mapping import BUILT_IN, canonical_values, header_key, load_mapping, value_key


def test_built_in_mapping_has_the_specs_questions_and_aliases():
    mapping = load_mapping()
    assert mapping.source == BUILT_IN and BUILT_IN.parent.name == "mappings"
    used = {n: q.column for n, q in mapping.questions.items() if q.column}
    assert used == {
        "1.01": "nhs_number", "1.02": "date_of_birth", "1.03": "sex", "1.04": "postcode", "1.05": "care_home",
        "1.06": "date_identified", "1.07": "date_assessed", "1.08": "admitted", "1.09": "date_fracture",
        "1.11": "fracture_site", "3.01": "dxa", "3.03": "date_dxa", "4.01": "bone_therapy_recommended",
        "5.01": "falls_assessment", "5.10": "falls_assessment", "6.01": "followup_16wk",
        "6.02": "date_followup_16wk", "6.05": "treatment_16wk", "6.06": "strength_balance_16wk",
        "7.01": "followup_52wk", "7.02": "date_followup_52wk", "7.05": "treatment_52wk",
    }
    unused = {n for n, q in mapping.questions.items() if q.column is None}
    assert {"1.10", "1.12", "1.13", "2.01", "2.06", "3.02", "3.04", "3.05", "4.02", "5.02", "5.09", "7.06"} <= unused
    assert mapping.questions["1.09"].name == "Date Index Frac Diagnosed"
    assert set(mapping.header_aliases["age_at_fracture"]) >= {"Age Frac diagnosed", "Age at fracture", "Age"}
    assert set(mapping.value_aliases["Not known"]) == {"Don't know", "Don\u2019t know", "Don\u00edt know", "Unknown"}
    # Every column the contract needs from an export is reachable by question or alias.
    reachable = set(used.values()) | set(mapping.header_aliases)
    assert set(dd.EXTRACT_COLUMNS) <= reachable


def test_comparison_keys():
    assert header_key(" Age Frac diagnosed ") == header_key("AGE FRAC-DIAGNOSED") == "agefracdiagnosed"
    assert header_key("date_of_birth") == header_key("DateOfBirth")
    assert value_key(" Don\u2019t Know ") == value_key("don't know")


def test_aliases_for_a_column_only_reach_its_own_values():
    mapping = load_mapping()
    sex = mapping.aliases_for(dd.CATEGORIES["sex"])
    assert sex["unknown"] == "Not known" and "patient died" not in sex and "inappropriate" not in sex
    assert mapping.aliases_for(dd.CATEGORIES["followup_16wk"])["patient died"] == "Died"


def mapping_error(tmp_path, text: str, name: str = "m.yml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_mapping(path)
    message = str(raised.value)
    assert name in message
    return message


BASE = BUILT_IN.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "change, fragment",
    [
        (("header_aliases:", "header_alias:"), "unknown key(s) 'header_alias'"),
        (('"1.09": {name: Date Index Frac Diagnosed, column: date_fracture}',
          '"1.09": {name: Date Index Frac Diagnosed, column: date_fracture, type: date}'), "unknown key(s) 'questions.1.09.type'"),
        (('"1.09": {name: Date Index Frac Diagnosed, column: date_fracture}',
          '"1.09": {name: Date Index Frac Diagnosed, column: fracture_date}'), "'fracture_date', which is not a column"),
        (('"1.09": {name', '"1.9": {name'), "'questions.1.9' is not a question number"),
        (('"1.09": {name: Date Index Frac Diagnosed, ', '"1.09": {'), "'questions.1.09.name' must be"),
        (("  Died: [Patient died]", "  Dead: [Patient died]"), "'Dead' is not a value of the data dictionary"),
        (("  Died: [Patient died]", "  died: [Patient died]"), "'died' is not a value of the data dictionary"),
        (("  Died: [Patient died]", "  Died: [Unknown]"), "spelling 'Unknown' is already an alias of 'Not known'"),
        (("  Died: [Patient died]", "  Died: []"), "'value_aliases.Died' must be a list of non-empty texts"),
        (("record_id: [Record ID", "record_id: [Age at fracture"), "header 'Age at fracture' is already an alias"),
        (("record_id: [", "ward: ["), "'ward' is not a column of the extract contract"),
        (("  Died: [Patient died]", "  Died: [Patient died]\n  Died: [Deceased]"), "duplicate key 'Died'"),
        (('"3.01": {name: DXA, column: dxa}', '"3.01": {name: DXA, column: falls_assessment}'),
         "only questions 5.01 and 5.10 may feed falls_assessment"),
        (("value_aliases:", "values:"), "unknown key(s) 'values'"),
        (("questions:\n", "questions: [1]\nold_questions:\n"), "unknown key(s) 'old_questions'"),
    ],
)
def test_mapping_errors_name_file_and_key(tmp_path, change, fragment):
    text = BASE.replace(*change)
    assert text != BASE
    assert fragment in mapping_error(tmp_path, text)


def test_missing_and_unreadable_mapping_files(tmp_path):
    with pytest.raises(InputError, match="mapping file not found"):
        load_mapping(tmp_path / "absent.yml")
    assert "missing key(s) 'value_aliases'" in mapping_error(tmp_path, "questions: {}\nheader_aliases: {}\n")
    assert "not valid YAML" in mapping_error(tmp_path, "questions: [unclosed\n")


def test_plain_scalars_stay_text(tmp_path):
    # YAML 1.1 would read 1.10 as the float 1.1 and No as false; a mapping file keeps them as text.
    path = tmp_path / "m.yml"
    path.write_text(BASE.replace('"1.10": {name: TypeOfFracture', '1.10: {name: No'), encoding="utf-8")
    assert load_mapping(path).questions["1.10"].name == "No"


def test_every_value_alias_targets_a_dictionary_value():
    known = canonical_values()
    assert set(load_mapping().value_aliases) <= known
    assert "Referred" in known and "Alendronate" in known and "Dead" not in known
