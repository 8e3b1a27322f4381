"""Read sources at the edge of the pipeline: plan read tasks, then read each into batches of
reader columns (`schema.RAW`) with lineage (source, file relative to the config, line or row).

Kinds: `pages` and `text` (a document per file), `jsonl` (a record per line, large files cut
into byte ranges), `json` (a whole document), `csv` and `parquet`. Any file may be gzip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from corpus.config import LoadedConfig, SourceConfig
from corpus.sources.documents import read_documents
from corpus.sources.mapping import check_mapped, finish, used_columns
from corpus.sources.paths import list_files, relative_name
from corpus.sources.records import read_json, read_jsonl
from corpus.sources.tables import read_csv, read_parquet
from corpus.sources.task import FilePart, Limits, ReadTask, plan_reads

__all__ = [
    "FilePart",
    "Limits",
    "ReadTask",
    "check_mapped",
    "list_files",
    "plan_reads",
    "read_source",
    "read_sources",
    "read_task",
    "relative_name",
    "used_columns",
]

Reader = Callable[[ReadTask, SourceConfig, Limits, set[str]], Iterator[pl.DataFrame]]
LAYOUT = {"pages": "page", "text": "article"}


READERS: dict[str, Reader] = {
    "pages": read_documents,
    "text": read_documents,
    "jsonl": read_jsonl,
    "json": read_json,
    "csv": read_csv,
    "parquet": read_parquet,
}


def read_task(task: ReadTask, source: SourceConfig, limits: Limits, seen: set[str]) -> Iterator[pl.DataFrame]:
    """The batches of one read task, as reader columns; `seen` gains the input columns found.
    Frames of small files are joined into batches up to `limits`."""
    layout = LAYOUT.get(source.kind, "record")
    pending: list[pl.DataFrame] = []
    rows = chars = 0
    for frame in READERS[source.kind](task, source, limits, seen):
        size = int(frame["text"].str.len_chars().sum() or 0)
        if pending and limits.reached(rows + frame.height, chars + size):
            yield finish(pl.concat(pending, how="diagonal_relaxed"), source, layout)
            pending, rows, chars = [], 0, 0
        pending.append(frame)
        rows, chars = rows + frame.height, chars + size
    if pending:
        yield finish(pl.concat(pending, how="diagonal_relaxed"), source, layout)


# One batch for everything: reading a whole source into one frame.
WHOLE = Limits(1 << 40, 1 << 62)


def read_source(source: SourceConfig, root: Path) -> pl.DataFrame:
    """Every record of one source in one frame (for notebooks and tests: a build reads batches)."""
    limits = WHOLE
    loaded_tasks = plan_reads(_single(source, root), limits, 1 << 62)
    seen: set[str] = set()
    frames = [frame for task in loaded_tasks for frame in read_task(task, source, limits, seen)]
    files = len({p.path for t in loaded_tasks for p in t.parts})
    check_mapped(source, seen, files)
    return (
        pl.concat(frames, how="vertical")
        if frames
        else finish(pl.DataFrame(), source, LAYOUT.get(source.kind, "record"))
    )


def read_sources(loaded: LoadedConfig) -> pl.DataFrame:
    """Every source of the config in one frame, in config order (notebooks and tests)."""
    return pl.concat([read_source(source, loaded.root) for source in loaded.config.sources], how="vertical")


def _single(source: SourceConfig, root: Path) -> LoadedConfig:
    from corpus.config import Config

    config = Config.model_construct(name="one", version="0.0.0", sources=[source])
    return LoadedConfig.model_construct(config=config, root=root, raw={})
