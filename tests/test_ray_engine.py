"""The Ray engine: the same release bytes as the local engine, also when a Ray worker is killed in
the middle of a build, on a local Ray bound to the loopback (no dashboard) that is shut down after.
Skipped, with the reason, when the `ray` extra is not installed."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from corpus.build import Options, build
from corpus.dedup.clusters import components_here, components_spread
from corpus.engine import ray_shuffle
from corpus.engine.ray import RayEngine
from corpus.engine.ray_shuffle import RayStore
from corpus.engine.work import work_folder
from corpus.errors import CorpusError
from corpus.step import Gather
from tests.conftest import relative_to
from tests.helpers import release_files
from tests.test_dedup import check_rescraped_copies, rescraped_copies
from tests.test_dedup_incremental import SCRAPES, removed
from tests.test_engine import sample_config

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """No cluster from the environment; whatever Ray a test starts is shut down after the module."""
    saved = os.environ.pop("RAY_ADDRESS", None)
    yield
    if ray.is_initialized():
        ray.shutdown()
    if saved is not None:
        os.environ["RAY_ADDRESS"] = saved


@pytest.fixture(scope="module")
def local_release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("local")
    return release_files(build(sample_config(folder / "cfg", batch_rows=3), folder / "out").path)


def test_ray_writes_the_same_bytes_as_the_local_engine(
    local_release: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[dict[str, object]] = []
    real_init = ray.init

    def recording(**options: object) -> object:
        started.append(options)
        context = real_init(**options)
        started.append({"gcs": ray.get_runtime_context().gcs_address})
        return context

    monkeypatch.setattr(ray, "init", recording)
    here: list[str] = []
    real_gather_here = ray_shuffle.gather_here

    def gather_here(store: RayStore, work: Gather) -> pl.DataFrame:
        here.append(store.phase)
        return real_gather_here(store, work)

    monkeypatch.setattr(ray_shuffle, "gather_here", gather_here)
    config = sample_config(tmp_path / "cfg", batch_rows=3)
    summary = build(config, tmp_path / "out", Options(engine="ray", workers=2))
    # The sample's few parts are under the driver switch: every gather ran in the driver (near
    # duplicates gather twice: band keys, then the n-grams of documents in a close pair).
    assert here == ["recurring", "rescrape", "exact_dedup", "near_dedup", "near_dedup"]
    files = release_files(summary.path)
    assert sorted(files) == sorted(local_release)
    assert [name for name in files if files[name] != local_release[name]] == []
    options, where = started
    assert options["_node_ip_address"] == "127.0.0.1" and options["include_dashboard"] is False
    assert str(where["gcs"]).startswith("127.0.0.1:")
    assert not ray.is_initialized()  # the engine shut down the Ray it started


def test_phases_group_on_the_cluster_with_components_in_rounds(
    local_release: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recurring furniture, re-scrapes, exact duplicates (without the row the re-scrape phase
    removed), candidate pairs and the candidates' n-grams gathered by Ray shuffles, close pairs
    verified in a Ray regroup, connected components in
    rounds of Ray regroups (the driver switches forced to 0), stars per component group on Ray:
    the same bytes as the local engine (and as `test_ray_writes_the_same_bytes_as_the_local_engine`,
    where these small gathers and regroups run in the driver)."""
    shuffles: list[str] = []
    real_gather, real_regroup = RayStore.gather, RayStore.regroup

    def gather(self: RayStore, work: Gather) -> pl.DataFrame:
        shuffles.append(f"gather {self.phase}")
        return real_gather(self, work)

    def regroup(self: RayStore, frame: pl.DataFrame, by: list[str], run: Any) -> pl.DataFrame:
        shuffles.append(f"regroup {self.phase} by {by[0]}")
        return real_regroup(self, frame, by, run)

    monkeypatch.setattr(RayStore, "gather", gather)
    monkeypatch.setattr(RayStore, "regroup", regroup)
    monkeypatch.setattr("corpus.dedup.clusters.DRIVER_EDGES", 0)
    on_cluster(monkeypatch)
    config = sample_config(tmp_path / "cfg", batch_rows=3)
    files = release_files(build(config, tmp_path / "out", Options(engine="ray", workers=2)).path)
    assert [name for name in files if files[name] != local_release[name]] == []
    assert shuffles[:4] == ["gather recurring", "gather rescrape", "gather exact_dedup", "gather near_dedup"]
    assert shuffles.count("gather near_dedup") == 2  # band keys, then the candidates' n-grams
    assert "regroup near_dedup by _pair" in shuffles  # exact verification
    assert "regroup near_dedup by node" in shuffles  # component rounds
    assert shuffles[-1] == "regroup near_dedup by _component"  # stars


def on_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every gather and regroup on Ray, however small (the driver switches at 0)."""
    monkeypatch.setattr("corpus.engine.ray_shuffle.DRIVER_PARTS", 0)
    monkeypatch.setattr("corpus.engine.ray_shuffle.DRIVER_ROWS", 0)


def test_exact_duplicates_on_ray_skip_rows_a_rescrape_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cluster's tasks read the keys without the rows the re-scrape phase removed."""
    on_cluster(monkeypatch)
    release = build(rescraped_copies(tmp_path), tmp_path / "out", Options(engine="ray", workers=2)).path
    check_rescraped_copies(release)


@pytest.mark.realdata
def test_a_build_against_an_earlier_release_is_the_same_on_ray(
    tmp_path: Path, real_config_writer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The earlier release's rows join each gather as one more part (re-scrapes, exact and near
    duplicates): data and removed rows as the local engine writes them."""
    on_cluster(monkeypatch)
    first = real_config_writer(tmp_path / "a", {"fr-financial": f"{SCRAPES}/0[1-8]_*.csv"}, name="fin")
    earlier = build(first, tmp_path / "out").path
    written = {}
    for engine in ("local", "ray"):
        folder = tmp_path / engine
        folder.mkdir()
        against = {"dedup": {"against": relative_to(earlier, folder)}}
        later = real_config_writer(
            folder, {"fr-financial": f"{SCRAPES}/09_*.csv"}, name="fin", version="0.2.0", extra=against
        )
        release = build(later, tmp_path / f"out-{engine}", Options(engine=engine, workers=2)).path
        written[engine] = {
            k: v for k, v in release_files(release).items() if k.startswith(("data/", "removed/"))
        }
    assert written["ray"] == written["local"]
    increment = removed(tmp_path / "out-local" / "fin" / "v0.2.0")
    matched = increment.filter(pl.col("dup_release").is_not_null())["removed_reason"].unique().sort()
    assert matched.to_list() == ["exact_duplicate", "rescrape"]


def test_component_rounds_on_ray_buckets_match_components_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regroups over five buckets (rows of a bucket back in frame order) give the components numpy
    finds in this process."""
    on_cluster(monkeypatch)
    rng = np.random.default_rng(8)
    left, right = rng.integers(0, 300, 260), rng.integers(0, 300, 260)
    engine = RayEngine(workers=2)
    try:
        store = engine._store(tmp_path, 0, [], "near_dedup", None)
        assert isinstance(store, RayStore)
        store.width = 5
        spread = components_spread(store, 300, left, right)
    finally:
        engine._stop()
    assert (spread == components_here(300, left, right)).all()


def ray_workers() -> list[int]:
    """Process ids of the Ray actors running units on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\x00", b" ")
        except OSError:
            continue
        if b"UnitRunner" in command:
            found.append(int(entry.name))
    return found


def test_a_killed_ray_worker_changes_nothing(local_release: dict[str, bytes], tmp_path: Path) -> None:
    """SIGKILL to a Ray worker once some units are done: Ray restarts it, the unit runs again, the
    build completes with the same bytes."""
    config = sample_config(tmp_path / "cfg", batch_rows=3)
    out = tmp_path / "out"
    folder = work_folder(out / "maghreb-news" / "v0.1.0")
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            if len(list(folder.glob("pass-1/*.done.json"))) >= 2:
                for pid in ray_workers()[:1]:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.02)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    summary = build(config, out, Options(engine="ray", workers=2))
    thread.join(1)
    assert killed, "no Ray worker was running units when the build was half done"
    files = release_files(summary.path)
    assert [name for name in files if files[name] != local_release[name]] == []


def test_an_unreachable_cluster_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if ray.is_initialized():
        ray.shutdown()
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    monkeypatch.setattr("corpus.engine.ray.START_SECONDS", 10)
    with pytest.raises(CorpusError, match=r"^engine ray: cannot start or join 127.0.0.1:9 \("):
        build(sample_config(tmp_path / "cfg"), tmp_path / "out", Options(engine="ray"))
