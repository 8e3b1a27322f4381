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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
# Sampling period: short enough to catch a stage's peak, long enough that the scan of /proc
# (a few milliseconds on this kind of machine) costs little of a core.
SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class TreeSample:
    """The tree at one instant: resident memory summed over its processes, their count, and the
    CPU ticks each has used so far, keyed by (pid, start time) so a reused pid is another process."""

    rss_bytes: int
    processes: int
    threads: int
    cpu_ticks: dict[tuple[int, int], int]


@dataclass(frozen=True)
class Measurement:
    """One run of a command: wall seconds and the peaks of its process tree."""

    seconds: float
    # CPU seconds (user + system) summed over the tree's processes as last sampled (each may run
    # up to SAMPLE_SECONDS more after its last sample): the work done, which a busy shared
    # machine stretches less than the wall time.
    cpu_seconds: float
    peak_rss_mib: float
    peak_processes: int
    peak_threads: int
    returncode: int
    load_before: float  # 1-minute load average when it started (other users' work included)


def process_table() -> dict[int, tuple[int, ...]]:
    """Every live process as pid -> (parent pid, threads, resident pages, CPU ticks, start time),
    from /proc/PID/stat."""
    table = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            stat = (PROC / entry.name / "stat").read_text()
        except OSError:  # the process ended between the listing and the read
            continue
        # The command name (field 2) may hold spaces and parentheses: fields restart after the last ")".
        fields = [int(f) for f in stat[stat.rindex(")") + 4 :].split()]
        # Fields 4 (ppid), 20 (threads), 24 (rss), 14 + 15 (utime + stime), 22 (start time).
        table[int(entry.name)] = (fields[0], fields[16], fields[20], fields[10] + fields[11], fields[18])
    return table


def sample_tree(root: int) -> TreeSample:
    """Resident memory, processes, threads and CPU ticks of `root` and all its descendants now.
    RSS is summed as the kernel reports it: pages shared between forked workers count once per
    process, as `ps` and `top` would show them."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in table.items():
        children.setdefault(parent, []).append(pid)
    rss_pages = processes = threads = 0
    cpu_ticks = {}
    pending = [root] if root in table else []
    while pending:
        pid = pending.pop()
        _, pid_threads, pid_pages, ticks, start = table[pid]
        rss_pages += pid_pages
        processes += 1
        threads += pid_threads
        cpu_ticks[(pid, start)] = ticks
        pending.extend(children.get(pid, []))
    return TreeSample(rss_pages * PAGE_BYTES, processes, threads, cpu_ticks)


def measure(command: list[str], log: Path, env: dict[str, str] | None = None) -> Measurement:
    """Run `command` (output to `log`, in `env` if given), sampling its tree every SAMPLE_SECONDS
    until it exits."""
    rss_bytes = processes = threads = 0
    cpu_ticks: dict[tuple[int, int], int] = {}
    load_before = os.getloadavg()[0]
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        while True:
            now = sample_tree(process.pid)
            rss_bytes = max(rss_bytes, now.rss_bytes)
            processes = max(processes, now.processes)
            threads = max(threads, now.threads)
            cpu_ticks.update(now.cpu_ticks)
            try:  # returns as soon as the command exits, so the wall time is not rounded up
                process.wait(timeout=SAMPLE_SECONDS)
                break
            except subprocess.TimeoutExpired:
                continue
        seconds = time.perf_counter() - started
    return Measurement(
        seconds=seconds,
        cpu_seconds=sum(cpu_ticks.values()) / CLOCK_TICKS,
        peak_rss_mib=rss_bytes / MIB,
        peak_processes=processes,
        peak_threads=threads,
        returncode=process.returncode,
        load_before=load_before,
    )


def log_tail(log: Path, lines: int = 30) -> str:
    """The end of a run's output, to show why it failed."""
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
