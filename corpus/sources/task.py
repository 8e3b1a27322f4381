"""Read tasks: the units a reader works on, planned once by scanning the inputs.

A task is a few small files, one file, or a byte range of a large JSONL file cut at a line end,
so that tasks can be read in parallel and a task's output never depends on how the others were
cut. Scanning a JSONL file counts its lines (to number each range's first line) and tells how
it is encoded (`decode.file_encoding`: UTF-8, or one legacy code page for the whole file).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus.config import LoadedConfig, SourceConfig
from corpus.errors import SourceError
from corpus.sources.decode import UTF8, Utf8Check, best_legacy, byte_counts, reads_as_legacy
from corpus.sources.paths import BLOCK_BYTES, Location, blocks, is_gzip, list_files, relative_name

# Bytes of a file sampled to choose its legacy code page (the choice scores misplaced letters).
LEGACY_SAMPLE = 16 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds of one batch: documents and characters of text."""

    rows: int
    chars: int

    def reached(self, rows: int, chars: int) -> bool:
        return rows >= self.rows or chars >= self.chars


@dataclass(frozen=True)
class FilePart:
    """A file, or the byte range [start, end) of one (cut after a line end), and how to read it."""

    path: Location  # a local file, or a URL's `Remote`
    name: str  # relative to the config folder (lineage)
    start: int = 0
    end: int | None = None  # None: to the end of the file
    first_line: int = 1
    encoding: str = UTF8  # `utf-8` (bad records settled one by one) or the file's legacy code page


@dataclass(frozen=True)
class ReadTask:
    """What one reader call reads: parts of files of one source, in order."""

    index: int
    source: int  # position of the source in the config
    parts: tuple[FilePart, ...]


def batch_bounds(sizes: list[int], limits: Limits) -> list[tuple[int, int]]:
    """(start, end) of consecutive batches of rows with these text sizes: a batch closes when it
    reaches `limits.rows` rows or `limits.chars` characters."""
    bounds, start, chars = [], 0, 0
    for row, size in enumerate(sizes):
        chars += size
        if limits.reached(row + 1 - start, chars):
            bounds.append((start, row + 1))
            start, chars = row + 1, 0
    if start < len(sizes):
        bounds.append((start, len(sizes)))
    return bounds


def source_error(part: FilePart, line: int, problem: str) -> SourceError:
    return SourceError(f"{part.name}:{line}: {problem}")


def plan_reads(loaded: LoadedConfig, limits: Limits, input_bytes: int) -> list[ReadTask]:
    """Every source's files cut into tasks of about `input_bytes` of input each, in config order."""
    tasks: list[ReadTask] = []
    for number, source in enumerate(loaded.config.sources):
        files = list_files(source, loaded.root)
        for parts in _grouped(source, files, loaded.root, limits, input_bytes):
            tasks.append(ReadTask(len(tasks), number, tuple(parts)))
    return tasks


def _grouped(
    source: SourceConfig, files: list[Location], root: Path, limits: Limits, input_bytes: int
) -> Iterator[list[FilePart]]:
    """Small files share a task (up to `input_bytes` or `limits.rows` files); a large JSONL file
    is cut into ranges; any other large file is a task of its own."""
    group: list[FilePart] = []
    size = 0
    for path in files:
        name = relative_name(path, root)
        if source.kind == "jsonl":
            ranges = list(scan_lines(path, name, source, input_bytes))
        else:
            ranges = [FilePart(path, name)]
        bytes_of = path.stat().st_size
        if len(ranges) > 1 or bytes_of >= input_bytes:
            if group:
                yield group
                group, size = [], 0
            yield from ([part] for part in ranges)
            continue
        group.append(ranges[0])
        size += bytes_of
        if size >= input_bytes or len(group) >= limits.rows:
            yield group
            group, size = [], 0
    if group:
        yield group


def scan_lines(path: Location, name: str, source: SourceConfig, range_bytes: int) -> Iterator[FilePart]:
    """Byte ranges of a JSONL file, each ending after a line end, with their first line number;
    the whole file when it is gzip (not seekable). Also decides the file's encoding: UTF-8 checked
    in the same pass, the legacy code pages only when that check fails."""
    if is_gzip(path):
        yield FilePart(path, name, encoding=_scan_encoding(path, source.encodings))
        return
    ranges: list[tuple[int, int | None, int]] = []
    check = Utf8Check()
    start, line, breaks, offset, after_cr = 0, 1, 0, 0, False
    for block in blocks(path):
        check.feed(block)
        cut = 0
        while (earliest := start + range_bytes - 1 - offset) < len(block):
            position = block.find(b"\n", max(earliest, cut))
            if position < 0:
                break
            breaks += _breaks(block[cut : position + 1], after_cr)
            after_cr, end = False, offset + position + 1
            ranges.append((start, end, line))
            line, breaks, start, cut = line + breaks, 0, end, position + 1
        rest = block[cut:]
        breaks += _breaks(rest, after_cr)
        after_cr = rest.endswith(b"\r") if rest else after_cr
        offset += len(block)
    if offset > start or start == 0:
        ranges.append((start, None, line))
    encoding = UTF8 if check.done() else _scan_encoding(path, source.encodings)
    for begin, end_, first in ranges:
        yield FilePart(path, name, begin, end_, first, encoding)


def _breaks(data: bytes, after_cr: bool) -> int:
    """Line ends in `data` as the reader counts them (CRLF once, lone CR and LF once each); a LF
    right after a CR that ended the previous block is not a new one."""
    count = data.count(b"\n")
    if b"\r" in data:  # not in most files: one count instead of three, a third of the time
        count += data.count(b"\r") - data.count(b"\r\n")
    return count - 1 if after_cr and data.startswith(b"\n") else count


def _scan_encoding(path: Location, candidates: list[str]) -> str:
    """`utf-8`, unless the file as a whole reads as one legacy code page (see `decode`)."""
    decoder = codecs.getincrementaldecoder(UTF8)("surrogateescape")
    invalid = valid = 0
    sample = b""
    for block in blocks(path):
        if len(sample) < LEGACY_SAMPLE:
            sample += block[: LEGACY_SAMPLE - len(sample)]
        bad, good = byte_counts(decoder.decode(block))
        invalid, valid = invalid + bad, valid + good
    if not reads_as_legacy(invalid, valid):
        return UTF8
    legacy = best_legacy(sample, candidates)
    return legacy.encoding if legacy is not None else UTF8


def part_blocks(part: FilePart) -> Iterator[bytes]:
    """The bytes of a part in blocks: a whole file (decompressed when gzip), or a byte range."""
    if part.start == 0 and part.end is None:
        yield from blocks(part.path)
        return
    try:
        with part.path.open("rb") as handle:
            handle.seek(part.start)
            left = -1 if part.end is None else part.end - part.start
            while left != 0 and (block := handle.read(BLOCK_BYTES if left < 0 else min(left, BLOCK_BYTES))):
                left = left if left < 0 else left - len(block)
                yield block
    except OSError as exc:
        raise SourceError(f"{part.name}: cannot be read ({exc.strerror or exc})") from exc
