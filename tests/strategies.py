"""Hypothesis strategies for hostile input files, and the check every build of them must pass.

A generated JSONL file mixes good records with the damage real scrapes show: bytes that are not
UTF-8, NULs and controls, bidi marks, very long or empty texts, absurd dates, repeated ids and URLs,
missing, extra and wrongly typed fields, lines cut short and lines holding two objects. Built with
`on_bad_record: skip`, every build must end without an exception, balance its ledger, and account
for every non-blank input line in the release or in `removed/` with a reason, by file and line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

from corpus.build import BuildSummary, Options, build
from tests.helpers import CONFIGS

WORDS = st.sampled_from(
    [
        "le",
        "marché",
        "la",
        "banque",
        "Rabat",
        "croissance",
        "prix",
        "الحكومة",
        "المغرب",
        "بزاف",
        "ديال",
        "واش",
        "wach",
        "bzaf",
        "3lach",
        "ⵜⴰⵎⴰⵣⵉⵖⵜ",
    ]
)
ODD = st.sampled_from(["\x00", "\x07", "\u200f", "\u202e", "\u200b", "\ufeff", "\ufffd", "\u00a0", "\t", " "])
TEXT = st.one_of(
    st.lists(st.one_of(WORDS, ODD), max_size=40).map(" ".join),
    st.text(max_size=60),
    st.just(""),
    st.builds(lambda word, n: (word + " ") * n, WORDS, st.integers(1, 3000)),  # long, repetitive
    st.sampled_from(["هههههههههه", "aaaaaaaaaaaaaa", "   \n\t  ", "\u200b\u200c\u2060"]),
)
DATES = st.one_of(
    st.none(),
    st.sampled_from(["2024-02-30", "0000-00-00", "31/12/1899", "9999-12-31T23:59:59", "hier", "١٢-٠٣-٢٠٢٤"]),
    st.dates().map(str),
    st.integers(-(2**40), 2**40),
)
VALUE = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=True), st.booleans(), TEXT, st.lists(WORDS, max_size=3)
)


@st.composite
def record(draw: st.DrawFn) -> dict[str, Any]:
    """A record whose fields may be missing, extra or of the wrong type."""
    fields: dict[str, Any] = {
        "url": draw(
            st.one_of(
                st.none(), st.sampled_from(["https://x.ma/a", "https://x.ma/b?utm_source=z", "not a url"])
            )
        ),
        "title": draw(st.one_of(TEXT, VALUE)),
        "text": draw(st.one_of(TEXT, TEXT, VALUE)),
        "source": draw(st.one_of(st.none(), st.sampled_from(["Hespress", "Le Matin", "inconnu", ""]), VALUE)),
        "date": draw(DATES),
        "id": draw(st.sampled_from(["1", "1", "2", None])),
    }
    for name in draw(st.lists(st.sampled_from(list(fields)), max_size=3)):
        fields.pop(name, None)
    if draw(st.booleans()):
        fields[draw(st.sampled_from(["extra", "nested"]))] = draw(VALUE)
    return fields


@st.composite
def line(draw: st.DrawFn) -> bytes:
    """One JSONL line: a good record, or one damaged the way scrapes are."""
    encoded = json.dumps(draw(record()), ensure_ascii=draw(st.booleans())).encode("utf-8")
    damage = draw(st.sampled_from(["none", "none", "none", "bytes", "latin1", "cut", "two", "nul", "blank"]))
    if damage == "bytes":
        at = draw(st.integers(0, len(encoded)))
        return encoded[:at] + draw(st.binary(min_size=1, max_size=4)) + encoded[at:]
    if damage == "latin1":
        return json.dumps({"text": draw(TEXT) + " été"}, ensure_ascii=False).encode("latin-1", "replace")
    if damage == "cut":
        return encoded[: draw(st.integers(0, max(len(encoded) - 1, 0)))]
    if damage == "two":
        return encoded + encoded
    if damage == "nul":
        return encoded.replace(b'"', b'\x00"', 1)
    if damage == "blank":
        return draw(st.sampled_from([b"", b"   ", b"\t"]))
    return encoded


# Every file opens with one complete record, so the source's mapping is checked and found (a
# mapped column absent from every file is a config error, not what this campaign is about).
COMPLETE = json.dumps(
    {
        "url": "https://x.ma/z",
        "title": "t",
        "text": "un texte",
        "source": "s",
        "date": "2024-01-02",
        "id": "9",
    }
)
FILES = st.lists(line(), min_size=0, max_size=30).map(
    lambda lines: b"\n".join([COMPLETE.encode(), *lines]) + b"\n"
)


def expected_records(data: bytes) -> list[int]:
    """The numbers of the lines a reader must account for: every non-blank line, where CRLF, CR
    and LF each end a line (counted here independently of the reader)."""
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape")
    lines = re.split(r"\r\n|\r|\n", text)
    return [number for number, content in enumerate(lines, start=1) if content.strip()]


def build_files(folder: Path, files: list[bytes]) -> BuildSummary:
    """Build a release of these JSONL files (one source, bad records skipped)."""
    (folder / "in").mkdir(parents=True, exist_ok=True)
    for number, data in enumerate(files):
        (folder / "in" / f"part-{number:03d}.jsonl").write_bytes(data)
    config = folder / "config.yaml"
    config.write_text(
        "name: hostile\nversion: 0.1.0\n"
        "sources: [{name: scraped, kind: jsonl, path: in, on_bad_record: skip,\n"
        "  columns: {url: url, title: title, text: text, source: source, published: date, key: id}}]\n"
        f"boilerplate: {{patterns: {CONFIGS / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {CONFIGS / 'outlets.yaml'}}}\n",
        encoding="utf-8",
    )
    return build(config, folder / "out", Options(workers=1))


def check_accounted(summary: BuildSummary, files: list[bytes]) -> dict[str, int]:
    """Every expected line is released or removed with a reason, once; returns rows by outcome."""
    released, removed = summary.released(), summary.removed()
    rows = pl.concat(
        [
            released.select("source_file", "source_line", reason=pl.lit(None, pl.String)),
            removed.select("source_file", "source_line", reason="removed_reason"),
        ]
    )
    expected = {
        (f"in/part-{n:03d}.jsonl", line) for n, data in enumerate(files) for line in expected_records(data)
    }
    found = list(rows.select("source_file", "source_line").iter_rows())
    assert len(found) == len(set(found)), "an input line appears twice"
    assert set(found) == expected, (
        f"lost {sorted(expected - set(found))[:5]}, extra {sorted(set(found) - expected)[:5]}"
    )
    assert summary.rows_read == len(expected) == released.height + removed.height
    assert removed["removed_reason"].null_count() == 0
    outcomes = rows.with_columns(pl.col("reason").fill_null("released")).group_by("reason").len()
    return {str(reason): int(n) for reason, n in outcomes.iter_rows()}
