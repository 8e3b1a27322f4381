"""Exact verification of near-duplicate candidates: the n-gram Jaccard of close pairs, through the
engine's group-bys, so that on a cluster no single process reads the candidates' texts.

1. Hashing, a `Gather` over the parts: each part's task reads the texts of its documents that are
   in a close pair, hashes their distinct n-grams once and writes them to a file of that part in
   the decision's shared scratch folder (renamed into place: a retried task writes the same bytes).
   Its rows say where each document's n-grams are: (doc, part, start, size), 28 bytes a document.
2. Jaccard, a `regroup` of the pairs (24 bytes each): a call finds where each document's n-grams
   are (the hashing's rows, saved as arrays in the scratch folder) and reads those of one chunk of
   its pairs at a time from the part files, so memory is one chunk however many pairs there are.

The local engine runs both in its own process (parts on threads); the Ray engine runs them on the
cluster above its driver switches. Either way a pair's Jaccard is computed from the same n-grams by
the same arithmetic, so the edges are the same.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from corpus.dedup.normalise import matching_text
from corpus.dedup.signatures import gram_hashes
from corpus.step import PART, ROW, Gather, KeyStore, load_array

# Documents whose texts are hashed at a time (memory: their n-grams' sort keys, 8 B each).
GRAM_DOCS = 4_096
# Pairs whose exact Jaccard is computed per numpy batch: 1k pairs of news articles are ~30 MB
# of n-gram keys (5k pairs added 400 MB to the peak at 1M documents).
EXACT_BATCH_PAIRS = 1_000
LOCATED = {"doc": pl.Int64, PART: pl.UInt32, "start": pl.Int64, "size": pl.Int64}


def exact_jaccard(
    store: KeyStore, places: pl.DataFrame, pairs: tuple[np.ndarray, np.ndarray], ngram: int, folder: Path
) -> np.ndarray:
    """The n-gram Jaccard of each pair (`left[i]`, `right[i]`); `places` are the documents of the
    pairs (`doc` numbers, their `_part` and `_row`); `folder` is shared scratch the caller removes."""
    left, right = pairs
    places = places.sort(PART, ROW)
    for name in ("doc", PART, ROW):
        np.save(folder / f"wanted-{name}.npy", places[name].to_numpy())
    hashing = Gather(store.part_count(), 1, ("doc",), PartGrams(folder, ngram), _as_is)
    located = store.gather(hashing).cast(LOCATED).sort("doc")  # type: ignore[arg-type]
    for name in LOCATED:
        np.save(folder / f"located-{name}.npy", located[name].to_numpy())
    frame = pl.DataFrame({"_pair": np.arange(left.size), "left": left, "right": right})
    found = store.regroup(frame, ["_pair"], PairJaccard(folder))
    return found.sort("_pair")["similarity"].to_numpy()


def _as_is(frame: pl.DataFrame) -> pl.DataFrame:
    """The hashing's rows need no work once gathered (its tasks did it)."""
    return frame


@dataclass(frozen=True)
class PartGrams:
    """A hashing task: one part's wanted documents' distinct n-grams, written to `grams-<part>.u32`
    in `folder`; rows (doc, part, start, size) say where each document's are."""

    folder: Path
    ngram: int

    def __call__(self, store: KeyStore, part: int, number: int) -> pl.DataFrame:
        parts = load_array(self.folder / f"wanted-{PART}.npy")
        low, high = np.searchsorted(parts, [part, part + 1])
        docs = load_array(self.folder / "wanted-doc.npy")[low:high]
        rows = np.asarray(load_array(self.folder / f"wanted-{ROW}.npy")[low:high])
        if rows.size == 0:
            return pl.DataFrame(schema=LOCATED)
        texts = store.texts(np.full(rows.size, part), rows)
        sizes = []
        final = _grams_file(self.folder, part)
        unfinished = final.with_suffix(f".{os.getpid()}.partial")
        with unfinished.open("wb") as out:
            for first in range(0, texts.len(), GRAM_DOCS):
                distinct, counts = distinct_grams(texts.slice(first, GRAM_DOCS), self.ngram)
                out.write(distinct.tobytes())
                sizes.append(counts)
        unfinished.replace(final)
        size = np.concatenate(sizes)
        return pl.DataFrame(
            {"doc": docs, PART: np.full(size.size, part), "start": np.cumsum(size) - size, "size": size},
            schema=LOCATED,
        )


def _grams_file(folder: Path, part: int) -> Path:
    return folder / f"grams-{part}.u32"


def distinct_grams(texts: pl.Series, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct n-gram hashes, ascending, end to end (uint32), and how many each has:
    one sort of (text, hash) keys for all of them."""
    matching = texts.to_frame("t").select(matching_text(pl.col("t")))["t"]
    hashes, offsets = gram_hashes(matching, ngram)
    owner = np.repeat(np.arange(texts.len(), dtype=np.uint64), np.diff(np.append(offsets, hashes.size)))
    keys = np.sort((owner << np.uint64(32)) | hashes.astype(np.uint64))
    # Sorted, then the repeats dropped: np.unique's hash table took 10x longer on these keys.
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if keys.size else keys
    sizes = np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=texts.len())
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), sizes


@dataclass(frozen=True)
class PairJaccard:
    """A regroup's call: the exact Jaccard of its pairs (`_pair`, `left`, `right`), each
    document's n-grams found through the `located-*` arrays in `folder`, a chunk at a time."""

    folder: Path

    def __call__(self, frame: pl.DataFrame) -> pl.DataFrame:
        located = {name: load_array(self.folder / f"located-{name}.npy") for name in LOCATED}
        files: dict[int, np.ndarray] = {}
        out = np.empty(frame.height, dtype=np.float64)
        for low in range(0, frame.height, EXACT_BATCH_PAIRS):
            chunk = frame.slice(low, EXACT_BATCH_PAIRS)
            pair = np.arange(chunk.height, dtype=np.uint64)
            at = [np.searchsorted(located["doc"], chunk[side].to_numpy()) for side in ("left", "right")]
            sides = [[np.asarray(located[name][where]) for name in (PART, "start", "size")] for where in at]
            keys = np.sort(np.concatenate([self._keys(files, side, pair) for side in sides]))
            shared_keys = keys[1:][keys[1:] == keys[:-1]]
            shared = np.bincount((shared_keys >> np.uint64(32)).astype(np.int64), minlength=pair.size)
            out[low : low + chunk.height] = shared / np.maximum(sides[0][2] + sides[1][2] - shared, 1)
        for values in files.values():
            _release(values)
        return pl.DataFrame({"_pair": frame["_pair"], "similarity": out})

    def _keys(self, files: dict[int, np.ndarray], side: list[np.ndarray], pair: np.ndarray) -> np.ndarray:
        """(pair << 32 | hash) for every distinct n-gram of each pair's document on one side
        (`side`: each document's part, start and size); `files` keeps the part files mapped."""
        parts, starts, sizes = side
        keys = []
        for part in np.unique(parts[sizes > 0]).tolist():  # an empty file cannot be mapped
            mine = np.flatnonzero(parts == part)
            size = sizes[mine]
            if part not in files:
                files[part] = np.memmap(_grams_file(self.folder, part), dtype=np.uint32, mode="r")
            at = np.repeat(starts[mine] - (np.cumsum(size) - size), size) + np.arange(size.sum())
            keys.append((np.repeat(pair[mine], size) << np.uint64(32)) | files[part][at].astype(np.uint64))
        return np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)


def _release(values: np.ndarray) -> None:
    """Drop a file's pages from this process's memory (they are cache, not working set)."""
    handle = getattr(values, "_mmap", None)
    if handle is not None and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)
