"""The in-memory engine: the plan's steps over one frame, for tests, notebooks and small inputs.

It runs the same steps with the same batch functions as the local engine (`corpus.engine.batch`),
with the whole frame as one batch and its keys held in memory.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from corpus.engine.batch import (
    Counts,
    StepCount,
    StepReport,
    apply_removals,
    apply_rewrite,
    run_map,
    start,
    step_reports,
    take_keys,
)
from corpus.engine.shuffle import InProcess
from corpus.errors import LedgerError
from corpus.step import Keys, Map, Phase, Step


class MemoryStore(InProcess):
    """A `KeyStore` over one batch's keys held in memory."""

    def __init__(self, keys: Keys, batch: pl.DataFrame, scratch: Path) -> None:
        self.keys, self.batch, self.folder = keys, batch, scratch

    def arrays(self, name: str) -> list[np.ndarray]:
        return [self.keys.arrays[name]]

    def texts(self, parts: np.ndarray, rows: np.ndarray) -> pl.Series:
        return self.batch["text"].gather(rows.astype(np.int64))

    def scratch(self) -> Path:
        return self.folder

    def part_count(self) -> int:
        return 1

    def part_keys(self, part: int, partition: int | None = None) -> pl.DataFrame:
        frame = self.keys.frame
        if partition is None:
            return frame
        return frame.filter(pl.col("_partition") == partition).drop("_partition")

    def part_array(self, name: str, part: int) -> np.ndarray:
        return self.keys.arrays[name]


@dataclass
class MemoryResult:
    """Every row after the steps (removed ones marked), and each step's ledger."""

    rows: pl.DataFrame
    steps: list[StepReport]
    rows_read: int

    @property
    def released(self) -> pl.DataFrame:
        return self.rows.filter(pl.col("removed_reason").is_null())

    @property
    def removed(self) -> pl.DataFrame:
        return self.rows.filter(pl.col("removed_reason").is_not_null())

    def batches(self) -> Iterator[tuple[int, pl.DataFrame]]:
        """The rows as one batch (so the release writer can write them)."""
        yield 0, self.rows

    def keys(self, phase: str, part: int) -> Keys:
        """No phase keys are kept in memory: the writer leaves signatures empty."""
        raise FileNotFoundError(phase)

    def check_ledger(self) -> None:
        """Rows read must equal rows released plus rows removed, and no input row may appear twice."""
        check_ledger(self.rows_read, self.released.height, self.removed.height)
        lineage = self.rows.select("source_name", "source_file", "source_line")
        if lineage.is_duplicated().any():
            raise LedgerError("ledger: an input row appears twice in the output")


def check_ledger(rows_read: int, released: int, removed: int) -> None:
    if rows_read != released + removed:
        raise LedgerError(
            f"ledger does not balance: {rows_read} read != {released} released + {removed} removed"
        )


def run_steps(frame: pl.DataFrame, steps: Iterable[Step]) -> MemoryResult:
    """Every step over one frame (reader columns or canonical ones), the whole frame one batch."""
    steps = list(steps)
    batch, counts = start(frame), Counts()
    with tempfile.TemporaryDirectory(prefix="corpus-") as scratch:
        for step in steps:
            if isinstance(step, Map):
                batch = run_map(batch, step, counts)
            else:
                batch = _phase(batch, step, counts, Path(scratch))
    return MemoryResult(batch, step_reports([s.name for s in steps], counts), frame.height)


def _phase(batch: pl.DataFrame, phase: Phase, counts: Counts, scratch: Path) -> pl.DataFrame:
    store = MemoryStore(take_keys(batch, phase, counts), batch, scratch)
    started = time.perf_counter()
    decisions = phase.decide(store)
    count = counts[phase.name]
    count.seconds += time.perf_counter() - started
    if phase.rewrites:
        out = apply_rewrite(batch, phase, decisions, counts)
        removed: dict[str, int] = {}
    else:
        out = apply_removals(batch, phase.name, decisions)
        removed = {str(r): int(n) for r, n in decisions["removed_reason"].value_counts().iter_rows()}
    count.add(StepCount(0, count.rows_in - sum(removed.values()), 0.0, removed))
    return out


def run_phase(phase: Phase, frame: pl.DataFrame) -> pl.DataFrame:
    """One phase over one in-memory frame (keys, decision, apply): every row, removed ones marked."""
    return run_steps(frame, [phase]).rows
