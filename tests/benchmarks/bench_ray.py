"""The Ray engine against the local engine: same bytes, and what Ray costs on one machine.

Run: `pytest -m benchmark tests/benchmarks/bench_ray.py -s` (needs the `ray` extra; RAY_BENCH_DOCS,
default "20000,100000"; RAY_BENCH_CLUSTER=1 adds a two-node cluster). Each corpus (the embedded
sample, configs/real.yaml when ../shared is present, make_corpus JSONL of each size) is built in
fresh processes with `--engine local` and `--engine ray` (a local Ray started for the build, two
workers either way) and, with RAY_BENCH_CLUSTER, `--engine ray` joining a cluster of two raylets of
one CPU each simulated on this machine (`tests/ray_cluster.py`; its CPU and memory are the
cluster's daemons', outside the build's process tree, so only its wall time compares). The table
says whether the data shards and `removed/` are byte-identical to the local engine's, with wall and
CPU seconds and the peak RSS of each process tree; a second table gives each stage's wall time on
both engines (preparing, each pass, each decision, the release: the build's own stage table), so
Ray's fixed cost (start, actor pool, one Ray Data stage per pass, a shuffle per phase group-by
above the driver switches) shows where it is paid.
"""

from __future__ import annotations

import os
import shutil
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.benchmarks.conftest import (
    CONFIGS,
    SHARED,
    corpus_build_command,
    corpus_config,
    make_corpus,
    print_table,
    stage_seconds,
)
from tests.benchmarks.process_tree import Measurement, log_tail, measure
from tests.helpers import release_files
from tests.ray_cluster import loopback_cluster

pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")


def sizes() -> list[int]:
    return [int(n) for n in os.environ.get("RAY_BENCH_DOCS", "20000,100000").split(",") if n]


@dataclass
class Run:
    """One build: its measurement, the wall seconds of each stage, the data and removed files."""

    measured: Measurement
    stages: dict[str, float]
    files: dict[str, bytes]


def build(config: Path, out: Path, engine: str, env: dict[str, str] | None = None) -> Run:
    """One build with `engine` in a fresh process (in `env`: a cluster to join), its summary
    printed wide enough for one line a stage."""
    command = [*corpus_build_command(config, out, quiet=False), "--engine", engine, "--workers", "2"]
    run = measure(command, out.with_suffix(".log"), {**(env or os.environ), "COLUMNS": "200"})
    if run.returncode != 0:
        pytest.fail(
            f"corpus build --engine {engine} exited {run.returncode}:\n{log_tail(out.with_suffix('.log'))}"
        )
    files = release_files(next(out.glob("*/v*")))
    kept = {name: data for name, data in files.items() if name.startswith(("data/", "removed/"))}
    shutil.rmtree(out)
    return Run(run, stage_seconds(out.with_suffix(".log")), kept)


def corpora(tmp_path: Path) -> list[tuple[str, Path]]:
    found = [("embedded sample", CONFIGS / "maghreb.yaml")]
    if (SHARED / "data").is_dir():
        found.append(("configs/real.yaml", CONFIGS / "real.yaml"))
    for docs in sizes():
        articles = make_corpus(docs, "jsonl", seed=11) / "articles.jsonl"
        found.append((f"make_corpus {docs:,}", corpus_config(tmp_path / f"cfg-{docs}", articles)))
    return found


def test_ray_against_local(tmp_path: Path) -> None:
    rows, stages = [], []
    cluster = os.environ.get("RAY_BENCH_CLUSTER") == "1"
    with loopback_cluster(2) if cluster else nullcontext({}) as joined:
        for label, config in corpora(tmp_path):
            local = build(config, tmp_path / "local", "local")
            runs = [("local Ray", build(config, tmp_path / "ray", "ray"))]
            if cluster:
                runs.append(("two nodes", build(config, tmp_path / "two", "ray", joined)))
            for where, run in runs:
                same = local.files == run.files
                kept = f"{len(local.files)} files, " + ("yes" if same else "NO")
                rows.append(row(label, where, local.measured, run.measured, kept))
                stages.append([label, where, *stage_row(local.stages, run.stages)])
                assert same, f"{label}: the Ray engine ({where}) wrote other bytes than the local engine"
    print_table(
        "Local engine against Ray (2 workers each, fresh processes; two nodes: 2 raylets of 1 CPU here)",
        [
            "corpus",
            "ray on",
            "local s",
            "ray s",
            "ray - local",
            "CPU s local / ray",
            "peak RSS MiB local / ray",
            "byte-identical",
        ],
        rows,
    )
    print_table(
        "Where Ray's time goes: wall seconds of each stage, local / ray (the build's own stage table)",
        ["corpus", "ray on", *STAGES, "other"],
        stages,
    )


# A build's stages: preparing, passes of maps, corpus-wide decisions, the release.
STAGES = ["prepare", "pass 1", "recurring", "pass 2", "rescrape", "exact_dedup", "near_dedup", "release"]


def stage_row(local: dict[str, float], ray: dict[str, float]) -> list[str]:
    """Each stage's "local / ray" seconds, then any stage not named in `STAGES` summed."""
    cells = [f"{local.get(name, 0):.1f} / {ray.get(name, 0):.1f}" for name in STAGES]
    other = [sum(v for k, v in side.items() if k not in STAGES) for side in (local, ray)]
    return [*cells, f"{other[0]:.1f} / {other[1]:.1f}"]


def row(label: str, where: str, local: Measurement, ray: Measurement, same: str) -> list[str]:
    return [
        label,
        where,
        f"{local.seconds:.1f}",
        f"{ray.seconds:.1f}",
        f"{ray.seconds - local.seconds:+.1f}",
        f"{local.cpu_seconds:.0f} / {ray.cpu_seconds:.0f}",
        f"{local.peak_rss_mib:,.0f} / {ray.peak_rss_mib:,.0f}",
        same,
    ]
