"""Readers for table sources (JSONL, JSON, CSV, Parquet) with a column mapping per source.

Scrapes drift: a column appears, disappears or is renamed between two runs. A mapped field may
name several candidate columns (first present wins); a field whose column is absent from one file
is null there. Every value is read as text: parsing is the metadata step's job.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from corpus.config import MappableField, SourceConfig
from corpus.errors import SourceError
from corpus.sources.decode import decode

# Fields read from a column of the same name when the mapping does not say otherwise.
DEFAULT_NAMED = ("url", "title", "text", "source")
# Canonical field -> reader column name.
TARGET: dict[MappableField, str] = {
    "url": "url_raw",
    "key": "key",
    "title": "title",
    "text": "text",
    "source": "source_raw",
    "published": "published_raw",
    "scraped_at": "scraped_raw",
}


def read_table(path: Path, source: SourceConfig) -> pl.DataFrame:
    """All columns of one table file as strings, plus `source_line` and `encoding`."""
    if source.kind == "parquet":
        try:
            frame = pl.read_parquet(path)
        except Exception as exc:  # polars raises several types for a damaged file
            raise SourceError(f"{path}: not a readable Parquet file ({exc})") from exc
        frame = frame.select(pl.all().cast(pl.String, strict=False)).with_columns(encoding=pl.lit("parquet"))
        return frame.with_row_index("source_line", offset=1)
    text, encoding = decode(path.read_bytes(), source.encodings, str(path))
    if source.kind == "csv":
        try:
            frame = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=False)
        except Exception as exc:
            raise SourceError(f"{path}: not a readable CSV file ({exc})") from exc
        frame = frame.with_row_index("source_line", offset=1)
    else:
        records = list(_jsonl(text, path, source) if source.kind == "jsonl" else _json(text, path, source))
        frame = pl.DataFrame(
            [{k: _as_text(v) for k, v in row.items()} for _, row in records],
            infer_schema_length=None,
        )
        frame = frame.with_columns(source_line=pl.Series([line for line, _ in records], dtype=pl.Int64))
    return frame.with_columns(pl.col("source_line").cast(pl.Int64), encoding=pl.lit(encoding))


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _jsonl(text: str, path: Path, source: SourceConfig) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if source.on_bad_record == "error":
                raise SourceError(
                    f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})"
                ) from exc
            yield number, {"__bad_record__": f"not valid JSON: {exc.msg}", "__raw__": line}
            continue
        if not isinstance(record, dict):
            problem = f"expected a JSON object, got {type(record).__name__}"
            if source.on_bad_record == "error":
                raise SourceError(f"{path}:{number}: {problem}")
            yield number, {"__bad_record__": problem, "__raw__": line}
            continue
        yield number, record


def _json(text: str, path: Path, source: SourceConfig) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    items = document if isinstance(document, list) else [document]
    number = 0
    for parent in items:
        if not isinstance(parent, dict):
            raise SourceError(f"{path}: expected JSON objects, got {type(parent).__name__}")
        if source.records is None:
            number += 1
            yield number, parent
            continue
        children = parent.get(source.records)
        if not isinstance(children, list):
            raise SourceError(f"{path}: record {number + 1} has no list field {source.records!r} (records:)")
        inherited = {k: v for k, v in parent.items() if k != source.records}
        for child in children:
            number += 1
            yield number, {**inherited, **(child if isinstance(child, dict) else {"value": child})}


def map_columns(frame: pl.DataFrame, source: SourceConfig, path: str) -> tuple[pl.DataFrame, set[str]]:
    """Select and rename mapped columns to reader columns; return the input columns that were used."""
    exprs, used = [], set()
    for field, target in TARGET.items():
        if field in source.constants:
            exprs.append(pl.lit(source.constants[field], pl.String).alias(target))
            continue
        wanted: str | list[str] = source.columns.get(field, [field] if field in DEFAULT_NAMED else [])
        candidates = [wanted] if isinstance(wanted, str) else list(wanted)
        present = next((c for c in candidates if c in frame.columns), None)
        if present is None:
            if field == "text" and "__raw__" not in frame.columns:
                raise SourceError(
                    f"{path}: no text column: sources[{source.name!r}].columns.text is "
                    f"{wanted!r} but the file has {sorted(frame.columns)}"
                )
            exprs.append(pl.lit(None, pl.String).alias(target))
        else:
            used.add(present)
            exprs.append(pl.col(present).cast(pl.String).alias(target))
    if "__bad_record__" in frame.columns:  # lines kept by on_bad_record: skip, removed later
        exprs.append(pl.col("__bad_record__").alias("reader_error"))
        exprs = [
            e if e.meta.output_name() != "text" else pl.coalesce(e, pl.col("__raw__")).alias("text")
            for e in exprs
        ]
    return frame.select([*exprs, "source_line", "encoding"]), used
