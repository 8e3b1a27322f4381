"""Hashed character n-grams of a batch of texts, in numpy: no loop per character.

Texts are folded as the model reads them (`fold`): lower case; Arabic spelling variants unified
(أ إ آ ٱ → ا, ى → ي, ة → ه) and harakat, tatweel and other marks dropped, because commenters write
the same word all these ways; a digit kept only beside a letter (Arabizi's 3, 7, 9 inside words:
years and prices say nothing of the language); a letter three times in a row or more one letter
(commenters stretch words for emphasis: bzaaaaf, ههههه, كذوووب; no language here writes a letter
three times, and the training text hardly ever does); any other character a space, runs of spaces one.
Punctuation is dropped on purpose: sentence ends, quotes and parentheses mark a source's style
(Tatoeba's questions, Wikipedia's dates), not a language.
The folded texts lie end to end, one space between two texts. Each position starts one n-gram of
every order; an n-gram belongs to the text it starts in and counts only if it ends before the next
text begins, so a text's features never depend on its neighbours. All of it is a few passes over
flat arrays: linear in the texts' length. (Whole words as extra features moved no dev figure by
more than 0.003: the 5-grams with their spaces already hold the short grammar words.)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np

from corpus import codepoints

SPACE, DROP = 0x20, 0
# Arabic spelling variants folded to one letter (hamza seats, alif maqsura, ta marbuta) or dropped.
ARABIC_FOLDS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ـ": ""}
# Texts are folded and hashed this many characters at a time: the temporary arrays (1 MB each) stay
# in cache and their size does not grow with the batch. 5,000 texts of 1,000 characters: 0.16 s on
# one core, against 0.29 s for chunks of 2^20 and 0.27 s for 2^14.
CHUNK_CHARS = 1 << 18
BASE = np.uint32(0x01000193)  # FNV prime: the base of the polynomial n-gram hash (mod 2^32)
GOLDEN = np.uint32(0x9E3779B1)  # Knuth's multiplicative hashing constant
FOLDED_POINTS = 0x10000  # folded code points are in the BMP (see `fold_table`)


@dataclass(frozen=True)
class Hashing:
    """What a model's features are: the n-gram orders and the bucket bits."""

    orders: tuple[int, ...]
    bits: int


@dataclass(frozen=True)
class Folded:
    """Folded code points of a batch end to end, and where each text starts (its leading space)."""

    codes: np.ndarray  # uint32
    starts: np.ndarray  # int64, one per text; a text runs to the next start (the last to the end)

    def room(self) -> np.ndarray:
        """For each position, how many positions follow it inside its text (up to the next start)."""
        ends = np.append(self.starts[1:], self.codes.size - 1)
        lengths = np.diff(np.append(self.starts, self.codes.size))
        return (np.repeat(ends, lengths) - np.arange(self.codes.size)).astype(np.int32)


@cache
def fold_table() -> np.ndarray:
    """The folded code point of every BMP code point: letters lowered, digits ASCII, marks dropped
    (0), everything else a space. U+FFFF, where longer code points are clipped, is a space."""
    table = np.full(0x10000, SPACE, dtype=np.uint32)
    for point in range(0x10000):
        char = chr(point)
        category = unicodedata.category(char)
        if char in ARABIC_FOLDS:
            table[point] = ord(ARABIC_FOLDS[char]) if ARABIC_FOLDS[char] else DROP
        elif category.startswith("L"):
            lower = char.lower()
            table[point] = ord(lower) if len(lower) == 1 else point
        elif category == "Nd":
            table[point] = ord(str(unicodedata.digit(char)))
        elif category in ("Mn", "Me", "Cf"):
            table[point] = DROP
    return table


def fold(texts: list[str]) -> Folded:
    """The texts folded and laid end to end: " text0 text1 ... " with single spaces."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    joined = " " + " ".join(texts) + " " if texts else " "
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    laid = fold_table().take(points, mode="clip")  # code points past the table read U+FFFF
    starts = np.cumsum(lengths + 1) - lengths - 1  # the space before each text
    kept = laid != DROP
    if not kept.all():
        laid, starts = laid[kept], _moved(starts, kept)
    kept = _unstretched(laid)
    if kept is not None:
        laid, starts = laid[kept], _moved(starts, kept)
    digit = (laid - np.uint32(0x30)) < 10
    if digit.any():
        letter = ~digit & (laid != SPACE)
        beside = np.zeros(laid.size, dtype=bool)
        beside[1:] |= letter[:-1]
        beside[:-1] |= letter[1:]
        laid = np.where(digit & ~beside, np.uint32(SPACE), laid)
    space = laid == SPACE
    kept = np.ones(laid.size, dtype=bool)
    kept[1:] = ~(space[1:] & space[:-1])
    # A run of spaces keeps its first one, so a text starts at the kept space of the run holding its
    # own leading space.
    return Folded(laid[kept], _moved(starts, kept))


def _unstretched(laid: np.ndarray) -> np.ndarray | None:
    """Which positions to keep: all but the repeats in runs of one character three or more long
    (before digits beside no letter become spaces, so wa3333a is wa3a); None when there are none.
    A repeat is in such a run when the position before it or after it repeats too. Not the
    lexicons' `lexicon._unstretched`, which cuts only ا, و, ي, ه, at their own run lengths, as
    their word lists are spelt; the model reads every character's runs alike."""
    repeat = np.zeros(laid.size + 1, dtype=bool)  # repeat[i]: laid[i] equals laid[i - 1]
    repeat[1:-1] = laid[1:] == laid[:-1]
    stretched = repeat[1:-1] & (repeat[:-2] | repeat[2:])  # for positions 1 .. size - 1
    if not stretched.any():
        return None
    kept = np.ones(laid.size, dtype=bool)
    kept[1:] = ~stretched
    return kept


def _moved(starts: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Where positions `starts` land once the positions not `kept` are removed (a removed position
    lands on the kept one before it): minus the removed positions up to it."""
    return starts - np.searchsorted(np.flatnonzero(~kept), starts, side="right")


def _mix(hashes: np.ndarray, salt: int, bits: int) -> np.ndarray:
    """Bucket of each 32-bit hash, salted by the n-gram order: xor-shift, multiply, top bits."""
    mixed = hashes ^ np.uint32((salt * 0x85EBCA6B) & 0xFFFFFFFF)
    mixed ^= mixed >> np.uint32(15)
    mixed *= GOLDEN
    mixed >>= np.uint32(32 - bits)
    return mixed.astype(np.intp)


def grams(folded: Folded, hashing: Hashing) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per order: the bucket of the n-gram starting at each position, and whether it counts (inside
    its text; a lone space is no unigram)."""
    codes, room = folded.codes, folded.room()
    hashes = np.zeros(codes.size, dtype=np.uint32)
    for order in range(1, max(hashing.orders, default=0) + 1):
        # hashes[i] becomes the hash of codes[i : i + order]; positions too near the end get junk.
        head = max(codes.size - order + 1, 0)
        hashes[:head] *= BASE
        hashes[:head] += codes[order - 1 : order - 1 + head]
        if order in hashing.orders:
            counts = room >= order - 1
            if order == 1:
                counts &= codes != SPACE
            yield _mix(hashes, order, hashing.bits), counts


def chunks(texts: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Consecutive slices of the texts of about CHUNK_CHARS characters (at least one text each)."""
    return codepoints.chunks(texts, CHUNK_CHARS)


def mean_weights(texts: list[str], weights: np.ndarray, hashing: Hashing) -> tuple[np.ndarray, np.ndarray]:
    """Per text: the mean of `weights` (one per bucket) over its features (0 if none), and how many."""
    means = np.zeros(len(texts), dtype=np.float64)
    totals = np.zeros(len(texts), dtype=np.int64)
    unigrams = _unigrams(weights, hashing)
    for first, part in chunks(texts):
        folded = fold(part)
        sums, number = _sums(folded, weights, unigrams, hashing)
        totals[first : first + len(part)] = number
        means[first : first + len(part)] = np.where(number > 0, sums / np.maximum(number, 1), 0.0)
    return means, totals


def _unigrams(weights: np.ndarray, hashing: Hashing) -> np.ndarray:
    """The weight of every folded code point's unigram (a space's is 0: no feature), a table a
    quarter the size of the buckets' that a batch's characters look up directly."""
    table = weights.take(_mix(np.arange(FOLDED_POINTS, dtype=np.uint32), 1, hashing.bits))
    table[SPACE] = 0.0
    return table


def _sums(
    folded: Folded, weights: np.ndarray, unigrams: np.ndarray, hashing: Hashing
) -> tuple[np.ndarray, np.ndarray]:
    """Per text, the sum of its features' weights and their number. Positions are summed whole and
    the few n-grams that cross into the next text (order - 2 per text) zeroed, which is cheaper than
    a mask per order; the numbers follow from the texts' lengths."""
    codes, starts = folded.codes, folded.starts
    ends = np.append(starts[1:], codes.size - 1)  # the space a text ends on (shared with the next)
    spans = ends - starts
    space = codes == SPACE
    summed = np.zeros(codes.size, dtype=np.float32)
    number = np.zeros(starts.size, dtype=np.int64)
    hashes = np.zeros(codes.size, dtype=np.uint32)
    for order in range(1, max(hashing.orders, default=0) + 1):
        head = max(codes.size - order + 1, 0)
        hashes[:head] *= BASE
        hashes[:head] += codes[order - 1 : order - 1 + head]
        if order not in hashing.orders:
            continue
        if order == 1:  # the hash of one code point is the code point
            found = unigrams.take(codes)
            number += np.add.reduceat(~space, starts) if starts.size else 0
        else:
            found = weights.take(_mix(hashes[:head], order, hashing.bits))
            crossing = (ends[:-1, None] - np.arange(1, order - 1)[None, :]).ravel()
            inside = (crossing >= np.repeat(starts[:-1], order - 2)) & (crossing < head)
            found[crossing[inside]] = 0.0
            number += np.maximum(spans - order + 2, 0)
        summed[:head] += found
    sums = np.add.reduceat(summed, starts, dtype=np.float64) if starts.size else np.zeros(0)
    empty = spans == 0  # reduceat gives the lone element of an empty range
    sums[empty], number[empty] = 0.0, 0
    return sums, number


def bucket_counts(texts: list[str], hashing: Hashing) -> tuple[np.ndarray, np.ndarray]:
    """Every (text, bucket) occurrence of the texts' features, for training: two int64 arrays."""
    rows, columns = [], []
    for first, part in chunks(texts):
        folded = fold(part)
        lengths = np.diff(np.append(folded.starts, folded.codes.size))
        owner = np.repeat(np.arange(first, first + len(part)), lengths)
        for buckets, counts in grams(folded, hashing):
            rows.append(owner[counts])
            columns.append(buckets[counts].astype(np.int64))
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(rows) if rows else empty), (np.concatenate(columns) if columns else empty)
