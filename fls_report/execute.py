"""Running the report notebooks: warm kernels, papermill, and the worker pool.

A build (:mod:`fls_report.build`) decides which reports to run; this module runs them. Starting
Python, an IPython kernel and importing pandas, matplotlib and ``fls_report`` costs seconds, and a
report's own work costs about as much. So each worker process starts one kernel, imports what the
reports need into it once (:func:`warm_up`), and papermill runs every report of that worker in it
(:class:`WarmKernel`). Each report begins with a cell that clears the kernel's namespace
(:func:`with_reset_cell`), so it runs as in a fresh kernel, in the run's output folder. Executed
notebooks are made reproducible (no timings, fixed ids) before they are written.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager
from tqdm import tqdm
from traitlets import default

from fls_report.errors import InputError
from fls_report.io import write_text_atomic
from fls_report.outputs import site as website

#: What a worker needs for each format beyond the page (:data:`fls_report.build.FORMATS`). A worker
#: imports them only when its build asks for that format (:func:`warm_up`): the slide packs import
#: python-pptx and every chart, about a second of each worker's start that a pages-only build
#: would spend for nothing.
FORMAT_MODULES = {"pdf": "fls_report.outputs.pdf", "slides": "fls_report.outputs.slides"}

# ---------------------------------------------------------------------------------------------
# Jobs


@dataclass(frozen=True)
class ReportJob:
    """One page to build: which notebook, with which parameters, written where."""

    kind: str  # "national", "data_quality" or "service"
    code: str  # the service code, or NATIONAL / DATA_QUALITY
    title: str
    notebook: Path
    executed: Path
    page: Path
    depth: int  # folders below the site root, for relative links
    parameters: dict = field(default_factory=dict)
    slides: Path | None = None  # the slide pack written beside the page, if any
    pdf: Path | None = None  # the page as PDF, if any
    content_hash: str = ""  # what the executed notebook depends on (fls_report.incremental)
    folder: Path | None = None  # the run's output folder: the kernel works there; parameters are relative to it

    @property
    def working_folder(self) -> Path:
        """Where the notebook runs: the run's output folder, so that its parameters name only
        files inside it (two builds in two places give the same executed notebook); the
        notebook's own folder for a job without one."""
        return self.folder if self.folder is not None else self.notebook.parent


@dataclass(frozen=True)
class JobOutcome:
    code: str
    ok: bool
    seconds: float
    error: str = ""
    action: str = "execute"


# ---------------------------------------------------------------------------------------------
# The warm kernel


#: Run once in a new kernel. After the imports the kernel's objects are frozen out of the
#: garbage collector: every report starts with a reset whose full collection, and the
#: collections while figures are drawn, would otherwise walk all of pandas', matplotlib's and
#: scipy's objects each time (about 0.5 s of a 2.6 s service report).
#: The reports only read and draw the run's tables (every statistic was computed by the compute
#: stage), so the kernel imports the presentation modules, not scipy or statsmodels.
WARM_UP_CODE = ("import fls_report.report\n"
                "import gc; gc.collect(); gc.freeze()")

STARTUP_TIMEOUT_SECONDS = 60


class KeptClient(BlockingKernelClient):
    """A kernel client that stays connected from report to report.

    nbclient asks the kernel manager for a client for every notebook, starts its channels and
    waits until it is ready; jupyter_client ends that wait by listening 0.2 s for stray IOPub
    messages, a fixed cost on every report. A kept client is made ready once. Reusing it is
    safe: nbclient takes only the messages that answer its own requests.
    """

    _ready = False

    def start_channels(self, *args, **kwargs) -> None:
        if not self.channels_running:
            super().start_channels(*args, **kwargs)

    def wait_for_ready(self, timeout: float | None = None) -> None:
        if not self._ready:
            super().wait_for_ready(timeout=timeout)
            self._ready = True


class KeptClientKernelManager(KernelManager):
    """A kernel manager that hands out one :class:`KeptClient` for its kernel, every time."""

    _kept: KeptClient | None = None

    @default("client_factory")
    def _kept_client_factory(self) -> type:
        return KeptClient

    def client(self, **kwargs) -> KeptClient:
        if self._kept is None:
            self._kept = super().client(**kwargs)
        return self._kept

    def stop_client(self) -> None:
        if self._kept is not None:
            self._kept.stop_channels()
            self._kept = None


class WarmKernel:
    """One IPython kernel per worker, reused from report to report.

    A worker is a process of the local pool, or a thread of a Dask worker (a Dask worker may run
    several reports at once, one per thread: each thread has its own kernel, since a report
    begins by clearing its kernel's namespace). A kernel that died, or a report that failed
    (:meth:`discard`), gets a new kernel.
    """

    _local = threading.local()

    def __init__(self) -> None:
        self.manager = KeptClientKernelManager(kernel_name="python3")
        self.manager.start_kernel(extra_arguments=["--IPKernelApp.log_level=ERROR"])
        atexit.register(self.shutdown)

    @classmethod
    def ready(cls) -> "WarmKernel":
        """The worker's kernel, started if need be."""
        kernel = getattr(cls._local, "kernel", None)
        if kernel is None or not kernel.manager.is_alive():
            cls.discard()
            kernel = cls._local.kernel = cls()
        return kernel

    @classmethod
    def discard(cls) -> None:
        kernel = getattr(cls._local, "kernel", None)
        if kernel is not None:
            kernel.shutdown()
            cls._local.kernel = None

    def shutdown(self) -> None:
        try:
            self.manager.stop_client()
            if self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)
        except Exception:  # shutting down at exit: nothing useful to report
            pass


def warm_up(formats: tuple[str, ...] = tuple(FORMAT_MODULES)) -> None:
    """Start this process's kernel, import what the reports need in the kernel and here (the
    modules of ``formats``, see :data:`FORMAT_MODULES`), and freeze both processes' objects out of
    the garbage collector (see :data:`WARM_UP_CODE`).

    It only saves time: if anything fails here, the first report starts a kernel afresh.
    """
    try:
        import papermill  # noqa: F401  (imported here so the first report does not wait for them)

        for name in formats:
            if name in FORMAT_MODULES:
                importlib.import_module(FORMAT_MODULES[name])

        client = WarmKernel.ready().manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=STARTUP_TIMEOUT_SECONDS)
        client.execute_interactive(WARM_UP_CODE, silent=True, store_history=False, timeout=120)
        gc.collect()
        gc.freeze()
    except Exception:  # an optimisation only
        WarmKernel.discard()


# ---------------------------------------------------------------------------------------------
# One report


def run_job(job: ReportJob, manifest: dict) -> JobOutcome:
    """Execute one notebook with papermill and render its page. Runs in a worker process.

    The worker keeps one warm kernel for all its reports (:class:`WarmKernel`), so a report
    pays for its own work, not for starting Python and importing pandas and matplotlib again.
    """
    import papermill

    started = time.perf_counter()
    try:
        job.executed.parent.mkdir(parents=True, exist_ok=True)
        kernel = WarmKernel.ready()
        notebook = papermill.execute_notebook(
            with_reset_cell(nbformat.read(job.notebook, as_version=4), job.working_folder), None,
            parameters=job.parameters, progress_bar=False, log_output=False, cwd=str(job.working_folder),
            kernel_name="python3",
            km=kernel.manager, execution_timeout=REPORT_TIMEOUT_SECONDS,
        )
        without_reset_cell(notebook)
        strip_timing(notebook)
        name_injected_cell(notebook, job)
        notebook.metadata["fls_report"] = {"content_hash": job.content_hash}
        write_text_atomic(job.executed, nbformat.writes(notebook) + "\n")
        website.write_page(job.page, website.notebook_html(notebook, manifest, website.page_title(job), job.depth))
        if job.slides is not None:
            write_slides(job)
        if job.pdf is not None:
            from fls_report.outputs import pdf  # only for a build that makes PDFs (FORMAT_MODULES)

            pdf.html_to_pdf(job.page, job.pdf)
    except Exception as exc:  # one report's failure must not stop the build
        WarmKernel.discard()  # a failed run may leave the kernel busy or broken: start afresh
        return JobOutcome(job.code, False, time.perf_counter() - started, _describe(exc))
    return JobOutcome(job.code, True, time.perf_counter() - started)


REPORT_TIMEOUT_SECONDS = 600


def write_slides(job: ReportJob) -> Path:
    """The job's slide pack (python-pptx), from the same tables as its page."""
    from fls_report import report  # only for a build that makes slide packs (FORMAT_MODULES)
    from fls_report.outputs import slides

    run = report.load(job.working_folder / job.parameters["params_path"])
    pack = slides.national_pack(run) if job.kind == "national" else slides.service_pack(run, job.code)
    return slides.write_pack(pack, job.slides)
RESET_TAG = "fls-report-reset"


def with_reset_cell(notebook: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """The notebook with a first cell that clears the warm kernel's namespace and moves it to
    ``cwd`` (a kernel's working folder is fixed when it starts, and it serves many notebooks).

    It does not freeze what survives the reset out of the garbage collector (as
    :data:`WARM_UP_CODE` does after the imports): what is kept from report to report (the reused
    funnel figure) holds the last report's artists, which become garbage with cycles inside the
    frozen objects, never collected. Tried: a kernel grew by 13.6 MB a report.
    """
    cell = nbformat.v4.new_code_cell(f"get_ipython().reset(new_session=True)\nimport os\nos.chdir({str(cwd)!r})")
    cell.metadata["tags"] = [RESET_TAG]
    cell["id"] = RESET_TAG
    notebook.cells.insert(0, cell)
    return notebook


def without_reset_cell(notebook: nbformat.NotebookNode) -> None:
    """Drop the reset cell and number the code cells from 1, as a fresh kernel would."""
    notebook.cells = [c for c in notebook.cells if RESET_TAG not in c.metadata.get("tags", [])]
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        for output in cell.get("outputs", []):
            if "execution_count" in output:
                output["execution_count"] = count


def _describe(exc: BaseException) -> str:
    """A one-line account of a report failure (papermill's errors carry the cell's exception)."""
    name = getattr(exc, "ename", None) or exc.__class__.__name__
    value = getattr(exc, "evalue", None) or next(iter(str(exc).strip().splitlines()), "")
    return f"{name}: {value}" if value else name


def strip_timing(notebook: nbformat.NotebookNode) -> None:
    """Remove papermill's and nbclient's timing metadata, so executed notebooks are reproducible."""
    notebook.metadata.get("papermill", {}).pop("start_time", None)
    notebook.metadata.get("papermill", {}).pop("end_time", None)
    notebook.metadata.get("papermill", {}).pop("duration", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        papermill_meta = cell.metadata.get("papermill")
        if papermill_meta:
            for key in ("start_time", "end_time", "duration"):
                papermill_meta.pop(key, None)


def name_injected_cell(notebook: nbformat.NotebookNode, job: ReportJob) -> None:
    """Give papermill's parameters cell a fixed id, and record the source notebook by name only.

    papermill draws a random id for the cell it injects and records its input (here the notebook
    itself) in the metadata; both would make two builds of the same inputs differ.
    """
    for cell in notebook.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    papermill_meta = notebook.metadata.get("papermill", {})
    papermill_meta["input_path"] = f"notebooks/{job.notebook.name}"
    papermill_meta["output_path"] = None


def default_workers() -> int:
    return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# The worker pool


@contextmanager
def report_executor(workers: int, scheduler: str | None = None, formats: tuple[str, ...] = tuple(FORMAT_MODULES)):
    """The executor the reports run on: local processes, or a Dask distributed cluster.

    ``scheduler`` is None for a pool of ``workers`` local processes (one kernel each, warmed up
    for ``formats`` as each process starts, see :func:`warm_up`);
    ``"local"`` for an in-process Dask ``LocalCluster`` of ``workers`` single-threaded worker
    processes; or a scheduler address (``tcp://host:8786``) of a running Dask cluster, whose
    workers must have this package installed and see the same file system.
    """
    if scheduler is None:
        pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context("spawn"),
                                   initializer=warm_up, initargs=(tuple(formats),))
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'fls-report[dask]'") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client, cluster = Client(scheduler, timeout="10s"), None
        except OSError as exc:
            raise InputError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _nothing() -> None:
    """A task that does nothing: submitting it makes the pool start a worker."""


def start_workers(executor: Executor, workers: int) -> None:
    """Make a local pool start its ``workers`` processes now (each warms up, see
    :func:`warm_up`: a build that starts its workers before computing the tables has them ready
    when the first report is sent) rather than when the first report is submitted. Other executors (Dask)
    manage their own workers: nothing to do."""
    if isinstance(executor, ProcessPoolExecutor):
        for _ in range(workers):
            executor.submit(_nothing)


def run_jobs(jobs: list[ReportJob], manifest: dict, workers: int, executor: Executor | None = None,
             progress: bool = True) -> list[JobOutcome]:
    """Run the jobs on ``executor`` (default: a pool of ``workers`` processes), with a progress bar.

    Any executor with the ``concurrent.futures`` interface works: its futures must support
    :func:`concurrent.futures.as_completed` (Dask's ``ClientExecutor`` does).
    """
    if executor is None:
        with report_executor(workers) as pool:
            return run_jobs(jobs, manifest, workers, pool, progress)
    outcomes = []
    futures = {executor.submit(run_job, job, manifest): job for job in jobs}
    with tqdm(total=len(jobs), desc="reports", unit="page", file=sys.stderr, disable=not progress) as bar:
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # a worker that died
                outcome = JobOutcome(futures[future].code, False, 0.0, _describe(exc))
            outcomes.append(outcome)
            bar.update(1)
    return outcomes
