"""The corpus-wide group-bys of a decision on a Ray cluster: `RayStore` is the local engine's key
store (same work folder) whose `gather` and `regroup` run as Ray Data shuffles.

A gather is a `map_batches` with one row per (part, slice): each task reads that part's keys of
that slice from the shared work folder (the phase's `rows`) and tags every row with its slice and a
bucket (a hash of the columns rows meet on, modulo the cluster's width); a `groupby` by slice and
bucket moves the rows (Ray's shuffle), and a `map_groups` runs the phase's `run` on each gathering,
its rows first put back in part order, so it sees what the local engine would hand it for those
groups. A regroup does the same from a frame the deciding process holds. Only the results (flagged
segments, candidate pairs, removed rows) come back to the driver.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from corpus.engine.parts import LocalStore
from corpus.engine.shuffle import gather_here, regroup_here
from corpus.step import Gather

# Columns a shuffle adds to the rows it moves (removed before a phase's `run` sees them).
SHUFFLE_COLUMNS = ["_slice", "_piece", "_position", "_bucket"]
# Seed of the bucket hash: rows meeting on equal `by` values land in one bucket.
BUCKET_SEED = 13
# Buckets a slice has at least one of per this many parts (a part is up to 20k documents), so a
# `map_groups` call holds a bounded share of the keys however large the corpus: at 1B documents
# (50k parts) a slice of near-duplicate band rows is 3,125 buckets of ~100 MB.
PARTS_PER_BUCKET = 16
# Blocks of a gather's (part, slice) units: at most this many per bucket of a slice, enough to keep
# every CPU busy without a block per unit (16 slices x 50k parts at 1B documents).
UNITS_PER_BUCKET = 4
# Rows of a regrouped frame per bucket, at least (edges, component rounds, stars).
ROWS_PER_BUCKET = 1_000_000
# Driver or cluster: a gather over fewer parts, or a regroup of fewer rows, runs in the driver as
# the local engine runs it (keys of at most a few hundred MB), because a Ray Data shuffle costs
# about 20 s here whatever its size (a 20k build: 113 s with five shuffles, 28 s locally).
DRIVER_PARTS = 64
DRIVER_ROWS = 1_000_000


class RayStore(LocalStore):
    """A `KeyStore` over the work folder whose gathers and regroups run on the Ray cluster, over
    at least `width` buckets a slice (a bucket is one `map_groups` call; more for large inputs)."""

    def __init__(
        self, work: Path, step: int, parts: list[str], phase: str, gone: pl.DataFrame | None, width: int
    ) -> None:
        super().__init__(work, step, parts, phase, gone)
        self.width = max(1, width)

    def gather(self, work: Gather) -> pl.DataFrame:
        import ray

        if work.parts == 0 or work.parts < DRIVER_PARTS:
            return gather_here(self, work)
        # What tasks need: the work folder and the rows earlier phases removed (sent once a gather).
        plain = LocalStore(self.work, self.step, self.parts, self.phase, self.gone)
        width = max(self.width, -(-work.parts // PARTS_PER_BUCKET))
        items = [{"part": p, "slice": s} for s in range(work.slices) for p in range(work.parts)]
        units = ray.data.from_items(items, override_num_blocks=min(len(items), UNITS_PER_BUCKET * width))
        rows = units.map_batches(
            partial(_rows, store=plain, work=work, width=width), batch_size=1, batch_format="pyarrow"
        )
        grouped = rows.groupby(["_slice", "_bucket"], num_partitions=width).map_groups(
            partial(_run, run=work.run, order=["_piece", "_position"]), batch_format="pyarrow"
        )
        return _collect(grouped)

    def regroup(
        self, frame: pl.DataFrame, by: list[str], run: Callable[[pl.DataFrame], pl.DataFrame]
    ) -> pl.DataFrame:
        import ray

        if frame.height == 0 or frame.height < DRIVER_ROWS:
            return regroup_here(frame, by, run)
        width = max(self.width, -(-frame.height // ROWS_PER_BUCKET))
        tagged = frame.with_columns(
            pl.int_range(pl.len(), dtype=pl.UInt64).alias("_position"), _bucket=_bucket(by, width)
        )
        step = -(-tagged.height // self.width)
        blocks = [tagged.slice(low, step).to_arrow() for low in range(0, tagged.height, step)]
        grouped = (
            ray.data.from_arrow(blocks)
            .groupby("_bucket", num_partitions=width)
            .map_groups(partial(_run, run=run, order=["_position"]), batch_format="pyarrow")
        )
        return _collect(grouped)


def _bucket(by: list[str] | tuple[str, ...], width: int) -> pl.Expr:
    return (pl.struct(list(by)).hash(BUCKET_SEED) % width).cast(pl.UInt32)


def _rows(batch: pa.Table, store: LocalStore, work: Gather, width: int) -> pa.Table:
    """One (part, slice) unit's rows, tagged for the shuffle."""
    part, number = batch.column("part")[0].as_py(), batch.column("slice")[0].as_py()
    rows = work.rows(store, part, number)
    return rows.with_columns(
        pl.lit(number, pl.UInt32).alias("_slice"),
        pl.lit(part, pl.UInt32).alias("_piece"),
        pl.int_range(pl.len(), dtype=pl.UInt64).alias("_position"),
        _bucket=_bucket(work.by, width),
    ).to_arrow()


def _run(table: pa.Table, run: Callable[[pl.DataFrame], pl.DataFrame], order: list[str]) -> pa.Table:
    """A phase's `run` over one gathering, its rows in the order the local engine gives them."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.sort(order).drop([c for c in SHUFFLE_COLUMNS if c in frame.columns])
    return run(frame).to_arrow()


def _collect(grouped: Any) -> pl.DataFrame:
    """The results of every gathering, in this process (empty, without columns, when none)."""
    frames = []
    for table in grouped.iter_batches(batch_size=None, batch_format="pyarrow"):
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        if frame.height:
            frames.append(frame)
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
