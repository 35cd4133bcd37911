"""Read input tables as trimmed text, and write output files safely.

Every reader returns a DataFrame of ``str`` cells (blank is ``""``) with the file's own column
names, plus a ``source_row`` column holding the row's position in the file (the header is row 1),
so that a message or a quarantine file can point an analyst at the row. Rows whose cells are all
blank are dropped: they are not data rows (data_dictionary.md §1).

Each format's reader returns an Arrow table of text columns, and :func:`read_table` trims, drops
blank rows and converts to pandas once, vectorised: a million-row extract then costs seconds,
not the minute that a Python ``str.strip`` per cell took.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io as _io
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from fls_report.errors import InputError, printable

SOURCE_ROW = "source_row"
READERS = (".csv", ".xlsx", ".parquet")


def read_table(path: str | Path, what: str = "file", encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV, ``.xlsx`` (first sheet) or Parquet file into trimmed text cells.

    Parameters
    ----------
    path
        The file; the format is chosen by its extension.
    what
        What the file is (``"extract"``, ``"services file"``), for messages.
    encoding
        The text encoding of a CSV file: ``"utf-8"`` (a BOM is allowed) or ``"cp1252"``
        (Windows-1252, as Excel on Windows saves "CSV"); see webtool_export.md §1.

    Returns
    -------
    pandas.DataFrame
        One ``str`` column per file column (blank cells are ``""``) and ``source_row``. A blank
        header cell is named :func:`blank_header` of its position, so that it can be told apart
        and reported (webtool_export.md §2, rule 3).

    Raises
    ------
    InputError
        Missing, empty, unreadable or undecodable file, an unknown extension, duplicate column
        names, or a file with a header and no data rows.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise InputError(
            f"{path}: unknown file extension '{path.suffix}' for the {what} "
            f"(expected {', '.join(READERS)})"
        )
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the {what} is empty")
    if suffix == ".csv":
        table = _read_csv(path, what, encoding)
    elif suffix == ".xlsx":
        table = _read_xlsx(path, what)
    else:
        table = _read_parquet(path, what)

    names = [str(c).strip() or blank_header(i + 1) for i, c in enumerate(table.column_names)]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(f"{path}: duplicate column name(s) in the header: {', '.join(printable(d) for d in duplicated)}")
    # pyarrow's whitespace set is exactly str.isspace's (checked over every code point).
    columns = [pc.utf8_trim_whitespace(column) for column in table.columns]
    table = pa.Table.from_arrays(
        columns + [pa.array(np.arange(2, table.num_rows + 2))], names=names + [SOURCE_ROW]
    )
    if columns:
        filled = [pc.not_equal(pc.utf8_length(column), 0) for column in columns]
        table = table.filter(functools.reduce(pc.or_, filled))
    if table.num_rows == 0:
        raise InputError(f"{path}: the {what} has a header but no data rows")
    return table.to_pandas()


#: Encodings a CSV extract may be read in (webtool_export.md §1).
ENCODINGS: dict[str, str] = {"utf-8": "utf-8-sig", "cp1252": "cp1252"}
_BLANK_HEADER = re.compile(r"\(blank header, column (\d+)\)")


def blank_header(position: int) -> str:
    """The name given to a blank header cell at 1-based ``position``."""
    return f"(blank header, column {position})"


def blank_header_position(name: str) -> int | None:
    """The 1-based position of a header named by :func:`blank_header`, else None."""
    match = _BLANK_HEADER.fullmatch(name)
    return int(match.group(1)) if match else None


def _text_table(frame: pd.DataFrame, names: list[str]) -> pa.Table:
    """An Arrow table of the ``str`` cells of ``frame``, with ``names`` (duplicates allowed)."""
    arrays = [pa.array(frame.iloc[:, i].tolist(), type=pa.string()) for i in range(frame.shape[1])]
    return pa.Table.from_arrays(arrays, names=names)


def _read_csv(path: Path, what: str, encoding: str = "utf-8") -> pa.Table:
    """Read a UTF-8 (or Windows-1252) CSV file as text.

    pyarrow's parser reads a well-formed file (every row as wide as the header, quotes
    balanced). Any other file goes to pandas' C parser, whose behaviour is the contract: a short
    row is padded with blanks, a long row or an unclosed quote is an error. A file that is not
    valid in its encoding stops the run, naming the line and the byte: there is no guessing.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode(ENCODINGS[encoding])
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = f"0x{raw[exc.start]:02X}"
        if encoding == "utf-8":
            hint = (" (a CSV file saved by Excel on Windows is usually Windows-1252: "
                    "give its entry `encoding: cp1252` in the parameters file)" if what == "extract" else
                    "; save it as CSV UTF-8")
            raise InputError(f"{path}: the {what} is not UTF-8 text: byte {byte} at line {line}{hint}") from None
        raise InputError(f"{path}: the {what} is not {encoding} text: byte {byte} at line {line}") from None
    if not text or text.isspace():
        raise InputError(f"{path}: the {what} is empty")
    header = next(csv.reader(_lines(text)), [])
    if encoding == "utf-8":
        data = raw.removeprefix(codecs.BOM_UTF8)
    else:
        data = text.encode("utf-8")
    del text
    table = _read_csv_arrow(data, header)
    if table is None:
        return _read_csv_pandas(data.decode("utf-8"), header, path, what)
    return table


def _lines(text: str):
    """The lines of ``text`` (ending at ``\\n``), one at a time, as ``StringIO`` would give them:
    reading the header does not copy the whole file."""
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def _read_csv_arrow(data: bytes, header: list[str]) -> pa.Table | None:
    """Parse with pyarrow, every column as text; None when pandas must decide (see above).

    An odd number of quote characters means a quote is unbalanced: pyarrow would take the rest
    of the file as one value where pandas reports the error. pyarrow skips the header as one
    line, so a header with a line break inside quotes goes to pandas too.
    """
    multiline_header = any("\n" in name or "\r" in name for name in header)
    if multiline_header or len(set(header)) != len(header) or data.count(b'"') % 2:
        return None
    names = [f"column_{i}" for i in range(len(header))]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    return table.rename_columns(header)


def _read_csv_pandas(text: str, header: list[str], path: Path, what: str) -> pa.Table:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                _io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                header=0,
                index_col=False,
                skip_blank_lines=False,
                engine="c",
            )
    except pd.errors.ParserError as exc:
        detail = str(exc).replace("Error tokenizing data. C error: ", "")
        raise InputError(f"{path}: the {what} is not a well-formed CSV file ({detail})") from None
    except pd.errors.ParserWarning:
        raise InputError(
            f"{path}: the {what} is not a well-formed CSV file (a row has more fields than the header)"
        ) from None
    return _text_table(frame.fillna(""), header)


def _read_xlsx(path: Path, what: str) -> pa.Table:
    """Read the first sheet of a workbook with calamine (Rust), cell by cell as text.

    calamine reads the same cells as openpyxl (tests/test_io.py compares the two on every kind
    of cell a webtool export holds) at several times the speed (benchmarks/results.md).
    """
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several kinds for a damaged workbook
        raise InputError(f"{path}: cannot read the {what} as an Excel workbook ({exc.__class__.__name__})") from None
    if not rows:
        raise InputError(f"{path}: the {what} is empty")
    width = max(len(r) for r in rows)
    header = [_cell_text(v) for v in rows[0]] + [""] * (width - len(rows[0]))
    columns = [[] for _ in range(width)]
    for values in rows[1:]:
        for i in range(width):
            columns[i].append(_cell_text(values[i]) if i < len(values) else "")
    arrays = [pa.array(column, type=pa.string()) for column in columns]
    return pa.Table.from_arrays(arrays, names=header)


def _read_xlsx_openpyxl(path: Path, what: str) -> pa.Table:
    """The same as :func:`_read_xlsx` through openpyxl, kept as the reference the calamine reader
    is tested against (and timed against by the benchmark)."""
    try:
        frame = pd.read_excel(
            path, sheet_name=0, header=None, dtype=object, engine="openpyxl", keep_default_na=False, na_filter=False
        )
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise InputError(f"{path}: cannot read the {what} as an Excel workbook ({exc.__class__.__name__})") from None
    if frame.empty:
        raise InputError(f"{path}: the {what} is empty")
    header = [_cell_text(v) for v in frame.iloc[0]]
    return _text_table(frame.iloc[1:].map(_cell_text), header)


def _read_parquet(path: Path, what: str) -> pa.Table:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise InputError(f"{path}: cannot read the {what} as Parquet ({exc.__class__.__name__})") from None
    cells = pd.DataFrame({i: frame.iloc[:, i].astype(object).map(_cell_text) for i in range(frame.shape[1])})
    return _text_table(cells, [str(c) for c in frame.columns])


def _cell_text(value: object) -> str:
    """Text of one native cell: dates truncated to ``YYYY-MM-DD``, whole floats as integers."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def safe_name(code: str) -> str:
    """A file name for a service code (outputs.md §3).

    A code of only letters, digits, ``-`` and ``_`` is used as it is; otherwise each other
    character becomes ``_`` and ``-`` plus the first 8 hex digits of the code's SHA-256 is
    appended, so two codes never share a file and no code can name a path outside its folder.
    """
    if code and re.fullmatch(r"[A-Za-z0-9_-]+", code):
        return code
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", code)
    return f"{cleaned}-{hashlib.sha256(code.encode('utf-8')).hexdigest()[:8]}"


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; outputs are meant to be read and published
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 text safely (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode("utf-8"))
