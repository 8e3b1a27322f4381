"""Remove duplicates in three phases, each recording who survived and why the others went.

1. `rescrape`: the same canonical URL (and record key) scraped more than once; the newest
   scrape wins by default. 2. `exact_duplicate`: identical text after normalisation.
3. `near_duplicate`: MinHash LSH (datasketch) over word n-grams of the normalised text.
Survivors are chosen by a fixed priority (earliest date, longest text, smallest id), so the
result does not depend on input order.
"""

from __future__ import annotations

import polars as pl
from datasketch import MinHash, MinHashLSH

from corpus.config import DedupConfig

ARABIC_VARIANTS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}
EASTERN_DIGITS = {chr(0x660 + d): str(d) for d in range(10)}
# Harakat, superscript alef and tatweel carry no identity for matching.
ARABIC_MARKS = r"[\u064b-\u065f\u0670\u0640]"


def matching_text(expr: pl.Expr) -> pl.Expr:
    """Text as compared for duplicates: lowercase, no punctuation, Arabic variants unified."""
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_many({**ARABIC_VARIANTS, **EASTERN_DIGITS})
        .str.replace_all(ARABIC_MARKS, "")
        .str.replace_all(r"[^\p{L}\p{N}\s]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def survivor_order() -> list[pl.Expr]:
    """Earliest publication first, then the longest text, then the smallest id."""
    when = pl.coalesce(pl.col("published_at"), pl.col("published_date").cast(pl.Datetime("us", "UTC")))
    return [
        when.fill_null(pl.datetime(9999, 1, 1, time_zone="UTC")),
        -pl.col("text").str.len_chars().cast(pl.Int64),
        pl.col("id"),
    ]


def remove_rescrapes(frame: pl.DataFrame, section: DedupConfig) -> pl.DataFrame:
    """Keep one row per (canonical URL, key); the others become `rescrape` of its id."""
    newest = section.rescrape_keep == "newest"
    order = [
        pl.col("scraped_at").fill_null(pl.datetime(1, 1, 1, time_zone="UTC")),
        "source_file",
        "source_line",
    ]
    ranked = frame.with_row_index("_row").with_columns(
        _rank=pl.struct(order).rank("ordinal", descending=newest).over("url", "key")
    )
    keeper = pl.col("id").filter(pl.col("_rank") == 1).first().over("url", "key")
    duplicate = pl.col("url").is_not_null() & (pl.col("_rank") > 1)
    return _mark(ranked, duplicate, "rescrape", keeper, pl.lit(1.0)).sort("_row").drop("_row", "_rank")


def remove_exact(frame: pl.DataFrame, section: DedupConfig) -> pl.DataFrame:
    """Keep one document per normalised text (within a language unless scope is `all`)."""
    groups = ["_norm"] if section.scope == "all" else ["_norm", "language"]
    ranked = frame.with_row_index("_row").with_columns(_norm=matching_text(pl.col("text")))
    ranked = ranked.with_columns(_rank=pl.struct(survivor_order()).rank("ordinal").over(groups))
    keeper = pl.col("id").filter(pl.col("_rank") == 1).first().over(groups)
    marked = _mark(ranked, pl.col("_rank") > 1, "exact_duplicate", keeper, pl.lit(1.0))
    return marked.sort("_row").drop("_row", "_rank", "_norm")


def shingles(text: str, ngram: int) -> set[bytes]:
    """Word n-grams of matching text; a document shorter than n words is one shingle."""
    words = text.split()
    if len(words) <= ngram:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + ngram]).encode() for i in range(len(words) - ngram + 1)}


# Candidates come from an LSH tuned this far below the threshold, for recall: an estimate from
# 128 permutations is off by about 0.03, so a pair at J 0.82 can look like 0.77.
CANDIDATE_MARGIN = 0.15


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def remove_near(frame: pl.DataFrame, section: DedupConfig) -> pl.DataFrame:
    """Greedy in survivor order: a document whose shingles overlap a kept one's by at least the
    threshold (exact Jaccard, checked on LSH candidates) is removed as its near duplicate."""
    order = frame.with_row_index("_row").with_columns(_norm=matching_text(pl.col("text")))
    order = order.sort([*survivor_order(), "_row"])
    scope = order["language"] if section.scope == "language" else pl.Series([""] * order.height)
    texts, ids = order["_norm"].to_list(), order["id"].to_list()
    indexes: dict[str, MinHashLSH] = {}
    dup_of: list[str | None] = []
    similarity: list[float | None] = []
    candidate_threshold = max(0.05, section.threshold - CANDIDATE_MARGIN)
    for position, (text, group) in enumerate(zip(texts, scope.to_list(), strict=True)):
        own = shingles(text, section.ngram)
        signature = MinHash(num_perm=section.num_perm, seed=section.seed)
        signature.update_batch(list(own))
        if group not in indexes:
            indexes[group] = MinHashLSH(threshold=candidate_threshold, num_perm=section.num_perm)
        lsh = indexes[group]
        scored = [(jaccard(own, shingles(texts[c], section.ngram)), -c, c) for c in lsh.query(signature)]
        matches = [m for m in scored if m[0] >= section.threshold]
        if matches:
            score, _, best = max(matches)
            dup_of.append(ids[best])
            similarity.append(round(score, 4))
        else:
            lsh.insert(position, signature)
            dup_of.append(None)
            similarity.append(None)
    order = order.with_columns(
        _dup=pl.Series(dup_of, dtype=pl.String), _sim=pl.Series(similarity, dtype=pl.Float64)
    )
    marked = _mark(order, pl.col("_dup").is_not_null(), "near_duplicate", pl.col("_dup"), pl.col("_sim"))
    return marked.sort("_row").drop("_row", "_norm", "_dup", "_sim")


def _mark(
    frame: pl.DataFrame, duplicate: pl.Expr, reason: str, keeper: pl.Expr, score: pl.Expr
) -> pl.DataFrame:
    return frame.with_columns(
        removed_reason=pl.when(duplicate).then(pl.lit(reason)).otherwise(pl.col("removed_reason")),
        dup_of=pl.when(duplicate).then(keeper).otherwise(pl.col("dup_of")),
        similarity=pl.when(duplicate).then(score).otherwise(pl.col("similarity")),
    )
