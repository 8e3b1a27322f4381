"""`corpus build`: load the config, plan the steps, run them on an engine, write the release.

A handful of verbs in order, like a methods section: load, plan, fingerprint, run, write, publish.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import polars as pl

from corpus import __version__
from corpus.card import StepRow, release_features, render_card
from corpus.config import LoadedConfig, load_config
from corpus.engine.batch import StepReport, step_reports
from corpus.engine.local import LocalEngine
from corpus.engine.parts import LocalOutput
from corpus.engine.progress import Progress, silent
from corpus.engine.work import check_writable, locked, prepare, remove, work_folder
from corpus.language import lexicons_sha256, model_sha256, weights_sha256
from corpus.pipeline import outlet_registry, plan
from corpus.release import file_table, publish_folder, sha256_file, staging_folder, write_json
from corpus.release.diff import carry_changelog
from corpus.release.plots import write_plots
from corpus.release.report import Report
from corpus.release.shards import Split
from corpus.release.writer import Written, write_release
from corpus.schema import RELEASED, REMOVED, conform
from corpus.sources import Limits, list_files, relative_name

# Libraries whose versions shape the released bytes (parsing, repair, hashing, Parquet writing).
SHAPING_LIBRARIES = (
    "polars",
    "pyarrow",
    "ftfy",
    "numpy",
    "xxhash",
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
    report: Report
    steps: list[StepReport]
    splits: list[Split]
    rows_read: int
    unknown_outlets: list[tuple[str, int]]
    # Where the wall time went: preparing, each pass, each corpus-wide decision, the release.
    stages: list[tuple[str, float]] = field(default_factory=list)

    def released(self) -> pl.DataFrame:
        """The released rows, read back from the release's shards (every language and split)."""
        return _read(sorted((self.path / "data").glob("*/*.parquet")), RELEASED)

    def removed(self) -> pl.DataFrame:
        """The removed rows, read back from `removed/`."""
        return _read(sorted((self.path / "removed").glob("*.parquet")), REMOVED)


def _read(files: list[Path], columns: list[str]) -> pl.DataFrame:
    if not files:
        return conform(pl.DataFrame()).select(columns)
    return pl.concat([pl.read_parquet(f) for f in files], how="vertical")


@dataclass(frozen=True)
class Options:
    """How to run a build (none of it changes the release's bytes)."""

    force: bool = False  # replace an existing version whose content differs
    fresh: bool = False  # discard finished work of an earlier, interrupted build
    keep_work: bool = False  # keep the work folder after the release is written
    workers: int | None = None  # processes for per-document steps (None: the config's, else all cores)
    engine: str | None = None  # `local` or `ray` (None: the config's)


def build(
    config_path: Path, out_root: Path, options: Options = Options(), progress: Progress = silent
) -> BuildSummary:
    """Build the release a config describes under `out_root/<name>/<version>`."""
    begun = time.perf_counter()
    loaded = load_config(config_path)
    target = out_root / loaded.config.name / loaded.config.release_version
    check_writable(target.parent)
    registry = outlet_registry(loaded)
    steps = plan(loaded, registry)
    inputs = input_fingerprints(loaded)
    execution = loaded.config.execution
    limits = Limits(execution.batch_rows, execution.batch_bytes)
    work = work_folder(target)
    with locked(work):
        prepare(work, fingerprint(loaded, inputs), options.fresh)
        engine = make_engine(
            options.engine or loaded.config.engine, options.workers or execution.workers, progress
        )
        prepared = time.perf_counter() - begun  # config, plan, input fingerprints, work folder
        output = engine.run(steps, work, limits, execution.batch_bytes)
        reports = step_reports(steps.names, output.counts)
        staging = staging_folder(target)
        started = time.perf_counter()
        try:
            with progress.task("release", 0, ""):
                written, unknown = _write(loaded, output, staging, work, inputs, registry, reports)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if not options.force:
            carry_changelog(target, staging)  # a rebuild keeps the section `corpus diff` wrote
        status = publish_folder(staging, target, options.force)
        stages = [("prepare", prepared), *output.stages, ("release", time.perf_counter() - started)]
        if not options.keep_work:
            remove(work)
    return BuildSummary(
        target, status, written.report, reports, written.splits, output.rows_read, unknown, stages
    )


def _write(
    loaded: LoadedConfig,
    output: LocalOutput,
    staging: Path,
    work: Path,
    inputs: list[dict[str, Any]],
    registry: pl.DataFrame,
    reports: list[StepReport],
) -> tuple[Written, list[tuple[str, int]]]:
    """The release's files into `staging`; the plots need only the report, so they are drawn on a
    thread while the shards are written (2.4 of the 7.4 s the release took at 100k documents), and
    the card's features are made there too (see `release_features`)."""
    with ThreadPoolExecutor(1) as drawing:
        plots: list[Future[dict[str, str]]] = []

        def counted(report: Report) -> None:
            plots.append(drawing.submit(write_plots, report, staging))
            drawing.submit(release_features)  # cached for the card; its errors surface there

        written = write_release(
            loaded.config, output, staging, work / "release", _input_bytes(inputs), counted
        )
        drawn = plots[0].result() if plots else write_plots(written.report, staging)
    unknown = written.report.unknown_outlets(set(registry["source"].to_list()))
    _write_card_and_manifest(loaded, staging, written, reports, inputs, unknown, output.rows_read, drawn)
    return written, unknown


def make_engine(name: str, workers: int | None, progress: Progress) -> LocalEngine:
    """The engine a build runs on (the Ray one is imported only when asked for)."""
    if name == "ray":
        from corpus.engine.ray import RayEngine

        return RayEngine(workers, progress)
    return LocalEngine(workers, progress)


def _input_bytes(inputs: list[dict[str, Any]]) -> int:
    return sum(int(entry["bytes"]) for entry in inputs)


def _write_card_and_manifest(
    loaded: LoadedConfig,
    folder: Path,
    written: Written,
    reports: list[StepReport],
    inputs: list[dict[str, Any]],
    unknown: list[tuple[str, int]],
    rows_read: int,
    plots: dict[str, str],
) -> None:
    """Card and manifest (last, so it covers every other file); `plots` are already drawn."""
    report: Report = written.report
    counted = [
        {**entry, "records": report.records.get((entry["source"], entry["path"]), 0)} for entry in inputs
    ]
    sources = [
        {
            "name": s.name,
            "kind": s.kind,
            "path": s.path,
            "records": sum(i["records"] for i in counted if i["source"] == s.name),
        }
        for s in loaded.config.sources
    ]
    rows = [StepRow(r.name, r.rows_in, r.rows_out, r.removed) for r in reports]
    card = render_card(loaded.config, written.splits, report, rows, sources, unknown, rows_read, plots)
    (folder / "README.md").write_text(card, encoding="utf-8")
    write_json(folder / "manifest.json", manifest(loaded, report, rows_read, inputs, file_table(folder)))


def input_fingerprints(loaded: LoadedConfig) -> list[dict[str, Any]]:
    """sha256 and size of every input file, by source."""
    return [
        {
            "source": source.name,
            "path": relative_name(path, loaded.root),
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
        }
        for source in loaded.config.sources
        for path in list_files(source, loaded.root)
    ]


def code_sha256() -> str:
    """One sha256 of this package's Python files: work left by other code (a checkout or install
    changed between a killed build and its rerun, same version number) is redone, not mixed in."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(loaded: LoadedConfig, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """What finished work depends on: this corpus, the whole config (batch limits cut the parts),
    the inputs' bytes and the libraries that shape them."""
    return {
        "corpus": __version__,
        "config": loaded.config.model_dump(mode="json"),
        "inputs": inputs,
        "code": code_sha256(),
        "libraries": {name: package_version(name) for name in SHAPING_LIBRARIES},
        "language_model": model_sha256(),
        "language_weights": weights_sha256(),
        "language_lexicons": lexicons_sha256(),
    }


def manifest(
    loaded: LoadedConfig, report: Report, rows_read: int, inputs: list[dict[str, Any]], files: dict[str, Any]
) -> dict[str, Any]:
    """Everything needed to reproduce or verify the release; no timestamps, no machine paths, and
    nothing of how it was run (engine, workers, batches), which never changes its bytes."""
    return {
        "name": loaded.config.name,
        "version": loaded.config.release_version,
        "corpus_version": __version__,
        "config": loaded.shaping,
        "config_sha256": loaded.sha256,
        "inputs": inputs,
        "libraries": {name: package_version(name) for name in SHAPING_LIBRARIES},
        "python": platform.python_version(),
        "language_model_sha256": model_sha256(),
        "language_weights_sha256": weights_sha256(),
        "language_lexicons_sha256": lexicons_sha256(),
        "rows": {"read": rows_read, "released": report.released, "removed": report.removed},
        "files": files,
    }
