"""Data-quality tables: what happened to every row, and how complete and clean the fields are.

These are the tables ``fls-report validate`` writes (outputs.md §3): record accounting, key-field
completeness and issue counts, all at service level; plus the two restricted record-level lists.
"""

from __future__ import annotations

import pandas as pd

from fls_report import dictionary as dd
from fls_report.kpis import Context, field_completeness
from fls_report.params import Params

_STATE_ORDER = {dd.REJECTED: 0, dd.EXCLUDED: 1, dd.INCLUDED: 2}
_REASON_ORDER = {r: i for i, r in enumerate(("",) + dd.REJECT_REASONS + dd.EXCLUDE_REASONS)}


def record_accounting(row_states: pd.DataFrame) -> pd.DataFrame:
    """Rows per service code (as given, ``(blank)`` when empty), state and reason.

    Summed over the table it equals the number of data rows read; per code, rejected +
    excluded + included equals the rows carrying that code.
    """
    counted = (
        row_states.assign(code=row_states["service_code"].replace("", dd.BLANK_CODE))
        .groupby(["code", "state", "reason"], sort=False)
        .size()
        .rename("rows")
        .reset_index()
    )
    counted["_state"] = counted["state"].map(_STATE_ORDER)
    counted["_reason"] = counted["reason"].map(_REASON_ORDER)
    counted = counted.sort_values(["code", "_state", "_reason"], kind="stable")
    return counted[["code", "state", "reason", "rows"]].reset_index(drop=True)


def data_quality_fields(records: pd.DataFrame, service_codes: list[str], params: Params) -> pd.DataFrame:
    """Key-field completeness (the KPI1 fields), 17 rows for every service."""
    return field_completeness(records, service_codes, Context.of(params))


def data_quality_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Rows with each field-level issue, per service, field and rule (non-zero counts only)."""
    if issues.empty:
        return pd.DataFrame({"code": [], "field": [], "rule": [], "count": []}).astype({"count": int})
    counted = issues.groupby(["code", "field", "rule"], sort=False).size().rename("count").reset_index()
    counted["_field"] = counted["field"].map({c: i for i, c in enumerate(dd.EXTRACT_COLUMNS)})
    counted["_rule"] = counted["rule"].map({r: i for i, r in enumerate(dd.FIELD_RULES)})
    counted = counted.sort_values(["code", "_field", "_rule"], kind="stable")
    return counted[["code", "field", "rule", "count"]].reset_index(drop=True)


EXTRACT_FILE_COLUMNS = ["file", "service_code", "format", "rows", "headers", "headers_mapped",
                        "headers_not_used", "headers_blank", "headers_not_recognised", "optional_absent"]


def extract_files(readings) -> pd.DataFrame:
    """How each file of the extract was read (webtool_export.md §6), counts only: the file as the
    parameters name it, its service (blank for a single-file extract), the format detected, data
    rows, and how many headers were mapped, known but not used, blank and not recognised (never
    their text: a file without a header row would show its first patient), and how many optional
    contract columns it lacks. One row per file, in the order of the ``extract`` list.

    ``readings`` are :attr:`fls_report.extract.Extract.files`.
    """
    from fls_report.extract import BLANK, IGNORED, MAPPED, NOT_RECOGNISED, UNUSED

    rows = []
    for reading in readings:
        outcomes = [h.outcome for h in reading.headers]
        rows.append({
            "file": reading.file.written,
            "service_code": reading.file.service or "",
            "format": reading.format,
            "rows": reading.rows,
            "headers": len(outcomes),
            "headers_mapped": outcomes.count(MAPPED),
            "headers_not_used": outcomes.count(UNUSED),
            "headers_blank": outcomes.count(BLANK),
            "headers_not_recognised": outcomes.count(NOT_RECOGNISED) + outcomes.count(IGNORED),
            "optional_absent": len(reading.absent),
        })
    return pd.DataFrame(rows, columns=EXTRACT_FILE_COLUMNS)


UNRECOGNISED_COLUMNS = ["code", "field", "distinct_values", "rows"]


def data_quality_unrecognised(unrecognised: pd.DataFrame) -> pd.DataFrame:
    """Values the reader did not recognise, counted per service and field: how many distinct
    values and how many rows (webtool_export.md §6). Never the text, which may be anything a
    user typed: that is in the restricted ``unrecognised_values.csv`` only.

    ``unrecognised`` is :attr:`fls_report.extract.Extract.unrecognised`. Rows are sorted by code
    and by the field's contract order; only non-zero counts are listed.
    """
    if unrecognised.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("code", "field") else int) for c in UNRECOGNISED_COLUMNS})
    counted = (
        unrecognised.assign(value_key=unrecognised["value"].str.casefold())
        .groupby(["service_code", "field"], sort=False)
        .agg(distinct_values=("value_key", "nunique"), rows=("rows", "sum"))
        .reset_index()
        .rename(columns={"service_code": "code"})
    )
    counted["_field"] = counted["field"].map({c: i for i, c in enumerate(dd.EXTRACT_COLUMNS)})
    counted = counted.sort_values(["code", "_field"], kind="stable")
    return counted[UNRECOGNISED_COLUMNS].astype({"distinct_values": int, "rows": int}).reset_index(drop=True)


def unrecognised_values(unrecognised: pd.DataFrame) -> pd.DataFrame:
    """The restricted list for the analyst who extends the mapping: ``service_code``, ``file``,
    ``column`` (the header as in the file), ``value``, ``rows``; most frequent first per column."""
    columns = ["service_code", "file", "column", "value", "rows"]
    ordered = unrecognised.sort_values(["service_code", "file", "column", "rows", "value"],
                                       ascending=[True, True, True, False, True], kind="stable")
    return ordered[columns].reset_index(drop=True)


def record_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """The restricted per-record issue list: ``record_id``, ``code``, ``field``, ``rule``, ``value``."""
    return issues[["record_id", "code", "field", "rule", "value"]].reset_index(drop=True)
