"""Small builders shared by the unit tests: canonical frames, sample paths, release files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from corpus.config import Config, ReleaseConfig, SourceConfig
from corpus.engine.memory import MemoryResult
from corpus.release.shards import Split
from corpus.release.writer import write_release
from corpus.schema import conform

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
MAGHREB = CONFIGS / "maghreb.yaml"
SAMPLE = REPO / "corpus" / "sample"
UTC = dt.timezone.utc

NBSP = "\u00a0"
# The aggregator page layout of corpus/sample/README.md.
MODAL_FR = [
    "Merci d'avoir signalé!",
    "Cette image sera automatiquement bloquée après qu'elle soit signalée par plusieurs personnes.",
]
FOOTER_FR = "Cliquez ici pour lire l'article depuis sa source."
FOOTER_AR = "اضغط هنا لقراءة الخبر من مصدره"


def frame(**columns: list[Any]) -> pl.DataFrame:
    """A canonical frame (every schema column, typed) from a few given columns."""
    return conform(pl.DataFrame(columns, strict=False))


def one(text: str, **columns: Any) -> pl.DataFrame:
    """A 1-row canonical frame."""
    return frame(text=[text], **{k: [v] for k, v in columns.items()})


def page(
    ticker: list[str],
    modal: list[str],
    title: str,
    byline: str,
    body: list[str],
    footer: str,
    final_newline: bool = True,
) -> str:
    """An aggregator page in the seed layout: ticker, 7 blank lines, modal, 3 blank lines,
    title, byline, blank line, body, 2 blank lines, footer."""
    text = (
        (NBSP * 4).join(ticker)
        + NBSP * 4
        + "\n" * 8
        + "\n".join(modal)
        + "\n" * 4
        + title
        + "\n"
        + byline
        + "\n\n"
        + "\n".join(body)
        + "\n\n\n"
        + footer
    )
    return text + "\n" if final_newline else text


def release_files(folder: Path) -> dict[str, bytes]:
    """Every file of a release, by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# French month names, written out independently of the parser under test.
FRENCH_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()  # noqa: SIM905
)


def write_splits(
    rows: pl.DataFrame,
    folder: Path,
    shard_bytes: int,
    row_group_rows: int,
    row_group_bytes: int = 64_000_000,
    validation: float = 0.0,
    test: float = 0.0,
    compression_level: int = 3,
) -> list[Split]:
    """Released rows held in memory written by the release writer with these release settings."""
    release = ReleaseConfig(
        compression_level=compression_level,
        shard_bytes=shard_bytes,
        row_group_rows=row_group_rows,
        row_group_bytes=row_group_bytes,
        validation=validation,
        test=test,
    )
    config = Config(
        name="t", version="0.1.0", sources=[SourceConfig(name="s", kind="jsonl", path="x")], release=release
    )
    lineage = rows.with_columns(
        source_name=pl.lit("s"), source_file=pl.lit("x"), source_line=pl.int_range(pl.len(), dtype=pl.Int64)
    )
    result = MemoryResult(conform(lineage), [], rows.height)
    return write_release(config, result, folder, folder / ".scratch", 0).splits
