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


def parse_dates(raw: pl.Expr, zone: pl.Expr, zones: list[str]) -> pl.Expr:
    """A struct of `published_at` (UTC, null when only a date is known) and `published_date`.

    An explicit offset wins; otherwise the local time is read in `zone` (one of `zones`).
    A time of exactly 00:00:00 is treated as "no time given", as scrapers write date-only values.
    """
    text = normalise_date_text(raw)
    a, b = text.str.extract_groups(YEAR_FIRST), text.str.extract_groups(DAY_FIRST)

    def part(name: str) -> pl.Expr:
        return pl.coalesce(a.struct.field(name), b.struct.field(name))

    fraction = (
        pl.coalesce(a.struct.field("f"), pl.lit(None, pl.String))
        .fill_null("0")
        .str.pad_end(6, "0")
        .str.slice(0, 6)
    )
    stamp = pl.format(
        "{}-{}-{} {}:{}:{}.{}",
        part("y"),
        part("m").str.zfill(2),
        part("d").str.zfill(2),
        part("H").fill_null("0").str.zfill(2),
        part("M").fill_null("00"),
        part("S").fill_null("00"),
        fraction,
    )
    local = stamp.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    has_time = part("H").is_not_null() & (local.dt.time() != pl.time(0, 0, 0))
    offset = part("z")
    offset_minutes = pl.when(offset == "z").then(0).otherwise(
        offset.str.slice(1, 2).cast(pl.Int32, strict=False) * 60
        + offset.str.replace(":", "").str.slice(3, 2).cast(pl.Int32, strict=False)
    ) * pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    by_offset = (local - pl.duration(minutes=offset_minutes)).dt.replace_time_zone("UTC")
    by_zone = pl.lit(None, pl.Datetime("us", "UTC"))
    for name in zones:
        in_zone = local.dt.replace_time_zone(name, ambiguous="earliest", non_existent="null")
        by_zone = pl.when(zone == name).then(in_zone.dt.convert_time_zone("UTC")).otherwise(by_zone)
    utc = pl.when(offset.is_not_null()).then(by_offset).otherwise(by_zone)
    return pl.struct(
        published_at=pl.when(has_time).then(utc).otherwise(None),
        published_date=local.dt.date(),
    )
