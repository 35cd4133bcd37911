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
import io as _io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

PACKAGE = Path(__file__).resolve().parent

#: The tables a report kind reads (``tables/<name>.csv``), and which rows: "all", or "own" (the
#: rows of the service, its nation and the national level) — see :func:`content_hash`.
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

    def frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = pd.read_csv(self.folder / f"{name}.csv", dtype=str, keep_default_na=False)
        return self._frames[name]


def _rows(frame: pd.DataFrame, rule: str, codes: set[str]) -> pd.DataFrame:
    if rule == "all":
        return frame
    if rule == "national":
        return frame[frame["level"] != "service"] if "level" in frame else frame
    if rule == "names":
        return frame[["code", "name"]].drop_duplicates()
    if rule == "formats":  # the methods section says how webtool exports are read, if any were
        return frame[["format"]].drop_duplicates().sort_values("format")
    own = frame[frame["code"].isin(codes)]
    if rule == "own+counts":
        counts = frame.loc[frame["level"] == "service", ["code", "kpi_id", "numerator", "denominator", "funnel_status"]]
        return pd.concat([own, counts], keys=["own", "counts"])
    return own


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
        buffer = _io.StringIO()
        _rows(tables.frame(name), rule, codes).to_csv(buffer, index=False)
        digest.update(name.encode())
        digest.update(buffer.getvalue().encode())
    return digest.hexdigest()


def inputs_fingerprint(inputs: dict[str, dict], package: str) -> dict:
    """What the tables were computed from: the input checksums and the package fingerprint."""
    return {"inputs": {name: entry["sha256"] for name, entry in sorted(inputs.items())}, "package": package}
