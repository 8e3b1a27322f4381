"""The Ray engine: the local engine's plan, passes, units and work folder, with the units run as a
Ray Data `map_batches` over a pool of actors, on a cluster (`RAY_ADDRESS`) or a local Ray bound to
the loopback.

Each unit is the local engine's `run_unit`: it reads its batch, runs the same steps and writes the
same files into the work folder, which must therefore be on storage every node sees (a shared file
system mounted at the same path). A phase's group-bys (segments by hash, documents by LSH bucket,
edges by node, candidates by component) run on the cluster as Ray Data shuffles
(`corpus.engine.ray_shuffle`); their small results are combined in this process into the same
decision tables the local engine writes, and the release is written by the same writer, so a
release is the same bytes whatever the engine. A unit is idempotent (its files are renamed into
place, its marker written last): when a worker dies, Ray runs the unit again elsewhere and the
bytes do not change.

Heavy and optional: `pip install -e '.[ray]'`.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from corpus.engine.allocator import keep_freed_memory
from corpus.engine.local import Context, LocalEngine, Unit, _initialise, run_unit
from corpus.engine.parts import LocalStore
from corpus.engine.progress import Progress, silent
from corpus.engine.ray_shuffle import RayStore
from corpus.errors import ConfigError, CorpusError

# Seconds a local Ray gets to start: a start that fails otherwise retries for minutes.
START_SECONDS = 60


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Raise TimeoutError in this (main) thread after `seconds`; elsewhere no limit (signals only
    reach the main thread, and Ray must be started from it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _reachable(address: str) -> None:
    """Fail in seconds when a cluster's `host:port` takes no connection (Ray would retry for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=min(START_SECONDS, 10)).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise CorpusError(
            f"engine ray: cannot start or join {address} ({reason}); is the head running?"
        ) from None


def _ray(local: bool = False) -> Any:
    """The ray module; for a local Ray, bound to the loopback: Ray takes the node's address from
    `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER` when imported (0: the loopback, as on macOS)."""
    if local:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
        import ray._private.ray_constants as constants
    except ImportError as exc:
        raise ConfigError("engine: ray needs the ray extra: pip install -e '.[ray]'") from exc
    if local:
        constants.ENABLE_RAY_CLUSTER = False  # when ray was imported before, without it
    return ray


CONTEXT = "context.pickle"


class UnitRunner:
    """A Ray actor running units. The worker context is read from the work folder when the actor
    starts (not passed through the object store, so a restarted actor always finds it)."""

    def __init__(self, work: str) -> None:
        keep_freed_memory()
        with open(os.path.join(work, CONTEXT), "rb") as handle:
            _initialise(pickle.load(handle))

    def __call__(self, batch: pa.Table) -> pa.Table:
        names = [run_unit(pickle.loads(unit)) for unit in batch.column("unit").to_pylist()]
        return pa.table({"name": names})


class RayEngine(LocalEngine):
    """Runs a plan's units on Ray; `workers` actors (default: the cluster's CPUs)."""

    name = "ray"

    def __init__(self, workers: int | None = None, progress: Progress = silent) -> None:
        super().__init__(workers, progress)
        self.requested = workers  # None: one actor per CPU of the cluster
        self.started = False

    def _connect(self) -> None:
        """Join `RAY_ADDRESS`, or start a local Ray on 127.0.0.1 (no dashboard); fail fast."""
        address = os.environ.get("RAY_ADDRESS")
        ray = _ray(local=not address)
        if ray.is_initialized():
            return
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": "ERROR",
        }
        if address:
            _reachable(address)
            options["address"] = address
        else:
            options |= {"_node_ip_address": "127.0.0.1", "num_cpus": self.workers}
        try:
            with _deadline(START_SECONDS):
                ray.init(**options)
        except (TimeoutError, ConnectionError, RuntimeError, ValueError, SystemExit) as exc:
            # Ray ends a failed connection with SIGTERM to itself (SystemExit 15).
            where = address or "a local Ray on 127.0.0.1"
            reason = "Ray gave up connecting" if isinstance(exc, SystemExit) else str(exc)
            raise CorpusError(f"engine ray: cannot start or join {where} ({reason})") from None
        self.started = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the build draws its own
        logging.getLogger("ray.data").setLevel(logging.WARNING)

    def _warm(self, context: Context) -> None:
        """Nothing to start ahead: the cluster's workers outlive passes."""

    def _stop(self) -> None:
        if self.started:
            _ray().shutdown()
            self.started = False

    def _store(
        self, work: Path, step: int, parts: list[str], phase: str, gone: pl.DataFrame | None
    ) -> LocalStore:
        """Phases group their keys on the cluster: one bucket a slice per CPU of it."""
        self._connect()
        width = self.requested or int(_ray().cluster_resources().get("CPU", 1))
        return RayStore(work, step, parts, phase, gone, width)

    def _execute(self, context: Context, units: list[Unit], done: Callable[[str], None]) -> None:
        if not units:
            return
        self._connect()
        ray = _ray()
        with (context.work / CONTEXT).open("wb") as handle:
            pickle.dump(context, handle)
        data = ray.data.from_items([{"unit": pickle.dumps(u)} for u in units], override_num_blocks=len(units))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = max(1, min(self.requested or cpus, len(units)))
        results = data.map_batches(
            UnitRunner,
            fn_constructor_args=(str(context.work),),
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
        )
        for row in results.iter_rows():
            done(str(row["name"]))
