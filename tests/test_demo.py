"""Backtest: the demo run end to end, its national figures against the calibration targets."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import write_params
from fls_report.cli import main

#: The first FLS-DB national report's figures (percent) and how close the demo must land.
TARGETS = {"KPI2": (40, 3), "KPI3": (4, 2), "KPI4": (70, 2), "KPI5": (47, 2), "KPI6": (40, 2),
           "KPI7": (38, 2), "KPI8": (6, 2)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    assert main(["synth", "--out", str(folder)]) == 0
    params = write_params(folder, extract="fls_extract_2016.csv", services="services.csv")
    assert main(["compute", str(params)]) == 0
    tables = folder / "out" / "tables"
    return {
        "results": pd.read_csv(tables / "kpi_results.csv", dtype={"code": str}),
        "accounting": pd.read_csv(tables / "record_accounting.csv", dtype={"code": str}, keep_default_na=False),
        "manifest": json.loads((folder / "out" / "manifest.json").read_text()),
        "rows": sum(1 for _ in open(folder / "fls_extract_2016.csv", encoding="utf-8")) - 1,
    }


@pytest.mark.parametrize("kpi_id", sorted(TARGETS))
def test_national_figure_near_published(demo, kpi_id):
    target, tolerance = TARGETS[kpi_id]
    national = demo["results"].query("code == 'NATIONAL' and kpi_id == @kpi_id").iloc[0]
    assert abs(national["pct"] - target) <= tolerance, (kpi_id, national["pct"])


def test_later_pathway_kpis_plausible(demo):
    national = demo["results"].query("code == 'NATIONAL'").set_index("kpi_id")["pct"]
    assert 25 <= national["KPI9"] <= 60 and 40 <= national["KPI10"] <= 70 and 60 <= national["KPI11"] <= 90


def test_shape_of_the_results(demo):
    results = demo["results"]
    assert len(results) == 11 * (38 + 2 + 1)
    assert results.query("level == 'service'")["code"].nunique() == 38
    assert set(results.query("level == 'nation'")["code"]) == {"ENGLAND", "WALES"}


def test_accounting_totals(demo):
    accounting = demo["accounting"]
    assert accounting["rows"].sum() == demo["rows"] == 18356 == demo["manifest"]["rows"]["read"]
    by_state = accounting.groupby("state")["rows"].sum()
    assert by_state["included"] > 0.9 * 18356
    reasons = accounting.groupby("reason")["rows"].sum()
    for reason in ("missing record_id", "conflicting record_id", "duplicate record", "unknown service",
                   "invalid fracture date", "fracture after data cut-off", "outside audit period", "aged under 50"):
        assert 0.005 * 18356 <= reasons[reason] <= 0.02 * 18356, reason


def test_realistic_spread_between_services(demo):
    services = demo["results"].query("level == 'service'")
    in_scope = services.query("kpi_id == 'KPI3'").set_index("code")["denominator"]
    assert (in_scope == 0).sum() == 1
    assert ((in_scope > 0) & (in_scope < 30)).sum() >= 3
    kpi1 = services.query("kpi_id == 'KPI1' and rag != 'none'")
    assert 0.35 <= (kpi1["rag"] == "green").mean() <= 0.65, "about half the services meet KPI1"
    widest = services.query("kpi_id in ['KPI4', 'KPI5', 'KPI6', 'KPI7'] and denominator >= 30")
    spread = widest.groupby("kpi_id")["pct"].agg(["min", "max"])
    assert (spread["min"] <= 10).any() and (spread["max"] >= 90).any()
