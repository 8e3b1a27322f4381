"""Repair against plain ftfy on a generated corpus with 5% damaged documents.

The generator damages a document by decoding its UTF-8 bytes as cp1252 (French) or cp1256
(Arabic) with `errors="replace"`. The same generator run with `--mojibake-share 0` draws the
same random numbers, so it yields every document's undamaged twin: a damaged document counts as
restored when it comes out of repair identical to its twin. Bytes cp1252 does not define (0x81,
0x8D, 0x8F, 0x90, 0x9D) become U+FFFD, so some French documents are not restorable in principle;
the table counts them.

    pytest -m benchmark tests/benchmarks/bench_repair.py -s
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import ftfy
import polars as pl

from corpus.config import RepairConfig
from corpus.repair import repair, repair_totals
from corpus.schema import conform
from tests.benchmarks.conftest import make_corpus, print_table

DOCS = 20_000
SEED = 11
MOJIBAKE_SHARE = 0.05


def load(folder: Path) -> pl.DataFrame:
    records = pl.read_ndjson(folder / "articles.jsonl").select("id", "text")
    labels = pl.read_ndjson(folder / "labels.jsonl").select(
        pl.col("doc_id").alias("id"), "language", "mojibake"
    )
    return records.join(labels, on="id", how="left", maintain_order="left")


def timed_repair(texts: list[str]) -> tuple[list[str], pl.DataFrame, float]:
    frame = conform(pl.DataFrame({"text": texts}))
    started = time.perf_counter()
    out = repair(frame, RepairConfig())
    return out["text"].to_list(), out, time.perf_counter() - started


def timed_ftfy(texts: list[str]) -> tuple[list[str], float]:
    started = time.perf_counter()
    out = [ftfy.fix_text(text) for text in texts]
    return out, time.perf_counter() - started


def test_repair_speed_and_restoration() -> None:
    damaged = load(make_corpus(DOCS, "jsonl", SEED, mojibake_share=MOJIBAKE_SHARE))
    twins = load(make_corpus(DOCS, "jsonl", SEED, mojibake_share=0.0))
    assert damaged["id"].to_list() == twins["id"].to_list()
    clean = damaged.filter(~pl.col("mojibake"))
    broken = damaged.filter(pl.col("mojibake"))
    broken_twins = twins.filter(damaged["mojibake"])

    _, clean_out, ours_clean_s = timed_repair(clean["text"].to_list())
    _, ftfy_clean_s = timed_ftfy(clean["text"].to_list())
    ours_broken, broken_out, ours_broken_s = timed_repair(broken["text"].to_list())
    _, ftfy_broken_s = timed_ftfy(broken["text"].to_list())
    reference, _, _ = timed_repair(broken_twins["text"].to_list())
    config = ftfy.TextFixerConfig(uncurl_quotes=False)
    ftfy_reference = [ftfy.fix_text(text, config) for text in broken_twins["text"].to_list()]
    ftfy_ours = [ftfy.fix_text(text, config) for text in broken["text"].to_list()]

    clean_bytes = sum(len(t.encode()) for t in clean["text"].to_list()) / 1e6
    print_table(
        f"Repair speed, {DOCS} generated documents (seed {SEED}, mojibake share {MOJIBAKE_SHARE})",
        ["documents", "count", "MB", "repair docs/s", "ftfy.fix_text docs/s", "speed-up"],
        [
            row("clean", clean.height, clean_bytes, ours_clean_s, ftfy_clean_s),
            row(
                "damaged",
                broken.height,
                sum(len(t.encode()) for t in broken["text"].to_list()) / 1e6,
                ours_broken_s,
                ftfy_broken_s,
            ),
        ],
    )
    rows = []
    for language in ("fr", "ar"):
        mask = (broken["language"] == language).to_list()
        pick = [i for i, m in enumerate(mask) if m]
        restorable = [i for i in pick if "\ufffd" not in broken["text"][i]]
        restored = [i for i in pick if ours_broken[i] == reference[i]]
        ftfy_restored = [i for i in pick if ftfy_ours[i] == ftfy_reference[i]]
        replacement = [i for i in pick if "\ufffd" in ours_broken[i]]
        rows.append(
            [
                language,
                len(pick),
                f"{len(restorable)} ({pct(len(restorable), len(pick))})",
                f"{len(restored)} ({pct(len(restored), len(pick))})",
                sum(1 for i in restorable if i in set(restored)),
                f"{len(ftfy_restored)} ({pct(len(ftfy_restored), len(pick))})",
                len(replacement),
            ]
        )
    print_table(
        "Damaged documents restored exactly (repair(damaged) == repair(undamaged twin))",
        [
            "language",
            "damaged",
            "restorable in principle",
            "restored",
            "of the restorable",
            "ftfy",
            "U+FFFD left",
        ],
        rows,
    )
    false_alarms = clean_out.filter(
        pl.col("repairs").list.eval(pl.element().str.starts_with("mojibake")).list.any()
    )
    print_table(
        "Repairs applied (documents)",
        ["repair", "clean documents", "damaged documents"],
        [
            [name, repair_totals(clean_out).get(name, 0), repair_totals(broken_out).get(name, 0)]
            for name in sorted(set(repair_totals(clean_out)) | set(repair_totals(broken_out)))
        ],
    )
    print(f"clean documents given a mojibake repair: {false_alarms.height}")
    print(json.dumps({"ftfy": ftfy.__version__, "polars": pl.__version__, "threads": pl.thread_pool_size()}))
    assert len(ours_broken) == broken.height


def row(name: str, count: int, megabytes: float, ours_s: float, ftfy_s: float) -> list[object]:
    return [
        name,
        count,
        f"{megabytes:.1f}",
        f"{count / ours_s:,.0f}",
        f"{count / ftfy_s:,.0f}",
        f"{ftfy_s / ours_s:.1f}×",
    ]


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"
