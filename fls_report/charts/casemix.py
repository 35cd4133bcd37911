"""The case-mix chart: the share of records in each category of one characteristic (age band,
sex, care home, fracture site), nationally and by nation, from ``case_mix``."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from fls_report import dictionary as dd
from fls_report.charts.chart import Chart, ChartData, _empty, _has_rows
from fls_report.charts.layout import _figure, _title
from fls_report.charts.style import GREY_LIGHT, LEVEL_COLOURS, OKABE_ITO, _styled
from fls_report.charts.words import _count, _name_of, _national_name, _plain, _plural, format_pct
from fls_report.kpis import NATION_NAMES, NATIONAL, in_nation_order
from fls_report.params import DisclosureParams
from fls_report.vocabulary import SUPPRESSED

#: The columns the chart reads from ``case_mix`` (outputs.md §3).
CASE_MIX_COLUMNS = ("code", "characteristic", "category", "shown", "pct_shown")


def _category_order(characteristic: str, categories: Sequence[str]) -> list[str]:
    """Categories in the contract's order: the data dictionary's, or by the number they start
    with (age bands), with ``Not known`` last and anything unexpected after, as found."""
    column = characteristic.replace(" ", "_")
    known = list(dd.CATEGORIES.get(column, ()))
    present = list(dict.fromkeys(categories))

    def key(category: str):
        if category == "Not known":
            return (2, 0, "")
        if category in known:
            return (0, known.index(category), "")
        digits = "".join(ch for ch in category[:3] if ch.isdigit())
        return (0 if digits else 1, int(digits) if digits else 0, category)

    return sorted(present, key=key)


@_styled
def case_mix(case_mix: pd.DataFrame, characteristic: str,
             codes: Sequence[str] | None = None,
             suppressed_below: int = DisclosureParams.threshold,
             names: Mapping[str, str] | None = None) -> Chart:
    """Share of records in each category of one characteristic, nationally and by nation.

    Parameters
    ----------
    case_mix : pandas.DataFrame
        ``case_mix`` (outputs.md §3): ``level``, ``code``, ``characteristic``, ``category``,
        ``count``, ``shown``, ``pct_shown`` (blank where disclosure control suppressed the
        count). Only ``pct_shown`` and ``shown`` are drawn.
    characteristic : str
        ``age band``, ``sex``, ``care home`` or ``fracture site``.
    codes : sequence of str, optional
        The levels to compare, one bar each per category; by default ``NATIONAL`` and every
        nation in the table (``ENGLAND``, ``WALES``, ``NORTHERN_IRELAND`` where present).
    suppressed_below : int
        The disclosure threshold (statistics.md §5), for the caption's note.
    names : mapping, optional
        Code → name; the national level's name is taken from it (else "England and Wales").

    Returns
    -------
    Chart
        Grouped horizontal bars of ``pct_shown``, categories in the contract order; a suppressed
        cell is drawn as no bar with a ``*``.
    """
    title = f"Case mix: {characteristic}, % of records"
    if not _has_rows(case_mix, CASE_MIX_COLUMNS, "case_mix"):
        return _empty(title, "The case-mix table is empty.")
    if codes is None:
        present = set(case_mix["code"].astype(str))
        codes = [NATIONAL] + in_nation_order(c for c in NATION_NAMES if c in present)
    national_name = _national_name(names)

    def level_name(code: str) -> str:
        return national_name if code == NATIONAL else _name_of(code, (names or {}).get(code))

    rows = case_mix[(case_mix["characteristic"] == characteristic) & case_mix["code"].isin(list(codes))].copy()
    rows["pct_shown"] = pd.to_numeric(rows["pct_shown"], errors="coerce")
    rows["shown"] = rows["shown"].astype(str).str.strip()
    # A level with no records has every percentage blank and nothing suppressed: leave it off.
    has_records = rows.groupby("code")["pct_shown"].apply(lambda p: p.notna().any()) | rows.groupby("code")[
        "shown"].apply(lambda v: (v == SUPPRESSED).any())
    empty_levels = [c for c in codes if c in has_records.index and not has_records[c]]
    codes = [c for c in codes if c in has_records.index and has_records[c]]
    if rows.empty or not codes:
        return _empty(title, f"The case-mix table has no records for {characteristic} at these levels.")
    rows = rows[rows["code"].isin(codes)]
    categories = _category_order(characteristic, rows["category"].tolist())
    pct = rows.pivot_table(index="category", columns="code", values="pct_shown", aggfunc="first", dropna=False)
    pct = pct.reindex(index=categories, columns=codes)
    shown = rows.pivot_table(index="category", columns="code", values="shown", aggfunc="first")
    suppressed = (shown.reindex(index=categories, columns=codes) == SUPPRESSED) | pct.isna()

    n_groups, n_bars = len(categories), len(codes)
    bar = 0.8 / n_bars
    figure = _figure(1.3 + n_groups * (0.19 * n_bars + 0.16))
    ax = figure.add_subplot()
    highest = float(np.nanmax(pct.to_numpy(dtype=float))) if pct.notna().any().any() else 0.0
    ax.set_xlim(0, min(100.0, max(highest * 1.12 + 6, 10.0)))
    for j, code in enumerate(codes):
        y = np.arange(n_groups) + (j - (n_bars - 1) / 2) * bar
        values = pct[code].to_numpy(dtype=float)
        colour = LEVEL_COLOURS.get(code, OKABE_ITO["blue"])
        ax.barh(y, np.nan_to_num(values), height=bar * 0.9, color=colour, label=_plain(level_name(code)))
        for yi, value, hidden in zip(y, values, suppressed[code].to_numpy()):
            ax.text((0 if hidden else value) + 0.5, yi, SUPPRESSED if hidden else format_pct(value), va="center",
                    ha="left", fontsize=9, color=OKABE_ITO["black"], fontweight="bold" if hidden else "normal")
    ax.set_yticks(np.arange(n_groups), [_plain(c) for c in categories])
    ax.invert_yaxis()
    ax.set_xlabel("% of records")
    ax.xaxis.grid(True, color=GREY_LIGHT, lw=0.5)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    _title(figure, title)
    figure.legend(loc="outside lower center", ncol=n_bars, frameon=False)

    n_suppressed = int(suppressed.to_numpy().sum())
    national_rows = rows[rows["code"] == NATIONAL]
    total = int(pd.to_numeric(national_rows["count"], errors="coerce").sum()) if len(national_rows) else None
    parts = []
    for category in categories:
        values = ", ".join(
            f"{level_name(code)} {'suppressed' if suppressed.at[category, code] else format_pct(pct.at[category, code])}"
            for code in codes
        )
        parts.append(f"{category}: {values}")
    left_off = (
        f" {', '.join(level_name(c) for c in empty_levels)} {'has' if len(empty_levels) == 1 else 'have'} "
        "no records and {} not shown.".format("is" if len(empty_levels) == 1 else "are")
        if empty_levels else ""
    )
    alt = (
        f"Bar chart of {characteristic} as a percentage of records"
        + (f" ({_count(total)} records in {national_name})" if total is not None else "")
        + ". " + "; ".join(parts) + "." + left_off
    )
    caption = (
        f"{characteristic[:1].upper() + characteristic[1:]}: percentage of each level's records in each category."
        + (f" * fewer than {suppressed_below} records: suppressed ({_plural(n_suppressed, 'cell')})."
           if n_suppressed else "")
        + left_off
    )
    drawn = {level_name(code): [SUPPRESSED if suppressed.at[category, code] else pct.at[category, code]
                                for category in categories] for code in codes}
    data = ChartData(caption=f"{title} ({SUPPRESSED} suppressed)",
                     table=pd.DataFrame({characteristic[:1].upper() + characteristic[1:]: categories, **drawn}))
    return Chart(figure=figure, alt=alt, caption=caption, data=data)
