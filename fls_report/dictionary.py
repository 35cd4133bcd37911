"""The input data contract (data_dictionary.md) as constants: columns, value sets, reasons, rules.

Nothing here computes; every other module takes its names and spellings from here so that a
column or a reason string is written once.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Extract columns, in contract order (data_dictionary.md §1)

EXTRACT_COLUMNS: tuple[str, ...] = (
    "record_id",
    "service_code",
    "nhs_number",
    "date_of_birth",
    "age_at_fracture",
    "sex",
    "postcode",
    "care_home",
    "date_identified",
    "date_assessed",
    "admitted",
    "date_fracture",
    "fracture_site",
    "dxa",
    "date_dxa",
    "bone_therapy_recommended",
    "falls_assessment",
    "followup_16wk",
    "date_followup_16wk",
    "treatment_16wk",
    "strength_balance_16wk",
    "followup_52wk",
    "date_followup_52wk",
    "treatment_52wk",
)

CORE_COLUMNS: tuple[str, ...] = ("record_id", "service_code", "age_at_fracture", "date_fracture", "fracture_site")
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(c for c in EXTRACT_COLUMNS if c not in CORE_COLUMNS)

#: Identifiers: read only to validate, de-duplicate and derive age; never in a publishable output.
IDENTIFIER_COLUMNS: tuple[str, ...] = ("record_id", "nhs_number", "date_of_birth", "postcode")

DATE_COLUMNS: tuple[str, ...] = (
    "date_of_birth",
    "date_identified",
    "date_assessed",
    "date_fracture",
    "date_dxa",
    "date_followup_16wk",
    "date_followup_52wk",
)

#: Dates that may not precede the fracture (rule ``before fracture``).
AFTER_FRACTURE_DATES: tuple[str, ...] = (
    "date_identified",
    "date_assessed",
    "date_followup_16wk",
    "date_followup_52wk",
)

THERAPY_COLUMNS: tuple[str, ...] = ("bone_therapy_recommended", "treatment_16wk", "treatment_52wk")

YES_NO_NOT_KNOWN = ("Yes", "No", "Not known")

#: Category columns and their canonical values, in the contract's order.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "sex": ("Male", "Female", "Not known"),
    "care_home": YES_NO_NOT_KNOWN,
    "admitted": YES_NO_NOT_KNOWN,
    "fracture_site": ("Hip", "Spine", "Wrist", "Humerus", "Pelvis", "Other", "Not known"),
    "dxa": ("Ordered", "Recommended", "Not ordered", "Not known"),
    "falls_assessment": ("Assessed", "Referred", "Not assessed", "Not appropriate", "Not known"),
    "followup_16wk": ("Yes", "No", "Died", "Not known"),
    "strength_balance_16wk": ("Yes", "No", "Not appropriate", "Not known"),
    "followup_52wk": ("Yes", "No", "Died", "Not known"),
}

SEX_ALIASES = {"m": "Male", "f": "Female", "u": "Not known"}
YES_NO_ALIASES = {"y": "Yes", "n": "No"}


def category_lookup(column: str) -> dict[str, str]:
    """Lower-cased spelling (and alias) -> canonical value for a category column."""
    values = CATEGORIES[column]
    lookup = {v.lower(): v for v in values}
    if column == "sex":
        lookup.update(SEX_ALIASES)
    if "Yes" in values and "No" in values:
        lookup.update(YES_NO_ALIASES)
    return lookup


DRUGS: tuple[str, ...] = (
    "Alendronate",
    "Risedronate",
    "Ibandronate",
    "Zoledronate",
    "Denosumab",
    "Teriparatide",
    "Romosozumab",
    "HRT",
    "Other drug",
)
NON_DRUGS: tuple[str, ...] = (
    "Not appropriate",
    "Informed decline",
    "Referred for clinical opinion",
    "Referred to GP",
    "Not started",
    "Not on treatment",
    "No longer appropriate",
    "Not known",
)
THERAPY_TOKENS: tuple[str, ...] = DRUGS + NON_DRUGS

AGE_MIN, AGE_MAX = 0, 115
MIN_AUDIT_AGE = 50

# ---------------------------------------------------------------------------------------------
# Row states and reasons (data_dictionary.md §2), in the order they are checked

REJECTED, EXCLUDED, INCLUDED = "rejected", "excluded", "included"

REJECT_MISSING_ID = "missing record_id"
REJECT_CONFLICTING_ID = "conflicting record_id"
REJECT_DUPLICATE = "duplicate record"
REJECT_UNKNOWN_SERVICE = "unknown service"
REJECT_INVALID_FRACTURE_DATE = "invalid fracture date"
REJECT_AFTER_CUTOFF = "fracture after data cut-off"
REJECT_REASONS: tuple[str, ...] = (
    REJECT_MISSING_ID,
    REJECT_CONFLICTING_ID,
    REJECT_DUPLICATE,
    REJECT_UNKNOWN_SERVICE,
    REJECT_INVALID_FRACTURE_DATE,
    REJECT_AFTER_CUTOFF,
)

EXCLUDE_OUTSIDE_PERIOD = "outside audit period"
EXCLUDE_UNDER_50 = "aged under 50"
EXCLUDE_REASONS: tuple[str, ...] = (EXCLUDE_OUTSIDE_PERIOD, EXCLUDE_UNDER_50)

#: Field-level rules, in the order they are applied (the first that applies is recorded).
RULE_INVALID = "invalid value"
RULE_UNKNOWN_TOKEN = "unknown therapy token"
RULE_OUT_OF_RANGE = "out of range"
RULE_CHECK_DIGIT = "check digit"
RULE_BEFORE_FRACTURE = "before fracture"
RULE_AFTER_CUTOFF = "after cut-off"
FIELD_RULES: tuple[str, ...] = (
    RULE_INVALID,
    RULE_UNKNOWN_TOKEN,
    RULE_OUT_OF_RANGE,
    RULE_CHECK_DIGIT,
    RULE_BEFORE_FRACTURE,
    RULE_AFTER_CUTOFF,
)

BLANK_CODE = "(blank)"

# ---------------------------------------------------------------------------------------------
# Services reference file (data_dictionary.md §3)

SERVICE_COLUMNS: tuple[str, ...] = (
    "service_code",
    "service_name",
    "nation",
    "region",
    "expected_caseload",
    "hip_fractures",
)
SERVICE_CORE_COLUMNS: tuple[str, ...] = ("service_code", "service_name", "nation")
#: Nations a service may belong to (webtool_export.md §5): the audit covers Northern Ireland since 2020.
NATIONS: tuple[str, ...] = ("England", "Wales", "Northern Ireland")
HIP_FRACTURE_MULTIPLIER = 5
