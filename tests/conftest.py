"""Shared fixtures: where the real data lives, and small configs that point at parts of it.

The real data is a folder beside the checkout (`../shared/data` from the repository root); it is
never copied into the repository. Tests that need it skip when it is absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

# Property tests check what is computed, never how fast: a per-example deadline is a timed assert
# that fails on a busy machine (seen once at a load average of 24), so there is none.
settings.register_profile("corpus", deadline=None)
settings.load_profile("corpus")

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


@pytest.fixture(scope="session")
def real_config_writer(shared_data: Path):
    """`write_config` bound to the shared data folder (skips when it is absent)."""

    def write(folder: Path, sources: Sources, **options: Any) -> Path:
        return write_config(folder, sources, data=shared_data, **options)

    return write


# Source names of configs/real.yaml, or name -> data path under the shared folder (file, folder
# or glob; None keeps the entry's own path).
Sources = Iterable[str] | Mapping[str, str | None]


def real_sources() -> dict[str, dict[str, Any]]:
    """The `sources` entries of configs/real.yaml, by name."""
    raw = yaml.safe_load(REAL_CONFIG.read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in raw["sources"]}


def relative_to(target: Path | str, folder: Path) -> str:
    """`target` (may end in a glob) relative to `folder`, with forward slashes."""
    return Path(os.path.relpath(os.path.normpath(target), folder)).as_posix()


def write_config(
    folder: Path,
    sources: Sources,
    *,
    data: Path = SHARED_DATA,
    name: str = "real-part",
    version: str = "0.1.0",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `folder/config.yaml` with some source entries of configs/real.yaml.

    Entries are copied as they are in configs/real.yaml; only `path` is rewritten, relative to
    the new config file (configs/real.yaml points at the same shared folder from `configs/`).
    The boilerplate patterns and the outlet registry are the repository's own, also relative.
    `extra` adds or overrides config sections (e.g. `{"dedup": {"threshold": 0.9}}`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    known = real_sources()
    wanted = dict(sources) if isinstance(sources, Mapping) else dict.fromkeys(sources)
    entries = []
    for source_name, data_path in wanted.items():
        entry = dict(known[source_name])
        target = data / data_path if data_path is not None else CONFIGS / entry["path"]
        entry["path"] = relative_to(target, folder)
        entries.append(entry)
    config: dict[str, Any] = {
        "name": name,
        "version": version,
        "sources": entries,
        "boilerplate": {"patterns": relative_to(CONFIGS / "boilerplate.yaml", folder)},
        "metadata": {"outlets": relative_to(CONFIGS / "outlets.yaml", folder)},
    }
    for section, values in (extra or {}).items():
        config.setdefault(section, {}).update(values)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
