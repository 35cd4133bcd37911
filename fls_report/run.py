"""A computed run: where its files are, and its tables read back for the pages, slides, workbook
and PDFs.

Everything a reader sees was computed once, by the compute stage (:mod:`fls_report.pipeline`),
and written to ``tables/``; :class:`Run` only reads those tables (and reshapes them for drawing:
a funnel's points with its target in ``attrs``, a p-chart with its runs analysis). Nothing here
computes a statistic.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from fls_report.extract import WEBTOOL
from fls_report.kpis import NATIONAL, in_nation_order
from fls_report.params import Params, load_params, params_from_record

#: HQIP funnel statuses from the lowest to the highest (statistics.md §2).
FUNNEL_STATUSES: tuple[str, ...] = ("alarm low", "alert low", "in control", "alert high", "alarm high")


#: The run's manifest, in its output folder: provenance, and the parameters as loaded.
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Outputs:
    """Where a run writes (outputs.md §3)."""

    root: Path

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    @property
    def restricted(self) -> Path:
        return self.root / "restricted"

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_NAME


#: Tables parsed in this process, by their bytes' digest (see :func:`read_table`).
_PARSED: dict[bytes, pd.DataFrame] = {}
#: How many parsed tables :data:`_PARSED` keeps (a run has about 25; a test session holds many runs).
_PARSED_KEPT = 64


def read_table(path: Path) -> pd.DataFrame:
    """A table as written: codes as text, blanks as missing, every float exactly as computed (the
    tables hold the shortest text that reads back to the same float).

    A worker's warm kernel reads the same tables for every report of a run; each is parsed once
    per content (keyed by a digest of its bytes, so a table rewritten by a later run is read
    afresh) and each caller gets its own copy, free to change.
    """
    data = path.read_bytes()
    key = hashlib.blake2b(data, digest_size=16).digest()
    frame = _PARSED.pop(key, None)
    if frame is None:
        frame = pd.read_csv(io.BytesIO(data), dtype={"code": str}, keep_default_na=False, na_values=[""],
                            float_precision="round_trip")
    _PARSED[key] = frame  # most recently used last
    while len(_PARSED) > _PARSED_KEPT:
        del _PARSED[next(iter(_PARSED))]
    return frame.copy()


@dataclass(frozen=True)
class Run:
    """A computed run: its parameters and tables, read once per notebook."""

    params: Params

    @property
    def tables(self) -> Path:
        return Outputs(self.params.output).tables

    def _read(self, name: str) -> pd.DataFrame:
        """The run's table ``name`` (see :func:`read_table`)."""
        return read_table(self.tables / f"{name}.csv")

    @cached_property
    def results(self) -> pd.DataFrame:
        return self._read("kpi_results")

    @cached_property
    def monthly(self) -> pd.DataFrame:
        return self._read("monthly_kpis")

    @cached_property
    def accounting(self) -> pd.DataFrame:
        frame = self._read("record_accounting")
        frame["reason"] = frame["reason"].fillna("")
        return frame

    @cached_property
    def fields(self) -> pd.DataFrame:
        return self._read("data_quality_fields")

    @cached_property
    def issues(self) -> pd.DataFrame:
        return self._read("data_quality_issues")

    @cached_property
    def unrecognised(self) -> pd.DataFrame:
        """Values the reader did not recognise, counted per service and field (no text)."""
        return self._read("data_quality_unrecognised")

    @cached_property
    def extract_files(self) -> pd.DataFrame:
        """How each file of the extract was read: format, rows and header counts."""
        frame = self._read("extract_files").astype({"service_code": str})
        frame["service_code"] = frame["service_code"].replace("nan", "")
        return frame

    @property
    def read_webtool_exports(self) -> bool:
        """Whether any file of the extract was read as a webtool export."""
        return bool((self.extract_files["format"] == WEBTOOL).any())

    @cached_property
    def case_mix(self) -> pd.DataFrame:
        return self._read("case_mix").astype({"shown": str})

    @cached_property
    def signals(self) -> pd.DataFrame:
        return self._read("run_chart_signals")

    @cached_property
    def funnel_summary(self) -> pd.DataFrame:
        return self._read("funnel_summary")

    @cached_property
    def funnel_points(self) -> pd.DataFrame:
        return self._read("funnel_points")

    @cached_property
    def funnel_limits(self) -> pd.DataFrame:
        return self._read("funnel_limits")

    @cached_property
    def funnel_tables(self) -> dict[str, pd.DataFrame]:
        """Each funnel of KPI3–KPI11 as drawn: the services' points indexed by code (``x``, ``n``,
        ``p``, the four limits, ``status``), with the funnel's ``target``, ``phi``, ``tau2``,
        ``limits`` and ``adjusted`` in ``attrs``, as ``funnel_points`` and ``funnel_summary`` hold them."""
        summary = self.funnel_summary.set_index("kpi_id")
        tables = {}
        for kpi_id, points in self.funnel_points.groupby("kpi_id", sort=False):
            table = points.drop(columns="kpi_id").set_index("code")
            table.index.name = None
            table.attrs = {key: summary.at[kpi_id, key] for key in ("target", "phi", "tau2", "limits", "adjusted")}
            tables[kpi_id] = table
        return tables

    @cached_property
    def funnel_curves(self) -> dict[str, pd.DataFrame]:
        """The 95% and 99.8% limit curves of each funnel: ``n`` and the four limits (proportions)."""
        return {kpi_id: curve.drop(columns="kpi_id").reset_index(drop=True)
                for kpi_id, curve in self.funnel_limits.groupby("kpi_id", sort=False)}

    @cached_property
    def run_chart_points(self) -> pd.DataFrame:
        return self._read("run_chart_points")

    @cached_property
    def p_chart_points(self) -> pd.DataFrame:
        return self._read("p_charts")

    @cached_property
    def p_chart_runs(self) -> pd.DataFrame:
        return self._read("p_chart_runs")

    def p_chart(self, code: str, kpi_id: str) -> pd.DataFrame | None:
        """One service's p-chart of a KPI as drawn (``month``, ``x``, ``n``, ``p``, ``cl``, ``lcl``,
        ``ucl``, ``outside``; the runs analysis around its centre line in ``attrs["runs"]``), or
        None where the monthly numbers allowed none."""
        points = self.p_chart_points
        chart = points[(points["code"] == code) & (points["kpi_id"] == kpi_id)]
        if chart.empty:
            return None
        runs = self.p_chart_runs
        found = runs[(runs["code"] == code) & (runs["kpi_id"] == kpi_id)].iloc[0]
        chart = chart.drop(columns=["code", "kpi_id"]).reset_index(drop=True)
        chart.attrs = {"chart": "p", "runs": {
            "n_useful": int(found["useful_points"]), "longest_run": int(found["longest_run"]),
            "longest_run_max": found["longest_run_limit"], "longest_run_side": found["longest_run_side"] or "",
            "crossings": int(found["crossings"]), "crossings_min": found["crossings_limit"],
            "signal": bool(found["signal"])}}
        return chart

    @cached_property
    def breakdowns(self) -> pd.DataFrame:
        """KPI3–KPI11 by patient group at every level (``kpi_breakdowns``); the ``_shown`` columns
        are what may be published."""
        frame = self._read("kpi_breakdowns")
        frame[["numerator_shown", "denominator_shown"]] = frame[["numerator_shown", "denominator_shown"]].astype(str)
        return frame

    @cached_property
    def breakdown_tests(self) -> pd.DataFrame:
        """The chi-squared tests of equal proportions across groups (``kpi_breakdown_tests``)."""
        frame = self._read("kpi_breakdown_tests")
        frame["note"] = frame["note"].fillna("")
        return frame

    @cached_property
    def regions(self) -> pd.DataFrame:
        """KPI3–KPI11 for each region named in the services file (``kpi_regions``); empty when
        the services file names none."""
        return self._read("kpi_regions")

    @cached_property
    def time_to_event_summary(self) -> pd.DataFrame:
        return self._read("time_to_event_summary")

    @cached_property
    def outliers(self) -> pd.DataFrame:
        """Services flagged alert or alarm on any funnel, KPI by KPI, lowest status first:
        ``kpi_id``, ``code``, ``name``, ``funnel_status``, ``pct``, ``numerator``, ``denominator``."""
        results = self.results
        order = {s: i for i, s in enumerate(FUNNEL_STATUSES)}
        flagged = results[results["funnel_status"].isin([s for s in FUNNEL_STATUSES if s != "in control"])]
        flagged = flagged.assign(_kpi=flagged["kpi_id"].str[3:].astype(int), _status=flagged["funnel_status"].map(order))
        flagged = flagged.sort_values(["_kpi", "_status", "pct"], kind="stable")
        return flagged[["kpi_id", "code", "name", "funnel_status", "pct", "numerator", "denominator"]].reset_index(drop=True)

    @cached_property
    def time_to_event(self) -> pd.DataFrame:
        return self._read("time_to_event")

    @cached_property
    def eighty_fifty_eighty(self) -> pd.DataFrame:
        return self._read("eighty_fifty_eighty")

    @cached_property
    def eighty_fifty_eighty_summary(self) -> pd.DataFrame:
        return self._read("eighty_fifty_eighty_summary")

    @cached_property
    def manifest(self) -> dict:
        return json.loads(Outputs(self.params.output).manifest.read_text(encoding="utf-8"))

    @cached_property
    def services(self) -> pd.DataFrame:
        """Service code, name, nation and in-scope records, in code order."""
        rows = self.results[(self.results["level"] == "service") & (self.results["kpi_id"] == "KPI3")]
        return rows[["code", "name", "nation"]].assign(records=rows["denominator"].astype(int)).reset_index(drop=True)

    @property
    def has_previous(self) -> bool:
        """Whether this run was compared with an earlier year (``compare_with``)."""
        return "previous_pct" in self.results.columns

    @cached_property
    def names(self) -> dict[str, str]:
        """Display name of every unit: services by code, the nations and the national level."""
        units = self.results.drop_duplicates("code")
        return dict(zip(units["code"], units["name"]))

    @cached_property
    def kpi_names(self) -> dict[str, str]:
        """Each KPI's name as this run computed it (its windows in it: ``kpi_results``' ``kpi_name``)."""
        rows = self.results.drop_duplicates("kpi_id")
        return dict(zip(rows["kpi_id"], rows["kpi_name"]))

    @property
    def national_name(self) -> str:
        """The national level's name, as ``kpi_results`` gives it: "England and Wales", or
        "England, Wales and Northern Ireland" when the services file has a Northern Ireland service."""
        return self.names[NATIONAL]

    @cached_property
    def nation_codes(self) -> tuple[str, ...]:
        """The nation rows of ``kpi_results`` (``ENGLAND`` and ``WALES``, ``NORTHERN_IRELAND`` where
        present), in the order of :data:`fls_report.kpis.NATION_CODES`."""
        nations = self.results.loc[self.results["level"] == "nation", "code"]
        return tuple(in_nation_order(dict.fromkeys(nations)))

    @property
    def level_codes(self) -> tuple[str, ...]:
        """The national level, then each nation of the run: the rows reports show above the services."""
        return (NATIONAL, *self.nation_codes)

    @property
    def level_names(self) -> tuple[str, ...]:
        """The names of the run's nation rows, then of its national level (as ``kpi_results`` has them)."""
        return (*(self.names[c] for c in self.nation_codes), self.national_name)

    @cached_property
    def levels(self) -> pd.DataFrame:
        """Code, name and nation (blank for the national level) of :attr:`level_codes`, in that order."""
        rows = self.results.drop_duplicates("code").set_index("code").loc[list(self.level_codes)]
        return pd.DataFrame({"code": list(self.level_codes), "name": rows["name"].to_list(),
                             "nation": rows["nation"].fillna("").astype(str).to_list()})

    def service(self, code: str) -> pd.Series:
        found = self.services[self.services["code"] == code]
        if found.empty:
            raise KeyError(f"service code {code!r} is not in the services file")
        return found.iloc[0]

    @cached_property
    def ranks(self) -> pd.DataFrame:
        """``code``, ``kpi_id``, ``rank`` and ``ranked`` of every ranked service row (KPI3–KPI11)."""
        ranked = self.results[self.results["rank"].notna()]
        return ranked[["code", "kpi_id", "rank", "ranked"]].astype({"rank": int, "ranked": int}).reset_index(drop=True)


def load(params_path: str | Path) -> Run:
    """Open a computed run from its parameters file, or from its manifest (``manifest.json`` in the
    run's output folder, which records the parameters as loaded: what a build gives the notebooks,
    so that an executed notebook names no path outside the output)."""
    path = Path(params_path)
    if path.name == MANIFEST_NAME:
        record = json.loads(path.read_text(encoding="utf-8"))["params"]
        return Run(params_from_record(record, path.resolve().parent))
    return Run(load_params(path))
