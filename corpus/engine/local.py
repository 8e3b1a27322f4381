"""The local engine: the plan's passes over bounded batches on a pool of processes, every finished
unit kept in the work folder (see `corpus.engine.work`), phases decided in this process.

A pass is a set of units: the read tasks for the first pass (a task may give several batches),
then one unit per batch ("part"). A unit runs the pass's steps over its batches and writes, per
part, the batch (Parquet), each following phase's keys (and arrays) and last its marker with the
ledger of its steps. Units already marked are not run again, so a rerun after a kill resumes;
since a part's content depends only on its inputs, the release is the same either way.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl

from corpus.engine.allocator import keep_freed_memory
from corpus.engine.batch import (
    Counts,
    Pass,
    StepCount,
    add_counts,
    apply_removals,
    apply_rewrite,
    live_rows,
    run_map,
    schedule,
    start,
    take_keys,
)
from corpus.engine.parts import (
    LocalOutput,
    LocalStore,
    array_file,
    decisions_file,
    keys_file,
    part_file,
    pass_folder,
)
from corpus.engine.progress import Progress, silent
from corpus.engine.work import (
    read_json,
    write_array,
    write_frame,
    write_json,
    write_partitioned,
)
from corpus.errors import CorpusError
from corpus.pipeline import Plan
from corpus.sources import Limits, ReadTask, check_mapped, plan_reads, read_task
from corpus.sources.paths import list_files
from corpus.step import DECISION, PART, ROW, Keys, Phase


@dataclass(frozen=True)
class Unit:
    """One piece of a pass: a read task (first pass) or a part of the previous pass."""

    step: int  # the pass
    name: str
    task: ReadTask | None = None
    part: int = -1  # the input part's position among the previous pass's parts

    @property
    def size(self) -> int:
        return sum((p.end or p.path.stat().st_size) - p.start for p in self.task.parts) if self.task else 0


@dataclass(frozen=True)
class Context:
    """What a worker needs: the plan, its passes, the work folder, the batch limits, and the parts
    of each finished pass (to find a part's decisions)."""

    plan: Plan
    passes: list[Pass]
    work: Path
    limits: Limits


@dataclass
class Finished:
    """What a finished pass left: its parts in order, and the ledger of its units."""

    parts: list[str] = field(default_factory=list)
    counts: Counts = field(default_factory=dict)
    rows_read: int = 0
    seen: dict[int, set[str]] = field(default_factory=dict)


# The worker's context, set once per process by the pool's initializer (or in this process).
_CONTEXT: Context | None = None


def _initialise(context: Context) -> None:
    global _CONTEXT
    _CONTEXT = context


def _start_worker(context: Context) -> None:
    """A pool process's initializer: the context, and heap settings for batch work."""
    keep_freed_memory()
    _initialise(context)


def _input_size(plan: Plan) -> int:
    """Bytes of every input file (a stat each; 0 when one is missing: planning the reads says so)."""
    loaded = plan.loaded
    try:
        return sum(path.stat().st_size for s in loaded.config.sources for path in list_files(s, loaded.root))
    except (OSError, CorpusError):
        return 0


def _ready() -> None:
    """Nothing: submitted to a new pool so that its processes start."""


def run_unit(unit: Unit) -> str:
    """Run one unit in this process (a pool worker, or the build's own process)."""
    context = _CONTEXT
    assert context is not None, "the worker context is set by the pool initializer"
    step = context.passes[unit.step]
    counts: Counts = {}
    parts: list[str] = []
    seen: set[str] = set()
    rows_read = 0
    if unit.task is not None:
        source = context.plan.loaded.config.sources[unit.task.source]
        for number, raw in enumerate(_timed(read_task(unit.task, source, context.limits, seen), counts)):
            rows_read += raw.height
            parts.append(f"{unit.name}-{number:05d}")
            _process(context, unit.step, step, parts[-1], -1, start(raw), counts)
    else:
        batch = pl.read_parquet(part_file(context.work, unit.step - 1, unit.name))
        parts.append(unit.name)
        _process(context, unit.step, step, unit.name, unit.part, batch, counts)
    marker = {
        "parts": parts,
        "counts": {name: count.as_json() for name, count in counts.items()},
        "rows_read": rows_read,
        "seen": sorted(seen),
    }
    write_json(pass_folder(context.work, unit.step) / f"{unit.name}.done.json", marker)
    return unit.name


def _timed(batches: Iterator[pl.DataFrame], counts: Counts) -> Iterator[pl.DataFrame]:
    """The reader's batches, its time counted under the `read` step."""
    read = counts.setdefault("read", StepCount())
    while True:
        started = time.perf_counter()
        batch = next(batches, None)
        read.seconds += time.perf_counter() - started
        if batch is None:
            return
        yield batch


def _process(
    context: Context, index: int, step: Pass, name: str, part: int, batch: pl.DataFrame, counts: Counts
) -> None:
    """One batch through a pass: earlier decisions, maps, then the keys of the phases that follow."""
    for phase in step.apply:
        decisions = _decisions(context.work, phase.name, part)
        if phase.rewrites:
            batch = apply_rewrite(batch, phase, decisions, counts)
        else:
            batch = apply_removals(batch, phase.name, decisions)
    for map_step in step.maps:
        batch = run_map(batch, map_step, counts)
    live = live_rows(batch) if step.phases else None
    for phase in step.phases:
        _write_keys(context.work, index, name, phase, take_keys(batch, phase, counts, live))
    write_frame(part_file(context.work, index, name), batch)


def _write_keys(work: Path, step: int, part: str, phase: Phase, keys: Keys) -> None:
    path = keys_file(work, step, part, phase.name)
    if "_partition" in keys.frame.columns:
        write_partitioned(path, keys.frame)
    else:
        write_frame(path, keys.frame)
    for name, array in keys.arrays.items():
        write_array(array_file(work, step, part, phase.name, name), array)


@lru_cache(maxsize=4)
def _all_decisions(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path)


def _decisions(work: Path, phase: str, part: int) -> pl.DataFrame:
    """A phase's decisions for one part: its rows of that part, and rows without a part (which
    hold in every part: a rewriting phase's rules)."""
    table = _all_decisions(decisions_file(work, phase))
    return table.filter((pl.col(PART) == part) | pl.col(PART).is_null()) if PART in table.columns else table


class LocalEngine:
    """Runs a plan's passes over batches on `workers` processes (all cores by default)."""

    name = "local"

    def __init__(self, workers: int | None = None, progress: Progress = silent) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.progress = progress
        self.pool: ProcessPoolExecutor | None = None

    def run(self, plan: Plan, work: Path, limits: Limits, input_bytes: int) -> LocalOutput:
        """Every pass and decision of the plan; the pool's processes serve all passes."""
        try:
            return self._run(plan, work, limits, input_bytes)
        finally:
            self._stop()

    def _stop(self) -> None:
        """Let the workers go (at the end of a run, or when it fails)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _run(self, plan: Plan, work: Path, limits: Limits, input_bytes: int) -> LocalOutput:
        passes = schedule(plan.steps)
        context = Context(plan, passes, work, limits)
        counts: Counts = {"read": StepCount()}
        finished = Finished()
        stages: list[tuple[str, float]] = []  # (pass or decision, wall seconds)
        for index, step in enumerate(passes):
            if index == 0 and _input_size(plan) > input_bytes:  # more than one read task, surely
                self._warm(context)
            if index == 0:
                tasks = plan_reads(plan.loaded, limits, input_bytes)
                units = [Unit(0, f"t{task.index:06d}", task) for task in tasks]
            else:
                units = [Unit(index, name, part=number) for number, name in enumerate(finished.parts)]
            started = time.perf_counter()
            finished = self._run_pass(context, index, units, step)
            stages.append((f"pass {index + 1}", time.perf_counter() - started))
            if index == 0:
                _check_columns(plan, tasks, finished)
                rows_read = finished.rows_read
            add_counts(counts, finished.counts)
            if index + 1 < len(passes) and len(finished.parts) > 1:
                self._warm(context)
            stages += self._decide(context, index, step, finished, counts)
        counts["read"].rows_in = rows_read
        pending = [phase.name for phase in passes[-1].phases]
        return LocalOutput(work, len(passes) - 1, finished.parts, pending, counts, rows_read, stages)

    def _run_pass(self, context: Context, index: int, units: list[Unit], step: Pass) -> Finished:
        folder = pass_folder(context.work, index)
        todo = [u for u in units if not (folder / f"{u.name}.done.json").is_file()]
        waiting = {u.name for u in todo}
        names = [phase.name for phase in step.apply] + [s.name for s in step.maps]
        label = " · ".join([*names, *(phase.name for phase in step.phases)]) or "pass"
        sizes = [u.size for u in units] if index == 0 else [1] * len(units)
        with self.progress.task(label, sum(sizes), "bytes" if index == 0 else "batches") as advance:
            advance(sum(size for u, size in zip(units, sizes, strict=True) if u.name not in waiting))
            size_of = {u.name: size for u, size in zip(units, sizes, strict=True)}
            self._execute(context, todo, lambda name: advance(size_of[name]))
        finished = Finished()
        for unit in units:
            marker = read_json(folder / f"{unit.name}.done.json")
            finished.parts += marker["parts"]
            finished.rows_read += marker["rows_read"]
            add_counts(finished.counts, {k: StepCount.from_json(v) for k, v in marker["counts"].items()})
            if unit.task is not None:
                finished.seen.setdefault(unit.task.source, set()).update(marker["seen"])
        return finished

    def _execute(self, context: Context, units: list[Unit], done: Callable[[str], None]) -> None:
        if self.workers == 1 or len(units) <= 1:
            _initialise(context)
            for unit in units:
                done(run_unit(unit))
            return
        pool = self.pool or self._pool(context)
        self.pool = None
        try:
            pending: set[Future[str]] = {pool.submit(run_unit, unit) for unit in units}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in finished:
                    done(future.result())
        except BrokenProcessPool as exc:
            raise CorpusError(
                f"a worker process died ({exc}); out of memory? lower execution.batch_bytes"
            ) from exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _warm(self, context: Context) -> None:
        """Start the next pass's workers now, so they start up while this process plans the reads or
        decides a phase (their start-up, ~1 s each, otherwise delays every pass). Only for a pass
        of several units: one unit runs in this process."""
        if self.workers > 1 and self.pool is None:
            self.pool = self._pool(context)

    def _pool(self, context: Context) -> ProcessPoolExecutor:
        """A pool for one pass, its processes started. A pool per pass: workers kept across passes
        would hold their allocators' high-water mark from the earlier pass (+250 MiB at 100k
        documents)."""
        spawn = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            self.workers, mp_context=spawn, initializer=_start_worker, initargs=(context,)
        )
        for _ in range(self.workers):  # a submit starts a process while none is idle
            pool.submit(_ready)
        return pool

    def _store(
        self, work: Path, step: int, parts: list[str], phase: str, gone: pl.DataFrame | None
    ) -> LocalStore:
        """The key store a phase decides from (the Ray engine's runs its group-bys on the cluster)."""
        return LocalStore(work, step, parts, phase, gone)

    def _decide(
        self, context: Context, index: int, step: Pass, finished: Finished, counts: Counts
    ) -> list[tuple[str, float]]:
        """Decide each phase of the pass (unless already decided); removing phases see only the
        rows the previous ones left. Returns the wall seconds of each phase decided here."""
        removed_so_far, stages = None, []
        for phase in step.phases:
            path = decisions_file(context.work, phase.name)
            count = counts.setdefault(phase.name, StepCount())
            if not path.is_file() and not finished.parts:  # nothing was read: nothing to decide
                write_frame(path, pl.DataFrame(schema=DECISION))
            if not path.is_file():
                begun = time.perf_counter()
                store = self._store(context.work, index, finished.parts, phase.name, removed_so_far)
                with self.progress.task(f"{phase.name} (corpus-wide)", 0, ""):
                    started = time.perf_counter()
                    table = phase.decide(store)
                    count.seconds += time.perf_counter() - started
                write_frame(path, table)
                stages.append((phase.name, time.perf_counter() - begun))
            table = pl.read_parquet(path)
            earlier = 0 if removed_so_far is None else removed_so_far.height
            count.rows_in -= earlier
            if phase.rewrites:
                count.rows_out = count.rows_in
                continue
            for reason, n in table["removed_reason"].value_counts().iter_rows():
                count.removed[str(reason)] = int(n)
            count.rows_out = count.rows_in - table.height
            chosen = table.select(PART, ROW)
            removed_so_far = chosen if removed_so_far is None else pl.concat([removed_so_far, chosen])
        return stages


def _check_columns(plan: Plan, tasks: list[ReadTask], finished: Finished) -> None:
    """Every explicitly mapped column must exist in at least one file of its source."""
    for number, source in enumerate(plan.loaded.config.sources):
        files = len({p.path for t in tasks if t.source == number for p in t.parts})
        check_mapped(source, finished.seen.get(number, set()), files)
