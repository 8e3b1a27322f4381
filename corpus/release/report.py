"""Totals of a build folded batch by batch: what the card, the plots, the manifest and the CLI show.

Nothing here holds rows: each batch of released and removed rows adds its counts (per language,
split, outlet, month, reason, repair, furniture kind, input file...) and is let go.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date

import numpy as np
import polars as pl

# Text lengths are counted on fixed logarithmic bins (10 a decade, up to 10^10 characters), so a
# histogram is a sum of batches; the plot shows the bins up to the longest text.
LENGTH_BINS = [10 ** (i / 10) for i in range(0, 101)]


@dataclass
class Report:
    """Counts of released and removed rows, added batch by batch."""

    released: int = 0
    removed: int = 0
    per_split: Counter[tuple[str, str]] = field(default_factory=Counter)  # (language, split) -> documents
    words: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    outlets: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    sources: Counter[str | None] = field(default_factory=Counter)
    date_issues: Counter[str] = field(default_factory=Counter)
    months: Counter[tuple[date, str]] = field(default_factory=Counter)
    undated: int = 0
    first_date: date | None = None
    last_date: date | None = None
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    longest: int = 0
    repairs: Counter[str] = field(default_factory=Counter)
    pieces: Counter[str] = field(default_factory=Counter)
    furnished: Counter[str] = field(default_factory=Counter)
    records: Counter[tuple[str, str]] = field(default_factory=Counter)  # (source name, file) -> rows
    encodings: Counter[str] = field(default_factory=Counter)

    def add(self, released: pl.DataFrame, removed: pl.DataFrame) -> None:
        """Fold one batch: released rows (with `_split`) and removed rows."""
        self.released += released.height
        self.removed += removed.height
        self._released(released)
        self.reasons.update(_count(removed, "removed_reason"))
        for frame in (released, removed):
            self._lists(frame)
            self.records.update(_count(frame, "source_name", "source_file"))
            self.encodings.update(_count(frame, "encoding"))

    def merge(self, other: Report) -> None:
        """Add another report's counts (batches counted apart, merged in batch order)."""
        self.released += other.released
        self.removed += other.removed
        self.undated += other.undated
        self.longest = max(self.longest, other.longest)
        for name in (f.name for f in fields(self)):
            if isinstance(mine := getattr(self, name), Counter):
                mine.update(getattr(other, name))
        if other.first_date is not None and other.last_date is not None:
            low, high = other.first_date, other.last_date
            self.first_date = low if self.first_date is None else min(self.first_date, low)
            self.last_date = high if self.last_date is None else max(self.last_date, high)
        for language, counts in other.lengths.items():
            self.lengths[language] = self.lengths.get(language, np.zeros_like(counts)) + counts

    def _released(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        self.per_split.update(_count(rows, "language", "_split"))
        words = rows.group_by("language", "_split").agg(pl.col("text").str.count_matches(r"\S+").sum())
        self.words.update({(lang, split): int(n) for lang, split, n in words.iter_rows()})
        self.outlets.update(_count(rows, "source", "country"))
        self.sources.update(_count(rows, "source"))
        self.date_issues.update({k: n for k, n in _count(rows, "published_issue").items() if k is not None})
        dated = rows["published_date"].drop_nulls()
        self.undated += rows.height - dated.len()
        if dated.len():
            low, high = dated.min(), dated.max()
            assert isinstance(low, date) and isinstance(high, date)
            self.first_date = low if self.first_date is None else min(self.first_date, low)
            self.last_date = high if self.last_date is None else max(self.last_date, high)
            months = rows.drop_nulls("published_date").select(
                pl.col("published_date").dt.truncate("1mo"), "language"
            )
            self.months.update(_count(months, "published_date", "language"))
        self._lengths(rows)

    def _lengths(self, rows: pl.DataFrame) -> None:
        chars = rows.select(pl.col("text").str.len_chars().fill_null(0), "language")
        self.longest = max(self.longest, int(chars["text"].max() or 0))  # type: ignore[arg-type]
        for (language,), part in chars.group_by("language"):
            counts, _ = np.histogram(part["text"].to_numpy(), bins=LENGTH_BINS)
            key = str(language)
            self.lengths[key] = self.lengths.get(key, np.zeros(len(LENGTH_BINS) - 1, dtype=np.int64)) + counts

    def _lists(self, frame: pl.DataFrame) -> None:
        """Documents per repair (`<repair>:<column>`); furniture pieces and documents per kind."""
        repairs = frame.select(pl.col("repairs").list.unique().alias("r"))["r"].explode()
        self.repairs.update(_count(repairs.drop_nulls().to_frame(), "r"))
        named = (
            frame.select(pl.int_range(pl.len()).alias("_doc"), "furniture").explode("furniture").drop_nulls()
        )
        self.pieces.update(_count(named, "furniture"))
        self.furnished.update(_count(named.unique(), "furniture"))

    @property
    def rows(self) -> int:
        return self.released + self.removed

    def repair_counts(self) -> list[tuple[str, int]]:
        """Documents per repair and column, most frequent first."""
        return sorted(self.repairs.items(), key=lambda item: (-item[1], item[0]))

    def furniture(self) -> list[tuple[str, int, int]]:
        """(kind, pieces, documents), most pieces first."""
        rows = [(kind, n, self.furnished[kind]) for kind, n in self.pieces.items()]
        return sorted(rows, key=lambda row: (-row[1], row[0]))

    def removed_reasons(self) -> list[tuple[str, int]]:
        return sorted(self.reasons.items())

    def unknown_outlets(self, known: set[str]) -> list[tuple[str, int]]:
        """Released outlets the registry does not know, most documents first."""
        found = [(s, n) for s, n in self.sources.items() if s is not None and s not in known]
        return sorted(found, key=lambda item: (-item[1], item[0]))

    def length_bins(self) -> tuple[list[float], dict[str, np.ndarray]]:
        """The bins up to the longest released text, and each language's counts on them."""
        longest = max(self.longest, 10)
        edges = LENGTH_BINS[: int(10 * math.log10(longest)) + 2]
        return edges, {lang: counts[: len(edges) - 1] for lang, counts in sorted(self.lengths.items())}


def _count(frame: pl.DataFrame, *columns: str) -> dict:  # type: ignore[type-arg]
    """Rows per value of `columns` (a tuple key when several), nulls included."""
    if frame.height == 0:
        return {}
    counted = frame.group_by(*columns).len()
    if len(columns) == 1:
        return {row[0]: int(row[1]) for row in counted.iter_rows()}
    return {tuple(row[:-1]): int(row[-1]) for row in counted.iter_rows()}
