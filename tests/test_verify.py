"""`corpus verify RELEASE`: re-hash every file against manifest.json, exit 1 naming differences."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corpus.build import build
from corpus.cli import app
from tests.helpers import MAGHREB
from tests.test_cli import make_runner


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(MAGHREB, tmp_path_factory.mktemp("verify")).path


@pytest.fixture
def release(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "v0.1.0"
    shutil.copytree(pristine, copy)
    return copy


def verify(release: Path):
    return make_runner().invoke(app, ["verify", str(release)])


def test_intact_release_verifies(release: Path) -> None:
    files = [p for p in release.rglob("*") if p.is_file() and p.name != "manifest.json"]
    size = sum(p.stat().st_size for p in files)
    result = verify(release)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"ok: {len(files)} files, {size:,} bytes match {release}/manifest.json\n"


def test_one_flipped_byte_is_named(release: Path) -> None:
    shard = release / "data" / "fr" / "train-00000-of-00001.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = verify(release)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {release} does not match its manifest.json: changed: data/fr/train-00000-of-00001.parquet\n"
    )


def test_missing_and_extra_files_are_named(release: Path) -> None:
    (release / "plots" / "text_length.png").unlink()
    (release / "notes.txt").write_text("added by hand\n", encoding="utf-8")
    result = verify(release)
    assert result.exit_code == 1
    assert "missing: plots/text_length.png" in result.stderr
    assert "not in the manifest: notes.txt" in result.stderr
    assert "Traceback" not in result.output


def test_folder_without_manifest(tmp_path: Path) -> None:
    result = verify(tmp_path)
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path}: no manifest.json; not a release folder built by corpus\n"
