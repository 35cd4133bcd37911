"""How numbers are shown to a reader: one rule, used by pages, charts, slides and workbooks."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

BLANK = "–"


def one_decimal(value) -> str:
    """A percentage (or any number) to one decimal place, halves rounded up (kpis.md "Display").

    Rounds the shortest decimal form of the float, so 12.25 shows as 12.3; blank is an en dash.
    """
    if value is None or pd.isna(value):
        return BLANK
    return str(Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
