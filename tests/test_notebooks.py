"""The source notebooks: thin, stored without outputs, and they run top to bottom under nbval."""

from __future__ import annotations

import ast
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO, EMPTY_CODE

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_three_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["data_quality.ipynb", "national.ipynb", "service.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs_and_thin(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    for cell in code:
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda, ast.For, ast.While)), cell.source
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"groupby", "pivot", "merge", "apply", "query"}, cell.source
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert all(getattr(n, "module", None) == "fls_report" for n in imports), "notebooks import only fls_report"


def test_notebooks_run_under_nbval(built_site, tmp_path):
    params_path = built_site.parent / "params.yml"
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        cell = notebook.cells[0]
        cell.source = f"params_path = {str(params_path)!r}\nservice_code = {EMPTY_CODE!r}" if "service_code" in cell.source \
            else f"params_path = {str(params_path)!r}"
        nbformat.write(notebook, tmp_path / path.name)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "failed" not in done.stdout.splitlines()[-1]
