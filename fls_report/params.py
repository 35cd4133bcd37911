"""Load a run's parameters file strictly into a frozen dataclass (outputs.md §1).

Every default lives here, once. Unknown, duplicate and missing keys, bad dates, wrong types and
inconsistent periods are :class:`~fls_report.errors.InputError` messages naming the file and key.
"""

from __future__ import annotations

import calendar
import dataclasses
import os
import re
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fls_report.errors import InputError


@dataclass(frozen=True)
class KpiParams:
    """Numbers in the KPI definitions that an audit may change (kpis.md, *(param)* marks)."""

    assessment_days: int = 90
    dxa_days: int = 90
    due_16wk_days: int = 112
    due_52wk_days: int = 392
    followup_16wk_window_days: tuple[int, int] = (84, 112)
    completeness_threshold_pct: float = 20.0
    completeness_max_fields: int = 5
    low_numbers_below: int = 10


@dataclass(frozen=True)
class DisclosureParams:
    """Disclosure control for patient-characteristic counts (statistics.md §5)."""

    threshold: int = 8
    base: int = 5


@dataclass(frozen=True)
class ExtractFile:
    """One file of the extract (webtool_export.md §1).

    ``path`` is absolute; ``written`` is the path as the parameters file writes it (for messages,
    the manifest and ``restricted/rejected_records.csv``); ``service`` is the service every row of
    the file belongs to, or None for a single-file extract (the rows name their service);
    ``encoding`` is the text encoding of a CSV file.
    """

    path: Path
    written: str
    service: str | None = None
    encoding: str = "utf-8"


#: Text encodings a CSV extract may be in (webtool_export.md §1).
ENCODINGS: tuple[str, ...] = ("utf-8", "cp1252")
_EXTRACT_ENTRY_KEYS = ("service", "path", "encoding")


@dataclass(frozen=True)
class Params:
    """One report run, as described by a ``params/*.yml`` file.

    Paths are absolute, resolved against the folder of the parameters file.
    """

    source: Path
    title: str
    period_start: dt.date
    period_end: dt.date
    data_cutoff: dt.date
    extract: tuple[ExtractFile, ...]
    services: Path
    output: Path
    kpi: KpiParams = field(default_factory=KpiParams)
    disclosure: DisclosureParams = field(default_factory=DisclosureParams)
    compare_with: Path | None = None
    encoding: str = "utf-8"
    mapping: Path | None = None

    @property
    def extract_listed(self) -> bool:
        """Whether ``extract`` is the list form (one entry per file, each naming its service)."""
        return any(f.service is not None for f in self.extract)

    @property
    def months_in_period(self) -> int:
        """Whole calendar months from ``period_start`` to ``period_end`` inclusive."""
        return (
            (self.period_end.year - self.period_start.year) * 12
            + self.period_end.month
            - self.period_start.month
            + 1
        )

    @property
    def months(self) -> list[str]:
        """Every month of the audit period as ``YYYY-MM``, in order."""
        year, month = self.period_start.year, self.period_start.month
        out = []
        for _ in range(self.months_in_period):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The parameters as loaded, as plain JSON-friendly values (for the manifest).

        Paths are given relative to the folder of the parameters file, as they are written there,
        so the same run from another checkout records the same values.
        """
        def plain(value: Any) -> Any:
            if isinstance(value, Path):
                return os.path.relpath(value, self.source.parent)
            if isinstance(value, dt.date):
                return str(value)
            if isinstance(value, tuple):
                return list(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        out = {k: plain(v) for k, v in dataclasses.asdict(self).items() if k not in ("source", "extract")}
        if self.extract_listed:
            out["extract"] = [
                {"service": f.service, "path": f.written}
                | ({"encoding": f.encoding} if f.encoding != self.encoding else {})
                for f in self.extract
            ]
        else:
            out["extract"] = self.extract[0].written
        return dict(sorted(out.items()))


_REQUIRED = ("title", "period_start", "period_end", "data_cutoff", "extract", "services", "output")
_OPTIONAL = ("kpi", "disclosure", "compare_with", "encoding", "mapping")


class StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise InputError(
                f"{loader.name}: duplicate key '{key}' (line {key_node.start_mark.line + 1})"
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay text until _date checks them, so an impossible date is an error naming its key.
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path, what: str, loader: type[yaml.SafeLoader] = StrictLoader) -> Any:
    """Read a YAML file with ``loader`` (by default: safe, duplicate keys refused, dates as text).

    Raises
    ------
    InputError
        For a missing or unreadable file, or invalid YAML; the message names the file (and line).
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{name}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: cannot read the {what} ({exc.__class__.__name__})") from None
    reader = loader(text)
    reader.name = name
    try:
        return reader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{name}: not valid YAML{where}") from None
    finally:
        reader.dispose()


def load_params(path: str | Path) -> Params:
    """Read and check a parameters file.

    Parameters
    ----------
    path
        The YAML file. Relative paths inside it are resolved against its folder.

    Returns
    -------
    Params
        The frozen parameters, with every default filled in.

    Raises
    ------
    InputError
        For a missing or unreadable file, invalid YAML, an unknown, duplicate or missing key, a
        wrong type, an invalid date, or an inconsistent period; the message names file and key.
    """
    path = Path(path)
    name = str(path)
    raw = read_yaml(path, "parameters file")
    if not isinstance(raw, dict):
        raise InputError(f"{name}: expected a mapping of keys to values at the top level")

    _check_keys(name, "", raw, _REQUIRED, _OPTIONAL)
    folder = path.resolve().parent
    title = _text(name, "title", raw["title"])
    period_start = _date(name, "period_start", raw["period_start"])
    period_end = _date(name, "period_end", raw["period_end"])
    data_cutoff = _date(name, "data_cutoff", raw["data_cutoff"])
    if period_start.day != 1:
        raise InputError(f"{name}: key 'period_start' must be the first day of a month, got {period_start}")
    if period_end.day != calendar.monthrange(period_end.year, period_end.month)[1]:
        raise InputError(f"{name}: key 'period_end' must be the last day of a month, got {period_end}")
    if period_end < period_start:
        raise InputError(f"{name}: key 'period_end' ({period_end}) is before 'period_start' ({period_start})")
    if data_cutoff < period_end:
        raise InputError(f"{name}: key 'data_cutoff' ({data_cutoff}) is before 'period_end' ({period_end})")

    compare_with = raw.get("compare_with")
    mapping = raw.get("mapping")
    encoding = _encoding(name, "encoding", raw.get("encoding", "utf-8"))
    return Params(
        source=path.resolve(),
        title=title,
        period_start=period_start,
        period_end=period_end,
        data_cutoff=data_cutoff,
        extract=_extract(name, folder, raw["extract"], encoding),
        services=(folder / _text(name, "services", raw["services"])).resolve(),
        output=(folder / _text(name, "output", raw["output"])).resolve(),
        kpi=_section(name, "kpi", raw.get("kpi"), KpiParams),
        disclosure=_section(name, "disclosure", raw.get("disclosure"), DisclosureParams),
        compare_with=None if compare_with is None else (folder / _text(name, "compare_with", compare_with)).resolve(),
        encoding=encoding,
        mapping=None if mapping is None else (folder / _text(name, "mapping", mapping)).resolve(),
    )


def _encoding(name: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in ENCODINGS:
        raise InputError(f"{name}: key '{key}' must be one of {', '.join(ENCODINGS)}, got {value!r}")
    return value.strip().lower()


def _extract(name: str, folder: Path, raw: Any, encoding: str) -> tuple[ExtractFile, ...]:
    """The extract's files: one path (today's form) or a list of ``{service, path, encoding?}``.

    Each listed file must exist and be listed once (webtool_export.md §1); whether each
    ``service`` is in the services file is checked when the services file is read.
    """
    if isinstance(raw, str):
        written = _text(name, "extract", raw)
        return (ExtractFile((folder / written).resolve(), written, None, encoding),)
    if not isinstance(raw, list) or not raw:
        raise InputError(
            f"{name}: key 'extract' must be a file's path or a list of entries "
            "{service: CODE, path: FILE, encoding: (optional)}"
        )
    files: list[ExtractFile] = []
    seen: dict[Path, int] = {}
    for number, entry in enumerate(raw, start=1):
        where = f"extract entry {number}"
        if not isinstance(entry, dict):
            raise InputError(f"{name}: {where} must be a mapping with the keys service and path, got {entry!r}")
        unknown = [str(k) for k in entry if k not in _EXTRACT_ENTRY_KEYS]
        if unknown:
            raise InputError(
                f"{name}: {where}: unknown key(s) {', '.join(repr(k) for k in unknown)} "
                f"(allowed: {', '.join(_EXTRACT_ENTRY_KEYS)})"
            )
        for key in ("service", "path"):
            if key not in entry:
                raise InputError(f"{name}: {where} has no '{key}'")
        service = entry["service"]
        if isinstance(service, int) and not isinstance(service, bool):
            raise InputError(
                f"{name}: {where}: 'service' must be text; write the code in quotes (\"{service}\") "
                "so that a code such as 029 keeps its leading zero"
            )
        service = _text(name, f"{where}: service", service)
        written = _text(name, f"{where}: path", entry["path"])
        path = (folder / written).resolve()
        if path in seen:
            raise InputError(f"{name}: {where}: {written} is already listed as extract entry {seen[path]}")
        seen[path] = number
        if not path.is_file():
            raise InputError(f"{name}: {where}: {written}: file not found")
        file_encoding = _encoding(name, f"{where}: encoding", entry["encoding"]) if "encoding" in entry else encoding
        files.append(ExtractFile(path, written, service, file_encoding))
    return tuple(files)


def _check_keys(name: str, prefix: str, raw: dict, required, optional) -> None:
    unknown = sorted(str(k) for k in raw if k not in required and k not in optional)
    if unknown:
        allowed = ", ".join(list(required) + list(optional))
        raise InputError(
            f"{name}: unknown key{'s' if len(unknown) > 1 else ''} "
            + ", ".join(f"'{prefix}{k}'" for k in unknown)
            + f" (allowed: {allowed})"
        )
    missing = [k for k in required if k not in raw]
    if missing:
        raise InputError(f"{name}: missing required key{'s' if len(missing) > 1 else ''} " + ", ".join(f"'{prefix}{k}'" for k in missing))


def _text(name: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name}: key '{key}' must be non-empty text, got {value!r}")
    return value.strip()


def _date(name: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise InputError(f"{name}: key '{key}' must be a date (YYYY-MM-DD), got a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(f"{name}: key '{key}' must be a valid date YYYY-MM-DD, got {value!r}")


def _section(name: str, key: str, raw: Any, cls: type) -> Any:
    """Build a nested parameters block (``kpi:``, ``disclosure:``) from its mapping."""
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise InputError(f"{name}: key '{key}' must be a mapping of keys to values")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _check_keys(name, f"{key}.", raw, (), tuple(fields))
    values = {}
    for sub, value in raw.items():
        default = fields[sub].default
        full = f"{key}.{sub}"
        if isinstance(default, tuple):
            if (
                not isinstance(value, list)
                or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
                or value[0] > value[1]
            ):
                raise InputError(f"{name}: key '{full}' must be two ascending whole numbers >= 0, got {value!r}")
            values[sub] = (value[0], value[1])
        elif isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"{name}: key '{full}' must be a whole number >= 0, got {value!r}")
            values[sub] = value
        else:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 100:
                raise InputError(f"{name}: key '{full}' must be a number from 0 to 100, got {value!r}")
            values[sub] = value
    if cls is DisclosureParams and values.get("base", 1) < 1:
        raise InputError(f"{name}: key 'disclosure.base' must be at least 1")
    return cls(**values)


def params_from_record(record: dict, output: Path) -> Params:
    """The parameters of a computed run as its manifest records them (:meth:`Params.as_dict`),
    for the pages, slides and workbook, which read only the run's tables and its scalar settings.

    ``output`` is the run's output folder (where the manifest lies). The input paths stay as the
    parameters file writes them, relative to a parameters file this record does not locate: they
    are provenance here, not files to open.
    """
    def path_or_none(value):
        return None if value is None else Path(value)

    listed = isinstance(record["extract"], list)
    encoding = record.get("encoding", "utf-8")
    extract = tuple(
        ExtractFile(Path(e["path"]), e["path"], e["service"], e.get("encoding", encoding)) for e in record["extract"]
    ) if listed else (ExtractFile(Path(record["extract"]), record["extract"], None, encoding),)
    kpi = {k: tuple(v) if isinstance(v, list) else v for k, v in record.get("kpi", {}).items()}
    return Params(
        source=output / "manifest.json",
        title=record["title"],
        period_start=dt.date.fromisoformat(record["period_start"]),
        period_end=dt.date.fromisoformat(record["period_end"]),
        data_cutoff=dt.date.fromisoformat(record["data_cutoff"]),
        extract=extract,
        services=Path(record["services"]),
        output=output,
        kpi=KpiParams(**kpi),
        disclosure=DisclosureParams(**record.get("disclosure", {})),
        compare_with=path_or_none(record.get("compare_with")),
        encoding=encoding,
        mapping=path_or_none(record.get("mapping")),
    )
