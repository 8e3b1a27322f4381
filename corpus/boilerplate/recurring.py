"""Corpus-level furniture: segments that recur across many documents of one outlet or one crawl.

As CCNet does for paragraphs, we hash normalised text units and count them over the corpus.
The unit is a *segment*: a line, further cut after each sentence end. Lines alone do not work:
the financial scrapes carry no newlines at all, their furniture ("Suivez la chaîne … WhatsApp",
copyright notices) sits inline at the end of one long line. Two phases, so batches could run
the first on a distributed engine and the second per document:

1. `recurring_segments` (corpus-wide): for each group (an outlet; a crawl, i.e. one source and
   scrape day or folder) and each segment hash, the number of *distinct documents* carrying it.
   Documents are told apart by canonical URL (plus record key), else title: re-scrapes of one
   article keep their URL, so they count once and their sentences are not furniture. Counting
   by title first was tried and dropped: titles repeat across different stories (and, in the
   generated benchmark corpora, come from a small pool), which shrinks each group's document
   count until every sentence looks frequent.
2. `drop_recurring` (per document): remove the segments flagged in the document's groups, if
   they sit in a run of flagged segments that reaches the start or the end of the document.
   Furniture is at the edges; a real sentence that happens to recur (a quote, a stock phrase)
   is usually in the middle. On 3,000 generated pages (`pytest -m benchmark
   tests/benchmarks/bench_pages.py -s`) the edge rule cut content lines wrongly removed from 24
   to 7 of 17,576; the price: with every byline deleted (no page parses), 75.6% of furniture
   lines go instead of 97.1%, as a ticker below `min_share` keeps the modal off the edge.
"""

from __future__ import annotations

import polars as pl

from corpus.boilerplate.patterns import tidy_whitespace
from corpus.config import BoilerplateConfig
from corpus.metadata.urls import canonical_urls

_CUT = "\x1f"
# A segment ends after a newline run, or after a sentence end and the blanks that follow it.
SEGMENT_END = r"\n+|[.!?؟…][»”\"')]*[ \t]+"


def segments(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per segment: `_row`, `segment` (text with its trailing separator), `hash`, groups.

    Concatenating a document's segments in order gives back its text exactly.
    """
    outlet = pl.col("source_raw").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")
    crawl = pl.coalesce(
        pl.col("scraped_raw").str.slice(0, 10), pl.col("source_file").str.replace(r"/?[^/]*$", "")
    )
    url = canonical_urls(frame["url_raw"])
    identity = pl.coalesce(
        pl.concat_str(pl.lit(url), pl.col("key").fill_null(""), separator="\x1f"), "title", "text"
    )
    pieces = pl.col("text").fill_null("").str.replace_all(SEGMENT_END, "${0}" + _CUT).str.split(_CUT)
    out = frame.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
        pl.concat_str(pl.col("source_name"), outlet, separator="\x1f").alias("outlet"),
        pl.concat_str(pl.col("source_name"), crawl.fill_null(""), separator="\x1f").alias("crawl"),
        identity.hash(1).alias("document"),
        pieces.alias("segment"),
    ).explode("segment")
    key = pl.col("segment").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", "")
    return out.with_columns(hash=key.hash(2), chars=key.str.len_chars())


def recurring_segments(parts: pl.DataFrame, section: BoilerplateConfig) -> pl.DataFrame:
    """Corpus-wide phase over `segments(frame)`: (kind, group, hash) of segments in enough
    distinct documents of a group."""
    parts = parts.filter(pl.col("chars") >= section.min_segment_chars)
    found = []
    for kind in ("outlet", "crawl"):
        counted = (
            parts.filter(pl.col(kind).is_not_null())
            .group_by(kind, "hash")
            .agg(pl.col("document").n_unique().alias("documents"))
            .join(
                parts.group_by(kind).agg(pl.col("document").n_unique().alias("group_documents")),
                on=kind,
            )
        )
        flagged = counted.filter(
            (pl.col("documents") >= section.min_documents)
            & (pl.col("documents") >= section.min_share * pl.col("group_documents"))
        )
        found.append(flagged.select(pl.lit(kind).alias("kind"), pl.col(kind).alias("group"), "hash"))
    return pl.concat(found).sort("kind", "group", "hash")


def drop_recurring(
    frame: pl.DataFrame, parts: pl.DataFrame, recurring: pl.DataFrame, section: BoilerplateConfig
) -> pl.DataFrame:
    """Per-document phase: remove flagged segments at the document's edges; `furniture` gains
    `recurring_<kind>` per segment removed."""
    parts = parts.with_columns(pl.int_range(pl.len()).alias("_order"))
    for kind in ("outlet", "crawl"):
        flags = recurring.filter(pl.col("kind") == kind).select(
            pl.col("group").alias(kind), "hash", pl.lit(f"recurring_{kind}").alias(f"_{kind}")
        )
        parts = parts.join(flags, on=[kind, "hash"], how="left")
    parts = parts.sort("_order").with_columns(flag=pl.coalesce("_outlet", "_crawl"))
    # Furniture sits at the edges (ticker above, tails below): only flagged segments in a run that
    # reaches the start or the end of the document go. Short segments neither count nor break a run.
    in_run = (pl.col("flag").is_not_null() | (pl.col("chars") < section.min_segment_chars)).cast(pl.Int8)
    at_edge = (in_run.cum_min().over("_row") == 1) | (in_run.cum_min(reverse=True).over("_row") == 1)
    parts = parts.with_columns(removed=pl.when(at_edge | (not section.edges_only)).then("flag"))
    per_row = parts.group_by("_row", maintain_order=True).agg(
        kept=pl.col("segment").filter(pl.col("removed").is_null()).str.join(""),
        dropped=pl.col("removed").drop_nulls(),
        any_dropped=pl.col("removed").is_not_null().any(),
    )
    out = frame.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row")).join(
        per_row, on="_row", how="left", maintain_order="left"
    )
    return out.with_columns(
        text=pl.when(pl.col("any_dropped")).then(tidy_whitespace(pl.col("kept"))).otherwise("text"),
        furniture=pl.concat_list("furniture", pl.col("dropped").fill_null(pl.lit([], pl.List(pl.String)))),
    ).drop("_row", "kept", "dropped", "any_dropped")
