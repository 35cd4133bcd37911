"""The stages end to end: validate, then compute, writing tables, restricted lists and manifest.

Every input is read and checked before anything is written, so an input error (exit 2) leaves
no tables behind. Writes are atomic (see :mod:`fls_report.io`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from fls_report import __version__, benchmarks, compare, quality, tables
from fls_report.incremental import inputs_fingerprint, package_fingerprint
from fls_report.io import sha256_file, write_text_atomic
from fls_report.breakdowns import kpi_breakdown_tests, kpi_breakdowns, kpi_regions
from fls_report.casemix import case_mix
from fls_report.kpis import (compute_kpis, eighty_fifty_eighty, eighty_fifty_eighty_summary, time_to_event,
                             kpi_names, time_to_event_summary, with_ranks)
from fls_report.params import Params
from fls_report.run import Outputs
from fls_report.validate import Validated, validate

KEY_LIBRARIES = ("pandas", "numpy", "scipy", "statsmodels", "pandera", "pyarrow", "papermill", "nbconvert", "matplotlib", "seaborn")


def run_validate(params: Params) -> Validated:
    """Validate the inputs and write the data-quality tables and the restricted lists."""
    validated = validate(params)
    out = Outputs(params.output)
    codes = validated.services.codes
    tables.write_table(quality.record_accounting(validated.row_states), out.tables / "record_accounting.csv")
    tables.write_table(
        quality.data_quality_fields(validated.records, codes, params), out.tables / "data_quality_fields.csv"
    )
    tables.write_table(quality.data_quality_issues(validated.issues), out.tables / "data_quality_issues.csv")
    tables.write_table(
        quality.data_quality_unrecognised(validated.extract.unrecognised), out.tables / "data_quality_unrecognised.csv"
    )
    tables.write_table(quality.extract_files(validated.extract.files), out.tables / "extract_files.csv")
    tables.write_table(validated.rejected, out.restricted / "rejected_records.csv")
    tables.write_table(quality.record_issues(validated.issues), out.restricted / "record_issues.csv")
    tables.write_table(
        quality.unrecognised_values(validated.extract.unrecognised), out.restricted / "unrecognised_values.csv"
    )
    return validated


def compute_tables(validated: Validated, params: Params, previous: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every table ``compute`` writes, by name (without ``.csv``), in memory.

    ``previous`` is an earlier run's results (:func:`fls_report.compare.read_previous`); with it,
    ``kpi_results`` gains ``previous_pct`` and ``change_pct_points``.
    """
    results, monthly = compute_kpis(validated, params)
    funnel_tables = benchmarks.funnels(results)
    results["funnel_status"] = benchmarks.funnel_status(results, funnel_tables)
    results = with_ranks(results)
    if previous is not None:
        results = compare.add_previous(results, previous)
    per_service = eighty_fifty_eighty(results)
    signals = benchmarks.run_chart_signals(monthly)
    p_chart_points, p_chart_runs = benchmarks.p_charts(monthly, validated.services.codes)
    days = time_to_event(validated, params)
    breakdowns = kpi_breakdowns(validated, params)
    return {
        "kpi_results": results,
        "monthly_kpis": monthly,
        "funnel_summary": benchmarks.funnel_summary(funnel_tables, kpi_names(params.kpi)),
        "funnel_points": benchmarks.funnel_points(funnel_tables),
        "funnel_limits": benchmarks.funnel_limits(funnel_tables),
        "run_chart_signals": signals,
        "run_chart_points": benchmarks.run_chart_points(monthly, signals),
        "p_charts": p_chart_points,
        "p_chart_runs": p_chart_runs,
        "eighty_fifty_eighty": per_service,
        "eighty_fifty_eighty_summary": eighty_fifty_eighty_summary(per_service),
        "case_mix": case_mix(validated.records, validated.services.frame, params.disclosure),
        "time_to_event": days,
        "time_to_event_summary": time_to_event_summary(days, results),
        "kpi_breakdowns": breakdowns,
        "kpi_breakdown_tests": kpi_breakdown_tests(breakdowns),
        "kpi_regions": kpi_regions(breakdowns, params),
    }


def run_compute(params: Params) -> tuple[Validated, pd.DataFrame]:
    """Validate, then write the KPI, statistics and case-mix tables and the manifest."""
    previous = compare.read_previous(params.compare_with) if params.compare_with else None  # before any write
    validated = run_validate(params)
    out = Outputs(params.output)
    computed = compute_tables(validated, params, previous)
    for name, frame in computed.items():
        tables.write_table(frame, out.tables / f"{name}.csv", tables.SCHEMAS.get(name))
    write_manifest(params, validated.counts())
    return validated, computed["kpi_results"]


def build_time() -> str:
    """The build time, from ``SOURCE_DATE_EPOCH`` when set (reproducible builds), in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
        if epoch
        else dt.datetime.now(tz=dt.timezone.utc).replace(microsecond=0)
    )
    return moment.isoformat().replace("+00:00", "Z")


def versions() -> dict[str, str]:
    """Versions of the package, Python and the key libraries."""
    found = {"fls_report": __version__, "python": platform.python_version()}
    for name in KEY_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def input_checksums(params: Params) -> dict[str, dict]:
    """Path (as written in the parameters file) and SHA-256 of every input file of the run: each
    file of a listed extract is its own entry, ``extract <n> (<service>)``, and so is a mapping
    file other than the built-in one."""
    named = params.as_dict()
    if params.extract_listed:
        width = len(str(len(params.extract)))
        inputs = {
            f"extract {n:0{width}d} ({f.service})": {"path": f.written, "sha256": sha256_file(f.path)}
            for n, f in enumerate(params.extract, start=1)
        }
    else:
        inputs = {"extract": {"path": named["extract"], "sha256": sha256_file(params.extract[0].path)}}
    inputs |= {
        "services": {"path": named["services"], "sha256": sha256_file(params.services)},
        "params": {"path": params.source.name, "sha256": sha256_file(params.source)},
    }
    if params.mapping is not None:
        inputs["mapping"] = {"path": named["mapping"], "sha256": sha256_file(params.mapping)}
    if params.compare_with is not None:
        inputs["compare_with"] = {"path": named["compare_with"], "sha256": sha256_file(params.compare_with)}
    return inputs


def write_manifest(params: Params, rows: dict[str, int], reports: list[dict] | None = None,
                   built_at: str | None = None) -> Path:
    """Write ``manifest.json``: parameters, input checksums, versions, row counts, build time, the
    fingerprint the tables were computed from, and one entry per report page."""
    inputs = input_checksums(params)
    manifest = {
        "params": params.as_dict(),
        "inputs": inputs,
        "versions": versions(),
        "rows": rows,
        "built_at": built_at or build_time(),
        "fingerprint": inputs_fingerprint(inputs, package_fingerprint()),
        "reports": reports or [],
    }
    return write_text_atomic(Outputs(params.output).manifest, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
