"""Near-duplicate clustering by connected component: components found in this process and in
rounds through the engine's regroup agree with a plain reference; star clusters over each
component alone take the decisions they take over the whole graph; band rows gathered by bucket
give the pairs `candidate_pairs` gives; near-duplicate decisions are the same on both sides of
`DRIVER_EDGES`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import corpus.dedup.clusters as clusters_module
from corpus.config import DedupConfig
from corpus.dedup import NearDuplicates, remove_near
from corpus.dedup.clusters import components_here, components_spread
from corpus.dedup.lsh import BUCKET_ALL_PAIRS, bucket_pairs, candidate_pairs
from corpus.engine.batch import start, take_keys
from corpus.engine.memory import MemoryStore
from corpus.step import Keys
from tests.helpers import frame
from tests.test_dedup_near import clustered_corpus, drifting_chain

SECTION = DedupConfig()


def reference_components(nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Smallest node of each node's component, by a plain union-find (the test's own)."""
    parent = list(range(nodes))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(x) for x in range(nodes)])


class SplittingStore(MemoryStore):
    """A store whose regroup runs every group on its own, last group first (as a cluster might)."""

    def regroup(
        self, frame: pl.DataFrame, by: list[str], run: Callable[[pl.DataFrame], pl.DataFrame]
    ) -> pl.DataFrame:
        groups = frame.partition_by(by, maintain_order=True)[::-1] if frame.height else [frame]
        return pl.concat([run(group) for group in groups], how="vertical_relaxed")


def empty_store(folder: Path) -> MemoryStore:
    return MemoryStore(Keys(pl.DataFrame()), pl.DataFrame(), folder)


@pytest.mark.parametrize("seed", range(6))
def test_components_in_rounds_and_here_match_a_union_find(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    nodes = 400
    edges = int(rng.integers(0, 350))
    chain = np.arange(100, 180)  # a long path: many rounds of label propagation
    left = np.concatenate([rng.integers(0, nodes, edges), chain[:-1]])
    right = np.concatenate([rng.integers(0, nodes, edges), chain[1:]])
    truth = reference_components(nodes, left, right)
    assert (components_here(nodes, left, right) == truth).all()
    assert (components_spread(empty_store(tmp_path), nodes, left, right) == truth).all()
    assert (
        components_spread(SplittingStore(Keys(pl.DataFrame()), pl.DataFrame(), tmp_path), nodes, left, right)
        == truth
    ).all()


def test_bucket_pairs_of_gathered_band_rows_are_the_candidate_pairs() -> None:
    rng = np.random.default_rng(3)
    docs, bands = 600, 6
    keys = rng.integers(0, 400, size=(docs, bands)).astype(np.uint64)
    keys[:, 2] = rng.integers(0, 4, size=docs)  # buckets far above BUCKET_ALL_PAIRS: star and path
    groups = rng.integers(0, 3, size=docs).astype(np.uint32)
    expected = candidate_pairs(iter(keys.T.copy()), groups)
    rows = pl.DataFrame(
        {
            "doc": np.tile(np.arange(docs), bands).astype(np.uint32),
            "group": np.tile(groups, bands),
            "band": np.repeat(np.arange(bands), docs).astype(np.uint16),
            "key": keys.T.ravel(),
        }
    ).sample(fraction=1.0, shuffle=True, seed=5)  # the order a shuffle delivers them in
    assert rows.group_by("band", "key").len()["len"].max() > BUCKET_ALL_PAIRS  # type: ignore[operator]
    assert expected.height > 0
    assert bucket_pairs(rows).equals(expected)


def chains_and_clusters() -> pl.DataFrame:
    ids, texts = [], []
    for chain in range(5):
        for position, words in enumerate(drifting_chain(chain + 40)):
            ids.append(f"d{chain}v{position}")
            texts.append(" ".join(words))
    chained = frame(id=ids, text=texts, language=["fr"] * len(ids))
    return pl.concat([clustered_corpus(), chained], how="diagonal_relaxed")


def near_decisions(rows: pl.DataFrame, store: type[MemoryStore], folder: Path) -> pl.DataFrame:
    batch = start(rows)
    phase = NearDuplicates(SECTION)
    return phase.decide(store(take_keys(batch, phase, {}), batch, folder))


def test_stars_per_component_decide_as_stars_over_the_whole_graph(tmp_path: Path) -> None:
    rows = chains_and_clusters()
    whole = near_decisions(rows, MemoryStore, tmp_path)
    assert whole.height > 10
    assert near_decisions(rows, SplittingStore, tmp_path).equals(whole)


def test_near_decisions_are_the_same_on_both_sides_of_the_driver_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = chains_and_clusters()
    on_driver = remove_near(rows, SECTION)
    rounds: list[int] = []
    spread = clusters_module.components_spread

    def counted(*args: object) -> np.ndarray:
        rounds.append(1)
        return spread(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(clusters_module, "DRIVER_EDGES", 0)
    monkeypatch.setattr(clusters_module, "components_spread", counted)
    in_rounds = remove_near(rows, SECTION)
    assert rounds == [1]
    assert on_driver.filter(pl.col("removed_reason").is_not_null()).height > 10
    assert in_rounds.equals(on_driver)
