"""Resuming a killed build: SIGKILL at a random point, rerun, same bytes, less time.

Run: `pytest -m benchmark tests/benchmarks/bench_resume.py -s` (RESUME_BENCH_DOCS, default 20000;
RESUME_BENCH_KILLS, default 3 random points; RESUME_BENCH_SEED). Prints, per kill: when it was
killed (seconds and share of a clean build), the rerun's seconds, the clean build's, and whether
the release is byte-identical to the clean one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.benchmarks.conftest import corpus_build_command, corpus_config, make_corpus, print_table
from tests.benchmarks.process_tree import measure
from tests.helpers import release_files


def test_killed_builds_resume_to_the_same_bytes(tmp_path: Path) -> None:
    docs = int(os.environ.get("RESUME_BENCH_DOCS", "20000"))
    kills = int(os.environ.get("RESUME_BENCH_KILLS", "3"))
    rng = random.Random(int(os.environ.get("RESUME_BENCH_SEED", "7")))
    config = corpus_config(tmp_path / "cfg", make_corpus(docs, "jsonl", seed=11) / "articles.jsonl")
    clean = measure(corpus_build_command(config, tmp_path / "clean"), tmp_path / "clean.log")
    assert clean.returncode == 0
    reference = release_files(next((tmp_path / "clean").glob("*/v*")))
    rows = []
    for attempt in range(kills):
        out = tmp_path / f"killed-{attempt}"
        at = rng.uniform(0.1, 0.9) * clean.seconds
        process = subprocess.Popen(corpus_build_command(config, out), start_new_session=True)
        time.sleep(at)
        os.killpg(process.pid, signal.SIGKILL)  # the build and its workers, as an OOM killer would
        process.wait()
        rerun = measure(corpus_build_command(config, out), tmp_path / f"rerun-{attempt}.log")
        assert rerun.returncode == 0
        files = release_files(next(out.glob("*/v*")))
        same = sorted(files) == sorted(reference) and all(files[k] == reference[k] for k in files)
        rows.append(
            [
                f"{at:.0f} s ({at / clean.seconds:.0%})",
                f"{rerun.seconds:.0f}",
                f"{clean.seconds:.0f}",
                f"{rerun.seconds / clean.seconds:.0%}",
                "yes" if same else "NO",
            ]
        )
        assert same
    print_table(
        f"Resume after SIGKILL, make_corpus {docs} docs (local engine, one process per core)",
        ["killed at", "rerun seconds", "clean seconds", "rerun / clean", "byte-identical"],
        rows,
    )
