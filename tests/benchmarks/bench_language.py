"""Language identification: confusion matrix, per-label precision/recall/F1, and docs/s.

Quality is measured on tests/language_eval.py's labelled set: whole French and MSA articles from
the real scrapes, Hespress comments labelled by hand (the `tune` half was read while writing the
Darija lexicon, the `heldout` half was labelled only after the lexicon was frozen), and our own
English, Spanish, Tifinagh, Kabyle, Arabizi and Darija samples, plus Moroccan MSA news articles
(ar-ma-news-corpus/feb.txt) never looked at while building the detector. A leave-one-comment-out
score of the tune half estimates the Darija layer on unseen comments without spending the
held-out half. Speed is measured in a child process pinned to one core with one polars thread,
on 1,000-character documents.

    pytest -m benchmark tests/benchmarks/bench_language.py -s
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from corpus.config import LanguageConfig
from corpus.language import detect_languages
from corpus.language.lexicon import lexicon_entry, load_lexicon, probabilities, text_words
from tests.benchmarks.conftest import ROOT, make_corpus, print_table
from tests.conftest import SHARED_DATA, SHARED_DATA_ABSENT
from tests.language_eval import evaluation_set, unseen_news

SPEED_DOCS = 5000
DOC_CHARS = 1000
MIXED_CHARS = 600  # characters of each language in a synthetic two-language document

SPEED_SCRIPT = """
import json, sys, time
import polars as pl
from corpus.config import LanguageConfig
from corpus.language import detect_languages
texts = pl.Series(json.load(open(sys.argv[1], encoding="utf-8")))
detect_languages(texts[:100], LanguageConfig())  # load the model and lexicons first
wall, cpu = time.perf_counter(), time.process_time()
detect_languages(texts, LanguageConfig())
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    if not SHARED_DATA.is_dir():
        pytest.skip(SHARED_DATA_ABSENT)
    labelled = evaluation_set(tmp_path_factory.mktemp("language-eval"), SHARED_DATA)
    labelled = pl.concat([labelled, unseen_news(SHARED_DATA)])
    return pl.concat([labelled, detect_languages(labelled["sample"], LanguageConfig())], how="horizontal")


def prf(rows: pl.DataFrame, label: str) -> tuple[int, float, float, float]:
    """Support, precision, recall and F1 of one label."""
    truth, guess = rows["label"] == label, rows["language"] == label
    hits = (truth & guess).sum()
    precision = hits / guess.sum() if guess.sum() else 0.0
    recall = hits / truth.sum() if truth.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return int(truth.sum()), precision, recall, f1


def test_confusion_matrix(scored: pl.DataFrame) -> None:
    predicted = sorted(set(scored["language"]) | set(scored["label"]))
    counts = scored.group_by("label", "language").len()
    rows = []
    for label in sorted(set(scored["label"])):
        row = counts.filter(pl.col("label") == label)
        found = dict(zip(row["language"], row["len"], strict=True))
        rows.append([label, *[found.get(p, 0) for p in predicted]])
    print_table("Confusion matrix, all groups (rows: truth, columns: detected)", ["truth", *predicted], rows)


def test_precision_recall_f1(scored: pl.DataFrame) -> None:
    rows = []
    for group in ["articles", "unseen news (MSA)", "hespress-tune", "hespress-heldout", "own samples", "all"]:
        part = scored if group == "all" else scored.filter(pl.col("group") == group)
        for label in sorted(set(part["label"])):
            support, precision, recall, f1 = prf(part, label)
            rows.append([group, label, support, f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}"])
        accuracy = (part["label"] == part["language"]).mean()
        rows.append([group, "(accuracy)", part.height, "", "", f"{accuracy:.4f}"])
    print_table("Per label", ["group", "label", "docs", "precision", "recall", "F1"], rows)


def test_darija_versus_msa_on_clear_comments(scored: pl.DataFrame) -> None:
    """Hespress comments split by the hand label's `mixed` mark (Darija and MSA in one comment)."""
    rows = []
    for group in ["hespress-tune", "hespress-heldout"]:
        for mixed in ["no", "yes"]:
            part = scored.filter((pl.col("group") == group) & (pl.col("mixed") == mixed))
            for label in ["ar", "ary"]:
                support, precision, recall, f1 = prf(part, label)
                rows.append([group, mixed, label, support, f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}"])
    print_table(
        "Hespress, clear versus mixed comments", ["group", "mixed", "label", "docs", "P", "R", "F1"], rows
    )


def test_darija_layer_leave_one_comment_out(scored: pl.DataFrame) -> None:
    """An estimate of the Darija layer on unseen comments that spends nothing of the held-out half:
    each tune comment is scored without the lexicon words that no other tune comment contains (the
    words its reading may have added). Patterns and words shared by two comments are kept."""
    tune = scored.filter(pl.col("group") == "hespress-tune")
    lexicon = load_lexicon("darija")
    found = (
        text_words(tune["sample"], [lexicon])
        .select("row", entry=lexicon_entry(pl.col("word"), lexicon))
        .drop_nulls()
        .unique()
    )
    # Entries matched by a single comment: that comment is scored without them.
    unseen = found.filter(pl.len().over("entry") == 1)
    probability = []
    for row, text in enumerate(tune["sample"]):
        dropped = set(unseen.filter(pl.col("row") == row)["entry"])
        words = {w: weight for w, weight in lexicon.words.items() if w not in dropped}
        reduced = dataclasses.replace(lexicon, words=words)
        probability.append(probabilities(pl.Series([text]), [reduced])["darija"][0])
    judged = tune.with_columns(
        language=pl.Series(probability).ge(0.5).replace_strict({True: "ary", False: "ar"})
    )
    rows = []
    for name, part in [("whole lexicon", tune), ("leave one comment out", judged)]:
        for label in ["ary", "ar"]:
            support, precision, recall, f1 = prf(part, label)
            rows.append([name, label, support, f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}"])
    print_table("Hespress tune half, Darija layer", ["lexicon", "label", "docs", "P", "R", "F1"], rows)


def test_code_switching(scored: pl.DataFrame) -> None:
    """Two-language documents made of a French and an MSA article (each cut to MIXED_CHARS)."""
    articles = scored.filter(pl.col("group") == "articles")
    french = (
        articles.filter(pl.col("label") == "fr")["sample"]
        .str.slice(0, MIXED_CHARS)
        .str.replace_all("\n", " ")
    )
    arabic = (
        articles.filter(pl.col("label") == "ar")["sample"]
        .str.slice(0, MIXED_CHARS)
        .str.replace_all("\n", " ")
    )
    pairs = min(french.len(), arabic.len())
    mixed = french[:pairs] + "\n" + arabic[:pairs]
    found = detect_languages(mixed, LanguageConfig())
    flagged = found["code_switching"].mean()
    dominant_ok = found["language"].is_in(["fr", "ar"]).mean()
    single = scored.filter(pl.col("group") == "articles")["code_switching"].mean()
    print_table(
        "Code switching",
        ["documents", "kind", "share flagged", "dominant is fr or ar"],
        [
            [pairs, "fr paragraph + ar paragraph", f"{flagged:.3f}", f"{dominant_ok:.3f}"],
            [articles.height, "whole single-language articles", f"{single:.3f}", ""],
        ],
    )


def test_speed_one_core(tmp_path: Path) -> None:
    corpus = make_corpus(SPEED_DOCS, "jsonl", 11)
    texts = pl.read_ndjson(corpus / "articles.jsonl")["text"].str.slice(0, DOC_CHARS)
    texts = texts.filter(texts.str.len_chars() == DOC_CHARS)
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(texts.to_list(), ensure_ascii=False), encoding="utf-8")
    core = min(os.sched_getaffinity(0))
    result = subprocess.run(
        [sys.executable, "-c", SPEED_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "POLARS_MAX_THREADS": "1"},
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    )
    seconds = json.loads(result.stdout.strip().splitlines()[-1])
    print_table(
        f"Speed on {DOC_CHARS}-character documents, one core, one polars thread",
        ["documents", "wall s", "docs/s (wall)", "CPU s", "docs/s (CPU)"],
        [
            [
                texts.len(),
                f"{seconds['wall']:.2f}",
                f"{texts.len() / seconds['wall']:.0f}",
                f"{seconds['cpu']:.2f}",
                f"{texts.len() / seconds['cpu']:.0f}",
            ]
        ],
    )
