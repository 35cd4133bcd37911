"""Reproducible builds, and the same site from local processes and from a Dask cluster."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from fls_report.build import build


def digests(root) -> dict[str, str]:
    """SHA-256 of every file under the run's output folder, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_builds(small_run, tmp_path_factory):
    """The small run built twice from clean: local processes, then Dask ``--scheduler local``."""
    folder = tmp_path_factory.mktemp("reproducible")
    for name in ("params.yml", "services.csv", "fls_extract_2016.csv"):
        shutil.copy(small_run.parent / name, folder / name)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    try:
        first = build(folder / "params.yml", workers=2, progress=False)
        before = digests(folder / "out")
        shutil.rmtree(folder / "out")
        second = build(folder / "params.yml", workers=2, scheduler="local", progress=False)
        after = digests(folder / "out")
    finally:
        monkeypatch.undo()
    return first, second, before, after


def test_dask_path_builds_every_page(two_builds):
    first, second, _, after = two_builds
    assert not first.failures and not second.failures
    assert [j.code for j in second.jobs] == [j.code for j in first.jobs]
    pages = [p for p in after if p.startswith("site/") and p.endswith(".html")]
    assert len(pages) == 1 + len(first.jobs)  # the index and every report


def test_two_clean_builds_are_byte_identical(two_builds):
    _, _, before, after = two_builds
    assert sorted(before) == sorted(after)
    differing = [path for path in before if before[path] != after[path]]
    assert differing == []
    assert any(p.startswith("notebooks/") for p in before) and any(p.startswith("tables/") for p in before)
