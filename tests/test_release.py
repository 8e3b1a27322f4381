"""The release of the embedded sample: layout, card, manifest, ledger, loading, reproducibility."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml
from huggingface_hub import DatasetCard

from corpus.build import BuildSummary, Options, build
from corpus.errors import ReleaseError
from corpus.release import sha256_file
from corpus.schema import RELEASED, REMOVED
from tests.helpers import CONFIGS, MAGHREB, SAMPLE, frame, release_files, write_splits

SEED_TITLE = "Maroc-Russie : Le dialogue politique se poursuit malgré le report de la visite de Lavrov"
DUPLICATE_REASONS = {"rescrape", "exact_duplicate", "near_duplicate"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildSummary:
    return build(MAGHREB, tmp_path_factory.mktemp("out"))


@pytest.fixture(scope="module")
def release(built: BuildSummary) -> Path:
    return built.path


@pytest.fixture(scope="module")
def released(release: Path) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in sorted((release / "data").glob("*/*.parquet"))])


@pytest.fixture(scope="module")
def removed(release: Path) -> pl.DataFrame:
    return pl.read_parquet(release / "removed" / "removed-00000-of-00001.parquet")


@pytest.fixture(scope="module")
def card(release: Path) -> dict:
    return DatasetCard.load(release / "README.md").data.to_dict()


@pytest.fixture(scope="module")
def manifest(release: Path) -> dict:
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))


def language_dirs(release: Path) -> list[str]:
    return sorted(p.name for p in (release / "data").iterdir() if p.is_dir())


def test_release_path_and_status(built: BuildSummary) -> None:
    assert built.status == "new"
    assert built.path.parts[-2:] == ("maghreb-news", "v0.1.0")


def test_one_shard_per_language(release: Path, released: pl.DataFrame) -> None:
    dirs = language_dirs(release)
    assert dirs == sorted(released["language"].unique().to_list())
    # The sample has French and Arabic at least.
    assert {"fr", "ar"} <= set(dirs)
    for language in dirs:
        files = sorted(p.name for p in (release / "data" / language).iterdir())
        assert files == ["train-00000-of-00001.parquet"]
        rows = pl.read_parquet(release / "data" / language / files[0])
        assert rows["language"].unique().to_list() == [language]
        assert rows["id"].to_list() == sorted(rows["id"].to_list())


def test_released_and_removed_columns(release: Path, released: pl.DataFrame, removed: pl.DataFrame) -> None:
    assert released.columns == RELEASED
    assert removed.columns == REMOVED
    # Plain Arrow strings, so every reader sees the same schema.
    schema = pq.read_schema(next((release / "data").glob("fr/*.parquet")))
    assert str(schema.field("text").type) == "string"
    assert released["id"].n_unique() == released.height


def test_card_header_configs(release: Path, card: dict) -> None:
    configs = {c["config_name"]: c for c in card["configs"]}
    assert configs["all"].get("default") is True
    assert configs["all"]["data_files"] == [{"split": "train", "path": "data/*/train-*.parquet"}]
    assert sorted(set(configs) - {"all"}) == language_dirs(release)
    for language in language_dirs(release):
        assert configs[language]["data_files"] == [
            {"split": "train", "path": f"data/{language}/train-*.parquet"}
        ]
        assert not configs[language].get("default")
    assert card["license"] == "cc-by-4.0"
    assert card["pretty_name"] == "Maghreb news (embedded sample)"


def test_card_sizes_match_the_parquet_files(release: Path, card: dict) -> None:
    info = {i["config_name"]: i for i in card["dataset_info"]}
    total = 0
    for language in language_dirs(release):
        rows = sum(
            pq.ParquetFile(p).metadata.num_rows for p in (release / "data" / language).glob("*.parquet")
        )
        assert info[language]["splits"] == [
            {"name": "train", "num_bytes": info[language]["splits"][0]["num_bytes"], "num_examples": rows}
        ]
        total += rows
    assert info["all"]["splits"][0]["num_examples"] == total
    assert set(info) == {"all", *language_dirs(release)}


def test_card_header_is_plain_yaml(release: Path) -> None:
    text = (release / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    assert "und" not in header.get("language", [])
    assert set(header["language"]) <= set(language_dirs(release))


def test_manifest_hashes_match_the_files(release: Path, manifest: dict) -> None:
    on_disk = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == sha256_file(release / name), name
        assert entry["bytes"] == (release / name).stat().st_size


def test_manifest_rows_and_inputs(manifest: dict, released: pl.DataFrame, removed: pl.DataFrame) -> None:
    rows = manifest["rows"]
    assert rows["released"] == released.height
    assert rows["removed"] == removed.height
    assert rows["read"] == rows["released"] + rows["removed"]
    pages = sorted(p.name for p in (SAMPLE / "pages").glob("*.txt"))
    articles = (SAMPLE / "articles.jsonl").read_text(encoding="utf-8").strip().count("\n") + 1
    assert rows["read"] == len(pages) + articles
    inputs = {Path(i["path"]).name: i for i in manifest["inputs"]}
    assert set(inputs) == {*pages, "articles.jsonl"}
    assert inputs["000_seed.txt"]["sha256"] == sha256_file(SAMPLE / "pages" / "000_seed.txt")
    assert manifest["version"] == "v0.1.0"
    assert manifest["name"] == "maghreb-news"


def test_manifest_holds_no_machine_paths(release: Path) -> None:
    text = (release / "manifest.json").read_text(encoding="utf-8")
    assert str(CONFIGS.parent) not in text
    assert str(release.parent) not in text


def test_removed_rows_have_reasons(removed: pl.DataFrame, released: pl.DataFrame) -> None:
    assert removed.height > 0
    assert removed["removed_reason"].null_count() == 0
    assert removed["removed_step"].null_count() == 0
    duplicates = removed.filter(pl.col("removed_reason").is_in(list(DUPLICATE_REASONS)))
    assert duplicates.height > 0
    assert duplicates["dup_of"].null_count() == 0
    assert set(duplicates["dup_of"].to_list()) <= set(released["id"].to_list())
    # The sample's known cases (corpus/sample/README.md).
    reasons = dict(zip(removed["source_file"].to_list(), removed["removed_reason"].to_list(), strict=True))
    by_name = {Path(k).name: v for k, v in reasons.items()}
    assert by_name["013_empty_verts-u23.txt"] == "empty"
    assert {by_name.get("001_agrumes-souss-map.txt"), by_name.get("002_agrumes-souss-lematin.txt")} == {
        None,
        "near_duplicate",
    }
    assert {by_name.get("003_tanger-med-record.txt"), by_name.get("004_tanger-med-leadership.txt")} == {
        None,
        "exact_duplicate",
    }


def test_every_input_row_is_accounted_for(
    built: BuildSummary, released: pl.DataFrame, removed: pl.DataFrame
) -> None:
    lineage = pl.concat([released, removed], how="diagonal_relaxed").select(
        "source_name", "source_file", "source_line"
    )
    assert lineage.height == built.rows_read
    assert not lineage.is_duplicated().any()


def test_load_dataset_per_language(release: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    expected = pq.ParquetFile(next((release / "data" / "fr").glob("*.parquet"))).metadata.num_rows
    french = datasets.load_dataset(str(release), "fr", cache_dir=str(tmp_path / "cache"))
    assert french["train"].num_rows == expected
    assert set(french["train"]["language"]) == {"fr"}
    everything = datasets.load_dataset(str(release), cache_dir=str(tmp_path / "cache"))
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in (release / "data").glob("*/*.parquet"))
    assert everything["train"].num_rows == total


def test_seed_page_is_released_clean(released: pl.DataFrame) -> None:
    seed = released.filter(pl.col("source_file").str.ends_with("000_seed.txt"))
    assert seed.height == 1
    row = seed.row(0, named=True)
    assert row["title"] == SEED_TITLE
    assert row["source"] == "L'Opinion"
    assert row["source_raw"] == "L'opinion"
    assert row["country"] == "MA"
    assert row["published_date"] == dt.date(2023, 2, 9)
    assert row["published_at"] is None  # the byline has no time
    assert row["language"] == "fr"
    assert row["layout"] == "page"
    text = row["text"]
    for gone in ("Merci d'avoir signalé", "Cliquez ici", "Le patron de la DGSE", "\u00a0"):
        assert gone not in text
    assert text.startswith("L'ambassadeur du Maroc en Russie s'est entretenu")
    assert text.endswith("le Royaume a multiplié ses importations de carburants russes en 2023.")
    assert text.count("\n") == 6  # seven paragraphs


SAMPLE_PAGES = [
    # (page, field, expected) from the table in corpus/sample/README.md
    ("011_tifinagh_yennayer-agadir.txt", "language", "zgh"),
    ("015_argan-essaouira-en.txt", "language", "en"),
    ("016_paso-estrecho-es.txt", "language", "es"),
    ("017_sdoud-hespress.txt", "language", "ar"),
    (
        "012_mojibake_canicule-sud.txt",
        "title",
        "Canicule : jusqu’à 48 °C attendus dans plusieurs wilayas du Sud",
    ),
    ("012_mojibake_canicule-sud.txt", "source", "El Watan"),
    ("014_nolayout_libye-petrole.txt", "layout", "unknown"),
    ("005_inflation-octobre.txt", "source", "Médias24"),
    ("006_mauritanie-peche.txt", "source", "Médias24"),
    ("019_gharb-hboub.txt", "source", "هسبريس"),
    ("020_tozeur-tmour.txt", "published_date", dt.date(2022, 9, 12)),
    ("005_inflation-octobre.txt", "furniture", ["reproduction_interdite"]),
    ("007_festival-essaouira.txt", "furniture", ["whatsapp_channel"]),
    ("021_qamh-janoub.txt", "furniture", ["all_rights_reserved_ar"]),
]


@pytest.mark.parametrize(("page", "field", "expected"), SAMPLE_PAGES)
def test_sample_pages_as_documented(released: pl.DataFrame, page: str, field: str, expected: object) -> None:
    rows = released.filter(pl.col("source_file").str.ends_with("/" + page))
    assert rows.height == 1
    value = rows[field].to_list()[0]
    if field == "furniture":  # the page layout's own parts (`page_head`, `page_footer`) aside
        value = [name for name in value if not name.startswith("page_")]
    assert value == expected


def test_sample_rescrape_keeps_the_corrected_record(released: pl.DataFrame, removed: pl.DataFrame) -> None:
    url = "https://medias24.com/2024/03/05/automobile-les-exportations-du-secteur-franchissent-un-nouveau-seuil-1432/"
    kept = released.filter(pl.col("url") == url)
    gone = removed.filter(pl.col("url") == url)
    assert kept["source_line"].to_list() == [8]  # the later line of the same scrape
    assert gone["source_line"].to_list() == [3]
    assert gone["removed_reason"].to_list() == ["rescrape"]
    assert gone["dup_of"].to_list() == kept["id"].to_list()
    assert kept["source"].to_list() == ["Médias24"]  # spelled "Medias24" in the record


def test_building_twice_gives_identical_bytes(release: Path, tmp_path: Path) -> None:
    again = build(MAGHREB, tmp_path / "elsewhere")
    assert again.status == "new"
    first, second = release_files(release), release_files(again.path)
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_same_version_again_is_unchanged(release: Path) -> None:
    before = release_files(release)
    again = build(MAGHREB, release.parents[1])
    assert again.status == "unchanged"
    assert again.path == release
    assert release_files(release) == before
    assert [p.name for p in release.parent.iterdir()] == [release.name]  # no staging or work left


def changed_config(folder: Path, name: str = "changed.yaml", metadata: dict | None = None, **release) -> Path:
    """configs/maghreb.yaml elsewhere, same name and version, with a different description
    (or other `release` and `metadata` settings)."""
    raw = yaml.safe_load(MAGHREB.read_text(encoding="utf-8"))
    raw["metadata"].update(metadata or {})
    for source in raw["sources"]:
        source["path"] = os.path.relpath(CONFIGS / source["path"], folder)
    raw["boilerplate"]["patterns"] = os.path.relpath(CONFIGS / "boilerplate.yaml", folder)
    raw["metadata"]["outlets"] = os.path.relpath(CONFIGS / "outlets.yaml", folder)
    raw["release"]["description"] = "A different description: the content changed, not the version."
    raw["release"].update(release)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_changed_content_same_version_needs_force(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    target = out / "maghreb-news" / "v0.1.0"
    shutil.copytree(release, target)
    before = release_files(target)
    config = changed_config(tmp_path / "cfg")

    with pytest.raises(ReleaseError) as caught:
        build(config, out)
    assert "--force" in str(caught.value)
    assert "README.md" in str(caught.value)
    assert release_files(target) == before  # left alone
    # No staging left; the finished work stays, so the same build with --force reuses it.
    assert sorted(p.name for p in target.parent.iterdir()) == [".work-v0.1.0", "v0.1.0"]

    replaced = build(config, out, Options(force=True))
    assert replaced.status == "replaced"
    assert replaced.path == target
    assert "A different description" in (target / "README.md").read_text(encoding="utf-8")
    assert release_files(target) != before
    assert sorted(p.name for p in target.parent.iterdir()) == ["v0.1.0"]  # no backup left


# Sharding.


def test_shards_hold_every_row_when_documents_are_small(tmp_path: Path) -> None:
    rows = frame(id=[f"d{i:02d}" for i in range(30)], text=["x" * 300] * 30, language=["fr"] * 30)
    splits = write_splits(rows, tmp_path, shard_bytes=1000, row_group_rows=100)
    (split,) = splits
    assert len(split.files) > 1
    assert split.files[0] == f"data/fr/train-00000-of-{len(split.files):05d}.parquet"
    counts = [pq.ParquetFile(tmp_path / f).metadata.num_rows for f in split.files]
    assert sum(counts) == 30 == split.num_examples
    assert all(n > 0 for n in counts)
    ids = [i for f in split.files for i in pl.read_parquet(tmp_path / f)["id"].to_list()]
    assert ids == sorted(rows["id"].to_list())


def test_the_compression_level_changes_the_size_not_the_rows(tmp_path: Path) -> None:
    words = [f"{w} mot{(i * 7919) % 613} texte{i % 97}" for i, w in enumerate(["le", "la", "un"] * 400)]
    texts = [" ".join(words[i : i + 40]) for i in range(0, 1200, 10)]
    rows = frame(id=[f"d{i:03d}" for i in range(120)], text=texts, language=["fr"] * 120)
    tables, sizes = [], []
    for level in (1, 19):
        folder = tmp_path / str(level)
        (split,) = write_splits(rows, folder, shard_bytes=10**6, row_group_rows=1000, compression_level=level)
        (name,) = split.files
        tables.append(pq.read_table(folder / name))
        sizes.append((folder / name).stat().st_size)
    assert tables[0].equals(tables[1])
    assert sizes[1] < sizes[0]


def test_shards_hold_every_row_with_a_large_document(tmp_path: Path) -> None:
    rows = frame(id=["a", "b", "c"], text=["x" * 3500, "y" * 10, "z" * 10], language=["fr"] * 3)
    (split,) = write_splits(rows, tmp_path, shard_bytes=1000, row_group_rows=100)
    counts = [pq.ParquetFile(tmp_path / f).metadata.num_rows for f in split.files]
    assert sum(counts) == split.num_examples == 3
    assert all(n > 0 for n in counts)


def test_small_shards_release_every_document(tmp_path: Path) -> None:
    # release.shard_bytes: 1000 is the smallest the config allows; many sample articles are longer.
    summary = build(changed_config(tmp_path / "cfg", shard_bytes=1000), tmp_path / "out")
    manifest = json.loads((summary.path / "manifest.json").read_text(encoding="utf-8"))
    on_disk = sum(pq.ParquetFile(p).metadata.num_rows for p in (summary.path / "data").glob("*/*.parquet"))
    assert on_disk == manifest["rows"]["released"]


def test_config_change_with_the_same_data_is_not_unchanged(tmp_path: Path) -> None:
    first = build(changed_config(tmp_path / "cfg", "a.yaml"), tmp_path / "out")
    assert first.status == "new"
    other = changed_config(tmp_path / "cfg", "b.yaml", metadata={"default_timezone": "Africa/Tunis"})
    with pytest.raises(ReleaseError):
        build(other, tmp_path / "out")
