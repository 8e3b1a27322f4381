"""Near-duplicate clusters by connected component, so star clustering can run where the edges are.

Greedy star clustering in one global order (`corpus.dedup.near`) only ever looks along edges, so
two connected components never affect each other: running it over any union of whole components,
in the same relative order, takes the same decisions. So the verified edges are labelled with
their component (the smallest document number in it), and the stars are formed per group of whole
components through the engine's `regroup` (in this process for the local engine, as a Ray Data
`map_groups` on the cluster for the Ray engine); the results are sorted into one canonical order.

Components are found here (numpy, hook and compress) while the edges number at most
`DRIVER_EDGES`; above it, by rounds of the large-star and small-star operations (Kiveris et al.,
"Connected components in MapReduce and beyond", 2014), each round a `regroup` of the edge list
by node, so the rounds run on the cluster too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from corpus.step import PART, ROW, KeyStore

# Verified edges up to which connected components are found in the deciding process (numpy, about
# 60 bytes an edge at the peak: 20M edges are ~1.2 GB); above, in rounds through the engine.
DRIVER_EDGES = 20_000_000


def clusters(
    store: KeyStore,
    docs: pl.DataFrame,
    edges: pl.DataFrame,
    star_group: Callable[[pl.DataFrame], pl.DataFrame],
) -> pl.DataFrame:
    """`star_group` (stars over `star_inputs` rows) per group of whole components, through the
    engine; the removed rows sorted by part and row."""
    left = edges["left"].to_numpy().astype(np.int64)
    right = edges["right"].to_numpy().astype(np.int64)
    if edges.height <= DRIVER_EDGES:
        label = components_here(docs.height, left, right)
    else:
        label = components_spread(store, docs.height, left, right)
    linked = np.unique(np.concatenate([left, right]))
    nodes = docs[linked].with_columns(
        _node=pl.Series(linked, dtype=pl.UInt32), _component=pl.Series(label[linked], dtype=pl.UInt32)
    )
    links = edges.with_columns(_component=pl.Series(label[left], dtype=pl.UInt32))
    frame = pl.concat([nodes, links], how="diagonal_relaxed")
    if edges.height == 0:
        return star_group(frame)
    out = store.regroup(frame, ["_component"], star_group)
    if out.height == 0:
        return star_group(frame.clear())
    return out.sort(PART, ROW)


def star_inputs(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The documents (in document-number order) and edges (numbered among those documents) of a
    `clusters` group frame."""
    nodes = frame.filter(pl.col("left").is_null()).sort("_node")
    links = frame.filter(pl.col("left").is_not_null())
    number = nodes["_node"].to_numpy()
    edges = pl.DataFrame(
        {
            "left": np.searchsorted(number, links["left"].to_numpy()).astype(np.uint32),
            "right": np.searchsorted(number, links["right"].to_numpy()).astype(np.uint32),
            "similarity": links["similarity"].to_numpy(),
        },
        schema={"left": pl.UInt32, "right": pl.UInt32, "similarity": pl.Float64},
    )
    return nodes, edges


def components_here(nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per node, the smallest node of its component (a node without edges: itself). Roots hook to
    the smaller root across each edge, then labels jump to their roots, until no edge joins two."""
    label = np.arange(nodes, dtype=np.int64)
    while True:
        low = np.minimum(label[left], label[right])
        hooked = label.copy()
        np.minimum.at(hooked, label[left], low)
        np.minimum.at(hooked, label[right], low)
        while not np.array_equal(jumped := hooked[hooked], hooked):
            hooked = jumped
        if np.array_equal(hooked, label):
            return label
        label = hooked


def components_spread(store: KeyStore, nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`components_here` by large-star and small-star rounds, each a `regroup` of the edges by
    node, until a round pair changes nothing: every edge then joins a node to its component's
    smallest node."""
    edges = _normalised(pl.DataFrame({"a": left, "b": right}))
    while True:
        before = edges
        for step in (_large_star, _small_star):
            both = pl.concat([edges.select(node="a", other="b"), edges.select(node="b", other="a")])
            edges = _normalised(store.regroup(both, ["node"], step))
        if edges.equals(before):
            break
    label = np.arange(nodes, dtype=np.int64)
    label[edges["a"].to_numpy()] = edges["b"].to_numpy()
    return label


def _normalised(edges: pl.DataFrame) -> pl.DataFrame:
    """Distinct edges (a > b), sorted; no self loops."""
    if edges.height == 0:
        return pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
    out = edges.select(a=pl.max_horizontal("a", "b"), b=pl.min_horizontal("a", "b")).cast(pl.Int64)
    return out.filter(pl.col("a") != pl.col("b")).unique().sort("a", "b")


def _smallest(frame: pl.DataFrame) -> pl.DataFrame:
    """Per node, the smallest of itself and the given neighbours."""
    found = frame.group_by("node").agg(smallest=pl.col("other").min())
    return found.with_columns(smallest=pl.min_horizontal("smallest", "node"))


def _large_star(frame: pl.DataFrame) -> pl.DataFrame:
    """Each node links its larger neighbours to the smallest of its neighbourhood."""
    smallest = _smallest(frame)
    larger = frame.filter(pl.col("other") > pl.col("node")).join(smallest, on="node")
    return larger.select(a="other", b="smallest")


def _small_star(frame: pl.DataFrame) -> pl.DataFrame:
    """Each node links itself and its smaller neighbours to the smallest of them."""
    smaller = frame.filter(pl.col("other") < pl.col("node"))
    smallest = _smallest(smaller)
    moved = smaller.join(smallest, on="node").select(a="other", b="smallest")
    return pl.concat([moved, smallest.select(a="node", b="smallest")])
