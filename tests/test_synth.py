"""Tests for fls_report.synth: the synthetic extract and services file.

The data are read back with a small, independent reader of data_dictionary.md (written here, not
imported from the package) that classifies rows, finds field-level issues and computes the
national KPIs approximately as kpis.md defines them. The real engine re-verifies the numbers;
these tests pin the generator's own promises: determinism, shape, identifiers, fault rates and
calibration.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from fls_report import synth
from fls_report.errors import InputError

YEAR = 2016
PERIOD_START = pd.Timestamp("2016-01-01")
PERIOD_END = pd.Timestamp("2016-12-31")
CUTOFF = pd.Timestamp("2017-06-30")

ISO = r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$"
DMY = r"^(\d{1,2})/(\d{1,2})/(\d{4})$"
CATEGORIES = {
    "sex": ("Male", "Female", "Not known"),
    "care_home": ("Yes", "No", "Not known"),
    "admitted": ("Yes", "No", "Not known"),
    "fracture_site": ("Hip", "Spine", "Wrist", "Humerus", "Pelvis", "Other", "Not known"),
    "dxa": ("Ordered", "Recommended", "Not ordered", "Not known"),
    "falls_assessment": ("Assessed", "Referred", "Not assessed", "Not appropriate", "Not known"),
    "followup_16wk": ("Yes", "No", "Died", "Not known"),
    "strength_balance_16wk": ("Yes", "No", "Not appropriate", "Not known"),
    "followup_52wk": ("Yes", "No", "Died", "Not known"),
}
DATES = ("date_of_birth", "date_identified", "date_assessed", "date_dxa", "date_followup_16wk", "date_followup_52wk")
LISTS = ("bone_therapy_recommended", "treatment_16wk", "treatment_52wk")
DRUGS = {t.lower() for t in synth.DRUGS}
TOKENS = {t.lower() for t in synth.TOKENS}


# ----------------------------------------------------------------------------------------------
# An independent reader of the contract (approximate engine, for checking only)


def parse_dates(text: pd.Series) -> pd.Series:
    iso = text.str.extract(ISO)
    dmy = text.str.extract(DMY)
    year = iso[0].fillna(dmy[2])
    month = iso[1].fillna(dmy[1]).str.zfill(2)
    day = iso[2].fillna(dmy[0]).str.zfill(2)
    return pd.to_datetime(year + "-" + month + "-" + day, format="%Y-%m-%d", errors="coerce")


def parse_category(text: pd.Series, field: str) -> pd.Series:
    lookup = {v.lower(): v for v in CATEGORIES[field]}
    if field == "sex":
        lookup.update(m="Male", f="Female", u="Not known")
    if set(CATEGORIES[field]) >= {"Yes", "No"}:
        lookup.update(y="Yes", n="No")
    return text.str.lower().map(lookup)


def parse_list(text: pd.Series) -> pd.DataFrame:
    tokens = text.str.split(";").explode().str.strip().str.lower()
    tokens = tokens[tokens != ""]
    known = tokens.isin(TOKENS)
    out = pd.DataFrame(index=text.index)
    out["drug"] = tokens[tokens.isin(DRUGS)].groupby(level=0).size().reindex(text.index, fill_value=0) > 0
    valid = tokens[known].groupby(level=0).agg(lambda s: frozenset(s)).reindex(text.index)
    out["missing"] = valid.isna() | valid.map(lambda s: s == frozenset({"not known"}) if isinstance(s, frozenset) else True)
    out["unknown"] = (~known).groupby(level=0).any().reindex(text.index, fill_value=False)
    return out


def nhs_check_ok(digits: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def read_back(extract: pd.DataFrame, services: pd.DataFrame) -> dict:
    """Classify rows (data_dictionary.md §2), find issues, and parse values, as the contract says."""
    df = extract.apply(lambda c: c.str.strip())
    rid = df["record_id"]
    state = pd.Series("included", index=df.index)
    reason = pd.Series("", index=df.index)

    def reject(mask, why, kind="rejected"):
        new = mask & (reason == "")
        state[new] = kind
        reason[new] = why

    reject(rid == "", "missing record_id")
    row_key = pd.util.hash_pandas_object(df, index=False)
    has_id = rid != ""
    variants = row_key[has_id].groupby(rid[has_id]).transform("nunique").reindex(df.index, fill_value=1)
    reject(has_id & (variants > 1), "conflicting record_id")
    reject(has_id & rid.duplicated(), "duplicate record")
    reject(~df["service_code"].isin(set(services["service_code"])), "unknown service")
    fracture = parse_dates(df["date_fracture"])
    reject(fracture.isna(), "invalid fracture date")
    reject(fracture > CUTOFF, "fracture after data cut-off")
    reject((fracture < PERIOD_START) | (fracture > PERIOD_END), "outside audit period", "excluded")

    dates = {c: parse_dates(df[c]) for c in DATES}
    number = df["age_at_fracture"].str.fullmatch(r"\d+(\.0+)?")
    given = pd.to_numeric(df["age_at_fracture"].where(number), errors="coerce")
    in_range = given.between(0, 115)
    born = dates["date_of_birth"]
    derived = fracture.dt.year - born.dt.year - ((fracture.dt.month * 100 + fracture.dt.day) < (born.dt.month * 100 + born.dt.day))
    age = given.where(in_range, derived.where(derived.between(0, 115)))
    reject(age < 50, "aged under 50", "excluded")

    issue = {}  # field -> rule per row ("" none), first rule applies
    blank = {c: df[c] == "" for c in df.columns}
    cats = {c: parse_category(df[c], c) for c in CATEGORIES}
    lists = {c: parse_list(df[c]) for c in LISTS}
    digits = df["nhs_number"].str.replace(" ", "", regex=False)
    ten = digits.str.fullmatch(r"\d{10}")
    check_ok = pd.Series([nhs_check_ok(d) if ok else True for d, ok in zip(digits, ten)], index=df.index)
    rules = {
        "nhs_number": [("invalid value", ~blank["nhs_number"] & ~ten), ("check digit", ten & ~check_ok)],
        "age_at_fracture": [
            ("invalid value", ~blank["age_at_fracture"] & ~number),
            ("out of range", number & ~in_range),
        ],
    }
    for c in CATEGORIES:
        rules[c] = [("invalid value", ~blank[c] & cats[c].isna())]
    for c in LISTS:
        rules[c] = [("unknown therapy token", lists[c]["unknown"])]
    for c in DATES:
        rules[c] = [("invalid value", ~blank[c] & dates[c].isna())]
        if c in ("date_identified", "date_assessed", "date_followup_16wk", "date_followup_52wk"):
            rules[c].append(("before fracture", dates[c] < fracture))
        rules[c].append(("after cut-off", dates[c] > CUTOFF))
    included = state == "included"
    for field, checks in rules.items():
        rule = pd.Series("", index=df.index)
        for name, mask in checks:
            rule[(rule == "") & mask.fillna(False) & included] = name
        issue[field] = rule
    # Values with issues count as blank.
    for c in DATES:
        dates[c] = dates[c].where(issue[c] == "")
    return dict(
        df=df, state=state, reason=reason, issue=issue, fracture=fracture, age=age, dates=dates, cats=cats, lists=lists
    )


def national_kpis(r: dict, services: pd.DataFrame) -> dict:
    """National KPI2-KPI11 (percent) over included rows, and KPI1 per service (met or not)."""
    inc = r["state"] == "included"
    fx, dates, cats, lists = r["fracture"], r["dates"], r["cats"], r["lists"]
    days = {c: (dates[c] - fx).dt.days for c in DATES}
    due16 = fx + pd.Timedelta(days=112) <= CUTOFF
    due52 = fx + pd.Timedelta(days=392) <= CUTOFF
    site = cats["fracture_site"]
    dxa_ordered = cats["dxa"].isin(["Ordered", "Recommended"])
    kpi7 = lists["bone_therapy_recommended"]["drug"]
    den9 = inc & kpi7 & due16 & (cats["followup_16wk"] != "Died")
    den11 = inc & lists["treatment_16wk"]["drug"] & due52 & (cats["followup_52wk"] != "Died")
    nonhip = site.notna() & ~site.isin(["Hip", "Not known"])
    pairs = {
        "KPI3": (inc & (site == "Spine"), inc),
        "KPI4": (inc & days["date_assessed"].between(0, 90), inc),
        "KPI5": (inc & dxa_ordered & days["date_dxa"].between(0, 90), inc & dxa_ordered),
        "KPI6": (inc & cats["falls_assessment"].isin(["Assessed", "Referred"]), inc),
        "KPI7": (inc & kpi7, inc),
        "KPI8": (inc & nonhip & due16 & (cats["strength_balance_16wk"] == "Yes"), inc & nonhip & due16),
        "KPI9": (den9 & (cats["followup_16wk"] == "Yes") & days["date_followup_16wk"].between(84, 112), den9),
        "KPI10": (den9 & lists["treatment_16wk"]["drug"], den9),
        "KPI11": (den11 & lists["treatment_52wk"]["drug"], den11),
    }
    out = {k: 100 * num.sum() / den.sum() for k, (num, den) in pairs.items()}

    svc = services.set_index("service_code")
    caseload = pd.to_numeric(svc["expected_caseload"].replace("", np.nan)).fillna(
        5 * pd.to_numeric(svc["hip_fractures"].replace("", np.nan))
    )
    records = r["df"]["service_code"][inc].value_counts().reindex(svc.index, fill_value=0)
    has = caseload.notna()
    out["KPI2"] = 100 * records[has].sum() / np.floor(caseload[has] + 0.5).sum()

    # KPI1: fields over 20% missing, per service.
    fu16, fu52 = cats["followup_16wk"], cats["followup_52wk"]
    age_missing = r["age"].isna()
    missing = {
        "sex": (cats["sex"].isna() | (cats["sex"] == "Not known"), inc),
        "age_at_fracture": (age_missing, inc),
        "date_identified": (dates["date_identified"].isna(), inc),
        "date_assessed": (dates["date_assessed"].isna(), inc),
        "date_dxa": (dates["date_dxa"].isna(), inc & dxa_ordered),
        "followup_16wk": (fu16.isna() | (fu16 == "Not known"), inc & due16),
        "date_followup_16wk": (dates["date_followup_16wk"].isna(), inc & (fu16 == "Yes")),
        "strength_balance_16wk": (
            cats["strength_balance_16wk"].isna() | (cats["strength_balance_16wk"] == "Not known"),
            inc & nonhip & due16,
        ),
        "followup_52wk": (fu52.isna() | (fu52 == "Not known"), inc & due52),
        "bone_therapy_recommended": (lists["bone_therapy_recommended"]["missing"], inc),
        "treatment_16wk": (lists["treatment_16wk"]["missing"], inc & (fu16 == "Yes")),
        "treatment_52wk": (lists["treatment_52wk"]["missing"], inc & (fu52 == "Yes")),
    }
    for c in ("care_home", "admitted", "fracture_site", "dxa", "falls_assessment"):
        missing[c] = (cats[c].isna() | (cats[c] == "Not known"), inc)
    code = r["df"]["service_code"]
    over = pd.Series(0, index=svc.index)
    for field, (miss, applies) in missing.items():
        applicable = applies.groupby(code).sum().reindex(svc.index, fill_value=0)
        missed = (miss & applies).groupby(code).sum().reindex(svc.index, fill_value=0)
        over += ((applicable > 0) & (100 * missed > 20 * applicable)).astype(int)
    active = records > 0
    out["KPI1_services_meeting"] = int(((over < 5) & active).sum())
    out["KPI1_services_active"] = int(active.sum())
    out["records_by_service"] = records
    out["caseload"] = caseload
    return out


# ----------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def default():
    extract, services = synth.generate()
    return extract, services, read_back(extract, services)


@pytest.fixture(scope="module")
def kpis(default):
    extract, services, r = default
    return national_kpis(r, services)


# ----------------------------------------------------------------------------------------------
# Determinism and files


def test_write_synthetic_is_byte_identical_and_seed_sensitive(tmp_path):
    a = synth.write_synthetic(tmp_path / "a", services=12, patients=3000, seed=7)
    b = synth.write_synthetic(tmp_path / "b", services=12, patients=3000, seed=7)
    c = synth.write_synthetic(tmp_path / "c", services=12, patients=3000, seed=8)
    assert [p.name for p in a] == ["fls_extract_2016.csv", "services.csv"]
    for pa, pb, pc in zip(a, b, c):
        assert pa.read_bytes() == pb.read_bytes()
        assert pa.read_bytes() != pc.read_bytes()
    assert not list((tmp_path / "a").glob("*.tmp"))  # temporary files moved into place


def test_write_synthetic_writes_utf8_csv_with_codes_as_text(tmp_path):
    extract_path, services_path = synth.write_synthetic(tmp_path, services=38, patients=2000, year=2019, seed=3)
    assert extract_path == tmp_path / "fls_extract_2019.csv"
    raw = services_path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    services = pd.read_csv(services_path, dtype=str, keep_default_na=False)
    extract = pd.read_csv(extract_path, dtype=str, keep_default_na=False)
    assert list(services.columns) == list(synth.SERVICES_COLUMNS)
    assert list(extract.columns) == list(synth.EXTRACT_COLUMNS)
    assert len(extract) > 2000  # 2019 is the 2,000-row 2016 audit three years on, a little bigger
    assert len(services) == 38 + 3  # one service joins each year after 2016
    zero = [c for c in services["service_code"] if c.startswith("0")]
    assert zero, "a service code with a leading zero"
    assert re.search(rf"(^|\n)[^,\n]*,{zero[0]},", extract_path.read_text(encoding="utf-8"))  # written as text
    assert extract["service_code"].isin(zero).any()
    # The fractures follow the year argument.
    years = parse_dates(extract["date_fracture"].str.strip()).dt.year.value_counts()
    assert years.idxmax() == 2019


def test_generate_is_deterministic_and_seeded(default):
    extract, services, _ = default
    again, services_again = synth.generate()
    pd.testing.assert_frame_equal(extract, again)
    pd.testing.assert_frame_equal(services, services_again)
    other, _ = synth.generate(seed=2017)
    assert not other.equals(extract)


@pytest.mark.parametrize(
    "kwargs", [dict(services=0), dict(patients=0), dict(year=1800), dict(year=2015), dict(services=2.5)]
)
def test_bad_arguments_are_input_errors(kwargs):
    with pytest.raises(InputError):
        synth.generate(**kwargs)


@pytest.mark.parametrize("services,patients", [(1, 1), (2, 50), (5, 300), (150, 2000)])
def test_small_and_odd_sizes_work(services, patients):
    extract, frame = synth.generate(services=services, patients=patients, seed=1)
    assert len(extract) == patients and len(frame) == services
    assert frame["service_code"].is_unique and frame["service_name"].is_unique


# ----------------------------------------------------------------------------------------------
# Shape and services


def test_extract_shape_and_text(default):
    extract, services, _ = default
    assert len(extract) == 18356
    assert list(extract.columns) == list(synth.EXTRACT_COLUMNS)
    assert list(services.columns) == list(synth.SERVICES_COLUMNS)
    for frame in (extract, services):
        assert all(frame[c].map(type).eq(str).all() for c in frame.columns)
    assert not (extract == "").all(axis=1).any()  # no all-blank rows


def test_services_file(default, kpis):
    extract, services, _ = default
    assert len(services) == 38
    assert services["service_code"].is_unique and services["service_name"].is_unique
    assert services["nation"].value_counts().to_dict() == {"England": 33, "Wales": 5}
    assert set(services.loc[services["nation"] == "Wales", "region"]) == {"Wales"}
    assert services.loc[services["nation"] == "England", "region"].nunique() >= 5
    assert services["service_code"].str.startswith("0").any()
    assert services["service_name"].str.contains("&").any() and services["service_name"].str.contains("'").any()
    expected = services["expected_caseload"] != ""
    hips = services["hip_fractures"] != ""
    assert expected.sum() >= 28
    assert 3 <= (~expected & hips).sum() <= 7  # 5 x hip_fractures
    assert 1 <= (~expected & ~hips).sum() <= 2  # no estimate
    assert (pd.to_numeric(services["expected_caseload"][expected]) > 0).all()


def test_service_sizes(default, kpis):
    extract, services, _ = default
    rows = extract["service_code"].str.strip().value_counts().reindex(services["service_code"], fill_value=0)
    assert (rows == 0).sum() == 1
    assert 3 <= ((rows > 0) & (rows < 30)).sum() <= 4
    assert rows.max() > 1000


# ----------------------------------------------------------------------------------------------
# Identifiers


def test_nhs_numbers(default):
    extract, _, r = default
    digits = r["df"]["nhs_number"].str.replace(" ", "", regex=False)
    present = digits != ""
    ten = digits.str.fullmatch(r"\d{10}")
    good = pd.Series([bool(t) and nhs_check_ok(d) for d, t in zip(digits, ten)], index=digits.index)
    assert digits[good].str.startswith("999").all()
    n = len(extract)
    assert 0.007 < (present & ~ten).sum() / n < 0.015
    assert 0.007 < (ten & ~good).sum() / n < 0.015
    assert (extract["nhs_number"].str.fullmatch(r"999 \d{3} \d{4}")).mean() > 0.08  # some spaced 3-3-4
    assert (good | ~present).sum() / n > 0.97


def test_postcodes_are_pseudo_postcodes_only(default):
    extract, _, _ = default
    postcode = extract["postcode"]
    assert postcode.str.fullmatch(r"(ZZ99 [1-9][A-Z]{2})?").all()
    assert (postcode != "").mean() > 0.9


def test_record_ids_and_ages(default):
    extract, _, r = default
    rid = r["df"]["record_id"]
    assert rid[rid != ""].str.fullmatch(r"R\d{7}").all()
    inc = r["state"] == "included"
    age = r["age"][inc].dropna()
    assert age.between(50, 115).all()
    assert 73 <= age.mean() <= 79 and (age >= 90).mean() > 0.04 and (age < 65).mean() > 0.15
    # date of birth agrees with the age where both are given
    given = r["df"]["age_at_fracture"].str.fullmatch(r"\d+") & (r["issue"]["age_at_fracture"] == "")
    both = inc & given & r["dates"]["date_of_birth"].notna()
    fx, born = r["fracture"][both], r["dates"]["date_of_birth"][both]
    derived = fx.dt.year - born.dt.year - ((fx.dt.month * 100 + fx.dt.day) < (born.dt.month * 100 + born.dt.day))
    assert (derived == r["df"]["age_at_fracture"][both].astype(int)).all()


# ----------------------------------------------------------------------------------------------
# Formats


def test_formats_mix(default):
    extract, _, r = default
    dates = extract["date_assessed"][extract["date_assessed"] != ""]
    assert dates.str.fullmatch(r"\d{4}-\d{2}-\d{2}").mean() > 0.6
    assert dates.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}").mean() > 0.05
    assert dates.str.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?").any()
    assert extract["sex"].isin(["M", "F"]).any() and extract["sex"].isin(["female", "FEMALE"]).any()
    assert extract["care_home"].isin(["Y", "N"]).any()
    bone = extract["bone_therapy_recommended"]
    assert bone.str.contains(";").any() and bone.str.contains("; ").any()
    assert bone.str.contains(r"(?i)alendronate\s*;\s*alendronate").any()  # a repeated token
    assert (extract == "NA").any().any() and (extract == "NULL").any().any()
    assert extract["age_at_fracture"].str.fullmatch(r"\d+\.0").any()


def test_case_mix(default):
    _, _, r = default
    inc = r["state"] == "included"
    site = r["cats"]["fracture_site"][inc].value_counts(normalize=True)
    assert 0.25 <= site["Hip"] <= 0.31 and 0.17 <= site["Wrist"] <= 0.23 and 0.08 <= site["Humerus"] <= 0.12
    assert 0.04 <= site["Pelvis"] <= 0.08 and 0.27 <= site["Other"] <= 0.34 and 0.015 <= site["Not known"] <= 0.04
    sex = r["cats"]["sex"][inc].value_counts(normalize=True)
    assert 0.70 <= sex["Female"] / (sex["Female"] + sex["Male"]) <= 0.80
    admitted = r["cats"]["admitted"][inc]
    assert 0.38 <= (admitted == "Yes").mean() <= 0.52
    assert (admitted[r["cats"]["fracture_site"][inc] == "Hip"] != "No").all()
    care = r["cats"]["care_home"][inc]
    assert 0.02 <= (care == "Yes").mean() <= 0.07
    assert (r["cats"]["followup_16wk"][inc] == "Died").mean() > 0.01


# ----------------------------------------------------------------------------------------------
# Faults


def test_rejections_and_exclusions_each_about_one_percent(default):
    extract, _, r = default
    n = len(extract)
    counts = r["reason"].value_counts()
    for reason in (
        "missing record_id",
        "conflicting record_id",
        "duplicate record",
        "unknown service",
        "invalid fracture date",
        "fracture after data cut-off",
        "outside audit period",
        "aged under 50",
    ):
        assert 0.008 <= counts.get(reason, 0) / n <= 0.013, (reason, counts.get(reason, 0))
    # Conflicts come in groups sharing an id; duplicates include copies padded with spaces.
    conflicts = r["df"]["record_id"][r["reason"] == "conflicting record_id"]
    assert conflicts.value_counts().min() >= 2
    dups = extract[r["reason"] == "duplicate record"]
    assert (dups.apply(lambda c: c.str.strip()) != dups).any(axis=1).any()
    # Blank services and a code whose leading zero was lost are both among the unknown services.
    unknown = r["df"]["service_code"][r["reason"] == "unknown service"]
    assert (unknown == "").any() and unknown.str.fullmatch(r"[1-9]\d").any()
    assert (r["state"] == "included").mean() > 0.9


def test_field_issues_each_about_one_percent(default):
    extract, _, r = default
    n = len(extract)
    issue = r["issue"]
    by_rule = {}
    for field, rule in issue.items():
        for name, count in rule[rule != ""].value_counts().items():
            key = "invalid nhs_number" if (field, name) == ("nhs_number", "invalid value") else name
            by_rule[key] = by_rule.get(key, 0) + count
    for name in (
        "invalid value",
        "invalid nhs_number",
        "unknown therapy token",
        "out of range",
        "check digit",
        "before fracture",
        "after cut-off",
    ):
        assert 0.007 <= by_rule.get(name, 0) / n <= 0.013, (name, by_rule.get(name, 0))
    # Issues are spread across services, not piled on one.
    rows = pd.concat([rule != "" for rule in issue.values()], axis=1).any(axis=1)
    per_service = r["df"]["service_code"][rows].value_counts()
    assert len(per_service) >= 30 and per_service.max() / rows.sum() < 0.15


# ----------------------------------------------------------------------------------------------
# Calibration and spread


@pytest.mark.parametrize(
    "kpi,target,tolerance",
    [("KPI2", 40, 3), ("KPI3", 4, 2), ("KPI4", 70, 2), ("KPI5", 47, 2), ("KPI6", 40, 2), ("KPI7", 38, 2), ("KPI8", 6, 2)],
)
def test_national_results_match_first_report(kpis, kpi, target, tolerance):
    assert abs(kpis[kpi] - target) <= tolerance, kpis[kpi]


@pytest.mark.parametrize("kpi,low,high", [("KPI9", 35, 45), ("KPI10", 50, 60), ("KPI11", 70, 80)])
def test_later_pathway_results_are_plausible(kpis, kpi, low, high):
    assert low <= kpis[kpi] <= high, kpis[kpi]


def test_about_half_the_services_meet_kpi1(kpis):
    share = kpis["KPI1_services_meeting"] / kpis["KPI1_services_active"]
    assert kpis["KPI1_services_active"] == 37
    assert 0.35 <= share <= 0.65, share


def _service_rates(r, numerator, denominator):
    code = r["df"]["service_code"]
    num = numerator.groupby(code).sum()
    den = denominator.groupby(code).sum()
    return (100 * num / den)[den >= 30]


def test_wide_spread_between_services(default, kpis):
    _, services, r = default
    inc = r["state"] == "included"
    days = (r["dates"]["date_assessed"] - r["fracture"]).dt.days
    kpi4 = _service_rates(r, inc & days.between(0, 90), inc)
    kpi6 = _service_rates(r, inc & r["cats"]["falls_assessment"].isin(["Assessed", "Referred"]), inc)
    kpi7 = _service_rates(r, inc & r["lists"]["bone_therapy_recommended"]["drug"], inc)
    for rates in (kpi4, kpi6, kpi7):
        assert rates.max() - rates.min() > 60
    assert min(kpi4.min(), kpi6.min(), kpi7.min()) < 5
    assert max(kpi4.max(), kpi6.max(), kpi7.max()) > 95
    kpi2 = 100 * kpis["records_by_service"] / kpis["caseload"]
    kpi2 = kpi2.dropna()
    assert kpi2[kpis["records_by_service"] > 0].min() < 20 and kpi2.max() > 90


def test_some_services_improve_during_the_year(default):
    _, _, r = default
    inc = r["state"] == "included"
    days = (r["dates"]["date_assessed"] - r["fracture"]).dt.days
    met = inc & days.between(0, 90)
    half = np.where(r["fracture"].dt.month <= 6, "first", "second")
    frame = pd.DataFrame({"code": r["df"]["service_code"], "half": half, "met": met, "inc": inc})[inc]
    rates = frame.groupby(["code", "half"])["met"].agg(["mean", "size"]).unstack()
    big = (rates["size"] >= 100).all(axis=1)
    gain = (rates["mean"]["second"] - rates["mean"]["first"])[big]
    assert 4 <= (gain > 0.25).sum() <= 7, gain.sort_values().tail(8)


# ----------------------------------------------------------------------------------------------
# The second year: the same audit a year later (docs/synthetic-data.md, "Second year")

# SHA-256 of (fls_extract_2016.csv, services.csv) as written before later years existed. Adding
# later years must never change the 2016 files.
FIRST_YEAR_SHA256 = {
    (): (
        "6cf8c77e71a3bf3f1b660eb890d7f44de5483d77e5cc1e48ec5e62b0329f6f3a",  # issue 15: groups get different care
        "997e7efbe2398581d30696e103391a595736b24d5aa9759d995e4ab8e968cfbf",
    ),
    (("services", 12), ("patients", 3000), ("seed", 7)): (
        "61737f540aae8995d8496851b561258ce44f510602b5ab64b3b6e082507fe340",
        "cbe8819ead9159950795911866d87e344874744955ea75068554706ec092c591",
    ),
}


@pytest.mark.parametrize("kwargs", list(FIRST_YEAR_SHA256))
def test_2016_files_are_byte_identical_to_before_later_years(tmp_path, kwargs):
    paths = synth.write_synthetic(tmp_path, **dict(kwargs))
    assert tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in paths) == FIRST_YEAR_SHA256[kwargs]


def run_engine(folder, year: int):
    """Write the default synthetic year to ``folder``, compute it with the real engine, and return
    (extract, services, kpi_results, monthly_kpis, record_accounting)."""
    from fls_report.params import load_params
    from fls_report.pipeline import run_compute

    extract_path, services_path = synth.write_synthetic(folder, year=year)
    (folder / "params.yml").write_text(
        f"title: synthetic {year}\n"
        f"period_start: {year}-01-01\nperiod_end: {year}-12-31\ndata_cutoff: {year + 1}-06-30\n"
        f"extract: {extract_path.name}\nservices: {services_path.name}\noutput: output\n",
        encoding="utf-8",
    )
    run_compute(load_params(folder / "params.yml"))
    tables = folder / "output" / "tables"
    read = dict(dtype=str, keep_default_na=False)
    frames = [pd.read_csv(p, **read) for p in (extract_path, services_path)]
    frames += [pd.read_csv(tables / f"{name}.csv", dtype={"code": str}) for name in ("kpi_results", "monthly_kpis", "record_accounting")]
    return tuple(frames)


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    """The default 2016 and 2017 demo years, each computed with the real engine."""
    root = tmp_path_factory.mktemp("years")
    return {year: run_engine(root / str(year), year) for year in (2016, 2017)}


def national(kpi_results: pd.DataFrame) -> pd.Series:
    return kpi_results[kpi_results["level"] == "national"].set_index("kpi_id")["pct"]


def test_second_year_has_the_same_services_plus_one_that_joins(years):
    services16, services17 = years[2016][1], years[2017][1]
    assert len(services17) == len(services16) + 1
    old = services17[services17["service_code"].isin(services16["service_code"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, services16)  # codes, names, nations, regions and caseloads
    new = services17[~services17["service_code"].isin(services16["service_code"])]
    assert len(new) == 1
    assert new["service_code"].str.fullmatch(r"\d{3}").all() and (new["nation"] == "England").all()
    assert services17["service_name"].is_unique and (new["expected_caseload"] != "").all()


def test_one_service_stops_and_the_new_one_joins_during_the_year(years):
    (extract16, services16, *_), (extract17, services17, *_) = years[2016], years[2017]
    rows16 = extract16["service_code"].value_counts().reindex(services16["service_code"], fill_value=0)
    rows17 = extract17["service_code"].value_counts().reindex(services17["service_code"], fill_value=0)
    stopped = [c for c in services16["service_code"] if rows16[c] > 0 and rows17[c] == 0]
    assert len(stopped) == 1  # submits nothing in 2017, but stays in the services file
    assert [c for c in services16["service_code"] if rows16[c] == 0 and rows17[c] > 0] == []
    new = services17.loc[~services17["service_code"].isin(services16["service_code"]), "service_code"].item()
    assert rows17[new] >= 30
    joined = parse_dates(extract17.loc[extract17["service_code"] == new, "date_fracture"].str.strip())
    months = joined[joined.dt.year == 2017].dt.month
    assert 3 <= months.min() <= 6  # joins between March and June
    # Services that were steady keep their volume; the whole audit grows a little.
    both = (rows16 >= 100) & (rows17.reindex(rows16.index) >= 100)
    ratio = (rows17.reindex(rows16.index) / rows16)[both]
    assert ratio.median() == pytest.approx(1.05, abs=0.04)
    assert 1.03 <= len(extract17) / len(extract16) <= 1.15


def test_second_year_fractures_are_in_2017(years):
    extract17, _, _, monthly, accounting = years[2017]
    fracture = parse_dates(extract17["date_fracture"].str.strip()).dropna()  # ~1% are invalid
    assert (fracture.dt.year == 2017).mean() > 0.975  # the rest: outside the period or after the cut-off
    assert fracture.min() >= pd.Timestamp("2016-09-01") and fracture.max() <= pd.Timestamp("2019-01-31")
    assert set(monthly["month"]) == {f"2017-{m:02d}" for m in range(1, 13)}
    # The same fault mix as 2016: each rejection and exclusion about 1% of rows.
    share = accounting[accounting["state"] != "included"].groupby("reason")["rows"].sum() / len(extract17)
    assert len(share) == 8 and share.between(0.008, 0.013).all(), share


def test_national_results_improve_modestly(years):
    before, after = national(years[2016][2]), national(years[2017][2])
    change = after - before
    for kpi in ("KPI4", "KPI5", "KPI6", "KPI7"):
        assert -1 <= change[kpi] <= 8, (kpi, change[kpi])
    assert (change[["KPI4", "KPI5", "KPI6", "KPI7"]] > 0).sum() >= 3
    assert 1 <= change["KPI2"] <= 6  # more records against the same caseloads
    assert 0 <= change["KPI3"] <= 2 and 0 <= change["KPI8"] <= 4
    for kpi in ("KPI9", "KPI10", "KPI11"):
        assert -3 <= change[kpi] <= 6, (kpi, change[kpi])
    assert 35 <= after["KPI1"] <= 65  # still about half the services meet KPI1


def test_service_changes_are_spread(years):
    def by_service(kpi_results, kpi):
        rows = kpi_results[(kpi_results["level"] == "service") & (kpi_results["kpi_id"] == kpi)]
        return rows.set_index("code")

    before, after = by_service(years[2016][2], "KPI4"), by_service(years[2017][2], "KPI4")
    both = before.index[(before["denominator"] >= 30) & (after["denominator"].reindex(before.index) >= 30)]
    change = (after["pct"] - before["pct"]).reindex(both)
    assert (change > 5).sum() >= 3 and (change < 0).sum() >= 1  # a few a lot better, some worse
    assert (change > 0).mean() > 0.5 and 0 < change.median() < 6  # most a little better
    assert (change > 20).sum() <= 8 and change.std() > 5
    # Which services meet KPI1 changes for a few services only.
    k1_before, k1_after = by_service(years[2016][2], "KPI1"), by_service(years[2017][2], "KPI1")
    active = k1_before.index[(k1_before["rag"] != "none") & (k1_after["rag"].reindex(k1_before.index) != "none")]
    flips = (k1_before["rag"][active] != k1_after["rag"][active]).sum()
    assert 1 <= flips <= 5


def test_services_that_improved_in_2016_start_2017_near_their_late_level(years):
    def rate(monthly, months):
        rows = monthly[(monthly["level"] == "service") & (monthly["kpi_id"] == "KPI4") & monthly["month"].isin(months)]
        sums = rows.groupby("code")[["numerator", "denominator"]].sum()
        return 100 * sums["numerator"] / sums["denominator"]

    m16, m17 = years[2016][3], years[2017][3]
    first = rate(m16, [f"2016-{m:02d}" for m in range(1, 7)])
    second = rate(m16, [f"2016-{m:02d}" for m in range(7, 13)])
    late = rate(m16, ["2016-10", "2016-11", "2016-12"])
    early = rate(m17, ["2017-01", "2017-02", "2017-03"])
    improved = (second - first)[(second - first) > 25].index
    assert len(improved) >= 3
    assert ((early[improved] - late[improved]).abs() < 15).all(), pd.DataFrame({"late": late, "early": early}).loc[improved]


def test_later_years_are_deterministic_and_follow_the_year():
    a = synth.generate(services=12, patients=3000, year=2017, seed=7)
    b = synth.generate(services=12, patients=3000, year=2017, seed=7)
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x, y)
    later, services = synth.generate(services=12, patients=3000, year=2018, seed=7)
    assert len(services) == 14 and set(a[1]["service_code"]) < set(services["service_code"])
    assert parse_dates(later["date_fracture"].str.strip()).dt.year.value_counts().idxmax() == 2018


@pytest.mark.parametrize("services,patients", [(1, 1), (2, 50), (5, 300)])
def test_second_year_small_and_odd_sizes_work(services, patients):
    extract, frame = synth.generate(services=services, patients=patients, year=2017, seed=1)
    assert len(frame) == services + 1 and len(extract) >= 1
    assert frame["service_code"].is_unique and frame["service_name"].is_unique
