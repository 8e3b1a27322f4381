"""A small slice of the property campaign (see `tests/strategies.py`): generated hostile JSONL
files never raise, and every input line is released or removed with a reason. The benchmark
`tests/benchmarks/bench_campaign.py` runs the same check over 10,000+ generated records."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import FILES, build_files, check_accounted


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(st.lists(FILES, min_size=1, max_size=2))
def test_generated_hostile_files_are_accounted_for(files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="campaign-") as folder:
        summary = build_files(Path(folder), files)
        check_accounted(summary, files)
