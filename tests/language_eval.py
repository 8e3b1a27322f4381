"""The labelled language evaluation set, read from the shared real data plus our own samples.

French whole articles come from the financial scrapes and MosaiqueFM, MSA from the Arabic
newspapers, Darija and MSA from the Hespress comments with the hand labels in
tests/data/language/hespress_labels.csv (keyed by comment id, split into `tune` and `heldout`),
and English, Spanish, Tifinagh, Kabyle, Arabizi and Darija from tests/data/language/samples.jsonl.
`unseen_news` adds Moroccan MSA articles (ar-ma-news-corpus/feb.txt) that nobody looked at while
building the detector: a check of Darija false alarms on material it has never seen.
Real documents go through the pipeline's own steps up to `language`, so they look exactly as the
language step sees them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import polars as pl

from corpus.config import load_config
from corpus.engine.memory import run_steps
from corpus.language import language_sample
from corpus.pipeline import plan
from corpus.sources import read_sources
from tests.conftest import write_config

LANGUAGE_DATA = Path(__file__).resolve().parent / "data" / "language"
HESPRESS_LABELS = LANGUAGE_DATA / "hespress_labels.csv"
SAMPLES = LANGUAGE_DATA / "samples.jsonl"
# Source entry of configs/real.yaml -> the label of its whole articles.
ARTICLE_SOURCES = {"fr-financial": "fr", "mosaiquefm": "fr", "ar-newspapers": "ar"}
# An entry of feb.txt with fewer Arabic letters than this is not an article (a bare video link).
MIN_ARABIC_LETTERS = 50


def prepared(folder: Path, sources: list[str], data: Path) -> pl.DataFrame:
    """Rows of some configs/real.yaml sources after the steps that precede `language`."""
    loaded = load_config(write_config(folder, sources, data=data))
    steps = plan(loaded).steps
    before = steps[: [step.name for step in steps].index("language")]
    return run_steps(read_sources(loaded), before).released


def sample_text(frame: pl.DataFrame) -> pl.Series:
    """What the language step reads (the text, else the title)."""
    return frame.select(language_sample().alias("sample"))["sample"]


def evaluation_set(folder: Path, data: Path) -> pl.DataFrame:
    """`group`, `label`, `mixed` (hand labels only), `sample` per labelled document (repeats counted once)."""
    articles = prepared(folder / "articles", list(ARTICLE_SOURCES), data)
    articles = articles.with_columns(
        group=pl.lit("articles"),
        label=pl.col("source_name").replace_strict(ARTICLE_SOURCES),
        mixed=pl.lit(None, pl.String),
    )
    comments = prepared(folder / "comments", ["hespress-comments"], data)
    labels = pl.read_csv(HESPRESS_LABELS, schema_overrides={"comment_link_id": pl.String})
    comments = comments.join(labels, left_on="key", right_on="comment_link_id", how="inner").with_columns(
        group=pl.format("hespress-{}", pl.col("split"))
    )
    real = pl.concat(
        [
            f.select("group", "label", "mixed", sample=sample_text(f)).unique(
                "sample", keep="first", maintain_order=True
            )
            for f in (articles, comments)
        ]
    )
    own = pl.read_ndjson(SAMPLES).select(
        group=pl.lit("own samples"), label="label", mixed=pl.lit(None, pl.String), sample="text"
    )
    return pl.concat([real, own])


def unseen_news(data: Path) -> pl.DataFrame:
    """`group`, `label`, `mixed`, `sample` for the articles of feb.txt (`content: [paragraphs]` lines)."""
    articles = []
    for line in (data / "ar-ma-news-corpus" / "feb.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("content: ["):
            paragraphs = ast.literal_eval(line.removeprefix("content: "))
            if paragraphs:
                articles.append("\n".join(str(p) for p in paragraphs))
    return (
        pl.DataFrame({"sample": articles}, schema={"sample": pl.String})
        .unique("sample", keep="first", maintain_order=True)
        # Some entries are only a video link or a dash: not articles, so not labelled MSA.
        .filter(pl.col("sample").str.count_matches(r"\p{Arabic}") >= MIN_ARABIC_LETTERS)
        .select(
            group=pl.lit("unseen news (MSA)"),
            label=pl.lit("ar"),
            mixed=pl.lit(None, pl.String),
            sample="sample",
        )
    )
