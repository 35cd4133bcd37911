"""Who gets care: KPI3–KPI11 by patient group, at every level (kpis.md, *Breakdowns*).

For each characteristic (age band, sex, care home, fracture site) every record falls in exactly
one group (blank, invalid and ``Not known`` values are ``Not known``), so the groups of a
characteristic sum to the KPI's own numerator and denominator. Levels are the national level,
each nation, each region named in the services file, and each service. Percentages and Wilson
intervals are computed on unsuppressed counts; below the national level the published
(``_shown``) counts follow statistics.md §5, with one more group suppressed where a single one
would otherwise let its count be recovered by subtraction. ``kpi_breakdown_tests.csv`` tests
equal proportions across the known groups (chi-squared), for the national, nation and region
levels only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fls_report.casemix import NOT_KNOWN, age_band
from fls_report.kpis import NATION_CODES, NATIONAL, RECORD_KPIS, Context, record_flags, run_nations
from fls_report.params import Params
from fls_report.stats import chi2_equal_proportions, suppress_count, wilson_interval

#: The characteristics and their groups, in order (kpis.md; the age-band dash is U+2013).
GROUPS: dict[str, tuple[str, ...]] = {
    "age band": ("50–59", "60–69", "70–79", "80–89", "90+", NOT_KNOWN),
    "sex": ("Female", "Male", NOT_KNOWN),
    "care home": ("Yes", "No", NOT_KNOWN),
    "fracture site": ("Hip", "Spine", "Non-hip non-spine", NOT_KNOWN),
}
#: Fracture sites that are neither hip nor spine.
NON_HIP_NON_SPINE: tuple[str, ...] = ("Wrist", "Humerus", "Pelvis", "Other")
#: Level order of the table: the national level, nations, regions, services.
LEVELS: tuple[str, ...] = ("national", "nation", "region", "service")
#: Characteristic and KPI pairs not tested, and why: the KPI is defined by the characteristic.
BY_DEFINITION: dict[tuple[str, str], str] = {
    ("fracture site", "KPI3"): "KPI3 counts spine fractures: it differs by fracture site by definition",
}
#: Levels whose group differences are tested.
TESTED_LEVELS: tuple[str, ...] = ("national", "nation", "region")

COLUMNS = ["level", "code", "characteristic", "group", "kpi_id", "numerator", "denominator", "pct", "ci_low",
           "ci_high", "numerator_shown", "denominator_shown", "pct_shown", "ci_low_shown", "ci_high_shown",
           "low_numbers"]
#: What the published copy keeps (outputs.md).
PUBLISHED_COLUMNS = ["level", "code", "characteristic", "group", "kpi_id", "numerator_shown", "denominator_shown",
                     "pct_shown", "ci_low_shown", "ci_high_shown", "low_numbers"]
TEST_COLUMNS = ["level", "code", "characteristic", "kpi_id", "groups", "chi2", "df", "p_value", "note"]
REGION_COLUMNS = ["code", "kpi_id", "numerator", "denominator", "pct", "ci_low", "ci_high", "low_numbers"]


def groups_of(records: pd.DataFrame) -> pd.DataFrame:
    """Each record's group in each characteristic."""
    site = records["fracture_site"]
    return pd.DataFrame({
        "age band": age_band(records["age_at_fracture"]),
        "sex": records["sex"].where(records["sex"].isin(GROUPS["sex"]), NOT_KNOWN),
        "care home": records["care_home"].where(records["care_home"].isin(GROUPS["care home"]), NOT_KNOWN),
        "fracture site": np.select([site == "Hip", site == "Spine", site.isin(NON_HIP_NON_SPINE)],
                                   ["Hip", "Spine", "Non-hip non-spine"], NOT_KNOWN),
    }, index=records.index)


def _units(services: pd.DataFrame) -> list[tuple[str, str, list[str]]]:
    """(level, code, member service codes) for every level of the table, in order."""
    codes = list(services["service_code"])
    units = [("national", NATIONAL, codes)]
    for nation in run_nations(services["nation"]):
        units.append(("nation", NATION_CODES[nation], list(services.loc[services["nation"] == nation, "service_code"])))
    regions = services["region"].fillna("").astype(str).str.strip()
    for region in sorted(r for r in regions.unique() if r):
        units.append(("region", region, list(services.loc[regions == region, "service_code"])))
    units += [("service", code, [code]) for code in codes]
    return units


def kpi_breakdowns(validated, params: Params) -> pd.DataFrame:
    """KPI3–KPI11 for every group of every characteristic at every level (``kpi_breakdowns.csv``).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`: counts, ``pct`` and the 95% Wilson interval (percent) on unsuppressed
        counts; the ``_shown`` columns as published (national rows unsuppressed; below it,
        counts under statistics.md §5 with the complementary suppression of kpis.md, percentages
        and limits to one decimal place, blank for a suppressed group); ``low_numbers`` when
        ``0 < denominator < low_numbers_below``. Every (level, characteristic, group, KPI) row,
        denominator 0 included.
    """
    records = validated.records
    services = validated.services.frame
    flags = record_flags(records, Context.of(params))
    groups = groups_of(records)
    kpi_ids = list(RECORD_KPIS)
    codes = list(services["service_code"])
    units = _units(services)
    # Which services each unit sums (units × services), so every level's counts are one product.
    membership = np.zeros((len(units), len(codes)), dtype=np.int64)
    position = {code: i for i, code in enumerate(codes)}
    for u, (_, _, members) in enumerate(units):
        membership[u, [position[m] for m in members]] = 1
    columns = [f"{k}_{p}" for k in kpi_ids for p in ("num", "den")]
    parts = []
    for characteristic, labels in GROUPS.items():
        # Counts per service and group, once; every level sums its services.
        keys = [records["service_code"], groups[characteristic]]
        summed = flags[columns].astype(np.int64).groupby(keys).sum()
        summed = summed.reindex(pd.MultiIndex.from_product([codes, list(labels)]), fill_value=0)
        per_service = summed.to_numpy().reshape(len(codes), len(labels), len(kpi_ids), 2)
        counts = np.einsum("us,sgkc->ukgc", membership, per_service)  # unit, KPI, group, num/den
        n_units, n_groups, n_kpis = len(units), len(labels), len(kpi_ids)
        parts.append(pd.DataFrame({
            "level": np.repeat([u[0] for u in units], n_kpis * n_groups),
            "code": np.repeat([u[1] for u in units], n_kpis * n_groups),
            "characteristic": characteristic,
            "group": np.tile(list(labels), n_units * n_kpis),
            "kpi_id": np.tile(np.repeat(kpi_ids, n_groups), n_units),
            "numerator": counts[..., 0].reshape(-1),
            "denominator": counts[..., 1].reshape(-1),
        }))
    # Rows by characteristic, unit, KPI and group.
    return _with_rates_and_shown(pd.concat(parts, ignore_index=True), params)


def _add_rates(table: pd.DataFrame, params: Params) -> pd.DataFrame:
    """``table`` (``numerator``, ``denominator``) with ``pct``, the Wilson interval (percent; blank
    where the denominator is 0) and ``low_numbers`` added, in place."""
    den = table["denominator"].to_numpy(dtype=float)
    num = table["numerator"].to_numpy(dtype=float)
    positive = den > 0
    table["pct"] = np.where(positive, 100 * num / np.where(positive, den, 1), np.nan)
    low, high = wilson_interval(num[positive], den[positive])
    table["ci_low"], table["ci_high"] = np.nan, np.nan
    table.loc[positive, "ci_low"] = 100 * np.asarray(low, dtype=float)
    table.loc[positive, "ci_high"] = 100 * np.asarray(high, dtype=float)
    table["low_numbers"] = positive & (den < params.kpi.low_numbers_below)
    return table


def _with_rates_and_shown(table: pd.DataFrame, params: Params) -> pd.DataFrame:
    _add_rates(table, params)
    disclosure = params.disclosure
    national = table["level"] == "national"

    def shown(values: pd.Series) -> pd.Series:
        out = values.map(lambda v: suppress_count(v, disclosure.threshold, disclosure.base)).astype(object)
        out[national] = values[national].astype(str)
        return out

    table["numerator_shown"] = shown(table["numerator"])
    table["denominator_shown"] = shown(table["denominator"])
    suppressed = (table["numerator_shown"] == "*") | (table["denominator_shown"] == "*")
    suppressed = suppressed | _complementary(table, suppressed)
    table.loc[suppressed, ["numerator_shown", "denominator_shown"]] = "*"
    for column in ("pct", "ci_low", "ci_high"):
        table[f"{column}_shown"] = table[column].map(_one_decimal).where(~suppressed)
    order = table["level"].map({lvl: i for i, lvl in enumerate(LEVELS)})
    table = table.assign(_level=order).sort_values(["_level"], kind="stable").drop(columns="_level")
    return table[COLUMNS].reset_index(drop=True)


def _complementary(table: pd.DataFrame, suppressed: pd.Series) -> pd.Series:
    """Where exactly one group of a (level, characteristic, KPI) is suppressed, the group with the
    next smallest denominator too, so that neither count can be recovered by subtraction from the
    KPI's own (kpis.md, *Disclosure*)."""
    keys = ["level", "code", "characteristic", "kpi_id"]
    below_national = table["level"] != "national"
    hidden_in_set = suppressed.groupby([table[k] for k in keys], sort=False).transform("sum")
    candidates = table[below_national & (hidden_in_set == 1) & ~suppressed]
    # The visible group with the smallest denominator (the first such row on a tie).
    smallest = (candidates.assign(_den=candidates["denominator"].astype(int), _row=candidates.index)
                .sort_values(["_den", "_row"], kind="stable").groupby(keys, sort=False)["_row"].first())
    extra = pd.Series(False, index=table.index)
    extra[smallest.to_numpy()] = True
    return extra


def _one_decimal(value) -> float:
    """A percentage rounded to one decimal place, halves up (kpis.md "Display"); NaN stays."""
    from fls_report.vocabulary import one_decimal

    text = one_decimal(value)
    return float("nan") if text == "–" else float(text)


def kpi_breakdown_tests(breakdowns: pd.DataFrame) -> pd.DataFrame:
    """The chi-squared test of equal proportions across the known groups (``kpi_breakdown_tests.csv``):
    for each national, nation and region row of each characteristic and KPI, the groups other than
    ``Not known`` with a denominator above 0 (:func:`fls_report.stats.chi2_equal_proportions`)."""
    rows = []
    tested = breakdowns[breakdowns["level"].isin(TESTED_LEVELS) & (breakdowns["group"] != NOT_KNOWN)]
    for (level, code, characteristic, kpi_id), part in tested.groupby(
            ["level", "code", "characteristic", "kpi_id"], sort=False):
        part = part[part["denominator"] > 0]
        if (characteristic, kpi_id) in BY_DEFINITION:
            rows.append({"level": level, "code": code, "characteristic": characteristic, "kpi_id": kpi_id,
                         "groups": len(part), "chi2": np.nan, "df": None, "p_value": np.nan,
                         "note": BY_DEFINITION[(characteristic, kpi_id)]})
            continue
        result = chi2_equal_proportions(part["numerator"].to_numpy(), part["denominator"].to_numpy())
        rows.append({"level": level, "code": code, "characteristic": characteristic, "kpi_id": kpi_id,
                     "groups": len(part), **result})
    out = pd.DataFrame(rows, columns=TEST_COLUMNS)
    out["df"] = out["df"].astype("Int64")
    return out


def kpi_regions(breakdowns: pd.DataFrame, params: Params) -> pd.DataFrame:
    """KPI3–KPI11 for each region named in the services file (``kpi_regions.csv``): the region's
    own numerator and denominator (the sum of any characteristic's groups), percentage and Wilson
    interval. Like ``kpi_results``, these are process measures about services, published as they
    are, with ``low_numbers`` carried from the groups' rule."""
    regions = breakdowns[(breakdowns["level"] == "region") & (breakdowns["characteristic"] == "sex")]
    if regions.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("code", "kpi_id") else float) for c in REGION_COLUMNS})
    summed = regions.groupby(["code", "kpi_id"], sort=False)[["numerator", "denominator"]].sum().reset_index()
    return _add_rates(summed, params)[REGION_COLUMNS]
