"""Normalise metadata: canonical outlet, country, UTC dates, canonical URL, and the stable id."""

from __future__ import annotations

import hashlib

import polars as pl

from corpus.config import MetadataConfig
from corpus.metadata.dates import parse_dates
from corpus.metadata.outlets import outlet_key
from corpus.metadata.urls import canonical_urls


def normalise_metadata(frame: pl.DataFrame, section: MetadataConfig, aliases: pl.DataFrame) -> pl.DataFrame:
    """Resolve outlets through the alias table, parse dates in the outlet's zone, derive ids.

    A date that cannot be trusted is null with its reason in `published_issue`, never a guess.
    """
    by_name = aliases.rename({"source": "_by_name", "country": "_country_n", "timezone": "_zone_n"})
    by_host = aliases.rename({"source": "_by_host", "country": "_country_h", "timezone": "_zone_h"})
    out = frame.with_columns(url=canonical_urls(frame["url_raw"]))
    host = pl.col("url").str.extract(r"^https?://([^/:]+)")
    out = (
        out.with_columns(_name_key=outlet_key(pl.col("source_raw")), _host_key=outlet_key(host))
        .join(by_name, left_on="_name_key", right_on="key", how="left", maintain_order="left")
        .join(by_host, left_on="_host_key", right_on="key", how="left", maintain_order="left")
    )
    zones = sorted({section.default_timezone, *aliases["timezone"].drop_nulls().to_list()})
    zone = out.select(pl.coalesce("_zone_n", "_zone_h", pl.lit(section.default_timezone)))
    published = parse_dates(out["published_raw"], zone.to_series(), zones)
    scraped = parse_dates(out["scraped_raw"], pl.Series([section.default_timezone] * out.height), zones)
    out = out.with_columns(
        source=pl.coalesce("_by_name", "_by_host", pl.col("source_raw").str.strip_chars()),
        country=pl.coalesce("_country_n", "_country_h", pl.col("country").str.to_uppercase()),
        published_at=published["published_at"],
        published_date=published["published_date"],
        _matched=published["matched"],
        scraped_at=pl.coalesce(
            scraped["published_at"],
            scraped["published_date"].cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        ),
    )
    out = out.with_columns(published_issue=date_issues(section)).with_columns(
        published_at=pl.when(pl.col("published_issue").is_null()).then("published_at"),
        published_date=pl.when(pl.col("published_issue").is_null()).then("published_date"),
    )
    out = out.with_columns(id=document_ids(out))
    return out.drop([c for c in out.columns if c.startswith("_")])


def date_issues(section: MetadataConfig) -> pl.Expr:
    """Why a row has no publication date: `missing`, `unparsed`, `invalid` (no such day),
    `too_old` (before `earliest_year`) or `future` (after the crawl day, or after `latest_year`);
    null when it has one."""
    raw = pl.col("published_raw").str.strip_chars()
    crawl_day = pl.col("scraped_at").dt.date() + pl.duration(days=section.future_tolerance_days)
    return (
        pl.when(raw.is_null() | (raw == ""))
        .then(pl.lit("missing"))
        .when(~pl.col("_matched"))
        .then(pl.lit("unparsed"))
        .when(pl.col("published_date").is_null())
        .then(pl.lit("invalid"))
        .when(pl.col("published_date").dt.year() < section.earliest_year)
        .then(pl.lit("too_old"))
        .when(
            (pl.col("published_date") > crawl_day)
            | (pl.col("published_date").dt.year() > section.latest_year)
        )
        .then(pl.lit("future"))
    )


def document_ids(frame: pl.DataFrame) -> pl.Series:
    """Stable ids: from the canonical URL (and record key) when there is one, else from the text."""
    identity = (
        pl.when(pl.col("url").is_not_null())
        .then(pl.format("url\x1f{}\x1f{}", pl.col("url"), pl.col("key").fill_null("")))
        .otherwise(pl.format("text\x1f{}\x1f{}", pl.col("title").fill_null(""), pl.col("text").fill_null("")))
    )
    values = frame.select(identity.alias("identity"))["identity"]
    return values.map_elements(_digest, return_dtype=pl.String)


def _digest(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:20]
