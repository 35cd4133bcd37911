"""Read input tables as trimmed text, and write output files safely.

Every reader returns a DataFrame of ``str`` cells (blank is ``""``) with the file's own column
names, plus a ``source_row`` column holding the row's position in the file (the header is row 1),
so that a message or a quarantine file can point an analyst at the row. Rows whose cells are all
blank are dropped: they are not data rows (data_dictionary.md §1).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io as _io
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fls_report.errors import InputError

SOURCE_ROW = "source_row"
READERS = (".csv", ".xlsx", ".parquet")


def read_table(path: str | Path, what: str = "file") -> pd.DataFrame:
    """Read a CSV, ``.xlsx`` (first sheet) or Parquet file into trimmed text cells.

    Parameters
    ----------
    path
        The file; the format is chosen by its extension.
    what
        What the file is (``"extract"``, ``"services file"``), for messages.

    Returns
    -------
    pandas.DataFrame
        One ``str`` column per file column (blank cells are ``""``) and ``source_row``.

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
        frame = _read_csv(path, what)
    elif suffix == ".xlsx":
        frame = _read_xlsx(path, what)
    else:
        frame = _read_parquet(path, what)

    names = [str(c).strip() for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(f"{path}: duplicate column name(s) in the header: {', '.join(duplicated)}")
    frame.columns = names
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    frame.insert(len(frame.columns), SOURCE_ROW, np.arange(2, len(frame) + 2))
    frame = frame[(frame.drop(columns=SOURCE_ROW) != "").any(axis=1)].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"{path}: the {what} has a header but no data rows")
    return frame


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: the {what} is not UTF-8 text (undecodable byte at line {line}); "
            "save it as CSV UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{path}: the {what} is empty")
    header = next(csv.reader(_io.StringIO(text)), [])
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
    frame.columns = header
    return frame.fillna("")


def _read_xlsx(path: Path, what: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(
            path, sheet_name=0, header=None, dtype=object, engine="openpyxl", keep_default_na=False, na_filter=False
        )
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise InputError(f"{path}: cannot read the {what} as an Excel workbook ({exc.__class__.__name__})") from None
    if frame.empty:
        raise InputError(f"{path}: the {what} is empty")
    header = [_cell_text(v) for v in frame.iloc[0]]
    body = frame.iloc[1:].map(_cell_text)
    body.columns = header
    return body.reset_index(drop=True)


def _read_parquet(path: Path, what: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise InputError(f"{path}: cannot read the {what} as Parquet ({exc.__class__.__name__})") from None
    out = pd.DataFrame({str(c): frame[c].astype(object).map(_cell_text) for c in frame.columns})
    return out


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
