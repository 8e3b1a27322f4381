"""The quality step's character counts: numpy over code points, equal to the regex definition."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corpus import quality as quality_module
from corpus.quality import character_counts

# Characters whose lowering is not one code point alone (İ, Σ), spaces of every kind, a NUL, marks,
# a supplementary letter and one past the code point tables.
TRICKY = "İIiıΣσςAaé\u0301 \t\n\u00a0\u2028\u3000\x85\x00ﷺ𝐀\U00032400ǅ"
TEXTS = st.text(st.sampled_from(TRICKY), max_size=12) | st.text(st.characters(codec="utf-8"), max_size=40)


def regex_counts(texts: pl.Series) -> tuple[pl.Series, list[int], list[int], list[int]]:
    """What the counts are defined as: polars regexes and lowering, Python's str.count."""
    first = texts.str.extract(r"(\p{L})", 1).str.to_lowercase()
    lowered = texts.str.to_lowercase().to_list()
    repeated = [t.count(f) if f else 0 for t, f in zip(lowered, first.to_list(), strict=True)]
    visible = texts.str.len_chars() - texts.str.count_matches(r"\s")
    return first, texts.str.count_matches(r"\p{L}").to_list(), repeated, visible.to_list()


def check(texts: list[str]) -> None:
    series = pl.Series(texts, dtype=pl.String)
    first, letters, repeated, visible = regex_counts(series)
    got = character_counts(series, first)
    assert [s.to_list() for s in got] == [letters, repeated, visible]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(TEXTS, max_size=8))
@example(texts=["iİ", "İi", "σΣσ Σ", "ıI"])
def test_character_counts_agree_with_the_regexes_on_any_text(texts: list[str]) -> None:
    check(texts)


@given(texts=st.lists(TEXTS, min_size=1, max_size=20))
@settings(max_examples=50, deadline=None)
def test_character_counts_do_not_depend_on_where_batches_are_cut(texts: list[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(quality_module, "CHUNK_CHARS", 7)
        check(texts)


@pytest.mark.realdata
def test_character_counts_agree_with_the_regexes_on_real_text(shared_data: Path) -> None:
    """Arabic newspapers, French financial news (every text cell) and the Darija/MSA/Arabizi set."""
    texts = [
        path.read_bytes().decode("utf-8", "replace")
        for path in sorted((shared_data / "ar-newspapers-maghreb").rglob("*.txt"))
    ]
    for path in sorted((shared_data / "fr-financial-ma").rglob("*.csv")):
        frame = pl.read_csv(path, infer_schema=False)
        texts += [cell for column in frame.columns for cell in frame[column].drop_nulls().to_list()]
    texts += pl.read_ndjson(shared_data / "darija-lid" / "train.jsonl")["text"].to_list()
    assert len(texts) > 20_000
    check(texts)
