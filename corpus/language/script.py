"""Layer 1, the script: letters counted per script decide Tifinagh outright and route the rest.

Tifinagh is only ever Tamazight (`zgh`) and no wheel-shipped model knows it; Arabic-script text
goes to the Darija layer, Latin text to the Kabyle, Arabizi and base-model layers.
Counts come from one table of every code point's class (built once per process with the same
regex classes polars uses, so they agree with `count_matches`), looked up over the batch's code
points in numpy (see `paragraphs.py` for what it saves).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from corpus import codepoints
from corpus.codepoints import code_points

LETTERS = r"\p{L}"
TIFINAGH = r"[\u2d30-\u2d7f]"
ARABIC = r"[\p{Arabic}&&\p{L}]"
# Classes are bits of one byte per code point (see `corpus.codepoints`).
LETTER, ARABIC_LETTER, TIFINAGH_CHAR = 1, 2, 4
CLASSES = ((LETTER, LETTERS), (ARABIC_LETTER, ARABIC), (TIFINAGH_CHAR, TIFINAGH))
COUNTS = {"letters": LETTER, "tifinagh": TIFINAGH_CHAR, "arabic": ARABIC_LETTER}


def class_table() -> np.ndarray:
    """The class bits of every code point below the table's size (surrogates: none)."""
    return codepoints.class_table(CLASSES)


def span_counts(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """`letters`, `tifinagh` and `arabic` counts of each span [start, end) of `codes`.

    Latin is not counted: every letter neither Arabic nor Tifinagh takes the Latin route (other
    scripts reach the base model there).
    """
    classes = class_table().take(codes, mode="clip")  # past the table: its last, classless entry
    classes = np.append(classes, np.uint8(0))  # a span may start at the very end (an empty line)
    empty = starts == ends
    counts = {}
    for name, bit in COUNTS.items():
        chosen = classes & np.uint8(bit)
        if not chosen.any():
            counts[name] = np.zeros(starts.size, dtype=np.int64)
            continue
        # reduceat sums [start_i, start_i+1); spans are laid in order with gaps only at newlines,
        # so each span is summed alone by giving its end as the next boundary.
        bounds = np.empty(2 * starts.size, dtype=np.int64)
        bounds[0::2], bounds[1::2] = starts, ends
        summed = np.add.reduceat(chosen >> np.uint8(bit.bit_length() - 1), bounds, dtype=np.int64)[0::2]
        summed[empty] = 0
        counts[name] = summed
    return counts


def script_counts(texts: pl.Series) -> pl.DataFrame:
    """`letters`, `tifinagh` and `arabic` counts of each text."""
    strings = texts.cast(pl.String).fill_null("").to_list()
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    ends = np.cumsum(lengths)
    counts = span_counts(code_points("".join(strings)), ends - lengths, ends)
    return pl.DataFrame({name: pl.Series(values, dtype=pl.UInt32) for name, values in counts.items()})


def share(column: str) -> pl.Expr:
    """Share of a script's letters among all letters (0 for a text without letters)."""
    return pl.col(column) / pl.max_horizontal(pl.col("letters"), 1)
