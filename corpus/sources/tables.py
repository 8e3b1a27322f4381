"""Readers for table sources: CSV and Parquet, with a column mapping per source.

CSV is parsed by polars when the file is well formed; a file polars rejects (an unbalanced quote,
a ragged row) or whose bytes are not all UTF-8 is read again record by record with the standard
library, so the bad record is named by its line and skipped alone (`on_bad_record: skip`) instead
of the whole file failing. Parquet is read a row group batch at a time; nested values become JSON
text (never a silent null) and binary values are decoded like any input bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.config import SourceConfig
from corpus.errors import SourceError
from corpus.sources.decode import (
    UTF8,
    file_encoding,
    has_bad_bytes,
    legacy_lines,
    line_ends,
    printable,
    settle,
    strip_bom,
)
from corpus.sources.mapping import TARGET, BadRecord, RecordColumns, candidates, map_frame
from corpus.sources.paths import Remote, is_gzip, read_bytes
from corpus.sources.task import FilePart, Limits, ReadTask, batch_bounds

# A quoted CSV field may run over this many lines; a record still open after them started with an
# unbalanced quote: it is a bad record, and reading starts again on its next line.
MAX_RECORD_LINES = 1_000


def read_csv(task: ReadTask, source: SourceConfig, limits: Limits, seen: set[str]) -> Iterator[pl.DataFrame]:
    """The records of each CSV file of the task, `limits` at a time."""
    for part in task.parts:
        data = strip_bom(read_bytes(part.path))
        escaped = data.decode(UTF8, "surrogateescape")
        encoding = file_encoding(escaped, data, source.encodings)
        if encoding == UTF8:
            text, lines = line_ends(escaped), None
        else:
            decoded, lines = legacy_lines(data, encoding)
            text = "\n".join(decoded)
        del data, escaped
        # Record by record when bytes must be settled or a legacy file holds UTF-8 lines.
        clean = not has_bad_bytes(text) if lines is None else UTF8 not in lines
        frame = _polars_csv(text) if clean else None
        if frame is None:
            yield from _csv_records(text, part, source, limits, lines or encoding, seen)
            continue
        if frame.width == 0:  # an empty file: no record
            continue
        seen.update(frame.columns)
        mapped = map_frame(frame, source, part.name).with_columns(
            source_line=pl.int_range(1, frame.height + 1, dtype=pl.Int64),
            encoding=pl.lit(encoding),
            source_file=pl.lit(part.name),
        )
        yield from split_frame(mapped, limits)


def _polars_csv(text: str) -> pl.DataFrame | None:
    """The file parsed by polars, all columns as strings; None when polars rejects it."""
    try:
        return pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.NoDataError:
        return pl.DataFrame()
    except pl.exceptions.ComputeError:
        return None


class _TooLong(Exception):
    """A record ran over `MAX_RECORD_LINES` lines: it started with an unbalanced quote."""


def _csv_records(
    text: str, part: FilePart, source: SourceConfig, limits: Limits, encoding: str | list[str], seen: set[str]
) -> Iterator[pl.DataFrame]:
    """Record by record with the standard library, each named by the line it starts on;
    `encoding` is the file's, or each line's (a legacy file, see `decode.legacy_lines`)."""
    lines = text.split("\n")
    header, position = _next_record(lines, 0, part, source)
    if isinstance(header, BadRecord) or header is None:
        if header is not None:
            raise SourceError(f"{part.name}:1: {header.problem}")
        return
    seen.update(header)
    rows, number = RecordColumns(source), 0
    while position < len(lines):
        start = position + 1
        fields, position = _next_record(lines, position, part, source)
        if fields is None:
            continue
        number += 1
        read_as = encoding if isinstance(encoding, str) else encoding[start - 1]
        record, used = _as_record(fields, header, start, source.encodings, read_as)
        if isinstance(record, BadRecord) and source.on_bad_record == "error":
            raise SourceError(f"{part.name}: {record.problem}")  # the problem names the line
        rows.add(part.name, number, record, used)
        if limits.reached(len(rows), rows.chars):
            yield rows.frame()
            rows = RecordColumns(source)
    if len(rows):
        yield rows.frame()


def _next_record(
    lines: list[str], position: int, part: FilePart, source: SourceConfig
) -> tuple[list[str] | BadRecord | None, int]:
    """The fields of the record starting at line `position` (None for a blank line) and the
    position after it; a record left open by an unbalanced quote is a `BadRecord` of one line."""
    if not lines[position].strip():
        return None, position + 1
    consumed = 0

    def feed() -> Iterator[str]:
        nonlocal consumed
        while position + consumed < len(lines):
            if consumed >= MAX_RECORD_LINES:
                raise _TooLong
            consumed += 1
            yield lines[position + consumed - 1] + "\n"

    try:
        fields = next(csv.reader(feed(), strict=True), None)
    except (_TooLong, csv.Error) as exc:
        unended = isinstance(exc, _TooLong) or "unexpected end of data" in str(exc)
        problem = "unbalanced quote: the record never ends" if unended else f"malformed CSV ({exc})"
        return BadRecord(problem, printable(lines[position])), position + 1
    return fields, position + consumed


def _as_record(
    fields: list[str] | BadRecord, header: list[str], line: int, candidates_: list[str], encoding: str
) -> tuple[dict[str, Any] | BadRecord, str]:
    if isinstance(fields, BadRecord):
        return BadRecord(f"line {line}: {fields.problem}", fields.raw), encoding
    if len(fields) > len(header):
        raw = printable(",".join(fields))
        return BadRecord(f"line {line}: {len(fields)} fields, the header has {len(header)}", raw), encoding
    used = encoding
    values: dict[str, Any] = {}
    for name, value in zip(header, fields, strict=False):
        found = settle(value, candidates_)
        if found.problem:
            return BadRecord(f"line {line}: {found.problem}", printable(",".join(fields))), encoding
        used = found.encoding if found.encoding != UTF8 else used
        values[name] = found.text
    return values, used


def split_frame(frame: pl.DataFrame, limits: Limits) -> Iterator[pl.DataFrame]:
    """Slices of a frame within `limits` (rows, characters of text), in order."""
    sizes = frame["text"].str.len_chars().fill_null(0).to_list() if frame.height else []
    for start, end in batch_bounds(sizes, limits):
        yield frame.slice(start, end - start)


def read_parquet(
    task: ReadTask, source: SourceConfig, limits: Limits, seen: set[str]
) -> Iterator[pl.DataFrame]:
    """The rows of each Parquet file, a batch of rows at a time; only mapped columns are read."""
    for part in task.parts:
        if part.path.stat().st_size == 0:  # an empty file is zero records, as for every kind
            continue
        try:
            handle = pa.BufferReader(read_bytes(part.path)) if is_gzip(part.path) else part.path
            file = pq.ParquetFile(handle.open("rb") if isinstance(handle, Remote) else handle)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            yield from _unreadable(part, source, f"not a readable Parquet file ({exc})", 1)
            continue
        names = file.schema_arrow.names
        seen.update(names)
        wanted = [n for n in names if any(n in candidates(source, f) for f in TARGET)]
        line = 1
        try:
            for batch in file.iter_batches(batch_size=limits.rows, columns=wanted or names[:1]):
                frame = _as_text(pa.Table.from_batches([batch]), source, part)
                mapped = map_frame(frame, source, part.name).with_columns(
                    source_line=pl.int_range(line, line + frame.height, dtype=pl.Int64),
                    encoding=pl.lit("parquet"),
                    source_file=pl.lit(part.name),
                )
                line += frame.height
                yield from split_frame(mapped, limits)
        except (OSError, pa.ArrowException) as exc:
            yield from _unreadable(part, source, f"damaged Parquet data after row {line - 1} ({exc})", line)


def _unreadable(part: FilePart, source: SourceConfig, problem: str, line: int) -> Iterator[pl.DataFrame]:
    """A file (or its rest) that cannot be read: an error, or one bad record naming it."""
    if source.on_bad_record == "error":
        raise SourceError(f"{part.name}: {problem}")
    rows = RecordColumns(source)
    rows.add(part.name, line, BadRecord(problem, ""), "parquet")
    yield rows.frame()


def _as_text(table: pa.Table, source: SourceConfig, part: FilePart) -> pl.DataFrame:
    """Every column as text: strings as they are, numbers and dates formatted by polars, nested
    values as JSON, binary values decoded (a value that cannot be trusted makes its row bad)."""
    columns: dict[str, pl.Series] = {}
    problems: list[str | None] = [None] * table.num_rows
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_nested(kind):
            values = [
                None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                for v in column.to_pylist()
            ]
            columns[name] = pl.Series(name, values, dtype=pl.String)
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
            columns[name] = pl.Series(
                name, _binary_text(column.to_pylist(), source, problems), dtype=pl.String
            )
        else:
            series = pl.from_arrow(column)
            assert isinstance(series, pl.Series)
            columns[name] = series.cast(pl.String).alias(name)
    frame = pl.DataFrame(list(columns.values()))
    if any(problems):
        frame = frame.with_columns(__bad_record__=pl.Series(problems, dtype=pl.String))
    return frame


def _binary_text(
    values: list[bytes | None], source: SourceConfig, problems: list[str | None]
) -> list[str | None]:
    out: list[str | None] = []
    for row, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        found = settle(value.decode(UTF8, "surrogateescape"), source.encodings)
        if found.problem:
            problems[row] = problems[row] or found.problem
            out.append(printable(found.text))
        else:
            out.append(found.text)
    return out
