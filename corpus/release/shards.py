"""What a release's Parquet files are: plain Arrow types, zstd, the split of each document, and
their size as `datasets` counts it. `corpus.release.writer` writes them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa


def parquet_options(level: int) -> dict[str, Any]:
    """How every Parquet file of a release is written: zstd at `level`, with column statistics."""
    return {"compression": "zstd", "compression_level": level, "write_statistics": True}


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


def loaded_bytes(path: Path) -> int:
    """Arrow bytes of a Parquet file read the way `datasets` reads it (batches the size of the
    first row group), which is the `num_bytes` it records; declaring the same keeps the card exact."""
    import pyarrow.dataset as ds  # here, not at the top: it imports pandas (~1 s before a build starts)

    with path.open("rb") as handle:
        fragment = ds.ParquetFileFormat().make_fragment(handle)
        batch = fragment.row_groups[0].num_rows
        batches = fragment.to_batches(batch_size=batch, batch_readahead=0, fragment_readahead=0)
        return sum(pa.Table.from_batches([b]).nbytes for b in batches)
