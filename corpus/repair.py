"""Repair text: Unicode hygiene for every document, ftfy only where mojibake is possible.

A cheap regex over the whole column (the fast path) picks the documents that can be damaged;
only those pay for `ftfy.fix_text`. Each document records which repairs changed it. Text whose
letters were replaced by `?` upstream (a lossy re-encoding) cannot be repaired and is removed.
"""

from __future__ import annotations

import ftfy
import polars as pl

from corpus.config import RepairConfig

# A lead byte of a 2- or 3-byte UTF-8 sequence shown as cp1252/latin-1, followed by a continuation
# byte shown the same way: "Ã©", "â€™", "Ø§". Clean French or Arabic text never has this pair.
MOJIBAKE_HINT = (
    r"[\u00c2-\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    r"\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|&#?\w+;"
)
# No-break, thin, ideographic and other spaces that split tokens inconsistently.
EXOTIC_SPACES = r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
# Bidi marks and embeddings scrapers leave in Arabic; ZWNJ/ZWJ carry meaning and stay.
BIDI_CONTROLS = r"[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ufeff]"
# C0/C1 control characters other than tab and newline (the Arabic newspapers end in NUL).
CONTROLS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
# A document is unrecoverable when more than this share of its letters became "?".
LOST_LETTERS_SHARE = 0.2

TEXT_COLUMNS = ("title", "text", "source_raw")


def _ftfy_config(section: RepairConfig) -> ftfy.TextFixerConfig:
    # NFC, not NFKC: compatibility folding would rewrite Arabic presentation forms and ligatures
    # in ways that are not always reversible; the hygiene rules below handle spaces.
    return ftfy.TextFixerConfig(uncurl_quotes=section.uncurl_quotes, normalization="NFC")


def repair(frame: pl.DataFrame, section: RepairConfig) -> pl.DataFrame:
    """Fix mojibake and Unicode hygiene in titles, texts and outlet names; record what changed."""
    config = _ftfy_config(section)
    steps, tags = [], []
    for column in TEXT_COLUMNS:
        clean = _hygiene(pl.col(column), section)
        fixed = clean
        if section.ftfy:
            suspect = clean.str.contains(MOJIBAKE_HINT)
            mended = clean.map_elements(lambda s: ftfy.fix_text(s, config), return_dtype=pl.String)
            fixed = pl.when(suspect).then(mended).otherwise(clean)
        steps.append([clean.alias(f"_clean_{column}"), fixed.alias(f"_fixed_{column}")])
        tags += [
            pl.when(pl.col(column).ne_missing(pl.col(f"_clean_{column}"))).then(pl.lit(f"hygiene:{column}")),
            pl.when(pl.col(f"_clean_{column}").ne_missing(pl.col(f"_fixed_{column}"))).then(
                pl.lit(f"mojibake:{column}")
            ),
        ]
    temporary = [c for pair in steps for c in (pair[0].meta.output_name(), pair[1].meta.output_name())]
    out = (
        frame.with_columns([e for pair in steps for e in pair])
        .with_columns(repairs=pl.concat_list(tags).list.drop_nulls())
        .with_columns(pl.col(f"_fixed_{c}").alias(c) for c in TEXT_COLUMNS)
        .drop(temporary)
    )
    return out.with_columns(removed_reason=_lost_letters())


def _hygiene(expr: pl.Expr, section: RepairConfig) -> pl.Expr:
    out = expr.str.replace_all(CONTROLS, "")
    if section.strip_bidi_controls:
        out = out.str.replace_all(BIDI_CONTROLS, "")
    if section.normalize_spaces:
        out = out.str.replace_all(EXOTIC_SPACES, " ")
    return out.str.normalize("NFC")


def _lost_letters() -> pl.Expr:
    """`unrecoverable_encoding` where letters were replaced by "?" upstream (nothing to repair)."""
    question = pl.col("text").str.count_matches(r"\?").fill_null(0)
    letters = pl.col("text").str.count_matches(r"\p{L}").fill_null(0)
    lost = (question >= 20) & (question > LOST_LETTERS_SHARE * (letters + question))
    return pl.when(lost).then(pl.lit("unrecoverable_encoding")).otherwise(pl.col("removed_reason"))
