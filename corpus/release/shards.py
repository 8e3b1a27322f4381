"""Parquet shards per language and split, and the removed rows beside them.

Rows are sorted by id, so a shard's content depends only on the documents, never on input
order; shards close after `shard_bytes` of text and row groups after `row_group_bytes` (or
`row_group_rows`), so a streaming reader holds one small row group at a time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from corpus.schema import RELEASED, REMOVED

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 9, "write_statistics": True}
# Split names in the order the card lists them; the assignment hash decides between them.
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    """One split of one language: its shards and the sizes the card declares for them."""

    language: str
    name: str
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


def split_position(clusters: pl.Series) -> np.ndarray:
    """A number in [0, 1) per cluster id: the first 8 bytes of its sha256.

    sha256 rather than polars' hash, whose values may change between polars versions; the
    Python loop costs about 1 µs per id (0.1 s for 100,000 documents), negligible in a build.
    """
    digests = [hashlib.sha256(value.encode()).digest()[:8] for value in clusters.cast(pl.String).to_list()]
    return np.frombuffer(b"".join(digests), dtype=">u8").astype(np.float64) / 2.0**64


def assign_splits(frame: pl.DataFrame, validation: float, test: float) -> pl.Series:
    """`train`, `validation` or `test` per row, from a hash of the row's dedup cluster.

    The cluster of a row is `dup_of` when it is a removed duplicate, else its own id: released
    documents are the survivors of their clusters, so every member of a cluster, and hence no
    two near-duplicates, can land in different splits. The hash, not the row order, decides, so
    a document keeps its split in every later version while the fractions stay the same.
    """
    clusters = frame.select(pl.coalesce("dup_of", "id")).to_series()
    position = split_position(clusters)
    names = np.where(
        position < validation, "validation", np.where(position < validation + test, "test", "train")
    )
    return pl.Series("_split", names, dtype=pl.String)


def shard_plan(frame: pl.DataFrame, shard_bytes: int) -> pl.Series:
    """Shard number per row: a new shard starts when the text bytes so far pass `shard_bytes`."""
    return _chunks(frame, shard_bytes).alias("_shard")


def _chunks(frame: pl.DataFrame, chunk_bytes: int) -> pl.Series:
    size = frame["text"].str.len_bytes().fill_null(0).cast(pl.Int64)
    # Dense numbering: a document larger than `chunk_bytes` must not leave a gap in the numbers.
    return ((size.cum_sum() - size) // chunk_bytes).rank("dense").cast(pl.Int64) - 1


def write_shard(rows: pl.DataFrame, path: Path, row_group_bytes: int, row_group_rows: int) -> int:
    """One Parquet file with row groups of at most `row_group_bytes` of text (and `row_group_rows`
    rows); returns its size as `datasets` will count it (`num_bytes` in the card)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = arrow_table(rows, RELEASED)
    groups = _chunks(rows, row_group_bytes).to_numpy()
    bounds = np.flatnonzero(np.diff(groups)) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), rows.height]
    with pq.ParquetWriter(path, table.schema, **PARQUET_OPTIONS) as writer:
        for start, end in zip(starts, ends, strict=True):
            writer.write_table(table.slice(start, end - start), row_group_size=row_group_rows)
    return loaded_bytes(path)


def loaded_bytes(path: Path) -> int:
    """Arrow bytes of a Parquet file read the way `datasets` reads it (batches the size of the
    first row group), which is the `num_bytes` it records; declaring the same keeps the card exact."""
    with path.open("rb") as handle:
        fragment = ds.ParquetFileFormat().make_fragment(handle)
        batch = fragment.row_groups[0].num_rows
        batches = fragment.to_batches(batch_size=batch, batch_readahead=0, fragment_readahead=0)
        return sum(pa.Table.from_batches([b]).nbytes for b in batches)


def write_splits(
    released: pl.DataFrame,
    folder: Path,
    shard_bytes: int,
    row_group_rows: int,
    row_group_bytes: int = 64_000_000,
    validation: float = 0.0,
    test: float = 0.0,
) -> list[Split]:
    """`data/<lang>/<split>-0000i-of-0000N.parquet`, rows ordered by id; empty splits are not written."""
    rows_by_split = released.with_columns(assign_splits(released, validation, test))
    out = []
    for language in sorted(released["language"].unique().to_list()):
        for name in SPLITS:
            rows = rows_by_split.filter((pl.col("language") == language) & (pl.col("_split") == name))
            if rows.height:
                out.append(
                    _write_split(
                        rows.sort("id"), folder, language, name, shard_bytes, row_group_rows, row_group_bytes
                    )
                )
    return out


def _write_split(
    rows: pl.DataFrame,
    folder: Path,
    language: str,
    name: str,
    shard_bytes: int,
    row_group_rows: int,
    row_group_bytes: int,
) -> Split:
    shards = shard_plan(rows, shard_bytes)
    count = shards.n_unique()
    files, nbytes = [], 0
    for index in range(count):
        file = f"data/{language}/{name}-{index:05d}-of-{count:05d}.parquet"
        nbytes += write_shard(rows.filter(shards == index), folder / file, row_group_bytes, row_group_rows)
        files.append(file)
    words = int(rows["text"].str.count_matches(r"\S+").sum() or 0)
    return Split(language, name, files, rows.height, nbytes, words)


def write_removed(removed: pl.DataFrame, folder: Path, row_group_rows: int) -> str:
    """Every removed row with its step, reason and (for duplicates) the id it duplicates."""
    rows = removed.sort("source_name", "source_file", "source_line")
    name = "removed/removed-00000-of-00001.parquet"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        arrow_table(rows, REMOVED), folder / name, row_group_size=row_group_rows, **PARQUET_OPTIONS
    )
    return name
