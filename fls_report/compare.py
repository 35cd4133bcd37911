"""Year on year: this run's KPI results beside an earlier run's (parameter ``compare_with``).

Rows are matched on level, code and KPI. ``change_pct_points`` is this year's percentage minus
the earlier one, in percentage points, unrounded; both are blank where either year has no
percentage (a service new this year, or a denominator of 0).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fls_report.errors import InputError
from fls_report.io import SOURCE_ROW, read_table

KEYS = ["level", "code", "kpi_id"]


def read_previous(path: str | Path) -> pd.DataFrame:
    """Read an earlier run's ``kpi_results.csv``: ``level``, ``code``, ``kpi_id``, ``previous_pct``.

    Raises
    ------
    InputError
        When the file is missing or unreadable, lacks a needed column, repeats a row, or holds a
        percentage that is not a number.
    """
    path = Path(path)
    table = read_table(path, "earlier kpi_results (compare_with)")
    missing = [c for c in KEYS + ["pct"] if c not in table.columns]
    if missing:
        raise InputError(f"{path}: not a kpi_results table: missing column(s) {', '.join(missing)}")
    pct = pd.to_numeric(table["pct"].replace("", None), errors="coerce")
    bad = table.loc[pct.isna() & (table["pct"] != ""), SOURCE_ROW]
    if not bad.empty:
        raise InputError(f"{path}: column pct is not a number at row {int(bad.iloc[0])}")
    repeated = table.duplicated(KEYS)
    if repeated.any():
        first = table.loc[repeated, KEYS].iloc[0]
        raise InputError(f"{path}: repeated row for {first['level']} {first['code']} {first['kpi_id']}")
    return table[KEYS].assign(previous_pct=pct.astype(float))


def add_previous(results: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """``results`` with ``previous_pct`` and ``change_pct_points`` appended, rows in their order."""
    merged = results.merge(previous, on=KEYS, how="left", validate="one_to_one")
    merged["change_pct_points"] = merged["pct"] - merged["previous_pct"]
    return merged
