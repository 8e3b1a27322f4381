"""Records unfit to release: checked on input (`screen`) and after furniture removal (`quality`).

`screen` runs before any step reads a record: too long (`too_long`), or bytes that are not text
(`binary`: control characters, NULs, replacement characters). `quality` runs on the text that
would be released: nothing left (`empty`: too short, or no letter at all) or one letter repeated
(`repetitive`). Each removal says why in `removed_detail`. Every check is one vectorised pass.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from corpus import codepoints
from corpus.config import QualityConfig

# Control characters (C0 but tab, newline, carriage return; DEL; C1) and the replacement character.
CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]"
# Letters a document needs before one of them can be called repeated (below, shares are coarse).
REPEATED_FROM = 4
# Character classes the quality counts read, as bits of a code point table.
LETTER, SPACE = 1, 2
CLASSES = ((LETTER, r"\p{L}"), (SPACE, r"\s"))
# Characters per numpy pass (see `corpus.codepoints.chunks`).
CHUNK_CHARS = 1 << 18


def _remove(
    frame: pl.DataFrame, measures: pl.DataFrame, rules: list[tuple[pl.Expr, str, pl.Expr]]
) -> pl.DataFrame:
    """Mark live rows matching a rule (first rule wins) with its reason and detail; the rules read
    `measures` (one row per row of `frame`), computed once."""
    found = measures.select(
        reason=pl.coalesce(*(pl.when(condition).then(pl.lit(name)) for condition, name, _ in rules)),
        detail=pl.coalesce(*(pl.when(condition).then(words) for condition, _, words in rules)),
    )
    live = frame["removed_reason"].is_null()
    if not (found["reason"].is_not_null() & live).any():
        return frame
    hit = live & found["reason"].is_not_null()
    return frame.with_columns(
        removed_reason=pl.when(hit).then(found["reason"]).otherwise(pl.col("removed_reason")),
        removed_detail=pl.when(hit).then(found["detail"]).otherwise(pl.col("removed_detail")),
    )


def screen(frame: pl.DataFrame, section: QualityConfig) -> pl.DataFrame:
    """`too_long` above `max_document_chars`, else `binary` above `max_control_share`."""
    text, title = pl.col("text").fill_null(""), pl.col("title").fill_null("")
    measures = frame.select(
        text_chars=text.str.len_chars(),
        title_chars=title.str.len_chars(),
        controls=text.str.count_matches(CONTROLS) + title.str.count_matches(CONTROLS),
    ).with_columns(chars=pl.max_horizontal("text_chars", "title_chars"))
    share = pl.col("controls") / pl.max_horizontal(pl.col("text_chars") + pl.col("title_chars"), 1)
    limit = section.max_document_chars
    rules = [
        (pl.col("chars") > limit, "too_long", pl.format("{} characters (max {})", "chars", pl.lit(limit))),
        (
            share > section.max_control_share,
            "binary",
            pl.format("{} of {} characters are control characters", "controls", "text_chars"),
        ),
    ]
    return _remove(frame, measures, rules)


def quality(frame: pl.DataFrame, section: QualityConfig) -> pl.DataFrame:
    """`empty` below `min_chars` characters or `min_letters` letters, else `repetitive` when the
    first letter makes more than `max_letter_share` of the visible characters."""
    text = frame["text"].fill_null("")
    first = text.str.extract(r"(\p{L})", 1).str.to_lowercase()
    letters, repeated, visible = character_counts(text, first)
    measures = pl.DataFrame(
        {
            "chars": text.str.len_chars(),
            "letters": letters,
            "first": first,
            "repeated": repeated,
            "visible": visible,
        }
    )
    share = pl.col("repeated") / pl.max_horizontal("visible", 1)
    rules = [
        (pl.col("chars") < section.min_chars, "empty", pl.format("{} characters left", "chars")),
        (pl.col("letters") < section.min_letters, "empty", pl.lit("no letters left")),
        (
            (pl.col("repeated") >= REPEATED_FROM) & (share > section.max_letter_share),
            "repetitive",
            pl.format("{} of {} visible characters are {}", "repeated", "visible", "first"),
        ),
    ]
    return _remove(frame, measures, rules)


def character_counts(texts: pl.Series, first: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Per text: its letters, how often `first` occurs in it lowered, and its characters that are
    not white space; as `count_matches(r"\\p{L}")`, `to_lowercase().count(first)` and `len_chars()`
    minus `count_matches(r"\\s")` would say, in a numpy pass over code points (a third of the time
    of the three regexes). A text whose lowering is not one code point per code point (İ, Σ), or
    whose first letter lowers to two, is counted the slow way."""
    strings, firsts = texts.to_list(), first.to_list()
    letters = np.zeros(len(strings), dtype=np.int64)
    repeated, visible = np.zeros_like(letters), np.zeros_like(letters)
    lowered = codepoints.lower_table()
    for start, part in codepoints.chunks(strings, CHUNK_CHARS):
        codes = codepoints.clipped(codepoints.code_points("".join(part)))
        lengths = np.fromiter(map(len, part), dtype=np.int64, count=len(part))
        classes = codepoints.class_table(CLASSES)[codes]
        span = slice(start, start + len(part))
        letters[span] = codepoints.span_sums(classes & LETTER, lengths)
        visible[span] = lengths - codepoints.span_sums((classes & SPACE) >> 1, lengths)
        wanted = np.array([_single(f) for f in firsts[span]], dtype=np.uint32)
        low = lowered[codes]
        matches = codepoints.span_sums(low == np.repeat(wanted, lengths), lengths)
        repeated[span] = np.where(wanted > 0, matches, 0)
        odd = (codepoints.span_sums(codepoints.unlowered(codes, low), lengths) > 0) & (wanted > 0)
        odd |= np.array([f is not None and len(f) > 1 for f in firsts[span]], dtype=bool)
        if odd.any():
            rows = np.flatnonzero(odd) + start
            slow = pl.Series([strings[row] for row in rows], dtype=pl.String).str.to_lowercase().to_list()
            repeated[rows] = [text.count(firsts[row]) for text, row in zip(slow, rows, strict=True)]
    series = (pl.Series(values, dtype=pl.Int64) for values in (letters, repeated, visible))
    return next(series), next(series), next(series)


def _single(first: str | None) -> int:
    """The code point of a one-character lowered first letter (0: none, or several)."""
    return ord(first) if first is not None and len(first) == 1 else 0
