"""Parse the date strings scrapes carry into UTC datetimes and local calendar dates, vectorised.

Written here rather than with dateparser because every form in our sources reduces to two
numeric shapes once month names and Eastern Arabic digits are replaced, and a polars regex
does a million of those in well under a second.
"""

from __future__ import annotations

import polars as pl

EASTERN_DIGITS = {
    "٠": "0",
    "١": "1",
    "٢": "2",
    "٣": "3",
    "٤": "4",
    "٥": "5",
    "٦": "6",
    "٧": "7",
    "٨": "8",
    "٩": "9",
}
MONTHS = {
    1: ["janvier", "january", "enero", "يناير", "جانفي", "كانون الثاني", "jan"],
    2: ["février", "fevrier", "february", "febrero", "فبراير", "فيفري", "شباط", "feb", "fév"],
    3: ["mars", "march", "marzo", "مارس", "آذار"],
    4: ["avril", "april", "abril", "أبريل", "ابريل", "أفريل", "افريل", "نيسان", "apr", "avr"],
    5: ["mai", "may", "mayo", "ماي", "ماي", "مايو", "أيار"],
    6: ["juin", "june", "junio", "يونيو", "يونيه", "جوان", "حزيران", "jun"],
    7: ["juillet", "july", "julio", "يوليوز", "يوليو", "جويلية", "تموز", "jul", "juil"],
    8: ["août", "aout", "august", "agosto", "غشت", "أغسطس", "اغسطس", "أوت", "اوت", "آب", "aug"],
    9: ["septembre", "september", "septiembre", "شتنبر", "سبتمبر", "أيلول", "sep", "sept"],
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
    ],
}
_NUM = r"(\d{1,2})"
# Year first: ISO 8601 and its space-separated cousins, optional fraction and offset.
YEAR_FIRST = (
    r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[t ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<z>z|[+-]\d{2}:?\d{2})?$"
)
# Day first: 09-02-2023, 09/02/2023, "05 4 2018 23:33" (after month names became numbers).
DAY_FIRST = (
    r"^(?P<d>\d{1,2})[-/. ]+(?P<m>\d{1,2})[-/. ]+(?P<y>\d{4})"
    r"(?:[t ,]+(?P<H>\d{1,2})[:h](?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
    r"\s*(?P<z>z|[+-]\d{2}:?\d{2})?$"
)


def _month_words() -> dict[str, str]:
    """Month names to ` N `, longest first so "كانون الثاني" wins over shorter names."""
    pairs = {name: f" {number} " for number, names in MONTHS.items() for name in names}
    return dict(sorted(pairs.items(), key=lambda item: -len(item[0])))


def normalise_date_text(expr: pl.Expr) -> pl.Expr:
    """Lowercase, ASCII digits, month names to numbers, weekday and filler words out."""
    words = _month_words()
    out = expr.str.to_lowercase().str.replace_many(EASTERN_DIGITS)
    # Whole words only: three-letter abbreviations must not fire inside other words.
    for name, number in words.items():
        out = out.str.replace_all(rf"(?:^|\b){name}\.?(?:\b|$)", number, literal=False)
    out = out.str.replace_all(r"[\p{L}&&[^tz]]\p{L}*|\b[tz]\p{L}+", " ")  # weekdays, "le", "à"
    out = out.str.replace_all(r"\s*-\s*(\d{1,2})\s*-\s*", "-$1-")
    return out.str.replace_all(r"\s+", " ").str.strip_chars(" ,")


def parse_dates(raw: pl.Series, zone: pl.Series, zones: list[str]) -> pl.DataFrame:
    """`published_at` (UTC, null when only a date is known) and `published_date`, per value.

    An explicit offset wins; otherwise the local time is read in `zone` (one of `zones`).
    A time of exactly 00:00:00 is treated as "no time given", as scrapers write date-only values.
    Computed in stages so each intermediate is materialised once.
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
    sign = pl.when(pl.col("z").str.starts_with("-")).then(-1).otherwise(1)
    minutes = pl.col("z").str.slice(1, 2).cast(pl.Int32, strict=False) * 60 + pl.col("z").str.replace(
        ":", ""
    ).str.slice(3, 2).cast(pl.Int32, strict=False)
    staged = parts.with_columns(
        local=stamp.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us"),
        offset=pl.when(pl.col("z") == "z").then(0).otherwise(minutes * sign),
    )
    utc = (pl.col("local") - pl.duration(minutes=pl.col("offset"))).dt.replace_time_zone("UTC")
    for name in zones:
        in_zone = pl.col("local").dt.replace_time_zone(name, ambiguous="earliest", non_existent="null")
        utc = (
            pl.when(pl.col("offset").is_null() & (pl.col("zone") == name))
            .then(in_zone.dt.convert_time_zone("UTC"))
            .otherwise(utc)
        )
    has_time = pl.col("H").is_not_null() & (pl.col("local").dt.time() != pl.time(0, 0, 0))
    return staged.select(
        published_at=pl.when(has_time).then(utc).otherwise(None),
        published_date=pl.col("local").dt.date(),
    )
