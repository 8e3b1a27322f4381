"""`corpus publish`: everything up to the HTTP call, with a fake hub that records each call.

The fake keeps files per commit like a hub repository: parquet and PNG files are LFS objects
(compared by sha256), other files plain git blobs (compared by git object id), and a new
repository starts with a `.gitattributes` commit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.hf_api import BlobLfsInfo, GitRefInfo, GitRefs

import corpus.cli
from corpus.build import build
from corpus.cli import app
from corpus.errors import ReleaseError, redact
from corpus.release import sha256_file
from corpus.release.publish import publish_release
from tests.helpers import MAGHREB
from tests.test_cli import make_runner

LFS_SUFFIXES = (".parquet", ".png")
SECRET = "hf_secretTOKEN0123456789"


@dataclass
class FakeFile:
    path: str
    size: int
    blob_id: str
    lfs: BlobLfsInfo | None


@dataclass
class FakeCommit:
    oid: str


class FakeHub:
    """A dataset repository in memory; `calls` lists (method, repo_id, key options)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.commits: list[dict[str, bytes]] = []
        self.tags: dict[str, int] = {}

    def create_repo(self, repo_id: str, **options: Any) -> None:
        assert options["repo_type"] == "dataset" and options["exist_ok"] is True
        self.calls.append(("create_repo", repo_id))
        if not self.commits:
            self.commits.append({".gitattributes": b"*.parquet filter=lfs\n"})

    def list_repo_refs(self, repo_id: str, **options: Any) -> GitRefs:
        self.calls.append(("list_repo_refs", repo_id))
        main = (
            [GitRefInfo(name="main", ref="refs/heads/main", target_commit=self.head)] if self.commits else []
        )
        tags = [GitRefInfo(name=t, ref=f"refs/tags/{t}", target_commit=f"c{i}") for t, i in self.tags.items()]
        return GitRefs(branches=main, converts=[], tags=tags)

    @property
    def head(self) -> str:
        return f"c{len(self.commits) - 1}"

    def list_repo_tree(self, repo_id: str, **options: Any) -> list[FakeFile]:
        assert options["recursive"] is True
        self.calls.append(("list_repo_tree", repo_id, options["revision"]))
        revision = options["revision"]
        files = self.commits[-1 if revision == "main" else int(revision[1:])]
        return [self._entry(path, data) for path, data in sorted(files.items())]

    @staticmethod
    def _entry(path: str, data: bytes) -> FakeFile:
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        if path.endswith(LFS_SUFFIXES):
            lfs = BlobLfsInfo(size=len(data), sha256=hashlib.sha256(data).hexdigest(), pointer_size=130)
            return FakeFile(path, len(data), "pointer-" + blob, lfs)
        return FakeFile(path, len(data), blob, None)

    def create_commit(self, repo_id: str, operations: list[Any], **options: Any) -> FakeCommit:
        assert options["parent_commit"] == self.head  # nobody pushed in between
        self.calls.append(("create_commit", repo_id, options["commit_message"]))
        files = dict(self.commits[-1])
        for op in operations:
            if isinstance(op, CommitOperationAdd):
                files[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
            else:
                assert isinstance(op, CommitOperationDelete)
                del files[op.path_in_repo]
        self.commits.append(files)
        return FakeCommit(self.head)

    def create_tag(self, repo_id: str, **options: Any) -> None:
        tag = options["tag"]
        assert tag not in self.tags
        self.calls.append(("create_tag", repo_id, tag, options["revision"]))
        self.tags[tag] = int(options["revision"][1:])


def release_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(MAGHREB, tmp_path_factory.mktemp("publish")).path


@pytest.fixture
def release(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "maghreb-news" / "v0.1.0"
    shutil.copytree(pristine, copy)
    return copy


def test_first_publish_is_one_commit_and_a_tag(release: Path) -> None:
    hub = FakeHub()
    done = publish_release(release, "org/maghreb-news", hub)
    assert done.status == "published"
    assert [c[0] for c in hub.calls] == [
        "create_repo",
        "list_repo_refs",
        "list_repo_tree",
        "create_commit",
        "create_tag",
    ]
    assert hub.calls[-1] == ("create_tag", "org/maghreb-news", "v0.1.0", "c1")
    assert hub.commits[1] == {".gitattributes": b"*.parquet filter=lfs\n", **release_bytes(release)}
    assert sorted(done.uploaded) == sorted(release_bytes(release))


def test_publishing_twice_changes_nothing(release: Path) -> None:
    hub = FakeHub()
    publish_release(release, "org/maghreb-news", hub)
    commits, calls = list(hub.commits), len(hub.calls)
    again = publish_release(release, "org/maghreb-news", hub)
    assert again.status == "unchanged"
    assert hub.commits == commits
    assert [c[0] for c in hub.calls[calls:]] == ["create_repo", "list_repo_refs", "list_repo_tree"]


def test_an_existing_tag_is_never_moved(release: Path) -> None:
    hub = FakeHub()
    publish_release(release, "org/maghreb-news", hub)
    card = release / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nA late note.\n", encoding="utf-8")
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["README.md"] = {"sha256": sha256_file(card), "bytes": card.stat().st_size}
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ReleaseError) as caught:
        publish_release(release, "org/maghreb-news", hub)
    assert str(caught.value) == (
        "org/maghreb-news already has tag v0.1.0 with other files (README.md, manifest.json); "
        "a published tag is never moved: bump the version"
    )
    assert len(hub.commits) == 2 and hub.tags == {"v0.1.0": 1}


def test_a_new_version_replaces_the_old_files_in_one_commit(release: Path) -> None:
    hub = FakeHub()
    publish_release(release, "org/maghreb-news", hub)
    hub.commits[-1]["data/xx/train-00000-of-00001.parquet"] = b"left over from an older release"
    manifest = (release / "manifest.json").read_text(encoding="utf-8")
    (release / "manifest.json").write_text(manifest.replace('"v0.1.0"', '"v0.2.0"'), encoding="utf-8")
    done = publish_release(release, "org/maghreb-news", hub)
    assert done.status == "published"
    assert done.uploaded == ["manifest.json"]
    assert done.deleted == ["data/xx/train-00000-of-00001.parquet"]
    assert set(hub.tags) == {"v0.1.0", "v0.2.0"}


def test_files_already_on_main_are_tagged_without_a_commit(release: Path) -> None:
    hub = FakeHub()
    hub.create_repo("org/maghreb-news", repo_type="dataset", exist_ok=True)
    hub.commits.append({".gitattributes": hub.commits[0][".gitattributes"], **release_bytes(release)})
    done = publish_release(release, "org/maghreb-news", hub)
    assert done.status == "tagged"
    assert hub.tags == {"v0.1.0": 1}
    assert "create_commit" not in [c[0] for c in hub.calls]


def test_a_corrupt_release_is_not_published(release: Path) -> None:
    (release / "plots" / "text_length.png").write_bytes(b"not a plot")
    hub = FakeHub()
    with pytest.raises(ReleaseError, match=r"changed: plots/text_length\.png"):
        publish_release(release, "org/maghreb-news", hub)
    assert hub.calls == []


def test_dry_run_prints_the_plan_and_sends_nothing(release: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus.cli, "hub_api", lambda: pytest.fail("dry run must not build a client"))
    monkeypatch.setenv("HF_TOKEN", SECRET)
    result = make_runner().invoke(
        app, ["publish", str(release), "--repo-id", "org/maghreb-news", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    files = sorted(release_bytes(release).items())
    width = max(len(f"{len(data):,}") for _, data in files)
    expected = [f"would publish {release} to dataset org/maghreb-news as tag v0.1.0"]
    expected += [f"  {len(data):>{width},} bytes  {name}" for name, data in files]
    total = sum(len(data) for _, data in files)
    expected.append(f"{len(files)} files, {total:,} bytes; nothing sent (dry run)")
    assert result.stdout == "\n".join(expected) + "\n"
    assert SECRET not in result.output


def test_cli_publish_reports_and_never_shows_the_token(
    release: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = FakeHub()
    monkeypatch.setattr(corpus.cli, "hub_api", lambda: hub)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    args = ["publish", str(release), "--repo-id", "org/maghreb-news"]
    first = make_runner().invoke(app, args)
    assert first.exit_code == 0, first.output
    count = len(release_bytes(release))
    assert first.stdout == (
        f"published: org/maghreb-news tag v0.1.0 (commit c1; {count} files uploaded, 0 deleted)\n"
        'load it with: load_dataset("org/maghreb-news", "all", revision="v0.1.0")\n'
    )
    second = make_runner().invoke(app, args)
    assert second.stdout.startswith("already published: org/maghreb-news tag v0.1.0 (commit c1; 0 files")
    for output in (first.output, second.output):
        assert SECRET not in output
    assert all(SECRET.encode() not in data for data in release_bytes(release).values())


def test_bad_repo_id_is_a_usage_error(release: Path) -> None:
    result = make_runner().invoke(app, ["publish", str(release), "--repo-id", "maghreb-news", "--dry-run"])
    assert result.exit_code == 2
    assert "expected ORG/NAME" in result.stderr


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Invalid credentials: got Authorization: Bearer hf_abcdefghijklmnop",
            "Invalid credentials: got Authorization: [redacted]",
        ),
        (
            "{'authorization': 'Bearer abc.def', 'user-agent': 'x'}",
            "{'authorization': '[redacted]', 'user-agent': 'x'}",
        ),
        ('{"Authorization": "Basic dXNlcjpwYXNz"}', '{"Authorization": "[redacted]"}'),
        ("401 (bearer eyJhbGciOiJIUzI1NiJ9.e30.x)", "401 (Bearer [redacted])"),
        (f"token {SECRET} was refused", "token hf_[redacted] was refused"),
        ("Cookie: session=abc; other=def", "Cookie: [redacted]"),
        ("GET /api/x?token=abc123&full=1", "GET /api/x?token=[redacted]&full=1"),
        ("huggingface_hub.hf_hub_download failed", "huggingface_hub.hf_hub_download failed"),
    ],
)
def test_credentials_are_redacted_and_redaction_is_stable(message: str, expected: str) -> None:
    assert redact(message) == expected
    assert redact(expected) == expected


class FailingStorage(FakeHub):
    """The hub accepts the commit request, the file storage refuses the upload."""

    def create_commit(self, repo_id: str, operations: list[Any], **options: Any) -> FakeCommit:
        raise PermissionError(f"storage refused the upload: Authorization: Bearer {SECRET}")


def test_a_storage_error_during_the_upload_is_one_line(release: Path) -> None:
    hub = FailingStorage()
    with pytest.raises(ReleaseError) as caught:
        publish_release(release, "org/maghreb-news", hub)
    count = len(release_bytes(release))
    assert str(caught.value) == (
        f"org/maghreb-news: committing {count} files failed (storage refused the upload: "
        "Authorization: [redacted]); run the same command again: it compares the release with what "
        "the hub holds now"
    )
    assert hub.tags == {}
