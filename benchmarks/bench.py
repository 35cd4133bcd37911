"""Benchmarks of the build (issue: fast, reproducible, incremental builds).

Runs each scenario in fresh processes, several times, and prints a table of medians and peak
memory; writes the same table, with a description of the machine, into ``benchmarks/results.md``
(or ``--out``) between the ``bench:begin`` and ``bench:end`` markers, keeping the hand-written
analysis around them. Scenarios:

- ``demo``: the 38-service demo site. Our build of the HTML pages (``fls-report build --force
  --formats html``) against the naive way to make the same pages (a papermill CLI call, then a
  ``jupyter nbconvert`` CLI call, one report after another), alternating in the same invocation,
  with the ratio; and our full build (pages plus a PDF and a slide pack per report);
- ``scale``: 150 services and 250,000 records, the full site (pages, PDFs, slide packs);
- ``compute``: validate, KPIs and statistics on 1,000,000 records;
- ``rebuild``: a no-change rebuild and a rebuild after correcting one service's data (full site);
- ``webtool``: reading 250,000 rows of per-service ``.xlsx`` webtool exports (150 services), with
  calamine (the reader we use) and with openpyxl (the reference it is tested against), and the
  demo's ``compute`` on its webtool-form files against its contract CSV.

Memory: "largest process" is the peak resident set size of the biggest single process (GNU
``time``'s ``%M``, which covers the command and the descendants it waited for); "all processes"
is the peak of the summed resident set sizes of the command and all its descendants (workers,
kernels, pandoc), sampled every 0.1 s.

Usage: ``python benchmarks/bench.py [--runs 3] [--only demo,compute] [--quick] [--out FILE]``.

``--against REF`` (``make bench-against REF=<commit>``) answers a narrower question: is this
checkout's demo pages build faster or slower than commit ``REF``'s, on this machine now? The two
builds alternate in pairs on the same synthetic data (REF's code from a temporary git worktree),
and it prints each pair's ratio and their median. The machine's speed drifts by more than most
changes, from minute to minute and day to day, so a pair measured side by side says more than a
ratio of medians taken on another day. It writes nothing to ``results.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FLS = str(BIN / "fls-report")
TIME = shutil.which("time", path="/usr/bin") or "/usr/bin/time"

NAIVE = "demo pages (naive: papermill + nbconvert CLIs)"
OURS_PAGES = "demo pages (ours: build --formats html)"
OURS_FULL = "demo full site (ours: pages, PDFs, slide packs)"
TARGETS = {
    OURS_PAGES: "< 40 s and ≥ 8× faster than naive",
    "scale build, 150 services × 250,000 records": "< 6 min",
    "compute, 1,000,000 records": "< 30 s, < 4 GB",
    "no-change rebuild (demo)": "< 5 s",
    "one-service-changed rebuild (demo)": "< 10 s",
    "no-change rebuild (demo, pages only)": "< 5 s",
    "one-service-changed rebuild (demo, pages only)": "< 10 s",
    "demo compute, webtool exports (37 files)": "< contract CSV + 3 s",
}
XLSX_CALAMINE = "read 250,000 rows of per-service .xlsx exports (calamine, ours)"
XLSX_OPENPYXL = "read 250,000 rows of per-service .xlsx exports (openpyxl)"


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_kb: list[int] = field(default_factory=list)
    tree_kb: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_kb) / 1024

    @property
    def tree_mb(self) -> float:
        return max(self.tree_kb) / 1024

    def add(self, measured: "Measured") -> None:
        self.seconds.append(measured.seconds)
        self.peak_kb.append(measured.peak_kb)
        self.tree_kb.append(measured.tree_kb)


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_kb: int  # the largest single process (GNU time)
    tree_kb: int  # the command and all its descendants together (sampled)


def timed(command: list[str], cwd: Path, env: dict | None = None) -> Measured:
    """Wall seconds and peak memory of one command; fails loudly with the command's stderr."""
    import psutil

    report = cwd / ".bench-time"
    started = time.perf_counter()
    process = subprocess.Popen([TIME, "-f", "%M", "-o", str(report), *command], cwd=cwd,
                               env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    tree_kb = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            members = [watched] + watched.children(recursive=True)
            tree_kb = max(tree_kb, sum(_rss_kb(m) for m in members))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read()
    if process.returncode != 0:
        raise SystemExit(f"benchmark command failed ({process.returncode}): {' '.join(command)}\n{stderr[-2000:]}")
    peak_kb = int(report.read_text().split()[-1])
    return Measured(seconds, peak_kb, max(tree_kb, peak_kb))


def _rss_kb(process) -> int:
    """Resident set size of a process in KB (0 if it has gone)."""
    import psutil

    try:
        return process.memory_info().rss // 1024
    except psutil.Error:
        return 0


def params_file(folder: Path, extract: str, year: int = 2016) -> Path:
    path = folder / "params.yml"
    path.write_text(
        f"title: Benchmark run\nperiod_start: {year}-01-01\nperiod_end: {year}-12-31\n"
        f"data_cutoff: {year + 1}-06-30\nextract: {extract}\nservices: services.csv\noutput: out\n",
        encoding="utf-8",
    )
    return path


def synth(folder: Path, services: int, patients: int) -> Path:
    subprocess.run([FLS, "synth", "--out", str(folder), "--services", str(services), "--patients", str(patients)],
                   check=True, capture_output=True)
    return params_file(folder, "fls_extract_2016.csv")


def naive_build(folder: Path, params: Path) -> None:
    """The naive way: a papermill CLI call and a jupyter nbconvert CLI call per report, in turn."""
    from fls_report.params import load_params
    from fls_report.validate import read_services

    subprocess.run([FLS, "compute", str(params)], check=True, capture_output=True)
    codes = read_services(load_params(params).services).codes
    out = folder / "naive"
    out.mkdir(exist_ok=True)
    reports = [("national", {}), ("data_quality", {})] + [("service", {"service_code": c}) for c in codes]
    for i, (notebook, extra) in enumerate(reports):
        executed = out / f"{i:03d}-{notebook}.ipynb"
        args = [str(BIN / "papermill"), str(REPO / "notebooks" / f"{notebook}.ipynb"), str(executed),
                "-p", "params_path", str(params), "--cwd", str(REPO / "notebooks"), "--no-progress-bar"]
        for key, value in extra.items():
            args += ["-r", key, value]  # -r: raw string, so codes like 050 stay text
        subprocess.run(args, check=True, capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
                       check=True, capture_output=True)


def run_demo(runs: int, scratch: Path, quick: bool) -> list[Result]:
    folder = scratch / "demo"
    folder.mkdir()
    params = synth(folder, 6 if quick else 38, 1500 if quick else 18356)
    pages, naive, full = Result(OURS_PAGES), Result(NAIVE), Result(OURS_FULL)
    for _ in range(runs):  # side by side in the same invocation, alternating
        shutil.rmtree(folder / "out", ignore_errors=True)
        pages.add(timed([FLS, "build", str(params), "--force", "--formats", "html"], folder))
        shutil.rmtree(folder / "naive", ignore_errors=True)
        naive.add(timed([sys.executable, str(Path(__file__).resolve()), "--naive", str(params)], folder))
        shutil.rmtree(folder / "out", ignore_errors=True)
        full.add(timed([FLS, "build", str(params), "--force"], folder))
    return [pages, naive, full]


def run_scale(runs: int, scratch: Path, quick: bool) -> list[Result]:
    folder = scratch / "scale"
    folder.mkdir()
    params = synth(folder, 12 if quick else 150, 10000 if quick else 250000)
    result = Result("scale build, 150 services × 250,000 records")
    for _ in range(runs):
        shutil.rmtree(folder / "out", ignore_errors=True)
        result.add(timed([FLS, "build", str(params), "--force"], folder))
    return [result]


def run_compute(runs: int, scratch: Path, quick: bool) -> list[Result]:
    folder = scratch / "compute"
    folder.mkdir()
    params = synth(folder, 150, 20000 if quick else 1000000)
    result = Result("compute, 1,000,000 records")
    for _ in range(runs):
        result.add(timed([FLS, "compute", str(params)], folder))
    return [result]


def run_rebuilds(runs: int, scratch: Path, quick: bool) -> list[Result]:
    """No-change and one-service-changed rebuilds of the full site, then of the pages alone
    (``--formats html``, the quick loop while data are being corrected)."""
    results = []
    for label, extra in (("", []), (", pages only", ["--formats", "html"])):
        folder = scratch / f"rebuild{'-pages' if extra else ''}"
        folder.mkdir()
        params = synth(folder, 6 if quick else 38, 1500 if quick else 18356)
        subprocess.run([FLS, "build", str(params), *extra], check=True, capture_output=True, cwd=folder)
        unchanged = Result(f"no-change rebuild (demo{label})")
        corrected = Result(f"one-service-changed rebuild (demo{label})")
        for _ in range(runs):
            unchanged.add(timed([FLS, "build", str(params), *extra], folder))
            correct_one_service(folder)
            corrected.add(timed([FLS, "build", str(params), *extra], folder))
        results += [unchanged, corrected]
    return results


def webtool_params(folder: Path, services: int, patients: int) -> Path:
    """Per-service webtool exports of the synthetic patients, and a parameters file listing them."""
    from fls_report.synth_webtool import extract_entries, write_webtool

    written, _ = write_webtool(folder, services=services, patients=patients)
    lines = [f'  - {{service: "{e["service"]}", path: "{e["path"]}"'
             + (f', encoding: {e["encoding"]}' if "encoding" in e else "") + "}"
             for e in extract_entries(written)]
    path = folder / "params.yml"
    path.write_text("title: Benchmark run\nperiod_start: 2016-01-01\nperiod_end: 2016-12-31\n"
                    "data_cutoff: 2017-06-30\nextract:\n" + "\n".join(lines) + "\nservices: services.csv\noutput: out\n",
                    encoding="utf-8")
    return path


def read_xlsx_files(engine: str, folder: Path) -> None:
    """The measured child of the reading scenario: read every ``.xlsx`` in ``folder`` as text."""
    from fls_report import io

    reader = {"calamine": io._read_xlsx, "openpyxl": io._read_xlsx_openpyxl}[engine]
    rows = sum(reader(path, "extract").num_rows for path in sorted(folder.glob("*.xlsx")))
    print(rows)


def run_webtool(runs: int, scratch: Path, quick: bool) -> list[Result]:
    """Reading per-service .xlsx exports with calamine against openpyxl (alternating), and the
    demo's compute from its webtool-form files against its contract CSV."""
    exports = scratch / "webtool-exports"
    exports.mkdir()
    webtool_params(exports, 12 if quick else 150, 20000 if quick else 250000)
    fast, reference = Result(XLSX_CALAMINE), Result(XLSX_OPENPYXL)
    for _ in range(runs):
        for result, engine in ((fast, "calamine"), (reference, "openpyxl")):
            result.add(timed([sys.executable, str(Path(__file__).resolve()), "--read-xlsx", engine, str(exports)],
                             exports))
    demo = scratch / "webtool-demo"
    demo.mkdir()
    services, patients = (6, 1500) if quick else (38, 18356)
    contract_params = synth(demo / "contract", services, patients)
    web_params = webtool_params(demo / "webtool", services, patients)
    contract, webtool = Result("demo compute, contract CSV"), Result("demo compute, webtool exports (37 files)")
    for _ in range(runs):
        contract.add(timed([FLS, "compute", str(contract_params)], demo / "contract"))
        webtool.add(timed([FLS, "compute", str(web_params)], demo / "webtool"))
    return [fast, reference, contract, webtool]


def correct_one_service(folder: Path) -> None:
    """Fix one invalid NHS number of one service: a data-quality count changes, no KPI does."""
    extract = pd.read_csv(folder / "fls_extract_2016.csv", dtype=str, keep_default_na=False)
    digits = extract["nhs_number"].str.replace(" ", "")
    faulty = extract.index[(extract["nhs_number"] != "") & ~digits.str.fullmatch(r"\d{10}")]
    if faulty.empty:
        raise SystemExit("no faulty NHS number left to correct")
    extract.loc[faulty[:1], "nhs_number"] = "943 476 5919"
    extract.to_csv(folder / "fls_extract_2016.csv", index=False)


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")), 0)
    from fls_report.pipeline import versions

    found = versions()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory_kb / 1024 / 1024:.1f} GiB",
        f"- {platform.platform()}; Python {platform.python_version()}",
        "- " + ", ".join(f"{k} {v}" for k, v in found.items() if k not in ("python",)),
        f"- run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


def table(results: list[Result]) -> list[str]:
    lines = ["| scenario | median s | runs (s) | peak RSS, largest process (MB) | peak RSS, all processes (MB) "
             "| target |", "|---|---|---|---|---|---|"]
    for r in results:
        runs = ", ".join(f"{s:.1f}" for s in r.seconds)
        lines.append(f"| {r.name} | {r.median:.1f} | {runs} | {r.peak_mb:.0f} | {r.tree_mb:.0f} "
                     f"| {TARGETS.get(r.name, '')} |")
    by_name = {r.name: r for r in results}
    naive, pages, full = by_name.get(NAIVE), by_name.get(OURS_PAGES), by_name.get(OURS_FULL)
    fast, reference = by_name.get(XLSX_CALAMINE), by_name.get(XLSX_OPENPYXL)
    if fast and reference:
        lines.append("")
        lines.append(f"Reading .xlsx exports: calamine is **{reference.median / fast.median:.1f}×** faster than "
                     "openpyxl (median over median, same files; both read every cell alike, tests/test_io.py).")
    contract, webtool = by_name.get("demo compute, contract CSV"), by_name.get("demo compute, webtool exports (37 files)")
    if contract and webtool:
        lines.append(f"The demo's compute from webtool exports costs {webtool.median - contract.median:+.1f} s "
                     "against the contract CSV (medians).")
    if naive and pages:
        lines.append("")
        lines.append(f"Demo pages: ours is **{naive.median / pages.median:.1f}×** faster than the naive way "
                     "(median over median, same pages, same invocation).")
        if full:
            lines.append(f"Our full site (pages plus a PDF and a slide pack per report, which the naive way does "
                         f"not make) is {naive.median / full.median:.1f}× faster than the naive pages alone.")
    return lines


def against(ref: str, rounds: int, scratch: Path, quick: bool) -> list[str]:
    """Our demo pages build (``build --force --formats html``) with commit ``ref``'s code and with
    this checkout's, alternating (ref first in even rounds, this checkout first in odd ones), on
    one synthetic demo; the lines of :func:`pair_summary`."""
    worktree = scratch / "against"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), ref],
                   check=True, capture_output=True)
    try:
        label = subprocess.run(["git", "-C", str(worktree), "log", "-1", "--format=%h %s"], check=True,
                               capture_output=True, text=True).stdout.strip()[:72]
        folder = scratch / "demo"
        folder.mkdir()
        params = synth(folder, 6 if quick else 38, 1500 if quick else 18356)
        code = {"ref": {"PYTHONPATH": str(worktree)}, "this": {"PYTHONPATH": str(REPO)}}
        seconds: dict[str, list[float]] = {"ref": [], "this": []}
        for round_ in range(rounds):
            for which in ("ref", "this") if round_ % 2 == 0 else ("this", "ref"):
                shutil.rmtree(folder / "out", ignore_errors=True)
                seconds[which].append(timed([FLS, "build", str(params), "--force", "--formats", "html"], folder,
                                            env=code[which]).seconds)
                print(f"round {round_ + 1}: {which} {seconds[which][-1]:.1f} s", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], capture_output=True)
    return [f"Demo pages, this checkout against {label}:", *pair_summary(seconds["ref"], seconds["this"])]


def pair_summary(ref: list[float], this: list[float]) -> list[str]:
    """One line per pair (seconds and ref ÷ this: above 1 when this checkout is faster), then the
    median of the pairs' ratios and of each side's seconds."""
    ratios = [r / t for r, t in zip(ref, this, strict=True)]
    lines = [f"- pair {i}: ref {r:.1f} s, this {t:.1f} s, ratio {q:.3f}"
             for i, (r, t, q) in enumerate(zip(ref, this, ratios), start=1)]
    median = statistics.median(ratios)
    verdict = "faster" if median > 1 else "slower" if median < 1 else "as fast"
    lines.append(f"Median of the pairs' ratios: {median:.3f} (this checkout {verdict} by "
                 f"{abs(median - 1) * 100:.1f}%); medians ref {statistics.median(ref):.1f} s, "
                 f"this {statistics.median(this):.1f} s; {sum(q > 1 for q in ratios)} of {len(ratios)} pairs faster.")
    return lines


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_results(path: Path, generated: list[str]) -> None:
    """Put the generated lines between the markers of ``path``, keeping the text around them."""
    block = "\n".join([BEGIN, *generated, END])
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


SCENARIOS = {"webtool": run_webtool, "compute": run_compute, "rebuild": run_rebuilds, "demo": run_demo,
             "scale": run_scale}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script works")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results.md"))
    parser.add_argument("--naive", metavar="PARAMS", help=argparse.SUPPRESS)
    parser.add_argument("--read-xlsx", nargs=2, metavar=("ENGINE", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--against", metavar="REF", help="time the demo pages against commit REF, in pairs "
                        "(--runs pairs; prints, writes nothing)")
    args = parser.parse_args()
    if args.naive:  # the measured child of the naive scenario
        naive_build(Path.cwd(), Path(args.naive))
        return 0
    if args.read_xlsx:  # the measured child of the reading scenario
        read_xlsx_files(args.read_xlsx[0], Path(args.read_xlsx[1]))
        return 0
    if args.against:
        with tempfile.TemporaryDirectory(prefix="fls-bench-") as scratch:
            print("\n".join(against(args.against, args.runs, Path(scratch), args.quick)))
        return 0
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="fls-bench-") as scratch:
        for name in args.only.split(","):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results += SCENARIOS[name](args.runs, Path(scratch), args.quick)
    lines = table(results)
    print("\n".join(lines))
    header = ["Produced by `make bench` (`python benchmarks/bench.py`): medians of "
              f"{args.runs} runs{' (QUICK: small sizes, not the targets)' if args.quick else ''}.", "", "### Machine", ""]
    write_results(Path(args.out), header + machine() + ["", "### Results", ""] + lines)
    print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
