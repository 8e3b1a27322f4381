"""The three dedup steps, frame to frame: re-scrapes, exact duplicates, near duplicates.

Each marks removed rows with `removed_reason`, `dup_of` (the survivor's id), `similarity` and,
when the survivor is in an earlier release, `dup_release` (that release's version).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import xxhash

from corpus.config import DedupConfig
from corpus.dedup.lsh import Signatures, candidate_pairs, components, estimated_jaccard, verified_edges
from corpus.dedup.normalise import PRIORITY, matching_text, priority_columns, survivor_order
from corpus.dedup.signatures import gram_hashes, signatures
from corpus.dedup.store import Earlier

SIGNATURE = "minhash"
# Pairs whose exact Jaccard is computed per batch: 1k pairs of news articles are ~7 MB of text
# and ~30 MB of n-gram keys (5k pairs added 400 MB to the peak at 1M documents).
EXACT_BATCH_PAIRS = 1_000
# Rows per signature block, one chunk of the `minhash` column: 64k x 128 permutations = 32 MB.
BLOCK_ROWS = 1 << 16
# Texts normalised at a time: 4k news articles are ~13 MB of text, a few copies while normalised.
NORMALISE_DOCS = 4_096


def remove_rescrapes(
    frame: pl.DataFrame, section: DedupConfig, earlier: Earlier | None = None
) -> pl.DataFrame:
    """Keep one row per (canonical URL, key); the others become `rescrape` of its id. A URL an
    earlier release holds stays as released there: new scrapes of it are its rescrapes."""
    newest = section.rescrape_keep == "newest"
    order = [
        pl.col("scraped_at").fill_null(pl.datetime(1, 1, 1, time_zone="UTC")),
        "source_file",
        "source_line",
    ]
    ranked = frame.with_columns(_rank=pl.struct(order).rank("ordinal", descending=newest).over("url", "key"))
    keeper = pl.col("id").filter(pl.col("_rank") == 1).first().over("url", "key")
    duplicate = pl.col("url").is_not_null() & (pl.col("_rank") > 1)
    marked = _mark(ranked, duplicate, "rescrape", keeper, pl.lit(1.0))
    if earlier is not None:
        released = (
            earlier.rows.filter(pl.col("url").is_not_null())
            .select("url", "key", _earlier_id="id")
            .unique(["url", "key"], keep="first")
        )
        found_id = frame.select("url", "key").join(
            released, on=["url", "key"], how="left", nulls_equal=True, maintain_order="left"
        )["_earlier_id"]
        marked = marked.with_columns(found_id)
        found = pl.col("_earlier_id").is_not_null() & pl.col("removed_reason").is_null()
        marked = _mark(marked, found, "rescrape", pl.col("_earlier_id"), pl.lit(1.0), earlier.version)
        marked = marked.drop("_earlier_id")
    return marked.drop("_rank")


def remove_exact(frame: pl.DataFrame, section: DedupConfig, earlier: Earlier | None = None) -> pl.DataFrame:
    """Keep one document per normalised text (within a language unless scope is `all`); a text an
    earlier release holds keeps that release's document."""
    scope = [] if section.scope == "all" else ["language"]
    keys = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"), *scope).with_columns(
        _hash=_text_hash(frame["text"]), _earlier=pl.lit(False)
    )
    keys = keys.hstack(priority_columns(frame))
    if earlier is not None:
        old = earlier.rows.select(
            pl.lit(None, pl.UInt32).alias("_row"),
            *scope,
            pl.col("matching_hash").alias("_hash"),
            pl.lit(True).alias("_earlier"),
            *PRIORITY,
        )
        keys = pl.concat([keys, old], how="vertical_relaxed")
    groups = ["_hash", *scope]
    keys = keys.sort([pl.col("_earlier").not_(), *survivor_order(section.outlet_priority), "_row"])
    gone = keys.with_columns(
        keeper=pl.col("id").first().over(groups),
        from_earlier=pl.col("_earlier").first().over(groups),
        position=pl.int_range(pl.len()).over(groups),
    ).filter(pl.col("_row").is_not_null() & (pl.col("position") > 0))
    gone = gone.select("_row", "keeper", "from_earlier", similarity=pl.lit(1.0))
    return _attach(frame, gone, "exact_duplicate", earlier)


def remove_near(frame: pl.DataFrame, section: DedupConfig, earlier: Earlier | None = None) -> pl.DataFrame:
    """Signatures, LSH candidates, verified edges, components; per component the first document
    in survivor order stays (an earlier release's document if the component has one) and the others
    become its `near_duplicate`. Adds the `minhash` column (list of uint32) to every row.

    Documents are numbered in a canonical order (by id and lineage), so the outcome does not depend
    on input order; the frame itself is never reordered or copied (its text is most of the memory),
    and the signatures are computed in the frame's order straight into the blocks that become the
    `minhash` column (no second copy of them is ever made).
    """
    blocks = _signature_blocks(frame["text"], section)
    gone = _near_duplicates(frame, blocks, section, earlier)
    return _attach(frame, gone, "near_duplicate", earlier).with_columns(_minhash_column(blocks))


def _near_duplicates(
    frame: pl.DataFrame, blocks: list[np.ndarray], section: DedupConfig, earlier: Earlier | None
) -> pl.DataFrame:
    """The rows to remove (`_row`, `keeper`, `from_earlier`, `similarity`); the pairs, edges and
    keys built on the way are let go on return, before the frame gets its new columns."""
    order = frame.select(pl.arg_sort_by("id", "source_name", "source_file", "source_line"))
    canonical = order.to_series().to_numpy()
    group = pl.col("language").fill_null("") if section.scope == "language" else pl.lit("")
    keys = priority_columns(frame).with_columns(_group=frame.with_columns(_group=group)["_group"])
    keys = keys[canonical].with_columns(_earlier=pl.lit(False))
    every = Signatures(blocks, canonical)
    if earlier is not None:
        old = earlier.rows.with_columns(_group=group, _earlier=pl.lit(True)).select(keys.columns)
        keys = pl.concat([keys, old], how="vertical_relaxed")
        released = frame.height + np.arange(earlier.signatures.shape[0])
        every = Signatures([*blocks, earlier.signatures], np.concatenate([canonical, released]))
    groups = keys["_group"].cast(pl.Categorical).to_physical().to_numpy()
    pairs = candidate_pairs(every, groups, *section.bands_rows)
    texts = frame["text"]

    def exact(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return _exact_jaccard(texts, canonical, left, right, section.ngram)

    edges = verified_edges(every, pairs, section.threshold, section.verify_margin, exact)
    members = components(edges).with_columns(pl.col("doc").cast(pl.UInt32))
    ranked = keys.with_row_index("doc").join(members, on="doc")
    ranked = ranked.sort([pl.col("_earlier").not_(), *survivor_order(section.outlet_priority), "doc"])
    ranked = ranked.with_columns(
        _keeper=pl.col("doc").first().over("component"),
        keeper=pl.col("id").first().over("component"),
        from_earlier=pl.col("_earlier").first().over("component"),
    ).filter((pl.col("doc") != pl.col("_keeper")) & pl.col("_earlier").not_())
    doc, keeper = ranked["doc"].to_numpy(), ranked["_keeper"].to_numpy()
    similarity = exact(doc, keeper)
    missing = np.isnan(similarity)
    similarity[missing] = estimated_jaccard(every, doc[missing], keeper[missing])
    return ranked.select(
        pl.Series("_row", canonical[doc], dtype=pl.UInt32),
        "keeper",
        "from_earlier",
        similarity=pl.Series(similarity).round(4),
    )


def _signature_blocks(text: pl.Series, section: DedupConfig) -> list[np.ndarray]:
    """Signatures of raw texts in their order, as blocks of `BLOCK_ROWS` rows; texts are
    normalised `NORMALISE_DOCS` at a time (bounded memory)."""
    blocks = []
    for start in range(0, max(text.len(), 1), BLOCK_ROWS):
        block = np.empty((min(BLOCK_ROWS, text.len() - start), section.num_perm), dtype=np.uint32)
        for low in range(0, block.shape[0], NORMALISE_DOCS):
            matching = _matching(text.slice(start + low, min(NORMALISE_DOCS, block.shape[0] - low)))
            rows = block[low : low + matching.len()]
            signatures(matching, section.num_perm, section.seed, section.ngram, out=rows)
        blocks.append(block)
    return blocks


def _minhash_column(blocks: list[np.ndarray]) -> pl.Series:
    """The `minhash` column (list of uint32) over the signature blocks without copying them:
    one chunk per block."""
    chunks = []
    for block in blocks:
        offsets = np.arange(0, block.size + 1, block.shape[1], dtype=np.int64)
        values = pa.array(block.reshape(-1))
        chunks.append(pl.Series(SIGNATURE, pa.LargeListArray.from_arrays(pa.array(offsets), values)))
    return pl.concat(chunks, rechunk=False)


def _matching(text: pl.Series) -> pl.Series:
    return text.to_frame("text").select(matching_text(pl.col("text")))["text"]


def _exact_jaccard(
    texts: pl.Series, order: np.ndarray, left: np.ndarray, right: np.ndarray, ngram: int
) -> np.ndarray:
    """Exact n-gram Jaccard per pair of documents (doc k's text is `texts[order[k]]`), NaN when a
    side has no text here (an earlier release's document). Vectorised: (pair, hash) keys sorted,
    equal neighbours counted."""
    out = np.full(left.size, np.nan)
    here = np.flatnonzero((left < order.size) & (right < order.size))
    for low in range(0, here.size, EXACT_BATCH_PAIRS):
        chosen = here[low : low + EXACT_BATCH_PAIRS]
        wanted, where = np.unique(np.concatenate([left[chosen], right[chosen]]), return_inverse=True)
        grams, offsets = gram_hashes(_matching(texts.gather(order[wanted])), ngram)
        lengths = np.diff(np.append(offsets, grams.size))
        pair = np.arange(chosen.size, dtype=np.uint64)
        sides = [_pair_keys(grams, offsets, lengths, part, pair) for part in np.split(where, 2)]
        sizes = [
            np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=chosen.size) for keys in sides
        ]
        both = np.sort(np.concatenate(sides))
        shared_keys = both[1:][both[1:] == both[:-1]]
        shared = np.bincount((shared_keys >> np.uint64(32)).astype(np.int64), minlength=chosen.size)
        out[chosen] = shared / (sizes[0] + sizes[1] - shared)
    return out


def _pair_keys(
    grams: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, docs: np.ndarray, pair: np.ndarray
) -> np.ndarray:
    """Distinct (pair << 32 | n-gram hash) keys of one side of each pair."""
    size = lengths[docs]
    start = np.repeat(offsets[docs] - np.concatenate([[0], np.cumsum(size)[:-1]]), size)
    hashes = grams[start + np.arange(size.sum())].astype(np.uint64)
    return np.unique((np.repeat(pair, size) << np.uint64(32)) | hashes)


def _text_hash(text: pl.Series) -> pl.Series:
    """xxh3-64 of the matching text: exact duplicates are equal hashes (stored with a release).
    One xxhash call per document: about 1 s per million documents, small next to the rest."""
    hashes = [
        xxhash.xxh3_64_intdigest(t.encode())
        for low in range(0, text.len(), NORMALISE_DOCS)
        for t in _matching(text.slice(low, NORMALISE_DOCS)).to_list()
    ]
    return pl.Series(hashes, dtype=pl.UInt64)


def _attach(frame: pl.DataFrame, gone: pl.DataFrame, reason: str, earlier: Earlier | None) -> pl.DataFrame:
    """Mark the rows `gone` names (`_row`, `keeper`, `from_earlier`, `similarity`) without
    reordering or copying the frame: the small result is spread to full-length columns."""
    spread = pl.DataFrame({"_row": pl.int_range(frame.height, dtype=pl.UInt32, eager=True)}).join(
        gone, on="_row", how="left", maintain_order="left"
    )
    return _mark(
        frame.with_columns(
            _keeper=spread["keeper"], _from_earlier=spread["from_earlier"], _similarity=spread["similarity"]
        ),
        pl.col("_keeper").is_not_null(),
        reason,
        pl.col("_keeper"),
        pl.col("_similarity"),
        earlier.version if earlier is not None else None,
        from_earlier=pl.col("_from_earlier").fill_null(False),
    ).drop("_keeper", "_from_earlier", "_similarity")


def _mark(
    frame: pl.DataFrame,
    duplicate: pl.Expr,
    reason: str,
    keeper: pl.Expr,
    score: pl.Expr,
    version: str | None = None,
    from_earlier: pl.Expr | None = None,
) -> pl.DataFrame:
    earlier = from_earlier if from_earlier is not None else pl.lit(version is not None)
    return frame.with_columns(
        removed_reason=pl.when(duplicate).then(pl.lit(reason)).otherwise(pl.col("removed_reason")),
        dup_of=pl.when(duplicate).then(keeper).otherwise(pl.col("dup_of")),
        similarity=pl.when(duplicate).then(score).otherwise(pl.col("similarity")),
        dup_release=pl.when(duplicate & earlier)
        .then(pl.lit(version, pl.String))
        .otherwise(pl.col("dup_release")),
    )
