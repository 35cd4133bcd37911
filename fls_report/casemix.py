"""Case mix of the in-scope records, under disclosure control (statistics.md §5).

Patient-characteristic counts below the national level follow the NHS Digital rule: 0 stays 0,
1 to threshold − 1 shows ``*``, and every other count is rounded to the nearest ``base``.
Percentages are computed from unrounded counts and left blank where a count is suppressed.
National counts are not suppressed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fls_report import dictionary as dd
from fls_report.kpis import LEVEL_ORDER, NATION_CODES, NATIONAL, run_nations
from fls_report.params import DisclosureParams
from fls_report.stats import suppress_counts

NOT_KNOWN = "Not known"
AGE_BANDS: tuple[str, ...] = ("50–59", "60–69", "70–79", "80–89", "90+", NOT_KNOWN)
CHARACTERISTICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "age band": ("age_at_fracture", AGE_BANDS),
    "sex": ("sex", dd.CATEGORIES["sex"]),
    "care home": ("care_home", dd.CATEGORIES["care_home"]),
    "fracture site": ("fracture_site", dd.CATEGORIES["fracture_site"]),
}
COLUMNS = ["level", "code", "characteristic", "category", "count", "shown", "pct_shown"]


def age_band(ages: pd.Series) -> pd.Series:
    """Age bands of statistics.md §5; an age not established is ``Not known``."""
    bins = [50, 60, 70, 80, 90, np.inf]
    banded = pd.cut(ages.astype("Float64").astype(float), bins=bins, right=False, labels=list(AGE_BANDS[:-1]))
    return banded.astype(object).where(banded.notna(), NOT_KNOWN)


def _categorised(records: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"service_code": records["service_code"]})
    for characteristic, (column, _) in CHARACTERISTICS.items():
        values = age_band(records[column]) if column == "age_at_fracture" else records[column]
        out[characteristic] = values.where(values.notna(), NOT_KNOWN)
    return out


def case_mix(records: pd.DataFrame, services: pd.DataFrame, disclosure: DisclosureParams) -> pd.DataFrame:
    """Counts of each characteristic's categories at every level, with what may be shown.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``code``, ``characteristic``, ``category``, ``count`` (unrounded),
        ``shown`` (text after disclosure control; national counts as they are) and
        ``pct_shown`` (percent of the unit's records; blank where suppressed). Every category of
        every characteristic appears for every service, nation and the national level.
    """
    table = _categorised(records)
    nation_of = services.set_index("service_code")["nation"].map(NATION_CODES)
    table["nation"] = table["service_code"].map(nation_of)
    service_codes = list(services["service_code"])
    # Each level counted with one group-by, not one filter of all records per unit.
    units = [("national", [NATIONAL], pd.Series(NATIONAL, index=table.index)),
             ("nation", [NATION_CODES[n] for n in run_nations(services["nation"])], table["nation"]),
             ("service", service_codes, table["service_code"])]
    parts = []
    for level, codes, unit in units:
        totals = unit.value_counts().reindex(codes, fill_value=0)
        for characteristic, (_, categories) in CHARACTERISTICS.items():
            counts = (table.groupby([unit, table[characteristic]], sort=False).size()
                      .reindex(pd.MultiIndex.from_product([codes, list(categories)]), fill_value=0))
            parts.append(pd.DataFrame({
                "level": level, "code": np.repeat(codes, len(categories)), "characteristic": characteristic,
                "category": list(categories) * len(codes), "count": counts.to_numpy(dtype=int),
                "total": np.repeat(totals.to_numpy(dtype=int), len(categories)),
            }))
    out = pd.concat(parts, ignore_index=True)
    national = out["level"] == "national"
    out["shown"] = suppress_counts(out["count"], threshold=disclosure.threshold, base=disclosure.base)
    out.loc[national, "shown"] = out.loc[national, "count"].astype(str)
    suppressed = out["shown"] == "*"
    pct = 100 * out["count"] / out["total"].where(out["total"] > 0)
    out["pct_shown"] = pct.where(~suppressed)
    order = out["level"].map({lvl: i for i, lvl in enumerate(LEVEL_ORDER)})
    return out.assign(_level=order).sort_values(["_level", "code"], kind="stable")[COLUMNS].reset_index(drop=True)
