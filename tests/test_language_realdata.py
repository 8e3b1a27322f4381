"""Language identification on the real scrapes (../shared/data; skipped when absent).

Floors sit on development data only (training-fold articles, the hand-labelled Hespress comments),
never on the validation split, and below the figures tests/benchmarks/bench_language.py prints,
so that a change which breaks a layer fails while the benchmark reports the exact numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from corpus.build import BuildSummary, build
from corpus.config import LanguageConfig
from corpus.language import detect_languages
from tests.language_eval import HESPRESS_LABELS, development_set, moroccan_news

pytestmark = pytest.mark.realdata

SOURCES = ["fr-financial", "ar-newspapers", "hespress-posts", "hespress-comments"]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, real_config_writer) -> BuildSummary:
    folder = tmp_path_factory.mktemp("language-release")
    return build(real_config_writer(folder / "config", SOURCES, name="language-real"), folder / "out")


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> pl.DataFrame:
    labelled = development_set(tmp_path_factory.mktemp("language-dev"), shared_data)
    return pl.concat([labelled, detect_languages(labelled["sample"], LanguageConfig())], how="horizontal")


def f1(rows: pl.DataFrame, label: str) -> float:
    truth, guess = rows["label"] == label, rows["language"] == label
    hits = (truth & guess).sum()
    return 2 * hits / (truth.sum() + guess.sum()) if truth.sum() + guess.sum() else 0.0


def test_release_has_fr_ar_and_darija_configs(release: BuildSummary) -> None:
    languages = {split.language for split in release.splits}
    assert {"fr", "ar", "ary"} <= languages
    text = (release.path / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(re.match(r"\A---\n(.*?)\n---\n", text, re.S).group(1))  # type: ignore[union-attr]
    configs = {entry["config_name"] for entry in header["configs"]}
    assert {"fr", "ar", "ary", "all"} <= configs
    for language in ("fr", "ar", "ary"):
        assert any((release.path / "data" / language).glob("*.parquet"))


def test_darija_in_the_release_comes_from_the_comments(release: BuildSummary) -> None:
    darija = release.released().filter(pl.col("language") == "ary")
    assert darija.height >= 50
    assert (darija["source_name"] == "hespress-comments").mean() >= 0.9


def test_whole_articles_are_french_or_msa(scored: pl.DataFrame) -> None:
    articles = scored.filter(pl.col("group") == "articles (training folds)")
    for label in ("fr", "ar"):
        rows = articles.filter(pl.col("label") == label)
        assert rows.height > 400
        assert (rows["language"] == label).mean() >= 0.99, label


def test_moroccan_msa_news_is_not_taken_for_darija(shared_data: Path) -> None:
    news = moroccan_news(shared_data)
    found = detect_languages(news["sample"], LanguageConfig())
    assert news.height > 400
    assert (found["language"] == "ar").mean() >= 0.99
    assert (found["language"] == "ary").mean() <= 0.01


def test_darija_versus_msa_on_hand_labelled_comments(scored: pl.DataFrame) -> None:
    labels = pl.read_csv(HESPRESS_LABELS, schema_overrides={"comment_link_id": pl.String})
    assert labels.height == 386 and labels["comment_link_id"].is_unique().all()
    for group, floor in (("hespress-tune (dev)", 0.88), ("hespress-heldout (dev)", 0.84)):
        rows = scored.filter(pl.col("group") == group)
        assert f1(rows, "ary") >= floor, group
        assert f1(rows, "ar") >= 0.95, group
