"""Candidate pairs from LSH bands, verified edges, and connected components, in polars and numpy.

Documents are row numbers into a signature matrix (documents x permutations). Rows must be in a
canonical order (the caller sorts by id) so that every result is independent of input order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

# Odd multiplier that folds a band's rows into one 64-bit bucket key.
BAND_BASE = np.uint64(0x100000001B3)
# Buckets with more members than this are linked as a star plus a path (sorted by row) instead of
# every pair: the same components, without k^2 pairs when a template fills one bucket.
BUCKET_ALL_PAIRS = 64
# Pairs verified per numpy batch: 1M pairs x 128 permutations = 128 MB of comparisons.
VERIFY_BATCH = 1_000_000

Exact = Callable[[np.ndarray, np.ndarray], np.ndarray]


def candidate_pairs(signatures: np.ndarray, groups: np.ndarray, bands: int, rows: int) -> pl.DataFrame:
    """Pairs (left < right) of the same group sharing at least one band bucket."""
    found = []
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.zeros(signatures.shape[0], dtype=np.uint64)
            for column in range(band * rows, (band + 1) * rows):
                key = key * BAND_BASE + signatures[:, column].astype(np.uint64)
            found.append(_bucket_pairs(pl.DataFrame({"group": groups, "key": key}).with_row_index("doc")))
    if not found:
        return pl.DataFrame(schema={"left": pl.UInt32, "right": pl.UInt32})
    return pl.concat(found).unique().sort("left", "right")


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


def estimated_jaccard(signatures: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of permutations on which two signatures agree, per pair."""
    out = np.empty(left.size, dtype=np.float64)
    for low in range(0, left.size, VERIFY_BATCH):
        high = low + VERIFY_BATCH
        out[low:high] = (signatures[left[low:high]] == signatures[right[low:high]]).mean(axis=1)
    return out


def verified_edges(
    signatures: np.ndarray, pairs: pl.DataFrame, threshold: float, margin: float, exact: Exact
) -> pl.DataFrame:
    """Candidate pairs that are duplicates: estimate >= threshold, or a borderline estimate
    (within `margin` below) whose exact shingle Jaccard is >= threshold (NaN: not available)."""
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    estimate = estimated_jaccard(signatures, left, right)
    similarity = estimate.copy()
    borderline = np.flatnonzero((estimate < threshold) & (estimate >= threshold - margin))
    if borderline.size:
        similarity[borderline] = exact(left[borderline], right[borderline])
    keep = similarity >= threshold
    return pl.DataFrame({"left": left[keep], "right": right[keep], "similarity": similarity[keep]})


def components(edges: pl.DataFrame) -> pl.DataFrame:
    """Connected components of the edge list: (doc, component) where component is the smallest
    row in it; rows without edges are left out. Min-label propagation with pointer jumping."""
    both = pl.concat([edges.select(a="left", b="right"), edges.select(a="right", b="left")]).cast(pl.UInt32)
    labels = both.group_by("a").agg(pl.col("b").min()).select(doc="a", component=pl.min_horizontal("a", "b"))
    while True:
        # Each row takes the smallest label among its neighbours, then its label's label.
        spread = (
            both.join(labels, left_on="b", right_on="doc")
            .group_by("a")
            .agg(pl.col("component").min().alias("neighbour"))
        )
        updated = (
            labels.join(spread, left_on="doc", right_on="a", how="left")
            .with_columns(component=pl.min_horizontal("component", "neighbour"))
            .drop("neighbour")
        )
        jumped = (
            updated.join(
                updated.select(pl.col("doc").alias("component"), pl.col("component").alias("jump")),
                on="component",
                how="left",
            )
            .with_columns(component=pl.min_horizontal("component", "jump"))
            .drop("jump")
        )
        if jumped.sort("doc").equals(labels.sort("doc")):
            return jumped.sort("doc")
        labels = jumped
