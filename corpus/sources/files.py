"""Readers for one-document-per-file sources: aggregator pages and plain article files.

Pages are kept whole here (`layout = "page"`); the boilerplate step parses them, after repair,
so that a damaged byline is mended before it is read.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from corpus.config import SourceConfig
from corpus.schema import RAW
from corpus.sources.decode import decode


def read_pages(files: list[Path], source: SourceConfig, root: Path) -> pl.DataFrame:
    """One row per aggregator page; the whole page is the text until boilerplate parses it."""
    rows = []
    for path in files:
        text, encoding = decode(path.read_bytes(), source.encodings, str(path))
        rows.append({"text": text, "layout": "page", "encoding": encoding, **_lineage(path, root)})
    return pl.DataFrame(rows, schema=RAW)


def read_articles(files: list[Path], source: SourceConfig, root: Path) -> pl.DataFrame:
    """One row per article file: the first non-empty line is the title, the rest the body.

    A file with a single line (some papers keep a whole article on one line) has no title.
    """
    rows = []
    for path in files:
        text, encoding = decode(path.read_bytes(), source.encodings, str(path))
        lines = text.replace("\x00", "").strip().split("\n", 1)
        title = lines[0].strip() if len(lines) > 1 else None
        body = lines[-1].strip()
        rows.append(
            {
                "title": title,
                "text": body,
                "layout": "article",
                "encoding": encoding,
                **_lineage(path, root),
            }
        )
    return pl.DataFrame(rows, schema=RAW)


def _lineage(path: Path, root: Path) -> dict[str, object]:
    return {"source_file": relative_name(path, root), "source_line": 1}


def relative_name(path: Path, root: Path) -> str:
    """The file's path relative to the config folder, so lineage holds no machine paths."""
    return Path(os.path.relpath(path, root)).as_posix()
