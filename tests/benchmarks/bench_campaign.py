"""The property campaign at scale: builds of generated hostile JSONL files (see `tests/strategies.py`),
10,000+ records in all, each build checked (no exception, ledger balanced, every line accounted
for); prints records tried, rows in, released, removed by reason, lost, seconds.

Run: `pytest -m benchmark tests/benchmarks/bench_campaign.py -s` (CAMPAIGN_RECORDS sets the
number of records to reach, default 10000).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.benchmarks.conftest import print_table
from tests.strategies import COMPLETE, build_files, check_accounted, expected_records, line

# Lines per generated file: enough that a build is mostly records, not fixed costs.
BIG_FILES = st.lists(line(), min_size=100, max_size=400).map(
    lambda lines: b"\n".join([COMPLETE.encode(), *lines]) + b"\n"
)


# Examples (builds) per round of the campaign.
EXAMPLES_PER_ROUND = 10


def test_campaign_over_ten_thousand_generated_records() -> None:
    wanted = int(os.environ.get("CAMPAIGN_RECORDS", "10000"))
    totals: Counter[str] = Counter()
    tried = {"builds": 0, "records": 0, "rows": 0}
    started = time.perf_counter()

    @settings(
        max_examples=EXAMPLES_PER_ROUND,
        deadline=None,
        phases=[Phase.generate],
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(BIG_FILES, min_size=1, max_size=3))
    def campaign(files: list[bytes]) -> None:
        if tried["records"] >= wanted:
            return
        with tempfile.TemporaryDirectory(prefix="campaign-") as folder:
            summary = build_files(Path(folder), files)
            totals.update(check_accounted(summary, files))
        tried["builds"] += 1
        tried["records"] += sum(len(expected_records(data)) for data in files)
        tried["rows"] += summary.rows_read

    # Rounds of a few examples until enough records were tried: hypothesis generates all of a
    # round's examples even after the target is reached, and an example is hundreds of lines.
    while tried["records"] < wanted:
        campaign()
    seconds = time.perf_counter() - started
    assert tried["records"] >= wanted
    removed = {reason: n for reason, n in totals.items() if reason != "released"}
    print_table(
        "Property campaign: generated hostile JSONL, on_bad_record: skip",
        ["builds", "records tried", "rows in", "released", "removed", "lost", "seconds"],
        [
            [
                tried["builds"],
                tried["records"],
                tried["rows"],
                totals["released"],
                sum(removed.values()),
                tried["records"] - totals["released"] - sum(removed.values()),
                f"{seconds:.0f}",
            ]
        ],
    )
    print_table("Removed by reason", ["reason", "rows"], sorted(removed.items(), key=lambda r: -r[1]))
