"""The warm kernel a build worker keeps: one kept client, reports that do not see each other,
objects frozen out of the garbage collector, a fresh kernel after a failure."""

from __future__ import annotations

import gc
from pathlib import Path

import nbformat
import papermill
import pytest

from fls_report.execute import with_reset_cell, without_reset_cell
from fls_report.execute import KeptClient, WarmKernel, warm_up


def notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    parameters = nbformat.v4.new_code_cell("value = 0")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters] + [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, **parameters) -> nbformat.NotebookNode:
    done = papermill.execute_notebook(with_reset_cell(nb, cwd), None, parameters=parameters, progress_bar=False,
                                      log_output=False, cwd=str(cwd), kernel_name="python3",
                                      km=WarmKernel.ready().manager)
    without_reset_cell(done)
    return done


def printed(nb: nbformat.NotebookNode) -> list[str]:
    return ["".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "stream"]


@pytest.fixture(scope="module")
def warm():
    warm_up()
    yield WarmKernel.ready()
    WarmKernel.discard()
    gc.unfreeze()  # warm_up froze this (test) process's objects too


def test_one_kept_client_serves_every_report(warm, tmp_path):
    client = warm.manager.client()
    assert isinstance(client, KeptClient)
    assert warm.manager.client() is client and client.channels_running
    first = execute(notebook("import os\nprint(value, os.getcwd())"), tmp_path, value=1)
    second = execute(notebook("print(value)"), tmp_path, value=2)
    assert printed(first) == [f"1 {tmp_path}\n"]
    assert printed(second) == ["2\n"]
    assert WarmKernel.ready() is warm and warm.manager.client() is client


def test_a_report_does_not_see_the_one_before(warm, tmp_path):
    execute(notebook("left_behind = 'from the first report'"), tmp_path)
    done = execute(notebook("print('left_behind' in globals())"), tmp_path)
    assert printed(done) == ["False\n"]


def test_warm_up_freezes_the_imports_in_the_kernel_and_here(warm, tmp_path):
    assert gc.get_freeze_count() > 0
    done = execute(notebook("import gc, sys\nprint(gc.get_freeze_count() > 10_000, 'pandas' in sys.modules)"),
                   tmp_path)
    assert printed(done) == ["True True\n"]


def test_a_failed_report_gets_a_new_kernel_and_client(warm, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="ZeroDivisionError"):
        execute(notebook("1 / 0"), tmp_path)
    old_client = warm.manager.client()
    WarmKernel.discard()  # what fls_report.build.run_job does after a failure
    assert not old_client.channels_running
    fresh = WarmKernel.ready()
    assert fresh is not warm and fresh.manager.client() is not old_client
    assert printed(execute(notebook("print(value * 3)"), tmp_path, value=2)) == ["6\n"]


def test_each_thread_has_its_own_kernel(tmp_path):
    """A Dask worker may run reports in several threads at once: they must not share a kernel."""
    from concurrent.futures import ThreadPoolExecutor

    def report(value: int) -> tuple[int, list[str]]:
        try:
            kernel = WarmKernel.ready()
            done = execute(notebook("import time, os\nmine = value\ntime.sleep(1)\nprint(mine, os.getpid())"),
                           tmp_path, value=value)
            return id(kernel), printed(done)
        finally:
            WarmKernel.discard()

    with ThreadPoolExecutor(2) as pool:
        (first, one), (second, two) = pool.map(report, (1, 2))
    assert first != second
    assert one[0].split()[0] == "1" and two[0].split()[0] == "2"
    assert one[0].split()[1] != two[0].split()[1]  # two kernel processes


def test_a_pages_only_worker_does_not_import_the_slide_and_pdf_modules():
    """A worker process imports this module to run its reports: the slide packs' modules (python-
    pptx and every chart) and the PDF's are imported only by a build that makes those formats."""
    import subprocess
    import sys

    from fls_report.build import FORMATS
    from fls_report.execute import FORMAT_MODULES

    assert set(FORMAT_MODULES) == set(FORMATS) - {"html"}
    probe = ("import sys, fls_report.execute\n"
             "print(sorted(m for m in ('pptx', 'fls_report.outputs.slides', 'fls_report.outputs.pdf', "
             "'fls_report.report', 'fls_report.charts') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_the_build_process_does_not_import_the_slides_or_the_charts():
    """The process that plans a build, computes the tables and writes the index and downloads
    draws nothing: it names each report's slide pack through the site's layout
    (``Site.service_slides``), so it does not import python-pptx, matplotlib or the charts, about
    half a second before its workers can start."""
    import subprocess
    import sys

    probe = ("import sys, fls_report.build\n"
             "print(sorted(m for m in ('pptx', 'matplotlib', 'fls_report.outputs.slides', 'fls_report.report', "
             "'fls_report.charts') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
