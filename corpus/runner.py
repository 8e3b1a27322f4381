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
    """Run every step over the live rows; rows a step marks as removed go to the ledger."""
    live = conform(raw)
    removed: list[pl.DataFrame] = []
    reports: list[StepReport] = []
    for name, step in steps:
        started, rows_in = time.perf_counter(), live.height
        with (progress or _silent)(name):
            out = step(live)
        gone = out.filter(pl.col("removed_reason").is_not_null()).with_columns(removed_step=pl.lit(name))
        live = out.filter(pl.col("removed_reason").is_null())
        counts = dict(gone.group_by("removed_reason").len().sort("removed_reason").iter_rows())
        reports.append(StepReport(name, rows_in, live.height, time.perf_counter() - started, counts))
        removed.append(gone)
    ledger = pl.concat(removed, how="diagonal_relaxed") if removed else live.clear()
    return BuildResult(released=live, removed=ledger, rows_read=raw.height, steps=reports)


def _silent(name: str) -> AbstractContextManager[object]:
    return nullcontext()
