"""Pages, furniture and metadata per source: how much is parsed, resolved and removed.

Runs the front of the pipeline (read, repair, boilerplate, metadata) on every real source of
configs/real.yaml, on the seed page, and on a generated aggregator corpus
(`make_corpus.py --format raw`) whose layout says which lines are furniture. The generated
corpus is run twice: as generated, and with every byline line deleted so no page parses and
the ticker, modal and footer must be found by the corpus-level recurring-segment pass.
Pages whose encoding the generator damaged are left out of the line scores (their clean lines
cannot be recovered from the page itself); they are in every other column.

    pytest -m benchmark tests/benchmarks/bench_pages.py -s
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import time
import unicodedata
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from corpus.boilerplate import Furniture, load_furniture, parse_pages, strip_boilerplate
from corpus.boilerplate.patterns import strip_furniture
from corpus.boilerplate.recurring import RecurringFurniture, document_groups, segments
from corpus.config import LoadedConfig, SourceConfig, load_config
from corpus.engine.memory import MemoryStore, run_steps
from corpus.metadata.dates import parse_dates
from corpus.metadata.outlets import alias_table, load_outlets
from corpus.pipeline import plan
from corpus.repair import repair
from corpus.schema import conform
from corpus.sources import read_source
from tests.benchmarks.conftest import SHARED, make_corpus, print_table
from tests.helpers import FRENCH_MONTHS

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "configs" / "real.yaml"
SEED = SHARED / "seeds" / "000_8f4dca318b16cd8e.txt"
GENERATED_DOCS = 3000
# The generator's page layout (make_corpus.page): line numbers of each part.
TICKER, MODAL, TITLE, BYLINE, BODY_START = 0, (8, 9), 13, 14, 16


def front(frame: pl.DataFrame, loaded: LoadedConfig) -> pl.DataFrame:
    """Read rows through the plan's steps up to the recurring-furniture phase (repair,
    boilerplate, metadata, recurring); removed rows stay, with their reason."""
    steps = plan(loaded).steps
    until = [step.name for step in steps].index("quality")
    return run_steps(frame, steps[:until]).rows


def summary(name: str, rows: pl.DataFrame, canonical: set[str], seconds: float) -> list[object]:
    """Documents, % dates parsed, % outlets resolved, % with country, furniture, empty, seconds."""
    kept = rows.filter(pl.col("removed_reason").is_null() | (pl.col("removed_reason") == "empty"))
    n = max(kept.height, 1)
    dates = kept["published_date"].is_not_null().sum()
    outlets = kept["source"].is_in(list(canonical)).sum()
    countries = kept["country"].is_not_null().sum()
    pieces = kept.select(pl.col("furniture").list.len().sum()).item()
    recurring = kept.select(
        pl.col("furniture").list.eval(pl.element().str.starts_with("recurring_")).list.sum().sum()
    ).item()
    issues = kept["published_issue"].drop_nulls().value_counts(sort=True).rows()
    return [
        name,
        rows.height,
        f"{100 * dates / n:.1f}",
        ", ".join(f"{k} {v}" for k, v in issues) or "-",
        f"{100 * outlets / n:.1f}",
        f"{100 * countries / n:.1f}",
        pieces,
        recurring,
        (rows["removed_reason"] == "empty").sum(),
        f"{seconds:.2f}",
    ]


def generated_lines(
    folder: Path, labels: dict[str, dict], patterns: list[Furniture]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per page id: furniture lines (ticker, modal, byline, footer) and content lines (paragraphs)."""
    furniture, content = {}, {}
    for path in sorted(folder.glob("doc*.txt")):
        if labels[path.stem]["mojibake"]:
            continue  # damaged pages are not scored: their clean lines are not recoverable here
        lines = path.read_text(encoding="utf-8").split("\n")
        body = [line for line in lines[BODY_START:] if line.strip()]
        furniture[path.stem] = [lines[TICKER], *(lines[i] for i in MODAL), lines[BYLINE], body[-1]]
        content[path.stem] = [without_patterns(line, patterns) for line in body[:-1]]
    return furniture, content


def squash(text: str) -> str:
    """Base letters and digits only: repair's hygiene (spaces, bidi marks, tatweel, marks) does not count."""
    decomposed = unicodedata.normalize("NFD", text).replace("\u0640", "")
    return re.sub(r"[\W_]+", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def without_patterns(line: str, patterns: list[Furniture]) -> str:
    """A content line as it should come out: the generator's real sentences carry real furniture
    (Médias24's WhatsApp invitation), which the explicit pattern list rightly removes."""
    for pattern in patterns:
        line = pl.select(pl.lit(line).str.replace_all(pattern.regex, "")).item()
    return line


def line_scores(rows: pl.DataFrame, furniture: dict, content: dict, skip: int | None) -> tuple[str, str]:
    """Share of furniture lines no longer in the text, share of content lines not in it.

    `skip` leaves out one furniture line per page (the byline, when the pages have none)."""
    removed_furniture = total_furniture = wrong = total_content = 0
    for doc, text, reason in rows.select("doc", "text", "removed_reason").iter_rows():
        if reason not in (None, "empty") or doc not in content:
            continue  # damaged pages, and pages removed whole at repair (unrecoverable_encoding)
        out = squash(text or "")
        for number, line in enumerate(furniture[doc]):
            if number == skip:
                continue
            total_furniture += 1
            removed_furniture += squash(line) not in out
        for line in content[doc]:
            total_content += 1
            wrong += squash(line) not in out
    return (
        f"{removed_furniture}/{total_furniture} ({100 * removed_furniture / max(total_furniture, 1):.1f}%)",
        f"{wrong}/{total_content} ({100 * wrong / max(total_content, 1):.2f}%)",
    )


@pytest.fixture(scope="module")
def loaded() -> LoadedConfig:
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared/data is absent: this benchmark reads the real scrapes")
    return load_config(REAL)


def test_pages_and_metadata_per_source(loaded: LoadedConfig, tmp_path: Path) -> None:
    canonical = set(alias_table(load_outlets(loaded.resolve(loaded.config.metadata.outlets)))["source"])
    header = [
        "source",
        "documents",
        "% dates parsed",
        "no date (reason n)",
        "% outlets resolved",
        "% country",
        "furniture pieces removed",
        "of which recurring",
        "became empty",
        "seconds",
    ]
    table, scores = [], []
    for source in loaded.config.sources:
        started = time.perf_counter()
        rows = front(read_source(source, loaded.root), loaded)
        table.append(summary(source.name, rows, canonical, time.perf_counter() - started))
    seed = SourceConfig(name="seed-page", kind="pages", path=str(SEED))
    started = time.perf_counter()
    rows = front(read_source(seed, SEED.parent), loaded)
    table.append(summary("seed page", rows, canonical, time.perf_counter() - started))

    folder = make_corpus(GENERATED_DOCS, "raw")
    labels = {
        row["doc_id"]: row
        for row in map(json.loads, (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines())
    }
    patterns = load_furniture(loaded.resolve(loaded.config.boilerplate.patterns or "boilerplate.yaml"))
    furniture, content = generated_lines(folder, labels, patterns)
    broken = tmp_path / "no-byline"
    broken.mkdir()
    for path in sorted(folder.glob("doc*.txt")):
        lines = path.read_text(encoding="utf-8").split("\n")
        (broken / path.name).write_text("\n".join(lines[:BYLINE] + lines[BYLINE + 1 :]), encoding="utf-8")
    for name, where, skip in (("generated pages", folder, None), ("generated, bylines deleted", broken, 3)):
        source = SourceConfig(name="generated", kind="pages", path=".")
        started = time.perf_counter()
        rows = front(read_source(source, where), loaded)
        seconds = time.perf_counter() - started
        rows = rows.with_columns(doc=pl.col("source_file").str.replace(r"\.txt$", ""))
        table.append(summary(name, rows, canonical, seconds))
        truth = pl.DataFrame(
            [{"doc": k, "outlet": v["outlet"], "published": v["published"]} for k, v in labels.items()]
        ).with_columns(pl.col("published").str.to_date())
        checked = rows.join(truth, on="doc").filter(pl.col("removed_reason").is_null())
        right_dates = (checked["published_date"] == checked["published"]).sum()
        right_outlets = (checked["source"] == checked["outlet"]).sum()
        scores.append(
            [
                name,
                *line_scores(rows, furniture, content, skip),
                f"{100 * right_dates / max(checked.height, 1):.1f}",
                f"{100 * right_outlets / max(checked.height, 1):.1f}",
                rows.filter(pl.col("layout") == "unknown").height,
            ]
        )
    print_table(
        "Pages, furniture and metadata per source (read → repair → boilerplate → metadata)", header, table
    )
    print_table(
        f"Generated aggregator pages ({GENERATED_DOCS}, make_corpus --format raw): lines against the layout",
        [
            "corpus",
            "furniture lines removed",
            "content lines wrongly removed",
            "% dates = label",
            "% outlet = label",
            "pages unparsed",
        ],
        scores,
    )


# Literal markers of furniture in the real scrapes, read off the files by hand (not the config's regexes).
REAL_MARKERS = {
    "fr-financial": [
        "Suivez la chaîne",
        "Toute reproduction interdite",
        "Please enable JavaScript",
        "Tous droits réservés",
        "inShare",
    ],
    "ar-newspapers": ["Top of Form", "Bottom of Form"],
}


def test_furniture_in_the_real_scrapes(loaded: LoadedConfig) -> None:
    """Marker occurrences before and after, and every distinct recurring segment flagged (to read)."""
    markers, removed = [], []
    for source in loaded.config.sources:
        raw = read_source(source, loaded.root)
        rows = front(raw, loaded)
        for marker in REAL_MARKERS.get(source.name, []):
            before = raw["text"].str.count_matches(marker, literal=True).sum()
            after = rows["text"].str.count_matches(marker, literal=True).sum()
            markers.append([source.name, marker, before, after])
        kept = rows.filter(pl.col("removed_reason").is_null() | (pl.col("removed_reason") == "empty"))
        gone = recurring_removed(kept, raw, loaded)
        removed += [[source.name, kind, n, text[:90]] for kind, text, n in gone.iter_rows()]
    print_table(
        "Known furniture markers in the real scrapes", ["source", "marker", "before", "after"], markers
    )
    print_table(
        "Every distinct segment the recurring pass flagged in the real scrapes (removed at a document edge)",
        ["source", "kind", "documents", "segment"],
        removed,
    )


def recurring_removed(rows: pl.DataFrame, raw: pl.DataFrame, loaded: LoadedConfig) -> pl.DataFrame:
    """(kind, segment, documents) of the segments the corpus-wide phase flags."""
    config = loaded.config
    patterns = load_furniture(loaded.resolve(config.boilerplate.patterns or "boilerplate.yaml"))
    prepared = strip_furniture(parse_pages(repair(conform(raw), section=config.repair)), patterns)
    phase = RecurringFurniture(config.boilerplate)
    with tempfile.TemporaryDirectory() as scratch:
        found = phase.decide(MemoryStore(phase.keys(prepared), prepared, Path(scratch)))
    parts = segments(prepared).join(document_groups(prepared).with_row_index("_doc"), on="_doc")
    hits = [
        parts.join(found.filter(pl.col("kind") == kind).rename({"group": kind}), on=[kind, "hash"])
        for kind in ("outlet", "crawl")
    ]
    return (
        pl.concat([h.select("kind", pl.col("segment").str.strip_chars(), "document") for h in hits])
        .group_by("kind", "segment")
        .agg(pl.col("document").n_unique())
        .sort("document", "segment", descending=[True, False])
    )


CASABLANCA = ZoneInfo("Africa/Casablanca")


def date_forms() -> dict[str, tuple[list[str], list[dt.date | None]]]:
    """Per data set: raw date strings and their true calendar dates, from an oracle independent of
    the parser: labels for the generated corpus, strict `datetime` formats for the real scrapes."""
    data = SHARED / "data"
    financial = pl.concat(
        [
            pl.read_csv(p, infer_schema_length=0).select("date")
            for p in sorted(data.glob("fr-financial-ma/scrapes/*.csv"))
        ]
    )["date"].to_list()
    mosaique = pl.read_csv(data / "fr-tn-mosaiquefm" / "MosaiqueFM_v0.csv", infer_schema_length=0)[
        "Date"
    ].to_list()
    posts = json.loads(
        (data / "ar-ma-hespress" / "hespress_data_most_commented.json").read_text(encoding="utf-8")
    )
    hespress = [p["post_date"] for p in posts] + [
        c["comment_timestamp"] for p in posts for c in p["comments"]
    ]
    folder = make_corpus(10000, "jsonl")
    records = [
        json.loads(line) for line in (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    labels = [json.loads(line) for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines()]

    def in_zone(value: str, written: dt.date) -> dt.date:
        """With an explicit offset the calendar date is the one in the outlet's zone (Casablanca)."""
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            return written
        return stamp.astimezone(CASABLANCA).date() if stamp.tzinfo else written

    def french(value: str) -> dt.date:
        day, month, year = value.split()[:3]
        return dt.date(int(year), FRENCH_MONTHS.index(month.lower()) + 1, int(day))

    return {
        "fr-financial": (financial, [in_zone(v, dt.datetime.fromisoformat(v).date()) for v in financial]),
        "mosaiquefm": (mosaique, [french(v) for v in mosaique]),
        "hespress": (hespress, [dt.datetime.strptime(v, "%d-%m-%Y %H:%M").date() for v in hespress]),
        "generated (10k, make_corpus jsonl)": (
            [r["date"] for r in records],
            [
                in_zone(r["date"], dt.date.fromisoformat(label["published"]))
                for r, label in zip(records, labels, strict=True)
            ],
        ),
    }


def test_dates_ours_against_dateparser(loaded: LoadedConfig) -> None:
    """Correct, null and wrong calendar dates and seconds: our vectorised parser vs dateparser."""
    dateparser = pytest.importorskip("dateparser", reason="dateparser is only needed for this comparison")
    settings = {"DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first"}
    rows = []
    for name, (raw, truth) in date_forms().items():
        started = time.perf_counter()
        zones = pl.Series(["Africa/Casablanca"] * len(raw))
        ours = parse_dates(pl.Series(raw, dtype=pl.String), zones, ["Africa/Casablanca"])["published_date"]
        ours_seconds = time.perf_counter() - started
        started = time.perf_counter()
        cache = {
            value: dateparser.parse(value, languages=["fr", "ar", "en", "es"], settings=settings)
            for value in set(raw)
        }
        theirs = [cache[value].date() if cache[value] else None for value in raw]
        theirs_seconds = time.perf_counter() - started
        for parser, got, seconds in (
            ("ours", ours.to_list(), ours_seconds),
            ("dateparser", theirs, theirs_seconds),
        ):
            right = sum(g == t for g, t in zip(got, truth, strict=True))
            null = sum(g is None for g in got)
            rows.append(
                [
                    name,
                    parser,
                    len(raw),
                    len(set(raw)),
                    right,
                    null,
                    len(raw) - right - null,
                    f"{seconds:.3f}",
                ]
            )
    print_table(
        "Calendar dates against an independent oracle (dateparser called once per distinct value)",
        ["data", "parser", "values", "distinct", "right", "null", "wrong", "seconds"],
        rows,
    )


def test_boilerplate_at_scale(loaded: LoadedConfig) -> None:
    """Seconds of the boilerplate step and what the recurring pass removes on generated records,
    whose sentences come from a finite pool: every removal there is a chance recurrence."""
    folder = make_corpus(100_000, "jsonl")
    records = pl.read_ndjson(folder / "articles.jsonl")
    frame = conform(
        records.select(
            pl.col("url").alias("url_raw"),
            "title",
            "text",
            pl.col("source").alias("source_raw"),
            layout=pl.lit("record"),
            source_name=pl.lit("generated"),
            source_file=pl.lit("articles.jsonl"),
        )
    )
    patterns = load_furniture(loaded.resolve(loaded.config.boilerplate.patterns or "boilerplate.yaml"))
    rows = []
    for docs in (10_000, 100_000):
        started = time.perf_counter()
        out = strip_boilerplate(frame.head(docs), loaded.config.boilerplate, patterns)
        seconds = time.perf_counter() - started
        recurring = out.select(
            pl.col("furniture").list.eval(pl.element().str.starts_with("recurring_")).list.sum().sum()
        ).item()
        rows.append([docs, f"{seconds:.1f}", recurring, (out["removed_reason"] == "empty").sum()])
    print_table(
        "Boilerplate step on generated records (make_corpus jsonl)",
        ["documents", "seconds", "recurring segments removed", "became empty"],
        rows,
    )
