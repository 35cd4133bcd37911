"""The benchmark script's comparison against another commit (benchmarks/bench.py --against)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # its dataclasses look their module up while being defined
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("bench", None)


def test_pairs_are_compared_side_by_side_not_median_over_median(bench):
    """Each pair's ratio is ref ÷ this; the verdict is the median of those ratios. Here the
    machine slows down over the rounds: the medians of each side alone (45 s against 44 s) hide
    that this checkout won every pair by 10%."""
    ref, this = [33.0, 44.0, 55.0], [30.0, 40.0, 50.0]
    lines = bench.pair_summary(ref, this)
    assert lines[:3] == ["- pair 1: ref 33.0 s, this 30.0 s, ratio 1.100",
                         "- pair 2: ref 44.0 s, this 40.0 s, ratio 1.100",
                         "- pair 3: ref 55.0 s, this 50.0 s, ratio 1.100"]
    assert lines[3].startswith("Median of the pairs' ratios: 1.100 (this checkout faster by 10.0%)")
    assert "3 of 3 pairs faster" in lines[3]


def test_a_slower_checkout_is_called_slower_and_unequal_pairs_are_refused(bench):
    lines = bench.pair_summary([30.0, 31.0, 29.0], [33.0, 30.0, 32.0])
    assert "(this checkout slower by" in lines[-1] and "1 of 3 pairs faster" in lines[-1]
    with pytest.raises(ValueError):
        bench.pair_summary([30.0, 31.0], [30.0])
