"""Labelled language evaluation sets: the validation split, development data, and our own samples.

- Validation (`validation_set`): fold `VALIDATION` of `corpus.language.training_data`, by a hash of
  each article or block of ten consecutive sentences; never trained on, tuned on or gated in CI,
  reported once per frozen model by tests/benchmarks/bench_language.py.
- Development (`development_set`): the Hespress comments with the hand labels of
  tests/data/language/hespress_labels.csv (both halves: the lexicon and the model were tuned
  while reading them) and the training folds' whole articles, read through the build's own steps
  up to `language` so they look exactly as the language step sees them. CI floors go here.
- Own samples (tests/data/language/samples.jsonl): only show that the code runs for every label.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from corpus.config import load_config
from corpus.engine.memory import run_steps
from corpus.language import language_sample
from corpus.language.training_data import VALIDATION, fold_of, labelled_items
from corpus.language.windows import LENGTHS, cut
from corpus.pipeline import plan
from corpus.sources import read_sources
from tests.conftest import write_config

LANGUAGE_DATA = Path(__file__).resolve().parent / "data" / "language"
HESPRESS_LABELS = LANGUAGE_DATA / "hespress_labels.csv"
SAMPLES = LANGUAGE_DATA / "samples.jsonl"
OWN = "own samples (code runs only)"
# Source entry of configs/real.yaml -> (label of its whole articles, its group prefix in training_data).
ARTICLE_SOURCES = {
    "fr-financial": ("fr", "fr-financial-ma/"),
    "mosaiquefm": ("fr", "fr-tn-mosaiquefm/"),
    "ar-newspapers": ("ar", "ar-newspapers-maghreb/"),
}
# Length buckets of the validation texts: whole articles as they are, everything else by length
# in characters (under 60: a short post; under 250: a sentence; longer: a paragraph).
BUCKETS = ("<60", "sentence", "paragraph", "whole article")
SHORT, SENTENCE = 60, 250
MIN_PARAGRAPH = 20  # article lines shorter than this are titles or furniture, not paragraphs


def prepared(folder: Path, sources: list[str], data: Path) -> pl.DataFrame:
    """Rows of some configs/real.yaml sources after the steps that precede `language`."""
    loaded = load_config(write_config(folder, sources, data=data))
    steps = plan(loaded).steps
    before = steps[: [step.name for step in steps].index("language")]
    return run_steps(read_sources(loaded), before).released


def sample_text(frame: pl.DataFrame) -> pl.Series:
    """What the language step reads (the text, else the title)."""
    return frame.select(language_sample().alias("sample"))["sample"]


def own_samples() -> pl.DataFrame:
    """`group`, `label`, `sample` of samples.jsonl."""
    return pl.read_ndjson(SAMPLES).select(group=pl.lit(OWN), label="label", sample="text")


def _bucketed(frame: pl.DataFrame) -> pl.DataFrame:
    length = pl.col("sample").str.len_chars()
    short = pl.when(length < SHORT).then(pl.lit("<60"))
    return frame.with_columns(
        bucket=short.when(length < SENTENCE).then(pl.lit("sentence")).otherwise(pl.lit("paragraph"))
    )


def article_windows(articles: pl.DataFrame) -> pl.DataFrame:
    """`source` (marked "windows"), `label`, `sample`: the first window of each length of every
    article (`corpus.language.windows`), so short French and MSA pieces are judged too."""
    rows = [
        (f"{source} (windows)", label, window)
        for source, label, text in articles.select("source", "label", "text").iter_rows()
        for window in cut(" ".join(text.split()), 0)[: len(LENGTHS)]
    ]
    return pl.DataFrame(rows, schema=["source", "label", "sample"], orient="row")


def validation_set(data: Path) -> pl.DataFrame:
    """`source`, `label`, `bucket`, `sample` of the validation fold (see `fold_set`)."""
    return fold_set(labelled_items(data).filter(pl.col("fold") == VALIDATION))


def fold_set(items: pl.DataFrame) -> pl.DataFrame:
    """`source`, `label`, `bucket`, `sample` of the items of one fold: whole articles, sentences as
    they are, blocks of ten sentences joined, article lines, and windows cut from articles."""
    articles = items.filter(pl.col("text").str.len_chars() > 500)  # no sentence source has these
    sentences = items.filter(pl.col("text").str.len_chars() <= 500)
    joined = sentences.group_by("source", "label", "group", maintain_order=True).agg(
        sample=pl.col("text").str.join(" ")
    )
    lines = (
        articles.select("source", "label", sample=pl.col("text").str.split("\n"))
        .explode("sample")
        .filter(pl.col("sample").str.strip_chars().str.len_chars() >= MIN_PARAGRAPH)
    )
    parts = [  # whole articles first: a one-line article is kept as a whole article, not a paragraph
        articles.select("source", "label", sample="text").with_columns(bucket=pl.lit("whole article")),
        _bucketed(sentences.select("source", "label", sample="text")),
        _bucketed(joined.select("source", "label", "sample")),
        _bucketed(lines),
        _bucketed(article_windows(articles)),
    ]
    return pl.concat(parts).unique("sample", keep="first", maintain_order=True)


def article_folds(frame: pl.DataFrame) -> pl.Series:
    """The training_data fold of each article row (grouped by URL, or by file for the newspapers)."""
    prefix = pl.col("source_name").replace_strict({k: v[1] for k, v in ARTICLE_SOURCES.items()})
    path = pl.col("source_file").str.extract(r"ar-newspapers-maghreb/(.+)$")
    newspaper = pl.col("source_name") == "ar-newspapers"
    groups = frame.select(pl.when(newspaper).then(prefix + path).otherwise(prefix + pl.col("url_raw")))
    return pl.Series("fold", [fold_of(g) for g in groups.to_series()], dtype=pl.Int8)


def moroccan_news(data: Path) -> pl.DataFrame:
    """`group`, `label`, `mixed`, `sample`: the training folds' articles of ar-ma-news-corpus/feb.txt."""
    items = labelled_items(data).filter(
        (pl.col("source") == "ar-ma-news-corpus") & (pl.col("fold") != VALIDATION)
    )
    return items.select(
        group=pl.lit("Moroccan MSA news (training folds)"),
        label="label",
        mixed=pl.lit(None, pl.String),
        sample="text",
    )


def development_set(folder: Path, data: Path) -> pl.DataFrame:
    """`group`, `label`, `mixed`, `sample`: Hespress comments (dev) and training-fold whole articles."""
    articles = prepared(folder / "articles", list(ARTICLE_SOURCES), data)
    articles = articles.with_columns(article_folds(articles)).filter(pl.col("fold") != VALIDATION)
    articles = articles.with_columns(
        group=pl.lit("articles (training folds)"),
        label=pl.col("source_name").replace_strict({k: v[0] for k, v in ARTICLE_SOURCES.items()}),
        mixed=pl.lit(None, pl.String),
    )
    comments = prepared(folder / "comments", ["hespress-comments"], data)
    labels = pl.read_csv(HESPRESS_LABELS, schema_overrides={"comment_link_id": pl.String})
    comments = comments.join(labels, left_on="key", right_on="comment_link_id", how="inner").with_columns(
        group=pl.format("hespress-{} (dev)", pl.col("split"))
    )
    return pl.concat(
        [
            f.select("group", "label", "mixed", sample=sample_text(f)).unique(
                "sample", keep="first", maintain_order=True
            )
            for f in (articles, comments)
        ]
    )
