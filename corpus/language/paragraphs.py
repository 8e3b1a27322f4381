"""Mixed documents: cut a document into paragraph units and vote their labels into one language.

Paragraphs are lines; a line longer than `unit_chars` (scrapes without newlines) is cut into
windows of `unit_chars` characters, so a French article quoting an English paragraph still shows
two languages. Windows ignore sentence ends: a regex sentence splitter cost 0.2 µs per character,
as much as the model, and a word cut at a window edge does not change a window's language.
Units vote with their letters: the dominant label is the one holding most letters,
`language_share` its share, and `code_switching` is set when units in other languages hold at
least `code_switching_share` of the letters.
"""

from __future__ import annotations

import polars as pl

UND = "und"


def split_units(documents: pl.DataFrame, unit_chars: int) -> pl.DataFrame:
    """One row per unit (`doc`, `unit`) from `doc` and `sample`: lines, long lines cut in windows."""
    lines = documents.select("doc", line=pl.col("sample").str.split("\n")).explode("line")
    # Windows are cut by one regex pass per line (slicing at each offset would rescan the line from
    # its start: quadratic in its length); an empty line is one empty unit.
    windows = pl.col("line").fill_null("").str.extract_all(f"(?s).{{1,{unit_chars}}}")
    return (
        lines.select("doc", unit=pl.when(windows.list.len() > 0).then(windows).otherwise(pl.lit([""])))
        .explode("unit")
        .with_columns(pl.col("unit").fill_null(""))
    )


def vote(units: pl.DataFrame, documents: int, code_switching_share: float) -> pl.DataFrame:
    """Per document (`doc` 0..documents-1): dominant `label`, its letter-weighted `score`, share, switching.

    `units` carries `doc`, `label`, `score` and `letters`; documents without letters get `und`.
    """
    by_label = (
        units.filter(pl.col("letters") > 0)
        .group_by("doc", "label")
        .agg(
            letters=pl.col("letters").sum(),
            score=(pl.col("score") * pl.col("letters")).sum() / pl.col("letters").sum(),
        )
        .with_columns(total=pl.col("letters").sum().over("doc"))
    )
    dominant = (
        by_label.sort(["doc", "letters", "label"], descending=[False, True, False])
        .group_by("doc", maintain_order=True)
        .first()
    )
    others = (
        by_label.join(dominant.select("doc", top=pl.col("label")), on="doc")
        .filter((pl.col("label") != pl.col("top")) & (pl.col("label") != UND))
        .group_by("doc")
        .agg(other=pl.col("letters").sum())
    )
    every = pl.DataFrame({"doc": pl.int_range(documents, eager=True, dtype=pl.UInt32)})
    return (
        every.join(dominant, on="doc", how="left")
        .join(others, on="doc", how="left")
        .sort("doc")
        .select(
            "doc",
            label=pl.col("label").fill_null(UND),
            score=pl.col("score").fill_null(0.0),
            share=(pl.col("letters") / pl.col("total")).fill_null(0.0),
            code_switching=(pl.col("other").fill_null(0) / pl.col("total") >= code_switching_share).fill_null(
                False
            ),
        )
    )
