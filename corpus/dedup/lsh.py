"""LSH over MinHash signatures: band keys, candidate pairs, estimated Jaccard, in numpy and polars.

Documents are numbers in a canonical order (the caller sorts by id) so that every result is
independent of input order; `Signatures` maps them to rows of the signature blocks (one block per
batch, memory-mapped from the work folder), so no reordered copy of the matrix is ever made.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

# Odd multiplier that folds a band's rows into one 64-bit bucket key.
BAND_BASE = np.uint64(0x100000001B3)
# Odd multiplier mixing the group into the key, only to skip documents alone in their bucket.
GROUP_MIX = np.uint64(0x9E3779B97F4A7C15)
# Buckets with more members than this are linked as a star plus a path (sorted by row) instead of
# every pair: the same components, without k^2 pairs when a template fills one bucket.
BUCKET_ALL_PAIRS = 64
# Candidate pairs gathered over bands before duplicates are dropped: 4M pairs are 32 MB.
PENDING_PAIRS = 1 << 22
# Pairs verified per numpy batch: 16k pairs x 128 permutations gathers 2 x 8 MB of signatures.
VERIFY_BATCH = 1 << 14


class Signatures:
    """MinHash rows (uint32, documents x permutations) as LSH numbers documents: document k is
    row `order[k]` of the blocks stacked in order (a block per batch; an earlier release's
    signatures are one more block)."""

    def __init__(self, blocks: list[np.ndarray], order: np.ndarray | None = None) -> None:
        self.blocks = blocks
        self.starts = np.concatenate([[0], np.cumsum([block.shape[0] for block in blocks])]).astype(np.int64)
        self.order = np.arange(self.starts[-1]) if order is None else order
        self.num_perm = blocks[0].shape[1]

    def __len__(self) -> int:
        return int(self.order.size)

    def column(self, permutation: int) -> np.ndarray:
        """One permutation's value for every document, in document order."""
        return np.concatenate([block[:, permutation] for block in self.blocks])[self.order]

    def rows(self, docs: np.ndarray) -> np.ndarray:
        """The signatures of these documents (len(docs) x permutations)."""
        stacked = self.order[docs]
        block = np.searchsorted(self.starts, stacked, side="right") - 1
        out = np.empty((docs.size, self.num_perm), dtype=np.uint32)
        for index in np.unique(block):
            chosen = np.flatnonzero(block == index)
            out[chosen] = self.blocks[index][stacked[chosen] - self.starts[index]]
        return out


def _as_signatures(signatures: Signatures | np.ndarray) -> Signatures:
    return signatures if isinstance(signatures, Signatures) else Signatures([signatures])


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit bucket key per document and band (documents x bands): each band's `rows`
    permutation values folded by a polynomial."""
    keys = np.zeros((signatures.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            for column in range(band * rows, (band + 1) * rows):
                keys[:, band] = keys[:, band] * BAND_BASE + signatures[:, column].astype(np.uint64)
    return keys


def candidate_pairs(bands: Iterator[np.ndarray], groups: np.ndarray) -> pl.DataFrame:
    """Pairs (left < right) of the same group sharing at least one band bucket, from each band's
    bucket keys (one per document, in document order). A pair is one uint64 (left << 32 | right);
    the bands' pairs are made distinct every few million, since a near-duplicate pair shares most
    bands (bounded memory)."""
    known = np.zeros(0, dtype=np.uint64)
    pending: list[np.ndarray] = []
    for key in bands:
        pending.append(packed(_bucket_pairs(_shared_buckets(groups, key))))
        if sum(part.size for part in pending) > PENDING_PAIRS:
            known, pending = np.unique(np.concatenate([known, *pending])), []
    return unpacked(np.unique(np.concatenate([known, *pending])))


def bucket_pairs(rows: pl.DataFrame) -> pl.DataFrame:
    """Distinct candidate pairs (left < right, sorted) from band rows `doc`, `group`, `band`,
    `key` holding every row of their (group, band, key) buckets: the same pairs `candidate_pairs`
    finds for those bands, whatever the rows' order (a gather's `run` for near duplicates)."""
    found = [np.zeros(0, dtype=np.uint64)]
    for band in rows.partition_by("band", maintain_order=True) if rows.height else []:
        docs, groups = band["doc"].to_numpy(), band["group"].to_numpy()
        pairs = _bucket_pairs(_shared_buckets(groups, band["key"].to_numpy(), docs))
        found.append(packed(pairs))
    return unpacked(np.unique(np.concatenate(found)))


def packed(pairs: pl.DataFrame) -> np.ndarray:
    """Pairs as one uint64 each (left << 32 | right): sorting them sorts by left, then right."""
    return (pairs["left"].to_numpy().astype(np.uint64) << np.uint64(32)) | pairs["right"].to_numpy()


def unpacked(known: np.ndarray) -> pl.DataFrame:
    left = (known >> np.uint64(32)).astype(np.uint32)
    return pl.DataFrame({"left": left, "right": known.astype(np.uint32)})


def _shared_buckets(groups: np.ndarray, key: np.ndarray, docs: np.ndarray | None = None) -> pl.DataFrame:
    """(doc, group, key) of the documents whose bucket may hold another one: found by sorting a
    mix of group and key in numpy, so polars groups a few rows instead of every document. `docs`
    numbers the rows (default: their positions); the result is in `doc` order."""
    with np.errstate(over="ignore"):
        mixed = key ^ (groups.astype(np.uint64) * GROUP_MIX)
    order = np.argsort(mixed, kind="stable")
    ordered = mixed[order]
    same = ordered[1:] == ordered[:-1]
    shared = np.zeros(order.size, dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    rows = order[shared]
    numbers = rows if docs is None else docs[rows]
    rows = rows[np.argsort(numbers, kind="stable")]
    numbers = rows if docs is None else docs[rows]
    return pl.DataFrame({"doc": numbers.astype(np.uint32), "group": groups[rows], "key": key[rows]})


def _bucket_pairs(members: pl.DataFrame) -> pl.DataFrame:
    bucket = ["group", "key"]
    members = members.with_columns(size=pl.len().over(bucket)).filter(pl.col("size") > 1)
    small = members.filter(pl.col("size") <= BUCKET_ALL_PAIRS).select("doc", *bucket)
    every = (
        small.join(small, on=bucket, suffix="_other")
        .filter(pl.col("doc") < pl.col("doc_other"))
        .select(left="doc", right="doc_other")
    )
    large = members.filter(pl.col("size") > BUCKET_ALL_PAIRS).sort("doc")
    linked = large.with_columns(
        first=pl.col("doc").min().over(bucket), following=pl.col("doc").shift(-1).over(bucket)
    )
    star = linked.filter(pl.col("doc") != pl.col("first")).select(left="first", right="doc")
    path = linked.filter(pl.col("following").is_not_null()).select(left="doc", right="following")
    return pl.concat([every, star, path]).cast(pl.UInt32)


def estimated_jaccard(signatures: Signatures | np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of permutations on which two signatures agree, per pair."""
    signatures = _as_signatures(signatures)
    out = np.empty(left.size, dtype=np.float64)
    for low in range(0, left.size, VERIFY_BATCH):
        high = low + VERIFY_BATCH
        same = signatures.rows(left[low:high]) == signatures.rows(right[low:high])
        out[low:high] = same.mean(axis=1)
    return out
