"""Very long documents: a whole build on one 32 MB and one 200 MB single-line text, with the length
limit raised so every step really reads them; seconds grow linearly with the length.

Run: `pytest -m benchmark tests/benchmarks/bench_long_documents.py -s` (LONG_BENCH_MB sets the
sizes, default "32,200"). Prints megabytes, seconds, seconds per megabyte and the peak RSS of the
process tree.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import yaml

from tests.benchmarks.conftest import CONFIGS, SHARED, corpus_build_command, print_table
from tests.benchmarks.process_tree import log_tail, measure


def long_text(megabytes: int, seed: int = 5) -> str:
    """Real French words (MosaiqueFM articles, else a small list) in random order, one line."""
    source = SHARED / "data" / "fr-tn-mosaiquefm" / "MosaiqueFM_v0.csv"
    words = (
        source.read_text(encoding="utf-8").split() if source.is_file() else ["le", "marché", "la", "banque"]
    )
    rng = random.Random(seed)
    chunk = " ".join(rng.choice(words) for _ in range(200_000))
    return (chunk + " ") * (megabytes * 1_000_000 // (len(chunk) + 1) + 1)


def config(folder: Path, megabytes: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = long_text(megabytes)[: megabytes * 1_000_000]
    (folder / "long.txt").write_text("Un titre\n" + text, encoding="utf-8")
    path = folder / "config.yaml"
    settings = {
        "name": "long",
        "version": "0.1.0",
        "sources": [{"name": "long", "kind": "text", "path": "long.txt"}],
        "quality": {"max_document_chars": 10**9},
        "boilerplate": {"patterns": os.path.relpath(CONFIGS / "boilerplate.yaml", folder)},
        "metadata": {"outlets": os.path.relpath(CONFIGS / "outlets.yaml", folder)},
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def test_long_documents_are_linear(tmp_path: Path) -> None:
    sizes = [int(n) for n in os.environ.get("LONG_BENCH_MB", "32,200").split(",")]
    rows = []
    for megabytes in sizes:
        folder = tmp_path / f"{megabytes}mb"
        path = config(folder, megabytes)
        run = measure(corpus_build_command(path, folder / "out"), folder / "build.log")
        assert run.returncode == 0, log_tail(folder / "build.log")
        rows.append(
            [megabytes, f"{run.seconds:.1f}", f"{run.seconds / megabytes:.2f}", f"{run.peak_rss_mib:,.0f}"]
        )
    print_table(
        "One single-line document through a whole build (max_document_chars raised)",
        ["MB", "seconds", "seconds per MB", "peak RSS, process tree (MiB)"],
        rows,
    )
