"""The synthetic demo's patients as FLS-DB webtool exports (``fls-report synth --format webtool``).

:func:`write_webtool` takes the rows of :func:`fls_report.synth.generate` (same arguments, same
seed) and writes them the way services download them from the FLS-DB webtool: **one file per
service**, headers that are question numbers with short names (``1.09 Date Index Frac
Diagnosed``), the export's spellings of values, and the quirks seen in real exports
(webtool_export.md). Read under webtool_export.md, the files must give exactly the validated
records that the contract-form extract gives; the rows the webtool form cannot hold are left out
(below). The services file is the contract demo's ``services.csv``, byte for byte.

Files (services with at least one row written, in code order; at the defaults 37 of the 38
services, the one without records has no file and no parameters entry). Roles are given in this
order, each to a file not yet given one:

==================  =====================================  ============================================
role                which file                             what it has
==================  =====================================  ============================================
ids                 the smallest code with a leading zero  ``Record ID`` and ``Unit code`` columns
                    (else the first file)                  (the code as a text cell, ``050``)
cp1252 CSV          the last file in code order            ``.csv`` in Windows-1252, CRLF, dates as
                                                           ``DD/MM/YYYY HH:MM`` text, ``Don’t know``
                                                           (byte 0x92) as its "don't know"
short names         the first file left                    headers without question numbers
                                                           (``Gender``, ``DateFLSAssess``, ...)
blank headers       the next file left                     three columns with an empty header cell:
                                                           two empty ones in the middle, and a last
                                                           one holding ``see notes`` in a few rows
UTF-8 CSV           the next file left                     ``.csv`` in UTF-8 with a BOM, CRLF, dates
                                                           as the contract extract writes them
==================  =====================================  ============================================

At the defaults: ids ``050``, short names ``083``, blank headers ``096``, UTF-8 CSV ``101``,
cp1252 CSV ``W57`` (docs/synthetic-data.md, "Webtool-form demo", has every file's quirks).

Every other file is ``.xlsx``. In every file, by its position ``i`` in code order:

- the age column is ``Age Frac diagnosed``, ``Age Frac Diagnosed`` or ``Age at fracture``
  (``i % 3``);
- question 1.10 is the misspelt ``1.10 TypeOfFractue``, except every fourth file (``i % 4 == 3``)
  and the short-names file, which spell it ``TypeOfFracture``;
- "don't know" is ``Don't know``, ``Don’t know`` (U+2019) or the mis-decoding ``Donít know``
  (``i % 3``; the cp1252 CSV always ``Don’t know``), and 15% of the category values respelled
  from ``Not known`` are ``Unknown``. Every file holds its spelling at least once (in ``2.05
  Smoker`` if nowhere else);
- a share of the cells that hold a canonical value with an export spelling are written in that
  spelling (webtool_export.md §3): ``Not known`` → "don't know", ``Not appropriate`` →
  ``Inappropriate``, ``Referred for clinical opinion`` → ``Referred for further clinical
  opinion``, ``Referred to GP`` → ``Referred to GP to decide prescription``, ``HRT`` →
  ``Systemic Oestrogens``, ``Other drug`` → ``Alfacalcidol``/``Calcitriol``/``Raloxifene``/
  ``Strontium ranelate``; fracture site ``Other`` → ``Non hip/non spine`` in even files and
  ``Died`` → ``Patient died`` in odd ones. The share is 0 in every fifth file (``i % 5 == 4``:
  the contract spellings only), 1 in the cp1252 CSV and drawn from 0.5-1 in the others. The
  contract extract's own aliases (``M``/``F``/``U``, ``Y``/``N``) and odd case stay as they are;
- unused questions ``1.10``, ``2.01 Height``, ``2.05 Smoker``, ``5.02 TwoFalls`` hold plausible
  values or blanks (the reader ignores them);
- falls assessment is written as ``5.01 RiskAssesByFLS`` and ``5.10 Referrals`` so that the rule
  of webtool_export.md §4 gives back the contract value (:func:`falls_questions`).

Values: valid dates are Excel date cells (``dd/mm/yyyy``; date-time cells where the contract text
has a time) in ``.xlsx``; whole-number ages and heights are number cells; everything else is a
text cell holding the contract text. Faulty values stay faulty in the same way: an invalid date
stays the same text, an unknown token the same token; the two invalid category values that an
export alias would make valid (``Unknown`` in care home or admitted, and ``Yes`` as a falls
value, which 5.01 would read as assessed) are written ``Not recorded``.

Rows left out (:func:`left_out_reasons`, data_dictionary.md §2's rules 1, 2 and 4): a blank
record id, a conflicting record id, a blank or unknown service code. Exact copies (``duplicate
record``) are written as copies of what their original became, in the same file (a copy's own
trailing space kept, so it is a copy after trimming, as in the contract extract), so that the
reader's rule for files without ids makes them duplicates too. Rows keep the contract extract's
order. If two different records of one service could be read as copies of each other (no record
id to tell them apart), that service's file also gets the ``Record ID`` column
(:func:`colliding_services`; at the defaults no service needs it).

Deterministic: the same arguments give byte-identical files. The extra draws come from
``numpy.random.default_rng([seed, year, 2])``, so the contract files are untouched; the
workbooks' document dates are fixed at 1 July after the fracture year and every zip entry is
dated 1980-01-01. The workbooks are written in openpyxl's write-only mode (the fastest) and then
given the ``<dimension>`` element that Excel writes and that mode leaves out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from fls_report import dictionary as dd
from fls_report.io import write_bytes_atomic
from fls_report.synth import generate
from fls_report.validate import nhs_number_digits, parse_date, parse_therapy, parse_whole_number

#: Default folder of ``fls-report synth --format webtool``.
DEFAULT_OUT = "data/synthetic-webtool"

#: The age header's three spellings in real exports (webtool_export.md §2).
AGE_HEADERS = ("Age Frac diagnosed", "Age Frac Diagnosed", "Age at fracture")
#: "Don't know" as the exports spell it: plain, with U+2019, and cp1252 mis-decoded.
DONT_KNOW = ("Don't know", "Don\u2019t know", "Don\u00edt know")
#: Written for an invalid contract value that an export alias would turn into a valid one.
NOT_RECORDED = "Not recorded"

#: Export columns in question order: (question number or None, short name, key). A key is a
#: contract column, or one of the export's own columns below.
QUESTIONS: tuple[tuple[str | None, str, str], ...] = (
    ("1.01", "NHSNumber", "nhs_number"),
    ("1.02", "DateOfBirth", "date_of_birth"),
    (None, "Age", "age_at_fracture"),
    ("1.03", "Gender", "sex"),
    ("1.04", "Post Code", "postcode"),
    ("1.05", "CareRes", "care_home"),
    ("1.06", "DateFLSContact", "date_identified"),
    ("1.07", "DateFLSAssess", "date_assessed"),
    ("1.08", "AdmitHosp", "admitted"),
    ("1.09", "Date Index Frac Diagnosed", "date_fracture"),
    ("1.10", "TypeOfFracture", "type_of_fracture"),
    ("1.11", "SiteFirstFrac", "fracture_site"),
    ("2.01", "Height", "height"),
    ("2.05", "Smoker", "smoker"),
    ("3.01", "DXA", "dxa"),
    ("3.03", "DateofDXA", "date_dxa"),
    ("4.01", "BoneTherapy", "bone_therapy_recommended"),
    ("5.01", "RiskAssesByFLS", "falls_501"),
    ("5.02", "TwoFalls", "two_falls"),
    ("5.10", "Referrals", "falls_510"),
    ("6.01", "FollowUp12_16", "followup_16wk"),
    ("6.02", "Dateof16WeekAss", "date_followup_16wk"),
    ("6.05", "BoneTherapy1216", "treatment_16wk"),
    ("6.06", "StartStrenBalExe", "strength_balance_16wk"),
    ("7.01", "FollowUp48_56", "followup_52wk"),
    ("7.02", "Dateof52WeekAss", "date_followup_52wk"),
    ("7.05", "BoneTherapy4856", "treatment_52wk"),
)
MISSPELT_1_10 = "1.10 TypeOfFractue"
#: Keys after which the blank-header file has an empty header cell ("" = at the end; the last
#: one holds a stray value in a few rows, so that a column with no header still holds something).
BLANK_AFTER = ("fracture_site", "two_falls", "")
STRAY_VALUE = "see notes"

#: 5.10 referral tokens: falls tokens (§4: the word fall/falls, not starting "no "/"not ") and others.
FALLS_TOKENS = ("Falls clinic", "Falls service", "Community falls team", "Falls prevention service")
OTHER_REFERRALS = ("Physiotherapy", "Occupational therapy", "Orthogeriatrics", "No falls referral needed",
                   "Not referred to falls service")

#: Canonical therapy token -> export spellings (webtool_export.md §3); "Not known" takes the file's.
_TOKEN_SPELLINGS = {
    "not appropriate": ("Inappropriate",),
    "referred for clinical opinion": ("Referred for further clinical opinion",),
    "referred to gp": ("Referred to GP to decide prescription",),
    "hrt": ("Systemic Oestrogens",),
    "other drug": ("Alfacalcidol", "Calcitriol", "Raloxifene", "Strontium ranelate"),
    "not known": (),
}
#: Export aliases by canonical value (to keep an invalid contract value invalid).
_ALIASES = {
    "Not known": ("don't know", "donít know", "unknown"),
    "Not appropriate": ("inappropriate",),
    "Other": ("non hip/non spine", "non-hip non-spine"),
    "Died": ("patient died",),
}
_CATEGORY_COLUMNS = tuple(c for c in dd.CATEGORIES if c != "falls_assessment")
_TIME = re.compile(r"[ T](\d{2}):(\d{2})(?::(\d{2}))?$")
_WHOLE = re.compile(r"\d+(?:\.0*)?")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_DATE_FORMAT, _DATETIME_FORMAT = "dd/mm/yyyy", "dd/mm/yyyy hh:mm"

XLSX, CSV_CP1252, CSV_UTF8 = "xlsx", "csv-cp1252", "csv-utf8"


@dataclass(frozen=True)
class ExportFile:
    """How one service's export file is written."""

    code: str
    year: int
    position: int  # in code order among the files
    name: str
    kind: str  # XLSX, CSV_CP1252 or CSV_UTF8
    numbered: bool  # headers start with the question number
    age_header: str
    type_header: str  # question 1.10's header
    dont_know: str
    ids: bool  # Record ID and Unit code columns
    blank_headers: bool
    export_share: float  # share of respellable cells written in export spelling
    site_other: bool  # fracture site Other -> Non hip/non spine
    patient_died: bool  # Died -> Patient died


# ----------------------------------------------------------------------------------------------
# Public API


def write_webtool(
    out_dir: str | os.PathLike, services: int = 38, patients: int = 18356, year: int = 2016, seed: int = 2016
) -> tuple[list[tuple[str, Path]], Path]:
    """Write the synthetic extract as one webtool export per service, and ``services.csv``.

    Parameters are those of :func:`fls_report.synth.generate`; the patients are the same.

    Returns
    -------
    tuple
        ``[(service_code, path), ...]`` in service-code order (services with no row to write
        have no file), and the path of ``services.csv``.

    Raises
    ------
    InputError
        When an argument is out of range (as :func:`fls_report.synth.generate`).
    """
    extract, services_frame = generate(services=services, patients=patients, year=year, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec, data in export_files(extract, services_frame, int(year), int(seed)):
        written.append((spec.code, write_bytes_atomic(out / spec.name, data)))
    services_path = write_bytes_atomic(
        out / "services.csv", services_frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    )
    return written, services_path


def extract_entries(written: list[tuple[str, Path]], folder: str = ".") -> list[dict[str, str]]:
    """The ``extract:`` list of a parameters file for the files :func:`write_webtool` wrote
    (webtool_export.md §1): ``service`` and ``path`` (``folder/<name>``), and ``encoding: cp1252``
    for the CSV that is not UTF-8."""
    entries = []
    for code, path in written:
        entry = {"service": code, "path": f"{folder}/{path.name}"}
        if path.suffix == ".csv":
            try:
                path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                entry["encoding"] = "cp1252"
        entries.append(entry)
    return entries


def export_files(extract: pd.DataFrame, services_frame: pd.DataFrame, year: int, seed: int):
    """Yield ``(ExportFile, bytes)`` per service with rows to write, in code order."""
    codes = sorted(services_frame["service_code"].tolist())
    reasons = left_out_reasons(extract, codes)
    kept = extract[reasons == ""]
    by_service = {code: np.flatnonzero(kept["service_code"].to_numpy() == code) for code in codes}
    present = [c for c in codes if by_service[c].size]
    collide = colliding_services(kept)
    rng = np.random.default_rng([seed, year, 2])
    for spec in plan_files(present, year, rng):
        if spec.code in collide and not spec.ids:
            spec = replace(spec, ids=True)
        rows = kept.iloc[by_service[spec.code]].reset_index(drop=True)
        yield spec, _file_bytes(spec, _export_columns(rows, spec, rng))


def left_out_reasons(extract: pd.DataFrame, codes) -> pd.Series:
    """Why each contract row cannot be written in webtool form ("" for a row that is written).

    The reasons are data_dictionary.md §2's ``missing record_id``, ``conflicting record_id`` and
    ``unknown service``, checked in that order on trimmed text; exact copies are written.
    """
    trimmed = extract.apply(lambda s: s.str.strip())
    record_id = trimmed["record_id"]
    reason = pd.Series("", index=extract.index, dtype=object)
    reason[record_id == ""] = dd.REJECT_MISSING_ID
    repeated = (record_id != "") & record_id.duplicated(keep=False)
    versions = trimmed[repeated].drop_duplicates()
    conflicting = repeated & record_id.isin(versions.loc[versions["record_id"].duplicated(), "record_id"])
    reason[conflicting & (reason == "")] = dd.REJECT_CONFLICTING_ID
    reason[~trimmed["service_code"].isin(list(codes)) & (reason == "")] = dd.REJECT_UNKNOWN_SERVICE
    return reason


def colliding_services(kept: pd.DataFrame) -> set[str]:
    """Services with two different records that a reader without ids could take for copies.

    Each contract column except the ids is reduced to what the duplicate rule of
    webtool_export.md §2 compares (valid values canonical, invalid ones trimmed and case-folded,
    lists as token sets, dates as dates); rows that are copies of an earlier row with the same
    record id are set aside, as they are meant to be duplicates.
    """
    if kept.empty:
        return set()
    trimmed = kept.apply(lambda s: s.str.strip())
    copies = trimmed.duplicated(keep="first")
    key = pd.DataFrame({"service_code": trimmed["service_code"]})
    for column in dd.EXTRACT_COLUMNS[2:]:
        key[column] = _map_unique(trimmed[column], lambda text, c=column: _compared(c, text))
    records = key[~copies.to_numpy()]
    return set(records.loc[records.duplicated(keep=False), "service_code"])


def falls_questions(falls: str, u: float, v: float, k: int, dont_know: str, export: bool) -> tuple[str, str]:
    """The ``5.01``/``5.10`` pair for a contract ``falls_assessment`` text (webtool_export.md §4).

    ``u`` and ``v`` are uniform draws and ``k`` a whole number choosing among the variants;
    ``export`` says whether to use the export spelling for Not appropriate and Not known.
    ``Assessed`` → 5.01 ``Yes`` (5.10 anything); ``Referred`` → 5.01 ``No`` or blank and a
    falls token in 5.10; ``Not assessed`` → ``No`` and 5.10 blank or other referrals;
    ``Not appropriate`` → ``Inappropriate`` (or as written); ``Not known`` → "don't know" (or as
    written); blank → both blank; an invalid value → the same text in 5.01 (``Not recorded``
    where 5.01 would read it) and 5.10 blank. The case and padding of the contract text are kept.
    """
    core = falls.strip()
    canonical = dd.category_lookup("falls_assessment").get(core.lower())
    falls_token = FALLS_TOKENS[k % len(FALLS_TOKENS)]
    other = OTHER_REFERRALS[k % len(OTHER_REFERRALS)]
    if not core:
        return "", ""
    if canonical is None:
        recognised = core.lower().replace("\u2019", "'") in {"yes", "no", "y", "n", "not appropriate", "not known",
                                                            *_ALIASES["Not known"], *_ALIASES["Not appropriate"]}
        return (NOT_RECORDED if recognised else falls), ""
    if canonical == "Assessed":
        referral = "" if v < 0.5 else (falls_token if v < 0.8 else other)
        return _like(falls, canonical, "Yes"), referral
    if canonical == "Referred":
        referral = falls_token if v < 0.7 else f"{other}; {falls_token}"
        return ("" if u < 0.4 else _like(falls, canonical, "No")), referral
    referral = "" if v < 0.6 else other
    if canonical == "Not assessed":
        return _like(falls, canonical, "No"), referral
    if canonical == "Not appropriate":
        return (_like(falls, canonical, "Inappropriate") if export else falls), referral
    return (_like(falls, canonical, dont_know) if export else falls), ""  # Not known


def plan_files(codes: list[str], year: int, rng) -> list[ExportFile]:
    """The export files of ``codes`` (services with rows, in code order) and their quirks."""
    n = len(codes)
    roles: dict[str, int] = {}
    taken: set[int] = set()

    def give(role: str, index: int | None) -> None:
        if index is not None and index not in taken:
            roles[role] = index
            taken.add(index)

    zero = [i for i, c in enumerate(codes) if c.startswith("0")]
    give("ids", zero[0] if zero else (0 if n else None))
    give("cp1252", n - 1 if n else None)
    for role in ("short", "blank", "utf8"):
        give(role, next((i for i in range(n) if i not in taken), None))
    shares = rng.uniform(0.5, 1.0, n)
    files = []
    for i, code in enumerate(codes):
        kind = CSV_CP1252 if roles.get("cp1252") == i else CSV_UTF8 if roles.get("utf8") == i else XLSX
        numbered = roles.get("short") != i
        if not numbered:
            type_header = "TypeOfFracture"
        else:
            type_header = MISSPELT_1_10 if i % 4 != 3 else "1.10 TypeOfFracture"
        share = 1.0 if kind == CSV_CP1252 else 0.0 if i % 5 == 4 else float(shares[i])
        files.append(
            ExportFile(
                code=code,
                year=year,
                position=i,
                name=f"{code} flsdb {year}.{'xlsx' if kind == XLSX else 'csv'}",
                kind=kind,
                numbered=numbered,
                age_header=AGE_HEADERS[i % 3],
                type_header=type_header,
                dont_know=DONT_KNOW[1] if kind == CSV_CP1252 else DONT_KNOW[i % 3],
                ids=roles.get("ids") == i,
                blank_headers=roles.get("blank") == i,
                export_share=round(share, 3),
                site_other=i % 2 == 0,
                patient_died=i % 2 == 1,
            )
        )
    return files


# ----------------------------------------------------------------------------------------------
# Columns of one file


def _export_columns(rows: pd.DataFrame, spec: ExportFile, rng) -> list[tuple[str | None, np.ndarray]]:
    """(header, values) of the file in column order; values are str, int, date or datetime."""
    n = len(rows)
    text = {c: rows[c].to_numpy(dtype=object) for c in dd.EXTRACT_COLUMNS}
    out: dict[str, np.ndarray] = {}
    for column in ("record_id", "service_code", "nhs_number", "postcode"):
        out[column] = text[column].copy()
    for column in _CATEGORY_COLUMNS:
        out[column] = _respell_categories(text[column], column, spec, rng)
    for column in dd.THERAPY_COLUMNS:
        out[column] = _respell_lists(text[column], spec, rng)
    u, v, k = rng.random(n), rng.random(n), rng.integers(0, 1 << 16, n)
    export = rng.random(n) < spec.export_share
    pairs = [
        falls_questions(f, a, b, c, spec.dont_know, e)
        for f, a, b, c, e in zip(text["falls_assessment"].tolist(), u.tolist(), v.tolist(), k.tolist(), export.tolist())
    ]
    out["falls_501"] = np.array([p[0] for p in pairs], dtype=object)
    out["falls_510"] = np.array([p[1] for p in pairs], dtype=object)
    for column in dd.DATE_COLUMNS:
        out[column] = _dates(text[column], spec.kind)
    out["age_at_fracture"] = _numbers(text["age_at_fracture"], spec.kind)
    _unused_questions(out, n, spec, rng)

    # Copies of an earlier row are written as copies of what that row became (their own
    # surrounding spaces kept), so the draws above cannot set them apart.
    trimmed = rows.apply(lambda s: s.str.strip())
    first = trimmed.groupby(list(trimmed.columns), sort=False, dropna=False).ngroup().to_numpy()
    origin = pd.Series(np.arange(n)).groupby(first).transform("min").to_numpy()
    for i in np.flatnonzero(origin != np.arange(n)).tolist():
        j = int(origin[i])
        for key, values in out.items():
            values[i] = values[j]
            source = text.get(key)
            if source is not None and source[i] != source[j] and isinstance(values[j], str):
                values[i] = _pad_like(source[i], values[j])

    columns: list[tuple[str | None, np.ndarray]] = []
    if spec.ids:
        columns += [("Record ID", out["record_id"]), ("Unit code", out["service_code"])]
    for question, short, key in QUESTIONS:
        header = short
        if key == "age_at_fracture":
            header = spec.age_header
        elif key == "type_of_fracture":
            header = spec.type_header
        elif spec.numbered:
            header = f"{question} {short}"
        columns.append((header, out[key]))
        if spec.blank_headers and key in BLANK_AFTER:
            columns.append((None, out[f"blank_{BLANK_AFTER.index(key)}"]))
    if spec.blank_headers:
        columns.append((None, out[f"blank_{BLANK_AFTER.index('')}"]))
    return columns


def _respell_categories(text: np.ndarray, column: str, spec: ExportFile, rng) -> np.ndarray:
    n = text.size
    lookup = dd.category_lookup(column)
    targets = {"Not known": spec.dont_know, "Not appropriate": "Inappropriate"}
    if spec.patient_died:
        targets["Died"] = "Patient died"
    if spec.site_other and column == "fracture_site":
        targets["Other"] = "Non hip/non spine"
    aliases = {a for value in dd.CATEGORIES[column] for a in _ALIASES.get(value, ())}
    u, unknown = rng.random(n), rng.random(n) < 0.15
    out = text.copy()
    for i in range(n):
        source = text[i]
        core = source.strip()
        if not core:
            continue
        canonical = lookup.get(core.lower())
        if canonical is None:
            if core.lower().replace("\u2019", "'") in aliases:
                out[i] = NOT_RECORDED
        elif canonical in targets and core.lower() == canonical.lower() and u[i] < spec.export_share:
            new = "Unknown" if canonical == "Not known" and unknown[i] else targets[canonical]
            out[i] = _like(source, canonical, new)
    return out


def _respell_lists(text: np.ndarray, spec: ExportFile, rng) -> np.ndarray:
    n = text.size
    u, pick = rng.random(n), rng.integers(0, 4, n)
    out = text.copy()
    for i in np.flatnonzero(u < spec.export_share).tolist():
        tokens = text[i].split(";")
        for t, token in enumerate(tokens):
            core = token.strip().lower()
            if core in _TOKEN_SPELLINGS:
                options = _TOKEN_SPELLINGS[core] or (spec.dont_know,)
                canonical = parse_therapy(core)[0][0]
                tokens[t] = _like(token, canonical, options[int(pick[i]) % len(options)])
        out[i] = ";".join(tokens)
    return out


def _dates(text: np.ndarray, kind: str) -> np.ndarray:
    """Valid dates as date/datetime values (xlsx) or ``DD/MM/YYYY HH:MM`` (cp1252); else the text."""
    if kind == CSV_UTF8:
        return text.copy()
    return _map_unique(pd.Series(text), lambda s: _date_cell(s, kind)).to_numpy(dtype=object)


def _date_cell(source: str, kind: str):
    day = parse_date(source.strip())
    if day is None:
        return source
    value: dt.date = day
    match = _TIME.search(source.strip()) if "-" in source else None
    if match:
        try:
            value = dt.datetime(day.year, day.month, day.day, int(match[1]), int(match[2]), int(match[3] or 0))
        except ValueError:
            pass
    if kind == XLSX:
        return value
    hour, minute = (value.hour, value.minute) if isinstance(value, dt.datetime) else (0, 0)
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d} {hour:02d}:{minute:02d}"


def _numbers(text: np.ndarray, kind: str) -> np.ndarray:
    """Whole numbers as ints in ``.xlsx``; anything else (and every CSV cell) as its text."""
    if kind != XLSX:
        return text.copy()
    return _map_unique(
        pd.Series(text), lambda s: parse_whole_number(s.strip()) if _WHOLE.fullmatch(s.strip()) else s
    ).to_numpy(dtype=object)


def _unused_questions(out: dict, n: int, spec: ExportFile, rng) -> None:
    """Plausible values for the known questions the KPIs do not use, and the blank-header columns."""
    dk = spec.dont_know

    def choose(values: tuple, p: tuple) -> np.ndarray:
        return np.array(values, dtype=object)[rng.choice(len(values), size=n, p=p)]

    out["type_of_fracture"] = choose(("Fragility", ""), (0.88, 0.12))
    height, measured = rng.integers(148, 189, n).tolist(), (rng.random(n) < 0.6).tolist()
    out["height"] = np.array(
        [(h if spec.kind == XLSX else str(h)) if m else "" for h, m in zip(height, measured)], dtype=object
    )
    out["smoker"] = choose(("Yes", "No", dk, ""), (0.12, 0.6, 0.1, 0.18))
    out["two_falls"] = choose(("Yes", "No", dk, ""), (0.25, 0.45, 0.1, 0.2))
    if n and dk not in out["smoker"].tolist():
        out["smoker"][0] = dk  # every file shows its spelling of "don't know"
    stray = np.full(n, "", dtype=object)
    if n:
        stray[rng.random(n) < 0.01] = STRAY_VALUE
        stray[0] = STRAY_VALUE
    out["blank_0"], out["blank_1"], out["blank_2"] = np.full(n, "", dtype=object), np.full(n, "", dtype=object), stray


# ----------------------------------------------------------------------------------------------
# Writing


def _file_bytes(spec: ExportFile, columns: list[tuple[str | None, np.ndarray]]) -> bytes:
    headers = [h for h, _ in columns]
    rows = zip(*(values.tolist() for _, values in columns))
    if spec.kind == XLSX:
        return _xlsx_bytes(headers, rows, dt.datetime(spec.year + 1, 7, 1, 9, 0))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["" if h is None else h for h in headers])
    writer.writerows(rows)
    if spec.kind == CSV_CP1252:
        return buffer.getvalue().encode("cp1252")
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_bytes(headers: list[str | None], rows, when: dt.datetime) -> bytes:
    """A one-sheet workbook; blank text cells are left empty, dates get a UK date format."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("FLS-DB export")
    sheet.append(headers)
    count = 1
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, dt.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = _DATETIME_FORMAT if isinstance(value, dt.datetime) else _DATE_FORMAT
                cells.append(cell)
            else:
                cells.append(None if value == "" else value)
        sheet.append(cells)
        count += 1
    book.properties.creator = "fls-report synth (synthetic data)"
    book.properties.created = book.properties.modified = when
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).save()  # not Workbook.save, which stamps the time
    return _finish_zip(buffer.getvalue(), f"A1:{get_column_letter(len(headers))}{count}")


def _finish_zip(data: bytes, dimension: str) -> bytes:
    """The workbook as Excel writes it, and reproducible.

    A write-only worksheet has no ``<dimension>`` (its size is unknown when its head is
    written), so readers that size a sheet from it would see ragged rows: it is added here. Every
    zip entry is dated 1980-01-01 (zipfile stamps the current time).
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml" and b"<dimension " not in content:
                content = content.replace(b"<sheetViews>", f'<dimension ref="{dimension}"/><sheetViews>'.encode(), 1)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------
# Small helpers


def _like(source: str, canonical: str, new: str) -> str:
    """``new`` in the case of ``source`` (when it is ``canonical`` in lower or upper case), padded alike."""
    core = source.strip()
    if core != canonical and core == canonical.lower():
        new = new.lower()
    elif core != canonical and core == canonical.upper():
        new = new.upper()
    return _pad_like(source, new)


def _pad_like(source: str, new) -> str:
    core = source.strip()
    if not core or not isinstance(new, str):
        return new
    start = source.find(core)
    return source[:start] + new.strip() + source[start + len(core):]


def _map_unique(series: pd.Series, func) -> pd.Series:
    codes, uniques = pd.factorize(series, sort=False)
    values = np.empty(len(uniques), dtype=object)
    values[:] = [func(u) for u in uniques]
    return pd.Series(values[codes], index=series.index, dtype=object)


def _compared(column: str, text: str) -> str:
    """What the duplicate rule compares for one trimmed contract value (see colliding_services)."""
    if not text:
        return ""
    if column in dd.DATE_COLUMNS:
        day = parse_date(text)
        return day.isoformat() if day else "!" + text.casefold()
    if column in dd.CATEGORIES:
        return dd.category_lookup(column).get(text.lower(), "!" + text.casefold())
    if column in dd.THERAPY_COLUMNS:
        valid, _ = parse_therapy(text)
        unknown = sorted({t.strip().casefold() for t in text.split(";") if t.strip()} - {t.casefold() for t in valid})
        return ";".join(valid) + "|" + ";".join(unknown)
    if column == "age_at_fracture":
        number = parse_whole_number(text)
        return str(number) if number is not None else "!" + text.casefold()
    if column == "nhs_number":
        return nhs_number_digits(text) or "!" + text.casefold()
    return text.casefold()
