"""Aggregator pages: ticker and report-image modal, title, byline (outlet, date), body, footer.

The layout is the one aggregators serve (French "Publié dans OUTLET le DD - MM - YYYY", Arabic
"نشر في OUTLET يوم DD - MM - YYYY"); one regex splits a whole page. A page that does not match
is kept whole as `layout = "unknown"`: its ticker, if any, is left to the recurring-segment pass.
"""

from __future__ import annotations

import polars as pl

DIGIT = "[0-9٠-٩]"
PAGE = (
    r"(?s)\A(?P<head>.*?)\n(?P<title>[^\n]*\S[^\n]*)\n[ \t]*(?:Publié dans|نشر في)[ \t]+"
    r"(?P<outlet>[^\n]+?)[ \t]+(?:le|يوم)[ \t]+"
    rf"(?P<date>{DIGIT}{{1,2}}[ \t]*-[ \t]*{DIGIT}{{1,2}}[ \t]*-[ \t]*{DIGIT}{{4}})[ \t]*(?:\n|\z)"
    r"(?P<body>.*?)\s*(?P<footer>(?:Cliquez ici pour lire l['’]article depuis sa source\.?"
    r"|اضغط هنا لقراءة الخبر من مصدره[^\n]*)\s*)?\z"
)


def parse_pages(frame: pl.DataFrame) -> pl.DataFrame:
    """Split aggregator pages into title, outlet, date and body; unmatched pages become `unknown`.

    The dropped parts are listed in `furniture`: one `page_head` per non-blank ticker or modal
    line, one `page_footer`.
    """
    parts = pl.col("text").str.extract_groups(PAGE)
    is_page = pl.col("layout") == "page"
    matched = is_page & parts.struct.field("body").is_not_null()
    head_lines = parts.struct.field("head").str.count_matches(r"(?m)^[ \t]*\S").fill_null(0)
    dropped = pl.concat_list(
        pl.lit("page_head").repeat_by(head_lines),
        pl.lit("page_footer").repeat_by(parts.struct.field("footer").is_not_null().cast(pl.UInt32)),
    )
    return frame.with_columns(
        title=pl.when(matched).then(parts.struct.field("title").str.strip_chars()).otherwise("title"),
        source_raw=pl.when(matched)
        .then(parts.struct.field("outlet").str.strip_chars())
        .otherwise("source_raw"),
        published_raw=pl.when(matched).then(parts.struct.field("date")).otherwise("published_raw"),
        text=pl.when(matched).then(parts.struct.field("body")).otherwise("text"),
        layout=pl.when(is_page & ~matched).then(pl.lit("unknown")).otherwise("layout"),
        furniture=pl.when(matched).then(dropped).otherwise(pl.lit([], pl.List(pl.String))),
    )
