"""Every date form in the real scrapes parses, checked against `datetime` with explicit formats.

The oracle is the standard library reading each source's own format (ISO 8601 with offsets and
microseconds, "05 Avril 2018 23:33", "25-11-2024 09:00") and zoneinfo for the outlet's zone.
The Arabic newspapers carry no dates (every one is `missing`); ar-ma-news-corpus and the ftfy
cases carry neither dates nor outlets.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from corpus.config import LoadedConfig, load_config
from corpus.metadata import normalise_metadata
from corpus.metadata.outlets import alias_table, load_outlets
from corpus.schema import conform
from corpus.sources import read_source
from tests.conftest import REAL_CONFIG
from tests.helpers import FRENCH_MONTHS

pytestmark = pytest.mark.realdata
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def loaded(shared_data: Path) -> LoadedConfig:
    return load_config(REAL_CONFIG)


def metadata(name: str, loaded: LoadedConfig) -> pl.DataFrame:
    source = next(s for s in loaded.config.sources if s.name == name)
    aliases = alias_table(load_outlets(loaded.resolve(loaded.config.metadata.outlets)))
    return normalise_metadata(conform(read_source(source, loaded.root)), loaded.config.metadata, aliases)


def expected(stamp: dt.datetime, zone: str) -> tuple[dt.datetime | None, dt.date]:
    """(published_at, published_date) for a parsed stamp: naive stamps are local to `zone`;
    midnight exactly is a date-only value."""
    aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=ZoneInfo(zone))
    if stamp.time() == dt.time(0, 0):
        return None, stamp.date()
    return aware.astimezone(UTC), aware.astimezone(ZoneInfo(zone)).date()


def test_financial_dates_iso_with_offsets_and_microseconds(loaded: LoadedConfig) -> None:
    rows = metadata("fr-financial", loaded)
    raw = rows["published_raw"].to_list()
    assert (
        any("+01:00" in v for v in raw)
        and any("." in v for v in raw)
        and any(v.endswith("00:00:00") for v in raw)
    )
    want = [expected(dt.datetime.fromisoformat(v), "Africa/Casablanca") for v in raw]
    assert rows["published_at"].to_list() == [w[0] for w in want]
    assert rows["published_date"].to_list() == [w[1] for w in want]
    assert rows["published_issue"].null_count() == rows.height


def test_financial_scraped_at_from_column_or_file_name(loaded: LoadedConfig) -> None:
    rows = metadata("fr-financial", loaded)
    assert rows["scraped_at"].null_count() == 0
    from_name = rows.filter(pl.col("source_file").str.contains("01_2025-06-22"))
    assert set(from_name["scraped_at"].to_list()) == {dt.datetime(2025, 6, 22, tzinfo=UTC)}


def test_mosaiquefm_french_month_names_in_tunis_time(loaded: LoadedConfig) -> None:
    rows = metadata("mosaiquefm", loaded)

    def parse(value: str) -> dt.datetime:
        day, month, year, clock = value.split()
        hour, minute = clock.split(":")
        return dt.datetime(
            int(year), FRENCH_MONTHS.index(month.lower()) + 1, int(day), int(hour), int(minute)
        )

    want = [expected(parse(v), "Africa/Tunis") for v in rows["published_raw"]]
    assert rows["published_at"].to_list() == [w[0] for w in want]
    assert rows["published_date"].to_list() == [w[1] for w in want]


@pytest.mark.parametrize("name", ["hespress-posts", "hespress-comments"])
def test_hespress_day_first_dates_in_casablanca_time(name: str, loaded: LoadedConfig) -> None:
    rows = metadata(name, loaded)
    want = [
        expected(dt.datetime.strptime(v, "%d-%m-%Y %H:%M"), "Africa/Casablanca")
        for v in rows["published_raw"]
    ]
    assert rows["published_at"].to_list() == [w[0] for w in want]
    assert rows["published_date"].to_list() == [w[1] for w in want]


def test_arabic_newspapers_have_no_dates_and_say_so(loaded: LoadedConfig) -> None:
    rows = metadata("ar-newspapers", loaded)
    assert set(rows["published_issue"].to_list()) == {"missing"}


def test_hespress_file_holds_the_forms_the_tests_expect(shared_data: Path) -> None:
    # Guards the oracle above: if the file's format changed, the strptime format would be wrong.
    posts = json.loads(
        (shared_data / "ar-ma-hespress" / "hespress_data_most_commented.json").read_text("utf-8")
    )
    values = [p["post_date"] for p in posts] + [c["comment_timestamp"] for p in posts for c in p["comments"]]
    assert all(len(v) == 16 and v[2] == "-" and v[5] == "-" for v in values)
