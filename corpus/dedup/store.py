"""Signatures stored with a release, and read back to dedup a later scrape against it.

`signatures/minhash.parquet` holds, per released document, its MinHash (list of uint32, the
datasketch `affine32` scheme), what survivor choice needs (date, outlet, text length, id) and
what rescrape and exact matching need (canonical URL, key, hash of the matching text); the
Parquet key-value metadata records num_perm, seed, n-gram size and hash scheme. A user can load
a row as `datasketch.LeanMinHash(seed=seed, hashvalues=row, scheme="affine32")`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from corpus.config import DedupConfig
from corpus.dedup.normalise import PRIORITY, priority_columns
from corpus.errors import ConfigError

SIGNATURES = "signatures/minhash.parquet"
METADATA_KEY = b"corpus.minhash"
SCHEME = "affine32"


@dataclass(frozen=True)
class Earlier:
    """An earlier release as dedup sees it: its version, its documents' keys and signatures."""

    version: str
    rows: pl.DataFrame  # STORED columns but `minhash`
    signatures: np.ndarray  # documents x num_perm, uint32, aligned with rows


def parameters(section: DedupConfig) -> dict[str, object]:
    """What makes two signatures comparable."""
    return {
        "num_perm": section.num_perm,
        "seed": section.seed,
        "ngram": section.ngram,
        "scheme": SCHEME,
        "shingle_hash": "xxh3_64 words, polynomial 0x9E3779B97F4A7C15, folded to 32 bits",
    }


def write_signatures(released: pl.DataFrame, folder: Path, section: DedupConfig) -> list[str]:
    """Write the signatures of released documents (sorted by id, deterministic bytes)."""
    from corpus.dedup.steps import SIGNATURE, _text_hash

    rows = released.sort("id").select(
        *[c for c in PRIORITY if c != "text_chars"], "url", "key", "language", "text", SIGNATURE
    )
    table = (
        priority_columns(rows)
        .hstack(rows.select("url", "key", "language", SIGNATURE))
        .with_columns(matching_hash=_text_hash(rows["text"]))
    ).to_arrow()
    metadata = {METADATA_KEY: json.dumps(parameters(section), sort_keys=True).encode()}
    path = folder / SIGNATURES
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd", compression_level=9)
    return [SIGNATURES]


def load_earlier(release: Path, section: DedupConfig) -> Earlier:
    """Read an earlier release's version and stored signatures; refuse incomparable ones."""
    path = release / SIGNATURES
    manifest = release / "manifest.json"
    if not path.is_file() or not manifest.is_file():
        raise ConfigError(
            f"dedup.against: {release} is not a release with signatures "
            f"(expected {SIGNATURES} and manifest.json; build it with this version of corpus)"
        )
    table = pq.read_table(path)
    stored = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    wanted = json.loads(json.dumps(parameters(section), sort_keys=True))
    if stored != wanted:
        raise ConfigError(
            f"dedup.against: {path} was made with {stored}, this config needs {wanted}; "
            "use the same num_perm, seed and ngram as the earlier release"
        )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    version = str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    matrix = frame["minhash"].explode().to_numpy().astype(np.uint32).reshape(frame.height, -1)
    return Earlier(version=version, rows=frame.drop("minhash"), signatures=matrix)
