"""Records unfit to release: checked on input (`screen`) and after furniture removal (`quality`).

`screen` runs before any step reads a record: too long (`too_long`), or bytes that are not text
(`binary`: control characters, NULs, replacement characters). `quality` runs on the text that
would be released: nothing left (`empty`: too short, or no letter at all) or one letter repeated
(`repetitive`). Each removal says why in `removed_detail`. Every check is one vectorised pass.
"""

from __future__ import annotations

import polars as pl

from corpus.config import QualityConfig

# Control characters (C0 but tab, newline, carriage return; DEL; C1) and the replacement character.
CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]"
# Letters a document needs before one of them can be called repeated (below, shares are coarse).
REPEATED_FROM = 4


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
    letters = text.str.count_matches(r"\p{L}") if section.min_letters > 1 else text.str.contains(r"\p{L}")
    first = text.str.extract(r"(\p{L})", 1).str.to_lowercase()
    # str.count per document: a C loop over each text (a per-row pattern in polars compiles each).
    lowered = text.str.to_lowercase().to_list()
    repeated = [t.count(f) if f else 0 for t, f in zip(lowered, first.to_list(), strict=True)]
    measures = pl.DataFrame(
        {
            "chars": text.str.len_chars(),
            "letters": letters.cast(pl.Int64),
            "first": first,
            "repeated": pl.Series(repeated, dtype=pl.Int64),
            "visible": text.str.len_chars() - text.str.count_matches(r"\s"),
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
