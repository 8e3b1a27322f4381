"""Which files a source reads (a file, a folder, a glob; relative, absolute or a URL) and how to
open them.

Gzip-compressed files are read transparently, whatever their name: the first two bytes tell. A
path with a protocol (`s3://bucket/scrapes/*.jsonl`, `gs://`, `abfs://`, `file://`) is listed and
read through fsspec, as `datasets` and polars read such URLs: the protocol's package (s3fs, gcsfs,
adlfs) and its credentials come from the environment of every process that reads, never from the
config. Lineage then names the file by its URL.
"""

from __future__ import annotations

import glob
import gzip
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

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
# A URL's scheme, as fsspec reads it ("s3://", "gs://", "file://"; not "c:/" on Windows).
PROTOCOL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+://")


class Size(NamedTuple):
    st_size: int


@dataclass(frozen=True)
class Remote:
    """A file behind an fsspec URL, with what the readers use of a `Path` (`open`, `stat`,
    `name`). It holds only the URL, so read tasks pickle it to other processes and nodes."""

    url: str

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def open(self, mode: str = "rb") -> Any:
        system, path = filesystem(self.url)
        return system.open(path, mode)

    def stat(self) -> Size:
        system, path = filesystem(self.url)
        return Size(int(system.size(path)))

    def __str__(self) -> str:
        return self.url


Location = Path | Remote


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of a URL and the path within it; a protocol fsspec does not know,
    or whose package is not installed, is a `SourceError` saying so."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise SourceError(f"{url}: reading this protocol needs a package that is missing ({exc})") from exc
    except ValueError as exc:
        raise SourceError(f"{url}: fsspec cannot read this protocol ({exc})") from exc


def relative_name(path: Location, root: Path) -> str:
    """The file's path relative to the config folder (its URL for a remote file), so lineage holds
    no machine paths."""
    if isinstance(path, Remote):
        return path.url
    return Path(os.path.relpath(path, root)).as_posix()


def _is_pattern(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def list_files(source: SourceConfig, root: Path) -> list[Location]:
    """The files of a source (a file, a folder searched recursively, or a glob), in sorted order."""
    pattern = source.path
    if PROTOCOL.match(pattern):
        return _remote_files(source)
    files: list[Path]
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


def _remote_files(source: SourceConfig) -> list[Location]:
    """`list_files` for a URL: one listing call (a glob, or a recursive find under a folder)."""
    system, path = filesystem(source.path)
    try:
        if _is_pattern(path):
            found = system.glob(path, detail=True)
        elif system.isdir(path):
            suffix = SUFFIXES[source.kind]
            found = {k: v for k, v in system.find(path, detail=True).items() if _has_suffix(k, suffix)}
        elif system.isfile(path):
            found = {path: {"type": "file"}}
        else:
            raise SourceError(f"sources[{source.name!r}].path: {source.path} does not exist")
    except OSError as exc:
        raise SourceError(f"sources[{source.name!r}].path: {source.path} cannot be listed ({exc})") from exc
    files = sorted(system.unstrip_protocol(k) for k, v in found.items() if v.get("type") == "file")
    if not files:
        raise SourceError(f"sources[{source.name!r}].path: {source.path} matches no file")
    return [Remote(url) for url in files]


def _has_suffix(name: str, suffix: str) -> bool:
    return name.endswith(suffix) or name.endswith(suffix + ".gz")


def is_gzip(path: Location) -> bool:
    with path.open("rb") as handle:
        return bool(handle.read(2) == GZIP_MAGIC)


class _Gunzipped(gzip.GzipFile):
    """A remote file's gzip stream that closes the remote file with itself."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__(fileobj=source, mode="rb")
        self.source = source

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.source.close()


def open_bytes(path: Location) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip; an unreadable file is a `SourceError`."""
    try:
        if is_gzip(path):
            if isinstance(path, Remote):
                return _Gunzipped(path.open("rb"))  # type: ignore[return-value]
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return path.open("rb")  # type: ignore[no-any-return]
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def read_bytes(path: Location) -> bytes:
    """All bytes of a file, decompressed when it is gzip; damage is a `SourceError` naming it."""
    try:
        with open_bytes(path) as handle:
            return handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{path}: damaged gzip data ({exc})") from exc


def blocks(path: Location) -> Iterator[bytes]:
    """The file's (decompressed) bytes, `BLOCK_BYTES` at a time."""
    try:
        with open_bytes(path) as handle:
            while block := handle.read(BLOCK_BYTES):
                yield block
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{path}: damaged gzip data ({exc})") from exc
