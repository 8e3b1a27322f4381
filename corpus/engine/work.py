"""The work folder of a build: every finished unit of work as files, so a killed build resumes.

It sits beside the release (`<out>/<name>/.work-<version>`), on the same file system. Its
`fingerprint.json` names what the work was done for (corpus version, the config, the inputs'
sha256 and the libraries that shape bytes); work done for anything else is discarded. Every file
is written under a temporary name and renamed into place, and a unit's marker (`*.done.json`)
is written last, so a file that exists is complete and a unit with a marker is done. One build
at a time works in a folder (a lock); a second build of the same version waits for it, then finds
the work done.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.errors import ReleaseError

FINGERPRINT = "fingerprint.json"
# Parts are scratch: fast compression (zstd level 1) keeps the folder small without slowing steps.
PART_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}


def work_folder(target: Path) -> Path:
    """Where the work of the release `target` lives."""
    return target.parent / f".work-{target.name}"


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold a lock on the folder itself for the duration: another build of the same version waits,
    then finds the work done (or, once it was removed after a release, does it again)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def prepare(folder: Path, fingerprint: dict[str, Any], fresh: bool) -> bool:
    """Keep the folder's work if it was done for this fingerprint (and not `fresh`), else empty it;
    returns whether earlier work is reused."""
    marker = folder / FINGERPRINT
    same = marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == fingerprint
    if same and not fresh:
        return True
    folder.mkdir(parents=True, exist_ok=True)
    for child in folder.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    write_json(marker, fingerprint)
    return False


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    temporary.write_text(json.dumps(value, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_frame(path: Path, frame: pl.DataFrame) -> None:
    """A frame as Parquet, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    frame.write_parquet(temporary, **PART_OPTIONS)
    os.replace(temporary, path)


def write_partitioned(path: Path, frame: pl.DataFrame, column: str = "_partition") -> None:
    """A frame sorted by `column` as Parquet with one row group per value, so a reader takes one
    partition without reading the others; the values are in the file's metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    table = frame.to_arrow()
    values = frame[column].unique(maintain_order=True).to_list() if frame.height else []
    schema = table.schema.with_metadata({b"partitions": json.dumps(values).encode()})
    with pq.ParquetWriter(temporary, schema, **PART_OPTIONS) as writer:
        start = 0
        for size in frame[column].rle().struct.field("len").to_list() if frame.height else []:
            writer.write_table(table.slice(start, size).replace_schema_metadata(schema.metadata))
            start += size
    os.replace(temporary, path)


def read_partition(path: Path, value: int, column: str = "_partition") -> pl.DataFrame | None:
    """The rows of one partition of a file written by `write_partitioned` (None if it has none)."""
    file = pq.ParquetFile(path)
    values = json.loads((file.schema_arrow.metadata or {}).get(b"partitions", b"[]"))
    if value not in values:
        return None
    table = file.read_row_group(values.index(value))
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.drop(column)


def write_array(path: Path, array: np.ndarray) -> None:
    """An array stored whole or not at all (read back with `corpus.step.load_array`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    with temporary.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)
    os.replace(temporary, path)


def read_column(path: Path, column: str) -> pl.Series:
    table = pq.read_table(path, columns=[column])
    series = pl.from_arrow(
        table.column(column).combine_chunks() if table.num_rows else pa.array([], pa.string())
    )
    assert isinstance(series, pl.Series)
    return series.alias(column)


def check_writable(folder: Path) -> None:
    """Fail before any work when the output folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ReleaseError(f"{folder}: cannot write the release there ({exc.strerror or exc})") from exc
