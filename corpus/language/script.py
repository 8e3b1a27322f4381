"""Layer 1, the script: letters counted per script decide Tifinagh outright and route the rest.

Tifinagh is only ever Tamazight (`zgh`) and no wheel-shipped model knows it; Arabic-script text
goes to the Darija layer, Latin text to the Kabyle, Arabizi and base-model layers.
"""

from __future__ import annotations

import polars as pl

LETTERS = r"\p{L}"
TIFINAGH = r"[\u2d30-\u2d7f]"
ARABIC = r"[\p{Arabic}&&\p{L}]"


def script_counts(text: pl.Expr) -> list[pl.Expr]:
    """`letters`, `tifinagh` and `arabic` letter counts of `text`.

    Latin is not counted: every letter neither Arabic nor Tifinagh takes the Latin route (other
    scripts reach the base model there), which saves one pass over the text.
    """
    return [
        text.str.count_matches(LETTERS).alias("letters"),
        text.str.count_matches(TIFINAGH).alias("tifinagh"),
        text.str.count_matches(ARABIC).alias("arabic"),
    ]


def share(column: str) -> pl.Expr:
    """Share of a script's letters among all letters (0 for a text without letters)."""
    return pl.col(column) / pl.max_horizontal(pl.col("letters"), 1)
