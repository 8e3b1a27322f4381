"""Dedup quality on make_corpus labels, shared by the dedup and end-to-end benchmarks.

Every scorer takes one row per input line (`source_line`, 1-based, `id`, `removed_reason`,
`dup_of`, `similarity`), whichever tool produced it, so two tools are scored the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

DUPLICATE = ["rescrape", "exact_duplicate", "near_duplicate"]
# Variants at least this similar (true word 5-gram Jaccard to their story) should be found.
STRONG_JACCARD = 0.8
# Arabic diacritics (harakat, superscript alef): Python's `\w` does not match them, so make_corpus's
# `\w+` words break at each one and its Jaccard of a vocalised Arabic text counts word fragments.
DIACRITICS = re.compile("[\u064b-\u065f\u0670]")


@dataclass(frozen=True)
class DedupScores:
    """Precision of the removals and recall of the strong variants, with their counts."""

    precision: float
    removed: int
    recall: float
    strong: int


def final_cluster(rows: pl.DataFrame) -> pl.DataFrame:
    """Per input line, the line of the released document it ends up merged into (itself if kept
    or removed for another reason); dup_of chains (exact then near) are followed."""
    survivors = rows.filter(pl.col("removed_reason").is_null() | ~pl.col("removed_reason").is_in(DUPLICATE))
    line_of = dict(survivors.select("id", "source_line").iter_rows())
    dup_of = dict(rows.filter(pl.col("removed_reason").is_in(DUPLICATE)).select("id", "dup_of").iter_rows())
    clusters = []
    for line, reason, target in rows.select("source_line", "removed_reason", "dup_of").iter_rows():
        if reason in DUPLICATE:
            for _ in range(4):
                if target in line_of:
                    break
                target = dup_of.get(target, target)
            clusters.append(line_of.get(target, line))
        else:
            clusters.append(line)
    return rows.select("source_line", "removed_reason", "similarity").with_columns(
        cluster=pl.Series(clusters)
    )


def adjusted_rand_index(truth: pl.Series, found: pl.Series) -> float:
    """ARI of two labelings (Hubert and Arabie), from the contingency table."""

    def pairs(counts: pl.Series) -> float:
        values = counts.cast(pl.Float64).to_numpy()
        return float((values * (values - 1) / 2).sum())

    frame = pl.DataFrame({"t": truth, "f": found})
    both = pairs(frame.group_by("t", "f").len()["len"])
    t, f = pairs(frame.group_by("t").len()["len"]), pairs(frame.group_by("f").len()["len"])
    total = frame.height * (frame.height - 1) / 2
    expected = t * f / total
    return (both - expected) / ((t + f) / 2 - expected)


def labelled(folder: Path, rows: pl.DataFrame) -> pl.DataFrame:
    """The labels of a make_corpus folder joined with where each line ended up (`cluster`),
    whether it was removed as a duplicate and whether it shares its story's original cluster."""
    labels = pl.read_ndjson(folder / "labels.jsonl").with_row_index("source_line", offset=1)
    clusters = final_cluster(rows).with_columns(pl.col("source_line").cast(pl.UInt32))
    joined = labels.join(clusters, on="source_line")
    story_of = dict(joined.select("source_line", "story_id").iter_rows())
    originals = joined.filter(pl.col("kind") == "original").select("story_id", original_cluster="cluster")
    # A variant is found when it ends in the same cluster as its story's original (whichever of
    # the two survives: the earliest published is kept, and a reprint can predate the original).
    return joined.join(originals, on="story_id", how="left").with_columns(
        survivor_story=pl.col("cluster").replace_strict(story_of, default=None),
        removed=pl.col("removed_reason").is_in(DUPLICATE).fill_null(False),
        found=(pl.col("cluster") == pl.col("original_cluster")).fill_null(False),
    )


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", DIACRITICS.sub("", text.lower()))


def _whole_word_jaccard(variant: str, original: str) -> float:
    """make_corpus's word 5-gram Jaccard, with Arabic diacritics removed before cutting words."""
    grams = [
        {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        for words in (_words(variant), _words(original))
    ]
    union = grams[0] | grams[1]
    return len(grams[0] & grams[1]) / len(union) if union else 1.0


@cache
def whole_word_jaccard(folder: Path) -> pl.DataFrame:
    """`source_line` and `jaccard_whole` of every line of a make_corpus folder: each variant's
    Jaccard to its story's original recomputed on whole words (see DIACRITICS) from the JSONL
    texts; the label's own for originals and where either text was damaged on purpose (mojibake),
    since the label read the clean text. It depends on the folder alone, so it is computed once."""
    labels = pl.read_ndjson(folder / "labels.jsonl").with_row_index("source_line", offset=1)
    texts = pl.read_ndjson(folder / "articles.jsonl", schema={"text": pl.String})["text"]
    lines = labels.select("source_line", "story_id", "kind", "jaccard", "mojibake", _text=texts)
    originals = lines.filter(pl.col("kind") == "original").select(
        "story_id", _original=pl.col("_text"), _original_damaged=pl.col("mojibake")
    )
    joined = lines.join(originals, on="story_id", how="left", maintain_order="left")
    values = [
        label
        if kind == "original" or damaged or original_damaged or original is None
        else _whole_word_jaccard(text, original)
        for kind, label, damaged, original_damaged, text, original in joined.select(
            "kind", "jaccard", "mojibake", "_original_damaged", "_text", "_original"
        ).iter_rows()
    ]
    return lines.select("source_line", jaccard_whole=pl.Series(values, dtype=pl.Float64))


def with_whole_word_jaccard(folder: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (from `labelled`) with `jaccard_whole` (see `whole_word_jaccard`)."""
    whole = whole_word_jaccard(folder).with_columns(pl.col("source_line").cast(frame.schema["source_line"]))
    return frame.join(whole, on="source_line", how="left", maintain_order="left")


def dedup_scores(frame: pl.DataFrame, jaccard: str = "jaccard") -> DedupScores:
    """Precision: removed documents whose survivor tells the same story; recall: variants at
    J >= 0.8 (by the `jaccard` column) that end in their original's cluster (`frame` comes from
    `labelled`)."""
    removed = frame.filter("removed")
    wrong = removed.filter(pl.col("story_id") != pl.col("survivor_story")).height
    strong = frame.filter((pl.col("kind") != "original") & (pl.col(jaccard) >= STRONG_JACCARD))
    return DedupScores(
        precision=1 - wrong / max(removed.height, 1),
        removed=removed.height,
        recall=float(strong["found"].mean() or 0.0),
        strong=strong.height,
    )
