"""End-to-end builds over the real scrapes in ../shared/data (skipped when that folder is absent).

Each build runs once per module (fixtures below); the tests only read its result and its files.
Expected counts are computed independently from the input files (csv, json, the file system),
never from the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets
import polars as pl
import pytest
import yaml

from corpus.build import BuildSummary, build
from corpus.config import DedupConfig
from corpus.dedup import remove_near

pytestmark = pytest.mark.realdata

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = REPO_ROOT / "configs"
REAL_CONFIG = CONFIGS / "real.yaml"

# Source entries of configs/real.yaml, copied with their own data paths.
FINANCIAL = ["fr-financial"]
ARABIC = ["ar-newspapers"]
DUPLICATE_STEPS = ("rescrape", "exact_dedup", "near_dedup")
LINEAGE = ["source_name", "source_file", "source_line"]
# The Algerian politics files whose Arabic letters were replaced by "?" upstream.
LOST_FILES = {f"DZP{n}.txt" for n in range(1, 23)}


@dataclass(frozen=True)
class Built:
    summary: BuildSummary
    seconds: float  # wall-clock time of the whole build() call
    config: Path

    @property
    def released(self) -> pl.DataFrame:
        return self.summary.released()

    @property
    def removed(self) -> pl.DataFrame:
        return self.summary.removed()

    @property
    def rows(self) -> pl.DataFrame:
        return pl.concat([self.released, self.removed], how="diagonal_relaxed")


def _build(config: Path, out: Path) -> Built:
    started = time.perf_counter()
    summary = build(config, out)
    return Built(summary, time.perf_counter() - started, config)


# --------------------------------------------------------------------------- independent counts


def csv_rows(files: list[Path]) -> list[dict[str, str]]:
    """Data rows of CSV files read with the standard library (quoted newlines included)."""
    csv.field_size_limit(sys.maxsize)
    rows: list[dict[str, str]] = []
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def financial_files(shared: Path) -> list[Path]:
    return sorted((shared / "fr-financial-ma" / "scrapes").glob("*.csv"))


def arabic_files(shared: Path) -> list[Path]:
    return sorted((shared / "ar-newspapers-maghreb").rglob("*.txt"))


def sha256_tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def card_header(release: Path) -> dict:
    text = (release / "README.md").read_text(encoding="utf-8")
    match = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md has no YAML front matter"
    return yaml.safe_load(match.group(1))


def release_rows(release: Path) -> pl.DataFrame:
    """Released shards and removed rows as written to disk."""
    shards = sorted((release / "data").glob("*/*.parquet"))
    removed = sorted((release / "removed").glob("*.parquet"))
    return pl.concat([pl.read_parquet(p) for p in [*shards, *removed]], how="diagonal_relaxed")


def resolves_to_released(rows: pl.DataFrame, released_ids: set[str]) -> list[tuple[str, str]]:
    """Removed duplicates whose `dup_of` chain does not end at a released id: (file:line, id)."""
    # A row that survived one dedup phase and was removed by a later one passes its duplicates on.
    forward = {
        i: d
        for i, d in rows.filter(pl.col("removed_step").is_in(["exact_dedup", "near_dedup"]))
        .select("id", "dup_of")
        .iter_rows()
        if i != d
    }
    broken = []
    for file, line, dup_of in (
        rows.filter(pl.col("removed_step").is_in(DUPLICATE_STEPS))
        .select("source_file", "source_line", "dup_of")
        .iter_rows()
    ):
        target, hops = dup_of, 0
        while target is not None and target not in released_ids and hops <= len(forward):
            target, hops = forward.get(target), hops + 1
        if target not in released_ids:
            broken.append((f"{file}:{line}", dup_of))
    return broken


# --------------------------------------------------------------------------- builds (once each)


@pytest.fixture(scope="module")
def hf_quiet():
    """No progress bars from datasets while loading releases."""
    datasets.disable_progress_bars()
    yield
    datasets.enable_progress_bars()


@pytest.fixture(scope="module")
def financial(real_config_writer, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("financial-a")
    return _build(real_config_writer(folder / "config", FINANCIAL), folder / "out")


@pytest.fixture(scope="module")
def financial_again(real_config_writer, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("financial-b")
    return _build(real_config_writer(folder / "config", FINANCIAL), folder / "out")


@pytest.fixture(scope="module")
def arabic(real_config_writer, tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("arabic")
    return _build(real_config_writer(folder / "config", ARABIC), folder / "out")


@pytest.fixture(scope="module")
def full(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    # configs/real.yaml points at ../../shared/data from configs/, i.e. the same shared folder.
    assert (REAL_CONFIG.parent / "../../shared/data").resolve() == shared_data.resolve()
    return _build(REAL_CONFIG, tmp_path_factory.mktemp("full") / "out")


# --------------------------------------------------------------------------- 1. financial scrapes


def test_financial_ledger_balances_against_csv_count(financial: Built, shared_data: Path) -> None:
    expected = len(csv_rows(financial_files(shared_data)))
    result = financial.summary
    assert len(financial_files(shared_data)) == 9
    assert result.rows_read == expected == 2325
    assert result.released().height + result.removed().height == expected
    assert not financial.rows.select(LINEAGE).is_duplicated().any()
    manifest = json.loads((financial.summary.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == {
        "read": expected,
        "released": result.released().height,
        "removed": result.removed().height,
    }


def test_financial_released_urls_are_unique(financial: Built) -> None:
    urls = financial.released["url"]
    assert urls.null_count() == 0
    assert urls.is_duplicated().sum() == 0
    assert financial.released["id"].is_duplicated().sum() == 0


def test_financial_every_url_is_released_or_a_duplicate_of_a_released_row(
    financial: Built, shared_data: Path
) -> None:
    rows = financial.rows
    raw_urls = {row["url"] for row in csv_rows(financial_files(shared_data))}
    assert rows["url"].null_count() == 0
    # Canonicalisation may merge spellings, never split them.
    assert rows["url"].n_unique() <= len(raw_urls)
    # Only the duplicate steps remove financial rows, so every distinct URL reaches rescrape
    # once: it ends either released or as a rescrape survivor removed by exact/near dedup.
    assert set(rows.filter(pl.col("removed_step").is_not_null())["removed_step"]) <= set(DUPLICATE_STEPS)
    survivors = financial.removed.filter(pl.col("removed_step") != "rescrape")
    assert rows["url"].n_unique() == financial.released.height + survivors.height
    assert survivors["url"].is_duplicated().sum() == 0
    assert not set(survivors["url"]) & set(financial.released["url"])
    # Every removed duplicate points (directly or through a removed survivor) at a released row.
    assert resolves_to_released(rows, set(financial.released["id"])) == []
    rescrapes = financial.removed.filter(pl.col("removed_step") == "rescrape")
    assert rescrapes.height == rows.height - rows["url"].n_unique()


def test_financial_rescrape_keeps_the_newest_scrape_file(financial: Built) -> None:
    rows = financial.rows.with_columns(file=pl.col("source_file").str.extract(r"([^/]+)$"))
    newest = rows.group_by("url").agg(newest=pl.col("file").max())
    kept = rows.filter(pl.col("removed_step").is_null() | (pl.col("removed_step") != "rescrape"))
    wrong = kept.join(newest, on="url").filter(pl.col("file") != pl.col("newest"))
    assert wrong.select("url", "file", "newest").rows() == []
    # Re-scraped URLs exist in the data, so this checked something.
    assert (rows.group_by("url").len()["len"] > 1).sum() > 100


def test_financial_release_loads_with_datasets(financial: Built, hf_quiet, tmp_path: Path) -> None:
    release = financial.summary.path
    fr_count = financial.released.filter(pl.col("language") == "fr").height
    split = {s.language: s.num_examples for s in financial.summary.splits}
    assert split.get("fr") == fr_count > 0
    loaded = datasets.load_dataset(str(release), "fr", cache_dir=str(tmp_path / "hf"))
    assert loaded["train"].num_rows == fr_count
    assert set(loaded["train"]["url"]) == set(financial.released.filter(pl.col("language") == "fr")["url"])
    streamed = datasets.load_dataset(str(release), "fr", streaming=True)["train"]
    urls = [row["url"] for row in streamed]
    assert len(urls) == fr_count
    assert len(set(urls)) == fr_count


def test_financial_furniture_is_gone(financial: Built, shared_data: Path) -> None:
    furniture = ["Suivez la chaîne", "Toute reproduction interdite"]
    source_texts = [row["text"] for row in csv_rows(financial_files(shared_data))]
    for phrase in furniture:
        # The input has it (so the test is not vacuous); the release must not.
        assert sum(phrase in text for text in source_texts) > 100, phrase
        assert financial.released["text"].str.contains(phrase, literal=True).sum() == 0, phrase
    found = set(financial.released["furniture"].explode().drop_nulls())
    assert {"whatsapp_invitation", "medias24_copyright"} <= found


def test_financial_sources_are_canonical_outlets(financial: Built) -> None:
    outlets = yaml.safe_load((CONFIGS / "outlets.yaml").read_text(encoding="utf-8"))["outlets"]
    names = {o["name"] for o in outlets}
    sources = set(financial.released["source"])
    assert sources <= names, sources - names
    assert "Finance News - Economic" not in sources
    assert "Finance News - Financial" not in sources
    assert financial.released["source"].null_count() == 0
    assert set(financial.released["country"]) == {"MA"}


def test_financial_dates(financial: Built) -> None:
    released = financial.released
    assert released["published_date"].null_count() == 0
    assert released["scraped_at"].null_count() == 0
    # H24Info dates carry an offset: "2025-06-16 12:50:18+01:00" is 11:50:18 UTC.
    offset = financial.rows.filter(pl.col("published_raw") == "2025-06-16 12:50:18+01:00")
    assert offset.height > 0
    assert set(offset["published_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")) == {"2025-06-16T11:50:18"}
    # Without an offset the outlet's zone applies (Africa/Casablanca, UTC+1 in June 2025).
    local = financial.rows.filter(pl.col("published_raw") == "2025-06-17 16:23:00")
    assert set(local["published_at"].dt.strftime("%Y-%m-%dT%H:%M")) == {"2025-06-17T15:23"}


# --------------------------------------------------------------------------- 2. Arabic papers


def test_arabic_ledger_balances_against_file_count(arabic: Built, shared_data: Path) -> None:
    files = arabic_files(shared_data)
    result = arabic.summary
    assert len(files) == 634
    assert result.rows_read == result.released().height + result.removed().height == len(files)
    assert not arabic.rows.select(LINEAGE).is_duplicated().any()
    # One row per file, named by its path relative to the config file.
    names = {Path(os.path.relpath(p, arabic.config.parent)).as_posix() for p in files}
    assert Counter(arabic.rows["source_file"]) == dict.fromkeys(names, 1)


def test_arabic_decoded_as_cp1256_without_replacement_or_cr(arabic: Built) -> None:
    assert Counter(arabic.rows["encoding"]) == {"cp1256": 634}
    untitled = arabic.released.filter(pl.col("title").is_null())["source_file"].to_list()
    assert sorted(Path(f).name for f in untitled) == ["LYP3.txt", "LYR2.txt"]  # one-line articles
    # U+FFFD (bad decoding), CR (CRLF files), NUL (files end in one), no-break spaces, and the
    # "Top of Form" / "Bottom of Form" word-processor residue must all be gone.
    for column in ("title", "text"):
        values = arabic.released[column].fill_null("")
        for unwanted in ("\ufffd", "\r", "\x00", "\xa0", "Top of Form", "Bottom of Form"):
            assert values.str.contains(unwanted, literal=True).sum() == 0, (column, unwanted)


def test_arabic_letters_lost_upstream_are_removed(arabic: Built) -> None:
    rows = arabic.rows.with_columns(file=pl.col("source_file").str.extract(r"([^/]+)$"))
    lost = rows.filter(pl.col("removed_reason") == "unrecoverable_encoding")
    assert set(lost["file"]) == LOST_FILES
    assert lost.height == 22
    assert all("سياسيه" in f for f in lost["source_file"])
    released = set(arabic.released.select(pl.col("source_file").str.extract(r"([^/]+)$"))["source_file"])
    assert not released & LOST_FILES


def test_arabic_language_is_mostly_ar(arabic: Built) -> None:
    languages = arabic.released["language"]
    assert languages.len() > 500
    assert (languages == "ar").sum() / languages.len() >= 0.95


def test_arabic_single_line_articles_are_not_removed_as_empty(arabic: Built) -> None:
    empty = arabic.removed.filter(pl.col("removed_reason") == "empty")
    long_titles = empty.filter(pl.col("title").str.len_chars() > 500)
    assert long_titles.select("source_file").rows() == []


# --------------------------------------------------------------------------- 3. configs/real.yaml


def test_full_ledger_balances_per_source(full: Built, shared_data: Path) -> None:
    hespress = json.loads(
        (shared_data / "ar-ma-hespress" / "hespress_data_most_commented.json").read_text("utf-8")
    )
    expected = {
        "fr-financial": len(csv_rows(financial_files(shared_data))),
        "ar-newspapers": len(arabic_files(shared_data)),
        "mosaiquefm": len(csv_rows([shared_data / "fr-tn-mosaiquefm" / "MosaiqueFM_v0.csv"])),
        "hespress-posts": len(hespress),
        "hespress-comments": sum(len(post["comments"]) for post in hespress),
    }
    result = full.summary
    assert not full.rows.select(LINEAGE).is_duplicated().any()
    assert result.rows_read == result.released().height + result.removed().height
    assert result.rows_read == sum(expected.values())
    assert dict(Counter(full.rows["source_name"])) == expected
    assert full.released["id"].is_duplicated().sum() == 0


def test_full_card_declares_fr_ar_and_all(full: Built) -> None:
    header = card_header(full.summary.path)
    configs = {c["config_name"] for c in header["configs"]}
    assert {"all", "fr", "ar"} <= configs
    assert {"fr", "ar"} <= set(header["language"])
    declared = {i["config_name"]: i["splits"][0]["num_examples"] for i in header["dataset_info"]}
    assert declared["all"] == full.released.height
    assert declared["fr"] == full.released.filter(pl.col("language") == "fr").height
    assert declared["ar"] == full.released.filter(pl.col("language") == "ar").height


def test_full_all_config_loads(full: Built, hf_quiet, tmp_path: Path) -> None:
    loaded = datasets.load_dataset(str(full.summary.path), "all", cache_dir=str(tmp_path / "hf"))
    assert loaded["train"].num_rows == full.released.height
    assert sorted(loaded["train"]["id"]) == sorted(full.released["id"])


def test_full_hespress_comments(full: Built) -> None:
    comments = full.released.filter(pl.col("source_name") == "hespress-comments")
    assert comments.height > 300
    assert comments["key"].null_count() == 0
    hosts = set(comments["url"].str.extract(r"^https://([^/]+)/"))
    assert hosts == {"www.hespress.com"}
    assert set(comments["source"]) == {"هسبريس"}
    # Comments of one post share its URL; the key tells them apart.
    assert comments.select("url", "key").is_duplicated().sum() == 0


def test_full_hespress_urls_keep_arabic_slugs(full: Built) -> None:
    posts = full.rows.filter(pl.col("source_name") == "hespress-posts")
    assert posts.height == 12
    # The raw URLs are already canonical (https, lowercase host, no query or fragment).
    assert posts.filter(pl.col("url") != pl.col("url_raw")).select("url_raw", "url").rows() == []


def test_full_mosaiquefm(full: Built) -> None:
    rows = full.rows.filter(pl.col("source_name") == "mosaiquefm")
    released = full.released.filter(pl.col("source_name") == "mosaiquefm")
    assert rows.height == 80
    assert set(rows["source"]) == {"Mosaïque FM"}
    assert set(rows["country"]) == {"TN"}
    assert rows["published_at"].is_not_null().sum() / rows.height >= 0.95
    assert released.height > 0
    assert set(released["language"]) == {"fr"}
    # "05 Avril 2018 23:33" in Tunis (UTC+1) is 22:33 UTC.
    first = rows.filter(pl.col("published_raw") == "05 Avril 2018 23:33")["published_at"]
    assert first.dt.strftime("%Y-%m-%dT%H:%M").unique().to_list() == ["2018-04-05T22:33"]


# --------------------------------------------------------------------------- 4. determinism


def test_financial_build_is_byte_identical(financial: Built, financial_again: Built) -> None:
    first, second = sha256_tree(financial.summary.path), sha256_tree(financial_again.summary.path)
    assert first.keys() == second.keys()
    assert {"manifest.json", "README.md", "removed/removed-00000-of-00001.parquet"} <= first.keys()
    assert [k for k in first if first[k] != second[k]] == []


# --------------------------------------------------------------------------- 5. lineage


@pytest.mark.parametrize("name", ["financial", "arabic", "full"])
def test_every_input_row_is_accounted_for_once(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    on_disk = release_rows(built.summary.path).select(LINEAGE)
    assert on_disk.height == built.summary.rows_read
    assert on_disk.is_duplicated().sum() == 0
    assert on_disk.null_count().row(0) == (0, 0, 0)
    in_memory = built.rows.select(LINEAGE)
    assert on_disk.sort(LINEAGE).equals(in_memory.sort(LINEAGE))


# --------------------------------------------------------------------------- timing and cost


def test_step_seconds_add_up_to_at_most_the_build_time_of_every_worker(financial: Built) -> None:
    steps = financial.summary.steps
    workers = os.cpu_count() or 1  # steps run on one process per core, so their seconds add up
    assert sum(s.seconds for s in steps) <= financial.seconds * workers + 0.05


def test_near_dedup_groups_candidates_by_language(financial: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    import corpus.dedup.near

    seen: list[int] = []
    real = corpus.dedup.near.bucket_pairs

    def counting(rows):
        seen.append(rows["group"].n_unique())
        return real(rows)

    monkeypatch.setattr(corpus.dedup.near, "bucket_pairs", counting)
    rows = financial.released.sort("id").head(40)
    out = remove_near(rows, DedupConfig())
    assert out.height == 40
    bands = DedupConfig().bands_rows[0]
    assert seen == [rows["language"].n_unique()] * -(-bands // corpus.dedup.near.BANDS_AT_ONCE)
