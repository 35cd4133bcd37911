"""The Excel benchmark workbook published as ``site/downloads/benchmark.xlsx`` (outputs.md §4).

Built from a computed run's aggregated tables only (``kpi_results.csv``, ``kpi_breakdowns.csv``
and ``manifest.json``):
no record-level data and no identifiers. Sheets:

- **Benchmark**: one row per unit (the national level, each nation of the run: England, Wales
  and Northern Ireland where present, then every service in code order), each KPI's percentage as *displayed* (rounded to one decimal place, halves up) with its
  band written as text beside it, coloured by band.
- **KPI1** … **KPI11**: every unit's numerator, denominator and *exact* (unrounded) percentage,
  with interval, band, low-numbers flag, funnel status, rank and, when the run was compared with
  an earlier year, the earlier percentage and the change.
- **Who gets care**: KPI3–KPI11 by age band, sex, care home and fracture site at every level, the
  published columns only (counts under disclosure control below the national level).
- **Definitions**: what each KPI counts, its bands, and how to read the workbook.
- **Provenance**: title, period, cut-off, build time, versions, input checksums, row counts.

The workbook is deterministic: document properties come from the manifest's ``built_at`` and the
zip entries carry that same fixed time, so two builds of the same run are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fls_report.io import write_bytes_atomic
from fls_report.kpis import KPI_IDS, NATIONAL, RECORD_KPIS
from fls_report.run import Run
from fls_report.vocabulary import FUNNEL_STATUSES, band_rule, fmt_pct, kpi_definition, status_words

CREATOR = "fls-report"
BENCHMARK = "Benchmark"
DEFINITIONS = "Definitions"
BREAKDOWNS = "Who gets care"
PROVENANCE = "Provenance"
SHEETS: tuple[str, ...] = (BENCHMARK, *KPI_IDS, BREAKDOWNS, DEFINITIONS, PROVENANCE)

#: Band fills (colour-blind-considerate; the band is always also written as text).
FILLS: dict[str, str] = {"green": "FFCDEBDC", "amber": "FFFBE3B3", "red": "FFF6C9B5", "none": "FFEEEEEE"}
LOW_NUMBERS_MARK = "†"
PCT_FORMAT = "0.0"
COUNT_FORMAT = "#,##0"
#: Text starting with one of these would be taken as a formula when a reader edits the cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
#: A zip entry cannot be dated before 1980.
ZIP_EPOCH = dt.datetime(1980, 1, 1)

_HEADER_FONT = Font(bold=True)
_HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
_WRAP = Alignment(wrap_text=True, vertical="top")


# ---------------------------------------------------------------------------------------------
# Definitions text (one place: the Definitions sheet, and anything else that needs it)


# ---------------------------------------------------------------------------------------------
# Cells


def displayed(value) -> float | None:
    """A percentage as shown on pages: one decimal place, halves rounded up; None when blank."""
    if value is None or pd.isna(value):
        return None
    return float(fmt_pct(value))


def _blank(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _put(ws: Worksheet, row: int, column: int, value, number_format: str | None = None):
    """Write one cell. Text is always plain text, never a formula (formula injection guard)."""
    cell = ws.cell(row=row, column=column)
    if _blank(value):
        return cell
    if isinstance(value, str):
        return put_text(cell, value)
    if isinstance(value, (bool, np.bool_)):
        cell.value = bool(value)
    elif isinstance(value, (int, np.integer)) or (number_format == COUNT_FORMAT and float(value).is_integer()):
        cell.value = int(value)
    else:
        cell.value = float(value)
    if number_format:
        cell.number_format = number_format
    return cell


def put_text(cell, text: str):
    """Make ``cell`` hold ``text`` as text, never a formula (formula injection guard); returns it."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.value = text
    cell.data_type = "s"  # openpyxl would store "=..." as a formula
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True  # Excel's leading apostrophe: stays text when edited
    return cell


def _fill(cell, rag) -> None:
    colour = FILLS.get("none" if _blank(rag) else str(rag), FILLS["none"])
    cell.fill = PatternFill(fill_type="solid", fgColor=colour, bgColor=colour)


def _table(ws: Worksheet, header: list[str], widths: list[float], freeze: str = "B2") -> None:
    """Header row (bold, wrapped), frozen panes, autofilter over the filled range, column widths."""
    for column, (title, width) in enumerate(zip(header, widths), start=1):
        cell = _put(ws, 1, column, title)
        cell.font = _HEADER_FONT
        cell.alignment = _HEADER_ALIGNMENT
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = freeze
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(ws.max_row, 2)}"


def _width(values, low: float = 8, high: float = 48) -> float:
    longest = max((len(str(v)) for v in values if not _blank(v)), default=0)
    return float(min(high, max(low, longest + 2)))


# ---------------------------------------------------------------------------------------------
# Sheets


def _units(run: Run) -> pd.DataFrame:
    """The national level, each nation of the run (:attr:`Run.levels`), then every service in code
    order: code, name, nation, records, level."""
    records = run.results[run.results["kpi_id"] == "KPI3"].set_index("code")["denominator"]
    pinned = run.levels[["code", "name", "nation"]]
    units = pd.concat([pinned, run.services[["code", "name", "nation"]]], ignore_index=True)
    units["records"] = [int(records.get(code, 0)) for code in units["code"]]
    units["level"] = ["national" if code == NATIONAL else "nation" for code in pinned["code"]] \
        + ["service"] * len(run.services)
    return units


def _band_text(rag, low_numbers) -> str:
    text = "none" if _blank(rag) else str(rag)
    return f"{text} {LOW_NUMBERS_MARK}" if bool(low_numbers) else text


def _benchmark_sheet(ws: Worksheet, run: Run, units: pd.DataFrame) -> None:
    results = run.results.set_index(["code", "kpi_id"])
    header = ["Service", "Code", "Nation", "Records"]
    for kpi_id in KPI_IDS:
        header += [f"{kpi_id} %", f"{kpi_id} band"]
    for row, unit in enumerate(units.itertuples(), start=2):
        _put(ws, row, 1, unit.name)
        _put(ws, row, 2, unit.code)
        _put(ws, row, 3, unit.nation)
        _put(ws, row, 4, unit.records, COUNT_FORMAT)
        for i, kpi_id in enumerate(KPI_IDS):
            r = results.loc[(unit.code, kpi_id)]
            pct = _put(ws, row, 5 + 2 * i, displayed(r["pct"]), PCT_FORMAT)
            _fill(pct, r["rag"])
            _put(ws, row, 6 + 2 * i, _band_text(r["rag"], r["low_numbers"]))
    widths = [_width(units["name"], 16, 48), _width(units["code"], 8, 16), _width(units["nation"], 9, 18), 9] \
        + [7.5, 8.5] * len(KPI_IDS)
    _table(ws, header, widths)


def _kpi_sheet(ws: Worksheet, run: Run, units: pd.DataFrame, kpi_id: str, ranks: pd.DataFrame) -> None:
    rows = run.results[run.results["kpi_id"] == kpi_id].set_index("code")
    on_funnel = kpi_id in RECORD_KPIS
    yearly = [c for c in ("previous_pct", "change_pct_points") if c in rows.columns]
    ranked = ranks[ranks["kpi_id"] == kpi_id].set_index("code")
    columns: list[tuple[str, str, float]] = [  # (key, header, width)
        ("name", "Service", _width(units["name"], 16, 48)), ("code", "Code", _width(units["code"], 8, 16)),
        ("level", "Level", 9), ("nation", "Nation", _width(units["nation"], 9, 18)), ("numerator", "Numerator", 11),
        ("denominator", "Denominator", 12), ("pct", "%", 8),
    ]
    if on_funnel:
        columns += [("ci_low", "95% interval low %", 10), ("ci_high", "95% interval high %", 10)]
    columns += [("rag", "Band", 8), ("low_numbers", "Low numbers", 9)]
    if on_funnel:
        columns += [("funnel_status", "Funnel status (services)", 16), ("status_words", "Funnel status in words", 34),
                    ("rank", "Rank among services", 9), ("ranked", "Services ranked", 9)]
    if "previous_pct" in yearly:
        columns.append(("previous_pct", "Earlier year %", 9))
    if "change_pct_points" in yearly:
        columns.append(("change_pct_points", "Change (percentage points)", 12))

    formats = {"numerator": COUNT_FORMAT, "denominator": COUNT_FORMAT, "pct": PCT_FORMAT, "ci_low": PCT_FORMAT,
               "ci_high": PCT_FORMAT, "previous_pct": PCT_FORMAT, "change_pct_points": PCT_FORMAT,
               "rank": COUNT_FORMAT, "ranked": COUNT_FORMAT}
    for row, unit in enumerate(units.itertuples(), start=2):
        r = rows.loc[unit.code]
        status = r.get("funnel_status") if unit.level == "service" else None
        values = {
            "name": unit.name, "code": unit.code, "level": unit.level, "nation": unit.nation,
            "numerator": r["numerator"], "denominator": r["denominator"], "pct": r["pct"],
            "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high"),
            "rag": "none" if _blank(r["rag"]) else r["rag"],
            "low_numbers": "yes " + LOW_NUMBERS_MARK if bool(r["low_numbers"]) else "no",
            "funnel_status": None if _blank(status) or status == "" else status,
            "status_words": status_words(status) if unit.level == "service" else None,
            "rank": ranked.at[unit.code, "rank"] if unit.code in ranked.index else None,
            "ranked": ranked.at[unit.code, "ranked"] if unit.code in ranked.index else None,
            "previous_pct": r.get("previous_pct"), "change_pct_points": r.get("change_pct_points"),
        }
        for column, (key, _, _) in enumerate(columns, start=1):
            cell = _put(ws, row, column, values[key], formats.get(key))
            if key == "pct":
                _fill(cell, r["rag"])
    _table(ws, [h for _, h, _ in columns], [w for _, _, w in columns])


def _breakdowns_sheet(ws: Worksheet, run: Run) -> None:
    """KPI3–KPI11 by patient group at every level, the published (``_shown``) columns only: counts
    under disclosure control below the national level (``*`` suppressed), percentages and
    intervals to one decimal place, blank for a suppressed group."""
    columns = [("level", "Level", 9), ("code", "Code", 14), ("name", "Name", 30),
               ("characteristic", "Characteristic", 14), ("group", "Group", 18), ("kpi_id", "KPI", 7),
               ("numerator_shown", "Numerator", 11), ("denominator_shown", "Denominator", 12),
               ("pct_shown", "%", 8), ("ci_low_shown", "95% interval low %", 10),
               ("ci_high_shown", "95% interval high %", 10), ("low_numbers", "Low numbers", 9)]
    names = run.names
    for row, r in enumerate(run.breakdowns.itertuples(), start=2):
        values = {c: getattr(r, c) for c, _, _ in columns if c != "name"}
        values["name"] = names.get(r.code, r.code)
        values["low_numbers"] = "yes " + LOW_NUMBERS_MARK if bool(r.low_numbers) else "no"
        for column, (key, _, _) in enumerate(columns, start=1):
            _put(ws, row, column, values[key], PCT_FORMAT if key in ("pct_shown", "ci_low_shown", "ci_high_shown") else None)
    _table(ws, [h for _, h, _ in columns], [w for _, _, w in columns], freeze="A2")


def _definitions_sheet(ws: Worksheet, run: Run) -> None:
    header = ["KPI", "Name", "Numerator and denominator", "Bands"]
    for row, kpi_id in enumerate(KPI_IDS, start=2):
        for column, value in enumerate((kpi_id, run.kpi_names[kpi_id], kpi_definition(run.params, kpi_id, run.level_names),
                                        band_rule(kpi_id, run.params.kpi)), start=1):
            _put(ws, row, column, value).alignment = _WRAP
    _table(ws, header, [8, 30, 90, 44], freeze="A2")

    below = run.params.kpi.low_numbers_below
    notes = [
        ("Displayed and exact values",
         "The Benchmark sheet holds each percentage as displayed: rounded to one decimal place with halves "
         "rounded up (the value in the cell is the rounded number). The KPI1–KPI11 sheets hold the exact, "
         "unrounded percentages, intervals and changes, shown to one decimal place by the cell format. Bands, "
         "ranks and funnel statuses are set on the exact values."),
        ("Percentages", "Percent (0–100), not fractions: numerator ÷ denominator × 100. Blank where the "
                        "denominator is 0 or, for KPI2, where the service has no caseload estimate."),
        ("Bands", "Written as text (green, amber, red, none) beside each percentage, and shown as the cell's "
                  "colour; 'none' means no eligible patients or no caseload estimate. Colours used:"),
        ("Low numbers", f"{LOW_NUMBERS_MARK} after a band, or 'yes {LOW_NUMBERS_MARK}' in a KPI sheet: fewer "
                        f"than {below} in the denominator (for a service's KPI1, fewer than {below} records). "
                        "Interpret with care; the result is shown, not hidden."),
        ("95% interval", "Wilson score interval (the Public Health England / Fingertips standard), KPI3–KPI11."),
        ("Funnel status", f"HQIP outlier status of each service on KPI3–KPI11 against {run.national_name}: "
                          "alert = outside the 95% limits, alarm = outside the 99.8% limits (low or high). In words: "
                          + "; ".join(f"{status} = {status_words(status)}" for status in FUNNEL_STATUSES if status)
                          + ". Blank for a service with no eligible patients."),
        ("Rank", "Among services with eligible patients, KPI3–KPI11: 1 is the highest exact percentage; ties "
                 "share the better rank."),
        ("Records", "In-scope records (fracture in the audit period, aged 50 or over): KPI3's denominator."),
        ("Data", "Aggregated results only (kpi_results.csv of the run): no patient-level data or identifiers."),
    ]
    if "change_pct_points" in run.results.columns:
        notes.append(("Year on year", "Earlier year % is the percentage in the earlier year's report; change is "
                                      "this year's exact percentage minus it, in percentage points."))
    row = len(KPI_IDS) + 3
    _put(ws, row, 2, "How to read this workbook").font = _HEADER_FONT
    for title, text in notes:
        row += 1
        _put(ws, row, 2, title).font = _HEADER_FONT
        _put(ws, row, 3, text).alignment = _WRAP
        if title == "Bands":  # the legend: a cell of each colour, its band written in it
            for rag in FILLS:
                row += 1
                _fill(_put(ws, row, 3, rag), rag)


def _provenance_sheet(ws: Worksheet, run: Run, units: pd.DataFrame) -> None:
    manifest, p = run.manifest, run.params
    items: list[tuple[str, object]] = [
        ("Title", p.title),
        ("Audit period", f"{p.period_start} to {p.period_end}"),
        ("Data cut-off", str(p.data_cutoff)),
        ("Built at (UTC)", manifest.get("built_at", "")),
    ]
    for name, version in sorted(manifest.get("versions", {}).items()):
        items.append((f"Version: {name}", version))
    items.append(("Version: openpyxl (wrote this workbook)", _version("openpyxl")))
    for name, found in sorted(manifest.get("inputs", {}).items()):
        # the file name only: a path in the manifest could name a folder on the machine that built it
        items.append((f"Input {name}: file", Path(str(found.get("path", ""))).name))
        items.append((f"Input {name}: SHA-256", found.get("sha256", "")))
    params = manifest.get("params", {})
    for group in ("kpi", "disclosure"):
        for name, value in sorted((params.get(group) or {}).items()):
            items.append((f"Parameter {group}.{name}", ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    if params.get("compare_with"):
        items.append(("Compared with (earlier kpi_results)", Path(str(params["compare_with"])).name))
    for name in ("read", "rejected", "excluded", "included"):
        if name in manifest.get("rows", {}):
            items.append((f"Rows {name}", int(manifest["rows"][name])))
    items += [
        ("Units in this workbook", int(len(units))),
        ("Services in this workbook", int((units["level"] == "service").sum())),
        ("Source table", "tables/kpi_results.csv"),
    ]
    for row, (key, value) in enumerate(items, start=2):
        _put(ws, row, 1, key)
        _put(ws, row, 2, value, COUNT_FORMAT if isinstance(value, int) else None)
    _table(ws, ["Item", "Value"], [40, _width([v for _, v in items], 20, 80)], freeze="A2")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


# ---------------------------------------------------------------------------------------------
# Workbook


def _built_at(run: Run) -> dt.datetime:
    """The manifest's build time (ISO 8601 UTC) as a naive UTC datetime."""
    text = str(run.manifest["built_at"]).replace("Z", "+00:00")
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def benchmark_workbook(run: Run) -> Workbook:
    """The benchmark workbook of a computed run (sheets in :data:`SHEETS` order).

    Parameters
    ----------
    run
        A computed run (:func:`fls_report.report.load`).

    Returns
    -------
    openpyxl.Workbook
        Not yet saved; :func:`write_workbook` saves it deterministically.
    """
    units = _units(run)
    ranks = run.ranks
    wb = Workbook()
    ws = wb.active
    ws.title = BENCHMARK
    _benchmark_sheet(ws, run, units)
    for kpi_id in KPI_IDS:
        _kpi_sheet(wb.create_sheet(kpi_id), run, units, kpi_id, ranks)
    _breakdowns_sheet(wb.create_sheet(BREAKDOWNS), run)
    _definitions_sheet(wb.create_sheet(DEFINITIONS), run)
    _provenance_sheet(wb.create_sheet(PROVENANCE), run, units)

    built = _built_at(run)
    wb.properties.creator = CREATOR
    wb.properties.lastModifiedBy = CREATOR
    wb.properties.title = f"{run.params.title}: benchmark"
    wb.properties.created = built
    wb.properties.modified = built
    return wb


def workbook_bytes(wb: Workbook, when: dt.datetime) -> bytes:
    """The saved workbook with every zip entry dated ``when`` (or 1980), so equal content gives equal bytes."""
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = max(when, ZIP_EPOCH).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            entry.create_system = 0
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with the clock on save
                content = _MODIFIED.sub(rf"\g<1>{when:%Y-%m-%dT%H:%M:%SZ}\g<2>", content.decode("utf-8")).encode("utf-8")
            target.writestr(entry, content)
    return out.getvalue()


_MODIFIED = re.compile(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def write_workbook(run: Run, path: str | Path) -> Path:
    """Write the benchmark workbook to ``path`` atomically (temporary file beside it, then replace)."""
    return write_bytes_atomic(path, workbook_bytes(benchmark_workbook(run), _built_at(run)))
