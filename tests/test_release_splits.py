"""Train/validation/test by a hash of the dedup cluster; shards and row groups by bytes; loading
every config with `verification_mode="all_checks"`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.build import BuildSummary, build
from corpus.config import ReleaseConfig
from corpus.release import assign_splits
from tests.helpers import frame, write_splits
from tests.test_release import changed_config


def position(value: str) -> float:
    """The documented rule, computed independently: first 8 bytes of sha256, as a fraction."""
    return int.from_bytes(hashlib.sha256(value.encode()).digest()[:8], "big") / 2**64


def expected_split(cluster: str, validation: float, test: float) -> str:
    u = position(cluster)
    return "validation" if u < validation else "test" if u < validation + test else "train"


def test_split_follows_the_documented_hash() -> None:
    ids = [f"doc-{i}" for i in range(400)]
    got = assign_splits(frame(id=ids), validation=0.1, test=0.2).to_list()
    assert got == [expected_split(i, 0.1, 0.2) for i in ids]
    shares = {name: got.count(name) / len(ids) for name in ("train", "validation", "test")}
    assert 0.05 < shares["validation"] < 0.15
    assert 0.14 < shares["test"] < 0.26


def test_duplicates_share_the_split_of_the_document_they_duplicate() -> None:
    kept = [f"kept-{i}" for i in range(50)]
    rows = frame(
        id=kept + [f"dup-{i}" for i in range(50)],
        dup_of=[None] * 50 + kept,
    )
    splits = assign_splits(rows, validation=0.3, test=0.3).to_list()
    assert splits[:50] == splits[50:]
    assert len(set(splits)) == 3  # the check above is not trivially true


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40, unique=True), st.randoms())
def test_split_does_not_depend_on_row_order(ids: list[str], rng) -> None:
    shuffled = list(ids)
    rng.shuffle(shuffled)
    first = dict(zip(ids, assign_splits(frame(id=ids), 0.2, 0.2).to_list(), strict=True))
    second = dict(zip(shuffled, assign_splits(frame(id=shuffled), 0.2, 0.2).to_list(), strict=True))
    assert first == second


def test_growing_test_share_never_moves_a_document_into_train() -> None:
    ids = [f"doc-{i}" for i in range(300)]
    small = assign_splits(frame(id=ids), 0.05, 0.05).to_list()
    large = assign_splits(frame(id=ids), 0.05, 0.15).to_list()
    assert all(b != "train" for a, b in zip(small, large, strict=True) if a != "train")


def test_fractions_must_leave_train() -> None:
    with pytest.raises(ValueError, match="leave a share for train"):
        ReleaseConfig(validation=0.5, test=0.5)


def test_row_groups_close_by_text_bytes(tmp_path: Path) -> None:
    rows = frame(id=[f"d{i:02d}" for i in range(20)], text=["x" * 400] * 20, language=["fr"] * 20)
    (split,) = write_splits(rows, tmp_path, shard_bytes=100_000, row_group_rows=100, row_group_bytes=1000)
    meta = pq.ParquetFile(tmp_path / split.files[0]).metadata
    # 400-byte texts start at 0, 400, 800 | 1200, 1600 | 2000, ...: a row joins the group of the
    # 1000-byte window its first byte falls in.
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 2] * 4


def test_split_files_are_named_by_split(tmp_path: Path) -> None:
    ids = [f"doc-{i}" for i in range(60)]
    rows = frame(id=ids, text=["t"] * 60, language=["fr"] * 60)
    splits = write_splits(rows, tmp_path, 10_000, 100, validation=0.2, test=0.2)
    assert [s.name for s in splits] == ["train", "validation", "test"]
    for s in splits:
        assert s.files == [f"data/fr/{s.name}-00000-of-00001.parquet"]
        written = pl.read_parquet(tmp_path / s.files[0])["id"].to_list()
        assert written == sorted(i for i in ids if expected_split(i, 0.2, 0.2) == s.name)


@pytest.fixture(scope="module")
def split_release(tmp_path_factory: pytest.TempPathFactory) -> BuildSummary:
    folder = tmp_path_factory.mktemp("splits")
    return build(changed_config(folder / "cfg", validation=0.2, test=0.2), folder / "out")


def test_every_config_loads_with_all_checks(split_release: BuildSummary, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    card = DatasetCard.load(split_release.path / "README.md").data.to_dict()
    info = {i["config_name"]: i for i in card["dataset_info"]}
    assert {s["name"] for s in info["all"]["splits"]} == {"train", "validation", "test"}
    for config in card["configs"]:
        name = config["config_name"]
        loaded = datasets.load_dataset(
            str(split_release.path), name, verification_mode="all_checks", cache_dir=str(tmp_path / "cache")
        )
        declared = {s["name"]: s for s in info[name]["splits"]}
        assert {k: v.num_rows for k, v in loaded.items()} == {
            k: v["num_examples"] for k, v in declared.items()
        }
        recorded = next(iter(loaded.values())).info.splits
        for split, sizes in declared.items():
            if name == "all":
                # `datasets` merges one-row batches across files, saving a few bitmap bytes.
                assert abs(recorded[split].num_bytes - sizes["num_bytes"]) <= sizes["num_bytes"] // 100
            else:
                assert recorded[split].num_bytes == sizes["num_bytes"], (name, split)


def test_streaming_reads_every_split(split_release: BuildSummary) -> None:
    datasets = pytest.importorskip("datasets")
    streamed = datasets.load_dataset(str(split_release.path), "all", streaming=True)
    on_disk = {
        split: sum(pq.ParquetFile(p).metadata.num_rows for p in split_release.path.glob(f"data/*/{split}-*"))
        for split in ("train", "validation", "test")
    }
    assert {name: sum(1 for _ in rows) for name, rows in streamed.items()} == on_disk
