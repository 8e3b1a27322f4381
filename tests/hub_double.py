"""A loopback stand-in for the Hugging Face Hub: the endpoints `corpus publish` reaches through the
real `huggingface_hub.HfApi` (2.4.0), with dataset repositories kept in memory.

Endpoints: `POST /api/repos/create`, `GET /api/datasets/{repo}/refs`, `GET .../tree/{revision}`,
`POST /api/validate-yaml` (create_commit checks a README.md first), `POST .../preupload/{revision}`,
`POST .../commit/{revision}` (ndjson) and `POST .../tag/{revision}`. Every file is given the
"regular" upload mode, so its bytes travel base64 inside the commit request: the real hub sends
Parquet and PNG files through LFS or Xet, storage protocols not worth faking here (what differs
for LFS files on our side, comparing by sha256, is covered by the in-memory fake of test_publish).

Like the hub, every request must carry `Authorization: Bearer <token>`; unlike a good server, a
refusal puts the header it received into its error body, so that tests can check that no
message shows it. `faults` makes a route answer an error or drop the connection mid-request;
`before` runs a function before a route is served (another client acting in between).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

DROP = "drop"  # a fault that closes the connection after part of the request body
REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES = [
    ("POST", re.compile(r"/api/repos/create"), "create_repo"),
    ("POST", re.compile(r"/api/validate-yaml"), "validate_yaml"),
    ("GET", re.compile(rf"/api/datasets/{REPO}/refs"), "refs"),
    ("GET", re.compile(rf"/api/datasets/{REPO}/tree/(?P<revision>[^/]+)"), "tree"),
    ("POST", re.compile(rf"/api/datasets/{REPO}/preupload/(?P<revision>[^/]+)"), "preupload"),
    ("POST", re.compile(rf"/api/datasets/{REPO}/commit/(?P<revision>[^/]+)"), "commit"),
    ("POST", re.compile(rf"/api/datasets/{REPO}/tag/(?P<revision>[^/]+)"), "tag"),
]


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class Repo:
    """A dataset repository: commits (oldest first) of whole file sets, and tags."""

    repo_id: str
    private: bool
    commits: list[tuple[str, dict[str, bytes]]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def head(self) -> str:
        return self.commits[-1][0]

    def files(self, revision: str = "main") -> dict[str, bytes]:
        if revision == "main":
            return self.commits[-1][1]
        return next(files for oid, files in self.commits if oid == revision)

    def push(self, files: dict[str, bytes]) -> str:
        """A new commit holding `files`; its id hashes the parent and the content."""
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(self.head.encode() if self.commits else b"")
        for path, data in sorted(files.items()):
            digest.update(path.encode() + b"\0" + git_blob_id(data).encode())
        self.commits.append((digest.hexdigest(), files))
        return self.head


@dataclass
class Request:
    method: str
    route: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes  # the first 64 bytes only when the connection was dropped

    def json(self) -> Any:
        return json.loads(self.body)


class HubDouble:
    """Start with `HubDouble(token).start()`; `url` is the endpoint to give `HfApi`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self.faults: dict[str, tuple[int, str] | str] = {}
        self.before: dict[str, Callable[[], None]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HubDouble:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def routes(self) -> list[str]:
        return [r.route for r in self.requests]

    def serve(self, request: Request, match: re.Match[str] | None) -> tuple[int, Any]:
        """Status and JSON body for one request that passed authentication and fault injection."""
        if match is None:
            return 404, {"error": f"the double does not serve {request.method} {request.path}"}
        groups = {k: unquote(v) for k, v in match.groupdict().items()}
        if request.route in ("create_repo", "validate_yaml"):
            return getattr(self, f"_{request.route}")(request)
        repo = self.repos.get(groups["repo"])
        if repo is None:
            return 404, {"error": "Repository not found"}
        return getattr(self, f"_{request.route}")(request, repo, groups.get("revision", "main"))

    def _create_repo(self, request: Request) -> tuple[int, Any]:
        payload = request.json()
        repo_id = f"{payload['organization']}/{payload['name']}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this dataset repo", "url": f"{self.url}/{repo_id}"}
        self.repos[repo_id] = Repo(repo_id, private=payload.get("visibility") == "private")
        self.repos[repo_id].push({".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"})
        return 200, {"url": f"{self.url}/datasets/{repo_id}"}

    def _validate_yaml(self, request: Request) -> tuple[int, Any]:
        return 200, {"errors": [], "warnings": []}

    def _refs(self, request: Request, repo: Repo, revision: str) -> tuple[int, Any]:
        def ref(kind: str, name: str, oid: str) -> dict[str, str]:
            return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": oid}

        tags = [ref("tags", name, oid) for name, oid in sorted(repo.tags.items())]
        return 200, {"branches": [ref("heads", "main", repo.head)], "converts": [], "tags": tags}

    def _tree(self, request: Request, repo: Repo, revision: str) -> tuple[int, Any]:
        files = repo.files(revision)
        folders = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
        entries = [{"type": "directory", "path": f, "oid": git_blob_id(f.encode())} for f in folders]
        entries += [
            {"type": "file", "path": p, "size": len(d), "oid": git_blob_id(d), "lfs": None}
            for p, d in sorted(files.items())
        ]
        return 200, entries

    def _preupload(self, request: Request, repo: Repo, revision: str) -> tuple[int, Any]:
        files = repo.files(revision)
        answer = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_id(files[f["path"]]) if f["path"] in files else None,
            }
            for f in request.json()["files"]
        ]
        return 200, {"files": answer}

    def _commit(self, request: Request, repo: Repo, revision: str) -> tuple[int, Any]:
        lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
        header = lines[0]["value"]
        if header.get("parentCommit") not in (None, repo.head):
            return 409, {"error": "A commit has happened since. Please refresh and try again."}
        files = dict(repo.files())
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "deletedFile":
                files.pop(value["path"])
            else:
                return 400, {"error": f"the double does not take {line['key']} operations"}
        oid = repo.push(files)
        return 200, {"commitUrl": f"{self.url}/datasets/{repo.repo_id}/commit/{oid}", "commitOid": oid}

    def _tag(self, request: Request, repo: Repo, revision: str) -> tuple[int, Any]:
        tag = request.json()["tag"]
        if tag in repo.tags:
            return 409, {"error": f"Tag {tag} already exists"}
        repo.tags[tag] = repo.head if revision == "main" else revision
        return 200, {}


def _route(method: str, path: str) -> tuple[str, re.Match[str] | None]:
    """The route's name and its match (`unknown`, None when the double does not serve it)."""
    for route_method, pattern, name in ROUTES:
        if route_method == method and (match := pattern.fullmatch(path)):
            return name, match
    return "unknown", None


def _handler(hub: HubDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the hub client expects

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `hub.requests` instead."""

        def _handle(self) -> None:
            path = urlsplit(self.path).path
            route, match = _route(self.command, path)
            fault = hub.faults.get(route)
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(min(length, 64) if fault == DROP else length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(self.command, route, path, headers, body)
            hub.requests.append(request)
            if fault == DROP:  # hang up mid-upload, without an answer
                self.close_connection = True
                return
            if route in hub.before:
                hub.before.pop(route)()
            received = headers.get("authorization", "")
            if received != f"Bearer {hub.token}":
                error = f"Invalid credentials: this server received Authorization: {received}"
                self._answer(401, {"error": error})
            elif isinstance(fault, tuple):
                self._answer(fault[0], {"error": fault[1].format(authorization=received)})
            else:
                self._answer(*hub.serve(request, match))

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status >= 400 and isinstance(body, dict):
                self.send_header("X-Error-Message", str(body.get("error", "")))
            self.end_headers()
            self.wfile.write(data)

    return Handler
