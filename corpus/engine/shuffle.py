"""The corpus-wide group-bys of a decision (`corpus.step.Gather` and `regroup`) in this process.

A gather takes one slice of every part at a time, so memory holds one slice of the keys (parts
read on `GATHER_THREADS` threads: reading files, polars and numpy release the GIL); a regroup hands
the whole frame to one call (every group is whole in it). The Ray engine runs the same two on the
cluster (`corpus.engine.ray_shuffle`) and gives the same results.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import repeat
from typing import cast

import polars as pl

from corpus.step import Gather, KeyStore

# Parts whose rows a gather takes at once: two keep this machine's two cores busy while the
# workers are idle between passes (near duplicates' n-gram hashing: 2.5 s at 100k documents).
GATHER_THREADS = 2


def gather_here(store: KeyStore, work: Gather) -> pl.DataFrame:
    """Each slice of every part, in part order, through `work.run`; the results concatenated."""
    results = []
    with ThreadPoolExecutor(GATHER_THREADS) as pool:
        for number in range(work.slices):
            rows = list(pool.map(partial(work.rows, store), range(work.parts), repeat(number)))
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
