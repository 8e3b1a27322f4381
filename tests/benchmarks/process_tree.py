"""Wall time and peak memory of a command and every process it starts, read from /proc.

Tools that fan out into worker processes (datatrove's pool, a future corpus engine) hide most of
their memory from the parent's own counters, so the whole tree is sampled while it runs.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
# Sampling period: short enough to catch a stage's peak, long enough that the scan of /proc
# (a few milliseconds on this kind of machine) costs little of a core.
SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class TreeSample:
    """The tree at one instant: resident memory summed over its processes, and their count."""

    rss_bytes: int
    processes: int
    threads: int


@dataclass(frozen=True)
class Measurement:
    """One run of a command: wall seconds and the peaks of its process tree."""

    seconds: float
    peak_rss_mib: float
    peak_processes: int
    peak_threads: int
    returncode: int


def process_table() -> dict[int, tuple[int, int, int]]:
    """Every live process as pid -> (parent pid, threads, resident pages), from /proc/PID/stat."""
    table = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            stat = (PROC / entry.name / "stat").read_text()
        except OSError:  # the process ended between the listing and the read
            continue
        # The command name (field 2) may hold spaces and parentheses: fields restart after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[17]), int(fields[21]))
    return table


def sample_tree(root: int) -> TreeSample:
    """Resident memory, processes and threads of `root` and all its descendants right now.
    RSS is summed as the kernel reports it: pages shared between forked workers count once per
    process, as `ps` and `top` would show them."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    rss_pages = processes = threads = 0
    pending = [root] if root in table else []
    while pending:
        pid = pending.pop()
        _, pid_threads, pid_pages = table[pid]
        rss_pages += pid_pages
        processes += 1
        threads += pid_threads
        pending.extend(children.get(pid, []))
    return TreeSample(rss_pages * PAGE_BYTES, processes, threads)


def measure(command: list[str], log: Path) -> Measurement:
    """Run `command` (output to `log`), sampling its tree every SAMPLE_SECONDS until it exits."""
    peak = TreeSample(0, 0, 0)
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while True:
            now = sample_tree(process.pid)
            peak = TreeSample(
                max(peak.rss_bytes, now.rss_bytes),
                max(peak.processes, now.processes),
                max(peak.threads, now.threads),
            )
            try:  # returns as soon as the command exits, so the wall time is not rounded up
                process.wait(timeout=SAMPLE_SECONDS)
                break
            except subprocess.TimeoutExpired:
                continue
        seconds = time.perf_counter() - started
    return Measurement(seconds, peak.rss_bytes / MIB, peak.processes, peak.threads, process.returncode)


def log_tail(log: Path, lines: int = 30) -> str:
    """The end of a run's output, to show why it failed."""
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
