"""`corpus build`: load the config, read the sources, run the steps, check the ledger, release.

A handful of verbs in order, like a methods section: load, read, run, check, write, publish.
"""

from __future__ import annotations

import platform
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import polars as pl

from corpus import __version__
from corpus.card import render_card
from corpus.config import LoadedConfig, load_config
from corpus.dedup import write_signatures
from corpus.language import lexicons_sha256, model_sha256
from corpus.metadata.outlets import unknown_outlets
from corpus.release import (
    Split,
    file_table,
    publish_folder,
    sha256_file,
    staging_folder,
    write_json,
    write_removed,
    write_splits,
)
from corpus.release.diff import carry_changelog
from corpus.release.plots import write_plots
from corpus.runner import BuildResult, Progress, outlet_registry, plan_steps, run_steps
from corpus.sources import list_files, read_sources
from corpus.sources.files import relative_name

# Libraries whose versions shape the released bytes (parsing, repair, hashing, Parquet writing).
SHAPING_LIBRARIES = (
    "polars",
    "pyarrow",
    "ftfy",
    "numpy",
    "xxhash",
    "fasttext-predict",
    "datasets",
    "huggingface-hub",
    "matplotlib",
    "arabic-reshaper",
    "python-bidi",
)


@dataclass(frozen=True)
class BuildSummary:
    path: Path
    status: str  # new, unchanged or replaced
    result: BuildResult
    splits: list[Split]


def build(
    config_path: Path, out_root: Path, force: bool = False, progress: Progress | None = None
) -> BuildSummary:
    """Build the release a config describes under `out_root/<name>/<version>`."""
    loaded = load_config(config_path)
    registry = outlet_registry(loaded)
    steps = plan_steps(loaded, registry)
    started = time.perf_counter()
    with (progress or _quiet)("read"):
        raw = read_sources(loaded)
    read_seconds = time.perf_counter() - started
    result = run_steps(raw, steps, progress)
    result.steps[0] = replace(result.steps[0], seconds=result.steps[0].seconds + read_seconds)
    result.check_ledger()
    result.unknown_outlets = list(unknown_outlets(result.released, registry).iter_rows())
    target = out_root / loaded.config.name / loaded.config.release_version
    staging = staging_folder(target)
    try:
        splits = write_release(loaded, result, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not force:
        carry_changelog(target, staging)  # a rebuild keeps the section `corpus diff` wrote
    status = publish_folder(staging, target, force)
    return BuildSummary(target, status, result, splits)


def _quiet(name: str) -> nullcontext[None]:
    return nullcontext()


def write_release(loaded: LoadedConfig, result: BuildResult, folder: Path) -> list[Split]:
    """Shards, removed rows, plots, card and manifest (last, so it covers every other file)."""
    release = loaded.config.release
    splits = write_splits(
        result.released,
        folder,
        release.shard_bytes,
        release.row_group_rows,
        release.row_group_bytes,
        release.validation,
        release.test,
    )
    write_removed(result.removed, folder, release.row_group_rows)
    write_signatures(result.released, folder, loaded.config.dedup)
    inputs = input_fingerprints(loaded, result)
    sources = [
        {
            "name": s.name,
            "kind": s.kind,
            "path": s.path,
            "records": sum(i["records"] for i in inputs if i["source"] == s.name),
        }
        for s in loaded.config.sources
    ]
    plots = write_plots(result.released, folder)
    card = render_card(loaded.config, splits, result, sources, plots)
    (folder / "README.md").write_text(card, encoding="utf-8")
    for entry in inputs:
        entry.pop("records")
    write_json(folder / "manifest.json", manifest(loaded, result, inputs, file_table(folder)))
    return splits


def input_fingerprints(loaded: LoadedConfig, result: BuildResult) -> list[dict[str, Any]]:
    """sha256 and size of every input file, with how many records it gave."""
    rows = pl.concat([result.released, result.removed], how="diagonal_relaxed")
    counts = {
        (source, file): n for source, file, n in rows.group_by("source_name", "source_file").len().iter_rows()
    }
    entries = []
    for source in loaded.config.sources:
        for path in list_files(source, loaded.root):
            name = relative_name(path, loaded.root)
            entries.append(
                {
                    "source": source.name,
                    "path": name,
                    "sha256": sha256_file(path),
                    "bytes": path.stat().st_size,
                    "records": counts.get((source.name, name), 0),
                }
            )
    return entries


def manifest(
    loaded: LoadedConfig, result: BuildResult, inputs: list[dict[str, Any]], files: dict[str, Any]
) -> dict[str, Any]:
    """Everything needed to reproduce or verify the release; no timestamps, no machine paths."""
    return {
        "name": loaded.config.name,
        "version": loaded.config.release_version,
        "corpus_version": __version__,
        "config": loaded.config.model_dump(mode="json"),
        "config_sha256": loaded.sha256,
        "inputs": inputs,
        "libraries": {name: package_version(name) for name in SHAPING_LIBRARIES},
        "python": platform.python_version(),
        "language_model_sha256": model_sha256(),
        "language_lexicons_sha256": lexicons_sha256(),
        "rows": {
            "read": result.rows_read,
            "released": result.released.height,
            "removed": result.removed.height,
        },
        "files": files,
    }
