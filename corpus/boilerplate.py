"""Strip site furniture: parse aggregator pages, then remove known furniture patterns.

Runs before dedup: two different short articles wrapped in the same 4,000-character ticker
must not look alike. Aggregator pages (`layout = "page"`) are split into title, byline (outlet
and date) and body; the ticker, the report-image modal and the footer are dropped. A page that
does not match the layout is kept whole with `layout = "unknown"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from corpus.config import BoilerplateConfig
from corpus.errors import ConfigError

DIGIT = "[0-9٠-٩]"
PAGE = (
    r"(?s)\A(?P<head>.*?)\n(?P<title>[^\n]*\S[^\n]*)\n[ \t]*(?:Publié dans|نشر في)[ \t]+"
    r"(?P<outlet>[^\n]+?)[ \t]+(?:le|يوم)[ \t]+"
    rf"(?P<date>{DIGIT}{{1,2}}[ \t]*-[ \t]*{DIGIT}{{1,2}}[ \t]*-[ \t]*{DIGIT}{{4}})[ \t]*(?:\n|\z)"
    r"(?P<body>.*?)\s*(?:(?:Cliquez ici pour lire l['’]article depuis sa source\.?"
    r"|اضغط هنا لقراءة الخبر من مصدره[^\n]*)\s*)?\z"
)


@dataclass(frozen=True)
class Furniture:
    """A named regex of known site furniture, removed wherever it matches."""

    name: str
    regex: str


def load_furniture(path: Path | None) -> list[Furniture]:
    """Read the pattern list (`patterns: [{name, regex}]`); a bad regex is a config error."""
    if path is None:
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"boilerplate.patterns: cannot read {path.name}: {exc}") from exc
    patterns = [Furniture(str(p["name"]), str(p["regex"])) for p in raw.get("patterns", [])]
    for pattern in patterns:
        try:
            pl.select(pl.lit("").str.contains(pattern.regex))
        except pl.exceptions.ComputeError as exc:
            raise ConfigError(f"boilerplate.patterns: {pattern.name}: invalid regex ({exc})") from exc
    return patterns


def parse_pages(frame: pl.DataFrame) -> pl.DataFrame:
    """Split aggregator pages into title, outlet, date and body; unmatched pages become `unknown`."""
    parts = pl.col("text").str.extract_groups(PAGE)
    is_page = pl.col("layout") == "page"
    matched = is_page & parts.struct.field("body").is_not_null()
    return frame.with_columns(
        title=pl.when(matched).then(parts.struct.field("title").str.strip_chars()).otherwise("title"),
        source_raw=pl.when(matched)
        .then(parts.struct.field("outlet").str.strip_chars())
        .otherwise("source_raw"),
        published_raw=pl.when(matched).then(parts.struct.field("date")).otherwise("published_raw"),
        text=pl.when(matched).then(parts.struct.field("body")).otherwise("text"),
        layout=pl.when(is_page & ~matched).then(pl.lit("unknown")).otherwise("layout"),
    )


def strip_furniture(frame: pl.DataFrame, patterns: list[Furniture]) -> pl.DataFrame:
    """Remove every pattern match, tidy the whitespace left behind, list the patterns found."""
    found = [pl.when(pl.col("text").str.contains(p.regex)).then(pl.lit(p.name)) for p in patterns]
    text = pl.col("text")
    for pattern in patterns:
        text = text.str.replace_all(pattern.regex, "")
    text = text.str.replace_all(r"[ \t]+\n", "\n").str.replace_all(r"\n{3,}", "\n\n")
    return frame.with_columns(
        text=text.str.replace_all(r"[ \t]{2,}", " ").str.strip_chars(),
        furniture=pl.concat_list(found).list.drop_nulls() if found else pl.lit([], pl.List(pl.String)),
    )


def strip_boilerplate(
    frame: pl.DataFrame, section: BoilerplateConfig, patterns: list[Furniture]
) -> pl.DataFrame:
    """Parse pages, remove furniture, and mark documents left (nearly) empty as `empty`."""
    out = strip_furniture(parse_pages(frame), patterns)
    empty = out["text"].fill_null("").str.len_chars() < max(section.min_chars, 1)
    return out.with_columns(
        removed_reason=pl.when(empty).then(pl.lit("empty")).otherwise(pl.col("removed_reason"))
    )
