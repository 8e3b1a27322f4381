"""Incremental dedup: a build against an earlier release's stored signatures.

"Same survivors" means: the ids released by the build of scrapes 1..8 plus the ids released by
the build of scrape 9 against it equal the ids released by one build of 1..9. Ids come from the
canonical URL, so a re-scrape of a released URL keeps its id (the earlier release's text stays
released; the new scrape is its `rescrape`, naming that release).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from corpus.build import build
from tests.conftest import relative_to

SCRAPES = "fr-financial-ma/scrapes"


def released_ids(release: Path) -> set[str]:
    return set(pl.read_parquet(release / "data" / "**" / "*.parquet")["id"].to_list())


def removed(release: Path) -> pl.DataFrame:
    return pl.read_parquet(release / "removed" / "*.parquet")


@pytest.mark.realdata
def test_scrape_nine_against_release_of_one_to_eight_equals_one_build(
    tmp_path: Path, real_config_writer
) -> None:
    out = tmp_path / "out"
    first = real_config_writer(tmp_path / "a", {"fr-financial": f"{SCRAPES}/0[1-8]_*.csv"}, name="fin")
    earlier = build(first, out).path
    later_folder = tmp_path / "b"
    later_folder.mkdir()
    later = real_config_writer(
        later_folder,
        {"fr-financial": f"{SCRAPES}/09_*.csv"},
        name="fin",
        version="0.2.0",
        extra={"dedup": {"against": relative_to(earlier, later_folder)}},
    )
    increment = build(later, out).path
    whole = real_config_writer(tmp_path / "c", {"fr-financial": f"{SCRAPES}/*.csv"}, name="whole")
    full = build(whole, out).path

    assert released_ids(earlier) | released_ids(increment) == released_ids(full)
    assert not released_ids(earlier) & released_ids(increment)
    matched = removed(increment).filter(pl.col("dup_release").is_not_null())
    assert matched.height > 0
    assert set(matched["dup_release"].to_list()) == {"v0.1.0"}
    assert set(matched["dup_of"].to_list()) <= released_ids(earlier)
