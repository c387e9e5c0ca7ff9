"""Reading provider extracts (CSV or Parquet) and the aggregate form.

Two ways in:

- the **pathway extract**, one row per RTT pathway (:mod:`qi_equity.data.contract`);
- the **aggregate form**, for trusts that can share only counts: one row per
  ``month x provider_code x specialty x dimension x group x measure`` with
  ``numerator`` and ``denominator`` (and ``value`` where the measure is not a ratio,
  such as a median wait). :func:`qi_equity.measures.monthly_measures` turns a pathway
  extract into exactly this form, so every analysis downstream takes either.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.data import contract as C
from qi_equity.data.validation import ContractError, Failure, ValidationReport, validate_extract

#: Columns of the aggregate form, in order.
AGGREGATE_COLUMNS = ["month", "provider_code", "specialty", "dimension", "group", "measure",
                     "numerator", "denominator", "value"]


class ExtractReadError(ValueError):
    """A file that cannot be read as an extract at all (wrong format, encoding or delimiter,
    duplicate headers, unparseable rows). The message names the file and says what to do."""


_SIGNATURES = [  # (leading bytes, what the file is, what to do)
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or a zip archive",
     "open it in Excel and save it as 'CSV UTF-8 (Comma delimited)'"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel workbook (.xls)",
     "open it in Excel and save it as 'CSV UTF-8 (Comma delimited)'"),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first (gunzip)"),
    (b"PAR1", "a Parquet file", "give it the extension .parquet"),
]
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def sniff_csv(path: str | Path) -> str:
    """The text encoding to read a CSV extract with, after checking what the file is.

    UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark (what Excel's
    "Unicode text" writes) are read. Anything else raises :class:`ExtractReadError` naming the
    file and the problem: a workbook, archive or Parquet file under a ``.csv`` name; binary
    content; text that is not UTF-8 (the line of the first bad byte); duplicate column names
    (pandas would silently rename the second); a header that is one column holding semicolons,
    tabs or bars (another delimiter than the contract's comma).
    """
    path = Path(path)
    name = path.name
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise ExtractReadError(f"{name}: the file is empty (no header, no data rows)")
    for magic, what, todo in _SIGNATURES:
        if head.startswith(magic):
            raise ExtractReadError(f"{name}: this is {what}, not a CSV file: {todo}")
    if head.startswith(_UTF16_BOMS):
        encoding = "utf-16"
    elif head.startswith(_UTF8_BOM):
        encoding = "utf-8-sig"
    elif b"\x00" in head:
        odd = head[1::2].count(0) > len(head) // 4
        even = head[0::2].count(0) > len(head) // 4
        hint = ("it looks like UTF-16 without a byte-order mark: save it as CSV UTF-8" if odd != even
                else "it is binary, not text: export the extract as CSV (UTF-8)")
        raise ExtractReadError(f"{name}: the file holds NUL bytes; {hint}")
    else:
        encoding = "utf-8"
    _check_text(path, encoding)
    with open(path, encoding=encoding, newline="") as fh:
        header_line = fh.readline().rstrip("\r\n")
    import csv

    header = next(csv.reader([header_line]), [])
    if len(header) <= 1:
        for sep, what in _OTHER_DELIMITERS.items():
            if sep in header_line:
                raise ExtractReadError(
                    f"{name}: the header is one column holding {what} ({header_line[:60]!r}...): the file seems to "
                    f"be delimited by {what}; the contract's delimiter is a comma: save it as CSV (comma delimited)")
    names = [h.strip() for h in header]
    dups = sorted({h for h in names if names.count(h) > 1})
    if dups:
        raise ExtractReadError(f"{name}: duplicate column name(s) in the header: {', '.join(map(repr, dups))} "
                               "(each column must be named once)")
    return encoding


def _check_text(path: Path, encoding: str):
    """Raise :class:`ExtractReadError` naming the first line that is not valid ``encoding``."""
    import codecs

    dec = codecs.getincrementaldecoder(encoding)()
    line, offset = 1, 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                at = line + chunk[:exc.start].count(b"\n")
                byte = chunk[exc.start] if exc.start < len(chunk) else 0
                enc = encoding.upper().removesuffix("-SIG")
                raise ExtractReadError(
                    f"{path.name}: line {at:,} is not {enc} text (byte 0x{byte:02x} at offset "
                    f"{offset + exc.start:,}); it was probably saved as Windows-1252 or Latin-1: "
                    "save it as 'CSV UTF-8'") from None
            line += chunk.count(b"\n")
            offset += len(chunk)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ExtractReadError(f"{path.name}: the file ends in the middle of a character (truncated?)") from None


def read_raw(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file with every value as a string (missing stays missing).

    Reading as strings keeps what the user wrote, so validation can report the exact
    bad values; nothing is coerced or dropped here. A CSV is checked first by
    :func:`sniff_csv` (format, encoding, delimiter, duplicate headers); a file that cannot be
    read raises :class:`ExtractReadError` (a ``ValueError``) naming the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path.name}: no such file ({path})")
    if path.is_dir():
        raise ExtractReadError(f"{path.name}: is a folder, not an extract file")
    if path.suffix.lower() in (".parquet", ".pq"):
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != b"PAR1":
            raise ExtractReadError(f"{path.name}: is not a Parquet file (it does not start with PAR1)")
        return _parquet_as_strings(path)
    encoding = sniff_csv(path)
    try:
        return pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""], encoding=encoding)
    except pd.errors.ParserError as exc:
        raise ExtractReadError(f"{path.name}: cannot be read as CSV: {str(exc).strip()}") from None


def _parquet_as_strings(path: Path) -> pd.DataFrame:
    """A Parquet file with every column as text, converted in Arrow (vectorised): dates as
    ``YYYY-MM-DD``, whole-number floats without a decimal point, booleans as ``1``/``0``;
    nulls stay missing. Any other column (such as floats with fractions) is converted by
    pandas' ``astype("string")``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    out = {}
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_dictionary(t):
            col, t = col.cast(t.value_type), t.value_type
        if pa.types.is_date(t):
            col = pc.cast(col, pa.string())  # ISO 8601: YYYY-MM-DD
        elif pa.types.is_timestamp(t):
            col = pc.strftime(col, format="%Y-%m-%d")
        elif pa.types.is_floating(t) and pc.all(pc.equal(pc.floor(col), col)).as_py() in (True, None):
            col = pc.cast(col.cast(pa.int64()), pa.string())
        elif pa.types.is_boolean(t):
            col = pc.if_else(col, "1", "0")
        elif pa.types.is_integer(t) or pa.types.is_null(t) or pa.types.is_large_string(t):
            col = pc.cast(col, pa.string())
        elif not pa.types.is_string(t):
            out[name] = col.to_pandas().astype("string")
            continue
        out[name] = col.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get).astype("string")
    return pd.DataFrame(out, index=pd.RangeIndex(table.num_rows))


def to_typed(raw: pd.DataFrame) -> pd.DataFrame:
    """Convert a validated string-valued extract to typed columns.

    Dates become ``datetime64``; ``dna_count``, ``age`` and ``imd_decile`` nullable
    integers; PLUS flags nullable booleans; codes stay strings.
    """
    df = raw.copy()
    for name in C.DATE_COLUMNS:
        if name in df:
            df[name] = pd.to_datetime(df[name], format="%Y-%m-%d")
        else:
            df[name] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    for name in ("dna_count", "age", "imd_decile"):
        if name in df:
            df[name] = pd.to_numeric(df[name]).astype("Int64")
    for name in C.BOOL_COLUMNS:
        if name in df:
            s = df[name]
            flag = s.isin(C.TRUE_VALUES).astype("boolean")
            flag[s.isna().to_numpy()] = pd.NA
            df[name] = flag
    return df


def load_extract(path: str | Path, census_date=None, validate: bool = True) -> pd.DataFrame:
    """Read, validate and type a provider extract.

    Raises
    ------
    ContractError
        When any contract rule fails; ``err.report`` holds the full report.
    """
    raw = read_raw(path)
    if validate:
        report = validate_extract(raw, census_date=census_date, source=str(path))
        if not report.ok:
            raise ContractError(report)
    return to_typed(raw)


# --------------------------------------------------------------------------------------
# Aggregate form
# --------------------------------------------------------------------------------------

def validate_aggregate(df: pd.DataFrame, source: str = "aggregate") -> ValidationReport:
    """Check the aggregate form: columns present; counts whole and >= 0; numerator <= denominator.

    These rules are simple and checked with pandas directly (the aggregate form is small).
    """
    n = len(df)
    failures: list[Failure] = []
    for name in ("month", "provider_code", "dimension", "group", "measure", "denominator"):
        if name not in df:
            failures.append(Failure(name, "required column is missing", -1, n))
    if failures:
        return ValidationReport(source, n, failures)
    month = pd.to_datetime(df["month"], errors="coerce")
    bad = month.isna()
    if bad.any():
        failures.append(Failure("month", "must be a date (first of month)", int(bad.sum()), n,
                                df.loc[bad, "month"].head().tolist()))
    for name in ("numerator", "denominator"):
        if name in df:
            v = pd.to_numeric(df[name], errors="coerce")
            bad = df[name].notna() & (v.isna() | (v < 0) | (v % 1 != 0))
            if bad.any():
                failures.append(Failure(name, "must be a whole number >= 0", int(bad.sum()), n,
                                        df.loc[bad, name].head().tolist()))
    if "numerator" in df:
        num = pd.to_numeric(df["numerator"], errors="coerce")
        den = pd.to_numeric(df["denominator"], errors="coerce")
        bad = (num > den).fillna(False)
        if bad.any():
            failures.append(Failure("numerator", "must not exceed denominator", int(bad.sum()), n,
                                    list(zip(num[bad].head(), den[bad].head()))))
    return ValidationReport(source, n, failures)


def load_aggregate(path: str | Path) -> pd.DataFrame:
    """Read and validate a file in the aggregate form; returns it typed.

    Raises
    ------
    ContractError
        When a rule fails.
    """
    path = Path(path)
    df = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    report = validate_aggregate(df, source=str(path))
    if not report.ok:
        raise ContractError(report)
    df = df.copy()
    df["month"] = pd.to_datetime(df["month"])
    for name in ("specialty",):
        if name not in df:
            df[name] = "all"
    for name in ("numerator", "value"):
        if name not in df:
            df[name] = np.nan
    if df["value"].isna().all():
        df["value"] = df["numerator"] / df["denominator"] * 100
    return df[AGGREGATE_COLUMNS]


def load_population(path: str | Path) -> pd.DataFrame:
    """Read the catchment population table.

    Columns: ``provider_code, sex, age_band, ethnic_group, imd_decile, population``.
    """
    df = pd.read_csv(path, dtype={"provider_code": "string", "sex": "string", "age_band": "string",
                                  "ethnic_group": "string"})
    missing = {"provider_code", "sex", "age_band", "ethnic_group", "imd_decile", "population"} - set(df.columns)
    if missing:
        n = len(df)
        raise ContractError(ValidationReport(str(path), n, [Failure(m, "required column is missing", -1, n)
                                                            for m in sorted(missing)]))
    return df


def write_frame(df: pd.DataFrame, path: str | Path, chunk_rows: int = 1_000_000) -> None:
    """Write ``df`` to Parquet (by its extension) or CSV, a million rows at a time: the Arrow
    copy of a chunk, not of the whole frame, is what writing adds to memory (a national
    aggregate is about 9 million rows)."""
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq"):
        df.to_csv(path, index=False, chunksize=chunk_rows)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(df.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for i in range(0, max(len(df), 1), chunk_rows):
            writer.write_table(pa.Table.from_pandas(df.iloc[i:i + chunk_rows], schema=schema, preserve_index=False))


def atomic_write(path: str | Path, data: bytes | str):
    """Write to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
