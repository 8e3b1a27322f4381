"""The release of the real scrapes: every config loads (also streaming) with all checks, a
rebuild is byte-identical, and `corpus diff` between scrapes 1–8 and 1–9 finds scrape 9's news."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from corpus.build import BuildSummary, build
from corpus.release.diff import diff_releases
from corpus.release.verify import verify_release
from tests.conftest import REAL_CONFIG
from tests.helpers import release_files
from tests.test_diff import independent_diff

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_release(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildSummary:
    return build(REAL_CONFIG, tmp_path_factory.mktemp("real"))


def test_every_config_loads_with_all_checks_and_streams(real_release: BuildSummary, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    card = DatasetCard.load(real_release.path / "README.md").data.to_dict()
    info = {i["config_name"]: i for i in card["dataset_info"]}
    for config in card["configs"]:
        name = config["config_name"]
        declared = {s["name"]: s["num_examples"] for s in info[name]["splits"]}
        loaded = datasets.load_dataset(
            str(real_release.path), name, verification_mode="all_checks", cache_dir=str(tmp_path / "c")
        )
        assert {k: v.num_rows for k, v in loaded.items()} == declared, name
        streamed = datasets.load_dataset(str(real_release.path), name, streaming=True)
        assert {k: sum(1 for _ in v) for k, v in streamed.items()} == declared, name
    on_disk = sum(pq.ParquetFile(p).metadata.num_rows for p in real_release.path.glob("data/*/*.parquet"))
    assert sum(s["num_examples"] for s in info["all"]["splits"]) == on_disk


def test_rebuild_is_byte_identical(real_release: BuildSummary, tmp_path: Path) -> None:
    verify_release(real_release.path)
    again = build(REAL_CONFIG, tmp_path)
    first, second = release_files(real_release.path), release_files(again.path)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def new_urls_in_last_scrape(scrapes: list[Path]) -> int:
    """URLs of the last scrape found in no earlier one, read with the csv module (raw URLs)."""
    csv.field_size_limit(1 << 30)

    def urls(path: Path) -> set[str]:
        with path.open(encoding="utf-8", newline="") as handle:
            return {row["url"] for row in csv.DictReader(handle)}

    earlier = set().union(*(urls(p) for p in scrapes[:-1]))
    return len(urls(scrapes[-1]) - earlier)


def test_diff_of_scrapes_1_to_8_and_1_to_9(real_config_writer, shared_data: Path, tmp_path: Path) -> None:
    scrapes = sorted((shared_data / "fr-financial-ma" / "scrapes").glob("*.csv"))
    assert len(scrapes) == 9
    eight = real_config_writer(
        tmp_path / "eight", {"fr-financial": "fr-financial-ma/scrapes/0[1-8]_*.csv"}, version="0.8.0"
    )
    nine = real_config_writer(
        tmp_path / "nine", {"fr-financial": "fr-financial-ma/scrapes/*.csv"}, version="0.9.0"
    )
    old, new = build(eight, tmp_path / "out").path, build(nine, tmp_path / "out").path
    result = diff_releases(old, new)
    expected = independent_diff(old, new)
    for kind in ("added", "removed", "changed"):
        assert {r.language: getattr(r, kind) for r in result.languages if getattr(r, kind)} == dict(
            expected[kind]
        ), kind
    assert result.total.added == new_urls_in_last_scrape(scrapes)
    assert result.total.removed == 0  # a later scrape only adds or corrects
