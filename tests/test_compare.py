"""Year on year: compare_with an earlier run's kpi_results.csv."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from conftest import SERVICES, make_run, row
from fls_report.cli import main


def compute(folder, rows, services=None, **params) -> pd.DataFrame:
    path = make_run(folder, rows, services, **params)
    assert main(["compute", str(path)]) == 0
    return pd.read_csv(folder / "out" / "tables" / "kpi_results.csv", dtype={"code": str})


def test_previous_and_change_on_a_hand_made_pair(tmp_path):
    earlier, later = tmp_path / "2016", tmp_path / "2017"
    earlier.mkdir(), later.mkdir()
    # 2016: S1 assessed 1 of 2 (50%); S2 has records; 2017: S1 assessed 3 of 4 (75%); S3 is new.
    first = compute(earlier, [row(1), row(2, date_assessed=""), row(3, service_code="S2")])
    services = SERVICES + [dict(SERVICES[0], service_code="S3", service_name="New in 2017")]
    second = compute(later, [row(1), row(2), row(3), row(4, date_assessed=""), row(5, service_code="S3")],
                     services, compare_with="../2016/out/tables/kpi_results.csv")
    assert "previous_pct" not in first.columns
    s1 = second.query("code == 'S1' and kpi_id == 'KPI4'").iloc[0]
    assert (s1["previous_pct"], s1["pct"], s1["change_pct_points"]) == (50.0, 75.0, 25.0)
    national = second.query("code == 'NATIONAL' and kpi_id == 'KPI4'").iloc[0]
    assert national["previous_pct"] == pytest.approx(200 / 3) and national["change_pct_points"] == pytest.approx(80 - 200 / 3)
    new = second.query("code == 'S3'")
    assert new["previous_pct"].isna().all() and new["change_pct_points"].isna().all()
    s2 = second.query("code == 'S2' and kpi_id == 'KPI4'").iloc[0]
    assert s2["previous_pct"] == 100.0 and math.isnan(s2["pct"]) and math.isnan(s2["change_pct_points"])
    assert list(second.columns[-5:]) == ["funnel_status", "rank", "ranked", "previous_pct", "change_pct_points"]


@pytest.mark.parametrize(
    "content, fragment",
    [(None, "not found"), ("level,code\nnational,NATIONAL\n", "missing column(s) kpi_id, pct"),
     ("level,code,kpi_id,pct\nnational,NATIONAL,KPI4,abc\n", "pct is not a number at row 2"),
     ("level,code,kpi_id,pct\nnational,NATIONAL,KPI4,1\nnational,NATIONAL,KPI4,2\n", "repeated row")],
)
def test_a_bad_earlier_file_is_an_input_error_before_any_write(tmp_path, capsys, content, fragment):
    if content is not None:
        (tmp_path / "old.csv").write_text(content)
    path = make_run(tmp_path, [row(1)], compare_with="old.csv")
    assert main(["compute", str(path)]) == 2
    err = capsys.readouterr().err
    assert "old.csv" in err and fragment in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
