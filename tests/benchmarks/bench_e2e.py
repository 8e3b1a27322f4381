"""End to end: the whole `corpus build` next to datatrove's MinHash pipeline, on the same input.

Run: `pip install -c constraints.txt -c constraints-bench.txt -e '.[bench]'`, then
`pytest -m benchmark tests/benchmarks/bench_e2e.py -s` (E2E_BENCH_DOCS sets the size, default
100000: about 1.5 min a corpus build, 10-13 min for datatrove). The corpus side runs
E2E_BENCH_CORPUS_RUNS times (default 3), once before datatrove and the rest after it, and the
ratio is taken from their median: this machine's speed drifts by up to a fifth within minutes, and
runs on both sides of the datatrove run show how much.
Both sides read the same make_corpus JSONL, cut into two files of consecutive lines: datatrove's
readers give whole files to tasks, so one file would leave its second worker idle. Each side runs
in its own process tree, sampled from /proc, one after the other on a warm page cache, and both
are scored on the labels in the same way (`scoring.py`).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.benchmarks.conftest import corpus_build_command, corpus_config, make_corpus, print_table
from tests.benchmarks.process_tree import Measurement, log_tail, measure
from tests.benchmarks.scoring import DedupScores, dedup_scores, labelled, with_whole_word_jaccard

PARTS = 2
DATATROVE = Path(__file__).with_name("datatrove_pipeline.py")
# What the datatrove side imports: datatrove itself, spaCy for its default word tokenizer, orjson
# for its JSONL reader, and regex and tokenizers that its dedup package imports undeclared.
DATATROVE_MODULES = ["datatrove", "spacy", "orjson", "regex", "tokenizers"]
INSTALL_HINT = "pip install -c constraints.txt -c constraints-bench.txt -e '.[bench]'"
REMOVED_COLUMNS = ["id", "source_file", "source_line", "removed_reason", "dup_of", "similarity"]


@dataclass(frozen=True)
class Side:
    """One tool's run: how it was measured, how well it deduplicated, how it ran in parallel."""

    name: str
    run: Measurement
    scores: DedupScores
    whole_words: DedupScores  # recall on Jaccard over whole words (see scoring.DIACRITICS)
    parallelism: str


def split_lines(articles: Path, parts: int = PARTS) -> Path:
    """A folder beside `articles` holding it as `parts` files of consecutive lines (cached)."""
    folder = articles.parent / f"parts-{parts}"
    if folder.is_dir():
        return folder
    size = -(-count_lines(articles) // parts)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    with articles.open("rb") as lines:
        for index in range(parts):
            with (partial / f"part-{index:05d}.jsonl").open("wb") as out:
                out.writelines(itertools.islice(lines, size))
    partial.rename(folder)
    return folder


def count_lines(path: Path) -> int:
    """Newlines in a file, read in large blocks."""
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))


def part_files(folder: Path) -> list[Path]:
    """The input files in the order datatrove hands them to tasks (sorted names)."""
    return sorted(folder.glob("*.jsonl"))


def line_offsets(files: list[Path]) -> dict[str, int]:
    """Per file name, how many lines come before it: file line + offset = line in the whole input."""
    offsets, total = {}, 0
    for path in files:
        offsets[path.name] = total
        total += count_lines(path)
    return offsets


def warm(files: list[Path]) -> None:
    """Read the input once so that neither side pays for the first read from disk."""
    for path in files:
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def run_checked(command: list[str], log: Path) -> Measurement:
    """`measure`, failing with the end of the log when the command fails."""
    run = measure(command, log)
    if run.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {run.returncode}:\n{log_tail(log)}")
    return run


def corpus_rows(release: Path, offsets: dict[str, int]) -> pl.DataFrame:
    """Every input line's fate in a release: released, or removed with its reason and dup_of."""
    released = pl.read_parquet(release / "data" / "*" / "*.parquet", columns=REMOVED_COLUMNS[:3])
    removed = pl.read_parquet(release / "removed" / "*.parquet", columns=REMOVED_COLUMNS)
    rows = pl.concat([released, removed], how="diagonal_relaxed")
    file_name = pl.col("source_file").str.split("/").list.last()
    return rows.with_columns(
        source_line=file_name.replace_strict(offsets, return_dtype=pl.Int64) + pl.col("source_line")
    )


def run_corpus(folder: Path, work: Path) -> tuple[Side, pl.DataFrame]:
    """`corpus build --quiet` on the split input, as a user runs it."""
    config = corpus_config(work / "config", folder)
    run = run_checked(corpus_build_command(config, work / "out"), work / "corpus.log")
    release = next((work / "out").glob("*/v*"))
    rows = corpus_rows(release, line_offsets(part_files(folder)))
    side = Side(
        "corpus build",
        run,
        *scores(folder.parent, rows),
        f"a main process and {os.cpu_count()} worker processes (the local engine's pool, one per core;"
        " polars pool and MinHash: 2 threads each)",
    )
    return side, rows


def scores(folder: Path, rows: pl.DataFrame) -> tuple[DedupScores, DedupScores]:
    """Scores on make_corpus's labels, and with recall on whole-word Jaccard."""
    frame = with_whole_word_jaccard(folder, labelled(folder, rows))
    return dedup_scores(frame), dedup_scores(frame, "jaccard_whole")


def read_indices(path: Path, width: int) -> np.ndarray:
    """A datatrove `.remove` (width 1) or `.clusters` (width 2: index, cluster) file as uint32 rows."""
    if not path.is_file():
        return np.empty((0, width), dtype=np.uint32)
    return np.fromfile(path, dtype="<u4").reshape(-1, width)


def datatrove_rows(folder: Path, work: Path) -> pl.DataFrame:
    """Every input line's fate in datatrove's run, in the same shape as `corpus_rows`: documents the
    filter dropped are `near_duplicate`, `dup_of` the document their cluster kept."""
    remove_ids, frames, offset = work / "minhash" / "remove_ids", [], 0
    for rank, path in enumerate(part_files(folder)):
        ids = pl.read_ndjson(path, schema={"id": pl.String})["id"]
        removed = np.zeros(ids.len(), dtype=bool)
        removed[read_indices(remove_ids / f"{rank:06d}.remove", 1)[:, 0]] = True
        cluster = np.full(ids.len(), -1, dtype=np.int64)
        clusters = read_indices(remove_ids / f"{rank:06d}.clusters", 2)
        cluster[clusters[:, 0]] = clusters[:, 1]
        frames.append(
            pl.DataFrame({"id": ids, "removed": removed, "cluster": cluster}).with_columns(
                source_line=pl.int_range(1, ids.len() + 1, dtype=pl.Int64) + offset
            )
        )
        offset += ids.len()
    rows = pl.concat(frames)
    kept = set(pl.read_parquet(work / "output" / "*.parquet", columns=["id"])["id"].to_list())
    if kept != set(rows.filter(~pl.col("removed"))["id"].to_list()):
        raise AssertionError(
            "datatrove's output is not its input minus its .remove files: task order changed?"
        )
    survivor = rows.filter((pl.col("cluster") >= 0) & ~pl.col("removed")).select("cluster", dup_of="id")
    return rows.join(survivor, on="cluster", how="left").select(
        "id",
        "source_line",
        removed_reason=pl.when("removed").then(pl.lit("near_duplicate")),
        dup_of=pl.when("removed").then("dup_of"),
        similarity=pl.lit(None, pl.Float64),
    )


def run_datatrove(folder: Path, work: Path) -> tuple[Side, pl.DataFrame, dict[str, float]]:
    """datatrove's four MinHash stages on the split input, in a fresh interpreter."""
    run = run_checked([sys.executable, str(DATATROVE), str(folder), str(work)], work.parent / "datatrove.log")
    rows = datatrove_rows(folder, work)
    stages = json.loads((work / "stages.json").read_text(encoding="utf-8"))
    parallelism = "2 tasks on 2 worker processes (buckets: 14 tasks on 2; clustering: 1)"
    side = Side("datatrove", run, *scores(folder.parent, rows), parallelism)
    return side, rows, stages


def check_lines(rows: pl.DataFrame, docs: int, side: str) -> None:
    """Every input line is accounted for exactly once, or the scores would mean nothing."""
    if rows.height != docs or rows["source_line"].n_unique() != docs:
        raise AssertionError(f"{side}: {rows.height} rows for {docs} input lines")


def side_row(side: Side, docs: int, baseline: float) -> list[object]:
    """One line of the comparison table."""
    rate = docs / side.run.seconds
    return [
        side.name,
        f"{docs:,}",
        f"{side.run.seconds:.1f}",
        f"{side.run.cpu_seconds:.1f}",
        f"{rate:,.0f}",
        f"{rate / baseline:.2f}x",
        f"{side.run.peak_rss_mib:,.0f}",
        f"{side.run.peak_processes} x {side.run.peak_threads}",
        f"{side.scores.removed:,}",
        f"{side.scores.precision:.5f}",
        f"{side.scores.recall:.4f} of {side.scores.strong:,}",
        f"{side.whole_words.recall:.5f} of {side.whole_words.strong:,}",
    ]


def test_corpus_against_datatrove(tmp_path: Path) -> None:
    missing = [name for name in DATATROVE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"the datatrove side needs {', '.join(missing)} (the bench extra): {INSTALL_HINT}")
    docs = int(os.environ.get("E2E_BENCH_DOCS", "100000"))
    runs = max(1, int(os.environ.get("E2E_BENCH_CORPUS_RUNS", "3")))
    folder = split_lines(make_corpus(docs, "jsonl", seed=11) / "articles.jsonl")
    warm(part_files(folder))
    corpus, rows = run_corpus(folder, tmp_path / "corpus")
    shutil.rmtree(tmp_path / "corpus" / "out")
    datatrove, datatrove_lines, stages = run_datatrove(folder, tmp_path / "datatrove")
    shutil.rmtree(tmp_path / "datatrove")
    check_lines(rows, docs, "corpus")
    check_lines(datatrove_lines, docs, "datatrove")
    corpus_runs = [replace(corpus, name="corpus build, before datatrove")]
    for number in range(1, runs):
        again, again_rows = run_corpus(folder, tmp_path / f"corpus-{number}")
        shutil.rmtree(tmp_path / f"corpus-{number}" / "out")
        order = ["source_line"]
        assert again_rows.sort(order).equals(rows.sort(order)), "a rebuild gave another release"
        corpus_runs.append(replace(again, name=f"corpus build, after datatrove ({number})"))
    baseline = docs / datatrove.run.seconds
    median = statistics.median(side.run.seconds for side in corpus_runs)
    print_table(
        f"End to end on make_corpus {docs:,} docs seed 11 ({PARTS} JSONL files): corpus {runs} run(s),"
        f" datatrove one; median corpus ratio {datatrove.run.seconds / median:.2f}x",
        [
            "side",
            "documents",
            "wall s",
            "CPU s",
            "docs/s",
            "throughput vs datatrove",
            "peak RSS, process tree (MiB)",
            "processes x threads (peak)",
            "removed as duplicates",
            "precision",
            "recall, J >= 0.8",
            "recall, whole-word J >= 0.8",
        ],
        [*(side_row(side, docs, baseline) for side in corpus_runs), side_row(datatrove, docs, baseline)],
    )
    reasons = (
        rows.filter(pl.col("removed_reason").is_not_null())
        .group_by("removed_reason")
        .len()
        .sort("removed_reason")
    )
    print(
        "Removed as duplicates: corpus, rows of removed/ whose reason is rescrape, exact_duplicate or"
        " near_duplicate (survivor: dup_of); datatrove, documents MinhashDedupFilter dropped (survivor:"
        " the document its cluster kept). Precision: removed documents whose survivor tells the same"
        " story; recall: variants at true J >= 0.8 that end in their original's cluster; whole-word J:"
        " the same Jaccard with Arabic diacritics removed first (make_corpus's `\\w+` cuts a word at"
        " each, so its label counts fragments of vocalised Arabic words).\n"
        f"corpus removed/ by reason: {dict(reasons.iter_rows())}\n"
        f"Parallelism: corpus {corpus.parallelism}; datatrove {datatrove.parallelism}; threads count"
        " every thread of the tree, idle pools included; CPU s is user + system time of the whole tree.\n"
        "1-minute load average before each run (other users included): corpus "
        + ", ".join(f"{side.run.load_before:.1f}" for side in corpus_runs)
        + f"; datatrove {datatrove.run.load_before:.1f} on {os.cpu_count()} cores.\n"
        "datatrove seconds per stage: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in stages.items())
    )
