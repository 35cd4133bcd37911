"""A deterministic synthetic FLS-DB extract and services file (``fls-report synth``, outputs.md §2).

The files follow the input contract of data_dictionary.md exactly (columns, order, value sets,
date and category spellings) and are shaped like the audit's first national report (*FLS
forward*, 2016 fractures): 38 services in England and Wales, 18,356 records, national results
near the published ones, a wide spread between services, a few services that improve during the
year, service-level differences in data completeness, and about 1% of rows carrying each kind of
rejectable fault, exclusion and field-level problem the validator must catch.

The 2016 data are drawn from one ``numpy.random.default_rng(seed)``, in a fixed order, so the
same arguments give byte-identical files. A later year (``year`` > 2016) is the same audit moved on
(same services plus one that joins each year, one that stops, performance and volume changes
that look real): it is built from the 2016 plan with one ``default_rng([seed, y])`` per year ``y``
after 2016 and its rows from ``default_rng([seed, year, 1])``, so it never changes the 2016 files.
Years before 2016 are an input error. Work is vectorised over the rows; only the small fault
subsets are edited value by value. No value is a real identifier: NHS numbers come from the 999
test range, postcodes are NHS pseudo-postcodes (``ZZ99 9XX``), service names are invented.

How the data are built and the values achieved at the defaults: ``docs/synthetic-data.md``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from fls_report import dictionary as dd
from fls_report.errors import InputError
from fls_report.kpis import KEY_FIELD_NAMES

EXTRACT_COLUMNS = dd.EXTRACT_COLUMNS
SERVICES_COLUMNS = dd.SERVICE_COLUMNS

#: The 17 KPI1 key fields (kpis.md), in the order of the KPI1 table.
KEY_FIELDS = KEY_FIELD_NAMES

#: National targets the generator calibrates to (fractions). KPI2-KPI8 are the first FLS-DB
#: report's national results; KPI9-KPI11 are plausible values (no published national figure).
TARGETS = {
    "KPI2": 0.40,
    "KPI3": 0.04,
    "KPI4": 0.70,
    "KPI5": 0.47,
    "KPI6": 0.40,
    "KPI7": 0.38,
    "KPI8": 0.06,
    "KPI9": 0.40,
    "KPI10": 0.55,
    "KPI11": 0.75,
}

#: The audit's first year: the year whose files every later year grows from.
FIRST_YEAR = 2016

#: Yearly gain after FIRST_YEAR, on the logit scale, shared by every service: KPI3's is a gain in
#: the national spine share; KPI4-KPI11's a gain in the national intercept, on top of which each
#: service's own changes act (docs/synthetic-data.md, "Second year"). KPI2 follows from volumes.
YEARLY_GAIN = {
    "KPI3": 0.12,
    "KPI4": 0.12,
    "KPI5": 0.08,
    "KPI6": 0.05,
    "KPI7": 0.08,
    "KPI8": 0.15,
    "KPI9": 0.15,
    "KPI10": 0.06,
    "KPI11": 0.04,
}

#: Share of all rows given each kind of fault, rejection and exclusion (one kind per row).
FAULT_RATE = 0.01

# Row roles. 0 is a clean, in-scope row; 1-6 are rejected, 7-8 excluded (data_dictionary.md §2,
# in the order of the rules); 9-15 are in scope with one field-level problem.
CLEAN = 0
MISSING_ID, CONFLICT, DUPLICATE, UNKNOWN_SERVICE, BAD_FRACTURE_DATE, AFTER_CUTOFF_FRACTURE = 1, 2, 3, 4, 5, 6
OUTSIDE_PERIOD, UNDER_50 = 7, 8
ISSUE_INVALID, ISSUE_NHS_LENGTH, ISSUE_TOKEN, ISSUE_AGE_RANGE, ISSUE_CHECK_DIGIT, ISSUE_BEFORE, ISSUE_AFTER = (
    9,
    10,
    11,
    12,
    13,
    14,
    15,
)
ROLE_NAMES = {
    MISSING_ID: "missing record_id",
    CONFLICT: "conflicting record_id",
    DUPLICATE: "duplicate record",
    UNKNOWN_SERVICE: "unknown service",
    BAD_FRACTURE_DATE: "invalid fracture date",
    AFTER_CUTOFF_FRACTURE: "fracture after data cut-off",
    OUTSIDE_PERIOD: "outside audit period",
    UNDER_50: "aged under 50",
    ISSUE_INVALID: "invalid value (date, category or number)",
    ISSUE_NHS_LENGTH: "invalid value (NHS number not 10 digits)",
    ISSUE_TOKEN: "unknown therapy token",
    ISSUE_AGE_RANGE: "out of range (age)",
    ISSUE_CHECK_DIGIT: "check digit (NHS number)",
    ISSUE_BEFORE: "before fracture",
    ISSUE_AFTER: "after cut-off",
}

_COL = {name: i for i, name in enumerate(EXTRACT_COLUMNS)}

# Value sets (data_dictionary.md §1), canonical spelling, from the data dictionary.
SEX = dd.CATEGORIES["sex"]
YES_NO_NK = dd.YES_NO_NOT_KNOWN
SITES = dd.CATEGORIES["fracture_site"]
DXA = dd.CATEGORIES["dxa"]
FALLS = dd.CATEGORIES["falls_assessment"]
FOLLOWUP = dd.CATEGORIES["followup_16wk"]
STRENGTH = dd.CATEGORIES["strength_balance_16wk"]
DRUGS = dd.DRUGS
NON_DRUGS = dd.NON_DRUGS
TOKENS = dd.THERAPY_TOKENS
_TOK = {name: i for i, name in enumerate(TOKENS)}
_DRUG_P = np.array([0.62, 0.06, 0.03, 0.14, 0.09, 0.03, 0.005, 0.015, 0.01])
_DRUG_P = _DRUG_P / _DRUG_P.sum()

# Case mix by fracture site (Hip, Spine, Wrist, Humerus, Pelvis, Other): shares of known sites,
# age above 50 (mean, sd), and the chance of being female, in a care home, admitted, dying.
_SITE_SHARE = np.array([0.280, 0.041, 0.205, 0.103, 0.062, 0.309])
_SITE_SPREAD = np.array([0.35, 0.80, 0.25, 0.25, 0.30, 0.20])
_AGE_MEAN = np.array([33.0, 26.0, 18.0, 24.0, 31.0, 21.0])
_AGE_SD = np.array([8.5, 10.0, 10.5, 10.5, 9.0, 11.0])
_P_FEMALE = np.array([0.72, 0.73, 0.84, 0.78, 0.80, 0.68])
#: Who gets care (docs/synthetic-data.md, "Groups"): spine fractures are identified in men less
#: often than in women (a share of men's spine fractures is taken for the female draw's spine
#: probability), and care-home residents and the over-90s are scanned and treated less often
#: (offsets on the logit scale; the national intercepts are solved with them, so the national
#: results stay on target).
SPINE_FEMALE_BOOST = 0.5
GROUP_OFFSETS = {"KPI5": {"care_home": -1.0, "age_90": -0.8}, "KPI7": {"care_home": -0.3, "age_90": -0.5}}
_P_CARE_HOME = np.array([0.10, 0.04, 0.012, 0.03, 0.08, 0.02])
_P_ADMITTED = np.array([1.0, 0.45, 0.08, 0.22, 0.75, 0.28])
_P_DIED_16 = np.array([0.05, 0.015, 0.004, 0.012, 0.03, 0.008])
_P_DIED_52 = np.array([0.07, 0.03, 0.008, 0.02, 0.05, 0.015])

# KPIs with a service effect, and their between-service spread on the logit scale.
_KPIS = ("KPI4", "KPI5", "KPI6", "KPI7", "KPI8", "KPI9", "KPI10", "KPI11")
_KPI_SD = np.array([1.5, 1.3, 1.9, 1.2, 1.4, 1.2, 0.9, 0.8])
# Size of the improvement (logit) for improving services, per KPI above (KPI9-KPI11 flat).
_TREND = np.array([3.2, 2.6, 3.2, 3.0, 2.2, 0.0, 0.0, 0.0])
_SEASON = np.array([1.12, 1.03, 1.0, 0.95, 0.95, 0.93, 0.95, 0.95, 0.96, 1.0, 1.05, 1.12])

# How often each key field is one of a service's badly completed fields (never fracture_site).
_POOR_WEIGHT = dict(
    sex=0.2,
    age_at_fracture=0.4,
    care_home=3.0,
    date_identified=2.0,
    date_assessed=1.2,
    admitted=1.5,
    fracture_site=0.0,
    dxa=1.0,
    date_dxa=2.5,
    bone_therapy_recommended=0.8,
    falls_assessment=1.5,
    followup_16wk=2.0,
    date_followup_16wk=2.0,
    treatment_16wk=1.5,
    strength_balance_16wk=3.0,
    followup_52wk=2.5,
    treatment_52wk=1.2,
)

# Fields a service may not collect at all (100% missing) when they are among its poor fields.
_MAY_BE_ABSENT = ("care_home", "date_identified", "date_dxa", "followup_16wk", "date_followup_16wk", "strength_balance_16wk", "followup_52wk", "treatment_52wk")

_ENGLAND_REGIONS = ("North East and Yorkshire", "North West", "Midlands", "East of England", "London", "South East", "South West")
_REGION_WEIGHT = np.array([0.17, 0.14, 0.20, 0.12, 0.12, 0.15, 0.10])

# Invented place names: any likeness to a real place or hospital is accidental.
_STEM_A = (
    "Alder", "Bracken", "Corrie", "Dapple", "Eddow", "Fallow", "Gorse", "Hazel", "Ivel", "Juniper",
    "Kestrel", "Linnet", "Marram", "Nettle", "Orrin", "Plover", "Quill", "Rowan", "Sorrel", "Tansy",
    "Umber", "Vetch", "Wrenna", "Yarrow", "Heron", "Otter", "Merrow", "Teasel", "Cobble", "Brindle",
)  # fmt: skip
_STEM_B = ("brook", "combe", "dene", "field", "ford", "gate", "haven", "holme", "hurst", "leigh", "mere", "moor", "stead", "thorpe", "wick")
_WELSH_A = ("Aber", "Bryn", "Caer", "Cwm", "Glyn", "Llan", "Nant", "Pen", "Pont", "Tre")
_WELSH_B = ("afon", "dulas", "eithin", "gwyn", "hafod", "meirion", "newydd", "rhedyn", "tawel", "wenallt", "celyn", "derwen")
_SAINTS = ("Aldhelm", "Brannoc", "Cuthman", "Eanswythe", "Frideswide", "Guthlac", "Hild", "Kenelm", "Osyth", "Petroc", "Wystan", "Edith")
_ENGLISH_NAMES = (
    "{a} General Hospital",
    "{a} Royal Infirmary",
    "{a} University Hospital",
    "{a} & {b} Hospitals NHS Trust",
    "St {saint}'s Hospital, {a}",
    "{a} Hospitals NHS Foundation Trust",
    "Royal {a} Hospital",
    "{a} & District Fracture Liaison Service",
)
_WELSH_NAMES = ("Ysbyty {a}", "{a} University Health Board", "{a} & {b} Health Board", "{a} General Hospital")

_REGULAR, _SMALL, _EMPTY = 0, 1, 2


@dataclass
class _Calendar:
    """Day numbers (days since 1970-01-01) of the demo parameters for a fracture year."""

    year: int
    month_start: np.ndarray  # 13 values: the first day of each month and of the next year
    period_start: int
    period_end: int
    cutoff: int

    @classmethod
    def for_year(cls, year: int) -> _Calendar:
        months = np.arange(np.datetime64(f"{year:04d}-01"), np.datetime64(f"{year + 1:04d}-02"), dtype="datetime64[M]")
        starts = months.astype("datetime64[D]").astype(np.int64)
        cutoff = int(np.datetime64(f"{year + 1:04d}-06-30").astype(np.int64))
        return cls(year, starts, int(starts[0]), int(starts[12]) - 1, cutoff)


@dataclass
class _Plan:
    """Service-level design: who the services are and how each one behaves."""

    code: np.ndarray
    name: np.ndarray
    nation: np.ndarray
    region: np.ndarray
    kind: np.ndarray  # _REGULAR, _SMALL, _EMPTY
    size: np.ndarray  # planned rows
    improving: np.ndarray
    kpi_off: np.ndarray  # services x KPIs (logit offsets)
    trend: np.ndarray  # services x 12 months x KPIs (logit offsets)
    month_w: np.ndarray  # services x 12 (fracture month weights)
    missing: np.ndarray  # services x 17 key fields (chance a value is missing)
    meets_kpi1: np.ndarray
    site_p: np.ndarray  # services x 6 known sites
    dxa_p: np.ndarray  # services x 3 (Ordered, Recommended, Not ordered)
    p_dmy: np.ndarray  # chance a date is written D/M/YYYY
    p_alias: np.ndarray  # chance a category is written as its alias (M/F/U, Y/N)
    id_rate: np.ndarray  # planned KPI2 (records / caseload) before national scaling
    leading_zero: int  # index of a service whose code starts with 0
    targets: dict = field(default_factory=lambda: dict(TARGETS))  # national targets of the year
    intercepts: dict | None = None  # fixed national intercepts (later years); None: solve for targets


# ----------------------------------------------------------------------------------------------
# Public API


def generate(
    services: int = 38, patients: int = 18356, year: int = 2016, seed: int = 2016
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (extract, services) as all-text DataFrames, columns in contract order.

    Parameters
    ----------
    services : int
        Number of services in the 2016 services file (England and Wales, about 33:5). Each later
        year adds one service that joins that year.
    patients : int
        Number of data rows in the 2016 extract, faulty and duplicate rows included. A later
        year is the same audit grown from this first year, so its extract has about a tenth more
        rows per year (20,190 for 2017 at the defaults; each service's volume changes on its
        own, see ``docs/synthetic-data.md``). It is not the later year's row count.
    year : int
        Year of the index fractures, 2016 (the audit's first year) or later. The data are built
        for the demo parameters: audit period ``year``-01-01 to ``year``-12-31 and data cut-off
        ``year+1``-06-30. A later year has the same services as 2016, with their performance,
        volume and completeness moved on by one draw per year after 2016.
    seed : int
        Seed of the ``numpy.random.default_rng`` that draws the 2016 data and every service's
        identity. The yearly changes come from ``default_rng([seed, y])`` for each year ``y``
        after 2016 and a later year's rows from ``default_rng([seed, year, 1])``, so adding
        later years never changes the 2016 files.

    Returns
    -------
    tuple of pandas.DataFrame
        ``extract`` with the columns of data_dictionary.md §1 in order, ``services`` with the
        columns of §3. Every cell is a ``str``; a blank cell is ``""``.

    Raises
    ------
    InputError
        When an argument is out of range (services or patients below 1, year outside
        2016-2200, a negative seed) or not a whole number.
    """
    services, patients, year, seed = _check_args(services, patients, year, seed)
    extract, services_frame, plan = _first_year(services, patients, seed)
    if year == FIRST_YEAR:
        return extract, services_frame
    return _later_year(services_frame, plan, year, seed)


def write_synthetic(
    out_dir: str | os.PathLike, services: int = 38, patients: int = 18356, year: int = 2016, seed: int = 2016
) -> tuple[Path, Path]:
    """Write ``out_dir/fls_extract_<year>.csv`` and ``out_dir/services.csv`` and return both paths.

    UTF-8 without BOM, no index, ``\\n`` line endings; each file is written to a temporary file in
    ``out_dir`` and moved into place with ``os.replace``. The same arguments give byte-identical
    files. Parameters are those of :func:`generate`.
    """
    extract, services_frame = generate(services=services, patients=patients, year=year, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extract_path = out / f"fls_extract_{int(year)}.csv"
    services_path = out / "services.csv"
    _write_csv_atomic(extract, extract_path)
    _write_csv_atomic(services_frame, services_path)
    return extract_path, services_path


# ----------------------------------------------------------------------------------------------
# Arguments, files


def _check_args(services, patients, year, seed) -> tuple[int, int, int, int]:
    for name, value in (("services", services), ("patients", patients), ("year", year), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InputError(f"synth: {name} must be a whole number, got {value!r}")
    if services < 1:
        raise InputError(f"synth: services must be at least 1, got {services}")
    if patients < 1:
        raise InputError(f"synth: patients must be at least 1, got {patients}")
    if not FIRST_YEAR <= year <= 2200:
        raise InputError(
            f"synth: year must be between {FIRST_YEAR} (the synthetic audit's first year) and 2200, got {year}"
        )
    if seed < 0:
        raise InputError(f"synth: seed must be 0 or more, got {seed}")
    return int(services), int(patients), int(year), int(seed)


def _write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False, lineterminator="\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------------------------
# Small helpers


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _calibrate(offset: np.ndarray, available: np.ndarray, denominator: int, target: float) -> float:
    """Intercept ``a`` with ``sum(expit(a + offset[available])) = target * denominator``.

    Records outside ``available`` are in the denominator but cannot meet the numerator (their
    value will be missing or faulty), so the expected national rate equals ``target``.
    """
    want = target * denominator
    values, counts = np.unique(np.round(offset[available], 6), return_counts=True)
    if values.size == 0 or want <= 0:
        return -30.0
    if want >= counts.sum():
        return 30.0
    low, high = -30.0, 30.0
    for _ in range(70):
        mid = (low + high) / 2
        if (counts * _expit(mid + values)).sum() < want:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _pick(rng, probs: np.ndarray, n: int) -> np.ndarray:
    """``n`` category indices drawn with fixed probabilities."""
    return np.searchsorted(np.cumsum(probs) / np.sum(probs), rng.random(n), side="right").clip(0, len(probs) - 1)


def _pick_rows(rng, cumulative: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per row from row-specific cumulative probabilities (rows index ``cumulative``)."""
    u = rng.random(rows.size)
    cum = cumulative[rows]
    return (u[:, None] >= cum[:, :-1]).sum(axis=1)


def _ymd(days: np.ndarray):
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970
    months = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return years, months, dom


def _completed_years(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    by, bm, bd = _ymd(birth)
    oy, om, od = _ymd(on)
    return oy - by - ((om * 100 + od) < (bm * 100 + bd))


def _iso(day: int) -> str:
    y, m, d = (int(v[0]) for v in _ymd(np.array([day])))
    return f"{y:04d}-{m:02d}-{d:02d}"


def _dmy(day: int, pad: bool = False) -> str:
    y, m, d = (int(v[0]) for v in _ymd(np.array([day])))
    return f"{d:02d}/{m:02d}/{y:04d}" if pad else f"{d}/{m}/{y:04d}"


# ----------------------------------------------------------------------------------------------
# Services


def _service_codes(rng, n_england: int, n_wales: int) -> tuple[np.ndarray, int]:
    """Three-digit English codes (some with a leading zero) and ``W``-prefixed Welsh codes."""
    numbers = rng.choice(np.arange(1, 1000), size=n_england, replace=False) if n_england else np.array([], int)
    if n_england and not (numbers < 100).any():
        numbers[0] = 29
    english = [f"{k:03d}" for k in numbers.tolist()]
    welsh_numbers = rng.choice(np.arange(1, 100), size=n_wales, replace=False) if n_wales else np.array([], int)
    welsh = [f"W{k:02d}" for k in welsh_numbers.tolist()]
    leading = next((i for i, c in enumerate(english) if c.startswith("0")), -1)
    return np.array(english + welsh, dtype=object), leading


def _service_names(rng, n_england: int, n_wales: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    english_places = [a + b for a in _STEM_A for b in _STEM_B]
    welsh_places = [a + b for a in _WELSH_A for b in _WELSH_B]
    for count, places, templates in ((n_england, english_places, _ENGLISH_NAMES), (n_wales, welsh_places, _WELSH_NAMES)):
        order = rng.permutation(len(places))
        cursor = 0
        for i in range(count):
            template = templates[int(rng.integers(len(templates)))]
            while True:
                a = places[order[cursor % len(order)]]
                b = places[order[(cursor + 1) % len(order)]]
                cursor += 2 if "{b}" in template else 1
                saint = _SAINTS[int(rng.integers(len(_SAINTS)))]
                name = template.format(a=a, b=b, saint=saint)
                if cursor > 2 * len(order):
                    name = f"{name} ({i + 1})"
                if name not in seen:
                    break
            seen.add(name)
            names.append(name)
    return names


def _plan_services(rng, n: int, patients: int) -> _Plan:
    n_wales = int(round(n * 5 / 38)) if n >= 2 else 0
    n_wales = min(n_wales, n - 1)
    n_england = n - n_wales
    code, leading = _service_codes(rng, n_england, n_wales)
    name = np.array(_service_names(rng, n_england, n_wales), dtype=object)
    nation = np.array(["England"] * n_england + ["Wales"] * n_wales, dtype=object)
    region = np.array(
        [_ENGLAND_REGIONS[i] for i in _pick(rng, _REGION_WEIGHT, n_england)] + ["Wales"] * n_wales, dtype=object
    )

    # Kinds: one service with no records, a few with under 30, the rest regular.
    kind = np.full(n, _REGULAR)
    candidates = [i for i in rng.permutation(n).tolist() if i != leading]
    n_empty = 1 if n >= 2 else 0
    n_small = min(int(round(n * 4 / 38)), max(n - n_empty - 1, 0))
    if patients < 200:
        n_small = 0
    kind[candidates[:n_empty]] = _EMPTY
    kind[candidates[n_empty : n_empty + n_small]] = _SMALL

    # Sizes: small services 6-29 rows, the rest lognormal; exactly `patients` rows in all.
    size = np.zeros(n, dtype=np.int64)
    small = np.flatnonzero(kind == _SMALL)
    size[small] = rng.integers(6, 30, size=small.size)
    regular = np.flatnonzero(kind == _REGULAR)
    weight = rng.lognormal(0.0, 0.7, size=regular.size)
    remaining = patients - int(size.sum())
    share = weight / weight.sum() * remaining
    base = np.floor(share).astype(np.int64)
    extra = remaining - int(base.sum())
    base[np.argsort(-(share - base), kind="stable")[:extra]] += 1
    size[regular] = base

    # Service behaviour: a shared quality factor plus KPI-specific effects (logit scale).
    quality = rng.standard_normal(n)
    own = rng.standard_normal((n, len(_KPIS)))
    kpi_off = _KPI_SD * (0.6 * quality[:, None] + 0.8 * own)

    # Improving services: among the larger regular ones, a step up in mid-year.
    trend = np.zeros((n, 12, len(_KPIS)))
    month_w = np.tile(_SEASON, (n, 1))
    improving = np.zeros(n, dtype=bool)
    by_size = regular[np.argsort(-size[regular], kind="stable")]
    large = by_size[: max(1, (regular.size * 2) // 3)] if regular.size else by_size
    n_improving = min(int(round(n * 5 / 38)), large.size) if n >= 4 else 0
    chosen = rng.permutation(large)[: n_improving + 1] if large.size else large
    months = np.arange(12)
    for j, s in enumerate(chosen.tolist()):
        step = _expit((months - rng.uniform(4.0, 7.0)) / 0.8) - 0.5
        if j < n_improving:
            improving[s] = True
            trend[s] = step[:, None] * _TREND[None, :]
            kpi_off[s, :5] = np.minimum(kpi_off[s, :5], 0.0) - 0.3
            month_w[s] = _SEASON * np.linspace(0.75, 1.25, 12)
        elif n >= 10:
            # one service that gets worse (assessment and DXA times lengthen)
            kpi_off[s, :2] = 0.5
            trend[s, :, 0] = -3.0 * step
            trend[s, :, 1] = -2.4 * step

    # A few deliberate extremes so the benchmark tables span 0% to 100%.
    steady = [i for i in rng.permutation(regular).tolist() if not improving[i] and trend[i].sum() == 0]
    extremes = ((2, -6.0), (0, 4.5), (2, 4.5), (3, 4.0), (4, 3.5), (0, -4.0))
    for s, (k, value) in zip(steady, extremes):
        kpi_off[s, k] = value

    # Data completeness: about half the services meet KPI1.
    meets = np.zeros(n, dtype=bool)
    active = np.flatnonzero(kind != _EMPTY)
    meets[rng.permutation(active)[: (active.size + 1) // 2]] = True
    weights = np.array([_POOR_WEIGHT[f] for f in KEY_FIELDS])
    missing = rng.uniform(0.0, 0.07, size=(n, len(KEY_FIELDS)))
    missing[:, KEY_FIELDS.index("fracture_site")] = rng.uniform(0.0, 0.05, size=n)
    for s in range(n):
        k = int(rng.integers(0, 4)) if meets[s] else int(rng.integers(6, 11))
        poor = rng.choice(len(KEY_FIELDS), size=k, replace=False, p=weights / weights.sum())
        absent = np.isin(np.array(KEY_FIELDS)[poor], _MAY_BE_ABSENT) & (rng.random(k) < 0.07)
        missing[s, poor] = np.where(absent, 1.0, rng.uniform(0.3, 0.65, size=k))

    site_p = _SITE_SHARE * rng.lognormal(0.0, _SITE_SPREAD, size=(n, 6))
    no_hip = [i for i in rng.permutation(regular).tolist() if i not in steady[: len(extremes)]][: max(0, n // 19)]
    site_p[no_hip, 0] *= 0.06
    site_p /= site_p.sum(axis=1, keepdims=True)
    dxa_p = rng.dirichlet(np.array([0.55, 0.15, 0.30]) * 12, size=n)

    p_dmy = np.where(rng.random(n) < 0.25, rng.uniform(0.4, 0.9, n), 0.03)
    p_alias = np.where(rng.random(n) < 0.2, 0.65, 0.02)
    id_rate = _expit(np.log(0.4 / 0.6) + 0.8 * rng.standard_normal(n))
    ranked = [i for i in rng.permutation(regular).tolist() if not improving[i]]
    for s, rate in zip(ranked, (1.05, 0.95, 0.13, 0.18)):
        id_rate[s] = rate
    return _Plan(
        code=code,
        name=name,
        nation=nation,
        region=region,
        kind=kind,
        size=size,
        improving=improving,
        kpi_off=kpi_off,
        trend=trend,
        month_w=month_w,
        missing=missing,
        meets_kpi1=meets,
        site_p=site_p,
        dxa_p=dxa_p,
        p_dmy=p_dmy,
        p_alias=p_alias,
        id_rate=id_rate,
        leading_zero=leading,
    )


def _services_frame(rng, plan: _Plan, in_scope: np.ndarray) -> pd.DataFrame:
    """The services file, with expected caseloads that put national KPI2 at its target."""
    n = plan.code.size
    caseload = in_scope / plan.id_rate
    small = plan.kind == _SMALL  # services that have only just started submitting
    caseload[small] = rng.uniform(350.0, 1100.0, size=int(small.sum()))
    empty = plan.kind == _EMPTY
    if (~empty).any():
        caseload[empty] = np.median(caseload[~empty])
    else:
        caseload[empty] = 100.0
    caseload = np.maximum(caseload, 5.0)
    # Which services give which estimate: most expected_caseload, some 5 x hip_fractures, one or
    # two neither (never the service with no records, so the engine's blank-denominator path
    # meets real numerators).
    candidates = [i for i in rng.permutation(n).tolist() if not empty[i] and i != plan.leading_zero]
    n_none = min(max(1, int(round(n * 2 / 38))), len(candidates)) if n >= 4 else 0
    n_hip_only = min(int(round(n * 5 / 38)), len(candidates) - n_none)
    none = np.zeros(n, dtype=bool)
    hip_only = np.zeros(n, dtype=bool)
    none[candidates[:n_none]] = True
    hip_only[candidates[n_none : n_none + n_hip_only]] = True
    with_estimate = ~none
    scale = in_scope[with_estimate].sum() / (TARGETS["KPI2"] * caseload[with_estimate].sum())
    caseload = caseload * scale if scale > 0 else caseload
    expected = np.maximum(np.round(caseload).astype(np.int64), 1)
    hips = np.maximum(np.round(caseload / 5).astype(np.int64), 1)
    used = np.where(hip_only, 5 * hips, expected)
    # Put the whole rounding error on the largest expected_caseload service.
    plain = np.flatnonzero(with_estimate & ~hip_only)
    expected_text = np.array([str(v) for v in expected.tolist()], dtype=object)
    if plain.size:
        biggest = plain[np.argmax(expected[plain])]
        target_total = int(round(in_scope[with_estimate].sum() / TARGETS["KPI2"]))
        expected[biggest] = max(1, expected[biggest] + target_total - int(used[with_estimate].sum()))
        expected_text = np.array([str(v) for v in expected.tolist()], dtype=object)
        others = [i for i in plain.tolist() if i != biggest and expected[i] > 1]
        if others:  # one caseload with a decimal part (x.5) exercises KPI2's exact rounding
            expected_text[others[0]] = f"{expected[others[0]] - 1}.5"
    hip_text = np.array(["" for _ in range(n)], dtype=object)
    also_hips = with_estimate & ~hip_only & (rng.random(n) < 0.6)
    noisy = np.round(caseload / 5 * rng.uniform(0.7, 1.3, size=n)).astype(np.int64)
    hip_text[also_hips] = [str(v) for v in noisy[also_hips].tolist()]
    hip_text[hip_only] = [str(v) for v in hips[hip_only].tolist()]
    expected_text[hip_only | none] = ""
    frame = pd.DataFrame(
        {
            "service_code": plan.code,
            "service_name": plan.name,
            "nation": plan.nation,
            "region": plan.region,
            "expected_caseload": expected_text,
            "hip_fractures": hip_text,
        },
        columns=list(SERVICES_COLUMNS),
    )
    return frame.sort_values("service_code", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Years


def _first_year(services: int, patients: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, _Plan]:
    """The 2016 extract and services file, all drawn from ``default_rng(seed)``, and the plan."""
    rng = np.random.default_rng(seed)
    plan = _plan_services(rng, services, patients)
    text, in_scope, intercepts = _draw_rows(rng, plan, _Calendar.for_year(FIRST_YEAR))
    services_frame = _services_frame(rng, plan, in_scope)
    return _extract_frame(rng, text), services_frame, replace(plan, intercepts=intercepts)


def _draw_rows(rng, plan: _Plan, cal: _Calendar) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """The extract's text columns (in service order), each service's in-scope row count and the
    national intercepts used."""
    svc = np.repeat(np.arange(plan.code.size), plan.size)
    fracture = _fracture_dates(rng, svc, plan, cal)
    role, fault_field = _assign_roles(rng, svc, plan)
    fracture = _move_fracture_dates(rng, fracture, role, cal)
    values = _clinical_values(rng, svc, fracture, role, fault_field, plan, cal)
    text = _write_text(rng, values, svc, plan, cal)
    _inject_faults(rng, text, values, role, fault_field, svc, plan, cal)
    in_scope = (role == CLEAN) | (role >= ISSUE_INVALID)
    return text, np.bincount(svc[in_scope], minlength=plan.code.size), values["intercepts"]


def _extract_frame(rng, text: dict[str, np.ndarray]) -> pd.DataFrame:
    """The rows shuffled, so copies and conflicting ids are not next to each other."""
    order = rng.permutation(text["record_id"].size)
    return pd.DataFrame({name: text[name][order] for name in EXTRACT_COLUMNS}, columns=list(EXTRACT_COLUMNS))


def _later_year(first_services: pd.DataFrame, plan: _Plan, year: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same audit ``year - 2016`` years on: the 2016 plan moved on one year at a time.

    The change into year ``y`` is drawn from ``default_rng([seed, y])`` and depends only on the
    seed, the service and ``y``; the rows of ``year`` come from ``default_rng([seed, year, 1])``.
    The services file is the 2016 file, unchanged, plus one row for each service that joined.
    """
    caseload = _caseloads(first_services, plan)
    joined = []
    for y in range(FIRST_YEAR + 1, year + 1):
        plan, caseload, row = _next_year(np.random.default_rng([seed, y]), plan, caseload, y - FIRST_YEAR)
        joined.append(row)
    rng = np.random.default_rng([seed, year, 1])
    text, _, _ = _draw_rows(rng, plan, _Calendar.for_year(year))
    services_frame = pd.concat([first_services, pd.DataFrame(joined, columns=list(SERVICES_COLUMNS))], ignore_index=True)
    services_frame = services_frame.sort_values("service_code", kind="stable").reset_index(drop=True)
    return _extract_frame(rng, text), services_frame


def _caseloads(frame: pd.DataFrame, plan: _Plan) -> np.ndarray:
    """Each planned service's annual caseload in the services file (NaN where it has none)."""
    expected = pd.to_numeric(frame["expected_caseload"].replace("", np.nan))
    hips = 5 * pd.to_numeric(frame["hip_fractures"].replace("", np.nan))
    by_code = pd.Series(expected.fillna(hips).to_numpy(dtype=float), index=frame["service_code"].to_numpy())
    return by_code.reindex(plan.code).to_numpy(dtype=float)


def _year_targets(k: int) -> dict:
    """Targets ``k`` years after 2016: KPI3's spine share moved by its YEARLY_GAIN per year. (The
    other KPIs of a later year use fixed intercepts, not targets.)"""
    out = dict(TARGETS)
    out["KPI3"] = float(_expit(np.log(TARGETS["KPI3"] / (1 - TARGETS["KPI3"])) + k * YEARLY_GAIN["KPI3"]))
    return out


# Spread of the yearly drift of the service offsets (logit): shared by a service's KPIs, and its
# own per KPI; the later-pathway KPIs (KPI9-KPI11) drift half as much. Centred on the services
# with records, so the national change comes from YEARLY_GAIN and the named changes.
_DRIFT_SHARED, _DRIFT_OWN = 0.10, 0.08
_DRIFT_SCALE = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5])


def _next_year(rng, plan: _Plan, caseload: np.ndarray, k: int) -> tuple[_Plan, np.ndarray, dict]:
    """Move a year's plan on by one year (into year 2016 + ``k``); return it, the caseloads and
    the services-file row of the service that joins.

    Everything is drawn from ``rng`` in a fixed order. What changes:

    * every service starts where it ended: its offsets are last December's (so services that
      improved during the year start near their late level) and its volume is last autumn's
      run rate, grown by a lognormal factor (median +5%);
    * half the services that had under 30 records (those that had only just started) submit a
      whole year, at 30-50% of their caseload; the others stay under 30;
    * one service that submitted last year submits nothing (it stays in the services file);
    * offsets drift (a shared and a per-KPI normal step, centred); a few services with room to
      improve improve a lot during the year (a mid-year step of 50-80% of the 2016 improvers'
      step, their volume rising too) and a few get worse (KPI4-KPI8 offsets down 0.7-1.1);
    * a few services fix their completeness (now meet KPI1) and one lets it slip;
    * one new English service joins between March and June, with a new code and name;
    * the national intercepts (and KPI3's spine share) move on by YEARLY_GAIN.
    """
    n = plan.code.size
    months = np.arange(12)
    kind = plan.kind.copy()
    kpi_off = plan.kpi_off + plan.trend[:, 11, :]
    trend = np.zeros_like(plan.trend)
    month_w = np.tile(_SEASON, (n, 1))
    improving = np.zeros(n, dtype=bool)
    missing = plan.missing.copy()
    meets = plan.meets_kpi1.copy()

    # Volumes: last autumn's run rate (1 for a steady service), grown a little.
    w = plan.month_w
    late_share = w[:, 9:].sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)
    size = plan.size * late_share * (_SEASON.sum() / _SEASON[9:].sum())
    size = size * np.exp(rng.normal(0.05, 0.05, size=n))
    active_regular = np.flatnonzero((kind == _REGULAR) & (plan.size > 0))
    typical = float(np.median(plan.size[active_regular])) if active_regular.size else 1.0

    # Services that had only just started: half submit a whole year now.
    small = rng.permutation(np.flatnonzero(kind == _SMALL))
    grow, stay = small[: (small.size + 1) // 2], small[(small.size + 1) // 2 :]
    rate = rng.uniform(0.3, 0.5, size=grow.size)
    base = np.where(np.isfinite(caseload[grow]), caseload[grow], typical / 0.4)
    size[grow] = base * rate
    kind[grow] = _REGULAR
    size[stay] = rng.integers(6, 30, size=stay.size)

    # One service stops submitting (never the leading-zero code, one without a caseload
    # estimate, last year's improvers or one of the deliberate extremes).
    smaller = plan.size[active_regular] <= np.median(plan.size[active_regular]) if active_regular.size else []
    candidates = [
        s
        for s in active_regular[smaller].tolist()
        if s != plan.leading_zero and not plan.improving[s] and np.isfinite(caseload[s]) and np.abs(kpi_off[s]).max() < 3.5
    ]
    if active_regular.size >= 3 and candidates:
        drop = candidates[int(rng.integers(len(candidates)))]
        kind[drop] = _EMPTY
    size = np.where(kind == _EMPTY, 0, np.maximum(np.round(size), 1)).astype(np.int64)

    # Performance drift, then a few that improve a lot and a few that get worse.
    shared = rng.standard_normal(n)
    own = rng.standard_normal((n, len(_KPIS)))
    drift = _DRIFT_SHARED * shared[:, None] + _DRIFT_OWN * own
    with_rows = size > 0
    if with_rows.any():
        drift = drift - drift[with_rows].mean(axis=0)
    kpi_off = kpi_off + drift * _DRIFT_SCALE
    pool = [s for s in rng.permutation(n).tolist() if kind[s] == _REGULAR and size[s] > 0 and not plan.improving[s]]
    n_big = min(int(round(n * 2 / 38)), len(pool)) if n >= 4 else 0
    n_worse = int(round(n * 2 / 38)) if n >= 4 else 0
    if pool:
        median4 = np.median(kpi_off[pool, 0])
        low = [s for s in pool if kpi_off[s, 0] <= median4]
        big = low[:n_big]
        worse = [s for s in pool if s not in big][:n_worse]
        for s in big:
            step = _expit((months - rng.uniform(4.0, 8.0)) / 0.8)
            trend[s] = step[:, None] * _TREND[None, :] * rng.uniform(0.5, 0.8)
            month_w[s] = _SEASON * np.linspace(0.85, 1.15, 12)
            improving[s] = True
        for s in worse:
            kpi_off[s, :5] -= rng.uniform(0.7, 1.1)

    # Completeness: a few services fix their poor fields, one lets them slip.
    weights = np.array([_POOR_WEIGHT[f] for f in KEY_FIELDS])
    site = KEY_FIELDS.index("fracture_site")
    order = [s for s in rng.permutation(n).tolist() if size[s] > 0]
    fixed = [s for s in order if not meets[s]][: int(round(n * 2 / 38))]
    slipped = [s for s in order if meets[s]][: int(round(n / 38))]
    for s in fixed:
        missing[s] = rng.uniform(0.0, 0.07, size=len(KEY_FIELDS))
        missing[s, site] = rng.uniform(0.0, 0.05)
        meets[s] = True
    for s in slipped:
        count = int(rng.integers(6, 9))
        poor = rng.choice(len(KEY_FIELDS), size=count, replace=False, p=weights / weights.sum())
        missing[s, poor] = rng.uniform(0.3, 0.65, size=count)
        meets[s] = False

    # The new service: English, joins in March-June, a little below average at first.
    used = {int(c) for c in plan.code.tolist() if c.isdigit()}
    free = [c for c in range(100, 999) if c not in used]
    code = f"{free[int(rng.integers(len(free)))]:03d}" if free else f"N{k:02d}"
    names = set(plan.name.tolist())
    english_places = [a + b for a in _STEM_A for b in _STEM_B]
    for _ in range(200):
        template = _ENGLISH_NAMES[int(rng.integers(len(_ENGLISH_NAMES)))]
        a, b = (english_places[int(i)] for i in rng.integers(len(english_places), size=2))
        name = template.format(a=a, b=b, saint=_SAINTS[int(rng.integers(len(_SAINTS)))])
        if name not in names:
            break
    else:
        name = f"{name} ({n + 1})"
    region = _ENGLAND_REGIONS[int(_pick(rng, _REGION_WEIGHT, 1)[0])]
    start = int(rng.integers(2, 6))
    new_w = _SEASON * (months >= start)
    new_size = max(1, int(round(typical * rng.uniform(0.5, 0.9) * (12 - start) / 12)))
    new_off = _KPI_SD * (0.6 * rng.standard_normal() + 0.8 * rng.standard_normal(len(_KPIS))) - 0.4
    new_meets = bool(rng.random() < 0.5)
    new_missing = rng.uniform(0.0, 0.07, size=len(KEY_FIELDS))
    new_missing[site] = rng.uniform(0.0, 0.05)
    count = int(rng.integers(0, 4)) if new_meets else int(rng.integers(6, 11))
    poor = rng.choice(len(KEY_FIELDS), size=count, replace=False, p=weights / weights.sum())
    new_missing[poor] = rng.uniform(0.3, 0.65, size=count)
    new_site = _SITE_SHARE * rng.lognormal(0.0, _SITE_SPREAD)
    new_dxa = rng.dirichlet(np.array([0.55, 0.15, 0.30]) * 12)
    annual = new_size * 0.92 * 12 / (12 - start) / rng.uniform(0.35, 0.55)
    hips = int(round(annual / 5 * rng.uniform(0.8, 1.2))) if rng.random() < 0.6 else 0
    row = {
        "service_code": code,
        "service_name": name,
        "nation": "England",
        "region": region,
        "expected_caseload": str(max(1, int(round(annual)))),
        "hip_fractures": str(max(1, hips)) if hips else "",
    }

    new_plan = replace(
        plan,
        code=np.append(plan.code, np.array([code], dtype=object)),
        name=np.append(plan.name, np.array([name], dtype=object)),
        nation=np.append(plan.nation, np.array(["England"], dtype=object)),
        region=np.append(plan.region, np.array([region], dtype=object)),
        kind=np.append(kind, _REGULAR),
        size=np.append(size, new_size),
        improving=np.append(improving, False),
        kpi_off=np.vstack([kpi_off, new_off]),
        trend=np.concatenate([trend, np.zeros((1, 12, len(_KPIS)))]),
        month_w=np.vstack([month_w, new_w]),
        missing=np.vstack([missing, new_missing]),
        meets_kpi1=np.append(meets, new_meets),
        site_p=np.vstack([plan.site_p, new_site / new_site.sum()]),
        dxa_p=np.vstack([plan.dxa_p, new_dxa]),
        p_dmy=np.append(plan.p_dmy, 0.03),
        p_alias=np.append(plan.p_alias, 0.02),
        id_rate=np.append(plan.id_rate, np.nan),
        targets=_year_targets(k),
        intercepts={kpi: a + YEARLY_GAIN[kpi] for kpi, a in plan.intercepts.items()},
    )
    return new_plan, np.append(caseload, float(row["expected_caseload"])), row


# ----------------------------------------------------------------------------------------------
# Rows


def _fracture_dates(rng, svc: np.ndarray, plan: _Plan, cal: _Calendar) -> np.ndarray:
    cum = np.cumsum(plan.month_w, axis=1)
    cum = cum / cum[:, -1:]
    month = _pick_rows(rng, cum, svc)
    length = np.diff(cal.month_start)[month]
    return cal.month_start[month] + np.floor(rng.random(svc.size) * length).astype(np.int64)


def _assign_roles(rng, svc: np.ndarray, plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
    """Give about 1% of rows each fault role (regular services only); pick the faulty field."""
    n = svc.size
    role = np.zeros(n, dtype=np.int8)
    each = int(round(FAULT_RATE * n))
    counts = {k: each for k in range(1, 16)}
    counts[CONFLICT] = 2 * int(round(FAULT_RATE * n / 2))
    eligible = rng.permutation(np.flatnonzero(plan.kind[svc] == _REGULAR))
    total = sum(counts.values())
    if total > eligible.size // 2:  # tiny extracts: keep at least half of the rows clean
        factor = (eligible.size // 2) / max(total, 1)
        counts = {k: int(c * factor) for k, c in counts.items()}
        counts[CONFLICT] -= counts[CONFLICT] % 2
    start = 0
    for kind in range(1, 16):
        role[eligible[start : start + counts[kind]]] = kind
        start += counts[kind]

    fault_field = np.full(n, -1, dtype=np.int16)
    choices = {
        ISSUE_INVALID: (
            ["date_of_birth", "age_at_fracture", "sex", "care_home", "date_identified", "date_assessed", "admitted",
             "fracture_site", "dxa", "date_dxa", "falls_assessment", "followup_16wk", "date_followup_16wk",
             "strength_balance_16wk", "followup_52wk"],
            [8, 10, 7, 6, 7, 8, 6, 6, 6, 7, 7, 6, 5, 4, 3],
        ),
        ISSUE_NHS_LENGTH: (["nhs_number"], [1]),
        ISSUE_TOKEN: (["bone_therapy_recommended", "treatment_16wk", "treatment_52wk"], [5, 3, 2]),
        ISSUE_AGE_RANGE: (["age_at_fracture"], [1]),
        ISSUE_CHECK_DIGIT: (["nhs_number"], [1]),
        ISSUE_BEFORE: (["date_identified", "date_assessed", "date_followup_16wk", "date_followup_52wk"], [35, 40, 15, 10]),
        ISSUE_AFTER: (["date_identified", "date_assessed", "date_dxa", "date_followup_16wk", "date_followup_52wk"], [10, 25, 25, 15, 25]),
    }  # fmt: skip
    for kind, (fields, weights) in choices.items():
        rows = np.flatnonzero(role == kind)
        pick = _pick(rng, np.array(weights, dtype=float), rows.size)
        fault_field[rows] = np.array([_COL[f] for f in fields])[pick]
    return role, fault_field


def _move_fracture_dates(rng, fracture: np.ndarray, role: np.ndarray, cal: _Calendar) -> np.ndarray:
    fracture = fracture.copy()
    late = np.flatnonzero(role == AFTER_CUTOFF_FRACTURE)
    fracture[late] = cal.cutoff + rng.integers(1, 200, size=late.size)
    outside = np.flatnonzero(role == OUTSIDE_PERIOD)
    before = rng.random(outside.size) < 0.5
    fracture[outside] = np.where(
        before,
        cal.period_start - rng.integers(1, 93, size=outside.size),
        cal.period_end + rng.integers(1, cal.cutoff - cal.period_end + 1, size=outside.size),
    )
    return fracture


def _group_offset(kpi: str, care: np.ndarray, age: np.ndarray) -> np.ndarray:
    """A record's logit offset for ``kpi`` from who the patient is (:data:`GROUP_OFFSETS`)."""
    effects = GROUP_OFFSETS.get(kpi, {})
    return np.where(care, effects.get("care_home", 0.0), 0.0) + np.where(age >= 90, effects.get("age_90", 0.0), 0.0)


def _clinical_values(rng, svc, fracture, role, fault_field, plan: _Plan, cal: _Calendar) -> dict:
    """Clinical values as codes and day numbers; ``-1`` (codes) or ``missing`` (dates) is blank.

    Each KPI's numerator is drawn with a service offset, the service's month trend and a
    national intercept solved so that the expected national result equals its target, counting
    as unavailable the records whose value will be missing or faulty.
    """
    n = svc.size
    in_scope = (role == CLEAN) | (role >= ISSUE_INVALID)
    n_scope = int(in_scope.sum())
    month = np.clip(np.searchsorted(cal.month_start, fracture, side="right") - 1, 0, 11)
    off = plan.kpi_off[svc] + plan.trend[svc, month]  # n x KPIs
    miss = {f: rng.random(n) < plan.missing[svc, j] for j, f in enumerate(KEY_FIELDS)}
    intercepts: dict[str, float] = {}

    def intercept(kpi: str, offset: np.ndarray, available: np.ndarray, denominator: int) -> float:
        """The national intercept: solved for the year's target, or the plan's (later years)."""
        if plan.intercepts is not None:
            a = plan.intercepts[kpi]
        else:
            a = _calibrate(offset, available, denominator, plan.targets[kpi])
        intercepts[kpi] = a
        return a

    def ok(field: str) -> np.ndarray:
        good = fault_field != _COL[field]
        return good & ~miss[field] if field in miss else good

    v: dict[str, np.ndarray] = {"fracture": fracture}

    # Fracture site: service mixes scaled (iterative proportional fitting) so that the national
    # mix of known sites matches _SITE_SHARE and spine is KPI3's target share of in-scope records.
    site_ok = ok("fracture_site")
    weight = np.bincount(svc[in_scope & site_ok], minlength=plan.code.size).astype(float)
    target = _SITE_SHARE.copy()
    target[1] = min(plan.targets["KPI3"] * n_scope / max(weight.sum(), 1.0), 0.5)
    others = np.arange(6) != 1
    target[others] = _SITE_SHARE[others] / _SITE_SHARE[others].sum() * (1 - target[1])
    site_p = plan.site_p.copy()
    for _ in range(40):
        national = weight @ site_p / max(weight.sum(), 1.0)
        site_p = site_p * np.where(national > 0, target / np.maximum(national, 1e-12), 1.0)
        site_p /= site_p.sum(axis=1, keepdims=True)
    site = _pick_rows(rng, np.cumsum(site_p, axis=1), svc)
    v["site_true"] = site
    v["fracture_site"] = np.where(miss["fracture_site"], np.where(rng.random(n) < 0.8, 6, -1), site)
    hip = site == 0

    # Age and date of birth (consistent: age is completed years from birth to fracture).
    k = (_AGE_MEAN / _AGE_SD) ** 2
    theta = _AGE_SD**2 / _AGE_MEAN
    age = np.clip(50 + np.floor(rng.gamma(k[site], theta[site])), 50, 104).astype(np.int64)
    young = role == UNDER_50
    age[young] = rng.integers(22, 50, size=int(young.sum()))
    birth = fracture - np.floor(age * 365.2425 + rng.random(n) * 365).astype(np.int64)
    age = _completed_years(birth, fracture)
    for _ in range(2):
        fix = ~young & (age < 50)
        birth[fix] -= 366
        age = _completed_years(birth, fracture)
    fix = young & (age >= 50)
    birth[fix] += 366
    age = _completed_years(birth, fracture)
    v["age_true"] = age
    age_missing = miss["age_at_fracture"] & ~young  # an unknown age would keep the row in scope
    derive = ~age_missing & (rng.random(n) < 0.03)  # age blank, derivable from date of birth
    dob_blank = ~derive & (rng.random(n) < 0.08)
    young_derived = young & (rng.random(n) < 0.25)
    derive |= young_derived
    dob_blank &= ~young_derived
    v["age"] = np.where(age_missing | derive, -1, age)
    v["dob"] = birth
    v["dob_present"] = ~(age_missing | dob_blank)

    # Sex, care home, admission.
    p_female = _P_FEMALE[site]
    p_female = np.where(site == 1, 1 - SPINE_FEMALE_BOOST * (1 - p_female), p_female)
    female = rng.random(n) < p_female
    v["sex"] = np.where(miss["sex"], np.where(rng.random(n) < 0.5, 2, -1), np.where(female, 1, 0))
    care = rng.random(n) < _P_CARE_HOME[site] * np.where(age >= 85, 2.0, 0.7)
    v["care_home"] = np.where(miss["care_home"], np.where(rng.random(n) < 0.6, 2, -1), np.where(care, 0, 1))
    admitted = rng.random(n) < _P_ADMITTED[site]
    v["admitted"] = np.where(miss["admitted"], np.where(rng.random(n) < 0.6, 2, -1), np.where(admitted, 0, 1))

    # Assessment (KPI4) and identification.
    j4 = _KPIS.index("KPI4")
    a4 = intercept("KPI4", off[:, j4], in_scope & ok("date_assessed"), n_scope)
    met4 = rng.random(n) < _expit(a4 + off[:, j4])
    fast = np.where(hip, rng.gamma(2.0, 4.0, n), rng.gamma(2.2, 14.0, n))
    slow = 91 + rng.gamma(1.5, 20.0, n)
    lag_assess = np.where(met4, np.clip(np.floor(fast), 0, 90), np.clip(np.floor(slow), 91, 178)).astype(np.int64)
    v["assessed"] = np.where(miss["date_assessed"], -1, fracture + lag_assess)
    v["assessed_present"] = ~miss["date_assessed"]
    lag_ident = np.where(hip, rng.integers(0, 4, n), np.clip(np.floor(rng.gamma(1.2, 8.0, n)), 0, 120)).astype(np.int64)
    lag_ident = np.where(v["assessed_present"], np.minimum(lag_ident, lag_assess), lag_ident)
    v["identified"] = fracture + lag_ident
    v["identified_present"] = ~miss["date_identified"]

    # DXA (KPI5).
    dxa = _pick_rows(rng, np.cumsum(plan.dxa_p, axis=1), svc)
    v["dxa"] = np.where(miss["dxa"], np.where(rng.random(n) < 0.6, 3, -1), dxa)
    dxa_denominator = in_scope & ok("dxa") & (dxa <= 1)
    j5 = _KPIS.index("KPI5")
    off5 = off[:, j5] + _group_offset("KPI5", care, age)
    a5 = intercept("KPI5", off5, dxa_denominator & ok("date_dxa"), int(dxa_denominator.sum()))
    met5 = rng.random(n) < _expit(a5 + off5)
    earlier = -1 - rng.integers(0, 720, n)
    late = np.clip(np.floor(91 + rng.gamma(1.5, 20.0, n)), 91, 178).astype(np.int64)
    soon = np.clip(np.floor(rng.gamma(2.0, 18.0, n)), 0, 90).astype(np.int64)
    lag_dxa = np.where(met5, soon, np.where(rng.random(n) < 0.88, late, earlier))
    ordered = (v["dxa"] == 0) | (v["dxa"] == 1)
    prior_scan = (v["dxa"] == 2) & (rng.random(n) < 0.10)
    v["dxa_date_present"] = (ordered & ~miss["date_dxa"]) | prior_scan
    v["date_dxa"] = fracture + np.where(prior_scan, earlier, lag_dxa)

    # Bone therapy recommended (KPI7).
    j7 = _KPIS.index("KPI7")
    off7 = off[:, j7] + _group_offset("KPI7", care, age)
    a7 = intercept("KPI7", off7, in_scope & ok("bone_therapy_recommended"), n_scope)
    drug7 = rng.random(n) < _expit(a7 + off7)
    first_drug = _pick(rng, _DRUG_P, n)
    second = np.where(rng.random(n) < 0.03, np.where(first_drug == _TOK["HRT"], _TOK["Alendronate"], _TOK["HRT"]), -1)
    advice = np.array([_TOK[t] for t in ("Not appropriate", "Referred to GP", "Referred for clinical opinion", "Informed decline")])
    non_drug7 = advice[_pick(rng, np.array([0.40, 0.20, 0.15, 0.25]), n)]
    missing7 = np.where(rng.random(n) < 0.3, _TOK["Not known"], -1)
    v["bone1"] = np.where(miss["bone_therapy_recommended"], missing7, np.where(drug7, first_drug, non_drug7))
    v["bone2"] = np.where(~miss["bone_therapy_recommended"] & drug7, second, -1)
    recommended = drug7 & ok("bone_therapy_recommended")

    # Falls assessment (KPI6).
    j6 = _KPIS.index("KPI6")
    a6 = intercept("KPI6", off[:, j6], in_scope & ok("falls_assessment"), n_scope)
    met6 = rng.random(n) < _expit(a6 + off[:, j6])
    falls = np.where(met6, np.where(rng.random(n) < 0.65, 0, 1), np.where(rng.random(n) < 0.65, 2, 3))
    v["falls"] = np.where(miss["falls_assessment"], np.where(rng.random(n) < 0.5, 4, -1), falls)

    # Deaths and due dates.
    died16 = rng.random(n) < _P_DIED_16[site] * np.where(age >= 85, 1.6, 0.8)
    died52 = died16 | (rng.random(n) < _P_DIED_52[site] * np.where(age >= 85, 1.6, 0.8))
    due16 = fracture + 112 <= cal.cutoff
    due52 = fracture + 392 <= cal.cutoff

    # Follow-up at 16 weeks (KPI9): Yes with a contact in the 84-112 day window.
    fu16_ok = ok("followup_16wk")
    denominator9 = in_scope & recommended & due16 & ~(died16 & fu16_ok)
    j9 = _KPIS.index("KPI9")
    a9 = intercept("KPI9", off[:, j9], denominator9 & fu16_ok & ok("date_followup_16wk"), int(denominator9.sum()))
    in_window = rng.random(n) < _expit(a9 + off[:, j9])
    yes_out = rng.random(n) < 0.30
    other_yes = rng.random(n) < 0.25
    other_in = rng.random(n) < 0.60
    yes16 = np.where(recommended, in_window | yes_out, other_yes)
    window16 = np.where(recommended, in_window, other_in)
    contact16 = fracture + np.where(
        window16,
        rng.integers(84, 113, n),
        np.where(rng.random(n) < 0.5, rng.integers(42, 84, n), rng.integers(113, 151, n)),
    )
    fu16 = np.where(died16, 2, np.where(yes16, 0, 1))
    fu16 = np.where(contact16 > cal.cutoff, -1, fu16)  # not yet due at the cut-off
    v["fu16"] = np.where(miss["followup_16wk"], np.where(rng.random(n) < 0.5, 3, -1), fu16)
    v["fu16_date"] = contact16
    v["fu16_date_present"] = (v["fu16"] == 0) & ~miss["date_followup_16wk"]
    fu16_yes = v["fu16"] == 0

    # Treatment at 16 weeks (KPI10).
    denominator10 = denominator9
    j10 = _KPIS.index("KPI10")
    off10 = off[:, j10] + np.where(fu16_yes, 0.0, -1.2)
    t16_ok = ok("treatment_16wk") | ~fu16_yes
    a10 = intercept("KPI10", off10, denominator10 & t16_ok & ~died16, int(denominator10.sum()))
    drug16 = np.where(recommended, rng.random(n) < _expit(a10 + off10), rng.random(n) < np.where(fu16_yes, 0.06, 0.02))
    drug16 &= ~died16 & (v["fu16"] != 2)
    same = rng.random(n) < 0.85
    drug16_tok = np.where(same & (v["bone1"] >= 0) & (v["bone1"] < len(DRUGS)), v["bone1"], _pick(rng, _DRUG_P, n))
    stop = np.array([_TOK[t] for t in ("Not started", "Informed decline", "Not appropriate", "Referred to GP", "Not on treatment")])
    yes_no_drug = stop[_pick(rng, np.array([0.35, 0.25, 0.15, 0.10, 0.15]), n)]
    other_no_drug = np.where(rng.random(n) < 0.85, -1, np.where(rng.random(n) < 0.67, _TOK["Not known"], _TOK["Not started"]))
    t16 = np.where(drug16, drug16_tok, np.where(fu16_yes, yes_no_drug, other_no_drug))
    t16_masked = fu16_yes & miss["treatment_16wk"]
    t16 = np.where(t16_masked, np.where(rng.random(n) < 0.4, _TOK["Not known"], -1), t16)
    t16 = np.where(died16 | (v["fu16"] == 2) | ~due16, -1, t16)
    v["t16"] = t16
    on_drug16 = (t16 >= 0) & (t16 < len(DRUGS))

    # Strength and balance (KPI8): non-hip, known site, due at 16 weeks.
    site_known = ok("fracture_site") & (v["fracture_site"] >= 0) & (v["fracture_site"] < 6)
    denominator8 = in_scope & site_known & ~hip & due16
    j8 = _KPIS.index("KPI8")
    a8 = intercept("KPI8", off[:, j8], denominator8 & ok("strength_balance_16wk") & ~died16, int(denominator8.sum()))
    met8 = rng.random(n) < _expit(a8 + off[:, j8])
    sb = np.where(met8, 0, np.where(rng.random(n) < 0.75, 1, 2))
    sb = np.where(miss["strength_balance_16wk"], np.where(rng.random(n) < 0.5, 3, -1), sb)
    hip_sb = np.where(rng.random(n) < 0.8, -1, np.where(rng.random(n) < 0.75, 1, 0))
    sb = np.where(hip, hip_sb, sb)
    v["sb"] = np.where(died16 | ~due16, -1, sb)

    # Follow-up at 52 weeks and treatment then (KPI11).
    yes52 = rng.random(n) < np.where(on_drug16, 0.85, 0.6)
    contact52 = fracture + np.where(rng.random(n) < 0.9, rng.integers(336, 393, n), rng.integers(300, 336, n))
    fu52 = np.where(died52, 2, np.where(yes52, 0, 1))
    fu52 = np.where(due52, fu52, -1)
    v["fu52"] = np.where(due52 & miss["followup_52wk"], np.where(rng.random(n) < 0.5, 3, -1), fu52)
    v["fu52_date"] = contact52
    v["fu52_date_present"] = (v["fu52"] == 0) & (rng.random(n) < 0.96) & (contact52 <= cal.cutoff)
    fu52_yes = v["fu52"] == 0
    denominator11 = in_scope & on_drug16 & due52 & ~((v["fu52"] == 2) & ok("followup_52wk"))
    j11 = _KPIS.index("KPI11")
    off11 = off[:, j11] + np.where(fu52_yes, 0.0, -1.0)
    t52_ok = ok("treatment_52wk") | ~fu52_yes
    a11 = intercept("KPI11", off11, denominator11 & t52_ok & ~died52, int(denominator11.sum()))
    drug52 = np.where(on_drug16, rng.random(n) < _expit(a11 + off11), fu52_yes & (rng.random(n) < 0.08))
    drug52_tok = np.where((rng.random(n) < 0.88) & on_drug16, t16, _pick(rng, _DRUG_P, n))
    stop52 = np.array([_TOK[t] for t in ("Not on treatment", "No longer appropriate", "Informed decline", "Not started")])
    yes_no_drug52 = stop52[_pick(rng, np.array([0.40, 0.20, 0.25, 0.15]), n)]
    other52 = np.where(rng.random(n) < 0.9, -1, _TOK["Not known"])
    t52 = np.where(drug52, drug52_tok, np.where(fu52_yes, yes_no_drug52, other52))
    t52 = np.where(fu52_yes & miss["treatment_52wk"], np.where(rng.random(n) < 0.4, _TOK["Not known"], -1), t52)
    v["t52"] = np.where(~due52 | (v["fu52"] == 2) | died52, -1, t52)
    v["intercepts"] = intercepts
    return v


# ----------------------------------------------------------------------------------------------
# Text


class _Dates:
    """Day numbers to text: mostly ISO, some D/M/YYYY (padded or not), a few with a time."""

    def __init__(self, low: int, high: int):
        self.low = low
        y, m, d = (a.tolist() for a in _ymd(np.arange(low, high + 1)))
        iso = [f"{a:04d}-{b:02d}-{c:02d}" for a, b, c in zip(y, m, d)]
        self.table = np.array(
            [
                iso,
                [f"{c:02d}/{b:02d}/{a:04d}" for a, b, c in zip(y, m, d)],
                [f"{c}/{b}/{a:04d}" for a, b, c in zip(y, m, d)],
                [s + " 00:00:00" for s in iso],
                [s + "T09:30" for s in iso],
            ],
            dtype=object,
        )

    def text(self, rng, days: np.ndarray, present: np.ndarray, p_dmy: np.ndarray) -> np.ndarray:
        u = rng.random(days.size)
        style = np.select([u < p_dmy / 2, u < p_dmy, u < p_dmy + 0.012, u < p_dmy + 0.02], [1, 2, 3, 4], 0)
        index = np.where(present, days - self.low, 0)
        out = self.table[style, index]
        out[~present] = ""
        return out


def _categories(rng, codes: np.ndarray, labels: tuple, p_alias, aliases: dict | None = None) -> np.ndarray:
    """Codes to text: canonical mostly, some lower or upper case, aliases, a little padding."""
    k = len(labels)
    table = np.empty((k + 1, 5), dtype=object)
    for i, label in enumerate(labels):
        alias = (aliases or {}).get(label, label)
        table[i] = [label, label.lower(), label.upper(), alias, f" {label} "]
    table[k] = ["", "", "", "", ""]
    u = rng.random(codes.size)
    p_alias = p_alias if aliases else 0.0
    style = np.select([u < p_alias, u < p_alias + 0.05, u < p_alias + 0.085, u < p_alias + 0.09], [3, 1, 2, 4], 0)
    return table[np.where(codes < 0, k, codes), style]


def _therapy(rng, first: np.ndarray, second: np.ndarray | None = None) -> np.ndarray:
    """Token codes to ``;`` lists, with varied spacing and case, repeats and empty tokens."""
    n = first.size
    names = list(TOKENS)
    variants = np.empty((len(names) + 1, 3), dtype=object)
    for i, name in enumerate(names):
        variants[i] = [name, name.lower(), name.upper()]
    variants[len(names)] = ["", "", ""]
    case = _pick(rng, np.array([0.9, 0.07, 0.03]), n)
    seps = np.array([";", "; ", " ; "], dtype=object)[_pick(rng, np.array([0.6, 0.35, 0.05]), n)]
    blank = len(names)
    one = variants[np.where(first < 0, blank, first), case]
    out = one.copy()
    if second is not None:
        has = second >= 0
        out[has] = out[has] + seps[has] + variants[second[has], case[has]]
    is_drug = (first >= 0) & (first < len(DRUGS))
    repeat = is_drug & (rng.random(n) < 0.01)
    out[repeat] = out[repeat] + seps[repeat] + one[repeat]
    trailing = is_drug & (rng.random(n) < 0.005)
    out[trailing] = out[trailing] + ";"
    return out


def _nhs_check_digit(base9: np.ndarray) -> np.ndarray:
    """Modulus 11 check digit of nine-digit bases; 10 means the base is not usable."""
    total = np.zeros(base9.shape, dtype=np.int64)
    rest = base9.astype(np.int64)
    for weight in range(2, 11):  # last digit has weight 2, first weight 10
        total += (rest % 10) * weight
        rest //= 10
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


def _nhs_numbers(rng, n: int) -> np.ndarray:
    """Ten-digit NHS numbers (as int64) from the 999 test range with valid check digits."""
    bases = 999_000_000 + np.arange(1_000_000, dtype=np.int64)
    check = _nhs_check_digit(bases)
    usable = check != 10
    valid = bases[usable] * 10 + check[usable]
    if n <= valid.size:
        return rng.choice(valid, size=n, replace=False)
    return rng.choice(valid, size=n, replace=True)


def _write_text(rng, v: dict, svc: np.ndarray, plan: _Plan, cal: _Calendar) -> dict[str, np.ndarray]:
    n = svc.size
    p_dmy = plan.p_dmy[svc]
    p_alias = plan.p_alias[svc]
    text: dict[str, np.ndarray] = {}

    digits = max(7, len(str(n * 10)))
    text["record_id"] = np.array([f"R{k:0{digits}d}" for k in rng.choice(10**digits, size=n, replace=False).tolist()], dtype=object)
    text["service_code"] = plan.code[svc].copy()

    nhs = _nhs_numbers(rng, n)
    v["nhs"] = nhs
    plain = pd.Series(nhs).astype(str).to_numpy(dtype=object)
    spaced = rng.random(n) < 0.15
    plain[spaced] = [f"{x[:3]} {x[3:6]} {x[6:]}" for x in plain[spaced].tolist()]
    plain[rng.random(n) < 0.02] = ""
    text["nhs_number"] = plain

    inward = np.array([f"{d}{a}{b}" for d in "123456789" for a in "ABDEFGHJLNPQRSTUWXYZ" for b in "ABDEFGHJLNPQRSTUWXYZ"], dtype=object)
    postcode = np.array(["ZZ99 " + p for p in inward.tolist()], dtype=object)[rng.integers(0, inward.size, n)]
    postcode[rng.random(n) < 0.04] = ""
    text["postcode"] = postcode

    day_fields = {
        "date_of_birth": (v["dob"], v["dob_present"]),
        "date_identified": (v["identified"], v["identified_present"]),
        "date_assessed": (v["assessed"], v["assessed_present"]),
        "date_fracture": (v["fracture"], np.ones(n, dtype=bool)),
        "date_dxa": (v["date_dxa"], v["dxa_date_present"]),
        "date_followup_16wk": (v["fu16_date"], v["fu16_date_present"]),
        "date_followup_52wk": (v["fu52_date"], v["fu52_date_present"]),
    }
    cleaned = {}
    for name, (days, present) in day_fields.items():
        if name not in ("date_of_birth", "date_fracture"):
            present = present & (days <= cal.cutoff)  # nothing recorded after the cut-off
        cleaned[name] = (days, present)
    low = min(int(d[p].min()) for d, p in cleaned.values() if p.any())
    high = max(int(d[p].max()) for d, p in cleaned.values() if p.any())
    dates = _Dates(low, high)
    for name, (days, present) in cleaned.items():
        text[name] = dates.text(rng, days, present, p_dmy)

    ages = np.array([str(a) for a in range(0, 200)], dtype=object)
    age_text = np.where(v["age"] >= 0, ages[np.clip(v["age"], 0, 199)], "").astype(object)
    point_zero = (v["age"] >= 0) & (rng.random(n) < 0.01)
    age_text[point_zero] = age_text[point_zero] + ".0"
    text["age_at_fracture"] = age_text

    text["sex"] = _categories(rng, v["sex"], SEX, p_alias, {"Male": "M", "Female": "F", "Not known": "U"})
    text["care_home"] = _categories(rng, v["care_home"], YES_NO_NK, p_alias, {"Yes": "Y", "No": "N"})
    text["admitted"] = _categories(rng, v["admitted"], YES_NO_NK, p_alias, {"Yes": "Y", "No": "N"})
    text["fracture_site"] = _categories(rng, v["fracture_site"], SITES, 0.0)
    text["dxa"] = _categories(rng, v["dxa"], DXA, 0.0)
    text["falls_assessment"] = _categories(rng, v["falls"], FALLS, 0.0)
    text["followup_16wk"] = _categories(rng, v["fu16"], FOLLOWUP, 0.0)
    text["strength_balance_16wk"] = _categories(rng, v["sb"], STRENGTH, 0.0)
    text["followup_52wk"] = _categories(rng, v["fu52"], FOLLOWUP, 0.0)
    text["bone_therapy_recommended"] = _therapy(rng, v["bone1"], v["bone2"])
    text["treatment_16wk"] = _therapy(rng, v["t16"])
    text["treatment_52wk"] = _therapy(rng, v["t52"])
    return text


# ----------------------------------------------------------------------------------------------
# Faults

_BAD_CATEGORY = {
    "sex": ("NULL", "NA", "Femal", "X", "2", "1"),
    "care_home": ("NA", "NULL", "Unknown", "maybe", "N/A", "1"),
    "admitted": ("NA", "NULL", "Unknown", "Yes.", "0", "Day case"),
    "fracture_site": ("Femur", "NOF", "Ankle", "NULL", "Colles", "NA"),
    "dxa": ("Done", "NULL", "Yes", "Already on treatment", "NA"),
    "falls_assessment": ("Yes", "NA", "Done", "NULL", "Falls clinic"),
    "followup_16wk": ("Phone", "NA", "NULL", "Seen", "N/A"),
    "strength_balance_16wk": ("Maybe", "NA", "NULL", "Declined"),
    "followup_52wk": ("Phone", "NULL", "NA", "Letter"),
}
_UNKNOWN_TOKENS = ("Calcium", "Adcal-D3", "Vitamin D", "Alendronic acid", "Prolia", "Alendronate, Calcium", "Bisphosphonate")


def _bad_date(rng, day: int) -> str:
    """Text in a date column that is not a valid date (data_dictionary.md §1)."""
    y, m, d = (int(a[0]) for a in _ymd(np.array([day])))
    choice = int(rng.integers(0, 10))
    return [
        "NA",
        "NULL",
        f"{y:04d}-02-30",  # not a calendar date
        f"31/{(4, 6, 9, 11)[m % 4]}/{y:04d}",  # the 31st of a 30-day month
        f"{y:04d}/{m:02d}/{d:02d}",  # wrong separator
        str(int(day) + 25569),  # an Excel serial number
        f"{d:02d}-{m:02d}-{y:04d}",
        f"{m}/{d if d > 12 else d + 12}/{y:04d}",  # month first: the month is over 12
        f"{d}/{m}/{y % 100:02d}",  # two-digit year
        "0000-00-00",
    ][choice]


def _inject_faults(rng, text: dict, v: dict, role, fault_field, svc, plan: _Plan, cal: _Calendar) -> None:
    """Turn the rows of each fault role into the fault, value by value (small subsets only)."""
    fracture = v["fracture"]

    # Field-level problems (rows stay in scope).
    for i in np.flatnonzero(role == ISSUE_INVALID).tolist():
        field = EXTRACT_COLUMNS[fault_field[i]]
        if field.startswith("date_"):
            text[field][i] = _bad_date(rng, int(fracture[i]) + 30)
        elif field == "age_at_fracture":
            age = int(v["age_true"][i])
            text[field][i] = [f"{age}.5", "NA", "NULL", "unknown", f"{age} yrs", "seventy"][int(rng.integers(0, 6))]
        else:
            options = _BAD_CATEGORY[field]
            text[field][i] = options[int(rng.integers(0, len(options)))]
    for i in np.flatnonzero(role == ISSUE_NHS_LENGTH).tolist():
        digits = str(int(v["nhs"][i]))
        text["nhs_number"][i] = [
            digits[:9],
            digits + str(int(rng.integers(0, 10))),
            f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
            digits[:9] + "X",
            digits[:8],
            "NA",
        ][int(rng.integers(0, 6))]
    for i in np.flatnonzero(role == ISSUE_TOKEN).tolist():
        field = EXTRACT_COLUMNS[fault_field[i]]
        token = _UNKNOWN_TOKENS[int(rng.integers(0, len(_UNKNOWN_TOKENS)))]
        current = text[field][i]
        text[field][i] = f"{current}; {token}" if current else token
    for i in np.flatnonzero(role == ISSUE_AGE_RANGE).tolist():
        age = int(v["age_true"][i])
        text["age_at_fracture"][i] = [f"{age}0", f"1{age}", "999", "120", "116"][int(rng.integers(0, 5))]
    for i in np.flatnonzero(role == ISSUE_CHECK_DIGIT).tolist():
        number = int(v["nhs"][i])
        wrong = (number % 10 + int(rng.integers(1, 10))) % 10
        digits = str(number - number % 10 + wrong)
        text["nhs_number"][i] = digits if rng.random() < 0.8 else f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    for i in np.flatnonzero(role == ISSUE_BEFORE).tolist():
        field = EXTRACT_COLUMNS[fault_field[i]]
        day = int(fracture[i]) - (int(rng.integers(1, 60)) if rng.random() < 0.6 else 365)
        text[field][i] = _iso(day) if rng.random() < 0.7 else _dmy(day)
    for i in np.flatnonzero(role == ISSUE_AFTER).tolist():
        field = EXTRACT_COLUMNS[fault_field[i]]
        if rng.random() < 0.7:
            day = cal.cutoff + int(rng.integers(1, 200))
        else:  # a slip of the year
            day = int(fracture[i]) + 3653 + int(rng.integers(0, 60))
        text[field][i] = _iso(day) if rng.random() < 0.7 else _dmy(day)

    # Rejections.
    rows = np.flatnonzero(role == MISSING_ID)
    text["record_id"][rows] = np.where(rng.random(rows.size) < 0.9, "", "  ")
    rows = np.flatnonzero(role == UNKNOWN_SERVICE)
    codes = set(plan.code.tolist())
    unknown = ["", "", "", " ", "NA", "X01", "999" if "999" not in codes else "X99"]
    unknown += [c.lstrip("0") for c in plan.code.tolist() if c.startswith("0")][:2] * 2  # lost leading zero
    unknown += [c.lower() for c in plan.code.tolist() if c.lower() != c][:2]  # wrong case
    unknown = [c for c in unknown if c.strip() not in codes]
    text["service_code"][rows] = np.array(unknown, dtype=object)[rng.integers(0, len(unknown), rows.size)]
    for i in np.flatnonzero(role == BAD_FRACTURE_DATE).tolist():
        text["date_fracture"][i] = "" if rng.random() < 0.3 else _bad_date(rng, int(fracture[i]))

    # Conflicting record ids: pairs sharing an id. Half are an amended re-entry of the same
    # record (the fracture date corrected), half a clash between two different patients.
    rows = np.flatnonzero(role == CONFLICT)
    rows = rows[rng.permutation(rows.size)]
    first, second = rows[0::2], rows[1::2]
    amended = rng.random(first.size) < 0.5
    for a, b, amend in zip(first.tolist(), second.tolist(), amended.tolist()):
        if amend:
            for name in EXTRACT_COLUMNS:
                text[name][b] = text[name][a]
            shift = int(rng.integers(1, 4))
            day = int(fracture[a]) + (shift if fracture[a] + shift <= cal.period_end else -shift)
            text["date_fracture"][b] = _iso(day)
        text["record_id"][b] = text["record_id"][a]

    # Exact duplicates: copies of clean rows (a few rows copied twice); some copies differ from
    # their original only by surrounding spaces, which still makes them copies.
    rows = np.flatnonzero(role == DUPLICATE)
    clean = np.flatnonzero((role == CLEAN) & (plan.kind[svc] == _REGULAR))
    if rows.size and clean.size:
        unique = rng.choice(clean, size=min(clean.size, int(np.ceil(rows.size * 0.9))), replace=False)
        source = np.concatenate([unique, rng.choice(unique, size=rows.size - unique.size)])
        for name in EXTRACT_COLUMNS:
            text[name][rows] = text[name][source]
        padded = rows[rng.random(rows.size) < 0.2]
        for i in padded.tolist():
            name = ("sex", "care_home", "fracture_site", "dxa")[int(rng.integers(0, 4))]
            if text[name][i]:
                text[name][i] = text[name][i] + " "
