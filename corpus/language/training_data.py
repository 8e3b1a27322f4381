"""The labelled text the language model learns from, read straight from the shared real data.

Every item carries a `group` (an article, or a block of consecutive sentences of one source) and
its `fold` by a hash of that group: fold VALIDATION is the validation split, never read while
training, tuning or gating CI; folds 1-4 are training data and its cross-validation folds.
Splitting by group, not by sentence, keeps the sentences of one Wikipedia article or one news
story on one side, so validation does not reward remembering a topic.
Sources (see ../shared/data/SOURCES.md): `ary` OLDI Seed; `ary_Latn` DODa; `ar` Tatoeba, UD
Arabic-PUD, the Maghreb newspapers and ar-ma-news-corpus/feb.txt; Latin negatives (`fr`) the
French financial scrapes and Mosaïque FM. Texts are read raw, not through the build's steps, so
that a change to repair or boilerplate cannot change the weights.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl

VALIDATION_SALT = "corpus-language-split-v1"
FOLDS = 5  # fold 0 of 5 (a fifth of the groups) is validation; folds 1-4 are training data
VALIDATION = 0
SENTENCE_BLOCK = 10  # consecutive lines of a sentence source that form one group
# An entry of feb.txt with fewer Arabic letters than this is not an article (a bare video link).
MIN_ARABIC_LETTERS = 50
SCHEMA = {"text": pl.String, "label": pl.String, "source": pl.String, "group": pl.String, "credit": pl.String}
Item = tuple[str, str, str, str, str | None]


def fold_of(group: str) -> int:
    """The fold (0 = validation, 1-4 training) of a group: SHA-256 of salt and group, mod FOLDS."""
    digest = hashlib.sha256(f"{VALIDATION_SALT}\0{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % FOLDS


def with_folds(items: pl.DataFrame) -> pl.DataFrame:
    """Add the `fold` column from `group`."""
    groups = items["group"].unique().sort()
    folds = dict(zip(groups, map(fold_of, groups), strict=True))
    return items.with_columns(fold=pl.col("group").replace_strict(folds, return_dtype=pl.Int8))


def darija_lid(data: Path) -> Iterator[Item]:
    """darija-lid/train.jsonl: one sentence a line; groups are blocks of lines of one source."""
    seen: dict[str, int] = {}
    with (data / "darija-lid" / "train.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            source = str(row["source"]).split(" ", 1)[0]  # Tatoeba's ends in a citation
            index = seen[source] = seen.get(source, -1) + 1
            # Tatoeba's licence names each sentence's author: "CC-BY-2.0-FR; attribution tatoeba.org #1 (x)".
            credit = str(row["license"]).partition("attribution ")[2] or None
            yield row["text"], row["label"], source, f"{source}#{index // SENTENCE_BLOCK}", credit


def newspapers(data: Path) -> Iterator[Item]:
    """ar-newspapers-maghreb: one article a file (Windows-1256); lines without Arabic letters go."""
    folder = data / "ar-newspapers-maghreb"
    for path in sorted(folder.rglob("*.txt")):
        text = path.read_bytes().decode("cp1256", errors="replace").replace("\r\n", "\n")
        lines = [line for line in text.split("\n") if any("\u0621" <= c <= "\u064a" for c in line)]
        name = path.relative_to(folder).as_posix()
        yield "\n".join(lines), "ar", "ar-newspapers-maghreb", f"ar-newspapers-maghreb/{name}", None


def moroccan_news(data: Path) -> Iterator[Item]:
    """ar-ma-news-corpus/feb.txt: lines `content: [paragraphs]`, one article each."""
    path = data / "ar-ma-news-corpus" / "feb.txt"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if line.startswith("content: ["):
            text = "\n".join(str(p) for p in ast.literal_eval(line.removeprefix("content: ")))
            if sum("\u0621" <= c <= "\u064a" for c in text) >= MIN_ARABIC_LETTERS:
                yield text, "ar", "ar-ma-news-corpus", f"ar-ma-news-corpus/feb.txt:{number}", None


def french(data: Path) -> Iterator[Item]:
    """The French scrapes, first text of each URL: financial news (9 scrapes) and Mosaïque FM."""
    csv.field_size_limit(1 << 30)
    files = sorted((data / "fr-financial-ma" / "scrapes").glob("*.csv"))
    tables = [(path, "url", "text", "fr-financial-ma") for path in files]
    tables.append((data / "fr-tn-mosaiquefm" / "MosaiqueFM_v0.csv", "url", "Article", "fr-tn-mosaiquefm"))
    seen: set[str] = set()
    for path, url, text, source in tables:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get(text) and row[url] not in seen:
                    seen.add(row[url])
                    yield row[text], "fr", source, f"{source}/{row[url]}", None


def labelled_items(data: Path) -> pl.DataFrame:
    """`text`, `label`, `source`, `group`, `credit` (Tatoeba's attribution) and `fold` of every item."""
    rows = [*darija_lid(data), *newspapers(data), *moroccan_news(data), *french(data)]
    return with_folds(pl.DataFrame(rows, schema=SCHEMA, orient="row"))
