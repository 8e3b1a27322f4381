"""Which files a source reads (a file, a folder, a glob; relative or absolute) and how to open them.

Gzip-compressed files are read transparently, whatever their name: the first two bytes tell.
"""

from __future__ import annotations

import glob
import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from corpus.config import SourceConfig, absolute
from corpus.errors import SourceError

SUFFIXES = {
    "pages": ".txt",
    "text": ".txt",
    "jsonl": ".jsonl",
    "json": ".json",
    "csv": ".csv",
    "parquet": ".parquet",
}
GZIP_MAGIC = b"\x1f\x8b"
# Bytes read at a time from a file (a few MB: large enough for speed, small enough for memory).
BLOCK_BYTES = 8 << 20


def relative_name(path: Path, root: Path) -> str:
    """The file's path relative to the config folder, so lineage holds no machine paths."""
    return Path(os.path.relpath(path, root)).as_posix()


def _is_pattern(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def list_files(source: SourceConfig, root: Path) -> list[Path]:
    """The files of a source (a file, a folder searched recursively, or a glob), in sorted order."""
    pattern = source.path
    if _is_pattern(pattern):
        matches = glob.glob(os.path.join(root, os.path.expanduser(pattern)), recursive=True)
        files = [Path(p) for p in matches if os.path.isfile(p)]
    else:
        target = absolute(root / os.path.expanduser(pattern))
        if target.is_dir():
            suffix = SUFFIXES[source.kind]
            files = [p for p in target.rglob("*") if p.is_file() and _has_suffix(p.name, suffix)]
        elif target.is_file():
            files = [target]
        else:
            raise SourceError(
                f"sources[{source.name!r}].path: {pattern} does not exist (relative to {root.name}/)"
            )
    if not files:
        raise SourceError(f"sources[{source.name!r}].path: {pattern} matches no file")
    return sorted({absolute(p) for p in files}, key=lambda p: relative_name(p, root))


def _has_suffix(name: str, suffix: str) -> bool:
    return name.endswith(suffix) or name.endswith(suffix + ".gz")


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip; an unreadable file is a `SourceError`."""
    try:
        if is_gzip(path):
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return path.open("rb")
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def read_bytes(path: Path) -> bytes:
    """All bytes of a file, decompressed when it is gzip; damage is a `SourceError` naming it."""
    try:
        with open_bytes(path) as handle:
            return handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{path}: damaged gzip data ({exc})") from exc


def blocks(path: Path) -> Iterator[bytes]:
    """The file's (decompressed) bytes, `BLOCK_BYTES` at a time."""
    try:
        with open_bytes(path) as handle:
            while block := handle.read(BLOCK_BYTES):
                yield block
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{path}: damaged gzip data ({exc})") from exc
