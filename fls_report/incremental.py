"""What each build step depends on, so a rebuild redoes only what changed.

Three rules, recorded in ``manifest.json`` so a reader can check them:

- **Tables** are recomputed when an input file (extract, services, parameters, ``compare_with``)
  or the package itself changed, or a table is missing.
- **A report is re-executed** when its *content hash* changed: its notebook, the package, the
  parameters, and its slice of the tables (a service page: the rows of that service, its nation
  (England, Wales or Northern Ireland) and the national level, plus every service's KPI counts,
  which its funnels plot).
- **A page is re-rendered** (its provenance footer swapped in) when the footer changed, for
  example after a data correction elsewhere changed the extract's checksum.

``--force`` ignores all three and rebuilds everything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

PACKAGE = Path(__file__).resolve().parent

#: The tables a report kind reads (``tables/<name>.csv``), and which rows: "own" (the rows of the
#: service, its nation and the national level), "own+counts" (those and every service's KPI
#: counts), or a slice shared by every report (:data:`SHARED_RULES`) — see :func:`content_hash`.
SLICES: dict[str, dict[str, str]] = {
    "national": {"kpi_results": "all", "monthly_kpis": "national", "run_chart_signals": "national",
                 "case_mix": "national", "eighty_fifty_eighty_summary": "all", "funnel_summary": "all",
                 "extract_files": "formats", "kpi_breakdowns": "national", "kpi_breakdown_tests": "all",
                 "kpi_regions": "all"},
    "data_quality": {"record_accounting": "all", "data_quality_fields": "all", "data_quality_issues": "all",
                     "data_quality_unrecognised": "all", "extract_files": "all", "kpi_results": "names"},
    "service": {"kpi_results": "own+counts", "monthly_kpis": "own", "run_chart_signals": "own",
                "time_to_event": "own", "data_quality_fields": "own", "data_quality_issues": "own",
                "record_accounting": "own", "eighty_fifty_eighty": "own", "funnel_summary": "all",
                "extract_files": "formats", "kpi_breakdowns": "own"},
}


@lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """SHA-256 over the package's source and templates: any code change changes it."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".j2", ".css", ".js", ".json"}:
            digest.update(str(path.relative_to(PACKAGE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class TableCache:
    """The run's tables as text frames, read once per build."""

    folder: Path

    def __post_init__(self) -> None:
        self._frames: dict[str, pd.DataFrame] = {}
        self._shared: dict[tuple[str, str], bytes] = {}
        self._row_hashes: dict[str, np.ndarray] = {}

    def frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = pd.read_csv(self.folder / f"{name}.csv", dtype=str, keep_default_na=False)
        return self._frames[name]

    def slice_bytes(self, name: str, rule: str, codes: set[str]) -> bytes:
        """What a report's hash takes from table ``name``: its columns and the rows ``rule`` picks
        for a report of ``codes``. A slice that is the same for every report (:data:`SHARED_RULES`)
        is written out once per build; a report's own rows are taken as a 64-bit hash each
        (``pandas.util.hash_pandas_object``, the same in every process), hashed once per table."""
        if rule in SHARED_RULES:
            if (name, rule) not in self._shared:
                self._shared[name, rule] = _rows(self.frame(name), rule).to_csv(index=False).encode()
            return self._shared[name, rule]
        frame = self.frame(name)
        if name not in self._row_hashes:
            self._row_hashes[name] = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        own = self._row_hashes[name][frame["code"].isin(codes).to_numpy()]
        text = ",".join(frame.columns).encode() + b"\n" + own.tobytes()
        if rule == "own+counts":
            text += b"\ncounts\n" + self.slice_bytes(name, "counts", codes)
        return text


#: The :data:`SLICES` rules whose rows do not depend on the report's codes ("counts" is the
#: shared part of "own+counts").
SHARED_RULES = frozenset({"all", "national", "names", "formats", "counts"})


def _rows(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    """The rows of a table that a rule of :data:`SHARED_RULES` picks (the same for every report)."""
    if rule == "all":
        return frame
    if rule == "national":
        return frame[frame["level"] != "service"] if "level" in frame else frame
    if rule == "names":
        return frame[["code", "name"]].drop_duplicates()
    if rule == "formats":  # the methods section says how webtool exports are read, if any were
        return frame[["format"]].drop_duplicates().sort_values("format")
    if rule == "counts":  # every service's KPI counts, which a service's funnels plot
        return frame.loc[frame["level"] == "service", ["code", "kpi_id", "numerator", "denominator", "funnel_status"]]
    raise ValueError(f"{rule!r} is not one of {sorted(SHARED_RULES)}")


def content_hash(kind: str, code: str, nation_code: str | None, notebook: Path, parameters: dict,
                 params_plain: dict, tables: TableCache) -> str:
    """The hash of everything a report's executed notebook depends on (see module docstring).

    ``nation_code`` is the service's nation row (``ENGLAND``, ``WALES`` or ``NORTHERN_IRELAND``,
    :data:`fls_report.kpis.NATION_CODES`); None for the national and data-quality pages."""
    digest = hashlib.sha256()
    digest.update(package_fingerprint().encode())
    digest.update(notebook.read_bytes())
    digest.update(json.dumps(parameters, sort_keys=True).encode())
    digest.update(json.dumps(params_plain, sort_keys=True, default=str).encode())
    codes = {code, "NATIONAL"} | ({nation_code} if nation_code else set())
    for name, rule in sorted(SLICES[kind].items()):
        digest.update(name.encode())
        digest.update(tables.slice_bytes(name, rule, codes))
    return digest.hexdigest()


def inputs_fingerprint(inputs: dict[str, dict], package: str) -> dict:
    """What the tables were computed from: the input checksums and the package fingerprint."""
    return {"inputs": {name: entry["sha256"] for name, entry in sorted(inputs.items())}, "package": package}
