"""Publish a verified release to a Hugging Face dataset repository, tagged `v<version>`.

One commit makes the repository's files equal to the release (new and changed files added,
files of an older release deleted), then the tag points at it. Publishing again is a no-op
when the tag already holds the same files; a tag is never moved. The token is whatever
`huggingface_hub` finds (`HF_TOKEN` or `hf auth login`): this module never reads, prints or
writes it. Every hub call goes through `api`, so everything up to HTTP is testable offline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from corpus.errors import ConfigError, ReleaseError
from corpus.release.folder import MANIFEST, name_files, read_manifest
from corpus.release.verify import verify_release

REPO_TYPE = "dataset"
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
# Files the hub manages itself: never compared, never deleted.
HUB_FILES = {".gitattributes"}


class HubApi(Protocol):
    """The part of `huggingface_hub.HfApi` publishing uses."""

    def create_repo(self, repo_id: str, **options: Any) -> Any: ...
    def list_repo_refs(self, repo_id: str, **options: Any) -> Any: ...
    def list_repo_tree(self, repo_id: str, **options: Any) -> Iterable[Any]: ...
    def create_commit(self, repo_id: str, operations: Iterable[Any], **options: Any) -> Any: ...
    def create_tag(self, repo_id: str, **options: Any) -> Any: ...


@dataclass(frozen=True)
class LocalFile:
    path: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Plan:
    """What publishing sends: every file of the release (manifest included) and the tag."""

    folder: Path
    repo_id: str
    tag: str
    files: list[LocalFile]

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)


@dataclass(frozen=True)
class Published:
    status: str  # "published" (new commit), "tagged" (files already there) or "unchanged"
    tag: str
    commit: str
    uploaded: list[str]
    deleted: list[str]


def plan_publish(folder: Path, repo_id: str) -> Plan:
    """Check the repo id, verify the release, and list what would be sent."""
    if not REPO_ID.match(repo_id):
        raise ConfigError(f"--repo-id {repo_id!r}: expected ORG/NAME, e.g. my-org/maghreb-news")
    verify_release(folder)
    manifest = read_manifest(folder)
    entries = {**manifest["files"], MANIFEST: None}
    files = [
        LocalFile(name, (folder / name).stat().st_size, _sha256(folder / name, entry))
        for name, entry in sorted(entries.items())
    ]
    return Plan(folder, repo_id, str(manifest["version"]), files)


def _sha256(path: Path, entry: dict[str, Any] | None) -> str:
    """The manifest's sha256 (just verified), or the hash of the manifest itself."""
    return str(entry["sha256"]) if entry else hashlib.sha256(path.read_bytes()).hexdigest()


def format_plan(plan: Plan) -> str:
    """The `--dry-run` output: repository, tag, every file with its size, totals."""
    width = max(len(f"{f.bytes:,}") for f in plan.files)
    lines = [f"would publish {plan.folder} to dataset {plan.repo_id} as tag {plan.tag}"]
    lines += [f"  {f.bytes:>{width},} bytes  {f.path}" for f in plan.files]
    lines.append(f"{len(plan.files)} files, {plan.bytes:,} bytes; nothing sent (dry run)")
    return "\n".join(lines)


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file, which the hub reports for files not stored in LFS."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _remote_files(api: HubApi, repo_id: str, revision: str) -> dict[str, Any]:
    tree = api.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type=REPO_TYPE)
    return {f.path: f for f in tree if hasattr(f, "blob_id") and f.path not in HUB_FILES}


def _same(local: LocalFile, remote: Any, folder: Path) -> bool:
    if remote.size != local.bytes:
        return False
    lfs = getattr(remote, "lfs", None)
    if lfs is not None:
        return bool(lfs.sha256 == local.sha256)
    return bool(remote.blob_id == git_blob_sha1(folder / local.path))


def _changes(plan: Plan, remote: dict[str, Any]) -> tuple[list[LocalFile], list[str]]:
    """Files to upload (new or different) and remote files to delete (not in the release)."""
    upload = [f for f in plan.files if f.path not in remote or not _same(f, remote[f.path], plan.folder)]
    names = {f.path for f in plan.files}
    return upload, sorted(set(remote) - names)


def publish_release(folder: Path, repo_id: str, api: HubApi, private: bool = False) -> Published:
    """Make `repo_id` hold exactly this release in one commit and tag it; see the module doc."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HTTPError

    plan = plan_publish(folder, repo_id)
    try:
        api.create_repo(repo_id, repo_type=REPO_TYPE, exist_ok=True, private=private)
        refs = api.list_repo_refs(repo_id, repo_type=REPO_TYPE)
        tags = {t.name: t.target_commit for t in refs.tags}
        if plan.tag in tags:
            upload, delete = _changes(plan, _remote_files(api, repo_id, tags[plan.tag]))
            if upload or delete:
                raise ReleaseError(
                    f"{repo_id} already has tag {plan.tag} with other files "
                    f"({name_files([f.path for f in upload] + delete)}); a published tag is never "
                    "moved: bump the version"
                )
            return Published("unchanged", plan.tag, tags[plan.tag], [], [])
        heads = {b.name: b.target_commit for b in refs.branches}
        upload, delete = _changes(plan, _remote_files(api, repo_id, "main") if "main" in heads else {})
        if upload or delete:
            operations: list[Any] = [CommitOperationAdd(f.path, str(folder / f.path)) for f in upload]
            operations += [CommitOperationDelete(path) for path in delete]
            info = api.create_commit(
                repo_id,
                operations,
                commit_message=f"Release {plan.tag}",
                repo_type=REPO_TYPE,
                parent_commit=heads.get("main"),
            )
            commit, status = str(info.oid), "published"
        else:
            commit, status = heads["main"], "tagged"
        api.create_tag(repo_id, tag=plan.tag, revision=commit, repo_type=REPO_TYPE, tag_message=plan.tag)
    except HTTPError as exc:
        raise ReleaseError(f"hub request for {repo_id} failed: {exc}") from exc
    return Published(status, plan.tag, commit, [f.path for f in upload], delete)
