"""Numbers and names in the words the charts draw and say (alt text, captions, labels).

Charts-internal helpers; :func:`format_pct` and :func:`format_days` are also exported.
"""

from __future__ import annotations

import calendar
import textwrap
from typing import Mapping, Sequence

import pandas as pd

from fls_report.vocabulary import BLANK, fmt_pct
from fls_report.kpis import DEFAULT_NATIONAL_NAME, KPI_NAMES, NATION_NAMES, NATIONAL


def format_pct(value) -> str:
    """A percentage to one decimal place, halves rounded up, with ``%`` (``"–"`` if blank)."""
    return fmt_pct(value, "%")


def format_days(value) -> str:
    """A number of days: whole days without a decimal, half days with one."""
    if value is None or pd.isna(value):
        return BLANK
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _count(value: int) -> str:
    return f"{int(value):,}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_count(n)} {one if n == 1 else (many or one + 's')}"


def _plain(text) -> str:
    """Text for matplotlib drawn literally: escape ``$`` so it never starts mathtext."""
    return str(text).replace("$", r"\$")


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _short_label(label: str, width: int) -> str:
    """``label`` cut to ``width`` characters, keeping a trailing service code: ``Long na… (205)``."""
    if len(label) <= width:
        return label
    if label.endswith(")") and " (" in label:
        head, code = label.rsplit(" (", 1)
        if len(code) + 2 < width - 8:
            return _truncate(head, width - len(code) - 2) + f" ({code}"
    return _truncate(label, width)


def _wrap(text: str, width: int) -> str:
    """Wrap to at most ``width`` characters a line, in as few lines as possible, evened out
    (so "FLS assessment within 90 days" does not leave "days" alone on a line)."""
    def wrapped(at: int) -> list[str]:
        return textwrap.wrap(text, at, break_long_words=False, break_on_hyphens=False)

    lines = wrapped(width)
    if len(lines) <= 1:
        return text
    narrowest = width
    while narrowest > 1 and len(wrapped(narrowest - 1)) == len(lines):
        narrowest -= 1
    return "\n".join(wrapped(narrowest))


def _and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")


def _blank_name(name) -> bool:
    return name is None or (not isinstance(name, str) and pd.isna(name)) or str(name).strip() == ""


def _name_of(code: str, name=None) -> str:
    """``name (code)`` for a service; a nation's name for a nation code; for ``NATIONAL`` the
    name given (the run's, from ``kpi_results``), else :data:`DEFAULT_NATIONAL_NAME`."""
    if code == NATIONAL:
        return DEFAULT_NATIONAL_NAME if _blank_name(name) else str(name)
    if code in NATION_NAMES:
        return NATION_NAMES[code]
    if _blank_name(name):
        return f"Service {code}"
    return f"{name} ({code})"


def _national_name(names: Mapping[str, str] | None = None, row: pd.Series | None = None) -> str:
    """The national level's name: from a names mapping or a ``kpi_results`` row, when they give
    one, else :data:`DEFAULT_NATIONAL_NAME`."""
    if names is not None and NATIONAL in names:
        return _name_of(NATIONAL, names[NATIONAL])
    if row is not None and "name" in row.index:
        return _name_of(NATIONAL, row["name"])
    return DEFAULT_NATIONAL_NAME


def _kpi_name(kpi_id: str, kpi_names: Mapping[str, str] | None = None) -> str:
    """A KPI's name: the run's (``kpi_results``' ``kpi_name``, which states its windows) when
    given, else kpis.md's name at the default parameters."""
    return (kpi_names or KPI_NAMES).get(kpi_id, kpi_id)


def _kpi_title(kpi_id: str, kpi_names: Mapping[str, str] | None = None) -> str:
    return f"{kpi_id}: {_kpi_name(kpi_id, kpi_names)}"


def _kpi_span(kpi_ids: Sequence[str]) -> str:
    if not kpi_ids:
        return ""
    return kpi_ids[0] if len(kpi_ids) == 1 else f"{kpi_ids[0]} to {kpi_ids[-1]}"


def _month_words(month: str) -> str:
    """``2016-11`` as ``Nov 2016``."""
    try:
        return f"{calendar.month_abbr[int(month[5:7])]} {month[:4]}"
    except (ValueError, IndexError):
        return str(month)
