"""Publish a verified release to a Hugging Face dataset repository, tagged `v<version>`.

One commit makes the repository's files equal to the release (new and changed files added,
files of an older release deleted), then the tag points at it. Publishing again is a no-op
when the tag already holds the same files; a tag is never moved. The token is whatever
`huggingface_hub` finds (`HF_TOKEN` or `hf auth login`): this module never reads, prints or
writes it. Every hub call goes through `api`, so everything up to HTTP is testable offline.

A failed hub call becomes one `ReleaseError` line naming the repository, the step, the reason
and what to do; what the server said is kept, without credentials. Publishing again after any
failure is safe: it compares the release with what the hub holds and does only what is left.
"""

from __future__ import annotations

import hashlib
import http
import re
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from corpus.errors import ConfigError, ReleaseError, redact
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
    """The files of a revision (a branch or a commit) by path, without those the hub manages."""
    with hub_step(api, repo_id, f"listing the files of {revision[:12]}"):
        tree = list(api.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type=REPO_TYPE))
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
    plan = plan_publish(folder, repo_id)
    with hub_step(api, repo_id, "creating the repository"):
        api.create_repo(repo_id, repo_type=REPO_TYPE, exist_ok=True, private=private)
    with hub_step(api, repo_id, "reading its branches and tags"):
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
        commit, status = _commit(api, plan, upload, delete, heads.get("main")), "published"
    else:
        commit, status = heads["main"], "tagged"
    with hub_step(api, repo_id, f"tagging {plan.tag}"):
        api.create_tag(repo_id, tag=plan.tag, revision=commit, repo_type=REPO_TYPE, tag_message=plan.tag)
    return Published(status, plan.tag, commit, [f.path for f in upload], delete)


def _commit(api: HubApi, plan: Plan, upload: list[LocalFile], delete: list[str], parent: str | None) -> str:
    """One commit that adds `upload` and deletes `delete`, on top of `parent` (refused if main moved)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    operations: list[Any] = [CommitOperationAdd(f.path, str(plan.folder / f.path)) for f in upload]
    operations += [CommitOperationDelete(path) for path in delete]
    with hub_step(api, plan.repo_id, f"committing {len(operations)} files"):
        info = api.create_commit(
            plan.repo_id,
            operations,
            commit_message=f"Release {plan.tag}",
            repo_type=REPO_TYPE,
            parent_commit=parent,
        )
    return str(info.oid)


# Publishing compares before it sends, so running it again is always safe.
RETRY = "run the same command again: it compares the release with what the hub holds now"
# What went wrong, by HTTP status, and what the user can do about it.
STATUS_ADVICE = {
    401: ("the hub refused the credentials", "log in with `hf auth login` or set HF_TOKEN to a write token"),
    403: ("the token may not write there", "use a token with write access to {namespace}"),
    404: ("the hub does not know it", "check --repo-id, and that the token can see the repository"),
    409: ("the repository changed meanwhile", RETRY),
    412: ("the repository changed meanwhile", RETRY),  # a commit whose parent is no longer main's head
}


@contextmanager
def hub_step(api: HubApi, repo_id: str, doing: str) -> Iterator[None]:
    """Turn a failed hub call into one ReleaseError line (`doing` says what was being done)."""
    from huggingface_hub.errors import HTTPError, OfflineModeIsEnabled

    try:
        yield
    except OfflineModeIsEnabled:
        raise ReleaseError(
            f"{repo_id}: huggingface_hub is in offline mode (HF_HUB_OFFLINE is set); unset it to publish"
        ) from None
    except HTTPError as exc:
        raise ReleaseError(hub_error(exc, repo_id, doing, getattr(api, "endpoint", "the hub"))) from None
    except OSError as exc:  # the upload itself (Xet storage errors are OSErrors)
        raise ReleaseError(f"{repo_id}: {doing} failed ({one_line(str(exc))}); {RETRY}") from None
    except ValueError as exc:  # the client's reading of a refusal (e.g. invalid card metadata)
        raise ReleaseError(
            f"{repo_id}: the hub refused the release while {doing} ({one_line(str(exc))}); "
            "it cannot be published as it is"
        ) from None


def hub_error(exc: Exception, repo_id: str, doing: str, endpoint: str) -> str:
    """The message for an HTTP failure: a status from the hub, or no answer at all."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return (
            f"{repo_id}: cannot reach the hub at {endpoint} while {doing} ({network_reason(exc)}); "
            f"check the network connection, then {RETRY}"
        )
    what, advice = STATUS_ADVICE.get(
        status, ("the hub answered with an error", "run the same command again later")
    )
    server = getattr(exc, "server_message", None)
    said = f"{status} {_phrase(status)}" + (f": {one_line(server)}" if server else "")
    return f"{repo_id}: {what} while {doing} ({said}); {advice.format(namespace=repo_id.split('/')[0])}"


def network_reason(exc: BaseException) -> str:
    """Why no answer came, from the exception and its causes (the socket error underneath)."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "host name not resolved"
    if any(isinstance(e, TimeoutError) or "Timeout" in type(e).__name__ for e in chain):
        return "timed out"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any("Connect" in type(e).__name__ for e in chain):
        errors = [e.strerror for e in chain if isinstance(e, OSError) and e.strerror]
        return f"cannot connect: {errors[0].lower()}" if errors else "cannot connect"
    return "the connection dropped"


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "error"


def one_line(text: str, limit: int = 200) -> str:
    """A server's message on one line, without credentials, cut at `limit` characters."""
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
