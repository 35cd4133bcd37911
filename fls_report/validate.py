"""Validate the extract and the services file: every row rejected, excluded or included.

Implements data_dictionary.md §1–§3. The field-level rules are a pandera schema whose checks are
named after the rule strings; validating lazily collects every problem in the file at once, and
each (row, field) keeps the first rule that applies. Parsing works on each column's distinct
values, so a million-row extract costs little more than its distinct dates and codes.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from fls_report import dictionary as dd
from fls_report.errors import InputError
from fls_report.extract import GENERATED_ID, SOURCE_FILE, Extract, map_distinct, read_extract
from fls_report.io import SOURCE_ROW, read_table
from fls_report.mapping import load_mapping
from fls_report.params import Params

# ---------------------------------------------------------------------------------------------
# Parsing one text value (cached: columns repeat the same values many times)

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")
_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_WHOLE = re.compile(r"[+-]?\d+(?:\.0*)?")


@lru_cache(maxsize=1 << 16)
def parse_date(text: str) -> dt.date | None:
    """A contract date (``YYYY-MM-DD[ time]`` or ``D/M/YYYY``) or None if blank or invalid."""
    match = _ISO.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DAY_FIRST.fullmatch(text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


@lru_cache(maxsize=1 << 12)
def parse_whole_number(text: str) -> int | None:
    """Whole number text (``72``, ``72.0``) as int; None for blank or anything else."""
    if not _WHOLE.fullmatch(text):
        return None
    return int(Decimal(text))


@lru_cache(maxsize=1 << 14)
def parse_therapy(text: str) -> tuple[tuple[str, ...], bool]:
    """The valid canonical tokens of a therapy list (contract order) and whether any was unknown."""
    lookup = _therapy_lookup()
    tokens = [t.strip().lower() for t in text.split(";")]
    tokens = [t for t in tokens if t]
    valid = {lookup[t] for t in tokens if t in lookup}
    return tuple(v for v in dd.THERAPY_TOKENS if v in valid), any(t not in lookup for t in tokens)


@lru_cache(maxsize=1)
def _therapy_lookup() -> dict[str, str]:
    return {v.lower(): v for v in dd.THERAPY_TOKENS}


def _includes_drug(tokens: tuple[str, ...]) -> bool:
    """A therapy list "includes a drug" when at least one valid token is a drug value."""
    return any(t in dd.DRUGS for t in tokens)


def _list_missing(tokens: tuple[str, ...]) -> bool:
    """A therapy list is missing when its valid tokens are none, or exactly {Not known}."""
    return len(tokens) == 0 or tokens == ("Not known",)


def nhs_number_digits(text: str) -> str | None:
    """The ten digits of an NHS number (spaces allowed), or None when it is not ten digits."""
    digits = text.replace(" ", "")
    return digits if len(digits) == 10 and digits.isascii() and digits.isdigit() else None


def nhs_check_digit_ok(digits: str) -> bool:
    """Modulus 11 check of a ten-digit NHS number."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def nhs_number_checks(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`nhs_number_digits` and :func:`nhs_check_digit_ok` over a text column.

    NHS numbers are nearly all distinct, so the per-value Python functions would run once per
    row; this does the same arithmetic on a digit matrix instead.

    Returns
    -------
    tuple of pandas.Series
        Whether each value is ten digits, and whether it passes the modulus 11 check (False
        where it is not ten digits).
    """
    digits = pc.replace_substring(pyarrow.array(series.to_numpy(dtype=object), type=pyarrow.string()), " ", "")
    ten = pc.and_(pc.equal(pc.utf8_length(digits), 10), pc.ascii_is_decimal(digits)).to_numpy(zero_copy_only=False)
    matrix = np.frombuffer("".join(digits.filter(ten).to_pylist()).encode("ascii"), dtype=np.uint8)
    matrix = matrix.reshape(-1, 10).astype(np.int64) - ord("0")
    check = 11 - (matrix[:, :9] @ np.arange(10, 1, -1)) % 11
    check[check == 11] = 0
    passed = np.zeros(len(series), dtype=bool)
    passed[ten] = (check != 10) & (check == matrix[:, 9])
    return pd.Series(ten, index=series.index), pd.Series(passed, index=series.index)


_map_unique = map_distinct


def dates_of(series: pd.Series) -> pd.Series:
    """Parse a text column of contract dates into ``datetime64[ns]`` (NaT for blank/invalid).

    Each distinct text is parsed and converted once; rows take their value by position, so a
    million rows cost about as much as their few thousand distinct dates.
    """
    codes, uniques = pd.factorize(series, sort=False)
    parsed = pd.to_datetime(pd.Series([parse_date(u) for u in uniques], dtype=object), errors="coerce")
    values = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(values[codes], index=series.index)  # code -1 (missing) takes the NaT


def whole_numbers_of(series: pd.Series) -> pd.Series:
    """Parse whole-number text into a nullable ``Int64`` column."""
    return pd.Series(pd.array(_map_unique(series, parse_whole_number).tolist(), dtype="Int64"), index=series.index)


def completed_years(born: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years of age from ``born`` to ``on`` (both datetime64; NA where either is NaT)."""
    years = on.dt.year - born.dt.year
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")


# ---------------------------------------------------------------------------------------------
# Services file


@dataclass(frozen=True)
class Services:
    """The validated services file.

    ``frame`` has the columns ``service_code``, ``service_name``, ``nation``, ``region`` and
    ``annual_caseload`` (a :class:`~decimal.Decimal`, or None when neither ``expected_caseload``
    nor ``hip_fractures`` is given), one row per service, sorted by code.
    """

    frame: pd.DataFrame
    warnings: tuple[str, ...] = ()

    @property
    def codes(self) -> list[str]:
        return self.frame["service_code"].tolist()


def _positive_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def read_services(path: str | Path) -> Services:
    """Read and check the services reference file (data_dictionary.md §3).

    Raises
    ------
    InputError
        Listing every problem at once: missing core columns, blank or duplicate codes, blank
        names, blank or unknown nations, bad ``expected_caseload`` or ``hip_fractures``; each
        names the row.
    """
    path = Path(path)
    raw = read_table(path, "services file")
    notes = []
    missing = [c for c in dd.SERVICE_CORE_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: missing required column(s) in the services file: {', '.join(missing)}")
    extra = [c for c in raw.columns if c not in dd.SERVICE_COLUMNS and c != SOURCE_ROW]
    if extra:
        notes.append(f"{path}: ignoring unknown column(s) {', '.join(extra)}")
    for column in dd.SERVICE_COLUMNS:
        if column not in raw.columns:
            raw[column] = ""

    nation_lookup = {n.lower(): n for n in dd.NATIONS}
    schema = pa.DataFrameSchema(
        {
            "service_code": pa.Column(
                None,
                [
                    pa.Check(lambda s: s != "", name="blank service_code"),
                    pa.Check(lambda s: ~(s.ne("") & s.duplicated(keep=False)), name="duplicate service_code"),
                ],
            ),
            "service_name": pa.Column(None, [pa.Check(lambda s: s != "", name="blank service_name")]),
            "nation": pa.Column(
                None,
                [pa.Check(lambda s: s.str.lower().isin(nation_lookup), name="nation not England, Wales or Northern Ireland")],
            ),
            "expected_caseload": pa.Column(
                None,
                [
                    pa.Check(
                        lambda s: (s == "") | _map_unique(s, _positive_decimal).notna(),
                        name="expected_caseload not a positive number",
                    )
                ],
            ),
            "hip_fractures": pa.Column(
                None,
                [
                    pa.Check(
                        lambda s: (s == "")
                        | _map_unique(s, lambda t: (n := parse_whole_number(t)) is not None and n >= 0).astype(bool),
                        name="hip_fractures not a whole number >= 0",
                    )
                ],
            ),
        },
    )
    problems = _lazy_failures(schema, raw)
    if problems:
        lines = []
        for index, column, check in sorted(problems):
            lines.append(f"row {raw.at[index, SOURCE_ROW]}: {check} ({column} = {raw.at[index, column]!r})")
        shown_lines = lines[:20] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else [])
        raise InputError(f"{path}: invalid services file:\n  " + "\n  ".join(shown_lines))

    caseload = []
    for expected, hips in zip(raw["expected_caseload"], raw["hip_fractures"]):
        if expected:
            caseload.append(_positive_decimal(expected))
        elif hips:
            caseload.append(Decimal(dd.HIP_FRACTURE_MULTIPLIER * parse_whole_number(hips)))
        else:
            caseload.append(None)
    frame = pd.DataFrame(
        {
            "service_code": raw["service_code"],
            "service_name": raw["service_name"],
            "nation": raw["nation"].str.lower().map(nation_lookup),
            "region": raw["region"],
            "annual_caseload": pd.Series(caseload, dtype=object, index=raw.index),
        }
    )
    frame = frame.sort_values("service_code", kind="stable").reset_index(drop=True)
    return Services(frame=frame, warnings=tuple(notes))


def _lazy_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[object, str, str]]:
    """Validate lazily; return ``(index, column, check name)`` for every failing cell or row."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        return [
            (int(i), str(c) if isinstance(c, str) else "", str(k))
            for i, c, k in zip(cases["index"], cases["column"], cases["check"])
        ]
    return []


# ---------------------------------------------------------------------------------------------
# Extract


@dataclass(frozen=True)
class Validated:
    """The outcome of validation: included records, and the accounting of every row.

    Attributes
    ----------
    records
        Included rows, one per index fracture, with validated values: categories in canonical
        spelling or None, dates as ``datetime64`` (NaT when blank or with a field issue),
        ``age_at_fracture`` as ``Int64`` (given or derived; NA when not established), each therapy
        list as canonical ``;``-joined text plus ``<column>_drug`` and ``<column>_missing``
        booleans, ``month`` (``YYYY-MM`` of the fracture) and ``record_id`` (restricted).
    services
        The validated services file.
    row_states
        One row per data row read: ``service_code`` as given, ``state``, ``reason``.
    issues
        Field-level issues of included rows: ``record_id``, ``code``, ``field``, ``rule``,
        ``value`` (restricted: may hold identifiers).
    rejected
        Rejected rows as read (the contract columns present in the files), ``source_file``,
        ``source_row`` and ``reason`` (restricted).
    extract
        How each file was read (:class:`~fls_report.extract.Extract`): format, headers,
        unrecognised values.
    warnings
        Plain notes for the analyst (missing optional columns, ignored columns).
    """

    records: pd.DataFrame
    services: Services
    row_states: pd.DataFrame
    issues: pd.DataFrame
    rejected: pd.DataFrame
    extract: Extract | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows_read(self) -> int:
        return len(self.row_states)

    def counts(self) -> dict[str, int]:
        """Rows read, rejected, excluded and included, for summaries and the manifest."""
        by_state = self.row_states["state"].value_counts()
        return {
            "read": self.rows_read,
            **{state: int(by_state.get(state, 0)) for state in (dd.REJECTED, dd.EXCLUDED, dd.INCLUDED)},
        }


def validate(params: Params) -> Validated:
    """Read both inputs and settle every row (data_dictionary.md §2).

    Raises
    ------
    InputError
        For a fatal problem with either file; nothing has been written then.
    """
    services = read_services(params.services)
    extract = read_extract(params, services.codes, load_mapping(params.mapping), params.services)
    raw, file_columns = extract.frame, extract.file_columns
    state = pd.Series(dd.INCLUDED, index=raw.index, dtype=object)
    reason = pd.Series("", index=raw.index, dtype=object)

    def settle(mask: pd.Series, new_state: str, why: str) -> None:
        mask = mask & (state == dd.INCLUDED)
        state[mask] = new_state
        reason[mask] = why

    # Rejections, in contract order. Rows with generated ids (webtool files without an id column)
    # cannot miss or share an id; their duplicates are found by content (webtool_export.md §2).
    record_id = raw["record_id"]
    generated = raw[GENERATED_ID].to_numpy(dtype=bool)
    settle(record_id == "", dd.REJECTED, dd.REJECT_MISSING_ID)
    with_id = (record_id != "") & ~generated
    # Only rows whose record_id repeats can conflict, so only they are hashed and compared.
    repeated = with_id & record_id.duplicated(keep=False)
    versions = pd.DataFrame(
        {"record_id": record_id[repeated], "row_hash": pd.util.hash_pandas_object(raw.loc[repeated, file_columns], index=False)}
    ).drop_duplicates()
    conflicting = repeated & record_id.isin(versions.loc[versions["record_id"].duplicated(), "record_id"])
    settle(conflicting, dd.REJECTED, dd.REJECT_CONFLICTING_ID)
    settle(with_id & record_id.where(with_id).duplicated(keep="first"), dd.REJECTED, dd.REJECT_DUPLICATE)
    if generated.any():
        copies = pd.Series(False, index=raw.index)
        copies[generated] = content_key(raw.loc[generated, file_columns]).duplicated(keep="first").to_numpy()
        settle(copies, dd.REJECTED, dd.REJECT_DUPLICATE)
    settle(~raw["service_code"].isin(services.codes), dd.REJECTED, dd.REJECT_UNKNOWN_SERVICE)
    fracture = dates_of(raw["date_fracture"])
    settle(fracture.isna(), dd.REJECTED, dd.REJECT_INVALID_FRACTURE_DATE)
    cutoff = pd.Timestamp(params.data_cutoff)
    settle(fracture > cutoff, dd.REJECTED, dd.REJECT_AFTER_CUTOFF)

    # Exclusions.
    age_given = whole_numbers_of(raw["age_at_fracture"])
    age_derived = completed_years(dates_of(raw["date_of_birth"]), fracture)
    given_ok = age_given.notna() & age_given.between(dd.AGE_MIN, dd.AGE_MAX)
    derived_ok = age_derived.notna() & age_derived.between(dd.AGE_MIN, dd.AGE_MAX)
    age = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    age[derived_ok.fillna(False)] = age_derived[derived_ok.fillna(False)]
    age[given_ok.fillna(False)] = age_given[given_ok.fillna(False)]
    outside = (fracture < pd.Timestamp(params.period_start)) | (fracture > pd.Timestamp(params.period_end))
    settle(outside, dd.EXCLUDED, dd.EXCLUDE_OUTSIDE_PERIOD)
    settle((age < dd.MIN_AUDIT_AGE).fillna(False), dd.EXCLUDED, dd.EXCLUDE_UNDER_50)

    row_states = pd.DataFrame({"service_code": raw["service_code"], "state": state, "reason": reason})
    rejected = raw.loc[state == dd.REJECTED, file_columns + [SOURCE_FILE, SOURCE_ROW]].assign(
        reason=reason[state == dd.REJECTED])

    included = raw[state == dd.INCLUDED]
    established_age_text = raw["age_at_fracture"].where(
        raw["age_at_fracture"] != "", age_derived.astype("string").fillna("")
    )[state == dd.INCLUDED]
    issues = field_issues(included, established_age_text, fracture[state == dd.INCLUDED], params)
    records = _typed_records(included, age[state == dd.INCLUDED], fracture[state == dd.INCLUDED], issues)
    return Validated(
        records=records,
        services=services,
        row_states=row_states,
        issues=issues,
        rejected=rejected.reset_index(drop=True),
        extract=extract,
        warnings=tuple(list(services.warnings) + list(extract.notes)),
    )


def content_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The contract columns of ``frame`` as compared by the duplicate rule for rows with
    generated ids (webtool_export.md §2): valid values as their canonical values, invalid values
    as their trimmed, case-folded text, therapy lists as sets of tokens, dates as dates. The
    record id (generated, so never shared) is left out."""

    def category(column):
        lookup = dd.category_lookup(column)
        return lambda t: lookup.get(t.lower(), t.casefold())

    def date(t):
        parsed = parse_date(t)
        return parsed.isoformat() if parsed else t.casefold()

    def whole(t):
        number = parse_whole_number(t)
        return str(number) if number is not None else t.casefold()

    def therapy(t):
        lookup = _therapy_lookup()
        tokens = {lookup.get(x.strip().lower(), x.strip().casefold()) for x in t.split(";") if x.strip()}
        return ";".join(sorted(tokens))

    def nhs(t):
        return nhs_number_digits(t) or t.casefold()

    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column == "record_id":
            continue
        if column in dd.CATEGORIES:
            func = category(column)
        elif column in dd.DATE_COLUMNS:
            func = date
        elif column in dd.THERAPY_COLUMNS:
            func = therapy
        elif column == "age_at_fracture":
            func = whole
        elif column == "nhs_number":
            func = nhs
        else:
            func = str.casefold
        out[column] = map_distinct(frame[column], func)
    return out


# ---------------------------------------------------------------------------------------------
# Field-level rules (data_dictionary.md §2, "Field-level problems keep the row")


def field_schema(fracture: pd.Series, cutoff: dt.date) -> pa.DataFrameSchema:
    """The field rules as a pandera schema over the extract's text; check names are rule strings.

    Every check passes a blank cell. ``fracture`` (validated fracture dates, aligned with the
    frame) serves the ``before fracture`` rule.

    The cells are text and never NaN (a blank is ``""``), so pandera's own null handling is
    switched off (``nullable=True``, ``ignore_na=False``): it would only scan every column for
    NaN once per check, a third of the validation time on a million rows.
    """

    def rule(check, name: str) -> pa.Check:
        return pa.Check(check, name=name, ignore_na=False)

    def column_of(checks: list[pa.Check]) -> pa.Column:
        return pa.Column(None, checks, nullable=True)

    def readable_date(s):
        return _map_unique(s, lambda t: t == "" or parse_date(t) is not None).astype(bool)

    def not_after_cutoff(s):
        return _map_unique(s, lambda t: not ((d := parse_date(t)) is not None and d > cutoff)).astype(bool)

    def not_before_fracture(s):
        return ~(dates_of(s) < fracture.reindex(s.index))

    def category(column):
        lookup = dd.category_lookup(column)
        return rule(lambda s: _map_unique(s, lambda t: t == "" or t.lower() in lookup).astype(bool), dd.RULE_INVALID)

    def readable_age(s):
        return (s == "") | whole_numbers_of(s).notna()

    def age_in_range(s):
        ages = whole_numbers_of(s)
        return ~(ages.notna() & ~ages.between(dd.AGE_MIN, dd.AGE_MAX)).fillna(False)

    def ten_digits(s):
        return (s == "") | nhs_number_checks(s)[0]

    def check_digit(s):
        ten, passed = nhs_number_checks(s)
        return ~ten | passed

    def known_tokens(s):
        return ~_map_unique(s, lambda t: parse_therapy(t)[1]).astype(bool)

    columns: dict[str, pa.Column] = {
        "nhs_number": column_of([rule(ten_digits, dd.RULE_INVALID), rule(check_digit, dd.RULE_CHECK_DIGIT)]),
        "age_at_fracture": column_of([rule(readable_age, dd.RULE_INVALID), rule(age_in_range, dd.RULE_OUT_OF_RANGE)]),
    }
    for column in dd.DATE_COLUMNS:
        if column == "date_fracture":
            continue
        checks = [rule(readable_date, dd.RULE_INVALID)]
        if column in dd.AFTER_FRACTURE_DATES:
            checks.append(rule(not_before_fracture, dd.RULE_BEFORE_FRACTURE))
        checks.append(rule(not_after_cutoff, dd.RULE_AFTER_CUTOFF))
        columns[column] = column_of(checks)
    for column in dd.CATEGORIES:
        columns[column] = column_of([category(column)])
    for column in dd.THERAPY_COLUMNS:
        columns[column] = column_of([rule(known_tokens, dd.RULE_UNKNOWN_TOKEN)])
    return pa.DataFrameSchema(columns)


def field_issues(
    included: pd.DataFrame, established_age_text: pd.Series, fracture: pd.Series, params: Params
) -> pd.DataFrame:
    """Every field-level issue of the included rows, first applicable rule per row and field.

    ``age_at_fracture`` is checked as established: the given text, or, when blank, the age
    derived from ``date_of_birth`` (so a derived age outside 0–115 is ``out of range``).

    Returns
    -------
    pandas.DataFrame
        ``row`` (index in the extract), ``record_id``, ``code``, ``field``, ``rule``, ``value``;
        sorted by row, field order and rule order.
    """
    checked = included.drop(columns=[SOURCE_ROW]).assign(age_at_fracture=established_age_text)
    schema = field_schema(fracture, params.data_cutoff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        failures = _lazy_failures(schema, checked[list(schema.columns)])
    columns = ["row", "record_id", "code", "field", "rule", "value"]
    if not failures:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    found = pd.DataFrame(failures, columns=["row", "field", "rule"])
    found["field_order"] = found["field"].map({c: i for i, c in enumerate(dd.EXTRACT_COLUMNS)})
    found["rule_order"] = found["rule"].map({r: i for i, r in enumerate(dd.FIELD_RULES)})
    found = (
        found.sort_values(["row", "field_order", "rule_order"], kind="stable")
        .drop_duplicates(["row", "field"], keep="first")
        .reset_index(drop=True)
    )
    rows = found["row"].to_numpy()
    values = checked.to_numpy(dtype=object)
    column_at = {c: i for i, c in enumerate(checked.columns)}
    row_at = pd.Index(checked.index).get_indexer(rows)
    found["record_id"] = checked["record_id"].to_numpy()[row_at]
    found["code"] = checked["service_code"].to_numpy()[row_at]
    found["value"] = [values[r, column_at[f]] for r, f in zip(row_at, found["field"])]
    return found[columns]


def _typed_records(
    included: pd.DataFrame, age: pd.Series, fracture: pd.Series, issues: pd.DataFrame
) -> pd.DataFrame:
    """Validated values of the included rows; a value with a field issue becomes blank.

    An unknown therapy token only drops that token: the list keeps its valid tokens.
    """
    blanked: dict[str, set] = {}
    for row, column, rule in zip(issues["row"], issues["field"], issues["rule"]):
        if rule != dd.RULE_UNKNOWN_TOKEN:
            blanked.setdefault(column, set()).add(row)

    def clean(column: str) -> pd.Series:
        text = included[column]
        rows = blanked.get(column)
        return text.where(~text.index.isin(list(rows)), "") if rows else text

    out = pd.DataFrame(index=included.index)
    out["record_id"] = included["record_id"]
    out["service_code"] = included["service_code"]
    out["age_at_fracture"] = age.astype("Int64")
    for column in dd.CATEGORIES:
        lookup = dd.category_lookup(column)
        out[column] = _map_unique(clean(column), lambda t: lookup.get(t.lower()))
    for column in dd.DATE_COLUMNS:
        if column in ("date_of_birth",):
            continue
        out[column] = fracture if column == "date_fracture" else dates_of(clean(column))
    for column in dd.THERAPY_COLUMNS:
        codes, uniques = pd.factorize(included[column], sort=False)
        tokens = [parse_therapy(u)[0] for u in uniques]
        out[column] = np.array([";".join(t) for t in tokens], dtype=object)[codes]
        out[f"{column}_drug"] = np.array([_includes_drug(t) for t in tokens], dtype=bool)[codes]
        out[f"{column}_missing"] = np.array([_list_missing(t) for t in tokens], dtype=bool)[codes]
    codes, months = pd.factorize(fracture, sort=False)  # formatting each distinct date once
    out["month"] = pd.Series(np.append(months.strftime("%Y-%m").to_numpy(dtype=object), np.nan)[codes],
                             index=fracture.index)
    return out.reset_index(drop=True)
