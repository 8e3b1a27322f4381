"""Dedup benchmarks: quality on labelled corpora, cross-outlet reprints in real scrapes, speed.

Run: `pytest -m benchmark tests/benchmarks/bench_dedup.py -s` (DEDUP_BENCH_DOCS sets the size of
the quality corpus, default 100000; DEDUP_BENCH_SCALES the sizes of the scaling run, default
"10000,100000"; add 1000000 when there is time: generating it takes minutes, the run ~4 and
a peak near 4 GiB, of which the loaded input frame is 3.2 GiB).
Quality runs the whole pipeline (repair first), as a build does, on a make_corpus set whose
labels give each document's story, kind and true word 5-gram Jaccard to its story.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import datasketch
import numpy as np
import polars as pl
import pytest

from corpus.build import build
from corpus.config import DedupConfig
from corpus.dedup import ExactDuplicates, NearDuplicates, Rescrapes, shingles, signatures
from corpus.dedup.lsh import band_keys, candidate_pairs
from corpus.dedup.normalise import matching_text
from corpus.engine.memory import run_steps
from corpus.schema import conform
from tests.benchmarks.conftest import ROOT, SHARED, corpus_config, make_corpus, print_table
from tests.benchmarks.scoring import adjusted_rand_index, dedup_scores, labelled

# Timings of ours and datasketch's on the same 3,000 documents: the median of this many runs.
SAME_DOC_RUNS = 3


def run_pipeline(config: Path) -> pl.DataFrame:
    """Every row after a whole build (released and removed), with the step timings."""
    summary = build(config, config.parent / "out")
    for report in summary.steps:
        print(f"  {report.name:<12} {report.rows_in:>8} -> {report.rows_out:>8}  {report.seconds:7.1f} s")
    return pl.concat([summary.released(), summary.removed()], how="diagonal_relaxed")


def test_quality_on_labelled_corpus(tmp_path: Path) -> None:
    docs = int(os.environ.get("DEDUP_BENCH_DOCS", "100000"))
    folder = make_corpus(docs, "jsonl", seed=11)
    started = time.perf_counter()
    # The shipped defaults run the corpus-level furniture pass; DEDUP_BENCH_RECURRING=0 turns it
    # off to see dedup alone (generated stories recombine a finite pool of real sentences).
    recurring = os.environ.get("DEDUP_BENCH_RECURRING") != "0"
    rows = run_pipeline(corpus_config(tmp_path, folder / "articles.jsonl", recurring=recurring))
    seconds = time.perf_counter() - started
    frame = labelled(folder, rows)
    scores = dedup_scores(frame)
    variants = frame.filter(pl.col("kind") != "original")
    strong = variants.filter(pl.col("jaccard") >= 0.8)
    damaged = strong.filter("mojibake")
    print_table(
        f"Dedup quality, make_corpus {docs} docs seed 11, whole pipeline ({seconds:.0f} s)",
        ["measure", "value", "docs"],
        [
            [
                "precision (removed docs whose survivor is the same story)",
                f"{scores.precision:.5f}",
                scores.removed,
            ],
            [
                "recall, variants J >= 0.8 (in their original's cluster)",
                f"{scores.recall:.4f}",
                scores.strong,
            ],
            [
                "recall, damaged-encoding variants J >= 0.8",
                f"{damaged['found'].mean():.4f}",
                damaged.height,
            ],
            [
                "recall, all damaged-encoding variants",
                f"{variants.filter('mojibake')['found'].mean():.4f}",
                variants.filter("mojibake").height,
            ],
            [
                "originals removed (a variant of theirs survived)",
                f"{frame.filter(pl.col('kind') == 'original')['removed'].mean():.5f}",
                frame.filter((pl.col("kind") == "original") & pl.col("removed")).height,
            ],
            [
                "ARI clusters vs stories",
                f"{adjusted_rand_index(frame['story_id'], frame['cluster']):.4f}",
                frame.height,
            ],
        ],
    )
    tenth = (pl.col("jaccard") * 10).floor() / 10
    bucket = (
        pl.when(pl.col("jaccard") < 0.5)
        .then(pl.lit("[0, 0.5)"))
        .otherwise(pl.format("[{}, {})", tenth.round(1), (tenth + 0.1).round(1)))
    )
    bucketed = variants.with_columns(
        bucket=pl.when(pl.col("jaccard") >= 1).then(pl.lit("[1.0]")).otherwise(bucket)
    )
    table = bucketed.group_by("bucket").agg(pl.len(), pl.col("found").mean()).sort("bucket")
    print_table(
        "Recall by true Jaccard of the variant to its story",
        ["J bucket", "variants", "recall"],
        [[b, n, f"{r:.4f}"] for b, n, r in table.iter_rows()],
    )
    kinds = (
        variants.group_by("kind").agg(pl.len(), pl.col("found").mean(), pl.col("jaccard").mean()).sort("kind")
    )
    print_table(
        "Recall by kind of variant",
        ["kind", "variants", "recall", "mean J"],
        [[k, n, f"{r:.4f}", f"{j:.3f}"] for k, n, r, j in kinds.iter_rows()],
    )


@pytest.mark.realdata
def test_cross_outlet_reprints_in_financial_scrapes(tmp_path: Path) -> None:
    """Pairs of different outlets at exact J >= 0.5 among documents that reached exact dedup,
    found through LSH tuned for 0.5 and verified exactly, with what the default build kept."""
    scrapes = SHARED / "data" / "fr-financial-ma" / "scrapes"
    if not scrapes.is_dir():
        pytest.skip("../shared/data is absent")
    sys.path.insert(0, str(ROOT))
    from tests.conftest import write_config

    rows = run_pipeline(write_config(tmp_path, ["fr-financial"]))
    reached = pl.col("removed_step").is_null() | pl.col("removed_step").is_in(["exact_dedup", "near_dedup"])
    entered = rows.filter(reached).sort("id", "source_line")
    loose = DedupConfig(threshold=0.5)
    matching = entered.select(matching_text(pl.col("text")))["text"]
    sig = signatures(matching, loose.num_perm, loose.seed, loose.ngram)
    bands = band_keys(sig, *loose.bands_rows)
    pairs = candidate_pairs(iter(bands.T), np.zeros(entered.height, dtype=np.uint32))
    left, right = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    exact = exact_jaccard(matching, left, right, loose.ngram)
    found = pl.DataFrame({"left": left, "right": right, "jaccard": exact}).filter(pl.col("jaccard") >= 0.5)
    info = entered.select("source", "published_date", "removed_reason", "dup_of", "id").with_row_index("row")
    found = found.join(info.rename(lambda c: f"{c}_a"), left_on="left", right_on="row_a").join(
        info.rename(lambda c: f"{c}_b"), left_on="right", right_on="row_b"
    )
    found = found.filter(pl.col("source_a") != pl.col("source_b")).sort(
        "jaccard", "id_a", descending=[True, False]
    )
    outlet = dict(rows.filter(pl.col("removed_reason").is_null()).select("id", "source").iter_rows())

    def kept(row: dict) -> str:
        a = row["dup_of_a"] if row["removed_reason_a"] else row["id_a"]
        b = row["dup_of_b"] if row["removed_reason_b"] else row["id_b"]
        if a != b:
            return "both (below the 0.8 threshold)"
        how = "exact" if "exact_duplicate" in (row["removed_reason_a"], row["removed_reason_b"]) else "near"
        return f"{outlet.get(a, '?')} ({how})"

    print_table(
        f"Cross-outlet pairs at J >= 0.5 in the financial scrapes ({found.height} pairs; "
        f"all-pairs check: {brute_force_pairs(matching, entered['source'])})",
        ["J", "outlet A", "date A", "outlet B", "date B", "kept by the default build"],
        [
            [
                f"{r['jaccard']:.3f}",
                r["source_a"],
                r["published_date_a"],
                r["source_b"],
                r["published_date_b"],
                kept(r),
            ]
            for r in found.iter_rows(named=True)
        ],
    )


def exact_jaccard(matching: pl.Series, left: np.ndarray, right: np.ndarray, ngram: int) -> np.ndarray:
    """Word n-gram Jaccard of each pair of matching texts (a benchmark check, not the build's)."""
    texts = matching.to_list()

    def grams(text: str) -> set[tuple[str, ...]]:
        words = text.split()
        return {tuple(words[i : i + ngram]) for i in range(max(len(words) - ngram + 1, 1))}

    found = [grams(t) for t in texts]
    return np.array(
        [len(found[a] & found[b]) / len(found[a] | found[b]) for a, b in zip(left, right, strict=True)]
    )


def brute_force_pairs(matching: pl.Series, outlets: pl.Series, ngram: int = 5) -> int:
    """Cross-outlet pairs at J >= 0.5 by comparing every pair of n-gram sets (checks the LSH)."""
    grams = []
    for text in matching.to_list():
        words = text.split()
        grams.append({tuple(words[i : i + ngram]) for i in range(max(len(words) - ngram + 1, 1))})
    names = outlets.to_list()
    count = 0
    for i in range(len(grams)):
        for j in range(i + 1, len(grams)):
            a, b = grams[i], grams[j]
            if names[i] == names[j] or min(len(a), len(b)) < 0.5 * max(len(a), len(b)):
                continue
            shared = len(a & b)
            count += shared / (len(a) + len(b) - shared) >= 0.5
    return count


def test_signature_speed_against_datasketch() -> None:
    docs = int(os.environ.get("DEDUP_BENCH_DOCS", "100000"))
    folder = make_corpus(docs, "jsonl", seed=11)
    texts = pl.read_ndjson(folder / "articles.jsonl", schema={"text": pl.String})["text"]
    matching = texts.to_frame().select(matching_text(pl.col("text")))["text"]
    section = DedupConfig()
    started = time.perf_counter()
    ours = signatures(matching, section.num_perm, section.seed, section.ngram)
    ours_seconds = time.perf_counter() - started
    sample = matching.head(3000).to_list()

    def theirs() -> None:
        for text in sample:
            minhash = datasketch.MinHash(num_perm=section.num_perm, seed=section.seed)
            minhash.update_batch(shingles(text, section.ngram))

    # The same documents for both, each timed SAME_DOC_RUNS times (median): one run of ours on
    # 3,000 documents takes ~0.1 s, too short to time once on a shared machine.
    theirs_seconds = _median_seconds(theirs)
    same_seconds = _median_seconds(
        partial(signatures, pl.Series(sample), section.num_perm, section.seed, section.ngram)
    )
    words = matching.str.count_matches(" ").mean()
    print_table(
        f"Signatures, 128 permutations, word 5-grams (mean {words:.0f} words per document)",
        ["implementation", "docs", "seconds", "docs/s"],
        [
            [
                "corpus (numpy xxh3)",
                ours.shape[0],
                f"{ours_seconds:.1f}",
                f"{ours.shape[0] / ours_seconds:,.0f}",
            ],
            [
                "corpus, the datasketch docs",
                len(sample),
                f"{same_seconds:.2f}",
                f"{len(sample) / same_seconds:,.0f}",
            ],
            [
                "datasketch MinHash.update_batch loop",
                len(sample),
                f"{theirs_seconds:.1f}",
                f"{len(sample) / theirs_seconds:,.0f}",
            ],
        ],
    )


def _median_seconds(run: Callable[[], object]) -> float:
    """Median wall time of SAME_DOC_RUNS calls."""
    times = []
    for _ in range(SAME_DOC_RUNS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def test_whole_dedup_scaling() -> None:
    """Exact + signatures + LSH + clustering (the three dedup steps) in a fresh process per size,
    on frames prepared once (language from the labels: language ID is not what is measured)."""
    scales = [int(n) for n in os.environ.get("DEDUP_BENCH_SCALES", "10000,100000").split(",")]
    rows = []
    for docs in scales:
        prepared = prepare(make_corpus(docs, "jsonl", seed=11))
        command = [sys.executable, __file__, str(prepared)]
        done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            [
                docs,
                f"{result['seconds']:.1f}",
                f"{docs / result['seconds']:,.0f}",
                f"{result['loaded_mb']:,.0f}",
                f"{result['peak_mb']:,.0f}",
                f"{result['peak_mb'] - result['loaded_mb']:,.0f}",
                result["removed"],
            ]
        )
    print_table(
        "Whole dedup (rescrape + exact + near), one process per size",
        [
            "docs",
            "seconds",
            "docs/s",
            "RSS with the input frame loaded (MiB)",
            "peak RSS (MiB)",
            "added by dedup (MiB)",
            "removed",
        ],
        rows,
    )


def prepare(folder: Path) -> Path:
    """The corpus as a canonical Parquet frame (cached beside it)."""
    out = folder / "dedup-input.parquet"
    if not out.is_file():
        articles = pl.scan_ndjson(
            folder / "articles.jsonl",
            schema={"id": pl.String, "url": pl.String, "text": pl.String, "source": pl.String},
        )
        labels = pl.scan_ndjson(folder / "labels.jsonl", schema={"doc_id": pl.String, "language": pl.String})
        frame = articles.join(labels, left_on="id", right_on="doc_id").with_columns(
            source_name=pl.lit("bench"),
            source_file=pl.lit("articles.jsonl"),
            source_line=pl.int_range(1, pl.len() + 1),
        )
        frame.sink_parquet(out)
    return out


def resident_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process from /proc, in MiB; ru_maxrss would include the
    memory of the parent the process was forked from."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(x for x in status.read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _measure(path: Path) -> dict[str, float]:
    frames = [conform(pl.read_parquet(path))]
    loaded_mb = resident_mb("VmRSS")
    section = DedupConfig()
    steps = [Rescrapes(section), ExactDuplicates(section), NearDuplicates(section)]
    started = time.perf_counter()
    # The three phases over one in-memory frame (the in-memory engine): dedup alone, without the
    # work folder; a build's whole run is measured by bench_scaling.py.
    result = run_steps(frames.pop(), steps)
    seconds = time.perf_counter() - started
    peak_mb = resident_mb("VmHWM")
    return {"seconds": seconds, "loaded_mb": loaded_mb, "peak_mb": peak_mb, "removed": result.removed.height}


if __name__ == "__main__":
    print(json.dumps(_measure(Path(sys.argv[1]))))
