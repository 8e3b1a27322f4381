"""Metadata: dates to UTC in the outlet's zone, outlets through the registry, canonical URLs, ids.

Expected UTC values are worked out by hand from each zone's offset on that day:
Africa/Casablanca is UTC+1 except during Ramadan (UTC+0; in 2024 from 10 March to 14 April),
Africa/Tunis and Africa/Algiers are UTC+1 all year.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.config import MetadataConfig
from corpus.errors import ConfigError
from corpus.metadata import normalise_metadata
from corpus.metadata.outlets import Outlet, alias_table, load_outlets, unknown_outlets
from corpus.metadata.urls import canonical_url, canonical_urls
from tests.helpers import CONFIGS, UTC, frame

ALIASES = alias_table(load_outlets(CONFIGS / "outlets.yaml"))
SECTION = MetadataConfig()  # default zone Africa/Casablanca


def normalised(**columns: list) -> pl.DataFrame:
    return normalise_metadata(frame(**columns), SECTION, ALIASES)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


# (raw date, outlet as scraped, expected published_at in UTC, expected published_date)
DATES = [
    # Casablanca in June 2025 is UTC+1.
    ("2025-06-18 16:11:21.873363", "Le Matin", utc(2025, 6, 18, 15, 11, 21, 873363), dt.date(2025, 6, 18)),
    # An explicit offset wins over the outlet's zone.
    ("2024-03-05T10:15:00+01:00", "Le Matin", utc(2024, 3, 5, 9, 15), dt.date(2024, 3, 5)),
    ("2024-03-12T18:40:00Z", "الشروق", utc(2024, 3, 12, 18, 40), dt.date(2024, 3, 12)),
    # Midnight exactly means "date only".
    ("2025-06-26 00:00:00", "Médias24", None, dt.date(2025, 6, 26)),
    # Tunis is UTC+1.
    ("05 Avril 2018 23:33", "La Presse de Tunisie", utc(2018, 4, 5, 22, 33), dt.date(2018, 4, 5)),
    ("25-11-2024 09:00", "Le Matin", utc(2024, 11, 25, 8, 0), dt.date(2024, 11, 25)),
    # Casablanca during Ramadan 2024 is UTC+0.
    ("12 Mars 2024 09:30", "L'Opinion", utc(2024, 3, 12, 9, 30), dt.date(2024, 3, 12)),
    ("09 - 02 - 2023", "L'opinion", None, dt.date(2023, 2, 9)),
    ("05/03/2024", "هسبريس", None, dt.date(2024, 3, 5)),  # day first
    ("١٢ - ٠٩ - ٢٠٢٢", "الشروق", None, dt.date(2022, 9, 12)),
    ("الخميس 14 مارس 2024", "العلم", None, dt.date(2024, 3, 14)),
    ("14 يوليوز 2023", "هسبريس", None, dt.date(2023, 7, 14)),
    ("3 جويلية 2021", "الخبر", None, dt.date(2021, 7, 3)),
    ("5 mars 2024", "Medias24", None, dt.date(2024, 3, 5)),
    # Weekday prefixes, Eastern Arabic digits with a time, Mashriq month names, Spanish, English.
    ("samedi 15 novembre 2025", "Le360", None, dt.date(2025, 11, 15)),
    ("الجمعة ٠٥ يناير ٢٠٢٤ - ١٠:٣٠", "هسبريس", utc(2024, 1, 5, 9, 30), dt.date(2024, 1, 5)),
    ("12 كانون الثاني 2024", "الخبر", None, dt.date(2024, 1, 12)),
    ("3 تشرين الأول 2023", "LANA", None, dt.date(2023, 10, 3)),
    ("25 de julio de 2024", "Europa Press", None, dt.date(2024, 7, 25)),
    ("5 غشت 2024", "هسبريس", None, dt.date(2024, 8, 5)),
    ("5 أوت 2024", "الشروق", None, dt.date(2024, 8, 5)),
    ("August 5th, 2024", "Morocco World News", None, dt.date(2024, 8, 5)),
    ("1er mars 2024", "Le Matin", None, dt.date(2024, 3, 1)),
    ("12 janv. 2024", "Le Matin", None, dt.date(2024, 1, 12)),
    # Algiers has no daylight saving: UTC+1 in summer too.
    ("2023-07-01 12:00", "الخبر", utc(2023, 7, 1, 11, 0), dt.date(2023, 7, 1)),
    ("garbage", "Le Matin", None, None),
    ("31/02/2024", "Le Matin", None, None),  # no such day
    (None, "Le Matin", None, None),
]


@pytest.mark.parametrize(("raw", "outlet", "published_at", "published_date"), DATES)
def test_dates(
    raw: str | None, outlet: str, published_at: dt.datetime | None, published_date: dt.date | None
) -> None:
    row = normalised(published_raw=[raw], source_raw=[outlet], text=["x"]).row(0, named=True)
    assert row["published_at"] == published_at
    assert row["published_date"] == published_date


def test_dates_in_one_frame_use_each_outlets_zone() -> None:
    # The same wall-clock time in three zones on a day where they differ (Casablanca in Ramadan).
    rows = normalised(
        published_raw=["2024-03-14 16:20"] * 3,
        source_raw=["Le Matin", "La Presse de Tunisie", "Radio Inconnue"],
        text=["a", "b", "c"],
    )
    assert rows["published_at"].to_list() == [
        utc(2024, 3, 14, 16, 20),  # Casablanca, UTC+0 during Ramadan
        utc(2024, 3, 14, 15, 20),  # Tunis, UTC+1
        utc(2024, 3, 14, 16, 20),  # unknown outlet: the default zone, Casablanca
    ]


def test_outlet_zone_found_through_the_url_host() -> None:
    row = normalised(
        published_raw=["05 Avril 2018 23:33"], url_raw=["https://www.tap.info.tn/fr/article"], text=["x"]
    ).row(0, named=True)
    assert row["source"] == "Tunis Afrique Presse"
    assert row["published_at"] == utc(2018, 4, 5, 22, 33)


def test_scraped_at_is_parsed_in_the_default_zone() -> None:
    rows = normalised(scraped_raw=["2025-06-18 16:11:21", "2024-02-01"], text=["a", "b"])
    assert rows["scraped_at"].to_list() == [utc(2025, 6, 18, 15, 11, 21), utc(2024, 2, 1)]


def test_day_first_date_dash_time() -> None:
    row = normalised(published_raw=["14/03/2024 - 16:20"], source_raw=["Le360"], text=["x"]).row(
        0, named=True
    )
    assert row["published_date"] == dt.date(2024, 3, 14)
    assert row["published_at"] == utc(2024, 3, 14, 16, 20)  # Casablanca in Ramadan: UTC+0


def test_french_hour_notation() -> None:
    row = normalised(published_raw=["Mardi 5 mars 2024 à 10h15"], source_raw=["Le Matin"], text=["x"]).row(
        0, named=True
    )
    assert row["published_date"] == dt.date(2024, 3, 5)
    assert row["published_at"] == utc(2024, 3, 5, 9, 15)  # Casablanca before Ramadan: UTC+1


def test_month_first_english_date_is_not_misread() -> None:
    row = normalised(published_raw=["Aug 5 2024"], source_raw=["Morocco World News"], text=["x"]).row(
        0, named=True
    )
    assert row["published_date"] in (dt.date(2024, 8, 5), None)


def test_published_date_is_in_the_outlets_zone() -> None:
    row = normalised(published_raw=["2024-03-12T23:30:00Z"], source_raw=["الشروق"], text=["x"]).row(
        0, named=True
    )
    assert row["published_at"] == utc(2024, 3, 12, 23, 30)
    assert row["published_date"] == dt.date(2024, 3, 13)


def test_morocco_offset_history_comes_from_the_tz_database() -> None:
    # Casablanca: UTC+0 until October 2018, then UTC+1 except during Ramadan (2024: 10 March-14 April).
    rows = normalised(
        published_raw=["2017-01-10 12:00", "2019-01-10 12:00", "2024-03-20 12:00", "2024-04-20 12:00"],
        source_raw=["Le Matin"] * 4,
        text=list("abcd"),
    )
    assert rows["published_at"].to_list() == [
        utc(2017, 1, 10, 12, 0),
        utc(2019, 1, 10, 11, 0),
        utc(2024, 3, 20, 12, 0),
        utc(2024, 4, 20, 11, 0),
    ]


def test_published_issue_says_why_a_date_is_null() -> None:
    rows = normalised(
        published_raw=[
            None,
            " ",
            "garbage",
            "31/02/2024",
            "12/05/1985",
            "2025-06-30",
            "2025-06-20",
            "2025-06-21",
        ],
        scraped_raw=[None, None, None, None, None, "2025-06-20", "2025-06-20", None],
        source_raw=["Le Matin"] * 8,
        text=list("abcdefgh"),
    )
    assert rows["published_issue"].to_list() == [
        "missing",
        "missing",
        "unparsed",
        "invalid",
        "too_old",
        "future",
        None,
        None,  # no crawl date known: the future cannot be judged
    ]
    assert rows["published_date"].to_list()[:6] == [None] * 6
    assert rows["published_date"].to_list()[6:] == [dt.date(2025, 6, 20), dt.date(2025, 6, 21)]


def test_date_limits_come_from_the_config() -> None:
    section = MetadataConfig(earliest_year=1980, future_tolerance_days=20)
    rows = normalise_metadata(
        frame(
            published_raw=["12/05/1985", "2025-06-30"],
            scraped_raw=[None, "2025-06-20"],
            text=["a", "b"],
        ),
        section,
        ALIASES,
    )
    assert rows["published_issue"].to_list() == [None, None]
    assert rows["published_date"].to_list() == [dt.date(1985, 5, 12), dt.date(2025, 6, 30)]


# Outlets.


def test_unknown_outlets_are_listed_with_counts() -> None:
    rows = normalised(
        source_raw=["Radio Inconnue", "Le Matin", "Radio Inconnue", None, "Blog X"], text=list("abcde")
    )
    assert unknown_outlets(rows, ALIASES).rows() == [("Radio Inconnue", 2), ("Blog X", 1)]


def test_country_from_the_source_is_kept_when_the_outlet_is_unknown() -> None:
    rows = normalised(source_raw=[None, "Le Matin"], country=["dz", "DZ"], text=["a", "b"])
    assert rows["country"].to_list() == ["DZ", "MA"]  # the registry wins over the file name


def test_outlet_spellings_resolve_to_one_canonical_outlet() -> None:
    rows = normalised(
        source_raw=["Finance News - Economic", "Finance News - Financial", "FNH", "L’opinion", "LE MATIN"],
        text=list("abcde"),
    )
    assert rows["source"].to_list() == [
        "Finances News Hebdo",
        "Finances News Hebdo",
        "Finances News Hebdo",
        "L'Opinion",
        "Le Matin",
    ]
    assert rows["country"].to_list() == ["MA"] * 5
    # The scraped spelling is kept beside the canonical one.
    assert rows["source_raw"].to_list()[3] == "L’opinion"


def test_unknown_outlet_is_kept_verbatim_without_country() -> None:
    row = normalised(source_raw=["Radio Inconnue FM"], text=["x"]).row(0, named=True)
    assert row["source"] == "Radio Inconnue FM"
    assert row["country"] is None


def test_outlet_from_url_host_when_source_is_missing() -> None:
    rows = normalised(
        source_raw=[None, None, None, "Le Matin"],
        url_raw=[
            "https://www.hespress.com/economie/article-1.html",
            "https://FR.LE360.MA/societe/x",
            "https://unknown.example.org/a",
            "https://www.hespress.com/economie/article-2.html",
        ],
        text=list("abcd"),
    )
    assert rows["source"].to_list() == ["هسبريس", "Le360", None, "Le Matin"]
    assert rows["country"].to_list() == ["MA", "MA", None, "MA"]


def test_a_spelling_shared_by_two_outlets_is_a_config_error() -> None:
    outlets = [Outlet(name="Alpha", aliases=["AB"]), Outlet(name="Beta", aliases=["A.B."])]
    with pytest.raises(ConfigError) as caught:
        alias_table(outlets)
    assert "ab" in str(caught.value)


def test_malformed_registry_entry_names_its_position(tmp_path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text("outlets:\n  - name: A\n  - name: B\n    countri: MA\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_outlets(path)
    assert "outlets[1]" in str(caught.value)
    assert "countri" in str(caught.value)


# Canonical URLs.

ARABIC_RAW = "https://www.echoroukonline.com/المنتخب-الوطني-تربص-سيدي-موسى"
ARABIC_ENCODED = (
    "https://www.echoroukonline.com/%D8%A7%D9%84%D9%85%D9%86%D8%AA%D8%AE%D8%A8-%D8%A7%D9%84%D9%88%D8%B7"
    "%D9%86%D9%8A-%D8%AA%D8%B1%D8%A8%D8%B5-%D8%B3%D9%8A%D8%AF%D9%8A-%D9%85%D9%88%D8%B3%D9%89"
)


def test_tracking_parameters_and_fragment_removed() -> None:
    url = "https://lematin.ma/economie/article/231045?utm_source=facebook&utm_medium=social&fbclid=IwAR2&page=2#comments"
    assert canonical_url(url) == "https://lematin.ma/economie/article/231045?page=2"
    assert canonical_url("https://x.ma/a?gclid=1&b=2&a=1&mc_cid=3") == "https://x.ma/a?a=1&b=2"


def test_host_lowercased_and_default_port_removed() -> None:
    assert (
        canonical_url("HTTPS://WWW.Hespress.COM:443/Economie/X.html")
        == "https://www.hespress.com/Economie/X.html"
    )
    assert canonical_url("http://Example.ma:80/a") == "http://example.ma/a"
    assert canonical_url("https://example.ma:8443/a") == "https://example.ma:8443/a"
    assert canonical_url("https://example.ma") == "https://example.ma/"


def test_not_a_web_url_has_no_canonical_form() -> None:
    assert canonical_url("ftp://example.ma/a") is None
    assert canonical_url("lematin.ma/article") is None
    assert canonical_urls(pl.Series(["mailto:a@b.ma", None], dtype=pl.String)).to_list() == [None, None]


def test_a_url_urllib_refuses_has_no_canonical_form() -> None:
    """An unbalanced bracket in the host made urllib raise and a whole build fail (found by the
    property campaign)."""
    assert canonical_url("https://x.m[a/a") is None
    assert canonical_urls(pl.Series(["https://[::1/a", "https://x.ma/a"])).to_list() == [
        None,
        "https://x.ma/a",
    ]


URL_PIECES = ["a", "Z", "9", "-", ".", "_", "~", "/", "%41", "%2f", "?x=1", "#f", ":", "@", " ", "\t"]
URL_PIECES += ["\u00a0", "\u2028", "\u200b", "\u0085", "\u3000", "é", "ب", "\U0001f600", "[", "%"]


@settings(max_examples=400, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "Https", "ftp"]),
    host=st.text("abcXYZ019-.", min_size=1, max_size=12),
    port=st.sampled_from(["", ":443", ":80", ":8080"]),
    path=st.lists(st.sampled_from(URL_PIECES), max_size=12).map("".join),
)
def test_the_canonical_shortcut_gives_what_canonical_url_gives(
    scheme: str, host: str, port: str, path: str
) -> None:
    """URLs that look canonical skip `canonical_url`; for every URL, the column's answer is that
    function's (drawn from pieces that exercise each of its rules)."""
    url = f"{scheme}://{host}{port}/{path}"
    assert canonical_urls(pl.Series([url, url.removesuffix("/")])).to_list() == [
        canonical_url(url),
        canonical_url(url.removesuffix("/")),
    ]


def test_arabic_path_spellings_canonicalise_to_the_same_string() -> None:
    raw = canonical_url(ARABIC_RAW + "?utm_source=twitter&fbclid=IwAR0")
    encoded = canonical_url(ARABIC_ENCODED + "#top")
    assert raw is not None
    assert raw == encoded


@pytest.mark.parametrize("url", [ARABIC_RAW, ARABIC_ENCODED])
def test_arabic_path_is_kept_readable(url: str) -> None:
    assert canonical_url(url) == ARABIC_RAW


def test_unsafe_path_characters_stay_escaped() -> None:
    assert canonical_url("https://example.ma/a b/c%20d") == "https://example.ma/a%20b/c%20d"
    assert canonical_url("https://example.ma/100%25-bio") == "https://example.ma/100%25-bio"
    assert canonical_url("https://alalam.ma/السياحة-فاس?utm_source=x") == "https://alalam.ma/السياحة-فاس"


def test_escaped_slash_is_not_a_path_separator() -> None:
    assert canonical_url("https://example.ma/a%2Fb") != canonical_url("https://example.ma/a/b")


def test_percent_escapes_are_normalised() -> None:
    # Unreserved characters are decoded, reserved ones stay escaped in upper-case hex.
    assert canonical_url("https://example.ma/%7Euser/%41rticle%2fx") == "https://example.ma/~user/Article%2Fx"
    # Bytes that are not UTF-8 stay as they are (upper-cased), never turned into U+FFFD.
    assert canonical_url("https://example.ma/caf%e9") == "https://example.ma/caf%E9"
    assert canonical_url("https://example.ma/a%3Fb%23c") == "https://example.ma/a%3Fb%23c"


def test_canonical_url_column_in_the_step() -> None:
    rows = normalised(url_raw=["https://www.hespress.com/x.html?utm_campaign=a#c", None], text=["a", "b"])
    assert rows["url"].to_list() == ["https://www.hespress.com/x.html", None]
    assert rows["url_raw"].to_list()[0] == "https://www.hespress.com/x.html?utm_campaign=a#c"


# Ids.


def test_ids_are_stable_across_calls_and_url_spellings() -> None:
    first = normalised(url_raw=["https://lematin.ma/a?utm_source=fb"], text=["version 1"])
    second = normalised(
        url_raw=["HTTPS://LEMATIN.MA:443/a#x", "https://lematin.ma/b"],
        text=["version 2, corrected", "version 1"],
        source_raw=["Le Matin", None],
    )
    assert first["id"][0] == second["id"][0]
    assert second["id"][0] != second["id"][1]
    assert len(first["id"][0]) == 20
    assert all(c in "0123456789abcdef" for c in first["id"][0])


def test_record_key_distinguishes_ids_under_one_url() -> None:
    rows = normalised(
        url_raw=["https://www.hespress.com/p1.html"] * 3,
        key=["c1", "c2", None],
        text=["premier", "deuxième", "article"],
    )
    assert rows["id"].n_unique() == 3
    again = normalised(url_raw=["https://www.hespress.com/p1.html"], key=["c2"], text=["autre texte"])
    assert again["id"][0] == rows["id"][1]


def test_id_from_text_without_url() -> None:
    rows = normalised(
        url_raw=[None, None, None, "not a url"],
        title=["Titre", "Titre", "Titre", "Titre"],
        text=["même texte", "même texte", "autre texte", "même texte"],
        source_raw=["Le Matin", "El Watan", "Le Matin", "Le Matin"],
    )
    ids = rows["id"].to_list()
    assert ids[0] == ids[1]  # the outlet is not part of a text id
    assert ids[0] != ids[2]
    assert ids[3] == ids[0]  # an unusable URL falls back to the text
    assert normalised(title=["Titre"], text=["même texte"])["id"][0] == ids[0]
