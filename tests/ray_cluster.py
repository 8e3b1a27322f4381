"""A Ray cluster of several nodes simulated on this machine (a head and more raylets, one CPU each),
for the benchmark of a build that joins a cluster through `RAY_ADDRESS`.

Every node says it is 127.0.0.1, but Ray 2.60 lets a second node join only when its servers listen
on every interface, so the cluster keeps token authentication on, with a random token made for it.
No dashboard. It is stopped by the process ids of its own daemons (found by its temporary folder)
and their children, never with `ray stop`, which would also stop any other Ray on the machine.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

# Seconds `ray start` gets (a start that fails otherwise retries for minutes).
START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def loopback_cluster(nodes: int = 2) -> Iterator[dict[str, str]]:
    """Start the cluster; yield the environment a build needs to join it (`RAY_ADDRESS`, token)."""
    # Short: Ray's socket paths under it must fit in 107 bytes.
    folder = Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp"))
    env = os.environ | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env.pop("RAY_ADDRESS", None)
    address = f"127.0.0.1:{free_port()}"
    ray = [str(Path(sys.executable).with_name("ray")), "start", "--num-cpus=1", "--node-ip-address=127.0.0.1"]
    common = [f"--temp-dir={folder}", "--disable-usage-stats"]
    try:
        head = [*ray, "--head", f"--port={address.split(':')[1]}", "--include-dashboard=false", *common]
        subprocess.run(head, env=env, check=True, capture_output=True, timeout=START_SECONDS)
        for _ in range(nodes - 1):
            node = [*ray, f"--address={address}", *common]
            subprocess.run(node, env=env, check=True, capture_output=True, timeout=START_SECONDS)
        yield env | {"RAY_ADDRESS": address}
    finally:
        stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def stop(folder: Path) -> None:
    """End the cluster's processes: those whose command line names `folder`, and their children."""
    ours = _descendants(_naming(str(folder)))
    for signal_number, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
        for pid in ours:
            with suppress(ProcessLookupError):
                os.kill(pid, signal_number)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(pid) for pid in ours):
            time.sleep(0.2)


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process this user can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                found[int(entry.name)] = (parent, (entry / "cmdline").read_bytes())
            except (OSError, IndexError, ValueError):
                continue
    return found


def _naming(text: str) -> set[int]:
    return {pid for pid, (_, command) in _processes().items() if text.encode() in command}


def _descendants(roots: set[int]) -> set[int]:
    table = _processes()
    found, grew = set(roots), True
    while grew:
        more = {pid for pid, (parent, _) in table.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
