"""Chain the steps, count rows in and out with seconds, and keep the ledger of removed rows.

The runner knows nothing about what a step does: a step is a function from a frame to a frame
that may set `removed_reason` on rows; the runner moves those rows to the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial

import polars as pl

from corpus.boilerplate import load_furniture, strip_boilerplate
from corpus.config import LoadedConfig
from corpus.dedup import load_earlier, remove_exact, remove_near, remove_rescrapes
from corpus.errors import LedgerError
from corpus.language import identify_language
from corpus.metadata import normalise_metadata
from corpus.metadata.outlets import alias_table, load_outlets
from corpus.repair import repair
from corpus.schema import conform

Step = Callable[[pl.DataFrame], pl.DataFrame]
Progress = Callable[[str], AbstractContextManager[object]]


@dataclass(frozen=True)
class StepReport:
    name: str
    rows_in: int
    rows_out: int
    seconds: float
    removed: dict[str, int]


@dataclass
class BuildResult:
    """What a build produced: released rows, removed rows, and per-step counts."""

    released: pl.DataFrame
    removed: pl.DataFrame
    rows_read: int
    steps: list[StepReport] = field(default_factory=list)
    # Outlets the registry does not know (kept verbatim), with documents: entries to add.
    unknown_outlets: list[tuple[str, int]] = field(default_factory=list)

    def check_ledger(self) -> None:
        """Rows read must equal rows released plus rows removed, and each removal needs a reason."""
        if self.rows_read != self.released.height + self.removed.height:
            raise LedgerError(
                f"ledger does not balance: {self.rows_read} read != {self.released.height} released "
                f"+ {self.removed.height} removed"
            )
        if self.removed["removed_reason"].null_count():
            raise LedgerError("ledger: removed rows without a reason")
        lineage = pl.concat([self.released, self.removed], how="diagonal_relaxed").select(
            "source_name", "source_file", "source_line"
        )
        if lineage.is_duplicated().any():
            raise LedgerError("ledger: an input row appears twice in the output")


def outlet_registry(loaded: LoadedConfig) -> pl.DataFrame:
    """The outlet alias table the metadata step resolves against (also used for the report)."""
    return alias_table(load_outlets(loaded.resolve(loaded.config.metadata.outlets)))


def plan_steps(loaded: LoadedConfig, aliases: pl.DataFrame | None = None) -> list[tuple[str, Step]]:
    """The pipeline, in order, each step bound to its own config section and resources."""
    config = loaded.config
    against = config.dedup.against
    earlier = load_earlier(loaded.resolve(against), config.dedup) if against else None
    furniture = load_furniture(
        loaded.resolve(config.boilerplate.patterns) if config.boilerplate.patterns else None
    )
    aliases = outlet_registry(loaded) if aliases is None else aliases
    return [
        ("read", _reader_errors),
        ("repair", partial(repair, section=config.repair)),
        ("boilerplate", partial(strip_boilerplate, section=config.boilerplate, patterns=furniture)),
        ("metadata", partial(normalise_metadata, section=config.metadata, aliases=aliases)),
        ("language", partial(identify_language, section=config.language)),
        ("rescrape", partial(remove_rescrapes, section=config.dedup, earlier=earlier)),
        ("exact_dedup", partial(remove_exact, section=config.dedup, earlier=earlier)),
        ("near_dedup", partial(remove_near, section=config.dedup, earlier=earlier)),
    ]


def _reader_errors(frame: pl.DataFrame) -> pl.DataFrame:
    """Records a reader could not parse (with `on_bad_record: skip`) leave as `bad_record`."""
    return frame.with_columns(
        removed_reason=pl.when(pl.col("reader_error").is_not_null()).then(pl.lit("bad_record"))
    )


def run_steps(
    raw: pl.DataFrame, steps: list[tuple[str, Step]], progress: Progress | None = None
) -> BuildResult:
    """Run every step over the live rows; rows a step marks as removed go to the ledger. A step's
    input is let go before its output is split, so the columns it replaced are freed early."""
    rows_read, live = raw.height, conform(raw)
    del raw
    removed: list[pl.DataFrame] = []
    reports: list[StepReport] = []
    for name, step in steps:
        started, rows_in = time.perf_counter(), live.height
        with (progress or _silent)(name):
            out = step(live)
        del live
        gone, live = _split_removed(out)
        gone = gone.with_columns(removed_step=pl.lit(name))
        counts = dict(gone.group_by("removed_reason").len().sort("removed_reason").iter_rows())
        reports.append(StepReport(name, rows_in, live.height, time.perf_counter() - started, counts))
        removed.append(gone)
    ledger = pl.concat(removed, how="diagonal_relaxed") if removed else live.clear()
    return BuildResult(released=live, removed=ledger, rows_read=rows_read, steps=reports)


def _split_removed(out: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(removed rows, live rows) of a step's output, which is emptied. Nested columns in chunks (near
    dedup's signatures: 512 MB per million documents, in chunks of 32 MB) are split one chunk at a
    time and each chunk let go once split, so they never exist twice; no copy when nothing was
    removed."""
    removed = out["removed_reason"].is_not_null()
    if not removed.any():
        return out.clear(), out
    columns = out.columns
    chunked = [name for name, dtype in out.schema.items() if dtype.is_nested() and out[name].n_chunks() > 1]
    split = {name: _split_chunks(out.drop_in_place(name), removed) for name in chunked}
    gone, live = out.filter(removed), out.filter(~removed)
    for name in out.columns:
        out.drop_in_place(name)
    gone = gone.with_columns(part for part, _ in split.values()).select(columns)
    return gone, live.with_columns(part for _, part in split.values()).select(columns)


def _split_chunks(column: pl.Series, removed: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(removed, live) parts of a column, one chunk at a time, each chunk freed once split."""
    pieces, offset = [], 0
    for length in column.chunk_lengths():
        pieces.append((offset, column.slice(offset, length)))
        offset += length
    del column
    gone, live = [], []
    while pieces:
        offset, piece = pieces.pop(0)
        mask = removed.slice(offset, piece.len())
        gone.append(piece.filter(mask))
        live.append(piece.filter(~mask))
        del piece
    return pl.concat(gone, rechunk=False), pl.concat(live, rechunk=False)


def _silent(name: str) -> AbstractContextManager[object]:
    return nullcontext()
