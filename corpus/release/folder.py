"""Stage a release in a hidden folder, hash its files, and move it into place.

Everything is written into a hidden temporary folder beside the target and renamed into place
at the end, so no half-written version is ever visible. A version that already exists is left
alone when identical and refused when different (unless forced).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from corpus.errors import ReleaseError

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_table(folder: Path, with_manifest: bool = False) -> dict[str, dict[str, object]]:
    """sha256 and size of every file under `folder` (the manifest only if asked), by relative path."""
    return {
        path.relative_to(folder).as_posix(): {
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
        }
        for path in sorted(folder.rglob("*"))
        if path.is_file() and (with_manifest or path.relative_to(folder).as_posix() != MANIFEST)
    }


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(folder: Path) -> dict:
    """The release's manifest; a folder without one is not a release."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ReleaseError(f"{folder}: no {MANIFEST}; not a release folder built by corpus")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ReleaseError(f"{path}: no `files` table")
    return manifest


def staging_folder(target: Path) -> Path:
    """A fresh hidden folder beside the target (same file system, so the final rename is atomic)."""
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def differing_files(old: Path, new: Path) -> list[str]:
    """Relative paths whose bytes differ between two folders (or exist in only one)."""
    before, after = file_table(old, with_manifest=True), file_table(new, with_manifest=True)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def name_files(names: list[str], shown: int = 5) -> str:
    """`a, b, c and 4 more`: enough to act on without flooding the terminal."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def publish_folder(staging: Path, target: Path, force: bool) -> str:
    """Move the staged release into place; returns "new", "unchanged" or "replaced"."""
    if not target.exists():
        staging.rename(target)
        return "new"
    differ = differing_files(target, staging)
    if not differ:
        shutil.rmtree(staging)
        return "unchanged"
    if not force:
        shutil.rmtree(staging)
        raise ReleaseError(
            f"{target} exists with different content ({name_files(differ)}); bump the version or pass --force"
        )
    trash = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(trash)
    staging.rename(target)
    shutil.rmtree(trash)
    return "replaced"
