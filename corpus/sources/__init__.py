"""Read every configured source into one frame of reader columns (`schema.RAW`), with lineage."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from corpus.config import FilenameFields, LoadedConfig, SourceConfig, absolute
from corpus.errors import SourceError
from corpus.schema import RAW
from corpus.sources.files import read_articles, read_pages, relative_name
from corpus.sources.tables import TARGET, map_columns, read_table

SUFFIXES = {
    "pages": ".txt",
    "text": ".txt",
    "jsonl": ".jsonl",
    "json": ".json",
    "csv": ".csv",
    "parquet": ".parquet",
}
_FILENAME_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def list_files(source: SourceConfig, root: Path) -> list[Path]:
    """The files of a source (a file, a folder searched recursively, or a glob), in sorted order."""
    pattern = source.path
    if any(ch in pattern for ch in "*?["):
        base = root
        files = [p for p in base.glob(pattern) if p.is_file()]
    else:
        target = absolute(root / pattern)
        if target.is_dir():
            files = [p for p in target.rglob(f"*{SUFFIXES[source.kind]}") if p.is_file()]
        elif target.is_file():
            files = [target]
        else:
            raise SourceError(
                f"sources[{source.name!r}].path: {pattern} does not exist (relative to {root.name}/)"
            )
    if not files:
        raise SourceError(f"sources[{source.name!r}].path: {pattern} matches no file")
    return sorted({absolute(p) for p in files}, key=lambda p: relative_name(p, root))


def read_source(source: SourceConfig, root: Path) -> pl.DataFrame:
    """All records of one source, in file order then line order."""
    files = list_files(source, root)
    if source.kind == "pages":
        frame = read_pages(files, source, root)
    elif source.kind == "text":
        frame = read_articles(files, source, root)
    else:
        frame = _read_tables(files, source, root)
    frame = frame.with_columns(source_name=pl.lit(source.name))
    if "source" in source.constants and source.kind in ("pages", "text"):
        frame = frame.with_columns(source_raw=pl.lit(source.constants["source"]))
    if source.filename_fields:
        frame = _filename_fields(frame, source.filename_fields)
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in RAW.items() if name not in frame.columns]
    return frame.with_columns(missing).select(list(RAW))


# Canonical field (or `country`) -> the reader column it fills.
_FIELD_COLUMNS: dict[str, str] = {field: column for field, column in TARGET.items()} | {"country": "country"}


def _filename_fields(frame: pl.DataFrame, fields: FilenameFields) -> pl.DataFrame:
    """Fill empty fields from the named groups of the regex matched against each file's name."""
    names = pl.col("source_file").str.split("/").list.last()
    groups = re.compile(fields.regex).groupindex
    values = {g: names.str.extract(fields.regex, index).replace(fields.values) for g, index in groups.items()}
    return frame.with_columns(
        pl.coalesce(pl.col(_FIELD_COLUMNS[g]), value).alias(_FIELD_COLUMNS[g]) for g, value in values.items()
    )


def _read_tables(files: list[Path], source: SourceConfig, root: Path) -> pl.DataFrame:
    frames, used_anywhere = [], set()
    for path in files:
        name = relative_name(path, root)
        table = read_table(path, source)
        mapped, used = map_columns(table, source, name)
        used_anywhere |= used
        day = _FILENAME_DATE.search(path.name)
        frames.append(
            mapped.with_columns(
                scraped_raw=pl.coalesce("scraped_raw", pl.lit(day.group(1) if day else None, pl.String)),
                source_file=pl.lit(name),
                layout=pl.lit("record"),
            )
        )
    for field, wanted in source.columns.items():
        candidates = [wanted] if isinstance(wanted, str) else wanted
        if not used_anywhere.intersection(candidates):
            raise SourceError(
                f"sources[{source.name!r}].columns.{field}: column {wanted!r} "
                f"is in none of its {len(files)} file(s)"
            )
    return pl.concat(frames, how="vertical_relaxed")


def read_sources(loaded: LoadedConfig) -> pl.DataFrame:
    """Every source of the config, concatenated in config order."""
    frames = [read_source(source, loaded.root) for source in loaded.config.sources]
    return pl.concat(frames, how="vertical")
