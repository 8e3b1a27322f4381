"""The corpus-wide group-bys of a decision (`corpus.step.Gather` and `regroup`) in this process.

A gather takes one slice of every part at a time, so memory holds one slice of the keys; a
regroup hands the whole frame to one call (every group is whole in it). The Ray engine runs the
same two on the cluster (`corpus.engine.ray_shuffle`) and gives the same results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import polars as pl

from corpus.step import Gather, KeyStore


def gather_here(store: KeyStore, work: Gather) -> pl.DataFrame:
    """Each slice of every part, in part order, through `work.run`; the results concatenated."""
    results = []
    for number in range(work.slices):
        rows = [work.rows(store, part, number) for part in range(work.parts)]
        if rows:
            results.append(work.run(pl.concat(rows, how="vertical_relaxed")))
    return pl.concat(results, how="vertical_relaxed") if results else pl.DataFrame()


class InProcess:
    """The group-bys of a key store that runs them in its own process (local and in-memory)."""

    def gather(self, work: Gather) -> pl.DataFrame:
        return gather_here(cast(KeyStore, self), work)  # the class it is mixed into is one

    def regroup(
        self, frame: pl.DataFrame, by: list[str], run: Callable[[pl.DataFrame], pl.DataFrame]
    ) -> pl.DataFrame:
        return regroup_here(frame, by, run)


def regroup_here(
    frame: pl.DataFrame, by: list[str], run: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """All groups in one call: the frame is already in this process's memory."""
    return run(frame)
