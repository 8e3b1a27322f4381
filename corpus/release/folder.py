"""Stage a release in a hidden folder, hash its files, and move it into place.

Everything is written into a hidden temporary folder beside the target and renamed into place
at the end, so no half-written version is ever visible. A version that already exists is left
alone when identical and refused when different (unless forced); so is a version another build
placed while this one was writing. Staging folders of builds that died are removed by the next
build of that version.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from corpus.errors import ReleaseError

if TYPE_CHECKING:
    from corpus.sources.paths import Remote

MANIFEST = "manifest.json"


def sha256_file(path: Path | Remote) -> str:
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


def json_bytes(value: object) -> bytes:
    """The one JSON layout of release files (sorted keys, two-space indent, final newline)."""
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def write_json(path: Path, value: object) -> None:
    path.write_bytes(json_bytes(value))


def replace_files(folder: Path, contents: dict[str, bytes]) -> None:
    """Replace some files of a release so that it still verifies when anything fails.

    Every new file is first written beside the folder (not inside: `verify` would see it) and
    only then renamed over the old one, in the given order (the manifest last). If a rename fails,
    the files already renamed get their old bytes back, so the release is left as it was.
    """
    old = {name: (folder / name).read_bytes() for name in contents}
    temporary: dict[str, Path] = {}
    try:
        for name, data in contents.items():
            temporary[name] = _write_beside(folder, name, data)
        _rename_all(folder, temporary, old)
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)


def _rename_all(folder: Path, temporary: dict[str, Path], old: dict[str, bytes]) -> None:
    """Rename each temporary file over its release file; on failure put the old bytes back."""
    done: list[str] = []
    try:
        for name, path in temporary.items():
            os.replace(path, folder / name)
            done.append(name)
    except OSError:
        for name in reversed(done):
            os.replace(_write_beside(folder, name, old[name]), folder / name)
        raise


def _write_beside(folder: Path, name: str, data: bytes) -> Path:
    """`data` in a hidden file beside `folder` (same file system, so a rename is atomic)."""
    path = folder.parent / f".{folder.name}.{name.replace('/', '_')}.tmp-{os.getpid()}"
    try:
        path.write_bytes(data)
    except OSError:
        path.unlink(missing_ok=True)
        raise
    return path


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
    """A fresh hidden folder beside the target (same file system, so the final rename is atomic).

    Staging folders that builds of this version left when they were killed are removed first;
    those of builds still running are left alone.
    """
    remove_stale_staging(target)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def remove_stale_staging(target: Path) -> list[Path]:
    """Remove `.<version>.partial-<pid>` folders whose process is gone; returns what was removed."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.partial-(\d+)")
    if not target.parent.is_dir():
        return []
    stale = [
        path
        for path in sorted(target.parent.iterdir())
        if (found := pattern.fullmatch(path.name)) and not process_alive(int(found.group(1)))
    ]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (ours, or another user's)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    except OverflowError:
        return False  # not a process id at all
    return True


def differing_files(old: Path, new: Path) -> list[str]:
    """Relative paths whose bytes differ between two folders (or exist in only one)."""
    before, after = file_table(old, with_manifest=True), file_table(new, with_manifest=True)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def name_files(names: list[str], shown: int = 5) -> str:
    """`a, b, c and 4 more`: enough to act on without flooding the terminal."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def publish_folder(staging: Path, target: Path, force: bool) -> str:
    """Move the staged release into place; returns "new", "unchanged" or "replaced".

    When another build of the same version placed its release between our check and our rename,
    this build lost the race and is judged like a rebuild: "unchanged" when identical, otherwise
    a conflict naming the files (or a replacement with `force`).
    """
    raced = False
    if not target.exists():
        if move_into_place(staging, target):
            return "new"
        raced = True
    differ = differing_files(target, staging)
    if not differ:
        shutil.rmtree(staging)
        return "unchanged"
    if not force:
        shutil.rmtree(staging)
        how = "was written by another build of this version while this one ran," if raced else "exists"
        raise ReleaseError(
            f"{target} {how} with different content ({name_files(differ)}); bump the version or pass --force"
        )
    _replace(staging, target)
    return "replaced"


def move_into_place(staging: Path, target: Path) -> bool:
    """Rename the staged folder to the target; False when the target now exists (a concurrent build
    of the same version renamed first: a folder is never renamed over a non-empty one)."""
    try:
        staging.rename(target)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    return True


def _replace(staging: Path, target: Path) -> None:
    """Swap a staged release for the existing one (`--force`); the old one is deleted after."""
    trash = target.parent / f".{target.name}.old-{os.getpid()}"
    try:
        target.rename(trash)
        if not move_into_place(staging, target):
            raise FileExistsError(errno.EEXIST, "placed by another build", str(target))
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ReleaseError(
            f"{target}: cannot replace it ({exc.strerror}); another build of this version may be "
            "running: run the build again when it is done"
        ) from exc
    finally:
        if target.exists():
            shutil.rmtree(trash, ignore_errors=True)
