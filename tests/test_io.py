"""Reading the extract in each format, and the input errors that stop a run."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import BASE_ROW, make_run, row
from fls_report import dictionary as dd
from fls_report.errors import InputError
from fls_report.io import read_table, write_text_atomic
from fls_report.params import load_params
from fls_report.extract import read_file
from fls_report.mapping import load_mapping
from fls_report.params import ExtractFile
from fls_report.validate import validate


def read_extract(path):
    """One contract file read as a single-file extract: (frame, notes)."""
    frame, reading = read_file(ExtractFile(path, path.name), load_mapping())
    return frame, list(reading.notes)


def test_csv_with_bom_and_padding(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("\ufeffrecord_id , service_code\n R1 ,029\n\n,\n".encode("utf-8"))
    frame = read_table(path)
    assert list(frame.columns) == ["record_id", "service_code", "source_row"]
    assert frame[["record_id", "service_code"]].values.tolist() == [["R1", "029"]]
    assert frame["source_row"].tolist() == [2]


def test_na_strings_are_values_not_blanks(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\nNA,NULL\nNone,\n", encoding="utf-8")
    assert read_table(path)[["a", "b"]].values.tolist() == [["NA", "NULL"], ["None", ""]]


def test_unicode_whitespace_is_trimmed_as_str_strip_does(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n\u00a0R1\t,\u2003029\u3000\n\u00a0, \u2002\n", encoding="utf-8")
    frame = read_table(path)
    assert frame[["a", "b"]].values.tolist() == [["R1", "029"]]
    assert frame["source_row"].tolist() == [2]


@pytest.mark.parametrize(
    "content, cells",
    [
        (b"a,b\n1\n2,3\n", [["1", ""], ["2", "3"]]),  # a short row is padded with blanks
        (b'a,b\n"x\ny",2\n3,4\n', [["x\ny", "2"], ["3", "4"]]),  # a line break inside quotes
        (b'"a\nb",c\n1,2\n', [["1", "2"]]),  # ... also in the header
        (b'a,b\n"say ""hi""", 2 \r\n', [['say "hi"', "2"]]),
    ],
)
def test_csv_edge_cases_read_as_pandas_reads_them(tmp_path, content, cells):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    frame = read_table(path)
    assert frame.drop(columns="source_row").values.tolist() == cells
    assert frame.dtypes.drop("source_row").eq(object).all()


def test_unclosed_quote_is_an_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b'a,b\n1,"x\n')
    with pytest.raises(InputError, match="not a well-formed CSV file"):
        read_table(path)


def test_xlsx_numbers_and_native_dates(tmp_path):
    path = tmp_path / "extract.xlsx"
    native = dict(BASE_ROW, service_code=29, age_at_fracture=72.0, date_fracture=dt.datetime(2016, 3, 1, 14, 30),
                  date_assessed=dt.date(2016, 3, 10), date_dxa=42430)
    pd.DataFrame([native], columns=list(dd.EXTRACT_COLUMNS)).to_excel(path, index=False)
    frame = read_table(path)
    first = frame.iloc[0]
    assert (first["service_code"], first["age_at_fracture"]) == ("29", "72")
    assert (first["date_fracture"], first["date_assessed"]) == ("2016-03-01", "2016-03-10")
    assert first["date_dxa"] == "42430"  # a number in a date column stays invalid


def test_parquet_typed_columns(tmp_path):
    path = tmp_path / "extract.parquet"
    frame = pd.DataFrame([dict(BASE_ROW)] * 2, columns=list(dd.EXTRACT_COLUMNS))
    frame["record_id"] = ["R1", "R2"]
    frame["date_fracture"] = pd.to_datetime(["2016-03-01 10:00", "2016-03-02 00:00"])
    frame["age_at_fracture"] = [70.0, None]
    frame.to_parquet(path)
    read = read_table(path)
    assert read["date_fracture"].tolist() == ["2016-03-01", "2016-03-02"]
    assert read["age_at_fracture"].tolist() == ["70", ""]


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_each_format_gives_the_same_validation(tmp_path, suffix):
    rows = [row(1), row(2, sex="NA"), row(3, service_code="XX")]
    csv_params = load_params(make_run(tmp_path, rows))
    other = tmp_path / f"extract{suffix}"
    frame = pd.DataFrame(rows, columns=list(dd.EXTRACT_COLUMNS))
    frame.to_excel(other, index=False) if suffix == ".xlsx" else frame.to_parquet(other)
    other_params = load_params(make_run(tmp_path, rows, extract=f"extract{suffix}"))
    a, b = validate(csv_params), validate(other_params)
    assert a.counts() == b.counts()
    pd.testing.assert_frame_equal(a.issues, b.issues)


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("x.txt", b"a\n1\n", "unknown file extension '.txt'"),
        ("x.csv", b"", "is empty"),
        ("x.csv", b"  \n\n", "is empty"),
        ("x.csv", b"record_id,service_code\n", "header but no data rows"),
        ("x.csv", b"record_id,service_code\n,\n  ,  \n", "header but no data rows"),
        ("x.csv", "record_id,service_code\nR1,Caf\u00e9\n".encode("latin-1"), "not UTF-8 text: byte 0xE9 at line 2"),
        ("x.csv", b"a,a\n1,2\n", "duplicate column name"),
        ("x.csv", b"a,b\n1,2,3\n", "not a well-formed CSV"),
        ("x.xlsx", b"not a zip file", "cannot read the file as an Excel workbook"),
        ("x.parquet", b"not parquet", "cannot read the file as Parquet"),
    ],
)
def test_unreadable_files(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        read_table(path)
    assert fragment in str(raised.value) and name in str(raised.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "absent.csv", "extract")


def test_missing_core_columns_named_together(tmp_path):
    path = tmp_path / "extract.csv"
    pd.DataFrame([{"record_id": "R1", "service_code": "S1", "date_of_birth": "1950-01-01"}]).to_csv(path, index=False)
    with pytest.raises(InputError) as raised:
        read_extract(path)
    assert "missing core column(s): date_fracture, fracture_site" in str(raised.value)


def test_age_column_needed_only_without_date_of_birth(tmp_path):
    path = tmp_path / "extract.csv"
    pd.DataFrame([{"record_id": "R1", "service_code": "S1", "date_fracture": "2016-01-01",
                   "fracture_site": "Hip"}]).to_csv(path, index=False)
    with pytest.raises(InputError, match="age_at_fracture"):
        read_extract(path)


def test_optional_and_unknown_columns_warn(tmp_path):
    path = tmp_path / "extract.csv"
    columns = [c for c in dd.EXTRACT_COLUMNS if c not in ("postcode", "dxa")] + ["ward"]
    pd.DataFrame([dict(BASE_ROW, ward="7")], columns=columns).to_csv(path, index=False)
    frame, notes = read_extract(path)
    assert list(frame.columns[:24]) == list(dd.EXTRACT_COLUMNS) and "ward" not in frame.columns
    assert (frame["dxa"] == "").all()
    assert any("postcode, dxa" in n for n in notes) and any("ward" in n for n in notes)


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = write_text_atomic(tmp_path / "deep" / "a.txt", "hello")
    assert target.read_text() == "hello"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_calamine_reads_every_kind_of_cell_as_openpyxl_does(tmp_path):
    """The .xlsx reader (calamine) gives the same text as the openpyxl reader on every kind of
    cell a webtool export holds (issue 12: use the faster reader only where it reads identically)."""
    import openpyxl

    from fls_report.io import _read_xlsx, _read_xlsx_openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["1.09 Date Index Frac Diagnosed", None, "Age", "text", "bool", "ratio", "big", "list", None])
    sheet.append([dt.datetime(2016, 3, 1, 14, 30), dt.date(2016, 3, 2), 72, "029", True, 72.5, 1e20, "A; B", None])
    sheet.append([None] * 9)
    sheet.append([dt.time(10, 30), "Don\u2019t know", -0.0, "  spaced  ", False, 0.1, 12345678901, "", "stray"])
    sheet.append([43000, 43000.5, dt.timedelta(hours=5), "=1+1", "#N/A", 3, "x", "Donít know", None])
    sheet["A5"].number_format = "dd/mm/yyyy"
    sheet["B5"].number_format = "dd/mm/yyyy hh:mm"
    path = tmp_path / "cells.xlsx"
    workbook.save(path)
    fast, reference = _read_xlsx(path, "extract"), _read_xlsx_openpyxl(path, "extract")
    assert fast.column_names == reference.column_names
    assert fast.to_pylist() == reference.to_pylist()
    # and what they read: dates truncated, whole numbers as integers, text as written
    assert fast.to_pylist()[0]["1.09 Date Index Frac Diagnosed"] == "2016-03-01"
    assert fast.to_pylist()[3]["1.09 Date Index Frac Diagnosed"] == "2017-09-22"
    assert fast.to_pylist()[0]["Age"] == "72" and fast.to_pylist()[0]["text"] == "029"


def test_blank_header_cells_are_named_by_position(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,,b,\n1,,2,3\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["a", "(blank header, column 2)", "b", "(blank header, column 4)", "source_row"]
    assert frame.iloc[0, :4].tolist() == ["1", "", "2", "3"]


def test_cp1252_csv(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("a,b\nDon\u2019t know,\u00a31\n".encode("cp1252"))
    assert read_table(path, "extract", "cp1252")[["a", "b"]].values.tolist() == [["Don\u2019t know", "\u00a31"]]
    with pytest.raises(InputError, match="not UTF-8 text: byte 0x92 at line 2"):
        read_table(path, "extract")


def test_a_file_without_a_header_row_does_not_print_its_first_patient(tmp_path):
    # A CSV saved without its header: the first patient's details are read as "headers".
    path = tmp_path / "x.csv"
    path.write_text("943 476 5919,ZZ99 3AB,1946-01-01,1946-01-01\n9434765919,x,y,z\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_table(path, "extract")
    message = str(raised.value)
    assert "duplicate column name" in message and "[masked, 10 characters]" in message
    for identifier in ("943 476 5919", "ZZ99 3AB", "1946-01-01"):
        assert identifier not in message
