"""Shared fixtures: where the real data lives, and small configs that point at parts of it.

The real data is a folder beside the checkout (`../shared/data` from the repository root); it is
never copied into the repository. Tests that need it skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
CONFIGS = REPO_ROOT / "configs"
REAL_CONFIG = CONFIGS / "real.yaml"
SHARED_DATA_ABSENT = (
    "../shared/data is absent: real-data tests need the shared data folder beside the checkout"
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder beside the checkout; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(SHARED_DATA_ABSENT)
    return SHARED_DATA


def real_sources() -> dict[str, dict[str, Any]]:
    """The `sources` entries of configs/real.yaml, by name."""
    raw = yaml.safe_load(REAL_CONFIG.read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in raw["sources"]}


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def write_config(
    folder: Path,
    sources: dict[str, str],
    *,
    data: Path = SHARED_DATA,
    name: str = "real-part",
    version: str = "0.1.0",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `folder/config.yaml` with some source entries of configs/real.yaml.

    `sources` maps a source name of configs/real.yaml to the path of its data, relative to the
    shared data folder (a file, a folder or a glob). Every path in the written config is
    relative to the config file, as the project requires; the boilerplate patterns and outlet
    registry are the repository's own.
    """
    folder.mkdir(parents=True, exist_ok=True)
    known = real_sources()
    entries = []
    for source_name, data_path in sources.items():
        entry = dict(known[source_name])
        entry["path"] = _relative(data / data_path, folder) if not _is_glob(data_path) else (
            f"{_relative(data / Path(data_path).parent, folder)}/{Path(data_path).name}"
        )
        entries.append(entry)
    config: dict[str, Any] = {
        "name": name,
        "version": version,
        "sources": entries,
        "boilerplate": {"patterns": _relative(CONFIGS / "boilerplate.yaml", folder)},
        "metadata": {"outlets": _relative(CONFIGS / "outlets.yaml", folder)},
    }
    for section, values in (extra or {}).items():
        config.setdefault(section, {}).update(values)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")
