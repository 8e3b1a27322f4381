"""Progress of a build as the engine reports it: a task per pass (or decision) with a total, and
how much of it is done. Only the CLI draws it; the library reports to whatever it is given."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    def task(self, label: str, total: int, unit: str) -> AbstractContextManager[Advance]:
        """A context manager: the task is shown while open; `advance(n)` adds n done."""
        ...


class Silent:
    """Reports nothing (`--quiet`, tests)."""

    @contextmanager
    def task(self, label: str, total: int, unit: str) -> Iterator[Advance]:
        yield lambda n: None


silent = Silent()
