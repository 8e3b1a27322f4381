"""Every outlet in the real scrapes resolves to one canonical registry outlet with its country.

The Arabic newspapers name no outlet; their file names carry the country (MA, DZ, TM for
Tunisia, LY, MR), read through the source's `filename_fields`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from corpus.config import LoadedConfig, load_config
from corpus.metadata import normalise_metadata
from corpus.metadata.outlets import alias_table, load_outlets, unknown_outlets
from corpus.schema import conform
from corpus.sources import read_source
from tests.conftest import REAL_CONFIG

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def loaded(shared_data: Path) -> LoadedConfig:
    return load_config(REAL_CONFIG)


@pytest.fixture(scope="module")
def aliases(loaded: LoadedConfig) -> pl.DataFrame:
    return alias_table(load_outlets(loaded.resolve(loaded.config.metadata.outlets)))


def metadata(name: str, loaded: LoadedConfig, aliases: pl.DataFrame) -> pl.DataFrame:
    source = next(s for s in loaded.config.sources if s.name == name)
    return normalise_metadata(conform(read_source(source, loaded.root)), loaded.config.metadata, aliases)


def test_financial_outlet_spellings_resolve(loaded: LoadedConfig, aliases: pl.DataFrame) -> None:
    rows = metadata("fr-financial", loaded, aliases)
    pairs = dict(rows.select("source_raw", "source").unique().iter_rows())
    assert pairs == {
        "Le Matin": "Le Matin",
        "Medias24": "Médias24",
        "Finance News - Economic": "Finances News Hebdo",
        "Finance News - Financial": "Finances News Hebdo",
        "H24Info": "H24Info",
        "FLM": "FLM",
        "Boursenews": "Boursenews",
        "Le Desk": "Le Desk",
    }
    assert unknown_outlets(rows, aliases).is_empty()
    assert set(rows["country"]) == {"MA"}


def test_financial_url_hosts_resolve_to_the_scraped_outlet(
    loaded: LoadedConfig, aliases: pl.DataFrame
) -> None:
    rows = metadata("fr-financial", loaded, aliases)
    by_host = normalise_metadata(
        rows.select("url_raw", "text").pipe(conform), loaded.config.metadata, aliases
    )  # no outlet name: the URL host alone
    assert by_host["source"].to_list() == rows["source"].to_list()


@pytest.mark.parametrize(
    ("name", "outlet", "country"),
    [
        ("mosaiquefm", "Mosaïque FM", "TN"),
        ("hespress-posts", "هسبريس", "MA"),
        ("hespress-comments", "هسبريس", "MA"),
    ],
)
def test_single_outlet_sources_resolve(
    name: str, outlet: str, country: str, loaded: LoadedConfig, aliases: pl.DataFrame
) -> None:
    rows = metadata(name, loaded, aliases)
    assert set(rows["source"]) == {outlet}
    assert set(rows["country"]) == {country}


def test_arabic_newspapers_take_the_country_from_the_file_name(
    loaded: LoadedConfig, aliases: pl.DataFrame
) -> None:
    rows = metadata("ar-newspapers", loaded, aliases)
    prefix = rows["source_file"].str.split("/").list.last().str.slice(0, 2).replace({"TM": "TN"})
    assert rows["country"].to_list() == prefix.to_list()
    assert set(rows["country"]) == {"MA", "DZ", "TN", "LY", "MR"}
    assert rows["source"].null_count() == rows.height  # no outlet is named, none is invented
