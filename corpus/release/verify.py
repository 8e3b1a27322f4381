"""Re-hash a release against its manifest: the check a training job runs before trusting it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpus.errors import ReleaseError
from corpus.release.folder import MANIFEST, file_table, name_files, read_manifest


@dataclass(frozen=True)
class Verified:
    files: int
    bytes: int


def verify_release(folder: Path) -> Verified:
    """Every file the manifest lists exists with its sha256 and size, and no other file exists."""
    if not folder.is_dir():
        raise ReleaseError(f"{folder}: no such release folder")
    expected = read_manifest(folder)["files"]
    actual = file_table(folder)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    problems = [
        f"{label}: {name_files(names, shown=10)}"
        for label, names in (("changed", changed), ("missing", missing), ("not in the manifest", extra))
        if names
    ]
    if problems:
        raise ReleaseError(f"{folder} does not match its {MANIFEST}: " + "; ".join(problems))
    return Verified(len(actual), sum(int(str(e["bytes"])) for e in actual.values()))
