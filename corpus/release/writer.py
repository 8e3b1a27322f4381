"""Write a release from an engine's output, batch by batch, never holding the corpus.

The one owner of a release's files. Two passes over the final batches' rows:

1. Each batch is folded into the report (`report.Report`); its released rows go to buckets by id
   prefix (Arrow IPC files: ids are uniform hashes, so buckets are even), as the shards' columns
   and, row for row, the signatures file's; its removed rows go to one spool per source, and the
   sizes that decide shards are noted (id, language, split, text bytes).
2. The shard layout is computed from those sizes (a shard closes after `shard_bytes` of text, a row
   group after `row_group_bytes` or `row_group_rows`), then buckets are read in id order, each
   sorted in Arrow, and rows stream into `data/<language>/<split>-0000i-of-0000N.parquet` and
   `signatures/minhash.parquet`; spools are read in source-name order into `removed/`.

Memory: one bucket and its rows taken in id order, plus at most two row groups per open shard.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.config import Config
from corpus.dedup.store import SIGNATURES, signature_table
from corpus.engine.memory import check_ledger
from corpus.errors import LedgerError
from corpus.release.report import Report
from corpus.release.shards import SPLITS, Split, arrow_table, assign_splits, loaded_bytes, parquet_options
from corpus.schema import RELEASED, REMOVED, conform
from corpus.step import KEY, ROW, Keys

# Text bytes a bucket of released rows should hold (the most the writer holds at once).
BUCKET_BYTES = 64_000_000
# Rows per row group of the signatures file (512 bytes of signature each: 32 MB).
SIGNATURE_ROWS = 1 << 16
# Final batches being prepared at once (each holds one batch and its pieces).
READ_AHEAD = 2
# Threads compressing row groups for all of a release's files at once (one per core here).
COMPRESSING = 2
# Suffix of a bucket's spool of signature-file rows (same rows, same order as the bucket's).
SIGNED = "-signed"


class Output(Protocol):
    """What an engine hands the writer."""

    rows_read: int

    def batches(self) -> Iterator[tuple[int, pl.DataFrame]]: ...

    def keys(self, phase: str, part: int) -> Keys: ...


@dataclass
class Written:
    """What was written: the splits (for the card) and the report of every row."""

    splits: list[Split]
    report: Report


def shard_numbers(sizes: np.ndarray, limit: int) -> np.ndarray:
    """Shard (or row group) of each row in order: a new one starts when the bytes before a row pass
    `limit`; numbered densely, so a row larger than `limit` leaves no gap."""
    if sizes.size == 0:
        return np.zeros(0, dtype=np.int64)
    blocks = (np.cumsum(sizes) - sizes) // limit
    return np.concatenate([[0], np.cumsum(np.diff(blocks) > 0)]).astype(np.int64)


class ShardWriter:
    """Rows of one output, in final order, into numbered Parquet shards of row groups. Each row's
    shard and byte-chunk are known up front; a chunk is written `row_group_rows` rows at a time."""

    def __init__(
        self,
        folder: Path,
        pattern: str,
        sizes: np.ndarray,
        shard_bytes: int,
        group_bytes: int,
        group_rows: int,
        threads: Executor,
        options: dict[str, Any],
    ):
        self.folder, self.pattern, self.group_rows, self.options = folder, pattern, group_rows, options
        self.shards = shard_numbers(sizes, shard_bytes)
        self.chunks = np.zeros(sizes.size, dtype=np.int64)
        for shard in range(self.count):
            rows = np.flatnonzero(self.shards == shard)
            self.chunks[rows] = shard_numbers(sizes[rows], group_bytes)
        self.position = 0
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.shard = -1
        self.files: list[tuple[str, int]] = []
        # Row groups are compressed on `threads` (zstd releases the GIL), one at a time per shard,
        # so shards of several languages compress at once while buckets are sorted.
        self.threads = threads
        self.writing: Future[None] | None = None

    @property
    def count(self) -> int:
        return int(self.shards.max()) + 1 if self.shards.size else 0

    def name(self, shard: int) -> str:
        return self.pattern.format(index=shard, count=self.count)

    def add(self, table: pa.Table) -> None:
        """The next rows of this output, in order."""
        while table.num_rows:
            at = self.position
            shard, chunk = self.shards[at], self.chunks[at]
            same = (self.shards[at : at + table.num_rows] == shard) & (
                self.chunks[at : at + table.num_rows] == chunk
            )
            run = int(np.argmin(same)) if not same.all() else table.num_rows
            if shard != self.shard or (self.pending and self._chunk_of_pending() != chunk):
                self._flush()
            if shard != self.shard:
                self._open(int(shard), table.schema)
            take = min(run, self.group_rows - self.pending_rows)
            self.pending.append(table.slice(0, take))
            self.pending_rows += take
            self.position += take
            table = table.slice(take)
            if self.pending_rows == self.group_rows:
                self._flush()

    def _chunk_of_pending(self) -> int:
        return int(self.chunks[self.position - 1])

    def _open(self, shard: int, schema: pa.Schema) -> None:
        self._close()
        self.shard = shard
        path = self.folder / self.name(shard)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(path, schema, **self.options)

    def _flush(self) -> None:
        if self.pending and self.writer is not None:
            group = pa.concat_tables(self.pending).combine_chunks()
            self._wait()
            self.writing = self.threads.submit(self.writer.write_table, group, row_group_size=self.group_rows)
        self.pending, self.pending_rows = [], 0

    def _wait(self) -> None:
        if self.writing is not None:
            self.writing.result()
            self.writing = None

    def _close(self) -> None:
        self._flush()
        self._wait()
        if self.writer is not None:
            self.writer.close()
            name = self.name(self.shard)
            self.files.append((name, loaded_bytes(self.folder / name)))
            self.writer = None

    def close(self) -> list[tuple[str, int]]:
        """Finish the last shard; (file, bytes as `datasets` counts them) of every shard."""
        self._close()
        if self.position != self.shards.size:
            raise LedgerError(f"{self.pattern}: {self.position} rows written, {self.shards.size} planned")
        return self.files


@dataclass
class Spools:
    """Arrow IPC files of rows, appended batch by batch and read back in one piece each."""

    folder: Path
    writers: dict[str, tuple[Any, pa.ipc.RecordBatchStreamWriter]] = field(default_factory=dict)

    def add(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if name not in self.writers:
            sink = pa.OSFile(str(self.folder / f"{name}.arrows"), "wb")
            self.writers[name] = (sink, pa.ipc.new_stream(sink, table.schema))
        self.writers[name][1].write_table(table)

    def close(self) -> None:
        for sink, writer in self.writers.values():
            writer.close()
            sink.close()

    def read(self, name: str) -> pa.Table | None:
        """A whole spool (a bucket: about `BUCKET_BYTES` of text)."""
        path = self.folder / f"{name}.arrows"
        if not path.is_file():
            return None
        with pa.OSFile(str(path), "rb") as source:
            return pa.ipc.open_stream(source).read_all()

    def stream(self, name: str) -> Iterator[pa.Table]:
        """A spool batch by batch, as it was written (removed rows: one batch per part)."""
        path = self.folder / f"{name}.arrows"
        if not path.is_file():
            return
        with pa.OSFile(str(path), "rb") as source:
            for batch in pa.ipc.open_stream(source):
                yield pa.Table.from_batches([batch])


def bucket_count(input_bytes: int) -> int:
    """Buckets for released rows: a power of two (up to 4096) giving about `BUCKET_BYTES` each."""
    count = 1
    while count < 4096 and input_bytes / count > BUCKET_BYTES:
        count *= 2
    return count


def buckets_of(ids: pl.Series, count: int) -> np.ndarray:
    """The bucket of each id: its first three hex digits scaled to `count` (ids are hex hashes)."""
    prefix = ids.str.slice(0, 3).str.to_integer(base=16, strict=False).fill_null(0).to_numpy()
    return (prefix.astype(np.int64) * count) // 4096


def _signature_columns(
    released: pl.DataFrame, positions: np.ndarray, height: int, keys: Keys | None, exact: Keys | None
) -> pl.DataFrame:
    """`minhash` and `matching_hash` of released rows (by their rows in the batch), from the keys
    the near and exact phases took."""
    if keys is None or exact is None:
        return pl.DataFrame(
            {"minhash": [None] * released.height, "matching_hash": [None] * released.height},
            schema={"minhash": pl.List(pl.UInt32), "matching_hash": pl.UInt64},
        )
    key_of = np.full(height, -1, dtype=np.int64)
    key_of[keys.frame[ROW].to_numpy()] = keys.frame[KEY].to_numpy()
    at = key_of[positions]
    minhash = np.asarray(keys.arrays["minhash"])[at]
    exact_of = np.full(key_of.size, -1, dtype=np.int64)
    exact_of[exact.frame[ROW].to_numpy()] = exact.frame[KEY].to_numpy()
    matching = exact.frame["_hash"].to_numpy()[exact_of[positions]]
    values = pa.array(minhash.reshape(-1))
    offsets = pa.array(
        np.arange(0, minhash.size + 1, minhash.shape[1] if minhash.ndim == 2 else 1, dtype=np.int64)
    )
    column = pl.Series("minhash", pa.LargeListArray.from_arrays(offsets, values))
    return pl.DataFrame([column, pl.Series("matching_hash", matching, dtype=pl.UInt64)])


@dataclass
class Prepared:
    """One final batch made ready on a thread: its counts, and its rows cut for the spools."""

    report: Report
    lineage: np.ndarray
    sizes: pl.DataFrame
    buckets: list[tuple[str, pa.Table]]
    removed: list[tuple[str, pa.Table, np.ndarray]]


def prepare(config: Config, output: Output, part: int, batch: pl.DataFrame, count: int) -> Prepared:
    """Split one final batch into released rows (with split and signatures, cut by bucket) and
    removed rows (by source), and count it."""
    release = config.release
    live = batch["removed_reason"].is_null()
    released = batch.filter(live)
    released = released.with_columns(assign_splits(released, release.validation, release.test))
    removed = batch.filter(~live)
    report = Report()
    report.add(released, removed)
    lineage = (
        batch.select(pl.struct("source_name", "source_file", "source_line").hash(7)).to_series().to_numpy()
    )
    positions = np.flatnonzero(live.to_numpy())
    near, exact = _keys(output, "near_dedup", part), _keys(output, "exact_dedup", part)
    signed = _signature_columns(released, positions, batch.height, near, exact)
    rows = released.select(*RELEASED, "_split").hstack(signed)
    sizes = rows.select("id", "language", "_split", _bytes=pl.col("text").str.len_bytes().fill_null(0))
    which = buckets_of(rows["id"], count)
    buckets = []
    for bucket in np.unique(which).tolist():
        rows_of = rows.filter(pl.Series(which == bucket))
        buckets.append((f"{bucket:04d}", arrow_table(rows_of, [*RELEASED, "_split"])))
        buckets.append((f"{bucket:04d}{SIGNED}", signature_table(rows_of, config.dedup)))
    spooled = [
        (str(source), arrow_table(rows_of, REMOVED), rows_of["text"].str.len_bytes().fill_null(0).to_numpy())
        for (source,), rows_of in removed.group_by("source_name", maintain_order=True)
    ]
    return Prepared(report, lineage, sizes, buckets, spooled)


def _prepared(config: Config, output: Output, count: int) -> Iterator[Prepared]:
    """Every final batch prepared, in part order: batches are read here and prepared on threads
    (polars and Arrow release the GIL), at most `READ_AHEAD` batches in flight."""
    with ThreadPoolExecutor(READ_AHEAD) as threads:
        flight: list[Future[Prepared]] = []
        for part, batch in output.batches():
            flight.append(threads.submit(prepare, config, output, part, batch, count))
            if len(flight) >= READ_AHEAD:
                yield flight.pop(0).result()
        for future in flight:
            yield future.result()


def write_release(
    config: Config,
    output: Output,
    folder: Path,
    scratch: Path,
    input_bytes: int,
    counted: Callable[[Report], None] | None = None,
) -> Written:
    """Data shards, removed rows and signatures of a build into `folder` (see the module doc);
    `counted` is called with the report once every row is counted, before the shards are written
    (the build draws the card's plots meanwhile)."""
    scratch.mkdir(parents=True, exist_ok=True)
    report = Report()
    count = bucket_count(input_bytes)
    buckets, spools = Spools(scratch / "buckets"), Spools(scratch / "removed")
    buckets.folder.mkdir(exist_ok=True)
    spools.folder.mkdir(exist_ok=True)
    sizes: list[pl.DataFrame] = []
    removed_sizes: dict[str, list[np.ndarray]] = {}
    lineage: list[np.ndarray] = []
    for ready in _prepared(config, output, count):
        report.merge(ready.report)
        lineage.append(ready.lineage)
        sizes.append(ready.sizes)
        for name, table in ready.buckets:
            buckets.add(name, table)
        for source, table, text_bytes in ready.removed:
            spools.add(source, table)
            removed_sizes.setdefault(source, []).append(text_bytes)
    buckets.close()
    spools.close()
    _check_ledger(output.rows_read, report, lineage)
    if counted is not None:
        counted(report)
    # Removed rows go out beside the data shards; every file's row groups compress on one small pool.
    with ThreadPoolExecutor(1) as beside, ThreadPoolExecutor(COMPRESSING) as threads:
        removing = beside.submit(_write_removed, config, folder, spools, removed_sizes, threads)
        splits = _write_data(
            config, folder, buckets, count, pl.concat(sizes) if sizes else None, dict(report.words), threads
        )
        removing.result()
    shutil.rmtree(scratch, ignore_errors=True)
    return Written(splits, report)


def _keys(output: Output, phase: str, part: int) -> Keys | None:
    try:
        return output.keys(phase, part)
    except FileNotFoundError:
        return None


def _check_ledger(rows_read: int, report: Report, lineage: list[np.ndarray]) -> None:
    """Rows read must equal rows released plus rows removed, and no input row may appear twice."""
    check_ledger(rows_read, report.released, report.removed)
    hashes = np.concatenate(lineage) if lineage else np.zeros(0, dtype=np.uint64)
    if np.unique(hashes).size != hashes.size:
        raise LedgerError("ledger: an input row appears twice in the output")


def _write_data(
    config: Config,
    folder: Path,
    buckets: Spools,
    count: int,
    sizes: pl.DataFrame | None,
    words: dict[tuple[str, str], int],
    threads: Executor,
) -> list[Split]:
    """Shards per language and split, and the signatures file, from the buckets in id order."""
    release = config.release
    options = parquet_options(release.compression_level)
    if sizes is None or sizes.height == 0:  # nothing released: an empty signatures file
        empty = conform(pl.DataFrame()).with_columns(
            minhash=pl.lit(None, pl.List(pl.UInt32)), matching_hash=pl.lit(None, pl.UInt64)
        )
        _write_empty(folder / SIGNATURES, signature_table(empty, config.dedup), options)
        return []
    sizes = sizes.sort("id")
    writers: dict[tuple[str, str], ShardWriter] = {}
    for (language, split), rows in sizes.group_by("language", "_split", maintain_order=True):
        pattern = f"data/{language}/{split}-{{index:05d}}-of-{{count:05d}}.parquet"
        writers[(str(language), str(split))] = ShardWriter(
            folder,
            pattern,
            rows["_bytes"].to_numpy(),
            release.shard_bytes,
            release.row_group_bytes,
            release.row_group_rows,
            threads,
            options,
        )
    signatures = _signature_writer(folder, np.zeros(sizes.height, dtype=np.int64), threads, options)
    for bucket in range(count):
        table, signed = buckets.read(f"{bucket:04d}"), buckets.read(f"{bucket:04d}{SIGNED}")
        if table is None or signed is None:
            continue
        order = pc.sort_indices(table, sort_keys=[("id", "ascending")])
        signatures.add(signed.take(order))
        for (language, split), rows in _groups(table, order):
            writers[(language, split)].add(table.take(rows).select(RELEASED))
        del table, signed, order
    signatures.close()
    return _splits(writers, words)


def _groups(table: pa.Table, order: pa.Array) -> Iterator[tuple[tuple[str, str], pa.Array]]:
    """Each (language, split) of a table's rows, with its rows' positions in `order`."""
    language, split = table["language"].take(order), table["_split"].take(order)
    pairs = pa.table({"language": language, "split": split}).group_by(["language", "split"]).aggregate([])
    for lang, name in zip(pairs["language"].to_pylist(), pairs["split"].to_pylist(), strict=True):
        same = pc.equal(language, lang) if lang is not None else pc.is_null(language)
        yield (str(lang), str(name)), order.filter(pc.and_(same, pc.equal(split, name)))


def _splits(writers: dict[tuple[str, str], ShardWriter], words: dict[tuple[str, str], int]) -> list[Split]:
    out = []
    for language in sorted({lang for lang, _ in writers}):
        for name in SPLITS:
            writer = writers.get((language, name))
            if writer is None:
                continue
            files = writer.close()
            documents = int(writer.shards.size)
            size = sum(b for _, b in files)
            out.append(
                Split(language, name, [f for f, _ in files], documents, size, words.get((language, name), 0))
            )
    return out


def _signature_writer(
    folder: Path, sizes: np.ndarray, threads: Executor, options: dict[str, Any]
) -> ShardWriter:
    """One file, row groups of `SIGNATURE_ROWS` (sizes are zeros: one shard, one byte-chunk)."""
    return ShardWriter(folder, SIGNATURES, sizes, 1, 1, SIGNATURE_ROWS, threads, options)


def _write_removed(
    config: Config, folder: Path, spools: Spools, sizes: dict[str, list[np.ndarray]], threads: Executor
) -> None:
    """`removed/removed-0000i-of-0000N.parquet`, rows by source name, file and line."""
    release = config.release
    options = parquet_options(release.compression_level)
    names = sorted(sizes)
    every = (
        np.concatenate([np.concatenate(sizes[name]) for name in names]) if names else np.zeros(0, np.int64)
    )
    pattern = "removed/removed-{index:05d}-of-{count:05d}.parquet"
    layout = (release.shard_bytes, release.row_group_bytes, release.row_group_rows)
    writer = ShardWriter(folder, pattern, every, *layout, threads, options)
    for name in names:
        for table in spools.stream(name):
            writer.add(table)
    writer.close()
    if not names:  # nothing removed: an empty file says so (and keeps the schema)
        empty = arrow_table(conform(pl.DataFrame()), REMOVED)
        _write_empty(folder / pattern.format(index=0, count=1), empty, options)


def _write_empty(path: Path, table: pa.Table, options: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **options)
