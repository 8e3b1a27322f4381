"""Known furniture: named regexes from `configs/boilerplate.yaml`, removed wherever they match."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from corpus.errors import ConfigError


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


def strip_furniture(frame: pl.DataFrame, patterns: list[Furniture]) -> pl.DataFrame:
    """Remove every pattern match; `furniture` gains the pattern's name once per match."""
    found = [
        pl.lit(p.name).repeat_by(pl.col("text").str.count_matches(p.regex).fill_null(0)) for p in patterns
    ]
    text = pl.col("text")
    for pattern in patterns:
        text = text.str.replace_all(pattern.regex, "")
    return frame.with_columns(
        text=tidy_whitespace(text),
        furniture=pl.concat_list("furniture", *found) if found else pl.col("furniture"),
    )


def tidy_whitespace(text: pl.Expr) -> pl.Expr:
    """Collapse the blanks a removal leaves behind: trailing spaces, runs of blank lines."""
    text = text.str.replace_all(r"[ \t]+\n", "\n").str.replace_all(r"\n{3,}", "\n\n")
    return text.str.replace_all(r"[ \t]{2,}", " ").str.strip_chars()
