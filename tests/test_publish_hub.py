"""`corpus publish` through the real `huggingface_hub.HfApi` against a loopback hub double.

Network stays on 127.0.0.1: `HF_ENDPOINT` (and the client's endpoint constant) point at the
double, offline mode is off only for it, proxies are unset, and every socket is checked: a
connection anywhere else fails the test, and a host name other than 127.0.0.1 or localhost does
not resolve (which is how the DNS failure below is made).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.utils import _detect_agent, _http

import corpus.cli
from corpus.build import build
from corpus.cli import app
from corpus.errors import ReleaseError
from corpus.release.publish import publish_release
from tests.helpers import MAGHREB, release_files
from tests.hub_double import DROP, HubDouble
from tests.test_cli import make_runner

TOKEN = "hf_fakeTOKENforTHEdouble0123456789"
WRONG = "hf_wrongTOKENsomeoneLEAKED98765432"
REPO_ID = "org/maghreb-news"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(MAGHREB, tmp_path_factory.mktemp("publish-hub")).path


@pytest.fixture
def release(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "maghreb-news" / "v0.1.0"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Sockets may connect to 127.0.0.1 only; other host names do not resolve."""
    outside: list[Any] = []
    connect, resolve = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            outside.append(address)
            raise AssertionError(f"a test tried to connect to {address}")
        connect(self, address)

    def guarded_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_resolve)
    yield outside
    assert outside == []


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, loopback_only: list[Any], tmp_path: Path) -> Iterator[HubDouble]:
    """A hub double, and a client environment that can reach nothing else."""
    double = HubDouble(TOKEN).start()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_ENDPOINT", double.url)
    monkeypatch.setattr(constants, "ENDPOINT", double.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(_http.time, "sleep", lambda seconds: None)  # no waiting between retries
    # The client fetches a list of AI agent harnesses from the endpoint once per process (and
    # caches it under the user's home): give it an empty one instead.
    monkeypatch.setattr(_detect_agent, "_registry", _detect_agent._EMPTY_REGISTRY)
    _http.close_session()  # a fresh client: it reads the proxy settings above
    yield double
    _http.close_session()
    double.close()


def client(hub: HubDouble) -> HfApi:
    return HfApi(endpoint=hub.url, token=TOKEN)


def publish(release: Path, *options: str) -> Any:
    return make_runner().invoke(app, ["publish", str(release), "--repo-id", REPO_ID, *options])


def test_first_publish_creates_commits_and_tags(release: Path, hub: HubDouble) -> None:
    done = publish_release(release, REPO_ID, client(hub))
    assert done.status == "published"
    assert hub.routes() == ["create_repo", "refs", "tree", "validate_yaml", "preupload", "commit", "tag"]
    assert hub.requests[0].json() == {
        "name": "maghreb-news",
        "organization": "org",
        "visibility": "public",
        "type": "dataset",
    }
    repo = hub.repos[REPO_ID]
    assert repo.tags == {"v0.1.0": done.commit} and repo.head == done.commit
    assert {k: v for k, v in repo.files().items() if k != ".gitattributes"} == release_files(release)
    assert sorted(done.uploaded) == sorted(release_files(release)) and done.deleted == []


def test_publishing_again_sends_no_commit(release: Path, hub: HubDouble) -> None:
    publish_release(release, REPO_ID, client(hub))
    hub.requests.clear()
    again = publish_release(release, REPO_ID, client(hub))
    assert again.status == "unchanged"
    assert hub.routes() == ["create_repo", "refs", "tree"]


def test_cli_private_reaches_the_create_repo_request(release: Path, hub: HubDouble) -> None:
    result = publish(release, "--private")
    assert result.exit_code == 0, result.output
    assert hub.requests[0].json()["visibility"] == "private"
    assert hub.repos[REPO_ID].private
    head, count = hub.repos[REPO_ID].head, len(release_files(release))
    assert result.stdout == (
        f"published: {REPO_ID} tag v0.1.0 (commit {head[:12]}; {count} files uploaded, 0 deleted)\n"
        f'load it with: load_dataset("{REPO_ID}", "all", revision="v0.1.0")\n'
    )


def test_a_refused_token_is_never_echoed(release: Path, hub: HubDouble, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", WRONG)
    result = publish(release)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {REPO_ID}: the hub refused the credentials while creating the repository (401 "
        "Unauthorized: Invalid credentials: this server received Authorization: [redacted]); log in "
        "with `hf auth login` or set HF_TOKEN to a write token\n"
    )
    assert WRONG not in result.output and "Bearer" not in result.output
    assert hub.requests[0].headers["authorization"] == f"Bearer {WRONG}"  # the server did get it


def test_a_header_dump_in_a_server_error_is_redacted(release: Path, hub: HubDouble) -> None:
    hub.faults["commit"] = (500, "upstream failed; request headers: {{'authorization': '{authorization}'}}")
    result = publish(release)
    assert result.exit_code == 1
    files = len(release_files(release))
    assert result.stderr.startswith(
        f"error: {REPO_ID}: the hub answered with an error while committing {files} files (500 Internal "
        "Server Error: upstream failed; request headers: {'authorization': '[redacted]'}); "
    )
    assert TOKEN not in result.output and "hf_fake" not in result.output


def test_an_unknown_repository_is_named(release: Path, hub: HubDouble) -> None:
    hub.faults["refs"] = (404, "Repository not found")
    with pytest.raises(ReleaseError) as caught:
        publish_release(release, REPO_ID, client(hub))
    assert str(caught.value) == (
        f"{REPO_ID}: the hub does not know it while reading its branches and tags (404 Not Found: "
        "Repository not found); check --repo-id, and that the token can see the repository"
    )


def test_a_tag_created_meanwhile_is_a_conflict_and_the_rerun_settles_it(
    release: Path, hub: HubDouble
) -> None:
    def someone_tags_main() -> None:
        repo = hub.repos[REPO_ID]
        repo.tags["v0.1.0"] = repo.head

    hub.before["tag"] = someone_tags_main
    with pytest.raises(ReleaseError) as caught:
        publish_release(release, REPO_ID, client(hub))
    assert str(caught.value) == (
        f"{REPO_ID}: the repository changed meanwhile while tagging v0.1.0 (409 Conflict: Tag v0.1.0 "
        "already exists); run the same command again: it compares the release with what the hub holds now"
    )
    assert publish_release(release, REPO_ID, client(hub)).status == "unchanged"  # it holds this release


def test_a_commit_pushed_meanwhile_is_a_conflict_and_the_rerun_publishes(
    release: Path, hub: HubDouble
) -> None:
    def someone_pushes() -> None:
        repo = hub.repos[REPO_ID]
        repo.push({**repo.files(), "notes.txt": b"pushed by someone else\n"})

    hub.before["commit"] = someone_pushes
    files = len(release_files(release))
    with pytest.raises(
        ReleaseError, match=rf"repository changed meanwhile while committing {files} files \(409"
    ):
        publish_release(release, REPO_ID, client(hub))
    assert hub.repos[REPO_ID].tags == {}
    done = publish_release(release, REPO_ID, client(hub))
    assert done.status == "published" and done.deleted == ["notes.txt"]


def test_a_card_the_hub_refuses_is_named(release: Path, hub: HubDouble) -> None:
    hub.faults["validate_yaml"] = (400, "Invalid metadata")
    with pytest.raises(ReleaseError) as caught:
        publish_release(release, REPO_ID, client(hub))
    files = len(release_files(release))
    assert str(caught.value) == (
        f"{REPO_ID}: the hub refused the release while committing {files} files (Invalid metadata in "
        "README.md.); it cannot be published as it is"
    )
    assert "commit" not in hub.routes()


def test_a_connection_dropped_mid_upload(release: Path, hub: HubDouble) -> None:
    hub.faults["commit"] = DROP
    files = len(release_files(release))
    result = publish(release)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {REPO_ID}: cannot reach the hub at {hub.url} while committing {files} files (the connection "
        "dropped); check the network connection, then run the same command again: it compares the "
        "release with what the hub holds now\n"
    )
    assert hub.repos[REPO_ID].tags == {}
    del hub.faults["commit"]
    assert publish(release).exit_code == 0
    assert list(hub.repos[REPO_ID].tags) == ["v0.1.0"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def short_timeout() -> Iterator[None]:
    _http.set_client_factory(
        lambda: httpx2.Client(timeout=0.2, event_hooks={"request": [_http.hf_request_event_hook]})
    )
    yield
    _http.set_client_factory(_http.default_client_factory)


def unreachable(release: Path, endpoint: str) -> str:
    with pytest.raises(ReleaseError) as caught:
        publish_release(release, REPO_ID, HfApi(endpoint=endpoint, token=TOKEN))
    return str(caught.value)


def expected_unreachable(endpoint: str, reason: str) -> str:
    return (
        f"{REPO_ID}: cannot reach the hub at {endpoint} while creating the repository ({reason}); check "
        "the network connection, then run the same command again: it compares the release with what "
        "the hub holds now"
    )


def test_hub_refusing_connections(release: Path, hub: HubDouble) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    assert unreachable(release, endpoint) == expected_unreachable(endpoint, "connection refused")


def test_hub_name_not_resolved(release: Path, hub: HubDouble) -> None:
    endpoint = "http://hub.invalid"
    assert unreachable(release, endpoint) == expected_unreachable(endpoint, "host name not resolved")


def test_hub_not_answering(release: Path, hub: HubDouble, silent_server: str, short_timeout: None) -> None:
    assert unreachable(release, silent_server) == expected_unreachable(silent_server, "timed out")


def test_offline_mode_is_named(release: Path, hub: HubDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    result = publish(release)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {REPO_ID}: huggingface_hub is in offline mode (HF_HUB_OFFLINE is set); unset it to publish\n"
    )
    assert hub.requests == []


def test_the_cli_builds_the_real_client(hub: HubDouble) -> None:
    api = corpus.cli.hub_api()
    assert isinstance(api, HfApi) and api.endpoint == hub.url
