"""Resolve scraped outlet names and URL hosts to canonical outlets from the registry YAML."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from corpus.config import TimeZone
from corpus.errors import ConfigError


class Outlet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    aliases: list[str] = []
    domains: list[str] = []
    country: str | None = None
    languages: list[str] = []
    timezone: TimeZone | None = None


def load_outlets(path: Path) -> list[Outlet]:
    """Read the registry; a malformed entry is a config error naming its position."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"metadata.outlets: cannot read {path.name}: {exc}") from exc
    outlets = []
    for number, entry in enumerate(raw.get("outlets", [])):
        try:
            outlets.append(Outlet.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"{path.name}: outlets[{number}].{where}: {message}") from exc
    return outlets


def outlet_key(expr: pl.Expr) -> pl.Expr:
    """Case, accents, apostrophes, spacing and punctuation do not tell outlets apart."""
    return (
        expr.str.to_lowercase()
        .str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}", "")
        .str.replace_all(r"^(?:https?://)?(?:www\.)?", "")
        .str.replace_all(r"[^\p{L}\p{N}]", "")
    )


def alias_table(outlets: list[Outlet]) -> pl.DataFrame:
    """One row per normalised spelling: key -> canonical name, country, time zone."""
    rows = [
        {"key": spelling, "source": o.name, "country": o.country, "timezone": o.timezone}
        for o in outlets
        for spelling in [o.name, *o.aliases, *o.domains]
    ]
    table = pl.DataFrame(
        rows,
        schema={"key": pl.String, "source": pl.String, "country": pl.String, "timezone": pl.String},
    )
    table = table.with_columns(key=outlet_key(pl.col("key")))
    clashes = table.group_by("key").agg(pl.col("source").n_unique().alias("n")).filter(pl.col("n") > 1)
    if not clashes.is_empty():
        raise ConfigError(
            f"metadata.outlets: spellings shared by two outlets: {sorted(clashes['key'].to_list())}"
        )
    return table.unique("key", keep="first", maintain_order=True)


def unknown_outlets(frame: pl.DataFrame, aliases: pl.DataFrame) -> pl.DataFrame:
    """Outlets kept verbatim because the registry does not know them: `source` and `documents`,
    most frequent first. For the build report and the card: each is a registry entry to add."""
    known = aliases["source"].unique()
    return (
        frame.filter(pl.col("source").is_not_null() & ~pl.col("source").is_in(known.implode()))
        .group_by("source")
        .agg(documents=pl.len())
        .sort(["documents", "source"], descending=[True, False])
    )
