"""The local engine: batches of any size give the same release, a killed build resumes from its
work folder to the same bytes, and the work folder is kept or discarded as asked."""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from corpus.build import Options, build
from corpus.config import load_config
from corpus.engine import allocator
from corpus.engine.batch import schedule
from corpus.engine.local import LocalEngine, _start_worker
from corpus.engine.work import work_folder
from corpus.pipeline import plan
from corpus.step import Map, load_array
from tests.helpers import CONFIGS, MAGHREB, SAMPLE, release_files


def sample_config(folder: Path, **execution: int) -> Path:
    """configs/maghreb.yaml with these execution settings, in a copy of the repository's layout
    (configs/ beside corpus/sample/), so every path the release records is the repository's own."""
    shutil.copytree(CONFIGS, folder / "configs")
    shutil.copytree(SAMPLE, folder / "corpus" / "sample")
    path = folder / "configs" / "maghreb.yaml"
    if execution:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["execution"] = execution
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Every file of the sample release built with the default batches."""
    folder = tmp_path_factory.mktemp("reference")
    return release_files(build(sample_config(folder / "cfg"), folder / "out").path)


@pytest.mark.parametrize("rows", [1, 7])
def test_batch_size_does_not_change_a_byte(reference: dict[str, bytes], tmp_path: Path, rows: int) -> None:
    summary = build(sample_config(tmp_path / "cfg", batch_rows=rows), tmp_path / "out", Options(workers=2))
    files = release_files(summary.path)
    assert sorted(files) == sorted(reference)
    assert [name for name in files if files[name] != reference[name]] == []


@pytest.mark.parametrize("sources", [1, 2])
def test_worker_pools_start_only_for_passes_of_several_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: int
) -> None:
    # Workers start ahead of a pass (while this process plans or decides), but only for a pass of
    # several units: one unit runs in this process, and an idle pool would cost its start-up.
    pools, units = [], []
    pool, execute = LocalEngine._pool, LocalEngine._execute
    monkeypatch.setattr(LocalEngine, "_pool", lambda self, context: pools.append(1) or pool(self, context))
    monkeypatch.setattr(
        LocalEngine,
        "_execute",
        lambda self, c, todo, done: units.append(len(todo)) or execute(self, c, todo, done),
    )
    path = sample_config(tmp_path / "cfg")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["sources"] = raw["sources"][-sources:]  # the JSONL articles alone are one read task
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    build(path, tmp_path / "out", Options(workers=2))
    assert len(pools) == sum(n > 1 for n in units)
    assert units == ([1, 1] if sources == 1 else [2, 2])


def test_the_plan_runs_in_three_passes_around_its_phases() -> None:
    passes = schedule(plan(load_config(MAGHREB)).steps)
    shape = [
        ([p.name for p in s.apply], [m.name for m in s.maps], [p.name for p in s.phases]) for s in passes
    ]
    assert shape == [
        ([], ["read", "screen", "repair", "boilerplate", "metadata"], ["recurring"]),
        (["recurring"], ["quality", "language"], ["rescrape", "exact_dedup", "near_dedup"]),
    ]


def test_a_map_after_a_removing_phase_starts_a_new_pass() -> None:
    loaded = load_config(MAGHREB)
    steps = plan(loaded).steps
    extra = Map("late", lambda frame: frame)
    passes = schedule([*steps[:-1], extra, steps[-1]])
    assert [[p.name for p in s.apply] for s in passes][-1] == ["rescrape", "exact_dedup"]
    assert [m.name for m in passes[-1].maps] == ["late"]


def test_work_is_removed_after_a_release_unless_kept(tmp_path: Path) -> None:
    config = sample_config(tmp_path / "cfg")
    summary = build(config, tmp_path / "out", Options(workers=1))
    assert not work_folder(summary.path).exists()
    kept = build(config, tmp_path / "kept", Options(workers=1, keep_work=True))
    folder = work_folder(kept.path)
    assert (folder / "fingerprint.json").is_file()
    assert list((folder / "pass-1").glob("*.done.json"))


STAGES = ["prepare", "pass 1", "recurring", "pass 2", "rescrape", "exact_dedup", "near_dedup", "release"]


def test_a_build_reports_the_wall_time_of_each_stage(tmp_path: Path) -> None:
    """Preparing, each pass, each decision, the release, in that order, within the build's own
    time; a rerun over kept work decides nothing again, so its decisions are not stages."""
    config = sample_config(tmp_path / "cfg", batch_rows=5)
    started = time.perf_counter()
    summary = build(config, tmp_path / "out", Options(workers=1, keep_work=True))
    took = time.perf_counter() - started
    assert [name for name, _ in summary.stages] == STAGES
    assert all(seconds >= 0 for _, seconds in summary.stages)
    assert sum(seconds for _, seconds in summary.stages) <= took
    again = build(config, tmp_path / "out", Options(workers=1, force=True))
    assert [name for name, _ in again.stages] == ["prepare", "pass 1", "pass 2", "release"]


def done_markers(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.glob("pass-*/*.done.json")}


def test_a_killed_build_resumes_to_the_same_bytes(reference: dict[str, bytes], tmp_path: Path) -> None:
    """SIGKILL in the middle of the first pass; the rerun reuses every finished unit (their markers
    are not rewritten) and writes the same release as a build that was never interrupted."""
    config = sample_config(tmp_path / "cfg", batch_rows=1)
    out = tmp_path / "out"
    target = out / "maghreb-news" / "v0.1.0"
    folder = work_folder(target)
    cli = "from corpus.cli import app; app()"
    command = [sys.executable, "-c", cli, "build", str(config), "--out", str(out), "--workers", "1", "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(done_markers(folder)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = done_markers(folder)
    assert finished, "the build was killed before it finished a unit"
    assert not target.exists()  # never a half-written version
    summary = build(config, out, Options(workers=1, keep_work=True))
    assert summary.status == "new"
    after = done_markers(folder)
    assert {p: after[p] for p in finished} == finished  # reused, not redone
    assert len(after) > len(finished)
    files = release_files(summary.path)
    assert [name for name in files if files.get(name) != reference.get(name)] == []


def test_work_of_other_code_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = sample_config(tmp_path / "cfg")
    kept = build(config, tmp_path / "out", Options(workers=1, keep_work=True))
    before = done_markers(work_folder(kept.path))
    monkeypatch.setattr("corpus.build.code_sha256", lambda: "0" * 64)  # as if the package changed
    again = build(config, tmp_path / "out", Options(workers=1, keep_work=True))
    assert again.status == "unchanged"
    assert all(done_markers(work_folder(again.path))[p] != t for p, t in before.items())  # redone


def test_changed_input_or_fresh_discards_earlier_work(tmp_path: Path) -> None:
    config = sample_config(tmp_path / "cfg")
    kept = build(config, tmp_path / "out", Options(workers=1, keep_work=True))
    folder = work_folder(kept.path)
    before = done_markers(folder)
    again = build(config, tmp_path / "out", Options(workers=1, keep_work=True, fresh=True))
    assert again.status == "unchanged"
    assert all(done_markers(folder)[p] != t for p, t in before.items())  # redone
    fingerprint = (folder / "fingerprint.json").read_text(encoding="utf-8")
    articles = tmp_path / "articles.jsonl"
    record = (
        '{"url": "https://x.ma/1", "title": "T", "source": "Le Matin", "date": "2024-01-02", "text": "%s"}'
    )
    articles.write_text(record % "Un seul article, autre chose que l'échantillon." + "\n", encoding="utf-8")
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["sources"][1]["path"] = os.path.relpath(articles, config.parent)
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    other = build(config, tmp_path / "other", Options(workers=1, keep_work=True))
    assert (work_folder(other.path) / "fingerprint.json").read_text(encoding="utf-8") != fingerprint
    released = other.released()
    assert "Un seul article, autre chose que l'échantillon." in released["text"].to_list()
    assert pl.Series(released["source_file"]).str.ends_with("articles.jsonl").sum() == 1


def test_an_error_in_a_worker_process_is_one_line(tmp_path: Path) -> None:
    """A bad record found by a pool worker reaches the CLI as the same one-line error."""
    from typer.testing import CliRunner

    from corpus.cli import app

    (tmp_path / "in").mkdir()
    for number in range(3):
        lines = [f'{{"url": "https://x.ma/{number}-{i}", "text": "Un texte en français."}}' for i in range(3)]
        (tmp_path / "in" / f"f{number}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (tmp_path / "in" / "f2.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"url": "https://x.ma/bad", "text": \n')
    config = tmp_path / "config.yaml"
    config.write_text(
        "name: t\nversion: 0.1.0\nexecution: {batch_bytes: 10, batch_rows: 2}\n"
        "sources: [{name: s, kind: jsonl, path: in}]\n"
        f"boilerplate: {{patterns: {CONFIGS / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {CONFIGS / 'outlets.yaml'}}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["build", str(config), "--out", str(tmp_path / "out"), "--workers", "2"])
    assert result.exit_code == 1
    assert result.output == "error: in/f2.jsonl:4: not valid JSON (Expecting value at column 37)\n"


# sha256 of the sample release's data, plots, removed rows and signatures on the reference
# Pythons (3.11 to 3.13 install the same versions): a change of bytes across machines or library
# versions fails here, not only a difference between two builds in one process.
SAMPLE_DIGESTS = {
    "data/ar/train-00000-of-00001.parquet": (
        "1d327156be14d5aad168c1c339659ec3d36947d99a864b8451475ae47a70ab1b"
    ),
    "data/ary/train-00000-of-00001.parquet": (
        "f03a787ce3a4cf704f55d30cccb82c493ecb950f1e8d3b0e4e9113b2e2002090"
    ),
    "data/en/train-00000-of-00001.parquet": (
        "a76a91533496ec0afe533d0a215a98aea5ca1f3b1d037210b46c1d35f5706202"
    ),
    "data/es/train-00000-of-00001.parquet": (
        "51efb40baa4e48fe37ac7335ea6c55a193deb5e70f447fdf796a37c45a38044a"
    ),
    "data/fr/train-00000-of-00001.parquet": (
        "50fe931e7e17e528984e8e8c8e50c726e8ff04f93971fc9141f81957d92f6000"
    ),
    "data/zgh/train-00000-of-00001.parquet": (
        "1286cb9b86244ef876dd2902fa7cdd051f1f869b894c6a8dd30f84a3a26aa030"
    ),
    "plots/documents_per_month.png": ("c3c2cd7823d9cc9ab2a2f3f403364b28aa84ee6e6025a9d5f5dc41b066485503"),
    "plots/documents_per_outlet.png": ("690684f7752a5a75977fe1ceb4b3f0852a197bb5753f8b48b119c8d37d3be596"),
    "plots/text_length.png": ("f15742aa9e3ce220f4ad2d44926995b103dda345e3bd3f50bd0cf6b181beb961"),
    "removed/removed-00000-of-00001.parquet": (
        "d159b862516f8d8714ab55da6a35e337e1f49b7e07fabca55d051f7781b0b3b8"
    ),
    "signatures/minhash.parquet": ("94c553ce6442e2b684762123a72ba9e2256824588f89a6a0c92244ba05ae6c9f"),
}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Python 3.10 installs other library versions")
def test_the_sample_release_has_the_pinned_bytes(reference: dict[str, bytes]) -> None:
    import hashlib

    found = {
        name: hashlib.sha256(data).hexdigest() for name, data in reference.items() if name in SAMPLE_DIGESTS
    }
    assert found == SAMPLE_DIGESTS


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="heap padding is a glibc setting")
def test_engine_processes_pad_their_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pool workers keep freed scratch memory instead of faulting it in again.
    calls: list[tuple[int, int]] = []
    real = ctypes.CDLL(None)

    class Libc:
        def mallopt(self, parameter: int, value: int) -> int:
            calls.append((parameter, value))
            return int(real.mallopt(parameter, value))

    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: Libc())
    _start_worker(None)  # type: ignore[arg-type]
    assert calls == [
        (allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD_BYTES),
        (allocator.M_TRIM_THRESHOLD, allocator.TRIM_THRESHOLD_BYTES),
    ]
    assert allocator.keep_freed_memory()


class _Cycle:
    """Garbage only the collector frees, running Python code (`__del__`) when it does."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(50))


def test_arrays_load_on_threads_at_once(tmp_path: Path) -> None:
    """A gather reads parts' arrays on threads. numpy parses each .npy header with the `ast`
    module, which on CPython 3.11 fails ("AST constructor recursion depth mismatch") when a
    thread is switched out mid-parse and another parses: here threads switch every microsecond and
    the collector runs finalizers during parses (without the lock, 5-6 of 8 tasks failed)."""
    path = tmp_path / "keys.npy"
    np.save(path, np.arange(96, dtype="<u8").reshape(3, 32))
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-6)
    gc.set_threshold(50, 1, 1)

    def loads(_: int) -> int:
        total = 0
        for _ in range(500):
            _Cycle()
            total += int(load_array(path)[2, 31])
        return total

    try:
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(loads, range(8))) == [95 * 500] * 8
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
