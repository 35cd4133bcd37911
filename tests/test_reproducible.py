"""Reproducible builds, and the same site from local processes and from a Dask cluster."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from fls_report.build import build


def digests(root) -> dict[str, str]:
    """SHA-256 of every file under the run's output folder, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_builds(small_run, tmp_path_factory):
    """The same inputs built from clean in two different folders: with local processes in one,
    with Dask ``--scheduler local`` in the other (nested deeper, so that any path climbing out
    of the output folder would differ)."""
    folders = [tmp_path_factory.mktemp("reproducible"), tmp_path_factory.mktemp("elsewhere") / "a" / "b"]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("params.yml", "services.csv", "fls_extract_2016.csv"):
            shutil.copy(small_run.parent / name, folder / name)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    try:
        first = build(folders[0] / "params.yml", workers=2, progress=False)
        second = build(folders[1] / "params.yml", workers=2, scheduler="local", progress=False)
    finally:
        monkeypatch.undo()
    return first, second, digests(folders[0] / "out"), digests(folders[1] / "out"), folders


def test_dask_path_builds_every_page(two_builds):
    first, second, _, after, _ = two_builds
    assert not first.failures and not second.failures
    assert [j.code for j in second.jobs] == [j.code for j in first.jobs]
    pages = [p for p in after if p.startswith("site/") and p.endswith(".html")]
    assert len(pages) == 2 + len(first.jobs)  # the index, the accessibility statement and every report
    assert "site/accessibility.html" in pages


def test_two_clean_builds_in_two_folders_are_byte_identical(two_builds):
    _, _, before, after, _ = two_builds
    assert sorted(before) == sorted(after)
    differing = [path for path in before if before[path] != after[path]]
    assert differing == []
    assert any(p.startswith("notebooks/") for p in before) and any(p.startswith("tables/") for p in before)


def test_nothing_in_the_output_names_a_path_outside_it(two_builds):
    """Executed notebooks open the run from its manifest in the output folder; no output file
    names the folder it was built in, or climbs out of the output folder."""
    *_, folders = two_builds
    out = folders[1] / "out"
    for path in out.rglob("*"):
        if path.suffix not in (".ipynb", ".json", ".html", ".csv"):
            continue
        text = path.read_text(encoding="utf-8")
        assert str(folders[1]) not in text and str(folders[1].parent) not in text, path
        if path.suffix == ".ipynb":  # what the build gave the notebook (the source's own default cell aside)
            notebook = json.loads(text)
            injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
            assert injected and "params_path = \"manifest.json\"" in "".join(injected[0]["source"]), path
            given = json.dumps([notebook["metadata"], injected[0]["source"]])
            assert "../" not in given and "/tmp" not in given, path
