"""No patient identifier from the input reaches any output outside restricted/ (data_dictionary.md §4)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import write_params
from fls_report.cli import main
from fls_report.synth import write_synthetic

IDENTIFIERS = ("nhs_number", "date_of_birth", "postcode", "record_id")


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("identifiers")
    extract, services = write_synthetic(folder, services=12, patients=3000, year=2016, seed=7)
    params = write_params(folder, extract=extract.name, services=services.name)
    assert main(["compute", str(params)]) == 0
    return folder, pd.read_csv(extract, dtype=str, keep_default_na=False)


def identifier_values(extract: pd.DataFrame) -> set[str]:
    """Every identifier as written and without spaces; not the few faulty short tokens (NA, NULL)."""
    values = set()
    for column in IDENTIFIERS:
        for value in extract[column].str.strip():
            values.update({value, value.replace(" ", "")})
    return {v for v in values if len(v) >= 6}


def published_files(folder):
    out = folder / "out"
    return [p for p in out.rglob("*") if p.is_file() and "restricted" not in p.relative_to(out).parts]


def test_identifiers_absent_from_every_published_file(synthetic_run):
    folder, extract = synthetic_run
    values = identifier_values(extract)
    files = published_files(folder)
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        cells = set(text.replace("\n", ",").replace('"', "").split(","))
        assert not (cells & values), f"identifier cell in {path.name}: {sorted(cells & values)[:3]}"
        leaked = [v for v in values if v in text]
        assert not leaked, f"{path.name} holds {len(leaked)} identifier values"


def test_restricted_lists_do_hold_them(synthetic_run):
    # The check above must be able to fail: the restricted lists are where identifiers go.
    folder, extract = synthetic_run
    rejected = (folder / "out" / "restricted" / "rejected_records.csv").read_text()
    assert any(v in rejected for v in identifier_values(extract))


def readable_text(path) -> str:
    """The text a reader could see in a published file, whatever its format."""
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    if path.suffix == ".pptx":
        from pptx import Presentation

        deck = Presentation(path)
        parts = []
        for slide in deck.slides:
            for shape in slide.shapes:
                if shape.has_text_frame:
                    parts.append(shape.text_frame.text)
                if getattr(shape, "has_table", False) and shape.has_table:
                    parts += [cell.text for row in shape.table.rows for cell in row.cells]
            if slide.has_notes_slide:
                parts.append(slide.notes_slide.notes_text_frame.text)
        return "\n".join(parts)
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        return "\n".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
    return path.read_text(encoding="utf-8", errors="replace")


def test_identifiers_absent_from_the_built_site(built_site, small_run):
    extract = pd.read_csv(small_run.parent / "fls_extract_2016.csv", dtype=str, keep_default_na=False)
    values = identifier_values(extract)
    files = [p for p in built_site.rglob("*") if p.is_file() and "restricted" not in p.relative_to(built_site).parts]
    kinds = {p.suffix for p in files}
    assert {".html", ".ipynb", ".csv", ".xlsx", ".pptx", ".pdf", ".json"} <= kinds
    for path in files:
        text = readable_text(path)
        leaked = [v for v in values if v in text]
        assert not leaked, f"{path.relative_to(built_site)} holds {len(leaked)} identifier values"


# ---------------------------------------------------------------------------------------------
# Webtool exports: generated record ids and unrecognised values stay restricted too


@pytest.fixture(scope="module")
def webtool_site(tmp_path_factory):
    """A small run from per-service webtool exports, one of which has an NHS number typed into its
    gender column (a shifted column), built as HTML pages with their downloads."""
    import openpyxl

    from fls_report.build import build
    from fls_report.synth import generate
    from fls_report.synth_webtool import extract_entries, write_webtool

    folder = tmp_path_factory.mktemp("webtool_identifiers")
    written, services = write_webtool(folder, services=5, patients=900, year=2016, seed=11)
    first = written[0][1]
    assert first.suffix == ".xlsx"
    book = openpyxl.load_workbook(first)
    sheet = book.active
    gender = [c.value for c in sheet[1]].index("1.03 Gender" if any(c.value == "1.03 Gender" for c in sheet[1]) else "Gender") + 1
    sheet.cell(row=2, column=gender, value="943 476 5919")
    book.save(first)
    entries = "".join(f'  - {{service: "{e["service"]}", path: "{e["path"]}"'
                      + (f', encoding: {e["encoding"]}' if "encoding" in e else "") + "}\n"
                      for e in extract_entries(written))
    params = folder / "params.yml"
    params.write_text("title: Webtool run\nperiod_start: 2016-01-01\nperiod_end: 2016-12-31\n"
                      f"data_cutoff: 2017-06-30\nextract:\n{entries}services: {services.name}\noutput: out\n",
                      encoding="utf-8")
    result = build(params, workers=2, progress=False, formats=("html",))
    assert not result.failures, result.failures
    extract, _ = generate(services=5, patients=900, year=2016, seed=11)
    return folder / "out", extract


def test_webtool_run_publishes_no_identifier_generated_id_or_unrecognised_text(webtool_site):
    out, extract = webtool_site
    generated = pd.read_csv(out / "restricted" / "rejected_records.csv", dtype=str)["record_id"]
    assert generated.str.fullmatch(r"[^:]+:[0-9a-f]{8}:\d+").sum() >= 10  # one file has its own Record ID
    unrecognised = pd.read_csv(out / "restricted" / "unrecognised_values.csv", dtype=str)
    assert "943 476 5919" in set(unrecognised["value"])
    values = identifier_values(extract) | set(generated) | {"943 476 5919", "9434765919"}
    files = [p for p in out.rglob("*") if p.is_file() and "restricted" not in p.relative_to(out).parts]
    assert {"extract_files.csv", "data_quality_unrecognised.csv", "data-quality.html"} <= {p.name for p in files}
    for path in files:
        text = readable_text(path)
        leaked = [v for v in values if v in text]
        assert not leaked, f"{path.relative_to(out)} holds {len(leaked)} identifier values, e.g. {leaked[0]}"


def test_webtool_run_data_quality_page_says_what_was_read(webtool_site):
    out, _ = webtool_site
    page = (out / "site" / "data-quality.html").read_text(encoding="utf-8")
    assert "Files read" in page and "webtool export" in page and "Values not recognised" in page
    national = (out / "site" / "national.html").read_text(encoding="utf-8")
    assert "read from question 5.01" in national


def test_inspect_masks_an_identifier_typed_into_a_category_column(webtool_site, capsys):
    out, _ = webtool_site
    assert main(["inspect", str(out.parent / "params.yml")]) == 0
    printed = capsys.readouterr().out
    assert "[masked, 12 characters]" in printed and "943 476 5919" not in printed
