"""What every engine does to one batch: run maps over its live rows, take a phase's keys, apply
decisions, and count rows in, rows out, removals by reason and seconds per step (the ledger of
the batch, summed by the engine).

A map sees only the batch's live rows and must return them, in order; rows it marks with a
`removed_reason` leave the live rows (they stay in the batch, with `removed_step`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from corpus.errors import LedgerError
from corpus.schema import conform
from corpus.step import DECISION, KEY, PART, ROW, Keys, Map, Phase, Step


@dataclass
class StepCount:
    """One step's ledger over some batches (summed with `+`)."""

    rows_in: int = 0
    rows_out: int = 0
    seconds: float = 0.0
    removed: dict[str, int] = field(default_factory=dict)

    def add(self, other: StepCount) -> None:
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out
        self.seconds += other.seconds
        for reason, n in other.removed.items():
            self.removed[reason] = self.removed.get(reason, 0) + n

    def as_json(self) -> dict[str, object]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "seconds": self.seconds,
            "removed": self.removed,
        }

    @staticmethod
    def from_json(value: dict[str, object]) -> StepCount:
        return StepCount(
            int(value["rows_in"]),  # type: ignore[call-overload]
            int(value["rows_out"]),  # type: ignore[call-overload]
            float(value["seconds"]),  # type: ignore[arg-type]
            dict(value["removed"]),  # type: ignore[call-overload]
        )


Counts = dict[str, StepCount]


@dataclass(frozen=True)
class StepReport:
    """One step of a build: rows in and out, removals by reason, seconds (summed over batches)."""

    name: str
    rows_in: int
    rows_out: int
    seconds: float
    removed: dict[str, int]


def step_reports(names: Iterable[str], counts: Counts) -> list[StepReport]:
    """The ledger of each step, in plan order."""
    out = []
    for name in names:
        count = counts.get(name, StepCount())
        removed = dict(sorted(count.removed.items()))
        out.append(StepReport(name, count.rows_in, count.rows_out, count.seconds, removed))
    return out


def add_counts(total: Counts, more: Counts) -> None:
    for name, count in more.items():
        total.setdefault(name, StepCount()).add(count)


@dataclass(frozen=True)
class Pass:
    """Steps run in one pass over the batches: decisions of earlier phases to apply first, maps,
    then the keys of the phases that follow (decided once the pass is over)."""

    apply: tuple[Phase, ...]
    maps: tuple[Map, ...]
    phases: tuple[Phase, ...]


def schedule(steps: Iterable[Step]) -> list[Pass]:
    """Cut the steps into passes: a pass ends before a map that follows phases, and around a phase
    that rewrites documents (its decision must be applied before anything else reads them)."""
    passes: list[Pass] = []
    apply: tuple[Phase, ...] = ()
    maps: list[Map] = []
    phases: list[Phase] = []
    for step in steps:
        if isinstance(step, Map):
            if phases:
                passes.append(Pass(apply, tuple(maps), tuple(phases)))
                apply, maps, phases = tuple(phases), [], []
            maps.append(step)
        else:
            if phases and (step.rewrites or phases[-1].rewrites):
                passes.append(Pass(apply, tuple(maps), tuple(phases)))
                apply, maps, phases = tuple(phases), [], []
            phases.append(step)
    passes.append(Pass(apply, tuple(maps), tuple(phases)))
    return passes


def start(raw: pl.DataFrame) -> pl.DataFrame:
    """A batch as read, in the canonical schema."""
    return conform(raw)


def live_mask(batch: pl.DataFrame) -> np.ndarray:
    return batch["removed_reason"].is_null().to_numpy()


def run_map(batch: pl.DataFrame, step: Map, counts: Counts) -> pl.DataFrame:
    """Run a map over the live rows; marked rows get `removed_step`; count the step."""
    started = time.perf_counter()
    live = live_mask(batch)
    rows_in = int(live.sum())
    if rows_in == 0:
        out = batch
    elif rows_in == batch.height:
        out = _checked(step, batch, rows_in)
    else:
        out = _merge(batch, live, _checked(step, batch.filter(pl.Series(live)), rows_in))
    return _mark_step(out, live, step.name, rows_in, started, counts)


def _checked(step: Map, frame: pl.DataFrame, rows: int) -> pl.DataFrame:
    out = step.run(frame)
    if out.height != rows:
        raise LedgerError(f"step {step.name} returned {out.height} rows for {rows}: a step never drops rows")
    return out


def _merge(batch: pl.DataFrame, live: np.ndarray, done: pl.DataFrame) -> pl.DataFrame:
    """The batch with its live rows replaced by `done` (same order)."""
    done = done.select(batch.columns).cast(batch.schema)
    positions = np.concatenate([np.flatnonzero(~live), np.flatnonzero(live)])
    return pl.concat([batch.filter(pl.Series(~live)), done])[np.argsort(positions, kind="stable")]


def _mark_step(
    out: pl.DataFrame, live: np.ndarray, name: str, rows_in: int, started: float, counts: Counts
) -> pl.DataFrame:
    """`removed_step` on the rows this step removed; the step's count."""
    now_removed = pl.Series(live) & out["removed_reason"].is_not_null()
    if now_removed.any():
        out = out.with_columns(
            removed_step=pl.when(now_removed).then(pl.lit(name)).otherwise(pl.col("removed_step"))
        )
    reasons = out.filter(now_removed)["removed_reason"].value_counts()
    removed = {str(r): int(n) for r, n in reasons.iter_rows()}
    count = StepCount(rows_in, rows_in - sum(removed.values()), time.perf_counter() - started, removed)
    counts.setdefault(name, StepCount()).add(count)
    return out


def take_keys(
    batch: pl.DataFrame, phase: Phase, counts: Counts, live: tuple[np.ndarray, pl.DataFrame] | None = None
) -> Keys:
    """A phase's keys of the live rows, with each row's `_row` (in the batch) and `_key` (among
    the keys) when the phase keys one row per document. `live` (from `live_rows`) lets the phases
    of one batch share one frame of its live rows (the dedup phases share its matching text)."""
    started = time.perf_counter()
    mask, rows = live_rows(batch) if live is None else live
    keys = phase.keys(rows)
    frame = keys.frame
    if not phase.rewrites:
        frame = frame.with_columns(
            pl.Series(ROW, np.flatnonzero(mask), dtype=pl.UInt32),
            pl.int_range(frame.height, dtype=pl.UInt32).alias(KEY),
        )
    seconds = time.perf_counter() - started
    counts.setdefault(phase.name, StepCount()).add(StepCount(rows_in=int(mask.sum()), seconds=seconds))
    return Keys(frame, keys.arrays)


def live_rows(batch: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame]:
    """Which rows of a batch are live, and those rows."""
    live = live_mask(batch)
    return live, batch.filter(pl.Series(live))


def apply_rewrite(batch: pl.DataFrame, phase: Phase, decisions: pl.DataFrame, counts: Counts) -> pl.DataFrame:
    """A rewriting phase's `apply` over the live rows, timed under the phase's name (its rows in
    and out are counted once by the engine, not per batch)."""
    scratch: Counts = {}
    out = run_map(batch, Map(phase.name, lambda frame: phase.apply(frame, decisions)), scratch)
    counts.setdefault(phase.name, StepCount()).add(StepCount(seconds=scratch[phase.name].seconds))
    return out


def apply_removals(batch: pl.DataFrame, phase: str, decisions: pl.DataFrame) -> pl.DataFrame:
    """Mark the rows a removing phase's decisions name (`_row` in this batch)."""
    if decisions.height == 0:
        return batch
    spread = pl.DataFrame({ROW: pl.int_range(batch.height, dtype=pl.UInt32, eager=True)}).join(
        decisions.drop(PART, strict=False), on=ROW, how="left", maintain_order="left"
    )
    hit = spread["removed_reason"].is_not_null() & batch["removed_reason"].is_null()
    columns = [c for c in DECISION if c not in (PART, ROW)]
    return batch.with_columns(
        *(pl.when(hit).then(spread[c]).otherwise(pl.col(c)).alias(c) for c in columns),
        removed_step=pl.when(hit).then(pl.lit(phase)).otherwise(pl.col("removed_step")),
    )
