"""Build the published site: compute the tables once, then run and render every report.

The list of reports is data (:func:`report_jobs`): one :class:`ReportJob` per page, with its
notebook, parameters and output paths. Reports run with papermill's Python API in a pool of
worker processes (one kernel each); one failing report does not stop the others, and the build
names every failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from multiprocessing import get_context
from pathlib import Path

import nbformat
import pandas as pd
from tqdm import tqdm

from fls_report import incremental, pdf, render, slides
from fls_report.errors import InputError
from fls_report.io import write_text_atomic
from fls_report.kpis import DEFAULT_NATIONAL_NAME, KPI_NAMES, NATION_CODES, NATIONAL, in_nation_order
from fls_report.params import Params, load_params
from fls_report.pipeline import input_checksums, run_compute, write_manifest
from fls_report.run import Outputs, Run
from fls_report import report
from fls_report.report import fmt_pct
from fls_report.validate import read_services

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: What a build can write for each report: the HTML page always; its PDF and slide pack by default.
FORMATS = ("html", "pdf", "slides")
INDEX_KPIS = ("KPI1", "KPI2", "KPI4", "KPI5", "KPI7", "KPI11")


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


@dataclass(frozen=True)
class JobOutcome:
    code: str
    ok: bool
    seconds: float
    error: str = ""
    action: str = "execute"


def report_jobs(params: Params, services: pd.DataFrame, codes: list[str] | None = None,
                notebooks: Path = NOTEBOOKS, formats: tuple[str, ...] = FORMATS) -> list[ReportJob]:
    """Every report of a run: national, data quality, then one per service (all, or ``codes``),
    with a PDF and a slide pack only when ``formats`` names them.

    Raises
    ------
    InputError
        For a service code in ``codes`` that is not in the services file.
    """
    out = Outputs(params.output)
    site = render.Site(out.root / "site")
    known = services["service_code"].tolist()
    unknown = [c for c in (codes or []) if c not in known]
    if unknown:
        raise InputError(f"{params.services}: unknown service code(s) for --service: {', '.join(unknown)}")
    source = os.path.relpath(params.source, notebooks)  # relative to the notebooks' working folder
    jobs = [
        ReportJob("national", NATIONAL, "National report", notebooks / "national.ipynb",
                  out.root / "notebooks" / "national.ipynb", site.national, 0, {"params_path": source},
                  site.slides / f"{slides.NATIONAL_FILE_STEM}.pptx", pdf.pdf_path_for(site.root, site.national)),
        ReportJob("data_quality", "DATA_QUALITY", "Data quality", notebooks / "data_quality.ipynb",
                  out.root / "notebooks" / "data_quality.ipynb", site.data_quality, 0, {"params_path": source}),
    ]
    names = services.set_index("service_code")["service_name"]
    for code in codes or known:
        page = site.service(code)
        jobs.append(
            ReportJob("service", code, names[code], notebooks / "service.ipynb",
                      out.root / "notebooks" / "services" / f"{page.stem}.ipynb", page, 1,
                      {"params_path": source, "service_code": code}, site.slides / slides.pack_file_name(code),
                      pdf.pdf_path_for(site.root, page))
        )
    return [dataclass_replace(job, slides=job.slides if "slides" in formats else None,
                              pdf=job.pdf if "pdf" in formats else None) for job in jobs]


def check_formats(formats) -> tuple[str, ...]:
    """``formats`` in the order of :data:`FORMATS`, checked; the HTML page is always made.

    Raises
    ------
    InputError
        For a format that is not one of :data:`FORMATS`.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise InputError(f"--formats: unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in formats or f == "html")


def run_job(job: ReportJob, manifest: dict) -> JobOutcome:
    """Execute one notebook with papermill and render its page. Runs in a worker process.

    The worker keeps one warm kernel for all its reports (:class:`fls_report.kernel.WarmKernel`), so a report
    pays for its own work, not for starting Python and importing pandas and matplotlib again.
    """
    import papermill

    from fls_report.kernel import WarmKernel

    started = time.perf_counter()
    try:
        job.executed.parent.mkdir(parents=True, exist_ok=True)
        kernel = WarmKernel.ready()
        notebook = papermill.execute_notebook(
            with_reset_cell(nbformat.read(job.notebook, as_version=4), job.notebook.parent), None, parameters=job.parameters,
            progress_bar=False, log_output=False, cwd=str(job.notebook.parent), kernel_name="python3",
            km=kernel.manager, execution_timeout=REPORT_TIMEOUT_SECONDS,
        )
        without_reset_cell(notebook)
        strip_timing(notebook)
        name_injected_cell(notebook, job)
        notebook.metadata["fls_report"] = {"content_hash": job.content_hash}
        write_text_atomic(job.executed, nbformat.writes(notebook) + "\n")
        render.write_page(job.page, render.notebook_html(notebook, manifest, job.title, job.depth))
        if job.slides is not None:
            write_slides(job)
        if job.pdf is not None:
            pdf.html_to_pdf(job.page, job.pdf)
    except Exception as exc:  # one report's failure must not stop the build
        WarmKernel.discard()  # a failed run may leave the kernel busy or broken: start afresh
        return JobOutcome(job.code, False, time.perf_counter() - started, _describe(exc))
    return JobOutcome(job.code, True, time.perf_counter() - started)


REPORT_TIMEOUT_SECONDS = 600


def write_slides(job: ReportJob) -> Path:
    """The job's slide pack (python-pptx), from the same tables as its page."""
    run = report.load(job.parameters["params_path"] if Path(job.parameters["params_path"]).is_absolute()
                      else job.notebook.parent / job.parameters["params_path"])
    pack = slides.national_pack(run) if job.kind == "national" else slides.service_pack(run, job.code)
    return slides.write_pack(pack, job.slides)
RESET_TAG = "fls-report-reset"


def with_reset_cell(notebook: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """The notebook with a first cell that clears the warm kernel's namespace and moves it to
    ``cwd`` (a kernel's working folder is fixed when it starts, and it serves many notebooks)."""
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


@dataclass
class BuildResult:
    jobs: list[ReportJob]
    outcomes: list[JobOutcome]
    index: Path
    seconds: float

    @property
    def failures(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.ok]


def build(params_path: str | Path, codes: list[str] | None = None, workers: int | None = None,
          notebooks: Path | None = None, scheduler: str | None = None, progress: bool = True,
          force: bool = False, formats: tuple[str, ...] = FORMATS) -> BuildResult:
    """Compute the tables, run and render the reports that changed, write the index and downloads.

    Parameters
    ----------
    params_path
        The run's parameters file.
    codes
        Build only these services' reports (the national pages are always built).
    workers
        Worker processes for the reports (default: the CPU count).
    notebooks
        Folder of the source notebooks (default: the project's ``notebooks/``).
    scheduler
        Run the reports on Dask: ``"local"`` or a scheduler address (see :func:`report_executor`).
    progress
        Show a progress bar on standard error.
    force
        Rebuild everything, ignoring what an earlier build left (see :mod:`fls_report.incremental`).
    formats
        What to write for each report (:data:`FORMATS`): the HTML page always; ``"pdf"`` and
        ``"slides"`` when named. Files of a format left out are removed, so the site never
        offers a PDF or slide pack older than its page.
    """
    started = time.perf_counter()
    notebooks = notebooks or NOTEBOOKS
    formats = check_formats(formats)
    params = load_params(params_path)
    services = read_services(params.services).frame
    jobs = report_jobs(params, services, codes, notebooks, formats)  # checks --service before anything is written
    out = Outputs(params.output)
    earlier = _read_manifest(out.manifest)
    recompute = force or tables_stale(params, out, earlier)
    workers = workers or default_workers()
    outcomes: list[JobOutcome] = []
    with ExitStack() as stack:
        executor = None
        if recompute:  # reports will most likely run: warm the workers' kernels while the tables are computed
            executor = stack.enter_context(report_executor(min(workers, len(jobs)), scheduler))
            start_workers(executor, min(workers, len(jobs)))
            run_compute(params)
        manifest = _read_manifest(out.manifest)
        site = render.Site(out.root / "site")
        footer = render.footer_html(manifest)
        tables = incremental.TableCache(out.tables)
        nations = services.set_index("service_code")["nation"].map(NATION_CODES)
        plans = [plan_job(job, params, tables, nations, footer, earlier, force) for job in jobs]
        to_run = [plan.job for plan in plans if plan.action == EXECUTE]
        # Pages whose footer alone changed, and the downloads, are redone in threads while the
        # reports execute (they fill the cores the last reports leave idle).
        alongside = stack.enter_context(ThreadPoolExecutor(2))
        refooting = alongside.submit(refoot, [plan.job for plan in plans if plan.action == REFOOTER], footer, site)
        downloading = alongside.submit(downloads, params, site, manifest, recompute)
        if to_run:
            if executor is None:
                executor = stack.enter_context(report_executor(min(workers, len(to_run)), scheduler))
            outcomes = run_jobs(to_run, manifest, workers, executor, progress)
        refooting.result()
        written = downloading.result()
    for plan in plans:
        if plan.action != EXECUTE:
            outcomes.append(JobOutcome(plan.job.code, True, 0.0, action=plan.action))
    order = {job.code: i for i, job in enumerate(jobs)}
    outcomes.sort(key=lambda o: order[o.code])
    failed = {o.code for o in outcomes if not o.ok}

    if codes is None:
        remove_stale_pages(site, jobs)
    run = Run(params)
    index = render.write_index(
        site, manifest,
        services=index_services(run.results, jobs, site, failed),
        pages=index_pages(jobs, site, failed, run.national_name),
        failed=[job.title for job in jobs if job.code in failed],
        downloads=written,
        national_name=run.national_name,
    )
    kept = {r["code"]: r for r in earlier.get("reports", [])} if codes is not None else {}
    entries = {**kept, **{p.job.code: p.entry(out.root) for p in plans if p.job.code not in failed}}
    write_manifest(params, manifest["rows"], reports=[entries[c] for c in sorted(entries, key=_report_order)],
                   built_at=manifest["built_at"])
    return BuildResult(jobs, outcomes, index, time.perf_counter() - started)


EXECUTE, REFOOTER, SKIP = "execute", "re-render footer", "up to date"


def downloads(params: Params, site: render.Site, manifest: dict, recomputed: bool) -> list[Path]:
    """The site's download files: written afresh when the tables were recomputed or any is
    missing, else those already there."""
    present = render.downloads_present(site)
    if present and not recomputed:
        return present
    return render.write_downloads(Outputs(params.output).tables, site, manifest["built_at"], Run(params))


def refoot(jobs: list[ReportJob], footer: str, site: render.Site) -> None:
    """Give each job's page the new provenance footer, and remake its PDF, which carries it too
    (pandoc and Typst do their work outside the GIL, so the PDFs are made in threads)."""
    for job in jobs:
        render.write_page(job.page, render.replace_footer(job.page.read_text(encoding="utf-8"), footer))
    pdf.write_pdfs(site.root, [job.page for job in jobs if job.pdf is not None])


@dataclass(frozen=True)
class JobPlan:
    """What a build does for one report, and why (see :mod:`fls_report.incremental`)."""

    job: ReportJob
    action: str
    content_hash: str
    page_hash: str

    def entry(self, root: Path) -> dict:
        """The manifest's record of the page."""
        return {"code": self.job.code, "output": str(self.job.page.relative_to(root)),
                "inputs_hash": self.content_hash, "page_hash": self.page_hash, "action": self.action}


def plan_job(job: ReportJob, params: Params, tables: incremental.TableCache, nations: pd.Series,
             footer: str, earlier: dict, force: bool) -> JobPlan:
    """Decide whether a report must be executed, only re-rendered with a new footer, or skipped."""
    nation = nations.get(job.code) if job.kind == "service" else None
    content = incremental.content_hash(job.kind, job.code, nation, job.notebook, job.parameters,
                                       params.as_dict(), tables)
    page_hash = incremental.sha256_bytes((content + footer).encode())
    job = dataclass_replace(job, content_hash=content)
    before = {r["code"]: r for r in earlier.get("reports", [])}.get(job.code, {})
    outputs_there = job.page.exists() and job.executed.exists() and all(
        extra is None or extra.exists() for extra in (job.slides, job.pdf))
    if force or not outputs_there or before.get("inputs_hash") != content or _executed_hash(job.executed) != content:
        return JobPlan(job, EXECUTE, content, page_hash)
    if before.get("page_hash") != page_hash:
        return JobPlan(job, REFOOTER, content, page_hash)
    return JobPlan(job, SKIP, content, page_hash)


def _executed_hash(path: Path) -> str | None:
    try:
        return nbformat.read(path, as_version=4).metadata.get("fls_report", {}).get("content_hash")
    except Exception:  # a missing or damaged executed notebook: run it again
        return None


def tables_stale(params: Params, out: Outputs, earlier: dict) -> bool:
    """Whether the tables must be recomputed: an input or the package changed, or a table is missing."""
    expected = ("kpi_results", "monthly_kpis", "record_accounting", "data_quality_fields", "data_quality_issues",
                "data_quality_unrecognised", "extract_files", "case_mix", "funnel_summary", "run_chart_signals", "time_to_event", "eighty_fifty_eighty",
                "eighty_fifty_eighty_summary")
    if not all((out.tables / f"{name}.csv").exists() for name in expected):
        return True
    current = incremental.inputs_fingerprint(input_checksums(params), incremental.package_fingerprint())
    return earlier.get("fingerprint") != current


def remove_stale_pages(site: render.Site, jobs: list[ReportJob]) -> None:
    """Delete service pages of services no longer in the services file, and slide packs and PDFs
    that no job wrote (their service is gone, or the build left their format out)."""
    wanted = {job.page for job in jobs} | {job.slides for job in jobs if job.slides} | {job.pdf for job in jobs if job.pdf}
    pdfs = pdf.pdf_path_for(site.root, site.national).parent
    for folder, pattern in ((site.root / "services", "*.html"), (site.slides, "*.pptx"), (pdfs, "**/*.pdf")):
        for path in folder.glob(pattern) if folder.exists() else []:
            if path not in wanted:
                path.unlink()


def _read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _report_order(code: str) -> tuple[int, str]:
    return ({"NATIONAL": 0, "DATA_QUALITY": 1}.get(code, 2), code)


@contextmanager
def report_executor(workers: int, scheduler: str | None = None):
    """The executor the reports run on: local processes, or a Dask distributed cluster.

    ``scheduler`` is None for a pool of ``workers`` local processes (one kernel each);
    ``"local"`` for an in-process Dask ``LocalCluster`` of ``workers`` single-threaded worker
    processes; or a scheduler address (``tcp://host:8786``) of a running Dask cluster, whose
    workers must have this package installed and see the same file system.
    """
    if scheduler is None:
        pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context("spawn"),
                                   initializer=warm_worker)
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


def warm_worker() -> None:
    """The local pool's initializer: start this worker's kernel and warm it (see
    :func:`fls_report.kernel.warm_up`), so a build that starts its workers before computing the
    tables (:func:`start_workers`) has them ready when the first report is sent."""
    from fls_report import kernel

    kernel.warm_up()


def _nothing() -> None:
    """A task that does nothing: submitting it makes the pool start a worker."""


def start_workers(executor: Executor, workers: int) -> None:
    """Make a local pool start its ``workers`` processes now (each warms up, see
    :func:`warm_worker`) rather than when the first report is submitted. Other executors (Dask)
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


# ---------------------------------------------------------------------------------------------
# Index rows


def _headline(results: pd.DataFrame, code: str) -> list[dict]:
    rows = results[results["code"] == code].set_index("kpi_id")
    headline = []
    for kpi_id in INDEX_KPIS:
        r = rows.loc[kpi_id]
        headline.append({
            "label": kpi_id, "title": KPI_NAMES[kpi_id], "value": fmt_pct(r["pct"]),
            "rag": r["rag"], "band": r["rag"] if r["rag"] != "none" else "no data",
            "sort": "" if pd.isna(r["pct"]) else repr(float(r["pct"])), "low": bool(r["low_numbers"]),
        })
    return headline


def index_services(results: pd.DataFrame, jobs: list[ReportJob], site: render.Site, failed: set[str]) -> list[dict]:
    """Rows of the index's service table: the national level and the nations of ``results``
    (England, Wales and Northern Ireland where present, in that order), then every service."""
    by_code = {job.code: job for job in jobs if job.kind == "service"}
    units = results[results["kpi_id"] == "KPI3"]
    nations = in_nation_order(units.loc[units["level"] == "nation", "code"])
    units = pd.concat([units[units["level"] == "national"], units.set_index("code").loc[nations].reset_index(),
                       units[units["level"] == "service"]], ignore_index=True)
    rows = []
    for s in units.itertuples():
        job = by_code.get(s.code)
        page = job.page if job else site.service(s.code)
        built = (job is not None and s.code not in failed) or (job is None and page.exists())
        href = str(page.relative_to(site.root)) if s.level == "service" and built else None
        rows.append({"code": s.code, "name": s.name, "nation": s.nation if isinstance(s.nation, str) else "",
                     "level": s.level, "records": int(s.denominator), "href": href,
                     "slides_href": _download_href(job.slides if job else None, site, href),
                     "pdf_href": _download_href(job.pdf if job else None, site, href),
                     "headline": _headline(results, s.code)})
    return rows


def _download_href(path: Path | None, site: render.Site, page_href: str | None) -> str | None:
    """A link to a page's slide pack or PDF, when the page was built and the file is there."""
    return str(path.relative_to(site.root)) if path is not None and page_href and path.exists() else None


def index_pages(jobs: list[ReportJob], site: render.Site, failed: set[str],
                national_name: str = DEFAULT_NATIONAL_NAME) -> list[dict]:
    """The national and data-quality pages for the index; ``national_name`` is the run's
    (``kpi_results``' NATIONAL row)."""
    about = {
        "national": f"Every KPI for {national_name}, the nations and each service, benchmarked.",
        "data_quality": "What happened to every row of the extract, and how complete each service's data is.",
    }
    pages = []
    for job in jobs:
        if job.kind not in about:
            continue
        href = str(job.page.relative_to(site.root)) if job.code not in failed else None
        pages.append({"title": job.title, "about": about[job.kind], "href": href,
                      "slides_href": _download_href(job.slides, site, href),
                      "pdf_href": _download_href(job.pdf, site, href)})
    return pages
