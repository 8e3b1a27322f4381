"""The three dedup phases: re-scrapes, exact duplicates, near duplicates (see `corpus.step`).

Each reads narrow keys of every live document and decides which rows go, with `dup_of` (the
survivor's id), `similarity` and, when the survivor is in an earlier release, `dup_release`.
The three only remove rows, so their keys are taken in one pass over the batches and each decides
over the rows the previous ones left.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

from corpus.config import DedupConfig
from corpus.dedup.lsh import band_keys
from corpus.dedup.near import GONE, near_duplicates
from corpus.dedup.normalise import PRIORITY, matching_text, priority_columns, survivor_order
from corpus.dedup.signatures import signatures
from corpus.dedup.store import Earlier, EarlierRelease
from corpus.step import DECISION, PART, ROW, Gather, Keys, KeyStore

# Texts normalised at a time: 4k news articles are ~13 MB of text, a few copies while normalised.
NORMALISE_DOCS = 4_096
NEVER_SCRAPED = pl.datetime(1, 1, 1, time_zone="UTC")


def text_hashes(text: pl.Series, matched: pl.Series | None = None) -> pl.Series:
    """xxh3-64 of the matching text (`matched`, when the caller has it): exact duplicates are
    equal hashes (stored with a release). One xxhash call per document: about 1 s per million
    documents, small next to the rest."""
    matched = batch_matching(text) if matched is None else matched
    return pl.Series([xxhash.xxh3_64_intdigest(t.encode()) for t in matched.to_list()], dtype=pl.UInt64)


def matching(text: pl.Series) -> pl.Series:
    return text.to_frame("text").select(matching_text(pl.col("text")))["text"]


def batch_matching(text: pl.Series) -> pl.Series:
    """The matching text of a batch's texts, `NORMALISE_DOCS` at a time."""
    pieces = [matching(text.slice(low, NORMALISE_DOCS)) for low in range(0, text.len(), NORMALISE_DOCS)]
    return pl.concat(pieces) if pieces else pl.Series("text", [], dtype=pl.String)


class SharedMatching:
    """The matching text of the last batch asked for: the exact and near phases take their keys
    from the same batch one after the other, and normalising its text once saves a pass (about
    8 CPU-seconds per 100k news articles). The batch is held, so `is` cannot match a new one."""

    def __init__(self) -> None:
        self.batch: pl.DataFrame | None = None
        self.text = pl.Series("text", [], dtype=pl.String)

    def of(self, batch: pl.DataFrame) -> pl.Series:
        if self.batch is not batch:
            self.batch, self.text = batch, batch_matching(batch["text"])
        return self.text


SHARED = SharedMatching()


def decisions(rows: pl.DataFrame, reason: str, version: str | None) -> pl.DataFrame:
    """A decision table from rows with `_part`, `_row`, `keeper`, `similarity`, `from_earlier`."""
    return rows.select(
        pl.col(PART).cast(pl.UInt32),
        pl.col(ROW).cast(pl.UInt32),
        removed_reason=pl.lit(reason),
        removed_detail=pl.lit(None, pl.String),
        dup_of="keeper",
        similarity=pl.col("similarity").cast(pl.Float64),
        dup_release=pl.when(pl.col("from_earlier")).then(pl.lit(version, pl.String)),
    ).sort(PART, ROW)


class DedupPhase:
    """What the three dedup phases share: their section, the earlier release (read on first use)
    and that they only remove rows (the engine applies their decisions)."""

    rewrites = False

    def __init__(self, section: DedupConfig, against: EarlierRelease | Earlier | None = None) -> None:
        self.section, self.against = section, against

    @property
    def earlier(self) -> Earlier | None:
        return self.against.get() if isinstance(self.against, EarlierRelease) else self.against

    @property
    def version(self) -> str | None:
        earlier = self.earlier
        return earlier.version if earlier is not None else None

    def apply(self, batch: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
        return batch


class Rescrapes(DedupPhase):
    """Keep one row per (canonical URL, key): the newest scrape by default; a URL an earlier
    release holds stays as released there, and new scrapes of it are its re-scrapes.

    Decided as a gather by (URL, key) (see `gathered`)."""

    name = "rescrape"

    def keys(self, batch: pl.DataFrame) -> Keys:
        return Keys(batch.select(RESCRAPE_KEYS))

    def decide(self, store: KeyStore) -> pl.DataFrame:
        old = None
        if self.earlier is not None:
            old = self.earlier.rows.filter(pl.col("url").is_not_null()).select("url", "key", "id")
            old = old.with_columns(
                pl.lit(None, pl.Datetime("us", "UTC")).alias("scraped_at"),
                pl.lit(None, pl.String).alias("source_file"),
                pl.lit(None, pl.Int64).alias("source_line"),
            )
        newest = self.section.rescrape_keep == "newest"
        run = partial(older_scrapes, newest=newest)
        found = gathered(store, RESCRAPE_KEYS, ("url", "key"), run, old, with_url)
        return decisions(found, "rescrape", self.version)


# What re-scrapes keep of each row.
RESCRAPE_KEYS = ("url", "key", "id", "scraped_at", "source_file", "source_line")


def with_url(keys: pl.DataFrame) -> pl.DataFrame:
    """Key rows with a URL (the others are never re-scrapes)."""
    return keys.filter(pl.col("url").is_not_null())


def older_scrapes(rows: pl.DataFrame, newest: bool) -> pl.DataFrame:
    """Rows of a gathering that are not the scrape kept for their (URL, key), and rows whose
    (URL, key) an earlier release holds (`_earlier` rows, in that release's order)."""
    current = rows.filter(pl.col("_earlier").not_())
    order = [pl.col("scraped_at").fill_null(NEVER_SCRAPED), "source_file", "source_line"]
    ranked = current.with_columns(
        _rank=pl.struct(order).rank("ordinal", descending=newest).over("url", "key")
    )
    ranked = ranked.with_columns(keeper=pl.col("id").filter(pl.col("_rank") == 1).first().over("url", "key"))
    gone = ranked.filter(pl.col("_rank") > 1)
    gone = gone.select(PART, ROW, "keeper", from_earlier=pl.lit(False), similarity=pl.lit(1.0))
    old = rows.filter(pl.col("_earlier"))
    if old.height:
        released = old.select("url", "key", keeper="id").unique(["url", "key"], keep="first")
        kept = current.join(gone.select(PART, ROW), on=[PART, ROW], how="anti")
        found = kept.join(released, on=["url", "key"], how="inner", nulls_equal=True, maintain_order="left")
        found = found.select(PART, ROW, "keeper", from_earlier=pl.lit(True), similarity=pl.lit(1.0))
        gone = pl.concat([gone, found])
    return gone


class ExactDuplicates(DedupPhase):
    """Keep one document per normalised text (within a language unless scope is `all`), the first
    in survivor order; a text an earlier release holds keeps that release's document.

    Decided as a gather by text hash (and language) (see `gathered`)."""

    name = "exact_dedup"

    def keys(self, batch: pl.DataFrame) -> Keys:
        frame = priority_columns(batch).with_columns(
            language=batch["language"], _hash=text_hashes(batch["text"], SHARED.of(batch))
        )
        return Keys(frame)

    def decide(self, store: KeyStore) -> pl.DataFrame:
        scope = [] if self.section.scope == "all" else ["language"]
        old = None
        if self.earlier is not None:
            old = self.earlier.rows.select(*scope, pl.col("matching_hash").alias("_hash"), *PRIORITY)
        groups = ("_hash", *scope)
        run = partial(first_of_each_text, groups=groups, priority=self.section.outlet_priority)
        found = gathered(store, (*scope, "_hash", *PRIORITY), groups, run, old)
        return decisions(found, "exact_duplicate", self.version)


def first_of_each_text(rows: pl.DataFrame, groups: tuple[str, ...], priority: list[str]) -> pl.DataFrame:
    """Rows of a gathering that are not the first of their group (text hash, and language) in
    survivor order, an earlier release's rows first."""
    ordered = rows.sort([pl.col("_earlier").not_(), *survivor_order(priority), PART, ROW])
    over = list(groups)
    gone = ordered.with_columns(
        keeper=pl.col("id").first().over(over),
        from_earlier=pl.col("_earlier").first().over(over),
        position=pl.int_range(pl.len()).over(over),
    ).filter(pl.col(PART).is_not_null() & (pl.col("position") > 0))
    return gone.select(PART, ROW, "keeper", "from_earlier", similarity=pl.lit(1.0))


def gathered(
    store: KeyStore,
    columns: tuple[str, ...],
    by: tuple[str, ...],
    run: Callable[[pl.DataFrame], pl.DataFrame],
    earlier: pl.DataFrame | None,
    keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """`run` over the live key rows (`columns`, `_part`, `_row`, `_earlier`) of every part, and
    an earlier release's rows (`columns`) as one more part, gathered by `by`: rows with equal `by`
    meet in one call. One slice: the local engine holds these narrow keys at once (as before, about
    130 bytes a document), Ray spreads them over buckets of the cluster; no driver reads them."""
    with tempfile.TemporaryDirectory(dir=store.scratch()) as scratch:
        path = None
        if earlier is not None:
            path = Path(scratch) / "earlier.parquet"
            earlier.write_parquet(path)
        rows = GatheredRows((PART, ROW, *columns, "_earlier"), path, keep)
        parts = store.part_count() + (path is not None)
        found = store.gather(Gather(parts, 1, by, rows, run))
    return found if found.width else pl.DataFrame(schema=GONE)


@dataclass(frozen=True)
class GatheredRows:
    """A gather's rows: one part's live keys (those `keep` keeps), or, after the parts, the
    earlier release's rows (read from a file in the shared scratch folder), as `columns`."""

    columns: tuple[str, ...]
    earlier: Path | None
    keep: Callable[[pl.DataFrame], pl.DataFrame] | None

    def __call__(self, store: KeyStore, part: int, number: int) -> pl.DataFrame:
        if part < store.part_count():
            keys = store.part_keys(part)
            keys = self.keep(keys) if self.keep is not None else keys
            rows = keys.with_columns(pl.lit(part, pl.UInt32).alias(PART), _earlier=pl.lit(False))
        else:
            assert self.earlier is not None
            rows = pl.read_parquet(self.earlier).with_columns(
                pl.lit(None, pl.UInt32).alias(PART), pl.lit(None, pl.UInt32).alias(ROW), _earlier=pl.lit(True)
            )
        return rows.select(self.columns)


class NearDuplicates(DedupPhase):
    """MinHash over word n-grams of the matching text, LSH candidates, exact verification, then
    greedy star clustering in survivor order (see `corpus.dedup.near`)."""

    name = "near_dedup"

    def keys(self, batch: pl.DataFrame) -> Keys:
        """Survivor-order columns, the canonical order (id and lineage), the dedup group, and the
        signatures (`minhash`, documents x num_perm) and their LSH band keys (`bands`)."""
        section = self.section
        group = pl.col("language").fill_null("") if section.scope == "language" else pl.lit("")
        frame = priority_columns(batch).with_columns(
            batch.select("source_name", "source_file", "source_line", _group=group)
        )
        minhash = np.empty((batch.height, section.num_perm), dtype=np.uint32)
        matched = SHARED.of(batch)
        for low in range(0, batch.height, NORMALISE_DOCS):
            rows = minhash[low : low + NORMALISE_DOCS]
            signatures(matched.slice(low, NORMALISE_DOCS), *self.parameters, out=rows)
        return Keys(frame, {"minhash": minhash, "bands": band_keys(minhash, *section.bands_rows)})

    @property
    def parameters(self) -> tuple[int, int, int]:
        return self.section.num_perm, self.section.seed, self.section.ngram

    def decide(self, store: KeyStore) -> pl.DataFrame:
        gone = near_duplicates(store, self.section, self.earlier)
        return decisions(gone, "near_duplicate", self.version)


def empty_decisions() -> pl.DataFrame:
    return pl.DataFrame(schema=DECISION)
