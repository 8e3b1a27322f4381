"""Corpus-level furniture: segments that recur across many documents of one outlet or one crawl.

As CCNet does for paragraphs, we hash normalised text units and count them over the corpus.
The unit is a *segment*: a line, further cut after each sentence end. Lines alone do not work:
the financial scrapes carry no newlines at all, their furniture ("Suivez la chaîne … WhatsApp",
copyright notices) sits inline at the end of one long line. A phase (see `corpus.pipeline`):

1. `keys` (per batch): for each live document its groups (an outlet: the registry's canonical
   name; a crawl: one source and scrape day, else folder), its identity (canonical URL plus record
   key, else title) and the hashes of its segments, split into partitions by hash.
2. `decide` (corpus-wide, partition by partition: a gather, so one partition of the keys in memory
   on the local engine, partitions spread over the cluster on Ray): the number
   of *distinct documents* of each group carrying each segment; a segment in at least
   `min_documents` of them and `min_share` of its group is furniture. Re-scrapes of one article
   keep their URL, so they count once and their sentences are not furniture. Counting by title
   first was tried and dropped: titles repeat across different stories. The same gather keeps
   which documents (part, row) carry a segment counted often enough, so the decision also names
   the documents holding a flagged segment.
3. `apply` (per batch): in the documents the decision names, and only there (segmenting every
   document again cost a fifth of this phase), remove flagged segments of the document's groups
   when they sit in a run of flagged segments reaching the start or the end of the document.
   Furniture is at the edges; a real sentence that recurs (a quote, a stock phrase) is usually in
   the middle. On 3,000 generated pages (`pytest -m benchmark tests/benchmarks/bench_pages.py -s`)
   the edge rule cut content lines wrongly removed from 24 to 7 of 17,576.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl

from corpus import codepoints
from corpus.boilerplate.patterns import tidy_whitespace
from corpus.config import BoilerplateConfig
from corpus.errors import LedgerError
from corpus.metadata.outlets import outlet_key
from corpus.metadata.urls import canonical_urls
from corpus.step import PART, Gather, Keys, KeyStore

_CUT = "\x1f"
# A segment ends after a newline run, or after a sentence end and the blanks that follow it.
SEGMENT_END = r"\n+|[.!?؟…][»”\"')]*[ \t]+"
# What a segment's key keeps (after lowering): letters and digits.
KEY_CHARS = r"\p{L}\p{N}"
# Segments are keyed this many characters at a time (see `corpus.codepoints.chunks`).
CHUNK_CHARS = 1 << 18
# Partitions of the keys by segment hash (documents by identity): `decide` holds one at a time.
PARTITIONS = 16
KINDS = ("outlet", "crawl")


def document_groups(frame: pl.DataFrame) -> pl.DataFrame:
    """Per row: `outlet` and `crawl` group hashes and the `document` identity hash."""
    outlet = pl.coalesce(pl.col("source"), pl.col("source_raw"))
    day = pl.coalesce(pl.col("scraped_at").dt.strftime("%Y-%m-%d"), pl.col("scraped_raw").str.slice(0, 10))
    crawl = pl.coalesce(day, pl.col("source_file").str.replace(r"/?[^/]*$", ""))
    urls = frame["url"]
    missing = urls.is_null() & frame["url_raw"].is_not_null()
    if missing.any():  # before the metadata step (unit tests): canonicalise here
        urls = urls.scatter(missing.arg_true(), canonical_urls(frame["url_raw"].filter(missing)))
    url = pl.lit(urls)
    identity = pl.coalesce(pl.concat_str(url, pl.col("key").fill_null(""), separator=_CUT), "title", "text")
    return frame.select(
        outlet=pl.concat_str(pl.col("source_name"), outlet_key(outlet).fill_null(""), separator=_CUT).hash(3),
        crawl=pl.concat_str(pl.col("source_name"), crawl.fill_null(""), separator=_CUT).hash(3),
        document=identity.hash(1),
    )


def segments(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per segment: `_doc` (row in `frame`), `segment` (text with its trailing separator),
    `hash`, `chars` (letters and digits). Concatenating a document's segments gives its text."""
    text = pl.col("text").fill_null("")
    pieces = text.str.replace_all(SEGMENT_END, "${0}" + _CUT).str.split(_CUT)
    out = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_doc"), pieces.alias("segment"))
    out = out.explode("segment")
    lengths = out["segment"].str.len_chars().cast(pl.Int64).to_numpy()
    texts = frame.select(text)["text"].to_list()
    hashes, chars = segment_keys(texts, out["_doc"].to_numpy(), lengths)
    return out.with_columns(hash=pl.Series(hashes, dtype=pl.UInt64), chars=pl.Series(chars, dtype=pl.UInt32))


def segment_keys(texts: list[str], docs: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per segment (its document in `docs`, in order; its `lengths` in characters, adding up to its
    document's), the hash and length of its key: the segment lowered, letters and digits only
    (what `to_lowercase()` then removing `[^\\p{L}\\p{N}]` would leave). In numpy over the
    documents' code points: the two regex passes were most of `segments`. A segment holding a
    character whose lowering is not one code point alone (İ, Σ) has its key made by polars."""
    hashes = np.zeros(lengths.size, dtype=np.uint64)
    chars = np.zeros(lengths.size, dtype=np.int64)
    lowered = codepoints.lower_table()
    keeps = codepoints.class_table(((1, KEY_CHARS),)).view(bool)
    for first, part in codepoints.chunks(texts, CHUNK_CHARS):
        rows = slice(*np.searchsorted(docs, [first, first + len(part)]))
        spans, joined = lengths[rows], "".join(part)
        codes = codepoints.clipped(codepoints.code_points(joined))
        low = lowered[codes]
        kept = keeps[low]
        chars[rows] = codepoints.span_sums(kept, spans)
        hashes[rows] = codepoints.span_hashes(low[kept], chars[rows])
        unlowered = codepoints.unlowered(codes, low)
        if unlowered.any():
            odd = np.flatnonzero(codepoints.span_sums(unlowered, spans))
            ends = np.cumsum(spans)[odd]
            found = [joined[end - size : end] for end, size in zip(ends, spans[odd], strict=True)]
            hashes[rows.start + odd], chars[rows.start + odd] = _polars_keys(found)
    return hashes, chars


def _polars_keys(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`segment_keys` of texts the code point tables cannot lower, by polars."""
    keys = pl.Series(texts, dtype=pl.String).str.to_lowercase().str.replace_all(f"[^{KEY_CHARS}]+", "")
    lengths = keys.str.len_chars().cast(pl.Int64).to_numpy()
    return codepoints.span_hashes(codepoints.code_points("".join(keys.to_list())), lengths), lengths


FLAGGED = {"kind": pl.String, "group": pl.UInt64, "hash": pl.UInt64}
# A document's row among the live rows of its part (what `apply` is handed), in keys and decisions.
DOC = "_doc"
TOUCHED = {PART: pl.UInt32, DOC: pl.UInt32}


def partition_rows(store: KeyStore, part: int, partition: int) -> pl.DataFrame:
    """One partition of one part's keys, with the part; rows meet on their segment hash (document
    rows, whose hash is null, on their document)."""
    return store.part_keys(part, partition).with_columns(
        pl.lit(part, pl.UInt32).alias(PART), _meet=pl.coalesce("hash", "document")
    )


def count_partition(rows: pl.DataFrame, min_documents: int) -> pl.DataFrame:
    """Per kind and group: distinct documents (`hash` null) and, per segment hash, distinct
    documents carrying it when at least `min_documents` (rows with `n`). A document and a segment
    hash are each in one partition, so counts over partitions add up."""
    documents, found = rows.filter(pl.col("hash").is_null()), rows.filter(pl.col("hash").is_not_null())
    out = []
    for kind in KINDS:
        totals = documents.group_by(kind).agg(n=pl.col("document").n_unique())
        counts = found.group_by(kind, "hash").agg(n=pl.col("document").n_unique())
        counts = counts.filter(pl.col("n") >= min_documents)
        for frame in (totals.with_columns(hash=pl.lit(None, pl.UInt64)), counts):
            out.append(frame.select(pl.lit(kind).alias("kind"), pl.col(kind).alias("group"), "hash", "n"))
    return pl.concat(out, how="diagonal_relaxed")


# What finding the carriers of flagged segments reads of a segment row.
SEGMENT_ROWS = {
    PART: pl.UInt32,
    DOC: pl.UInt32,
    "outlet": pl.UInt64,
    "crawl": pl.UInt64,
    "hash": pl.UInt64,
    "_meet": pl.UInt64,
}


@dataclass(frozen=True)
class FlaggedRows:
    """A gather's rows for the documents carrying a flagged segment: one partition of one part's
    segment rows, read only when a flagged hash falls in that partition."""

    partitions: frozenset[int]

    def __call__(self, store: KeyStore, part: int, partition: int) -> pl.DataFrame:
        if partition not in self.partitions:
            return pl.DataFrame(schema=SEGMENT_ROWS)
        rows = partition_rows(store, part, partition).filter(pl.col("hash").is_not_null())
        return rows.select(pl.col(name).cast(kind) for name, kind in SEGMENT_ROWS.items())


def carriers_partition(rows: pl.DataFrame, flagged: pl.DataFrame) -> pl.DataFrame:
    """The documents (`_part`, `_doc`, each once) of these rows carrying a flagged segment."""
    found = [pl.DataFrame(schema=TOUCHED)]
    for kind in KINDS:
        flags = flagged.filter(pl.col("kind") == kind).select(pl.col("group").alias(kind), "hash")
        if flags.height and rows.height:
            found.append(rows.join(flags, on=[kind, "hash"], how="semi").select(list(TOUCHED)))
    return pl.concat(found, how="vertical_relaxed").unique()


def flag(counts: pl.DataFrame, min_share: float) -> pl.DataFrame:
    """(kind, group, hash) of segments in at least `min_share` of their group's documents."""
    flagged = [pl.DataFrame(schema=FLAGGED)]
    if counts.height:
        totals = counts.filter(pl.col("hash").is_null()).group_by("kind", "group").agg(size=pl.col("n").sum())
        often = counts.filter(pl.col("hash").is_not_null()).join(totals, on=["kind", "group"])
        flagged.append(often.filter(pl.col("n") >= min_share * pl.col("size")).select(list(FLAGGED)))
    return pl.concat(flagged).sort("kind", "group", "hash")


def decision(flagged: pl.DataFrame, carriers: pl.DataFrame) -> pl.DataFrame:
    """The decision table: flagged segments (`_part` and `_doc` null: they hold in every part), then
    the documents carrying one (`kind`, `group`, `hash` null), each once, by part and row."""
    touched = carriers.select(pl.col(PART).cast(pl.UInt32), pl.col(DOC).cast(pl.UInt32)).unique()
    return pl.concat(
        [flagged.with_columns(pl.lit(None, v).alias(k) for k, v in TOUCHED.items()), touched.sort(PART, DOC)],
        how="diagonal",
    )


class RecurringFurniture:
    """The recurring-furniture phase (see the module docstring)."""

    name = "recurring"
    rewrites = True

    def __init__(self, section: BoilerplateConfig) -> None:
        self.section = section

    def keys(self, batch: pl.DataFrame) -> Keys:
        """Document rows (`hash` null) and segment rows of long enough segments, by partition."""
        groups = document_groups(batch).with_row_index("_doc")
        parts = segments(batch).filter(pl.col("chars") >= self.section.min_segment_chars)
        rows = pl.concat(
            [
                groups.with_columns(hash=pl.lit(None, pl.UInt64)),
                parts.select("_doc", "hash").join(groups, on="_doc", how="left"),
            ],
            how="diagonal",
        )
        partition = pl.coalesce("hash", "document") % PARTITIONS
        frame = rows.select(
            pl.col(DOC, "outlet", "crawl", "document", "hash"), _partition=partition.cast(pl.UInt8)
        )
        return Keys(frame.sort("_partition"))

    def decide(self, store: KeyStore) -> pl.DataFrame:
        """(kind, group, hash) of the segments in enough distinct documents of a group: counted
        partition by partition (where the engine runs a gather), then flagged here; then a second
        gather names the documents carrying a flagged segment, so no row of an unflagged segment
        ever comes back (at 1M documents those rows held 3 GB)."""
        count = partial(count_partition, min_documents=self.section.min_documents)
        counts = store.gather(Gather(store.part_count(), PARTITIONS, ("_meet",), partition_rows, count))
        flagged = flag(counts, self.section.min_share)
        carriers = pl.DataFrame(schema=TOUCHED)
        if flagged.height:
            partitions = frozenset((flagged["hash"] % PARTITIONS).cast(pl.Int64).to_list())
            find = partial(carriers_partition, flagged=flagged)
            work = Gather(store.part_count(), PARTITIONS, ("_meet",), FlaggedRows(partitions), find)
            carriers = pl.concat([carriers, store.gather(work)], how="diagonal_relaxed")
        return decision(flagged, carriers)

    def apply(self, batch: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
        """Remove flagged segments at the edges of the documents the decision names (rows of this
        batch's live rows; the engine hands each part its own); `furniture` gains
        `recurring_<kind>` per segment removed."""
        rows = decisions.filter(pl.col(DOC).is_not_null())[DOC].unique().sort()
        if rows.len() == 0 or batch.height == 0:
            return batch
        last = int(rows[-1])
        if last >= batch.height:
            raise LedgerError(f"recurring: decision names row {last} of a batch of {batch.height}")
        edited = self._strip(batch[rows.to_numpy()], decisions.filter(pl.col("kind").is_not_null()))
        done = edited.select("text", "furniture").with_columns(rows.alias("_at"))
        out = batch.with_row_index("_at").join(
            done, on="_at", how="left", maintain_order="left", suffix="_new"
        )
        named = pl.col("_at").is_in(rows.implode())  # a rebuilt text may be null: no coalesce
        return out.with_columns(
            text=pl.when(named).then("text_new").otherwise("text"),
            furniture=pl.when(named).then("furniture_new").otherwise("furniture"),
        ).drop("_at", "text_new", "furniture_new")

    def _strip(self, batch: pl.DataFrame, flagged: pl.DataFrame) -> pl.DataFrame:
        """Remove flagged segments at the edges of every document of `batch`."""
        parts = segments(batch).join(document_groups(batch).with_row_index("_doc"), on="_doc", how="left")
        for kind in KINDS:
            flags = flagged.filter(pl.col("kind") == kind).select(
                pl.col("group").alias(kind), "hash", pl.lit(f"recurring_{kind}").alias(f"_{kind}")
            )
            parts = parts.join(flags, on=[kind, "hash"], how="left", maintain_order="left")
        parts = parts.with_columns(flag=pl.coalesce("_outlet", "_crawl"))
        touched = parts.filter(pl.col("flag").is_not_null())["_doc"].unique()
        if touched.len() == 0:
            return batch
        parts = parts.filter(pl.col("_doc").is_in(touched.implode()))
        # Short segments neither count nor break a run of furniture.
        short = pl.col("chars") < self.section.min_segment_chars
        in_run = (pl.col("flag").is_not_null() | short).cast(pl.Int8)
        at_edge = (in_run.cum_min().over("_doc") == 1) | (in_run.cum_min(reverse=True).over("_doc") == 1)
        parts = parts.with_columns(removed=pl.when(at_edge | (not self.section.edges_only)).then("flag"))
        per_row = parts.group_by("_doc", maintain_order=True).agg(
            kept=pl.col("segment").filter(pl.col("removed").is_null()).str.join(""),
            dropped=pl.col("removed").drop_nulls(),
            any_dropped=pl.col("removed").is_not_null().any(),
        )
        out = batch.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_doc")).join(
            per_row, on="_doc", how="left", maintain_order="left"
        )
        return out.with_columns(
            text=pl.when(pl.col("any_dropped")).then(tidy_whitespace(pl.col("kept"))).otherwise("text"),
            furniture=pl.concat_list(
                "furniture", pl.col("dropped").fill_null(pl.lit([], pl.List(pl.String)))
            ),
        ).drop("_doc", "kept", "dropped", "any_dropped")
