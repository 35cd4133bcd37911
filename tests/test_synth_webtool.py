"""Tests for fls_report.synth_webtool: the synthetic demo as FLS-DB webtool exports.

The files are read back with a small reader of webtool_export.md written here (headers by
question number or short name, the §3 aliases, the §4 falls rule), not imported from the
package, and every cell is compared with the contract extract read under data_dictionary.md:
valid values must give the same canonical value, invalid values must stay invalid.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from test_synth import CATEGORIES as SYNTH_CATEGORIES
from fls_report import synth, synth_webtool as wt
from fls_report.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(services=6, patients=1200, year=2016, seed=2016)
MEDIUM = dict(services=12, patients=6000, year=2016, seed=2016)

#: webtool_export.md §2: question -> (short name, contract column or None).
QUESTIONS = {
    "1.01": ("NHSNumber", "nhs_number"), "1.02": ("DateOfBirth", "date_of_birth"),
    "1.03": ("Gender", "sex"), "1.04": ("Post Code", "postcode"), "1.05": ("CareRes", "care_home"),
    "1.06": ("DateFLSContact", "date_identified"), "1.07": ("DateFLSAssess", "date_assessed"),
    "1.08": ("AdmitHosp", "admitted"), "1.09": ("Date Index Frac Diagnosed", "date_fracture"),
    "1.10": ("TypeOfFracture", None), "1.11": ("SiteFirstFrac", "fracture_site"), "2.01": ("Height", None),
    "2.05": ("Smoker", None), "3.01": ("DXA", "dxa"), "3.03": ("DateofDXA", "date_dxa"),
    "4.01": ("BoneTherapy", "bone_therapy_recommended"), "5.01": ("RiskAssesByFLS", "5.01"),
    "5.02": ("TwoFalls", None), "5.10": ("Referrals", "5.10"), "6.01": ("FollowUp12_16", "followup_16wk"),
    "6.02": ("Dateof16WeekAss", "date_followup_16wk"), "6.05": ("BoneTherapy1216", "treatment_16wk"),
    "6.06": ("StartStrenBalExe", "strength_balance_16wk"), "7.01": ("FollowUp48_56", "followup_52wk"),
    "7.02": ("Dateof52WeekAss", "date_followup_52wk"), "7.05": ("BoneTherapy4856", "treatment_52wk"),
}  # fmt: skip
HEADER_ALIASES = {
    "service_code": ("Unit code", "FLS code", "Service code"),
    "record_id": ("Record ID", "RecordID", "Patient record ID"),
    "age_at_fracture": ("Age Frac diagnosed", "Age at fracture", "Age"),
}
VALUE_ALIASES = {
    "Not known": ("Don't know", "Don’t know", "Donít know", "Unknown"),
    "Not appropriate": ("Inappropriate",),
    "Referred for clinical opinion": ("Referred for further clinical opinion", "Refer for clinical opinion"),
    "Referred to GP": ("Referred to GP to decide prescription",),
    "HRT": ("Systemic Oestrogens", "Systemic oestrogen"),
    "Other drug": ("Alfacalcidol", "Calcitriol", "Raloxifene", "Strontium ranelate"),
    "Other": ("Non hip/non spine", "Non-hip non-spine"),
    "Died": ("Patient died",),
}
#: The data dictionary's category values, read independently of the package (tests/test_synth.py),
#: and question 5.01's (webtool_export.md §4).
CATEGORIES = {**SYNTH_CATEGORIES, "5.01": ("Yes", "No", "Not appropriate", "Not known")}
DATES = ("date_of_birth", "date_identified", "date_assessed", "date_fracture", "date_dxa",
         "date_followup_16wk", "date_followup_52wk")  # fmt: skip
LISTS = ("bone_therapy_recommended", "treatment_16wk", "treatment_52wk")
TOKENS = {t.lower(): t for t in synth.TOKENS}
CONTRACT = tuple(c for c in synth.EXTRACT_COLUMNS if c not in ("record_id", "service_code"))
QUESTION = re.compile(r"^(\d\.\d{2})(\s|$)")
INVALID = "<invalid>"


# ----------------------------------------------------------------------------------------------
# A small reader of both forms (for checking only)


def squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def header_column(header: str | None) -> str | None:
    """Contract column (or '5.01'/'5.10'), '' for a known unused question, None for blank."""
    header = (header or "").strip()
    if not header:
        return None
    match = QUESTION.match(header)
    if match:
        return QUESTIONS[match[1]][1] or ""
    for short, column in QUESTIONS.values():
        if squash(short) == squash(header):
            return column or ""
    for column, names in HEADER_ALIASES.items():
        if squash(header) in {squash(n) for n in names}:
            return column
    raise AssertionError(f"header not recognised: {header!r}")


def alias(text: str) -> str:
    folded = text.strip().lower().replace("’", "'")
    for canonical, spellings in VALUE_ALIASES.items():
        if folded in {s.lower().replace("’", "'") for s in spellings}:
            return canonical
    return text.strip()


def category(text: str, column: str, webtool: bool) -> str:
    text = alias(text) if webtool else text.strip()
    if not text:
        return ""
    lookup = {v.lower(): v for v in CATEGORIES[column]}
    if column == "sex":
        lookup.update(m="Male", f="Female", u="Not known")
    if {"Yes", "No"} <= set(CATEGORIES[column]):
        lookup.update(y="Yes", n="No")
    return lookup.get(text.lower(), INVALID)


def date(text: str, webtool: bool) -> str:
    text = text.strip()
    if not text:
        return ""
    forms = [r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?", r"(\d{1,2})/(\d{1,2})/(\d{4})"]
    if webtool:
        forms.append(r"(\d{1,2})/(\d{1,2})/(\d{4}) \d{2}:\d{2}(?::\d{2})?")
    for i, form in enumerate(forms):
        match = re.fullmatch(form, text)
        if match:
            y, m, d = (match[1], match[2], match[3]) if i == 0 else (match[3], match[2], match[1])
            try:
                return dt.date(int(y), int(m), int(d)).isoformat()
            except ValueError:
                return INVALID
    return INVALID


def therapy(text: str, webtool: bool) -> tuple[frozenset, frozenset]:
    tokens = [alias(t) if webtool else t.strip() for t in text.split(";")]
    tokens = [t.lower() for t in tokens if t]
    return frozenset(TOKENS[t] for t in tokens if t in TOKENS), frozenset(t for t in tokens if t not in TOKENS)


def value(column: str, text: str, webtool: bool):
    if column in DATES:
        return date(text, webtool)
    if column in LISTS:
        valid, unknown = therapy(text, webtool)
        return valid, bool(unknown)
    if column in CATEGORIES:
        return category(text, column, webtool)
    if column == "age_at_fracture":
        text = text.strip()
        return "" if not text else str(int(float(text))) if re.fullmatch(r"\d+(\.0*)?", text) else INVALID
    return text.strip()


def is_falls_token(token: str) -> bool:
    token = token.strip().casefold()
    return bool(re.search(r"\bfalls?\b", token)) and not token.startswith(("no ", "not "))


def derive_falls(q501: str, q510: str) -> str:
    """webtool_export.md §4, first rule that applies."""
    answer = category(q501, "5.01", webtool=True)
    if answer == "Yes":
        return "Assessed"
    if any(is_falls_token(t) for t in q510.split(";")):
        return "Referred"
    return {"No": "Not assessed", "Not appropriate": "Not appropriate", "Not known": "Not known", "": ""}.get(
        answer, INVALID
    )


def cell_text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, (int, float)):
        return str(int(cell)) if float(cell).is_integer() else repr(cell)
    return str(cell)


def read_export(path: Path) -> tuple[list, list[list]]:
    """Headers and raw cells (native values for .xlsx, text for .csv)."""
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    else:
        raw = path.read_bytes()
        encoding = "cp1252" if b"\x92" in raw else "utf-8-sig"
        rows = list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))
    return rows[0], rows[1:]


def webtool_frame(headers: list, rows: list[list]) -> pd.DataFrame:
    """A file's rows as contract text columns plus 5.01/5.10 (blank and unused columns dropped)."""
    columns = [header_column(h) for h in headers]
    keep = [i for i, c in enumerate(columns) if c]
    assert len({columns[i] for i in keep}) == len(keep), "two headers land on one column"
    return pd.DataFrame([[cell_text(r[i]) for i in keep] for r in rows], columns=[columns[i] for i in keep])


def left_out(extract: pd.DataFrame, codes) -> pd.Series:
    """data_dictionary.md §2 rules 1, 2 and 4 on trimmed text ('' for rows the webtool form holds)."""
    t = extract.apply(lambda s: s.str.strip())
    reason = pd.Series("", index=t.index, dtype=object)
    reason[t["record_id"] == ""] = "missing record_id"
    shared = t[(t["record_id"] != "") & t["record_id"].duplicated(keep=False)]
    versions = shared.drop_duplicates().groupby("record_id").size()
    reason[t["record_id"].isin(versions[versions > 1].index) & (reason == "")] = "conflicting record_id"
    reason[~t["service_code"].isin(list(codes)) & (reason == "")] = "unknown service"
    return reason


# ----------------------------------------------------------------------------------------------
# Fixtures


class Run:
    """One ``write_webtool`` run, the contract data of the same arguments, and the files read back."""

    def __init__(self, out: Path, **kwargs):
        self.files, self.services = wt.write_webtool(out, **kwargs)
        self.extract, self.frame = synth.generate(**kwargs)
        self.reasons = left_out(self.extract, self.frame["service_code"])
        self.kept = self.extract[self.reasons == ""]
        self.read = {code: read_export(path) for code, path in self.files}
        self.paths = dict(self.files)

    def headers(self) -> dict[str, list]:
        return {code: headers for code, (headers, _) in self.read.items()}

    def webtool(self, code: str) -> pd.DataFrame:
        return webtool_frame(*self.read[code])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return Run(tmp_path_factory.mktemp("small"), **SMALL)


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """Big enough for every fault kind, export spelling and falls rule to appear."""
    return Run(tmp_path_factory.mktemp("medium"), **MEDIUM)


# ----------------------------------------------------------------------------------------------
# Files


def test_byte_identical_and_zip_dates_fixed(small, tmp_path):
    again, services_again = wt.write_webtool(tmp_path, **SMALL)
    assert [(c, p.name) for c, p in small.files] == [(c, p.name) for c, p in again]
    for (_, a), (_, b) in zip(small.files, again):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert small.services.read_bytes() == services_again.read_bytes()
    other, _ = wt.write_webtool(tmp_path / "other", **{**SMALL, "seed": 7})
    assert small.files[0][1].read_bytes() != other[0][1].read_bytes()
    book = next(p for _, p in small.files if p.suffix == ".xlsx")
    with zipfile.ZipFile(book) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2017-07-01T09:00:00Z") == 2  # created and modified: fixed, not the clock
    assert not list(tmp_path.glob(".*.tmp"))


def test_names_formats_and_services_file(small, tmp_path):
    codes = [c for c, _ in small.files]
    assert codes == sorted(codes) and set(codes) <= set(small.frame["service_code"])
    for code, path in small.files:
        assert re.fullmatch(rf"{re.escape(code)} flsdb 2016\.(xlsx|csv)", path.name)
    suffixes = [p.suffix for _, p in small.files]
    assert suffixes.count(".csv") == 2 and suffixes.count(".xlsx") == len(codes) - 2
    _, contract_services = synth.write_synthetic(tmp_path, **SMALL)
    assert small.services.read_bytes() == contract_services.read_bytes()


def test_bad_arguments_are_input_errors(tmp_path):
    with pytest.raises(InputError):
        wt.write_webtool(tmp_path, services=0)


@pytest.mark.parametrize("services,patients,year", [(1, 1, 2016), (5, 300, 2016), (10, 2000, 2017)])
def test_small_odd_sizes_and_later_years_work(tmp_path, services, patients, year):
    files, _ = wt.write_webtool(tmp_path, services=services, patients=patients, year=year, seed=1)
    extract, frame = synth.generate(services=services, patients=patients, year=year, seed=1)
    kept = extract[left_out(extract, frame["service_code"]) == ""]
    assert [c for c, _ in files] == sorted(set(kept["service_code"]))
    assert all(p.name.endswith(f" flsdb {year}" + p.suffix) for _, p in files)
    assert sum(len(read_export(p)[1]) for _, p in files) == len(kept)


def check_headers(run: Run) -> None:
    headers = run.headers()
    flat = {code: [h for h in hs if h] for code, hs in headers.items()}
    assert sum("1.10 TypeOfFractue" in hs for hs in flat.values()) > len(flat) / 2  # most, as in real exports
    assert any("1.10 TypeOfFracture" in hs for hs in flat.values())
    ages = {h for hs in flat.values() for h in hs if h.startswith("Age")}
    assert ages == {"Age Frac diagnosed", "Age Frac Diagnosed", "Age at fracture"}
    short = [c for c, hs in flat.items() if not any(QUESTION.match(h) for h in hs)]
    assert len(short) == 1
    names = {"Gender", "DateFLSAssess", "Date Index Frac Diagnosed", "RiskAssesByFLS", "Referrals"}
    assert names <= set(flat[short[0]])
    blank = [c for c, hs in headers.items() if any(h in (None, "") for h in hs)]
    assert len(blank) == 1 and sum(h in (None, "") for h in headers[blank[0]]) == 3
    positions = [i for i, h in enumerate(headers[blank[0]]) if h in (None, "")]
    assert any(r[i] == wt.STRAY_VALUE for r in run.read[blank[0]][1] for i in positions)  # the reader's warning
    ids = [c for c, hs in flat.items() if "Record ID" in hs]
    assert len(ids) == 1 and "Unit code" in flat[ids[0]] and ids[0].startswith("0")
    unit = headers[ids[0]].index("Unit code")
    assert {r[unit] for r in run.read[ids[0]][1]} == {ids[0]}  # a text cell: the leading zero kept
    assert all("Unit code" not in hs for c, hs in flat.items() if c != ids[0])
    for hs in flat.values():
        named = {h.split(" ", 1)[-1] if QUESTION.match(h) else h for h in hs}
        assert {"NHSNumber", "DateOfBirth", "Post Code", "Height", "Smoker", "TwoFalls"} <= named
        assert all(header_column(h) is not None for h in hs)  # every header is recognised


def test_quirks_each_in_a_file(medium):
    check_headers(medium)


def test_cp1252_csv_is_not_utf8_and_has_excel_dates(medium):
    csvs = [p for _, p in medium.files if p.suffix == ".csv"]
    cp1252 = [p for p in csvs if b"\x92" in p.read_bytes()]
    assert len(cp1252) == 1 and cp1252[0] == medium.files[-1][1]
    raw = cp1252[0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "Don’t know".encode("cp1252") in raw and b"\r\n" in raw
    cells = [c for r in csv.reader(io.StringIO(raw.decode("cp1252"), newline="")) for c in r]
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4} 00:00", c) for c in cells)
    assert all(date(c, webtool=False) == INVALID for c in cells if re.match(r"\d{4}-", c))  # only bad ones left
    utf8 = [p for p in csvs if p not in cp1252]
    assert len(utf8) == 1 and utf8[0].read_bytes().startswith(b"\xef\xbb\xbf")
    utf8[0].read_bytes().decode("utf-8")


def test_xlsx_dates_are_date_cells_and_ages_numbers(small):
    path = next(p for _, p in small.files if p.suffix == ".xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    headers = [c.value for c in sheet[1]]
    fracture = headers.index(next(h for h in headers if h and h.endswith("Date Index Frac Diagnosed")))
    age = headers.index(next(h for h in headers if h and h.startswith("Age")))
    cells = [row[fracture] for row in sheet.iter_rows(min_row=2)]
    dated = [c for c in cells if c.value is not None and not isinstance(c.value, str)]
    assert dated and all(c.is_date and isinstance(c.value, dt.datetime) for c in dated)
    assert {c.number_format for c in dated} <= {"dd/mm/yyyy", "dd/mm/yyyy hh:mm"}
    ages = [row[age].value for row in sheet.iter_rows(min_row=2) if row[age].value is not None]
    assert any(isinstance(a, int) for a in ages)
    assert all(not re.fullmatch(r"\d+(\.0*)?", a) for a in ages if isinstance(a, str))  # whole numbers are numbers


def test_invalid_dates_stay_text_cells(medium):
    texts = []
    for code, path in medium.files:
        if path.suffix == ".xlsx":
            headers, rows = medium.read[code]
            dates = [i for i, h in enumerate(headers) if header_column(h) in DATES]
            texts += [r[i] for r in rows for i in dates if isinstance(r[i], str)]
    assert len(texts) > 30 and {"NA", "NULL"} & set(texts)
    assert all(date(t, webtool=True) == INVALID for t in texts)


def test_dont_know_three_ways_and_export_spellings(medium):
    values = {v for _, rows in medium.read.values() for r in rows for v in r if isinstance(v, str)}
    for spelling in ("Don't know", "Don’t know", "Donít know", "Unknown", "Inappropriate", "Patient died",
                     "Non hip/non spine", "Not known", "Not appropriate", "Died", "Other", "M", "F", "Y", "N"):
        assert spelling in values, spelling
    tokens = {t.strip() for v in values for t in v.split(";")}
    for token in ("Systemic Oestrogens", "Alfacalcidol", "Referred to GP to decide prescription",
                  "Referred for further clinical opinion", "HRT", "Other drug"):
        assert token in tokens, token


# ----------------------------------------------------------------------------------------------
# Rows and values


def test_rows_written_are_the_contract_rows_minus_those_left_out(medium):
    counts = medium.reasons[medium.reasons != ""].value_counts().to_dict()
    assert counts == {"missing record_id": 60, "conflicting record_id": 60, "unknown service": 60}
    written = {code: len(rows) for code, (_, rows) in medium.read.items()}
    assert written == medium.kept["service_code"].value_counts().to_dict()
    assert sum(written.values()) == len(medium.extract) - 3 * 60
    assert (wt.left_out_reasons(medium.extract, medium.frame["service_code"]) == medium.reasons).all()


def test_every_value_reads_back_as_the_contract_value(medium):
    """The heart of it: under webtool_export.md the files give the contract's validated values,
    row by row in the contract's order."""
    for code, path in medium.files:
        read = medium.webtool(code)
        rows = medium.kept[medium.kept["service_code"] == code].reset_index(drop=True)
        assert len(read) == len(rows)
        if "record_id" in read:
            assert (read["record_id"] == rows["record_id"].str.strip()).all()
        if "service_code" in read:
            assert (read["service_code"] == code).all()
        for column in CONTRACT:
            if column == "falls_assessment":
                got = [derive_falls(a, b) for a, b in zip(read["5.01"], read["5.10"])]
            else:
                got = [value(column, t, webtool=True) for t in read[column]]
            want = [value(column, t, webtool=False) for t in rows[column]]
            bad = [(i, g, w, rows[column][i]) for i, (g, w) in enumerate(zip(got, want)) if g != w]
            assert not bad, f"{path.name} {column}: {bad[:5]}"


def test_duplicates_are_written_as_copies_and_no_two_records_collide(medium):
    copies = medium.kept.apply(lambda s: s.str.strip()).duplicated().sum()
    assert copies == 60
    seen = 0
    for code in medium.read:
        read = medium.webtool(code)
        trimmed = read.apply(lambda s: s.str.strip())
        seen += trimmed.duplicated().sum()
        # What the reader compares: canonical values, falls through §4, unused columns aside.
        compared = pd.DataFrame(
            {c: [repr(value(c, t, True)) for t in read[c]] for c in CONTRACT if c != "falls_assessment"}
        )
        compared["falls"] = [derive_falls(a, b) for a, b in zip(read["5.01"], read["5.10"])]
        assert compared.duplicated().sum() == trimmed.duplicated().sum(), code
    assert seen == copies
    assert wt.colliding_services(medium.kept) == set()


def test_a_service_whose_records_could_collide_gets_record_ids(tmp_path):
    extract, frame = synth.generate(**SMALL)
    one = extract[extract["service_code"].isin(frame["service_code"]) & (extract["record_id"] != "")].head(1)
    code = one["service_code"].iloc[0]
    blank = dict(nhs_number="", postcode="")
    rows = pd.concat([one.assign(**blank), one.assign(record_id="R-twin", **blank)])
    assert wt.colliding_services(rows) == {code}
    ((spec, data),) = wt.export_files(rows, frame, 2016, 1)
    path = tmp_path / spec.name
    path.write_bytes(data)
    assert read_export(path)[0][0] == "Record ID"


def validated_table(validated) -> pd.DataFrame:
    """Included records without their ids, each with its field issues, in a fixed order."""
    records = validated.records.copy()
    issues = validated.issues.assign(issue=validated.issues["field"] + ":" + validated.issues["rule"])
    per_record = issues.groupby("record_id")["issue"].agg(lambda s: ";".join(sorted(s)))
    records["issues"] = records["record_id"].map(per_record).fillna("")
    records = records.drop(columns=["record_id"]).astype(str)
    return records.sort_values(list(records.columns)).reset_index(drop=True)


def test_the_package_reader_gives_the_contract_records(medium, tmp_path):
    """End to end through fls_report.validate: the same included records, values and issues."""
    from fls_report.params import load_params
    from fls_report.validate import validate

    folder = medium.services.parent
    contract_extract, _ = synth.write_synthetic(tmp_path / "contract", **MEDIUM)
    common = "period_start: 2016-01-01\nperiod_end: 2016-12-31\ndata_cutoff: 2017-06-30\n"
    (tmp_path / "contract.yml").write_text(
        f"title: contract\n{common}extract: {contract_extract}\nservices: {folder / 'services.csv'}\n"
        f"output: {tmp_path / 'out-contract'}\n", encoding="utf-8")  # fmt: skip
    entries = "".join(
        f'  - {{service: "{code}", path: "{path}"'
        + (", encoding: cp1252" if path == medium.files[-1][1] else "")
        + "}\n"
        for code, path in medium.files
    )
    (tmp_path / "webtool.yml").write_text(
        f"title: webtool\n{common}extract:\n{entries}services: {folder / 'services.csv'}\n"
        f"output: {tmp_path / 'out-webtool'}\n", encoding="utf-8")  # fmt: skip
    contract = validate(load_params(tmp_path / "contract.yml"))
    webtool = validate(load_params(tmp_path / "webtool.yml"))
    assert validated_table(webtool).equals(validated_table(contract))
    states = webtool.row_states.groupby(["state", "reason"]).size()
    assert states.sum() == len(medium.kept)
    rejected = {"duplicate record": 60, "fracture after data cut-off": 60, "invalid fracture date": 60}
    assert dict(states.loc["rejected"]) == rejected
    assert any("blank header" in w for w in webtool.warnings)


# ----------------------------------------------------------------------------------------------
# Falls assessment (webtool_export.md §4)


@pytest.mark.parametrize("falls", ["Assessed", "assessed", " ASSESSED ", "Referred", "referred", "Not assessed",
                                   "NOT ASSESSED", "Not appropriate", "not appropriate", "Not known", "not known", ""])
def test_falls_questions_give_back_the_contract_value(falls):
    want = category(falls, "falls_assessment", webtool=False)
    for u in (0.1, 0.5, 0.9):
        for v in (0.1, 0.55, 0.75, 0.95):
            for k in range(6):
                for dont_know in wt.DONT_KNOW:
                    for export in (False, True):
                        q501, q510 = wt.falls_questions(falls, u, v, k, dont_know, export)
                        assert derive_falls(q501, q510) == want, (falls, q501, q510)
                        if want == "Referred":
                            assert category(q501, "5.01", True) in ("No", "")
                        if want == "Not assessed":
                            assert category(q501, "5.01", True) == "No"


@pytest.mark.parametrize("falls", ["Yes", "NA", "Done", "NULL", "Falls clinic", "no", "Unknown"])
def test_invalid_falls_values_stay_invalid(falls):
    q501, q510 = wt.falls_questions(falls, 0.5, 0.5, 1, "Don't know", True)
    assert derive_falls(q501, q510) == INVALID and q510 == ""
    if falls.lower() not in ("yes", "no", "unknown"):
        assert q501 == falls  # the same text


def test_falls_pairs_in_the_files_use_every_rule(medium):
    pairs = pd.concat([medium.webtool(code)[["5.01", "5.10"]] for code in medium.read])
    derived = pd.Series([derive_falls(a, b) for a, b in zip(pairs["5.01"], pairs["5.10"])])
    assert set(derived) == {"Assessed", "Referred", "Not assessed", "Not appropriate", "Not known", "", INVALID}
    referred = pairs[derived.to_numpy() == "Referred"]
    assert (referred["5.01"] == "").any() and (referred["5.01"].str.lower() == "no").any()
    assert pairs["5.10"].str.contains("No falls referral needed").any()


# ----------------------------------------------------------------------------------------------
# The demo at the defaults, parameters, mapping


@pytest.mark.slow
def test_demo_at_the_defaults_and_its_params_file(tmp_path):
    """One run at the default size (a few seconds): row counts per file and per left-out role,
    no records that could collide, and params/demo-webtool.yml listing exactly these files."""
    files, services = wt.write_webtool(tmp_path)
    extract, frame = synth.generate()
    reasons = left_out(extract, frame["service_code"])
    assert reasons[reasons != ""].value_counts().to_dict() == {
        "missing record_id": 184, "conflicting record_id": 184, "unknown service": 184,
    }  # fmt: skip
    kept = extract[reasons == ""]
    expected = kept["service_code"].value_counts().to_dict()
    written = {}
    for code, path in files:
        if path.suffix == ".xlsx":
            sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
            written[code] = sheet.max_row - 1  # from the sheet's <dimension>
        else:
            encoding = "cp1252" if b"\x92" in path.read_bytes() else "utf-8-sig"
            written[code] = len(list(csv.reader(io.StringIO(path.read_text(encoding=encoding), newline="")))) - 1
    assert written == expected and len(files) == 37 and sum(written.values()) == 18356 - 3 * 184
    assert wt.colliding_services(kept) == set()

    params = yaml.safe_load((ROOT / "params" / "demo-webtool.yml").read_text(encoding="utf-8"))
    assert params["services"] == "../data/synthetic-webtool/services.csv"
    assert params["output"] == "../output/demo-webtool"
    entries = params["extract"]
    assert all(set(e) <= {"service", "path", "encoding"} for e in entries)
    assert [e["service"] for e in entries] == [c for c, _ in files]
    assert [e["path"] for e in entries] == [f"../data/synthetic-webtool/{p.name}" for _, p in files]
    cp1252 = [p.name for _, p in files if p.suffix == ".csv" and b"\x92" in p.read_bytes()]
    assert [e["path"].rsplit("/", 1)[1] for e in entries if e.get("encoding") == "cp1252"] == cp1252
    assert all(e.get("encoding") in (None, "cp1252") for e in entries)
    demo = yaml.safe_load((ROOT / "params" / "demo.yml").read_text(encoding="utf-8"))
    for key in ("period_start", "period_end", "data_cutoff"):
        assert params[key] == demo[key]


def test_headers_agree_with_the_built_in_mapping():
    mapping = ROOT / "fls_report" / "mappings" / "webtool.yml"
    if not mapping.exists():
        pytest.skip("built-in mapping not there yet")
    questions = yaml.safe_load(mapping.read_text(encoding="utf-8"))["questions"]
    for number, short, _ in wt.QUESTIONS:
        if number is not None:
            assert questions[number]["name"] == short
            assert QUESTIONS[number][0] == short


def test_command_line(tmp_path, capsys):
    from fls_report.cli import main

    assert main(["synth", "--format", "webtool", "--out", str(tmp_path), "--services", "4", "--patients", "400"]) == 0
    printed = capsys.readouterr().out.splitlines()
    files, _ = wt.write_webtool(tmp_path / "api", services=4, patients=400)
    assert [Path(p).name for p in printed] == [p.name for _, p in files] + ["services.csv"]
    for _, path in files:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()
    assert main(["synth", "--out", str(tmp_path / "contract"), "--services", "4", "--patients", "400"]) == 0
    assert sorted(p.name for p in (tmp_path / "contract").iterdir()) == ["fls_extract_2016.csv", "services.csv"]
