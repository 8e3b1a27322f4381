"""Write, compare, verify and publish releases.

A release is an immutable folder: Parquet shards per language and split, `removed/`, plots,
the dataset card and `manifest.json` (sha256 of every other file). `shards` writes the data,
`folder` stages and places it, `diff` compares two versions, `verify` re-hashes a release and
`publish` sends one to the hub.
"""

from corpus.release.folder import (
    file_table,
    publish_folder,
    sha256_file,
    staging_folder,
    write_json,
)
from corpus.release.shards import SPLITS, Split, arrow_table, assign_splits, parquet_options

__all__ = [
    "SPLITS",
    "Split",
    "arrow_table",
    "assign_splits",
    "file_table",
    "parquet_options",
    "publish_folder",
    "sha256_file",
    "staging_folder",
    "write_json",
]
