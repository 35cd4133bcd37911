"""Reading the extract's files as they come (webtool_export.md §1–§4, §6): one test per rule."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import BASE_ROW, SERVICES, write_csv
from fls_report import dictionary as dd
from fls_report.errors import InputError
from fls_report.extract import (
    CONTRACT,
    WEBTOOL,
    derive_falls_assessment,
    describe,
    detect_format,
    is_falls_token,
    read_file,
)
from fls_report.errors import printable
from fls_report.kpis import compute_kpis
from fls_report.mapping import load_mapping
from fls_report.params import ExtractFile, load_params
from fls_report.validate import validate

MAPPING = load_mapping()

#: One clean webtool row of service S1 (the same patient as conftest.BASE_ROW), by header.
WEB_ROW: dict[str, object] = {
    "1.01 NHSNumber": "943 476 5919",
    "1.02 DateOfBirth": dt.datetime(1946, 1, 1),
    "Age Frac diagnosed": 70,
    "1.03 Gender": "Female",
    "1.04 Post Code": "ZZ99 3AB",
    "1.05 CareRes": "No",
    "1.06 DateFLSContact": dt.datetime(2016, 3, 2),
    "1.07 DateFLSAssess": dt.datetime(2016, 3, 10),
    "1.08 AdmitHosp": "Yes",
    "1.09 Date Index Frac Diagnosed": dt.datetime(2016, 3, 1),
    "1.10 TypeOfFractue": "Low trauma",
    "1.11 SiteFirstFrac": "Wrist",
    "3.01 DXA": "Ordered",
    "3.03 DateofDXA": dt.datetime(2016, 4, 1),
    "4.01 BoneTherapy": "Alendronate",
    "5.01 RiskAssesByFLS": "Yes",
    "5.10 Referrals": "",
    "6.01 FollowUp12_16": "Yes",
    "6.02 Dateof16WeekAss": dt.datetime(2016, 6, 1),
    "6.05 BoneTherapy1216": "Alendronate",
    "6.06 StartStrenBalExe": "Yes",
    "7.01 FollowUp48_56": "Yes",
    "7.02 Dateof52WeekAss": dt.datetime(2017, 3, 1),
    "7.05 BoneTherapy4856": "Alendronate",
}


def web(**changes) -> dict:
    """WEB_ROW with headers' values changed (keys are headers; use a dict for spaced headers)."""
    return dict(WEB_ROW, **changes)


def write_xlsx(path: Path, rows: list[dict], headers: list | None = None) -> Path:
    headers = list(headers if headers is not None else rows[0].keys())
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append([values.get(h, None) if h is not None else values.get(None) for h in headers])
    workbook.save(path)
    return path


def write_web_csv(path: Path, rows: list[dict], encoding: str = "utf-8", headers: list | None = None) -> Path:
    headers = list(headers if headers is not None else rows[0].keys())
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for values in rows:
            writer.writerow(["" if values.get(h) is None else values.get(h) for h in headers])
    return path


def listed_run(folder: Path, entries: list[tuple[str, str] | tuple[str, str, str]], services=None, **top) -> Path:
    """A parameters file with the list form of ``extract`` (service, path[, encoding])."""
    write_csv(folder / "services.csv", services or SERVICES, dd.SERVICE_COLUMNS)
    lines = ["title: Test run", "period_start: 2016-01-01", "period_end: 2016-12-31",
             "data_cutoff: 2017-06-30", "services: services.csv", "output: out", "extract:"]
    for entry in entries:
        lines.append(f'  - service: "{entry[0]}"')
        lines.append(f'    path: "{entry[1]}"')
        if len(entry) > 2:
            lines.append(f"    encoding: {entry[2]}")
    lines += [f"{k}: {v}" for k, v in top.items()]
    path = folder / "params.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def validated_web(folder: Path, rows: list[dict], service: str = "S1", name: str = "s1.xlsx", headers=None, **top):
    write_xlsx(folder / name, rows, headers)
    return validate(load_params(listed_run(folder, [(service, name)], **top)))


def read_one(path: Path, service: str | None = "S1", encoding: str = "utf-8"):
    return read_file(ExtractFile(path, path.name, service, encoding), MAPPING)


def issues_of(validated) -> list[tuple[str, str]]:
    return list(zip(validated.issues["field"], validated.issues["rule"]))


# ---------------------------------------------------------------------------------------------
# A webtool file reads into exactly what the contract form of the same patient gives


def test_webtool_row_validates_like_the_contract_row(tmp_path):
    contract = tmp_path / "contract"
    contract.mkdir()
    write_csv(contract / "extract.csv", [BASE_ROW], dd.EXTRACT_COLUMNS)
    write_csv(contract / "services.csv", SERVICES, dd.SERVICE_COLUMNS)
    (contract / "params.yml").write_text(
        "title: Test run\nperiod_start: 2016-01-01\nperiod_end: 2016-12-31\ndata_cutoff: 2017-06-30\n"
        "extract: extract.csv\nservices: services.csv\noutput: out\n", encoding="utf-8")
    params_contract = load_params(contract / "params.yml")
    expected = validate(params_contract)
    got = validated_web(tmp_path, [WEB_ROW])
    columns = [c for c in expected.records.columns if c != "record_id"]
    pd.testing.assert_frame_equal(got.records[columns], expected.records[columns])
    assert got.issues.empty and got.counts() == expected.counts()
    results_web, _ = compute_kpis(got, load_params(tmp_path / "params.yml"))
    results_contract, _ = compute_kpis(expected, params_contract)
    pd.testing.assert_frame_equal(results_web, results_contract)


# ---------------------------------------------------------------------------------------------
# §1 Parameters and format detection


def test_format_detected_from_the_header_row():
    contract = list(dd.EXTRACT_COLUMNS)
    assert detect_format(contract, MAPPING, listed=False) == CONTRACT
    # A listed contract file may leave out service_code; date_of_birth stands in for age.
    no_service_no_age = [c for c in contract if c not in ("service_code", "age_at_fracture")]
    assert detect_format(no_service_no_age, MAPPING, listed=True) == CONTRACT
    assert detect_format(["1.09 X", "1.11 Y", "Gender"], MAPPING, listed=True) == WEBTOOL
    assert detect_format(["1.09 X", "1.11 Y", "comments"], MAPPING, listed=True) == CONTRACT  # two questions only
    # Headers that are contract names exactly are not counted as questions, even where a question
    # has that name (dxa, postcode): a contract file missing a core column stays a contract file,
    # so the missing column is what the analyst is told.
    assert detect_format(no_service_no_age, MAPPING, listed=False) == CONTRACT
    assert detect_format(["date_of_birth", "postcode", "dxa", "DXA", "x"], MAPPING, listed=True) == CONTRACT
    assert detect_format(["DateOfBirth", "Post Code", "DXA", "x"], MAPPING, listed=True) == WEBTOOL


def test_a_contract_file_missing_service_code_says_so(tmp_path):
    columns = [c for c in dd.EXTRACT_COLUMNS if c != "service_code"]
    write_csv(tmp_path / "x.csv", [BASE_ROW], columns)
    with pytest.raises(InputError, match="missing core column\\(s\\): service_code"):
        read_one(tmp_path / "x.csv", service=None)


def test_listed_contract_file_takes_its_entry_service(tmp_path):
    columns = [c for c in dd.EXTRACT_COLUMNS if c != "service_code"]
    write_csv(tmp_path / "s2.csv", [dict(BASE_ROW, record_id="A"), dict(BASE_ROW, record_id="B")], columns)
    validated = validate(load_params(listed_run(tmp_path, [("S2", "s2.csv")])))
    assert validated.records["service_code"].tolist() == ["S2", "S2"]
    assert validated.extract.files[0].format == CONTRACT


def test_listed_file_service_column_must_hold_the_entry_code(tmp_path):
    rows = [dict(BASE_ROW, record_id="A", service_code="S1"), dict(BASE_ROW, record_id="B", service_code=""),
            dict(BASE_ROW, record_id="C", service_code="S1")]
    write_csv(tmp_path / "s1.csv", rows, dd.EXTRACT_COLUMNS)
    validated = validate(load_params(listed_run(tmp_path, [("S1", "s1.csv")])))
    assert validated.records["service_code"].tolist() == ["S1", "S1", "S1"]  # a blank cell takes the entry's
    rows[2]["service_code"] = "S2"
    write_csv(tmp_path / "s1.csv", rows, dd.EXTRACT_COLUMNS)
    with pytest.raises(InputError) as raised:
        validate(load_params(listed_run(tmp_path, [("S1", "s1.csv")])))
    assert "s1.csv: row 4: the service code 'S2' is not the file's service 'S1'" in str(raised.value)


def test_listed_webtool_file_with_its_own_unit_code_column(tmp_path):
    with pytest.raises(InputError, match="row 3: the service code 'S2' is not the file's service 'S1'"):
        validated_web(tmp_path, [web(**{"Unit code": "S1"}), web(**{"Unit code": "S2"})])


def test_a_service_not_in_the_services_file_is_fatal(tmp_path):
    write_xlsx(tmp_path / "x.xlsx", [WEB_ROW])
    with pytest.raises(InputError) as raised:
        validate(load_params(listed_run(tmp_path, [("ZZZ", "x.xlsx")])))
    assert "extract entry 1 (x.xlsx): service 'ZZZ' is not in the services file" in str(raised.value)


def test_a_service_with_no_file_has_no_records(tmp_path):
    validated = validated_web(tmp_path, [WEB_ROW])
    results, _ = compute_kpis(validated, load_params(tmp_path / "params.yml"))
    kpi2 = results[(results["code"] == "S2") & (results["kpi_id"] == "KPI2")].iloc[0]
    kpi4 = results[(results["code"] == "S2") & (results["kpi_id"] == "KPI4")].iloc[0]
    assert kpi2["numerator"] == 0 and kpi2["denominator"] == 50  # 5 x 10 hip fractures
    assert kpi4["denominator"] == 0 and kpi4["rag"] == "none"


def test_several_files_of_one_service_in_list_order(tmp_path):
    write_xlsx(tmp_path / "a.xlsx", [web(**{"Age Frac diagnosed": 71})])
    write_xlsx(tmp_path / "b.xlsx", [web(**{"Age Frac diagnosed": 72}), web(**{"Age Frac diagnosed": 73})])
    validated = validate(load_params(listed_run(tmp_path, [("S1", "b.xlsx"), ("S1", "a.xlsx")])))
    assert validated.records["age_at_fracture"].tolist() == [72, 73, 71]
    assert validated.extract.frame["source_file"].tolist() == ["b.xlsx", "b.xlsx", "a.xlsx"]


def test_cp1252_csv_read_with_its_encoding(tmp_path):
    row = {k: (v.strftime("%d/%m/%Y %H:%M") if isinstance(v, dt.datetime) else v) for k, v in WEB_ROW.items()}
    row["1.05 CareRes"] = "Don\u2019t know"
    write_web_csv(tmp_path / "w.csv", [row], encoding="cp1252")
    assert "\u2019".encode("cp1252") in (tmp_path / "w.csv").read_bytes()
    validated = validate(load_params(listed_run(tmp_path, [("S1", "w.csv", "cp1252")])))
    assert validated.records["care_home"].tolist() == ["Not known"]
    assert validated.records["date_assessed"].tolist() == [pd.Timestamp("2016-03-10")]
    with pytest.raises(InputError) as raised:
        validate(load_params(listed_run(tmp_path, [("S1", "w.csv")])))
    message = str(raised.value)
    assert "w.csv: the extract is not UTF-8 text: byte 0x92 at line 2" in message and "encoding: cp1252" in message


def test_a_byte_undefined_in_cp1252_is_named(tmp_path):
    (tmp_path / "w.csv").write_bytes(b"1.03 Gender,1.09 Date,1.11 Site\nF\x81,1/3/2016,Hip\n")
    with pytest.raises(InputError, match="w.csv: the extract is not cp1252 text: byte 0x81 at line 2"):
        read_one(tmp_path / "w.csv", encoding="cp1252")


def test_a_mapping_file_replaces_the_built_in_one(tmp_path):
    # Next year's export spells a value differently: one line in a mapping file, no code change.
    text = (Path(__file__).parents[1] / "fls_report" / "mappings" / "webtool.yml").read_text(encoding="utf-8")
    (tmp_path / "next year.yml").write_text(
        text.replace("  Died: [Patient died]", "  Died: [Patient died, Deceased]"), encoding="utf-8")
    rows = [web(**{"6.01 FollowUp12_16": "Deceased"})]
    assert issues_of(validated_web(tmp_path, rows)) == [("followup_16wk", "invalid value")]
    validated = validated_web(tmp_path, rows, mapping='"next year.yml"')
    assert validated.issues.empty and validated.records["followup_16wk"].tolist() == ["Died"]


# ---------------------------------------------------------------------------------------------
# §2 Headers


def test_question_number_maps_whatever_follows(tmp_path):
    rows = [{"1.09 Date Of Fracture (renamed)": dt.datetime(2016, 3, 1), "1.11": "Hip",
             "1.03  Sex": "M", "1.10 TypeOfFractue": "x", "Age": 80}]
    frame, reading = read_one(write_xlsx(tmp_path / "x.xlsx", rows))
    assert {h.header: h.column for h in reading.headers} == {
        "1.09 Date Of Fracture (renamed)": "date_fracture", "1.11": "fracture_site", "1.03  Sex": "sex",
        "1.10 TypeOfFractue": None, "Age": "age_at_fracture"}
    assert frame["sex"].tolist() == ["Male"] and frame["date_fracture"].tolist() == ["2016-03-01"]
    assert reading.headers[3].outcome == "known question, not used" and reading.headers[3].question == "1.10"


@pytest.mark.parametrize("header", ["Age Frac diagnosed", "Age Frac Diagnosed", "Age at fracture", "AGE", " age "])
def test_age_header_variants(tmp_path, header):
    rows = [{header: 81, "1.09 Date Index Frac Diagnosed": dt.datetime(2016, 3, 1), "1.11 SiteFirstFrac": "Hip",
             "1.03 Gender": "F"}]
    frame, _ = read_one(write_xlsx(tmp_path / "x.xlsx", rows))
    assert frame["age_at_fracture"].tolist() == ["81"]


def test_short_names_without_numbers(tmp_path):
    rows = [{"Gender": "F", "Age at fracture": 75, "DateFLSAssess": dt.datetime(2016, 3, 5),
             "Date Index Frac Diagnosed": dt.datetime(2016, 3, 1), "SiteFirstFrac": "Spine", "date_of_birth": "",
             "RiskAssesByFLS": "No", "Referrals": "Falls clinic", "TypeOfFracture": "x"}]
    frame, reading = read_one(write_xlsx(tmp_path / "x.xlsx", rows))
    assert reading.format == WEBTOOL
    assert frame.loc[0, ["sex", "date_assessed", "fracture_site", "falls_assessment"]].tolist() == [
        "Female", "2016-03-05", "Spine", "Referred"]
    assert {h.header: h.question for h in reading.headers}["DateFLSAssess"] == "1.07"
    assert not reading.notes[:-1]  # the only note is the absent optional columns


def test_blank_headers_are_ignored_and_named_when_they_hold_values(tmp_path):
    headers = ["1.03 Gender", None, "1.09 Date Index Frac Diagnosed", None, "1.11 SiteFirstFrac", "Age", "Unnamed: 7", "...8"]
    path = tmp_path / "x.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    sheet.append(["F", None, dt.datetime(2016, 3, 1), "stray", "Hip", 70, None, None])
    sheet.append(["M", None, dt.datetime(2016, 3, 2), None, "Hip", 71, None, None])
    workbook.save(path)
    frame, reading = read_one(path)
    outcomes = [(h.position, h.outcome, h.filled) for h in reading.headers]
    assert outcomes == [(1, "mapped", 0), (2, "blank", 0), (3, "mapped", 0), (4, "blank", 1), (5, "mapped", 0),
                        (6, "mapped", 0), (7, "blank", 0), (8, "blank", 0)]
    assert any("column 4 has a blank header but holds values in 1 row(s)" in n for n in reading.notes)
    assert not any("column 2 " in n for n in reading.notes)
    assert len(frame) == 2


def test_unknown_headers_warned_once_per_file_and_known_questions_silent(tmp_path):
    rows = [web(**{"Comments": "x", "Ward": "7", "2.01 Height": 160, "5.02 TwoFalls": "No", "9.99 Future": "x"})]
    _, reading = read_one(write_xlsx(tmp_path / "x.xlsx", rows))
    unknown_notes = [n for n in reading.notes if "not recognised" in n]
    assert unknown_notes == [f"{tmp_path / 'x.xlsx'}: ignoring header(s) not recognised: 'Comments', 'Ward', '9.99 Future'"]
    assert not any("Height" in n or "TwoFalls" in n or "TypeOfFractue" in n for n in reading.notes)


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({"1.03 Sex": "F"}, "headers '1.03 Gender' (column 4) and '1.03 Sex' (column 25) are both question 1.03"),
        ({"Gender": "F"}, "are both question 1.03"),
        ({"Age at fracture": 70}, "'Age Frac diagnosed' (column 3) and 'Age at fracture' (column 25) both map to the column age_at_fracture"),
        ({"falls_assessment": "Assessed"}, "both map to the column falls_assessment"),
        ({"TypeOfFracture": "x"}, "are both question 1.10"),
    ],
)
def test_two_headers_on_one_question_or_column_are_fatal(tmp_path, extra, fragment):
    with pytest.raises(InputError) as raised:
        read_one(write_xlsx(tmp_path / "x.xlsx", [web(**extra)]))
    assert fragment in str(raised.value) and "x.xlsx" in str(raised.value)


def test_5_01_and_5_10_are_not_a_clash(tmp_path):
    frame, _ = read_one(write_xlsx(tmp_path / "x.xlsx", [web(**{"5.01 RiskAssesByFLS": "No", "5.10 Referrals": "falls"})]))
    assert frame["falls_assessment"].tolist() == ["Referred"]


def test_webtool_file_without_core_columns_names_them(tmp_path):
    rows = [{k: v for k, v in WEB_ROW.items() if k not in ("1.11 SiteFirstFrac", "Age Frac diagnosed", "1.02 DateOfBirth")}]
    with pytest.raises(InputError) as raised:
        read_one(write_xlsx(tmp_path / "x.xlsx", rows))
    assert "without the core column(s) age_at_fracture (e.g. 'Age Frac diagnosed'), fracture_site (e.g. '1.11 SiteFirstFrac')" in str(raised.value)


def test_single_webtool_file_needs_a_service_column(tmp_path):
    write_xlsx(tmp_path / "x.xlsx", [WEB_ROW])
    with pytest.raises(InputError, match="service_code"):
        read_one(tmp_path / "x.xlsx", service=None)
    frame, _ = read_one(write_xlsx(tmp_path / "y.xlsx", [web(**{"FLS code": "S2"})]), service=None)
    assert frame["service_code"].tolist() == ["S2"] and frame["record_id"].str.startswith("S2:").all()


# Record ids


def test_generated_record_ids_are_service_file_digest_and_line(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", [WEB_ROW, web(**{"Age Frac diagnosed": 71})])
    frame, _ = read_one(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    assert frame["record_id"].tolist() == [f"S1:{digest}:2", f"S1:{digest}:3"]
    # Independent of where the file lies; stable for an unchanged file.
    (tmp_path / "elsewhere").mkdir()
    moved = shutil.copy(path, tmp_path / "elsewhere" / "renamed.xlsx")
    assert read_one(Path(moved))[0]["record_id"].tolist() == frame["record_id"].tolist()


def test_a_record_id_column_is_used_when_present(tmp_path):
    frame, _ = read_one(write_xlsx(tmp_path / "x.xlsx", [web(**{"Record ID": "R9"})]))
    assert frame["record_id"].tolist() == ["R9"] and not frame["generated_id"].any()


def test_duplicates_without_ids_compared_after_mapping(tmp_path):
    rows = [
        web(),                                                                     # line 2: kept
        web(**{"1.05 CareRes": " no ", "4.01 BoneTherapy": "alendronate"}),        # line 3: a copy after mapping
        web(**{"1.07 DateFLSAssess": "10/3/2016"}),                                 # line 4: same date as text
        web(**{"5.01 RiskAssesByFLS": "Y", "1.03 Gender": "f"}),                   # line 5: same falls and sex
        web(**{"Age Frac diagnosed": 71}),                                         # line 6: different: kept
        web(**{"4.01 BoneTherapy": "Risedronate;Alendronate"}),                    # line 7: different list: kept
        web(**{"4.01 BoneTherapy": "alendronate; Risedronate"}),                   # line 8: copy of 7 as a set
        web(**{"1.03 Gender": "Femal"}),                                           # line 9: invalid value: kept
        web(**{"1.03 Gender": " FEMAL "}),                                         # line 10: same invalid text
    ]
    validated = validated_web(tmp_path, rows)
    rejected = validated.rejected
    assert rejected["source_row"].tolist() == [3, 4, 5, 8, 10]
    assert set(rejected["reason"]) == {"duplicate record"} and set(rejected["source_file"]) == {"s1.xlsx"}
    assert validated.counts() == {"read": 9, "rejected": 5, "excluded": 0, "included": 4}


def test_duplicates_across_files_keep_the_earlier_entry_and_never_cross_services(tmp_path):
    write_xlsx(tmp_path / "a.xlsx", [WEB_ROW])
    write_xlsx(tmp_path / "b.xlsx", [WEB_ROW])
    write_xlsx(tmp_path / "c.xlsx", [WEB_ROW])
    validated = validate(load_params(listed_run(tmp_path, [("S1", "b.xlsx"), ("S1", "a.xlsx"), ("S2", "c.xlsx")])))
    assert validated.rejected[["source_file", "reason"]].values.tolist() == [["a.xlsx", "duplicate record"]]
    assert sorted(validated.records["service_code"]) == ["S1", "S2"]


def test_a_column_a_file_lacks_counts_as_blank_when_comparing(tmp_path):
    write_xlsx(tmp_path / "a.xlsx", [web(**{"1.08 AdmitHosp": None})])
    write_xlsx(tmp_path / "b.xlsx", [{k: v for k, v in WEB_ROW.items() if k != "1.08 AdmitHosp"}])
    validated = validate(load_params(listed_run(tmp_path, [("S1", "a.xlsx"), ("S1", "b.xlsx")])))
    assert validated.rejected[["source_file", "reason"]].values.tolist() == [["b.xlsx", "duplicate record"]]


# ---------------------------------------------------------------------------------------------
# §3 Values


VALUE_ALIAS_CASES = [
    (header, canonical, spelling)
    for canonical, spellings in MAPPING.value_aliases.items()
    for spelling in spellings
    for header, column in (
        ("1.05 CareRes", "care_home"), ("6.06 StartStrenBalExe", "strength_balance_16wk"),
        ("1.11 SiteFirstFrac", "fracture_site"), ("6.01 FollowUp12_16", "followup_16wk"),
        ("4.01 BoneTherapy", "bone_therapy_recommended"),
    )
    if canonical in (dd.CATEGORIES.get(column) or dd.THERAPY_TOKENS if column.startswith("bone") else dd.CATEGORIES[column])
]


@pytest.mark.parametrize("header, canonical, spelling", VALUE_ALIAS_CASES)
def test_every_built_in_value_alias(tmp_path, header, canonical, spelling):
    frame, reading = read_one(write_xlsx(tmp_path / "x.xlsx", [web(**{header: f"  {spelling.upper()} "})]))
    column = MAPPING.questions[header[:4]].column
    assert frame[column].tolist() == [canonical]
    assert reading.unrecognised.empty


def test_every_built_in_alias_is_exercised():
    assert {(c, s) for _, c, s in VALUE_ALIAS_CASES} == {
        (c, s) for c, spellings in MAPPING.value_aliases.items() for s in spellings}


def test_curly_and_straight_apostrophes_are_equal(tmp_path):
    rows = [web(**{"1.03 Gender": "Don\u2019t know", "1.05 CareRes": "DON'T KNOW", "1.08 AdmitHosp": "Don\u00edt know"})]
    frame, _ = read_one(write_xlsx(tmp_path / "x.xlsx", rows))
    assert frame.loc[0, ["sex", "care_home", "admitted"]].tolist() == ["Not known"] * 3


def test_aliases_apply_in_webtool_files_only(tmp_path):
    write_csv(tmp_path / "extract.csv", [dict(BASE_ROW, care_home="Don't know")], dd.EXTRACT_COLUMNS)
    write_csv(tmp_path / "services.csv", SERVICES, dd.SERVICE_COLUMNS)
    (tmp_path / "p.yml").write_text(
        "title: t\nperiod_start: 2016-01-01\nperiod_end: 2016-12-31\ndata_cutoff: 2017-06-30\n"
        "extract: extract.csv\nservices: services.csv\noutput: out\n", encoding="utf-8")
    assert issues_of(validate(load_params(tmp_path / "p.yml"))) == [("care_home", "invalid value")]


def test_an_alias_never_gives_a_value_its_column_cannot_hold(tmp_path):
    validated = validated_web(tmp_path, [web(**{"1.03 Gender": "Patient died", "1.05 CareRes": "Inappropriate"})])
    assert issues_of(validated) == [("sex", "invalid value"), ("care_home", "invalid value")]


def test_therapy_tokens_aliased_and_unknown_tokens_dropped(tmp_path):
    validated = validated_web(tmp_path, [web(**{"4.01 BoneTherapy": "Systemic Oestrogens; Calcium; alfacalcidol"})])
    assert validated.records["bone_therapy_recommended"].tolist() == ["HRT;Other drug"]
    assert issues_of(validated) == [("bone_therapy_recommended", "unknown therapy token")]


def test_contract_aliases_keep_working(tmp_path):
    validated = validated_web(tmp_path, [web(**{"1.03 Gender": "u", "1.05 CareRes": "Y", "1.08 AdmitHosp": "n"})])
    assert validated.records.loc[0, ["sex", "care_home", "admitted"]].tolist() == ["Not known", "Yes", "No"]


def test_dates_cells_text_and_excel_times(tmp_path):
    rows = [web(**{"1.06 DateFLSContact": dt.datetime(2016, 3, 2, 23, 59), "1.07 DateFLSAssess": "10/03/2016 14:30",
                   "3.03 DateofDXA": "1/4/2016 09:05:59", "6.02 Dateof16WeekAss": dt.date(2016, 6, 1),
                   "7.02 Dateof52WeekAss": 42795})]
    validated = validated_web(tmp_path, rows)
    record = validated.records.iloc[0]
    assert record["date_identified"] == pd.Timestamp("2016-03-02") and record["date_assessed"] == pd.Timestamp("2016-03-10")
    assert record["date_dxa"] == pd.Timestamp("2016-04-01") and record["date_followup_16wk"] == pd.Timestamp("2016-06-01")
    assert issues_of(validated) == [("date_followup_52wk", "invalid value")]  # a plain number is not a date


# ---------------------------------------------------------------------------------------------
# §4 Falls assessment from 5.01 and 5.10

LOOKUP = {"yes": "Yes", "no": "No", "y": "Yes", "n": "No", "not appropriate": "Not appropriate",
          "inappropriate": "Not appropriate", "not known": "Not known", "don't know": "Not known"}


@pytest.mark.parametrize(
    "risk, referrals, expected",
    [
        ("Yes", "", "Assessed"),                          # rule 1
        ("Y", "Falls clinic", "Assessed"),                # rule 1 before rule 2
        ("No", "Physio; Falls clinic", "Referred"),       # rule 2
        ("", "community FALL service", "Referred"),       # rule 2 with 5.01 blank
        ("Don't know", "falls", "Referred"),              # rule 2 before rule 5
        ("Maybe", "Falls team", "Referred"),              # rule 2 before rule 7
        ("No", "", "Not assessed"),                       # rule 3
        ("No", "No falls referral; not falls related", "Not assessed"),  # tokens starting no / not
        ("no", "Fallston clinic; Rainfall", "Not assessed"),             # the word, not a part of one
        ("Inappropriate", "", "Not appropriate"),         # rule 4 (alias)
        ("Not appropriate", "Physio", "Not appropriate"),
        ("Don't know", "", "Not known"),                  # rule 5 (alias)
        ("", "", ""),                                     # rule 6
        ("", "Physio", ""),
        ("Maybe", "", "Maybe"),                           # rule 7: unrecognised, left invalid
        ("Assessed", "", "Assessed (question 5.01)"),     # a falls value 5.01 does not have stays invalid
    ],
)
def test_falls_assessment_rules(risk, referrals, expected):
    assert derive_falls_assessment(risk, referrals, LOOKUP) == expected


@pytest.mark.parametrize("token, falls", [("Falls clinic", True), (" fall prevention", True), ("FALLS", True),
                                          ("no falls", False), ("not a fall", False), ("Fallston", False),
                                          ("nofalls", False), ("Physiotherapy", False)])
def test_falls_tokens(token, falls):
    assert is_falls_token(token) is falls


def test_unrecognised_5_01_is_an_invalid_falls_assessment(tmp_path):
    validated = validated_web(tmp_path, [web(**{"5.01 RiskAssesByFLS": "Assessed"}), web(**{"Age Frac diagnosed": 90})])
    assert issues_of(validated) == [("falls_assessment", "invalid value")]
    assert validated.records["falls_assessment"].tolist() == [None, "Assessed"]
    unrecognised = validated.extract.unrecognised
    assert unrecognised[["column", "field", "value", "rows"]].values.tolist() == [
        ["5.01 RiskAssesByFLS", "falls_assessment", "Assessed", 1]]


# ---------------------------------------------------------------------------------------------
# §6 What the reader saw


def test_unrecognised_values_counted_per_service_column_and_value(tmp_path):
    rows = [web(**{"1.03 Gender": "Femal", "4.01 BoneTherapy": "Calcium;Vit D"}),
            web(**{"1.03 Gender": "Femal", "4.01 BoneTherapy": "Calcium; Calcium"}),
            web(**{"1.03 Gender": "X"})]
    _, reading = read_one(write_xlsx(tmp_path / "x.xlsx", rows))
    found = reading.unrecognised.sort_values(["column", "value"])
    assert found[["service_code", "column", "field", "value", "rows"]].values.tolist() == [
        ["S1", "1.03 Gender", "sex", "Femal", 2], ["S1", "1.03 Gender", "sex", "X", 1],
        ["S1", "4.01 BoneTherapy", "bone_therapy_recommended", "Calcium", 2],
        ["S1", "4.01 BoneTherapy", "bone_therapy_recommended", "Vit D", 1]]


@pytest.mark.parametrize(
    "text, masked",
    [("Femal", False), ("x" * 40, False), ("x" * 41, True), ("ref 123456", True), ("12345 ok", False),
     ("1946-01-01", True), ("01/03/2016", True), ("ZZ99 3AB", True), ("lives in sw1a1aa", True), ("A&E", False),
     ("943 476 5919", True), ("943-476-5919", True), ("12 34 5", False)],
)
def test_printable_masks_what_could_identify_a_patient(text, masked):
    assert (printable(text) == f"[masked, {len(text)} characters]") is masked
    if not masked:
        assert printable(text) == text


def test_describe_lists_headers_absent_columns_and_values_most_frequent_first(tmp_path):
    rows = [web(**{"1.03 Gender": f"odd{i % 12}", "Comments": "9434765919"}) for i in range(30)]
    rows += [web(**{"1.03 Gender": "Femal"}) for _ in range(5)]
    rows[0][None] = "stray"
    _, reading = read_one(write_xlsx(tmp_path / "x.xlsx", rows, list(WEB_ROW) + ["Comments", None]))
    text = "\n".join(describe(reading))
    assert "format: webtool export, 35 data rows" in text
    assert "1.10 TypeOfFractue" in text and "-> known question 1.10, not used" in text
    assert "Comments" in text and "-> not recognised" in text
    assert re.search(r"26  \(blank, column 26\) +-> blank, but 1 row holds a value there \(ignored\)", text)
    assert "optional columns absent: none" in text
    line = next(l for l in text.splitlines() if l.strip().startswith("1.03 Gender"))
    assert line.split(": ", 1)[1].startswith("'Femal' 5, 'odd0' 3") and line.endswith("and 3 more")
    assert "9434765919" not in text and "943 476 5919" not in text and "ZZ99" not in text and "1946" not in text


# ---------------------------------------------------------------------------------------------
# The same synthetic patients, read in either form, give the same tables (issue 12, point 7)


@pytest.mark.slow
def test_the_demo_in_webtool_form_gives_the_contract_forms_tables(tmp_path):
    """The demo's patients as the contract extract and as 37 per-service webtool exports (every
    quirk of webtool_export.md): the KPI, monthly, statistics and data-quality tables are identical.
    The only difference is the rows only the contract form can hold (blank or conflicting ids,
    unknown services), which the webtool files leave out."""
    from fls_report import quality
    from fls_report.pipeline import compute_tables
    from fls_report.synth import write_synthetic
    from fls_report.synth_webtool import extract_entries, write_webtool

    write_synthetic(tmp_path / "contract")
    files, _ = write_webtool(tmp_path / "webtool")
    entries = extract_entries(files, "webtool")
    assert [e.get("encoding") for e in entries].count("cp1252") == 1
    (tmp_path / "contract.yml").write_text(
        "title: t\nperiod_start: 2016-01-01\nperiod_end: 2016-12-31\ndata_cutoff: 2017-06-30\n"
        "extract: contract/fls_extract_2016.csv\nservices: contract/services.csv\noutput: out\n", encoding="utf-8")
    entries = "".join(
        f'  - {{service: "{e["service"]}", path: "{e["path"]}"'
        + (f', encoding: {e["encoding"]}' if "encoding" in e else "") + "}\n"
        for e in entries)
    (tmp_path / "webtool.yml").write_text(
        "title: t\nperiod_start: 2016-01-01\nperiod_end: 2016-12-31\ndata_cutoff: 2017-06-30\n"
        f"extract:\n{entries}services: webtool/services.csv\noutput: out\n", encoding="utf-8")
    forms = {}
    for form in ("contract", "webtool"):
        params = load_params(tmp_path / f"{form}.yml")
        validated = validate(params)
        tables = compute_tables(validated, params)
        tables["data_quality_fields"] = quality.data_quality_fields(validated.records, validated.services.codes, params)
        tables["data_quality_issues"] = quality.data_quality_issues(validated.issues)
        tables["record_accounting"] = quality.record_accounting(validated.row_states)
        forms[form] = (validated, tables)
    (contract, contract_tables), (webtool, webtool_tables) = forms["contract"], forms["webtool"]
    assert {f.format for f in webtool.extract.files} == {WEBTOOL} and len(webtool.extract.files) == 37
    for name, table in contract_tables.items():
        if name == "record_accounting":
            continue
        pd.testing.assert_frame_equal(webtool_tables[name], table, obj=name)
    only_contract = {"missing record_id", "conflicting record_id", "unknown service"}
    accounting = contract_tables["record_accounting"]
    pd.testing.assert_frame_equal(
        webtool_tables["record_accounting"],
        accounting[~accounting["reason"].isin(only_contract)].reset_index(drop=True),
        obj="record_accounting")
    assert accounting[accounting["reason"].isin(only_contract)]["rows"].sum() == 552
    assert contract.counts()["included"] == webtool.counts()["included"] == 16884
