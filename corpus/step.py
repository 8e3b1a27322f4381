"""What a step is: a per-document map, or a corpus-wide phase (keys, one decision, apply).

- a **map** works per document: a batch frame in, the same rows out (in order, over the canonical
  schema of `corpus.schema`), some marked with `removed_reason`;
- a **phase** works corpus-wide in three parts: `keys` takes narrow columns (and arrays, such as
  MinHash signatures) of every live row of every batch, `decide` reads all keys through a
  `KeyStore` and returns a small decision table, and the decisions are applied batch by batch.
  A phase that only removes rows returns a table of the rows it removes (`_part`, `_row`, reason,
  `dup_of`...), which the engine applies; a phase that rewrites documents (recurring furniture)
  returns a table its own `apply` joins into each batch (each batch gets the rows with its `_part`
  and the rows without one, which hold everywhere).

The corpus-wide group-bys inside a decision (segments by hash, scrapes by URL, documents by text
hash and by LSH bucket, edges by node, candidates by connected component) go through the
`KeyStore` as a `Gather` or a `regroup`, so an engine decides where they run: the local engine in
its own process, the Ray engine as a shuffle on the cluster. The phase says what is grouped and
what is done per group, never where.

An engine (`corpus.engine`) runs steps without knowing what they do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

# Engine columns of key tables and decision tables: a row's part (batch), its row in the part, and
# (key tables) its position among the part's key rows, which is its row in the part's arrays.
PART, ROW, KEY = "_part", "_row", "_key"
# Columns of a decision table of a phase that removes rows.
DECISION = {
    PART: pl.UInt32(),
    ROW: pl.UInt32(),
    "removed_reason": pl.String(),
    "removed_detail": pl.String(),
    "dup_of": pl.String(),
    "similarity": pl.Float64(),
    "dup_release": pl.String(),
}


@dataclass(frozen=True)
class Map:
    """A per-document step: batch frame -> batch frame (same rows, same order)."""

    name: str
    run: Callable[[pl.DataFrame], pl.DataFrame]


@dataclass(frozen=True)
class Keys:
    """What a phase keeps of one batch: a narrow frame (one row per live row unless the phase says
    otherwise) and named arrays whose first axis is the frame's rows."""

    frame: pl.DataFrame
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Gather:
    """A group-by over every part's keys, for an engine to run where the keys are.

    `rows(store, part, slice)` are the key rows of one part that fall in one of `slices` slices:
    rows that must meet (one segment hash, one LSH bucket) are in the same slice of every part, and
    `by` names the columns that must be equal for two rows to meet (an engine may split a slice by
    them). `run` gets one gathering (rows of every part, in part order, then in each part's order)
    and returns a frame; the results are concatenated in no particular order (callers sort).
    `rows` and `run` may run in another process: they must be picklable and read only files; and
    on several threads at once: they read arrays with `load_array`."""

    parts: int
    slices: int
    by: tuple[str, ...]
    rows: Callable[[KeyStore, int, int], pl.DataFrame]
    run: Callable[[pl.DataFrame], pl.DataFrame]


class KeyStore(Protocol):
    """The keys of every batch, as an engine keeps them; what a phase's `decide` reads."""

    def arrays(self, name: str) -> list[np.ndarray]:
        """One array per part (rows aligned with that part's key rows), in part order."""
        ...

    def texts(self, parts: np.ndarray, rows: np.ndarray) -> pl.Series:
        """The `text` of these rows, in this order."""
        ...

    def scratch(self) -> Path:
        """A folder for a decision's own temporary files (removed with the work)."""
        ...

    def part_count(self) -> int:
        """How many parts hold keys."""
        ...

    def part_keys(self, part: int, partition: int | None = None) -> pl.DataFrame:
        """One part's key rows (without `_part`) that earlier phases of the pass left; of one
        partition when given (empty if none)."""
        ...

    def part_array(self, name: str, part: int) -> np.ndarray:
        """One part's array (memory-mapped where the engine can)."""
        ...

    def gather(self, work: Gather) -> pl.DataFrame:
        """Run a `Gather` (see there) and concatenate its results."""
        ...

    def regroup(
        self, frame: pl.DataFrame, by: list[str], run: Callable[[pl.DataFrame], pl.DataFrame]
    ) -> pl.DataFrame:
        """`run` over groups of `frame`'s rows with equal `by` (a call may get several whole groups,
        rows in frame order); the results concatenated in no particular order."""
        ...


class Phase(Protocol):
    """A corpus-wide step: keys per batch, one decision over all keys, applied per batch."""

    name: str
    # True when `apply` changes documents (a new pass over the batches follows); False when the
    # decision only removes rows (the engine applies it; consecutive such phases share one pass).
    rewrites: bool

    def keys(self, batch: pl.DataFrame) -> Keys: ...

    def decide(self, store: KeyStore) -> pl.DataFrame: ...

    def apply(self, batch: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame: ...


Step = Map | Phase


# numpy reads a .npy header with `ast.literal_eval`, and CPython 3.11 builds every AST with one
# recursion counter per interpreter: a thread that parses while another is switched out mid-parse
# fails with "AST constructor recursion depth mismatch" (python/cpython#106905), as a gather's two
# threads reading parts' arrays did. So headers are read one at a time.
_HEADERS = threading.Lock()


def load_array(path: Path) -> np.ndarray:
    """A stored .npy array, memory-mapped (only the rows read come into memory); safe on threads."""
    with _HEADERS:
        return np.load(path, mmap_mode="r", allow_pickle=False)
