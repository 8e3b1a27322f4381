"""Readers for one-document-per-file sources: aggregator pages and plain article files.

Pages are kept whole here (`layout = "page"`); the boilerplate step parses them, after repair,
so that a damaged byline is mended before it is read. A file whose bytes cannot be trusted (see
`decode.settle`) is a bad record, or an error naming it.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from corpus.config import SourceConfig
from corpus.errors import SourceError
from corpus.schema import RAW
from corpus.sources.decode import decode_record, printable
from corpus.sources.paths import read_bytes
from corpus.sources.task import Limits, ReadTask


def _trim(text: str) -> str:
    """Whitespace and NUL padding off both ends (files dumped from fixed-size buffers end in NULs);
    NULs inside the text stay, for the binary check to see."""
    while (trimmed := text.strip().strip("\x00")) != text:
        text = trimmed
    return text


def read_documents(
    task: ReadTask, source: SourceConfig, limits: Limits, seen: set[str]
) -> Iterator[pl.DataFrame]:
    """One row per file: a whole page (`pages`), or a title line and a body (`text`)."""
    rows: list[dict[str, object]] = []
    chars = 0
    for part in task.parts:
        decoded = decode_record(read_bytes(part.path), source.encodings)
        row: dict[str, object] = {"source_file": part.name, "source_line": 1, "encoding": decoded.encoding}
        if decoded.problem:
            if source.on_bad_record == "error":
                raise SourceError(
                    f"{part.name}: {decoded.problem}; repair the file or set on_bad_record: skip"
                )
            row |= {"text": printable(decoded.text), "reader_error": decoded.problem}
        elif source.kind == "pages":
            row |= {"text": decoded.text}
        else:
            row |= _article(decoded.text)
        rows.append(row)
        chars += len(decoded.text)
        if limits.reached(len(rows), chars):
            yield pl.DataFrame(rows, schema=RAW)
            rows, chars = [], 0
    if rows:
        yield pl.DataFrame(rows, schema=RAW)


def _article(text: str) -> dict[str, object]:
    """The first non-empty line is the title, the rest the body; a file with a single line (some
    papers keep a whole article on one line) has no title."""
    lines = _trim(text).split("\n", 1)
    title = lines[0].strip() if len(lines) > 1 else None
    return {"title": title, "text": lines[-1].strip()}
