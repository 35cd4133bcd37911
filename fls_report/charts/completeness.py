"""Charts of ``data_quality_fields``: the share of records missing each key field, as a heatmap
of every service and as one service's bars, against KPI1's threshold."""

from __future__ import annotations

from typing import Mapping

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from fls_report.charts.backdrop import over_backdrop
from fls_report.charts.chart import Chart, ChartData, _empty, _has_rows
from fls_report.charts.layout import (_LINE_10_IN, _LINE_12_IN, _TICK_LABELS_IN, _figure, _grid_title,
                                      _single_axes_layout, _text_width_in, _title)
from fls_report.charts.style import (GREY_DARK, GREY_LIGHT, MISSING_CMAP, OKABE_ITO, OVER_THRESHOLD_COLOUR,
                                     _styled)
from fls_report.charts.words import _count, _name_of, _plain, _plural, _truncate, _wrap, format_pct

#: The columns the charts read from ``data_quality_fields`` (outputs.md §3).
FIELDS_COLUMNS = ("code", "field", "pct_missing", "over")
#: A completeness heatmap with more services than this repeats the field names underneath.
REPEAT_FIELD_LABELS_AFTER = 40


def _field_label(name: str) -> str:
    """A key field's column name in plain English, e.g. ``date_followup_16wk``."""
    words = {
        "dxa": "DXA",
        "followup": "follow-up",
        "16wk": "(16 wk)",
        "52wk": "(52 wk)",
        "strength": "strength &",
    }
    parts = [words.get(part, part) for part in str(name).split("_")]
    text = " ".join(parts)
    return text[:1].upper() + text[1:]


def _fields_data(rows: pd.DataFrame, threshold_pct: float, first: dict[str, list]) -> pd.DataFrame:
    """The numbers a completeness chart draws, one row per service and field, after the
    ``first`` columns (e.g. the service)."""
    counts = {c: pd.to_numeric(rows[c], errors="coerce").astype("Int64") if c in rows.columns else pd.NA
              for c in ("applicable", "missing")}
    return pd.DataFrame({
        **first,
        "Field": [_field_label(f) for f in rows["field"]],
        "Records it applies to": list(counts["applicable"]),
        "Missing": list(counts["missing"]),
        "% missing": rows["pct_missing"].tolist(),
        f"Over {threshold_pct:g}%": ["yes" if over else "" for over in rows["over"]],
    })


def _fields_table(fields: pd.DataFrame) -> pd.DataFrame:
    """``data_quality_fields`` with numeric ``pct_missing`` and a boolean ``over``: whether the field
    is over KPI1's threshold, as the compute stage decided it on the counts (kpis.md)."""
    table = fields.copy()
    table["code"] = table["code"].astype(str)
    table["pct_missing"] = pd.to_numeric(table["pct_missing"], errors="coerce")
    table["over"] = table["over"].map(lambda v: str(v).lower() == "true" if isinstance(v, str) else bool(v))
    return table


@_styled
def completeness_heatmap(fields: pd.DataFrame, names: Mapping[str, str] | None = None,
                         *, threshold_pct: float) -> Chart:
    """Share of records missing each key field, service by field.

    Parameters
    ----------
    fields : pandas.DataFrame
        ``data_quality_fields`` (outputs.md §3): ``code``, ``field``, ``applicable``,
        ``missing``, ``pct_missing`` (0–100, blank when nothing applies).
    names : mapping, optional
        Service code → name; rows are then labelled ``code — name`` (truncated to 40 characters).
    threshold_pct : float
        KPI1's threshold (param ``completeness_threshold_pct``); cells above it carry a dot.

    Returns
    -------
    Chart
        Services as rows (table order), key fields as columns (table order), coloured by
        ``pct_missing`` on a light-to-dark blue scale; not-applicable cells hatched grey. The
        figure's height grows with the number of services.
    """
    title = "Missing data in key fields, by service"
    if not _has_rows(fields, FIELDS_COLUMNS, "data_quality_fields"):
        return _empty(title, "The data-quality table has no rows.")
    table = _fields_table(fields)
    codes = list(dict.fromkeys(table["code"]))
    field_names = list(dict.fromkeys(table["field"]))
    grid = table.pivot_table(index="code", columns="field", values="pct_missing", aggfunc="first", dropna=False)
    grid = grid.reindex(index=codes, columns=field_names)
    values = grid.to_numpy(dtype=float)
    over_grid = table.pivot_table(index="code", columns="field", values="over", aggfunc="first")
    is_over = over_grid.reindex(index=codes, columns=field_names).fillna(False).to_numpy(dtype=bool)
    n_rows, n_cols = values.shape

    def row_label(code: str) -> str:
        if names and code in names and pd.notna(names[code]):
            return _truncate(f"{code} — {names[code]}", 40)
        return code

    row_in = 0.2
    figure = _figure(2.6 + row_in * n_rows)
    ax = figure.add_subplot()
    cmap = matplotlib.colormaps[MISSING_CMAP].with_extremes(bad=GREY_LIGHT)
    mesh = ax.pcolormesh(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=100, edgecolors="white",
                         linewidth=0.6)
    not_applicable = np.argwhere(np.isnan(values))
    for r, c in not_applicable:
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor=GREY_LIGHT, edgecolor="white", hatch="////", lw=0.6))
    over = np.argwhere(is_over)
    if len(over):
        ax.scatter(over[:, 1] + 0.5, over[:, 0] + 0.5, s=16, facecolor="white", edgecolor=OKABE_ITO["black"],
                   lw=0.9, zorder=4)
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.set_yticks(np.arange(n_rows) + 0.5, [_plain(row_label(c)) for c in codes], fontsize=9)
    ax.set_xticks(np.arange(n_cols) + 0.5, [_field_label(f) for f in field_names], rotation=50, ha="left",
                  rotation_mode="anchor", fontsize=9)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    if n_rows > REPEAT_FIELD_LABELS_AFTER:
        # A tall heatmap repeats the field names underneath, so no row is far from a label.
        bottom = ax.secondary_xaxis("bottom")
        bottom.set_xticks(np.arange(n_cols) + 0.5, [_field_label(f) for f in field_names], rotation=50,
                          ha="right", rotation_mode="anchor", fontsize=9)
        bottom.tick_params(length=0)
        bottom.spines["bottom"].set_visible(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    _title(figure, title)
    colourbar = figure.colorbar(mesh, ax=ax, location="bottom", shrink=0.5, aspect=30, pad=0.01)
    colourbar.set_label("% missing (of records the field applies to)")
    figure.legend(
        handles=[
            Patch(facecolor=GREY_LIGHT, hatch="////", edgecolor="white", label="Not applicable (no records)"),
            Line2D([], [], marker="o", ls="none", markerfacecolor="white", markeredgecolor=OKABE_ITO["black"],
                   markersize=5, label=f"More than {threshold_pct:g}% missing"),
        ],
        loc="outside lower center", ncol=2, frameon=False,
    )

    with_records = ~np.all(np.isnan(values), axis=1)
    n_empty = int((~with_records).sum())
    over_per_service = is_over.sum(axis=1)
    per_field = is_over.sum(axis=0)
    worst = sorted(zip(per_field, field_names), key=lambda t: (-t[0], field_names.index(t[1])))[:3]
    alt = (
        f"Heatmap of the percentage of records missing each of {n_cols} key fields (columns) for "
        f"{_plural(n_rows, 'service')} (rows), darker meaning more missing; a dot marks more than "
        f"{threshold_pct:g}% missing. {_plural(int(len(over)), 'cell')} of {_count(n_rows * n_cols)} are over "
        f"{threshold_pct:g}%; {_plural(int((over_per_service > 0).sum()), 'service')} have at least one such field. "
        f"Fields most often over: " + ", ".join(f"{_field_label(f)} ({_plural(int(k), 'service')})" for k, f in worst)
        + "."
        + (f" {_plural(n_empty, 'service')} with no in-scope records {'has' if n_empty == 1 else 'have'} "
           "every field not applicable." if n_empty else "")
    )
    caption = (
        f"Percentage of records missing each key field; a dot marks more than {threshold_pct:g}% missing "
        f"(KPI1 threshold); hatched grey cells have no records the field applies to."
        + (f" {_plural(n_empty, 'service')} with no in-scope records {'is' if n_empty == 1 else 'are'} "
           "entirely hatched." if n_empty else "")
    )
    drawn = table.set_index("code").loc[codes].reset_index()
    drawn = drawn[drawn["field"].isin(field_names)]
    data = ChartData(caption=f"{title}, service by field",
                     table=_fields_data(drawn, threshold_pct, {"Service": [row_label(c) for c in drawn["code"]]}))
    return Chart(figure=figure, alt=alt, caption=caption, data=data)


@_styled
@over_backdrop("code", "name")
def completeness_bars(fields: pd.DataFrame, code: str, name: str | None = None,
                      *, threshold_pct: float) -> Chart:
    """One service's share of records missing each key field.

    Parameters
    ----------
    fields : pandas.DataFrame
        ``data_quality_fields`` (see :func:`completeness_heatmap`).
    code : str
        The service code.
    name : str, optional
        The service name, for the title.
    threshold_pct : float
        KPI1's threshold (param ``completeness_threshold_pct``), drawn as a line.

    Returns
    -------
    Chart
        Horizontal bars of ``pct_missing`` in key-field order; bars over the threshold are
        hatched, darker and labelled "over"; fields with nothing applicable say
        "not applicable".
    """
    label = _name_of(code, name)
    title = f"Missing data in key fields: {label}"
    if not _has_rows(fields, FIELDS_COLUMNS, "data_quality_fields"):
        return _empty(title, "The data-quality table has no rows.")
    table = _fields_table(fields)
    rows = table[table["code"] == str(code)]
    if rows.empty or rows["pct_missing"].isna().all():
        return _empty(title, f"{label} has no in-scope records, so no key field applies.")
    values = rows["pct_missing"].to_numpy(dtype=float)
    field_names = rows["field"].tolist()
    over = rows["over"].to_numpy(dtype=bool)

    # Laid out by hand, with room on the right for the longest value label at 100%, so that the
    # axes, field names and threshold are the same for every service: they are drawn once, as a
    # backdrop, and each service's bars, values and title over it (see Chart.changing).
    labels = [_field_label(f) for f in field_names]
    title_lines = _wrap(title, 95).count("\n") + 1
    left_in = _text_width_in(tuple(labels), 9) + 0.2
    right_in = _text_width_in((f"100.0% (over {threshold_pct:g}%)",), 9, bold=True) + 0.15
    top_in = 0.1 + title_lines * _LINE_12_IN + 0.1
    bottom_in = _TICK_LABELS_IN + _LINE_10_IN + 0.14
    height_in = round(top_in + 0.3 * (len(rows) + 0.7) + bottom_in, 2)
    layout = _single_axes_layout(height_in, left_in=left_in, right_in=right_in, top_in=top_in, bottom_in=bottom_in)
    figure, ax = layout.figure, layout.axes[0]
    y = np.arange(len(rows))
    plain = ax.barh(y[~over], values[~over], color=OKABE_ITO["sky_blue"], height=0.7)
    hatched = ax.barh(y[over], values[over], color=OVER_THRESHOLD_COLOUR, height=0.7, hatch="///", edgecolor="white",
                      lw=0)
    value_labels = []
    for yi, value, is_over in zip(y, values, over):
        if np.isnan(value):
            text, x = "not applicable", 0.8
        else:
            text, x = format_pct(value) + (f" (over {threshold_pct:g}%)" if is_over else ""), value + 0.8
        value_labels.append(ax.text(x, yi, text, va="center", ha="left", fontsize=9, clip_on=False,
                                    color=GREY_DARK if np.isnan(value) else OKABE_ITO["black"],
                                    fontstyle="italic" if np.isnan(value) else "normal",
                                    fontweight="bold" if is_over else "normal"))
    threshold = ax.axvline(threshold_pct, color=OKABE_ITO["black"], lw=1, ls="--")
    ax.text(threshold_pct + 0.8, -0.9, f"{threshold_pct:g}% threshold", fontsize=9, va="bottom", ha="left")
    ax.set_yticks(y, labels)
    ax.set_ylim(len(rows) - 0.5, -1.2)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of records missing (of the records the field applies to)")
    ax.tick_params(axis="y", length=0)
    suptitle = _grid_title(layout, title)
    # In the order a full drawing draws them: bars, the threshold over them, the spines, values.
    changing = (*plain.patches, *hatched.patches, threshold, *[s for s in ax.spines.values() if s.get_visible()],
                *value_labels, suptitle)

    n_na = int(np.isnan(values).sum())
    over_words = ", ".join(f"{_field_label(f)} {format_pct(v)}" for f, v, o in zip(field_names, values, over) if o)
    alt = (
        f"Bar chart of the percentage of records missing each of {len(rows)} key fields for {label}. "
        f"{_plural(int(over.sum()), 'field')} {'is' if over.sum() == 1 else 'are'} more than {threshold_pct:g}% "
        f"missing" + (f": {over_words}" if over_words else "") + ". "
        + (f"{_plural(n_na, 'field')} not applicable. " if n_na else "")
        + f"The highest share missing is {format_pct(np.nanmax(values))}."
    )
    caption = (
        f"Percentage of records missing each key field; the dashed line is the {threshold_pct:g}% threshold and "
        f"hatched bars are over it."
        + (f" {_plural(n_na, 'field')} with no records {'it applies' if n_na == 1 else 'they apply'} to "
           f"{'is' if n_na == 1 else 'are'} marked not applicable." if n_na else "")
    )
    data = ChartData(caption=f"{title}: every bar drawn", table=_fields_data(rows, threshold_pct, {}))
    return Chart(figure=figure, alt=alt, caption=caption, changing=changing, data=data)
