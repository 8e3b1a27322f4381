"""Staging and placing a release folder: stale staging folders of killed builds are removed, and
two builds of one version racing to the same target end cleanly (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from corpus.errors import ReleaseError
from corpus.release.folder import publish_folder, staging_folder
from tests.helpers import REPO, release_files

RELEASE = {"README.md": b"card\n", "data/fr/train.parquet": b"rows\n", "manifest.json": b"{}\n"}


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def staged(target: Path, files: dict[str, bytes], name: str) -> Path:
    """A staged release under an explicit name (two builds of one process cannot share a pid)."""
    return write_files(target.parent / name, files)


def test_staging_folders_of_dead_builds_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "maghreb-news" / "v0.1.0"
    dead = write_files(target.parent / f".v0.1.0.partial-{dead_pid()}", RELEASE)
    live = write_files(target.parent / f".v0.1.0.partial-{os.getppid()}", RELEASE)
    other_version = write_files(target.parent / f".v0.2.0.partial-{dead_pid()}", RELEASE)
    not_ours = write_files(target.parent / ".v0.1.0.partial-notes", RELEASE)
    staging = staging_folder(target)
    assert staging.name == f".v0.1.0.partial-{os.getpid()}"
    assert staging.is_dir() and not any(staging.iterdir())
    assert not dead.exists()
    assert live.exists() and release_files(live) == RELEASE
    assert other_version.exists() and not_ours.exists()


def lose_the_race(monkeypatch: pytest.MonkeyPatch, winner: Path, target: Path) -> None:
    """Another build renames `winner` to `target` just after this one found `target` absent."""
    rename = Path.rename

    def rename_after_the_winner(self: Path, destination: Path) -> Path:
        if Path(destination) == target and winner.exists():
            rename(winner, target)
        return rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename_after_the_winner)


def test_a_build_that_loses_the_race_with_identical_content_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "maghreb-news" / "v0.1.0"
    winner, loser = staged(target, RELEASE, ".winner"), staged(target, RELEASE, ".loser")
    lose_the_race(monkeypatch, winner, target)
    assert publish_folder(loser, target, force=False) == "unchanged"
    assert release_files(target) == RELEASE
    assert sorted(p.name for p in target.parent.iterdir()) == ["v0.1.0"]


def test_a_build_that_loses_the_race_with_other_content_is_a_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "maghreb-news" / "v0.1.0"
    other = {**RELEASE, "data/fr/train.parquet": b"other rows\n"}
    winner, loser = staged(target, RELEASE, ".winner"), staged(target, other, ".loser")
    lose_the_race(monkeypatch, winner, target)
    with pytest.raises(ReleaseError) as caught:
        publish_folder(loser, target, force=False)
    assert str(caught.value) == (
        f"{target} was written by another build of this version while this one ran, with different "
        "content (data/fr/train.parquet); bump the version or pass --force"
    )
    assert release_files(target) == RELEASE
    assert sorted(p.name for p in target.parent.iterdir()) == ["v0.1.0"]


def test_a_forced_build_that_loses_the_race_replaces_the_winner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "maghreb-news" / "v0.1.0"
    other = {**RELEASE, "data/fr/train.parquet": b"other rows\n"}
    winner, loser = staged(target, RELEASE, ".winner"), staged(target, other, ".loser")
    lose_the_race(monkeypatch, winner, target)
    assert publish_folder(loser, target, force=True) == "replaced"
    assert release_files(target) == other
    assert sorted(p.name for p in target.parent.iterdir()) == ["v0.1.0"]


# One build's last step in its own process: stage, check that the target is absent, then wait
# for the test's signal just before renaming, so that both builds have passed the check when the
# first one renames (the race, every time). folder.py is loaded alone: `corpus.release` would
# import polars and pyarrow, which only slows the test.
BUILD = textwrap.dedent(
    """
    import importlib.util
    import sys
    from pathlib import Path
    from corpus.errors import ReleaseError

    spec = importlib.util.spec_from_file_location("folder", sys.argv[3])
    folder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(folder)
    target, payload = Path(sys.argv[1]), sys.argv[2].encode()
    staging = folder.staging_folder(target)
    (staging / "data").mkdir()
    (staging / "data" / "rows.txt").write_bytes(payload)
    rename = Path.rename

    def rename_on_signal(self, destination):
        if Path(destination) == target:
            print("ready", flush=True)
            sys.stdin.readline()
        return rename(self, destination)

    Path.rename = rename_on_signal
    try:
        print(folder.publish_folder(staging, target, force=False), flush=True)
    except ReleaseError as exc:
        print(f"error: {exc}", flush=True)
    """
)


def start_build(target: Path, payload: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", BUILD, str(target), payload, str(REPO / "corpus" / "release" / "folder.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_builds_of_one_version_in_concurrent_processes_end_cleanly(tmp_path: Path) -> None:
    """Two races at once (same content, other content): in each pair both builds find the target
    absent, then both rename; the second rename fails and that build must end cleanly."""
    same, other = tmp_path / "same" / "v0.1.0", tmp_path / "other" / "v0.1.0"
    plan = [(same, "rows"), (same, "rows"), (other, "rows"), (other, "other rows")]
    builds = [start_build(target, payload) for target, payload in plan]
    for build in builds:
        assert build.stdout is not None and build.stdout.readline() == "ready\n"
    for build in builds:  # every build is about to rename: release them together
        assert build.stdin is not None
        build.stdin.write("go\n")
        build.stdin.flush()
    results = [build.communicate() for build in builds]
    for build, (_, stderr) in zip(builds, results, strict=True):
        assert build.returncode == 0, stderr
    lines = [stdout.strip() for stdout, _ in results]
    assert sorted(lines[:2]) == ["new", "unchanged"]
    assert release_files(same) == {"data/rows.txt": b"rows"}
    conflict = sorted(lines[2:])
    assert conflict[1] == "new"
    assert conflict[0] == (
        f"error: {other} was written by another build of this version while this one ran, with "
        "different content (data/rows.txt); bump the version or pass --force"
    )
    for target in (same, other):
        assert sorted(p.name for p in target.parent.iterdir()) == ["v0.1.0"]
