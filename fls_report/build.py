"""Build the published site: compute the tables once, then run and render every report.

The list of reports is data (:func:`report_jobs`): one :class:`~fls_report.execute.ReportJob`
per page, with its notebook, parameters and output paths. A build plans which reports must run
again (:mod:`fls_report.incremental`), runs them (:mod:`fls_report.execute`: papermill's Python API
in a pool of worker processes, one warm kernel each; one failing report does not stop the others,
and the build names every failure), and writes the index, the accessibility statement, the
downloads and the manifest.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from pathlib import Path

import nbformat
import pandas as pd

from fls_report import incremental
from fls_report.errors import InputError
from fls_report.execute import (JobOutcome, ReportJob, default_workers, report_executor, run_jobs,
                                start_workers)
from fls_report.kpis import NATION_CODES, NATIONAL
from fls_report.params import Params, load_params
from fls_report.pipeline import input_checksums, run_compute, write_manifest
from fls_report.outputs import pdf
from fls_report.outputs import site as website
from fls_report.run import MANIFEST_NAME, Outputs, Run
from fls_report.validate import read_services

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: What a build can write for each report: the HTML page always; its PDF and slide pack by default.
FORMATS = ("html", "pdf", "slides")


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
    site = website.Site(out.root / "site")
    known = services["service_code"].tolist()
    unknown = [c for c in (codes or []) if c not in known]
    if unknown:
        raise InputError(f"{params.services}: unknown service code(s) for --service: {', '.join(unknown)}")
    # The notebooks run in the output folder and open the run from its manifest, which records
    # the parameters as loaded: nothing in an executed notebook names a path outside the output.
    source = MANIFEST_NAME
    jobs = [
        ReportJob("national", NATIONAL, "National report", notebooks / "national.ipynb",
                  out.root / "notebooks" / "national.ipynb", site.national, 0, {"params_path": source},
                  site.national_slides, pdf.pdf_path_for(site.root, site.national)),
        ReportJob("data_quality", "DATA_QUALITY", "Data quality", notebooks / "data_quality.ipynb",
                  out.root / "notebooks" / "data_quality.ipynb", site.data_quality, 0, {"params_path": source}),
    ]
    names = services.set_index("service_code")["service_name"]
    for code in codes or known:
        page = site.service(code)
        jobs.append(
            ReportJob("service", code, names[code], notebooks / "service.ipynb",
                      out.root / "notebooks" / "services" / f"{page.stem}.ipynb", page, 1,
                      {"params_path": source, "service_code": code}, site.service_slides(code),
                      pdf.pdf_path_for(site.root, page))
        )
    return [dataclass_replace(job, slides=job.slides if "slides" in formats else None,
                              pdf=job.pdf if "pdf" in formats else None, folder=out.root) for job in jobs]


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
    """Compute the tables, run and render the reports that changed, write the index, the
    accessibility statement and the downloads.

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
            executor = stack.enter_context(report_executor(min(workers, len(jobs)), scheduler, formats))
            start_workers(executor, min(workers, len(jobs)))
            run_compute(params)
        manifest = _read_manifest(out.manifest)
        site = website.Site(out.root / "site")
        footers = {job.depth: website.footer_html(manifest, job.depth) for job in jobs}  # links climb to the root
        tables = incremental.TableCache(out.tables)
        nations = services.set_index("service_code")["nation"].map(NATION_CODES)
        plans = [plan_job(job, params, tables, nations, footers[job.depth], earlier, force) for job in jobs]
        to_run = [plan.job for plan in plans if plan.action == EXECUTE]
        # Pages whose footer alone changed, and the downloads, are redone in threads while the
        # reports execute (they fill the cores the last reports leave idle).
        alongside = stack.enter_context(ThreadPoolExecutor(2))
        refooting = alongside.submit(refoot, [plan.job for plan in plans if plan.action == REFOOTER], footers, site)
        downloading = alongside.submit(downloads, params, site, manifest, recompute)
        if to_run:
            if executor is None:
                executor = stack.enter_context(report_executor(min(workers, len(to_run)), scheduler, formats))
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
    index = website.write_index(
        site, manifest,
        services=website.index_services(run.results, jobs, site, failed,
                                        regions=services.set_index("service_code")["region"].to_dict()),
        pages=website.index_pages(jobs, site, failed, run.national_name),
        failed=[job.title for job in jobs if job.code in failed],
        downloads=written,
        national_name=run.national_name,
        low_numbers_below=params.kpi.low_numbers_below,
    )
    website.write_accessibility(site, manifest)
    kept = {r["code"]: r for r in earlier.get("reports", [])} if codes is not None else {}
    entries = {**kept, **{p.job.code: p.entry(out.root) for p in plans if p.job.code not in failed}}
    write_manifest(params, manifest["rows"], reports=[entries[c] for c in sorted(entries, key=_report_order)],
                   built_at=manifest["built_at"])
    return BuildResult(jobs, outcomes, index, time.perf_counter() - started)


EXECUTE, REFOOTER, SKIP = "execute", "re-render footer", "up to date"


def downloads(params: Params, site: website.Site, manifest: dict, recomputed: bool) -> list[Path]:
    """The site's download files: written afresh when the tables were recomputed or any is
    missing, else those already there."""
    present = website.downloads_present(site)
    if present and not recomputed:
        return present
    return website.write_downloads(Outputs(params.output).tables, site, manifest["built_at"], Run(params))


def refoot(jobs: list[ReportJob], footers: dict[int, str], site: website.Site) -> None:
    """Give each job's page the new provenance footer (``footers`` by the page's depth below the
    site root), and remake its PDF, which carries it too (pandoc and Typst do their work outside
    the GIL, so the PDFs are made in threads)."""
    for job in jobs:
        website.write_page(job.page, website.replace_footer(job.page.read_text(encoding="utf-8"), footers[job.depth]))
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
                "data_quality_unrecognised", "extract_files", "case_mix", "kpi_breakdowns", "kpi_breakdown_tests", "kpi_regions", "funnel_summary", "run_chart_signals", "time_to_event", "eighty_fifty_eighty",
                "eighty_fifty_eighty_summary")
    if not all((out.tables / f"{name}.csv").exists() for name in expected):
        return True
    current = incremental.inputs_fingerprint(input_checksums(params), incremental.package_fingerprint())
    return earlier.get("fingerprint") != current


def remove_stale_pages(site: website.Site, jobs: list[ReportJob]) -> None:
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
