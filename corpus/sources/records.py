"""Readers for JSON sources: JSONL (one record a line, read by byte range) and whole JSON files.

Records are parsed with the standard library, one line at a time, so a bad line is a bad record
alone: invalid JSON, a value that is not an object, nesting too deep for the parser, an escaped
lone surrogate (not a character), or bytes that cannot be trusted (see `decode.settle`). Only the
mapped fields are kept, column by column, never a list of whole records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import polars as pl

from corpus.config import SourceConfig
from corpus.errors import SourceError
from corpus.sources.decode import (
    UTF8,
    Decoded,
    file_encoding,
    legacy_lines,
    line_ends,
    printable,
    settle,
    strip_bom,
)
from corpus.sources.mapping import BadRecord, RecordColumns
from corpus.sources.paths import read_bytes
from corpus.sources.task import FilePart, Limits, ReadTask, part_blocks, source_error

# A JSON escape of a lone UTF-16 surrogate ("\ud800"): valid JSON, but not a character.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")
_DECODER = json.JSONDecoder()
# The encoding of a line decoded with `surrogateescape` from a block that is not all valid UTF-8.
UNSETTLED = "utf-8, unsettled"


def parse_object(line: str) -> dict[str, Any] | BadRecord:
    """One JSONL line as an object, or why it is not one."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadRecord(f"not valid JSON ({exc.msg} at column {exc.colno})", _printable(line))
    except RecursionError:
        return BadRecord("not valid JSON (nested too deeply)", _printable(line))
    if not isinstance(record, dict):
        return BadRecord(f"expected a JSON object, got {type(record).__name__}", _printable(line))
    escaped = "\\ud" in line or "\\uD" in line  # what the pattern needs, found faster
    if escaped and _SURROGATE_ESCAPE.search(line) and _has_surrogate(record):
        return BadRecord("a string holds an escaped lone surrogate (not a character)", _printable(line))
    return record


def _has_surrogate(value: Any) -> bool:
    """Whether any string (key or value) of a parsed record holds a lone surrogate. A loop, not
    recursion: a record nested as deep as the parser allows must not exhaust the stack here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _printable(text: str) -> str:
    return printable(text) if _SURROGATE.search(text) else text


def read_jsonl(
    task: ReadTask, source: SourceConfig, limits: Limits, seen: set[str]
) -> Iterator[pl.DataFrame]:
    """The records of a task's JSONL files or ranges, `limits` at a time."""
    rows = RecordColumns(source)
    for part in task.parts:
        for number, line, encoding in part_lines(part):
            decoded = settle(line, source.encodings) if encoding == UNSETTLED else Decoded(line, encoding)
            record = parse_object(decoded.text) if not decoded.problem else BadRecord(decoded.problem, line)
            if isinstance(record, BadRecord):
                if source.on_bad_record == "error":
                    raise source_error(part, number, record.problem)
                record = BadRecord(record.problem, _printable(record.raw))
            rows.add(part.name, number, record, decoded.encoding)
            if limits.reached(len(rows), rows.chars):
                yield rows_frame(rows, part.name, seen)
                rows = RecordColumns(source)
        if len(rows):
            yield rows_frame(rows, part.name, seen)
            rows = RecordColumns(source)


def part_lines(part: FilePart) -> Iterator[tuple[int, str, str]]:
    """Numbered non-blank lines of a part and their encodings, decoded block by block (UTF-8: a
    block that is not all valid UTF-8 with `surrogateescape`, its lines `UNSETTLED` for the caller
    to settle one by one; a legacy file's lines one by one, see `decode.legacy_lines`)."""
    number, carry, first = part.first_line, b"", part.start == 0
    for block in part_blocks(part):
        if first:
            block, first = strip_bom(block), False
        data = carry + block
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        lines, encodings = _decoded_lines(data[:cut], part.encoding)
        for line, encoding in zip(lines[:-1], encodings[:-1], strict=True):
            if line.strip():
                yield number, line, encoding
            number += 1
    lines, encodings = _decoded_lines(carry, part.encoding) if carry else ([], [])
    for line, encoding in zip(lines, encodings, strict=True):
        if line.strip():
            yield number, line, encoding
        number += 1


def _decoded_lines(data: bytes, encoding: str) -> tuple[list[str], list[str]]:
    if encoding != UTF8:
        return legacy_lines(data, encoding)
    try:  # a valid block (the usual case) needs no search for bad bytes line by line
        text, found = data.decode(UTF8), UTF8
    except UnicodeDecodeError:
        text, found = data.decode(UTF8, "surrogateescape"), UNSETTLED
    lines = line_ends(text).split("\n")
    return lines, [found] * len(lines)


def rows_frame(rows: RecordColumns, where: str, seen: set[str]) -> pl.DataFrame:
    """The batch so far; its input keys join `seen` (each mapping must be used somewhere)."""
    seen.update(rows.keys)
    return rows.frame()


def read_json(task: ReadTask, source: SourceConfig, limits: Limits, seen: set[str]) -> Iterator[pl.DataFrame]:
    """The records of a whole JSON file: one object, a list of objects, or (with `records`) the
    items of a list field of each object, which keep their parent's fields."""
    for part in task.parts:
        yield from _read_json_file(part, source, limits, seen)


def _read_json_file(
    part: FilePart, source: SourceConfig, limits: Limits, seen: set[str]
) -> Iterator[pl.DataFrame]:
    data = strip_bom(read_bytes(part.path))
    escaped = data.decode(UTF8, "surrogateescape")
    encoding = file_encoding(escaped, data, source.encodings)
    if encoding == UTF8:
        text = line_ends(escaped)
    else:
        lines, encodings = legacy_lines(data, encoding)
        text = "\n".join(lines)
        encoding = encoding if UTF8 not in encodings else f"{encoding}+{UTF8}"  # see `legacy_lines`
    del data, escaped
    rows, number = RecordColumns(source), 0
    for item in _items(text, part.name, source):
        for record in _records(item, source):
            number += 1
            found, used = _settle_record(record, source.encodings, encoding)
            if isinstance(found, BadRecord) and source.on_bad_record == "error":
                raise SourceError(f"{part.name}: record {number}: {found.problem}")
            rows.add(part.name, number, found, used)
            if limits.reached(len(rows), rows.chars):
                yield rows_frame(rows, part.name, seen)
                rows = RecordColumns(source)
    if len(rows):
        yield rows_frame(rows, part.name, seen)


def _settle_record(
    record: dict[str, Any] | BadRecord, candidates: list[str], encoding: str
) -> tuple[dict[str, Any] | BadRecord, str]:
    """A record of a UTF-8 file whose strings hold bytes that are not UTF-8: each string settled
    alone (see `decode.settle`); one that cannot be trusted makes the record a bad record."""
    if isinstance(record, BadRecord) or not _has_surrogate(record):
        return record, encoding
    used: set[str] = set()

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            found = settle(value, candidates)
            if found.problem:
                raise ValueError(found.problem)
            used.add(found.encoding)
            return found.text
        if isinstance(value, dict):
            return {fix(k): fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    try:
        fixed = fix(record)
    except RecursionError:
        return BadRecord("nested too deeply to check its strings", _dump(record)), encoding
    except ValueError as exc:
        return BadRecord(str(exc), _dump(record)), encoding
    if _has_surrogate(fixed):
        problem = "a string holds an escaped lone surrogate (not a character)"
        return BadRecord(problem, _dump(record)), encoding
    legacy = sorted(used - {UTF8})
    return fixed, legacy[0] if legacy else encoding


def _dump(record: Any) -> str:
    """A record as JSON text for `removed/` (empty when it is nested too deeply to write)."""
    try:
        return _printable(json.dumps(record, ensure_ascii=False))
    except RecursionError:
        return ""


def _items(text: str, name: str, source: SourceConfig) -> Iterator[Any]:
    """The top-level values of a JSON file. With `on_bad_record: skip`, values after the first
    one (concatenated dumps) are read too, and an unparseable rest is one bad record."""
    position, end = _skip_blanks(text, 0), len(text)
    while position < end:
        try:
            value, position = _DECODER.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError) as exc:
            problem = _json_problem(exc, text, position)
            if source.on_bad_record == "error":
                raise SourceError(f"{name}:{problem}") from exc
            yield BadRecord(f"not valid JSON from line {problem}", _printable(text[position:]))
            return
        yield value
        position = _skip_blanks(text, position)
        if position < end and source.on_bad_record == "error":
            line = text.count("\n", 0, position) + 1
            raise SourceError(f"{name}:{line}: not valid JSON (Extra data after the first value)")


def _json_problem(exc: Exception, text: str, position: int) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
    return f"{text.count(chr(10), 0, position) + 1}: not valid JSON (nested too deeply)"


def _skip_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\n\r":
        position += 1
    return position


def _records(item: Any, source: SourceConfig) -> Iterator[dict[str, Any] | BadRecord]:
    if isinstance(item, BadRecord):
        yield item
        return
    for parent in item if isinstance(item, list) else [item]:
        if not isinstance(parent, dict):
            yield BadRecord(
                f"expected JSON objects, got {type(parent).__name__}", _printable(json.dumps(parent))
            )
            continue
        if source.records is None:
            yield parent
            continue
        children = parent.get(source.records)
        if not isinstance(children, list):
            yield BadRecord(f"no list field {source.records!r} (records:)", _printable(json.dumps(parent)))
            continue
        inherited = {k: v for k, v in parent.items() if k != source.records}
        for child in children:
            yield {**inherited, **(child if isinstance(child, dict) else {"value": child})}
