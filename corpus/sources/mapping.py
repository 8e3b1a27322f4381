"""Map input fields to reader columns (`schema.RAW`), per source, for parsed records and for frames.

Scrapes drift: a column appears, disappears or is renamed between two runs. A mapped field may
name several candidate columns; per record the first candidate holding a value wins (so the
result never depends on how records are batched), and a field whose columns a record lacks is
null there. Every value is read as text: parsing is the metadata step's job.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from corpus.config import FilenameFields, MappableField, SourceConfig
from corpus.errors import SourceError
from corpus.schema import RAW

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
_FILENAME_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be parsed or trusted: why, and its raw text (kept in removed/)."""

    problem: str
    raw: str


def candidates(source: SourceConfig, name: MappableField) -> list[str]:
    """Input columns that may feed a canonical field, in order of preference."""
    wanted: str | list[str] = source.columns.get(name, [name] if name in DEFAULT_NAMED else [])
    return [wanted] if isinstance(wanted, str) else list(wanted)


def as_text(value: Any) -> str | None:
    """A JSON value as text: strings as they are, anything else as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@dataclass
class RecordColumns:
    """Reader columns filled record by record (JSON and JSONL), plus the input keys seen."""

    source: SourceConfig
    columns: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in RAW})
    keys: set[str] = field(default_factory=set)
    chars: int = 0  # characters of text so far (batches are bounded by it)
    # Per reader column: its constant, else its candidate input columns (worked out once, not per record).
    plan: list[tuple[str, str | None, list[str]]] = field(init=False)

    def __post_init__(self) -> None:
        constants = self.source.constants
        self.plan = [
            (target, constants.get(name), [] if name in constants else candidates(self.source, name))
            for name, target in TARGET.items()
        ]

    def __len__(self) -> int:
        return len(self.columns["source_line"])

    def add(self, file: str, line: int, record: dict[str, Any] | BadRecord, encoding: str) -> None:
        out = self.columns
        values = self._values(record)
        for target, value in values.items():
            out[target].append(value)
        self.chars += len(values["text"] or "")
        out["reader_error"].append(record.problem if isinstance(record, BadRecord) else None)
        out["source_file"].append(file)
        out["source_line"].append(line)
        out["encoding"].append(encoding)

    def _values(self, record: dict[str, Any] | BadRecord) -> dict[str, str | None]:
        """Reader column -> value: constants, else the first candidate holding a value (a bad
        record keeps its raw text as `text`)."""
        values: dict[str, str | None] = {}
        if isinstance(record, BadRecord):
            for target, constant, _ in self.plan:
                values[target] = constant
            if "text" not in self.source.constants:
                values["text"] = record.raw
            return values
        self.keys.update(record)
        for target, constant, names in self.plan:
            if constant is not None:
                values[target] = constant
                continue
            value = None
            for name in names:
                value = record.get(name)
                if value is not None:
                    break
            values[target] = value if value is None or isinstance(value, str) else as_text(value)
        return values

    def frame(self) -> pl.DataFrame:
        """The records so far as reader columns (lineage and layout filled by the reader)."""
        filled = {name: values for name, values in self.columns.items() if len(values) == len(self)}
        return pl.DataFrame(filled, schema={name: RAW[name] for name in filled})


def map_frame(frame: pl.DataFrame, source: SourceConfig, where: str) -> pl.DataFrame:
    """Select and rename mapped columns of a table (all strings) to reader columns."""
    exprs = []
    for name, target in TARGET.items():
        if name in source.constants:
            exprs.append(pl.lit(source.constants[name], pl.String).alias(target))
            continue
        present = [c for c in candidates(source, name) if c in frame.columns]
        if not present and name == "text" and frame.width:
            raise SourceError(
                f"{where}: no text column: sources[{source.name!r}].columns.text is "
                f"{source.columns.get('text', 'text')!r} but the file has {sorted(frame.columns)}"
            )
        value = (
            pl.coalesce([pl.col(c).cast(pl.String) for c in present]) if present else pl.lit(None, pl.String)
        )
        exprs.append(value.alias(target))
    if "__bad_record__" in frame.columns:  # rows a reader could not trust (skipped records)
        exprs.append(pl.col("__bad_record__").alias("reader_error"))
    return frame.select(exprs)


def used_columns(names: list[str], source: SourceConfig) -> set[str]:
    """The mapped input columns among `names` (for the check that each mapping is used somewhere)."""
    wanted = {c for name in TARGET if name not in source.constants for c in candidates(source, name)}
    return wanted.intersection(names)


def check_mapped(source: SourceConfig, seen: set[str], files: int) -> None:
    """Every explicitly mapped field, and the text, must find one of its columns in at least one
    file of the source: a typo in the mapping, not a record's problem, so it is checked over all
    the input columns `seen` (whatever the batches), and only once a record was read."""
    if not seen:
        return
    used = used_columns(sorted(seen), source)
    fields = {**source.columns, "text": source.columns.get("text", "text")}
    for name, wanted in fields.items():
        if name in source.constants:
            continue
        options = [wanted] if isinstance(wanted, str) else wanted
        if not used.intersection(options):
            raise SourceError(
                f"sources[{source.name!r}].columns.{name}: column {wanted!r} "
                f"is in none of its {files} file(s)"
            )


def finish(frame: pl.DataFrame, source: SourceConfig, layout: str) -> pl.DataFrame:
    """Source name, layout, the scrape day from the file name (records), constants and
    `filename_fields`; the reader columns in schema order. `source_file` is set by the reader."""
    frame = frame.with_columns(source_name=pl.lit(source.name, pl.String), layout=pl.lit(layout, pl.String))
    if layout == "record":
        day = pl.col("source_file").str.split("/").list.last().str.extract(_FILENAME_DATE.pattern, 1)
        scraped = pl.col("scraped_raw") if "scraped_raw" in frame.columns else pl.lit(None, pl.String)
        frame = frame.with_columns(scraped_raw=pl.coalesce(scraped, day))
    if "source" in source.constants and layout != "record":
        frame = frame.with_columns(source_raw=pl.lit(source.constants["source"], pl.String))
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in RAW.items() if name not in frame.columns]
    frame = frame.with_columns(missing)
    if source.filename_fields:
        frame = filename_fields(frame, source.filename_fields)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in RAW.items()])


# Canonical field (or `country`) -> the reader column it fills.
_FIELD_COLUMNS: dict[str, str] = {str(name): column for name, column in TARGET.items()} | {
    "country": "country"
}


def filename_fields(frame: pl.DataFrame, fields: FilenameFields) -> pl.DataFrame:
    """Fill empty fields from the named groups of the regex matched against each file's name."""
    names = pl.col("source_file").str.split("/").list.last()
    groups = re.compile(fields.regex).groupindex
    values = {g: names.str.extract(fields.regex, index).replace(fields.values) for g, index in groups.items()}
    return frame.with_columns(
        pl.coalesce(pl.col(_FIELD_COLUMNS[g]), value).alias(_FIELD_COLUMNS[g]) for g, value in values.items()
    )
