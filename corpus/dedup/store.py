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
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.config import DedupConfig
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


class EarlierRelease:
    """An earlier release to dedup against, read on first use: only the decisions need it (never
    the workers), and its signatures may be large."""

    def __init__(self, folder: Path, section: DedupConfig) -> None:
        self.folder, self.section = folder, section
        self._loaded: Earlier | None = None

    def get(self) -> Earlier:
        if self._loaded is None:
            self._loaded = load_earlier(self.folder, self.section)
        return self._loaded

    def __getstate__(self) -> dict[str, object]:
        return {"folder": self.folder, "section": self.section, "_loaded": None}


def parameters(section: DedupConfig) -> dict[str, object]:
    """What makes two signatures comparable."""
    return {
        "num_perm": section.num_perm,
        "seed": section.seed,
        "ngram": section.ngram,
        "scheme": SCHEME,
        "shingle_hash": "xxh3_64 words, polynomial 0x9E3779B97F4A7C15, folded to 32 bits",
    }


def signature_table(rows: pl.DataFrame, section: DedupConfig) -> pa.Table:
    """The signatures file's columns for released rows carrying `minhash` and `matching_hash`,
    with the parameters that make signatures comparable as Parquet metadata."""
    table = rows.select(
        "id",
        "source",
        "published_at",
        "published_date",
        text_chars=pl.col("text").fill_null("").str.len_chars().cast(pl.Int64),
        url="url",
        key="key",
        language="language",
        minhash="minhash",
        matching_hash="matching_hash",
    ).to_arrow()
    metadata = {METADATA_KEY: json.dumps(parameters(section), sort_keys=True).encode()}
    return table.replace_schema_metadata(metadata)


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
