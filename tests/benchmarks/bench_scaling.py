"""How `corpus build` scales: wall time, throughput and memory of the whole build by corpus size.

Run: `pytest -m benchmark tests/benchmarks/bench_scaling.py -s` (SCALING_BENCH_DOCS, default
"100000,300000,1000000"; try "2000,5000" first). Each size is a make_corpus JSONL (cached in
.bench-cache/: 1M documents take ~3.3 GB and a while to generate) built by `corpus build --quiet`
in a fresh process, whose whole process tree is sampled from /proc.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.benchmarks.conftest import CACHE, corpus_build_command, corpus_config, make_corpus, print_table
from tests.benchmarks.process_tree import Measurement, log_tail, measure

GIB = 1024**3
# Disk one document needs: ~3.4 KB of generated JSONL and labels, plus its share of a release
# and removed/ while the build runs (deleted after each size), with room to spare.
DISK_BYTES_PER_DOC = 8_000


def sizes() -> list[int]:
    """Corpus sizes to build, smallest first."""
    return sorted(int(n) for n in os.environ.get("SCALING_BENCH_DOCS", "100000,300000,1000000").split(","))


def check_disk(docs: list[int]) -> None:
    """Skip, saying how much is missing, when the corpora and the largest build cannot fit."""
    needed = DISK_BYTES_PER_DOC * max(docs) + sum(
        DISK_BYTES_PER_DOC * n for n in docs if not (CACHE / f"{n}-jsonl-s11" / "labels.jsonl").is_file()
    )
    free = shutil.disk_usage(CACHE.parent).free
    if free < needed:
        pytest.skip(f"needs ~{needed / GIB:.1f} GiB free beside the checkout, {free / GIB:.1f} GiB is")


def text_gib(articles: Path) -> float:
    """UTF-8 size of the text field over the whole input, in GiB (streamed, not loaded)."""
    text = pl.scan_ndjson(articles, schema={"text": pl.String})
    return text.select(pl.col("text").str.len_bytes().sum()).collect(engine="streaming").item() / GIB


def build(articles: Path, work: Path) -> Measurement:
    """One `corpus build` of `articles` in a fresh process; its release is deleted afterwards."""
    config = corpus_config(work, articles)
    run = measure(corpus_build_command(config, work / "out"), work / "build.log")
    if run.returncode != 0:
        pytest.fail(f"corpus build exited {run.returncode}:\n{log_tail(work / 'build.log')}")
    shutil.rmtree(work / "out")
    return run


def test_build_scaling(tmp_path: Path) -> None:
    docs = sizes()
    check_disk(docs)
    runs, rows = [], []
    for n in docs:
        articles = make_corpus(n, "jsonl", seed=11) / "articles.jsonl"
        run = build(articles, tmp_path / str(n))
        runs.append(run)
        rows.append(
            [
                f"{n:,}",
                f"{text_gib(articles):.3f}",
                f"{run.seconds:.1f}",
                f"{run.cpu_seconds:.1f}",
                f"{n / run.seconds:,.0f}",
                f"{run.peak_rss_mib:,.0f}",
                f"{run.peak_processes} x {run.peak_threads}",
                f"{run.seconds / runs[0].seconds:.2f}",
                f"{run.load_before:.1f}",
            ]
        )
    print_table(
        f"corpus build by size, one fresh process each (largest/smallest: {docs[-1] / docs[0]:.1f}x"
        f" documents, {runs[-1].seconds / runs[0].seconds:.1f}x time)",
        [
            "documents",
            "text GiB",
            "wall s",
            "CPU s",
            "docs/s",
            "peak RSS, process tree (MiB)",
            "processes x threads (peak)",
            "time / smallest",
            "load before",
        ],
        rows,
    )
