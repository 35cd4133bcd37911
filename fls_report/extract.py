"""Read the extract's files as they come: contract files and FLS-DB webtool exports.

Implements webtool_export.md §1–§4 and §6 (what the reader saw): the format of each file is
detected from its header row; a **contract** file is read under data_dictionary.md as it is; a
**webtool export** has its headers mapped by question number, then by short name or alias
(:mod:`fls_report.mapping`), its category values and therapy tokens put through the mapping's value
aliases, ``falls_assessment`` derived from questions 5.01 and 5.10, day-first dates with a time
cut to the date, and, when it has no record id column, an id generated per row. Either way the
result is the contract's text columns, so everything downstream (:mod:`fls_report.validate`,
the KPIs) is unchanged.

Nothing here decides whether a row is rejected: that is validation's job. What this module
reports, per file, is what was mapped, what was ignored and which values were not recognised
(:class:`FileReading`), which ``fls-report inspect`` prints and ``compute`` writes to
``restricted/unrecognised_values.csv``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from fls_report import dictionary as dd
from fls_report.errors import InputError, printable
from fls_report.io import SOURCE_ROW, blank_header_position, read_table
from fls_report.mapping import (
    FALLS_REFERRALS_QUESTION,
    FALLS_RISK_QUESTION,
    QUESTION_NUMBER,
    Mapping,
    header_key,
    value_key,
)
from fls_report.params import ExtractFile

SOURCE_FILE = "source_file"
#: True where the row's record id was generated (webtool_export.md §2, *Record ids*).
GENERATED_ID = "generated_id"

CONTRACT, WEBTOOL = "contract", "webtool export"

# What became of a header (webtool_export.md §2, §6).
MAPPED = "mapped"
UNUSED = "known question, not used"
BLANK = "blank"
NOT_RECOGNISED = "not recognised"
IGNORED = "ignored (not a contract column)"

#: Headers a spreadsheet tool invents for a blank header cell: pandas' ``Unnamed: 3``, R's ``...3``.
_INVENTED_BLANK = re.compile(r"Unnamed: \d+(?:_level_\d+)?|\.\.\.\d+")
#: A day-first date with a time, as a CSV saved from Excel writes it (webtool_export.md §3).
_DAY_FIRST_WITH_TIME = re.compile(r"(\d{1,2}/\d{1,2}/\d{4})[ T]\d{1,2}:\d{2}(?::\d{2})?")
_FALLS_WORD = re.compile(r"\bfalls?\b")
#: The values of question 5.01 (webtool_export.md §4).
FALLS_RISK_VALUES: tuple[str, ...] = ("Yes", "No", "Not appropriate", "Not known")
_FALLS_FROM_RISK = {"Yes": "Assessed", "No": "Not assessed", "Not appropriate": "Not appropriate",
                    "Not known": "Not known"}

def map_distinct(series: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct value and map the results back (object dtype)."""
    codes, uniques = pd.factorize(series, sort=False)
    values = [func(u) for u in uniques]
    out = pd.Series(values, dtype=object).take(codes) if len(values) else pd.Series([], dtype=object)
    out.index = series.index
    return out


@dataclass(frozen=True)
class HeaderReading:
    """One header of a file and what the reader made of it."""

    position: int
    header: str
    outcome: str
    column: str | None = None
    question: str | None = None
    filled: int = 0  # rows with a value under a blank header

    @property
    def shown(self) -> str:
        """The header as it may be printed (blank ones by position, others masked if need be)."""
        position = blank_header_position(self.header)
        if position is not None:
            return f"(blank, column {position})"
        return self.header if self.outcome in (MAPPED, UNUSED) else printable(self.header)


@dataclass(frozen=True)
class FileReading:
    """What the reader did with one file (webtool_export.md §6).

    ``unrecognised`` has the columns ``service_code``, ``column`` (the header as in the file),
    ``field`` (the contract column it feeds), ``value`` and ``rows``: every category value and
    therapy token that is neither canonical nor an alias, counted over the file's data rows.
    """

    file: ExtractFile
    format: str
    rows: int
    headers: tuple[HeaderReading, ...]
    absent: tuple[str, ...]
    unrecognised: pd.DataFrame
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extract:
    """Every file of the extract, read into the contract's columns.

    Attributes
    ----------
    frame
        The contract's columns as trimmed text (a column a file lacks is blank), then
        ``source_file`` (the path as the parameters write it), ``source_row`` (the row's line
        in its file, the header being line 1) and ``generated_id``; rows in the order of the
        ``extract`` list, then line order.
    file_columns
        Contract columns present in at least one file, in contract order (what a rejected row
        keeps, and what "copies" compare).
    files
        One :class:`FileReading` per file.
    """

    frame: pd.DataFrame
    file_columns: list[str]
    files: tuple[FileReading, ...]

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(note for reading in self.files for note in reading.notes)

    @property
    def unrecognised(self) -> pd.DataFrame:
        """Unrecognised values of every file: ``service_code``, ``file``, ``column``, ``field``,
        ``value``, ``rows`` (restricted: the text may be anything a user typed)."""
        parts = [r.unrecognised.assign(file=r.file.written) for r in self.files]
        columns = ["service_code", "file", "column", "field", "value", "rows"]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
        return frame[columns]


# ---------------------------------------------------------------------------------------------
# Headers (webtool_export.md §2)


def map_headers(names: list[str], mapping: Mapping) -> list[HeaderReading]:
    """Map a webtool file's headers: question number, then name or alias, then blank; else not
    recognised."""
    by_name = mapping.by_name()
    out = []
    for position, name in enumerate(names, start=1):
        number = QUESTION_NUMBER.match(name)
        if number and number.group(1) in mapping.questions:
            question = mapping.questions[number.group(1)]
            outcome = MAPPED if question.column else UNUSED
            out.append(HeaderReading(position, name, outcome, question.column, question.number))
        elif not number and header_key(name) in by_name:
            question, column = by_name[header_key(name)]
            out.append(HeaderReading(position, name, MAPPED if column else UNUSED, column, question))
        elif blank_header_position(name) is not None or _INVENTED_BLANK.fullmatch(name):
            out.append(HeaderReading(position, name, BLANK))
        else:
            out.append(HeaderReading(position, name, NOT_RECOGNISED))
    return out


def contract_core_present(names: set[str], listed: bool) -> bool:
    """Whether a header row holds every core contract column exactly (``service_code`` may be
    absent from a listed file; ``date_of_birth`` stands in for ``age_at_fracture``)."""
    needed = [c for c in dd.CORE_COLUMNS if c != "age_at_fracture" and not (listed and c == "service_code")]
    return all(c in names for c in needed) and ("age_at_fracture" in names or "date_of_birth" in names)


def detect_format(names: list[str], mapping: Mapping, listed: bool) -> str:
    """``contract`` or ``webtool export`` (webtool_export.md §1): a file with every core contract
    column is a contract file; otherwise one with at least three headers that name a question by
    number or short name (contract names not counted) is a webtool export; anything else is read
    as a contract file, so its missing core columns are reported."""
    if contract_core_present(set(names), listed):
        return CONTRACT
    contract_names = set(dd.EXTRACT_COLUMNS)
    questions = sum(
        1 for h in map_headers(names, mapping) if h.question is not None and h.header not in contract_names
    )
    return WEBTOOL if questions >= 3 else CONTRACT


def _check_clashes(path: str, headers: list[HeaderReading]) -> None:
    """Two headers on one question, or on one contract column, are a fatal error naming both
    (5.01 and 5.10 both feed falls_assessment through §4, which is not a clash)."""
    falls_pair = {FALLS_RISK_QUESTION, FALLS_REFERRALS_QUESTION}
    seen_question: dict[str, HeaderReading] = {}
    seen_column: dict[str, HeaderReading] = {}
    for header in headers:
        if header.question is not None:
            other = seen_question.setdefault(header.question, header)
            if other is not header:
                raise InputError(
                    f"{path}: headers '{other.shown}' (column {other.position}) and '{header.shown}' "
                    f"(column {header.position}) are both question {header.question}"
                )
        if header.column is not None:
            other = seen_column.setdefault(header.column, header)
            if other is not header and not {other.question, header.question} == falls_pair:
                raise InputError(
                    f"{path}: headers '{other.shown}' (column {other.position}) and '{header.shown}' "
                    f"(column {header.position}) both map to the column {header.column}"
                )


# ---------------------------------------------------------------------------------------------
# Values (webtool_export.md §3, §4)


def _category_lookup(column: str, mapping: Mapping | None) -> dict[str, str]:
    """Spelling key -> canonical value for a category column: the data dictionary's spellings and
    aliases, plus (webtool files) the mapping's value aliases onto this column's values."""
    lookup = {value_key(k): v for k, v in dd.category_lookup(column).items()}
    if mapping is not None:
        lookup.update(mapping.aliases_for(dd.CATEGORIES[column]))
    return lookup


def _therapy_lookup(mapping: Mapping | None) -> dict[str, str]:
    lookup = {value_key(v): v for v in dd.THERAPY_TOKENS}
    if mapping is not None:
        lookup.update(mapping.aliases_for(dd.THERAPY_TOKENS))
    return lookup


def _falls_risk_lookup(mapping: Mapping) -> dict[str, str]:
    lookup = {value_key(v): v for v in FALLS_RISK_VALUES}
    lookup.update({k: v for k, v in dd.YES_NO_ALIASES.items()})
    lookup.update(mapping.aliases_for(FALLS_RISK_VALUES))
    return lookup


def is_falls_token(token: str) -> bool:
    """A 5.10 referral token that is a falls referral (webtool_export.md §4): trimmed and
    case-folded, it holds the word ``fall`` or ``falls`` and does not start with ``no `` or ``not ``."""
    token = token.strip().casefold()
    return bool(_FALLS_WORD.search(token)) and not token.startswith(("no ", "not "))


#: The rule of webtool_export.md §4 in words, for the reports' methods sections.
FALLS_RULE_TEXT = (
    "Webtool exports have no falls assessment column: KPI6's falls assessment is read from question "
    "5.01 (risk assessed by the FLS) and question 5.10 (referrals). A patient is counted as assessed "
    "when 5.01 is Yes; otherwise as referred when 5.10 names a falls referral (a referral mentioning "
    "\"fall\" or \"falls\" that does not start with \"no\" or \"not\"); otherwise 5.01's No, Not "
    "appropriate or Not known stands. A 5.01 value that is none of these is an invalid value, treated "
    "as blank."
)


def derive_falls_assessment(risk: str, referrals: str, lookup: dict[str, str]) -> str:
    """``falls_assessment`` from a 5.01 cell and a 5.10 cell (webtool_export.md §4, first rule that
    applies). An unrecognised 5.01 value (rule 7) is returned as text that no rule of the data
    dictionary accepts, so that validation records an ``invalid value`` on falls_assessment."""
    risk_value = lookup.get(value_key(risk)) if risk else None
    if risk_value == "Yes":
        return "Assessed"
    if any(is_falls_token(t) for t in referrals.split(";")):
        return "Referred"
    if risk_value is not None:
        return _FALLS_FROM_RISK[risk_value]
    if not risk:
        return ""
    if value_key(risk) in {value_key(v) for v in dd.CATEGORIES["falls_assessment"]}:
        return f"{risk} (question {FALLS_RISK_QUESTION})"  # a falls value, but not one 5.01 has
    return risk


def _canonical_categories(series: pd.Series, lookup: dict[str, str]) -> pd.Series:
    """Each known spelling or alias as its canonical value; anything else left as it is."""
    return map_distinct(series, lambda t: lookup.get(value_key(t), t) if t else t)


def _canonical_therapy(series: pd.Series, lookup: dict[str, str]) -> pd.Series:
    """Each token of each list as its canonical value where known, rejoined with ``;``."""

    def one(text: str) -> str:
        if not text:
            return text
        tokens = [t.strip() for t in text.split(";")]
        return ";".join(lookup.get(value_key(t), t) for t in tokens)

    return map_distinct(series, one)


def _cut_times(series: pd.Series) -> pd.Series:
    """``D/M/YYYY HH:MM[:SS]`` as ``D/M/YYYY``; other text unchanged."""
    return map_distinct(series, lambda t: m.group(1) if (m := _DAY_FIRST_WITH_TIME.fullmatch(t)) else t)


def _unrecognised(service: pd.Series, text: pd.Series, header: str, field: str,
                  known: dict[str, str], therapy: bool) -> pd.DataFrame:
    """Rows per service and value (or therapy token) of ``text`` that ``known`` does not hold."""
    codes, uniques = pd.factorize(text, sort=False)
    bad_values: dict[int, list[str]] = {}
    for i, value in enumerate(uniques):
        if not value:
            continue
        if therapy:
            tokens = dict.fromkeys(t.strip() for t in value.split(";") if t.strip())
            bad = [t for t in tokens if value_key(t) not in known]
        else:
            bad = [value] if value_key(value) not in known else []
        if bad:
            bad_values[i] = bad
    columns = ["service_code", "column", "field", "value", "rows"]
    if not bad_values:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    rows = np.isin(codes, list(bad_values))
    counted = (
        pd.DataFrame({"service_code": service.to_numpy()[rows], "code": codes[rows]})
        .groupby(["service_code", "code"], sort=False).size().reset_index(name="rows")
    )
    counted["value"] = [bad_values[c] for c in counted["code"]]
    counted = counted.explode("value")
    counted["rows"] = counted["rows"].astype(int)
    counted = counted.groupby(["service_code", "value"], sort=True, as_index=False)["rows"].sum()
    return counted.assign(column=header, field=field)[columns]


# ---------------------------------------------------------------------------------------------
# Files


def read_extract(params, service_codes: list[str], mapping: Mapping, services_path: Path | None = None) -> Extract:
    """Read every file of the extract (webtool_export.md §1–§4).

    Parameters
    ----------
    params
        The run's parameters (its ``extract`` files and their encodings).
    service_codes
        The codes in the services file: each listed file's ``service`` must be one of them.
    mapping
        The webtool mapping to apply to webtool files.

    Raises
    ------
    InputError
        For a listed ``service`` not in the services file, and every fatal problem of a file.
    """
    check_entries(params, service_codes, services_path)
    frames, readings = [], []
    for file in params.extract:
        frame, reading = read_file(file, mapping)
        frames.append(frame)
        readings.append(reading)
    present = set().union(*(set(f.attrs["file_columns"]) for f in frames))
    file_columns = [c for c in dd.EXTRACT_COLUMNS if c in present]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    frame.attrs = {}
    return Extract(frame=frame, file_columns=file_columns, files=tuple(readings))


def check_entries(params, service_codes: list[str], services_path: Path | None = None) -> None:
    """Every listed file's ``service`` must be in the services file (webtool_export.md §1)."""
    known = set(service_codes)
    for number, file in enumerate(params.extract, start=1):
        if file.service is not None and file.service not in known:
            where = f" {services_path}" if services_path else ""
            raise InputError(
                f"{params.source}: extract entry {number} ({file.written}): service '{file.service}' "
                f"is not in the services file{where}"
            )


def read_file(file: ExtractFile, mapping: Mapping) -> tuple[pd.DataFrame, FileReading]:
    """Read one file of the extract into the contract's text columns, and say how it was read."""
    raw = read_table(file.path, "extract", file.encoding)
    names = [c for c in raw.columns if c != SOURCE_ROW]
    listed = file.service is not None
    if detect_format(names, mapping, listed) == WEBTOOL:
        return _read_webtool(file, raw, names, mapping)
    return _read_contract(file, raw, names)


def _finish(file: ExtractFile, raw: pd.DataFrame, columns: dict[str, pd.Series], generated: bool) -> pd.DataFrame:
    """The contract's columns (blank where absent), ``source_file``, ``source_row`` and
    ``generated_id``, with the file's own service code checked against its entry."""
    out = pd.DataFrame(index=raw.index)
    blank = pd.Series("", index=raw.index, dtype=object)
    for column in dd.EXTRACT_COLUMNS:
        out[column] = columns.get(column, blank)
    if file.service is not None:
        given = out["service_code"]
        wrong = (given != "") & (given != file.service)
        if wrong.any():
            first = wrong.to_numpy().nonzero()[0][0]
            raise InputError(
                f"{file.path}: row {raw[SOURCE_ROW].iat[first]}: the service code "
                f"'{printable(given.iat[first])}' is not the file's service '{file.service}' "
                f"(its entry in the parameters file)"
            )
        out["service_code"] = file.service
    if generated:
        digest = hashlib.sha256(file.path.read_bytes()).hexdigest()[:8]
        out["record_id"] = out["service_code"] + f":{digest}:" + raw[SOURCE_ROW].astype(str)
    out[SOURCE_FILE] = file.written
    out[SOURCE_ROW] = raw[SOURCE_ROW]
    out[GENERATED_ID] = generated
    return out


def _read_contract(file: ExtractFile, raw: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, FileReading]:
    """A contract file, read under data_dictionary.md as it is (no aliases, no derivation)."""
    path = file.path
    present = set(names)
    listed = file.service is not None
    missing_core = [
        c for c in dd.CORE_COLUMNS
        if c not in present
        and not (c == "age_at_fracture" and "date_of_birth" in present)
        and not (c == "service_code" and listed)
    ]
    if missing_core:
        raise InputError(f"{path}: missing core column(s): {', '.join(missing_core)}")
    notes = []
    absent = tuple(c for c in dd.EXTRACT_COLUMNS if c not in present and not (c == "service_code" and listed))
    if absent:
        notes.append(f"{path}: column(s) not in the file, counted as wholly blank: {', '.join(absent)}")
    extra = [c for c in names if c not in dd.EXTRACT_COLUMNS]
    if extra:
        notes.append(f"{path}: ignoring unknown column(s): {', '.join(printable(c) for c in extra)}")
    headers = tuple(
        HeaderReading(i, c, MAPPED, c) if c in dd.EXTRACT_COLUMNS else HeaderReading(i, c, IGNORED)
        for i, c in enumerate(names, start=1)
    )
    columns = {c: raw[c] for c in names if c in dd.EXTRACT_COLUMNS}
    out = _finish(file, raw, columns, generated=False)
    out.attrs["file_columns"] = [c for c in dd.EXTRACT_COLUMNS if c in present or c == "service_code"]
    unrecognised = _unrecognised_of(out, {c: (c, c) for c in columns}, None)
    return out, FileReading(file, CONTRACT, len(raw), headers, absent, unrecognised, tuple(notes))


def _read_webtool(file: ExtractFile, raw: pd.DataFrame, names: list[str], mapping: Mapping
                  ) -> tuple[pd.DataFrame, FileReading]:
    """A webtool export: headers mapped, values aliased, falls assessment derived, ids generated."""
    path = file.path
    headers = map_headers(names, mapping)
    _check_clashes(str(path), headers)
    notes = []
    by_column: dict[str, str] = {}  # contract column -> header (falls: the 5.01/5.10 pair apart)
    risk_header = referrals_header = None
    for header in headers:
        if header.outcome != MAPPED:
            continue
        if header.question == FALLS_RISK_QUESTION and header.column == "falls_assessment":
            risk_header = header.header
        elif header.question == FALLS_REFERRALS_QUESTION and header.column == "falls_assessment":
            referrals_header = header.header
        else:
            by_column[header.column] = header.header

    present = set(by_column) | ({"falls_assessment"} if risk_header or referrals_header else set())
    listed = file.service is not None
    missing_core = [
        c for c in dd.CORE_COLUMNS
        if c not in present
        and not (c == "age_at_fracture" and "date_of_birth" in present)
        and not (c == "record_id")
        and not (c == "service_code" and listed)
    ]
    if missing_core:
        expected = {q.column: f"{q.number} {q.name}" for q in mapping.questions.values() if q.column}
        expected.update({c: f"{aliases[0]}" for c, aliases in mapping.header_aliases.items()})
        raise InputError(
            f"{path}: webtool export without the core column(s) "
            + ", ".join(f"{c} (e.g. '{expected.get(c, c)}')" for c in missing_core)
        )

    unknown = [h for h in headers if h.outcome == NOT_RECOGNISED]
    if unknown:
        notes.append(f"{path}: ignoring header(s) not recognised: " + ", ".join(f"'{h.shown}'" for h in unknown))
    for i, header in enumerate(headers):
        filled = int((raw[header.header] != "").sum()) if header.outcome == BLANK else 0
        if filled:
            headers[i] = replace(header, filled=filled)
            notes.append(
                f"{path}: column {header.position} has a blank header but holds values in {filled} row(s); ignored"
            )
    absent = tuple(
        c for c in dd.EXTRACT_COLUMNS
        if c not in present and c not in ("record_id",) and not (c == "service_code" and listed)
    )
    if absent:
        notes.append(f"{path}: column(s) not in the file, counted as wholly blank: {', '.join(absent)}")

    columns: dict[str, pd.Series] = {}
    for column, header in by_column.items():
        text = raw[header]
        if column in dd.DATE_COLUMNS:
            text = _cut_times(text)
        elif column in dd.CATEGORIES:
            text = _canonical_categories(text, _category_lookup(column, mapping))
        elif column in dd.THERAPY_COLUMNS:
            text = _canonical_therapy(text, _therapy_lookup(mapping))
        columns[column] = text
    if risk_header or referrals_header:
        lookup = _falls_risk_lookup(mapping)
        risk = raw[risk_header] if risk_header else pd.Series("", index=raw.index)
        referrals = raw[referrals_header] if referrals_header else pd.Series("", index=raw.index)
        pairs = pd.Series(list(zip(risk, referrals)), index=raw.index, dtype=object)
        columns["falls_assessment"] = map_distinct(pairs, lambda p: derive_falls_assessment(p[0], p[1], lookup))

    generated = "record_id" not in by_column
    out = _finish(file, raw, columns, generated)
    out.attrs["file_columns"] = [c for c in dd.EXTRACT_COLUMNS if c in present or c in ("record_id", "service_code")]
    sources = {c: (h, c) for c, h in by_column.items()}
    # The unrecognised values are counted on the file's own text, before aliases.
    unrecognised = _unrecognised_of(out.assign(**{c: raw[h] for c, h in by_column.items()}), sources, mapping)
    if risk_header:
        unrecognised = pd.concat(
            [unrecognised, _unrecognised(out["service_code"], raw[risk_header], risk_header, "falls_assessment",
                                         _falls_risk_lookup(mapping), therapy=False)],
            ignore_index=True,
        )
    return out, FileReading(file, WEBTOOL, len(raw), tuple(headers), absent, unrecognised, tuple(notes))


def _unrecognised_of(frame: pd.DataFrame, sources: dict[str, tuple[str, str]], mapping: Mapping | None) -> pd.DataFrame:
    """Unrecognised values of every category and therapy column of a file; ``sources`` maps each
    contract column present to (header in the file, contract column)."""
    parts = []
    for column, (header, field_name) in sources.items():
        if column in dd.CATEGORIES:
            known = _category_lookup(column, mapping)
            parts.append(_unrecognised(frame["service_code"], frame[column], header, field_name, known, therapy=False))
        elif column in dd.THERAPY_COLUMNS:
            known = _therapy_lookup(mapping)
            parts.append(_unrecognised(frame["service_code"], frame[column], header, field_name, known, therapy=True))
    columns = ["service_code", "column", "field", "value", "rows"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(parts, ignore_index=True)[columns]


# ---------------------------------------------------------------------------------------------
# What the reader saw, in words (``fls-report inspect``, webtool_export.md §6)

#: Values listed per column by :func:`describe`, most frequent first.
VALUES_SHOWN = 10


def describe(reading: FileReading) -> list[str]:
    """Lines saying how one file was read: format, rows, every header and what it became, the
    optional columns absent, and the values not recognised per column (at most ten, most
    frequent first, each masked when it could be an identifier). Never a value of an identifier
    or date column."""
    lines = [f"  format: {reading.format}, {reading.rows:,} data row{'s' if reading.rows != 1 else ''}", "  headers:"]
    width = max((len(h.shown) for h in reading.headers), default=0)
    for header in reading.headers:
        if header.outcome == MAPPED:
            became = header.column + (f" (question {header.question})" if header.question else "")
            if header.question in (FALLS_RISK_QUESTION, FALLS_REFERRALS_QUESTION):
                became = f"falls_assessment, derived from 5.01 and 5.10 (question {header.question})"
        elif header.outcome == UNUSED:
            became = f"known question{f' {header.question}' if header.question else ''}, not used"
        elif header.filled:
            became = f"blank, but {header.filled:,} row{'s hold' if header.filled != 1 else ' holds'} a value there (ignored)"
        else:
            became = header.outcome
        lines.append(f"    {header.position:>3}  {header.shown:<{width}}  -> {became}")
    lines.append("  optional columns absent: " + (", ".join(reading.absent) if reading.absent else "none"))
    found = reading.unrecognised
    if found.empty:
        lines.append("  values not recognised: none")
        return lines
    lines.append("  values not recognised (rows):")
    totals = found.groupby(["column", "field", "value"], sort=False)["rows"].sum().reset_index()
    for (column, field_name), part in totals.groupby(["column", "field"], sort=False):
        part = part.sort_values(["rows", "value"], ascending=[False, True], kind="stable")
        shown = ", ".join(f"'{printable(v)}' {n:,}" for v, n in zip(part["value"][:VALUES_SHOWN], part["rows"]))
        more = len(part) - VALUES_SHOWN
        column_name = column if column == field_name else f"{printable(column)} ({field_name})"
        lines.append(f"    {column_name}: {shown}" + (f" and {more} more" if more > 0 else ""))
    return lines
