"""The ``fls-report`` command (outputs.md §2).

Exit status: 0 success; 1 some reports failed; 2 an input or parameters error, reported as plain
lines naming the file, column, key or value at fault, with no traceback.
"""

from __future__ import annotations

import argparse
from collections import Counter
import sys
import time
from pathlib import Path

from fls_report import __version__
from fls_report.errors import InputError

EXIT_OK, EXIT_REPORTS_FAILED, EXIT_INPUT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fls-report",
        description="Turn an FLS-DB patient-level extract into the audit's tables and reports.",
    )
    parser.add_argument("--version", action="version", version=f"fls-report {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="write a deterministic synthetic extract and services file")
    synth.add_argument("--format", choices=("contract", "webtool"), default="contract",
                       help="contract: one extract in the input contract's form; webtool: one FLS-DB webtool "
                            "export per service, as services download them (default: %(default)s)")
    synth.add_argument("--out", default=None,
                       help="folder to write to (default: data/synthetic, or data/synthetic-webtool for webtool)")
    synth.add_argument("--services", type=int, default=38, help="number of services (default: %(default)s)")
    synth.add_argument("--patients", type=int, default=18356,
                       help="data rows of the base year 2016; a later --year grows from it (default: %(default)s)")
    synth.add_argument("--year", type=int, default=2016, help="year of the fractures (default: %(default)s)")
    synth.add_argument("--seed", type=int, default=2016, help="random seed (default: %(default)s)")

    for name, text in (
        ("validate", "read and validate the inputs, write the data-quality tables"),
        ("compute", "validate, then write the KPI and statistics tables"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("params", help="parameters file (params/*.yml)")
    inspect = commands.add_parser(
        "inspect", help="read every extract file and say how it was read (formats, headers, values); writes nothing")
    inspect.add_argument("params", help="parameters file (params/*.yml)")
    build = commands.add_parser("build", help="compute, then run the notebooks and render the HTML site")
    build.add_argument("params", help="parameters file (params/*.yml)")
    build.add_argument("--service", action="append", metavar="CODE", dest="services",
                       help="build only this service's report (repeatable); national pages are always built")
    build.add_argument("--workers", type=int, default=None, help="parallel report workers (default: CPU count)")
    build.add_argument("--force", action="store_true",
                       help="rebuild everything, ignoring what an earlier build left")
    build.add_argument("--formats", default="html,pdf,slides", metavar="LIST",
                       help="what to write per report, comma-separated from html, pdf, slides; the HTML page "
                            "is always written (default: %(default)s; 'html' alone is quickest while data are "
                            "being corrected)")
    build.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run the reports on a Dask cluster: a scheduler address, or 'local' for an "
                            "in-process cluster (needs the dask extra)")
    return parser


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _summary(validated, seconds: float) -> str:
    counts = validated.counts()
    return (
        f"rows read {counts['read']:,}: included {counts['included']:,}, "
        f"excluded {counts['excluded']:,}, rejected {counts['rejected']:,}; "
        f"{len(validated.issues):,} field issues; {len(validated.services.codes)} services "
        f"({seconds:.1f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except InputError as exc:
        _say(f"fls-report: error: {exc}")
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        _say("fls-report: interrupted")
        return 130


def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.command == "synth":
        from fls_report.synth import write_synthetic

        for name in ("services", "patients"):
            if getattr(args, name) < 1:
                raise InputError(f"--{name} must be at least 1, got {getattr(args, name)}")
        sizes = dict(services=args.services, patients=args.patients, year=args.year, seed=args.seed)
        if args.format == "webtool":
            from fls_report.synth_webtool import DEFAULT_OUT, write_webtool

            files, services = write_webtool(Path(args.out or DEFAULT_OUT), **sizes)
            for _, path in files:
                print(path)
            print(services)
            return EXIT_OK
        extract, services = write_synthetic(Path(args.out or "data/synthetic"), **sizes)
        print(extract)
        print(services)
        return EXIT_OK

    if args.command == "build":
        return _build(args)
    if args.command == "inspect":
        return _inspect(args)

    from fls_report.params import load_params
    from fls_report.pipeline import run_compute, run_validate
    from fls_report.run import Outputs

    params = load_params(args.params)
    _say(f"fls-report {args.command}: {params.title} ({params.period_start} to {params.period_end})")
    if args.command == "validate":
        validated = run_validate(params)
    else:
        validated, _ = run_compute(params)
    for note in validated.warnings:
        _say(f"warning: {note}")
    _say(_summary(validated, time.perf_counter() - started))
    print(Outputs(params.output).tables)
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    """Print how every file of the extract is read (webtool_export.md §6); write nothing.

    Every file is read even when an earlier one fails, so that an analyst sees all the problems at
    once; any failure ends with exit 2, as ``compute`` would.
    """
    from fls_report.extract import check_entries, describe, read_file
    from fls_report.mapping import load_mapping
    from fls_report.params import load_params
    from fls_report.validate import read_services

    params = load_params(args.params)
    services = read_services(params.services)
    mapping = load_mapping(params.mapping)
    check_entries(params, services.codes, params.services)
    print(f"parameters: {args.params}")
    print(f"services file: {params.as_dict()['services']} ({len(services.codes)} services)")
    print(f"mapping: {'built-in, ' + str(mapping.source.name) if params.mapping is None else params.as_dict()['mapping']}")
    for note in services.warnings:
        print(f"warning: {note}")
    failed, rows, formats = 0, 0, Counter()
    for number, file in enumerate(params.extract, start=1):
        entry = f" (service {file.service}" + (f", {file.encoding}" if file.encoding != "utf-8" else "") + ")"
        print(f"\n[{number}/{len(params.extract)}] {file.written}{entry if file.service else ''}")
        try:
            _, reading = read_file(file, mapping)
        except InputError as exc:
            failed += 1
            print(f"  error: {exc}")
            continue
        rows += reading.rows
        formats[reading.format] += 1
        for line in describe(reading):
            print(line)
    print()
    kinds = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(formats.items()))
    print(f"{len(params.extract) - failed} of {len(params.extract)} file(s) read ({kinds or 'none'}): {rows:,} data rows")
    if params.extract_listed:
        listed = {f.service for f in params.extract}
        without = [c for c in services.codes if c not in listed]
        print(f"services without a file (reported as having no records): {', '.join(without) if without else 'none'}")
    if failed:
        raise InputError(f"{failed} of {len(params.extract)} extract file(s) cannot be read (see above)")
    return EXIT_OK


def _build(args: argparse.Namespace) -> int:
    from fls_report.build import build

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    _say(f"fls-report build: {args.params}")
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    result = build(args.params, codes=args.services, workers=args.workers, scheduler=args.scheduler, force=args.force,
                   formats=formats)
    actions = Counter(o.action for o in result.outcomes if o.ok)
    done = ", ".join(f"{n} {action}" for action, n in sorted(actions.items()))
    _say(f"{len(result.jobs) - len(result.failures)} of {len(result.jobs)} reports ready ({done}) in {result.seconds:.1f} s")
    for failure in result.failures:
        _say(f"failed: {failure.code}: {failure.error}")
    print(result.index)
    return EXIT_REPORTS_FAILED if result.failures else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
