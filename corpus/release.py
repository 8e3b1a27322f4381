"""Write a release: Parquet shards per language, removed rows, the dataset card, the manifest.

Everything is written into a hidden temporary folder beside the target and renamed into place
at the end, so no half-written version is ever visible. A version that already exists is left
alone when identical and refused when different (unless forced).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.errors import ReleaseError
from corpus.schema import RELEASED, REMOVED

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 9, "write_statistics": True}


@dataclass(frozen=True)
class Split:
    """One language's shards and the sizes the card declares for them."""

    language: str
    files: list[str]
    num_examples: int
    num_bytes: int
    words: int


def arrow_table(frame: pl.DataFrame, columns: list[str]) -> pa.Table:
    """A plain-typed Arrow table (string, not string_view) so every reader sees the same schema."""
    table = frame.select(columns).to_arrow()
    fields = [pa.field(f.name, _plain(f.type)) for f in table.schema]
    return table.cast(pa.schema(fields))


def _plain(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_list(kind) or pa.types.is_list_view(kind) or pa.types.is_list(kind):
        return pa.list_(_plain(kind.value_type))
    return kind


def shard_plan(frame: pl.DataFrame, shard_bytes: int) -> pl.Series:
    """Shard number per row: a new shard starts when the text bytes so far pass `shard_bytes`."""
    size = frame["text"].str.len_bytes().fill_null(0).cast(pl.Int64)
    # Dense numbering: a document larger than `shard_bytes` must not leave a gap in the shard numbers.
    return (((size.cum_sum() - size) // shard_bytes).rank("dense").cast(pl.Int64) - 1).alias("_shard")


def write_splits(released: pl.DataFrame, folder: Path, shard_bytes: int, row_group_rows: int) -> list[Split]:
    """`data/<lang>/train-0000i-of-0000N.parquet`, rows ordered by id inside each language."""
    splits = []
    for language in sorted(released["language"].unique().to_list()):
        rows = released.filter(pl.col("language") == language).sort("id")
        rows = rows.with_columns(shard_plan(rows, shard_bytes))
        count = rows["_shard"].n_unique()
        files, nbytes = [], 0
        for index in range(count):
            table = arrow_table(rows.filter(pl.col("_shard") == index), RELEASED)
            name = f"data/{language}/train-{index:05d}-of-{count:05d}.parquet"
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, folder / name, row_group_size=row_group_rows, **PARQUET_OPTIONS)
            files.append(name)
            nbytes += table.nbytes
        words = int(rows["text"].str.count_matches(r"\S+").sum() or 0)
        splits.append(Split(language, files, rows.height, nbytes, words))
    return splits


def write_removed(removed: pl.DataFrame, folder: Path, row_group_rows: int) -> str:
    """Every removed row with its step, reason and (for duplicates) the id it duplicates."""
    rows = removed.sort("source_name", "source_file", "source_line")
    name = "removed/removed-00000-of-00001.parquet"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        arrow_table(rows, REMOVED), folder / name, row_group_size=row_group_rows, **PARQUET_OPTIONS
    )
    return name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_table(folder: Path, with_manifest: bool = False) -> dict[str, dict[str, object]]:
    """sha256 and size of every file under `folder` (the manifest only if asked), by relative path."""
    return {
        path.relative_to(folder).as_posix(): {
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
        }
        for path in sorted(folder.rglob("*"))
        if path.is_file() and (with_manifest or path.name != "manifest.json")
    }


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def staging_folder(target: Path) -> Path:
    """A fresh hidden folder beside the target (same file system, so the final rename is atomic)."""
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def publish_folder(staging: Path, target: Path, force: bool) -> str:
    """Move the staged release into place; returns "new", "unchanged" or "replaced"."""
    if not target.exists():
        staging.rename(target)
        return "new"
    old, new = file_table(target, with_manifest=True), file_table(staging, with_manifest=True)
    if old == new:
        shutil.rmtree(staging)
        return "unchanged"
    if not force:
        shutil.rmtree(staging)
        differ = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        shown = ", ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
        raise ReleaseError(
            f"{target} exists with different content ({shown}); bump the version or pass --force"
        )
    trash = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(trash)
    staging.rename(target)
    shutil.rmtree(trash)
    return "replaced"
