"""Parse the date strings scrapes carry into UTC datetimes and local calendar dates, vectorised.

Written here rather than with dateparser because every form in our sources reduces to two
numeric shapes once month names and Eastern Arabic digits are replaced, and a polars regex does
them all at once. Measured against an independent oracle (`pytest -m benchmark
tests/benchmarks/bench_pages.py -k dateparser -s`): on the real scrapes (fr-financial,
MosaiqueFM, Hespress) both parsers are right on every value, dateparser 2-25x slower even when
called once per distinct value; on 10,000 generated dates in every Maghreb form, dateparser 1.5
(DMY, fr/ar/en/es) returns nothing for 521 (Moroccan and Algerian month names: ماي, أفريل,
غشت, جويلية, يوليوز, شتنبر...), and takes 10 s against 0.12 s here.
Day-first is the Maghreb convention for numeric dates; an English month name before the day
("Aug 5 2024") is read month-first.
"""

from __future__ import annotations

import polars as pl

EASTERN_DIGITS = {chr(0x0660 + n): str(n) for n in range(10)} | {chr(0x06F0 + n): str(n) for n in range(10)}
MONTHS = {
    1: ["janvier", "january", "enero", "يناير", "جانفي", "كانون الثاني", "jan", "janv"],
    2: ["février", "fevrier", "february", "febrero", "فبراير", "فيفري", "شباط", "feb", "fév", "fev", "févr"],
    3: ["mars", "march", "marzo", "مارس", "آذار", "mar"],
    4: ["avril", "april", "abril", "أبريل", "ابريل", "إبريل", "أفريل", "افريل", "نيسان", "apr", "avr", "abr"],
    5: ["mai", "may", "mayo", "ماي", "مايو", "أيار"],
    6: ["juin", "june", "junio", "يونيو", "يونيه", "جوان", "حزيران", "jun"],
    7: ["juillet", "july", "julio", "يوليوز", "يوليو", "يوليه", "جويلية", "تموز", "jul", "juil"],
    8: ["août", "aout", "august", "agosto", "غشت", "أغسطس", "اغسطس", "أوت", "اوت", "آب", "aug", "ago"],
    9: ["septembre", "september", "septiembre", "setiembre", "شتنبر", "سبتمبر", "أيلول", "sep", "sept"],
    10: ["octobre", "october", "octubre", "أكتوبر", "اكتوبر", "تشرين الأول", "oct"],
    11: ["novembre", "november", "noviembre", "نونبر", "نوفمبر", "تشرين الثاني", "nov"],
    12: [
        "décembre",
        "decembre",
        "december",
        "diciembre",
        "دجنبر",
        "ديسمبر",
        "كانون الأول",
        "dec",
        "déc",
        "dic",
    ],
}
# Month names become `§N§` (not a letter, so the filler-word pass below leaves it alone).
_MONTH_MARK = "§"
# Year first: ISO 8601 and its space-separated cousins, optional fraction and offset.
YEAR_FIRST = (
    r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:(?:t|[ ,]+|\s*-\s*)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<z>z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?$"
)
# Day first: 09-02-2023, 09/02/2023, "05 4 2018 23:33", "14/03/2024 - 16:20".
DAY_FIRST = (
    r"^(?P<d>\d{1,2})[-/. ]+(?P<m>\d{1,2})[-/. ]+(?P<y>\d{4})"
    r"(?:(?:t|[ ,]+|\s*-\s*)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
    r"\s*(?P<z>z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?$"
)


def _month_words() -> dict[str, str]:
    """Month names to `§N§`, longest first so "كانون الثاني" wins over shorter names."""
    pairs = {
        name: f" {_MONTH_MARK}{number}{_MONTH_MARK} " for number, names in MONTHS.items() for name in names
    }
    return dict(sorted(pairs.items(), key=lambda item: -len(item[0])))


def normalise_date_text(expr: pl.Expr) -> pl.Expr:
    """Lowercase, ASCII digits, month names to numbers, weekday and filler words out."""
    out = expr.str.to_lowercase().str.replace_many(EASTERN_DIGITS)
    out = out.str.replace_all(r"(\d{1,2})\s*h\s*(\d{2})\b", "$1:$2")  # French "10h15"
    # Whole words only: three-letter abbreviations must not fire inside other words.
    for name, number in _month_words().items():
        out = out.str.replace_all(rf"(?:^|\b){name}(?:\b|$)\.?", number)
    # "aug 5 2024", "august 5th, 2024": month before day, reordered to day-first.
    mark = _MONTH_MARK
    out = out.str.replace_all(
        rf"{mark}(\d{{1,2}}){mark}\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+(\d{{4}})", "$2 ${1} $3"
    )
    out = out.str.replace_all(rf"{mark}(\d{{1,2}}){mark}", " $1 ")
    out = out.str.replace_all(r"\b(?:utc|gmt)\b", " z ")
    out = out.str.replace_all(r"[\p{L}&&[^tz]]\p{L}*|\b[tz]\p{L}+", " ")  # weekdays, "le", "à"
    out = out.str.replace_all(r"\s*-\s*(\d{1,2})\s*-\s*", "-$1-")
    return out.str.replace_all(r"\s+", " ").str.replace_all(r"(\d) ([+-]\d)", "$1$2").str.strip_chars(" ,")


def parse_dates(raw: pl.Series, zone: pl.Series, zones: list[str]) -> pl.DataFrame:
    """`published_at` (UTC, null when only a date is known), `published_date` and `matched`, per value.

    An explicit offset wins; otherwise the local time is read in `zone` (one of `zones`, IANA
    names: offset history such as Morocco's Ramadan switches comes from the tz database).
    `published_date` is the calendar date in `zone`. A time of exactly 00:00:00 is treated as
    "no time given", as scrapers write date-only values. `matched` says whether the text had a
    date shape at all (a matched but impossible date such as 31/02 has a null date).
    """
    text = pl.DataFrame({"raw": raw, "zone": zone}).with_columns(text=normalise_date_text(pl.col("raw")))
    a, b = pl.col("text").str.extract_groups(YEAR_FIRST), pl.col("text").str.extract_groups(DAY_FIRST)
    parts = text.select(
        "zone",
        *[pl.coalesce(a.struct.field(n), b.struct.field(n)).alias(n) for n in "ymdHMSz"],
        a.struct.field("f"),
    )
    stamp = pl.format(
        "{}-{}-{} {}:{}:{}.{}",
        "y",
        pl.col("m").str.zfill(2),
        pl.col("d").str.zfill(2),
        pl.col("H").fill_null("0").str.zfill(2),
        pl.col("M").fill_null("00"),
        pl.col("S").fill_null("00"),
        pl.col("f").fill_null("0").str.pad_end(6, "0").str.slice(0, 6),
    )
    z = pl.col("z").str.replace(":", "")
    sign = pl.when(z.str.starts_with("-")).then(-1).otherwise(1)
    minutes = z.str.slice(1, 2).cast(pl.Int32, strict=False) * 60 + z.str.slice(3, 2).cast(
        pl.Int32, strict=False
    ).fill_null(0)
    staged = parts.with_columns(
        local=stamp.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"),
        offset=pl.when(z == "z").then(0).otherwise(minutes * sign),
    )
    utc = (pl.col("local") - pl.duration(minutes=pl.col("offset"))).dt.replace_time_zone("UTC")
    staged = staged.with_columns(utc=_from_zone(utc, zones))
    has_time = pl.col("H").is_not_null() & (pl.col("local").dt.time() != pl.time(0, 0, 0))
    return staged.select(
        published_at=pl.when(has_time).then("utc").otherwise(None),
        published_date=pl.when(has_time & pl.col("utc").is_not_null())
        .then(_zone_dates(pl.col("utc"), zones))
        .otherwise(pl.col("local").dt.date()),
        matched=pl.col("y").is_not_null(),
    )


def _from_zone(utc: pl.Expr, zones: list[str]) -> pl.Expr:
    """Local wall-clock times without offset read in each row's zone, as UTC."""
    for name in zones:
        in_zone = pl.col("local").dt.replace_time_zone(name, ambiguous="earliest", non_existent="null")
        utc = (
            pl.when(pl.col("offset").is_null() & (pl.col("zone") == name))
            .then(in_zone.dt.convert_time_zone("UTC"))
            .otherwise(utc)
        )
    return utc


def _zone_dates(utc: pl.Expr, zones: list[str]) -> pl.Expr:
    """The calendar date of a UTC instant in each row's zone."""
    date = utc.dt.date()
    for name in zones:
        date = pl.when(pl.col("zone") == name).then(utc.dt.convert_time_zone(name).dt.date()).otherwise(date)
    return date
