"""Remove duplicates in three phases, each recording who survived and why the others went.

1. `rescrape`: the same canonical URL (and record key) scraped more than once; the newest
   scrape wins by default. 2. `exact_duplicate`: identical text after normalisation.
3. `near_duplicate`: MinHash LSH over word n-grams of the normalised text, exactly verified
   pairs, star clusters in survivor order (a fixed priority, whatever the input order), so every
   removed document is within the threshold of the one kept for it.
Against an earlier release (`dedup.against`) its stored signatures take part without its text.
"""

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from corpus.config import DedupConfig
from corpus.dedup.normalise import matching_text
from corpus.dedup.phases import ExactDuplicates, NearDuplicates, Rescrapes, text_hashes
from corpus.dedup.signatures import shingle_hash, shingles, signatures
from corpus.dedup.store import SIGNATURES, Earlier, EarlierRelease, load_earlier, signature_table
from corpus.engine.memory import run_phase


def remove_rescrapes(
    frame: pl.DataFrame, section: DedupConfig, earlier: Earlier | None = None
) -> pl.DataFrame:
    """Re-scrapes over one in-memory frame (notebooks and tests; a build runs the phase on batches)."""
    return run_phase(Rescrapes(section, earlier), frame)


def remove_exact(frame: pl.DataFrame, section: DedupConfig, earlier: Earlier | None = None) -> pl.DataFrame:
    """Exact duplicates over one in-memory frame."""
    return run_phase(ExactDuplicates(section, earlier), frame)


def remove_near(frame: pl.DataFrame, section: DedupConfig, earlier: Earlier | None = None) -> pl.DataFrame:
    """Near duplicates over one in-memory frame."""
    return run_phase(NearDuplicates(section, earlier), frame)


def write_signatures(released: pl.DataFrame, folder: Path, section: DedupConfig) -> Path:
    """The signatures file of released rows held in memory, as a release stores it (for notebooks
    and tests; a build writes it batch by batch)."""
    keys = NearDuplicates(section).keys(released)
    rows = released.with_columns(
        pl.Series("minhash", keys.arrays["minhash"].tolist(), dtype=pl.List(pl.UInt32)),
        matching_hash=text_hashes(released["text"]),
    ).sort("id")
    path = folder / SIGNATURES
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(signature_table(rows, section), path, compression="zstd", compression_level=9)
    return path


__all__ = [
    "Earlier",
    "EarlierRelease",
    "ExactDuplicates",
    "NearDuplicates",
    "Rescrapes",
    "load_earlier",
    "matching_text",
    "remove_exact",
    "remove_near",
    "remove_rescrapes",
    "shingle_hash",
    "shingles",
    "signatures",
    "text_hashes",
    "write_signatures",
]
