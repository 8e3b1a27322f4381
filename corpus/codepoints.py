"""Per-code-point tables, so that steps count characters over a batch's code points in numpy.

The tables are built once per process by polars itself (its regex classes, its lower-casing) over
every code point, so a numpy count agrees with `str.count_matches` and `str.to_lowercase` on the
same text (Python's `unicodedata` may be an older Unicode version than polars' regex engine). A
numpy pass over code points costs a fraction of a regex over each text: see `quality.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np
import polars as pl

# No code point above U+323AF (CJK Extension H, the last letters of plane 3) is a letter, a space or
# has a case, so tables stop here and higher code points are clipped to the last entry ("other").
TABLE_SIZE = 0x32400
# Lowered by context, not alone: capital sigma is σ inside a word and ς at its end.
CONTEXTUAL = (0x03A3,)


def code_points(text: str) -> np.ndarray:
    """The code points of a string, as uint32."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def clipped(codes: np.ndarray) -> np.ndarray:
    """Code points as indices into a table (those beyond it on its last, classless entry)."""
    return np.minimum(codes, TABLE_SIZE - 1)


def _every() -> tuple[np.ndarray, pl.Series]:
    """Every code point below TABLE_SIZE but the surrogates, and one string holding them all."""
    points = np.concatenate([np.arange(0, 0xD800), np.arange(0xE000, TABLE_SIZE)]).astype("<u4")
    return points, pl.Series([points.tobytes().decode("utf-32-le")])


@cache
def class_table(classes: tuple[tuple[int, str], ...]) -> np.ndarray:
    """One byte per code point: the OR of the `bit` of each (bit, regex character class) pair whose
    class holds it, as polars' regex engine decides."""
    points, every = _every()
    table = np.zeros(TABLE_SIZE, dtype=np.uint8)
    for bit, regex in classes:
        inside = regex[1:-1] if regex.startswith("[") else regex
        kept = every.str.replace_all(f"[^{inside}]", "\x00")[0]
        table[points[code_points(kept) != 0]] |= bit
    return table


@cache
def lower_table() -> np.ndarray:
    """Each code point as polars lowers it alone (uint32), or 0 where that is not one code point
    regardless of context (İ lowers to two; capital sigma depends on its neighbours)."""
    points, _ = _every()
    alone = pl.Series(list(points.tobytes().decode("utf-32-le"))).str.to_lowercase().to_list()
    table = np.zeros(TABLE_SIZE, dtype=np.uint32)
    single = np.fromiter((len(lowered) == 1 for lowered in alone), dtype=bool, count=len(alone))
    table[points[single]] = [ord(lowered) for lowered, one in zip(alone, single, strict=True) if one]
    table[list(CONTEXTUAL)] = 0
    return table


def unlowered(codes: np.ndarray, lowered: np.ndarray) -> np.ndarray:
    """Where `lowered` (`lower_table()[codes]`) holds no lowering: the code point lowers to several
    or by context, so the text must be lowered by polars."""
    return (lowered == 0) & (codes != 0)


def chunks(texts: list[str], chars: int) -> Iterator[tuple[int, list[str]]]:
    """Consecutive slices of the texts of about `chars` characters (at least one text each): numpy
    passes over a slice's code points keep their temporary arrays in cache and bounded in size."""
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
    first = 0
    while first < len(texts):
        done = int(ends[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(ends, done + chars, side="right")))
        yield first, texts[first:last]
        first = last


def span_sums(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum of `values` over consecutive spans of `lengths` (an empty span sums to 0)."""
    ends = np.cumsum(lengths)
    starts = ends - lengths
    if not starts.size:
        return np.zeros(0, dtype=np.int64)
    if starts[-1] < values.size:
        sums = np.add.reduceat(values, starts, dtype=np.int64)
    else:  # an empty last span starts past the end
        sums = np.add.reduceat(np.append(values, values.dtype.type(0)), starts, dtype=np.int64)
    sums[lengths == 0] = 0  # reduceat gives the lone element of an empty range
    return sums


# A polynomial hash of code points modulo 2^64 (an odd base is invertible), then splitmix64's
# finaliser so that every bit of the result depends on every code point and on the length.
_BASE = np.uint64(0x100000001B3)
_BASE_INVERSE = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15))


def span_hashes(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit hash (uint64) of each consecutive span of `lengths` code points: equal spans hash
    equal wherever they lie. A span's hash is sum(c_j * B^(end - 1 - j)), computed for all spans at
    once as B^(end - 1) * sum(c_j * B^-j) over positions of the whole array."""
    ends = np.cumsum(lengths)
    starts = ends - lengths
    with np.errstate(over="ignore"):
        inverse = _powers(_BASE_INVERSE, codes.size)
        weighed = codes.astype(np.uint64) * inverse
        sums = np.zeros(starts.size, dtype=np.uint64)
        filled = lengths > 0  # reduceat would give an empty span its next element
        if filled.any():
            sums[filled] = np.add.reduceat(weighed, starts[filled])
        polynomial = sums * _powers(_BASE, codes.size + 1)[np.maximum(ends - 1, 0)]
        mixed = polynomial ^ (lengths.astype(np.uint64) * _MIX[2])
        mixed = (mixed ^ (mixed >> np.uint64(30))) * _MIX[0]
        mixed = (mixed ^ (mixed >> np.uint64(27))) * _MIX[1]
        return np.asarray(mixed ^ (mixed >> np.uint64(31)))


def _powers(base: np.uint64, size: int) -> np.ndarray:
    """base^0 .. base^(size - 1) modulo 2^64 (a view of a table kept per base, grown on demand)."""
    table = _POWER_TABLES.get(int(base))
    if table is None or table.size < size:
        powers = np.full(max(size, 1 << 16), base, dtype=np.uint64)
        powers[0] = 1
        with np.errstate(over="ignore"):
            table = _POWER_TABLES[int(base)] = np.cumprod(powers, dtype=np.uint64)
    return table[:size]


_POWER_TABLES: dict[int, np.ndarray] = {}
